# Run events (TFE's run-events): the exact events of runs driven by a
# listener through plan, confirm and apply, and of discarded, canceled,
# errored, waiting and auto-applied runs; who made each (the user of an
# API action, nobody for the server's moves); the run's confirmed-by and
# run-events relationships; include=actor and include=run_events; that a
# refused move (409) records nothing, and that two confirms racing record
# one; pagination, reading one event, and who may read them.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use POSIX ();
use TP::Test;
use TP::Listener;

plan tests => 102;

my $admin = admin_token();
my $owner = user_token('re-owner@test.local');
my $stranger = user_token('re-stranger@test.local');
my $owner_id = sql("SELECT id FROM users WHERE email = 're-owner\@test.local'");
my $admin_id = sql("SELECT id FROM users WHERE email = 'admin\@test.local'");

my ($pool, $join) = make_pool($admin, 're-pool');
my $l = join_as($join, 're-1');
my $ws = make_ws($owner, 're-ws');
my $r = api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
            body => {data => {type => 'workspaces', attributes => {
                'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
die 'agent mode: ' . $r->as_string unless $r->code == 200;
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());

sub create_run {
    my (%o) = @_;
    my $res = api(POST => '/api/v2/runs', token => $owner,
                  body => {data => {type => 'runs', attributes => {%o},
                                    relationships => {workspace => {data => {
                                        type => 'workspaces', id => $ws}}}}});
    die 'run: ' . $res->as_string unless $res->code == 201;
    return json_of($res)->{data}{id};
}
sub run_of { json_of(api(GET => "/api/v2/runs/$_[0]", token => $owner))->{data} }
# a listener ($l unless another is given) claims the next queued run,
# heartbeating first so the reconciler never takes it for a silent one;
# the run's id
sub claim {
    my ($who) = @_;
    $who //= $l;
    as_l($who, POST => '/heartbeat');
    my $res = as_l($who, GET => '/runs/next?wait=1');
    die 'claim: ' . $res->as_string unless $res->code == 200;
    return json_of($res)->{data}{'run-id'};
}
sub report {
    my ($id, %body) = @_;
    return as_l($l, PATCH => "/runs/$id", body => \%body);
}
sub events {
    my ($id, $query) = @_;
    my $res = api(GET => "/api/v2/runs/$id/run-events" . ($query // ''), token => $owner);
    die 'events: ' . $res->as_string unless $res->code == 200;
    return json_of($res);
}
sub actions { [map { $_->{attributes}{action} } @{ events($_[0])->{data} }] }
# each event's actor: the user's id, or '-' for the server
sub actors {
    [map { my $a = $_->{relationships}{actor}{data}; $a ? $a->{id} : '-' }
         @{ events($_[0])->{data} }]
}
sub count_events { sql("SELECT count(*) FROM run_events WHERE run_id = '$_[0]'") }

# ==== plan, confirm by someone else, apply ====

my $id = create_run(message => 'full');
is_deeply actions($id), [qw(created queued)], 'a new run: created and queued';
my $run = run_of($id);
is $run->{relationships}{'run-events'}{links}{related}, "/api/v2/runs/$id/run-events",
   'the run links its events';
ok exists $run->{relationships}{'confirmed-by'} && !defined $run->{relationships}{'confirmed-by'}{data},
   'confirmed-by is null before a confirmation';
is claim(), $id, 'the listener claims the plan';
is report($id, status => 'planned', 'has-changes' => JSON::PP::true())->code, 200, 'planned';

# refused moves record nothing
my $before = count_events($id);
is_error(report($id, status => 'applied'), 409, 'applied while planned');
is_error(api(POST => "/api/v2/runs/$id/actions/cancel", token => $owner), 409,
         'cancel of a planned run');
is count_events($id), $before, 'the refused moves recorded no event';

is api(POST => "/api/v2/runs/$id/actions/confirm", token => $admin, body => {})->code, 202,
   'an admin confirms';
is_error(api(POST => "/api/v2/runs/$id/actions/confirm", token => $owner), 409,
         'a second confirm');
is_error(api(POST => "/api/v2/runs/$id/actions/discard", token => $owner), 409,
         'discard after the confirm');
is claim(), $id, 'the listener claims the apply';
is report($id, status => 'applied')->code, 200, 'applied';

my $doc = events($id);
my @ev = @{ $doc->{data} };
is_deeply [map { $_->{attributes}{action} } @ev],
          [qw(created queued planning planned confirmed queued applying applied)],
          'every move, in order';
is_deeply actors($id), [$owner_id, $owner_id, '-', '-', $admin_id, $admin_id, '-', '-'],
          'the creator, the server, the confirmer, the server';
is_deeply [map { $_->{attributes}{description} } @ev],
          ['Run created', 'Queued to plan', 'Plan started', 'Planned; waiting for confirmation',
           'Confirmed to apply', 'Queued to apply', 'Apply started', 'Applied'],
          'their descriptions';
is scalar(grep { $_->{type} eq 'run-events' && $_->{id} =~ /^re-[A-Za-z0-9]{16}$/ } @ev), 8,
   'run-events with re- ids';
is scalar(grep { $_->{attributes}{'created-at'} =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ } @ev), 8,
   'created-at in RFC 3339';
my @at = map { $_->{attributes}{'created-at'} } @ev;
is_deeply \@at, [sort @at], 'oldest first';
is $ev[0]{links}{self}, "/api/v2/run-events/$ev[0]{id}", 'links.self';
is $ev[0]{relationships}{actor}{links}{related}, "/api/v2/users/$owner_id",
   'the actor links its user';
ok exists $ev[0]{relationships}{comment} && !defined $ev[0]{relationships}{comment}{data},
   'no comment';
ok !exists $ev[2]{relationships}{actor}{links}, 'a server move links no actor';
is $doc->{meta}{pagination}{'total-count'}, 8, 'meta.pagination counts them';
is sql("SELECT count(*) FROM run_events WHERE run_id = '$id'"), 8, 'and that is all there are';

$run = run_of($id);
is_deeply $run->{relationships}{'confirmed-by'}{data}, {type => 'users', id => $admin_id},
          'confirmed-by: the admin';
is $run->{relationships}{'confirmed-by'}{links}{related}, "/api/v2/users/$admin_id",
   'with its link';

# one event alone, and its actor included
$r = api(GET => "/api/v2/run-events/$ev[4]{id}", token => $owner);
is $r->code, 200, 'an event alone: 200';
is_deeply json_of($r)->{data}, $ev[4], 'what the list shows';
$r = api(GET => "/api/v2/run-events/$ev[4]{id}?include=actor", token => $owner);
my $inc = json_of($r)->{included};
is_deeply [map { "$_->{type}/$_->{id}" } @$inc], ["users/$admin_id"], 'include=actor: the confirmer';
is_deeply $inc->[0], json_of(api(GET => "/api/v2/users/$admin_id", token => $owner))->{data},
          'as its own endpoint shows it';

# the list with its actors
$doc = events($id, '?include=actor,comment');
is_deeply [sort map { "$_->{type}/$_->{id}" } @{ $doc->{included} }],
          [sort("users/$owner_id", "users/$admin_id")], 'include=actor: each user once';
is_deeply $doc->{data}, \@ev, 'the events are unchanged by the include';

# the run with its events
$r = api(GET => "/api/v2/runs/$id?include=run_events", token => $owner);
$doc = json_of($r);
is_deeply $doc->{data}{relationships}{'run-events'}{data},
          [map { {type => 'run-events', id => $_->{id}} } @ev],
          'include=run_events: the run lists its events in order';
is_deeply [grep { $_->{type} eq 'run-events' } @{ $doc->{included} }], \@ev,
          'each included as its own endpoint shows it';
$r = api(GET => "/api/v2/runs/$id?include=run_events.actor", token => $owner);
is scalar(grep { $_->{type} eq 'users' } @{ json_of($r)->{included} }), 2,
   'include=run_events.actor: the two users';
$r = api(GET => "/api/v2/workspaces/$ws/runs?include=run_events", token => $owner);
my ($listed) = grep { $_->{id} eq $id } @{ json_of($r)->{data} };
is scalar @{ $listed->{relationships}{'run-events'}{data} }, 8,
   'a run list fills each run\'s events';

# pages
$doc = events($id, '?page[size]=3&page[number]=3');
is_deeply [map { $_->{id} } @{ $doc->{data} }], [map { $_->{id} } @ev[6, 7]],
          'the last page of three: the last two';
is $doc->{meta}{pagination}{'total-pages'}, 3, 'of three pages';
like $doc->{links}{prev}, qr/page%5Bnumber%5D=2|page\[number\]=2/, 'linking the one before';

# ==== discarded ====

my $disc = create_run(message => 'to discard');
is claim(), $disc, 'claimed';
report($disc, status => 'planned', 'has-changes' => JSON::PP::true());
is api(POST => "/api/v2/runs/$disc/actions/discard", token => $owner, body => {})->code, 202,
   'the owner discards';
is_deeply actions($disc), [qw(created queued planning planned discarded)], 'discarded: its events';
is actors($disc)->[-1], $owner_id, 'discarded by the owner';
ok !defined run_of($disc)->{relationships}{'confirmed-by'}{data}, 'never confirmed';

# ==== canceled while queued, and while planning ====

my $queued = create_run(message => 'cancel while queued');
is api(POST => "/api/v2/runs/$queued/actions/cancel", token => $owner, body => {})->code, 202,
   'canceled while queued';
is_deeply actions($queued), [qw(created queued canceled)], 'canceled at once';
is actors($queued)->[-1], $owner_id, 'by the owner';

my $planning = create_run(message => 'cancel while planning');
is claim(), $planning, 'claimed';
is api(POST => "/api/v2/runs/$planning/actions/cancel", token => $admin, body => {})->code, 202,
   'an admin asks to cancel it while it plans';
is_deeply actions($planning), [qw(created queued planning)],
          'no event until the listener stops terraform';
is report($planning, status => 'canceled')->code, 200, 'the listener reports it canceled';
is_deeply actions($planning), [qw(created queued planning canceled)], 'canceled';
is actors($planning)->[-1], $admin_id, 'the event names who asked';
is_error(report($planning, status => 'canceled'), 409, 'a second report');
is count_events($planning), 4, 'records nothing';

# ==== errored, by the listener and by the reconciler ====

# the events of an errored run, the last saying why, made by the server
sub errored_with {
    my ($run, $why, $how) = @_;
    my @e = @{ events($run)->{data} };
    is_deeply [map { $_->{attributes}{action} } @e], [qw(created queued planning errored)],
              "$how: its events";
    is $e[-1]{attributes}{description}, $why, "$how: saying why";
    ok !defined $e[-1]{relationships}{actor}{data}, "$how: made by the server";
}

my $err = create_run(message => 'errors');
is claim(), $err, 'claimed';
is report($err, status => 'errored', 'error-message' => 'provider exploded')->code, 200,
   'the listener reports an error';
errored_with($err, 'provider exploded', 'errored by the listener');

my $l2 = join_as($join, 're-2');
my $silent = create_run(message => 'silent listener');
is claim($l2), $silent, 'a second listener claims it';
sql("UPDATE listeners SET last_heartbeat_at = now() - interval '5 minutes'"
    . " WHERE id = '$l2->{listener_id}'");
ok wait_until(20, sub { run_of($silent)->{attributes}{status} eq 'errored' }),
   'the reconciler errors it';
errored_with($silent, 'listener re-2 stopped heartbeating', 'errored by the reconciler');

# ==== a run waiting for the workspace is queued by the server ====

my $holder = create_run(message => 'holds the workspace');
my $waiter = create_run(message => 'waits');
is run_of($waiter)->{attributes}{status}, 'pending', 'a second run waits';
is_deeply actions($waiter), ['created'], 'created only';
is api(POST => "/api/v2/runs/$holder/actions/cancel", token => $owner, body => {})->code, 202,
   'the first is canceled';
is_deeply actions($waiter), [qw(created queued)], 'the waiting run is queued';
is_deeply actors($waiter), [$owner_id, '-'], 'by the server, as the workspace came free';
api(POST => "/api/v2/runs/$waiter/actions/cancel", token => $owner, body => {});

# ==== auto-apply: confirmed by nobody ====

my $auto = create_run(message => 'auto', 'auto-apply' => JSON::PP::true());
is claim(), $auto, 'claimed';
report($auto, status => 'planned', 'has-changes' => JSON::PP::true());
is_deeply actions($auto), [qw(created queued planning planned confirmed queued)],
          'planned, confirmed and queued in one step';
is_deeply [@{ actors($auto) }[3 .. 5]], ['-', '-', '-'], 'all by the server';
ok !defined run_of($auto)->{relationships}{'confirmed-by'}{data}, 'confirmed-by is null';
is claim(), $auto, 'its apply is claimed';
report($auto, status => 'applied');

# ==== plan-only ====

my $spec = create_run(message => 'spec', 'plan-only' => JSON::PP::true());
is claim(), $spec, 'claimed';
report($spec, status => 'planned', 'has-changes' => JSON::PP::true());
@ev = @{ events($spec)->{data} };
is_deeply [map { $_->{attributes}{action} } @ev], [qw(created queued planning planned)],
          'plan-only: planned';
is $ev[-1]{attributes}{description}, 'Planned and finished', 'and finished';

# ==== two confirms racing record one ====

my $race = create_run(message => 'race');
is claim(), $race, 'claimed';
report($race, status => 'planned', 'has-changes' => JSON::PP::true());
my @kids;
for (1 .. 2) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $code = api(POST => "/api/v2/runs/$race/actions/confirm", token => $owner,
                       body => {})->code;
        POSIX::_exit($code == 202 ? 0 : $code == 409 ? 1 : 2);
    }
    push @kids, $pid;
}
my @codes = map { waitpid($_, 0); $? >> 8 } @kids;
is_deeply [sort @codes], [0, 1], 'one confirm is taken, the other refused';
is sql("SELECT count(*) FROM run_events WHERE run_id = '$race' AND action = 'confirmed'"), 1,
   'one confirmed event';
is_deeply actions($race), [qw(created queued planning planned confirmed queued)],
          'and one apply queued';
is claim(), $race, 'its apply is claimed';
report($race, status => 'applied');

# ==== who may read them ====

is_error(api(GET => "/api/v2/runs/$id/run-events", token => $stranger), 404,
         'the events of an unreadable run');
is_error(api(GET => "/api/v2/run-events/$ev[0]{id}", token => $stranger), 404,
         'an event of an unreadable run');
is_error(api(GET => "/api/v2/runs/$id/run-events"), 401, 'events without a token');
is_error(api(GET => '/api/v2/runs/run-nope/run-events', token => $owner), 404,
         'the events of an unknown run');
is_error(api(GET => '/api/v2/run-events/re-nope', token => $owner), 404, 'an unknown event');
$r = api(GET => "/api/v2/runs/$id?include=run_events", token => $stranger);
is $r->code, 404, 'a stranger gets no run and no events';

# task-stages stay an empty list
$r = api(GET => "/api/v2/runs/$id/task-stages", token => $owner);
is $r->code, 200, 'task-stages: 200';
is_deeply json_of($r)->{data}, [], 'an empty list';
