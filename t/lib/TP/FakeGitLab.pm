package TP::FakeGitLab;
# A fake self-hosted GitLab (API v4 under /api/v4) for one access token,
# sent as PRIVATE-TOKEN (or a Bearer token): anything else is a 401.
#
#   TP::FakeGitLab->new(port => P, token => 'glpat-...',
#                       username => 'ci-bot')->start
use strict;
use warnings FATAL => 'all';
use parent -norequire, 'TP::FakeVCS';
use TP::FakeVCS;

sub api { "$_[0]{base}/api/v4" }

sub routes {
    return (['GET', qr{^/api/v4/user$}, 'user']);
}

sub rate_headers { ('RateLimit-Remaining', 'RateLimit-Reset') }

# Why the token of $req is refused, or undef.
sub token_refusal {
    my ($self, $req) = @_;
    my $token = $req->header('PRIVATE-TOKEN')
        // (($req->header('Authorization') // '') =~ /^Bearer (\S+)$/)[0];
    return defined $token && $token eq $self->{token} ? undef
                                                      : '401 Unauthorized';
}

sub user {
    my ($self, $req) = @_;
    if (my $why = $self->token_refusal($req)) {
        return TP::FakeVCS::json_response(401, {message => $why});
    }
    return TP::FakeVCS::json_response(200, {id => 7,
        username => $self->{username}, name => 'CI bot', state => 'active'});
}

1;
