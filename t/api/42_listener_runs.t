# The listener and runner protocol (listener certificates arrive as the
# X-Client-Cert header of a proxy that proves itself): claiming runs of
# agent-mode workspaces with their merged variables, the long poll, runner
# tokens and what they open, phase reports and the state machine behind
# them (auto-apply, plan-only, no changes, illegal reports), log chunks as
# the CLI streams them, plan files, the plan JSON behind json-output,
# plan artifacts, state from an apply, resource profiles, cancel requests and the reconciler that ends the runs of a
# silent listener.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use POSIX ();
use TP::Test;
use TP::Listener;

plan tests => 184;

my $NAT = '/api/terrapod/v1';
my $LST = "$NAT/listeners";

my $admin = admin_token();
my $owner = user_token('lr-owner@test.local');

# ==== a pool with two listeners ====

my ($pool, $join) = make_pool($admin, 'lr-pool');
my $r;

my $l1 = join_as($join, 'lr-1');
my $l2 = join_as($join, 'lr-2');
is as_l($l1, POST => '/heartbeat')->code, 200, 'listener 1 heartbeats';
is as_l($l2, POST => '/heartbeat')->code, 200, 'listener 2 heartbeats';

# ==== an agent-mode workspace with variables and a configuration ====

my $ws = make_ws($owner, 'lr-ws');
$r = api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
         body => {data => {type => 'workspaces', attributes => {'execution-mode' => 'agent',
                                                                'agent-pool-id' => $pool}}});
is $r->code, 200, 'the workspace runs on agents of its pool';
sub add_var {
    my (%a) = @_;
    my $res = api(POST => "/api/v2/workspaces/$ws/vars", token => $owner,
                  body => {data => {type => 'vars', attributes => \%a}});
    die 'var: ' . $res->as_string unless $res->code == 201;
}
add_var(key => 'region', value => 'eu-west-1', category => 'terraform');
add_var(key => 'db_password', value => 's3cr3t-pw', category => 'terraform',
        sensitive => JSON::PP::true());
add_var(key => 'TF_LOG', value => 'info', category => 'env');
my $cv = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
my $tarball = api(GET => "$NAT/configuration-versions/$cv/download", token => $owner)->content;
ok length($tarball) > 20, 'the uploaded tarball';

sub run_body {
    my (%o) = @_;
    return {data => {type => 'runs', attributes => {%o},
                     relationships => {workspace => {data => {type => 'workspaces', id => $ws}}}}};
}
sub create_run {
    my (%o) = @_;
    my $res = api(POST => '/api/v2/runs', token => $owner, body => run_body(%o));
    die 'run: ' . $res->as_string unless $res->code == 201;
    return json_of($res)->{data};
}
sub run_of {
    my ($id) = @_;
    return json_of(api(GET => "/api/v2/runs/$id", token => $owner))->{data};
}
sub status_of { run_of($_[0])->{attributes}{status} }
sub ws_lock {
    my $a = json_of(api(GET => "/api/v2/workspaces/$ws", token => $owner))->{data}{attributes};
    return $a->{locked} ? $a->{'locked-by'} : '';
}
sub next_run {
    my ($l, $wait) = @_;
    return as_l($l, GET => "/runs/next?wait=" . ($wait // 0));
}
sub patch_run {
    my ($l, $id, %body) = @_;
    return as_l($l, PATCH => "/runs/$id", body => \%body);
}
sub log_of {
    my ($run, $phase) = @_;
    my $id = $run->{relationships}{$phase}{data}{id};
    my $path = $phase eq 'plan' ? 'plans' : 'applies';
    my $url = json_of(api(GET => "/api/v2/$path/$id", token => $owner))
        ->{data}{attributes}{'log-read-url'};
    return api(GET => "$url?offset=0&limit=1000")->content;
}

# ==== claiming a plan ====

my $run = create_run(message => 'first',
                     variables => [{key => 'region', value => '"us-east-2"'}]);
my $id = $run->{id};
is $run->{attributes}{status}, 'plan_queued', 'the run is queued';

is_error(api(GET => "$LST/$l1->{listener_id}/runs/next"), 401, 'next without a certificate');
is_error(as_l($l1, GET => '/runs/next?wait=x'), 400, 'next with a malformed wait');
$r = next_run($l1, 1);
is $r->code, 200, 'next: 200';
my $job = json_of($r)->{data};
is $job->{'run-id'}, $id, 'next: the queued run';
is $job->{phase}, 'plan', 'next: the plan phase';
is $job->{workspace}{id}, $ws, 'next: the workspace';
is $job->{workspace}{name}, 'lr-ws', 'next: the workspace name';
is $job->{workspace}{'execution-backend'}, 'terraform', 'next: the backend';
ok exists $job->{workspace}{'terraform-version'}, 'next: the terraform version';
ok exists $job->{workspace}{'working-directory'}, 'next: the working directory';
is $job->{run}{message}, 'first', 'next: the run message';
ok $job->{run}{refresh}, 'next: refresh';
ok !$job->{run}{'is-destroy'}, 'next: not a destroy';
ok !$job->{run}{'plan-only'}, 'next: not plan-only';
is_deeply $job->{run}{'target-addrs'}, [], 'next: no targets';
my %vars = map { ("$_->{category}/$_->{key}" => $_) } @{ $job->{variables} };
is scalar(keys %vars), 3, 'next: three variables';
is $vars{'terraform/region'}{value}, '"us-east-2"', 'the run variable overrides the workspace one';
ok $vars{'terraform/region'}{hcl}, 'run variables are HCL';
is $vars{'terraform/db_password'}{value}, 's3cr3t-pw', 'the sensitive value is unsealed';
ok $vars{'terraform/db_password'}{sensitive}, 'and marked sensitive';
is $vars{'env/TF_LOG'}{value}, 'info', 'the env variable';
is status_of($id), 'planning', 'the run is planning';
is sql("SELECT listener_id FROM runs WHERE id = '$id'"), $l1->{listener_id},
   'the claiming listener is recorded';
is sql("SELECT claimed_at IS NOT NULL FROM runs WHERE id = '$id'"), 't', 'and when';

my $t0 = time;
$r = next_run($l1, 1);
my $took = time - $t0;
is $r->code, 204, 'nothing more to claim: 204';
ok $took >= 0.8 && $took < 5, "after the wait ($took s)";
is next_run($l2, 0)->code, 204, 'another listener gets nothing either';

# ==== runner tokens ====

$r = as_l($l1, POST => "/runs/$id/runner-token", body => {});
is $r->code, 200, 'runner token: 200';
my $tok = json_of($r)->{token};
like $tok, qr/^runtok:\Q$id\E:3600:\d+:[A-Za-z0-9_-]+$/, 'runner token shape';
is json_of($r)->{expires_in}, 3600, 'default lifetime';
$r = as_l($l1, POST => "/runs/$id/runner-token", body => {ttl => 999999});
is json_of($r)->{expires_in}, 7200, 'a long lifetime is clamped';
is_error(as_l($l1, POST => "/runs/$id/runner-token", body => {ttl => 'x'}), 422,
         'a lifetime that is not a number');
is_error(as_l($l2, POST => "/runs/$id/runner-token", body => {}), 404,
         'a listener that did not claim the run');

$r = as_runner($tok, GET => $id, 'artifacts/config');
is $r->code, 200, 'config: 200';
ok $r->content eq $tarball, 'config: the uploaded tarball, byte for byte';
is_error(as_runner(undef, GET => $id, 'artifacts/config'), 401, 'config without a token');
is_error(as_runner($admin, GET => $id, 'artifacts/config'), 401, 'config with an API token');
(my $tampered = $tok) =~ s/:(\d+):([^:]+)$/':' . ($1 + 100) . ":$2"/e;
is_error(as_runner($tampered, GET => $id, 'artifacts/config'), 401, 'config with a tampered token');
is as_runner($tok, GET => $id, 'artifacts/state')->code, 404, 'no state yet: 404';

# ==== logs while planning ====

is as_runner($tok, POST => $id, 'artifacts/plan-log', body => "Terraform will perform\n")->code,
   204, 'a plan log chunk';
is as_runner($tok, POST => $id, 'artifacts/plan-log', body => "Plan: 1 to add\n")->code,
   204, 'another chunk';
is log_of($run, 'plan'), "\x02Terraform will perform\nPlan: 1 to add\n",
   'the log stream: STX and the chunks, no ETX while planning';

$r = as_l($l1, GET => "/runs/$id");
is $r->code, 200, 'the run as its listener sees it';
is_deeply json_of($r)->{data}, {status => 'planning', 'cancel-requested' => JSON::PP::false()},
          'planning, no cancel requested';
is_error(as_l($l2, GET => "/runs/$id"), 404, 'another listener does not see it');

# ==== what the plan stores: plan file, plan JSON, plan artifacts ====

my $planbin = join '', map { chr } 0 .. 255;
is as_runner($tok, PUT => $id, 'artifacts/plan-file', body => $planbin,
             headers => {'Content-Type' => 'application/octet-stream'})->code,
   204, 'plan file stored';
$r = as_runner($tok, GET => $id, 'artifacts/plan-file');
is $r->code, 200, 'plan file read back';
ok $r->content eq $planbin, 'byte for byte';
is sql("SELECT plan_file_stored FROM runs WHERE id = '$id'"), 't', 'recorded on the run';

# ==== the plan JSON behind json-output, and plan artifacts ====

my $reader = user_token('lr-reader@test.local');
my $stranger = user_token('lr-stranger@test.local');
grant_ws_role($admin, 'lr-reader@test.local', 'lr-read', 'read', 'lr-ws');
my $plan_id = $run->{relationships}{plan}{data}{id};
my $json_output = "/api/v2/plans/$plan_id/json-output";

is_error(api(GET => $json_output, token => $reader), 404, 'json-output before the upload');
is_error(as_runner($tok, GET => $id, 'artifacts/plan-json'), 404, 'no plan JSON yet');
is_error(as_runner(undef, PUT => $id, 'artifacts/plan-json', body => '{}'), 401,
         'plan JSON without a token');
my $planjson = qq({"format_version":"1.2","resource_changes":[{"address":"terraform_data.a",)
             . qq("change":{"actions":["create"]}}],"note":"caf\xc3\xa9"});
is as_runner($tok, PUT => $id, 'artifacts/plan-json', body => $planjson,
             headers => {'Content-Type' => 'application/json'})->code, 204, 'plan JSON stored';
$r = as_runner($tok, GET => $id, 'artifacts/plan-json');
is $r->code, 200, 'the runner reads it back';
ok $r->content eq $planjson, 'byte for byte';
$r = api(GET => $json_output, token => $reader);
is $r->code, 200, 'json-output: a reader gets the plan JSON';
is $r->header('Content-Type'), 'application/json', 'as application/json';
ok $r->content eq $planjson, 'the stored bytes';
is_error(api(GET => $json_output, token => $stranger), 404, 'json-output for a stranger');
is_error(api(GET => $json_output), 401, 'json-output without a token');
is_error(api(GET => "/api/v2/plans/$run->{relationships}{apply}{data}{id}/json-output",
             token => $owner), 404, 'an apply id names no plan');

my $tar = join '', map { chr(($_ * 7) % 256) } 0 .. 4095;
is_error(as_runner($tok, GET => $id, 'artifacts/plan-artifacts'), 404, 'no plan artifacts yet');
is as_runner($tok, PUT => $id, 'artifacts/plan-artifacts', body => $tar,
             headers => {'Content-Type' => 'application/x-tar'})->code, 204,
   'plan artifacts stored';
$r = as_runner($tok, GET => $id, 'artifacts/plan-artifacts');
is $r->code, 200, 'plan artifacts read back';
ok $r->content eq $tar, 'byte for byte';
is_error(as_runner(undef, GET => $id, 'artifacts/plan-artifacts'), 401,
         'plan artifacts without a token');

# an announced body over 256 MiB is refused before a byte of it is read
{
    my $answer = announce_body(PUT => "$NAT/runs/$id/artifacts/plan-artifacts",
                               256 * 1024 * 1024 + 1, Authorization => "Bearer $tok",
                               'Content-Type' => 'application/x-tar');
    like $answer, qr{^HTTP/1\.1 413 }, 'plan artifacts over 256 MiB: 413';
    like $answer, qr/"status":\s*"413"/, 'with a JSON:API error';
}
$r = as_runner($tok, GET => $id, 'artifacts/plan-artifacts');
ok $r->content eq $tar, 'the stored artifacts are unchanged';

# ==== reports ====

is_error(patch_run($l1, $id, status => 'applied'), 409, 'applied while planning');
is_error(patch_run($l1, $id, status => 'bogus'), 422, 'an unknown status');
is_error(patch_run($l2, $id, status => 'planned', 'has-changes' => JSON::PP::true()), 404,
         'a report by a listener that did not claim the run');
is status_of($id), 'planning', 'the refused reports changed nothing';
$r = patch_run($l1, $id, status => 'planned', 'has-changes' => JSON::PP::true());
is $r->code, 200, 'planned: 200';
is json_of($r)->{data}{status}, 'planned', 'the answer says planned';
my $planned = run_of($id);
is $planned->{attributes}{status}, 'planned', 'the run is planned';
ok $planned->{attributes}{'has-changes'}, 'with changes';
ok $planned->{attributes}{actions}{'is-confirmable'}, 'and confirmable';
like log_of($run, 'plan'), qr/Plan: 1 to add\n\x03$/, 'the plan log ends with ETX';
is ws_lock(), $id, 'the run still holds the workspace';

is api(POST => "/api/v2/runs/$id/actions/apply", token => $owner, body => {})->code, 202,
   'confirmed';
is status_of($id), 'apply_queued', 'queued for apply';
$r = next_run($l1, 1);
is $r->code, 200, 'next: the apply';
is json_of($r)->{data}{'run-id'}, $id, 'of the same run';
is json_of($r)->{data}{phase}, 'apply', 'phase apply';
is status_of($id), 'applying', 'the run is applying';

# ==== the apply: its own runner token, the state, the apply log ====

my $ptok = $tok;
$tok = json_of(as_l($l1, POST => "/runs/$id/runner-token", body => {}))->{token};
isnt $tok, $ptok, 'the apply gets a token of its own';
$r = as_runner($tok, GET => $id, 'artifacts/plan-file');
is $r->code, 200, 'the apply reads the plan file';
ok $r->content eq $planbin, 'the one the plan stored';

my $before = current_sv_id($ws, $owner);
my $state = '{"version":4,"terraform_version":"1.9.0","serial":3,"lineage":"lr-lineage",'
          . '"outputs":{"greeting":{"value":"hi","type":"string"}},"resources":[]}';
is_error(as_runner($tok, PUT => $id, 'artifacts/state', body => 'not a state'), 422,
         'a state that is not one');
is current_sv_id($ws, $owner), $before, 'stored nothing';
is as_runner($tok, PUT => $id, 'artifacts/state', body => $state)->code, 204, 'state stored';
my $sv = current_sv_id($ws, $owner);
like $sv, qr/^sv-/, 'a current state version';
$r = api(GET => "/api/v2/state-versions/$sv", token => $owner);
my $svdoc = json_of($r)->{data};
is $svdoc->{attributes}{serial}, 3, 'with the serial of the state';
is $svdoc->{attributes}{status}, 'finalized', 'finalized';
is $svdoc->{relationships}{run}{data}{id}, $id, 'related to the run';
ok !defined $svdoc->{attributes}{'created-by'}, 'created by no one';
is run_of($id)->{relationships}{'created-state-version'}{data}{id}, $sv,
   'the run names the state it created';
$r = as_runner($tok, GET => $id, 'artifacts/state');
is $r->code, 200, 'the runner reads the state';
like $r->content, qr/"lineage":\s*"lr-lineage"/, 'the stored state';

is as_runner($tok, PUT => $id, 'artifacts/apply-log', body => "partial")->code, 204,
   'apply log put';
is as_runner($tok, PUT => $id, 'artifacts/apply-log', body => "Apply complete!\n")->code, 204,
   'apply log replaced';
is log_of($run, 'apply'), "\x02Apply complete!\n", 'no ETX while applying';

is as_runner($tok, POST => $id, 'resource-profile',
             body => {peak_memory_bytes => 1500000000, peak_cpu_usec => 42000000,
                      exit_code => 0})->code, 204, 'resource profile';
is sql("SELECT peak_memory_bytes || ',' || peak_cpu_usec || ',' || exit_code FROM runs WHERE id = '$id'"),
   '1500000000,42000000,0', 'stored';
is_deeply [@{ run_of($id)->{attributes} }{qw(peak-memory-bytes peak-cpu-usec runner-exit-code runner-exit-status)}],
   [1500000000, 42000000, 0, 'clean'], 'shown on the run';
is_error(as_runner($tok, POST => $id, 'resource-profile', body => {exit_code => -1}), 400,
         'a negative exit code');
is_error(as_runner($tok, POST => $id, 'resource-profile', body => {peak_cpu_usec => 1.5}), 400,
         'a fractional value');
is_error(as_runner($tok, POST => $id, 'resource-profile',
                   body => {peak_memory_bytes => JSON::PP::true()}), 400, 'a boolean');
is as_runner($tok, POST => $id, 'resource-profile', body => {exit_code => 2})->code, 204,
   'a partial profile';
is sql("SELECT peak_memory_bytes || ',' || exit_code FROM runs WHERE id = '$id'"),
   '1500000000,2', 'keeps what it did not send';
is run_of($id)->{attributes}{'runner-exit-status'}, 'error', 'a failing exit is an error';

is_error(patch_run($l1, $id, status => 'planned'), 409, 'planned while applying');
$r = patch_run($l1, $id, status => 'applied');
is $r->code, 200, 'applied: 200';
is status_of($id), 'applied', 'the run is applied';
is log_of($run, 'apply'), "\x02Apply complete!\n\x03", 'the apply log ends with ETX';
is ws_lock(), '', 'the workspace lock is released';
is_error(patch_run($l1, $id, status => 'errored'), 409, 'a report after the end');
is_error(as_l($l1, POST => "/runs/$id/runner-token", body => {}), 409,
         'no runner token for an ended run');

# a token for one run does not open another
my $other = create_run(message => 'other');
is_error(as_runner($tok, GET => $other->{id}, 'artifacts/config'), 401,
         "another run's token");

# ==== auto-apply: planned to the apply queue in one step ====

api(POST => "/api/v2/runs/$other->{id}/actions/cancel", token => $owner);
my $auto = create_run(message => 'auto', 'auto-apply' => JSON::PP::true());
is json_of(next_run($l1, 1))->{data}{'run-id'}, $auto->{id}, 'auto-apply run claimed';
$r = patch_run($l1, $auto->{id}, status => 'planned', 'has-changes' => JSON::PP::true());
is json_of($r)->{data}{status}, 'apply_queued', 'auto-apply: straight to the apply queue';
my $ts = run_of($auto->{id})->{attributes}{'status-timestamps'};
ok $ts->{'planned-at'} && $ts->{'confirmed-at'}, 'through planned and confirmed';
is json_of(next_run($l1, 1))->{data}{phase}, 'apply', 'its apply is claimed';
$r = patch_run($l1, $auto->{id}, status => 'errored', 'error-message' => 'provider exploded');
is json_of($r)->{data}{status}, 'errored', 'a failed apply';
my $errored = run_of($auto->{id});
is $errored->{attributes}{'error-message'}, 'provider exploded', 'with its message';
is ws_lock(), '', 'and the workspace released';

# ==== plan-only and no changes end planned_and_finished ====

my $spec = create_run(message => 'spec', 'plan-only' => JSON::PP::true());
is json_of(next_run($l1, 1))->{data}{run}{'plan-only'}, JSON::PP::true(), 'a plan-only job';
$r = patch_run($l1, $spec->{id}, status => 'planned', 'has-changes' => JSON::PP::true());
is json_of($r)->{data}{status}, 'planned_and_finished', 'plan-only: planned_and_finished';
my $nochange = create_run(message => 'no changes');
is ws_lock(), $nochange->{id}, 'a normal run holds the workspace';
next_run($l1, 1);
$r = patch_run($l1, $nochange->{id}, status => 'planned', 'has-changes' => JSON::PP::false());
is json_of($r)->{data}{status}, 'planned_and_finished', 'no changes: planned_and_finished';
ok !run_of($nochange->{id})->{attributes}{'has-changes'}, 'has-changes false';
is ws_lock(), '', 'the workspace is free again';

# ==== cancel while planning ====

my $cancel = create_run(message => 'to cancel');
next_run($l1, 1);
is api(POST => "/api/v2/runs/$cancel->{id}/actions/cancel", token => $owner)->code, 202,
   'cancel requested while planning';
$r = as_l($l1, GET => "/runs/$cancel->{id}");
is_deeply json_of($r)->{data}, {status => 'planning', 'cancel-requested' => JSON::PP::true()},
          'the listener sees the cancel request, the run still running';
isnt ws_lock(), '', 'the run keeps the workspace until terraform stops';
$r = patch_run($l1, $cancel->{id}, status => 'canceled');
is $r->code, 200, 'the listener reports it canceled';
is run_of($cancel->{id})->{attributes}{status}, 'canceled', 'the run is canceled';
is_error(patch_run($l1, $cancel->{id}, status => 'canceled'), 409,
         'a second report is refused');
is ws_lock(), '', 'the workspace is free';

# ==== the long poll returns a run queued while it waits ====

my $pid = fork // die "fork: $!";
if (!$pid) {
    sleep 0.5;
    create_run(message => 'late');
    POSIX::_exit(0);
}
$t0 = time;
$r = next_run($l1, 10);
$took = time - $t0;
waitpid $pid, 0;
is $r->code, 200, 'the long poll returns a run';
is json_of($r)->{data}{run}{message}, 'late', 'the one queued while it waited';
ok $took >= 0.4 && $took < 3, "before the wait ended ($took s)";
my $late = json_of($r)->{data}{'run-id'};

# ==== the reconciler ends the runs of a silent listener ====

sql("UPDATE listeners SET last_heartbeat_at = now() - interval '5 minutes'"
    . " WHERE id = '$l1->{listener_id}'");
ok wait_until(10, sub { status_of($late) eq 'errored' }), 'the run is errored';
is run_of($late)->{attributes}{'error-message'}, 'listener lr-1 stopped heartbeating',
   'saying why';
is ws_lock(), '', 'and the workspace is released';
is status_of($other->{id}), 'canceled', 'ended runs are left alone';

# a pending run of a workspace a person unlocked is queued by the reconciler
api(POST => "/api/v2/workspaces/$ws/actions/lock", token => $owner, body => {reason => 'hold'});
my $waiting = create_run(message => 'waits for the unlock');
is $waiting->{attributes}{status}, 'pending', 'a run waits behind a person';
is api(POST => "/api/v2/workspaces/$ws/actions/unlock", token => $owner)->code, 200,
   'the person unlocks';
ok wait_until(10, sub { status_of($waiting->{id}) eq 'plan_queued' }),
   'queued once the workspace is free';
is ws_lock(), $waiting->{id}, 'holding the workspace';
