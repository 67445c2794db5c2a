# A listener of its own pool revoked in the middle of an apply: the run is
# errored at once, the listener stops terraform, says in its log that it
# was revoked and exits with status 3; started again it exits at once, and
# a run queued meanwhile waits. Once the revoked listener is removed, the
# same process joins again as a new listener (its join token still works)
# and runs what waited.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);
use TP::E2E;

my $e = instance();
my $dir = workdir();
my $NAT = '/api/terrapod/v1';
my $state = "$e->{DIR}/listener-revoke";
my $log = "$e->{DIR}/log/listener-revoke.log";
my $sleep = 300 + int(rand(600));   # marks this test's provisioner
mkdir $state;
unlink $log;

my ($res, $doc) = api(POST => "$NAT/agent-pools",
                      body => {data => {type => 'agent-pools', attributes => {name => 'e2e-revoke'}}});
is $res->code, 201, 'a pool';
my $pool = $doc->{data}{id};
($res, $doc) = api(POST => "$NAT/agent-pools/$pool/authentication-tokens",
                   body => {data => {type => 'authentication-tokens', attributes => {}}});
my $join = $doc->{data}{attributes}{token};

# the listener, as a child of this test: its pid
sub start_listener {
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>>', $log or die;
        open STDERR, '>&', \*STDOUT or die;
        { exec "$ENV{TP_SRC}/listener/terrapod-listener", '--url', $e->{TERRAPOD_URL},
              '--ca-file', $e->{TERRAPOD_CA_FILE}, '--join-token', $join,
              '--name', 'revoked-one', '--state-dir', $state, '--concurrency', '1' }
        POSIX::_exit(127);
    }
    return $pid;
}
# its exit status once it exits within $secs, else undef
sub exit_of {
    my ($pid, $secs) = @_;
    my $until = time + $secs;
    while (time < $until) {
        return $? >> 8 if waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.2;
    }
    return undef;
}
sub listener_log { open my $fh, '<', $log or return ''; local $/; <$fh> }
sub provisioner_running { scalar grep { /\bsleep $sleep\b/ } qx{ps -eo args} }

my $listener = start_listener();
END { kill 'KILL', $listener if $listener }

($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
                   body => {data => {type => 'workspaces', attributes => {
                       name => 'e2e-revoke', 'execution-mode' => 'agent',
                       'agent-pool-id' => $pool}}});
is $res->code, 201, 'a workspace on the pool';
my $ws = $doc->{data}{id};
write_file("$dir/main.tf", <<"HCL");
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep $sleep"
  }
}
HCL
upload_config($ws, $dir);

# ==== revoked mid-apply ====

my $run = queue_run($ws, 'auto-apply' => JSON::PP::true());
ok wait_until(120, sub { status_of($run) eq 'applying' && provisioner_running() }),
   'the listener applies';
my (undef, $ls) = api(GET => "$NAT/agent-pools/$pool/listeners");
my $lid = $ls->{data}[0]{id};
($res, $doc) = api(POST => "$NAT/listeners/$lid/actions/revoke", body => {});
is $res->code, 200, 'an admin revokes it';
my $t0 = time;
is status_of($run), 'errored', 'the run is errored at once';
my (undef, $rd) = api(GET => "/api/v2/runs/$run");
is $rd->{data}{attributes}{'error-message'}, 'listener revoked-one was revoked', 'saying why';

my $code = exit_of($listener, 90);
is $code, 3, 'the listener exits with status 3';
my $took = time - $t0;
ok $took < 60, sprintf 'soon (%.0f s)', $took;
$listener = undef;
my $text = listener_log();
like $text, qr/TPL0037: run \Q$run\E: the server refused this listener/,
     'the phase learned it was refused';
like $text, qr/TPL0035: run \Q$run\E: interrupting terraform/, 'and stopped terraform';
like $text, qr/TPL0016: .*revoked this listener/, 'the listener says it was revoked';
ok !provisioner_running(), 'nothing of the apply runs on';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'the workspace is free';

# ==== it stays out ====

my $waiting = queue_run($ws, 'plan-only' => JSON::PP::true());
my $seen = length listener_log();
$listener = start_listener();
is exit_of($listener, 30), 3, 'started again, it exits at once with status 3';
$listener = undef;
my $again = substr listener_log(), $seen;
like $again, qr/TPL0016: starting: the server has revoked this listener/, 'saying why';
unlike $again, qr/TPL0002: joined/, 'without joining again';
is status_of($waiting), 'plan_queued', 'a run queued on the pool waits';

# ==== removed, it may join again as a new listener ====

($res) = api(DELETE => "$NAT/listeners/$lid");
is $res->code, 204, 'the revoked listener is removed';
$seen = length listener_log();
$listener = start_listener();
ok wait_until(120, sub { status_of($waiting) eq 'planned_and_finished' }),
   'the same process joins again and runs what waited';
like substr(listener_log(), $seen),
     qr/TPL0002: joined as listener (?!\Q$lid\E)\S+ of pool \Q$pool\E/, 'as a new listener';
kill 'TERM', $listener;
is exit_of($listener, 60), 0, 'stopped, it exits with status 0';
$listener = undef;

done_testing;
