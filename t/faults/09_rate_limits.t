# The rate-limit directives against a real instance's configuration: a
# user's limit outside 0..100000000 stops it, and so does the per-address
# `authenticated` class of old, since a figure meant per client address
# and minute must not silently become one per user and second.
use strict;
use warnings FATAL => 'all';
use Test::More;
use TP::E2E;
use TP::Faults;

my $snippet = snippet('rate-limits');

subtest 'TerrapodUserRateLimit outside 0..100000000 stops the configuration' => sub {
    config_refuses($snippet, 'TerrapodUserRateLimit', '0 to 100000000',
                   -1, 100000001, '30/s');
};

subtest 'TerrapodRateLimit authenticated stops the configuration' => sub {
    write_file($snippet, "TerrapodRateLimit authenticated 1000\n");
    my ($rc, $out) = config_test();
    unlink $snippet;
    isnt $rc, 0, 'refused';
    like $out, qr/authenticated requests are limited per user and second, by TerrapodUserRateLimit/,
         'naming the directive that took its place';
};

subtest 'the per-address classes are still set the old way' => sub {
    write_file($snippet, "TerrapodRateLimit unauthenticated 50\nTerrapodRateLimit sign-in 5\n"
                         . "TerrapodUserRateLimit 30\n");
    my ($rc, $out) = config_test();
    unlink $snippet;
    is $rc, 0, 'accepted' or diag $out;
};

done_testing;
