# An agent run of a workspace pinned to a terraform version from the
# binary cache: a stand-in releases server (TP::FakeRegistry) serves the
# local terraform binary, zipped and signed by the test, as version
# 1.11.99; the server fetches and checks it, the instance's listener
# fetches it from the server once, checks it, keeps it and runs it, and
# the next phases run the kept copy, upstream stopped or not. A version
# the cache cannot get fails the run, saying so.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Temp ();
use TP::E2E;
use TP::FakeRegistry;


my $e = instance();
my ($terraform) = grep { -x } map { "$_/terraform" } split /:/, $ENV{PATH};
my $reg = TP::FakeRegistry->new(port => free_port(),
                                dir => File::Temp::tempdir(CLEANUP => 1))->start;
$reg->binary_release('terraform', '1.11.99', ['linux_amd64', 'linux_arm64'], $terraform);
my $key = workdir() . '/releases.asc';
write_file($key, $reg->key->{armor});
with_directives('binaries', 'TerrapodOutboundAllow 127.0.0.0/8',
                'TerrapodBinaryUpstream terraform ' . $reg->base . "/releases/terraform $key");
sub zips { grep { /\.zip$/ } $reg->received }

my $dir = workdir();
write_file("$dir/main.tf", cloud_config(workspace => 'e2e-binary',
    body => qq{resource "terraform_data" "b" {\n  input = "pinned"\n}\n}));
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
my ($ws, $code) = agent_workspace('e2e-binary', 'terraform-version' => '1.11.99');
is $code, 200, 'a workspace on agents, pinned to 1.11.99';

($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'terraform apply' or diag $out;
like $out, qr/terraform 1\.11\.99, fetched from the server's binary cache and checked/,
     'the plan ran the pinned version, fetched from the binary cache';
# the CLI shows the apply's log from terraform's own output on: read it whole
my (undef, $runs) = api(GET => "/api/v2/workspaces/$ws/runs");
my (undef, $apply) = api(GET => "/api/v2/applies/$runs->{data}[0]{relationships}{apply}{data}{id}");
my ($log) = api(GET => $apply->{data}{attributes}{'log-read-url'});
like $log->content, qr/terraform 1\.11\.99, kept by this listener/, 'the apply ran the kept copy';
like $out, qr/Apply complete! Resources: 1 added/, 'and applied';
ok -x "$e->{DIR}/listener/binaries/terraform/1.11.99/terraform",
   'kept in the listener\'s state directory';
my (undef, $doc) = api(GET => '/api/terrapod/v1/admin/binary-cache');
is_deeply [map { "$_->{attributes}{version} $_->{attributes}{os}_$_->{attributes}{arch}" }
           @{ $doc->{data} }], ['1.11.99 ' . join('_', 'linux', (qx{uname -m} =~ /aarch64/ ? 'arm64' : 'amd64'))],
          'the server cached the listener\'s platform only';
is scalar(zips()), 1, 'upstream gave one zip';

# ---- upstream stopped: the kept copy runs ----
$reg->stop;
($rc, $out) = terraform($dir, 'plan', '-input=false');
is $rc, 0, 'a plan with upstream stopped' or diag $out;
like $out, qr/terraform 1\.11\.99, kept by this listener/, 'runs the kept copy';

# ---- a version the cache cannot get ----
my ($res) = api(PATCH => "/api/v2/workspaces/$ws", body => {data => {type => 'workspaces',
    attributes => {'terraform-version' => '1.11.98'}}});
is $res->code, 200, 'pinned to a version never fetched';
($rc, $out) = terraform($dir, 'plan', '-input=false');
isnt $rc, 0, 'the plan fails';
like $out, qr/binary cache has no terraform 1\.11\.98/, 'saying the binary cache has no such version';

done_testing;
