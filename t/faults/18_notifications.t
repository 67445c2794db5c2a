# Notifications through faults: a receiver down for a while then back gets
# the notification once; deliveries pending while Apache and PostgreSQL
# restart all arrive, once each; a receiver that accepts and never
# answers holds up no other configuration's deliveries.
use strict;
use warnings FATAL => 'all';
use Test::More;
use IO::Socket::INET;
use TP::E2E;
use TP::Faults;
use TP::FakeReceiver;


restart_with_snippet('notifications', "TerrapodOutboundAllow 127.0.0.0/8\n"
                                      . "TerrapodNotificationRetry 2\n");
my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => 'fault-notify'}}});
die 'workspace: ' . $res->as_string unless $res->code == 201;
my $ws = $doc->{data}{id};

sub configure {
    my ($name, $url) = @_;
    my ($r, $d) = api(POST => "/api/v2/workspaces/$ws/notification-configurations",
        body => {data => {type => 'notification-configurations', attributes => {
            name => $name, 'destination-type' => 'generic', url => $url,
            enabled => JSON::PP::true(), triggers => ['run:completed', 'run:errored']}}});
    die "configuring $name: " . $r->as_string unless $r->code == 201;
    return $d->{data}{id};
}

# A run of the workspace that ended in status, written by SQL as the
# state machine commits it (no listener needed).
psql("INSERT INTO configuration_versions (id, workspace_id) VALUES ('cv-fault-notify', '$ws')");
my $runs_made = 0;
sub run_ending {
    my ($status) = @_;
    my $run = 'run-fault-notify-' . ++$runs_made;
    psql("INSERT INTO runs (id, plan_id, apply_id, workspace_id,"
         . " configuration_version_id, status) VALUES ('$run', 'plan-$run',"
         . " 'apply-$run', '$ws', 'cv-fault-notify', '$status')");
    return $run;
}
sub told {
    my ($recv, $run) = @_;
    return scalar grep { ($_->{body}{run_id} // '') eq $run } $recv->received;
}
sub attempts {
    my ($nc, $run) = @_;
    return psql("SELECT attempts FROM notification_deliveries"
                . " WHERE configuration_id = '$nc' AND run_id = '$run'") || 0;
}

# ---- down, then back ----
my $port = free_port();
my $nc = configure('later', "http://127.0.0.1:$port/hook");
my $run = run_ending('applied');
ok wait_until(30, sub { attempts($nc, $run) >= 2 }), 'tried while the receiver is down';
my $recv = TP::FakeReceiver->new(port => $port)->start;
ok wait_until(60, sub { told($recv, $run) }), 'arrived once the receiver is back';
sleep 3;
is told($recv, $run), 1, 'and only once';

# ---- pending through restarts of Apache and PostgreSQL ----
$recv->stop;
my @runs = map { run_ending($_ % 2 ? 'applied' : 'errored') } 1 .. 6;
ok wait_until(30, sub { !grep { !attempts($nc, $_) } @runs }), 'all pending, tried';
restart_httpd();
pg_kill9();
pg_restart();
ok wait_until(30, \&ready), 'the server is ready again';
$recv = TP::FakeReceiver->new(port => $port)->start;
ok wait_until(120, sub { !grep { !told($recv, $_) } @runs }), 'every pending notification arrived';
sleep 3;
is_deeply [map { told($recv, $_) } @runs], [(1) x @runs], 'each once';

# ---- a receiver that never answers ----
my $hang = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 50) or die "no port: $!";
my $silent = configure('silent', 'http://127.0.0.1:' . $hang->sockport . '/hook');
my @slow = map { run_ending('applied') } 1 .. 3;
ok wait_until(20, sub { !grep { !told($recv, $_) } @slow }),
   'the other receiver told of every run meanwhile';
ok wait_until(30, sub { psql("SELECT count(*) FROM notification_delivery_results"
                             . " WHERE configuration_id = '$silent' AND NOT successful"
                             . " AND response ILIKE '%timed out%'") > 0 }),
   'the silent one timed out';

done_testing;
