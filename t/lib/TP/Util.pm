package TP::Util;
# What both test suites' helpers share.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use IO::Socket::IP ();
use POSIX ();

our @EXPORT = qw(wait_until free_port concurrently);

# A port nothing listens on now, of host (127.0.0.1 unless given), for a
# server a test starts. The probe is closed before this returns.
sub free_port {
    my ($host) = @_;
    my $s = IO::Socket::IP->new(LocalHost => $host // '127.0.0.1',
                                LocalPort => 0, Listen => 1)
        or die "no port: $!";
    return $s->sockport;
}

# Polls fn every 0.2 s until it returns true or timeout seconds pass.
sub wait_until {
    my ($timeout, $fn) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        return 1 if $fn->();
        select undef, undef, undef, 0.2;
    }
    return $fn->();
}

# Runs $code in $n processes at once; whether each returned true, in the
# order they were started.
sub concurrently {
    my ($n, $code) = @_;
    my @pids = map {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $ok = eval { $code->() };
            POSIX::_exit($ok ? 0 : 1);     # not through the test's END blocks
        }
        $pid;
    } 1 .. $n;
    return map { waitpid($_, 0); $? == 0 } @pids;
}

1;
