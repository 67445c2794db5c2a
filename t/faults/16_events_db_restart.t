# PostgreSQL killed with SIGKILL and restarted under open event streams:
# the streams stay open (keep-alives go on while the database is away),
# each process's event hub reconnects by itself, and every event committed
# after the restart reaches every stream, in order, none missing; a
# stream opened afterwards with the Last-Event-ID of before the crash is
# replayed the same events. Apache restarted gracefully under open
# streams: they end (a process that is to stop holds none open), and a
# reconnect with Last-Event-ID is replayed what was committed meanwhile.
# All of it with mod_deflate set to compress
# event streams and API answers alike: the streams go uncompressed, frame
# by frame, all the same.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Time::HiRes qw(time);
use TP::E2E;
use TP::Faults;
use TP::SSE;

my $e = instance();
my $NAT = '/api/terrapod/v1';
my $streams = 4;
my $WAIT = 30;      # seconds any awaited frame may take

chomp(my $moddir = qx{apxs -q LIBEXECDIR});
restart_with_snippet('events-deflate', <<"CONF");
<IfModule !deflate_module>
    LoadModule deflate_module $moddir/mod_deflate.so
</IfModule>
<Location "/api">
    SetOutputFilter DEFLATE
</Location>
CONF
my ($probe) = api(GET => '/api/v2/account/details', headers => {'Accept-Encoding' => 'gzip'});
is $probe->header('Content-Encoding'), 'gzip', 'API answers are compressed here';

my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => 'fault-events'}}});
die 'workspace: ' . $res->as_string unless $res->code == 201;
my $ws = $doc->{data}{id};

sub open_stream {
    my (%o) = @_;
    return sse_open("$e->{TERRAPOD_URL}$NAT/workspaces/$ws/runs/events",
                    token => $e->{TERRAPOD_TOKEN}, ca_file => $e->{TERRAPOD_CA_FILE}, %o);
}
sub patch {
    my ($what) = @_;
    my ($r) = api(PATCH => "/api/v2/workspaces/$ws",
                  body => {data => {type => 'workspaces', attributes => {description => $what}}});
    return $r->code;
}
sub hub_notes { my @m = error_log() =~ /TP01602: event hub back on the database/g; scalar @m }

my @s = map { open_stream(headers => {'Accept-Encoding' => 'gzip'}) } 1 .. $streams;
is scalar(grep { $_->code == 200 } @s), $streams, "$streams streams open";
is scalar(grep { !defined $_->header('Content-Encoding') } @s), $streams,
   'none of them compressed, though gzip was accepted';
is patch('before'), 200, 'a change before the crash';
my @before = map { $_->event_where($WAIT, sub { $_[0]{event} eq 'workspace_updated' }) } @s;
is scalar(grep { defined } @before), $streams, 'every stream has it';
my $last_before = $before[0]{id};
my $notes = hub_notes();

pg_kill9();
ok((grep { $_->frame($WAIT) && !$_->{eof} } @s) == $streams,
   'the streams stay open while the database is down');
pg_restart();
my $t0 = time;
ok wait_until(30, sub { patch('after 1') == 200 }), 'the API writes again after the restart';
is patch('after 2'), 200, 'a second change';
my ($lock) = api(POST => "/api/v2/workspaces/$ws/actions/lock", body => {reason => 'x'});
my ($unlock) = api(POST => "/api/v2/workspaces/$ws/actions/unlock");
is $lock->code . ' ' . $unlock->code, '200 200', 'a lock and an unlock';
my @committed = psql("SELECT id FROM events WHERE workspace_id = '$ws'"
                     . " AND id > $last_before ORDER BY id");
ok @committed >= 4, scalar(@committed) . ' events committed after the restart';

# each stream: exactly the events committed since, in order
for my $i (0 .. $#s) {
    my @got;
    while (@got < @committed and my $ev = $s[$i]->event($WAIT)) {
        push @got, $ev->{id};
    }
    is_deeply \@got, \@committed, "stream $i: every event committed after the restart";
}
ok hub_notes() > $notes, 'the event hubs say they are back (TP01602)';
like error_log(), qr/TP01601: event hub lost the database/, 'and said they had lost it';
diag sprintf 'the events arrived within %.1f s of the first write after the restart;'
     . ' the hubs caught up %s events from the table', time - $t0,
     join(', ', error_log() =~ /TP01602: .*?; (\d+) events caught up/g);

my $late = open_stream(last_id => $last_before);
my @replayed;
while (@replayed < @committed and my $ev = $late->event($WAIT)) {
    push @replayed, $ev->{id};
}
is_deeply \@replayed, \@committed, 'a reconnect with Last-Event-ID is replayed them too';
$_->close for @s, $late;

# a graceful restart: the old processes end their streams rather than
# wait for them (TerrapodEventStreamLifetime is 300 s here)
@s = map { open_stream() } 1 .. 2;
is scalar(grep { $_->code == 200 } @s), 2, 'two streams open';
my $pos = $s[0]->frame($WAIT)->{id};
kill 'USR1', httpd_pid() or die "graceful restart: $!";
ok scalar(grep { $_->ends($WAIT) } @s) == 2, 'a graceful restart ends them';
ok wait_until(30, sub { patch('during the restart') == 200 }), 'a change meanwhile';
my $after = open_stream(last_id => $pos);
is $after->code, 200, 'a new process takes the reconnect';
my $ev = $after->event_where($WAIT, sub { $_[0]{event} eq 'workspace_updated' });
ok $ev && $ev->{id} > $pos, 'and replays the change made while it reconnected';
$_->close for @s, $after;

done_testing;
