# make run (tools/tp-instance up) on an instance in trouble: right after
# its postmaster was killed with SIGKILL, before anything reaped it, it
# starts PostgreSQL on the first try; on a running instance whose
# configuration no longer parses, it fails with Apache's own message and
# the running server keeps its configuration; without its settings file,
# it gives the existing admin a new password and token and says so.
use strict;
use warnings FATAL => 'all';
use Test::More;
use POSIX ();
use TP::E2E;
use TP::Faults;

my $dir = instance()->{DIR};
my $pg = $ENV{PG_BINDIR};

sub make_run {
    my $out = qx{$ENV{TP_SRC}/tools/tp-instance up $dir 2>&1};
    return ($?, $out);
}
sub accepting { system("$pg/pg_isready -q -h $dir/run") == 0 }
sub zombie { open my $fh, '<', "/proc/$_[0]/stat" or return 0; (split ' ', <$fh>)[2] eq 'Z' }

subtest 'make run right after the postmaster was killed, not yet reaped' => sub {
    tp_instance('db-down', $dir);
    # PostgreSQL as a child of this test, so the test decides when the
    # killed postmaster is reaped (as a slow init would)
    my $pm = fork // die "fork: $!";
    if (!$pm) {
        if ($> == 0) {
            my ($uid, $gid) = (getpwnam 'terrapod')[2, 3];
            $) = "$gid $gid";
            POSIX::setgid($gid) && POSIX::setuid($uid) or POSIX::_exit(126);
        }
        open STDOUT, '>>', "$dir/log/postgresql.log" or POSIX::_exit(125);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(125);
        { exec "$pg/postgres", '-D', "$dir/pg", '-k', "$dir/run",
               '-c', 'listen_addresses=', '-c', 'max_connections=200' }
        POSIX::_exit(127);
    }
    ok wait_until(30, \&accepting), 'PostgreSQL runs';
    my @backends = split ' ', qx{pgrep -P $pm};
    kill 'KILL', $pm, @backends;
    ok wait_until(10, sub { zombie($pm) }), 'the killed postmaster is a zombie';
    sleep 1;
    my ($rc, $out) = make_run();
    is $rc, 0, 'make run succeeds on the first try' or diag $out;
    ok accepting(), 'PostgreSQL accepts connections';
    is eval { scalar psql('SELECT 1') }, 1, 'and answers';
    ok wait_until(10, \&ready), 'the server is ready';
    waitpid $pm, 0;
};

subtest 'make run with a misspelt directive in conf.d' => sub {
    my $pid = httpd_pid();
    write_file(snippet('misspelt'), "TerrapodTokenCach 5\n");
    my ($rc, $out) = make_run();
    unlink snippet('misspelt');
    isnt $rc, 0, 'make run fails';
    like $out, qr/Invalid command 'TerrapodTokenCach'/, "with Apache's own message";
    ok kill(0, $pid), 'the running Apache was left alone';
    ok ready(), 'and still answers /ready';
    is httpd_pid(), $pid, 'the same server';
};

subtest 'make run with its settings file gone' => sub {
    my $old = instance();
    unlink "$dir/run/terrapod.env" or die $!;
    my ($rc, $out) = make_run();
    is $rc, 0, 'make run succeeds' or diag $out;
    like $out, qr/admin\@localhost existed without \S+terrapod\.env: it has a new password and API token/,
         'saying the admin was given a new password and token';
    my $new = instance();
    isnt $new->{TERRAPOD_TOKEN}, $old->{TERRAPOD_TOKEN}, 'a new token is written';
    is((api(GET => '/api/v2/account/details'))[0]->code, 200, 'and works');
    is((api(GET => '/api/v2/account/details', token => $old->{TERRAPOD_TOKEN}))[0]->code,
       200, 'the earlier token still works');
};

done_testing;
