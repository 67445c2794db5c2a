# Single sign-on through an OpenID Connect provider (TP::OIDCProvider, a
# real one on loopback): the authorization request, the whole code flow
# with both client authentication methods and both signature algorithms,
# the user record, groups mapped to roles and synced on every sign-in,
# the require-SSO roles, and what the start of a sign-in refuses.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use URI;
use URI::QueryParam;
use JSON::PP ();
use TP::Test;
use TP::Browser qw(browser password_user cookie);
use TP::OIDCProvider;

plan tests => 53;

my $server = Apache::TestRequest::resolve_url('') =~ s{/$}{}r;
my $callback = "$server/api/terrapod/v1/auth/callback";
chomp(my $secret = do {
    open my $fh, '<', $ENV{TP_OIDC_SECRET_FILE} or die $!; local $/; <$fh>
});
my $email = 'sso.user@example.com';
my $idp = TP::OIDCProvider->new(
    port => $ENV{TP_OIDC_PORT}, dir => "$ENV{TP_INSTANCE}/oidc-keys",
    clients => {
        terrapod => {secret => $secret, auth => 'basic',
                     redirect_uri => $callback},
        'terrapod-post' => {secret => $secret, auth => 'post',
                            redirect_uri => $callback},
    },
    user => {email => 'Sso.User@Example.com', name => 'Sso User',
             groups => ['platform-admins', 'developers', 'ghosts',
                        'strangers'],
             email_verified => JSON::PP::true})->start;

my $admin = admin_token();
my $r = api(POST => '/api/terrapod/v1/roles', token => $admin,
            body => {data => {type => 'roles',
                              attributes => {name => 'sso-developers',
                                             'workspace-permission' => 'read'}}});
die 'creating role: ' . $r->as_string unless $r->code == 201;
# a role held locally, which no sign-in through a provider touches
$r = api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
         body => {data => {type => 'role-assignments',
                           attributes => {'provider-name' => 'local',
                                          email => $email,
                                          roles => ['audit']}}});
die 'assigning: ' . $r->as_string unless $r->code == 200;

# The session the callback's answer started, and the account it acts as.
sub session_of {
    my ($r) = @_;
    my ($raw) = map { /^terrapod_session=([^;]+);/ ? $1 : () }
                $r->headers->header('Set-Cookie');
    return {} unless $raw;
    my $me = api(GET => '/api/v2/account/details', token => $raw);
    return $me->code == 200 ? json_of($me)->{data} : {};
}

# A local password sign-in of the SSO user: 303 when allowed.
sub local_signin {
    return TP::Browser::sign_in(browser(), '/api/terrapod/v1/auth/authorize?provider=local',
                                $email, 'a-long-local-password-1');
}

sub held {
    my ($provider) = @_;
    return sql("SELECT coalesce(string_agg(role_name, ',' ORDER BY role_name), '')"
               . " FROM role_assignments WHERE provider_name = '$provider'"
               . " AND email = '$email'");
}

# ==== the authorization request ====

my $ua = TP::OIDCProvider::browser();
$r = $ua->get("$server/api/terrapod/v1/auth/authorize?provider=idp&return_to=/app/ws");
is $r->code, 302, 'authorize: 302 to the provider';
my $loc = URI->new($r->header('Location'));
is $loc->scheme . '://' . $loc->host_port . $loc->path, $idp->issuer . '/authorize',
   'to the authorization endpoint of the discovery document';
is $loc->query_param('response_type'), 'code', 'code flow';
is $loc->query_param('client_id'), 'terrapod', 'our client id';
is $loc->query_param('redirect_uri'), $callback, 'redirect_uri is the callback';
is $loc->query_param('scope'), 'openid email profile groups',
   'scopes: openid email profile and the configured extra';
is $loc->query_param('code_challenge_method'), 'S256', 'PKCE S256';
like $loc->query_param('code_challenge'), qr/^[A-Za-z0-9_-]{43}$/,
     'a SHA-256 challenge';
like $loc->query_param('state'), qr/^[A-Za-z0-9_-]{43}$/, '256-bit state';
like $loc->query_param('nonce'), qr/^[A-Za-z0-9_-]{43}$/, '256-bit nonce';
my $state = $loc->query_param('state');
my ($cookie) = $r->header('Set-Cookie') =~ /^terrapod_sso=([^;]+);/;
ok $cookie, 'a browser binding cookie';
like $r->header('Set-Cookie'), qr/HttpOnly; SameSite=Lax/, 'HttpOnly, SameSite=Lax';
is sql("SELECT count(*) FROM sso_states WHERE state_hash = encode(sha256('$state'), 'hex')"),
   1, 'the state is kept hashed';
is sql("SELECT count(*) FROM sso_states WHERE state_hash = '$state'"
       . " OR binding_hash = '$cookie' OR verifier_sealed LIKE '%$state%'"),
   0, 'neither state nor cookie stored in the clear';
is sql("SELECT return_to FROM sso_states WHERE state_hash = encode(sha256('$state'), 'hex')"),
   '/app/ws', 'return_to kept with it';

# ==== the whole flow: RS256, client_secret_basic ====

$r = $idp->sign_in(server => $server, return_to => '/app/ws');
is $r->code, 303, 'sign-in: 303';
like $r->header('Location'), qr{^(?:\Q$server\E)?/app/ws$}, 'back where it began';
my $who = session_of($r);
is $who->{attributes}{email}, $email, 'a session of the user, email lower-cased';
is $who->{attributes}{'display-name'}, 'Sso User', 'named as the provider says';
ok((grep { /^terrapod_sso=; .*Max-Age=0/ } $r->headers->header('Set-Cookie')),
   'the binding cookie cleared');
is held('idp'), 'admin,sso-developers',
   'the roles the groups map to (existing ones) assigned for provider idp';
is held('local'), 'audit', 'local assignments untouched';
is sql("SELECT display_name || '|' || (last_login_at IS NOT NULL) || '|' || id"
       . " FROM users WHERE email = '$email'"),
   "Sso User|true|$who->{id}", 'users row created';
password_user($email, 'a-long-local-password-1');
$r = local_signin();
is $r->code, 403, 'admin requires single sign-on: no local password';
like $r->content, qr/single sign-on/i, 'the page says why';
my $log = Apache::Test::vars('t_logs') . '/error_log';
ok !system("grep -q 'TP01103: provider idp maps $email to roles' $log"),
   'the missing mapped role is logged';

# ==== sync on every sign-in; ES256; client_secret_post ====

$r = $idp->sign_in(server => $server, groups => 'developers,strangers');
is $r->code, 303, 'second sign-in with fewer groups: 303';
is session_of($r)->{attributes}{email}, $email, 'signed in again';
is held('idp'), 'sso-developers', 'admin removed from provider idp';
is local_signin()->code, 303, 'without admin a local password is allowed';
is held('local'), 'audit', 'local assignments still untouched';

$r = $idp->sign_in(server => $server, provider => 'idp-post', mode => 'es256');
is $r->code, 303, 'ES256 ID token through client_secret_post: 303';
is session_of($r)->{attributes}{email}, $email, 'signed in through idp-post';
is held('idp-post'), 'sso-developers', 'idp-post maps only its own groups';
is held('idp'), 'sso-developers', 'idp assignments untouched by idp-post';

$r = $idp->sign_in(server => $server, groups => '');
is $r->code, 303, 'sign-in without groups: 303';
is held('idp'), '', 'every idp role removed';

# ==== the whole flow with a browser that follows redirects itself ====

my $auto = LWP::UserAgent->new(cookie_jar => {}, max_redirect => 5);
$auto->get("$server/api/terrapod/v1/auth/authorize?provider=idp");
my $sess = cookie($auto, 'terrapod_session');
ok $sess, 'followed redirects: a session';
is json_of(api(GET => '/api/v2/account/details', token => $sess))->{data}{attributes}{email},
   $email, 'of the same person';

# ==== deactivated users ====

is held('idp'), 'admin,sso-developers', 'mapped roles before deactivation';
sql("UPDATE users SET is_active = false WHERE email = '$email'");
$r = $idp->sign_in(server => $server, groups => '');
is_error $r, 403, 'deactivated user';
like error_detail($r), qr/deactivated/, 'says so';
is held('idp'), 'admin,sso-developers', 'their roles are not synced';
sql("UPDATE users SET is_active = true WHERE email = '$email'");

# ==== what the start refuses ====

$r = api(GET => '/api/terrapod/v1/auth/authorize');
is $r->code, 200, 'no provider: the local sign-in page';
$r = api(GET => '/api/terrapod/v1/auth/authorize?provider=nope');
is_error $r, 404, 'unknown provider';
$r = api(GET => '/api/terrapod/v1/auth/authorize?provider=idp&return_to=//evil.example/');
is_error $r, 400, 'return_to on another host';
$r = api(GET => '/api/terrapod/v1/auth/authorize?provider=elsewhere');
is_error $r, 502, 'discovery names another issuer';
like error_detail($r), qr/names issuer \Q@{[$idp->issuer]}\E/, 'says which';

# ==== no client secret in the log ====

ok system("grep -qF '$secret' $log"), 'the client secret is never logged';
