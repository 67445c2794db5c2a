# The audit log: an entry for every API request (successes, 401, 404 and
# 405 alike) with actor, token id, method, path without its query string,
# resource, status and the real client address (X-Forwarded-For believed
# only from a proxy that proves itself, t/api/51_proxy_trust.t); the
# admin/audit-only query with its filters
# and pagination, newest first; rows that cannot be updated; and the
# retention task.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use LWP::UserAgent ();
use HTTP::Request ();
use POSIX qw(strftime);
use TP::Test;

plan tests => 72;

my $LOG = '/api/terrapod/v1/admin/audit-log';
my $admin = admin_token();
my $auditor_email = 'audit75-auditor@test.local';
my $auditor = user_token($auditor_email);
my $plain_email = 'audit75-plain@test.local';
my $plain = user_token($plain_email);
my $plain_tid = sql("SELECT id FROM api_tokens WHERE user_email = '$plain_email'");

my $r = api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
            body => {data => {type => 'role-assignments',
                              attributes => {'provider-name' => 'local',
                                             email => $auditor_email,
                                             roles => ['audit']}}});
is $r->code, 200, 'the auditor holds the audit role';

# the entries of the audit log matching filters, as the auditor sees them
sub entries {
    my (%filter) = @_;
    my $q = join '&', map { "filter[$_]=$filter{$_}" } sort keys %filter;
    my $res = api(GET => "$LOG?page[size]=100&$q", token => $auditor);
    die 'audit log: ' . $res->as_string unless $res->code == 200;
    return json_of($res)->{data};
}

# waits for the entry a request left (written after its response)
sub entry_of {
    my (%filter) = @_;
    my $found;
    wait_until(10, sub { $found = entries(%filter)->[0] });
    return $found ? $found->{attributes} : {};
}

# ==== entries for successes and errors ====

my $ws = make_ws($plain, 'audit75-ws');
$r = api(GET => "/api/v2/workspaces/$ws?token=not-for-the-log", token => $plain);
is $r->code, 200, 'the owner reads the workspace';
my $e = entry_of('resource-id' => $ws, action => 'GET', status => 200);
is $e->{actor}, $plain_email, 'success: the actor is the user';
is $e->{'token-id'}, $plain_tid, 'success: the token id';
is $e->{action}, 'GET', 'success: the method';
is $e->{path}, "/api/v2/workspaces/$ws", 'success: the path, without the query string';
is $e->{'resource-type'}, 'workspaces', 'success: the resource type';
is $e->{status}, 200, 'success: the status';
is $e->{'client-address'}, '127.0.0.1', 'success: the client address';
like $e->{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'success: an RFC 3339 time';
ok defined $e->{'duration-ms'} && $e->{'duration-ms'} >= 0, 'success: a duration';

is api(GET => "/api/v2/workspaces/$ws")->code, 401, 'no token: 401';
$e = entry_of('resource-id' => $ws, status => 401);
is $e->{actor}, 'anonymous', '401: the actor is anonymous';
ok !defined $e->{'token-id'}, '401: no token id';

is api(GET => "/api/v2/workspaces/$ws", token => 'at-bogus.secret')->code, 401,
   'a bogus token: 401';
ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE resource_id = '$ws' AND status = 401") >= 2
}), 'the bogus token is recorded too';
is sql("SELECT count(*) FROM audit_log WHERE path LIKE '%bogus%' OR token_id LIKE '%secret%'"),
   0, 'no token secret in the log';

is api(GET => '/api/v2/audit75-nowhere', token => $plain)->code, 404, 'unknown path: 404';
my $e404;
ok wait_until(10, sub {
    ($e404) = grep { $_->{attributes}{path} eq '/api/v2/audit75-nowhere' }
              @{ entries(status => 404) };
}), '404: recorded';
ok !defined $e404->{attributes}{'resource-type'}, '404: no resource';
is $e404->{attributes}{actor}, 'anonymous', '404: no route, so no one authenticated';

# entries are written a moment after their responses: only this
# request's entry can match from a second before it
my $just_before = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time - 1));
is api(DELETE => '/api/v2/ping')->code, 405, 'wrong method: 405';
$e = entry_of(status => 405, action => 'DELETE', since => $just_before);
is $e->{path}, '/api/v2/ping', '405: recorded with its path';
ok !defined $e->{'resource-type'}, '405: no route matched, so no resource';

# ==== the client behind proxies ====

api(GET => proxied("/api/v2/workspaces/$ws"), token => $plain,
    headers => {'X-Forwarded-For' => '203.0.113.9, 198.51.100.7'});
ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE resource_id = '$ws'"
        . " AND client_ip = '198.51.100.7'") == 1
}), 'from the proxy: the right-most forwarded address';
is sql("SELECT count(*) FROM audit_log WHERE client_ip = '203.0.113.9'"), 0,
   'the address the client itself claimed is not believed';

api(GET => proxied("/api/v2/workspaces/$ws"), token => $plain,
    headers => {'X-Forwarded-For' => '198.51.100.8, 127.0.0.1'});
ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE client_ip = '198.51.100.8'") == 1
}), 'trusted proxies in the chain are skipped';

api(GET => proxied("/api/v2/workspaces/$ws"), token => $plain,
    headers => {'X-Forwarded-For' => 'evil.example, 198.51.100.9'});
ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE client_ip = '198.51.100.9'") == 1
}), 'the walk stops at the first non-address';

# the same header from a peer that is no trusted proxy
my $url = Apache::TestRequest::resolve_url("/api/v2/workspaces/$ws");
my $ua = LWP::UserAgent->new(local_address => '127.0.0.2', keep_alive => 0);
$r = $ua->request(HTTP::Request->new(GET => $url,
    ['Authorization' => "Bearer $plain", 'X-Forwarded-For' => '198.51.100.10']));
is $r->code, 200, 'a request from 127.0.0.2';
ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE client_ip = '127.0.0.2'") == 1
}), 'from an untrusted peer: the peer address';
is sql("SELECT count(*) FROM audit_log WHERE client_ip = '198.51.100.10'"), 0,
   'its X-Forwarded-For is ignored';

# ==== signatures stay out of the log ====

my $cv = make_cv($plain, $ws);
ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE path = '/api/v2/configuration-versions/$cv/upload'"
        . " AND status = 200") == 1
}), 'the signed upload is recorded';
is sql("SELECT count(*) FROM audit_log WHERE path LIKE '%signature%' OR path LIKE '%?%'"), 0,
   'no query string, so no signature, in any path';

# ==== who may read it ====

is_error(api(GET => $LOG, token => $plain), 403, 'a plain user');
is_error(api(GET => $LOG), 401, 'no token');
is api(GET => $LOG, token => $admin)->code, 200, 'the admin reads it';
$r = api(GET => $LOG, token => $auditor);
is $r->code, 200, 'the auditor reads it';
is json_of($r)->{data}[0]{type}, 'audit-log-entries', 'entries of type audit-log-entries';
is api(POST => $LOG, token => $admin, body => {})->code, 405, 'no writes: POST is 405';
is api(DELETE => $LOG, token => $admin)->code, 405, 'no writes: DELETE is 405';

# ==== filters ====

my $mine = entries(actor => $plain_email);
ok @$mine >= 6, 'filter[actor]: the user\'s entries';
is scalar(grep { $_->{attributes}{actor} ne $plain_email } @$mine), 0,
   'filter[actor]: only them';
my $ws_entries = entries('resource-type' => 'workspaces', 'resource-id' => $ws);
ok @$ws_entries >= 6, 'filter[resource-type] and [resource-id]';
is scalar(grep { $_->{attributes}{'resource-id'} ne $ws } @$ws_entries), 0,
   'filter[resource-id]: only that resource';
my $gets = entries(action => 'get', 'resource-id' => $ws);
ok @$gets >= 5 && !grep({ $_->{attributes}{action} ne 'GET' } @$gets),
   'filter[action] (any case): only that method';
is scalar(@{ entries(action => 'PATCH', 'resource-id' => $ws) }), 0,
   'filter[action]: none of another method';
my $unauth = entries(status => 401, 'resource-id' => $ws);
is scalar(@$unauth), 2, 'filter[status]';
is scalar(@{ entries(since => '2999-01-01T00:00:00Z') }), 0, 'filter[since] in the future: none';
is scalar(@{ entries(until => '2000-01-01T00:00:00Z') }), 0, 'filter[until] in the past: none';
my $ts = $gets->[1]{attributes}{timestamp};
my $upto = entries(until => $ts, 'resource-id' => $ws, action => 'GET');
ok @$upto >= 1 && !grep({ $_->{attributes}{timestamp} gt $ts } @$upto),
   'filter[until]: only earlier entries';
my $from = entries(since => $ts, 'resource-id' => $ws, action => 'GET');
ok @$from >= 2 && !grep({ $_->{attributes}{timestamp} lt $ts } @$from),
   'filter[since]: only that time and later';
is scalar(@{ entries(since => '2026-01-01T00:00:00%2B02:00', 'resource-id' => $ws) }),
   scalar(@$ws_entries), 'filter[since] with an offset';
is_error(api(GET => "$LOG?filter[since]=yesterday", token => $auditor), 400, 'a bad since');
is_error(api(GET => "$LOG?filter[until]=2026-02-30T00:00:00Z", token => $auditor), 400,
         'an impossible until');
is_error(api(GET => "$LOG?filter[status]=2000", token => $auditor), 400, 'a bad status');
is_error(api(GET => "$LOG?filter[action]=GET;DROP", token => $auditor), 400, 'a bad action');

# ==== pagination, newest first ====

$r = api(GET => "$LOG?page[size]=3&filter[resource-id]=$ws", token => $auditor);
my $p1 = json_of($r);
is scalar(@{ $p1->{data} }), 3, 'page[size] is honoured';
is $p1->{meta}{pagination}{'total-count'}, scalar(@$ws_entries), 'the total counts every match';
my @ids = map { $_->{id} } @{ $p1->{data} };
ok $ids[0] > $ids[1] && $ids[1] > $ids[2], 'newest first';
my $p2 = json_of(api(GET => "$LOG?page[size]=3&page[number]=2&filter[resource-id]=$ws",
                     token => $auditor));
ok $p2->{data}[0]{id} < $ids[2], 'page 2 continues where page 1 ended';
is $p2->{meta}{pagination}{'current-page'}, 2, 'page 2 says so';

# ==== append-only ====

# entries of the last requests may still arrive: compare those present
my ($last, $before) = split /\|/,
    sql("SELECT max(id), count(*) FROM audit_log WHERE actor = '$plain_email'");
ok !eval { sql("UPDATE audit_log SET actor = 'someone-else' WHERE actor = '$plain_email'"); 1 },
   'UPDATE is refused';
like $@, qr/append-only/, 'by the append-only trigger';
is sql("SELECT count(*) FROM audit_log WHERE actor = '$plain_email' AND id <= $last"),
   $before, 'the entries are unchanged';

# ==== retention (TerrapodAuditRetentionDays 30 in the test server) ====

sql("INSERT INTO audit_log (at, actor, method, path, status, client_ip, duration_ms)"
    . " SELECT now() - interval '40 days', 'audit75-old', 'GET', '/old', 200, '10.0.0.1', 1"
    . " FROM generate_series(1, 3)");
sql("INSERT INTO audit_log (at, actor, method, path, status, client_ip, duration_ms)"
    . " VALUES (now() - interval '20 days', 'audit75-recent', 'GET', '/recent', 200, '10.0.0.1', 1)");
ok wait_until(15, sub { sql("SELECT count(*) FROM audit_log WHERE actor = 'audit75-old'") == 0 }),
   'entries older than the retention are deleted';
is sql("SELECT count(*) FROM audit_log WHERE actor = 'audit75-recent'"), 1,
   'younger ones are kept';
