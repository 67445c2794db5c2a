# The reverse-proxy guide (docs/proxy.md), for real: its backend snippet
# in the instance, a second Apache with its proxy snippet (and nginx with
# its own, when installed), each on a port of its own. Through each proxy:
# terraform's cloud block with remote state, a listener that joins and
# applies an agent run, the client's address (not the proxy's) in the
# audit log, and a listener's certificate sent in the header by a client
# refused. Straight to the instance the header is refused too, and the
# proxy's port takes no connection without the proxy's certificate. A
# proxy without a certificate of its own in front of the instance's own
# port logs no AH02268 for ordinary requests, while listeners
# authenticate there: the instance asks for a certificate on listener
# paths only.
use strict;
use warnings FATAL => 'all';
use Test::More;
use IO::Socket::IP ();
use JSON::PP ();
use LWP::UserAgent ();
use POSIX ();
use URI ();
use URI::Escape qw(uri_escape);
use TP::E2E;

my $e = instance();
my $tls = "$e->{DIR}/tls";
my $dir = "$e->{DIR}/reverse-proxy";
my $snippet = "$e->{DIR}/conf.d/reverse-proxy.conf";
my $NAT = '/api/terrapod/v1';
# what the proxies' workers run as, as the instance's
my $service = $> == 0 ? 'terrapod' : undef;

# the proxies reach the instance over ::1, so that the audit log tells
# them from their clients, which come from 127.0.0.1
IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1)
    or plan skip_all => 'no IPv6 loopback (::1) to tell the proxy from its clients';
mkdir $dir;
chmod 0755, $dir;


sub run_ok {
    my $out = qx{@{[ join ' ', map { quotemeta } @_ ]} 2>&1};
    die "@_: $out" if $?;
}

# a CA of the proxies and the proxy's client certificate, as docs/proxy.md
# makes them: proxy.pem and proxy.key, and both in terrapod-proxy.pem
sub proxy_certs {
    run_ok(qw(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256
              -nodes -days 30 -subj /CN=test-proxy-CA),
           -addext => 'basicConstraints=critical,CA:TRUE',
           -keyout => "$dir/proxy-ca.key", -out => "$dir/proxy-ca.pem");
    run_ok(qw(openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes
              -subj /CN=test-proxy), -keyout => "$dir/proxy.key",
           -out => "$dir/proxy.csr");
    write_file("$dir/client.ext", "extendedKeyUsage=clientAuth\n");
    run_ok(qw(openssl x509 -req -days 30 -CAcreateserial),
           -in => "$dir/proxy.csr", -CA => "$dir/proxy-ca.pem",
           -CAkey => "$dir/proxy-ca.key", -extfile => "$dir/client.ext",
           -out => "$dir/proxy.pem");
    write_file("$dir/terrapod-proxy.pem", slurp("$dir/proxy.pem") . slurp("$dir/proxy.key"));
    chmod 0600, "$dir/proxy.key", "$dir/terrapod-proxy.pem";
}

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    return <$fh>;
}

# The snippet of docs/proxy.md whose first line is $first, with this
# machine's names, addresses and files for the examples' (longest first,
# so a URL goes before its host name).
sub guide {
    my ($first, %at) = @_;
    %at = (%at,
        '/etc/ssl/certs/terraform.example.com.pem'   => "$tls/server.pem",
        '/etc/ssl/private/terraform.example.com.key' => "$tls/server.key",
        '/etc/terrapod/listener-ca.pem'              => "$tls/listener-ca.pem",
        '/etc/ssl/certs/terrapod-backend-ca.pem'     => "$tls/ca.pem",
        '/etc/terrapod/proxy-ca.pem'                 => "$dir/proxy-ca.pem",
        '/etc/terrapod/proxy.pem'                    => "$dir/proxy.pem",
        '/etc/apache2/terrapod-proxy.pem'            => "$dir/terrapod-proxy.pem",
        '/etc/nginx/terrapod-proxy.pem'              => "$dir/proxy.pem",
        '/etc/nginx/terrapod-proxy.key'              => "$dir/proxy.key",
        'terraform.example.com'                      => 'localhost',
        '192.0.2.5'                                  => '::1');
    my ($text) = slurp("$ENV{TP_SRC}/docs/proxy.md") =~ /^```\w+\n(\Q$first\E.*?)^```$/ms
        or die "docs/proxy.md has no snippet \"$first\"";
    for my $from (sort { length $b <=> length $a } keys %at) {
        $text =~ s/\Q$from\E/$at{$from}/g;
    }
    die "an example left in \"$first\":\n$text" if $text =~ /example\.com|192\.0\.2\./;
    return $text;
}

# what a proxy's snippet needs for the proxy at $port whose backend is
# the instance's port $backend
sub proxy_at {
    my ($port, $backend) = @_;
    return ('https://terraform.example.com' => "https://localhost:$port",
            '192.0.2.10:8444' => "[::1]:$backend");
}

# The backend: the guide's port for each proxy, in the running instance.
sub backend_up {
    my (%ports) = @_;
    write_file($snippet, join "\n", map {
        guide('# On the backend', proxy_at($_, $ports{$_}))
    } sort keys %ports);
    restart_httpd();
}

my $httpd = httpd_cmd();

# A second Apache: the guide's proxy on $port, and on $plain_port one
# without a certificate of its own in front of the instance's own port.
sub apache_up {
    my ($port, $backend, $plain_port) = @_;
    my $d = "$dir/apache";
    my $apxs = qx{command -v apxs || command -v apxs2};
    chomp $apxs;
    chomp(my $moddir = qx{$apxs -q LIBEXECDIR});
    my $inst_port = URI->new($e->{TERRAPOD_URL})->port;
    mkdir $d;
    write_file("$d/httpd.conf", join "\n",
        "ServerRoot $d", 'ServerName localhost', "PidFile $d/httpd.pid",
        "DefaultRuntimeDir $d", "Mutex file:$d default",
        ($service ? ("User $service", "Group $service") : ()),
        (map { "LoadModule ${_}_module $moddir/mod_$_.so" }
             qw(mpm_event authz_core socache_shmcb ssl headers proxy proxy_http)),
        "ErrorLog $d/error_log", 'LogLevel warn',
        "SSLSessionCache shmcb:$d/ssl_scache(512000)",
        "Listen 127.0.0.1:$port", "Listen 127.0.0.1:$plain_port",
        guide('# On the proxy (Apache)', proxy_at($port, $backend),
              '*:443' => "127.0.0.1:$port"),
        <<"CONF");
<VirtualHost 127.0.0.1:$plain_port>
    SSLEngine on
    SSLCertificateFile $tls/server.pem
    SSLCertificateKeyFile $tls/server.key
    SSLProxyEngine on
    SSLProxyVerify require
    SSLProxyCACertificateFile $tls/ca.pem
    ProxyPass / https://localhost:$inst_port/
</VirtualHost>
CONF
    run_ok(split(' ', $httpd), '-f', "$d/httpd.conf", '-k', 'start');
    wait_until(10, sub { -s "$d/httpd.pid" && listening($port) })
        or die "the Apache proxy did not start: " . slurp("$d/error_log");
    return "$d/error_log";
}

# nginx, when installed, with the guide's server block on $port.
sub nginx_up {
    my ($port, $backend) = @_;
    my $d = "$dir/nginx";
    mkdir $d;
    for my $temp (qw(body proxy fastcgi uwsgi scgi)) {
        mkdir "$d/$temp";
        chown scalar(getpwnam $service), -1, "$d/$temp" if $service;
    }
    write_file("$d/nginx.conf", join "\n",
        "pid $d/nginx.pid;", "error_log $d/error.log warn;",
        ($service ? "user $service;" : ()),
        'events { worker_connections 256; }', 'http {',
        "    access_log $d/access.log;",
        (map { "    ${_}_temp_path $d/" . (/client_body/ ? 'body' : $_) . ';' }
             qw(client_body proxy fastcgi uwsgi scgi)),
        guide('# On the proxy (nginx)', proxy_at($port, $backend),
              'listen 443 ssl' => "listen 127.0.0.1:$port ssl"),
        '}', '');
    run_ok('nginx', '-e', "$d/error.log", '-p', "$d/", '-c', "$d/nginx.conf");
    wait_until(10, sub { -s "$d/nginx.pid" && listening($port) })
        or die "nginx did not start: " . slurp("$d/error.log");
}

sub listening { IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $_[0]) }

my @listeners;
END {
    local $?;
    kill 'TERM', @listeners if @listeners;
    for my $pidfile ("$dir/apache/httpd.pid", "$dir/nginx/nginx.pid") {
        next unless -s $pidfile;
        chomp(my $pid = slurp($pidfile));
        kill 'TERM', $pid;
        wait_until(10, sub { !kill 0, $pid });
    }
    if (-e $snippet) {
        unlink $snippet;
        eval { restart_httpd() };
    }
}

# curl's status for a request ("000": no TLS connection), with options
# such as --cert
sub status {
    my ($method, $url, @opts) = @_;
    my $code = qx{@{[ join ' ', map { quotemeta } 'curl', '-s', '-o', '/dev/null',
        '-w', '%{http_code}', '--cacert', $e->{TERRAPOD_CA_FILE}, '-X', $method,
        ($method eq 'POST' ? ('-H', 'Content-Type: application/json',
                              '--data', '{"capacity":1}') : ()),
        @opts, $url ]}};
    return $code eq '' ? '000' : $code;
}

# the client address the audit log records for the request of resource $id
sub seen_from {
    my ($id) = @_;
    my $ip = '';
    wait_until(10, sub {
        $ip = psql("SELECT string_agg(DISTINCT client_ip, ',') FROM audit_log"
                   . " WHERE resource_id = '$id'");
        length $ip;
    });
    return $ip;
}

# a pool of its own: (its id, a join token)
sub pool {
    my ($name) = @_;
    my ($res, $doc) = api(POST => "$NAT/agent-pools",
        body => {data => {type => 'agent-pools', attributes => {name => $name}}});
    die $res->content unless $res->code == 201;
    my $pool = $doc->{data}{id};
    ($res, $doc) = api(POST => "$NAT/agent-pools/$pool/authentication-tokens",
        body => {data => {type => 'authentication-tokens', attributes => {}}});
    die $res->content unless $res->code == 201;
    return ($pool, $doc->{data}{attributes}{token});
}

# A terrapod-listener that joins through $url: (its state directory, its
# log) once it has joined.
sub listener_through {
    my ($name, $url, $join) = @_;
    my $state = "$dir/listener-$name";
    my $log = "$e->{DIR}/log/listener-$name.log";
    mkdir $state;
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>>', $log or die;
        open STDERR, '>&', \*STDOUT or die;
        { exec "$ENV{TP_SRC}/listener/terrapod-listener", '--url', $url,
              '--ca-file', $e->{TERRAPOD_CA_FILE}, '--join-token', $join,
              '--name', "via-$name", '--state-dir', $state, '--concurrency', '1' }
        POSIX::_exit(127);
    }
    push @listeners, $pid;
    wait_until(30, sub { -s "$state/listener.json" })
        or die "the listener did not join through $url: " . slurp($log);
    return ($state, $log);
}

proxy_certs();
my %port = (apache => free_port('127.0.0.1'), nginx => free_port('127.0.0.1'));
my %backend = (apache => free_port('::1'), nginx => free_port('::1'));
my $plain_port = free_port('127.0.0.1');
my $have_nginx = grep { -x "$_/nginx" } split /:/, $ENV{PATH};
my @proxies = ('apache', $have_nginx ? 'nginx' : ());

backend_up(map { $port{$_} => $backend{$_} } @proxies);
my $apache_log = apache_up($port{apache}, $backend{apache}, $plain_port);
nginx_up($port{nginx}, $backend{nginx}) if $have_nginx;

local $TP::E2E::cli_config = "$dir/terraformrc";
write_file($TP::E2E::cli_config, join '', map {
    qq{credentials "localhost:$port{$_}" {\n  token = "$e->{TERRAPOD_TOKEN}"\n}\n}
} @proxies);

# proxy -> [listener id, its certificate and key file, its certificate]
my %listener_of;

sub through {
    my ($name) = @_;
    my $url = "https://localhost:$port{$name}";
    my $tf = workdir();

    # ==== terraform, local execution: remote state through the proxy ====
    write_file("$tf/main.tf", cloud_config(hostname => "localhost:$port{$name}",
                                           workspace => "proxy-$name"));
    my ($rc, $out) = terraform($tf, 'init', '-input=false');
    is $rc, 0, 'terraform init through the proxy' or diag $out;
    ($rc, $out) = terraform($tf, 'apply', '-auto-approve', '-input=false');
    is $rc, 0, 'terraform apply' or diag $out;
    like $out, qr/Apply complete! Resources: 1 added/, 'applied';
    my ($res, $doc) = api(GET => "$url/api/v2/organizations/default/workspaces/proxy-$name");
    my $ws = $doc->{data}{id};
    ($res, $doc) = api(GET => "$url/api/v2/workspaces/$ws/current-state-version");
    is $res->code, 200, 'its state is stored';
    like $doc->{data}{attributes}{'hosted-state-download-url'} // '',
         qr{^\Q$url\E/}, 'and downloaded through the proxy (TerrapodPublicURL)';
    ok wait_until(10, sub {
        psql("SELECT count(*) FROM audit_log WHERE method = 'POST'"
             . " AND path = '/api/v2/workspaces/$ws/state-versions'") > 0
    }), 'the audit log has its state upload';
    is seen_from($ws), '127.0.0.1',
       "each request recorded from terraform's address, none from the proxy's (::1)";
    api(GET => "$url/api/v2/workspaces/ws-forged-$name",
        headers => {'X-Forwarded-For' => '203.0.113.7'});
    is seen_from("ws-forged-$name"), '127.0.0.1',
       'an address a client puts in X-Forwarded-For is not believed';

    # ==== a listener that joins through the proxy, and an agent run ====
    my ($pool, $join) = pool("proxy-$name");
    my ($state, $log) = listener_through($name, $url, $join);
    my $lid = JSON::PP::decode_json(slurp("$state/listener.json"))->{listener_id};
    # (a listener refused would leave terraform waiting for its run)
    ok wait_until(30, sub {
        psql("SELECT count(*) FROM audit_log WHERE path LIKE '$NAT/listeners/$lid/%'"
             . " AND status IN (200, 204)") > 0
    }), 'the listener authenticates through the proxy' or return;
    my (undef, $code) = agent_workspace("proxy-$name", 'agent-pool-id' => $pool);
    is $code, 200, 'the workspace runs on the listener\'s pool';
    write_file("$tf/main.tf", cloud_config(hostname => "localhost:$port{$name}",
        workspace => "proxy-$name",
        body => qq{resource "terraform_data" "x" {\n  input = "via $name"\n}\n}));
    ($rc, $out) = terraform($tf, 'apply', '-auto-approve', '-input=false');
    is $rc, 0, 'terraform apply on the listener' or diag $out, slurp($log);
    like $out, qr/Apply complete! Resources: 0 added, 1 changed/,
         "the run's output streamed to the CLI";
    my (undef, $runs) = api(GET => "/api/v2/workspaces/$ws/runs");
    my $run = $runs->{data}[0]{id};
    is status_of($run), 'applied', 'the run is applied';
    like slurp($log), qr/TPL0040: run \Q$run\E: apply applied/, 'by that listener';
    is psql("SELECT string_agg(DISTINCT client_ip, ',') FROM audit_log"
            . " WHERE path LIKE '$NAT/listeners/$lid/%'"), '127.0.0.1',
       "the listener's requests are recorded from its address";

    # ==== a listener's certificate sent by a client ====
    my ($cert) = slurp("$state/listener.pem")
        =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n)/s;
    my $heartbeat = "$url$NAT/listeners/$lid/heartbeat";
    is status(POST => $heartbeat, '--cert', "$state/listener.pem"), 200,
       'a heartbeat with the listener\'s certificate';
    is status(POST => $heartbeat, '-H', 'X-Client-Cert: ' . uri_escape($cert)), 401,
       'the certificate in X-Client-Cert, sent by a client: 401';
    $listener_of{$name} = [$lid, "$state/listener.pem", $cert];
}

for my $name ('apache', 'nginx') {
    SKIP: {
        skip 'nginx is not installed (apt-get install nginx-light)', 1
            if $name eq 'nginx' && !$have_nginx;
        subtest "through the $name proxy" => sub { through($name) };
    }
}

subtest 'straight to the instance' => sub {
    my ($lid, $creds, $cert) = @{ $listener_of{apache} || die 'no listener' };
    my $inst_port = URI->new($e->{TERRAPOD_URL})->port;
    is status(POST => "$e->{TERRAPOD_URL}$NAT/listeners/$lid/heartbeat",
              '-H', 'X-Client-Cert: ' . uri_escape($cert)), 401,
       "its own port: a listener's certificate in the header is refused";
    my $at = "https://localhost:$backend{apache}";
    my @to = ('--resolve', "localhost:$backend{apache}:[::1]");
    is status(GET => "$at/health", @to, '--cert', "$dir/proxy.pem", '--key', "$dir/proxy.key"),
       200, "the proxy's port, with the proxy's certificate";
    is status(GET => "$at/health", @to), '000', 'without it: no connection';
    is status(POST => "$at$NAT/listeners/$lid/heartbeat", @to, '--cert', $creds),
       '000', "with the listener's: no connection";
};

subtest 'a proxy without a certificate logs no AH02268' => sub {
    my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 30,
        ssl_opts => {SSL_ca_file => $e->{TERRAPOD_CA_FILE}});
    my @codes = map {
        $ua->get("https://localhost:$plain_port$_",
                 Authorization => "Bearer $e->{TERRAPOD_TOKEN}")->code
    } ('/health', '/api/v2/account/details') x 10;
    is_deeply [grep { $_ != 200 } @codes], [], '20 ordinary requests through it: 200';
    my ($lid, $creds) = @{ $listener_of{apache} };
    is status(POST => "$e->{TERRAPOD_URL}$NAT/listeners/$lid/heartbeat", '--cert', $creds),
       200, "a listener's certificate on the instance's own port is asked for and admitted";
    my @warned = grep { /AH02268/ } split /\n/, slurp($apache_log);
    is scalar(@warned), 0, "the proxy's error log has no AH02268" or diag $warned[0];
};

# The template's LocationMatch and the route table agree: a certificate
# is asked for on every LISTENER path and on no other, so people's
# requests for a listener (from browsers, which cannot be asked after the
# handshake) get the API's answer.
subtest 'the instance asks for a certificate on listener paths only' => sub {
    my ($asks) = slurp("$ENV{TP_SRC}/conf/httpd.conf.in") =~ /^<LocationMatch "([^"]+)">/m
        or die 'no LocationMatch in conf/httpd.conf.in';
    like slurp("$ENV{TP_SRC}/conf/terrapod.conf"), qr/<LocationMatch "\Q$asks\E">/,
         'conf/terrapod.conf asks on the same paths';
    my $routes = slurp("$ENV{TP_SRC}/mod_terrapod/mod_terrapod_routes.c");
    my %wrong;
    while ($routes =~ /\{"(\w+)", NATIVE "([^"]+)",\s*(\w+)/g) {
        my ($method, $path, $auth) = ($1, "/api/terrapod/v1$2", $3);
        (my $concrete = $path) =~ s/\{\w+\}/x-1/g;
        $wrong{"$method $path ($auth)"} = 1
            if ($concrete =~ /$asks/ xor $auth eq 'LISTENER');
    }
    is_deeply [sort keys %wrong], [], 'every LISTENER route and no other';
    my ($res, $doc) = api(POST => "$NAT/listeners/listener-none/actions/revoke");
    is $res->code, 404, "an admin's request for a listener, without a certificate: "
                        . "the API's answer" or diag $res->content;
};

done_testing;
