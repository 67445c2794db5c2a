# state-diverged with the real terraform and listener: an apply that
# succeeds while the server cannot store its state (the storage path of
# the workspace's state is taken by a file) errors, the listener reports
# the state diverged and the workspace shows it; once the storage is
# repaired, the next apply stores the state and clears it.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;

my $e = instance();
my $dir = workdir();

sub ws_attrs {
    my ($ws) = @_;
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws");
    return $d->{data}{attributes};
}
sub latest_run {
    my ($ws) = @_;
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws/runs");
    return $d->{data}[0];
}

write_file("$dir/main.tf", cloud_config(workspace => 'e2e-diverged', body => <<'HCL'));
resource "terraform_data" "a" {
  input = "first"
}
HCL
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
my ($ws, $code) = agent_workspace('e2e-diverged');
is $code, 200, 'the workspace runs on agents';
ok !ws_attrs($ws)->{'state-diverged'}, 'a new workspace has not diverged';

# the server cannot store a state of this workspace: where its directory
# would be, there is a file (owned as the storage is, so only the path is
# wrong)
my $storage = "$e->{DIR}/storage";
my ($uid, $gid) = (stat $storage)[4, 5];
my $blocker = "$storage/state/$ws";
mkdir "$storage/state";
chown $uid, $gid, "$storage/state";
open my $fh, '>', $blocker or die "$blocker: $!";
close $fh;

($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
isnt $rc, 0, 'terraform apply fails' or diag $out;
my $run = latest_run($ws);
is $run->{attributes}{status}, 'errored', 'the run errored';
like $run->{attributes}{'error-message'} // '', qr/state/,
     'its error says the state was not stored';
ok !$run->{relationships}{'created-state-version'}{data}, 'no state version';
is ws_attrs($ws)->{'state-diverged'}, JSON::PP::true(),
   'the workspace shows state-diverged';
like error_log(), qr/TP02090: run $run->{id} applied but its state could not be stored/,
     'the server logs it';

unlink $blocker or die "$blocker: $!";
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'with the storage repaired, the next apply succeeds' or diag $out;
$run = latest_run($ws);
is $run->{attributes}{status}, 'applied', 'applied';
ok $run->{relationships}{'created-state-version'}{data}, 'its state is stored';
is ws_attrs($ws)->{'state-diverged'}, JSON::PP::false(), 'state-diverged is cleared';

done_testing;
