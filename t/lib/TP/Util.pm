package TP::Util;
# What both test suites' helpers share.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';

our @EXPORT = qw(wait_until);

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

1;
