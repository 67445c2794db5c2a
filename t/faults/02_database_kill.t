# PostgreSQL killed with SIGKILL and restarted while clients read and
# write: every request ends cleanly (a JSON:API 503 while it is down,
# never a 500, a crash or a hang), requests succeed again within 5 s of
# the restart without restarting Apache, and the background child
# reconnects by itself.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Time::HiRes qw(time sleep);
use TP::E2E;
use TP::Faults;

my $workers = 8;
my $bound = 10;     # seconds any request may take, the database down or not
my $dir = instance()->{DIR};
my @ws = map {
    my (undef, $d) = api(POST => '/api/v2/organizations/default/workspaces',
        body => {data => {type => 'workspaces', attributes => {name => "fault-db-$_"}}});
    $d->{data}{id};
} 1 .. $workers;

sub connects { my @m = error_log() =~ /TP00203: background child connected/g; scalar @m }
my $child_connects = connects();

# one line per request: start time, seconds taken, status, JSON:API or not
sub timed {
    my ($method, $path, %opt) = @_;
    my $t0 = time;
    my ($res, $doc) = api($method, $path, %opt);
    my $shape = $res->code < 400 || ($doc && ref $doc->{errors} eq 'ARRAY'
                                     && ($doc->{errors}[0]{status} // '') eq $res->code)
        ? 'jsonapi' : 'bare';
    # a client-side failure (connection reset, timeout) is LWP's own 500
    my $why = $shape eq 'bare' ? ' (' . ($res->header('Client-Warning') // 'server')
                                 . ': ' . $res->message . ')' : '';
    return sprintf '%.3f %.3f %d %s %s%s', $t0, time - $t0, $res->code, $shape,
                   "$method $path", $why;
}

# the fault, from a process of its own while the load runs
my $schedule = File::Temp->new(DIR => $dir);
my $pid = fork // die "fork: $!";
if (!$pid) {
    sleep 3;
    pg_kill9();
    my $killed = time;
    sleep 3;
    pg_restart();
    open my $fh, '>', $schedule->filename or die $!;
    printf $fh "%.3f %.3f\n", $killed, time;
    exit 0;
}
my @lines = hammer($workers, 16, sub {
    my ($w) = @_;
    my $ws = $ws[$w - 1];
    return (timed(GET => '/api/v2/account/details'),
            timed(POST => "/api/v2/workspaces/$ws/actions/lock", body => {reason => 'x'}),
            timed(POST => "/api/v2/workspaces/$ws/actions/unlock"));
});
waitpid $pid, 0;
is $?, 0, 'the database was killed and restarted while clients ran';
open my $fh, '<', $schedule->filename or die $!;
my ($killed, $up) = split ' ', scalar <$fh>;
diag sprintf 'killed at +%.1fs, back at +%.1fs, %d requests',
     $killed - (split ' ', $lines[0])[0], $up - (split ' ', $lines[0])[0],
     scalar @lines;

my @req = map { [split ' ', $_, 5] } @lines;
my @bad = grep { $_->[2] !~ /^(200|409|503)$/ } @req;
is_deeply [map { "$_->[2] $_->[4]" } @bad], [], 'only 200, 409 or 503: no 500, no crash';
is_deeply [map { "$_->[2] $_->[4]" } grep { $_->[3] ne 'jsonapi' } @req], [],
          'every error is a JSON:API document naming its status';
is_deeply [map { "$_->[1]s $_->[4]" } grep { $_->[1] > $bound } @req], [],
          "no request took more than ${bound}s";
ok((grep { $_->[2] == 503 && $_->[0] > $killed && $_->[0] < $up } @req),
   'requests while the database was down got 503');
my ($first_ok) = sort { $a <=> $b }
                 map { $_->[0] + $_->[1] } grep { $_->[0] >= $up && $_->[2] == 200 } @req;
ok defined $first_ok && $first_ok - $up <= 5,
   defined $first_ok ? sprintf('a request succeeded %.2fs after the restart', $first_ok - $up)
                     : 'a request succeeded after the restart';
is_deeply [map { "$_->[2] $_->[4]" } grep { $_->[0] > $up + 5 && $_->[2] == 503 } @req], [],
          'no 503 from 5 s after the restart on';
ok wait_until(20, sub { connects() > $child_connects }),
   'the background child reconnected';

# every workspace can be locked and unlocked again: no lock lost half-way
for my $ws (@ws) {
    api(POST => "/api/v2/workspaces/$ws/actions/unlock");
    my ($res) = api(POST => "/api/v2/workspaces/$ws/actions/lock", body => {});
    my ($res2) = api(POST => "/api/v2/workspaces/$ws/actions/unlock");
    is "${\ $res->code} ${\ $res2->code}", '200 200', "$ws locks and unlocks";
}

done_testing;
