# Saved cloud plans with the real terraform CLI and the instance's real
# listener: `terraform plan -out=saved.tfplan` in an agent workspace leaves
# a run planned_and_saved that holds nothing, `terraform apply saved.tfplan`
# applies exactly that run; a saved plan that another apply overtook is
# discarded, and the CLI refuses to apply it.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;

my $e = instance();
my $dir = workdir();

sub run_of {
    my ($id) = @_;
    my (undef, $d) = api(GET => "/api/v2/runs/$id");
    return $d->{data};
}
sub latest_run {
    my ($ws) = @_;
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws/runs");
    return $d->{data}[0];
}
# the run a saved plan file names
sub run_in {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    my $doc = JSON::PP->new->decode(do { local $/; <$fh> });
    return $doc->{run_id};
}

write_file("$dir/main.tf", cloud_config(workspace => 'e2e-saved', body => <<'HCL'));
resource "terraform_data" "a" {
  input = "saved"
}
output "a" {
  value = terraform_data.a.output
}
HCL
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
my ($ws, $code) = agent_workspace('e2e-saved');
is $code, 200, 'the workspace runs on agents';
my ($res, $doc);

# ==== plan -out, then apply the saved plan ====

($rc, $out) = terraform($dir, 'plan', '-out=saved.tfplan', '-input=false');
is $rc, 0, 'terraform plan -out in agent mode' or diag $out;
like $out, qr/terraform_data\.a will be created/, 'the plan output reached the CLI';
ok -f "$dir/saved.tfplan", 'the saved plan file is written';
my $saved = run_in("$dir/saved.tfplan");
like $saved, qr/^run-/, 'naming its run';
my $run = run_of($saved);
is $run->{attributes}{status}, 'planned_and_saved', 'the run is planned_and_saved';
ok $run->{attributes}{'save-plan'}, 'a save-plan run';
ok $run->{attributes}{actions}{'is-confirmable'}, 'which can be applied';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'the workspace is not held while it waits';

($rc, $out) = terraform($dir, 'apply', '-input=false', 'saved.tfplan');
is $rc, 0, 'terraform apply saved.tfplan' or diag $out;
like $out, qr/Apply complete! Resources: 1 added/, 'applied on the listener';
is latest_run($ws)->{id}, $saved, 'no new run: the saved one was applied';
$run = run_of($saved);
is $run->{attributes}{status}, 'applied', 'the saved run ended applied';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
is $doc->{data}{relationships}{run}{data}{id}, $saved, 'its state is current';
($rc, $out) = terraform($dir, 'state', 'list');
is $rc, 0, 'terraform state list' or diag $out;
like $out, qr/^terraform_data\.a$/m, 'the resource was created';
($rc, $out) = terraform($dir, 'output', '-raw', 'a');
is $out, 'saved', 'with its output';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'the workspace is free again';

($rc, $out) = terraform($dir, 'apply', '-input=false', 'saved.tfplan');
isnt $rc, 0, 'applying the same saved plan again fails';
like $out, qr/Saved plan is already applied/, 'saying it was applied';

# ==== another apply overtakes a saved plan ====

write_file("$dir/b.tf", "resource \"terraform_data\" \"b\" {}\n");
($rc, $out) = terraform($dir, 'plan', '-out=stale.tfplan', '-input=false');
is $rc, 0, 'a second saved plan' or diag $out;
my $stale = run_in("$dir/stale.tfplan");
is run_of($stale)->{attributes}{status}, 'planned_and_saved', 'planned_and_saved';

write_file("$dir/c.tf", "resource \"terraform_data\" \"c\" {}\n");
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'another run applies first, while the saved plan waits' or diag $out;
like $out, qr/Apply complete! Resources: 2 added/, 'it applied';
is run_of($stale)->{attributes}{status}, 'discarded', 'the saved plan is discarded';

($rc, $out) = terraform($dir, 'apply', '-input=false', 'stale.tfplan');
isnt $rc, 0, 'terraform apply of the stale saved plan fails';
like $out, qr/Saved plan is discarded/, 'the CLI says it was discarded';
like $out, qr/either another run was/, 'and that another run may have applied first';
is run_of($stale)->{attributes}{status}, 'discarded', 'the run stays discarded';
($rc, $out) = terraform($dir, 'state', 'list');
is join(',', sort split /\n/, $out), 'terraform_data.a,terraform_data.b,terraform_data.c',
   'the state is what the other run applied';

done_testing;
