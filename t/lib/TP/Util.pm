package TP::Util;
# What both test suites' helpers share.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';

our @EXPORT = qw(wait_until);
our @EXPORT_OK = qw(free_port);

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

# A TCP port on the loopback free now, for a server a test starts.
sub free_port {
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1) or die "no port: $!";
    return $s->sockport;
}

1;
