# A private module installed by the real terraform from the registry:
# versions published over the API, `terraform init` of a configuration
# naming the module by 127.0.0.1:PORT/default/NAME/PROVIDER (a registry
# host needs a dot, so not localhost:PORT) with a version
# constraint picks the newest version it admits (through modules.v1 and
# the signed archive URL, which terraform fetches without a token), apply
# runs that version's code, -upgrade moves to what a changed constraint
# admits, and a constraint nothing matches fails init. terrapod-publish
# packs a module's directory (leaving out .terraform and .git) and
# publishes it, creating the module on first use.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP;
use TP::E2E;

my $e = instance();
(my $host = $e->{TERRAPOD_HOST}) =~ s/^localhost:/127.0.0.1:/;
# terraform sends the token of the registry's host, as written in source
my $rc_dir = workdir();
write_file("$rc_dir/terraformrc",
           qq{credentials "$host" {\n  token = "$e->{TERRAPOD_TOKEN}"\n}\n});
write_file("$rc_dir/anonymous.terraformrc", "");
$TP::E2E::cli_config = "$rc_dir/terraformrc";
my $MODS = '/api/terrapod/v1/registry-modules';

# a module of one variable and one output, and a README
sub module_tgz {
    my ($version) = @_;
    return targz('main.tf' => <<"HCL", 'README.md' => "# Greeter $version\n");
variable "name" {
  type        = string
  description = "Who to greet"
}
output "greeting" {
  description = "The greeting"
  value       = "hello \${var.name} from $version"
}
HCL
}

my ($res, $doc) = api(POST => $MODS, body => {data => {
    type => 'registry-modules',
    attributes => {name => 'greeter', provider => 'tf',
                   'registry-name' => 'private'}}});
is $res->code, 201, 'module created' or diag $res->as_string;
for my $version ('1.0.0', '1.1.0', '2.0.0', '1.2.0-rc.1') {
    ($res, $doc) = api(PUT => "$MODS/private/default/greeter/tf/versions/"
                              . "$version/upload", raw => module_tgz($version));
    is $res->code, 201, "$version published" or diag $res->as_string;
}

sub config {
    my ($constraint) = @_;
    return <<"HCL";
module "greeter" {
  source  = "$host/default/greeter/tf"
  version = "$constraint"
  name    = "e2e"
}
output "greeting" {
  value = module.greeter.greeting
}
HCL
}

sub installed_version {
    my ($dir) = @_;
    open my $fh, '<', "$dir/.terraform/modules/modules.json" or return '';
    my $m = decode_json(do { local $/; <$fh> });
    my ($g) = grep { $_->{Key} eq 'greeter' } @{ $m->{Modules} };
    return $g ? $g->{Version} : '';
}

my $dir = workdir();
write_file("$dir/main.tf", config('~> 1.0'));
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init installs the private module' or diag $out;
like $out, qr{Downloading \S*\Q$host\E/default/greeter/tf 1\.1\.0},
     'the newest release ~> 1.0 admits (not the pre-release, not 2.0.0)';
is installed_version($dir), '1.1.0', 'modules.json records 1.1.0';
ok -f "$dir/.terraform/modules/greeter/README.md",
   'the archive was unpacked';
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'apply runs the module' or diag $out;
like $out, qr/greeting = "hello e2e from 1\.1\.0"/, "that version's code ran";

write_file("$dir/main.tf", config('>= 2.0.0'));
($rc, $out) = terraform($dir, 'init', '-input=false', '-upgrade');
is $rc, 0, 'init -upgrade with another constraint' or diag $out;
is installed_version($dir), '2.0.0', 'moves to 2.0.0';

write_file("$dir/main.tf", config('~> 3.0'));
($rc, $out) = terraform($dir, 'init', '-input=false', '-upgrade');
isnt $rc, 0, 'a constraint no version meets fails init';
like $out, qr/no available version of module/, "terraform says so, naming the newest";

# without the token the registry answers 401, and init fails
{
    local $TP::E2E::cli_config = "$rc_dir/anonymous.terraformrc";
    my $anon = workdir();
    write_file("$anon/main.tf", config('~> 1.0'));
    ($rc, $out) = terraform($anon, 'init', '-input=false');
    isnt $rc, 0, 'init without credentials fails';
    ok !-d "$anon/.terraform/modules/greeter", 'and installs nothing';
}

# a version deleted is no longer offered
($res) = api(DELETE => "$MODS/private/default/greeter/tf/versions/1.1.0");
is $res->code, 204, '1.1.0 deleted';
my $dir2 = workdir();
write_file("$dir2/main.tf", config('~> 1.0'));
($rc, $out) = terraform($dir2, 'init', '-input=false');
is $rc, 0, 'init again' or diag $out;
is installed_version($dir2), '1.0.0', 'the newest left: 1.0.0';

# terrapod-publish module, as a CI pipeline runs it
my $pub = "$ENV{TP_SRC}/mod_terrapod/terrapod-publish";
sub publish_module {
    my ($src, $version, %env) = @_;
    local $ENV{TERRAPOD_TOKEN} = $env{token} // $e->{TERRAPOD_TOKEN};
    my $cmd = join ' ', map { quotemeta } $pub, 'module', '--url', $e->{TERRAPOD_URL},
        '--name', 'packed', '--provider', 'tf', '--version', $version,
        '--ca-file', $e->{TERRAPOD_CA_FILE}, $src;
    my $o = qx{$cmd 2>&1};
    return ($? >> 8, $o);
}
my $src = workdir();
system('mkdir', '-p', "$src/modules/inner", "$src/.terraform/providers", "$src/.git") == 0
    or die "mkdir failed\n";
write_file("$src/main.tf", qq{module "inner" {\n  source = "./modules/inner"\n}\n}
                          . qq{output "packed" {\n  value = module.inner.word\n}\n});
write_file("$src/modules/inner/main.tf", qq{output "word" {\n  value = "packed 0.1.0"\n}\n});
write_file("$src/.terraform/providers/junk", 'not shipped');
write_file("$src/.git/HEAD", 'not shipped');
($rc, $out) = publish_module($src, '0.1.0', token => 'not-a-token');
is $rc, 1, 'terrapod-publish with a bad token fails';
like $out, qr/401/, "with the server's answer";
($rc, $out) = publish_module($src, '0.1.0');
is $rc, 0, 'terrapod-publish module creates the module and publishes 0.1.0' or diag $out;
like $out, qr{published packed/tf 0\.1\.0 \(2 files\)}, 'two files: no .terraform, no .git';
($rc, $out) = publish_module($src, '0.1.0');
is $rc, 1, 'the same version again fails';
like $out, qr/409/, 'as a duplicate';
my $dir3 = workdir();
write_file("$dir3/main.tf", <<"HCL");
module "packed" {
  source  = "$host/default/packed/tf"
  version = "0.1.0"
}
output "packed" {
  value = module.packed.packed
}
HCL
($rc, $out) = terraform($dir3, 'init', '-input=false');
is $rc, 0, 'terraform installs what terrapod-publish published' or diag $out;
ok -f "$dir3/.terraform/modules/packed/modules/inner/main.tf", 'with its nested module';
ok !-e "$dir3/.terraform/modules/packed/.git", 'and without .git';
($rc, $out) = terraform($dir3, 'apply', '-auto-approve', '-input=false');
like $out, qr/packed = "packed 0\.1\.0"/, 'and it runs';

done_testing;
