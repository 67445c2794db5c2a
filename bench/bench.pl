# The benchmarks of make bench, against the instance bench/run started:
# hot reads and locks against a static file (and the locks' statements
# against PostgreSQL alone), state transfer and the upload child's memory,
# the CLI with the cloud and local backends, listener claim latency,
# reads at scale with their query plans, the web UI's first load and
# its workspaces list at scale in Chromium, and VCS-driven runs (a webhook
# to a queued run, a poll cycle with nothing new) against a fake GitHub,
# the drift task at scale, a notification fan-out to 100 receivers,
# terraform init of registry modules against the same modules as local
# paths, a private provider's zip through its signed URL against a
# static file, and state transfer on an S3-compatible bucket against the
# directory. Prints the results and writes
# them as Markdown to the file named by the first argument.
use strict;
use warnings FATAL => 'all';
use Digest::MD5 ();
use JSON::PP ();
use List::Util qw(sum);
use POSIX qw(floor strftime);
use Time::HiRes qw(time sleep);
use TP::E2E;
use TP::FakeGitHub;
use TP::FakeReceiver;
use TP::ProviderRelease;

my $out_file = shift or die "usage: bench.pl RESULTS.md\n";
my $e = instance();
my $DIR = $e->{DIR};
my $URL = $e->{TERRAPOD_URL};
my $SRC = $ENV{TP_SRC};
my $ORG_WS = '/api/v2/organizations/default/workspaces';
my $MIB = 1024 * 1024;

my @report;                  # Markdown, in order
my %summary;                 # metric -> [value, target, verdict]

sub say_line { print "$_[0]\n"; push @report, $_[0] }

# ---- small tools ----

sub must {
    my ($want, $res, $what) = @_;
    die "$what: " . $res->code . ' ' . $res->content . "\n"
        unless $res->code == $want;
}

sub median {
    my @s = sort { $a <=> $b } @_;
    return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}

sub percentile {
    my ($pct, @v) = @_;
    my @s = sort { $a <=> $b } @v;
    return $s[floor(($#s) * $pct / 100 + 0.5)];
}

sub to_ms {
    my ($v, $unit) = @_;
    return $v / 1000 if $unit eq 'us';
    return $v * 1000 if $unit eq 's';
    return $v;
}

# wrk against a path of the instance; returns {rps, p50, p99, errors}.
sub wrk {
    my ($path, %o) = @_;
    my @cmd = ('wrk', '-t', $o{threads} // 2, '-c', $o{conns} // 32,
               '-d', ($o{secs} // 10) . 's', '--latency',
               '-s', "$SRC/bench/" . ($o{script} // 'auth.lua'), "$URL$path");
    local $ENV{TP_BENCH_TOKEN} = $o{token} // $e->{TERRAPOD_TOKEN};
    local $ENV{TP_BENCH_LOCK_IDS} = $o{lock_ids} // '';
    my $out = qx{@cmd 2>&1};
    die "wrk failed: $out" if $?;
    my %r = (errors => 0);
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    for my $pct (50, 99) {
        my ($v, $unit) = $out =~ /^\s+$pct%\s+([\d.]+)(us|ms|s)\s*$/m
            or die "wrk output without $pct%: $out";
        $r{"p$pct"} = to_ms($v, $unit);
    }
    $r{errors} += $1 if $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    $r{errors} += $1 + $2 + $3 + $4
        if $out =~ /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/;
    return \%r;
}

# wrk measuring a steady state: 2 s of the same load first. Without it
# the GET measured first after the setup had the longer tail, whichever
# of the two it was (p99 9.6 to 12.0 ms against 8.2 to 9.6 in six runs).
sub warm_wrk {
    my ($path, %o) = @_;
    wrk($path, %o, secs => 2);
    return wrk($path, %o);
}

# curl transferring a file (with the admin token when asked); returns MiB/s.
sub curl_rate {
    my ($method, $url, $file, $auth) = @_;
    my @io = $method eq 'PUT' ? ('-T', $file, '-o', '/dev/null')
                              : ('-o', '/dev/null');
    my $w = $method eq 'PUT' ? '%{http_code} %{speed_upload}'
                             : '%{http_code} %{speed_download}';
    my @h = $auth ? ('-H', "\@$DIR/run/bench-auth") : ();
    my $out = qx{curl -sS --cacert '$e->{TERRAPOD_CA_FILE}' -X $method @h @io -w '$w' '$url'};
    my ($code, $speed) = split ' ', $out;
    die "curl $method $url: $out\n" unless $code && $code == 200;
    return $speed / $MIB;
}

sub verdict {
    my ($ok) = @_;
    return $ok ? 'met' : 'MISSED';
}

# the first 100 characters of a statement, for the report
sub shorten { length $_[0] > 100 ? '`' . substr($_[0], 0, 100) . '...`' : "`$_[0]`" }

sub fmt { sprintf '%.' . ($_[1] // 2) . 'f', $_[0] }

sub table {
    my ($head, @rows) = @_;
    say_line('| ' . join(' | ', @$head) . ' |');
    say_line('|' . join('|', map { '---' } @$head) . '|');
    say_line('| ' . join(' | ', @$_) . ' |') for @rows;
    say_line('');
}

sub write_file_sized {
    my ($path, $size, $head, $tail) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $head;
    my $left = $size - length($head) - length($tail);
    my $chunk = 'x' x $MIB;
    while ($left > 0) {
        my $n = $left < $MIB ? $left : $MIB;
        print $fh substr($chunk, 0, $n);
        $left -= $n;
    }
    print $fh $tail;
    close $fh;
}

sub md5_of {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    binmode $fh;
    return Digest::MD5->new->addfile($fh)->hexdigest;
}

# ---- fixtures ----


# A PostgreSQL setting changed for the whole cluster, in force once this
# returns: the half second lets the postmaster pass the reload on to every
# backend.
sub alter_system {
    psql("ALTER SYSTEM $_[0]");
    psql('SELECT pg_reload_conf()');
    sleep 0.5;
}

# What PostgreSQL logged while $run ran, with the setting $on in force
# ($off restores it).
sub logged_during {
    my ($on, $off, $run) = @_;
    my $log = "$DIR/log/postgresql.log";
    my $from = -s $log;
    alter_system($on);
    $run->();
    alter_system($off);
    open my $fh, '<', $log or die "$log: $!";
    seek $fh, $from, 0;
    local $/;
    return scalar <$fh>;
}

sub token_for {
    my ($email) = @_;
    admin_cmd('user', '--email', $email);
    my ($tok) = admin_cmd('token', '--email', $email) =~ /^TERRAPOD_TOKEN='([^']+)'/m
        or die "no token for $email";
    return $tok;
}

sub make_ws {
    my ($name, %attrs) = @_;
    my ($res, $d) = api(POST => $ORG_WS, body => {data => {type => 'workspaces',
        attributes => {name => $name, %attrs}}});
    must(201, $res, "create workspace $name");
    return $d->{data}{id};
}

# A finalized state version through the TFE flow: lock, create, PUT the
# bytes to the signed URL, unlock. Returns the upload rate in MiB/s.
sub push_state {
    my ($ws, $serial, $file) = @_;
    my ($res) = api(POST => "/api/v2/workspaces/$ws/actions/lock",
                    body => {reason => 'bench'});
    must(200, $res, 'lock');
    my $d;
    ($res, $d) = api(POST => "/api/v2/workspaces/$ws/state-versions",
        body => {data => {type => 'state-versions', attributes => {
            serial => $serial, md5 => md5_of($file), lineage => 'bench'}}});
    must(201, $res, 'create state version');
    my $rate = curl_rate(PUT => $d->{data}{attributes}{'hosted-state-upload-url'},
                         $file);
    ($res) = api(POST => "/api/v2/workspaces/$ws/actions/unlock");
    must(200, $res, 'unlock');
    return $rate;
}

sub state_file {
    my ($path, $size, $serial) = @_;
    write_file_sized($path, $size,
        qq({"version":4,"terraform_version":"1.11.4","serial":$serial,)
        . qq("lineage":"bench","outputs":{},"resources":[],"padding":"),
        qq("}\n));
}

# the admin's header for curl, kept off its command line
write_file("$DIR/run/bench-auth", "Authorization: Bearer $e->{TERRAPOD_TOKEN}\n");

my $reader_email = 'bench-reader@bench.local';
my $reader = token_for($reader_email);
my ($res) = api(POST => '/api/terrapod/v1/roles', body => {data => {
    type => 'roles', attributes => {name => 'bench-team',
        'workspace-permission' => 'write', 'allow-labels' => {team => 'bench'}}}});
must(201, $res, 'create role');
($res) = api(PUT => '/api/terrapod/v1/role-assignments', body => {data => {
    type => 'role-assignments', attributes => {'provider-name' => 'local',
        email => $reader_email, roles => ['bench-team']}}});
must(200, $res, 'assign role');

my $load = qx{uptime}; chomp $load;
my $rev = qx{git -C '$SRC' rev-parse --short HEAD 2>/dev/null}; chomp $rev;
say_line('# mod_terrapod benchmark results');
say_line('');
say_line('Run ' . strftime('%Y-%m-%d %H:%M UTC', gmtime) . " at commit `$rev`"
         . ' on ' . qx{nproc} =~ s/\s+//r . ' cores; load before the run: `'
         . ($load =~ s/.*load average/load average/r) . '`.');
say_line('');

# ---- 1. hot reads and locks ----

# Apache restarted with conf.d/NAME.conf holding text, or without it
# (text undef).
sub reconfigure {
    my ($name, $text) = @_;
    my $file = "$DIR/conf.d/$name.conf";
    defined $text ? write_file($file, $text) : unlink $file;
    restart_httpd();
}

# The statements in $text, PostgreSQL's log with log_statement = all:
# {pid, sql, args => {n => literal}} for each prepared one, {pid, sql,
# tx => 1} for BEGIN and COMMIT, {marker => 1} where psql sent $marker.
sub logged_statements {
    my ($text, $marker) = @_;
    my @seen;
    for my $line (split /\n/, $text) {
        my ($pid, $what) = $line =~ /^\S+ \S+ \S+ \[(\d+)\] (?:LOG|DETAIL):  (.*)$/
            or next;
        if ($what eq "statement: $marker") {
            push @seen, {marker => 1};
        } elsif ($what =~ /^statement: (BEGIN|COMMIT)$/) {
            push @seen, {pid => $pid, sql => $1, tx => 1};
        } elsif ($what =~ /^execute [^:]+: (.*)$/) {
            push @seen, {pid => $pid, sql => $1, args => {}};
        } elsif ($what =~ /^parameters: (.*)$/ && @seen && ($seen[-1]{pid} // 0) == $pid) {
            my $args = $1;
            $seen[-1]{args}{$1} = $2 while $args =~ /\$(\d+) = ('(?:[^']|'')*'|NULL)/g;
        }
    }
    return @seen;
}

# The statements one lock and one unlock send, logged around one of each on
# workspace $ws: those naming the workspace, with the BEGIN before and the
# COMMIT after them on the same connection. Each comes back as pgbench SQL:
# the workspace id as :ws, every other value the literal the log shows.
# Returns (\@lock, \@unlock).
sub logged_lock_statements {
    my ($ws) = @_;
    my $marker = q{SELECT 'bench: unlock next'};
    my $text = logged_during(q{SET log_statement = 'all'}, 'RESET log_statement', sub {
        my ($r) = api(POST => "/api/v2/workspaces/$ws/actions/lock",
                      token => $reader, body => {reason => 'bench'});
        must(200, $r, 'lock');
        psql($marker);
        ($r) = api(POST => "/api/v2/workspaces/$ws/actions/unlock", token => $reader);
        must(200, $r, 'unlock');
    });
    my @seen = logged_statements($text, $marker);
    my $names_ws = sub { grep { $_ eq "'$ws'" } values %{ $_[0]{args} // {} } };
    my ($lock, $unlock) = ([], []);
    my $into = $lock;
    for my $i (0 .. $#seen) {
        my $st = $seen[$i];
        if ($st->{marker}) {
            $into = $unlock;
            next;
        }
        if ($st->{tx}) {
            # the transaction of this request's statements, not another's
            my @mine = grep { ($seen[$_]{pid} // 0) == $st->{pid} }
                       $st->{sql} eq 'BEGIN' ? ($i + 1 .. $#seen) : reverse(0 .. $i - 1);
            next unless @mine && $names_ws->($seen[$mine[0]]);
        } elsif (!$names_ws->($st)) {
            next;
        }
        push @$into, ($st->{sql} =~ s/\$(\d+)/$st->{args}{$1} eq "'$ws'"
                                               ? ':ws' : $st->{args}{$1}/ger) . ';';
    }
    die "no lock or unlock statements in PostgreSQL's log\n" unless @$lock && @$unlock;
    return ($lock, $unlock);
}

# PostgreSQL alone, sent what lock + unlock pairs send with no Apache, TLS
# or HTTP in the way: pgbench with 32 clients (as many as wrk's
# connections) on 2 threads (its own share of the CPU kept small), 10 s,
# each client alternating a lock's and an unlock's statements on a
# bench-lock workspace of its own. Returns {rps, p50, p99, errors, lock,
# unlock}.
sub db_lock_pairs {
    my ($ws) = @_;
    psql(q{UPDATE workspaces SET lock_holder = NULL, lock_reason = '',
                  locked_at = NULL WHERE name LIKE 'bench-lock-%'});
    my ($lock, $unlock) = logged_lock_statements($ws);
    my $script = "$DIR/run/lockpair.pgbench";
    # `locked` starts at 2: a client's first transaction looks up its
    # workspace (client n takes the n-th by name, as wrk's thread n does)
    write_file($script, join "\n",
        '\if :locked = 2',
        q{SELECT id AS ws FROM workspaces WHERE name LIKE 'bench-lock-%'}
            . ' ORDER BY name OFFSET :client_id LIMIT 1 \gset',
        '\set locked 0', '\endif',
        '\if :locked', @$unlock, '\set locked 0',
        '\else', @$lock, '\set locked 1', '\endif', '');
    unlink glob("$DIR/run/pgbench-log.*");
    my $out = qx{'$ENV{PG_BINDIR}/pgbench' -n -M prepared -c 32 -j 2 -T 10 -D locked=2 -f '$script' --log --log-prefix='$DIR/run/pgbench-log' -h '$DIR/run' -U terrapod terrapod 2>&1};
    die "pgbench failed: $out" if $?;
    my ($rps) = $out =~ /^tps = ([\d.]+)/m or die "pgbench output without tps: $out";
    my ($failed) = $out =~ /^number of failed transactions: (\d+)/m;
    my @us;
    for my $file (glob "$DIR/run/pgbench-log.*") {
        open my $fh, '<', $file or die "$file: $!";
        push @us, map { (split ' ')[2] } <$fh>;
    }
    return {rps => $rps, errors => $failed // 0, lock => $lock, unlock => $unlock,
            map { ("p$_" => percentile($_, @us) / 1000) } 50, 99};
}

sub hot_reads {
    my $ws = make_ws('bench-hot', labels => {team => 'bench'});
    state_file("$DIR/small.tfstate", 2048, 1);
    push_state($ws, 1, "$DIR/small.tfstate");
    # 32 workspaces for the measured lock + unlock, 8 + 16 more for the
    # runs with fewer connections: wrk stops mid-pair, and a workspace it
    # left locked would answer the next run's first lock with 409
    my @lock_ids = map { make_ws(sprintf('bench-lock-%02d', $_),
                                 labels => {team => 'bench'}) } 1 .. 56;
    my @cases = (['GET workspace by name', "$ORG_WS/bench-hot", 'ws.json'],
                 ['GET current-state-version',
                  "/api/v2/workspaces/$ws/current-state-version", 'csv.json']);
    my (@rows, %static);
    # one GET against the static file measured beside it, its verdicts
    # in the summary under name
    my $measure = sub {
        my ($name, $path, $file) = @_;
        my $api = warm_wrk($path, token => $reader);
        my $ratio = $api->{rps} / $file->{rps};
        push @rows, [$name, $file->{bytes}, fmt($api->{rps}, 0),
                     fmt($api->{p50}), fmt($api->{p99}), $api->{errors},
                     fmt($file->{rps}, 0), fmt($file->{p50}), fmt($file->{p99}),
                     fmt($ratio), verdict($ratio >= 0.25 && $api->{p99} <= 10
                                          && !$api->{errors})];
        $summary{"$name: ratio to static"} = [fmt($ratio), '>= 0.25',
                                              verdict($ratio >= 0.25)];
        $summary{"$name: p99 ms"} = [fmt($api->{p99}), '<= 10',
                                     verdict($api->{p99} <= 10)];
    };
    for my $c (@cases) {
        my ($name, $path, $static) = @$c;
        my ($r) = api(GET => $path, token => $reader);
        must(200, $r, $name);
        write_file_sized("$DIR/htdocs/$static", length($r->content), '', '');
        $static{$name} = {%{warm_wrk("/static/$static")},
                          bytes => length($r->content)};
        $measure->($name, $path, $static{$name});
    }
    # lock + unlock pairs, one thread, connection and workspace each
    my $lock_pairs = sub {
        my ($conns, @ids) = @_;
        return wrk('/', script => 'lockpair.lua', threads => $conns,
                   conns => $conns, token => $reader, lock_ids => "@ids");
    };
    my $lk = $lock_pairs->(32, @lock_ids[0 .. 31]);
    push @rows, ['lock + unlock (requests)', '-', fmt($lk->{rps}, 0),
                 fmt($lk->{p50}), fmt($lk->{p99}), $lk->{errors}, '-', '-', '-',
                 '-', verdict($lk->{p99} <= 10 && !$lk->{errors})];
    $summary{'lock/unlock p99 ms'} = [fmt($lk->{p99}), '<= 10',
                                      verdict($lk->{p99} <= 10)];
    # Fewer connections, not a target: where the writes' throughput levels
    # off, and how the p99 grows with the queue past that point.
    my @ids = @lock_ids[32 .. 55];
    for my $conns (8, 16) {
        my $r = $lock_pairs->($conns, splice @ids, 0, $conns);
        push @rows, ["lock + unlock, $conns connections", '-',
                     fmt($r->{rps}, 0), fmt($r->{p50}), fmt($r->{p99}),
                     $r->{errors}, '-', '-', '-', '-', '-'];
    }
    # Not a target either: the database's own share of the 32-connection
    # row, the floor under its p99 on this machine.
    my $db = db_lock_pairs($lock_ids[0]);
    push @rows, ['lock + unlock statements, PostgreSQL alone', '-',
                 fmt($db->{rps}, 0), fmt($db->{p50}), fmt($db->{p99}),
                 $db->{errors}, '-', '-', '-', '-', '-'];
    # the same GETs worked out from the database every time (last: the
    # restarts leave Apache's threads and database connections cold)
    reconfigure('hot', "TerrapodReadCache 0\n");
    for my $c (@cases) {
        $measure->("$c->[0], read cache off", $c->[1], $static{$c->[0]});
    }
    reconfigure('hot', undef);
    say_line('## 1. Hot reads (wrk, 32 connections, 10 s each, non-admin label-role user)');
    say_line('');
    table(['request', 'bytes', 'req/s', 'p50 ms', 'p99 ms', 'errors',
           'static req/s', 'static p50', 'static p99', 'ratio', 'target'], @rows);
    say_line(sprintf('Lock + unlock: %.0f pairs/s (32 threads, one connection and '
                     . 'one workspace each).', $lk->{rps} / 2));
    say_line('');
    say_line('PostgreSQL alone: pgbench, 32 clients, 10 s, each alternating the '
             . 'statements a lock and an unlock sent (from the statement log; '
             . 'the audit log\'s batched inserts left out) on a workspace of its own:');
    say_line('');
    say_line("- lock: $_") for map { shorten($_) } @{ $db->{lock} };
    say_line("- unlock: $_") for map { shorten($_) } @{ $db->{unlock} };
    say_line('');
}

# ---- 2. state transfer and upload memory ----

# The Apache child that serves requests (bench/run allows only one); the
# background child is single-threaded.
sub worker_pid {
    my $parent = qx{cat '$DIR/run/httpd.pid'}; chomp $parent;
    for my $pid (split ' ', qx{pgrep -P $parent}) {
        my $st = qx{cat /proc/$pid/status 2>/dev/null};
        return $pid if $st =~ /^Threads:\s+(\d+)/m && $1 > 1;
    }
    die "no Apache worker child of $parent\n";
}

# 5 to clear_refs resets VmHWM to the current RSS (needs root or the owner)
sub reset_peak {
    my ($pid) = @_;
    open my $cr, '>', "/proc/$pid/clear_refs" or return 0;
    print $cr "5";
    return close $cr;
}

sub vm_kib {
    my ($pid, $field) = @_;
    my ($kib) = qx{cat /proc/$pid/status} =~ /^$field:\s+(\d+) kB/m
        or die "no $field for $pid";
    return $kib;
}

my $TRANSFER_ROUNDS = 5;

# Each round uploads to a workspace of its own and deletes it (its state
# files with it) once its download is measured. This virtual machine hands
# memory that stays free back to its host, and the page cache a new file
# takes is then slow to fill the first time: with every round's 50 MiB
# kept, uploads ran at 220 to 260 MiB/s, with the round before deleted at
# 350 to 430, on one instance. A server whose page cache is full recycles
# pages it holds, which is what deleting the round before gives here.
sub state_transfer {
    my $size = 50 * $MIB;
    my (@up, @down, @static);
    state_file("$DIR/htdocs/static-50m", $size, 1);
    state_file("$DIR/state-50m.tfstate", $size, 1);
    # five rounds: one slow fsync on this shared disk moves a median of three
    for my $round (1 .. $TRANSFER_ROUNDS) {
        my $ws = make_ws("bench-xfer-$round");
        push @up, push_state($ws, 1, "$DIR/state-50m.tfstate");
        my ($r, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
        must(200, $r, 'current state version');
        push @down, curl_rate(GET => $d->{data}{attributes}{'hosted-state-download-url'},
                              undef, 1);
        push @static, curl_rate(GET => "$URL/static/static-50m");
        ($r) = api(DELETE => "/api/v2/workspaces/$ws");
        must(204, $r, 'delete workspace');
    }
    my ($u, $dn, $st) = (median(@up), median(@down), median(@static));

    # streaming: the serving child's peak while 200 MiB go through it
    my $ws = make_ws('bench-xfer-200m');
    state_file("$DIR/state-200m.tfstate", 200 * $MIB, 1);
    my $pid = worker_pid();
    my $reset = reset_peak($pid);
    my $rss0 = vm_kib($pid, 'VmRSS');
    my $hwm0 = vm_kib($pid, 'VmHWM');
    push_state($ws, 1, "$DIR/state-200m.tfstate");
    my ($rss1, $hwm1) = (vm_kib($pid, 'VmRSS'), vm_kib($pid, 'VmHWM'));
    die "the worker child changed during the upload\n" if worker_pid() != $pid;
    my $growth = (($reset ? $hwm1 : $rss1) - $rss0) / 1024;
    unlink "$DIR/state-200m.tfstate", "$DIR/state-50m.tfstate";

    say_line("## 2. State transfer (50 MiB, median of $TRANSFER_ROUNDS, curl over TLS)");
    say_line('');
    table(['transfer', 'MiB/s', 'static download MiB/s', 'ratio', 'target'],
          ['download (signed URL)', fmt($dn, 1), fmt($st, 1), fmt($dn / $st),
           '>= 0.8: ' . verdict($dn / $st >= 0.8)],
          ['upload (create + PUT signed URL)', fmt($u, 1), fmt($st, 1),
           fmt($u / $st), '>= 0.5: ' . verdict($u / $st >= 0.5)]);
    say_line('Each round, MiB/s: upload ' . join(' ', map { fmt($_, 0) } @up)
             . '; download ' . join(' ', map { fmt($_, 0) } @down)
             . '; static download ' . join(' ', map { fmt($_, 0) } @static)
             . '.');
    say_line('');
    say_line('Apache offers no static PUT to compare uploads with, so the upload '
             . 'rate is compared with the static download rate of the same bytes.');
    say_line('');
    say_line("200 MiB upload, serving child $pid: VmRSS $rss0 -> $rss1 KiB, VmHWM "
             . "$hwm0 -> $hwm1 KiB" . ($reset ? ' (peak reset before the upload)'
                                             : ' (peak could not be reset)')
             . sprintf('; growth %.1f MiB (target < 8: %s).', $growth,
                       verdict($growth < 8)));
    say_line('');
    $summary{'state download / static'} = [fmt($dn / $st), '>= 0.8', verdict($dn / $st >= 0.8)];
    $summary{'state upload / static download'} = [fmt($u / $st), '>= 0.5',
                                                  verdict($u / $st >= 0.5)];
    $summary{'200 MiB upload child growth MiB'} = [fmt($growth, 1), '< 8',
                                                   verdict($growth < 8)];
}

# ---- 3. the CLI: cloud backend vs local backend ----

sub tf_body {
    my ($round) = @_;
    return join '', map { qq{resource "terraform_data" "r$_" {\n  input = "round-$round"\n}\n} }
        1 .. 10;
}

# Seconds of one terraform apply -auto-approve in $dir, round $round
# changing every resource (so each apply plans, applies and writes state);
# with $windows, its [start, end] is pushed onto it.
sub timed_apply {
    my ($dir, $head, $round, $windows) = @_;
    write_file("$dir/main.tf", $head . tf_body($round));
    my $t0 = time;
    my ($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
    die "terraform apply in $dir: $out" if $rc;
    my $t1 = time;
    push @$windows, [$t0, $t1] if $windows;
    return $t1 - $t0;
}

# The requests the access log shows in a window: [begin, end] in seconds
# (the log's last two fields are %D and %{begin:usec}t).
sub logged_requests {
    my ($from, $to) = @_;
    open my $fh, '<', "$DIR/log/access_log" or die "access_log: $!";
    my @r;
    while (<$fh>) {
        my ($path, $us, $begin) = m{"\S+ (\S+) [^"]*" \d+ \S+ (\d+) (\d+)$} or next;
        next if $path =~ m{/runs/next};    # the listener's long poll
        my $b = $begin / 1e6;
        push @r, [$b, $b + $us / 1e6] if $b >= $from && $b <= $to;
    }
    return @r;
}

# Seconds in which at least one of the requests was being served.
sub busy_time {
    my @iv = sort { $a->[0] <=> $b->[0] } @_;
    my ($busy, $end) = (0, 0);
    for my $i (@iv) {
        my $start = $i->[0] > $end ? $i->[0] : $end;
        $busy += $i->[1] - $start if $i->[1] > $start;
        $end = $i->[1] if $i->[1] > $end;
    }
    return $busy;
}

# Where the slower of two timings (medians in s) spends its extra time:
# the server's share ($server s serving $requests requests per $per, from
# the access log) and the rest.
sub extra_time {
    my ($what, $per, $slow, $base, $requests, $server) = @_;
    my $extra = $slow - $base;
    table(['measure', 'ms'],
          ["extra time of $what", fmt($extra * 1000, 1)],
          ["requests per $per", $requests],
          ['server time', fmt($server * 1000, 1)],
          ['the rest: the CLI, TLS and the loopback between requests',
           fmt(($extra - $server) * 1000, 1)],
          ['ratio if the server answered in no time', fmt(($slow - $server) / $base)]);
}

sub init_dir {
    my ($head) = @_;
    my $dir = workdir();
    write_file("$dir/main.tf", $head . tf_body(0));
    my ($rc, $out) = terraform($dir, 'init', '-input=false');
    die "terraform init: $out" if $rc;
    return $dir;
}

sub cloud_head {
    my ($ws) = @_;
    return cloud_config(workspace => $ws, body => '');
}

my ($cloud_median);

sub cli {
    my $local = init_dir('');
    my $cloud = init_dir(cloud_head('bench-cli'));
    my (@windows, @l, @c);
    # a first apply of each warms the caches and the server's connections;
    # then they alternate, so a machine busier for a moment slows both
    timed_apply($local, '', 1);
    timed_apply($cloud, cloud_head('bench-cli'), 1);
    for my $round (2 .. 6) {
        push @l, timed_apply($local, '', $round);
        push @c, timed_apply($cloud, cloud_head('bench-cli'), $round, \@windows);
    }
    my $ratio = median(@c) / median(@l);
    $cloud_median = median(@c);
    my (@served, @count);
    for my $w (@windows) {
        my @reqs = logged_requests(@$w);
        push @served, busy_time(@reqs);
        push @count, scalar @reqs;
    }
    my $server = median(@served);
    say_line('## 3. terraform apply -auto-approve, 10 terraform_data resources (5 runs each, alternating, after one warm-up apply each)');
    say_line('');
    table(['backend', 'median s', 'runs s', 'ratio', 'target'],
          ['local', fmt(median(@l)), join(' ', map { fmt($_) } @l), '1.00', ''],
          ['cloud {} (local execution)', fmt(median(@c)),
           join(' ', map { fmt($_) } @c), fmt($ratio), '<= 1.2: ' . verdict($ratio <= 1.2)]);
    say_line('Where the cloud {} apply spends its extra time (medians over the 5 applies; '
             . 'server time is when Apache was serving at least one of the apply\'s '
             . 'requests, from the access log):');
    say_line('');
    extra_time('a cloud {} apply', 'apply', median(@c), median(@l), median(@count), $server);
    $summary{'cloud/local apply median'} = [fmt($ratio), '<= 1.2', verdict($ratio <= 1.2)];
}

# ---- 4. remote runs on the listener ----

sub wait_final {
    my ($run) = @_;
    my $deadline = time + 120;
    while (time < $deadline) {
        my (undef, $d) = api(GET => "/api/v2/runs/$run");
        my $s = $d->{data}{attributes}{status} // '';
        return $s if $s =~ /^(planned_and_finished|applied|errored|canceled|discarded)$/;
        sleep 0.2;
    }
    die "run $run did not finish\n";
}

sub claim_latency {
    my $dir = init_dir(cloud_head('bench-agent'));
    my ($r, $d) = api(GET => "$ORG_WS/bench-agent");
    my $ws = $d->{data}{id};
    ($r) = api(PATCH => "/api/v2/workspaces/$ws", body => {data => {
        type => 'workspaces', attributes => {'execution-mode' => 'agent'}}});
    must(200, $r, 'agent mode');
    ($r, $d) = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
        body => {data => {type => 'configuration-versions',
                          attributes => {'auto-queue-runs' => JSON::PP::false()}}});
    must(201, $r, 'configuration version');
    my $tgz = qx{tar -C $dir -czf - --exclude=.terraform .};
    ($r) = api(PUT => $d->{data}{attributes}{'upload-url'}, raw => $tgz);
    must(200, $r, 'configuration upload');
    # plan-only runs are queued at once, in the transaction that creates
    # them: created_at is the moment they entered the queue
    my @runs;
    for (1 .. 30) {
        ($r, $d) = api(POST => '/api/v2/runs', body => {data => {type => 'runs',
            attributes => {'plan-only' => JSON::PP::true()},
            relationships => {workspace => {data => {type => 'workspaces', id => $ws}}}}});
        must(201, $r, 'queue a run');
        push @runs, $d->{data}{id};
        my $s = wait_final($runs[-1]);
        die "run $runs[-1] ended $s\n" unless $s eq 'planned_and_finished';
    }
    my $ids = join ',', map { "'$_'" } @runs;
    my @ms = psql("SELECT extract(epoch FROM claimed_at - created_at) * 1000"
                             . " FROM runs WHERE id IN ($ids)");
    die "not every run was claimed\n" unless @ms == 30;
    my ($p50, $p99) = (percentile(50, @ms), percentile(99, @ms));

    my @agent = map { timed_apply($dir, cloud_head('bench-agent'), $_) } 1 .. 3;
    say_line('## 4. Remote runs on a terrapod-listener');
    say_line('');
    table(['measure', 'value', 'target'],
          ['queued -> claimed p50 (30 plan-only runs, ms)', fmt($p50, 1),
           '<= 100: ' . verdict($p50 <= 100)],
          ['queued -> claimed p99 (ms)', fmt($p99, 1), ''],
          ['apply in agent mode, median of 3 (s)', fmt(median(@agent)), ''],
          (defined $cloud_median
           ? (['apply with local execution, median (s, from 3.)', fmt($cloud_median), ''],
              ['difference (s)', fmt(median(@agent) - $cloud_median), ''])
           : ()));
    say_line('Queue time is the run\'s `created_at` (plan-only runs are queued in '
             . 'the transaction that creates them), claim time its `claimed_at`.');
    say_line('');
    $summary{'claim latency p50 ms'} = [fmt($p50, 1), '<= 100', verdict($p50 <= 100)];
}

# ---- 5. scale ----

sub load_scale {
    my $t0 = time;
    psql(q{INSERT INTO workspaces (id, name, labels)
          SELECT 'ws-scale' || lpad(i::text, 8, '0'), 'scale-' || lpad(i::text, 5, '0'),
                 jsonb_build_object('team', CASE WHEN i % 2 = 0 THEN 'bench' ELSE 'other' END)
            FROM generate_series(1, 10000) i});
    psql(q{INSERT INTO state_versions (id, workspace_id, serial, lineage, md5, size,
                                      status, resource_count, finalized_at)
          SELECT 'sv-scale' || lpad((w * 10 + s)::text, 9, '0'),
                 'ws-scale' || lpad(w::text, 8, '0'), s, 'scale',
                 'd41d8cd98f00b204e9800998ecf8427e', 0, 'finalized', 0, now()
            FROM generate_series(1, 10000) w, generate_series(1, 10) s});
    # an applied run for every workspace, its current run
    psql(q{INSERT INTO runs (id, plan_id, apply_id, workspace_id, status,
                             plan_status, apply_status, has_changes)
          SELECT 'run-scale' || lpad(i::text, 8, '0'),
                 'plan-scale' || lpad(i::text, 8, '0'),
                 'apply-scale' || lpad(i::text, 8, '0'),
                 'ws-scale' || lpad(i::text, 8, '0'), 'applied', 'finished',
                 'finished', true
            FROM generate_series(1, 10000) i});
    psql(q{UPDATE workspaces SET current_run_id = 'run-' || substr(id, 4)
            WHERE id LIKE 'ws-scale%'});
    psql('ANALYZE');
    return time - $t0;
}

# The plans of every statement one request runs, from auto_explain.
sub plans_of {
    my ($path, $token) = @_;
    my $text = logged_during('SET auto_explain.log_min_duration = 0',
                             'SET auto_explain.log_min_duration = -1', sub {
        my ($r) = api(GET => $path, token => $token);
        must(200, $r, "GET $path");
    });
    my (@plans, %seen);
    for my $block (split /^\S.*?LOG:\s+duration: [\d.]+ ms\s+plan:\n/m, $text) {
        next unless $block =~ /Query Text: (.*)/;
        my $query = $1;
        $block =~ s/^\S.*\z//ms;       # whatever the server logged next
        $block =~ s/(token_hash = ')[0-9a-f]+/$1.../g;
        # the statements of this request only: not the listener's last
        # long poll, background tasks, or the switch itself
        next if $seen{$query}++
             || $query =~ /SKIP LOCKED|ALTER SYSTEM|pg_reload_conf|pg_try_advisory|INSERT INTO audit_log/;
        push @plans, $block;
    }
    return @plans;
}

# include= costs one statement per related type and path step, never one
# per row: the page's throughput with it against without it.
sub include_cost {
    my $page = "$ORG_WS?page%5Bsize%5D=100";
    my @cases = (['list 100', $page],
                 ['list 100 with include', "$page&include=current_run,"
                                           . 'current_state_version']);
    my %best;
    for my $round (1, 2) {
        for my $c (@cases) {
            my $w = wrk($c->[1], conns => 2, secs => 5);
            $best{$c->[0]} = $w if !$best{$c->[0]} || $w->{rps} > $best{$c->[0]}{rps};
        }
    }
    my ($plain, $incl) = map { $best{$_->[0]}{rps} } @cases;
    $summary{'scale: list 100 with include / without'} =
        [fmt($incl / $plain), '>= 0.5', verdict($incl >= 0.5 * $plain)];
    return map { [$_->[0], fmt($best{$_->[0]}{rps}, 0), fmt($best{$_->[0]}{p99}),
                  scalar plans_of($_->[1], undef)] } @cases;
}

sub scale {
    my $pid = qx{cat '$DIR/run/listener.pid' 2>/dev/null};
    kill 'TERM', $pid if $pid;     # its polls would fill the plan log
    # what is measured here is the database: no answer comes from memory
    reconfigure('scale', "TerrapodReadCache 0\n");
    my $secs = load_scale();
    my $sv_ws = 'ws-scale00005000';
    my $admin_pages = floor(psql('SELECT count(*) FROM workspaces') / 20);
    my $reader_pages = floor(psql(q{SELECT count(*) FROM workspaces
                                   WHERE labels @> '{"team":"bench"}'}) / 20);
    my @cases = (
        ['list page 1, admin', "$ORG_WS", undef],
        ["list page $admin_pages, admin", "$ORG_WS?page%5Bnumber%5D=$admin_pages", undef],
        ['list page 1, label-role user', "$ORG_WS", $reader],
        ["list page $reader_pages, label-role user",
         "$ORG_WS?page%5Bnumber%5D=$reader_pages", $reader],
        ['GET workspace by name, label-role user', "$ORG_WS/scale-05000", $reader],
        ['current-state-version, label-role user',
         "/api/v2/workspaces/$sv_ws/current-state-version", $reader],
    );
    my (@rows, @plan_md);
    for my $c (@cases) {
        my ($name, $path, $token) = @$c;
        my ($r) = api(GET => $path, token => $token);
        must(200, $r, $name);
        my $w = wrk($path, token => $token, conns => 2, secs => 5);
        push @rows, [$name, fmt($w->{rps}, 0), fmt($w->{p50}), fmt($w->{p99}),
                     $w->{errors}, '<= 50: ' . verdict($w->{p99} <= 50 && !$w->{errors})];
        $summary{"scale: $name p99 ms"} = [fmt($w->{p99}), '<= 50', verdict($w->{p99} <= 50)];
        push @plan_md, "### $name", '', "`GET $path`", '', '```',
             (map { s/\s+\z//r } plans_of($path, $token)), '```', '';
    }
    my @include_rows = include_cost();
    say_line('## 5. Scale: 10,000 workspaces, 100,000 state versions');
    say_line('');
    say_line(sprintf('Loaded with SQL in %.1f s. wrk with 2 connections, 5 s each '
                     . '(20 per page; the label-role user can read half the workspaces).',
                     $secs));
    say_line('');
    table(['request', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'target'], @rows);
    say_line('');
    say_line('A page of 100 workspaces with and without `include=current_run,'
             . 'current_state_version` (every workspace has both), admin, wrk '
             . 'with 2 connections, 5 s, the two alternated twice and the '
             . 'better run of each kept; statements: those one request runs.');
    say_line('');
    table(['request', 'req/s', 'p99 ms', 'statements'], @include_rows);
    push @report, '## Query plans at scale (auto_explain, ANALYZE)', '', @plan_md;
    reconfigure('scale', undef);
}

# ---- 6. the web UI ----

# bench/ui.js in Chromium, with the Node and Playwright of t/ui: what the
# workspaces list's first load transfers, and its first row against its
# API call alone, at 10,000 workspaces (section 5's, loaded here when it
# did not run).
sub ui {
    my $node = "$SRC/t/ui/node_modules/.bin/node";
    load_scale() if psql(q{SELECT count(*) FROM workspaces WHERE id LIKE 'ws-scale%'}) < 10000;
    my $count = psql('SELECT count(*) FROM workspaces');
    local @ENV{qw(TERRAPOD_URL TERRAPOD_CA_FILE NODE_EXTRA_CA_CERTS
                  TERRAPOD_ADMIN_EMAIL TERRAPOD_ADMIN_PASSWORD)} =
        @$e{qw(TERRAPOD_URL TERRAPOD_CA_FILE TERRAPOD_CA_FILE
               TERRAPOD_ADMIN_EMAIL TERRAPOD_ADMIN_PASSWORD)};
    my $out = qx{'$node' '$SRC/bench/ui.js'};
    die "bench/ui.js failed\n" if $?;
    my $r = JSON::PP->new->decode($out);
    my @assets = grep { $_->{type} ne 'document' } @{ $r->{files} };
    my $kb = sum(0, map { $_->{bytes} } @assets) / 1024;
    my $l = $r->{loads};
    my $ratio = $l->{firstRow}{median} / $r->{api_median};
    say_line('## 6. Web UI (Chromium)');
    say_line('');
    say_line('A first load of the workspaces list (`/app/default/workspaces`) with an '
             . 'empty cache, signed in: what it transferred, the bodies as the server '
             . 'sent them (Chromium asks for gzip, deflate, br and zstd).');
    say_line('');
    table(['file', 'type', 'encoding', 'transferred KB', 'size KB'],
          (map { ["`$_->{url}`", $_->{type}, $_->{encoding}, fmt($_->{bytes} / 1024, 1),
                  fmt($_->{size} / 1024, 1)] } @{ $r->{files} }),
          ['JavaScript and CSS', '', '', fmt($kb, 1), '<= 150: ' . verdict($kb <= 150)]);
    say_line("Then, with $count workspaces, $r->{rounds} rounds on a warm page (its "
             . 'assets cached, after two loads and one call), each a load of the list '
             . 'until its first row is in the document, then the API call the page makes, '
             . "`$r->{api_url}`, from the same page with `fetch` (until its JSON is "
             . 'parsed). Medians; the moments of a load are ms from the start of its '
             . 'navigation (`performance.now()`, navigation and resource timing).');
    say_line('');
    my $row = sub {
        my ($name, $v) = @_;
        return [$name, fmt($v->{median}, 1), join(' ', map { fmt($_, 0) } @{ $v->{ms} })];
    };
    table(['measure', 'median ms', 'rounds ms'],
          $row->('the list API call alone', {median => $r->{api_median}, ms => $r->{api_ms}}),
          $row->('load: index.html received', $l->{document}),
          $row->('load: script run (DOMContentLoaded ended)', $l->{script}),
          $row->("load: the page's list call sent", $l->{callStart}),
          $row->("load: the page's list call answered", $l->{callEnd}),
          $row->('load: first row in the document', $l->{firstRow}),
          ['ratio first row / API call', fmt($ratio), '< 2: ' . verdict($ratio < 2)]);
    $summary{'ui: first load JavaScript and CSS KB (gzip)'} =
        [fmt($kb, 1), '<= 150', verdict($kb <= 150)];
    $summary{'ui: workspaces list first row / its API call'} =
        [fmt($ratio), '< 2', verdict($ratio < 2)];
}

# ---- 7. VCS: a webhook to a queued run, a poll cycle with nothing new ----

my $VCS_SECRET = 'bench-webhook-secret';

# Restarts Apache with the poller every $interval seconds.
sub vcs_conf {
    my ($interval) = @_;
    write_file("$DIR/conf.d/vcs.conf", "TerrapodVCSInternalHost 127.0.0.1\n"
               . "TerrapodVCSPollInterval $interval\n"
               . "TerrapodVCSWebhookSecret $VCS_SECRET\n");
    restart_httpd();
}

# The poll task's turns so far and the seconds they took (its metrics).
sub poll_turns {
    my ($r) = api(GET => '/metrics');
    my $m = $r->content;
    my ($n) = $m =~ /^terrapod_task_duration_seconds_count\{task="vcs-poll"\} (\S+)/m;
    my ($s) = $m =~ /^terrapod_task_duration_seconds_sum\{task="vcs-poll"\} (\S+)/m;
    return ($n // 0, $s // 0);
}

sub wait_turns {
    my ($n) = @_;
    my $deadline = time + 120;
    while ((poll_turns())[0] < $n) {
        die "the poll task did not run\n" if time > $deadline;
        sleep 0.1;
    }
}

sub vcs {
    my $root = "$DIR/vcs";
    mkdir $root;
    system("openssl genrsa -out $root/app.pem 2048 2>/dev/null && openssl rsa"
           . " -in $root/app.pem -pubout -out $root/app.pub 2>/dev/null") == 0
        or die "openssl failed\n";
    # 20 repositories and one the webhooks push to, all of one commit
    system("git init -q -b main $root/w && git -C $root/w commit -q --allow-empty -m init"
           . " && git clone -q --bare $root/w $root/template.git") == 0
        or die "git failed\n";
    my $head = TP::FakeVCS::commit_to("$root/template.git", 'main',
                                      {'main.tf' => qq{resource "terraform_data" "x" {}\n}});
    my %repos;
    for my $name ((map { sprintf 'repo-%02d', $_ } 0 .. 19), 'hooked') {
        system("git clone -q --bare $root/template.git $root/$name.git") == 0
            or die "git clone failed\n";
        $repos{"bench/$name"} = "$root/$name.git";
    }
    my $gh = TP::FakeGitHub->new(port => free_port(), app_id => 7171,
                                 installation_id => 990071,
                                 public_key => "$root/app.pub", account => 'bench',
                                 repos => \%repos)->start;
    my $key = do { local (@ARGV, $/) = "$root/app.pem"; <> };
    vcs_conf(5);
    my ($r, $d) = api(POST => '/api/terrapod/v1/vcs-connections', body => {data => {
        type => 'vcs-connections', attributes => {
            name => 'bench-github', provider => 'github', 'server-url' => $gh->base,
            'github-app-id' => 7171, 'github-installation-id' => 990071,
            'private-key' => $key}}});
    must(201, $r, 'VCS connection');
    my $conn = $d->{data}{id};
    my $base = $gh->base;
    # 200 workspaces on the 20 repositories, at their head already, and
    # one on the pushed repository; in a pool no listener serves, so the
    # runs stay queued and nothing else takes the CPU
    psql(qq{INSERT INTO agent_pools (id, name) VALUES ('apool-vcsbench', 'vcs-bench')});
    psql(qq{INSERT INTO workspaces (id, name, execution_mode, agent_pool_id,
                                    vcs_connection_id, vcs_repo_url, vcs_branch,
                                    vcs_last_commit_sha)
          SELECT 'ws-vcsb' || lpad(i::text, 5, '0'), 'vcs-bench-' || i, 'agent',
                 'apool-vcsbench', '$conn',
                 '$base/bench/repo-' || lpad((i % 20)::text, 2, '0'), 'main', '$head'
            FROM generate_series(1, 200) i
          UNION ALL SELECT 'ws-vcsbhook', 'vcs-bench-hooked', 'agent', 'apool-vcsbench',
                 '$conn', '$base/bench/hooked', 'main', '$head'});

    # a cycle: the first turn that finds the workspaces learns each
    # branch's ETag; the turns after it ask conditionally
    my ($turns) = poll_turns();
    wait_turns($turns + 2);
    my ($n1, $s1) = poll_turns();
    my $seen = scalar $gh->received;
    wait_turns($n1 + 1);
    my ($n2, $s2) = poll_turns();
    my @all = $gh->received;
    my @asked = @all[$seen .. $#all];
    my $conditional = grep { $_->{headers}{'if-none-match'} } @asked;
    # each branch's open pull requests are listed too (conditionally)
    my $lists = grep { $_->{path} =~ m{/pulls\?} } @asked;
    my $cycle_ms = ($s2 - $s1) / ($n2 - $n1) * 1000;

    # a webhook to a queued run: the poller woken at once, no turn of its
    # interval in between
    vcs_conf(3600);
    wait_turns(1);          # the child's first turn (Apache started anew)
    my $url = "$URL/api/terrapod/v1/vcs-events/github";
    my (@ms, $sha);
    my $before = $head;
    for my $i (1 .. 30) {
        $sha = TP::FakeVCS::commit_to("$root/hooked.git", 'main',
            {'main.tf' => qq{resource "terraform_data" "x" { input = "$i" }\n}});
        my $t0 = time;
        my $res = $gh->deliver($url, $VCS_SECRET, 'push',
                               $gh->push_payload('bench/hooked', 'main', $before, $sha));
        must(200, $res, 'push delivery');
        my $deadline = time + 60;
        my $at;
        until (defined($at = psql("SELECT extract(epoch FROM r.created_at) FROM runs r"
                . " JOIN configuration_versions c ON c.id = r.configuration_version_id"
                . " WHERE r.workspace_id = 'ws-vcsbhook' AND c.ingress->>'commit-sha' = '$sha'"))
               && $at ne '') {
            die "no run for $sha\n" if time > $deadline;
            sleep 0.02;
        }
        push @ms, ($at - $t0) * 1000;
        $before = $sha;
    }
    my ($p50, $p99) = (percentile(50, @ms), percentile(99, @ms));

    # a storm: the deliveries of one push, each with its own id, as fast
    # as one client sends them; how often the poller asked the branch
    $sha = TP::FakeVCS::commit_to("$root/hooked.git", 'main',
        {'main.tf' => qq{resource "terraform_data" "x" { input = "storm" }\n}});
    my $storm = $gh->push_payload('bench/hooked', 'main', $before, $sha);
    my $from = scalar $gh->received;
    my $t0 = time;
    for (1 .. 1000) {
        must(200, $gh->deliver($url, $VCS_SECRET, 'push', $storm), 'storm delivery');
    }
    my $storm_s = time - $t0;
    sleep 2;                # a poll the last deliveries caused, done
    my @got = $gh->received;
    my @storm = @got[$from .. $#got];
    my $heads = grep { $_->{path} =~ m{^/api/v3/repos/bench/hooked/branches/main} } @storm;
    my $storm_runs = psql("SELECT count(*) FROM runs r JOIN configuration_versions c"
        . " ON c.id = r.configuration_version_id WHERE c.ingress->>'commit-sha' = '$sha'");
    $gh->stop;
    unlink "$DIR/conf.d/vcs.conf";

    say_line('## 7. VCS-driven runs');
    say_line('');
    table(['measure', 'value', 'target'],
          ['webhook received -> run queued p50 (30 pushes, ms)', fmt($p50, 1),
           '<= 1000: ' . verdict($p50 <= 1000)],
          ['webhook received -> run queued p99 (ms)', fmt($p99, 1), ''],
          ['poll cycle, 201 workspaces on 21 repositories, nothing new: provider requests',
           scalar(@asked), '42 (21 heads, 21 pull request lists): '
           . verdict(@asked == 42 && $lists == 21)],
          ['of which conditional (answered 304)', $conditional,
           '42: ' . verdict($conditional == 42)],
          ['poll cycle duration (ms)', fmt($cycle_ms, 1), ''],
          ["a storm of 1000 deliveries of one push (sent in ${\ fmt($storm_s, 1)} s):"
           . ' polls of its branch', $heads, '1: ' . verdict($heads == 1)],
          ['runs it queued', $storm_runs, '1: ' . verdict($storm_runs == 1)]);
    say_line('A push is a commit to a bare repository of the fake GitHub (a serial '
             . 'Perl server: `git archive` for the tarball) and its signed delivery; '
             . 'the time is from just before the delivery is posted to the run\'s '
             . '`created_at`, and includes the head asked, the commit described, the '
             . 'archive downloaded and checked, the configuration version stored. The '
             . 'cycle is one turn of the poll task (its metrics), the requests those '
             . 'the fake received during it.');
    say_line('');
    $summary{'vcs: webhook -> run queued p50 ms'} = [fmt($p50, 1), '<= 1000', verdict($p50 <= 1000)];
    $summary{'vcs: a storm of 1000 deliveries of one push: polls'} =
        [$heads, '1', verdict($heads == 1)];
    $summary{'vcs: poll cycle with nothing new: provider requests (21 branches)'} =
        [scalar(@asked), '42 (a head and a pull request list each), each a 304',
         verdict(@asked == 42 && $lists == 21 && $conditional == 42)];
}

# ---- 8. drift detection ----

# Section 5's 10,000 workspaces, each with an uploaded configuration, in
# agent mode with drift detection on and never checked, so all are due at
# once, and no listener to claim what is queued: the drift task, every
# second for a few turns, queues no more than its cap, and its selection
# (auto_explain, ANALYZE) is a scan of the partial index that stops at
# its limit.
sub drift {
    my $cap = 10;
    load_scale() if psql(q{SELECT count(*) FROM workspaces WHERE id LIKE 'ws-scale%'}) < 10000;
    my $pid = qx{cat '$DIR/run/listener.pid' 2>/dev/null};
    kill 'TERM', $pid if $pid;
    psql(q{INSERT INTO configuration_versions (id, workspace_id, status)
          SELECT 'cv-' || substr(id, 4), id, 'uploaded' FROM workspaces
           WHERE id LIKE 'ws-scale%' ON CONFLICT DO NOTHING});
    psql(q{UPDATE workspaces SET execution_mode = 'agent', drift_detection_enabled = true
            WHERE id LIKE 'ws-scale%'});
    psql('ANALYZE');
    my $due = psql(q{SELECT count(*) FROM workspaces WHERE drift_due_at <= now()});
    my $turns = 0;
    my $text = logged_during('SET auto_explain.log_min_duration = 0',
                             'SET auto_explain.log_min_duration = -1', sub {
        reconfigure('drift', "TerrapodDriftCheckInterval 1\n"
                             . "TerrapodDriftMaxConcurrent $cap\n");
        my $t = time;
        sleep 1 while time - $t < 60
                      && psql(q{SELECT count(*) FROM runs WHERE is_drift_detection}) < $cap;
        sleep 5;        # more turns: none may queue more
    });
    reconfigure('drift', undef);
    my $queued = psql(q{SELECT count(*) FROM runs WHERE is_drift_detection});
    my @plan;
    for my $block (split /^\S.*?LOG:\s+duration: [\d.]+ ms\s+plan:\n/m, $text) {
        next unless $block =~ /Query Text: .*drift_due_at <= now\(\)/;
        $turns++;
        $block =~ s/^\S.*\z//ms;
        @plan = ($block =~ s/\s+\z//r) unless @plan;
    }
    my $index = @plan && $plan[0] =~ /Index Scan using workspaces_drift_due/;
    say_line('## 8. Drift detection at scale');
    say_line('');
    say_line("$due of 10,000 drift-enabled workspaces due at once, no listener; the "
             . "drift task every second ($turns turns seen), "
             . "`TerrapodDriftMaxConcurrent $cap`.");
    say_line('');
    table(['metric', 'value', 'target'],
          ['drift runs queued', $queued, "<= $cap: " . verdict($queued <= $cap)],
          ['selection', $index ? 'index scan of workspaces_drift_due' : 'no index scan',
           verdict($index)]);
    $summary{'drift: runs queued with 10,000 due'} = [$queued, "<= $cap",
                                                      verdict($queued <= $cap)];
    $summary{'drift: selection is an index scan'} = [$index ? 'yes' : 'no', 'yes',
                                                     verdict($index)];
    push @report, '## The drift task\'s selection (auto_explain, ANALYZE)', '', '```',
         @plan, '```', '';
}

# ---- 9. notification fan-out ----

# One run, 100 enabled generic configurations subscribed to run:created,
# each its own receiver URL on one local receiver: every notification is
# delivered, none tried twice, and the last lands within one retry
# interval (TerrapodNotificationRetry's default, 60 s) of the run's
# creation. The API allows 20 configurations per workspace, as TFE does;
# the other 80 are written with SQL, as the task reads them the same way.
sub notification_fan_out {
    my $n = 100;
    my $retry = 60;
    my $recv = TP::FakeReceiver->new(port => free_port())->start;
    reconfigure('notify', "TerrapodOutboundAllow 127.0.0.0/8\n");
    my $ws = make_ws('bench-notify');
    my ($r, $d) = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
        body => {data => {type => 'configuration-versions',
                          attributes => {'auto-queue-runs' => JSON::PP::false()}}});
    must(201, $r, 'configuration version');
    my $dir = "$DIR/run/bench-notify";
    mkdir $dir;
    write_file("$dir/main.tf", qq(resource "terraform_data" "x" {}\n));
    ($r) = api(PUT => $d->{data}{attributes}{'upload-url'},
               raw => scalar qx{tar -C '$dir' -czf - .});
    must(200, $r, 'configuration upload');
    psql(qq{INSERT INTO notification_configurations (id, workspace_id, name,
                destination_type, url, triggers, enabled)
            SELECT 'nc-benchfanout' || lpad(i::text, 4, '0'), '$ws', 'fan-out ' || i,
                   'generic', '} . $recv->base . q{/hook/' || i, '["run:created"]', true
              FROM generate_series(1, } . $n . q{) AS i});
    ($r, $d) = api(POST => '/api/v2/runs', body => {data => {type => 'runs',
        attributes => {'plan-only' => JSON::PP::true()},
        relationships => {workspace => {data => {type => 'workspaces', id => $ws}}}}});
    must(201, $r, 'queue a run');
    my $run = $d->{data}{id};
    my $deadline = time + 2 * $retry;
    sleep 0.5 while time < $deadline
        && psql(qq{SELECT count(*) FROM notification_deliveries
                    WHERE run_id = '$run' AND delivered_at IS NOT NULL}) < $n;
    my ($delivered, $tries, $secs) = split /\|/, psql(qq{
        SELECT count(delivered_at), COALESCE(max(attempts), 0),
               COALESCE(extract(epoch FROM max(delivered_at) - r.created_at), 'NaN')
          FROM runs r LEFT JOIN notification_deliveries d ON d.run_id = r.id
         WHERE r.id = '$run' GROUP BY r.created_at});
    my %paths = map { $_->{path} => 1 } grep { ($_->{body}{run_id} // '') eq $run }
                $recv->received;
    my $received = keys %paths;
    $recv->stop;
    reconfigure('notify', undef);
    psql(q{DELETE FROM notification_configurations WHERE id LIKE 'nc-benchfanout%'});
    my $ok = $delivered == $n && $received == $n && $secs <= $retry;
    say_line('## 9. Notification fan-out');
    say_line('');
    say_line("One run of a workspace with $n enabled generic configurations subscribed "
             . "to `run:created`, each a receiver of its own on one local HTTP receiver.");
    say_line('');
    table(['metric', 'value', 'target'],
          ['delivered (recorded / received)', "$delivered / $received", "$n: "
           . verdict($delivered == $n && $received == $n)],
          ['tries of the most tried delivery', $tries, '1: ' . verdict($tries == 1)],
          ['run created -> last delivered (s)', fmt($secs, 1),
           "<= $retry (one retry interval): " . verdict($secs <= $retry)]);
    $summary{'notifications: 100-configuration fan-out (s)'} =
        [fmt($secs, 1), "<= $retry, all delivered once", verdict($ok && $tries == 1)];
}

# ---- 10. the module registry: terraform init, registry modules vs local paths ----

my $BENCH_MODULES = 20;

# A module's main.tf: an input and an output, nothing to download.
sub module_tf {
    my ($i) = @_;
    return qq{variable "name" {\n  type    = string\n  default = "m$i"\n}\n}
         . qq{output "name" {\n  value = var.name\n}\n};
}

# Seconds of one terraform init in $dir from nothing installed.
sub timed_init {
    my ($dir) = @_;
    system('rm', '-rf', "$dir/.terraform", "$dir/.terraform.lock.hcl") == 0 or die "rm failed\n";
    my $t0 = time;
    my ($rc, $out) = terraform($dir, 'init', '-input=false');
    die "terraform init in $dir: $out" if $rc;
    return time - $t0;
}

sub registry_modules {
    # a registry host needs a dot: the instance's certificate names 127.0.0.1 too
    (my $host = $e->{TERRAPOD_HOST}) =~ s/^localhost:/127.0.0.1:/;
    my $rc_dir = workdir();
    write_file("$rc_dir/terraformrc",
               qq{credentials "$host" {\n  token = "$e->{TERRAPOD_TOKEN}"\n}\n});
    local $TP::E2E::cli_config = "$rc_dir/terraformrc";
    my $local = workdir();
    my $registry = workdir();
    my ($local_tf, $registry_tf) = ('', '');
    for my $i (1 .. $BENCH_MODULES) {
        my $src = "$local/modules/m$i";
        system('mkdir', '-p', $src) == 0 or die "mkdir failed\n";
        write_file("$src/main.tf", module_tf($i));
        my ($res) = api(POST => '/api/terrapod/v1/registry-modules', body => {data => {
            type => 'registry-modules',
            attributes => {name => "bench-m$i", provider => 'tf', 'registry-name' => 'private'}}});
        must(201, $res, "creating module bench-m$i");
        my $tgz = targz('main.tf' => module_tf($i));
        ($res) = api(PUT => "/api/terrapod/v1/registry-modules/private/default/bench-m$i/tf"
                            . "/versions/1.0.0/upload", raw => $tgz);
        must(201, $res, "publishing bench-m$i");
        $local_tf .= qq{module "m$i" {\n  source = "./modules/m$i"\n}\n};
        $registry_tf .= qq(module "m$i" {\n  source  = "$host/default/bench-m$i/tf"\n)
                      . qq(  version = "~> 1.0"\n}\n);
    }
    write_file("$local/main.tf", $local_tf);
    write_file("$registry/main.tf", $registry_tf);
    # one warm-up each, then alternating
    timed_init($local);
    timed_init($registry);
    my (@l, @r, @served, @count);
    for (1 .. 5) {
        push @l, timed_init($local);
        my $t0 = time;
        push @r, timed_init($registry);
        my @reqs = logged_requests($t0, time);
        push @served, busy_time(@reqs);
        push @count, scalar @reqs;
    }
    my $ratio = median(@r) / median(@l);
    my $server = median(@served);
    say_line("## 10. terraform init of $BENCH_MODULES modules: registry vs local paths "
             . '(5 runs each, alternating, after one warm-up each)');
    say_line('');
    say_line('Each registry module costs terraform a versions request, a download request '
             . 'and a HEAD and a GET of the signed archive URL.');
    say_line('');
    table(['source', 'median s', 'runs s', 'ratio', 'target'],
          ['local paths', fmt(median(@l)), join(' ', map { fmt($_) } @l), '1.00', ''],
          ['registry (~> 1.0)', fmt(median(@r)), join(' ', map { fmt($_) } @r), fmt($ratio),
           '<= 1.5: ' . verdict($ratio <= 1.5)]);
    say_line('Where the registry init spends its extra time (medians; server time is when '
             . 'Apache was serving at least one of its requests, from the access log):');
    say_line('');
    extra_time('the registry init', 'init', median(@r), median(@l), median(@count), $server);
    $summary{"registry/local init of $BENCH_MODULES modules"} = [fmt($ratio), '<= 1.5',
                                                                 verdict($ratio <= 1.5)];
}

# ---- 11. a provider's zip through its signed URL ----

# A provider published as a publisher does (a key made here, the manifest,
# its signature, a 50 MiB zip of incompressible bytes), then its zip
# fetched from the download answer's signed URL, without a token as
# terraform fetches it, against a static file of the same size.
sub provider_download {
    my $size = 50 * $MIB;
    my $key = gpg_key('bench-publisher');
    my ($r) = api(POST => '/api/terrapod/v1/gpg-keys', body => {data => {
        type => 'gpg-keys', attributes => {namespace => 'default',
                                           'ascii-armor' => $key->{armor}}}});
    must(201, $r, 'register the key');
    ($r) = api(POST => '/api/terrapod/v1/registry-providers', body => {data => {
        type => 'registry-providers', attributes => {name => 'bench', namespace => 'default'}}});
    must(201, $r, 'create the provider');
    open my $rnd, '<', '/dev/urandom' or die "/dev/urandom: $!";
    my $bytes;
    read $rnd, $bytes, $size;
    close $rnd;
    my $zip = provider_zip('bench', '1.0.0', 'data.bin' => $bytes);
    my $name = 'terraform-provider-bench_1.0.0_linux_amd64.zip';
    my $sums = shasums_of($name => $zip);
    my $v = '/api/terrapod/v1/registry-providers/private/default/bench/versions/1.0.0';
    ($r) = api(PUT => "$v/shasums", raw => $sums);
    must(201, $r, 'the manifest');
    ($r) = api(PUT => "$v/shasums.sig", raw => sign($key, $sums));
    must(200, $r, 'its signature');
    ($r) = api(PUT => "$v/platforms/linux/amd64", raw => $zip);
    must(201, $r, 'the zip');
    write_file_sized("$DIR/htdocs/static-provider.zip", length $zip, '', '');
    my (@signed, @static);
    for (1 .. $TRANSFER_ROUNDS) {
        my ($res, $d) = api(GET => '/api/terrapod/v1/registry/providers/default/bench/1.0.0/download/linux/amd64');
        must(200, $res, 'the download answer');
        push @signed, curl_rate(GET => $d->{download_url});
        push @static, curl_rate(GET => "$URL/static/static-provider.zip");
    }
    my ($sg, $st) = (median(@signed), median(@static));
    say_line("## 11. A provider's zip (50 MiB, median of $TRANSFER_ROUNDS, curl over TLS)");
    say_line('');
    table(['transfer', 'MiB/s', 'static download MiB/s', 'ratio', 'target'],
          ['provider zip (signed URL, no token)', fmt($sg, 1), fmt($st, 1), fmt($sg / $st),
           '>= 0.8: ' . verdict($sg / $st >= 0.8)]);
    say_line('Each round, MiB/s: signed URL ' . join(' ', map { fmt($_, 0) } @signed)
             . '; static ' . join(' ', map { fmt($_, 0) } @static) . '.');
    say_line('');
    $summary{'provider zip download / static'} = [fmt($sg / $st), '>= 0.8',
                                                  verdict($sg / $st >= 0.8)];
    unlink "$DIR/htdocs/static-provider.zip";
}

# ---- 12. S3-compatible object storage ----

# The S3 server of t/s3 on a directory under bench/var: its port and pid.
sub start_s3 {
    my $data = "$DIR/s3-data";
    mkdir $data;
    my $pid = open my $out, '-|', "$SRC/t/s3/node_modules/.bin/node", "$SRC/t/s3/server.js",
                                  $data, 'terrapod', 0
        or die "the S3 server: $!";
    my $line = <$out> // die "the S3 server did not start\n";
    my ($port) = $line =~ /^listening (\d+)/ or die "the S3 server said: $line";
    write_file("$DIR/s3-credentials",
               "[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n");
    chmod 0644, "$DIR/s3-credentials";
    return ($port, $pid, $out);
}

# Median MiB/s of 50 MiB up and down, and requests a second of a small
# state's download, on the storage Apache runs with now.
sub transfer_rates {
    my ($tag) = @_;
    my (@up, @down);
    state_file("$DIR/state-50m.tfstate", 50 * $MIB, 1);
    for my $round (1 .. 3) {
        my $ws = make_ws("bench-$tag-$round");
        push @up, push_state($ws, 1, "$DIR/state-50m.tfstate");
        my ($r, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
        push @down, curl_rate(GET => $d->{data}{attributes}{'hosted-state-download-url'},
                              undef, 1);
        ($r) = api(DELETE => "/api/v2/workspaces/$ws");
        must(204, $r, 'delete workspace');
    }
    my $ws = make_ws("bench-$tag-small");
    state_file("$DIR/small.tfstate", 2048, 1);
    push_state($ws, 1, "$DIR/small.tfstate");
    my ($r, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
    my $url = $d->{data}{attributes}{'hosted-state-download-url'};
    my $t0 = time;
    curl_rate(GET => $url, undef, 1) for 1 .. 50;
    my $small = 50 / (time - $t0);
    unlink "$DIR/state-50m.tfstate";
    return (median(@up), median(@down), $small);
}

sub s3_storage {
    my ($port, $pid, $out) = start_s3();
    my @dir = transfer_rates('dir');
    reconfigure('s3', join '', map { "$_\n" }
        "TerrapodStorageS3Endpoint http://127.0.0.1:$port", 'TerrapodStorageS3Bucket terrapod',
        "TerrapodStorageS3CredentialsFile $DIR/s3-credentials");
    my @s3 = transfer_rates('s3');

    # a 200 MiB state: a multipart upload of 13 parts from the spool
    my $ws = make_ws('bench-s3-200m');
    state_file("$DIR/state-200m.tfstate", 200 * $MIB, 1);
    my $worker = worker_pid();
    my $reset = reset_peak($worker);
    my $rss0 = vm_kib($worker, 'VmRSS');
    push_state($ws, 1, "$DIR/state-200m.tfstate");
    my ($rss1, $hwm1) = (vm_kib($worker, 'VmRSS'), vm_kib($worker, 'VmHWM'));
    die "the worker child changed during the upload\n" if worker_pid() != $worker;
    my $growth = (($reset ? $hwm1 : $rss1) - $rss0) / 1024;
    unlink "$DIR/state-200m.tfstate";
    # and back: streamed from the bucket through the child
    $reset = reset_peak($worker);
    my $rss2 = vm_kib($worker, 'VmRSS');
    my ($r, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
    my $down = curl_rate(GET => $d->{data}{attributes}{'hosted-state-download-url'},
                         undef, 1);
    my ($rss3, $hwm3) = (vm_kib($worker, 'VmRSS'), vm_kib($worker, 'VmHWM'));
    my $down_growth = (($reset ? $hwm3 : $rss3) - $rss2) / 1024;
    reconfigure('s3', undef);
    kill 'TERM', $pid;
    close $out;

    say_line('## 12. S3-compatible object storage');
    say_line('');
    say_line('The same state transfers with the storage directory and with a bucket of '
             . 't/s3\'s local S3 server (one Node process on this machine, writing to the '
             . 'same disk), median of 3 rounds; small downloads one after another.');
    say_line('');
    table(['transfer', 'directory', 'S3', 'S3 / directory'],
          ['50 MiB upload MiB/s', fmt($dir[0], 1), fmt($s3[0], 1), fmt($s3[0] / $dir[0])],
          ['50 MiB download MiB/s', fmt($dir[1], 1), fmt($s3[1], 1), fmt($s3[1] / $dir[1])],
          ['2 KiB state downloads / s', fmt($dir[2], 0), fmt($s3[2], 0),
           fmt($s3[2] / $dir[2])]);
    say_line('');
    say_line("200 MiB upload to S3 (multipart), serving child $worker: VmRSS $rss0 -> "
             . "$rss1 KiB, VmHWM -> $hwm1 KiB"
             . ($reset ? ' (peak reset before the upload)' : ' (peak could not be reset)')
             . sprintf('; growth %.1f MiB (target < 8: %s).', $growth, verdict($growth < 8)));
    say_line('');
    say_line(sprintf('Its download, streamed from the bucket at %.0f MiB/s: the child grew '
                     . '%.1f MiB (target < 8: %s).', $down, $down_growth,
                     verdict($down_growth < 8)));
    say_line('');
    $summary{'S3: 200 MiB multipart upload child growth MiB'} =
        [fmt($growth, 1), '< 8', verdict($growth < 8)];
    $summary{'S3: 200 MiB streamed download child growth MiB'} =
        [fmt($down_growth, 1), '< 8', verdict($down_growth < 8)];
    $summary{'S3: 50 MiB download / directory'} = [fmt($s3[1] / $dir[1]), 'reported', '-'];
}

# TP_BENCH_ONLY="2 5" runs some sections only
my @sections = (\&hot_reads, \&state_transfer, \&cli, \&claim_latency, \&scale, \&ui,
                \&vcs, \&drift, \&notification_fan_out, \&registry_modules,
                \&provider_download, \&s3_storage);
my @chosen = split ' ', $ENV{TP_BENCH_ONLY} // '1 2 3 4 5 6 7 8 9 10 11 12';
my $t0 = time;
for (@chosen) {
    # each section starts with the previous one's writes on the disk, so its
    # fsyncs do not wait for another section's log and WAL
    system('sync') == 0 or die "sync failed\n";
    $sections[$_ - 1]->();
}

say_line('## Summary');
say_line('');
table(['metric', 'value', 'target', 'verdict'],
      map { [$_, @{ $summary{$_} }] } sort keys %summary);
my $end = qx{uptime}; chomp $end;
say_line(sprintf('Took %.0f s; load after the run: `%s`.', time - $t0,
                 $end =~ s/.*load average/load average/r));
open my $fh, '>', $out_file or die "$out_file: $!";
print $fh join("\n", @report), "\n";
close $fh;
