# Revoking and removing one listener (admin on its pool). A revoked
# listener is refused at once everywhere (heartbeat, renew, runs/next, even
# a long poll in flight, its runs, and the runner tokens of its runs), the
# runs it held are errored so the workspace goes on with another listener,
# it cannot join again under its name with a join token, and its pool
# lists it as revoked, with when. Removing a listener ends its runs the
# same way and frees its name. The reconciler ends the runs of a listener
# found revoked otherwise.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use POSIX ();
use JSON::PP ();
use TP::Test;
use TP::Listener;

plan tests => 89;

my $NAT = '/api/terrapod/v1';
my $LST = "$NAT/listeners";
my $admin = admin_token();
my $owner = user_token('rv-owner@test.local');
my $plain = user_token('rv-plain@test.local');
my $padm_email = 'rv-padm@test.local';
my $padm = user_token($padm_email);
my $prd_email = 'rv-reader@test.local';
my $preader = user_token($prd_email);

# pool admin and pool reader through custom roles on the pool's label
for ([$padm_email, 'rv-pool-admin', 'admin'], [$prd_email, 'rv-pool-read', 'read']) {
    my ($email, $role, $perm) = @$_;
    my $res = api(POST => "$NAT/roles", token => $admin,
                  body => {data => {type => 'roles', attributes => {
                      name => $role, 'pool-permission' => $perm,
                      'allow-labels' => {team => 'rv'}}}});
    die 'role: ' . $res->as_string unless $res->code == 201;
    $res = api(PUT => "$NAT/role-assignments", token => $admin,
               body => {data => {type => 'role-assignments', attributes => {
                   email => $email, roles => [$role]}}});
    die 'assign: ' . $res->as_string unless $res->code == 200;
}

my ($pool, $join) = make_pool($admin, 'rv-pool');
my $r = api(PATCH => "$NAT/agent-pools/$pool", token => $admin,
            body => {data => {type => 'agent-pools', attributes => {labels => {team => 'rv'}}}});
die 'labels: ' . $r->as_string unless $r->code == 200;
my $l1 = join_as($join, 'rv-1');
my $l2 = join_as($join, 'rv-2');
my $id1 = $l1->{listener_id};
is as_l($l1, POST => '/heartbeat', body => {capacity => 2})->code, 200, 'rv-1 heartbeats';
is as_l($l2, POST => '/heartbeat')->code, 200, 'rv-2 heartbeats';

my $ws = make_ws($owner, 'rv-ws');
$r = api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
         body => {data => {type => 'workspaces', attributes => {
             'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
die 'agent mode: ' . $r->as_string unless $r->code == 200;
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());

sub create_run { new_run($owner, $ws, @_)->{id} }
sub run_attr { json_of(api(GET => "/api/v2/runs/$_[0]", token => $owner))->{data}{attributes}{$_[1]} }
sub claimed_by {
    my ($l) = @_;
    my $res = as_l($l, GET => '/runs/next?wait=2');
    return $res->code == 200 ? json_of($res)->{data}{'run-id'} : 'HTTP ' . $res->code;
}
sub listed {
    my $res = api(GET => "$NAT/agent-pools/$pool/listeners", token => $preader);
    return {map { ($_->{attributes}{name} => $_) } @{ json_of($res)->{data} || [] }};
}
sub revoke { api(POST => "$LST/$_[0]/actions/revoke", token => $_[1], body => {}) }
sub join_uses { sql("SELECT uses FROM agent_pool_tokens WHERE pool_id = '$pool'") }

# ==== rv-1 runs a plan and a plan-only run ====

my $run = create_run(message => 'held by rv-1');
my $spec = create_run(message => 'speculative', 'plan-only' => JSON::PP::true());
is claimed_by($l1), $run, 'rv-1 claims the run';
is claimed_by($l1), $spec, 'and the plan-only one';
my $tok = json_of(as_l($l1, POST => "/runs/$run/runner-token", body => {}))->{token};
is as_runner($tok, POST => $run, 'artifacts/plan-log', body => "planning\n")->code, 204,
   'its runner writes the log';
my $next = create_run(message => 'waits behind it');
is run_attr($next, 'status'), 'pending', 'a run waits for the workspace';

# ==== who may revoke ====

is_error(api(POST => "$LST/$id1/actions/revoke", body => {}), 401, 'revoke without a token');
is_error(revoke($id1, $plain), 404, 'revoke by a user who cannot see the pool');
is_error(revoke($id1, $preader), 403, 'revoke by a reader of the pool');
is_error(revoke('listener-doesnotexist00', $padm), 404, 'revoke an unknown listener');
is_error(as_l($l1, POST => "/actions/revoke", body => {}), 401,
         'a listener certificate is no API token');
is as_l($l1, POST => '/heartbeat')->code, 200, 'the refusals changed nothing';
is run_attr($run, 'status'), 'planning', 'the run still plans';

# ==== revoked ====

$r = revoke($id1, $padm);
is $r->code, 200, 'the pool admin revokes rv-1';
my $doc = json_of($r)->{data};
is $doc->{id}, $id1, 'the answer is the listener';
is $doc->{attributes}{revoked}, JSON::PP::true(), 'revoked';
like $doc->{attributes}{'revoked-at'} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'and when';
is $doc->{attributes}{'revoked-by'}, $padm_email, 'and by whom';
is $doc->{attributes}{status}, 'revoked', 'its status says so';

is run_attr($run, 'status'), 'errored', 'its run is errored at once';
is run_attr($run, 'error-message'), 'listener rv-1 was revoked', 'saying why';
is run_attr($spec, 'status'), 'errored', 'and its plan-only run';
is run_attr($next, 'status'), 'plan_queued', 'the waiting run is queued for another listener';

for my $call (['POST', '/heartbeat'], ['POST', '/renew'], ['GET', '/runs/next'],
              ['GET', "/runs/$run"], ['PATCH', "/runs/$run"],
              ['POST', "/runs/$run/runner-token"]) {
    my ($m, $p) = @$call;
    $r = as_l($l1, $m => $p, $m eq 'GET' ? () : (body => {status => 'errored'}));
    is_error($r, 403, "revoked: $m $p");
}
like error_detail(as_l($l1, POST => '/heartbeat')), qr/rv-1.*revoked/, 'the 403 says so';
is_error(as_runner($tok, POST => $run, 'artifacts/plan-log', body => "more\n"), 403,
         'its runner token writes nothing');
is_error(as_runner($tok, GET => $run, 'artifacts/config'), 403, 'nor reads');

is claimed_by($l2), $next, 'rv-2 takes the waiting run';

# ==== it cannot come back under its name ====

my $uses = join_uses();
$r = api(POST => "$NAT/agent-pools/join", body => {join_token => $join, name => 'rv-1'});
is_error($r, 403, 'joining again as rv-1');
like error_detail($r), qr/revoked/, 'saying it was revoked';
is join_uses(), $uses, 'the join token was not used up';
is as_l($l1, POST => '/heartbeat')->code, 403, 'still refused';

# ==== the pool lists it ====

my $list = listed();
is $list->{'rv-1'}{attributes}{revoked}, JSON::PP::true(), 'the list shows rv-1 revoked';
is $list->{'rv-1'}{attributes}{'revoked-at'}, $doc->{attributes}{'revoked-at'}, 'with when';
is $list->{'rv-1'}{attributes}{status}, 'revoked', 'and status revoked';
is $list->{'rv-2'}{attributes}{revoked}, JSON::PP::false(), 'rv-2 is not revoked';
ok exists $list->{'rv-2'}{attributes}{'revoked-at'}
   && !defined $list->{'rv-2'}{attributes}{'revoked-at'}, 'revoked-at null';

sleep 1.1;
$r = revoke($id1, $admin);
is $r->code, 200, 'revoking again: 200';
is json_of($r)->{data}{attributes}{'revoked-at'}, $doc->{attributes}{'revoked-at'},
   'when it was first revoked';
is json_of($r)->{data}{attributes}{'revoked-by'}, $padm_email, 'and by whom';

# ==== a long poll in flight ends when its listener is revoked ====

my $l3 = join_as($join, 'rv-3');
is as_l($l3, POST => '/heartbeat')->code, 200, 'rv-3 heartbeats';
pipe my $rd, my $wr or die "pipe: $!";
my $pid = fork // die "fork: $!";
if (!$pid) {
    close $rd;
    my $t0 = time;
    my $res = as_l($l3, GET => '/runs/next?wait=15');
    printf $wr "%d %.1f", $res->code, time - $t0;
    close $wr;
    POSIX::_exit(0);
}
close $wr;
sleep 1;
is revoke($l3->{listener_id}, $padm)->code, 200, 'rv-3 revoked while it polls';
my $queued = create_run(message => 'queued after rv-3 was revoked', 'plan-only' => JSON::PP::true());
waitpid $pid, 0;
my ($code, $took) = split ' ', (<$rd> // '0 0');
is $code, 403, 'the poll answers 403';
ok $took < 8, "before its wait ended ($took s)";
is run_attr($queued, 'status'), 'plan_queued', 'and claimed nothing';

# ==== removing a listener ====

is_error(api(DELETE => "$LST/$l2->{listener_id}", token => $preader), 403,
         'remove by a reader of the pool');
is_error(api(DELETE => "$LST/$l2->{listener_id}", token => $plain), 404,
         'remove by a user who cannot see the pool');
is_error(api(DELETE => "$LST/listener-doesnotexist00", token => $padm), 404,
         'remove an unknown listener');
is run_attr($next, 'status'), 'planning', 'rv-2 plans a run';
is api(DELETE => "$LST/$l2->{listener_id}", token => $padm)->code, 204,
   'the pool admin removes rv-2';
is run_attr($next, 'status'), 'errored', 'its run is errored at once';
is run_attr($next, 'error-message'), 'listener rv-2 was removed', 'saying why';
is_error(as_l($l2, POST => '/heartbeat'), 401, 'its certificate is refused');
ok !exists listed()->{'rv-2'}, 'the pool no longer lists it';
is_error(api(DELETE => "$LST/$l2->{listener_id}", token => $padm), 404, 'removing it again');
$r = api(POST => "$NAT/agent-pools/join", body => {join_token => $join, name => 'rv-2'});
is $r->code, 201, 'a listener may join under the freed name';
isnt json_of($r)->{listener_id}, $l2->{listener_id}, 'as a new listener';

is api(DELETE => "$LST/$id1", token => $admin)->code, 204, 'the revoked rv-1 is removed';
$r = api(POST => "$NAT/agent-pools/join", body => {join_token => $join, name => 'rv-1'});
is $r->code, 201, 'and its name may join again';

# ==== the reconciler ends the runs of a listener revoked otherwise ====

my $l4 = join_as($join, 'rv-4');
is as_l($l4, POST => '/heartbeat', body => {capacity => 5})->code, 200, 'rv-4 heartbeats';
my $held = create_run(message => 'held by rv-4');
my $got = '';
for (1 .. 5) { $got = claimed_by($l4); last if $got eq $held }
is $got, $held, 'rv-4 claims a run';
sql("UPDATE listeners SET revoked = true, revoked_at = now() WHERE id = '$l4->{listener_id}'");
ok wait_until(10, sub { run_attr($held, 'status') eq 'errored' }), 'the reconciler errors it';
is run_attr($held, 'error-message'), 'listener rv-4 was revoked', 'saying why';

my $elog = do { local $/; open my $lf, '<', Apache::Test::vars('t_logs') . '/error_log'
                          or die $!; <$lf> };
like $elog, qr/TP00712: listener \Q$id1\E \(rv-1\) of pool \Q$pool\E revoked by \Q$padm_email\E; 2 runs errored/,
     'the revocation is logged';
like $elog, qr/TP00713: listener \Q$l2->{listener_id}\E \(rv-2\) of pool \Q$pool\E removed by \Q$padm_email\E; 1 runs errored/,
     'and the removal';
