# A listener of its own pool, started with runner tokens that live only 10
# seconds: a workspace pinned to that pool runs there; an apply that outlasts
# its first runner token completes (the listener renews it); the plan's
# files reach the apply; the run reports its resource profile; and a run
# canceled while terraform plans (blocked reading a remote state that never
# answers) ends canceled with the workspace free.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use IO::Socket::INET ();
use POSIX ();
use TP::E2E;

my $e = instance();
my $dir = workdir();
my $NAT = '/api/terrapod/v1';

sub log_of {
    my ($run, $phase) = @_;
    my (undef, $d) = api(GET => "/api/v2/runs/$run");
    my $id = $d->{data}{relationships}{$phase}{data}{id};
    (undef, $d) = api(GET => "/api/v2/" . ($phase eq 'plan' ? 'plans' : 'applies') . "/$id");
    my ($res) = api(GET => $d->{data}{attributes}{'log-read-url'} . '?offset=0&limit=10000000');
    return $res->content;
}

# ==== a pool and its listener ====

my ($res, $doc) = api(POST => "$NAT/agent-pools",
                      body => {data => {type => 'agent-pools', attributes => {name => 'e2e-short'}}});
is $res->code, 201, 'a pool';
my $pool = $doc->{data}{id};
($res, $doc) = api(POST => "$NAT/agent-pools/$pool/authentication-tokens",
                   body => {data => {type => 'authentication-tokens', attributes => {}}});
my $join = $doc->{data}{attributes}{token};
my $state = "$e->{DIR}/listener-short";
my $log = "$e->{DIR}/log/listener-short.log";
mkdir $state;
my $listener = fork() // die "fork: $!";
if (!$listener) {
    open STDOUT, '>>', $log or die;
    open STDERR, '>&', \*STDOUT or die;
    { exec "$ENV{TP_SRC}/listener/terrapod-listener", '--url', $e->{TERRAPOD_URL},
          '--ca-file', $e->{TERRAPOD_CA_FILE}, '--join-token', $join,
          '--name', 'short', '--state-dir', $state, '--concurrency', '1',
          '--token-ttl', '10' }
    POSIX::_exit(127);
}
END { kill 'TERM', $listener if $listener }

my $body = <<'HCL';
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 14"
  }
}
HCL
write_file("$dir/main.tf", cloud_config(workspace => 'e2e-short', body => $body));
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
my ($ws, $code) = agent_workspace('e2e-short', 'agent-pool-id' => $pool);
is $code, 200, 'the workspace runs on the pool';

# ==== an apply longer than its runner token ====

($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'terraform apply on the pool\'s listener' or diag $out;
like $out, qr/Apply complete! Resources: 1 added/, 'applied';
my (undef, $runs) = api(GET => "/api/v2/workspaces/$ws/runs");
my $run = $runs->{data}[0];
is $run->{attributes}{status}, 'applied', 'the run is applied';
ok $run->{relationships}{'created-state-version'}{data},
   'its state was stored after the first token expired';
open my $lfh, '<', $log or die;
my $llog = do { local $/; <$lfh> };
like $llog, qr/TPL0061: run $run->{id}: renewed the runner token/,
     'because the listener renewed it';
like log_of($run->{id}, 'apply'), qr/terrapod-listener \S+ on short: apply phase/,
     'the listener of the pool ran it';

# ==== the resource profile ====

my $a = $run->{attributes};
cmp_ok $a->{'peak-memory-bytes'} // 0, '>', 1 << 20, 'peak memory reported';
cmp_ok $a->{'peak-cpu-usec'} // 0, '>', 0, 'CPU time reported';
is $a->{'runner-exit-code'}, 0, 'exit code reported';
is $a->{'runner-exit-status'}, 'clean', 'a clean exit';

# ==== the plan's files reach the apply ====

ok -f "$e->{DIR}/storage/runs/$run->{id}/plan-artifacts.tar",
   'the plan stored its artifacts';
unlike log_of($run->{id}, 'apply'), qr/left no files/,
       'and the apply found them';

# ==== canceled while planning ====

my $hang = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, Proto => 'tcp') or die $!;
my $port = $hang->sockport;
write_file("$dir/main.tf", cloud_config(workspace => 'e2e-short', body => <<"HCL"));
data "terraform_remote_state" "stuck" {
  backend = "http"
  config = {
    address = "http://127.0.0.1:$port/state"
  }
}
HCL
upload_config($ws, $dir);
$run = queue_run($ws);
ok wait_until(90, sub { status_of($run) eq 'planning' }), 'a plan blocks on a remote state';
sleep 3;
is status_of($run), 'planning', 'and stays planning';
($res) = api(POST => "/api/v2/runs/$run/actions/cancel");
is $res->code, 202, 'cancel it while it plans';
ok wait_until(60, sub { status_of($run) eq 'canceled' }),
   'the listener stops terraform and the run ends canceled';
like log_of($run, 'plan'), qr/\x03\z/, 'the plan log is complete';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'the workspace is free again';

done_testing;
