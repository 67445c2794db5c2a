# The cloud block as a state backend in local execution mode, driven by the
# real terraform binary: workspaces created by init, state written by
# apply and read back, outputs, serials, locks held by someone else, the
# tags strategy's workspace commands, and state surgery.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP;
use TP::E2E;

my $config = <<'HCL';
variable "greeting" {
  default = "hello"
}
resource "terraform_data" "a" {
  input = var.greeting
}
resource "terraform_data" "b" {
  input = "second"
}
output "greeting" {
  value = terraform_data.a.output
}
output "token" {
  value     = "not-for-eyes"
  sensitive = true
}
HCL

my $dir = workdir();
write_file("$dir/main.tf", cloud_config(workspace => 'e2e-state', body => $config));

my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init succeeds' or diag $out;
my ($res, $doc) = api(GET => '/api/v2/organizations/default/workspaces/e2e-state');
is $res->code, 200, 'init created the workspace';
is $doc->{data}{attributes}{'execution-mode'}, 'local', 'in local execution mode';
my $ws = $doc->{data}{id};

($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'apply succeeds' or diag $out;
like $out, qr/Resources: 2 added/, 'apply created the resources';

($rc, $out) = terraform($dir, 'state', 'pull');
my $state = eval { decode_json($out) } || {};
is $state->{serial}, 1, 'state pull returns the applied state (serial 1)';
is scalar(@{ $state->{resources} || [] }), 2, 'with both resources';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
is $doc->{data}{attributes}{serial}, 1, 'the server holds it as current';

($rc, $out) = terraform($dir, 'output', '-raw', 'greeting');
is $out, 'hello', 'terraform output reads the stored output';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws/current-state-version-outputs");
my %outs = map { $_->{attributes}{name} => $_->{attributes} } @{ $doc->{data} };
is $outs{greeting}{value}, 'hello', 'outputs API has the value';
ok $outs{token}{sensitive} && !defined $outs{token}{value},
   'the sensitive output is hidden';

($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false',
                        '-var', 'greeting=bonjour');
is $rc, 0, 'second apply succeeds' or diag $out;
($rc, $out) = terraform($dir, 'state', 'pull');
my $second = decode_json($out);
cmp_ok $second->{serial}, '>', 1, 'the serial rose';

# an older serial is refused
my $old = {%$state, serial => 1};
write_file("$dir/old.tfstate", encode_json($old));
($rc, $out) = terraform($dir, 'state', 'push', 'old.tfstate');
isnt $rc, 0, 'state push of an older serial is refused';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
is $doc->{data}{attributes}{serial}, $second->{serial}, 'current state unchanged';

# a lock held by someone else
admin_cmd('user', '--email', 'locker@e2e.local', '--admin');
my ($locker) = admin_cmd('token', '--email', 'locker@e2e.local')
    =~ /TERRAPOD_TOKEN='([^']+)'/;
($res) = api(POST => "/api/v2/workspaces/$ws/actions/lock", token => $locker,
             body => {reason => 'maintenance'});
is $res->code, 200, 'another user locks the workspace';
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
isnt $rc, 0, 'apply fails while someone else holds the lock';
like $out, qr/Error acquiring the state lock/, 'with the lock error';
($rc, $out) = terraform($dir, 'force-unlock', '-force', 'default/e2e-state');
is $rc, 0, 'force-unlock succeeds' or diag $out;
($res, $doc) = api(GET => "/api/v2/workspaces/$ws");
ok !$doc->{data}{attributes}{locked}, 'and the workspace is unlocked';
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'apply works again' or diag $out;

# state surgery
($rc, $out) = terraform($dir, 'state', 'mv', 'terraform_data.b', 'terraform_data.c');
is $rc, 0, 'state mv' or diag $out;
($rc, $out) = terraform($dir, 'state', 'list');
like $out, qr/terraform_data\.c/, 'the moved address is in the state';
unlike $out, qr/terraform_data\.b/, 'the old one is gone';
($rc, $out) = terraform($dir, 'state', 'rm', 'terraform_data.c');
is $rc, 0, 'state rm' or diag $out;
($rc, $out) = terraform($dir, 'state', 'list');
is $out, "terraform_data.a\n", 'only the other resource remains';
($rc, $out) = terraform($dir, 'state', 'pull');
my $after = decode_json($out);
is scalar(@{ $after->{resources} }), 1, 'the stored state agrees';

# the tags strategy: workspace new, list, select, delete
my $tags = workdir();
write_file("$tags/main.tf", <<'HCL');
terraform {
  cloud {
    hostname     = "HOST"
    organization = "default"
    workspaces {
      tags = ["e2e-app"]
    }
  }
}
resource "terraform_data" "x" {
  input = terraform.workspace
}
HCL
{
    my $hcl = do { local $/; open my $f, '<', "$tags/main.tf"; <$f> };
    my $host = instance()->{TERRAPOD_HOST};
    $hcl =~ s/HOST/$host/;
    write_file("$tags/main.tf", $hcl);
}
($res) = api(POST => '/api/v2/organizations/default/workspaces',
             body => {data => {type => 'workspaces',
                               attributes => {name => 'e2e-app-dev',
                                              labels => {'e2e-app' => ''}}}});
is $res->code, 201, 'a tagged workspace exists to start from';
($rc, $out) = terraform($tags, 'init', '-input=false');
is $rc, 0, 'init with the tags strategy' or diag $out;
($rc, $out) = terraform($tags, 'workspace', 'new', 'e2e-app-prod');
is $rc, 0, 'workspace new' or diag $out;
($res, $doc) = api(GET => '/api/v2/organizations/default/workspaces/e2e-app-prod');
is_deeply $doc->{data}{attributes}{'tag-names'}, ['e2e-app'],
    'the new workspace carries the tag';
($rc, $out) = terraform($tags, 'workspace', 'list');
like $out, qr/e2e-app-dev/, 'workspace list shows the first';
like $out, qr/\* e2e-app-prod/, 'and the new, selected one';
unlike $out, qr/e2e-state/, 'but not untagged workspaces';
($rc, $out) = terraform($tags, 'workspace', 'select', 'e2e-app-dev');
is $rc, 0, 'workspace select' or diag $out;
($rc, $out) = terraform($tags, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'apply in the selected workspace' or diag $out;
($rc, $out) = terraform($tags, 'workspace', 'select', 'e2e-app-prod');
($rc, $out) = terraform($tags, 'workspace', 'delete', 'e2e-app-dev');
isnt $rc, 0, 'deleting a workspace that manages resources is refused';
($rc, $out) = terraform($tags, 'workspace', 'delete', '-force', 'e2e-app-dev');
is $rc, 0, 'workspace delete -force' or diag $out;
($res) = api(GET => '/api/v2/organizations/default/workspaces/e2e-app-dev');
is $res->code, 404, 'the workspace is gone';

done_testing;
