package TP::Util;
# What both test suites' helpers share.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use POSIX ();

our @EXPORT = qw(wait_until concurrently);

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
