# The retention task (every second in this suite) removes what old runs
# stored (logs, plan file, plan JSON) and old configuration version
# tarballs, and marks them, so the API answers 410 for them; it keeps the
# artifacts of the run behind the current state, the current
# configuration version, a version a run not yet finished uses, and every
# state version. While a backup holds its lock the task removes nothing.
# A row whose files are gone but that is not marked (a batch cut short) is
# found and marked again.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TP::Test;
use TP::Listener;

plan tests => 47;

my $storage = "$ENV{TP_INSTANCE}/storage";
my $NAT = '/api/terrapod/v1';
my $admin = admin_token();
my $owner = user_token('ret-owner@test.local');
my ($ws, $l) = agent_pool_ws($admin, $owner, 'ret-ws');

my $plan_json = '{"format_version":"1.2","resource_changes":[]}';
my $state = '{"version":4,"terraform_version":"1.11.4","serial":%d,"lineage":"ret",'
          . '"outputs":{},"resources":[]}';

# a run with %attrs, of configuration version $cv when given
sub create_run {
    my ($cv, %attrs) = @_;
    my %rel = (workspace => {data => {type => 'workspaces', id => $ws}});
    $rel{'configuration-version'} = {data => {type => 'configuration-versions', id => $cv}}
        if $cv;
    return api(POST => '/api/v2/runs', token => $owner,
               body => {data => {type => 'runs', attributes => \%attrs,
                                 relationships => \%rel}});
}
sub claim {
    claim_job($l, @_);
    return runner_token_of($l, $_[0]);
}
sub report {
    my ($id, %body) = @_;
    my $res = as_l($l, PATCH => "/runs/$id", body => \%body);
    die 'report: ' . $res->as_string unless $res->code == 200;
}
sub put_as {
    my ($tok, $id, $method, $what, $body) = @_;
    my $res = as_runner($tok, $method => $id, $what, body => $body,
                        headers => {'Content-Type' => 'application/octet-stream'});
    die "$what: " . $res->as_string unless $res->code == 204;
}
# Plans run $id storing every plan artifact; applies it storing its log
# and state $serial unless it is plan-only ($serial undef).
sub drive {
    my ($id, $serial) = @_;
    my $tok = claim($id, 'plan');
    put_as($tok, $id, POST => 'artifacts/plan-log', "planning $id\n");
    put_as($tok, $id, PUT => 'artifacts/plan-file', 'plan bytes');
    put_as($tok, $id, PUT => 'artifacts/plan-json', $plan_json);
    report($id, status => 'planned', 'has-changes' => JSON::PP::true());
    return unless defined $serial;
    $tok = claim($id, 'apply');
    put_as($tok, $id, POST => 'artifacts/apply-log', "applying $id\n");
    put_as($tok, $id, PUT => 'artifacts/state', sprintf($state, $serial));
    report($id, status => 'applied');
}
sub run_of {
    my $res = create_run(@_);
    die 'run: ' . $res->as_string unless $res->code == 201;
    return json_of($res)->{data};
}
sub status_of {
    json_of(api(GET => "/api/v2/runs/$_[0]", token => $owner))->{data}{attributes}{status};
}
sub log_code { read_phase_log($owner, @_)->code }
sub json_code {
    api(GET => "/api/v2/plans/$_[0]{relationships}{plan}{data}{id}/json-output",
        token => $owner)->code;
}
sub cv_code { api(GET => "$NAT/configuration-versions/$_[0]/download", token => $owner)->code }
sub removed { sql("SELECT artifacts_removed_at IS NOT NULL FROM runs WHERE id = '$_[0]'") eq 't' }
sub cv_status { sql("SELECT status FROM configuration_versions WHERE id = '$_[0]'") }
# the turns of the retention task this server has finished
sub turns {
    my $m = api(GET => '/metrics')->content;
    return $m =~ /^terrapod_task_runs_total\{task="retention",outcome="ok"\} (\d+)$/m ? $1 : -1;
}

# ==== a workspace's history ====

my $cv1 = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
my $r1 = run_of(undef, 'auto-apply' => JSON::PP::true(), message => 'first apply');
drive($r1->{id}, 1);
my $cv2 = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
my $r2 = run_of(undef, 'auto-apply' => JSON::PP::true(), message => 'current state');
drive($r2->{id}, 2);
my $r3 = run_of(undef, 'plan-only' => JSON::PP::true(), message => 'a plan only');
drive($r3->{id});
my $spec = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false(),
                   speculative => JSON::PP::true());
my $cvx = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
my $cv3 = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
my $r4 = run_of($cvx, message => 'waits for confirmation');
drive($r4->{id});
is status_of($r1->{id}) . ' ' . status_of($r2->{id}) . ' ' . status_of($r3->{id}) . ' '
   . status_of($r4->{id}), 'applied applied planned_and_finished planned',
   'two applies, a plan only, a plan waiting';
my @svs = split /\n/, sql("SELECT id FROM state_versions WHERE workspace_id = '$ws'"
                          . " AND status = 'finalized' ORDER BY seq");
is scalar @svs, 2, 'two state versions';
is json_code($r1), 200, 'before: the plan JSON is served';
is log_code($r1, 'apply'), 200, 'before: the apply log';
is cv_code($cv1), 200, 'before: the first configuration';
ok -e "$storage/runs/$r1->{id}/plan.tfplan", 'before: the plan file is stored';

# ==== all of it 100 days old: the task sweeps ====

sql("UPDATE runs SET created_at = now() - interval '100 days' WHERE workspace_id = '$ws'");
sql("UPDATE configuration_versions SET created_at = now() - interval '100 days'"
    . " WHERE workspace_id = '$ws'");
sql("UPDATE state_versions SET created_at = now() - interval '100 days'"
    . " WHERE workspace_id = '$ws'");
ok wait_until(30, sub { removed($r1->{id}) && cv_status($cv1) eq 'archived' }),
   'the task marks the old run and the old configuration';
ok wait_until(10, sub { removed($r3->{id}) && cv_status($spec) eq 'archived' }),
   'and the plan-only run and the speculative configuration';

is json_code($r1), 410, 'an old run: its plan JSON is gone (410)';
is log_code($r1, 'plan'), 410, 'its plan log';
is log_code($r1, 'apply'), 410, 'its apply log';
like error_detail(api(GET => "/api/v2/plans/$r1->{relationships}{plan}{data}{id}/json-output",
                      token => $owner)), qr/removed by retention/, 'the 410 says why';
is_error(api(GET => "/api/v2/runs/$r1->{id}/plan/json-output", token => $owner), 410,
         'the run\'s plan JSON path too');
ok !-e "$storage/runs/$r1->{id}" && !-e "$storage/logs/$r1->{id}", 'its files are removed';
is json_code($r3), 410, 'the plan-only run: its plan JSON is gone';
is api(GET => "/api/v2/runs/$r1->{id}", token => $owner)->code, 200, 'the run itself stays';

is json_code($r2), 200, 'the run behind the current state keeps its plan JSON';
is log_code($r2, 'apply'), 200, 'and its logs';
ok !removed($r2->{id}), 'and is not marked';
is json_code($r4), 200, 'a run not finished keeps its plan JSON';
ok -e "$storage/runs/$r4->{id}/plan.tfplan", 'and its plan file';

is cv_code($cv1), 410, 'the old configuration answers 410';
like error_detail(api(GET => "$NAT/configuration-versions/$cv1/download", token => $owner)),
     qr/removed by retention/, 'the 410 says why';
is json_of(api(GET => "/api/v2/configuration-versions/$cv1", token => $owner))
   ->{data}{attributes}{status}, 'archived', 'it shows archived';
ok !-e "$storage/config/$ws/$cv1.tar.gz", 'its tarball is removed';
is cv_code($spec), 410, 'an old speculative configuration too';
is cv_code($cv2), 200, 'the configuration of the current state\'s run stays';
is cv_code($cv3), 200, 'the current configuration stays';
is cv_code($cvx), 200, 'a configuration a run not finished uses stays';
is_error(create_run($cv1), 409, 'no new run of an archived configuration');

is sql("SELECT count(*) FROM state_versions WHERE workspace_id = '$ws' AND status = 'finalized'"),
   2, 'every state version stays';
is api(GET => "/api/v2/state-versions/$_/download", token => $owner)->code, 200,
   "state version $_ is still served" for @svs;

# ==== nothing removed while a backup runs ====

my $lock = hold_backup_lock();
is api(POST => "/api/v2/runs/$r4->{id}/actions/discard", token => $owner)->code, 202,
   'the waiting run is discarded while a backup runs';
my $turns = turns();
# the turn under way may have begun before the discard: two turns more
ok wait_until(30, sub { turns() >= $turns + 2 }), 'the task turns meanwhile';
ok !removed($r4->{id}), 'it marks nothing';
ok -e "$storage/runs/$r4->{id}/plan.tfplan", 'and removes nothing';
is cv_code($cvx), 200, 'the configuration only that run used stays too';
release_backup_lock($lock);
ok wait_until(30, sub { removed($r4->{id}) }), 'once the backup is done, the task sweeps';
ok !-e "$storage/runs/$r4->{id}", 'the discarded run\'s files are removed';
ok wait_until(10, sub { cv_status($cvx) eq 'archived' }),
   'and the configuration only it used is archived';

# ==== a batch cut short: files gone, rows not marked ====

sql("UPDATE runs SET artifacts_removed_at = NULL WHERE id = '$r1->{id}'");
sql("UPDATE configuration_versions SET status = 'uploaded' WHERE id = '$cv1'");
ok wait_until(30, sub { removed($r1->{id}) && cv_status($cv1) eq 'archived' }),
   'the task finds the rows again and marks them';
is log_code($r1, 'apply'), 410, 'the log answers 410 again';
is cv_code($cv1), 410, 'the configuration too';

# other tests count what storage holds: the workspace goes with its files
is api(DELETE => "/api/v2/workspaces/$ws", token => $owner)->code, 204,
   'the workspace is deleted';
