# Two Apache servers on one PostgreSQL, as a balancer's pool runs them: a
# second httpd on the instance's database, storage and keys, on a port of
# its own. A change made through either server reaches the event streams
# open on both, with the same ids; a stream that moves to the other server
# (its balancer sent the reconnect elsewhere) with its Last-Event-ID is
# replayed what it missed there.
use strict;
use warnings FATAL => 'all';
use Test::More;
use IO::Socket::INET ();
use TP::E2E;
use TP::Faults;
use TP::SSE;
use TP::Util;

my $e = instance();
my $dir = $e->{DIR};
my $NAT = '/api/terrapod/v1';
my $WAIT = 30;      # seconds any awaited frame may take

# ---- the second server: the same configuration but for its port, pid
# file, runtime files and logs (the database socket stays the instance's)
my $port2 = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0)->sockport;
my $url2 = "https://localhost:$port2";
my $conf = do { local $/; open my $fh, '<', "$dir/httpd.conf" or die $!; <$fh> };
my %swap = (
    qr/^Listen 127\.0\.0\.1:\d+$/m       => "Listen 127.0.0.1:$port2",
    qr/^PidFile .*$/m                     => qq{PidFile "$dir/run2/httpd.pid"},
    qr/^DefaultRuntimeDir .*$/m           => qq{DefaultRuntimeDir "$dir/run2"},
    qr/^Mutex file:\S+ default$/m         => "Mutex file:$dir/run2 default",
    qr/^ErrorLog .*$/m                    => qq{ErrorLog "$dir/log/error_log2"},
    qr/^CustomLog "[^"]+"/m               => qq{CustomLog "$dir/log/access_log2"},
    qr/^SSLSessionCache .*$/m             => qq{SSLSessionCache "shmcb:$dir/run2/ssl_scache(512000)"},
);
while (my ($re, $line) = each %swap) {
    $conf =~ s/$re/$line/ or die "httpd.conf has no line for $re";
}
mkdir "$dir/run2";
if ($> == 0) {
    my ($uid, $gid) = (getpwnam 'terrapod')[2, 3];
    chown $uid, $gid, "$dir/run2";
}
write_file("$dir/httpd2.conf", $conf);
my $httpd = httpd_cmd();
my $out = qx{$httpd -f $dir/httpd2.conf -k start 2>&1};
is $?, 0, 'a second Apache starts on the same database' or diag $out;
my $ready = sub { (api(GET => "$url2/ready"))[0]->code == 200 };
ok wait_until(30, $ready), 'and is ready'
    or diag do { local $/; open my $fh, '<', "$dir/log/error_log2"; <$fh> // '' };

END {
    if ($dir && -e "$dir/run2/httpd.pid") {
        chomp(my $pid = do { open my $fh, '<', "$dir/run2/httpd.pid"; <$fh> // '' });
        qx{$httpd -f $dir/httpd2.conf -k stop 2>&1};
        wait_until(20, sub { !$pid || !kill 0, $pid });
    }
}

# ---- a workspace, followed on both servers
my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => 'fault-two-servers'}}});
die 'workspace: ' . $res->as_string unless $res->code == 201;
my $ws = $doc->{data}{id};

sub follow {
    my ($base, %o) = @_;
    return sse_open("$base$NAT/workspaces/$ws/runs/events",
                    token => $e->{TERRAPOD_TOKEN}, ca_file => $e->{TERRAPOD_CA_FILE}, %o);
}
sub describe {
    my ($base, $what) = @_;
    my ($r) = api(PATCH => "$base/api/v2/workspaces/$ws",
                  body => {data => {type => 'workspaces', attributes => {description => $what}}});
    return $r->code;
}
sub updated { $_[0]->event_where($WAIT, sub { $_[0]{event} eq 'workspace_updated' }) }

my $on1 = follow($e->{TERRAPOD_URL});
my $on2 = follow($url2);
is $on1->code . ' ' . $on2->code, '200 200', 'a stream open on each server';

is describe($e->{TERRAPOD_URL}, 'through the first'), 200, 'a change through the first server';
my ($a1, $a2) = (updated($on1), updated($on2));
ok $a1 && $a2, 'both streams have it';
is $a2 && $a2->{id}, $a1 && $a1->{id}, 'with the same id';

my ($lock) = api(POST => "$url2/api/v2/workspaces/$ws/actions/lock", body => {reason => 'x'});
is $lock->code, 200, 'a lock through the second server';
my @locked = map { $_->event_where($WAIT, sub { $_[0]{event} eq 'workspace_lock_change' }) }
             $on1, $on2;
is scalar(grep { $_ && $_->{json}{locked} } @locked), 2,
   'both streams have it, locked' or diag explain \@locked;
my ($unlock) = api(POST => "$url2/api/v2/workspaces/$ws/actions/unlock");
is $unlock->code, 200, 'and unlocked';
my $last = $on1->event_where($WAIT, sub { $_[0]{event} eq 'workspace_lock_change' });
ok $last && !$last->{json}{locked}, 'the first server streams the unlock';

# ---- a stream leaves the first server and comes back on the second
$on1->close;
is describe($url2, 'while away'), 200, 'a change while the stream is away';
my $missed = updated($on2);
ok $missed, 'the second server streams it';
my $back = follow($url2, last_id => $last->{id});
is $back->code, 200, 'the stream reconnects to the second server with its Last-Event-ID';
my $replayed = updated($back);
is $replayed && $replayed->{id}, $missed && $missed->{id},
   'and is replayed what it missed';
$_->close for $on2, $back;

done_testing;
