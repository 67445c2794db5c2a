# Plans and applies as TFE clients read them, from what runners report: the
# resource counts of a plan from the plan JSON a runner uploads (a real
# `terraform show -json` document; malformed ones refused and nothing
# stored), the counts of an apply from terraform's summary in its log when
# the phase ends, has-changes false rather than null once planned,
# status-timestamps of each phase, execution-details naming the listener
# and pool that ran each phase, and links.json-output.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TP::Test;
use TP::Listener;

plan tests => 101;

my $NAT = '/api/terrapod/v1';
my $admin = admin_token();
my $owner = user_token('pr-owner@test.local');
my ($pool, $join) = make_pool($admin, 'pr-pool');
my $l1 = join_as($join, 'pr-1');
my $l2 = join_as($join, 'pr-2');
my $ws = make_ws($owner, 'pr-ws');
my $r = api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
            body => {data => {type => 'workspaces', attributes => {
                'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
die 'agent mode: ' . $r->as_string unless $r->code == 200;
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());

# the plan of a real configuration as terraform 1.11 renders it: one update,
# one replacement, one delete, one forget (removed block), one create
my $real_plan = do {
    my $f = "$ENV{TP_SRC}/t/fuzz/corpus/plan/terraform-plan.json";
    open my $fh, '<:raw', $f or die "$f: $!";
    local $/;
    <$fh>;
};

sub create_run {
    my (%o) = @_;
    my $res = api(POST => '/api/v2/runs', token => $owner,
                  body => {data => {type => 'runs', attributes => {%o},
                           relationships => {workspace => {data => {type => 'workspaces', id => $ws}}}}});
    die 'run: ' . $res->as_string unless $res->code == 201;
    return json_of($res)->{data};
}
sub phase {
    my ($run, $which) = @_;
    my $path = $which eq 'plan' ? 'plans' : 'applies';
    return json_of(api(GET => "/api/v2/$path/$run->{relationships}{$which}{data}{id}",
                       token => $owner))->{data};
}
sub counts {
    my ($doc) = @_;
    return [@{ $doc->{attributes} }{qw(resource-additions resource-changes
                                       resource-destructions resource-imports)}];
}
sub claim {
    my ($l) = @_;
    my $res = as_l($l, GET => '/runs/next?wait=1');
    die 'next: ' . $res->as_string unless $res->code == 200;
    return json_of($res)->{data};
}
sub runner_token {
    my ($l, $id) = @_;
    return json_of(as_l($l, POST => "/runs/$id/runner-token", body => {}))->{token};
}
sub upload {
    my ($tok, $id, $what, $body, $method) = @_;
    return api($method // 'PUT', "$NAT/runs/$id/artifacts/$what", body => $body,
               headers => {Authorization => "Bearer $tok",
                           'Content-Type' => 'application/octet-stream'});
}
sub report {
    my ($l, $id, %body) = @_;
    my $res = as_l($l, PATCH => "/runs/$id", body => \%body);
    die 'report: ' . $res->as_string unless $res->code == 200;
}
sub is_null { ok exists $_[0]->{attributes}{$_[1]} && !defined $_[0]->{attributes}{$_[1]}, $_[2] }
sub stamp_keys { [sort keys %{ $_[0]->{attributes}{'status-timestamps'} }] }
my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

# ==== a queued run: nothing known yet ====

my $run = create_run(message => 'counted');
my $id = $run->{id};
my $plan = phase($run, 'plan');
is $plan->{attributes}{status}, 'queued', 'the plan is queued';
is_deeply counts($plan), [undef, undef, undef, undef], 'its counts are not known yet';
is_null($plan, 'has-changes', 'has-changes: null before the plan');
is_null($plan, 'execution-details', 'execution-details: null before a listener claims it');
is_deeply stamp_keys($plan), ['pending-at', 'queued-at'], 'status-timestamps: pending and queued';
like $plan->{attributes}{'status-timestamps'}{'queued-at'}, $RFC3339, 'as RFC 3339 times';
ok !exists $plan->{links}{'json-output'}, 'no json-output link without a plan JSON';
is $plan->{links}{self}, "/api/v2/plans/$plan->{id}", 'links.self';
my $apply = phase($run, 'apply');
is_deeply counts($apply), [undef, undef, undef, undef], 'the apply counts are not known';
is_deeply stamp_keys($apply), [], 'the apply has no timestamps';
is_null($apply, 'execution-details', 'nor execution-details');

# ==== planning on listener 1 ====

is claim($l1)->{'run-id'}, $id, 'listener 1 claims the plan';
my $tok = runner_token($l1, $id);
$plan = phase($run, 'plan');
is $plan->{attributes}{status}, 'running', 'the plan runs';
is_deeply $plan->{attributes}{'execution-details'},
          {mode => 'agent', 'agent-id' => $l1->{listener_id}, 'agent-name' => 'pr-1',
           'agent-pool-id' => $pool, 'agent-pool-name' => 'pr-pool'},
          'execution-details: the listener and its pool';
is_deeply stamp_keys($plan), ['pending-at', 'queued-at', 'started-at'], 'started-at';
is_null(phase($run, 'apply'), 'execution-details', 'the apply has not run anywhere');

# ==== the plan JSON: refused unless it is one, counted when it is ====

my $json_output = "/api/v2/plans/$plan->{id}/json-output";
for my $bad (['', 'an empty body'],
             [substr($real_plan, 0, 1000), 'a truncated plan'],
             ['[]', 'an array'],
             ['{"resource_changes":[]}', 'an object without format_version'],
             ['{"format_version":"1.2","resource_changes":[{"change":{"actions":[1]}}]}',
              'an action that is no string'],
             ['{"format_version":"1.2"} trailing', 'data after the document']) {
    $r = upload($tok, $id, 'plan-json', $bad->[0]);
    is_error($r, 422, "plan JSON: $bad->[1]");
}
like error_detail(upload($tok, $id, 'plan-json', substr($real_plan, 0, 1000))),
     qr/^the plan JSON is malformed: .* at byte 1000$/, 'the error says what and where';
is api(GET => $json_output, token => $owner)->code, 404, 'nothing was stored';
is_deeply counts(phase($run, 'plan')), [undef, undef, undef, undef], 'nothing was counted';
is_null(json_of(api(GET => "/api/v2/runs/$id", token => $owner))->{data},
        'terraform-version', 'the run\'s terraform-version: null before its plan');

is upload($tok, $id, 'plan-json', $real_plan)->code, 204, 'the real plan JSON is stored';
is json_of(api(GET => "/api/v2/runs/$id", token => $owner))->{data}{attributes}
       {'terraform-version'}, '1.11.4',
   'the run\'s terraform-version: the one its plan names';
$plan = phase($run, 'plan');
is_deeply counts($plan), [2, 1, 2, 0],
          'counted as terraform summed it: 2 to add, 1 to change, 2 to destroy';
is $plan->{links}{'json-output'}, $json_output, 'links.json-output';
$r = api(GET => $plan->{links}{'json-output'}, token => $owner);
is $r->code, 200, 'the link serves it';
ok $r->content eq $real_plan, 'byte for byte';
$r = api(GET => "/api/v2/runs/$id?include=plan", token => $owner);
my ($incl) = grep { $_->{type} eq 'plans' } @{ json_of($r)->{included} || [] };
is_deeply counts($incl), [2, 1, 2, 0], 'the included plan has the counts';
is $incl->{links}{'json-output'}, $json_output, 'and the link';
$r = api(GET => "$NAT/runs/$id/plan", token => $owner);
is_deeply counts(json_of($r)->{data}), [2, 1, 2, 0], 'the native plan endpoint too';

# a later upload replaces the document and its counts
my $import_plan = '{"format_version":"1.2","resource_changes":['
    . '{"address":"a.b","mode":"managed","change":{"actions":["no-op"],"importing":{"id":"x"}}},'
    . '{"address":"data.c.d","mode":"data","change":{"actions":["delete"]}},'
    . '{"address":"c.d","mode":"managed","change":{"actions":["create"],"importing":null}}]}';
is upload($tok, $id, 'plan-json', $import_plan)->code, 204, 'another plan JSON';
is_deeply counts(phase($run, 'plan')), [1, 0, 0, 1],
          'one import, one add, the data source left out';
is upload($tok, $id, 'plan-json', $real_plan)->code, 204, 'the real one again';
is_error(upload($tok, $id, 'plan-json', '{'), 422, 'a malformed one after it');
is_deeply counts(phase($run, 'plan')), [2, 1, 2, 0], 'keeps the stored counts';
ok api(GET => $json_output, token => $owner)->content eq $real_plan,
   'and the stored document';

report($l1, $id, status => 'planned', 'has-changes' => JSON::PP::true());
$plan = phase($run, 'plan');
is $plan->{attributes}{status}, 'finished', 'the plan finished';
ok $plan->{attributes}{'has-changes'}, 'with changes';
is_deeply stamp_keys($plan), ['finished-at', 'pending-at', 'queued-at', 'started-at'],
          'finished-at';
my $ts = $plan->{attributes}{'status-timestamps'};
ok $ts->{'queued-at'} le $ts->{'started-at'} && $ts->{'started-at'} le $ts->{'finished-at'},
   'in order';

# ==== the apply, on listener 2 ====

is api(POST => "/api/v2/runs/$id/actions/apply", token => $owner, body => {})->code, 202,
   'confirmed';
$apply = phase($run, 'apply');
is $apply->{attributes}{status}, 'queued', 'the apply is queued';
is_deeply stamp_keys($apply), ['queued-at'], 'apply queued-at';
is claim($l2)->{phase}, 'apply', 'listener 2 claims the apply';
my $tok2 = runner_token($l2, $id);
$apply = phase($run, 'apply');
is_deeply $apply->{attributes}{'execution-details'},
          {mode => 'agent', 'agent-id' => $l2->{listener_id}, 'agent-name' => 'pr-2',
           'agent-pool-id' => $pool, 'agent-pool-name' => 'pr-pool'},
          'the apply ran on listener 2';
is phase($run, 'plan')->{attributes}{'execution-details'}{'agent-name'}, 'pr-1',
   'the plan still names listener 1';
is_deeply stamp_keys($apply), ['queued-at', 'started-at'], 'apply started-at';

# the summary arrives split across chunks; outputs after it hold a lookalike
is upload($tok2, $id, 'apply-log', "terraform_data.e: Creating...\n"
          . "terraform_data.e: Creation complete after 0s [id=1]\n\nApply complete! Res", 'POST')->code,
   204, 'an apply log chunk';
is upload($tok2, $id, 'apply-log', "ources: 1 imported, 2 added, 1 changed, 2 destroyed.\n\n"
          . "Outputs:\n\no = <<EOT\nApply complete! Resources: 9 added, 9 changed, "
          . "9 destroyed.\nEOT\n", 'POST')->code, 204, 'the rest';
is_deeply counts(phase($run, 'apply')), [undef, undef, undef, undef],
          'not counted while the apply runs';
report($l2, $id, status => 'applied');
$apply = phase($run, 'apply');
is $apply->{attributes}{status}, 'finished', 'the apply finished';
is_deeply counts($apply), [2, 1, 2, 1], "the counts of terraform's summary";
is_deeply stamp_keys($apply), ['finished-at', 'queued-at', 'started-at'], 'apply finished-at';
is_deeply counts(phase($run, 'plan')), [2, 1, 2, 0], 'the plan keeps its own';
ok !exists $apply->{links}{'json-output'}, 'an apply has no json-output link';

# ==== planned without has-changes: false, not null ====

my $quiet = create_run(message => 'quiet', 'plan-only' => JSON::PP::true());
is claim($l1)->{'run-id'}, $quiet->{id}, 'a plan-only run is claimed';
report($l1, $quiet->{id}, status => 'planned');
$plan = phase($quiet, 'plan');
is $plan->{attributes}{status}, 'finished', 'its plan finished';
ok defined $plan->{attributes}{'has-changes'} && JSON::PP::is_bool($plan->{attributes}{'has-changes'})
   && !$plan->{attributes}{'has-changes'}, 'has-changes: false, not null';
$r = json_of(api(GET => "/api/v2/runs/$quiet->{id}", token => $owner))->{data};
ok defined $r->{attributes}{'has-changes'} && !$r->{attributes}{'has-changes'},
   'on the run too';
is $r->{attributes}{status}, 'planned_and_finished', 'the run ended';
is_deeply counts($plan), [undef, undef, undef, undef], 'no plan JSON, no counts';
ok !exists $plan->{links}{'json-output'}, 'and no json-output link';
is_deeply stamp_keys($plan), ['finished-at', 'pending-at', 'queued-at', 'started-at'],
          'finished at planned-and-finished';
$apply = phase($quiet, 'apply');
is $apply->{attributes}{status}, 'unreachable', 'its apply is unreachable';
is_deeply stamp_keys($apply), [], 'and has no timestamps';
is_null($apply, 'execution-details', 'nor execution-details');

# ==== an apply that fails prints no summary ====

my $failing = create_run(message => 'fails', 'auto-apply' => JSON::PP::true());
claim($l1);
my $ftok = runner_token($l1, $failing->{id});
is upload($ftok, $failing->{id}, 'plan-json',
          '{"format_version":"1.2","resource_changes":[{"mode":"managed","change":{"actions":["create"]}}]}')
   ->code, 204, 'its plan JSON';
report($l1, $failing->{id}, status => 'planned', 'has-changes' => JSON::PP::true());
claim($l1);
$ftok = runner_token($l1, $failing->{id});
is upload($ftok, $failing->{id}, 'apply-log',
          "terraform_data.x: Creating...\n\nError: provider exploded\n")->code, 204,
   'a log without a summary';
report($l1, $failing->{id}, status => 'errored', 'error-message' => 'provider exploded');
$apply = phase($failing, 'apply');
is $apply->{attributes}{status}, 'errored', 'the apply errored';
is_deeply counts($apply), [undef, undef, undef, undef], 'its counts stay unknown';
is_deeply stamp_keys($apply), ['errored-at', 'queued-at', 'started-at'], 'errored-at, no finished-at';
$plan = phase($failing, 'plan');
is_deeply counts($plan), [1, 0, 0, 0], 'the plan counted one to add';
ok !exists $plan->{attributes}{'status-timestamps'}{'errored-at'}, 'the plan did not error';

# an applied phase whose log is missing: no counts, the run still ends
my $nolog = create_run(message => 'no log', 'auto-apply' => JSON::PP::true());
claim($l1);
report($l1, $nolog->{id}, status => 'planned', 'has-changes' => JSON::PP::true());
claim($l1);
report($l1, $nolog->{id}, status => 'applied');
$apply = phase($nolog, 'apply');
is $apply->{attributes}{status}, 'finished', 'applied without a log';
is_deeply counts($apply), [undef, undef, undef, undef], 'no summary, no counts';

# ==== errored and canceled plans ====

my $broken = create_run(message => 'broken');
claim($l1);
report($l1, $broken->{id}, status => 'errored', 'error-message' => 'bad config');
$plan = phase($broken, 'plan');
is $plan->{attributes}{status}, 'errored', 'an errored plan';
is_deeply stamp_keys($plan), ['errored-at', 'pending-at', 'queued-at', 'started-at'],
          'errored-at';
is_null($plan, 'has-changes', 'has-changes of a plan that never finished: null');

api(POST => "/api/v2/workspaces/$ws/actions/lock", token => $owner, body => {reason => 'hold'});
my $waiting = create_run(message => 'waits');
is phase($waiting, 'plan')->{attributes}{status}, 'pending', 'a plan waits behind a lock';
is_deeply stamp_keys(phase($waiting, 'plan')), ['pending-at'], 'pending-at only';
is api(POST => "/api/v2/runs/$waiting->{id}/actions/cancel", token => $owner)->code, 202,
   'canceled while pending';
$plan = phase($waiting, 'plan');
is $plan->{attributes}{status}, 'canceled', 'the plan is canceled';
is_deeply stamp_keys($plan), ['canceled-at', 'pending-at'], 'canceled-at';
is_null($plan, 'execution-details', 'it never ran anywhere');
is_deeply stamp_keys(phase($waiting, 'apply')), [], 'the apply has no timestamps';
api(POST => "/api/v2/workspaces/$ws/actions/unlock", token => $owner);

# ==== the apply counts are read from where the runner stored the log ====

is sql("SELECT apply_additions || ',' || apply_changes || ',' || apply_destructions"
       . " || ',' || apply_imports FROM runs WHERE id = '$id'"), '2,1,2,1',
   'stored on the run';
is sql("SELECT (plan_execution->>'agent-name') || ',' || (apply_execution->>'agent-name')"
       . " FROM runs WHERE id = '$id'"), 'pr-1,pr-2', 'with each phase\'s listener';

# renaming or removing the listener leaves what ran where as it was
sql("UPDATE listeners SET name = 'pr-1-renamed' WHERE id = '$l1->{listener_id}'");
sql("DELETE FROM listeners WHERE id = '$l2->{listener_id}'");
is phase($run, 'plan')->{attributes}{'execution-details'}{'agent-name'}, 'pr-1',
   'the plan still names listener 1 as it was';
is phase($run, 'apply')->{attributes}{'execution-details'}{'agent-id'}, $l2->{listener_id},
   'the apply still names the removed listener 2';
