# A user's own API tokens (the secret shown once, never listed), what a
# plain user may do to other users' tokens and what a platform admin may,
# and reading users by email.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Tokens;

plan tests => 68;

my $alice_email = 'tok-alice@test.local';
my $bob_email = 'tok-bob@test.local';
my $alice = user_token($alice_email);
my $bob = user_token($bob_email);
my $admin = user_token('tok-admin@test.local', admin => 1);

my $alice_id = user_id($alice);
my $bob_id = user_id($bob);

sub tokens_of {
    my ($email) = @_;
    return sql("SELECT count(*) FROM api_tokens WHERE user_email = '$email'");
}

# ---- creating one's own token ----

my $r = create_token($alice, $alice_id, description => 'ci pipeline');
is $r->code, 201, 'create own token: 201';
my $t = json_of($r)->{data};
my $secret = $t->{attributes}{token};
my $tid = $t->{id};
is $t->{type}, 'authentication-tokens', 'type authentication-tokens';
ok defined $secret && length $secret >= 20, 'the raw secret is returned';
is $t->{attributes}{description}, 'ci pipeline', 'description as sent';
is $t->{attributes}{'bound-to'}, $alice_email, 'bound to the user';
ok exists $t->{attributes}{'expires-at'} && !defined $t->{attributes}{'expires-at'},
   'no lifespan: expires-at null';

$r = api(GET => '/api/v2/account/details', token => $secret);
is $r->code, 200, 'the new token works as a Bearer token';
is json_of($r)->{data}{id}, $alice_id, 'as its user';

$r = api(GET => tokens_path($alice_id), token => $alice);
is $r->code, 200, 'list own tokens: 200';
my $list = json_of($r)->{data};
ok((grep { $_->{id} eq $tid } @$list), 'the new token is listed');
ok !(grep { exists $_->{attributes}{token} } @$list), 'no token attribute in the list';
ok index($r->content, $secret) < 0, 'the secret is nowhere in the list';
ok json_of($r)->{meta}{pagination}, 'the list is paginated';

$r = api(GET => "/api/terrapod/v1/authentication-tokens/$tid", token => $alice);
is $r->code, 200, 'show own token: 200';
is json_of($r)->{data}{id}, $tid, 'the token asked for';
ok !exists json_of($r)->{data}{attributes}{token}, 'no token attribute when shown';
ok index($r->content, $secret) < 0, 'the secret is nowhere in the answer';

# ---- lifespan ----

$r = create_token($alice, $alice_id, description => 'short', 'lifespan-hours' => 2);
is $r->code, 201, 'token with lifespan-hours: 201';
my $short = json_of($r)->{data};
my $exp = epoch_of($short->{attributes}{'expires-at'});
ok defined $exp, 'expires-at is a timestamp';
ok defined $exp && abs($exp - (time + 2 * 3600)) < 300,
   'expires-at is two hours ahead';
is $short->{attributes}{'lifespan-hours'}, 2, 'lifespan-hours as sent';
is api(GET => '/api/v2/account/details', token => $short->{attributes}{token})->code,
   200, 'an unexpired token works';

# ---- other users' tokens ----

my $bob_before = tokens_of($bob_email);
is_error(create_token($alice, $bob_id, description => 'not mine'), 404,
         'plain user creating a token for another user');
is tokens_of($bob_email), $bob_before, 'no token written for the other user';
is_error(api(GET => tokens_path($bob_id), token => $alice), 404,
         'plain user listing another user\'s tokens');
is_error(create_token($alice, 'user-doesnotexist0000', description => 'x'), 404,
         'unknown user id');

$r = create_token($admin, $bob_id, description => 'issued by an admin');
is $r->code, 201, 'platform admin creates a token for another user: 201';
my $bt = json_of($r)->{data};
is $bt->{attributes}{'bound-to'}, $bob_email, 'bound to that user';
is $bt->{attributes}{'created-by'}, 'tok-admin@test.local',
   'created-by is the admin who issued it';
$r = api(GET => '/api/v2/account/details', token => $bt->{attributes}{token});
is $r->code, 200, 'the admin-issued token works';
is json_of($r)->{data}{id}, $bob_id, 'as that user';
$r = api(GET => tokens_path($bob_id), token => $admin);
is $r->code, 200, 'platform admin lists another user\'s tokens: 200';
ok((grep { $_->{id} eq $bt->{id} } @{ json_of($r)->{data} }), 'the issued token is listed');
ok index($r->content, $bt->{attributes}{token}) < 0, 'without its secret';

is_error(api(GET => "/api/terrapod/v1/authentication-tokens/$bt->{id}", token => $alice),
         404, 'plain user showing another user\'s token');
is_error(api(DELETE => "/api/terrapod/v1/authentication-tokens/$bt->{id}", token => $alice),
         404, 'plain user deleting another user\'s token');
is api(GET => '/api/v2/account/details', token => $bt->{attributes}{token})->code,
   200, 'the other user\'s token still works';
is api(GET => "/api/terrapod/v1/authentication-tokens/$bt->{id}", token => $bob)->code,
   200, 'its owner still sees it';

# ---- deleting one's own ----

$r = api(DELETE => "/api/terrapod/v1/authentication-tokens/$tid", token => $alice);
is $r->code, 204, 'delete own token: 204';
is api(GET => '/api/v2/account/details', token => $secret)->code, 401,
   'the deleted token no longer works';
is_error(api(GET => "/api/terrapod/v1/authentication-tokens/$tid", token => $alice),
         404, 'the deleted token is gone');
is_error(api(DELETE => "/api/terrapod/v1/authentication-tokens/$tid", token => $alice),
         404, 'deleting it again');
$r = api(GET => tokens_path($alice_id), token => $alice);
ok !(grep { $_->{id} eq $tid } @{ json_of($r)->{data} }), 'no longer listed';
is api(GET => '/api/v2/account/details', token => $alice)->code, 200,
   'the user\'s other tokens keep working';

$r = api(DELETE => "/api/terrapod/v1/authentication-tokens/$bt->{id}", token => $admin);
is $r->code, 204, 'platform admin deletes another user\'s token: 204';
is api(GET => '/api/v2/account/details', token => $bt->{attributes}{token})->code,
   401, 'and it stops working';

# ---- users ----

$r = api(POST => '/api/terrapod/v1/users', token => $admin,
         body => {data => {type => 'users',
                           attributes => {email => 'tok-carol@test.local',
                                          'display-name' => 'Carol'}}});
is $r->code, 201, 'platform admin creates a user: 201';
my $carol = json_of($r)->{data};
is $carol->{type}, 'users', 'type users';
like $carol->{id}, qr/^user-/, 'a user id';

$r = api(GET => '/api/terrapod/v1/users/tok-carol@test.local', token => $admin);
is $r->code, 200, 'admin reads the user: 200';
is json_of($r)->{data}{id}, $carol->{id}, 'the same user';
is json_of($r)->{data}{attributes}{email}, 'tok-carol@test.local', 'with its email';
is json_of($r)->{data}{attributes}{'display-name'}, 'Carol', 'and display name';

my $carol_token = user_token('tok-carol@test.local');
$r = api(GET => '/api/terrapod/v1/users/tok-carol@test.local', token => $carol_token);
is $r->code, 200, 'the user reads itself: 200';
is json_of($r)->{data}{id}, $carol->{id}, 'itself';

is_error(api(GET => '/api/terrapod/v1/users/tok-carol@test.local', token => $alice),
         404, 'another plain user reading the user');
is_error(api(GET => '/api/terrapod/v1/users/tok-nobody@test.local', token => $admin),
         404, 'admin reading an unknown user');
is_error(api(GET => '/api/terrapod/v1/users/tok-carol@test.local'), 401,
         'reading a user without a token');
