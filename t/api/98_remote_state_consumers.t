# Remote-state consumers: the native API (list both ways, grant, replace,
# show, revoke) and TFE's relationship endpoints, who may change them and
# every validation error; and what a run's runner token may read of other
# workspaces: nothing until the producer lists the run's workspace or
# shares its state globally, then its current state version, its outputs
# and its state, and only while the run is running.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Listener;

plan tests => 107;

my $NAT = '/api/terrapod/v1';
my $admin = admin_token();
my $owner = user_token('rsc-owner@test.local');
my $consumer_admin = user_token('rsc-consumer@test.local');
my $reader = user_token('rsc-reader@test.local');
grant_ws_role($admin, 'rsc-reader@test.local', 'rsc-readers', 'read', 'rsc-producer');

my $producer = make_ws($owner, 'rsc-producer');
my $other = make_ws($owner, 'rsc-other');
my $consumer = make_ws($consumer_admin, 'rsc-consumer');
# the producer's admin may read the consumer's workspace
grant_ws_role($admin, 'rsc-owner@test.local', 'rsc-owner-reads', 'read', 'rsc-consumer');
my $r;

sub grant {
    my ($to, $token, $on) = @_;
    return api(POST => "$NAT/workspaces/" . ($on // $producer) . '/remote-state-consumers',
               token => $token // $owner,
               body => {data => {relationships => {consumer => {data => {
                   type => 'workspaces', id => $to}}}}});
}
sub list_of {
    my ($ws, $type, $token) = @_;
    my $q = $type ? "?filter%5Bremote-state-consumer%5D%5Btype%5D=$type" : '';
    return api(GET => "$NAT/workspaces/$ws/remote-state-consumers$q",
               token => $token // $owner);
}
sub consumers { [sort map { $_->{relationships}{consumer}{data}{id} }
                 @{ json_of(list_of($producer))->{data} }] }
sub tfe_path { "/api/v2/workspaces/$_[0]/relationships/remote-state-consumers" }
sub tfe_ids {
    my $res = api(GET => tfe_path($producer), token => $owner);
    return [sort map { $_->{id} } @{ json_of($res)->{data} }];
}
sub ws_list { {data => [map { {type => 'workspaces', id => $_} } @_]} }

# ==== the native API ====

$r = grant($consumer);
is $r->code, 201, 'the producer\'s admin lets the consumer read its state';
my $g = json_of($r)->{data};
like $g->{id}, qr/^rsc-/, 'its id';
is $g->{type}, 'remote-state-consumers', 'its type';
is $g->{attributes}{'producer-workspace-name'}, 'rsc-producer', 'producer-workspace-name';
is $g->{attributes}{'consumer-workspace-name'}, 'rsc-consumer', 'consumer-workspace-name';
is $g->{attributes}{'created-by'}, 'rsc-owner@test.local', 'created-by';
like $g->{attributes}{'created-at'}, qr/^\d{4}-\d\d-\d\dT/, 'created-at';
is_deeply $g->{relationships}{producer}{data}, {type => 'workspaces', id => $producer},
          'relationships.producer';
is_deeply $g->{relationships}{consumer}{data}, {type => 'workspaces', id => $consumer},
          'relationships.consumer';

is_error(grant($consumer), 409, 'the same grant again');
is_error(grant($producer), 422, 'a producer as its own consumer');
is_error(grant('ws-nosuchthing'), 404, 'a consumer that does not exist');
is_error(api(POST => "$NAT/workspaces/$producer/remote-state-consumers", token => $owner,
             body => {data => {relationships => {}}}), 422, 'no consumer');
is_error(api(POST => "$NAT/workspaces/$producer/remote-state-consumers", token => $owner,
             body => {data => {relationships => {consumer => {data => {
                 type => 'runs', id => $consumer}}}}}), 422, 'a consumer of another type');
is_error(grant($consumer, $consumer_admin, $consumer), 422,
         'a workspace cannot be its own consumer');
is_error(grant($consumer, $consumer_admin), 404,
         'nor grant itself on a producer it cannot see');
is_error(grant($other, $reader), 403, 'a reader of the producer may not grant');
is sql("SELECT count(*) FROM remote_state_consumers WHERE producer_id = '$producer'"), 1,
   'the refusals stored nothing';

is_deeply consumers(), [$consumer], 'outbound (the default): the consumer';
is_deeply [map { $_->{id} } @{ json_of(list_of($consumer, 'inbound', $consumer_admin))->{data} }],
          [$g->{id}], 'inbound of the consumer: the grant';
is_deeply json_of(list_of($producer, 'inbound'))->{data}, [], 'inbound of the producer: none';
is_error(list_of($producer, 'sideways'), 422, 'an unknown filter type');
is list_of($producer, 'outbound', $reader)->code, 200, 'a reader of the producer lists';
is_error(list_of($producer, undef, $consumer_admin), 404,
         'one who cannot read the producer does not');

is api(GET => "$NAT/remote-state-consumers/$g->{id}", token => $reader)->code, 200,
   'a reader of the producer shows a grant';
is_error(api(GET => "$NAT/remote-state-consumers/$g->{id}", token => $consumer_admin), 404,
         'the consumer\'s admin alone does not see it');
is_error(api(GET => "$NAT/remote-state-consumers/rsc-nosuchthing", token => $owner), 404,
         'an unknown grant');
is_error(api(DELETE => "$NAT/remote-state-consumers/$g->{id}", token => $consumer_admin), 404,
         'a consumer cannot revoke its grant');
is_error(api(DELETE => "$NAT/remote-state-consumers/$g->{id}", token => $reader), 403,
         'a reader of the producer cannot either');

# PUT replaces the whole set in one transaction
$r = api(PUT => "$NAT/workspaces/$producer/remote-state-consumers", token => $owner,
         body => ws_list($other));
is $r->code, 200, 'PUT: the set replaced';
is_deeply [map { $_->{relationships}{consumer}{data}{id} } @{ json_of($r)->{data} }],
          [$other], 'the answer lists the new set';
is_deeply consumers(), [$other], 'the consumer left, the other came';
is_error(api(PUT => "$NAT/workspaces/$producer/remote-state-consumers", token => $owner,
             body => ws_list($consumer, 'ws-nosuchthing')), 404,
         'PUT naming a workspace that does not exist');
is_deeply consumers(), [$other], 'changed nothing';
is_error(api(PUT => "$NAT/workspaces/$producer/remote-state-consumers", token => $owner,
             body => ws_list($consumer, $producer)), 422, 'PUT naming the producer');
is_error(api(PUT => "$NAT/workspaces/$producer/remote-state-consumers", token => $owner,
             body => {data => {type => 'workspaces', id => $other}}), 422,
         'PUT without a list');
is_error(api(PUT => "$NAT/workspaces/$producer/remote-state-consumers",
             token => $reader, body => ws_list()), 403, 'PUT by a reader');
is_deeply consumers(), [$other], 'still the same set';
is api(PUT => "$NAT/workspaces/$producer/remote-state-consumers", token => $owner,
       body => ws_list())->code, 200, 'PUT of an empty set';
is_deeply consumers(), [], 'empties it';

# ==== TFE's relationship endpoints ====

is api(POST => tfe_path($producer), token => $owner, body => ws_list($consumer, $other))->code,
   204, 'TFE POST adds';
is_deeply tfe_ids(), [sort $consumer, $other], 'TFE GET: both workspaces';
is json_of(api(GET => tfe_path($producer), token => $owner))->{data}[0]{type}, 'workspaces',
   'as workspaces';
is api(POST => tfe_path($producer), token => $owner, body => ws_list($consumer))->code, 204,
   'adding one already there is no error';
is api(DELETE => tfe_path($producer), token => $owner, body => ws_list($other))->code, 204,
   'TFE DELETE removes';
is_deeply tfe_ids(), [$consumer], 'the other is gone';
is api(PATCH => tfe_path($producer), token => $owner, body => ws_list($other))->code, 204,
   'TFE PATCH replaces';
is_deeply tfe_ids(), [$other], 'with the other alone';
is_error(api(PATCH => tfe_path($producer), token => $reader, body => ws_list()), 403,
         'TFE PATCH by a reader');
is_error(api(POST => tfe_path($producer), token => $owner, body => ws_list($producer)), 422,
         'TFE POST of the producer itself');
is api(GET => tfe_path($producer), token => $reader)->code, 200, 'a reader reads the list';
is api(PATCH => tfe_path($producer), token => $owner, body => ws_list())->code, 204,
   'emptied again';

# ==== a run reading other workspaces' state ====

my $state = qq({"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"rsc",)
          . qq("outputs":{"greeting":{"value":"hello","type":"string"}},"resources":[]});
$r = api(POST => "$NAT/workspaces/$producer/state-versions/actions/upload", token => $owner,
         body => $state, headers => {'Content-Type' => 'application/json'});
die $r->as_string unless $r->code == 201;
my $sv = json_of($r)->{data}{id};

my ($pool, $join) = make_pool($admin, 'rsc-pool');
my $l = join_as($join, 'rsc-listener');
$r = api(PATCH => "/api/v2/workspaces/$consumer", token => $admin,
         body => {data => {type => 'workspaces', attributes => {
             'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
die $r->as_string unless $r->code == 200;
make_cv($consumer_admin, $consumer, 'auto-queue-runs' => JSON::PP::false());
my $run = new_run($consumer_admin, $consumer)->{id};
is json_of(as_l($l, GET => '/runs/next?wait=5'))->{data}{'run-id'}, $run,
   'the consumer\'s run is planning on the listener';
my $tok = json_of(as_l($l, POST => "/runs/$run/runner-token", body => {}))->{token};
ok $tok, 'its runner token';

sub as_run {
    my ($path) = @_;
    return api(GET => $path, headers => {Authorization => "Bearer $tok"});
}
my @reads = ("/api/v2/workspaces/$producer/current-state-version",
             "/api/v2/workspaces/$producer/current-state-version-outputs",
             "/api/v2/state-versions/$sv/download",
             "/api/v2/organizations/default/workspaces/rsc-producer");

for my $path (@reads) {
    is_error(as_run($path), 403, "not shared: $path");
}
like error_detail(as_run($reads[0])),
     qr/rsc-producer does not share its state with workspace rsc-consumer/,
     'the refusal says what is missing';
is as_run("/api/v2/workspaces/$consumer")->code, 200, 'its own workspace it reads';
is as_run('/api/v2/organizations/default/entitlement-set')->code, 200,
   'the entitlements terraform asks for first';
is_error(as_run("/api/v2/workspaces/$producer/state-versions"), 401,
         'a route not for runs refuses the token');
is_error(api(POST => "/api/v2/workspaces/$producer/state-versions",
             headers => {Authorization => "Bearer $tok"},
             body => {data => {type => 'state-versions', attributes => {serial => 2}}}),
         401, 'as does every write');

is grant($consumer)->code, 201, 'the producer lists the consumer';
$r = as_run($reads[0]);
is $r->code, 200, 'now the run reads the current state version';
is json_of($r)->{data}{id}, $sv, 'the producer\'s';
$r = as_run($reads[1]);
is $r->code, 200, 'its outputs';
is json_of($r)->{data}[0]{attributes}{value}, 'hello', 'with their values';
$r = as_run($reads[2]);
is $r->code, 200, 'and its state';
like $r->content, qr/"lineage":"rsc"/, 'the state itself';
is as_run($reads[3])->code, 200, 'and the workspace by name';

is api(PUT => "$NAT/workspaces/$producer/remote-state-consumers", token => $owner,
       body => ws_list())->code, 200, 'the grant is revoked';
is_error(as_run($reads[0]), 403, 'refused again at once');

$r = api(PATCH => "/api/v2/workspaces/$producer", token => $owner,
         body => {data => {type => 'workspaces', attributes => {
             'global-remote-state' => JSON::PP::true()}}});
is $r->code, 200, 'the producer shares its state globally';
is as_run($reads[0])->code, 200, 'the run reads it without a grant';

is as_l($l, PATCH => "/runs/$run", body => {status => 'planned',
                                             'has-changes' => JSON::PP::false()})->code, 200,
   'the run ends';
is_error(as_run($reads[0]), 401, 'its token reads nothing more');
is_error(api(GET => $reads[0], headers => {Authorization => 'Bearer runtok:run-x:60:1:bad'}),
         401, 'a forged runner token');
