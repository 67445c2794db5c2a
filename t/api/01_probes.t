# Probes and protocol discovery: /health, /ready, the discovery document and
# the TFE handshake headers.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 18;

my $r = api(GET => '/health');
is $r->code, 200, '/health answers 200';
is_deeply json_of($r), {status => 'healthy'}, '/health body';

$r = api(GET => '/ready');
is $r->code, 200, '/ready answers 200 with database and storage up';
is_deeply json_of($r),
    {status => 'ready', checks => {database => 'healthy', storage => 'healthy'}},
    '/ready names its checks';

$r = api(GET => '/.well-known/terraform.json');
is $r->code, 200, 'discovery document served';
is $r->header('Content-Type'), 'application/json',
    'discovery Content-Type is exactly application/json';
my $d = json_of($r);
is $d->{$_}, '/api/v2/', "$_ points at /api/v2/" for qw(tfe.v2 tfe.v2.1 tfe.v2.2);
is $d->{'login.v1'}{authz}, '/oauth/authorize', 'login.v1 authz endpoint';
is_deeply $d->{'login.v1'}{ports}, [10000, 10010], 'login.v1 port range';
like $d->{'modules.v1'}, qr{^/api/terrapod/v1/registry/modules/$}, 'modules.v1';
like $d->{'providers.v1'}, qr{^/api/terrapod/v1/registry/providers/$},
    'providers.v1';

$r = api(GET => '/api/v2/ping');
is $r->header('TFP-API-Version'), '2.6', 'ping carries TFP-API-Version 2.6';
is $r->header('TFP-AppName'), 'Terrapod', 'ping carries TFP-AppName';
ok !defined $r->header('X-TFE-Version'),
    'no X-TFE-Version (the CLI would parse it)';

# the handshake headers are on every /api/v2 answer, errors included
$r = api(GET => '/api/v2/no-such-thing');
is $r->header('TFP-API-Version'), '2.6', 'headers on a 404 under /api/v2';
$r = api(GET => '/api/v2/account/details');
is $r->header('TFP-API-Version'), '2.6', 'headers on a 401 under /api/v2';
