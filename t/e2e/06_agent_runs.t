# Remote runs with the real terraform CLI and the instance's real
# terrapod-listener: a workspace in agent execution mode plans and applies
# on the listener with output streamed live, its plans and applies say
# what they did to resources, and every way a run ends: applied,
# discarded, confirmed through the API, canceled, errored, and orphaned by
# a listener that dies.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;

my $e = instance();
my $dir = workdir();

sub latest_run {
    my ($ws) = @_;
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws/runs");
    return $d->{data}[0];
}

# the plan or apply of a run
sub phase_of {
    my ($run, $which) = @_;
    my (undef, $d) = api(GET => '/api/v2/' . ($which eq 'plan' ? 'plans' : 'applies')
                               . "/$run->{relationships}{$which}{data}{id}");
    return $d->{data};
}

sub counts {
    my ($phase) = @_;
    return [@{ $phase->{attributes} }{qw(resource-additions resource-changes
                                         resource-destructions resource-imports)}];
}

my $body = <<'HCL';
variable "greeting" {
  type = string
}
resource "terraform_data" "a" {
  input = var.greeting
  provisioner "local-exec" {
    command = "echo env says $E2E_ENV"
  }
}
output "greeting" {
  value = terraform_data.a.output
}
HCL

write_file("$dir/main.tf", cloud_config(workspace => 'e2e-agent', body => $body));
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
my ($ws, $code) = agent_workspace('e2e-agent');
is $code, 200, 'the workspace runs on agents';
my ($res, $doc) = api(POST => "/api/v2/workspaces/$ws/vars",
             body => {data => {type => 'vars', attributes => {
                 key => 'greeting', value => 'from-a-variable',
                 category => 'terraform'}}});
is $res->code, 201, 'a terraform variable';
($res) = api(POST => "/api/v2/workspaces/$ws/vars",
             body => {data => {type => 'vars', attributes => {
                 key => 'E2E_ENV', value => 'env-value', category => 'env'}}});
is $res->code, 201, 'an env variable';

# plan: on the listener, streamed to the CLI, plan-only
($rc, $out) = terraform($dir, 'plan', '-input=false');
is $rc, 0, 'terraform plan in agent mode' or diag $out;
like $out, qr/terraform_data\.a will be created/, 'the plan output reached the CLI';
like $out, qr/from-a-variable/, 'the terraform variable reached the run';
is latest_run($ws)->{attributes}{status}, 'planned_and_finished',
   'the run ended plan-only';
my $plan_id = latest_run($ws)->{relationships}{plan}{data}{id};
($res, $doc) = api(GET => "/api/v2/plans/$plan_id/json-output");
is $res->code, 200, 'the plan JSON is served' or diag $res->content;
ok $doc && exists $doc->{format_version}, 'as terraform show -json renders it';
ok((grep { ($_->{address} // '') eq 'terraform_data.a' }
    @{ $doc->{resource_changes} || [] }), 'with the planned resource');
my $plan = phase_of(latest_run($ws), 'plan');
is_deeply counts($plan), [1, 0, 0, 0], 'the plan reports 1 to add';
ok $plan->{attributes}{'has-changes'}, 'and has changes';
is $plan->{links}{'json-output'}, "/api/v2/plans/$plan_id/json-output",
   'links.json-output names its JSON';
is $plan->{attributes}{'execution-details'}{mode}, 'agent', 'it ran on an agent';
ok $plan->{attributes}{'execution-details'}{'agent-name'}
   && $plan->{attributes}{'execution-details'}{'agent-pool-name'} eq 'default',
   'named, with its pool';
ok $plan->{attributes}{'status-timestamps'}{'finished-at'}, 'with its finished-at';

# apply -auto-approve: applied, state stored, workspace free
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'terraform apply -auto-approve' or diag $out;
like $out, qr/Apply complete! Resources: 1 added/, 'applied on the listener';
like $out, qr/env says env-value/, 'the env variable reached the run';
is_deeply counts(phase_of(latest_run($ws), 'plan')), [1, 0, 0, 0],
          'its plan reports 1 to add';
my $apply = phase_of(latest_run($ws), 'apply');
is_deeply counts($apply), [1, 0, 0, 0], 'its apply reports 1 added';
is $apply->{attributes}{status}, 'finished', 'the apply finished';
ok $apply->{attributes}{'status-timestamps'}{'finished-at'}, 'with its finished-at';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
is $res->code, 200, 'the apply stored state';
is $doc->{data}{relationships}{run}{data}{id}, latest_run($ws)->{id},
   'made by the run';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'the workspace is unlocked afterwards';

# apply answered "no": discarded
write_file("$dir/extra.tf", "resource \"terraform_data\" \"b\" {}\n");
{
    local $ENV{TF_INPUT} = 1;
    my $cmd = join ' ', map { quotemeta } 'terraform', "-chdir=$dir", 'apply';
    local $ENV{SSL_CERT_FILE} = $e->{TERRAPOD_CA_FILE};
    local $ENV{TF_CLI_CONFIG_FILE} = "$e->{DIR}/run/terraformrc";
    local $ENV{CHECKPOINT_DISABLE} = 1;
    local $ENV{NO_COLOR} = 1;
    $out = qx{echo no | $cmd 2>&1};
}
like $out, qr/Apply (discarded|cancelled)/i, 'answering no stops the apply';
is latest_run($ws)->{attributes}{status}, 'discarded', 'and discards the run';

# confirmed through the API
my $run = queue_run($ws, message => 'through the API');
ok wait_until(90, sub { status_of($run) eq 'planned' }), 'a queued run plans on the listener';
($res) = api(POST => "/api/v2/runs/$run/actions/apply", body => {comment => 'ok'});
is $res->code, 202, 'confirmed through the API';
ok wait_until(90, sub { status_of($run) eq 'applied' }), 'and applied';

# a broken configuration: errored, the error shown, the workspace free
my $broken = workdir();
write_file("$broken/main.tf", cloud_config(workspace => 'e2e-agent',
    body => "resource \"terraform_data\" \"x\" {\n  input = var.undefined_thing\n}\n"));
($rc, $out) = terraform($broken, 'init', '-input=false');
($rc, $out) = terraform($broken, 'plan', '-input=false');
isnt $rc, 0, 'a broken configuration fails';
like $out, qr/undefined_thing|undeclared/i, "terraform's error is shown in the CLI";
is latest_run($ws)->{attributes}{status}, 'errored', 'the run is errored';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'and the workspace unlocked';

# canceled while it runs (the apply sleeps in a provisioner)
write_file("$dir/extra.tf", "resource \"terraform_data\" \"slow\" {\n"
         . "  provisioner \"local-exec\" {\n    command = \"sleep 120\"\n  }\n}\n");
upload_config($ws, $dir);
$run = queue_run($ws, 'auto-apply' => JSON::PP::true());
ok wait_until(90, sub { status_of($run) eq 'applying' }), 'a slow apply runs';
($res) = api(POST => "/api/v2/runs/$run/actions/cancel");
is $res->code, 202, 'cancel it';
ok wait_until(60, sub { status_of($run) eq 'canceled' }),
   'the listener stops terraform and the run ends canceled';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'the workspace is free again';

# a listener killed mid-run: the reconciler errors the run
$run = queue_run($ws, 'auto-apply' => JSON::PP::true());
ok wait_until(90, sub { status_of($run) eq 'applying' }), 'another slow apply runs';
ok kill_listener() >= 3, 'the listener, its phase and terraform killed at once';
ok wait_until(120, sub { status_of($run) eq 'errored' }),
   'the orphaned run ends errored';
like((api(GET => "/api/v2/runs/$run"))[1]{data}{attributes}{'error-message'},
     qr/heartbeat/i, 'saying the listener stopped heartbeating');
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'and the workspace is freed';

tp_instance('up', $e->{DIR});   # a listener again for whatever runs next
done_testing;
