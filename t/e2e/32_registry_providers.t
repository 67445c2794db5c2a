# The real terraform installs a private provider: published in the strict
# order with a key the test generates (a zip holding a stand-in binary that
# init never runs), found through providers.v1 with the CLI's token and
# fetched from the three signed URLs without it; the lock file holds the
# h1: hash the server computed and the zip's zh: hash. A zip changed in
# storage after publishing is refused by terraform itself, and a
# signature by a key nobody registered is refused at publish.
# terrapod-publish does all of it from a CI pipeline's files. An agent
# run's init installs the provider from the registry too.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Digest::SHA ();
use TP::E2E;
use TP::ProviderRelease;

my $e = instance();
my $host = $e->{TERRAPOD_HOST};
my $PROV = '/api/terrapod/v1/registry-providers/private/default/stand';

my $key = gpg_key('e2e-publisher');
my ($r, $doc) = api(POST => '/api/terrapod/v1/gpg-keys',
                    body => {data => {type => 'gpg-keys', attributes => {
                        namespace => 'default', 'ascii-armor' => $key->{armor}}}});
is $r->code, 201, 'the publisher\'s key registered' or diag $r->content;
($r) = api(POST => '/api/terrapod/v1/registry-providers',
           body => {data => {type => 'registry-providers', attributes => {
               name => 'stand', namespace => 'default', 'registry-name' => 'private'}}});
is $r->code, 201, 'the provider created' or diag $r->content;

# Publishes version $v for linux_amd64, signed by $signer; the answer to
# the last step.
sub publish {
    my ($v, $signer) = @_;
    my $zip = provider_zip('stand', $v);
    my $name = "terraform-provider-stand_${v}_linux_amd64.zip";
    my $sums = shasums_of($name => $zip);
    my ($res) = api(PUT => "$PROV/versions/$v/shasums", raw => $sums);
    return $res unless $res->code == 201;
    ($res) = api(PUT => "$PROV/versions/$v/shasums.sig", raw => sign($signer, $sums));
    return $res unless $res->code == 200;
    ($res) = api(PUT => "$PROV/versions/$v/platforms/linux/amd64", raw => $zip);
    return ($res, $zip);
}

my ($res, $zip) = publish('1.0.0', $key);
is $res->code, 201, 'version 1.0.0 published' or diag $res->content;
my ($h1) = map { $_->{h1} } @{ JSON::PP->new->decode($res->content)->{data}{attributes}{platforms} };

sub config_for {
    my ($constraint) = @_;
    return <<"HCL";
terraform {
  required_providers {
    stand = {
      source  = "$host/default/stand"
      version = "$constraint"
    }
  }
}
HCL
}

my $dir = workdir();
write_file("$dir/main.tf", config_for('~> 1.0'));
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'terraform init installs the private provider' or diag $out;
(my $plain = $out) =~ s/\e\[[0-9;]*m//g;     # the key id is shown in bold
like $plain, qr/Installed \Q$host\E\/default\/stand v1\.0\.0 \(self-signed, key ID \Q$key->{key_id}\E\)/,
    'verified as self-signed by the publisher\'s key';
my $lock = do { local $/; open my $fh, '<', "$dir/.terraform.lock.hcl" or die $!; <$fh> };
like $lock, qr/provider "\Q$host\E\/default\/stand"/, 'the lock file names it';
like $lock, qr/version\s*=\s*"1\.0\.0"/, 'at 1.0.0';
my $zh = 'zh:' . Digest::SHA::sha256_hex($zip);
like $lock, qr/"\Q$zh\E"/, 'with the zip\'s zh: hash';
like $lock, qr/"\Q$h1\E"/, 'and the h1: hash the server computed';

# an agent run installs it too: its listener points terraform at this
# server's registry for its own providers, with the runner token
my $agent = workdir();
write_file("$agent/main.tf", cloud_config(workspace => 'e2e-private-provider',
                                          body => config_for('~> 1.0')));
($rc, $out) = terraform($agent, 'init', '-input=false');
is $rc, 0, 'init of an agent workspace requiring it' or diag $out;
my ($ws, $code) = agent_workspace('e2e-private-provider');
is $code, 200, 'which runs on agents';
($rc, $out) = terraform($agent, 'plan', '-input=false');
($plain = $out) =~ s/\e\[[0-9;]*m//g;
like $plain, qr/Installed \Q$host\E\/default\/stand v1\.0\.0 \(self-signed/,
     "the run's init installed the private provider from the registry";
# the stand-in binary is no plugin: the plan fails once it is started
isnt $rc, 0, 'the plan then fails on the stand-in binary';
ok -e "$dir/.terraform/providers/$host/default/stand/1.0.0/linux_amd64/terraform-provider-stand_v1.0.0",
    'the binary unpacked';

# a zip changed in storage after it was published: terraform refuses it
($res) = publish('1.1.0', $key);
is $res->code, 201, 'version 1.1.0 published';
my ($id) = psql(q{SELECT p.id FROM registry_providers p WHERE p.name = 'stand'});
my $stored = "$e->{DIR}/storage/registry/providers/$id/1.1.0/terraform-provider-stand_1.1.0_linux_amd64.zip";
ok -f $stored, 'the zip is in storage';
write_file($stored, provider_zip('stand', '1.1.0', EXTRA => 'tampered'));
$dir = workdir();
write_file("$dir/main.tf", config_for('1.1.0'));
($rc, $out) = terraform($dir, 'init', '-input=false');
isnt $rc, 0, 'terraform refuses the tampered zip';
like $out, qr/checksum|doesn't match|does not match/i, 'because of its checksum' or diag $out;
ok !-e "$dir/.terraform.lock.hcl", 'and locks nothing';

# a signature by a key nobody registered is refused at publish
my $stranger = gpg_key('e2e-stranger');
($res) = publish('2.0.0', $stranger);
is $res->code, 422, 'a manifest signed by an unregistered key: 422';
like $res->content, qr/not registered/, 'and the answer says so';
my ($signed) = psql(q{SELECT count(*) FROM registry_provider_versions WHERE version = '2.0.0' AND signed_by IS NOT NULL});
is $signed, 0, 'the version is not signed';

# terrapod-publish: checks, hashes, signs with the caller's keyring and
# uploads in order, creating the provider on first use
my $pub = "$ENV{TP_SRC}/mod_terrapod/terrapod-publish";
sub publish_cmd {
    my ($signer, @zips) = @_;
    local $ENV{GNUPGHOME} = $signer->{home};
    local $ENV{TERRAPOD_TOKEN} = $e->{TERRAPOD_TOKEN};
    my $cmd = join ' ', map { quotemeta } $pub, 'provider', '--url', $e->{TERRAPOD_URL},
        '--name', 'tool', '--version', '0.3.0', '--key', $signer->{key_id},
        '--ca-file', $e->{TERRAPOD_CA_FILE}, @zips;
    my $o = qx{$cmd 2>&1};
    return ($? >> 8, $o);
}
my $rel = workdir();
my @zips = map { "$rel/terraform-provider-tool_0.3.0_$_.zip" } qw(linux_amd64 darwin_arm64);
write_file($_, provider_zip('tool', '0.3.0')) for @zips;
write_file("$rel/terraform-provider-tool_0.4.0_linux_amd64.zip", provider_zip('tool', '0.4.0'));
($rc, $out) = publish_cmd($key, "$rel/terraform-provider-tool_0.4.0_linux_amd64.zip");
is $rc, 2, 'terrapod-publish refuses a zip of another version';
like $out, qr/is not named terraform-provider-tool_0\.3\.0_OS_ARCH\.zip/, 'and says why';
($rc, $out) = publish_cmd($stranger, @zips);
is $rc, 1, 'terrapod-publish with an unregistered key fails';
like $out, qr/422 .*not registered/, 'with the server\'s answer';
($rc, $out) = publish_cmd($key, @zips);
is $rc, 0, 'terrapod-publish publishes both platforms' or diag $out;
like $out, qr/published terraform-provider-tool_0\.3\.0_darwin_arm64\.zip/, 'it reports each';
my ($plats) = psql(q{SELECT string_agg(pl.os || '_' || pl.arch, ',' ORDER BY pl.os)
    FROM registry_provider_platforms pl JOIN registry_provider_versions v ON v.id = pl.version_id
    JOIN registry_providers p ON p.id = v.provider_id WHERE p.name = 'tool'});
is $plats, 'darwin_arm64,linux_amd64', 'both platforms stored';
$dir = workdir();
write_file("$dir/main.tf", <<"HCL");
terraform {
  required_providers {
    tool = { source = "$host/default/tool", version = "0.3.0" }
  }
}
HCL
($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'terraform installs what terrapod-publish published' or diag $out;

done_testing;
