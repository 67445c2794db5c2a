# Agent pools and listeners over plain HTTP: pool CRUD and who may do it
# (platform admin, pool RBAC through custom roles and access=everyone),
# join tokens (shown once, hashed, max uses, expiry, revocation), joining
# and reissuing certificates for the same name, and the listener endpoints
# authenticated by a client certificate forwarded by a proxy that proves
# itself (this suite's TLS vhost terrapod_proxy, where TP::Test presents
# the proxy's certificate).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Temp ();
use URI::Escape qw(uri_escape);
use TP::Test;

plan tests => 198;

my $POOLS = '/api/terrapod/v1/agent-pools';
my $JOIN = "$POOLS/join";
my $LST = '/api/terrapod/v1/listeners';

sub pool_body {
    my (%attrs) = @_;
    return {data => {type => 'agent-pools', attributes => \%attrs}};
}

sub token_body {
    my (%attrs) = @_;
    return {data => {type => 'authentication-tokens', attributes => \%attrs}};
}

sub pool_count {
    my ($name) = @_;
    return sql("SELECT count(*) FROM agent_pools WHERE name = '$name'");
}

sub join_pool {
    my ($token, $name, $path) = @_;
    return api(POST => $path // $JOIN,
               body => {join_token => $token, name => $name});
}

# a listener endpoint with the certificate as the proxy's header
sub as_listener {
    my ($method, $path, $pem, %opt) = @_;
    my %h = defined $pem ? ('X-Client-Cert' => uri_escape($pem)) : ();
    return api($method => proxied($path), headers => \%h, %opt);
}

sub names_of {
    my ($r) = @_;
    my $doc = json_of($r) or return '';
    return join ',', sort map { $_->{attributes}{name} } @{ $doc->{data} || [] };
}

my $admin = admin_token();
my $audit_email = 'pool50-audit@test.local';
my $audit = user_token($audit_email);
my $plain = user_token('pool50-plain@test.local');
my $padm_email = 'pool50-padm@test.local';
my $padm = user_token($padm_email);

my $r = api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
            body => {data => {type => 'role-assignments',
                              attributes => {'provider-name' => 'local',
                                             email => $audit_email,
                                             roles => ['audit']}}});
is $r->code, 200, 'audit role assigned';
$r = api(POST => '/api/terrapod/v1/roles', token => $admin,
         body => {data => {type => 'roles',
                           attributes => {name => 'pool50-team',
                                          'pool-permission' => 'admin',
                                          'allow-labels' => {team => 'p50'}}}});
is $r->code, 201, 'custom role with pool-permission admin created';
$r = api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
         body => {data => {type => 'role-assignments',
                           attributes => {'provider-name' => 'local',
                                          email => $padm_email,
                                          roles => ['pool50-team']}}});
is $r->code, 200, 'custom role assigned';

# ==== pools ====

is_error(api(POST => $POOLS, body => pool_body(name => 'p50-x')), 401,
         'create without a token');
is_error(api(POST => $POOLS, token => $plain, body => pool_body(name => 'p50-x')),
         403, 'plain user creates a pool');
is_error(api(POST => $POOLS, token => $padm, body => pool_body(name => 'p50-x')),
         403, 'pool-role holder creates a pool');
is pool_count('p50-x'), 0, 'no pool was created';

$r = api(POST => $POOLS, token => $admin,
         body => pool_body(name => 'p50-team', description => 'team runners',
                           labels => {team => 'p50'}));
is $r->code, 201, 'admin creates a pool: 201';
my $pool = json_of($r)->{data};
my $team_id = $pool->{id};
is $pool->{type}, 'agent-pools', 'pool: type agent-pools';
like $team_id, qr/^apool-[A-Za-z0-9]{16}$/, 'pool: id apool-...';
is $pool->{attributes}{name}, 'p50-team', 'pool: name';
is $pool->{attributes}{description}, 'team runners', 'pool: description';
is_deeply $pool->{attributes}{labels}, {team => 'p50'}, 'pool: labels';
is $pool->{attributes}{'listener-count'}, 0, 'pool: no listeners yet';
ok $pool->{attributes}{permissions}{'can-update'}, 'pool: admin can update';

$r = api(POST => $POOLS, token => $admin,
         body => pool_body(name => 'p50-public', labels => {access => 'everyone'}));
is $r->code, 201, 'access=everyone pool created';
my $public_id = json_of($r)->{data}{id};
$r = api(POST => $POOLS, token => $admin, body => pool_body(name => 'p50-hidden'));
is $r->code, 201, 'unlabelled pool created';
my $hidden_id = json_of($r)->{data}{id};

is_error(api(POST => $POOLS, token => $admin, body => pool_body(name => 'p50-team')),
         409, 'duplicate pool name');
is_error(api(POST => $POOLS, token => $admin, body => pool_body(name => 'bad name')),
         422, 'pool name with a space');
is_error(api(POST => $POOLS, token => $admin, body => pool_body(description => 'x')),
         422, 'pool without a name');
is_error(api(POST => $POOLS, token => $admin,
             body => pool_body(name => 'p50-lbl', labels => ['x'])),
         422, 'labels not an object');
is pool_count('bad name') + pool_count('p50-lbl'), 0, 'no invalid pool was created';
is pool_count('p50-team'), 1, 'the duplicate did not add a row';

is_error(api(GET => $POOLS), 401, 'list without a token');
$r = api(GET => "$POOLS?page[size]=100", token => $plain);
is $r->code, 200, 'plain user lists pools';
like names_of($r), qr/^(?!.*p50-team)(?!.*p50-hidden).*p50-public/,
     'plain user sees only the access=everyone pool';
$r = api(GET => "$POOLS?page[size]=100", token => $padm);
my $seen = names_of($r);
ok $seen =~ /p50-team/ && $seen =~ /p50-public/ && $seen !~ /p50-hidden/,
   'pool-role holder sees its labelled pool and the public one';
$r = api(GET => "$POOLS?page[size]=100", token => $audit);
$seen = names_of($r);
ok $seen =~ /p50-team/ && $seen =~ /p50-public/ && $seen =~ /p50-hidden/,
   'audit sees every pool';
$r = api(GET => "$POOLS?page[size]=100", token => $admin);
$seen = names_of($r);
ok $seen =~ /p50-team/ && $seen =~ /p50-hidden/, 'admin sees every pool';

is_error(api(GET => "$POOLS/$hidden_id", token => $plain), 404,
         'plain user reads the hidden pool');
is_error(api(GET => "$POOLS/apool-doesnotexist0000", token => $admin), 404,
         'unknown pool');
$r = api(GET => "$POOLS/$public_id", token => $plain);
is $r->code, 200, 'plain user reads the public pool';
ok !json_of($r)->{data}{attributes}{permissions}{'can-update'},
   'public pool: plain user cannot update';
is api(GET => "$POOLS/$hidden_id", token => $audit)->code, 200,
   'audit reads the hidden pool';

is_error(api(PATCH => "$POOLS/$public_id", token => $plain,
             body => pool_body(description => 'mine')), 403,
         'plain user updates the public pool');
is_error(api(PATCH => "$POOLS/$hidden_id", token => $audit,
             body => pool_body(description => 'mine')), 403,
         'audit updates a pool');
is sql("SELECT description FROM agent_pools WHERE id = '$public_id'"), '',
   'the refused updates changed nothing';
$r = api(PATCH => "$POOLS/$team_id", token => $padm,
         body => pool_body(description => 'renamed by team'));
is $r->code, 200, 'pool-role admin updates its pool';
is json_of($r)->{data}{attributes}{description}, 'renamed by team',
   'update: description changed';
is_error(api(PATCH => "$POOLS/$team_id", token => $admin,
             body => pool_body(name => 'p50-public')), 409,
         'rename onto an existing pool name');
is_error(api(DELETE => "$POOLS/$public_id", token => $plain), 403,
         'plain user deletes the public pool');
is_error(api(DELETE => "$POOLS/$hidden_id", token => $padm), 404,
         'pool-role holder deletes a pool it cannot see');
is pool_count('p50-public') + pool_count('p50-hidden'), 2,
   'the refused deletes removed nothing';

# ==== join tokens ====

my $TOK = "$POOLS/$team_id/authentication-tokens";
is_error(api(POST => $TOK, body => token_body()), 401, 'token without an API token');
is_error(api(POST => "$POOLS/$hidden_id/authentication-tokens", token => $plain,
             body => token_body()), 404, 'plain user mints a token of a hidden pool');
is_error(api(POST => "$POOLS/$public_id/authentication-tokens", token => $plain,
             body => token_body()), 403, 'plain user mints a token of a readable pool');
is_error(api(GET => "$POOLS/$public_id/authentication-tokens", token => $plain),
         403, 'plain user lists the tokens of a readable pool');
is_error(api(POST => $TOK, token => $padm, body => token_body('max-uses' => 0)),
         422, 'max-uses 0');
is_error(api(POST => $TOK, token => $padm, body => token_body('lifespan-hours' => 0)),
         422, 'lifespan-hours 0');
is_error(api(POST => $TOK, token => $padm,
             body => token_body('expires-at' => '2001-01-01T00:00:00Z')),
         422, 'expires-at in the past');
is_error(api(POST => $TOK, token => $padm,
             body => token_body('expires-at' => 'tomorrow')),
         422, 'expires-at not a time');
is sql("SELECT count(*) FROM agent_pool_tokens WHERE pool_id = '$team_id'"), 0,
   'no token was created by the refused requests';

$r = api(POST => $TOK, token => $padm,
         body => token_body(description => 'two uses', 'max-uses' => 2,
                            'lifespan-hours' => 24));
is $r->code, 201, 'pool admin mints a join token: 201';
my $tok = json_of($r)->{data};
my $raw2 = $tok->{attributes}{token};
like $raw2, qr/^tpv1\.[A-Za-z0-9_-]{43}$/, 'the raw token is in the answer';
is $tok->{attributes}{'max-uses'}, 2, 'token: max-uses';
is $tok->{attributes}{uses}, 0, 'token: no uses yet';
is $tok->{attributes}{description}, 'two uses', 'token: description';
ok defined $tok->{attributes}{'expires-at'}, 'token: expires-at from lifespan-hours';
is $tok->{relationships}{'agent-pool'}{data}{id}, $team_id, 'token: its pool';
is sql("SELECT count(*) FROM agent_pool_tokens WHERE token_hash = '$raw2'"), 0,
   'the raw token is not stored';
is sql("SELECT token_hash = encode(sha256('$raw2'), 'hex') FROM agent_pool_tokens"
       . " WHERE id = '$tok->{id}'"), 't', 'its SHA-256 is';

$r = api(GET => $TOK, token => $padm);
is $r->code, 200, 'pool admin lists the tokens';
is scalar(@{ json_of($r)->{data} }), 1, 'one token listed';
ok !exists json_of($r)->{data}[0]{attributes}{token}, 'the list has no token';
unlike $r->content, qr/\Q$raw2\E/, 'nor the raw token anywhere';

# ==== joining ====

$r = join_pool($raw2, 'runner-1');
is $r->code, 201, 'join with the token: 201';
my $j1 = json_of($r);
like $j1->{listener_id}, qr/^listener-[A-Za-z0-9]{16}$/, 'join: listener id';
is $j1->{pool_id}, $team_id, 'join: the token chose the pool';
like $j1->{certificate}, qr/^-----BEGIN CERTIFICATE-----/, 'join: certificate PEM';
like $j1->{private_key}, qr/^-----BEGIN PRIVATE KEY-----/, 'join: private key PEM';
my $ca = do { local $/; open my $fh, '<', "$ENV{TP_INSTANCE}/tls/listener-ca.pem"
                         or die $!; <$fh> };
is $j1->{ca_certificate}, $ca, 'join: the listener CA certificate';
is $r->header('Cache-Control'), 'no-store', 'join: not cached';
is sql("SELECT uses FROM agent_pool_tokens WHERE id = '$tok->{id}'"), 1,
   'join used the token once';
is sql("SELECT cert_fingerprint FROM listeners WHERE id = '$j1->{listener_id}'"),
   $j1->{certificate_fingerprint}, 'the certificate fingerprint is registered';

$r = join_pool($raw2, 'runner-2');
is $r->code, 201, 'second join with the two-use token';
my $j2 = json_of($r);
is_error(join_pool($raw2, 'runner-3'), 401, 'third join with the two-use token');
is sql("SELECT uses FROM agent_pool_tokens WHERE id = '$tok->{id}'"), 2,
   'the used-up token stays at max uses';
is sql("SELECT count(*) FROM listeners WHERE name = 'runner-3'"), 0,
   'the refused join registered no listener';

is_error(join_pool('tpv1.' . ('A' x 43), 'runner-3'), 401, 'unknown join token');
is_error(join_pool('not-a-token', 'runner-3'), 401, 'malformed join token');
is_error(api(POST => $JOIN, body => {name => 'runner-3'}), 401, 'no join token');
is_error(api(POST => $JOIN, body => 'not json'), 400, 'join body not JSON');

$r = api(POST => $TOK, token => $padm, body => token_body(description => 'unlimited'));
is $r->code, 201, 'unlimited token minted';
my $rawu = json_of($r)->{data}{attributes}{token};
ok !defined json_of($r)->{data}{attributes}{'max-uses'}, 'unlimited: max-uses null';
ok !defined json_of($r)->{data}{attributes}{'expires-at'}, 'unlimited: no expiry';

is_error(join_pool($rawu, '-bad'), 422, 'listener name starting with a dash');
is_error(join_pool($rawu, 'a b'), 422, 'listener name with a space');
is_error(join_pool($rawu, 'x' x 64), 422, 'listener name of 64 characters');
is_error(api(POST => $JOIN, body => {join_token => $rawu}), 422, 'no listener name');
is sql("SELECT uses FROM agent_pool_tokens WHERE token_hash = encode(sha256('$rawu'), 'hex')"),
   0, 'refused names used nothing';

$r = api(POST => $TOK, token => $padm, body => token_body(description => 'expires'));
my $exp = json_of($r)->{data};
sql("UPDATE agent_pool_tokens SET expires_at = now() - interval '1 minute'"
    . " WHERE id = '$exp->{id}'");
is_error(join_pool($exp->{attributes}{token}, 'runner-9'), 401, 'expired join token');

$r = api(POST => $TOK, token => $padm, body => token_body(description => 'revoke me'));
my $rev = json_of($r)->{data};
is_error(api(DELETE => "$TOK/$rev->{id}", token => $plain), 404,
         'plain user revokes a token of a pool it cannot see');
is api(DELETE => "$TOK/$rev->{id}", token => $padm)->code, 204,
   'pool admin revokes a token: 204';
is_error(api(DELETE => "$TOK/apt-doesnotexist00000", token => $padm), 404,
         'revoke an unknown token');
is_error(api(DELETE => "$POOLS/$public_id/authentication-tokens/$rev->{id}",
             token => $admin), 404, 'revoke through another pool');
is_error(join_pool($rev->{attributes}{token}, 'runner-9'), 401, 'revoked join token');
$r = api(GET => "$TOK?page[size]=100", token => $padm);
my ($listed) = grep { $_->{id} eq $rev->{id} } @{ json_of($r)->{data} };
ok $listed && $listed->{attributes}{revoked} && $listed->{attributes}{'revoked-at'},
   'the list shows the token revoked';
is sql("SELECT count(*) FROM listeners WHERE name = 'runner-9'"), 0,
   'expired and revoked tokens registered nothing';

# legacy path: the pool in the URL must be the token's
$r = join_pool($rawu, 'runner-legacy', "$POOLS/$team_id/listeners/join");
is $r->code, 201, 'legacy join path';
is json_of($r)->{pool_id}, $team_id, 'legacy join: the pool';
is_error(join_pool($rawu, 'runner-legacy', "$POOLS/$public_id/listeners/join"),
         401, 'legacy join naming another pool');

# ==== listener endpoints ====

my $L1 = "$LST/$j1->{listener_id}";
is_error(as_listener(POST => "$L1/heartbeat", undef), 401, 'heartbeat without a certificate');
is_error(api(POST => "$L1/heartbeat", token => $admin), 401,
         'heartbeat with an API token instead');
$r = as_listener(POST => "$L1/heartbeat", $j1->{certificate},
                 body => {capacity => 3, version => '0.1.0'});
is $r->code, 200, 'heartbeat with the certificate: 200';
my $hb = json_of($r)->{data};
is $hb->{attributes}{status}, 'online', 'heartbeat: online';
is $hb->{attributes}{capacity}, 3, 'heartbeat: capacity recorded';
is $hb->{attributes}{version}, '0.1.0', 'heartbeat: version recorded';
is as_listener(POST => "$L1/heartbeat", $j1->{certificate})->code, 200,
   'heartbeat without a body';
is_error(as_listener(POST => "$L1/heartbeat", $j1->{certificate},
                     body => {capacity => -1}), 422, 'negative capacity');
is_error(as_listener(POST => "$L1/heartbeat", $j2->{certificate}), 401,
         "another listener's certificate");
is_error(as_listener(POST => "$L1/heartbeat", 'garbage'), 401, 'not a certificate');
is_error(as_listener(POST => "$LST/listener-doesnotexist00/heartbeat",
                     $j1->{certificate}), 401, 'unknown listener');

# reissue for the same name: the same listener, a new certificate
$r = join_pool($rawu, 'runner-1');
is $r->code, 201, 'join again with the same name';
my $j1b = json_of($r);
is $j1b->{listener_id}, $j1->{listener_id}, 'reissue: the same listener';
isnt $j1b->{certificate_serial}, $j1->{certificate_serial}, 'reissue: a new serial';
is sql("SELECT count(*) FROM listeners WHERE pool_id = '$team_id' AND name = 'runner-1'"),
   1, 'reissue: still one listener of that name';
is_error(as_listener(POST => "$L1/heartbeat", $j1->{certificate}), 401,
         'the replaced certificate is refused');
is as_listener(POST => "$L1/heartbeat", $j1b->{certificate})->code, 200,
   'the reissued certificate works';

# renew: a fresh certificate replaces the presented one
$r = as_listener(POST => "$L1/renew", $j1b->{certificate});
is $r->code, 200, 'renew: 200';
my $j1c = json_of($r);
is $j1c->{listener_id}, $j1->{listener_id}, 'renew: the same listener';
like $j1c->{private_key}, qr/PRIVATE KEY/, 'renew: a new private key';
isnt $j1c->{certificate_fingerprint}, $j1b->{certificate_fingerprint},
     'renew: a new certificate';
is_error(as_listener(POST => "$L1/heartbeat", $j1b->{certificate}), 401,
         'the certificate renewed away is refused');
is as_listener(POST => "$L1/heartbeat", $j1c->{certificate})->code, 200,
   'the renewed certificate works';
is_error(as_listener(POST => "$LST/$j2->{listener_id}/renew", $j1c->{certificate}),
         401, "renew with another listener's certificate");

# expiry and revocation as recorded
sql("UPDATE listeners SET cert_not_after = now() - interval '1 minute'"
    . " WHERE id = '$j2->{listener_id}'");
is_error(as_listener(POST => "$LST/$j2->{listener_id}/heartbeat", $j2->{certificate}),
         401, 'an expired certificate');
sql("UPDATE listeners SET revoked = true WHERE id = '$j1->{listener_id}'");
is_error(as_listener(POST => "$L1/heartbeat", $j1c->{certificate}), 403,
         'a revoked listener');
sql("UPDATE listeners SET revoked = false WHERE id = '$j1->{listener_id}'");
is as_listener(POST => "$L1/heartbeat", $j1c->{certificate})->code, 200,
   'unrevoked, it works again';

# the certificate itself
my $dir = File::Temp::tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/c.pem" or die $!;
print $fh $j1c->{certificate};
close $fh;
my $text = qx{openssl x509 -in $dir/c.pem -noout -subject -issuer -ext extendedKeyUsage -serial 2>&1};
like $text, qr/subject=CN\s*=\s*runner-1/, 'certificate: CN is the listener name';
like $text, qr/issuer=CN\s*=\s*mod_terrapod listener CA/, 'certificate: issued by the listener CA';
like $text, qr/TLS Web Client Authentication/, 'certificate: clientAuth';
my ($serial) = $text =~ /serial=([0-9A-F]+)/;
is lc($serial // ''), $j1c->{certificate_serial}, 'certificate: serial as reported';
my $verify = qx{openssl verify -CAfile $ENV{TP_INSTANCE}/tls/listener-ca.pem $dir/c.pem 2>&1};
like $verify, qr/OK/, 'certificate: verifies against the listener CA';

# visibility
$r = api(GET => "$POOLS/$team_id/listeners", token => $padm);
is $r->code, 200, 'pool admin lists the listeners';
is names_of($r), 'runner-1,runner-2,runner-legacy', 'the listeners of the pool';
ok !grep({ exists $_->{attributes}{'private-key'} } @{ json_of($r)->{data} }),
   'no key in the list';
is_error(api(GET => "$POOLS/$team_id/listeners", token => $plain), 404,
         'plain user lists the listeners of a hidden pool');
is api(GET => "$POOLS/$team_id", token => $padm)->code, 200, 'pool still readable';
is json_of(api(GET => "$POOLS/$team_id", token => $padm))->{data}{attributes}{'listener-count'},
   3, 'pool: listener-count';

my $log = do { local $/; open my $lf, '<', Apache::Test::vars('t_logs') . '/error_log'
                         or die $!; <$lf> };
unlike $log, qr/PRIVATE KEY/, 'no private key in the error log';
like $log, qr/TP00710: listener \Q$j1->{listener_id}\E/, 'joins are logged';

# deleting a pool takes its tokens and listeners
is api(DELETE => "$POOLS/$team_id", token => $padm)->code, 204,
   'pool admin deletes its pool: 204';
is_error(api(GET => "$POOLS/$team_id", token => $admin), 404, 'the deleted pool');
is sql("SELECT count(*) FROM listeners WHERE pool_id = '$team_id'")
   + sql("SELECT count(*) FROM agent_pool_tokens WHERE pool_id = '$team_id'"),
   0, 'its listeners and tokens are gone';
is_error(as_listener(POST => "$L1/heartbeat", $j1c->{certificate}), 401,
         'a listener of a deleted pool');
is api(DELETE => "$POOLS/$hidden_id", token => $admin)->code, 204,
   'admin deletes the hidden pool';
