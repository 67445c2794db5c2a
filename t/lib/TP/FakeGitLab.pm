package TP::FakeGitLab;
# A fake self-hosted GitLab (API v4 under /api/v4) for one access token,
# sent as PRIVATE-TOKEN (or a Bearer token): anything else is a 401.
#
# Projects are bare git repositories on disk: refs, branch heads and
# archive.tar.gz (git archive, under GitLab's PROJECT-SHA-SHA/).
#
#   TP::FakeGitLab->new(port => P, token => 'glpat-...',
#                       username => 'ci-bot',
#                       projects => {'group/sub/infra' => BARE_DIR})->start
use strict;
use warnings FATAL => 'all';
use parent -norequire, 'TP::FakeVCS';
use TP::FakeVCS;
use URI::Escape ();
use URI::QueryParam;

sub api { "$_[0]{base}/api/v4" }

sub routes {
    return (
        ['GET', qr{^/api/v4/user$}, 'user'],
        ['GET', qr{^/api/v4/projects/([^/]+)$}, 'project'],
        ['GET', qr{^/api/v4/projects/([^/]+)/repository/(branches|tags)$},
         'refs'],
        ['GET', qr{^/api/v4/projects/([^/]+)/repository/branches/([^/]+)$},
         'branch'],
        ['GET', qr{^/api/v4/projects/([^/]+)/repository/archive\.tar\.gz$},
         'archive'],
        ['GET', qr{^/api/v4/projects/([^/]+)/repository/commits/([^/]+)$},
         'commit'],
        ['GET', qr{^/api/v4/projects/([^/]+)/repository/tree$}, 'tree'],
    );
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

sub not_found { TP::FakeVCS::json_response(404, {message => "404 $_[0] Not Found"}) }

# The project's path and directory after the token is checked: (path,
# dir) or (undef, undef, the refusal to answer).
sub project_dir {
    my ($self, $req, $id) = @_;
    if (my $why = $self->token_refusal($req)) {
        return (undef, undef, TP::FakeVCS::json_response(401, {message => $why}));
    }
    my $path = URI::Escape::uri_unescape($id);
    my $dir = $self->{projects}{$path};
    return $dir ? ($path, $dir) : (undef, undef, not_found('Project'));
}

sub project {
    my ($self, $req, $state, $id) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    return TP::FakeVCS::json_response(200, {id => 42,
        path_with_namespace => $path, path => (split m{/}, $path)[-1],
        default_branch => $self->default_branch($dir)});
}

sub refs {
    my ($self, $req, $state, $id, $kind) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my @refs = map { {name => $_->[0], commit => {id => $_->[1]}} }
               $self->git_refs($dir, $kind eq 'tags');
    return TP::FakeVCS::json_response(200, TP::FakeVCS::paged($req, @refs));
}

sub branch {
    my ($self, $req, $state, $id, $branch) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    $branch = URI::Escape::uri_unescape($branch);
    my $sha = $self->branch_sha($dir, $branch) // return not_found('Branch');
    return TP::FakeVCS::json_response(200, {name => $branch,
        commit => {id => $sha, short_id => substr($sha, 0, 8)}});
}

sub commit {
    my ($self, $req, $state, $id, $ref) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $c = $self->commit_info($dir, URI::Escape::uri_unescape($ref))
        // return not_found('Commit');
    return TP::FakeVCS::json_response(200, {id => $c->{sha},
        short_id => substr($c->{sha}, 0, 8), message => $c->{message},
        author_name => $c->{author}, author_email => $c->{email},
        web_url => "$self->{base}/$path/-/commit/$c->{sha}"});
}

# A ref's tree (recursive=true for all of it), paged; when the test asks
# for truncation, full pages of made-up files without end.
sub tree {
    my ($self, $req, $state, $id) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $ref = $req->uri->query_param('ref') // $self->default_branch($dir);
    my $sha = $self->commit_of($dir, $ref) // return not_found('Tree');
    my @entries = map { +{id => $_->{sha}, name => (split m{/}, $_->{path})[-1],
                         type => $_->{type}, path => $_->{path},
                         mode => $_->{type} eq 'tree' ? '040000' : '100644'} }
                  @{ $self->tree_entries($dir, $sha) };
    @entries = grep { $_->{path} !~ m{/} } @entries
        unless ($req->uri->query_param('recursive') // '') eq 'true';
    if ($state->{truncate}) {
        my $per = $req->uri->query_param('per_page') || 20;
        my $page = $req->uri->query_param('page') || 1;
        return TP::FakeVCS::json_response(200, [map {
            +{id => '0' x 40, name => "f$_.tf", type => 'blob',
             path => "filler/p$page/f$_.tf", mode => '100644'} } 1 .. $per]);
    }
    return TP::FakeVCS::json_response(200, TP::FakeVCS::paged($req, @entries));
}

sub archive {
    my ($self, $req, $state, $id) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $ref = $req->uri->query_param('sha') // $self->default_branch($dir);
    my $sha = $self->commit_of($dir, $ref) // return not_found('Commit');
    return $self->archive_response($dir, $sha,
                                   (split m{/}, $path)[-1] . "-$ref-$sha");
}

1;
