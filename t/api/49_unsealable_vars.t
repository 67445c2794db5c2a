# A sensitive variable the server cannot unseal (sealed under another HMAC
# key: a database restored without its key, see docs/backup.md) ends the
# run that needs it at once, with the reason, in whichever phase the
# listener claims; the listener is told there is nothing to run, the
# workspace comes free, and setting the variable again makes runs work.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TP::Test;
use TP::Listener;

plan tests => 22;

my $admin = admin_token();
my $owner = user_token('unseal-owner@test.local');
my ($pool, $join) = make_pool($admin, 'unseal-pool');
my $l = join_as($join, 'unseal-1');

my $ws = make_ws($owner, 'unseal-ws');
my $r = api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
            body => {data => {type => 'workspaces',
                              attributes => {'execution-mode' => 'agent',
                                             'agent-pool-id' => $pool}}});
die $r->as_string unless $r->code == 200;
$r = api(POST => "/api/v2/workspaces/$ws/vars", token => $owner,
         body => {data => {type => 'vars', attributes => {
             key => 'db_password', value => 'first-secret', category => 'terraform',
             sensitive => JSON::PP::true()}}});
die $r->as_string unless $r->code == 201;
my $var = json_of($r)->{data}{id};
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());

sub queue_run { new_run($owner, $ws)->{id} }
sub run_attr {
    my ($id) = @_;
    return json_of(api(GET => "/api/v2/runs/$id", token => $owner))->{data}{attributes};
}
sub locked {
    return json_of(api(GET => "/api/v2/workspaces/$ws", token => $owner))
        ->{data}{attributes}{locked};
}
# the sealed value altered: it no longer opens under the server's key
sub spoil_seal {
    sql("UPDATE variables SET sealed_value = 'AAAA' || sealed_value WHERE id = '$var'");
}
sub error_log {
    local (@ARGV, $/) = (Apache::Test::vars('t_logs') . '/error_log');
    return <> // '';
}

# ---- the plan phase ----

spoil_seal();
my $run = queue_run();
is run_attr($run)->{status}, 'plan_queued', 'a run is queued';
ok locked(), 'and holds the workspace';
$r = as_l($l, GET => '/runs/next?wait=1');
is $r->code, 204, 'the listener is told there is nothing to run';
my $a = run_attr($run);
is $a->{status}, 'errored', 'the run is errored at once';
like $a->{'error-message'}, qr/sensitive variable .* could not be unsealed/,
     'saying a sensitive variable could not be unsealed';
like $a->{'error-message'}, qr/another HMAC key/, 'and why';
ok !locked(), 'the workspace is free again';
my $log = error_log();
like $log, qr/TP00725: run \Q$run\E errored: .*\Q$var\E/,
     'the log names the variable';
unlike $log, qr/first-secret/, 'and no sensitive value';
is as_l($l, GET => '/runs/next?wait=0')->code, 204,
   'the errored run is not handed out again';

# ---- set again, the variable works ----

$r = api(PATCH => "/api/v2/workspaces/$ws/vars/$var", token => $owner,
         body => {data => {type => 'vars', id => $var,
                           attributes => {value => 'second-secret'}}});
is $r->code, 200, 'the variable is set again';
$run = queue_run();
$r = as_l($l, GET => '/runs/next?wait=1');
is $r->code, 200, 'a new run is handed out';
my $job = json_of($r)->{data};
is $job->{'run-id'}, $run, 'that run';
my ($pw) = grep { $_->{key} eq 'db_password' } @{ $job->{variables} };
is $pw->{value}, 'second-secret', 'with the value unsealed';

# ---- the apply phase ----

$r = as_l($l, PATCH => "/runs/$run",
          body => {status => 'planned', 'has-changes' => JSON::PP::true()});
is $r->code, 200, 'the plan is reported';
is api(POST => "/api/v2/runs/$run/actions/apply", token => $owner, body => {})->code,
   202, 'the run is confirmed';
is run_attr($run)->{status}, 'apply_queued', 'its apply is queued';
spoil_seal();
$r = as_l($l, GET => '/runs/next?wait=1');
is $r->code, 204, 'claiming the apply: nothing to run';
$a = run_attr($run);
is $a->{status}, 'errored', 'the run is errored from applying';
like $a->{'error-message'}, qr/could not be unsealed/, 'with the reason';
ok !locked(), 'the workspace is free again';
like error_log(), qr/TP00725: run \Q$run\E errored/, 'logged';
