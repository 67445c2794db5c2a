# A runner token works only while the phase it was minted for runs, and
# each write only in the phase it belongs to: plan logs, plan file, plan
# JSON and plan artifacts while the run plans; the apply log and the state
# while it applies; the resource profile in either. After the listener
# reports the end (a cancel included, whose last log chunk and partial
# state come before that report), after a person force-cancels, and once a
# later phase is claimed, the token writes and reads nothing: 409, or 401
# for a token of an earlier phase; and what was stored stays as it was.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TP::Test;
use TP::Listener;

plan tests => 121;

my $admin = admin_token();
my $owner = user_token('ph-owner@test.local');
my ($ws, $l) = agent_pool_ws($admin, $owner, 'ph-ws');
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());

my $plan_json = '{"format_version":"1.2","resource_changes":[]}';
my $state = '{"version":4,"terraform_version":"1.11.4","serial":%d,"lineage":"ph",'
          . '"outputs":{},"resources":[]}';

sub create_run { new_run($owner, $ws, @_) }
sub status_of {
    json_of(api(GET => "/api/v2/runs/$_[0]", token => $owner))->{data}{attributes}{status};
}
sub claim { claim_job($l, @_) }
sub token_for { runner_token_of($l, @_) }
sub report {
    my ($id, %body) = @_;
    my $res = as_l($l, PATCH => "/runs/$id", body => \%body);
    die 'report: ' . $res->as_string unless $res->code == 200;
    return json_of($res)->{data}{status};
}
sub write_as {
    my ($tok, $id, $method, $what, $body) = @_;
    return as_runner($tok, $method => $id, $what, body => $body,
                     headers => {'Content-Type' => 'application/octet-stream'});
}
sub log_of { read_phase_log($owner, @_)->content }
sub stored { sql("SELECT $_[1] FROM runs WHERE id = '$_[0]'") }

# Every runner write of a phase refused with $code, and the reads too.
my @plan_writes = ([POST => 'artifacts/plan-log', "late chunk\n"],
                   [PUT => 'artifacts/plan-log', "replaced\n"],
                   [PUT => 'artifacts/plan-file', 'another plan'],
                   [PUT => 'artifacts/plan-json', $plan_json],
                   [PUT => 'artifacts/plan-artifacts', 'tar']);
my @apply_writes = ([POST => 'artifacts/apply-log', "late chunk\n"],
                    [PUT => 'artifacts/apply-log', "replaced\n"],
                    [PUT => 'artifacts/state', sprintf($state, 90)]);
sub all_refused {
    my ($tok, $id, $code, $why, @writes) = @_;
    for my $w (@writes) {
        is_error(write_as($tok, $id, @$w), $code, "$why: $w->[0] $w->[1]");
    }
}

# ==== a plan: its writes while it plans, only those ====

my $run = create_run(message => 'plan then cancel');
my $id = $run->{id};
claim($id, 'plan');
my $tok = token_for($id);
is write_as($tok, $id, POST => 'artifacts/plan-log', "planning\n")->code, 204,
   'a plan log chunk while planning';
is write_as($tok, $id, PUT => 'artifacts/plan-json', $plan_json)->code, 204,
   'the plan JSON while planning';
is write_as($tok, $id, PUT => 'artifacts/plan-artifacts', 'files')->code, 204,
   'plan artifacts while planning';
is write_as($tok, $id, PUT => 'artifacts/plan-file', 'the plan')->code, 204,
   'the plan file while planning';
all_refused($tok, $id, 409, 'while planning', @apply_writes);
like error_detail(write_as($tok, $id, POST => 'artifacts/apply-log', 'x')),
     qr/planning/, 'the refusal names the run\'s status';
is as_runner($tok, GET => $id, 'artifacts/config')->code, 200, 'the configuration is read';
is as_runner($tok, POST => $id, 'resource-profile', body => {exit_code => 0})->code, 204,
   'the resource profile while planning';

# ==== a cancel: the last chunk comes while the run still plans ====

is api(POST => "/api/v2/runs/$id/actions/cancel", token => $owner, body => {})->code, 202,
   'a person cancels';
is write_as($tok, $id, POST => 'artifacts/plan-log', "interrupted\n")->code, 204,
   'the listener\'s last chunk after the cancel request';
is as_runner($tok, POST => $id, 'resource-profile', body => {exit_code => 130})->code, 204,
   'and its resource profile';
is report($id, status => 'canceled'), 'canceled', 'then it reports the run canceled';
my $log = log_of($run, 'plan');
all_refused($tok, $id, 409, 'after the cancel', @plan_writes, @apply_writes);
is_error(as_runner($tok, POST => $id, 'resource-profile', body => {exit_code => 1}), 409,
         'a resource profile after the end');
is_error(as_runner($tok, GET => $id, 'artifacts/config'), 409, 'reading the configuration');
is_error(as_runner($tok, GET => $id, 'artifacts/plan-file'), 409, 'reading the plan file');
is_error(as_runner($tok, GET => $id, 'artifacts/state'), 409, 'reading the state');
is log_of($run, 'plan'), $log, 'the plan log is as it was';
like $log, qr/planning\ninterrupted\n\x03$/, 'ending with the last chunk';
is stored($id, 'exit_code'), 130, 'the profile is the one sent before the end';
is_error(as_l($l, POST => "/runs/$id/runner-token", body => {}), 409,
         'no new token for an ended run');

# ==== a plan waiting for confirmation, then its apply ====

$run = create_run(message => 'plan, confirm, apply');
$id = $run->{id};
claim($id, 'plan');
my $ptok = token_for($id);
is write_as($ptok, $id, PUT => 'artifacts/plan-file', 'plan bytes')->code, 204, 'plan file';
is report($id, status => 'planned', 'has-changes' => JSON::PP::true()), 'planned',
   'planned: it waits for a person';
all_refused($ptok, $id, 409, 'while it waits', @plan_writes, @apply_writes);
is_error(as_l($l, POST => "/runs/$id/runner-token", body => {}), 409,
         'no token while no phase runs');
is api(POST => "/api/v2/runs/$id/actions/apply", token => $owner, body => {})->code, 202,
   'confirmed';
claim($id, 'apply');
all_refused($ptok, $id, 401, 'the plan phase\'s token in the apply', @apply_writes);
like error_detail(write_as($ptok, $id, PUT => 'artifacts/state', sprintf($state, 91))),
     qr/earlier phase|signature/, 'the 401 says why';
is_error(as_runner($ptok, GET => $id, 'artifacts/plan-file'), 401,
         'nor does it read the plan file');
my $atok = token_for($id);
all_refused($atok, $id, 409, 'plan writes while applying', @plan_writes);
is as_runner($atok, GET => $id, 'artifacts/plan-file')->content, 'plan bytes',
   'the apply reads the plan file';
is write_as($atok, $id, POST => 'artifacts/apply-log', "applying\n")->code, 204,
   'an apply log chunk';
is write_as($atok, $id, PUT => 'artifacts/state', sprintf($state, 1))->code, 204,
   'the state while applying';
my $sv = current_sv_id($ws, $owner);
is report($id, status => 'applied'), 'applied', 'applied';
all_refused($atok, $id, 409, 'after the apply', @plan_writes, @apply_writes);
is current_sv_id($ws, $owner), $sv, 'no state replaced after the end';
is log_of($run, 'apply'), "\x02applying\n\x03", 'the apply log is as it was';

# ==== force-cancel: the phase ends without the listener ====

$run = create_run(message => 'force-canceled apply', 'auto-apply' => JSON::PP::true());
$id = $run->{id};
claim($id, 'plan');
is report($id, status => 'planned', 'has-changes' => JSON::PP::true()), 'apply_queued',
   'auto-apply';
claim($id, 'apply');
$atok = token_for($id);
is write_as($atok, $id, PUT => 'artifacts/state', sprintf($state, 2))->code, 204,
   'a state while applying';
$sv = current_sv_id($ws, $owner);
is api(POST => "/api/v2/runs/$id/actions/force-cancel", token => $admin, body => {})->code,
   202, 'an admin force-cancels the apply';
is status_of($id), 'canceled', 'canceled at once';
all_refused($atok, $id, 409, 'after a force-cancel', @apply_writes);
is current_sv_id($ws, $owner), $sv, 'no state after the force-cancel';
is_error(as_runner($atok, POST => $id, 'resource-profile', body => {exit_code => 1}), 409,
         'a profile after the force-cancel');
