# docs/install.md, step by step, on an estate of its own: a copy of this
# host's Debian Apache configuration, make install into it, the storage
# directory, keys and listener CA made by terrapod-admin, a PostgreSQL
# cluster set up as the walkthrough says (a database owned by the role
# terrapod, peer authentication mapping root and www-data to it, and
# password authentication through a passfile), the site from the example
# enabled with a2enmod / a2ensite, the schema, the first admin, a pool
# and a join token, the installed listener joining with it, and its log
# rotated with the shipped logrotate snippet.
#
# What differs from a real host, and only that: every path lies under a
# scratch directory, PostgreSQL and Apache listen on free ports, Debian's
# ports.conf listens on none, and terrapod logs at info so the connection
# sizing check can be read.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Temp ();
use File::Path ();
use LWP::UserAgent ();
use HTTP::Request ();
use JSON::PP ();
use Digest::SHA qw(sha256_hex);
use TP::Install;
use TP::Util;

plan skip_all => 'the walkthrough runs as root, as an installation does' if $> != 0;
plan skip_all => 'not a Debian Apache' unless -d '/etc/apache2/mods-available';
for my $user (qw(postgres www-data)) {
    plan skip_all => "no user $user" unless getpwnam $user;
}

my $pg = $ENV{PG_BINDIR} or die 'PG_BINDIR is not set';
# under /tmp: postgres and www-data must reach it
my $E = File::Temp::tempdir('tp-estate-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $E;
my $root = "$E/root";           # the estate's file system (DESTDIR)
my $prefix = make_var('PREFIX');
my $admin = "$root$prefix/bin/terrapod-admin";
my $moddir = apxs_q('LIBEXECDIR');
my ($pgport, $port) = map { free_port() } 1, 2;
my $apache = "$root/etc/apache2";
# a2enmod keeps what an admin enabled under APACHE_STATE_DIRECTORY
my %apache_env = (APACHE_CONFDIR => $apache, APACHE_STATE_DIRECTORY => "$E/state",
                  APACHE_STARTED_BY_SYSTEMD => 1);
my $db = "host=$E/pgrun port=$pgport dbname=terrapod user=terrapod";
my (@stop, $listener);


# a command with some environment: (exit status, output)
sub run_env {
    my ($env, @cmd) = @_;
    local @ENV{keys %$env} = values %$env;
    return run(@cmd);
}

sub ok_run {
    my ($name, @cmd) = @_;
    my ($rc, $out) = run(@cmd);
    is $rc, 0, $name or diag "@cmd: $out";
    return $out;
}

sub as { my $user = shift; return ('runuser', '-u', $user, '--', @_) }

sub psql_as {
    my ($user, $conninfo, $sql) = @_;
    return run(as($user, "$pg/psql", '-X', '-tA', $conninfo, '-c', $sql));
}

sub assigned { my ($name, $out) = @_; return $out =~ /^$name='([^']*)'$/m ? $1 : undef }

# Each step needs the ones before it: the first that fails ends the test.
sub step {
    my ($name, $code) = @_;
    return if subtest $name => $code;
    done_testing;
    exit 1;
}

END {
    local $?;
    kill 'TERM', $listener if $listener;
    $_->() for reverse @stop;
}

my $ua = LWP::UserAgent->new(timeout => 10, ssl_opts => {SSL_ca_file => "$E/tls/server.pem"});
sub api {
    my ($method, $path, $token, $body) = @_;
    my $res = $ua->request(HTTP::Request->new($method, "https://localhost:$port$path",
        [$token ? (Authorization => "Bearer $token") : (),
         Content_Type => 'application/vnd.api+json'],
        $body ? JSON::PP::encode_json($body) : undef));
    return ($res, eval { JSON::PP::decode_json($res->content) });
}

step 'this host\'s Apache, and make install into it' => sub {
    File::Path::make_path("$root/etc");
    ok_run('its configuration is copied', 'cp', '-a', '/etc/apache2', "$root/etc/");
    # nobody else's ports, and no run directories of the host's
    spew("$apache/ports.conf", "# the site says Listen\n");
    mkdir $_ for "$E/log", "$E/log/apache2", "$E/run", "$E/lock";
    spew("$apache/envvars", slurp("$apache/envvars") . join '', map { "export $_\n" }
         "APACHE_RUN_DIR=$E/run/apache2", "APACHE_PID_FILE=$E/run/apache2/apache2.pid",
         "APACHE_LOCK_DIR=$E/lock/apache2", "APACHE_LOG_DIR=$E/log/apache2");
    spew("$apache/apache2.conf", slurp("$apache/apache2.conf") . "LogLevel warn terrapod:info\n");
    my ($rc, $out) = make('install', "DESTDIR=$root");
    is $rc, 0, 'make install' or diag $out;
    # the module where this estate's Apache finds it
    my $load = slurp("$apache/mods-available/terrapod.load");
    ok $load =~ s{\Q$moddir\E/mod_terrapod\.so}{$root$moddir/mod_terrapod.so}, 'terrapod.load names the module';
    spew("$apache/mods-available/terrapod.load", $load);
};

step 'the storage directory, the HMAC key and the listener CA' => sub {
    ok_run('storage directory', 'install', '-d', '-m', '0755', "$root/var/lib/terrapod");
    ok_run('owned by www-data', 'install', '-d', '-o', 'www-data', '-g', 'www-data',
           '-m', '0750', "$root/var/lib/terrapod/storage");
    ok_run('/etc/terrapod', 'install', '-d', '-m', '0755', "$root/etc/terrapod");
    ok_run('gen-hmac-key', $admin, 'gen-hmac-key', '--out', "$root/etc/terrapod/hmac.key");
    ok_run('init-ca', $admin, 'init-ca', '--cert', "$root/etc/terrapod/listener-ca.pem",
           '--key', "$root/etc/terrapod/listener-ca.key");
    my @st = stat "$root/var/lib/terrapod/storage";
    is((getpwuid $st[4])[0], 'www-data', 'the storage belongs to www-data');
    # the site's own certificate (a real one in production)
    mkdir "$E/tls";
    ok_run('a certificate for localhost', 'openssl', 'req', '-x509', '-newkey', 'ec',
           '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$E/tls/server.key",
           '-out', "$E/tls/server.pem", '-days', 2, '-subj', '/CN=localhost',
           '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
};

step 'PostgreSQL: a database owned by terrapod, peer authentication' => sub {
    for my $d ("$E/pg", "$E/pgrun") {
        mkdir $d, 0700 or die;
        ok_run("$d belongs to postgres", 'chown', 'postgres:', $d);
    }
    chmod 0755, "$E/pgrun";
    ok_run('initdb', as('postgres', "$pg/initdb", '-D', "$E/pg", '--auth-local=peer',
                        '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8'));
    # Debian's pg_hba.conf, with the walkthrough's line before "all all"
    spew("$E/pg/pg_hba.conf", <<"HBA");
local   all             postgres                                peer
local   terrapod        terrapod                                peer map=terrapod
host    terrapod        terrapod        127.0.0.1/32            scram-sha-256
local   all             all                                     peer
HBA
    spew("$E/pg/pg_ident.conf", <<"IDENT");
terrapod        root                    terrapod
terrapod        www-data                terrapod
IDENT
    # the walkthrough's one change to Debian's postgresql.conf
    open my $pgconf, '>>', "$E/pg/postgresql.conf" or die $!;
    print $pgconf "max_connections = 200\n";
    close $pgconf;
    ok_run('PostgreSQL starts', as('postgres', "$pg/pg_ctl", '-D', "$E/pg", '-w',
           '-l', "$E/pg/postgresql.log", '-o',
           "-k $E/pgrun -c listen_addresses=127.0.0.1 -p $pgport", 'start'));
    push @stop, sub { run(as('postgres', "$pg/pg_ctl", '-D', "$E/pg", '-m', 'fast', '-w', 'stop')) };
    my %pgenv = (PGHOST => "$E/pgrun", PGPORT => $pgport);
    my ($rc, $out) = run_env(\%pgenv, as('postgres', "$pg/createuser", 'terrapod'));
    is $rc, 0, 'createuser terrapod' or diag $out;
    ($rc, $out) = run_env(\%pgenv, as('postgres', "$pg/createdb", '--owner=terrapod',
                                      '--encoding=UTF8', '--template=template0', 'terrapod'));
    is $rc, 0, 'createdb --owner=terrapod terrapod' or diag $out;
    for my $user (qw(root www-data)) {
        ($rc, $out) = psql_as($user, $db, 'SELECT current_user');
        is $rc, 0, "$user connects" or diag $out;
        is $out, "terrapod\n", "as terrapod";
    }
    ($rc, $out) = psql_as('nobody', $db, 'SELECT 1');
    isnt $rc, 0, 'anyone else does not';
    like $out, qr/Peer authentication failed/, 'peer authentication refuses them';
    ($rc, $out) = psql_as('www-data', $db,
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'terrapod'");
    is $out, "terrapod\n", 'the database belongs to terrapod';
};

step 'or a password, from a passfile' => sub {
    my ($rc, $out) = run(as('postgres', "$pg/psql", '-X', '-q', "host=$E/pgrun port=$pgport",
                            '-c', "ALTER ROLE terrapod PASSWORD 'walkthrough-secret'"));
    is $rc, 0, 'the role gets a password' or diag $out;
    spew("$E/pgpass", "127.0.0.1:$pgport:terrapod:terrapod:walkthrough-secret\n");
    ok_run('the passfile belongs to www-data', 'chown', 'www-data:', "$E/pgpass");
    chmod 0600, "$E/pgpass";
    my $tcp = "host=127.0.0.1 port=$pgport dbname=terrapod user=terrapod passfile=$E/pgpass";
    for my $user (qw(root www-data)) {
        ($rc, $out) = psql_as($user, $tcp, 'SELECT current_user');
        is $out, "terrapod\n", "$user connects with it" or diag $out;
    }
    ($rc, $out) = psql_as('www-data', "host=127.0.0.1 port=$pgport dbname=terrapod user=terrapod"
                                    . " passfile=/nonexistent", 'SELECT 1');
    isnt $rc, 0, 'without it, not';
};

step 'the schema, then the site' => sub {
    my $out = ok_run('terrapod-admin migrate', $admin, 'migrate', '--db', $db,
                     '--schema', "$root/usr/share/mod_terrapod/sql");
    my @sql = glob "$root/usr/share/mod_terrapod/sql/*.sql";
    is $out, 'applied=' . @sql . "\n", 'applies every schema file';
    my $site = slurp("$root/usr/share/mod_terrapod/terrapod-site.conf.example");
    my %edits = (
        qr{^#(Listen) 8443 https$}m => "Listen $port https",
        qr{<VirtualHost \*:443>} => "<VirtualHost *:$port>",
        qr{terraform\.example\.com(?=\n)} => 'localhost',
        qr{/etc/ssl/certs/terraform\.example\.com\.pem} => "$E/tls/server.pem",
        qr{/etc/ssl/private/terraform\.example\.com\.key} => "$E/tls/server.key",
        qr{host=/var/run/postgresql} => "host=$E/pgrun port=$pgport",
        qr{(?<= )(?=/var/lib/terrapod/|/etc/terrapod/|/usr/share/mod_terrapod/)} => $root,
    );
    for my $re (keys %edits) {
        ok $site =~ s/$re/$edits{$re}/g, "the example has $re";
    }
    spew("$apache/sites-available/terrapod.conf", $site);
    my ($rc, $a2) = run_env(\%apache_env, 'a2enmod', 'terrapod', 'ssl');
    is $rc, 0, 'a2enmod terrapod ssl' or diag $a2;
    ok -l "$apache/mods-enabled/$_.load", "$_ is enabled" for qw(terrapod ssl dbd socache_shmcb);
    ok -l "$apache/mods-enabled/terrapod.conf", 'with terrapod.conf';
    ($rc, $a2) = run_env(\%apache_env, 'a2ensite', 'terrapod');
    is $rc, 0, 'a2ensite terrapod' or diag $a2;
    # the installed module refuses a broken key and a CA key that is not
    # its certificate's while the configuration is tested
    my $key = "$root/etc/terrapod/hmac.key";
    my $ca_key = "$root/etc/terrapod/listener-ca.key";
    my %kept = map { $_ => slurp($_) } $key, $ca_key;
    spew($key, 'too short');
    ($rc, $out) = run_env(\%apache_env, 'apache2ctl', 'configtest');
    isnt $rc, 0, 'a short HMAC key: configtest fails';
    like $out, qr/TP00002: cannot use HMAC key file \Q$key\E/, 'with the module\'s reason';
    unlike $out, qr/Syntax OK/, 'and no Syntax OK';
    spew($key, $kept{$key});
    ok_run('another key', 'openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt',
           'ec_paramgen_curve:P-256', '-out', $ca_key);
    ($rc, $out) = run_env(\%apache_env, 'apache2ctl', 'configtest');
    isnt $rc, 0, 'a listener CA key that is not its certificate\'s: configtest fails';
    like $out, qr/TP00703: listener CA/, 'with the module\'s reason';
    spew($ca_key, $kept{$ca_key});
    ($rc, $out) = run_env(\%apache_env, 'apache2ctl', 'configtest');
    is $rc, 0, 'apache2ctl configtest' or diag $out;
    like $out, qr/Syntax OK/, 'Syntax OK';
    ($rc, $out) = run_env(\%apache_env, 'apache2ctl', 'start');
    is $rc, 0, 'Apache starts' or diag $out;
    push @stop, sub { run_env(\%apache_env, 'apache2ctl', 'stop');
                      wait_until(20, sub { !-e "$E/run/apache2/apache2.pid" }) };
    ok wait_until(30, sub { (api(GET => '/ready'))[0]->code == 200 }),
       'and answers /ready' or diag slurp("$E/log/apache2/error.log");
    # the background child compares what Apache may open with what
    # PostgreSQL accepts once it has connected: the site's DBDMax on the
    # module's MPM sizing fits the walkthrough's max_connections
    ok wait_until(30, sub { slurp("$E/log/apache2/error.log") =~ /TP0021[23]/ }),
       'the connection sizing is checked';
    my $log = slurp("$E/log/apache2/error.log");
    like $log, qr/TP00213: Apache may open up to 193 database connections; PostgreSQL accepts 197/,
         'and fits: 16 x (10 + 2) + 1 = 193 of 197';
    unlike $log, qr/TP00212/, 'no warning';
    my @children = grep { (stat "/proc/$_")[4] == getpwnam('www-data') }
                   split ' ', qx{pgrep -P \$(cat $E/run/apache2/apache2.pid)};
    ok @children, 'the children run as www-data';
};

step 'the web UI, served by the site' => sub {
    my ($res) = api(GET => '/');
    is $res->code, 200, 'GET / answers';
    like $res->content, qr{<script type="module" src="assets/app-\w+\.js">}, 'with the UI\'s page';
    like $res->header('Content-Security-Policy') // '', qr/^default-src 'self'/,
         'under a policy that allows its own files only';
    ($res) = api(GET => '/app/default/my-ws/runs/run-x');
    is $res->code, 200, 'a UI address answers too (a reload of a deep link)';
    like $res->content, qr{<base href="/">}, 'with the same page';
    my ($js) = $res->content =~ m{src="(assets/[^"]+)"};
    ($res) = api(GET => "/$js");
    is $res->code, 200, 'its script is there';
    like $res->header('Cache-Control') // '', qr/immutable/, 'kept for good by browsers';
    ($res) = api(GET => '/assets/app-GONE.js');
    is $res->code, 404, 'an asset that is not there is a 404, not the page';
    ($res) = api(GET => '/api/v2/nothing-here');
    is $res->code, 404, 'the module\'s paths stay the module\'s';
    like $res->content, qr/"errors"/, 'answered by it';
};

my ($token, $join);
step 'the first admin, a pool and a join token' => sub {
    my $out = ok_run('terrapod-admin bootstrap', $admin, 'bootstrap', '--db', $db,
                     '--email', 'you@example.com');
    $token = assigned('TERRAPOD_TOKEN', $out);
    ok $token, 'prints the API token';
    my ($res, $doc) = api(GET => '/api/v2/account/details', $token);
    is $res->code, 200, 'which works against the site';
    is $doc->{data}{attributes}{email}, 'you@example.com', 'as the admin';
    $out = ok_run('pool create', $admin, 'pool', 'create', '--db', $db, '--name', 'default');
    my $pool = assigned('TERRAPOD_POOL_ID', $out);
    like $pool // '', qr/^apool-\w+$/, 'prints the pool id';
    my ($rc, $again) = run($admin, 'pool', 'create', '--db', $db, '--name', 'default');
    is $rc, 0, 'a second pool create succeeds';
    is assigned('TERRAPOD_POOL_ID', $again), $pool, 'with the same pool';
    like $again, qr/agent pool default exists; nothing changed/, 'saying nothing changed';
    ($rc, $out) = run($admin, 'pool', 'create', '--db', $db, '--name', 'no spaces');
    is $rc, 1, 'a name with a space is refused';
    like $out, qr/name must be 1 to 90 letters, digits, '-' or '_'/, 'saying why';
    ($res, $doc) = api(GET => "/api/terrapod/v1/agent-pools/$pool", $token);
    is $doc->{data}{attributes}{name}, 'default', 'the API shows the pool';
    $out = ok_run('join-token create', $admin, 'join-token', 'create', '--db', $db,
                  '--pool', 'default', '--description', 'build-01', '--max-uses', 1,
                  '--lifespan-hours', 24);
    $join = assigned('TERRAPOD_JOIN_TOKEN', $out);
    my $id = assigned('TERRAPOD_JOIN_TOKEN_ID', $out);
    ok $join && $id, 'prints the join token and its id';
    (undef, $out) = psql_as('root', $db, "SELECT token_hash, max_uses, description, created_by,"
        . " expires_at BETWEEN now() + interval '23 hours' AND now() + interval '25 hours'"
        . " FROM agent_pool_tokens WHERE id = '$id'");
    is $out, join('|', sha256_hex($join), 1, 'build-01', 'terrapod-admin', 't') . "\n",
       'stored as its hash, with its uses, description and lifespan';
    ($rc, $out) = run($admin, 'join-token', 'create', '--db', $db, '--pool', 'nope');
    is $rc, 1, 'a pool that does not exist';
    like $out, qr/agent pool nope not found/, 'is named';
    for my $bad (['--max-uses', 0], ['--lifespan-hours', 8761], ['--max-uses', 'x']) {
        ($rc) = run($admin, 'join-token', 'create', '--db', $db, '--pool', 'default', @$bad);
        is $rc, 2, "@$bad is a usage error";
    }
};

my $llog = "$E/log/listener/listener.log";
step 'the installed listener joins' => sub {
    mkdir "$E/log/listener", 0750;
    $listener = fork // die "fork: $!";
    if (!$listener) {
        $ENV{TERRAPOD_JOIN_TOKEN} = $join;
        exec "$root$prefix/bin/terrapod-listener", '--url', "https://localhost:$port",
             '--name', 'build-01', '--state-dir', "$E/listener", '--ca-file',
             "$E/tls/server.pem", '--log-file', $llog;
        die "exec: $!";
    }
    ok wait_until(30, sub { -f $llog && slurp($llog) =~ /TPL0011/ }),
       'it joins (a client certificate from the listener CA, verified by mod_ssl)'
       or diag -f $llog ? slurp($llog) : 'no log';
    like slurp($llog), qr/TPL0002: joined as listener/, 'its log file says so';
    is sprintf('%04o', (stat $llog)[2] & 07777), '0600', 'the log file is 0600';
    my (undef, $doc) = api(GET => '/api/terrapod/v1/agent-pools', $token);
    my ($pool) = grep { $_->{attributes}{name} eq 'default' } @{ $doc->{data} };
    is $pool->{attributes}{'listener-count'}, 1, 'the pool has it';
};

step 'its log is rotated with the shipped logrotate snippet' => sub {
    plan skip_all => 'logrotate is not installed'
        unless -x '/usr/sbin/logrotate' || qx{command -v logrotate 2>/dev/null};
    my $conf = slurp("$root/etc/logrotate.d/terrapod-listener");
    # this estate's file, and the reload systemd would send
    ok $conf =~ s{/var/log/terrapod-listener/listener\.log}{$llog}, 'the snippet names the log';
    ok $conf =~ s{systemctl reload terrapod-listener\.service}{kill -HUP $listener},
       'and reloads the service';
    spew("$E/logrotate.conf", $conf);
    my $before = slurp($llog);
    my ($rc, $out) = run('logrotate', '-f', '-s', "$E/logrotate.state", "$E/logrotate.conf");
    is $rc, 0, 'logrotate runs' or diag $out;
    is slurp("$llog.1"), $before, 'the old log is moved aside whole';
    ok wait_until(10, sub { -f $llog && slurp($llog) =~ /TPL0015: reopened the log file/ }),
       'the listener writes a new one';
    is sprintf('%04o', (stat $llog)[2] & 07777), '0600', 'mode 0600';
    unlike slurp("$llog.1"), qr/TPL0015/, 'and nothing more into the old one';
};

done_testing;
