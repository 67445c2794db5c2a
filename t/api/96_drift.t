# Drift detection through the API and the listener protocol: the ignore
# rules' and interval's validation (nothing stored on a 422), the drift
# attributes of workspaces and runs, check-drift (who may, when it is
# refused), a drift run's plan classified after the rules into drifted /
# no_drift, an errored one, the assessment results TFE integrators read
# and the workspace's drift history, a drift run never applied, and a
# successful apply clearing drift-latest-run-id.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use Digest::MD5 qw(md5_hex);
use TP::Test;
use TP::Listener;

plan tests => 119;

my $NAT = '/api/terrapod/v1';
my $true = JSON::PP::true();
my $admin = admin_token();
my $owner = user_token('drift-owner@test.local');
my $planner = user_token('drift-planner@test.local');
my $outsider = user_token('drift-outsider@test.local');
my ($pool, $join) = make_pool($admin, 'drift-pool');
my $l = join_as($join, 'drift-1');
my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

sub patch_ws {
    my ($ws, $token, %attrs) = @_;
    return api(PATCH => "/api/v2/workspaces/$ws", token => $token,
               body => {data => {type => 'workspaces', attributes => \%attrs}});
}
sub ws_doc { json_of(api(GET => "/api/v2/workspaces/$_[0]", token => $owner))->{data} }
sub agent_ws {
    my ($name) = @_;
    my $ws = make_ws($owner, $name);
    my $r = patch_ws($ws, $admin, 'execution-mode' => 'agent', 'agent-pool-id' => $pool,
                     'drift-detection-enabled' => $true);
    die 'agent mode: ' . $r->as_string unless $r->code == 200;
    return $ws;
}
sub push_state {
    my ($ws) = @_;
    my $bytes = JSON::PP->new->canonical->encode({version => 4, terraform_version => '1.11.4',
        serial => 1, lineage => "lineage-$ws", outputs => {}, resources => []});
    my $r = api(POST => "/api/v2/workspaces/$ws/state-versions", token => $owner,
                body => {data => {type => 'state-versions', attributes => {
                    serial => 1, md5 => md5_hex($bytes), lineage => "lineage-$ws"}}});
    die 'state: ' . $r->as_string unless $r->code == 201;
    $r = api(PUT => json_of($r)->{data}{attributes}{'hosted-state-upload-url'}, body => $bytes,
             headers => {'Content-Type' => 'application/octet-stream'});
    die 'state upload: ' . $r->as_string unless $r->code == 200;
}
sub check_drift {
    my ($ws, $token) = @_;
    return api(POST => "$NAT/workspaces/$ws/actions/check-drift", token => $token, body => {});
}
sub claim {
    my $res = as_l($l, GET => '/runs/next?wait=1');
    die 'next: ' . $res->as_string unless $res->code == 200;
    return json_of($res)->{data};
}
sub runner_token {
    my ($id) = @_;
    return json_of(as_l($l, POST => "/runs/$id/runner-token", body => {}))->{token};
}
sub report {
    my ($id, %body) = @_;
    my $res = as_l($l, PATCH => "/runs/$id", body => \%body);
    die 'report: ' . $res->as_string unless $res->code == 200;
}
sub upload_plan {
    my ($id, $plan) = @_;
    return api(PUT => "$NAT/runs/$id/artifacts/plan-json", body => $plan,
               headers => {Authorization => 'Bearer ' . runner_token($id),
                           'Content-Type' => 'application/octet-stream'});
}
# one drift check run to its end: its plan JSON (none: not uploaded) and
# how the listener reports it; the run's id
sub drift_run {
    my ($ws, $plan, %report) = @_;
    my $r = check_drift($ws, $admin);
    die 'check-drift: ' . $r->as_string unless $r->code == 201;
    my $id = json_of($r)->{data}{id};
    my $claimed = claim();
    die "claimed $claimed->{'run-id'}, not $id" unless $claimed->{'run-id'} eq $id;
    if (defined $plan) {
        $r = upload_plan($id, $plan);
        die 'plan json: ' . $r->as_string unless $r->code == 204;
    }
    report($id, %report ? %report : (status => 'planned', 'has-changes' => $true));
    return $id;
}
sub run_doc { json_of(api(GET => "/api/v2/runs/$_[0]", token => $owner))->{data} }
sub assessment { json_of(api(GET => "/api/v2/assessment-results/$_[0]", token => $owner))->{data} }

# a plan of terraform_data.x whose input changed outside, terraform_data.y
# unchanged, and a data source read
my $plan = JSON::PP->new->canonical->encode({format_version => '1.2',
    resource_changes => [
        {address => 'terraform_data.x', mode => 'managed', type => 'terraform_data', name => 'x',
         change => {actions => ['update'], before => {id => '1', input => 'a', output => 'a'},
                    after => {id => '1', input => 'b'}, after_unknown => {output => $true}}},
        {address => 'terraform_data.y', mode => 'managed', type => 'terraform_data', name => 'y',
         change => {actions => ['no-op'], before => {id => '2'}, after => {id => '2'}}},
        {address => 'data.external.z', mode => 'data', type => 'external', name => 'z',
         change => {actions => ['read'], before => undef, after => {}}}]});

my $ws = agent_ws('drift-ws');
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
grant_ws_role($admin, 'drift-planner@test.local', 'drift-planners', 'plan', 'drift-ws');

# ==== validation: nothing stored on a 422 ====

my $r = patch_ws($ws, $owner, 'drift-ignore-rules' => ['terraform_data.y'],
                 'drift-detection-interval-seconds' => 7200);
is $r->code, 200, 'rules and an interval are stored';
is_deeply json_of($r)->{data}{attributes}{'drift-ignore-rules'}, ['terraform_data.y'],
          'the rules as sent';
for my $bad ([['terraform_data'], 'an address without a name'],
             [['terraform_data.x tags'], 'a space'],
             [['terraform_data.x[0'], 'an open bracket'],
             [['a..b'], 'an empty segment'],
             [['module.m.x'], 'a module without a resource'],
             [[''], 'an empty rule'],
             [['a.' . ('b' x 499)], 'a rule of 501 characters'],
             [[('a.b') x 51], '51 rules'],
             [[1], 'a rule that is no string'],
             ['a.b', 'rules that are no list']) {
    is_error(patch_ws($ws, $owner, 'drift-ignore-rules' => $bad->[0]), 422,
             "drift-ignore-rules: $bad->[1]");
}
like error_detail(patch_ws($ws, $owner, 'drift-ignore-rules' => ['a.b', 'a b'])),
     qr/drift-ignore-rules\[1\]/, 'the error names the rule';
is_error(patch_ws($ws, $owner, 'drift-detection-interval-seconds' => 3599), 422,
         'an interval under an hour');
my $a = ws_doc($ws)->{attributes};
is_deeply $a->{'drift-ignore-rules'}, ['terraform_data.y'], 'the rules are unchanged';
is $a->{'drift-detection-interval-seconds'}, 7200, 'the interval too';
is patch_ws($ws, $owner, 'drift-ignore-rules' => ['a.' . ('b' x 498),
            'aws_autoscaling_group.workers[*].desired_capacity',
            'module.eks*.argocd_cluster.*.config.tls_client_config.ca_data'])->code, 200,
   'rules of the seed\'s grammar and 500 characters are taken';
is patch_ws($ws, $owner, 'drift-detection-interval-seconds' => 3600,
            'drift-ignore-rules' => [])->code, 200, 'an hour is the least interval';

is patch_ws($ws, $owner, 'assessments-enabled' => JSON::PP::false())->code, 200,
   'TFE\'s assessments-enabled';
is ws_doc($ws)->{attributes}{'drift-detection-enabled'}, JSON::PP::false(),
   'is drift-detection-enabled';
is patch_ws($ws, $owner, 'drift-detection-enabled' => $true)->code, 200, 'on again';
is ws_doc($ws)->{attributes}{'assessments-enabled'}, $true, 'and reads as it';

# ==== before any check ====

my $doc = ws_doc($ws);
is $doc->{attributes}{'drift-status'}, '', 'drift-status: "" before any check';
ok !defined $doc->{attributes}{'drift-last-checked-at'}, 'drift-last-checked-at: null';
ok !defined $doc->{attributes}{'drift-latest-run-id'}, 'drift-latest-run-id: null';
ok exists $doc->{relationships}{'current-assessment-result'}
   && !defined $doc->{relationships}{'current-assessment-result'}{data},
   'current-assessment-result: null';

# ==== check-drift: who may, and when ====

is_error(check_drift($ws, $planner), 403, 'check-drift with plan');
is_error(check_drift($ws, $outsider), 404, 'check-drift on a workspace one cannot read');
is_error(check_drift('ws-nonexistent', $admin), 404, 'check-drift on no workspace');
is_error(check_drift($ws, $admin), 409, 'check-drift without a state');
like error_detail(check_drift($ws, $admin)), qr/state/, 'which says what it needs';
my $local = make_ws($owner, 'drift-local');
push_state($local);
is_error(check_drift($local, $owner), 409, 'check-drift of a local workspace');
push_state($ws);
my $nocv = agent_ws('drift-nocv');
push_state($nocv);
is_error(check_drift($nocv, $owner), 422, 'check-drift without a configuration');
is sql("SELECT count(*) FROM runs WHERE workspace_id IN ('$ws', '$local', '$nocv')"), 0,
   'no run was created by the refusals';

# ==== a drifted check ====

$r = check_drift($ws, $owner);
is $r->code, 201, 'the owner (admin) checks now: 201';
my $run = json_of($r)->{data};
ok $run->{attributes}{'is-drift-detection'}, 'a drift run';
ok $run->{attributes}{'plan-only'}, 'plan-only';
ok $run->{attributes}{refresh}, 'with refresh';
is $run->{attributes}{status}, 'plan_queued', 'queued at once';
is_error(check_drift($ws, $owner), 409, 'another while it is in flight');
my $id = $run->{id};
is claim()->{'run-id'}, $id, 'the listener claims it';
is upload_plan($id, $plan)->code, 204, 'its plan JSON';
report($id, status => 'planned', 'has-changes' => $true);
is run_doc($id)->{attributes}{status}, 'planned_and_finished', 'it ends planned_and_finished';
is_error(api(POST => "/api/v2/runs/$id/actions/apply", token => $owner, body => {}), 409,
         'a drift run is never applied');
$doc = ws_doc($ws);
$a = $doc->{attributes};
is $a->{'drift-status'}, 'drifted', 'drift-status: drifted';
like $a->{'drift-last-checked-at'} // '', $RFC3339, 'drift-last-checked-at';
is $a->{'drift-latest-run-id'}, $id, 'drift-latest-run-id: the drift run';
my $asmt = $doc->{relationships}{'current-assessment-result'}{data};
is $asmt->{type}, 'assessment-results', 'current-assessment-result';
(my $suffix = $id) =~ s/^run-//;
is $asmt->{id}, "asmtres-$suffix", 'named after its run';
my $res = assessment($asmt->{id});
is $res->{attributes}{drifted}, $true, 'drifted: true';
ok $res->{attributes}{succeeded}, 'succeeded';
is $res->{attributes}{'resources-drifted'}, 1, 'one resource drifted';
is $res->{attributes}{'resources-undrifted'}, 1, 'one did not (the data source is none)';
like $res->{attributes}{'created-at'}, $RFC3339, 'created-at';
ok !defined $res->{attributes}{'error-msg'}, 'no error';
is $res->{relationships}{run}{data}{id}, $id, 'its run';
is $res->{relationships}{workspace}{data}{id}, $ws, 'its workspace';
is $res->{links}{self}, "/api/v2/assessment-results/$asmt->{id}", 'links.self';
$r = api(GET => "/api/v2/workspaces/$ws?include=current-assessment-result", token => $owner);
my ($incl) = grep { $_->{type} eq 'assessment-results' } @{ json_of($r)->{included} || [] };
is $incl && $incl->{attributes}{'resources-drifted'}, 1, 'include=current-assessment-result';

# ==== ignore rules ====

is patch_ws($ws, $owner, 'drift-ignore-rules' => ['terraform_data.x.input'])->code, 200,
   'a rule for the input only';
my $id2 = drift_run($ws, $plan);
is ws_doc($ws)->{attributes}{'drift-status'}, 'drifted', 'the unknown output still drifts';
is patch_ws($ws, $owner, 'drift-ignore-rules' => ['terraform_data.x.input',
                                                  'terraform_data.x.output'])->code, 200,
   'rules for every attribute it changes';
my $id3 = drift_run($ws, $plan);
$doc = ws_doc($ws);
is $doc->{attributes}{'drift-status'}, 'no_drift', 'no_drift: every change is ignored';
is $doc->{attributes}{'drift-latest-run-id'}, $id3, 'drift-latest-run-id: the newest';
$res = assessment($doc->{relationships}{'current-assessment-result'}{data}{id});
is $res->{attributes}{drifted}, JSON::PP::false(), 'drifted: false';
is_deeply [@{ $res->{attributes} }{qw(resources-drifted resources-undrifted)}], [0, 2],
          'no resource drifted, two did not';
is patch_ws($ws, $owner, 'drift-ignore-rules' => ['terraform_data.*'])->code, 200,
   'a bare address with a wildcard';
drift_run($ws, $plan);
is ws_doc($ws)->{attributes}{'drift-status'}, 'no_drift', 'silences the whole resource';
is patch_ws($ws, $owner, 'drift-ignore-rules' => [])->code, 200, 'no rules';

# ==== what terraform said, when the plan JSON never came ====

drift_run($ws, undef, status => 'planned', 'has-changes' => JSON::PP::false());
is ws_doc($ws)->{attributes}{'drift-status'}, 'no_drift', 'no plan JSON, no changes: no_drift';
drift_run($ws, undef, status => 'planned', 'has-changes' => $true);
is ws_doc($ws)->{attributes}{'drift-status'}, 'drifted', 'no plan JSON, changes: drifted';

# ==== an errored check ====

my $errored = drift_run($ws, undef, status => 'errored', 'error-message' => 'provider down');
$doc = ws_doc($ws);
is $doc->{attributes}{'drift-status'}, 'errored', 'drift-status: errored';
is $doc->{attributes}{'drift-latest-run-id'}, $errored, 'the errored run explains it';
$res = assessment($doc->{relationships}{'current-assessment-result'}{data}{id});
ok !$res->{attributes}{succeeded}, 'succeeded: false';
ok !$res->{attributes}{drifted}, 'drifted: false';
is $res->{attributes}{'error-msg'}, 'provider down', 'error-msg';

# ==== a canceled check only counts as a check ====

my $before = ws_doc($ws)->{attributes}{'drift-last-checked-at'};
sleep 1;
$r = check_drift($ws, $admin);
my $canceled = json_of($r)->{data}{id};
is api(POST => "/api/v2/runs/$canceled/actions/cancel", token => $owner, body => {})->code, 202,
   'a queued drift run canceled';
$a = ws_doc($ws)->{attributes};
is $a->{'drift-status'}, 'errored', 'the status is kept';
ok $a->{'drift-last-checked-at'} gt $before, 'but it counts as a check';
is sql("SELECT count(*) FROM drift_assessments WHERE run_id = '$canceled'"), 0,
   'and leaves no assessment';

# ==== the history and who reads it ====

$r = api(GET => "$NAT/workspaces/$ws/assessment-results", token => $owner);
is $r->code, 200, 'the drift history';
my $list = json_of($r);
is scalar @{ $list->{data} }, 7, 'one result per finished drift run';
is $list->{data}[0]{id}, "asmtres-" . substr($errored, 4), 'newest first';
is_deeply [map { $_->{attributes}{'drift-status'} } @{ $list->{data} }],
          [qw(errored drifted no_drift no_drift no_drift drifted drifted)], 'their statuses';
is $list->{meta}{pagination}{'total-count'}, 7, 'paginated';
my $first = "asmtres-$suffix";
is api(GET => "/api/v2/assessment-results/$first", token => $planner)->code, 200,
   'a reader of the workspace reads a result';
is_error(api(GET => "/api/v2/assessment-results/$first", token => $outsider), 404,
         'one who cannot read it');
is_error(api(GET => '/api/v2/assessment-results/asmtres-nothing', token => $admin), 404,
         'no such result');
is_error(api(GET => "$NAT/workspaces/$ws/assessment-results", token => $outsider), 404,
         'the history of a workspace one cannot read');

# ==== runs ====

$r = api(GET => "/api/v2/workspaces/$ws/runs?page[size]=100", token => $owner);
my @runs = @{ json_of($r)->{data} };
is scalar(grep { $_->{attributes}{'is-drift-detection'} } @runs), 8, 'the drift runs say so';

# ==== a successful apply clears drift-latest-run-id ====

my $normal = new_run($owner, $ws, message => 'fix the drift');
ok !$normal->{attributes}{'is-drift-detection'}, 'a normal run is no drift run';
is claim()->{'run-id'}, $normal->{id}, 'its plan claimed';
report($normal->{id}, status => 'planned', 'has-changes' => $true);
is api(POST => "/api/v2/runs/$normal->{id}/actions/apply", token => $owner, body => {})->code,
   202, 'confirmed';
is ws_doc($ws)->{attributes}{'drift-latest-run-id'}, $errored, 'kept until it applied';
is claim()->{phase}, 'apply', 'its apply claimed';
report($normal->{id}, status => 'applied');
$a = ws_doc($ws)->{attributes};
ok !defined $a->{'drift-latest-run-id'}, 'drift-latest-run-id: null after the apply';
is $a->{'drift-status'}, 'errored', 'drift-status stays until the next check';
