# Runs: creation rules (configuration version resolution, permissions, one
# non-speculative run per workspace holding its lock, the rest pending in
# order), the state machine's actions and the illegal ones (409), what the
# CLI polls, and the plan log stream (STX, log, ETX) by byte ranges.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use TP::Test;

plan tests => 118;

my $admin = admin_token();
my $owner = user_token('run-owner@test.local');
my $planner = user_token('run-planner@test.local');
my $reader = user_token('run-reader@test.local');
my $ws = make_ws($owner, 'runs-ws');
api(POST => '/api/terrapod/v1/roles', token => $admin,
    body => {data => {type => 'roles', attributes => {
        name => "runs-$_", 'workspace-permission' => $_,
        'allow-names' => ['runs-ws']}}}) for qw(read plan);
for ([qw(run-planner plan)], [qw(run-reader read)]) {
    api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
        body => {data => {type => 'role-assignments', attributes => {
            email => "$_->[0]\@test.local", roles => ["runs-$_->[1]"]}}});
}

sub run_body {
    my (%o) = @_;
    my $rel = {workspace => {data => {type => 'workspaces', id => delete $o{ws} // $ws}}};
    $rel->{'configuration-version'} = {data => {type => 'configuration-versions',
                                                id => delete $o{cv}}} if $o{cv};
    return {data => {type => 'runs', attributes => {%o}, relationships => $rel}};
}

sub create_run {
    my ($token, %o) = @_;
    return api(POST => '/api/v2/runs', token => $token, body => run_body(%o));
}

sub run_of {
    my ($id) = @_;
    return json_of(api(GET => "/api/v2/runs/$id", token => $owner))->{data};
}

sub ws_lock {
    my $a = json_of(api(GET => "/api/v2/workspaces/$ws", token => $owner))
        ->{data}{attributes};
    return $a->{locked} ? $a->{'locked-by'} : '';
}

# no configuration yet: the exact 422
my $r = create_run($owner, message => 'too early');
is_error($r, 422, 'no uploaded configuration');
like error_detail($r), qr/^Workspace has no uploaded configuration\. Upload one via 'tofu plan' \/ 'tofu apply' \(CLI\), or POST a configuration version \+ tarball before queueing a run\.$/,
     'with the exact text';

my $cv = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());

# the first run takes the workspace
$r = create_run($owner, message => 'first');
is $r->code, 201, 'write level creates a run';
my $first = json_of($r)->{data};
is $first->{type}, 'runs', 'type runs';
is $first->{attributes}{status}, 'plan_queued', 'a free workspace queues it';
is $first->{relationships}{'configuration-version'}{data}{id}, $cv,
   'the newest uploaded configuration is used';
like $first->{relationships}{plan}{data}{id}, qr/^plan-/, 'plan relationship';
like $first->{relationships}{apply}{data}{id}, qr/^apply-/, 'apply relationship';
ok !defined $first->{attributes}{'has-changes'}, 'has-changes null until planned';
ok $first->{attributes}{actions}{'is-cancelable'}, 'cancelable while queued';
ok !$first->{attributes}{actions}{'is-confirmable'}, 'not confirmable yet';
ok $first->{attributes}{'status-timestamps'}{'plan-queued-at'}, 'status timestamps';
is ws_lock(), $first->{id}, 'the run holds the workspace lock';

# the next one waits; a plan-only one does not
my $second = json_of(create_run($owner, message => 'second'))->{data};
is $second->{attributes}{status}, 'pending', 'a second run waits, pending';
my $third = json_of(create_run($owner, message => 'third'))->{data};
my $spec = json_of(create_run($planner, 'plan-only' => JSON::PP::true()))->{data};
is $spec->{attributes}{status}, 'plan_queued', 'plan-only runs do not wait';
ok $spec->{attributes}{'plan-only'}, 'and stay plan-only';

# permissions
is_error(create_run($planner), 403, 'plan level cannot queue a run that may apply');
is_error(create_run($reader, 'plan-only' => JSON::PP::true()), 403,
         'read level cannot queue any run');
is_error(create_run(user_token('run-stranger@test.local')), 404,
         'a stranger does not see the workspace');
is_error(api(POST => '/api/v2/runs', body => run_body()), 401, 'no token');
is_error(create_run($owner, cv => 'cv-nope'), 422, 'a configuration of another workspace');
is_error(api(POST => '/api/v2/runs', token => $owner,
             body => {data => {type => 'runs', attributes => {}}}), 422,
         'no workspace relationship');

# illegal transitions
for my $action (qw(apply confirm discard)) {
    is_error(api(POST => "/api/v2/runs/$first->{id}/actions/$action",
                 token => $owner, body => {}), 409,
             "$action while plan_queued");
}
is_error(api(POST => "/api/v2/runs/$first->{id}/actions/force-cancel",
             token => $planner), 403, 'force-cancel needs admin on the workspace');

# an agent finishes the plan (simulated): planned, then confirmed
sql("UPDATE runs SET status = 'planned', plan_status = 'finished', has_changes = true WHERE id = '$first->{id}'");
my $planned = run_of($first->{id});
ok $planned->{attributes}{actions}{'is-confirmable'}, 'planned: confirmable';
ok $planned->{attributes}{actions}{'is-discardable'}, 'planned: discardable';
ok !$planned->{attributes}{actions}{'is-cancelable'}, 'planned: not cancelable';
is_error(api(POST => "/api/v2/runs/$first->{id}/actions/apply", token => $planner,
             body => {}), 403, 'plan level cannot confirm');
$r = api(POST => "/api/v2/runs/$first->{id}/actions/apply", token => $owner,
         body => {comment => 'ship it'});
is $r->code, 202, 'apply with a comment: 202';
my $confirmed = run_of($first->{id});
is $confirmed->{attributes}{status}, 'apply_queued', 'queued for apply';
ok $confirmed->{attributes}{'status-timestamps'}{'confirmed-at'}, 'confirmed-at stamped';
is_error(api(POST => "/api/v2/runs/$first->{id}/actions/discard", token => $owner,
             body => {}), 409, 'discard after confirming');
is_error(api(POST => "/api/v2/runs/$first->{id}/actions/apply", token => $owner),
         409, 'apply twice');

# canceling it releases the workspace to the next pending run, in order
$r = api(POST => "/api/v2/runs/$first->{id}/actions/cancel", token => $planner);
is $r->code, 202, 'plan level cancels';
is run_of($first->{id})->{attributes}{status}, 'canceled', 'canceled';
is run_of($second->{id})->{attributes}{status}, 'plan_queued', 'the next run is queued';
is run_of($third->{id})->{attributes}{status}, 'pending', 'the one after still waits';
is ws_lock(), $second->{id}, 'and the lock passed to it';
is_error(api(POST => "/api/v2/runs/$first->{id}/actions/cancel", token => $owner),
         409, 'cancel a canceled run');

# discard a planned run
sql("UPDATE runs SET status = 'planned', plan_status = 'finished' WHERE id = '$second->{id}'");
is api(POST => "/api/v2/runs/$second->{id}/actions/discard", token => $owner)->code,
   202, 'discard a planned run';
my $discarded = run_of($second->{id});
is $discarded->{attributes}{status}, 'discarded', 'discarded';
is ws_lock(), $third->{id}, 'the third run holds the workspace now';

# force-cancel by an admin of the workspace (the owner)
is api(POST => "/api/v2/runs/$third->{id}/actions/force-cancel", token => $owner)->code,
   202, 'force-cancel';
is run_of($third->{id})->{attributes}{status}, 'canceled', 'force-canceled';
is ws_lock(), '', 'no run left: the workspace is free';

# a plan-only run cannot be confirmed even when planned
sql("UPDATE runs SET status = 'planned', plan_status = 'finished' WHERE id = '$spec->{id}'");
is_error(api(POST => "/api/v2/runs/$spec->{id}/actions/apply", token => $owner),
         409, 'a plan-only run is never confirmable');

# retry a finished run
is_error(api(POST => "/api/terrapod/v1/runs/$spec->{id}/actions/retry", token => $owner),
         409, 'retry of an unfinished run');
$r = api(POST => "/api/terrapod/v1/runs/$first->{id}/actions/retry", token => $owner);
is $r->code, 201, 'retry a canceled run';
my $retry = json_of($r)->{data};
isnt $retry->{id}, $first->{id}, 'as a new run';
is $retry->{attributes}{status}, 'plan_queued', 'queued on the free workspace';

# what the CLI polls
$r = api(GET => "/api/v2/runs/$retry->{id}/run-events", token => $reader);
is $r->code, 200, 'run-events';
is_deeply [map { $_->{attributes}{action} } @{ json_of($r)->{data} }], [qw(created queued)],
          'the retry was created and queued';
is api(GET => "/api/v2/runs/$retry->{id}/task-stages", token => $reader)->code, 200,
   'task-stages';
$r = api(GET => "/api/v2/runs/$retry->{id}?include=task_stages,unknown_thing",
         token => $reader);
is $r->code, 200, 'unknown includes are ignored';
$r = api(GET => '/api/v2/organizations/default/runs/queue', token => $reader);
is $r->code, 200, 'the queue';
ok((grep { $_->{id} eq $retry->{id} } @{ json_of($r)->{data} }), 'lists the queued run');
$r = api(GET => '/api/v2/organizations/default/runs/queue',
         token => user_token('run-stranger@test.local'));
ok(!(grep { $_->{id} eq $retry->{id} } @{ json_of($r)->{data} }),
   'but not to someone who cannot see the workspace');
$r = api(GET => '/api/v2/organizations/default/capacity', token => $reader);
is $r->code, 200, 'capacity';
is json_of($r)->{data}{type}, 'organization-capacity', 'capacity type';
cmp_ok json_of($r)->{data}{attributes}{pending}, '>=', 1, 'counts pending runs';
$r = api(GET => "/api/v2/workspaces/$ws/runs?page[size]=2", token => $reader);
is $r->code, 200, 'workspace runs';
is scalar(@{ json_of($r)->{data} }), 2, 'paginated';
is json_of($r)->{data}[0]{id}, $retry->{id}, 'newest first';
cmp_ok json_of($r)->{meta}{pagination}{'total-count'}, '>=', 5, 'total-count';
is_error(api(GET => "/api/v2/runs/$retry->{id}", token => user_token('run-stranger@test.local')),
         404, 'a stranger cannot see a run');

# plans, applies and the log stream
my $plan_id = $retry->{relationships}{plan}{data}{id};
$r = api(GET => "/api/v2/plans/$plan_id", token => $reader);
is $r->code, 200, 'the plan';
my $plan = json_of($r)->{data};
is $plan->{type}, 'plans', 'type plans';
is $plan->{attributes}{status}, 'queued', 'queued';
my $log_url = $plan->{attributes}{'log-read-url'};
like $log_url, qr{/api/v2/plans/\Q$plan_id\E/logs/\d+\.[A-Za-z0-9_-]+$},
     'signed in the path (log readers rewrite the query string)';
is api(GET => "/api/terrapod/v1/runs/$retry->{id}/plan", token => $reader)->code, 200,
   'the native plan path';
my $apply_id = $retry->{relationships}{apply}{data}{id};
$r = api(GET => "/api/v2/applies/$apply_id", token => $reader);
is $r->code, 200, 'the apply';
is json_of($r)->{data}{attributes}{status}, 'pending', 'pending';
is api(GET => "/api/terrapod/v1/runs/$retry->{id}/apply", token => $reader)->code, 200,
   'the native apply path';
is_error(api(GET => "/api/v2/plans/$plan_id/json-output", token => $reader), 404,
         'no JSON plan yet');

sub log_bytes {
    my ($offset, $limit) = @_;
    my $res = api(GET => "$log_url?offset=$offset&limit=$limit");
    return $res->code == 200 ? $res->content : 'HTTP ' . $res->code;
}
is log_bytes(0, 100), "\x02", 'nothing logged yet: only STX';
my $dir = "$ENV{TP_INSTANCE}/storage/logs/$retry->{id}";
make_path($dir);
open my $fh, '>', "$dir/plan.log" or die $!;
print $fh "Plan: 1 to add";
close $fh;
is log_bytes(0, 100), "\x02Plan: 1 to add", 'STX and the log while running';
is log_bytes(1, 4), 'Plan', 'a slice from offset 1';
is log_bytes(15, 10), '', 'no ETX while the phase runs';
sql("UPDATE runs SET status = 'planned', plan_status = 'finished' WHERE id = '$retry->{id}'");
is log_bytes(0, 100), "\x02Plan: 1 to add\x03", 'STX, log, ETX once finished';
is log_bytes(14, 1), 'd', 'the last log byte';
is log_bytes(14, 2), "d\x03", 'the last byte and ETX';
is log_bytes(15, 10), "\x03", 'only the ETX';
is log_bytes(16, 10), '', 'past the end';
(my $bad = $log_url) =~ s/(.)$/$1 eq 'A' ? 'B' : 'A'/e;
like log_bytes_url($bad), qr/^HTTP 401$/, 'a tampered log URL';
(my $other = $log_url) =~ s{/plans/\Q$plan_id\E/}{/applies/$apply_id/};
like log_bytes_url($other), qr/^HTTP 401$/, "the plan's URL does not read the apply log";
is api(GET => "/api/v2/plans/$plan_id/logs/nonsense")->code, 401, 'no signature';

# auto-queue-runs: an upload queues a run in an agent workspace only
my $auto = make_ws($owner, 'runs-auto');
make_cv($owner, $auto);
is scalar(@{ json_of(api(GET => "/api/v2/workspaces/$auto/runs", token => $owner))->{data} }),
   0, 'a local-execution workspace gets no run from an upload';
api(PATCH => "/api/v2/workspaces/$auto", token => $owner,
    body => {data => {type => 'workspaces', attributes => {'execution-mode' => 'agent'}}});
my $auto_cv = make_cv($owner, $auto);
my $auto_runs = json_of(api(GET => "/api/v2/workspaces/$auto/runs", token => $owner))->{data};
is scalar(@$auto_runs), 1, 'an agent workspace gets a run from an upload';
is $auto_runs->[0]{relationships}{'configuration-version'}{data}{id}, $auto_cv,
   'for that configuration';
is $auto_runs->[0]{attributes}{'created-by'}, 'run-owner@test.local',
   'on behalf of whoever created the version';
# out of the way of the listener tests, which claim any agent-mode run
api(POST => "/api/v2/runs/$auto_runs->[0]{id}/actions/cancel", token => $owner);

# meta.current-id: the configuration of the last successful apply
my $cvs = json_of(api(GET => "/api/v2/workspaces/$ws/configuration-versions",
                      token => $owner));
ok exists $cvs->{meta}{'current-id'} && !defined $cvs->{meta}{'current-id'},
   'no apply yet: current-id is null';
sql("UPDATE runs SET status = 'applied' WHERE id = '$first->{id}'");
$cvs = json_of(api(GET => "/api/v2/workspaces/$ws/configuration-versions",
                   token => $owner));
is $cvs->{meta}{'current-id'}, $cv, 'after an apply it names that configuration';

# a person's lock holds runs back; their unlock hands the workspace over at once
my $held = make_ws($owner, 'runs-held');
make_cv($owner, $held, 'auto-queue-runs' => JSON::PP::false());
is api(POST => "/api/v2/workspaces/$held/actions/lock", token => $owner,
       body => {reason => 'maintenance'})->code, 200, 'a person locks the workspace';
my $waiting = json_of(create_run($owner, ws => $held, message => 'waits'))->{data};
is $waiting->{attributes}{status}, 'pending', 'a run waits behind the person\'s lock';
my $unlocked = api(POST => "/api/v2/workspaces/$held/actions/unlock", token => $owner);
is $unlocked->code, 200, 'the person unlocks';
is_deeply json_of($unlocked)->{data}{attributes}{locked}, JSON::PP::true,
   'the answer shows the workspace locked again, by the run';
is run_of($waiting->{id})->{attributes}{status}, 'plan_queued',
   'the waiting run is queued at once, not at the next reconcile';
api(POST => "/api/v2/runs/$waiting->{id}/actions/cancel", token => $owner);

sub log_bytes_url {
    my ($url) = @_;
    my $res = api(GET => "$url?offset=0&limit=10");
    return $res->code == 200 ? $res->content : 'HTTP ' . $res->code;
}
