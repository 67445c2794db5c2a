# The audit writer held up by a table lock (a psql session of our own holds
# LOCK TABLE audit_log IN SHARE MODE, which blocks every insert): with its
# queue full, requests still get their answers and write their own entries,
# none lost or doubled; and what is queued when Apache stops is written
# before the processes exit. TerrapodAuditQueue is range-checked.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Time::HiRes qw(time sleep);
use File::Temp ();
use POSIX ();
use TP::E2E;

my $dir = instance()->{DIR};
my $snippet = "$dir/conf.d/audit-queue.conf";
my $tag = "$$-" . int(time);        # this run's markers only
my $main = $$;
my ($lock_pid, $done);

# Takes the lock in a session left open; returns what releases it.
sub hold_audit_lock {
    $lock_pid = open my $pg, '|-', psql_cmd() or die "psql: $!";
    $pg->autoflush(1);
    print $pg "BEGIN;\nLOCK TABLE audit_log IN SHARE MODE;\n";
    wait_until(10, sub {
        (psql("SELECT count(*) FROM pg_locks WHERE granted AND mode = "
              . "'ShareLock' AND relation = 'audit_log'::regclass"))[0] == 1
    }) or die 'the audit_log lock was never granted';
    return sub {
        print $pg "COMMIT;\n";
        close $pg or die 'the psql session holding the lock failed';
        undef $lock_pid;
    };
}

# Inserts into audit_log waiting on the lock: the writers' (their
# connections carry the writer's application_name) and those of requests
# writing their own entries.
my $WRITER = 'mod_terrapod audit writer';
sub waiting_inserts {
    my ($row) = psql("SELECT count(*) FILTER (WHERE application_name = '$WRITER'),"
                     . " count(*) FILTER (WHERE application_name <> '$WRITER')"
                     . " FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                     . " AND query LIKE '%INSERT INTO audit_log%'");
    return split /\|/, $row;
}

# How many entries each path carrying prefix has.
sub entries {
    my ($prefix) = @_;
    return {map { split /\|/ } psql("SELECT path, count(*) FROM audit_log "
                                    . "WHERE path LIKE '%/$prefix-%' GROUP BY path")};
}

sub path_of { "/api/v2/organizations/default/workspaces/$_[0]" }

# One GET per marker, all at once, each on a connection of its own (LWP
# sends Connection: close); returns {marker => status} of the clients
# answered within seconds, the others killed.
sub request_all {
    my ($seconds, @markers) = @_;
    my $out = File::Temp->new(DIR => $dir);
    my %running;
    for my $m (@markers) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my ($res) = api(GET => path_of($m));
            open my $fh, '>>', $out->filename or die $!;
            flock $fh, 2;
            print $fh "$m ", $res->code, "\n";
            close $fh;
            POSIX::_exit(0);
        }
        $running{$pid} = 1;
    }
    wait_until($seconds, sub {
        delete @running{grep { waitpid($_, POSIX::WNOHANG()) > 0 } keys %running};
        !%running;
    });
    kill 'KILL', keys %running;
    waitpid $_, 0 for keys %running;
    open my $fh, '<', $out->filename or die $!;
    return map { split } <$fh>;
}

# The same one after another, in three waves: a writer gathers what comes
# within 100 ms of its first entry into one batch (and blocks on it), so
# the waves after the first, a moment later, wait in the queues of the
# processes whose writers are blocked.
sub request_each {
    my @markers = @_;
    my %status;
    while (my @wave = splice @markers, 0, int(@_ / 3) || 1) {
        %status = (%status, map { ($_ => (api(GET => path_of($_)))[0]->code) } @wave);
        Time::HiRes::sleep(0.3) if @markers;
    }
    return %status;
}

# a failed or interrupted run still leaves the instance as it found it
END {
    if ($$ == $main && !$done) {
        local $?;
        kill 'TERM', $lock_pid if $lock_pid;
        unlink $snippet;
        system "$ENV{TP_SRC}/tools/tp-instance", 'httpd-up', $dir;
    }
}

subtest 'TerrapodAuditQueue outside 1..1000000 stops the configuration' => sub {
    config_refuses($snippet, 'TerrapodAuditQueue', '1 to 1000000', 0, 1000001);
};

# A queue of 1 per Apache process: each of them (up to 4) takes in its
# writer's blocked batch and one entry more, so most of 20 requests write
# their own; a blocked request holds one of the process's 25 pooled
# connections, so there are not more.
subtest 'a full queue: requests write their own entries' => sub {
    my @markers = map { "audit-q-$tag-$_" } 1 .. 20;
    write_file($snippet, "TerrapodAuditQueue 1\n");
    restart_httpd();
    my $release = hold_audit_lock();
    my %status = request_all(20, @markers);
    is scalar(keys %status), scalar @markers,
       'every client got its answer while the inserts were blocked';
    is_deeply [grep { $status{$_} != 404 } keys %status], [], 'each a 404';
    my ($writer, $own) = (0, 0);
    wait_until(10, sub { ($writer, $own) = waiting_inserts(); $writer && $own });
    cmp_ok $writer + $own, '>', 1, "more than one insert waits on the lock";
    cmp_ok $writer, '>', 0, "writers wait in their batch transactions ($writer)";
    cmp_ok $own, '>', 0, "requests wait writing their own entries ($own)";
    $release->();
    ok wait_until(10, sub { keys %{ entries("audit-q-$tag") } == @markers }),
       'the entries arrive once the lock is released';
    sleep 1;        # a doubled entry would come from a writer by now
    is_deeply entries("audit-q-$tag"), {map { (path_of($_) => 1) } @markers},
              'every request recorded exactly once';
    unlink $snippet;
    restart_httpd();
};

# The default queue takes every entry; Apache is told to stop while the
# writers are blocked, and the lock goes only once a process has begun its
# exit (TP01302). Apache repeats its SIGTERM from 3 s after the stop and
# sends SIGKILL (AH00046) at 9 s; the lock is held for a fraction of that.
subtest 'entries queued when Apache stops are written before it exits' => sub {
    my @markers = map { "audit-x-$tag-$_" } 1 .. 30;
    my $from = length error_log();
    my $release = hold_audit_lock();
    my %status = request_each(@markers);
    is_deeply [grep { $status{$_} != 404 } @markers], [],
              'every client got its answer';
    is_deeply entries("audit-x-$tag"), {}, 'no entry written yet';
    my $stop = fork // die "fork: $!";
    if (!$stop) {
        exec("$ENV{TP_SRC}/tools/tp-instance", 'httpd-down', $dir)
            or POSIX::_exit(127);
    }
    ok wait_until(3, sub { substr(error_log(), $from) =~ /TP01302:/ }),
       'a stopping process still had entries queued';
    sleep 0.5;      # the other processes are in their exit too by then
    my $released = time;
    $release->();
    waitpid $stop, 0;
    is $?, 0, sprintf 'Apache stopped %.1fs after the lock was released',
                      time - $released;
    is_deeply [grep { /AH00046/ } split /\n/, substr(error_log(), $from)], [],
              'no child was killed';
    is_deeply entries("audit-x-$tag"), {map { (path_of($_) => 1) } @markers},
              'every request recorded exactly once';
    tp_instance('httpd-up', $dir);
};

$done = 1;
done_testing;
