package TP::OIDCProvider;
# A small but real OpenID Connect provider for the tests, over plain HTTP
# on loopback: discovery, a JWK Set (one RSA and one EC P-256 key made with
# the openssl command), an authorization endpoint that signs in a configured
# user without asking, and a token endpoint that checks client
# authentication, the code, its redirect_uri and the PKCE verifier before
# issuing an ID token. A "tp_mode" parameter on the authorization request
# makes the token for that code bad in one chosen way.
use strict;
use warnings FATAL => 'all';
use parent -norequire, 'TP::FakeServer';
use TP::FakeServer;
use LWP::UserAgent;
use HTTP::Response;
use HTTP::Status qw(:constants);
use URI;
use URI::QueryParam;
use JSON::PP ();
use MIME::Base64 qw(encode_base64url decode_base64);
use Digest::SHA qw(sha256 sha256_hex hmac_sha256);
use File::Temp qw(tempfile);
use URI::Escape ();

my $json = JSON::PP->new->canonical;

sub b64u { encode_base64url($_[0]) }

sub openssl {
    my (@args) = @_;
    my $out = qx{openssl @args 2>/dev/null};
    die "openssl @args failed" if $?;
    return $out;
}

# Key files in dir (made once, so every start serves the same set):
# rsa.pem and ec.pem are published, rogue.pem is not.
sub keys_in {
    my ($dir) = @_;
    mkdir $dir unless -d $dir;
    my %gen = (rsa => 'genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048',
               ec => 'genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256',
               rogue => 'genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048');
    my %keys;
    for my $name (sort keys %gen) {
        my $file = "$dir/$name.pem";
        openssl("$gen{$name} -out $file") unless -s $file;
        $keys{$name} = {file => $file, jwk => jwk_of($file)};
    }
    return \%keys;
}

# The public JWK of a PEM private key, its kid a digest of the key.
sub jwk_of {
    my ($file) = @_;
    my $text = openssl("pkey -in $file -noout -text_pub");
    my $der = openssl("pkey -in $file -pubout -outform DER");
    my $kid = substr(sha256_hex($der), 0, 16);
    if ($text =~ /^Modulus/m) {
        my ($mod) = openssl("rsa -in $file -noout -modulus") =~ /=([0-9A-F]+)/;
        my ($e) = $text =~ /Exponent: (\d+)/;
        my $ebytes = pack('N', $e) =~ s/^\0+//r;
        return {kty => 'RSA', use => 'sig', alg => 'RS256', kid => "rsa-$kid",
                n => b64u(pack('H*', $mod)), e => b64u($ebytes)};
    }
    my $point = substr($der, -65);   # 04 || x || y at the end of the SPKI
    return {kty => 'EC', use => 'sig', alg => 'ES256', crv => 'P-256',
            kid => "ec-$kid", x => b64u(substr($point, 1, 32)),
            y => b64u(substr($point, 33, 32))};
}

# DER ECDSA-Sig-Value to JWS's r || s.
sub der_to_raw {
    my ($der) = @_;
    my ($rlen) = unpack('C', substr($der, 3, 1));
    my $r = substr($der, 4, $rlen);
    my ($slen) = unpack('C', substr($der, 5 + $rlen, 1));
    my $s = substr($der, 6 + $rlen, $slen);
    return join '', map { my $v = s/^\0+//r; ("\0" x (32 - length $v)) . $v }
                    $r, $s;
}

# A compact JWS of claims: alg RS256 or ES256 with key (a keys_in entry),
# "none", or HS256 with hmac_key.
sub sign_jwt {
    my (%o) = @_;
    my $header = {alg => $o{alg}, typ => 'JWT', %{ $o{header} || {} }};
    $header->{kid} //= $o{key}{jwk}{kid} if $o{key};
    my $input = b64u($json->encode($header)) . '.'
              . b64u($json->encode($o{claims}));
    return "$input." if $o{alg} eq 'none';
    return "$input." . b64u(hmac_sha256($input, $o{hmac_key}))
        if $o{alg} eq 'HS256';
    # removed at once: the provider runs in a child that is killed, so
    # File::Temp's clean-up at exit never comes
    my ($fh, $tmp) = tempfile();
    print $fh $input;
    close $fh;
    my $sig = openssl("dgst -sha256 -sign $o{key}{file} -binary $tmp");
    unlink $tmp;
    $sig = der_to_raw($sig) if $o{alg} eq 'ES256';
    return "$input." . b64u($sig);
}

# new(port => P, dir => KEYDIR, clients => {id => {secret, auth =>
# basic|post, redirect_uri}}, user => {email, name, groups,
# email_verified})
sub new {
    my ($class, %o) = @_;
    my $self = bless {%o, codes => {}}, $class;
    $self->{issuer} = "http://127.0.0.1:$o{port}";
    $self->{keys} = keys_in($o{dir});
    return $self;
}

sub issuer { $_[0]{issuer} }

# A browser for the code flow: a cookie jar and no automatic redirects,
# so tests see (and may tamper with) every hop.
sub browser {
    return LWP::UserAgent->new(max_redirect => 0, cookie_jar => {},
                               timeout => 30);
}

# Starts a sign-in at server (its base URL) through provider (default
# idp), lets this provider approve it (mode spoils the ID token, groups
# replaces the user's groups) and returns the browser, the callback URL
# the browser was sent back to, and the authorization request URL.
sub approve {
    my ($self, %o) = @_;
    my $ua = $o{browser} // browser();
    my $start = URI->new("$o{server}/api/terrapod/v1/auth/authorize");
    $start->query_form(provider => $o{provider} // 'idp',
                       return_to => $o{return_to} // '/');
    my $r = $ua->get($start);
    die "authorize: " . $r->as_string unless $r->code == HTTP_FOUND;
    my $auth = URI->new($r->header('Location'));
    $auth->query_param(tp_mode => $o{mode}) if $o{mode};
    $auth->query_param(tp_groups => $o{groups}) if defined $o{groups};
    $r = $ua->get($auth);
    die "provider: " . $r->as_string unless $r->code == HTTP_FOUND;
    return ($ua, $r->header('Location'), $auth);
}

# The server's answer to the callback of a whole sign-in.
sub sign_in {
    my ($self, %o) = @_;
    my ($ua, $callback) = $self->approve(%o);
    return $ua->get($callback);
}

sub reply {
    my ($code, $doc, %headers) = @_;
    my $r = HTTP::Response->new($code);
    $r->header(%headers) if %headers;
    if (defined $doc) {
        $r->header('Content-Type' => 'application/json');
        $r->content($json->encode($doc));
    }
    return $r;
}

sub respond {
    my ($self, $req) = @_;
    my $path = $req->uri->path;
    return $self->discovery if $path =~ m{/\.well-known/openid-configuration$};
    return reply(HTTP_OK, {keys => [map { $self->{keys}{$_}{jwk} } qw(rsa ec)]})
        if $path eq '/jwks';
    return $self->authorize($req) if $path eq '/authorize';
    return $self->token($req) if $path eq '/token' && $req->method eq 'POST';
    return reply(HTTP_NOT_FOUND, {error => 'not_found'});
}

# Served under any prefix, always naming this issuer: a provider
# configured with another issuer URL sees a mismatch.
sub discovery {
    my ($self) = @_;
    my $iss = $self->{issuer};
    return reply(HTTP_OK, {
        issuer => $iss,
        authorization_endpoint => "$iss/authorize",
        token_endpoint => "$iss/token",
        jwks_uri => "$iss/jwks",
        response_types_supported => ['code'],
        subject_types_supported => ['public'],
        id_token_signing_alg_values_supported => ['RS256', 'ES256'],
        code_challenge_methods_supported => ['S256'],
        token_endpoint_auth_methods_supported =>
            ['client_secret_basic', 'client_secret_post'],
    });
}

sub bad_request { HTTP::Response->new(HTTP_BAD_REQUEST, undef, [], $_[0]) }

sub authorize {
    my ($self, $req) = @_;
    my %q = map { $_ => scalar $req->uri->query_param($_) }
            $req->uri->query_param;
    my $client = $self->{clients}{$q{client_id} // ''}
        or return bad_request('unknown client_id');
    return bad_request('redirect_uri is not registered')
        unless ($q{redirect_uri} // '') eq $client->{redirect_uri};
    return bad_request('response_type must be code')
        unless ($q{response_type} // '') eq 'code';
    return bad_request('scope must include openid')
        unless ($q{scope} // '') =~ /(^| )openid( |$)/;
    return bad_request('PKCE S256 is required')
        unless ($q{code_challenge_method} // '') eq 'S256'
            && $q{code_challenge};
    my $back = URI->new($q{redirect_uri});
    if (($q{tp_mode} // '') eq 'deny') {
        $back->query_form(error => 'access_denied', state => $q{state});
        return reply(HTTP_FOUND, undef, Location => "$back");
    }
    my $code = b64u(join '', map { chr int rand 256 } 1 .. 24);
    $self->{codes}{$code} = {%q};
    $back->query_form(code => $code, state => $q{state});
    return reply(HTTP_FOUND, undef, Location => "$back");
}

sub token_error {
    my ($status, $error, $why) = @_;
    return reply($status, {error => $error, error_description => $why});
}

# The client's id and secret, by the authentication method it registered.
sub client_credentials {
    my ($self, $req, $form) = @_;
    my $auth = $req->header('Authorization') // '';
    if ($auth =~ /^Basic (\S+)$/) {
        my ($id, $secret) = split /:/, decode_base64($1), 2;
        return (URI::Escape::uri_unescape($id),
                URI::Escape::uri_unescape($secret // ''), 'basic');
    }
    return ($form->{client_id}, $form->{client_secret}, 'post');
}

sub token {
    my ($self, $req) = @_;
    my $u = URI->new('http:');
    $u->query($req->content);
    my %form = $u->query_form;
    my ($id, $secret, $method) = $self->client_credentials($req, \%form);
    my $client = $self->{clients}{$id // ''};
    return token_error(HTTP_UNAUTHORIZED, 'invalid_client', 'bad credentials')
        unless $client && ($secret // '') eq $client->{secret}
            && $method eq $client->{auth};
    return token_error(HTTP_BAD_REQUEST, 'unsupported_grant_type', '')
        unless ($form{grant_type} // '') eq 'authorization_code';
    my $grant = delete $self->{codes}{$form{code} // ''};
    return token_error(HTTP_BAD_REQUEST, 'invalid_grant', 'unknown code')
        unless $grant && $grant->{client_id} eq $id;
    return token_error(HTTP_BAD_REQUEST, 'invalid_grant', 'redirect_uri differs')
        unless ($form{redirect_uri} // '') eq $grant->{redirect_uri};
    return token_error(HTTP_BAD_REQUEST, 'invalid_grant', 'PKCE verifier fails')
        unless b64u(sha256($form{code_verifier} // '')) eq $grant->{code_challenge};
    return reply(HTTP_OK, {access_token => 'opaque', token_type => 'Bearer',
                           expires_in => 300,
                           id_token => $self->id_token($grant, $client)});
}

# The ID token for a grant, spoilt as its tp_mode asks.
sub id_token {
    my ($self, $grant, $client) = @_;
    my $mode = $grant->{tp_mode} // '';
    my $user = $self->{user};
    my $now = time;
    my %claims = (iss => $self->{issuer}, sub => "u-$user->{email}",
                  aud => $grant->{client_id}, iat => $now, exp => $now + 300,
                  nonce => $grant->{nonce}, email => $user->{email},
                  name => $user->{name}, groups => $user->{groups});
    $claims{email_verified} = $user->{email_verified}
        if exists $user->{email_verified};
    $claims{groups} = [split /,/, $grant->{tp_groups}]
        if defined $grant->{tp_groups};
    $claims{iss} .= '/evil' if $mode eq 'wrong_iss';
    $claims{aud} = 'someone-else' if $mode eq 'wrong_aud';
    @claims{qw(iat exp)} = ($now - 3600, $now - 1800) if $mode eq 'expired';
    $claims{nonce} = 'not-the-nonce' if $mode eq 'wrong_nonce';
    $claims{email_verified} = JSON::PP::false if $mode eq 'unverified';
    my %sign = (alg => 'RS256', key => $self->{keys}{rsa},
                claims => \%claims);
    %sign = (%sign, alg => 'ES256', key => $self->{keys}{ec})
        if $mode eq 'es256';
    $sign{key} = $self->{keys}{rogue} if $mode eq 'unknown_kid';
    %sign = (%sign, alg => 'none', key => undef) if $mode eq 'alg_none';
    %sign = (%sign, alg => 'HS256', key => undef,
             hmac_key => $client->{secret}) if $mode eq 'hs256';
    my $jwt = sign_jwt(%sign);
    if ($mode eq 'bad_sig') {   # another signature of the right length
        my ($input, $sig) = $jwt =~ /^(.*)\.([^.]+)$/;
        $jwt = "$input." . b64u(scalar reverse MIME::Base64::decode_base64url($sig));
    }
    return $jwt;
}

1;
