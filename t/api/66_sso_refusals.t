# Single sign-on refusals: ID tokens spoilt by the provider in each way a
# relying party must notice, and callbacks whose state is wrong, replayed,
# expired or from another browser. Every one is a 401 saying why, and
# none records a user or a role.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use URI;
use URI::QueryParam;
use TP::Test;
use TP::OIDCProvider;

plan tests => 59;

my $server = Apache::TestRequest::resolve_url('') =~ s{/$}{}r;
my $callback = "$server/api/terrapod/v1/auth/callback";
chomp(my $secret = do {
    open my $fh, '<', $ENV{TP_OIDC_SECRET_FILE} or die $!; local $/; <$fh>
});
my $email = 'refused@example.com';
my %idp_opts = (
    port => $ENV{TP_OIDC_PORT}, dir => "$ENV{TP_INSTANCE}/oidc-keys",
    clients => {terrapod => {secret => $secret, auth => 'basic',
                             redirect_uri => $callback}},
    user => {email => $email, name => 'Refused', groups => ['platform-admins']});
my $idp = TP::OIDCProvider->new(%idp_opts)->start;

sub recorded {
    return sql("SELECT (SELECT count(*) FROM users WHERE email = '$email')"
               . " + (SELECT count(*) FROM role_assignments WHERE email = '$email')");
}

# ==== spoilt ID tokens ====

my @spoilt = (
    [bad_sig     => qr/signature does not verify/],
    [wrong_iss   => qr{issuer \Q@{[$idp->issuer]}\E/evil is not the configured}],
    [wrong_aud   => qr/not issued to this client/],
    [wrong_nonce => qr/nonce is not the one this sign-in sent/],
    [expired     => qr/expired \d+ seconds ago/],
    [alg_none    => qr/algorithm none is not accepted/],
    [hs256       => qr/algorithm HS256 is not accepted/],
    [unknown_kid => qr/no key of the identity provider matches its key id rsa-/],
    [unverified  => qr/not verified the email address/],
);
for my $case (@spoilt) {
    my ($mode, $why) = @$case;
    my $r = $idp->sign_in(server => $server, mode => $mode);
    is_error $r, 401, $mode;
    like error_detail($r), $why, "$mode: says why";
}
is recorded(), 0, 'no user and no role recorded by any of them';

# ==== the provider refuses ====

my ($ua, $back) = $idp->approve(server => $server, mode => 'deny');
my $state = URI->new($back)->query_param('state');
my $r = $ua->get($back);
is_error $r, 401, 'provider denies the sign-in';
like error_detail($r), qr/refused the sign-in: access_denied/, 'says so';
is sql("SELECT count(*) FROM sso_states WHERE state_hash = encode(sha256('$state'), 'hex')"),
   0, 'its state is spent';

($ua, $back) = $idp->approve(server => $server);
my $bad_code = URI->new($back);
$bad_code->query_param(code => 'not-a-code');
$r = $ua->get($bad_code);
is_error $r, 401, 'a code the provider does not know';
like error_detail($r), qr/refused the authorization code: invalid_grant/,
     'the token endpoint said invalid_grant';

# ==== state ====

($ua, $back) = $idp->approve(server => $server);
my $other_state = URI->new($back);
$other_state->query_param(state => 'x' x 43);
$r = $ua->get($other_state);
is_error $r, 401, 'a state this server never issued';
like error_detail($r), qr/unknown or already used sign-in state/, 'says so';
$r = $ua->get($back);
is $r->code, 303, 'the real state still works once';
$r = $ua->get($back);
is_error $r, 401, 'replayed state';
like error_detail($r), qr/unknown or already used sign-in state/, 'says so';
sql("DELETE FROM role_assignments WHERE email = '$email'");
sql("DELETE FROM users WHERE email = '$email'");

($ua, $back) = $idp->approve(server => $server);
$r = TP::OIDCProvider::browser()->get($back);
is_error $r, 401, 'callback in a browser without the cookie';
like error_detail($r), qr/not started in this browser/, 'says so';
$r = $ua->get($back);
is_error $r, 401, 'and the state is spent by that attempt';

($ua, $back) = $idp->approve(server => $server);
sql("UPDATE sso_states SET expires_at = now() - interval '1 second'");
$r = $ua->get($back);
is_error $r, 401, 'state older than ten minutes';
like error_detail($r), qr/took longer than 10 minutes/, 'says so';

$r = api(GET => '/api/terrapod/v1/auth/callback?code=abc');
is_error $r, 400, 'callback without state';
($ua, $back) = $idp->approve(server => $server);
my $no_code = URI->new($back);
$no_code->query_param_delete('code');
$r = $ua->get($no_code);
is_error $r, 400, 'callback without code';

is recorded(), 0, 'still nothing recorded';

# ==== the provider goes away between the redirect and the callback ====

($ua, $back) = $idp->approve(server => $server);
$idp->stop;
$r = $ua->get($back);
is_error $r, 502, 'token endpoint unreachable';
like error_detail($r), qr/identity provider cannot be reached/, 'says so';
is recorded(), 0, 'nothing recorded';
