# Bearer-token authentication: missing, malformed, unknown, expired and
# deactivated credentials are refused with a JSON:API 401; expired tokens
# are purged a day after their expiry; tokens are stored hashed and marked
# used at most once a minute.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 24;

my $path = '/api/v2/account/details';

my $r = api(GET => $path);
is $r->code, 401, 'no token: 401';
is json_of($r)->{errors}[0]{status}, '401', 'JSON:API error status';
like error_detail($r), qr/API token is required/, 'says a token is needed';
like $r->header('WWW-Authenticate') // '', qr/^Bearer/, 'WWW-Authenticate: Bearer';

$r = api(GET => $path, headers => {Authorization => 'Basic YTpi'});
is $r->code, 401, 'another scheme: 401';

$r = api(GET => $path, token => 'not-a-token');
is $r->code, 401, 'malformed token: 401';
like error_detail($r), qr/invalid API token/, 'malformed token detail';

$r = api(GET => $path, token => 'tpv1.' . ('A' x 43));
is $r->code, 401, 'well-formed but unknown token: 401';

my $expired = user_token('expired@test.local', lifespan => -60);
$r = api(GET => $path, token => $expired);
is $r->code, 401, 'expired token: 401';
like error_detail($r), qr/expired/, 'expired token detail';

# purge-expired-tokens (every second here) deletes a token a day after
# its expiry, and not before
user_token('long-expired@test.local', lifespan => -86400 - 60);
my $count = sub {
    sql("SELECT count(*) FROM api_tokens WHERE user_email = '$_[0]'");
};
ok wait_until(10, sub { $count->('long-expired@test.local') eq '0' }),
    'a token expired over a day ago is purged';
is $count->('expired@test.local'), '1', 'one expired a minute ago is kept';

my $token = user_token('alice@test.local');
$r = api(GET => $path, token => $token);
is $r->code, 200, 'valid token: 200';
my $u = json_of($r)->{data};
is $u->{type}, 'users', 'type users';
like $u->{id}, qr/^user-[A-Za-z0-9]{16}$/, 'user id';
is $u->{attributes}{email}, 'alice@test.local', 'email of the caller';
is $u->{attributes}{username}, 'alice@test.local', 'username is the email';
ok !$u->{attributes}{'is-service-account'}, 'not a service account';

# only the SHA-256 of the token is stored
is sql("SELECT count(*) FROM api_tokens WHERE token_hash = '$token'"), '0',
    'raw token is not stored';
my $hash = sql("SELECT encode(sha256(convert_to('$token', 'UTF8')), 'hex')");
is sql("SELECT count(*) FROM api_tokens WHERE token_hash = '$hash'"), '1',
    'its SHA-256 is';

# last-used-at: written on first use, not again within the minute
my $first = sql("SELECT last_used_at FROM api_tokens WHERE token_hash = '$hash'");
ok length $first, 'last_used_at set on use';
api(GET => $path, token => $token);
is sql("SELECT last_used_at FROM api_tokens WHERE token_hash = '$hash'"), $first,
    'not rewritten within a minute';
sql("UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE token_hash = '$hash'");
# the touch comes with a lookup: past the token cache's lifetime
token_cache_expired();
api(GET => $path, token => $token);
isnt sql("SELECT last_used_at FROM api_tokens WHERE token_hash = '$hash'"), $first,
    'rewritten once a minute has passed';

# deactivated outside the API: refused once the token cache forgets it
sql("UPDATE users SET is_active = false WHERE email = 'alice\@test.local'");
token_cache_expired();
$r = api(GET => $path, token => $token);
is $r->code, 401, 'deactivated user: 401';
