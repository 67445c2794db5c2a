# Rate limits on the terrapod_limits vhost (t/conf/extra.conf.in): per
# client address and minute, unauthenticated 5 and sign-in 3; per user and
# second, 4. The X-RateLimit-* headers counting down, the 429 with
# Retry-After past the limit, classes counted apart, refused tokens counted
# as unauthenticated, users from one address each with their own budget and
# the tokens of one user sharing theirs, signed URLs with a budget per URL,
# listeners and runners exempt, and one count shared by every Apache
# process. Each part is a client of its own: the proxy (TLS, presenting
# its certificate) forwards a documentation address.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use URI::Escape qw(uri_escape);
use Time::HiRes qw(time sleep);
use TP::Test;

plan tests => 61;

my $NAT = '/api/terrapod/v1';
Apache::TestRequest::module('terrapod_limits');
my $LIM = 'https://' . Apache::TestRequest::hostport();
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

# A user's budget lives in one-second windows: $part runs from just after
# a second begins, and is run again in a later second (where every count
# starts afresh) when it did not end within it. Server and test share the
# clock, so a part that ends in the second it began was counted in one
# window. Gives what $part gives.
sub in_one_second {
    my ($part) = @_;
    for (1 .. 5) {
        sleep(1 - (time - int(time)) + 0.01);
        my $second = int(time);
        my @got = $part->();
        return @got if int(time) == $second;
    }
    die 'no try of the part fitted in one second';
}

# the statuses of a list of responses, in order
sub codes { join ' ', map { $_->code } @_ }

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

# ==== authenticated: a budget per user and second ====

fresh_window();
my $alice = user_token('rl76-alice@test.local');
my $bob = user_token('rl76-bob@test.local');
my $acct = '/api/v2/account/details';

# two users behind one address (one office's NAT) spend budgets of their own
my @res = in_one_second(sub {
    map { from('192.0.2.3', GET => $acct, token => $_) } ($alice) x 5, ($bob) x 5
});
is codes(@res[0 .. 4]), '200 200 200 200 429', 'the first user: four answers, then 429';
is codes(@res[5 .. 9]), '200 200 200 200 429', 'the second user from that address: four of their own';
is join(' ', map { $_->header('X-RateLimit-Remaining') } @res[5 .. 8]), '3 2 1 0',
   'the second user counts down from the limit';
$r = $res[4];
is_error($r, 429, 'past a user\'s budget');
is $r->header('X-RateLimit-Limit'), 4, '429: X-RateLimit-Limit is the user\'s limit';
is $r->header('X-RateLimit-Remaining'), 0, '429: X-RateLimit-Remaining';
$reset = $r->header('X-RateLimit-Reset') // '';
ok $reset =~ /^\d+\.\d{3}$/ && $reset > 0 && $reset <= 1, "429: the reset is within the second ($reset)";
is $r->header('Retry-After'), 1, '429: Retry-After one second';
like error_detail($r), qr/by rl76-alice\@test\.local: the limit is 4 per second/,
     '429: the detail names the user and the limit';

# the budget is the user's, not the address's: from elsewhere too
@res = in_one_second(sub {
    map { from($_, GET => $acct, token => $alice) } ('192.0.2.30') x 4, '192.0.2.31'
});
is codes(@res), '200 200 200 200 429', 'one user from two addresses: one budget';

# one user's two tokens share the budget, as on HCP Terraform
my $alice2 = user_token('rl76-alice@test.local');
@res = in_one_second(sub {
    map { from('192.0.2.32', GET => $acct, token => $_) } $alice, $alice2, $alice, $alice2,
                                                         $alice, $alice2
});
is codes(@res), '200 200 200 200 429 429', 'two tokens of one user: four answers between them';

# what else a user's budget holds, and what it does not
@res = in_one_second(sub {
    (from('192.0.2.33', GET => '/api/v2/ping', token => $bob),
     from('192.0.2.33', GET => "$NAT/auth/sessions", token => $bob),
     from('192.0.2.33', GET => "$NAT/admin/audit-log", token => $bob),
     from('192.0.2.33', GET => $acct, token => $bob),
     from('192.0.2.33', GET => $acct, token => $bob),
     from('192.0.2.33', GET => '/api/v2/ping'))
});
is codes(@res), '204 200 403 200 429 204',
   'a ping with a token, the user\'s sessions and a 403 spend the budget; a ping without one does not';
is join(' ', map { $_->header('X-RateLimit-Limit') } @res), '4 4 4 4 4 5',
   'each under the limit it counts against';
is $res[0]->header('X-RateLimit-Remaining'), 3,
   'the ping tells go-tfe the user\'s limit (it paces itself by it)';

# the window is a second: the next one starts afresh
@res = in_one_second(sub { map { from('192.0.2.34', GET => $acct, token => $bob) } 1 .. 5 });
is codes(@res), '200 200 200 200 429', 'a spent budget';
sleep(1 - (time - int(time)) + 0.05);
$r = from('192.0.2.34', GET => $acct, token => $bob);
is $r->code, 200, 'the next second: answered again';

# the same address's unauthenticated count is apart from the users'
$r = from('192.0.2.3', GET => '/api/v2/ping');
is $r->code, 204, 'the same client\'s unauthenticated count is apart';
is $r->header('X-RateLimit-Limit'), 5, 'with its own limit';
is $r->header('X-RateLimit-Remaining'), 4, 'and its own count';

# refused tokens: unauthenticated, so password-guessing hits the low limit
@codes = map { from('192.0.2.4', GET => $acct, token => "at-guess$_.x")->code } 1 .. 6;
is "@codes", '401 401 401 401 401 429', 'refused tokens run into the unauthenticated limit';

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

# a runner: a run of an agent-mode workspace the listener claims
my $owner = user_token('rl76-owner@test.local');
my $ws = make_ws($owner, 'rl76-ws');
$r = api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
         body => {data => {type => 'workspaces',
                           attributes => {'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
is $r->code, 200, 'an agent-mode workspace';
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
$r = api(POST => '/api/v2/runs', token => $owner,
         body => {data => {type => 'runs', attributes => {},
                           relationships => {workspace => {data => {type => 'workspaces', id => $ws}}}}});
is $r->code, 201, 'a run';
my $run = json_of($r)->{data};
$r = from('192.0.2.7', GET => "$NAT/listeners/$l->{listener_id}/runs/next?wait=5", headers => $cert);
is json_of($r)->{data}{'run-id'}, $run->{id}, 'the listener claims it';
$r = from('192.0.2.7', POST => "$NAT/listeners/$l->{listener_id}/runs/$run->{id}/runner-token",
          headers => $cert, body => {});
my $runtok = json_of($r)->{token};
@codes = map { from('192.0.2.9', GET => "$NAT/runs/$run->{id}/artifacts/config",
                    token => $runtok)->code } 1 .. 12;
is "@codes", join(' ', ('200') x 12), 'twelve runner requests from one address: none limited';
$r = from('192.0.2.9', GET => "$NAT/runs/$run->{id}/artifacts/config", token => $runtok);
ok !defined $r->header('X-RateLimit-Limit'), 'no rate-limit headers for a runner';
@codes = map { from('192.0.2.10', GET => "$NAT/runs/$run->{id}/artifacts/config")->code } 1 .. 6;
is "@codes", '401 401 401 401 401 429', 'without its token, unauthenticated';

# ==== signed URLs: a budget for each object one is for ====

# the path of the log-read-url of the run's plan or apply
sub log_path {
    my ($phase, $path) = @_;
    my $id = $run->{relationships}{$phase}{data}{id};
    my $url = json_of(api(GET => "/api/v2/$path/$id", token => $owner))->{data}{attributes}{'log-read-url'};
    $url =~ s{^https?://[^/]+}{};
    return $url;
}
my $plan_log = log_path(plan => 'plans');
my $apply_log = log_path(apply => 'applies');
@res = in_one_second(sub {
    ((map { from('192.0.2.12', GET => $plan_log) } 1 .. 5),
     from('192.0.2.12', GET => $apply_log),
     from('192.0.2.12', GET => $acct, token => $owner))
});
is codes(@res), '200 200 200 200 429 200 200',
   'a plan log\'s signed URL: four reads a second; the apply log and the user who got them spend budgets of their own';
is $res[4]->header('X-RateLimit-Limit'), 4, 'under the per-user limit';
like error_detail($res[4]), qr/with this signed URL: the limit is 4 per second/,
     'the detail names the signed URL';

# ==== audited too ====

ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE client_ip = '192.0.2.1' AND status = 429") == 2
}), '429s are in the audit log';

ok wait_until(10, sub {
    sql("SELECT count(*) FROM audit_log WHERE client_ip = '192.0.2.33'"
        . " AND path = '/api/v2/ping' AND actor = 'rl76-bob\@test.local'") >= 1
}), 'a ping with a token is its owner\'s in the audit log too';

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
