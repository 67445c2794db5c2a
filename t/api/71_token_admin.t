# Token administration: rotation (new secret once, old one dead at once,
# expiry clock restarted), the admin list with its kind filter, the
# expiring list scoped to the caller, revoke-all for offboarding, and
# that no secret ever shows in a list, a show or the error log.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Tokens;

plan tests => 78;

my $TOK = '/api/terrapod/v1/authentication-tokens';
my $ADMIN_TOK = '/api/terrapod/v1/admin/authentication-tokens';
my $REVOKE = "$ADMIN_TOK/actions/revoke-all";
my $admin = admin_token();
my $owner_email = 'tk71-owner@test.local';
my $owner = user_token($owner_email);
my $owner_id = user_id($owner);
my $other_email = 'tk71-other@test.local';
my $other = user_token($other_email);
my $other_id = user_id($other);
my $audit = user_token('tk71-audit@test.local');
assign_roles($admin, 'tk71-audit@test.local', 'audit');
make_role($admin, 'tk71-dev', 'read', env => 'dev');
assign_roles($admin, $_, 'tk71-dev') for $owner_email, $other_email;
signed_in_days_ago($_, 0) for $owner_email, $other_email;

my @secrets;   # every raw secret seen, to look for them where they must not be

sub created {
    my ($r, $what) = @_;
    die "$what: " . $r->as_string unless $r->code == 201;
    my $t = json_of($r)->{data};
    push @secrets, $t->{attributes}{token};
    return $t;
}

sub bound_token {
    my ($token, $user_id, $hours) = @_;
    return created(create_token($token, $user_id, kind => 'service_bound',
                                pinned_roles => ['tk71-dev'],
                                lifespan_hours => $hours), 'bound token');
}

sub ids_of {
    my ($r) = @_;
    return [map { $_->{id} } @{ json_of($r)->{data} || [] }];
}

sub no_secret_in {
    my ($r, $what) = @_;
    my $body = $r->content;
    ok !(grep { index($body, $_) >= 0 } @secrets), "$what: no secret in it";
}

# ---- rotate ----

my $bt = bound_token($owner, $owner_id, 10);
my $old = $bt->{attributes}{token};
# five hours into its ten
sql("UPDATE api_tokens SET created_at = now() - interval '5 hours',"
    . " expires_at = now() + interval '5 hours' WHERE id = '$bt->{id}'");
my $r = api(POST => "$TOK/$bt->{id}/actions/rotate", token => $owner);
is $r->code, 200, 'the owner rotates a token: 200';
my $rot = json_of($r)->{data};
my $new = $rot->{attributes}{token};
push @secrets, $new;
is $rot->{id}, $bt->{id}, 'the same token id';
ok defined $new && $new ne $old, 'a fresh secret, returned once';
ok defined epoch_of($rot->{attributes}{'rotated-at'}), 'rotated-at set';
my $exp = epoch_of($rot->{attributes}{'expires-at'});
ok defined $exp && abs($exp - (time + 10 * 3600)) < 300,
   'the expiry clock restarts: ten hours from now';
is $rot->{attributes}{'lifespan-hours'}, 10, 'the lifespan is kept';
is api(GET => '/api/v2/account/details', token => $old)->code, 401,
   'the old secret is refused at once';
is api(GET => '/api/v2/account/details', token => $new)->code, 200, 'the new one works';
$r = api(GET => "$TOK/$bt->{id}", token => $owner);
ok !exists json_of($r)->{data}{attributes}{token}, 'show: no token attribute';
no_secret_in($r, 'show after rotation');

is_error(api(POST => "$TOK/$bt->{id}/actions/rotate", token => $other), 404,
         'another user rotating it');
is_error(api(POST => "$TOK/$bt->{id}/actions/rotate", token => $audit), 404,
         'an auditor rotating it');
is api(GET => '/api/v2/account/details', token => $new)->code, 200,
   'refused rotations leave the secret working';
is_error(api(POST => "$TOK/at-nosuchtoken00000/actions/rotate", token => $admin), 404,
         'rotating an unknown token');
$r = api(POST => "$TOK/$bt->{id}/actions/rotate", token => $admin);
is $r->code, 200, 'an admin rotates it: 200';
push @secrets, json_of($r)->{data}{attributes}{token};
is api(GET => '/api/v2/account/details', token => $new)->code, 401,
   'the owner\'s copy stops working';

my $forever = created(create_token($owner, $owner_id), 'interactive token');
$r = api(POST => "$TOK/$forever->{id}/actions/rotate", token => $owner);
is $r->code, 200, 'rotating a token without expiry: 200';
push @secrets, json_of($r)->{data}{attributes}{token};
ok !defined json_of($r)->{data}{attributes}{'expires-at'}, 'it still never expires';

# ---- the admin list ----

my $det = created(create_token($admin, $owner_id, kind => 'service_detached',
                               pinned_roles => ['tk71-dev'], lifespan_hours => 24),
                  'detached token');
is_error(api(GET => $ADMIN_TOK, token => $owner), 403, 'plain user: admin list');
is_error(api(GET => $ADMIN_TOK, token => $audit), 403, 'auditor: admin list');
$r = api(GET => "$ADMIN_TOK?page[size]=100", token => $admin);
is $r->code, 200, 'admin list: 200';
my $all = ids_of($r);
# other suites' tokens come first: every page
for (my $n = 2; @$all < json_of($r)->{meta}{pagination}{'total-count'}; $n++) {
    push @$all, @{ ids_of(api(GET => "$ADMIN_TOK?page[size]=100&page[number]=$n",
                              token => $admin)) };
}
ok((grep { $_ eq $det->{id} } @$all) && (grep { $_ eq $bt->{id} } @$all),
   'lists bound and detached tokens');
ok json_of($r)->{meta}{pagination}{'total-count'} >= 3, 'with a total count';
ok !(grep { exists $_->{attributes}{token} } @{ json_of($r)->{data} }),
   'no token attribute';
no_secret_in($r, 'admin list');
unlike $r->content, qr/token_hash|[0-9a-f]{64}/, 'no hash either';

$r = api(GET => "$ADMIN_TOK?filter[kind]=service_detached&page[size]=100", token => $admin);
is $r->code, 200, 'filter[kind]=service_detached: 200';
my @kinds = map { $_->{attributes}{kind} } @{ json_of($r)->{data} };
ok @kinds && !(grep { $_ ne 'service_detached' } @kinds), 'only detached tokens';
ok((grep { $_ eq $det->{id} } @{ ids_of($r) }), 'including the new one');
$r = api(GET => "$ADMIN_TOK?kind=service_bound&page[size]=100", token => $admin);
@kinds = map { $_->{attributes}{kind} } @{ json_of($r)->{data} };
ok @kinds && !(grep { $_ ne 'service_bound' } @kinds), '?kind= filters too';
is_error(api(GET => "$ADMIN_TOK?filter[kind]=robot", token => $admin), 422,
         'an unknown kind');
$r = api(GET => "$ADMIN_TOK?filter[kind]=interactive&page[size]=1", token => $admin);
is scalar @{ json_of($r)->{data} }, 1, 'page[size]=1: one token';
my $count = sql("SELECT count(*) FROM api_tokens WHERE kind = 'interactive'");
is json_of($r)->{meta}{pagination}{'total-count'}, $count,
   'total-count counts the filtered tokens';
$r = api(GET => "$ADMIN_TOK?page[number]=100000", token => $admin);
is_deeply json_of($r)->{data}, [], 'a page past the end is empty';

# ---- expiring ----

my $soon = bound_token($owner, $owner_id, 24);
my $later = bound_token($owner, $owner_id, 24 * 30);
my $theirs = bound_token($other, $other_id, 24);
my $inter_soon = created(create_token($owner, $owner_id, lifespan_hours => 24),
                         'short interactive token');
$r = api(GET => "$TOK/expiring?page[size]=100", token => $owner);
is $r->code, 200, 'expiring: 200';
my $mine = ids_of($r);
ok((grep { $_ eq $soon->{id} } @$mine), 'lists the owner\'s service token expiring in a day');
ok !(grep { $_ eq $later->{id} } @$mine), 'not one expiring in a month';
ok !(grep { $_ eq $inter_soon->{id} } @$mine), 'not interactive tokens';
ok !(grep { $_ eq $theirs->{id} } @$mine), 'not another user\'s';
ok !(grep { $_ eq $det->{id} } @$mine), 'not detached tokens for a plain user';
no_secret_in($r, 'expiring list');
$r = api(GET => "$TOK/expiring?page[size]=100", token => $admin);
my $admins = ids_of($r);
ok((grep { $_ eq $det->{id} } @$admins), 'an admin sees detached tokens expiring');
ok !(grep { $_ eq $soon->{id} } @$admins), 'but not other users\' bound ones';
is_error(api(GET => "$TOK/expiring"), 401, 'expiring without a token');

# ---- revoke-all ----

my $keep = $other;
my $n = sql("SELECT count(*) FROM api_tokens WHERE user_email = '$owner_email'");
ok $n >= 4, 'the owner holds several tokens';
is_error(api(POST => $REVOKE, token => $owner, body => {email => $owner_email}), 403,
         'plain user: revoke-all');
is_error(api(POST => $REVOKE, token => $audit, body => {email => $owner_email}), 403,
         'auditor: revoke-all');
is_error(api(POST => $REVOKE, token => $admin, body => {email => 'not-an-address'}), 422,
         'revoke-all of something not an address');
is_error(api(POST => $REVOKE, token => $admin, body => {}), 422, 'revoke-all without email');
is_error(api(POST => $REVOKE, token => $admin, body => '{'), 400, 'malformed body');
is sql("SELECT count(*) FROM api_tokens WHERE user_email = '$owner_email'"), $n,
   'refused revoke-alls change nothing';

$r = api(POST => $REVOKE, token => $admin, body => {email => uc $owner_email});
is $r->code, 200, 'admin revokes all of the owner\'s tokens: 200';
is_deeply json_of($r)->{data}, {email => $owner_email, revoked => $n},
   'says whose and how many';
is sql("SELECT count(*) FROM api_tokens WHERE user_email = '$owner_email'"), '0',
   'none left';
is api(GET => '/api/v2/account/details', token => $owner)->code, 401,
   'the owner\'s interactive token is dead';
is api(GET => '/api/v2/account/details', token => $soon->{attributes}{token})->code, 401,
   'and its service tokens';
is api(GET => '/api/v2/account/details', token => $det->{attributes}{token})->code, 200,
   'a detached token it was created "for" survives';
is api(GET => '/api/v2/account/details', token => $keep)->code, 200,
   'other users\' tokens survive';
$r = api(POST => $REVOKE, token => $admin,
         body => {data => {attributes => {email => $owner_email}}});
is $r->code, 200, 'the JSON:API form of the body: 200';
is json_of($r)->{data}{revoked}, 0, 'nothing left to revoke';

# ---- the error log never sees a secret ----

my $log = do { local $/; open my $lf, '<', Apache::Test::vars('t_logs') . '/error_log'
                   or die "error_log: $!"; <$lf> };
ok length $log, 'the error log has been written';
like $log, qr/TP01200: token \Q$bt->{id}\E rotated by \Q$owner_email\E/,
   'rotation is logged by id';
like $log, qr/TP01201: \d+ token\(s\) of \Q$owner_email\E revoked/, 'revoke-all is logged';
# the suite's server logs at trace level, where httpd itself dumps request
# headers (Authorization included); what matters is this module's lines
my $ours = join "\n", grep { /\[terrapod:/ } split /\n/, $log;
ok length $ours, 'the module logged';
ok !(grep { index($ours, $_) >= 0 } @secrets), 'no secret in any line of the module';
ok scalar(@secrets) >= 8, 'and there were secrets to look for';
