package TP::Test;
# Helpers for the HTTP suite: JSON:API requests against the Apache::Test
# server, principals minted with terrapod-admin, and control of the suite's
# PostgreSQL cluster.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use TP::Util;
use JSON::PP ();
use Apache::TestRequest ();
use HTTP::Request ();
use LWP::UserAgent ();
use Time::HiRes ();
use IO::Socket::INET ();
use URI ();
use IPC::Open2 ();

our @EXPORT = qw(api json_of admin_token user_token sql pg_stop pg_start
                 wait_until free_port error_detail is_error make_ws current_sv_id
                 targz make_cv token_cache_expired read_cache_expired
                 kept_alive grant_ws_role proxied tls_agent announce_body
                 hold_backup_lock release_backup_lock $BACKUP_LOCK);

my $json = JSON::PP->new->canonical;

sub admin_cmd {
    my @args = @_;
    my $out = qx{$ENV{TP_SRC}/mod_terrapod/terrapod-admin @args --db '$ENV{TP_DB}' 2>&1};
    die "terrapod-admin @args: $out" if $?;
    return $out;
}

# A fresh API token for email, creating the user first; admin => 1 grants
# the platform admin role, lifespan => N makes it expire after N seconds.
sub user_token {
    my ($email, %opt) = @_;
    admin_cmd('user', '--email', $email, $opt{admin} ? '--admin' : ());
    my $out = admin_cmd('token', '--email', $email,
                        '--lifespan-seconds', $opt{lifespan} // 0);
    my ($token) = $out =~ /^TERRAPOD_TOKEN='([^']+)'/m or die $out;
    return $token;
}

sub admin_token { user_token('admin@test.local', admin => 1) }

# The suite's TLS virtual hosts (terrapod_proxy, terrapod_limits) are a
# reverse proxy's way in: an https request there presents a proxy's
# client certificate (one of TerrapodTrustedProxyCert's), so that the
# X-Client-Cert and X-Forwarded-For it sends are believed.
my $TLS = "$ENV{TP_INSTANCE}/tls";

# A user agent that trusts the suite's CA and presents the client
# certificate $name (t/run-all's proxy_certs) or none.
sub tls_agent {
    my ($name) = @_;
    return LWP::UserAgent->new(keep_alive => 0, ssl_opts => {
        SSL_ca_file => "$TLS/ca.pem",
        $name ? (SSL_cert_file => "$TLS/$name.pem", SSL_key_file => "$TLS/$name.key")
              : ()});
}
my $proxy_agent;

# The URL of path through the proxy's way in.
sub proxied {
    my ($path) = @_;
    # module2url makes its vhost the default of every later request
    local $Apache::TestRequest::Module = $Apache::TestRequest::Module;
    return Apache::TestRequest::module2url('terrapod_proxy',
                                           {scheme => 'https', path => $path});
}

# api(METHOD, PATH|URL, token => T, body => STRING|REF, headers => {...});
# absolute URLs (the signed ones the server hands out) are used as given,
# https ones through the proxy
sub api {
    my ($method, $path, %opt) = @_;
    my %headers = %{ $opt{headers} || {} };
    my $body;
    $headers{Authorization} = "Bearer $opt{token}" if $opt{token};
    if (exists $opt{body}) {
        $body = ref $opt{body} ? $json->encode($opt{body}) : $opt{body};
        $headers{'Content-Type'} //= 'application/vnd.api+json';
    }
    my $url = $path =~ m{^https?://} ? $path
                                     : Apache::TestRequest::resolve_url($path);
    my $req = HTTP::Request->new($method, $url, [%headers], $body);
    my $ua = $url =~ /^https:/ ? ($proxy_agent //= tls_agent('proxy'))
                               : Apache::TestRequest::user_agent(keep_alive => 0);
    return $ua->request($req);
}

# A GET over one connection kept open across calls, so that a sequence of
# them lands on one Apache process and sees what that process keeps in its
# caches: $get->(PATH, TOKEN, HEADER => VALUE...) gives the response (the
# same order as TP::Faults' kept_alive).
sub kept_alive {
    my $ua = LWP::UserAgent->new(keep_alive => 1);
    return sub {
        my ($path, $token, %headers) = @_;
        return $ua->request(HTTP::Request->new(GET =>
            Apache::TestRequest::resolve_url($path),
            [Authorization => "Bearer $token", %headers]));
    };
}

# The whole answer (status line, headers, body) to a $method of $url that
# announces a body of $length bytes and sends none of it: what the server
# says when it refuses a body by its Content-Length, before reading it.
sub announce_body {
    my ($method, $url, $length, %headers) = @_;
    my $u = URI->new($url =~ m{^https?://} ? $url
                                           : Apache::TestRequest::resolve_url($url));
    my $sock = IO::Socket::INET->new(PeerAddr => $u->host, PeerPort => $u->port,
                                     Proto => 'tcp', Timeout => 10)
        or die "connect: $!";
    $sock->autoflush(1);
    print $sock "$method " . $u->path_query . " HTTP/1.1\r\nHost: " . $u->host_port . "\r\n"
              . join('', map { "$_: $headers{$_}\r\n" } sort keys %headers)
              . "Content-Length: $length\r\n\r\n";
    local $/;
    my $answer = <$sock> // '';
    close $sock;
    return $answer;
}

# Two tests: the status, and a JSON:API errors document saying the same
# status with a detail.
sub is_error {
    my ($r, $status, $name) = @_;
    Test::More::is($r->code, $status, "$name: $status");
    my $doc = json_of($r);
    Test::More::ok($doc && ref $doc->{errors} eq 'ARRAY'
                   && ($doc->{errors}[0]{status} // '') eq "$status"
                   && length($doc->{errors}[0]{detail} // ''),
                   "$name: JSON:API errors document");
}

# Creates a workspace as token's user (its owner); returns its id.
sub make_ws {
    my ($token, $name, %attrs) = @_;
    my $r = api(POST => '/api/v2/organizations/default/workspaces',
                token => $token,
                body => {data => {type => 'workspaces',
                                  attributes => {name => $name, %attrs}}});
    die "creating workspace $name: " . $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}

# Creates the custom role $name (permission on the workspaces named
# @names) with the admin token $admin and gives it to $email.
sub grant_ws_role {
    my ($admin, $email, $name, $permission, @names) = @_;
    my $r = api(POST => '/api/terrapod/v1/roles', token => $admin,
                body => {data => {type => 'roles', attributes => {
                    name => $name, 'workspace-permission' => $permission,
                    'allow-names' => \@names}}});
    die "creating role $name: " . $r->as_string unless $r->code == 201;
    $r = api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
             body => {data => {type => 'role-assignments', attributes => {
                 email => $email, roles => [$name]}}});
    die "assigning role $name: " . $r->as_string unless $r->code == 200;
}

# A gzip tar of {name => content} files.
sub targz {
    my (%files) = @_;
    require Archive::Tar;
    require IO::Compress::Gzip;
    my $tar = Archive::Tar->new;
    $tar->add_data($_, $files{$_}) for sort keys %files;
    my $raw = $tar->write;
    my $gz;
    IO::Compress::Gzip::gzip(\$raw => \$gz) or die "gzip failed";
    return $gz;
}

# Creates and uploads a configuration version; returns its id.
sub make_cv {
    my ($token, $ws, %attrs) = @_;
    my $r = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
                token => $token,
                body => {data => {type => 'configuration-versions',
                                  attributes => {%attrs}}});
    die "creating a configuration version: " . $r->as_string
        unless $r->code == 201;
    my $cv = json_of($r)->{data};
    $r = api(PUT => $cv->{attributes}{'upload-url'},
             body => targz('main.tf' => qq{resource "terraform_data" "x" {}\n}),
             headers => {'Content-Type' => 'application/octet-stream'});
    die "uploading: " . $r->as_string unless $r->code == 200;
    return $cv->{id};
}

# The id of a workspace's current state version, or "none:<status>".
sub current_sv_id {
    my ($ws, $token) = @_;
    my $r = api(GET => "/api/v2/workspaces/$ws/current-state-version",
                token => $token);
    return $r->code == 200 ? json_of($r)->{data}{id} : 'none:' . $r->code;
}

sub json_of {
    my ($res) = @_;
    my $doc = eval { $json->decode($res->content) };
    return $doc;
}

sub error_detail {
    my $doc = json_of(shift) or return '';
    return $doc->{errors}[0]{detail} // '';
}

# The suite runs with the default TerrapodTokenCache: a change made in
# SQL, outside the API, reaches a token that is in use once an Apache
# process's cached lookup of it has expired.
our $TOKEN_CACHE_SECONDS = 1;
sub token_cache_expired { Time::HiRes::sleep($TOKEN_CACHE_SECONDS + 0.2) }

# Likewise with the default TerrapodReadCache: such a change shows in the
# answers of the reads an Apache process keeps once they have expired.
our $READ_CACHE_SECONDS = 1;
sub read_cache_expired { Time::HiRes::sleep($READ_CACHE_SECONDS + 0.2) }

# Runs SQL on the suite's database; returns the first column of each row.
sub sql {
    my ($query) = @_;
    my $out = qx{$ENV{PG_BINDIR}/psql '$ENV{TP_DB}' -tAqc "$query" 2>&1};
    die "psql: $out" if $?;
    chomp $out;
    return $out;
}

# the key tools/terrapod-backup locks ("tpbackup", mod_terrapod/tp_backup.h)
our $BACKUP_LOCK = '8390314276210570608';

# Holds the backup lock as the backup tool does, in a psql session of its
# own; returns the handles that end the session.
sub hold_backup_lock {
    my $pid = IPC::Open2::open2(my $out, my $in, "$ENV{PG_BINDIR}/psql",
                                '-X', '-q', '-tA', $ENV{TP_DB});
    print $in "SELECT 'locked' FROM pg_advisory_lock($BACKUP_LOCK);\n";
    $in->flush;
    chomp(my $line = <$out> // '');
    die "the backup lock was not taken: $line" unless $line eq 'locked';
    return [$pid, $in, $out];
}

sub release_backup_lock {
    my ($pid, $in) = @{ $_[0] };
    close $in;
    waitpid $pid, 0;
}

sub pg_ctl {
    my @args = @_;
    my $inst = $ENV{TP_INSTANCE};
    my $out = qx{$ENV{PG_BINDIR}/pg_ctl -D $inst/pg -w @args 2>&1};
    die "pg_ctl @args: $out" if $?;
}

sub pg_stop { pg_ctl('-m', 'fast', 'stop') }

sub pg_start {
    my $inst = $ENV{TP_INSTANCE};
    pg_ctl('-l', "$inst/log/postgresql.log",
           '-o', qq{"-k $inst/run -c listen_addresses="}, 'start');
}


1;
