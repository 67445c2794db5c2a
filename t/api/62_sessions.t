# Browser sessions: the cookie authenticates API requests (state-changing
# ones only with the session's CSRF header), Bearer credentials win, the
# idle expiry slides up to the maximum lifetime, logout and deactivation
# end sessions at once, and the native providers/authorize/callback
# endpoints say what the local and SSO providers offer.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use HTTP::Request ();
use TP::Test;
use TP::Browser;

plan tests => 80;

my $email = 'sess-dora@test.local';
my $password = 'Doras-pass-2024';
password_user($email, $password);
my $page = '/api/terrapod/v1/auth/authorize?return_to=/';

sub signed_in_browser {
    my $ua = browser();
    my $r = sign_in($ua, $page, $_[0] // $email, $_[1] // $password);
    die 'sign-in: ' . $r->as_string unless $r->code == 303;
    return $ua;
}

# a request from the browser, with extra headers
sub call {
    my ($ua, $method, $path, %h) = @_;
    my $body = delete $h{body};
    my $req = HTTP::Request->new($method, url($path), [%h], $body);
    return $ua->request($req);
}

sub session_col {
    my ($col, $ua) = @_;
    return sql("SELECT $col FROM sessions WHERE token_hash = '"
               . sha256_hex(cookie($ua, 'terrapod_session')) . "'");
}

# ---- the cookie authenticates ----

my $ua = signed_in_browser();
my $raw = cookie($ua, 'terrapod_session');
like $raw, qr/^tps1\.[\w-]{43}$/, 'a session secret in the cookie';
is session_col('count(*)', $ua), 1, 'stored as its SHA-256';
is sql("SELECT count(*) FROM sessions WHERE token_hash = '$raw'"), 0, 'never raw';

my $r = call($ua, GET => '/api/v2/account/details');
is $r->code, 200, 'the session cookie authenticates account/details';
is json_of($r)->{data}{attributes}{email}, $email, 'as the signed-in user';

# state-changing requests need the CSRF header
my $ws_body = '{"data":{"type":"workspaces","attributes":{"name":"sess-ws"}}}';
my %json = ('Content-Type' => 'application/vnd.api+json', body => $ws_body);
$r = call($ua, POST => '/api/v2/organizations/default/workspaces', %json);
is_error($r, 403, 'cookie POST without the CSRF header');
like error_detail($r), qr/X-CSRF-Token/, 'names the header';
$r = call($ua, POST => '/api/v2/organizations/default/workspaces', %json,
          'X-CSRF-Token' => 'forged');
is_error($r, 403, 'cookie POST with a forged CSRF header');
is sql("SELECT count(*) FROM workspaces WHERE name = 'sess-ws'"), 0,
   'nothing was created';
my $csrf = cookie($ua, 'terrapod_csrf');
my $ua2 = signed_in_browser();
$r = call($ua, POST => '/api/v2/organizations/default/workspaces', %json,
          'X-CSRF-Token' => cookie($ua2, 'terrapod_csrf'));
is_error($r, 403, "another session's CSRF token");
$r = call($ua, POST => '/api/v2/organizations/default/workspaces', %json,
          'X-CSRF-Token' => $csrf);
is $r->code, 201, 'with the CSRF header from the cookie: created';
is json_of($r)->{data}{attributes}{name}, 'sess-ws', 'the workspace';

# Bearer credentials win over the cookie
my $other = user_token('sess-other@test.local');
$r = call($ua, GET => '/api/v2/account/details', Authorization => "Bearer $other");
is json_of($r)->{data}{attributes}{email}, 'sess-other@test.local',
   'a Bearer token wins over the cookie';
$r = call($ua, GET => '/api/v2/account/details', Authorization => 'Bearer tpv1.' . 'Z' x 43);
is $r->code, 401, 'a bad Bearer token is not rescued by the cookie';
$r = api(GET => '/api/v2/account/details', token => $raw);
is $r->code, 200, 'the session secret also works as a Bearer token';
$r = api(POST => '/api/v2/organizations/default/workspaces', token => $raw,
         body => {data => {type => 'workspaces', attributes => {name => 'sess-ws2'}}});
is $r->code, 201, 'as Bearer it needs no CSRF header (browsers never send it alone)';

# a bad cookie
$r = LWP::UserAgent->new->get(url('/api/v2/account/details'),
                              Cookie => 'terrapod_session=tps1.' . 'Q' x 43);
is_error($r, 401, 'an unknown session cookie');

# ---- listing sessions ----

$r = call($ua, GET => '/api/terrapod/v1/auth/sessions');
is $r->code, 200, 'sessions: 200';
my $list = json_of($r)->{data};
is scalar(@$list), 2, "the caller's two sessions";
is scalar(grep { $_->{attributes}{current} } @$list), 1, 'one is the current one';
is((grep { $_->{attributes}{current} } @$list)[0]{id}, session_col('id', $ua),
   'the one making the request');
is $list->[0]{type}, 'sessions', 'type sessions';
is $list->[0]{attributes}{'provider-name'}, 'local', 'provider-name';
ok $list->[0]{attributes}{'expires-at'}, 'expires-at';
ok index($r->content, $raw) < 0 && index($r->content, session_col('token_hash', $ua)) < 0,
   'neither the secret nor its hash is listed';
ok json_of($r)->{meta}{pagination}, 'paginated';
$r = api(GET => '/api/terrapod/v1/auth/sessions', token => $other);
is scalar(@{ json_of($r)->{data} }), 0, "nobody else's sessions";
is_error(api(GET => '/api/terrapod/v1/auth/sessions'), 401, 'sessions without credentials');

# ---- sliding expiry ----

my $idle = sql("SELECT round(extract(epoch FROM expires_at - last_seen_at)) FROM sessions"
               . " WHERE id = '" . session_col('id', $ua) . "'");
is $idle, 43200, 'idle expiry is 12 hours after the last use';
is session_col("round(extract(epoch FROM max_expires_at - created_at))", $ua), 604800,
   'the maximum lifetime is 7 days';
my $sid = session_col('id', $ua);
sql("UPDATE sessions SET last_seen_at = now() - interval '2 hours',"
    . " expires_at = now() + interval '10 hours' WHERE id = '$sid'");
$r = call($ua, GET => '/api/v2/account/details');
is $r->code, 200, 'a used session';
is sql("SELECT expires_at > now() + interval '11 hours 59 minutes' FROM sessions WHERE id = '$sid'"),
   't', 'moves its idle expiry forward';
is sql("SELECT last_seen_at > now() - interval '1 minute' FROM sessions WHERE id = '$sid'"),
   't', 'and its last use';
sql("UPDATE sessions SET last_seen_at = now() - interval '2 hours',"
    . " max_expires_at = now() + interval '1 hour' WHERE id = '$sid'");
call($ua, GET => '/api/v2/account/details');
is sql("SELECT expires_at = max_expires_at FROM sessions WHERE id = '$sid'"), 't',
   'but never past the maximum lifetime';
sql("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = '$sid'");
is_error(call($ua, GET => '/api/v2/account/details'), 401, 'an idle-expired session');
ok wait_until(10, sub { sql("SELECT count(*) FROM sessions WHERE id = '$sid'") == 0 }),
   'the background task purges it';

# ---- logout ----

$raw = cookie($ua2, 'terrapod_session');   # the first one has expired
$ua = signed_in_browser();
$sid = session_col('id', $ua);
$r = call($ua, POST => '/api/terrapod/v1/auth/logout');
is_error($r, 403, 'logout without the CSRF header');
is sql("SELECT count(*) FROM sessions WHERE id = '$sid'"), 1, 'the session lives on';
$r = call($ua, POST => '/api/terrapod/v1/auth/logout',
          'X-CSRF-Token' => cookie($ua, 'terrapod_csrf'));
is $r->code, 204, 'logout: 204';
ok((grep { /^terrapod_session=;.*Max-Age=0/ } $r->header('Set-Cookie')),
   'the session cookie is cleared');
is sql("SELECT count(*) FROM sessions WHERE id = '$sid'"), 0, 'the session is gone';
$r = LWP::UserAgent->new->get(url('/api/v2/account/details'),
                              Cookie => "terrapod_session=$raw");
is $r->code, 200, 'other sessions of the user live on';
is_error(api(POST => '/api/terrapod/v1/auth/logout', token => $other), 400,
         'logout with an API token');
$r = api(POST => '/api/terrapod/v1/auth/logout', token => $raw);
is $r->code, 204, 'logout with the session as Bearer';
is_error(api(GET => '/api/v2/account/details', token => $raw), 401,
         'that session is over too');

# ---- deactivation and deletion ----

my $eve = 'sess-eve@test.local';
password_user($eve, 'Eves-pass-2024');
my $eve_ua = signed_in_browser($eve, 'Eves-pass-2024');
signed_in_browser($eve, 'Eves-pass-2024');
is sql("SELECT count(*) FROM sessions WHERE user_email = '$eve'"), 2, 'two sessions';
is call($eve_ua, GET => '/api/v2/account/details')->code, 200, 'in use';
sql("UPDATE users SET is_active = false WHERE email = '$eve'");
is sql("SELECT count(*) FROM sessions WHERE user_email = '$eve'"), 0,
   'deactivation deletes the sessions at once';
is_error(call($eve_ua, GET => '/api/v2/account/details'), 401,
         "a deactivated user's session");
$r = sign_in(browser(), $page, $eve, 'Eves-pass-2024');
is $r->code, 401, 'a deactivated user cannot sign in';
sql("UPDATE users SET is_active = true WHERE email = '$eve'");
signed_in_browser($eve, 'Eves-pass-2024');
sql("DELETE FROM role_assignments WHERE email = '$eve'");
sql("DELETE FROM users WHERE email = '$eve'");
is sql("SELECT count(*) FROM sessions WHERE user_email = '$eve'"), 0,
   "deleting the user deletes the sessions";

# ---- providers, authorize, callback ----

$r = api(GET => '/api/terrapod/v1/auth/providers');
is $r->code, 200, 'providers: 200 without credentials';
my %prov = map { $_->{id} => $_ } @{ json_of($r)->{data} };
is_deeply [sort keys %prov], ['elsewhere', 'idp', 'idp-post', 'local'],
   'local and the configured single sign-on providers';
is $prov{local}{attributes}{kind}, 'local', 'local kind';
is $prov{idp}{attributes}{kind}, 'sso', 'sso kind';
ok $prov{idp}{attributes}{available}, 'single sign-on available';
ok !grep({ exists $_->{attributes}{'client-secret'} || exists $_->{attributes}{issuer} }
         values %prov), 'no secrets or endpoints in the list';
is $prov{local}{type}, 'auth-providers', 'type auth-providers';

$r = browser()->get(url('/api/terrapod/v1/auth/authorize?provider=local&return_to=/x'));
is $r->code, 200, 'authorize local: the sign-in page';
like $r->content, qr{href="/api/terrapod/v1/auth/authorize\?provider=idp&amp;return_to=%2Fx"},
   'which links the single sign-on providers';
is_error(api(GET => '/api/terrapod/v1/auth/authorize?provider=nope'), 404,
         'authorize with an unknown provider');
is_error(api(GET => '/api/terrapod/v1/auth/callback?code=x'), 400,
         'a callback without state');
is_error(api(POST => '/api/terrapod/v1/auth/callback', body => 'provider=idp',
             headers => {'Content-Type' => 'application/x-www-form-urlencoded'}), 400,
         'single sign-on does not answer by POST');
is_error(api(GET => '/api/terrapod/v1/auth/callback'), 400, 'GET callback of the local provider');
is_error(api(POST => '/api/terrapod/v1/auth/callback', body => {email => $email}), 415,
         'POST callback with JSON');
