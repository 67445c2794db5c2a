# Which listener gets which run: a workspace's agent-pool-id (attribute or
# relationship, pool write needed to set it) sends its runs to that pool's
# listeners, a workspace without one to the pool named "default"; a
# listener never runs more phases than the capacity it reports; and a
# listener waiting in runs/next is woken by the queued run at once rather
# than at its next recheck.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use POSIX ();
use TP::Test;
use TP::Listener;

plan tests => 34;

my $NAT = '/api/terrapod/v1';
my $admin = admin_token();
my $owner = user_token('pc-owner@test.local');

my ($pool_a, $join_a) = make_pool($admin, 'pc-a');
my (undef, $join_d) = make_pool($admin, 'default');
my $la = join_as($join_a, 'pc-la');
my $ld = join_as($join_d, 'pc-ld');

sub ws_patch {
    my ($token, $ws, %attrs) = @_;
    my %rel = %{ delete $attrs{relationships} || {} };
    return api(PATCH => "/api/v2/workspaces/$ws", token => $token,
               body => {data => {type => 'workspaces', attributes => \%attrs,
                                 (%rel ? (relationships => \%rel) : ())}});
}
sub pool_of {
    my ($ws) = @_;
    my $d = json_of(api(GET => "/api/v2/workspaces/$ws", token => $admin))->{data};
    return [$d->{attributes}{'agent-pool-id'},
            $d->{relationships}{'agent-pool'}{data}
                ? $d->{relationships}{'agent-pool'}{data}{id} : undef];
}
sub queue_run {
    my ($ws) = @_;
    my $r = api(POST => '/api/v2/runs', token => $owner,
                body => {data => {type => 'runs', attributes => {},
                                  relationships => {workspace => {data => {type => 'workspaces', id => $ws}}}}});
    die 'run: ' . $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}
sub claim {
    my ($l, $wait) = @_;
    my $r = as_l($l, GET => '/runs/next?wait=' . ($wait // 0));
    return $r->code == 200 ? json_of($r)->{data}{'run-id'} : $r->code;
}
sub capacity {
    my ($l, $n) = @_;
    my $r = as_l($l, POST => '/heartbeat', body => {capacity => $n});
    die 'heartbeat: ' . $r->as_string unless $r->code == 200;
}
sub agent_ws {
    my ($name) = @_;
    my $ws = make_ws($owner, $name);
    make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
    is ws_patch($owner, $ws, 'execution-mode' => 'agent')->code, 200,
       "$name runs on agents";
    return $ws;
}

# ==== setting the pool ====

my $ws_a = agent_ws('pc-ws-a');
my $ws_d = agent_ws('pc-ws-d');
is_deeply pool_of($ws_a), [undef, undef], 'no pool at first';
is_error(ws_patch($admin, $ws_a, 'agent-pool-id' => 'apool-missing'), 422,
         'an unknown pool');
is_error(ws_patch($owner, $ws_a, 'agent-pool-id' => $pool_a), 422,
         'a pool the owner cannot see is no pool');
my $r = api(POST => "$NAT/agent-pools", token => $admin,
            body => {data => {type => 'agent-pools',
                              attributes => {name => 'pc-open', labels => {access => 'everyone'}}}});
my $open = json_of($r)->{data}{id};
is_error(ws_patch($owner, $ws_a, 'agent-pool-id' => $open), 403,
         'a pool the owner may only read');
is_deeply pool_of($ws_a), [undef, undef], 'refused changes stored nothing';
is ws_patch($admin, $ws_a, 'agent-pool-id' => $pool_a)->code, 200,
   'an admin sets the pool';
is_deeply pool_of($ws_a), [$pool_a, $pool_a], 'attribute and relationship';
is ws_patch($admin, $ws_a, relationships => {'agent-pool' => {data => undef}})->code,
   200, 'a null relationship clears it';
is_deeply pool_of($ws_a), [undef, undef], 'cleared';
is ws_patch($admin, $ws_a, relationships => {'agent-pool' => {data => {type => 'agent-pools', id => $pool_a}}})->code,
   200, 'set through the relationship';
is_deeply pool_of($ws_a), [$pool_a, $pool_a], 'set again';
is_error(ws_patch($admin, $ws_a, 'agent-pool-id' => ''), 422, 'an empty pool id');

# ==== runs go to their pool ====

my $run_d = queue_run($ws_d);
is claim($la), 204, 'a listener of another pool does not get a default-pool run';
is claim($ld), $run_d, 'the default pool\'s listener gets it';
capacity($ld, 5);
my $run_a = queue_run($ws_a);
is claim($ld), 204, 'an idle default-pool listener does not get a pool-a run';
is claim($la), $run_a, 'pool a\'s listener gets it';

# ==== capacity ====

my $ws_a2 = agent_ws('pc-ws-a2');
is ws_patch($admin, $ws_a2, 'agent-pool-id' => $pool_a)->code, 200, 'second pool-a workspace';
my $run_a2 = queue_run($ws_a2);
is claim($la), 204, 'capacity 1, one phase running: nothing more';
is sql("SELECT capacity FROM listeners WHERE id = '$la->{listener_id}'"), 1,
   'capacity 1 until a heartbeat says otherwise';
$r = as_l($la, PATCH => "/runs/$run_a", body => {status => 'errored', 'error-message' => 'x'});
is $r->code, 200, 'the first phase ends';
capacity($la, 0);
is claim($la), 204, 'capacity 0: a paused listener gets nothing';
capacity($la, 2);
is claim($la), $run_a2, 'capacity back: the waiting run';
my $ws_a3 = agent_ws('pc-ws-a3');
ws_patch($admin, $ws_a3, 'agent-pool-id' => $pool_a);
my $run_a3 = queue_run($ws_a3);
is claim($la), $run_a3, 'capacity 2: a second phase at once';

# ==== a queued run wakes a waiting listener ====

my $ws_w = agent_ws('pc-ws-wake');
pipe(my $rd, my $wr) or die "pipe: $!";
my $pid = fork() // die "fork: $!";
if (!$pid) {
    close $rd;
    my $got = claim($ld, 10);
    print {$wr} time(), " $got\n";
    close $wr;
    POSIX::_exit(0);
}
close $wr;
sleep 1.5;                      # the listener is waiting by now
my $queued = time();
my $run_w = queue_run($ws_w);
my ($woke, $got) = split ' ', scalar <$rd>;
waitpid $pid, 0;
is $got, $run_w, 'the waiting listener claims the queued run';
cmp_ok $woke - $queued, '<', 0.9, 'woken by the queue, not by the 1 s recheck';
