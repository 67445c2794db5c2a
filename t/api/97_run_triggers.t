# Run triggers: creating, listing, showing and deleting them under both
# prefixes, who may, every validation error, and firing: an apply of a
# source (reported by a listener) queues one run in each destination with
# the destination's auto-apply, a chain goes on from there, a cycle ends
# after one turn, and a destination that cannot run loses its trigger.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Listener;

plan tests => 104;

my $NAT = '/api/terrapod/v1';
my $admin = admin_token();
my $owner = user_token('rt-owner@test.local');
my $reader = user_token('rt-reader@test.local');
my $stranger = user_token('rt-stranger@test.local');
grant_ws_role($admin, 'rt-reader@test.local', 'rt-readers', 'read',
              'rt-a', 'rt-b');

my $a = make_ws($owner, 'rt-a');
my $b = make_ws($owner, 'rt-b');
my $c = make_ws($owner, 'rt-c');
my $r;

sub create_rt {
    my ($prefix, $dest, $src, $token) = @_;
    return api(POST => "$prefix/workspaces/$dest/run-triggers", token => $token // $owner,
               body => {data => {relationships => {sourceable => {data => {
                   type => 'workspaces', id => $src}}}}});
}
sub list_rt {
    my ($prefix, $ws, $type, $token) = @_;
    my $q = defined $type ? "?filter%5Brun-trigger%5D%5Btype%5D=$type" : '';
    return api(GET => "$prefix/workspaces/$ws/run-triggers$q", token => $token // $owner);
}
sub ids_of { [sort map { $_->{id} } @{ json_of($_[0])->{data} }] }
sub count_rt { sql("SELECT count(*) FROM run_triggers WHERE destination_id = '$_[0]'") }

# ==== creating ====

$r = create_rt('/api/v2', $b, $a);
is $r->code, 201, 'TFE path: a run trigger a -> b';
my $ab = json_of($r)->{data};
like $ab->{id}, qr/^rt-/, 'its id';
is $ab->{type}, 'run-triggers', 'its type';
is $ab->{attributes}{'workspace-name'}, 'rt-b', 'workspace-name: the destination';
is $ab->{attributes}{'sourceable-name'}, 'rt-a', 'sourceable-name: the source';
like $ab->{attributes}{'created-at'}, qr/^\d{4}-\d\d-\d\dT/, 'created-at';
is_deeply $ab->{relationships}{workspace}{data}, {type => 'workspaces', id => $b},
          'relationships.workspace';
is_deeply $ab->{relationships}{sourceable}{data}, {type => 'workspaces', id => $a},
          'relationships.sourceable';
is $ab->{links}{self}, "/api/v2/run-triggers/$ab->{id}", 'links.self';

$r = create_rt($NAT, $c, $b);
is $r->code, 201, 'native path: a run trigger b -> c';
my $bc = json_of($r)->{data};

is_error(create_rt($NAT, $c, $b), 422, 'the same pair again');
is_error(create_rt($NAT, $c, $c), 422, 'a workspace as its own source');
like error_detail(create_rt($NAT, $c, $c)), qr/cannot trigger its own runs/, 'says why';
is_error(api(POST => "$NAT/workspaces/$c/run-triggers", token => $owner,
             body => {data => {relationships => {}}}), 422, 'no sourceable');
is_error(create_rt($NAT, $c, 'ws-nosuchthing'), 404, 'a source that does not exist');
is_error(api(POST => "$NAT/workspaces/$c/run-triggers", token => $owner,
             body => {data => {relationships => {sourceable => {data => {
                 type => 'projects', id => $a}}}}}), 422, 'a sourceable of another type');
is_error(api(POST => "$NAT/workspaces/$c/run-triggers", token => $owner, body => 'nope'),
         400, 'a body that is no JSON');
is count_rt($c), 1, 'nothing was stored by the refusals';

# permissions: admin on the destination, read on the source
is_error(create_rt($NAT, $b, $c, $reader), 403, 'a reader of the destination may not create');
is_error(create_rt($NAT, $c, $a, $stranger), 404, 'a stranger does not see the destination');
my $other = make_ws($stranger, 'rt-stranger-ws');
is_error(create_rt($NAT, $other, $a, $stranger), 404,
         'a source the creator cannot read is not found');
is count_rt($other), 0, 'and not stored';

# at most 20 sources
my @many = map { make_ws($owner, "rt-many-$_") } 1 .. 21;
my $full = shift @many;
is create_rt($NAT, $full, $_)->code, 201, 'one more source' for @many[0 .. 19];
is_error(create_rt($NAT, $full, $a), 422, 'the 21st source');
like error_detail(create_rt($NAT, $full, $a)), qr/20 source workspaces/, 'says the cap';
is count_rt($full), 20, 'the destination keeps 20';

# ==== listing and showing ====

is_error(list_rt($NAT, $b, undef), 422, 'a list without filter[run-trigger][type]');
is_error(list_rt('/api/v2', $b, 'sideways'), 422, 'a list with an unknown type');
is_deeply ids_of(list_rt($NAT, $b, 'inbound')), [$ab->{id}], 'b inbound: a -> b';
is_deeply ids_of(list_rt('/api/v2', $b, 'outbound')), [$bc->{id}], 'b outbound: b -> c';
is_deeply ids_of(list_rt($NAT, $a, 'inbound')), [], 'a inbound: none';
is json_of(list_rt($NAT, $b, 'inbound'))->{meta}{pagination}{'total-count'}, 1,
   'with pagination';
is list_rt($NAT, $b, 'inbound', $reader)->code, 200, 'a reader lists them';
is_error(list_rt($NAT, $b, 'inbound', $stranger), 404, 'a stranger does not');

$r = api(GET => "/api/v2/run-triggers/$ab->{id}", token => $owner);
is $r->code, 200, 'show (TFE path)';
is json_of($r)->{data}{attributes}{'sourceable-name'}, 'rt-a', 'the trigger shown';
is api(GET => "$NAT/run-triggers/$bc->{id}", token => $reader)->code, 200,
   'a reader of the source only sees it too';
is_error(api(GET => "$NAT/run-triggers/$bc->{id}", token => $stranger), 404,
         'a stranger does not');
is_error(api(GET => "$NAT/run-triggers/rt-nosuchthing", token => $owner), 404,
         'an unknown trigger');

# ==== deleting ====

my $extra = json_of(create_rt($NAT, $a, $b))->{data}{id};
is_error(api(DELETE => "$NAT/run-triggers/$extra", token => $reader), 403,
         'a reader of the destination may not delete');
is_error(api(DELETE => "$NAT/run-triggers/$bc->{id}", token => $reader), 404,
         'nor one whose destination it cannot see');
is api(DELETE => "/api/v2/run-triggers/$extra", token => $owner)->code, 204,
   'the admin of the destination deletes it';
is_error(api(GET => "$NAT/run-triggers/$extra", token => $owner), 404, 'gone');
is_error(api(DELETE => "$NAT/run-triggers/$extra", token => $owner), 404,
         'deleting it again');
is sql("SELECT count(*) FROM events WHERE type = 'run_trigger_change'"
       . " AND payload->>'id' = '$extra' AND payload->>'action' = 'deleted'"), 2,
   'its removal is an event on both workspaces';

# ==== firing ====

my ($pool, $join) = make_pool($admin, 'rt-pool');
my $l = join_as($join, 'rt-listener');
for my $ws ($a, $b, $c) {
    $r = api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
             body => {data => {type => 'workspaces', attributes => {
                 'execution-mode' => 'agent', 'agent-pool-id' => $pool,
                 'auto-apply' => $ws eq $a ? JSON::PP::false() : JSON::PP::true()}}});
    die $r->as_string unless $r->code == 200;
    make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
}
# c -> a closes the cycle a -> b -> c -> a
is create_rt($NAT, $a, $c)->code, 201, 'c -> a closes a cycle';
my $local = make_ws($owner, 'rt-local');
make_cv($owner, $local, 'auto-queue-runs' => JSON::PP::false());
is create_rt($NAT, $local, $a)->code, 201, 'a -> a workspace that runs terraform locally';

sub runs_of {
    my ($ws) = @_;
    return @{ json_of(api(GET => "/api/v2/workspaces/$ws/runs", token => $owner))->{data} };
}
# the listener takes run id through plan (with changes) and apply
sub apply_on_listener {
    my ($id, $confirm) = @_;
    my $job = json_of(as_l($l, GET => '/runs/next?wait=5'))->{data};
    die "expected $id, got " . ($job->{'run-id'} // 'nothing') unless ($job->{'run-id'} // '') eq $id;
    as_l($l, PATCH => "/runs/$id", body => {status => 'planned',
                                             'has-changes' => JSON::PP::true()});
    api(POST => "/api/v2/runs/$id/actions/apply", token => $owner, body => {}) if $confirm;
    $job = json_of(as_l($l, GET => '/runs/next?wait=5'))->{data};
    die "expected the apply of $id" unless ($job->{phase} // '') eq 'apply';
    my $res = as_l($l, PATCH => "/runs/$id", body => {status => 'applied'});
    die $res->as_string unless $res->code == 200;
}
# the one run of ws, once the run-triggers task has queued it
sub triggered_in {
    my ($ws) = @_;
    wait_until(20, sub { runs_of($ws) == 1 });
    my @runs = runs_of($ws);
    return @runs == 1 ? $runs[0] : undef;
}

# a plan-only run of a triggers nothing
$r = api(POST => '/api/v2/runs', token => $owner, body => {data => {
    attributes => {'plan-only' => JSON::PP::true()},
    relationships => {workspace => {data => {type => 'workspaces', id => $a}}}}});
my $plan_only = json_of($r)->{data}{id};
as_l($l, GET => '/runs/next?wait=5');
as_l($l, PATCH => "/runs/$plan_only", body => {status => 'planned',
                                                'has-changes' => JSON::PP::true()});
is sql("SELECT status FROM runs WHERE id = '$plan_only'"), 'planned_and_finished',
   'a plan-only run of a ended';
is sql("SELECT count(*) FROM run_trigger_outbox WHERE source_run_id = '$plan_only'"), 0,
   'and owes no triggers';

$r = api(POST => '/api/v2/runs', token => $owner, body => {data => {
    attributes => {message => 'start'},
    relationships => {workspace => {data => {type => 'workspaces', id => $a}}}}});
my $run_a = json_of($r)->{data}{id};
apply_on_listener($run_a, 1);
is sql("SELECT status FROM runs WHERE id = '$run_a'"), 'applied', 'a applied';

my $run_b = triggered_in($b);
ok $run_b, 'the apply of a queued one run in b';
is $run_b->{attributes}{'trigger-reason'}, 'run_trigger', 'trigger-reason: run_trigger';
like $run_b->{attributes}{message}, qr/workspace rt-a \(run \Q$run_a\E\)/,
     'its message names the source and its run';
ok $run_b->{attributes}{'auto-apply'}, 'with b\'s auto-apply';
is_deeply $run_b->{relationships}{'triggered-by-run'}{data}, {type => 'runs', id => $run_a},
          'relationships.triggered-by-run: the source\'s run';
is sql("SELECT trigger_chain::text FROM runs WHERE id = '$run_b->{id}'"), qq(["$a"]),
   'and the chain that led to it';
ok wait_until(20, sub { sql("SELECT count(*) FROM run_trigger_outbox") == 0 }),
   'the outbox is emptied';
is scalar(runs_of($local)), 0, 'the locally run workspace got no run: its trigger was dropped';

apply_on_listener($run_b->{id}, 0);
my $run_c = triggered_in($c);
ok $run_c, 'the apply of b queued a run in c: the chain goes on';
is sql("SELECT trigger_chain::text FROM runs WHERE id = '$run_c->{id}'"),
   qq(["$a", "$b"]), 'its chain is a, b';

apply_on_listener($run_c->{id}, 0);
sleep 3;
is scalar(runs_of($a)), 2, 'the apply of c queued nothing in a: the cycle ended';
is sql("SELECT count(*) FROM run_trigger_outbox"), 0, 'and left nothing in the outbox';

# a manual run of c starts a new chain: a gets its run
my @before = runs_of($a);
$r = api(POST => '/api/v2/runs', token => $owner, body => {data => {
    attributes => {message => 'again'},
    relationships => {workspace => {data => {type => 'workspaces', id => $c}}}}});
my $again = json_of($r)->{data}{id};
apply_on_listener($again, 0);
wait_until(20, sub { runs_of($a) == @before + 1 });
my ($newest) = runs_of($a);
is $newest->{attributes}{'trigger-reason'}, 'run_trigger',
   'a new chain from c triggers a';
ok !$newest->{attributes}{'auto-apply'}, 'with a\'s own auto-apply (off)';

# deleting a workspace takes its triggers with it
is api(DELETE => "/api/v2/workspaces/$local", token => $owner)->code, 204,
   'the local workspace is deleted';
is sql("SELECT count(*) FROM run_triggers WHERE destination_id = '$local'"), 0,
   'its triggers went with it';
