# The background child: started with Apache, restarted when it dies,
# reconnecting after a database restart, replaced on a graceful restart,
# and gone when Apache stops.
use strict;
use warnings FATAL => 'all';
use Test::More;
use TP::E2E;

my $dir = instance()->{DIR};

# pids of started children, in log order
sub child_pids { error_log() =~ /TP00200: background child started \(pid (\d+)\)/g }
sub alive { my ($pid) = @_; kill 0, $pid }
sub count_of { my ($re) = @_; my @m = error_log() =~ /$re/g; scalar @m }

my @pids = child_pids();
ok @pids, 'the background child logged its start';
my $pid = $pids[-1];
ok alive($pid), "child $pid runs";
ok wait_until(10, sub { error_log() =~ /TP00210: task purge-expired-tokens/ }),
   'it runs its task and logs a tagged line';

kill 'KILL', $pid;
ok wait_until(10, sub { my @p = child_pids(); $p[-1] != $pid && alive($p[-1]) }),
   'killed: the parent starts a new one';
like error_log(), qr/TP00208: background child died; restarting it/,
   'and says so';
$pid = (child_pids())[-1];

# the database goes away and comes back: the child reconnects by itself
my $connects = count_of(qr/TP00203: background child connected/);
my $failures = count_of(qr/TP00202|TP00211/);
my $pg = "$ENV{PG_BINDIR}/pg_ctl";
my $as = $> == 0 ? 'runuser -u terrapod -- ' : '';
system("${as}$pg -D $dir/pg -m fast -w stop >/dev/null") == 0 or die 'pg stop';
ok wait_until(10, sub { count_of(qr/TP00202|TP00211/) > $failures }),
   'database down: the child notices';
system("${as}$pg -D $dir/pg -w -l $dir/log/postgresql.log "
       . "-o '-k $dir/run -c listen_addresses=' start >/dev/null") == 0
    or die 'pg start';
ok wait_until(20, sub { count_of(qr/TP00203: background child connected/) > $connects }),
   'database back: the child reconnected';
my $runs = count_of(qr/TP00210: task purge-expired-tokens/);
ok wait_until(10, sub { count_of(qr/TP00210: task purge-expired-tokens/) > $runs }),
   'and runs its task again';
ok alive($pid), 'the same child survived the database restart';

# a graceful restart replaces it; a stop leaves nothing behind
tp_instance('httpd-up', $dir);
ok wait_until(10, sub { !alive($pid) }), 'graceful restart: old child gone';
ok wait_until(10, sub { my @p = child_pids(); $p[-1] != $pid && alive($p[-1]) }),
   'and a new one started';
$pid = (child_pids())[-1];
tp_instance('httpd-down', $dir);
ok wait_until(10, sub { !alive($pid) }), 'Apache stopped: the child is gone';
tp_instance('httpd-up', $dir);
ok wait_until(10, sub { my @p = child_pids(); $p[-1] != $pid && alive($p[-1]) }),
   'Apache started again: a new child runs';

done_testing;
