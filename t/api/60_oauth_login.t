# terraform login's OAuth 2 flow: /oauth/authorize refuses untrusted
# clients and redirect URIs with a page (never a redirect), signs the
# browser in, and hands out single-use, short-lived, PKCE-bound codes that
# /oauth/token trades for an API token exactly once.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use HTTP::Request::Common qw(POST);
use TP::Test;
use TP::Browser;

plan tests => 80;

my $email = 'login-alice@test.local';
my $password = 'Correct-horse-42';
password_user($email, $password);

my $ua = browser();

# ---- requests the server cannot trust with a redirect ----

for my $case (['unknown client', client_id => 'evil-app'],
              ['no client', client_id => undef],
              ['https redirect', redirect_uri => 'https://localhost:10005/login'],
              ['remote host', redirect_uri => 'http://evil.example:10005/login'],
              ['host lookalike', redirect_uri => 'http://localhost.evil.example:10005/x'],
              ['port below range', redirect_uri => 'http://localhost:9999/login'],
              ['port above range', redirect_uri => 'http://127.0.0.1:10011/login'],
              ['no path', redirect_uri => 'http://localhost:10005'],
              ['no redirect', redirect_uri => undef]) {
    my ($name, %over) = @$case;
    my $r = $ua->get(url(authorize_url(%over)));
    is $r->code, 400, "$name: 400";
    ok !$r->header('Location') && $r->content =~ /Cannot sign in/,
       "$name: a page, no redirect";
}

# ---- errors the trusted redirect URI is told about ----

my $r = $ua->get(url(authorize_url(response_type => 'token', state => 's1')));
is $r->code, 302, 'response_type token: redirected';
is_deeply query_of($r->header('Location')),
    {error => 'unsupported_response_type', state => 's1'},
    'with error=unsupported_response_type and the state';
like $r->header('Location'), qr{^http://localhost:10005/login\?}, 'to the CLI';

$r = $ua->get(url(authorize_url(code_challenge_method => 'plain',
                                code_challenge => 'x' x 43, state => 's2')));
is_deeply query_of($r->header('Location') // ''),
    {error => 'invalid_request', state => 's2'}, 'plain PKCE: invalid_request';
$r = $ua->get(url(authorize_url(state => 's3')));
is_deeply query_of($r->header('Location') // ''),
    {error => 'invalid_request', state => 's3'}, 'no challenge: invalid_request';

# ---- signing in on the way ----

my ($verifier, $challenge) = pkce();
my $auth = authorize_url(code_challenge => $challenge, state => 'st-1');
$r = $ua->get(url($auth));
is $r->code, 200, 'no session: the sign-in page';
like $r->header('Content-Type'), qr{^text/html}, 'as HTML';
my $f = form_fields($r->content);
is $f->{return_to}, $auth, 'the form returns to the authorize request';
ok length($f->{csrf_token} // '') > 20, 'the form carries a CSRF token';
my @set = $r->header('Set-Cookie');
ok((grep { /^terrapod_signin=\S+;.*HttpOnly/ && /SameSite=Lax/ } @set),
   'the pre-session cookie is HttpOnly and SameSite');
is sql("SELECT count(*) FROM oauth_codes"), 0, 'no code before signing in';

$r = sign_in($ua, $auth, $email, $password);
is $r->code, 303, 'signing in: 303';
is $r->header('Location'), $auth, 'back to the authorize request';
ok defined cookie($ua, 'terrapod_session'), 'a session cookie is set';
ok((grep { /^terrapod_session=tps1\.[\w-]{43};.*HttpOnly/ } $r->header('Set-Cookie')),
   'the session cookie is HttpOnly');

# ---- the code ----

sub code_for {
    my ($challenge, %over) = @_;
    my $res = $ua->get(url(authorize_url(code_challenge => $challenge,
                                         state => 'st-c', %over)));
    die 'authorize: ' . $res->as_string unless $res->code == 302;
    return query_of($res->header('Location'));
}

$r = $ua->get(url($auth));
is $r->code, 302, 'signed in: redirected to the CLI';
my $q = query_of($r->header('Location'));
like $r->header('Location'), qr{^http://localhost:10005/login\?code=}, 'to its redirect URI';
is $q->{state}, 'st-1', 'with the state';
ok length($q->{code} // '') >= 40, 'and a code';
is sql("SELECT count(*) FROM oauth_codes WHERE code_hash = '" . sha256_hex($q->{code}) . "'"),
   1, 'the code is stored hashed';
is sql("SELECT count(*) FROM oauth_codes WHERE code_hash = '$q->{code}'"), 0,
   'and never raw';

sub exchange {
    my (%form) = @_;
    my %base = (grant_type => 'authorization_code', client_id => 'terraform-cli',
                redirect_uri => 'http://localhost:10005/login');
    my %all = (%base, %form);
    delete $all{$_} for grep { !defined $all{$_} } keys %all;
    return LWP::UserAgent->new->request(POST(url('/oauth/token'), \%all));
}

sub oauth_error_is {
    my ($res, $error, $name) = @_;
    is $res->code, 400, "$name: 400";
    is json_of($res)->{error}, $error, "$name: $error";
}

my $tokens_before = sql("SELECT count(*) FROM api_tokens");

# a wrong verifier burns the code
$r = exchange(code => $q->{code}, code_verifier => (pkce())[0]);
oauth_error_is($r, 'invalid_grant', 'PKCE mismatch');
like json_of($r)->{error_description}, qr/code_verifier/, 'says the verifier is wrong';
$r = exchange(code => $q->{code}, code_verifier => $verifier);
oauth_error_is($r, 'invalid_grant', 'the right verifier after a failed try');

# other mismatches
($verifier, $challenge) = pkce();
$q = code_for($challenge);
oauth_error_is(exchange(code => $q->{code}, code_verifier => $verifier,
                        redirect_uri => 'http://localhost:10006/login'),
               'invalid_grant', 'wrong redirect URI');
$q = code_for($challenge);
oauth_error_is(exchange(code => $q->{code}, code_verifier => $verifier,
                        client_id => 'other-cli'),
               'invalid_grant', 'wrong client_id');
$q = code_for($challenge);
sql("UPDATE oauth_codes SET expires_at = now() - interval '1 second'");
$r = exchange(code => $q->{code}, code_verifier => $verifier);
oauth_error_is($r, 'invalid_grant', 'expired code');
like json_of($r)->{error_description}, qr/expired/, 'says it expired';
oauth_error_is(exchange(code => 'not-a-code', code_verifier => $verifier),
               'invalid_grant', 'unknown code');
is sql("SELECT count(*) FROM api_tokens"), $tokens_before, 'no token was minted';

# malformed requests
oauth_error_is(exchange(grant_type => 'password', code => 'x'),
               'unsupported_grant_type', 'password grant');
oauth_error_is(exchange(code => undef), 'invalid_request', 'no code');
$r = LWP::UserAgent->new->post(url('/oauth/token'), 'Content-Type' => 'application/json',
                               Content => '{"code":"x"}');
oauth_error_is($r, 'invalid_request', 'JSON body');

# the code expires 60 s after it was issued
$q = code_for($challenge);
is sql("SELECT round(extract(epoch FROM expires_at - created_at)) FROM oauth_codes"),
   60, 'codes live 60 seconds';

# ---- success, once ----

$r = exchange(code => $q->{code}, code_verifier => $verifier);
is $r->code, 200, 'exchange: 200';
my $tok = json_of($r);
is $tok->{token_type}, 'bearer', 'token_type bearer';
like $tok->{access_token}, qr/^tpv1\./, 'an API token';
is $r->header('Cache-Control'), 'no-store', 'not cached';
$r = api(GET => '/api/v2/account/details', token => $tok->{access_token});
is $r->code, 200, 'the token works';
is json_of($r)->{data}{attributes}{email}, $email, 'as the signed-in user';
is sql("SELECT kind || ' ' || description FROM api_tokens WHERE token_hash = '"
       . sha256_hex($tok->{access_token}) . "'"),
   'interactive terraform login', 'stored hashed, interactive';
oauth_error_is(exchange(code => $q->{code}, code_verifier => $verifier),
               'invalid_grant', 'reused code');

# two racing exchanges of one code: exactly one wins
$q = code_for($challenge);
my @kids;
for my $i (1 .. 2) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $res = exchange(code => $q->{code}, code_verifier => $verifier);
        exit($res->code == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
my $wins = 0;
for (@kids) { waitpid $_, 0; $wins++ if $? == 0 }
is $wins, 1, 'a code raced twice is exchanged once';

# the client may authenticate with HTTP Basic, as golang.org/x/oauth2 does
sub exchange_basic {
    my ($client, $code) = @_;
    my $req = POST(url('/oauth/token'),
                   [grant_type => 'authorization_code', code => $code,
                    redirect_uri => 'http://localhost:10005/login',
                    code_verifier => $verifier]);
    $req->authorization_basic($client, '');
    return LWP::UserAgent->new->request($req);
}
$q = code_for($challenge);
oauth_error_is(exchange_basic('other-cli', $q->{code}), 'invalid_grant',
               'Basic credentials of another client');
$q = code_for($challenge);
is exchange_basic('terraform-cli', $q->{code})->code, 200,
   'Basic credentials of terraform-cli: 200';

# ---- a code dies with its user's deactivation ----

$q = code_for($challenge);
sql("UPDATE users SET is_active = false WHERE email = '$email'");
oauth_error_is(exchange(code => $q->{code}, code_verifier => $verifier),
               'invalid_grant', 'code of a deactivated user');
$r = $ua->get(url(authorize_url(code_challenge => $challenge)));
is $r->code, 200, 'and the browser must sign in again';
sql("UPDATE users SET is_active = true WHERE email = '$email'");

my $log = do {
    open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die $!;
    local $/;
    <$fh>;
};
like $log, qr/TP01003: terraform login issued API token at-\w+ to \Q$email\E/,
     'issued tokens are logged';
like $log, qr/TP01004: authorization code refused: code_verifier does not match/,
     'refused codes are logged';
# (httpd's own trace logging of this suite shows request headers)
ok !(grep { /\bTP\d{5}:/ && index($_, $tok->{access_token}) >= 0 } split /\n/, $log),
   'the token itself is not';
