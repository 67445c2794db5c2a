# The private provider registry over plain HTTP: GPG keys (public keys
# only, registry admins register, a key that signed versions is removed
# only by force; go-tfe's paths too), providers and who may do what
# (registry RBAC through custom roles, the self-lockout rule, TFE's
# paths), the strict publishing order (SHA256SUMS, its signature verified
# against a registered key, zips checked against the signed manifest and
# for their contents), providers.v1 under both prefixes and the signed
# URLs of its downloads. Keys and zips are made by the test.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::ProviderRelease;
use Digest::SHA ();
use File::Temp ();

plan tests => 178;

my $N = '/api/terrapod/v1';
my $KEYS = "$N/gpg-keys";
my $TFE_KEYS = '/api/registry/private/v2/gpg-keys';
my $PROVS = "$N/registry-providers";
my $TFE_PROVS = '/api/v2/organizations/default/registry-providers';

sub key_body {
    my (%a) = @_;
    return {data => {type => 'gpg-keys', attributes => {namespace => 'default', %a}}};
}

sub prov_body {
    my (%a) = @_;
    return {data => {type => 'registry-providers',
                     attributes => {namespace => 'default',
                                    'registry-name' => 'private', %a}}};
}

sub put_raw {
    my ($path, $token, $bytes) = @_;
    return api(PUT => $path, token => $token, body => $bytes,
               headers => {'Content-Type' => 'application/octet-stream'});
}

sub role {
    my ($admin, $email, $name, %attrs) = @_;
    my $r = api(POST => "$N/roles", token => $admin,
                body => {data => {type => 'roles',
                                  attributes => {name => $name, %attrs}}});
    die $r->as_string unless $r->code == 201;
    $r = api(PUT => "$N/role-assignments", token => $admin,
             body => {data => {type => 'role-assignments', attributes => {
                 email => $email, roles => [$name]}}});
    die $r->as_string unless $r->code == 200;
}

my $admin = admin_token();
my $plain = user_token('reg94-plain@test.local');
my $team = user_token('reg94-team@test.local');
my $radm = user_token('reg94-radm@test.local');
role($admin, 'reg94-team@test.local', 'reg94-write',
     'registry-permission' => 'write', 'allow-labels' => {team => 'r94'});
role($admin, 'reg94-radm@test.local', 'reg94-admin',
     'registry-permission' => 'admin', 'allow-labels' => {team => 'r94'});

my $ka = gpg_key('alpha94');
my $kb = gpg_key('beta94');
my $kc = gpg_key('unregistered94');

# ---- GPG keys ----

my $r = api(POST => $KEYS, token => $plain, body => key_body('ascii-armor' => $ka->{armor}));
is_error($r, 403, 'registering a key without registry admin');
my $secret = qx{gpg --homedir '$ka->{home}' --batch --pinentry-mode loopback --passphrase '' --armor --export-secret-keys $ka->{key_id} 2>/dev/null};
like $secret, qr/PRIVATE KEY BLOCK/, 'the secret key exported for the test';
$r = api(POST => $KEYS, token => $admin, body => key_body('ascii-armor' => $secret));
is_error($r, 422, 'a private key');
like error_detail($r), qr/private key/, 'the detail says it is a private key';
$r = api(POST => $KEYS, token => $admin, body => key_body('ascii-armor' => 'hello'));
is_error($r, 422, 'not an armoured key');
$r = api(POST => $KEYS, token => $admin, body => key_body());
is_error($r, 422, 'no ascii-armor');
$r = api(POST => $KEYS, token => $admin,
         body => key_body('ascii-armor' => $ka->{armor}, namespace => 'other'));
is_error($r, 422, 'another namespace');
$r = api(POST => $KEYS, token => $admin,
         body => key_body('ascii-armor' => $ka->{armor} . $kb->{armor}));
is_error($r, 422, 'two keys in one armour');
is sql('SELECT count(*) FROM gpg_keys'), 0, 'no key stored by the refusals';

$r = api(POST => $KEYS, token => $radm, body => key_body('ascii-armor' => $ka->{armor}));
is $r->code, 201, 'a role with registry admin registers a key';
my $key = json_of($r)->{data};
is $key->{type}, 'gpg-keys', 'the type is gpg-keys';
is $key->{attributes}{'key-id'}, $ka->{key_id}, 'the key id is read from the key';
is $key->{attributes}{fingerprint}, $ka->{fingerprint}, 'and its fingerprint';
is $key->{attributes}{'ascii-armor'}, $ka->{armor}, 'the armour is kept as given';
is $key->{attributes}{namespace}, 'default', 'in the default namespace';
$r = api(POST => $KEYS, token => $admin, body => key_body('ascii-armor' => $ka->{armor}));
is_error($r, 409, 'the same key again');

$r = api(POST => $TFE_KEYS, token => $admin, body => key_body('ascii-armor' => $kb->{armor}));
is $r->code, 201, "go-tfe's path registers a key";
is json_of($r)->{data}{attributes}{'key-id'}, $kb->{key_id}, 'the second key';

$r = api(GET => $KEYS, token => $plain);
is $r->code, 200, 'anyone signed in lists the keys';
is scalar @{ json_of($r)->{data} }, 2, 'both keys listed';
$r = api(GET => "$TFE_KEYS?filter%5Bnamespace%5D=default", token => $plain);
is scalar @{ json_of($r)->{data} }, 2, "go-tfe's list filtered by namespace";
$r = api(GET => "$TFE_KEYS?filter%5Bnamespace%5D=other", token => $plain);
is scalar @{ json_of($r)->{data} }, 0, 'another namespace has none';
$r = api(GET => "$KEYS/default/$ka->{key_id}", token => $plain);
is $r->code, 200, 'a key by namespace and id';
is json_of($r)->{data}{attributes}{'key-id'}, $ka->{key_id}, 'the key shown';
$r = api(GET => "$TFE_KEYS/default/" . lc $kb->{key_id}, token => $plain);
is $r->code, 200, "go-tfe's path, the id in lower case";
$r = api(GET => "$KEYS/default/0123456789ABCDEF", token => $plain);
is_error($r, 404, 'an unknown key');
$r = api(GET => $KEYS);
is $r->code, 401, 'no token: 401';

# ---- providers ----

$r = api(POST => $PROVS, token => $plain, body => prov_body(name => 'alpha'));
is_error($r, 403, 'creating without registry write');
$r = api(POST => $PROVS, token => $team, body => prov_body(name => 'Alpha', labels => {team => 'r94'}));
is_error($r, 422, 'a name with capitals');
$r = api(POST => $PROVS, token => $team, body => prov_body(name => 'alpha', namespace => 'hashicorp', labels => {team => 'r94'}));
is_error($r, 422, 'another namespace');
$r = api(POST => $PROVS, token => $team, body => prov_body(name => 'alpha', 'registry-name' => 'public', labels => {team => 'r94'}));
is_error($r, 422, 'the public registry');
$r = api(POST => $PROVS, token => $team, body => prov_body(name => 'alpha', labels => 'x'));
is_error($r, 422, 'labels not an object');
is sql('SELECT count(*) FROM registry_providers'), 0, 'no provider stored by the refusals';

$r = api(POST => $PROVS, token => $admin, body => prov_body(name => 'alpha', labels => {team => 'r94'}));
is $r->code, 201, 'a provider created';
my $prov = json_of($r)->{data};
is $prov->{type}, 'registry-providers', 'its type';
is $prov->{attributes}{name}, 'alpha', 'its name';
is $prov->{attributes}{'registry-name'}, 'private', 'in the private registry';
is_deeply $prov->{attributes}{permissions},
    {'can-update' => JSON::PP::true, 'can-destroy' => JSON::PP::true,
     'can-create-version' => JSON::PP::true}, 'the admin may do everything';
$r = api(POST => $PROVS, token => $admin, body => prov_body(name => 'alpha'));
is_error($r, 409, 'the same name again');
$r = api(POST => $TFE_PROVS, token => $team, body => prov_body(name => 'beta', labels => {team => 'r94'}));
is $r->code, 201, "TFE's path creates a provider with registry write";
is json_of($r)->{data}{attributes}{'owner-email'}, 'reg94-team@test.local', 'owned by its creator';
$r = api(POST => '/api/v2/organizations/other/registry-providers', token => $admin, body => prov_body(name => 'gamma'));
is $r->code, 404, 'another organization: 404';

my $ALPHA = "$PROVS/private/default/alpha";
$r = api(GET => $ALPHA, token => $team);
is $r->code, 200, 'registry write reads the provider';
is_deeply json_of($r)->{data}{attributes}{permissions},
    {'can-update' => JSON::PP::false, 'can-destroy' => JSON::PP::false,
     'can-create-version' => JSON::PP::true}, 'write: versions only';
$r = api(GET => $ALPHA, token => $plain);
is_error($r, 404, 'invisible to a user without a role');
$r = api(GET => "$TFE_PROVS/private/default/alpha", token => $team);
is $r->code, 200, "TFE's path shows it";
$r = api(GET => $PROVS, token => $plain);
is scalar @{ json_of($r)->{data} }, 0, 'the plain user lists none';
$r = api(GET => $PROVS, token => $team);
is join(',', map { $_->{attributes}{name} } @{ json_of($r)->{data} }), 'alpha,beta',
   'the team lists both';
$r = api(GET => $TFE_PROVS, token => $admin);
is scalar @{ json_of($r)->{data} }, 2, "TFE's list";

$r = api(PATCH => $ALPHA, token => $team, body => prov_body(description => 'x'));
is_error($r, 403, 'updating with registry write');
$r = api(PATCH => $ALPHA, token => $radm, body => prov_body(description => 'The alpha provider'));
is $r->code, 200, 'registry admin updates';
is json_of($r)->{data}{attributes}{description}, 'The alpha provider', 'the description';
$r = api(PATCH => $ALPHA, token => $radm, body => prov_body(name => 'other'));
is_error($r, 422, 'renaming');
$r = api(PATCH => $ALPHA, token => $radm, body => prov_body(labels => {team => 'elsewhere'}));
is_error($r, 409, 'a label change that locks the caller out');
is sql(q{SELECT labels->>'team' FROM registry_providers WHERE name = 'alpha'}), 'r94', 'labels unchanged';
$r = api(PATCH => $ALPHA, token => $radm, body => prov_body(labels => {team => 'r94', tier => 'x'}));
is $r->code, 200, 'a label change that keeps access';
$r = api(PATCH => "$TFE_PROVS/private/default/beta", token => $radm,
         body => prov_body(labels => {team => 'gone'}, force => JSON::PP::true));
is $r->code, 200, 'forced, through TFE\'s path';
ok !json_of($r)->{data}{attributes}{permissions}{'can-update'},
   'the answer shows the access lost';
$r = api(GET => "$PROVS/private/default/beta", token => $radm);
is_error($r, 404, 'the provider is gone for the role');
$r = api(GET => "$PROVS/private/default/beta", token => $team);
is $r->code, 200, 'its owner still reads it';

# ---- publishing, in order ----

my $V = '1.0.0';
my $VER = "$ALPHA/versions/$V";
my %zip = (amd64 => provider_zip('alpha', $V),
           arm64 => provider_zip('wrong', $V),    # the wrong binary
           s390x => provider_zip('alpha', $V, '../evil' => 'x'));
my %files = map { ("terraform-provider-alpha_${V}_linux_$_.zip" => $zip{$_}) } keys %zip;
my $sums = shasums_of(%files);

$r = put_raw("$VER/platforms/linux/amd64", $team, $zip{amd64});
is_error($r, 422, 'a zip before the manifest');
$r = put_raw("$VER/shasums.sig", $team, sign($ka, $sums));
is_error($r, 409, 'a signature before the manifest');
$r = put_raw("$ALPHA/versions/1.0/shasums", $team, $sums);
is_error($r, 422, 'not a semantic version');
$r = put_raw("$VER/shasums", $team, "not a manifest\n");
is_error($r, 422, 'a malformed manifest');
$r = put_raw("$VER/shasums", $team, '');
is_error($r, 422, 'an empty manifest');
$r = put_raw("$VER/shasums", $plain, $sums);
is_error($r, 404, 'publishing to an invisible provider');
is sql('SELECT count(*) FROM registry_provider_versions'), 0, 'no version from the refusals';

$r = put_raw("$VER/shasums", $team, "0" x 64 . "  other.zip\n");
is $r->code, 201, 'the manifest creates the version';
$r = put_raw("$VER/shasums", $team, $sums);
is $r->code, 200, 'and is replaced while no zip is published';
my $ver = json_of($r)->{data};
is $ver->{attributes}{version}, $V, 'the version';
ok !$ver->{attributes}{'shasums-sig-uploaded'}, 'not signed yet';

$r = put_raw("$VER/platforms/linux/amd64", $team, $zip{amd64});
is_error($r, 422, 'a zip before the signature');
like error_detail($r), qr/signature/, 'the detail says the signature is missing';
$r = put_raw("$VER/shasums.sig", $team, sign($kc, $sums));
is_error($r, 422, 'a signature by an unregistered key');
like error_detail($r), qr/not registered/, 'the detail says so';
$r = put_raw("$VER/shasums.sig", $team, sign($ka, "$sums "));
is_error($r, 422, 'a signature over other bytes');
$r = put_raw("$VER/shasums.sig", $team, 'garbage');
is_error($r, 422, 'not a signature');
is sql("SELECT count(*) FROM registry_provider_versions WHERE signed_by IS NOT NULL"), 0,
   'nothing signed by the refusals';

$r = put_raw("$VER/shasums.sig", $team, sign($ka, $sums, armor => 1));
is $r->code, 200, 'an armoured signature by a registered key';
$ver = json_of($r)->{data};
is $ver->{attributes}{'key-id'}, $ka->{key_id}, 'the signer recorded';
ok $ver->{attributes}{'shasums-sig-uploaded'}, 'signed';

$r = put_raw("$VER/platforms/linux/amd64", $team, $zip{amd64} . "tampered");
is_error($r, 422, 'a zip whose SHA-256 the manifest does not give');
like error_detail($r), qr/SHA-256/, 'the detail names the mismatch';
$r = put_raw("$VER/platforms/darwin/arm64", $team, $zip{amd64});
is_error($r, 422, 'a platform the manifest does not name');
$r = put_raw("$VER/platforms/linux/arm64", $team, $zip{arm64});
is_error($r, 422, 'a zip without the provider binary');
like error_detail($r), qr/terraform-provider-alpha/, 'the detail names the binary';
$r = put_raw("$VER/platforms/linux/s390x", $team, $zip{s390x});
is_error($r, 422, 'a zip with a traversing entry');
$r = put_raw("$VER/platforms/Linux/amd64", $team, $zip{amd64});
is_error($r, 422, 'an os in capitals');
is sql('SELECT count(*) FROM registry_provider_platforms'), 0, 'no platform from the refusals';

$r = put_raw("$VER/platforms/linux/amd64", $team, $zip{amd64});
is $r->code, 201, 'the zip the signed manifest names';
my ($plat) = @{ json_of($r)->{data}{attributes}{platforms} };
is "$plat->{os}_$plat->{arch}", 'linux_amd64', 'the platform listed';
is $plat->{shasum}, Digest::SHA::sha256_hex($zip{amd64}), 'with its SHA-256';
like $plat->{h1}, qr{^h1:[A-Za-z0-9+/]{43}=$}, 'and its h1: hash';
$r = put_raw("$VER/platforms/linux/amd64", $team, $zip{amd64});
is_error($r, 409, 'the same platform again');
$r = put_raw("$VER/shasums", $team, $sums);
is_error($r, 409, 'replacing the manifest once a zip is published');
$r = put_raw("$VER/shasums.sig", $team, sign($kb, $sums));
is_error($r, 409, 'replacing the signature once a zip is published');

$r = api(GET => "$ALPHA/versions", token => $team);
is $r->code, 200, 'the versions listed';
is json_of($r)->{data}[0]{attributes}{'key-id'}, $ka->{key_id}, 'with their signer';
$r = api(GET => "$TFE_PROVS/private/default/alpha/versions", token => $team);
is scalar @{ json_of($r)->{data} }, 1, "TFE's path lists them";

# ---- providers.v1 ----

for my $prefix ('/api/terrapod/v1', '/api/v2') {
    $r = api(GET => "$prefix/registry/providers/default/alpha/versions", token => $team);
    is $r->code, 200, "providers.v1 versions under $prefix";
    is_deeply json_of($r), {versions => [{version => $V, protocols => ['5.0'],
                                          platforms => [{os => 'linux', arch => 'amd64'}]}]},
        'the published version and platform';
}
$r = api(GET => "$N/registry/providers/default/alpha/versions", token => $plain);
is_error($r, 404, 'invisible to a user without a role');
$r = api(GET => "$N/registry/providers/default/alpha/versions");
is $r->code, 401, 'without a token: 401';
$r = api(GET => "$N/registry/providers/hashicorp/alpha/versions", token => $admin);
is $r->code, 404, 'another namespace: 404';
$r = api(GET => "$N/registry/providers/default/alpha/$V/download/darwin/arm64", token => $team);
is_error($r, 404, 'a platform not published');

$r = api(GET => "$N/registry/providers/default/alpha/$V/download/linux/amd64", token => $team);
is $r->code, 200, 'the download answer';
my $dl = json_of($r);
is_deeply [@$dl{qw(os arch filename shasum)}],
    ['linux', 'amd64', "terraform-provider-alpha_${V}_linux_amd64.zip",
     Digest::SHA::sha256_hex($zip{amd64})], 'platform, file name and SHA-256';
is_deeply $dl->{protocols}, ['5.0'], 'the protocols';
is scalar @{ $dl->{signing_keys}{gpg_public_keys} }, 1, 'one signing key';
is $dl->{signing_keys}{gpg_public_keys}[0]{key_id}, $ka->{key_id}, "the publisher's key";
is $dl->{signing_keys}{gpg_public_keys}[0]{ascii_armor}, $ka->{armor}, 'its armour as registered';
$r = api(GET => $dl->{download_url});
is $r->code, 200, 'the zip without a token';
ok $r->content eq $zip{amd64}, 'the bytes published';
$r = api(GET => $dl->{shasums_url});
is $r->content, $sums, 'the manifest without a token';
$r = api(GET => $dl->{shasums_signature_url});
is $r->code, 200, 'the signature without a token';
my $sigfile = File::Temp->new; print $sigfile $r->content; close $sigfile;
my $sumfile = File::Temp->new; print $sumfile $sums; close $sumfile;
system("gpg --homedir '$ka->{home}' --batch --quiet --verify '$sigfile' '$sumfile' 2>/dev/null");
is $?, 0, 'the signature served verifies with the publisher\'s key';
(my $forged = $dl->{download_url}) =~ s/signature=[^&]+/signature=AAAA/;
$r = api(GET => $forged);
is $r->code, 401, 'a forged signature: 401';
(my $other = $dl->{download_url}) =~ s{files/[^?]+}{files/terraform-provider-alpha_${V}_linux_arm64.zip};
$r = api(GET => $other);
is $r->code, 404, 'a file the version does not have: 404';

# ---- removing keys, versions and providers ----

$r = api(DELETE => "$KEYS/default/$ka->{key_id}", token => $plain);
is_error($r, 403, 'removing a key without registry admin');
$r = api(DELETE => "$KEYS/default/$ka->{key_id}", token => $radm);
is_error($r, 409, 'removing the key that signed a published version');
$r = api(DELETE => "$TFE_KEYS/default/$kb->{key_id}", token => $radm);
is $r->code, 204, 'a key that signed nothing goes';
$r = api(DELETE => "$KEYS/default/$ka->{key_id}?force=true", token => $radm);
is $r->code, 204, 'the signer goes by force';
is sql('SELECT count(*) FROM gpg_keys'), 0, 'no key left';

$r = api(DELETE => $VER, token => $plain);
is_error($r, 404, 'deleting a version of an invisible provider');
$r = api(DELETE => $VER, token => $team);
is $r->code, 204, 'registry write deletes a version';
$r = api(GET => $dl->{download_url});
is $r->code, 404, 'its signed URLs answer 404';
$r = api(GET => "$N/registry/providers/default/alpha/versions", token => $team);
is_deeply json_of($r), {versions => []}, 'providers.v1 lists none';
$r = api(DELETE => "$ALPHA/versions/9.9.9", token => $team);
is_error($r, 404, 'a version that does not exist');
$r = api(DELETE => $ALPHA, token => $team);
is_error($r, 403, 'deleting a provider with registry write');
$r = api(DELETE => "$TFE_PROVS/private/default/alpha", token => $radm);
is $r->code, 204, "registry admin deletes it through TFE's path";
$r = api(DELETE => "$PROVS/private/default/beta", token => $team);
is $r->code, 204, 'the owner deletes its own';
is sql('SELECT count(*) FROM registry_providers'), 0, 'no provider left';
