# Saved plans (runs with save-plan, what `terraform plan -out` creates with a
# cloud block), driven through the listener protocol: the plan ends
# planned_and_saved without holding the workspace, other runs go on, its
# actions say it can be applied or discarded; applying it queues its apply
# at once on a free workspace or in line behind the run that holds it; and
# once the workspace's state is no longer the one the plan read (another
# run applied first, a person wrote state) it is discarded and cannot be
# applied.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Listener;

plan tests => 98;

my $NAT = '/api/terrapod/v1';
my $admin = admin_token();
my $owner = user_token('sp-owner@test.local');
my $planner = user_token('sp-planner@test.local');
my ($pool, $join) = make_pool($admin, 'sp-pool');
my $l = join_as($join, 'sp-1');
as_l($l, POST => '/heartbeat', body => {capacity => 5});

my $ws = make_ws($owner, 'sp-ws');
api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
    body => {data => {type => 'workspaces', attributes => {
        'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
grant_ws_role($admin, 'sp-planner@test.local', 'sp-plan', 'plan', 'sp-ws');
# what terraform plan -out uploads: a provisional configuration
my $cv = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false(),
                 provisional => JSON::PP::true());

# a run of the provisional configuration, as the CLI names it (none:
# without naming one)
sub create_run {
    my ($token, %attrs) = @_;
    my $rel = {workspace => {data => {type => 'workspaces', id => $ws}}};
    $rel->{'configuration-version'} = {data => {type => 'configuration-versions', id => $cv}}
        unless delete $attrs{none};
    return api(POST => '/api/v2/runs', token => $token,
               body => {data => {type => 'runs', attributes => \%attrs,
                                 relationships => $rel}});
}
sub run_of { json_of(api(GET => "/api/v2/runs/$_[0]", token => $owner))->{data} }
sub status_of { run_of($_[0])->{attributes}{status} }
sub actions_of {
    my $a = run_of($_[0])->{attributes}{actions};
    return join ',', grep { $a->{$_} } sort keys %$a;
}
# the status of the run's plan or apply phase
sub phase_of {
    my ($id, $phase) = @_;
    my $pid = run_of($id)->{relationships}{$phase}{data}{id};
    my $path = $phase eq 'plan' ? 'plans' : 'applies';
    return json_of(api(GET => "/api/v2/$path/$pid", token => $owner))->{data}{attributes}{status};
}
sub ws_lock {
    my $a = json_of(api(GET => "/api/v2/workspaces/$ws", token => $owner))->{data}{attributes};
    return $a->{locked} ? $a->{'locked-by'} : '';
}
sub action { api(POST => "/api/v2/runs/$_[0]/actions/$_[1]", token => $_[2] // $owner, body => {}) }
# claims the next job: (run id, phase, plan-only), as the listener sees it
sub claim {
    my $r = as_l($l, GET => '/runs/next?wait=2');
    die 'claim: ' . $r->as_string unless $r->code == 200;
    my $job = json_of($r)->{data};
    return ($job->{'run-id'}, $job->{phase}, $job->{run}{'plan-only'});
}
sub token_for {
    my $r = as_l($l, POST => "/runs/$_[0]/runner-token", body => {});
    die 'token: ' . $r->as_string unless $r->code == 200;
    return json_of($r)->{token};
}
sub report {
    my ($id, $status, %more) = @_;
    my $r = as_l($l, PATCH => "/runs/$id", body => {status => $status, %more});
    die 'report: ' . $r->as_string unless $r->code == 200;
    return json_of($r)->{data}{status};
}
# The plan phase as a runner does it: the state fetched, the plan file
# stored, the report made; the run's status after it.
sub plan_it {
    my ($id, $changes) = @_;
    my ($claimed, $phase) = claim();
    die "claimed $claimed/$phase, not the plan of $id" unless $claimed eq $id && $phase eq 'plan';
    my $tok = token_for($id);
    as_runner($tok, GET => $id, 'artifacts/state');
    as_runner($tok, PUT => $id, 'artifacts/plan-file', body => "plan of $id",
              headers => {'Content-Type' => 'application/octet-stream'});
    return report($id, 'planned', 'has-changes' => $changes ? JSON::PP::true() : JSON::PP::false());
}
# The apply phase: the plan file read back, a new state stored (serial
# assigned), the report made.
my $serial = 0;
sub apply_it {
    my ($id) = @_;
    my ($claimed, $phase) = claim();
    die "claimed $claimed/$phase, not the apply of $id" unless $claimed eq $id && $phase eq 'apply';
    my $tok = token_for($id);
    my $plan = as_runner($tok, GET => $id, 'artifacts/plan-file')->content;
    $serial++;
    my $r = as_runner($tok, PUT => $id, 'artifacts/state', body =>
        qq({"version":4,"terraform_version":"1.11.4","serial":$serial,)
        . qq("lineage":"sp","outputs":{},"resources":[]}));
    die 'state: ' . $r->as_string unless $r->code == 204;
    return ($plan, $tok);
}
sub saved_plan {
    my $r = create_run($owner, 'save-plan' => JSON::PP::true());
    die 'run: ' . $r->as_string unless $r->code == 201;
    my $id = json_of($r)->{data}{id};
    plan_it($id, 1);
    return $id;
}

# ==== a saved plan ====

my $r = create_run($owner, none => 1);
is_error($r, 422, 'a run without a configuration while the only one is provisional');
$r = create_run($planner, 'save-plan' => JSON::PP::true(),
                   'auto-apply' => JSON::PP::true());
is $r->code, 201, 'plan is enough to create a saved plan';
my $s1 = json_of($r)->{data};
is $s1->{attributes}{status}, 'plan_queued', 'queued at once';
ok $s1->{attributes}{'save-plan'}, 'save-plan';
ok !$s1->{attributes}{'plan-only'}, 'not plan-only';
is ws_lock(), '', 'it does not take the workspace';
$s1 = $s1->{id};
my ($claimed, $phase, $plan_only) = claim();
is "$claimed/$phase", "$s1/plan", 'the listener plans it';
ok !$plan_only, 'as a plan that will be applied (its plan file is kept)';
my $tok = token_for($s1);
is as_runner($tok, GET => $s1, 'artifacts/state')->code, 404, 'no state yet';
as_runner($tok, PUT => $s1, 'artifacts/plan-file', body => 'the saved plan',
          headers => {'Content-Type' => 'application/octet-stream'});
is report($s1, 'planned', 'has-changes' => JSON::PP::true()), 'planned_and_saved',
   'with changes: planned_and_saved, whatever auto-apply says';
my $run = run_of($s1);
is $run->{attributes}{status}, 'planned_and_saved', 'the run says so';
ok $run->{attributes}{'status-timestamps'}{'planned-and-saved-at'}, 'with its timestamp';
is actions_of($s1), 'is-confirmable,is-discardable,is-force-cancelable',
   'confirmable and discardable, not cancelable';
ok $run->{attributes}{'has-changes'}, 'has changes';
is phase_of($s1, 'plan'), 'finished', 'its plan finished';
is phase_of($s1, 'apply'), 'pending', 'its apply pending';
is ws_lock(), '', 'the workspace stays free';
is sql("SELECT plan_state_version_id IS NULL FROM runs WHERE id = '$s1'"), 't',
   'planned against no state';

# ==== other runs go on; applying it waits for its turn ====

$r = create_run($owner);
my $busy = json_of($r)->{data}{id};
is json_of($r)->{data}{attributes}{status}, 'plan_queued', 'a normal run is not held up';
is ws_lock(), $busy, 'and takes the workspace';
is plan_it($busy, 1), 'planned', 'it plans and waits for confirmation';

is_error(action($s1, 'apply', $planner), 403, 'plan is not enough to apply it');
is status_of($s1), 'planned_and_saved', 'which changed nothing';
is action($s1, 'apply')->code, 202, 'applied while another run holds the workspace';
is status_of($s1), 'confirmed', 'it waits, confirmed';
is actions_of($s1), 'is-cancelable,is-force-cancelable', 'cancelable, no longer confirmable';
is_error(action($s1, 'apply'), 409, 'applying it again');
is phase_of($s1, 'apply'), 'queued', 'its apply queued';
is ws_lock(), $busy, 'behind the run holding the workspace';

is action($busy, 'discard')->code, 202, 'that run is discarded, nothing applied';
is status_of($s1), 'apply_queued', 'the saved plan takes its turn';
is ws_lock(), $s1, 'holding the workspace';
my ($planbytes) = apply_it($s1);
is $planbytes, 'the saved plan', 'the apply reads the plan the plan phase stored';
is report($s1, 'applied'), 'applied', 'applied';
is ws_lock(), '', 'the workspace is free';
my $sv1 = current_sv_id($ws, $owner);
is run_of($s1)->{relationships}{'created-state-version'}{data}{id}, $sv1,
   'its state is current';
$r = create_run($owner, none => 1, 'plan-only' => JSON::PP::true());
is $r->code, 201, 'its configuration is now the workspace\'s';
is json_of($r)->{data}{relationships}{'configuration-version'}{data}{id}, $cv,
   'runs naming none use it';
action(json_of($r)->{data}{id}, 'cancel');

# ==== on a free workspace, applying queues the apply at once ====

my $s2 = saved_plan();
is sql("SELECT plan_state_version_id FROM runs WHERE id = '$s2'"), $sv1,
   'the plan read the current state';
is action($s2, 'confirm')->code, 202, 'applied (the confirm alias)';
is status_of($s2), 'apply_queued', 'straight to the apply queue';
is ws_lock(), $s2, 'holding the workspace';
apply_it($s2);
report($s2, 'applied');
is status_of($s2), 'applied', 'and applied';

# ==== another run applies first: the saved plan is discarded ====

my $s3 = saved_plan();
my $other = saved_plan();
is status_of($s3) . ',' . status_of($other), 'planned_and_saved,planned_and_saved',
   'two saved plans of the same state';
$r = create_run($owner, 'auto-apply' => JSON::PP::true());
my $auto = json_of($r)->{data}{id};
is plan_it($auto, 1), 'apply_queued', 'an auto-apply run plans';
apply_it($auto);
is status_of($s3), 'discarded', 'its new state discards the saved plans at once';
is status_of($other), 'discarded', 'all of them';
is actions_of($s3), '', 'a discarded saved plan offers no action';
is phase_of($s3, 'apply'), 'unreachable', 'its apply unreachable';
is_error(action($s3, 'apply'), 409, 'applying a discarded saved plan');
report($auto, 'applied');
is ws_lock(), '', 'the run that applied first freed the workspace';

# ==== waiting in line when the run ahead applies ====

my $s4 = saved_plan();
$r = create_run($owner);
$busy = json_of($r)->{data}{id};
plan_it($busy, 1);
is action($s4, 'apply')->code, 202, 'a saved plan waits behind a planned run';
is action($busy, 'apply')->code, 202, 'which is confirmed';
apply_it($busy);
is status_of($s4), 'discarded', 'its state discards the waiting saved plan';
report($busy, 'applied');
is ws_lock(), '', 'and nothing takes the workspace after it';
is status_of($s4), 'discarded', 'the saved plan never applies';

# ==== state written by a person ====

my $s5 = saved_plan();
$serial++;
$r = api(POST => "$NAT/workspaces/$ws/state-versions/actions/upload", token => $owner,
         headers => {'Content-Type' => 'application/json'},
         body => qq({"version":4,"terraform_version":"1.11.4","serial":$serial,)
               . qq("lineage":"sp","outputs":{},"resources":[]}));
is $r->code, 201, 'a person uploads a state';
is status_of($s5), 'discarded', 'the saved plan of the state before is discarded';

# a state that changed without telling: found when it is applied
my $s6 = saved_plan();
sql("UPDATE runs SET plan_state_version_id = 'sv-gone' WHERE id = '$s6'");
is actions_of($s6), 'is-confirmable,is-discardable,is-force-cancelable',
   'a saved plan whose state went away still looks confirmable';
$r = action($s6, 'apply');
is_error($r, 409, 'applying it');
like error_detail($r), qr/no longer current.*discarded/, 'says it is stale and discarded';
is status_of($s6), 'discarded', 'and it is';
is ws_lock(), '', 'the workspace was never taken';

# ==== the state changes while the saved plan is planned ====

$r = create_run($owner, 'save-plan' => JSON::PP::true());
my $s7 = json_of($r)->{data}{id};
($claimed) = claim();
my $tok7 = token_for($s7);
as_runner($tok7, GET => $s7, 'artifacts/state');
$r = create_run($owner, 'auto-apply' => JSON::PP::true());
$auto = json_of($r)->{data}{id};
plan_it($auto, 1);
apply_it($auto);
report($auto, 'applied');
is status_of($s7), 'planning', 'a saved plan is planning while another run applies';
is report($s7, 'planned', 'has-changes' => JSON::PP::true()), 'discarded',
   'its plan ends discarded: it read the state before';

# ==== behind a person's lock ====

my $s8 = saved_plan();
is api(POST => "/api/v2/workspaces/$ws/actions/lock", token => $owner,
       body => {reason => 'hold'})->code, 200, 'a person locks the workspace';
is action($s8, 'apply')->code, 202, 'the saved plan is applied';
is status_of($s8), 'confirmed', 'and waits for the person';
is api(POST => "/api/v2/workspaces/$ws/actions/unlock", token => $owner)->code, 200,
   'the person unlocks';
is status_of($s8), 'apply_queued', 'the saved plan takes the workspace at once';
is ws_lock(), $s8, 'holding it';
is action($s8, 'cancel')->code, 202, 'canceled before a listener takes it';
is status_of($s8), 'canceled', 'canceled';
is ws_lock(), '', 'the workspace is free';

# ==== discarded, canceled while waiting, no changes, plan-only ====

my $s9 = saved_plan();
is action($s9, 'discard')->code, 202, 'a saved plan can be discarded';
is status_of($s9), 'discarded', 'discarded';
is_error(action($s9, 'apply'), 409, 'and then not applied');

my $s10 = saved_plan();
$r = create_run($owner);
$busy = json_of($r)->{data}{id};
action($s10, 'apply');
is status_of($s10), 'confirmed', 'a saved plan waits behind a queued run';
is action($s10, 'cancel')->code, 202, 'canceled while it waits';
is status_of($s10), 'canceled', 'canceled';
is ws_lock(), $busy, 'the run ahead keeps the workspace';
action($busy, 'cancel');
is ws_lock(), '', 'and nothing else takes it';

$r = create_run($owner, 'save-plan' => JSON::PP::true());
my $none = json_of($r)->{data}{id};
is plan_it($none, 0), 'planned_and_finished', 'no changes: planned_and_finished';
is actions_of($none), '', 'nothing to apply';

$r = create_run($owner, 'save-plan' => JSON::PP::true(), 'plan-only' => JSON::PP::true());
my $spec = json_of($r)->{data}{id};
is plan_it($spec, 1), 'planned_and_finished', 'plan-only wins over save-plan';

# ==== the reconciler queues a saved plan left waiting on a free workspace ====

my $s11 = saved_plan();
api(POST => "/api/v2/workspaces/$ws/actions/lock", token => $owner, body => {reason => 'hold'});
action($s11, 'apply');
is status_of($s11), 'confirmed', 'a saved plan waits behind a person';
sql("UPDATE workspaces SET lock_holder = NULL, lock_reason = '', locked_at = NULL"
    . " WHERE id = '$ws'");
ok wait_until(40, sub { status_of($s11) eq 'apply_queued' }),
   'the lock gone behind the API, the reconciler queues its apply';
is ws_lock(), $s11, 'holding the workspace';
action($s11, 'cancel');

# ==== the run list and its JSON:API shape ====

my $list = json_of(api(GET => "/api/v2/workspaces/$ws/runs?page%5Bsize%5D=100", token => $owner));
my %by_id = map { ($_->{id} => $_) } @{ $list->{data} };
is $by_id{$s1}{attributes}{status}, 'applied', 'the list shows the first saved plan applied';
is $by_id{$s3}{attributes}{status}, 'discarded', 'and the stale one discarded';
ok $by_id{$s3}{attributes}{'status-timestamps'}{'discarded-at'}, 'with when';
is $by_id{$s3}{attributes}{'error-message'}, '', 'no error: it was discarded, not errored';
