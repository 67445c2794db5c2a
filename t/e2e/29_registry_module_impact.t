# Module impact runs, end to end: a workspace in agent execution mode
# whose configuration uses a private module with a version constraint is
# linked to the module; publishing a new version queues a plan-only run
# there, which a real listener runs: its terraform init reads the registry
# with the run's runner token (as the workspace's owner) and installs the
# new version, and the plan shows what that version changes.
use strict;
use warnings FATAL => 'all';
use Test::More;
use POSIX ();
use TP::E2E;

my $e = instance();
(my $host = $e->{TERRAPOD_HOST}) =~ s/^localhost:/127.0.0.1:/;
my $NAT = '/api/terrapod/v1';
my $MOD = "$NAT/registry-modules/private/default/impact/tf";

sub slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return <$fh>;
}

sub module_tgz {
    my ($version) = @_;
    return targz('main.tf' => <<"HCL");
variable "name" {
  type = string
}
output "greeting" {
  value = "hello \${var.name} from $version"
}
HCL
}

sub publish {
    my ($version) = @_;
    my ($res, $doc) = api(PUT => "$MOD/versions/$version/upload",
                          raw => module_tgz($version));
    is $res->code, 201, "$version published" or diag $res->content;
    return $doc;
}

# a pool of its own, and a listener that reaches the server as 127.0.0.1:
# the credentials it writes for terraform then name the registry's host
my ($res, $doc) = api(POST => "$NAT/agent-pools", body => {data => {
    type => 'agent-pools', attributes => {name => 'e2e-impact'}}});
die $res->content unless $res->code == 201;
my $pool = $doc->{data}{id};
($res, $doc) = api(POST => "$NAT/agent-pools/$pool/authentication-tokens",
    body => {data => {type => 'authentication-tokens', attributes => {}}});
die $res->content unless $res->code == 201;
my $join = $doc->{data}{attributes}{token};
my $state = workdir();
my $log = "$e->{DIR}/log/listener-impact.log";
my $pid = fork() // die "fork: $!";
if (!$pid) {
    open STDOUT, '>>', $log or die;
    open STDERR, '>&', \*STDOUT or die;
    { exec "$ENV{TP_SRC}/listener/terrapod-listener", '--url', "https://$host",
          '--ca-file', $e->{TERRAPOD_CA_FILE}, '--join-token', $join,
          '--name', 'impact', '--state-dir', $state, '--concurrency', '1' }
    POSIX::_exit(127);
}
END { kill 'TERM', $pid if $pid }
ok wait_until(30, sub { -s "$state/listener.json" }), 'the listener joined'
    or diag slurp($log);

($res) = api(POST => "$NAT/registry-modules", body => {data => {
    type => 'registry-modules',
    attributes => {name => 'impact', provider => 'tf', 'registry-name' => 'private'}}});
is $res->code, 201, 'module created';
publish('1.0.0');

($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {
        name => 'e2e-impact', 'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
is $res->code, 201, 'an agent workspace' or diag $res->content;
my $ws = $doc->{data}{id};
my $dir = workdir();
write_file("$dir/main.tf", <<"HCL");
module "greeter" {
  source  = "$host/default/impact/tf"
  version = "~> 1.0"
  name    = "e2e"
}
output "greeting" {
  value = module.greeter.greeting
}
HCL
upload_config($ws, $dir);
($res) = api(POST => "$MOD/workspace-links", body => {data => {
    type => 'module-workspace-links', attributes => {'workspace-id' => $ws}}});
is $res->code, 201, 'the workspace linked to the module';

$doc = publish('1.1.0');
my ($impact) = @{ $doc->{meta}{'impact-runs'} || [] };
my $run = $impact->{'run-id'} // '';
like $run, qr/^run-/, 'publishing queued an impact run' or diag explain $doc->{meta};
ok wait_until(180, sub { status_of($run) =~ /^(planned_and_finished|errored)$/ }),
   'the listener ran it';
is status_of($run), 'planned_and_finished', 'a plan, never applied';
($res, $doc) = api(GET => "/api/v2/runs/$run");
my $plan_id = $doc->{data}{relationships}{plan}{data}{id};
($res, $doc) = api(GET => "/api/v2/plans/$plan_id");
($res) = api(GET => $doc->{data}{attributes}{'log-read-url'});
my $plan_log = $res->content;
like $plan_log, qr{\Q$host\E/default/impact/tf 1\.1\.0},
     'its init installed the new version with the runner token'
    or diag $plan_log, slurp($log);
like $plan_log, qr/hello e2e from 1\.1\.0/, 'and the plan shows what it changes';

done_testing;
