# The single organization "default": shown on both API surfaces, its
# entitlements read by the CLI, and any other name is 404.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 15;

my $t = user_token('orgs@test.local');

for my $path ('/api/v2/organizations/default',
              '/api/terrapod/v1/organizations/default') {
    my $r = api(GET => $path, token => $t);
    is $r->code, 200, "$path: 200";
    my $o = json_of($r)->{data};
    is $o->{type}, 'organizations', "$path: type";
    is $o->{attributes}{name}, 'default', "$path: name";
}

my $r = api(GET => '/api/v2/organizations/default/entitlement-set', token => $t);
is $r->code, 200, 'entitlement-set: 200';
my $e = json_of($r)->{data};
is $e->{type}, 'entitlement-sets', 'entitlement-set type';
ok $e->{attributes}{operations}, 'operations enabled';
ok $e->{attributes}{'state-storage'}, 'state-storage enabled';

for my $path ('/api/v2/organizations/acme',
              '/api/terrapod/v1/organizations/acme',
              '/api/v2/organizations/acme/entitlement-set') {
    $r = api(GET => $path, token => $t);
    is $r->code, 404, "$path: 404";
}
like error_detail($r), qr/organization "acme" not found/, '404 names the organization';

$r = api(GET => '/api/v2/organizations/default/entitlement-set');
is $r->code, 401, 'entitlement-set needs a token';
