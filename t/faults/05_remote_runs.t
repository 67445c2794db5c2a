# Remote runs on the instance's listener through server faults: a graceful
# Apache restart in the middle of an apply does not disturb the run, and a
# listener killed with SIGKILL mid-apply leaves a run the reconciler ends
# errored within its 60 s heartbeat window, with the workspace unlocked.
# Apache keeps read answers for the longest TerrapodReadCache allows, so
# the unlock the background child commits must drop the answer a process
# kept while the run held the workspace.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Time::HiRes qw(time);
use JSON::PP ();
use TP::E2E;
use TP::Faults;

long_case();

my $e = instance();
my $dir = $e->{DIR};
my $src = workdir();

restart_with_snippet('read-cache', "TerrapodReadCache 60\n");

# Whether the workspace is locked, read over one kept-alive connection so
# that the reads land on the process that kept the answer.
my $get = kept_alive();
sub locked {
    my $res = $get->("/api/v2/workspaces/$_[0]");
    die 'reading the workspace: ' . $res->code unless $res->code == 200;
    return JSON::PP->new->decode($res->content)->{data}{attributes}{locked};
}

# a configuration whose apply sleeps, so faults land mid-apply
sub upload_slow_config {
    my ($ws, $sleep) = @_;
    write_file("$src/main.tf", "resource \"terraform_data\" \"slow\" {\n"
        . "  triggers_replace = \"$sleep-" . time . "\"\n"
        . "  provisioner \"local-exec\" {\n    command = \"sleep $sleep\"\n  }\n}\n");
    upload_config($ws, $src);
}

my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {
        name => 'fault-runs', 'execution-mode' => 'agent'}}});
is $res->code, 201, 'an agent-mode workspace';
my $ws = $doc->{data}{id};

# graceful restart mid-apply
upload_slow_config($ws, 10);
my $run = queue_run($ws, 'auto-apply' => JSON::PP::true());
ok wait_until(120, sub { status_of($run) eq 'applying' }), 'a slow apply runs';
tp_instance('httpd-up', $dir);   # a running Apache restarts gracefully
ok wait_until(120, sub { status_of($run) =~ /^(applied|errored)$/ }), 'the run ends';
is status_of($run), 'applied', 'applied despite the graceful restart';
ok !locked($ws), 'the workspace is unlocked';

# the listener killed mid-apply, with the terraform it started
upload_slow_config($ws, 300);
$run = queue_run($ws, 'auto-apply' => JSON::PP::true());
ok wait_until(120, sub { status_of($run) eq 'applying' }), 'another slow apply runs';
open my $fh, '<', "$dir/run/listener.pid" or die "listener.pid: $!";
chomp(my $listener = <$fh>);
my @tree = ($listener);
for (my $i = 0; $i < @tree; $i++) { push @tree, split ' ', qx{pgrep -P $tree[$i]} }
kill 'KILL', @tree;
my $killed = time;
# the reads keep the connection, and so the process, until the run ends
ok locked($ws), 'the run holds the workspace (an answer kept)';
ok wait_until(90, sub { locked($ws); status_of($run) eq 'errored' }),
   'the orphaned run ends errored';
my $took = time - $killed;
ok $took <= 75, sprintf 'within the heartbeat window and a reconcile pass (%.0fs)', $took;
my (undef, $d) = api(GET => "/api/v2/runs/$run");
like $d->{data}{attributes}{'error-message'}, qr/heartbeat/i, 'saying why';
ok !locked($ws), 'the workspace is unlocked, as the same process answers';

tp_instance('up', $dir);   # a listener again for whatever runs next
done_testing;
