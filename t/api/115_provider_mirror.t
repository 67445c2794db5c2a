# The provider network mirror: a pull-through cache of the suite's
# stand-in for the public registry (TP::FakeRegistry, signing its releases
# with a key of its own). index.json and {version}.json as terraform reads
# them, for an API token, a session or a run's runner token only; a
# version believed only once its SHA256SUMS verifies (a forged signature
# is refused and nothing recorded); only the platform downloaded is
# fetched, checked against the signed manifest (a tampered zip is refused
# and nothing stored), kept and served through a signed URL, once however
# many ask at the same time; h1: and zh: hashes; and
# everything it holds still answered with the upstream registry stopped.
# On this server's own host it serves the private registry's providers,
# to whom the registry shows them and to runs.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Listener;
use TP::Util;
use TP::Browser;
use TP::FakeRegistry;
use TP::ProviderRelease;
use Digest::SHA qw(sha256_hex);
use File::Temp ();

plan tests => 107;

my $admin = admin_token();
my $user = user_token('mirror-user@test.local');
my $reg = TP::FakeRegistry->new(port => $ENV{TP_REGISTRY_PORT},
                                dir => File::Temp::tempdir(CLEANUP => 1))->start;
my $sha = $reg->release('hashicorp', 'widget', '1.0.0', ['linux_amd64', 'darwin_arm64']);
$reg->release('hashicorp', 'widget', '1.1.0', ['linux_amd64']);

my $M = '/v1/providers/registry.terraform.io/hashicorp/widget';
sub get { api(GET => $_[0], token => $_[1] // $user) }
sub fetched { grep { m{^/files/} } $reg->received }
# the version list the mirror keeps is asked for again once old
sub aged { sql("UPDATE mirror_providers SET fetched_at = now() - interval '1 day'") }

# ---- who may ask ----
is_error(api(GET => "$M/index.json"), 401, 'no token');
is_error(api(GET => "$M/index.json", headers => {Authorization => 'Bearer nope'}),
         401, 'a token that is none');

{
    # a browser's session counts as a token does
    password_user('mirror-browser@test.local', 'Mirror-pass-2024');
    my $ua = browser();
    sign_in($ua, '/api/terrapod/v1/auth/authorize?return_to=/', 'mirror-browser@test.local',
            'Mirror-pass-2024')->code == 303 or die 'sign-in failed';
    is $ua->get(url("$M/index.json"))->code, 200, 'a browser session';
}

# ---- index.json ----
my $r = get("$M/index.json");
is $r->code, 200, 'index.json';
is $r->header('Content-Type'), 'application/json', 'exactly the content type terraform wants';
is_deeply json_of($r), {versions => {'1.0.0' => {}, '1.1.0' => {}}}, 'the upstream versions';
is_error(get('/v1/providers/elsewhere.example/hashicorp/widget/index.json'), 404,
         'another registry than the upstream');
like error_detail(get('/v1/providers/elsewhere.example/hashicorp/widget/index.json')),
     qr/serves the providers of registry\.terraform\.io/, 'saying which it mirrors';
is_error(get('/v1/providers/registry.terraform.io/hashicorp/nothing/index.json'), 404,
         'a provider upstream does not know');
is_error(get('/v1/providers/registry.terraform.io/hash.corp/widget/index.json'), 404,
         'a namespace that is no name');
is_error(get("$M/readme.txt"), 404, 'a document the protocol has not');
is_error(get("$M/9.9.9.json"), 404, 'a version upstream does not have');
is_deeply [fetched()], [], 'nothing downloaded to list versions';

# ---- {version}.json: the manifest verified, no archive fetched ----
$r = get("$M/1.0.0.json");
is $r->code, 200, '{version}.json';
is $r->header('Content-Type'), 'application/json', 'as JSON';
my $archives = json_of($r)->{archives};
is_deeply [sort keys %$archives], ['darwin_arm64', 'linux_amd64'], 'every platform upstream signed';
is_deeply $archives->{linux_amd64}{hashes}, ["zh:$sha->{linux_amd64}"],
          'the zh: hash from the signed manifest before the archive is fetched';
is_deeply $archives->{darwin_arm64}{hashes}, ["zh:$sha->{darwin_arm64}"], 'for each platform';
my $url = $archives->{linux_amd64}{url};
like $url, qr{/api/terrapod/v1/provider-mirror/archives/mpa-[^/]+/terraform-provider-widget_1\.0\.0_linux_amd64\.zip\?expires=\d+&signature=},
     'a signed URL ending in the archive\'s name';
is_deeply [fetched()], ['/files/terraform-provider-widget_1.0.0_SHA256SUMS',
                        '/files/terraform-provider-widget_1.0.0_SHA256SUMS.sig'],
          'only the manifest and its signature fetched';
is sql("SELECT signing_key_id FROM mirror_versions WHERE version = '1.0.0'"),
   $reg->key->{key_id}, 'the signer recorded';

# ---- the archive: fetched once, for the platform asked, checked ----
$r = api(GET => $url);
is $r->code, 200, 'the archive through its signed URL, without a token';
is $r->header('Content-Type'), 'application/zip', 'a zip';
is sha256_hex($r->content), $sha->{linux_amd64}, 'the very bytes upstream signed';
is_deeply [grep { /\.zip$/ } fetched()], ['/files/terraform-provider-widget_1.0.0_linux_amd64.zip'],
          'only the platform asked for fetched';
$r = api(GET => $url);
is sha256_hex($r->content), $sha->{linux_amd64}, 'served again';
is scalar(grep { /\.zip$/ } fetched()), 1, 'from the cache';
$r = get("$M/1.0.0.json");
my $hashes = json_of($r)->{archives}{linux_amd64}{hashes};
is scalar @$hashes, 2, 'now two hashes';
like $hashes->[0], qr{^h1:[A-Za-z0-9+/]{43}=$}, 'the h1: hash of the cached archive';
is $hashes->[1], "zh:$sha->{linux_amd64}", 'and its zh:';
is_deeply json_of($r)->{archives}{darwin_arm64}{hashes}, ["zh:$sha->{darwin_arm64}"],
          'the platform not fetched has its zh: only';
is sql("SELECT h1 FROM mirror_archives WHERE os = 'linux' AND filename LIKE '%1.0.0%'"),
   $hashes->[0], 'the h1: recorded';

# ---- signed URLs ----
(my $forged = $url) =~ s/signature=[^&]+/signature=AAAA/;
is_error(api(GET => $forged), 401, 'a forged signature');
(my $renamed = $url) =~ s/linux_amd64\.zip/darwin_arm64.zip/;
is_error(api(GET => $renamed), 404, 'another file name under the same signature');
(my $other = $url) =~ s/mpa-[^\/]+/mpa-nothing/;
is_error(api(GET => $other), 401, 'another archive under the same signature');

# ---- a forged signature: refused, nothing recorded ----
$reg->release('hashicorp', 'widget', '2.0.0', ['linux_amd64']);
$reg->replace_file('terraform-provider-widget_2.0.0_SHA256SUMS',
                   "0000000000000000000000000000000000000000000000000000000000000000"
                   . "  terraform-provider-widget_2.0.0_linux_amd64.zip\n");
aged();
$r = get("$M/2.0.0.json");
is_error($r, 502, 'a manifest its signature does not cover');
like error_detail($r), qr/does not verify/, 'saying so';
is sql("SELECT count(*) FROM mirror_versions WHERE version = '2.0.0'"), 0, 'nothing recorded';

# ---- a tampered archive: refused, nothing stored ----
$reg->release('hashicorp', 'widget', '3.0.0', ['linux_amd64']);
is_deeply json_of(get("$M/index.json"))->{versions},
          {map { $_ => {} } qw(1.0.0 1.1.0 2.0.0)}, 'a fresh list is believed';
aged();
is_deeply json_of(get("$M/index.json"))->{versions},
          {map { $_ => {} } qw(1.0.0 1.1.0 2.0.0 3.0.0)}, 'asked again once old';
$r = get("$M/3.0.0.json");
is $r->code, 200, 'version 3.0.0 verified';
$reg->replace_file('terraform-provider-widget_3.0.0_linux_amd64.zip', 'PK not the signed zip');
$r = api(GET => json_of($r)->{archives}{linux_amd64}{url});
is_error($r, 502, 'an archive that is not the one signed');
like error_detail($r), qr/not the one its signed SHA256SUMS names/, 'saying so';
is sql("SELECT count(*) FROM mirror_archives a JOIN mirror_versions v ON v.id = a.version_id"
       . " WHERE v.version = '3.0.0' AND a.cached_at IS NOT NULL"), 0, 'nothing cached';

# ---- a zip that is no provider package, though signed ----
$reg->release('hashicorp', 'widget', '4.0.0', ['linux_amd64']);
# signed afresh over a zip with an entry that climbs out of its directory
my $bad = provider_zip('widget', '4.0.0', '../escape' => 'not a provider');
my $bad_name = 'terraform-provider-widget_4.0.0_linux_amd64.zip';
$reg->replace_file($bad_name, $bad);
$reg->replace_file('terraform-provider-widget_4.0.0_SHA256SUMS', shasums_of($bad_name => $bad));
$reg->sign_file("$reg->{dir}/files/terraform-provider-widget_4.0.0_SHA256SUMS");
aged();
$r = get("$M/4.0.0.json");
is $r->code, 200, 'version 4.0.0 verified';
$r = api(GET => json_of($r)->{archives}{linux_amd64}{url});
is_error($r, 502, 'a signed zip that is no provider package');
like error_detail($r), qr/"\.\."/, 'saying what is wrong';

# ---- two first downloads at once: upstream is asked once ----
$reg->release('hashicorp', 'widget', '5.0.0', ['linux_amd64']);
aged();
my $url5 = json_of(get("$M/5.0.0.json"))->{archives}{linux_amd64}{url};
$reg->slow_zips(2);
is_deeply [concurrently(2, sub { api(GET => $url5)->code == 200 })], [1, 1],
          'two clients download a new archive at once';
$reg->slow_zips(0);
is scalar(grep { /widget_5\.0\.0_linux_amd64\.zip$/ } fetched()), 1,
   'which upstream gave once';

# ---- the private registry's providers, on this server's own host ----
my $key = gpg_key('mirror-publisher');
my $NAT = '/api/terrapod/v1';
is api(POST => "$NAT/gpg-keys", token => $admin, body => {data => {type => 'gpg-keys',
       attributes => {namespace => 'default', 'ascii-armor' => $key->{armor}}}})->code,
   201, 'a publisher\'s key';
is api(POST => "$NAT/registry-providers", token => $admin, body => {data => {
       type => 'registry-providers', attributes => {name => 'inhouse',
       namespace => 'default', 'registry-name' => 'private'}}})->code, 201, 'a private provider';
my $V = "$NAT/registry-providers/private/default/inhouse/versions/0.3.0";
my $pzip = provider_zip('inhouse', '0.3.0');
my $psums = shasums_of('terraform-provider-inhouse_0.3.0_linux_amd64.zip' => $pzip);
sub put_raw { api(PUT => $_[0], token => $admin, body => $_[1],
                  headers => {'Content-Type' => 'application/octet-stream'}) }
is put_raw("$V/shasums", $psums)->code, 201, 'its manifest';
is put_raw("$V/shasums.sig", sign($key, $psums))->code, 200, 'signed';
is put_raw("$V/platforms/linux/amd64", $pzip)->code, 201, 'its zip: published';
my ($own) = Apache::TestRequest::resolve_url('/') =~ m{^https?://([^/]+)};
my $O = "/v1/providers/$own/default/inhouse";
$r = get("$O/index.json", $admin);
is $r->code, 200, 'index.json of a private provider';
is_deeply json_of($r), {versions => {'0.3.0' => {}}}, 'its published versions';
$r = get("$O/0.3.0.json", $admin);
is $r->code, 200, 'its {version}.json';
my $pa = json_of($r)->{archives}{linux_amd64};
like $pa->{hashes}[0], qr{^h1:}, 'the h1: the registry computed';
is $pa->{hashes}[1], 'zh:' . sha256_hex($pzip), 'and the zh:';
like $pa->{url}, qr{/api/terrapod/v1/registry/provider-versions/[^/]+/files/terraform-provider-inhouse_0\.3\.0_linux_amd64\.zip\?expires=},
     'the private registry\'s signed URL';
$r = api(GET => $pa->{url});
is $r->code, 200, 'which serves the zip without a token';
is sha256_hex($r->content), sha256_hex($pzip), 'the published bytes';
is_error(get("$O/index.json"), 404, 'a user the registry does not show it to');
is_error(get("$O/9.9.9.json", $admin), 404, 'a version not published');
is_error(get("/v1/providers/$own/default/nothing/index.json", $admin), 404, 'no such provider');

# ---- a run's runner token ----
my ($ws, $l) = agent_pool_ws($admin, $admin, 'mirror115');
make_cv($admin, $ws, 'auto-queue-runs' => JSON::PP::false());
my $run = new_run($admin, $ws)->{id};
claim_job($l, $run, 'plan');
my $tok = runner_token_of($l, $run);
$r = api(GET => "$M/index.json", headers => {Authorization => "Bearer $tok"});
is $r->code, 200, 'a planning run\'s runner token reads the mirror';
$r = api(GET => "$M/1.0.0.json", headers => {Authorization => "Bearer $tok"});
is $r->code, 200, 'and its versions';
is api(GET => "/v1/providers/$own/default/inhouse/index.json",
       headers => {Authorization => "Bearer $tok"})->code, 200,
   'and the private registry\'s providers, as the organization\'s run';
is_error(api(GET => "$M/index.json", headers => {Authorization => 'Bearer runtok:run-x:60:1:bad'}),
         401, 'a forged runner token');
is as_l($l, PATCH => "/runs/$run", body => {status => 'planned',
                                             'has-changes' => JSON::PP::false()})->code, 200,
   'the run ends';
is_error(api(GET => "$M/index.json", headers => {Authorization => "Bearer $tok"}), 401,
         'its token reads the mirror no more');

# ---- upstream away: what the mirror holds, it still answers ----
my $url2 = json_of(get("$M/1.0.0.json"))->{archives}{darwin_arm64}{url};
$reg->stop;
$r = get("$M/index.json");
is $r->code, 200, 'index.json with upstream stopped';
is_deeply [sort keys %{ json_of($r)->{versions} }], [qw(1.0.0 1.1.0 2.0.0 3.0.0 4.0.0 5.0.0)],
          'the versions it last listed';
aged();
$r = get("$M/index.json");
is $r->code, 200, 'even once the list is old';
is scalar keys %{ json_of($r)->{versions} }, 6, 'the same versions';
$r = get("$M/1.0.0.json");
is $r->code, 200, '{version}.json of a verified version';
is scalar @{ json_of($r)->{archives}{linux_amd64}{hashes} }, 2, 'with its hashes';
$r = api(GET => json_of($r)->{archives}{linux_amd64}{url});
is $r->code, 200, 'the cached archive';
is sha256_hex($r->content), $sha->{linux_amd64}, 'whole';
$r = api(GET => $url2);
is_error($r, 502, 'an archive never fetched cannot be');
is_error(get("$M/1.1.0.json"), 502, 'nor a version never verified');
is_error(get('/v1/providers/registry.terraform.io/hashicorp/other/index.json'), 502,
         'nor a provider never listed');

# ---- the rows hold what the answers said ----
is sql("SELECT count(*) FROM mirror_archives WHERE cached_at IS NOT NULL"), 2,
   'two archives cached in all';
ok -s "$ENV{TP_INSTANCE}/storage/registry/mirror/"
      . sql("SELECT id FROM mirror_archives WHERE cached_at IS NOT NULL LIMIT 1") . '.zip',
   'kept in storage under registry/mirror/';

# what this test published goes, for the tests after it
is api(DELETE => "$NAT/registry-providers/private/default/inhouse", token => $admin)->code,
   204, 'the private provider removed';
is api(DELETE => "$NAT/gpg-keys/default/$key->{key_id}", token => $admin)->code, 204,
   'and its key';
