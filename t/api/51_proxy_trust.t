# Who is believed to be a reverse proxy: only a peer that proves itself
# with one of the TerrapodTrustedProxyCert certificates, verified by
# mod_ssl (here on the TLS vhost terrapod_proxy); both certificates of a
# rotation work. Any other process on this host, though it connects from
# the TerrapodTrustedProxy address 127.0.0.1, can neither act as a
# listener by sending the listener's public certificate in X-Client-Cert
# nor name another client address in X-Forwarded-For; nor can a client of
# the TLS vhost with no certificate, or with another one the proxies' CA
# issued. The proxy's header is read as nginx and Apache's mod_headers
# write it.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use HTTP::Request ();
use URI::Escape qw(uri_escape);
use TP::Test;
use TP::Listener;

plan tests => 16;

my ($pool, $join) = make_pool(admin_token(), 'trust51');
my $l = join_as($join, 'trust51-l');
my $HB = "/api/terrapod/v1/listeners/$l->{listener_id}/heartbeat";
my @cert = ('X-Client-Cert' => uri_escape($l->{certificate}));

# a request through the TLS vhost as the client certificate $name
# presents it (undef: none)
sub over_tls {
    my ($name, $method, $path, @headers) = @_;
    return tls_agent($name)->request(HTTP::Request->new($method => proxied($path),
                                                        \@headers));
}

# ==== the listener's certificate, forwarded ====

is over_tls('proxy', POST => $HB, @cert)->code, 200,
   'from the proxy: the listener is admitted';
is over_tls('proxy2', POST => $HB, @cert)->code, 200,
   "from the proxy's other certificate too";
is_error(api(POST => $HB, headers => {@cert}), 401,
         'plain HTTP from 127.0.0.1, a trusted address on this host');
is_error(over_tls(undef, POST => $HB, @cert), 401, 'TLS without a certificate');
is_error(over_tls('stranger', POST => $HB, @cert), 401,
         "a certificate of the proxies' CA that is no proxy's");

# as Apache's mod_headers forwards it: "%{SSL_CLIENT_CERT}s" turns line
# breaks into spaces, "expr=%{escape:%{SSL_CLIENT_CERT}}" escapes in lower
# case and leaves + / = alone; "(null)" is what the first sends for none
(my $unfolded = $l->{certificate}) =~ s/\n/ /g;
(my $escaped = $l->{certificate})
    =~ s{([^A-Za-z0-9\$\-_.+!*'(),:;@&=/~])}{sprintf '%%%02x', ord $1}ge;
is over_tls('proxy', POST => $HB, 'X-Client-Cert' => $unfolded)->code, 200,
   'line breaks as spaces (Apache\'s %{SSL_CLIENT_CERT}s)';
is over_tls('proxy', POST => $HB, 'X-Client-Cert' => $escaped)->code, 200,
   'escaped in lower case (Apache\'s %{escape:...})';
is_error(over_tls('proxy', POST => $HB, 'X-Client-Cert' => '(null)'), 401,
         'the "(null)" of a client without a certificate');

# ==== the client address, forwarded ====

my $token = user_token('trust51@test.local');
my @auth = (Authorization => "Bearer $token");

# the client address the audit log records for a request of workspace $id
sub seen_from {
    my ($id) = @_;
    my $ip = '';
    wait_until(10, sub {
        $ip = sql("SELECT client_ip FROM audit_log WHERE resource_id = '$id'");
        length $ip;
    });
    return $ip;
}

over_tls('proxy', GET => '/api/v2/workspaces/ws-trust51a', @auth,
         'X-Forwarded-For' => '203.0.113.51');
is seen_from('ws-trust51a'), '203.0.113.51', 'from the proxy: the forwarded address';
api(GET => '/api/v2/workspaces/ws-trust51b', token => $token,
    headers => {'X-Forwarded-For' => '203.0.113.52'});
like seen_from('ws-trust51b'), qr/^(127\.0\.0\.1|::1)$/,
     'plain HTTP from this host: its own address';
over_tls('stranger', GET => '/api/v2/workspaces/ws-trust51c', @auth,
         'X-Forwarded-For' => '203.0.113.53');
like seen_from('ws-trust51c'), qr/^(127\.0\.0\.1|::1)$/,
     "another certificate of the proxies' CA: its own address";
over_tls(undef, GET => '/api/v2/workspaces/ws-trust51d', @auth,
         'X-Forwarded-For' => '203.0.113.54');
like seen_from('ws-trust51d'), qr/^(127\.0\.0\.1|::1)$/,
     'no certificate: its own address';
