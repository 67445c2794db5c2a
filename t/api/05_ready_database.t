# Readiness follows the database and the storage directory without an
# Apache restart: 503 naming the failing check, 200 once it is back.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 11;

my $token = user_token('ready@test.local');
is api(GET => '/ready')->code, 200, 'ready before';
# the pooled sessions prepare their statements before the restart; the
# new sessions behind the same connections must prepare them again (a
# workspace list reads the database whatever the token cache holds)
my $LIST = '/api/v2/organizations/default/workspaces';
my @before = map { api(GET => $LIST, token => $token)->code } 1 .. 20;
is_deeply [grep { $_ != 200 } @before], [], 'API calls before the restart';

pg_stop();
my $r = api(GET => '/ready');
is $r->code, 503, 'PostgreSQL stopped: /ready 503';
is json_of($r)->{checks}{database}, 'unhealthy', 'names the database';
is json_of($r)->{checks}{storage}, 'healthy', 'storage still healthy';
$r = api(GET => $LIST, token => $token);
is $r->code, 503, 'an API call gets a JSON:API 503';
is json_of($r)->{errors}[0]{status}, '503', '503 body';

pg_start();
ok wait_until(15, sub { api(GET => '/ready')->code == 200 }),
   'PostgreSQL back: /ready 200 again, Apache not restarted';
# every worker's pooled connection outlived the restart: none may fail
my @codes = map { api(GET => $LIST, token => $token)->code } 1 .. 20;
is_deeply [grep { $_ != 200 } @codes], [], 'API calls work again on every worker';

my $storage = "$ENV{TP_INSTANCE}/storage";
chmod 0500, $storage;
$r = api(GET => '/ready');
chmod 0755, $storage;
is_deeply [$r->code, json_of($r)->{checks}{storage}], [503, 'unhealthy'],
   'unwritable storage: 503 naming storage';
is api(GET => '/ready')->code, 200, 'storage back: 200';
