package TP::Faults;
# Helpers for the fault-injection suite: killing and restarting the
# instance's PostgreSQL, clients that die mid-request or send slowly, load
# from many processes, and the leftovers a fault may leave in storage.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use TP::E2E;
use IO::Socket::SSL ();
use IO::Socket::INET ();
use IO::Select ();
use LWP::UserAgent ();
use HTTP::Request ();
use URI ();
use Time::HiRes ();
use Digest::MD5 qw(md5_hex);
use JSON::PP ();
use File::Temp ();
use POSIX ();

our @EXPORT = qw(long_case pg_kill9 pg_restart temp_files stored_file
                 die_mid_upload hammer state_bytes new_state_version
                 put_raw snippet restart_with_snippet kept_alive httpd_pid
                 ready slow_connection slow_clients answer_times
                 connections_to);

my $dir = instance()->{DIR};
my $json = JSON::PP->new->canonical;

# Long cases run under make check-faults only.
sub long_case {
    return if $ENV{TP_FAULTS_LONG};
    print "1..0 # SKIP long fault case: run make check-faults\n";
    exit 0;
}

# conf.d/NAME.conf of the instance.
sub snippet { "$dir/conf.d/$_[0].conf" }

# Apache restarted with conf.d/NAME.conf holding text. When the case
# ends, however it ends, the snippets it wrote are removed and Apache is
# restarted with the instance's own configuration.
my %written;    # snippet name -> the process that wrote it
sub restart_with_snippet {
    my ($name, $text) = @_;
    write_file(snippet($name), $text);
    $written{$name} = $$;
    restart_httpd();
}

END {
    my @mine = grep { $written{$_} == $$ } keys %written;
    if (@mine) {
        local $?;
        unlink map { snippet($_) } @mine;
        # best effort: a failure here must not hide the case's own result
        eval { restart_httpd() };
    }
}

# The pid of the instance's Apache parent, as its pid file says.
sub httpd_pid {
    open my $fh, '<', "$dir/run/httpd.pid" or die "httpd.pid: $!";
    chomp(my $pid = <$fh>);
    return $pid;
}

# 1 when the instance answers /ready with 200.
sub ready { (api(GET => '/ready'))[0]->code == 200 }

# A GET of a path over one kept-alive connection, with a token (the
# instance's admin token when none is given): a sequence of them lands on
# one Apache process and sees what that process keeps in its caches.
sub kept_alive {
    my $e = instance();
    my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 30,
        ssl_opts => {SSL_ca_file => $e->{TERRAPOD_CA_FILE}});
    return sub {
        my ($path, $token) = @_;
        return $ua->request(HTTP::Request->new(GET => "$e->{TERRAPOD_URL}$path",
            [Authorization => 'Bearer ' . ($token // $e->{TERRAPOD_TOKEN})]));
    };
}

# SIGKILL to the postmaster and every backend it started, as a crash or
# the OOM killer would leave it: no shutdown, no checkpoint.
sub pg_kill9 {
    open my $fh, '<', "$dir/pg/postmaster.pid" or die "postmaster.pid: $!";
    chomp(my $pm = <$fh>);
    my @backends = split ' ', qx{pgrep -P $pm};
    kill 'KILL', $pm, @backends;
    wait_until(10, sub { !kill 0, $pm }) or die "postmaster $pm survived SIGKILL";
}

# Starts PostgreSQL again (crash recovery included); returns when it
# accepts connections.
sub pg_restart {
    my $out = qx{$ENV{TP_SRC}/tools/tp-instance db-up $dir 2>&1};
    die "db-up: $out" if $?;
}

sub storage { "$dir/storage" }

# Upload temp files (".tmp-" names) anywhere in storage.
sub temp_files {
    my @found;
    require File::Find;
    File::Find::find(sub { push @found, $File::Find::name if /\.tmp-/ },
                     storage());
    return @found;
}

sub stored_file { -e storage() . "/$_[0]" }

# A terraform state of serial, marked with who wrote it so every upload
# has its own MD5.
sub state_bytes {
    my ($serial, $lineage, $who) = @_;
    return $json->encode({version => 4, terraform_version => '1.11.4',
                          serial => $serial, lineage => $lineage,
                          outputs => {who => {value => $who // 'test',
                                              type => 'string'}},
                          resources => []});
}

# POST a pending state version for bytes; returns (response, doc).
sub new_state_version {
    my ($ws, $serial, $lineage, $bytes, %opt) = @_;
    return api(POST => "/api/v2/workspaces/$ws/state-versions", %opt,
               body => {data => {type => 'state-versions', attributes => {
                   serial => $serial, lineage => $lineage,
                   md5 => md5_hex($bytes)}}});
}

sub put_raw {
    my ($url, $bytes) = @_;
    return (api(PUT => $url, raw => $bytes))[0];
}

# A client process that starts a PUT of bytes to url over TLS, sends
# part of the body (as Content-Length or chunked) and is killed with
# SIGKILL there: the server sees the connection reset mid-body.
sub die_mid_upload {
    my ($url, $bytes, %opt) = @_;
    my $u = URI->new($url);
    pipe my $r, my $w or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        my $s = IO::Socket::SSL->new(PeerHost => $u->host, PeerPort => $u->port,
                                     SSL_ca_file => instance()->{TERRAPOD_CA_FILE})
            or die "connect: $IO::Socket::SSL::SSL_ERROR";
        my $half = substr($bytes, 0, int(length($bytes) / 2));
        my $head = "PUT " . $u->path_query . " HTTP/1.1\r\nHost: "
                 . $u->host_port . "\r\nContent-Type: application/octet-stream\r\n";
        if ($opt{chunked}) {
            print $s $head . "Transfer-Encoding: chunked\r\n\r\n"
                   . sprintf("%x\r\n%s\r\n", length $half, $half);
        } else {
            print $s $head . "Content-Length: " . length($bytes) . "\r\n\r\n"
                   . $half;
        }
        syswrite $w, "sent\n";
        sleep 60;
        exit 0;
    }
    close $w;
    my $said = <$r>;
    die "the dying client never sent its half" unless $said;
    # the server is streaming it to a temp file when the client dies
    Test::More::ok(wait_until(5, sub { temp_files() }),
                   'mid-body: the server holds a temp file');
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

# Runs fn($worker, $iteration) in n forked processes until seconds pass;
# each call returns a list of result lines, gathered and returned.
sub hammer {
    my ($n, $seconds, $fn) = @_;
    my $out = File::Temp->new(DIR => $dir);
    my $until = Time::HiRes::time() + $seconds;
    my @pids;
    for my $worker (1 .. $n) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my @lines;
            for (my $i = 0; Time::HiRes::time() < $until; $i++) {
                push @lines, $fn->($worker, $i);
            }
            open my $fh, '>>', $out->filename or die $!;
            flock $fh, 2;
            print $fh map { "$_\n" } @lines;
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid $_, 0 for @pids;
    open my $fh, '<', $out->filename or die $!;
    chomp(my @lines = <$fh>);
    return @lines;
}

# ---- slow clients ----

my $SLOW_BODY_PATH = '/api/terrapod/v1/agent-pools/join';  # open, reads a body

sub server_port { URI->new(instance()->{TERRAPOD_URL})->port }

# One connection that sends slowly, a byte every $gap seconds, as kind:
# "handshake" dribbles a TLS ClientHello (one that sends nothing at all
# costs the server nothing: the kernel does not hand it over before its
# first data), "header" dribbles request headers and "body" sends the
# headers of an open POST at once and then dribbles its body. Returns the
# seconds until the server ended it, or undef when it was still open after
# $max seconds (or could not be opened).
sub slow_connection {
    my ($kind, $max, $gap) = @_;
    $gap //= 2;
    my $start = Time::HiRes::time();
    my $s = open_slow($kind) or return undef;
    my $next = {
        # a handshake record of 512 bytes: the server waits for all of it
        handshake => "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" . ("\0" x 500),
        header => "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " . ('a' x 100_000),
        body => 'x' x 100_000,
    }->{$kind};
    my $sel = IO::Select->new($s);
    my $due = 0;
    while ((my $now = Time::HiRes::time()) - $start < $max) {
        if ($now >= $due) {
            return $now - $start unless $s->syswrite(substr($next, 0, 1, ''));
            $due = $now + $gap;
        }
        # the server ends it by closing, or by answering (408) and closing
        if ($sel->can_read($due - Time::HiRes::time())) {
            return Time::HiRes::time() - $start unless $s->sysread(my $buf, 4096);
        }
    }
    return undef;
}

sub open_slow {
    my ($kind) = @_;
    my $port = server_port();
    if ($kind eq 'handshake') {
        return IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10);
    }
    my $s = IO::Socket::SSL->new(PeerHost => '127.0.0.1', PeerPort => $port,
                                 SSL_ca_file => instance()->{TERRAPOD_CA_FILE},
                                 SSL_verifycn_name => 'localhost', Timeout => 30)
        or return undef;
    if ($kind eq 'body') {
        $s->syswrite("POST $SLOW_BODY_PATH HTTP/1.1\r\nHost: localhost\r\n"
                     . "Content-Type: application/json\r\n"
                     . "Content-Length: 100000\r\n\r\n");
    }
    return $s;
}

# n processes, a third of each kind of slow_connection, each opening its
# connection again whenever the server ends it, for $seconds. Returns
# when they have all ended.
sub slow_clients {
    my ($n, $seconds) = @_;
    my $until = Time::HiRes::time() + $seconds;
    my @kinds = qw(handshake header body);
    my @pids;
    for my $i (0 .. $n - 1) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            while ((my $left = $until - Time::HiRes::time()) > 0) {
                slow_connection($kinds[$i % 3], $left)
                    // Time::HiRes::sleep(0.5);
            }
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    return sub { waitpid $_, 0 for @pids };
}

# Established TCP connections to the instance's port.
sub connections_to {
    my $port = server_port();
    my @lines = grep { /:\Q$port\E\s/ } qx{ss -Htn state established};
    return scalar grep { (split ' ')[2] =~ /:\Q$port\E$/ } @lines;
}

# For $seconds, every half second: a GET of each path on a new
# connection (with the instance's token for the API paths). Returns one
# [path, status, seconds] per request.
sub answer_times {
    my ($seconds, @paths) = @_;
    my $e = instance();
    my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 30,
        ssl_opts => {SSL_ca_file => $e->{TERRAPOD_CA_FILE}});
    my $until = Time::HiRes::time() + $seconds;
    my @got;
    while (Time::HiRes::time() < $until) {
        for my $path (@paths) {
            my $t = Time::HiRes::time();
            my $r = $ua->request(HTTP::Request->new(GET => "$e->{TERRAPOD_URL}$path",
                $path =~ m{^/api/} ? [Authorization => "Bearer $e->{TERRAPOD_TOKEN}"] : []));
            push @got, [$path, $r->code, Time::HiRes::time() - $t];
        }
        Time::HiRes::sleep(0.5);
    }
    return @got;
}

1;
