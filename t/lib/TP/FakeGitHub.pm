package TP::FakeGitHub;
# A fake GitHub Enterprise server (REST v3 under /api/v3) for one App
# installation: it verifies the App's JWT (RS256 against the App's public
# key, iss the App id, iat and exp sane), mints installation access tokens
# that expire in an hour, and wants one of them on everything else.
#
#   TP::FakeGitHub->new(port => P, app_id => 12345,
#                       installation_id => 880001, public_key => FILE,
#                       account => 'my-org', repos => ['infra'])->start
use strict;
use warnings FATAL => 'all';
use parent -norequire, 'TP::FakeVCS';
use TP::FakeVCS;
use MIME::Base64 qw(decode_base64url);
use File::Temp qw(tempfile);
use POSIX qw(strftime);

sub api { "$_[0]{base}/api/v3" }

sub routes {
    return (
        ['POST', qr{^/api/v3/app/installations/(\d+)/access_tokens$},
         'access_token'],
        ['GET', qr{^/api/v3/installation/repositories$}, 'repositories'],
    );
}

sub unauthorized {
    my ($why) = @_;
    return TP::FakeVCS::json_response(401, {message => $why,
        documentation_url => 'https://docs.github.com/rest'});
}

# 1 when $sig is the RS256 signature of $input under the App's key.
sub signed {
    my ($self, $input, $sig) = @_;
    my ($fh, $data) = tempfile();
    print $fh $input;
    close $fh;
    my ($sh, $sigfile) = tempfile();
    print $sh $sig;
    close $sh;
    my $out = qx{openssl dgst -sha256 -verify $self->{public_key} -signature $sigfile $data 2>&1};
    unlink $data, $sigfile;
    return $out =~ /Verified OK/;
}

# Why the App's JWT in $req is refused, or undef.
sub jwt_refusal {
    my ($self, $req) = @_;
    my ($jwt) = ($req->header('Authorization') // '') =~ /^Bearer (\S+)$/
        or return 'A JSON web token could not be decoded';
    my ($h, $c, $s) = split /\./, $jwt;
    return 'A JSON web token could not be decoded' unless defined $s;
    my $header = eval { $TP::FakeVCS::json->decode(decode_base64url($h)) };
    my $claims = eval { $TP::FakeVCS::json->decode(decode_base64url($c)) };
    return 'A JSON web token could not be decoded' unless $header && $claims;
    return "'alg' must be RS256" unless ($header->{alg} // '') eq 'RS256';
    return 'A JSON web token could not be verified'
        unless $self->signed("$h.$c", decode_base64url($s));
    return "'Issuer' claim ('iss') must be an Integer"
        unless ($claims->{iss} // '') eq "$self->{app_id}";
    my $now = time;
    return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
        unless ($claims->{iat} // 1e12) <= $now + 1;
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
        unless ($claims->{exp} // 0) > $now
               && $claims->{exp} - $claims->{iat} <= 660
               && $claims->{exp} <= $now + 600;
    return undef;
}

sub access_token {
    my ($self, $req, $state, $installation) = @_;
    if (my $why = $self->jwt_refusal($req)) {
        return unauthorized($why);
    }
    return TP::FakeVCS::json_response(404, {message => 'Not Found'})
        unless $installation eq "$self->{installation_id}";
    my $token = 'ghs_' . join '', map { ('a'..'z', 0..9)[rand 36] } 1..36;
    $state->{tokens}{$token} = time + 3600;
    return TP::FakeVCS::json_response(201, {
        token => $token,
        expires_at => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + 3600)),
        permissions => {contents => 'read', statuses => 'write',
                        pull_requests => 'write', metadata => 'read'},
        repository_selection => 'selected'});
}

# Why the installation token in $req is refused, or undef.
sub token_refusal {
    my ($self, $req, $state) = @_;
    my ($token) = ($req->header('Authorization') // '')
        =~ /^(?:Bearer|token) (\S+)$/ or return 'Requires authentication';
    my $until = $state->{tokens}{$token};
    return 'Bad credentials' unless $until && $until > time;
    return undef;
}

sub repositories {
    my ($self, $req, $state) = @_;
    if (my $why = $self->token_refusal($req, $state)) {
        return unauthorized($why);
    }
    my @repos = map { {name => $_, full_name => "$self->{account}/$_",
                       owner => {login => $self->{account}}} }
                @{ $self->{repos} };
    return TP::FakeVCS::json_response(200, {total_count => scalar @repos,
                                            repositories => \@repos});
}

1;
