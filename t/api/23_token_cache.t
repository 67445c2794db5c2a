# The token cache (TerrapodTokenCache, 1 s here): an Apache process
# believes a token it has looked up for that long, so a change made
# outside the API (SQL, terrapod-admin, another server) shows within it;
# every change through the API to tokens, users, roles or role
# assignments drops the cached lookups of every process at once.
# One keep-alive connection keeps requests on one process, the one that
# cached the lookup.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use Time::HiRes qw(time);
use TP::Test;
use TP::Tokens;

plan tests => 23;

my $LIFETIME = $TP::Test::TOKEN_CACHE_SECONDS;
my $admin = admin_token();
my $ACCOUNT = '/api/v2/account/details';

# One connection to the server, kept open across its requests: statuses.
sub connection {
    my $get = kept_alive();
    return sub { $get->($_[1] // $ACCOUNT, $_[0])->code };
}

# Statuses of n requests, each on a connection of its own (spread over
# the processes).
sub fresh_connections {
    my ($n, $token, $path) = @_;
    my %seen;
    $seen{ api(GET => $path // $ACCOUNT, token => $token)->code }++ for 1 .. $n;
    return join ',', sort keys %seen;
}

sub hash_of {
    my ($raw) = @_;
    return sql("SELECT encode(sha256(convert_to('$raw', 'UTF8')), 'hex')");
}

sub id_of {
    my ($raw) = @_;
    return sql("SELECT id FROM api_tokens WHERE token_hash = '" . hash_of($raw) . "'");
}

# ---- a change outside the API: believed until the lifetime passes ----

my $raw = user_token('tc23-outside@test.local');
my $conn = connection();
is $conn->($raw), 200, 'the token works (and is now cached)';
my $hash = hash_of($raw);
my $deleted = time;
sql("DELETE FROM api_tokens WHERE token_hash = '$hash'");
my $code = $conn->($raw);
SKIP: {
    skip 'the machine took longer than the lifetime to delete the row', 1
        if time - $deleted >= $LIFETIME;
    is $code, 200, 'deleted by SQL: the process still believes its lookup';
}
token_cache_expired();
is $conn->($raw), 401, 'once the lifetime has passed: 401';
is fresh_connections(8, $raw), '401', 'and on every process';

# ---- changes through the API: at once, on every process ----

# A token in use on a kept connection and on every process.
sub cached_token {
    my ($email) = @_;
    my $token = user_token($email);
    my $c = connection();
    die 'cannot use the token' unless $c->($token) == 200;
    fresh_connections(12, $token);
    return ($token, $c);
}

my ($tok, $c) = cached_token('tc23-delete@test.local');
my $id = id_of($tok);
is api(DELETE => "/api/terrapod/v1/authentication-tokens/$id",
       token => $admin)->code, 204, 'token deleted through the API';
is $c->($tok), 401, 'deleted: 401 on the connection that cached it';
is fresh_connections(8, $tok), '401', 'deleted: 401 on every process';

($tok, $c) = cached_token('tc23-rotate@test.local');
$id = id_of($tok);
my $r = api(POST => "/api/terrapod/v1/authentication-tokens/$id/actions/rotate",
            token => $admin);
is $r->code, 200, 'token rotated through the API';
is $c->($tok), 401, 'the old secret: 401 at once';
is $c->(json_of($r)->{data}{attributes}{token}), 200, 'the new one works';

($tok, $c) = cached_token('tc23-deactivate@test.local');
is api(PATCH => '/api/terrapod/v1/users/tc23-deactivate@test.local',
       token => $admin, body => {data => {type => 'users',
                                          attributes => {'is-active' => JSON::PP::false}}})->code,
   200, 'user deactivated through the API';
is $c->($tok), 401, 'deactivated: 401 at once';
is fresh_connections(8, $tok), '401', 'deactivated: 401 on every process';

# roles: what a cached principal may do follows its roles at once
make_role($admin, 'tc23-dev', 'read', env => 'tc23');
my $ws = make_ws($admin, 'tc23-ws', labels => {env => 'tc23'});
my $email = 'tc23-roles@test.local';
($tok, $c) = cached_token($email);
my $ws_path = "/api/v2/workspaces/$ws";
is $c->($tok, $ws_path), 404, 'no role: the workspace is hidden';
assign_roles($admin, $email, 'tc23-dev');
is $c->($tok, $ws_path), 200, 'role assigned through the API: seen at once';
is fresh_connections(8, $tok, $ws_path), '200', 'on every process';
is api(PATCH => '/api/terrapod/v1/roles/tc23-dev', token => $admin,
       body => {data => {type => 'roles', attributes => {
           'allow-labels' => {env => 'elsewhere'}}}})->code, 200,
   'role narrowed through the API';
is $c->($tok, $ws_path), 404, 'narrowed: hidden at once';
is api(PATCH => '/api/terrapod/v1/roles/tc23-dev', token => $admin,
       body => {data => {type => 'roles', attributes => {
           'allow-labels' => {env => 'tc23'}}}})->code, 200, 'widened again';
is $c->($tok, $ws_path), 200, 'widened: seen at once';
is api(DELETE => "/api/terrapod/v1/role-assignments/local/$email/tc23-dev",
       token => $admin)->code, 204, 'assignment deleted through the API';
is $c->($tok, $ws_path), 404, 'unassigned: hidden at once';
is fresh_connections(8, $tok, $ws_path), '404', 'on every process';
