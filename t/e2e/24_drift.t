# Drift detection with the real terraform and listener: a workspace
# applied with a terraform_data whose input is read from a file outside
# the configuration; the drift task (every 2 s here) checks it and finds
# no drift; the file changes behind the workspace's back, the check falls
# due again and reports drifted, with the assessment result to show for
# it, and a receiver is told (run:drift_detected and assessment:drifted,
# signed with HMAC-SHA512 under the configuration's token); ignore rules for the attributes that changed make a check asked for
# now (check-drift) no_drift; an apply then clears drift-latest-run-id.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Digest::SHA qw(hmac_sha512_hex);
use File::Temp ();
use JSON::PP ();
use TP::E2E;
use TP::FakeReceiver;

my $true = JSON::PP::true();
my $dir = workdir();
# the "infrastructure": a file the listener's terraform reads, outside the
# configuration (and readable by whichever user the listener runs as)
my $outside = File::Temp::tempdir("$TP::E2E::inst/drift-XXXXXX", CLEANUP => 1);
chmod 0755, $outside;
my $input = "$outside/input.txt";
sub set_input { write_file($input, $_[0]); chmod 0644, $input }
set_input('one');

write_file("$dir/main.tf", cloud_config(workspace => 'e2e-drift', body => <<"HCL"));
resource "terraform_data" "x" {
  input = trimspace(file("$input"))
}
HCL
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
my ($ws, $code) = agent_workspace('e2e-drift');
is $code, 200, 'the workspace runs on agents';
($rc, $out) = terraform($dir, 'apply', '-input=false', '-auto-approve');
is $rc, 0, 'applied on the listener' or diag $out;

sub ws_attrs {
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws");
    return $d->{data};
}
# waits for the workspace's nth run to end; that run
sub nth_run_ended {
    my ($n) = @_;
    my @runs = runs_ended($ws, $n);
    return $runs[0];
}

# the task every 2 s, from now on; a receiver of drift notifications
my $recv = TP::FakeReceiver->new(port => free_port())->start;
with_directives('drift', 'TerrapodDriftCheckInterval 2', 'TerrapodDriftMaxConcurrent 5',
                'TerrapodOutboundAllow 127.0.0.0/8');
my ($res) = api(POST => "/api/v2/workspaces/$ws/notification-configurations",
    body => {data => {type => 'notification-configurations', attributes => {
        name => 'drift-alerts', 'destination-type' => 'generic', url => $recv->url,
        token => 'e2e-drift-token', enabled => $true,
        triggers => ['run:drift_detected', 'assessment:drifted']}}});
is $res->code, 201, 'a receiver of drift notifications';
sub told {
    my ($run) = @_;
    return grep { ($_->{body}{run_id} // '') eq $run } $recv->received;
}
($res) = api(PATCH => "/api/v2/workspaces/$ws", body => {data => {type => 'workspaces',
                attributes => {'drift-detection-enabled' => $true,
                               'drift-detection-interval-seconds' => 3600}}});
is $res->code, 200, 'drift detection on, hourly';

# ==== never checked: due at once, and nothing changed ====

my $run = nth_run_ended(2);
ok $run->{attributes}{'is-drift-detection'}, 'the task queued a drift run';
ok $run->{attributes}{'plan-only'}, 'plan-only';
is $run->{attributes}{status}, 'planned_and_finished', 'which planned';
my $w = ws_attrs();
is $w->{attributes}{'drift-status'}, 'no_drift', 'no_drift: nothing changed';
is $w->{attributes}{'drift-latest-run-id'}, $run->{id}, 'drift-latest-run-id';
ok $w->{attributes}{'drift-last-checked-at'}, 'drift-last-checked-at';
sleep 5;
my (undef, $runs) = api(GET => "/api/v2/workspaces/$ws/runs");
is scalar @{ $runs->{data} }, 2, 'not checked again before its interval';

# ==== the infrastructure changes behind its back ====

set_input('two');
# two hours ago, as far as the hourly interval is concerned
psql("UPDATE workspaces SET drift_last_checked_at = now() - interval '2 hours'"
     . " WHERE id = '$ws'");
$run = nth_run_ended(3);
ok $run->{attributes}{'is-drift-detection'}, 'due again: another drift run';
$w = ws_attrs();
is $w->{attributes}{'drift-status'}, 'drifted', 'drifted';
is $w->{attributes}{'drift-latest-run-id'}, $run->{id}, 'the run that explains it';
my $asmt = $w->{relationships}{'current-assessment-result'}{data}{id};
my (undef, $a) = api(GET => "/api/v2/assessment-results/$asmt");
is $a->{data}{attributes}{drifted}, $true, 'the assessment result: drifted';
is $a->{data}{attributes}{'resources-drifted'}, 1, 'one resource drifted';
is $a->{data}{attributes}{'resources-undrifted'}, 0, 'no other';
my $plan_id = $run->{relationships}{plan}{data}{id};
my (undef, $pj) = api(GET => "/api/v2/plans/$plan_id/json-output");
my ($x) = grep { $_->{address} eq 'terraform_data.x' } @{ $pj->{resource_changes} || [] };
is_deeply $x->{change}{actions}, ['update'], 'terraform plans to update it';
ok wait_until(30, sub { told($run->{id}) == 2 }), 'the receiver is told of the drift';
is_deeply [sort map { $_->{body}{notifications}[0]{trigger} } told($run->{id})],
          ['assessment:drifted', 'run:drift_detected'], 'run:drift_detected and assessment:drifted';
is scalar(grep { ($_->{headers}{'x-tfe-notification-signature'} // '')
                 eq hmac_sha512_hex($_->{raw}, 'e2e-drift-token') } told($run->{id})), 2,
   'each signed with HMAC-SHA512 under the token';
is scalar($recv->received), 2, 'nothing for the check that found no drift';

# ==== ignore what changed, and check now ====

($res) = api(PATCH => "/api/v2/workspaces/$ws", body => {data => {type => 'workspaces',
             attributes => {'drift-ignore-rules' => ['terraform_data.x.input',
                                                     'terraform_data.x.output']}}});
is $res->code, 200, 'ignore rules for its input and output';
my $doc;
($res, $doc) = api(POST => "/api/terrapod/v1/workspaces/$ws/actions/check-drift", body => {});
is $res->code, 201, 'check now';
$run = nth_run_ended(4);
is $run->{id}, $doc->{data}{id}, 'that run ended';
$w = ws_attrs();
is $w->{attributes}{'drift-status'}, 'no_drift', 'no_drift: every change is ignored';
sleep 3;
is scalar($recv->received), 2, 'and nobody is told of it';
($res, $doc) = api(GET => "/api/terrapod/v1/workspaces/$ws/assessment-results");
is_deeply [map { $_->{attributes}{'drift-status'} } @{ $doc->{data} }],
          [qw(no_drift drifted no_drift)], 'the drift history';

# ==== an apply makes the infrastructure match again ====

($res) = api(PATCH => "/api/v2/workspaces/$ws", body => {data => {type => 'workspaces',
             attributes => {'drift-detection-enabled' => JSON::PP::false()}}});
is $res->code, 200, 'drift detection off (no check races the apply)';
($rc, $out) = terraform($dir, 'apply', '-input=false', '-auto-approve');
is $rc, 0, 'applied again' or diag $out;
like $out, qr/1 changed/, 'the change applied';
ok !defined ws_attrs()->{attributes}{'drift-latest-run-id'},
   'drift-latest-run-id cleared by the apply';

done_testing();
