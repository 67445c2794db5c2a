# The binary cache: releases of terraform from the suite's stand-in
# releases server (TP::FakeRegistry), signed with the suite's key, which
# TerrapodBinaryUpstream names. A download is a 302 to a signed URL; the
# first one fetches the release's index, SHA256SUMS, signature and that
# platform's zip only, each checked (a forged manifest or a tampered zip
# is refused and nothing kept); admins list, warm and delete; what is
# cached is served with upstream stopped.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Util;
use TP::FakeRegistry;
use Digest::SHA qw(sha256_hex);
use File::Temp ();
use LWP::UserAgent ();
use HTTP::Request ();

plan tests => 79;

my $admin = admin_token();
my $user = user_token('binary-user@test.local');
my $reg = TP::FakeRegistry->new(port => $ENV{TP_REGISTRY_PORT},
                                gnupg => $ENV{TP_RELEASES_GNUPG},
                                dir => File::Temp::tempdir(CLEANUP => 1))->start;
my $bin = "#!/bin/sh\necho 'terraform stand-in'\n";
my $sha = $reg->binary_release('terraform', '1.9.0', ['linux_amd64', 'darwin_arm64'], \$bin);

my $N = '/api/terrapod/v1';
# the 302 itself, not where it leads
my $ua = LWP::UserAgent->new(max_redirect => 0, keep_alive => 0);
sub get {
    my ($what, $token) = @_;
    return $ua->request(HTTP::Request->new(GET =>
        Apache::TestRequest::resolve_url("$N/binary-cache/$what"),
        [Authorization => 'Bearer ' . ($token // $user)]));
}
sub fetched { grep { m{^/releases/} } $reg->received }
sub rows { sql("SELECT count(*) FROM binary_cache") }

# ---- a download ----
is_error(api(GET => "$N/binary-cache/terraform/1.9.0/linux/amd64"), 401, 'no token');
my $r = get('terraform/1.9.0/linux/amd64');
is $r->code, 302, 'a redirect';
my $url = $r->header('Location');
like $url, qr{/api/terrapod/v1/binary-cache-files/bin-[^/]+/terraform_1\.9\.0_linux_amd64\.zip\?expires=\d+&signature=},
     'to a signed URL ending in the release\'s name';
is_deeply [fetched()], ['/releases/terraform/1.9.0/index.json',
                        '/releases/terraform/1.9.0/terraform_1.9.0_SHA256SUMS',
                        '/releases/terraform/1.9.0/terraform_1.9.0_SHA256SUMS.sig',
                        '/releases/terraform/1.9.0/terraform_1.9.0_linux_amd64.zip'],
          'the index, the manifest, its signature and the one zip fetched';
$r = api(GET => $url);
is $r->code, 200, 'the zip, without a token';
is sha256_hex($r->content), $sha->{linux_amd64}, 'the very bytes upstream signed';
is $r->header('X-Checksum-SHA256'), $sha->{linux_amd64}, 'its SHA-256 in a header';
is $r->header('Content-Type'), 'application/zip', 'a zip';
is get('terraform/1.9.0/linux/amd64')->code, 302, 'asked again';
is scalar(fetched()), 4, 'answered from the cache';
(my $forged = $url) =~ s/signature=[^&]+/signature=AAAA/;
is_error(api(GET => $forged), 401, 'a forged signature');
(my $renamed = $url) =~ s/linux_amd64/darwin_arm64/;
is_error(api(GET => $renamed), 404, 'another name under the same signature');

# ---- what is not there ----
is_error(get('tofu/1.8.0/linux/amd64'), 404, 'a tool without an upstream');
like error_detail(get('tofu/1.8.0/linux/amd64')), qr/TerrapodBinaryUpstream/, 'saying what is missing';
is_error(get('terraformx/1.9.0/linux/amd64'), 404, 'no such tool');
is_error(get('terraform/latest/linux/amd64'), 404, 'a version that is none');
is_error(get('terraform/9.9.9/linux/amd64'), 404, 'a version not released');
is_error(get('terraform/1.9.0/windows/amd64'), 404, 'a platform not built');
is rows(), 1, 'one release cached';

# ---- refused: a forged manifest, a tampered zip ----
$reg->binary_release('terraform', '1.9.1', ['linux_amd64'], \$bin);
$reg->replace_file('releases/terraform/1.9.1/terraform_1.9.1_SHA256SUMS',
                   ('0' x 64) . "  terraform_1.9.1_linux_amd64.zip\n");
$r = get('terraform/1.9.1/linux/amd64');
is_error($r, 502, 'a manifest its signature does not cover');
like error_detail($r), qr/does not verify/, 'saying so';
$reg->binary_release('terraform', '1.9.2', ['linux_amd64'], \$bin);
$reg->replace_file('releases/terraform/1.9.2/terraform_1.9.2_linux_amd64.zip', 'PK tampered');
$r = get('terraform/1.9.2/linux/amd64');
is_error($r, 502, 'a zip that is not the one signed');
like error_detail($r), qr/not the one its signed SHA256SUMS names/, 'saying so';
is rows(), 1, 'nothing more cached';

# ---- two first requests at once: upstream is asked once ----
$reg->binary_release('terraform', '1.9.4', ['linux_amd64'], \$bin);
$reg->slow_zips(2);
is_deeply [concurrently(2, sub { get('terraform/1.9.4/linux/amd64')->code == 302 })], [1, 1],
          'two clients ask for a new release at once';
$reg->slow_zips(0);
is scalar(grep { /terraform_1\.9\.4_linux_amd64\.zip$/ } fetched()), 1, 'which upstream gave once';
is api(DELETE => "$N/admin/binary-cache/terraform/1.9.4", token => $admin)->code, 204,
   'removed again';

# ---- the admin's view ----
is_error(api(GET => "$N/admin/binary-cache", token => $user), 403, 'the list: not for users');
$r = api(GET => "$N/admin/binary-cache", token => $admin);
is $r->code, 200, 'the list';
my $list = json_of($r)->{data};
is scalar @$list, 1, 'one entry';
is $list->[0]{type}, 'binary-cache-entries', 'typed';
is_deeply [@{ $list->[0]{attributes} }{qw(tool version os arch shasum size)}],
          ['terraform', '1.9.0', 'linux', 'amd64', $sha->{linux_amd64}, length(api(GET => $url)->content)],
          'tool, version, platform, SHA-256 and size';
sub warm {
    my ($attrs, $token) = @_;
    return api(POST => "$N/admin/binary-cache/warm", token => $token // $admin,
               body => {data => {type => 'binary-cache-entries', attributes => $attrs}});
}
is_error(warm({tool => 'terraform', version => '1.9.0'}, $user), 403, 'warming: not for users');
$r = warm({tool => 'terraform', version => '1.9.0', os => 'darwin', arch => 'arm64'});
is $r->code, 201, 'warmed: another platform';
is json_of($r)->{data}{attributes}{shasum}, $sha->{darwin_arm64}, 'its SHA-256';
is warm({tool => 'terraform', version => '1.9.0', os => 'darwin', arch => 'arm64'})->code, 200,
   'warming it again changes nothing';
is warm({tool => 'terraform', version => '1.9.0'})->code, 200, 'linux/amd64 by default';
is api(POST => "/api/v2/admin/binary-cache/warm", token => $admin,
       body => {tool => 'terraform', version => '1.9.0'})->code, 200,
   'TFE\'s path, with the attributes alone as the body';
is scalar @{ json_of(api(GET => '/api/v2/admin/binary-cache', token => $admin))->{data} }, 2,
   'TFE\'s path lists them';
is_error(warm({tool => 'packer', version => '1.9.0'}), 422, 'a tool that is none');
is_error(warm({tool => 'terraform', version => 'v1'}), 422, 'a version that is none');
is_error(warm({tool => 'terraform', version => '1.9.0', os => '../x'}), 422, 'a platform that is none');
is_error(warm({tool => 'terraform', version => '8.0.0'}), 404, 'a version not released');
is rows(), 2, 'two entries';

# ---- upstream away: what is cached is served ----
$reg->stop;
$r = get('terraform/1.9.0/darwin/arm64');
is $r->code, 302, 'a cached release with upstream stopped';
is $ua->request(HTTP::Request->new(GET =>
       Apache::TestRequest::resolve_url('/api/v2/binary-cache/terraform/1.9.0/darwin/arm64'),
       [Authorization => "Bearer $user"]))->code, 302, 'TFE\'s path too';
is sha256_hex(api(GET => $r->header('Location'))->content), $sha->{darwin_arm64}, 'served whole';
is_error(get('terraform/1.9.3/linux/amd64'), 502, 'one never fetched cannot be');

# ---- deleting ----
is_error(api(DELETE => "$N/admin/binary-cache/terraform/1.9.0", token => $user), 403,
         'deleting: not for users');
my $file = "$ENV{TP_INSTANCE}/storage/cache/binaries/terraform/1.9.0/terraform_1.9.0_linux_amd64.zip";
ok -e $file, 'kept in storage under cache/binaries/';
is api(DELETE => '/api/v2/admin/binary-cache/terraform/1.9.0/darwin/arm64', token => $admin)->code,
   204, 'one platform deleted, by TFE\'s path';
is rows(), 1, 'that one only';
is_error(api(DELETE => "$N/admin/binary-cache/terraform/1.9.0/darwin/arm64", token => $admin),
         404, 'deleting it again');
is api(DELETE => "$N/admin/binary-cache/terraform/1.9.0", token => $admin)->code, 204,
   'a version deleted';
is rows(), 0, 'every platform of it';
ok !-e $file, 'and its files';
is_error(api(GET => $url), 404, 'its signed URL leads nowhere');
is_error(api(DELETE => "$N/admin/binary-cache/terraform/1.9.0", token => $admin), 404,
         'deleting it again');
