# Rate limits on the terrapod_limits vhost (unauthenticated 5, authenticated
# 8, sign-in 3 per minute, t/conf/extra.conf.in): the X-RateLimit-* headers
# counting down, the 429 with Retry-After past the limit, classes counted
# apart, refused tokens counted as unauthenticated, listeners exempt, and
# one count shared by every Apache process. Each part is a client of its
# own: the trusted proxy (127.0.0.1) forwards a documentation address.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use URI::Escape qw(uri_escape);
use Time::HiRes qw(time sleep);
use TP::Test;

plan tests => 39;

my $NAT = '/api/terrapod/v1';
Apache::TestRequest::module('terrapod_limits');
my $LIM = 'http://' . Apache::TestRequest::hostport();
$Apache::TestRequest::Module = undef;

# a request to the limited vhost from client $ip
sub from {
    my ($ip, $method, $path, %opt) = @_;
    $opt{headers} = {%{ $opt{headers} || {} }, 'X-Forwarded-For' => $ip};
    return api($method => "$LIM$path", %opt);
}

# fixed one-minute windows: start a part with enough of the window left
sub fresh_window {
    my $into = time - 60 * int(time / 60);
    sleep(60 - $into + 0.2) if $into > 45;
}

# ==== unauthenticated: headers counting down, then 429 ====

fresh_window();
my @left;
for (1 .. 5) {
    my $r = from('192.0.2.1', GET => '/api/v2/ping');
    push @left, $r->code . ':' . ($r->header('X-RateLimit-Remaining') // '-');
}
is "@left", '204:4 204:3 204:2 204:1 204:0', 'five answers, the remaining count going down';
my $r = from('192.0.2.1', GET => '/api/v2/ping');
is_error($r, 429, 'the sixth request');
is $r->header('X-RateLimit-Limit'), 5, '429: X-RateLimit-Limit';
is $r->header('X-RateLimit-Remaining'), 0, '429: X-RateLimit-Remaining';
my $reset = $r->header('X-RateLimit-Reset') // '';
like $reset, qr/^\d+\.\d{3}$/, '429: X-RateLimit-Reset in seconds, as go-tfe parses it';
ok $reset > 0 && $reset <= 60, '429: the reset is within the window';
my $retry = $r->header('Retry-After') // '';
like $retry, qr/^\d+$/, '429: Retry-After in whole seconds';
ok $retry >= $reset && $retry <= 60, '429: Retry-After covers the reset';
like error_detail($r), qr/5 per minute/, '429: the detail names the limit';

$r = from('192.0.2.1', GET => '/api/v2/ping', token => 'x');
is $r->code, 429, 'a refused token counts as unauthenticated too';
$r = api(GET => '/api/v2/ping');
is $r->code, 204, 'the main server (high limits) still answers';
$r = from('192.0.2.11', GET => '/api/v2/ping');
is $r->code, 204, 'another client has its own count';
is $r->header('X-RateLimit-Remaining'), 4, 'starting from the limit';

# unknown paths count as well
my @codes = map { from('192.0.2.2', GET => '/api/v2/nothing-here')->code } 1 .. 6;
is "@codes", '404 404 404 404 404 429', '404s count until the limit';

# ==== authenticated: a class of its own ====

fresh_window();
my $user = user_token('rl76-user@test.local');
@codes = map { from('192.0.2.3', GET => '/api/v2/account/details', token => $user)->code } 1 .. 8;
is "@codes", '200 200 200 200 200 200 200 200', 'eight authenticated requests';
$r = from('192.0.2.3', GET => '/api/v2/account/details', token => $user);
is $r->code, 429, 'the ninth: 429';
is $r->header('X-RateLimit-Limit'), 8, 'with the authenticated limit';
$r = from('192.0.2.3', GET => '/api/v2/ping');
is $r->code, 204, 'the same client\'s unauthenticated count is apart';
is $r->header('X-RateLimit-Limit'), 5, 'with its own limit';
is $r->header('X-RateLimit-Remaining'), 4, 'and its own count';

# refused tokens: unauthenticated, so password-guessing hits the low limit
@codes = map { from('192.0.2.4', GET => '/api/v2/account/details', token => "at-guess$_.x")->code } 1 .. 6;
is "@codes", '401 401 401 401 401 429', 'refused tokens run into the unauthenticated limit';

# a 403 still comes from an authenticated user
$r = from('192.0.2.5', GET => "$NAT/admin/audit-log", token => $user);
is $r->code, 403, 'a plain user reading the audit log: 403';
is $r->header('X-RateLimit-Limit'), 8, 'counted as authenticated';

# ==== sign-in paths: the lowest limit, whatever the answer ====

fresh_window();
my @signin;
for (1 .. 3) {
    $r = from('192.0.2.6', POST => '/oauth/token', body => {});
    push @signin, $r->code != 429 && ($r->header('X-RateLimit-Limit') // '') eq '3' ? 'ok' : $r->code;
}
is "@signin", 'ok ok ok', 'three sign-in attempts pass, under the sign-in limit';
$r = from('192.0.2.6', POST => '/oauth/token', body => {});
is_error($r, 429, 'the fourth sign-in attempt');
ok(($r->header('Retry-After') // 0) > 0, 'with Retry-After');
$r = from('192.0.2.6', GET => '/api/v2/ping');
is $r->code, 204, 'other requests of that client go on';

# ==== listeners and runners are exempt ====

my $admin = admin_token();
$r = api(POST => "$NAT/agent-pools", token => $admin,
         body => {data => {type => 'agent-pools', attributes => {name => 'rl76-pool'}}});
is $r->code, 201, 'a pool';
my $pool = json_of($r)->{data}{id};
$r = api(POST => "$NAT/agent-pools/$pool/authentication-tokens", token => $admin,
         body => {data => {type => 'authentication-tokens', attributes => {}}});
my $join = json_of($r)->{data}{attributes}{token};
$r = from('192.0.2.7', POST => "$NAT/agent-pools/join",
          body => {join_token => $join, name => 'rl76-listener'});
is $r->code, 201, 'a listener joins (an unauthenticated request)';
my $l = json_of($r);
my $cert = {'X-Client-Cert' => uri_escape($l->{certificate})};
@codes = map { from('192.0.2.7', POST => "$NAT/listeners/$l->{listener_id}/heartbeat",
                    headers => $cert)->code } 1 .. 12;
is "@codes", join(' ', ('200') x 12), 'twelve heartbeats: none limited';
$r = from('192.0.2.7', POST => "$NAT/listeners/$l->{listener_id}/heartbeat", headers => $cert);
ok !defined $r->header('X-RateLimit-Limit'), 'no rate-limit headers for a listener';
ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE actor = 'rl76-listener'"
        . " AND path LIKE '%/heartbeat'") == 13
}), 'the audit log names the listener';
@codes = map { from('192.0.2.7', POST => "$NAT/listeners/$l->{listener_id}/heartbeat")->code } 1 .. 5;
is "@codes", '401 401 401 401 429', 'without its certificate, unauthenticated (after the join)';

# ==== audited too ====

ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE client_ip = '192.0.2.1' AND status = 429") == 2
}), '429s are in the audit log';

# ==== one count across processes ====

my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
chomp(my $ppid = do { open my $fh, '<', $pidfile or die "$pidfile: $!"; <$fh> });
my @children = split ' ', qx{pgrep -P $ppid};
ok @children >= 3, 'Apache runs several processes (' . scalar(@children) . ')';

fresh_window();
my %seen;
my @kids;
for my $i (1 .. 30) {
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $rd;
        my $res = from('192.0.2.8', GET => '/api/v2/ping');
        print $wr $res->code;
        close $wr;
        exit 0;
    }
    close $wr;
    push @kids, [$pid, $rd];
}
for my $k (@kids) {
    my $fh = $k->[1];
    my $code = <$fh> // 'none';
    close $fh;
    waitpid $k->[0], 0;
    $seen{$code}++;
}
is $seen{204} // 0, 5, 'thirty parallel requests: exactly the limit of 5 accepted';
is $seen{429} // 0, 25, 'and the other 25 refused';
