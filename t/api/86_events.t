# Live events (text/event-stream): who may open which stream (401, 403,
# 404 and 400 as the rest of the API answers them); the frames, the retry
# line and keep-alives (that nothing compresses them is in
# t/faults/16_events_db_restart.t, where mod_deflate is loaded); each event type
# produced by the API call that causes it (lock and unlock, PATCH, a
# variable created, updated and deleted, a state version uploaded, a run
# moved through its statuses by a listener, a plan log appended, a
# listener joining and heartbeating); a session cookie opening a stream as
# EventSource does; the stream of every workspace
# filtered by what each subscriber may read; a change of roles ending the
# streams of the person it concerns; Last-Event-ID replaying what was
# missed; the per-process cap (503 + Retry-After, the rest of the API
# answering meanwhile), old events swept, and the end of a stream's
# lifetime.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use JSON::PP ();
use TP::Test;
use TP::Listener;
use TP::Browser qw(browser password_user sign_in cookie);
use TP::SSE;

plan tests => 90;

my $NAT = '/api/terrapod/v1';
my $WAIT = 15;      # seconds any awaited frame may take

my $admin = admin_token();
my $owner = user_token('ev-owner@test.local');
my $reader = user_token('ev-reader@test.local');
my $stranger = user_token('ev-stranger@test.local');
my $auditor = user_token('ev-auditor@test.local');
my $r = api(PUT => "$NAT/role-assignments", token => $admin,
            body => {data => {type => 'role-assignments', attributes => {
                email => 'ev-auditor@test.local', roles => ['audit']}}});
die 'audit role: ' . $r->as_string unless $r->code == 200;

my $ws = make_ws($owner, 'ev-ws');
my $blue = make_ws($admin, 'ev-blue', labels => {team => 'ev-blue'});
my $hidden = make_ws($admin, 'ev-hidden');
my $open = make_ws($admin, 'ev-open', labels => {access => 'everyone'});
$r = api(POST => "$NAT/roles", token => $admin,
         body => {data => {type => 'roles', attributes => {
             name => 'ev-blue-readers', 'workspace-permission' => 'read',
             'allow-labels' => {team => 'ev-blue'}}}});
die 'role: ' . $r->as_string unless $r->code == 201;
sub assign_reader {
    my $res = api(PUT => "$NAT/role-assignments", token => $admin,
                  body => {data => {type => 'role-assignments', attributes => {
                      email => 'ev-reader@test.local', roles => [@_]}}});
    die 'assign: ' . $res->as_string unless $res->code == 200;
}
assign_reader('ev-blue-readers');

sub url { Apache::TestRequest::resolve_url($_[0]) }
# a stream, opened again (as a browser does) while the process the
# connection lands on holds its maximum (2) of them
sub stream {
    my ($path, $token, %o) = @_;
    my $deadline = time + $WAIT;
    while (1) {
        my $s = sse_open(url($path), token => $token, %o);
        return $s if $s->code != 503 || time > $deadline;
        $s->close;
        select undef, undef, undef, 0.2;
    }
}
sub ws_stream { stream("$NAT/workspaces/$_[0]/runs/events", $_[1], @_[2 .. $#_]) }
sub all_stream { stream("$NAT/workspace-events", $_[0], @_[1 .. $#_]) }
# the next event of type $type (about workspace $ws when given)
sub next_of {
    my ($s, $type, $ws) = @_;
    return $s->event_where($WAIT, sub {
        $_[0]{event} eq $type && (!$ws || ($_[0]{json}{workspace_id} // '') eq $ws)
    });
}
sub ok_call {
    my ($what, $res, $code) = @_;
    die "$what: " . $res->as_string unless $res->code == ($code // 200);
    return $res;
}

# the lifetime (TerrapodEventStreamLifetime 20 in the suite's
# configuration): opened now, seen to end at the end
my $lifetime = all_stream($owner);
is $lifetime->code, 200, 'a stream to outlive: 200';

# ==== who may open which stream ====

sub refused {
    my ($s, $code, $name) = @_;
    is $s->code, $code, "$name: $code";
    my $doc = eval { JSON::PP::decode_json($s->content) };
    ok $doc && ($doc->{errors}[0]{status} // '') eq $code, "$name: JSON:API errors";
    $s->close;
}
refused(ws_stream($ws, undef), 401, 'a workspace stream without a token');
refused(all_stream(undef), 401, 'workspace-events without a token');
refused(stream("$NAT/agent-pools/apool-none/events", undef), 401,
        'a pool stream without a token');
refused(ws_stream($ws, $stranger), 404, 'a workspace the caller cannot read');
refused(ws_stream('ws-doesnotexist', $owner), 404, 'a workspace that does not exist');
my ($pool, $join) = make_pool($admin, 'ev-pool');
refused(stream("$NAT/agent-pools/$pool/events", $owner), 403,
        'a pool stream for neither admin nor auditor');
refused(stream("$NAT/agent-pools/apool-doesnotexist/events", $admin), 404,
        'a pool that does not exist');
refused(ws_stream($ws, $owner, last_id => 'seven'), 400, 'a Last-Event-ID that is no id');
refused(ws_stream($ws, $owner, last_id => '-1'), 400, 'a negative Last-Event-ID');

# ==== a stream: its head, the retry line, keep-alives ====

my $s = ws_stream($ws, $owner);
is $s->code, 200, 'the owner opens the workspace stream';
like $s->header('Content-Type'), qr{^text/event-stream}, 'text/event-stream';
is $s->header('Cache-Control'), 'no-cache', 'not cached';
is $s->header('Transfer-Encoding'), 'chunked', 'chunked: frames go as they come';
my $f = $s->frame($WAIT);
is $f && $f->{retry}, 1000, 'it starts with the retry line';
like $f->{id}, qr/^\d+$/, 'and the id it starts after, for a reconnect';
ok !defined $f->{event} && !defined $f->{data}, 'which is no event';
my $start = $f->{id};
$f = $s->frame($WAIT);
is $f && $f->{comment}, 'keepalive', 'a keep-alive comment while nothing happens';
ok !defined $f->{event} && !defined $f->{id}, 'a keep-alive is no event';

# ==== each event, from the API call that causes it ====

ok_call('lock', api(POST => "/api/v2/workspaces/$ws/actions/lock", token => $owner,
                    body => {reason => 'events'}));
my $e = next_of($s, 'workspace_lock_change');
ok $e, 'lock: workspace_lock_change';
is_deeply [@{ $e->{json} }{qw(event workspace_id locked)}],
          ['workspace_lock_change', $ws, JSON::PP::true], 'lock: locked true';
like $e->{id}, qr/^\d+$/, 'an event has a decimal id';
ok $e->{id} > $start, 'above the one the stream started after';
is $e->{json}{id}, $e->{id}, 'the JSON carries the same id';
like $e->{json}{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'and its time';
unlike $e->{raw}, qr/\r/, 'frames are LF-terminated';
my $lock_id = $e->{id};

my $state = JSON::PP->new->canonical->encode({version => 4, terraform_version => '1.11.4',
    serial => 1, lineage => 'ev', outputs => {}, resources => []});
$r = ok_call('state upload',
             api(POST => "$NAT/workspaces/$ws/state-versions/actions/upload", token => $owner,
                 body => $state, headers => {'Content-Type' => 'application/json'}), 201);
my $sv = json_of($r)->{data};
$e = next_of($s, 'state_version_created');
ok $e, 'a state version uploaded: state_version_created';
is_deeply [@{ $e->{json} }{qw(workspace_id state_version_id serial)}],
          [$ws, $sv->{id}, $sv->{attributes}{serial}], 'with its id and serial';
ok $e->{id} > $lock_id, 'ids increase';

ok_call('unlock', api(POST => "/api/v2/workspaces/$ws/actions/unlock", token => $owner));
$e = next_of($s, 'workspace_lock_change');
is_deeply [@{ $e->{json} }{qw(workspace_id locked)}], [$ws, JSON::PP::false],
          'unlock: locked false';

ok_call('patch', api(PATCH => "/api/v2/workspaces/$ws", token => $owner,
                     body => {data => {type => 'workspaces',
                                       attributes => {description => 'followed'}}}));
$e = next_of($s, 'workspace_updated');
is $e && $e->{json}{workspace_id}, $ws, 'PATCH: workspace_updated';

$r = ok_call('var', api(POST => "/api/v2/workspaces/$ws/vars", token => $owner,
                        body => {data => {type => 'vars', attributes => {
                            key => 'region', value => 'eu', category => 'terraform'}}}), 201);
my $var = json_of($r)->{data}{id};
$e = next_of($s, 'workspace_variable_change');
is_deeply $e && [@{ $e->{json} }{qw(workspace_id var_id action)}], [$ws, $var, 'created'],
          'a variable created';
ok_call('var update', api(PATCH => "/api/v2/workspaces/$ws/vars/$var", token => $owner,
                          body => {data => {type => 'vars', id => $var,
                                            attributes => {value => 'us'}}}));
$e = next_of($s, 'workspace_variable_change');
is $e && $e->{json}{action}, 'updated', 'a variable updated';
ok_call('var delete', api(DELETE => "/api/v2/workspaces/$ws/vars/$var", token => $owner), 204);
$e = next_of($s, 'workspace_variable_change');
is_deeply $e && [@{ $e->{json} }{qw(var_id action)}], [$var, 'deleted'], 'a variable deleted';
ok !grep({ /value|region/ } keys %{ $e->{json} }), 'no value in the event';

# a run moved by a listener, and its plan log
my $pool_s = stream("$NAT/agent-pools/$pool/events", $auditor);
is $pool_s->code, 200, 'an auditor opens the pool stream';
my $l = join_as($join, 'ev-1');
$e = next_of($pool_s, 'listener_joined');
is_deeply $e && [@{ $e->{json} }{qw(pool_id listener_id name)}],
          [$pool, $l->{listener_id}, 'ev-1'], 'a listener joins: listener_joined';
ok_call('heartbeat', as_l($l, POST => '/heartbeat'));
$e = next_of($pool_s, 'listener_heartbeat');
is_deeply $e && [@{ $e->{json} }{qw(pool_id listener_id name status)}],
          [$pool, $l->{listener_id}, 'ev-1', 'online'], 'a heartbeat: listener_heartbeat';
$pool_s->close;

ok_call('agent mode', api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
                          body => {data => {type => 'workspaces', attributes => {
                              'execution-mode' => 'agent', 'agent-pool-id' => $pool}}}));
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
my $run = new_run($owner, $ws)->{id};
my @moves;
while (my $ev = next_of($s, 'run_status_change', $ws)) {
    push @moves, [@{ $ev->{json} }{qw(previous_status status)}];
    last if $ev->{json}{status} eq 'plan_queued';
}
is_deeply $moves[0], [undef, 'pending'], 'a new run: run_status_change to pending';
is_deeply $moves[-1], ['pending', 'plan_queued'], 'then queued';
$r = ok_call('claim', as_l($l, GET => '/runs/next?wait=2'));
$e = next_of($s, 'run_status_change');
is_deeply $e && [@{ $e->{json} }{qw(run_id previous_status status)}],
          [$run, 'plan_queued', 'planning'], 'claimed: planning';
$r = ok_call('runner token', as_l($l, POST => "/runs/$run/runner-token", body => {}));
my $tok = json_of($r)->{token};
ok_call('plan log', as_runner($tok, POST => $run, 'artifacts/plan-log', body => "hello\n",
                              headers => {'Content-Type' => 'application/octet-stream'}), 204);
$e = next_of($s, 'log_updated');
is_deeply $e && [@{ $e->{json} }{qw(workspace_id run_id phase size)}],
          [$ws, $run, 'plan', 6], 'a plan log appended: log_updated with its size';
ok_call('plan log', as_runner($tok, POST => $run, 'artifacts/plan-log', body => "again\n",
                              headers => {'Content-Type' => 'application/octet-stream'}), 204);
$e = next_of($s, 'log_updated');
is $e && $e->{json}{size}, 12, 'the size grows with the log';
ok_call('report', as_l($l, PATCH => "/runs/$run", body => {status => 'errored',
                                                           error => 'stop here'}));
$e = next_of($s, 'run_status_change');
is_deeply $e && [@{ $e->{json} }{qw(previous_status status)}], ['planning', 'errored'],
          'the listener reports: errored';
$s->close;

# ==== workspace-events: each subscriber sees what it may read ====

my %sub = (owner => all_stream($owner), reader => all_stream($reader),
           stranger => all_stream($stranger), auditor => all_stream($auditor));
is $sub{$_}->code, 200, "workspace-events opens for the $_" for sort keys %sub;
for my $w ($ws, $blue, $hidden, $open) {
    ok_call("patch $w", api(PATCH => "/api/v2/workspaces/$w", token => $admin,
                            body => {data => {type => 'workspaces',
                                              attributes => {description => "rbac $w"}}}));
}
my %want = (owner => [$ws, $open], reader => [$blue, $open], stranger => [$open],
            auditor => [$ws, $blue, $hidden, $open]);
for my $who (sort keys %sub) {
    my @seen;
    # the workspace everyone reads was changed last: until its event,
    # each stream has had every event it was going to have
    while (my $ev = next_of($sub{$who}, 'workspace_updated')) {
        push @seen, $ev->{json}{workspace_id};
        last if $ev->{json}{workspace_id} eq $open;
    }
    is_deeply \@seen, $want{$who}, "the $who sees the workspaces it may read, no other";
}

# a change of the reader's roles ends the reader's streams, no other
assign_reader();
ok $sub{reader}->ends($WAIT), 'the reader loses its role: its stream ends';
ok_call('patch', api(PATCH => "/api/v2/workspaces/$open", token => $admin,
                     body => {data => {type => 'workspaces',
                                       attributes => {description => 'after'}}}));
ok next_of($sub{owner}, 'workspace_updated', $open), "the owner's stream goes on";
my $again = all_stream($reader);
ok_call('patch', api(PATCH => "/api/v2/workspaces/$blue", token => $admin,
                     body => {data => {type => 'workspaces',
                                       attributes => {description => 'unseen'}}}));
ok_call('patch', api(PATCH => "/api/v2/workspaces/$open", token => $admin,
                     body => {data => {type => 'workspaces',
                                       attributes => {description => 'seen'}}}));
$e = next_of($again, 'workspace_updated');
is $e && $e->{json}{workspace_id}, $open,
   'reconnected, the reader no longer sees the workspace its role showed';
$_->close for values %sub, $again;

# ==== concurrent writers: every event, in id order ====

# Transactions commit in another order than they began; the ids are
# handed out at the commit, so a stream (and a hub reading "id > N")
# misses none of them.
my @busy = map { make_ws($admin, "ev-busy-$_") } 1 .. 6;
my $all = all_stream($admin);
my $from = sql('SELECT max(id) FROM events');
my @kids;
for my $w (@busy) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        for my $n (1 .. 10) {
            api(PATCH => "/api/v2/workspaces/$w", token => $admin,
                body => {data => {type => 'workspaces', attributes => {description => "busy $n"}}});
            api(POST => "/api/v2/workspaces/$w/actions/lock", token => $admin, body => {});
            api(POST => "/api/v2/workspaces/$w/actions/unlock", token => $admin);
        }
        exit 0;
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;
my $in = join ',', map { "'$_'" } @busy;
my @table = split /\n/, sql("SELECT id FROM events WHERE id > $from AND workspace_id IN ($in) ORDER BY id");
my %busy = map { $_ => 1 } @busy;
my @got;
while (@got < @table and my $ev = $all->event($WAIT)) {
    push @got, $ev->{id} if $busy{ $ev->{json}{workspace_id} // '' };
}
is scalar(@table), 6 * 30, 'six writers at once: 180 events committed';
is_deeply \@got, \@table, 'the stream has every one of them, in id order';
$all->close;

# ==== Last-Event-ID: a reconnect is replayed what it missed ====

$s = ws_stream($ws, $owner);
ok_call('lock', api(POST => "/api/v2/workspaces/$ws/actions/lock", token => $owner,
                    body => {reason => 'replay'}));
$e = next_of($s, 'workspace_lock_change');
my $last = $e->{id};
$s->close;
ok_call('unlock', api(POST => "/api/v2/workspaces/$ws/actions/unlock", token => $owner));
ok_call('patch', api(PATCH => "/api/v2/workspaces/$ws", token => $owner,
                     body => {data => {type => 'workspaces',
                                       attributes => {description => 'missed'}}}));
# the second change is in the table: the hubs have it, or will have
my $newest = sql("SELECT max(id) FROM events WHERE workspace_id = '$ws'");
$s = ws_stream($ws, $owner, last_id => $last);
is $s->code, 200, 'reconnected with Last-Event-ID';
my @replayed;
while (my $ev = $s->event($WAIT)) {
    push @replayed, $ev;
    last if $ev->{id} >= $newest;
}
is_deeply [map { $_->{event} } @replayed], ['workspace_lock_change', 'workspace_updated'],
          'the events missed, in order';
is $replayed[0]{json}{locked}, JSON::PP::false, 'the unlock first';
ok $replayed[0]{id} > $last, 'nothing before Last-Event-ID again';
$s->close;
$s = ws_stream($ws, $owner, last_id => $newest);
$f = $s->frame($WAIT);
$f = $s->frame($WAIT) if $f && defined $f->{retry};
is $f && $f->{comment}, 'keepalive', 'from the newest id: nothing to replay';
$s->close;

# ==== a workspace relabelled out of a reader's sight ====

assign_reader('ev-blue-readers');
# a stream opened before its process's hub read the role change is ended
# by it once: the reader opens another, as a browser would
my $following;
for my $try (1 .. 3) {
    $s = ws_stream($blue, $reader);
    ok_call('patch', api(PATCH => "/api/v2/workspaces/$blue", token => $admin,
                         body => {data => {type => 'workspaces',
                                           attributes => {description => "seen $try"}}}));
    last if $following = next_of($s, 'workspace_updated', $blue);
    $s->close;
}
ok $following, 'the reader follows the workspace its role shows';
ok_call('relabel', api(PATCH => "/api/v2/workspaces/$blue", token => $admin,
                       body => {data => {type => 'workspaces',
                                         attributes => {labels => {team => 'ev-red'}}}}));
ok $s->ends($WAIT), 'relabelled out of its sight: the stream ends';
refused(ws_stream($blue, $reader), 404, 'and opening it again is refused');

# ==== a browser: the session cookie is what EventSource sends ====

password_user('ev-browser@test.local', 'Ev-browser-pass-2024');
my $ua = browser();
$r = sign_in($ua, '/api/terrapod/v1/auth/authorize?return_to=/',
             'ev-browser@test.local', 'Ev-browser-pass-2024');
die 'sign-in: ' . $r->as_string unless $r->code == 303;
my $session = 'terrapod_session=' . cookie($ua, 'terrapod_session');
$s = all_stream(undef, headers => {Cookie => $session});
is $s->code, 200, 'a session cookie opens workspace-events, no CSRF header needed';
ok_call('patch', api(PATCH => "/api/v2/workspaces/$open", token => $admin,
                     body => {data => {type => 'workspaces',
                                       attributes => {description => 'browser'}}}));
ok next_of($s, 'workspace_updated', $open), 'and it is sent what its person may read';
$s->close;
refused(all_stream(undef, headers => {Cookie => 'terrapod_session=tps1.' . 'Q' x 43}),
        401, 'a session cookie that is no session');

# ==== the cap: TerrapodMaxEventStreams 2 per process ====

# four processes at most (MaxRequestWorkers 40 / ThreadsPerChild 10): at
# most 8 streams are held, so 12 meet at least 4 refusals
my @held = map { sse_open(url("$NAT/workspaces/$open/runs/events"), token => $owner) } 1 .. 12;
my @refused = grep { $_->code == 503 } @held;
my @opened = grep { $_->code == 200 } @held;
is @refused + @opened, 12, 'every stream opened or refused';
ok @refused >= 4, 'past the cap of each process: 503 (' . scalar(@refused) . ')';
ok @refused && $refused[0]->header('Retry-After') =~ /^\d+$/, 'with Retry-After';
my $doc = @refused ? eval { JSON::PP::decode_json($refused[0]->content) } : undef;
is $doc && $doc->{errors}[0]{status}, '503', 'and a JSON:API error';
is api(GET => '/api/v2/account/details', token => $owner)->code, 200,
   'the API answers while the streams are held';
ok_call('patch', api(PATCH => "/api/v2/workspaces/$open", token => $admin,
                     body => {data => {type => 'workspaces',
                                       attributes => {description => 'to all'}}}));
is scalar(grep { next_of($_, 'workspace_updated', $open) } @opened), scalar(@opened),
   'every stream held gets the event';
$_->close for @held;
ok wait_until(10, sub {
       my $t = sse_open(url("$NAT/workspaces/$open/runs/events"), token => $owner);
       my $code = $t->code;
       $t->close;
       $code == 200 }), 'closed streams free their places';

# ==== old events are swept ====

# older than the replay window (600 s) and the hour kept beyond it
sql("INSERT INTO events (type, workspace_id, payload, created_at) VALUES"
    . " ('workspace_updated', '$open', '{}', now() - interval '2 hours'),"
    . " ('workspace_updated', '$open', '{}', now() - interval '30 minutes')");
ok wait_until(15, sub { sql("SELECT count(*) FROM events WHERE created_at < now() - interval '1 hour'") == 0 }),
   'the purge-events task deletes events past the window and its hour';
is sql("SELECT count(*) FROM events WHERE created_at < now() - interval '29 minutes'"), 1,
   'and keeps the younger';

# ==== the lifetime ====

ok $lifetime->ends(40), 'the server ends a stream after its lifetime';
ok $lifetime->{ended}, 'with the last chunk: a clean end';
