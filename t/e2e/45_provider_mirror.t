# The provider network mirror with the real terraform: a stand-in for the
# public registry (TP::FakeRegistry) serves releases signed with a key of
# its own; terraform init, told to install through the server's mirror
# (provider_installation network_mirror), gets the newest version the
# constraint allows, checking the h1: and zh: hashes the mirror gave (its
# lock file holds the h1: it computed, the mirror's), and only that platform's archive is ever fetched upstream.
# With upstream stopped, a second init in a fresh directory is served from
# the cache, and so is the init of an agent run, whose listener points
# terraform at the mirror itself.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Temp ();
use TP::E2E;
use TP::FakeRegistry;

sub slurp { open my $fh, '<', $_[0] or return ''; local $/; return <$fh> }

my $e = instance();
my $reg = TP::FakeRegistry->new(port => free_port(),
                                dir => File::Temp::tempdir(CLEANUP => 1))->start;
$reg->release('hashicorp', 'widget', '1.0.0', ['linux_amd64']);
my $sha = $reg->release('hashicorp', 'widget', '1.1.0', ['linux_amd64', 'darwin_arm64']);
$reg->release('hashicorp', 'widget', '2.0.0', ['linux_amd64']);
with_directives('mirror', 'TerrapodOutboundAllow 127.0.0.0/8',
                'TerrapodRegistryUpstream registry.terraform.io ' . $reg->base);

# the instance's credentials, and the mirror as the way to install
my $tfrc = workdir() . '/terraformrc';
write_file($tfrc, slurp("$e->{DIR}/run/terraformrc") . <<"HCL");
provider_installation {
  network_mirror {
    url = "$e->{TERRAPOD_URL}/v1/providers/"
  }
}
HCL
local $TP::E2E::cli_config = $tfrc;

my $requires = <<'HCL';
terraform {
  required_providers {
    widget = {
      source  = "hashicorp/widget"
      version = "~> 1.0"
    }
  }
}
HCL

my $dir = workdir();
write_file("$dir/main.tf", $requires);
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'terraform init through the mirror' or diag $out;
like $out, qr/Installed hashicorp\/widget v1\.1\.0/, 'the newest version the constraint allows';
ok -x "$dir/.terraform/providers/registry.terraform.io/hashicorp/widget/1.1.0/linux_amd64/terraform-provider-widget_v1.1.0",
   'its binary installed';
my $lock = slurp("$dir/.terraform.lock.hcl");
like $lock, qr/version\s*=\s*"1\.1\.0"/, 'the lock file holds the version';
my ($h1) = $lock =~ /"(h1:[A-Za-z0-9+\/]{43}=)"/;
ok $h1, 'and the h1: hash terraform computed of what it installed';
my (undef, $doc) = api(GET => '/v1/providers/registry.terraform.io/hashicorp/widget/1.1.0.json');
is_deeply $doc->{archives}{linux_amd64}{hashes}, [$h1, "zh:$sha->{linux_amd64}"],
          'the mirror gave that h1: and the zh: of the signed manifest';
is_deeply [grep { /\.zip$/ } $reg->received],
          ['/files/terraform-provider-widget_1.1.0_linux_amd64.zip'],
          'upstream gave one archive: the platform installed';

# ---- upstream stopped: the cache answers ----
$reg->stop;
my $again = workdir();
write_file("$again/main.tf", $requires);
($rc, $out) = terraform($again, 'init', '-input=false');
is $rc, 0, 'a second init with upstream stopped' or diag $out;
like $out, qr/Installed hashicorp\/widget v1\.1\.0/, 'installs the same version';
my $lock2 = slurp("$again/.terraform.lock.hcl");
like $lock2, qr/\Q$h1\E/, 'with the same h1: hash';

# ---- an agent run: its listener installs through the mirror ----
my $agent = workdir();
write_file("$agent/main.tf", cloud_config(workspace => 'e2e-mirror', body => $requires));
($rc, $out) = terraform($agent, 'init', '-input=false');
is $rc, 0, 'init of a workspace' or diag $out;
my ($ws, $code) = agent_workspace('e2e-mirror');
is $code, 200, 'which runs on agents';
($rc, $out) = terraform($agent, 'plan', '-input=false');
like $out, qr/Installed hashicorp\/widget v1\.1\.0/,
     'the run\'s terraform init installed the provider from the mirror';
# the stand-in binary is no plugin: the plan fails once it is started
isnt $rc, 0, 'the plan then fails on the stand-in binary';
like $out, qr/plugin|provider/i, 'starting the provider';

done_testing;
