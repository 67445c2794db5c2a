# Listener mutual TLS against the real TLS instance: a listener joins over
# HTTPS and then authenticates with nothing but the client certificate it
# was issued, which mod_ssl verifies against the listener CA. Refused: no
# certificate, one from another CA, an expired one from the real CA,
# another listener's, one a reissue replaced, and a forwarded-certificate
# header from a peer that is not a trusted proxy.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP;
use URI::Escape qw(uri_escape);
use TP::E2E;

my $e = instance();
my $dir = workdir();
my $CA = "$e->{DIR}/tls/listener-ca";
my $json = JSON::PP->new->canonical;

# curl with an optional client certificate; returns (HTTP status or "000"
# when TLS refused the connection, decoded body)
sub call {
    my ($method, $path, %o) = @_;
    my @cmd = ('curl', '-sS', '-o', "$dir/body", '-w', '%{http_code}',
               '--cacert', $e->{TERRAPOD_CA_FILE}, '-X', $method);
    push @cmd, '--cert', $o{cert}, '--key', $o{key} if $o{cert};
    push @cmd, '-H', "$_: $o{headers}{$_}" for sort keys %{ $o{headers} || {} };
    if (exists $o{body}) {
        write_file("$dir/req.json", $json->encode($o{body}));
        push @cmd, '-H', 'Content-Type: application/json',
                   '--data-binary', "\@$dir/req.json";
    }
    push @cmd, "$e->{TERRAPOD_URL}$path";
    unlink "$dir/body";
    my $code = qx{@{[ join ' ', map { quotemeta } @cmd ]} 2>/dev/null};
    $code = '000' if $code eq '';
    my $body = -f "$dir/body" ? do { local $/; open my $fh, '<', "$dir/body"; <$fh> } : '';
    return ($code, eval { decode_json($body) });
}

sub status { (call(@_))[0] }

# keeps a join or renew answer's certificate and key as files
sub save_creds {
    my ($name, $doc) = @_;
    write_file("$dir/$name.pem", $doc->{certificate} // '');
    write_file("$dir/$name.key", $doc->{private_key} // '');
    chmod 0600, "$dir/$name.key";
    return (cert => "$dir/$name.pem", key => "$dir/$name.key");
}

sub refused {
    my ($code, $name) = @_;
    ok $code eq '401' || $code eq '000', "$name: refused ($code)";
}

my ($res, $doc) = api(POST => '/api/terrapod/v1/agent-pools',
                      body => {data => {type => 'agent-pools',
                                        attributes => {name => 'e2e-mtls'}}});
is $res->code, 201, 'pool created' or diag $res->content;
my $pool = $doc->{data}{id};
($res, $doc) = api(POST => "/api/terrapod/v1/agent-pools/$pool/authentication-tokens",
                   body => {data => {type => 'authentication-tokens',
                                     attributes => {description => 'e2e'}}});
is $res->code, 201, 'join token minted';
my $token = $doc->{data}{attributes}{token};

my ($code, $a) = call(POST => '/api/terrapod/v1/agent-pools/join',
                      body => {join_token => $token, name => 'mtls-a'});
is $code, 201, 'listener A joins over HTTPS';
my %A = save_creds('a', $a);
my ($code_b, $b) = call(POST => '/api/terrapod/v1/agent-pools/join',
                        body => {join_token => $token, name => 'mtls-b'});
is $code_b, 201, 'listener B joins';
my %B = save_creds('b', $b);
my $HB_A = "/api/terrapod/v1/listeners/$a->{listener_id}/heartbeat";
my $HB_B = "/api/terrapod/v1/listeners/$b->{listener_id}/heartbeat";

my $v = qx{openssl verify -CAfile $CA.pem $A{cert} 2>&1};
like $v, qr/: OK/, "A's certificate verifies against the deployment's listener CA";
unlike error_log(), qr/PRIVATE KEY/, 'the private key is not logged';

($code, $doc) = call(POST => $HB_A, %A, body => {capacity => 2});
is $code, 200, 'heartbeat with the issued certificate';
is $doc->{data}{attributes}{status}, 'online', 'the listener is online';
is status(POST => $HB_B, %B), 200, "B's heartbeat with B's certificate";

# refusals
($code, $doc) = call(POST => $HB_A);
is $code, 401, 'no certificate: 401';
ok $doc && $doc->{errors}[0]{status} eq '401', 'no certificate: JSON:API error';

is status(POST => $HB_A, %B), 401, "B's certificate on A's path: 401";

# a certificate from another CA, with the listener's own name
system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
       . " -keyout $dir/evil-ca.key -out $dir/evil-ca.pem -days 30"
       . " -subj '/CN=evil CA' >/dev/null 2>&1") == 0 or die 'evil CA';
system("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
       . " -keyout $dir/evil.key -out $dir/evil.csr -subj /CN=mtls-a"
       . " >/dev/null 2>&1") == 0 or die 'evil csr';
write_file("$dir/ext.cnf", "extendedKeyUsage = clientAuth\n");
system("openssl x509 -req -in $dir/evil.csr -CA $dir/evil-ca.pem"
       . " -CAkey $dir/evil-ca.key -CAcreateserial -days 30"
       . " -extfile $dir/ext.cnf -out $dir/evil.pem >/dev/null 2>&1") == 0
    or die 'evil cert';
($code) = call(POST => $HB_A, cert => "$dir/evil.pem", key => "$dir/evil.key");
refused($code, 'a certificate from another CA');

# an expired certificate signed by the real listener CA
write_file("$dir/index.txt", '');
write_file("$dir/serial", "1000\n");
write_file("$dir/ca.cnf", <<"CNF");
[ ca ]
default_ca = old
[ old ]
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ client ]
extendedKeyUsage = clientAuth
CNF
system("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
       . " -keyout $dir/old.key -out $dir/old.csr -subj /CN=mtls-a"
       . " >/dev/null 2>&1") == 0 or die 'old csr';
system("openssl ca -batch -config $dir/ca.cnf -cert $CA.pem -keyfile $CA.key"
       . " -in $dir/old.csr -out $dir/old.pem -notext -extensions client"
       . " -startdate 20200101000000Z -enddate 20200201000000Z"
       . " >/dev/null 2>&1") == 0 or die 'expired cert';
like qx{openssl verify -CAfile $CA.pem $dir/old.pem 2>&1}, qr/expired/,
     'the test certificate is expired and from the real CA';
($code) = call(POST => $HB_A, cert => "$dir/old.pem", key => "$dir/old.key");
refused($code, 'an expired certificate of the listener CA');

# a forwarded-certificate header counts only from a trusted proxy, and
# this instance trusts none
is status(POST => $HB_A, headers => {'X-Client-Cert' => uri_escape($a->{certificate}),
                                   'X-SSL-Client-Cert' => uri_escape($a->{certificate})}),
   401, 'a forwarded certificate header from an untrusted peer: 401';

# the same name again reissues; the previous certificate stops working
($code, my $a2) = call(POST => '/api/terrapod/v1/agent-pools/join',
                       body => {join_token => $token, name => 'mtls-a'});
is $code, 201, 'A joins again (a restarted pod)';
is $a2->{listener_id}, $a->{listener_id}, 'the same listener';
my %A2 = save_creds('a2', $a2);
is status(POST => $HB_A, %A), 401, "the reissued listener's old certificate: 401";
is status(POST => $HB_A, %A2), 200, 'the reissued certificate works';

# renew
($code, my $a3) = call(POST => "/api/terrapod/v1/listeners/$a->{listener_id}/renew", %A2);
is $code, 200, 'renew with the current certificate';
my %A3 = save_creds('a3', $a3);
isnt $a3->{certificate_serial}, $a2->{certificate_serial}, 'renew: a new serial';
is status(POST => $HB_A, %A3), 200, 'the renewed certificate works';
is status(POST => $HB_A, %A2), 401, 'the certificate renewed away: 401';
is status(POST => "/api/terrapod/v1/listeners/$a->{listener_id}/renew"), 401,
   'renew without a certificate: 401';

($res, $doc) = api(GET => "/api/terrapod/v1/agent-pools/$pool/listeners");
is $res->code, 200, 'the pool lists its listeners';
is join(',', sort map { $_->{attributes}{name} } @{ $doc->{data} }),
   'mtls-a,mtls-b', 'A and B';

done_testing(27);
