# Deletions while a backup runs (docs/backup.md): a backup holds an
# advisory lock from before its database dump until its copy of storage is
# done. Meanwhile deleting a state version or a workspace deletes the rows
# at once (and never waits for the backup) but keeps the files, which the
# dump may still name; without a backup the files go with the rows.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Path ();
use IPC::Open2 ();
use Time::HiRes ();
use TP::Test;

plan tests => 30;

my $storage = "$ENV{TP_INSTANCE}/storage";
my $owner = user_token('backup-owner@test.local');

# A finalized state version of ws holding an output; returns its id.
sub stored_sv {
    my ($ws, $n) = @_;
    my $r = api(POST => "/api/terrapod/v1/workspaces/$ws/state-versions/actions/upload",
                token => $owner, headers => {'Content-Type' => 'application/json'},
                body => qq({"version":4,"terraform_version":"1.11.4","serial":0,)
                      . qq("lineage":"backup-test","outputs":{"n":{"value":"$n",)
                      . qq("type":"string"}},"resources":[]}));
    die 'storing state: ' . $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}

sub error_log {
    local (@ARGV, $/) = (Apache::Test::vars('t_logs') . '/error_log');
    return <> // '';
}

# Three tests: DELETE $path during a backup answers 204 at once, and the
# resource ($shown, what it is) is gone.
sub deleted_at_once {
    my ($path, $shown, $what) = @_;
    my $t0 = Time::HiRes::time();
    my $r = api(DELETE => $path, token => $owner);
    is $r->code, 204, "deleting $what during a backup: 204";
    cmp_ok Time::HiRes::time() - $t0, '<', 5, 'it does not wait for the backup';
    is api(GET => $shown, token => $owner)->code, 404, "the $what is gone";
}

my $ws = make_ws($owner, 'backup-deletions');
my @sv = map { stored_sv($ws, $_) } 1 .. 4;
my $file = sub { "$storage/state/$ws/$_[0].tfstate" };
ok -f $file->($sv[0]), 'a state version\'s file is stored';

# ---- while a backup holds its lock ----

my $lock = hold_backup_lock();
deleted_at_once("/api/terrapod/v1/state-versions/$sv[0]/manage",
                "/api/v2/state-versions/$sv[0]", 'state version');
is sql("SELECT count(*) FROM state_versions WHERE id = '$sv[0]'"), 0,
   'its row is deleted';
ok -f $file->($sv[0]), 'its file stays for the backup to copy';
like error_log(), qr/TP01500: state version \Q$sv[0]\E deleted while a backup runs/,
     'the kept file is logged';

my $doomed = make_ws($owner, 'backup-deleted-ws');
my $doomed_sv = stored_sv($doomed, 1);
make_cv($owner, $doomed);
ok -d "$storage/config/$doomed", 'the doomed workspace has a configuration stored';
deleted_at_once("/api/v2/workspaces/$doomed", "/api/v2/workspaces/$doomed",
                'workspace');
is sql("SELECT count(*) FROM state_versions WHERE workspace_id = '$doomed'"), 0,
   'its state versions\' rows went with it';
ok -f "$storage/state/$doomed/$doomed_sv.tfstate", 'its state file stays';
ok -d "$storage/config/$doomed", 'so do its configurations';
like error_log(), qr/TP01501: workspace \Q$doomed\E deleted while a backup runs/,
     'the kept files are logged';

# other work goes on during a backup
my $during = stored_sv($ws, 5);
ok -f $file->($during), 'a state version stored during a backup is stored';
is current_sv_id($ws, $owner), $during, 'and current';

# a second backup waits for the first: the lock is exclusive
is sql("SELECT pg_try_advisory_lock($BACKUP_LOCK)"), 'f',
   'another backup cannot take the lock meanwhile';
release_backup_lock($lock);

# ---- without a backup ----

my $r = api(DELETE => "/api/terrapod/v1/state-versions/$sv[1]/manage",
            token => $owner);
is $r->code, 204, 'deleting a state version with no backup running: 204';
ok !-e $file->($sv[1]), 'its file goes with it';
ok -f $file->($sv[0]), 'what a backup kept stays (an orphan nothing reads)';
is api(GET => "/api/v2/state-versions/$sv[2]/download", token => $owner)->code, 200,
   'the versions left still download';

my $gone = make_ws($owner, 'backup-gone-ws');
my $gone_sv = stored_sv($gone, 1);
make_cv($owner, $gone);
$r = api(DELETE => "/api/v2/workspaces/$gone", token => $owner);
is $r->code, 204, 'deleting a workspace with no backup running: 204';
ok !-e "$storage/state/$gone", 'its state files go with it';
ok !-e "$storage/config/$gone", 'and its configurations';
unlike error_log(), qr/TP01500: state version \Q$sv[1]\E|TP01501: workspace \Q$gone\E/,
       'nothing is logged as kept';

# a lock some other session holds shared (a deletion under way) is no
# backup's: only the exclusive one keeps files
my $shared = IPC::Open2::open2(my $sout, my $sin, "$ENV{PG_BINDIR}/psql",
                               '-X', '-q', '-tA', $ENV{TP_DB});
print $sin "SELECT 'held' FROM pg_advisory_lock_shared($BACKUP_LOCK);\n";
$sin->flush;
chomp(my $held = <$sout> // '');
is $held, 'held', 'another session holds the lock shared';
$r = api(DELETE => "/api/terrapod/v1/state-versions/$sv[2]/manage",
         token => $owner);
is $r->code, 204, 'deleting then: 204';
ok !-e $file->($sv[2]), 'the file goes: deletions do not keep each other\'s files';
close $sin;
waitpid $shared, 0;

is sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
       . " AND (classid::bigint << 32) + objid::bigint = $BACKUP_LOCK"), 0,
   'no session holds the backup lock afterwards';

# the orphans kept above go, as an operator may remove them: other tests
# count what storage holds
File::Path::remove_tree("$storage/config/$doomed", "$storage/state/$doomed");
unlink $file->($sv[0]);
