package TP::FakeGitLab;
# A fake self-hosted GitLab (API v4 under /api/v4) for one access token,
# sent as PRIVATE-TOKEN (or a Bearer token): anything else is a 401.
#
# Projects are bare git repositories on disk: refs, branch heads and
# archive.tar.gz (git archive, under GitLab's PROJECT-SHA-SHA/).
#
# It compares commits (git diff) and sends webhooks as GitLab does
# (deliver: the secret token verbatim in X-Gitlab-Token).
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
        ['GET', qr{^/api/v4/projects/([^/]+)/merge_requests$},
         'merge_requests'],
        ['GET', qr{^/api/v4/projects/([^/]+)/merge_requests/(\d+)$},
         'merge_request'],
        ['GET', qr{^/api/v4/projects/([^/]+)/merge_requests/(\d+)/diffs$},
         'diffs'],
        ['POST', qr{^/api/v4/projects/([^/]+)/statuses/([0-9a-f]{40})$},
         'status'],
        ['POST', qr{^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$},
         'note_create'],
        ['PUT', qr{^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$},
         'note_update'],
        ['GET', qr{^/api/v4/projects/([^/]+)/repository/commits/([^/]+)$},
         'commit'],
        ['GET', qr{^/api/v4/projects/([^/]+)/repository/tree$}, 'tree'],
        ['GET', qr{^/api/v4/projects/([^/]+)/repository/compare$}, 'compare'],
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

sub compare {
    my ($self, $req, $state, $id) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my ($from, $to) = map { $req->uri->query_param($_) // '' } qw(from to);
    defined $self->commit_of($dir, $from) && defined $self->commit_of($dir, $to)
        or return not_found('Commit');
    return TP::FakeVCS::json_response(200, {commits => [],
        compare_timeout => JSON::PP::false,
        diffs => [map { {new_path => $_->[0], old_path => $_->[1],
                         renamed_file => $_->[0] ne $_->[1]
                             ? JSON::PP::true : JSON::PP::false} }
                  $self->changed_files($dir, $from, $to)]});
}

# A push of $after to $branch of project $path as its webhook describes it.
sub push_payload {
    my ($self, $path, $branch, $before, $after) = @_;
    return {object_kind => 'push', event_name => 'push',
            ref => "refs/heads/$branch", before => $before, after => $after,
            checkout_sha => $after, user_username => 'tester',
            project => {path_with_namespace => $path,
                        web_url => "$self->{base}/$path"}};
}

# Sends the module ($url) a delivery of $event ("Push Hook", ...) with
# $payload, its secret $token as GitLab sends it (undef: none); %o:
# delivery (its X-Gitlab-Event-UUID), headers. The module's answer.
sub deliver {
    my ($self, $url, $token, $event, $payload, %o) = @_;
    my $body = ref $payload ? $TP::FakeVCS::json->encode($payload) : $payload;
    return TP::FakeVCS::post_delivery($url, $body,
        'X-Gitlab-Event' => $event,
        'X-Gitlab-Event-UUID' => $o{delivery} // TP::FakeVCS::delivery_id(),
        'X-Gitlab-Instance' => $self->{base},
        defined $token ? ('X-Gitlab-Token' => $token) : (),
        %{ $o{headers} // {} });
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

sub merge_requests {
    my ($self, $req, $state, $id) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $q = $req->uri;
    my @mrs = ($q->query_param('state') // 'opened') eq 'opened'
        ? $self->open_prs($state, $path, $dir,
                          $q->query_param('target_branch')) : ();
    my @list = map { {iid => $_->{number}, id => 1000 + $_->{number},
        state => 'opened', title => $_->{title},
        author => {username => $_->{author} // 'dev'},
        web_url => "$self->{base}/$path/-/merge_requests/$_->{number}",
        source_branch => $_->{head}, target_branch => $_->{base},
        sha => $_->{sha}} } @mrs;
    return TP::FakeVCS::json_response(200, TP::FakeVCS::paged($req, @list));
}

# One merge request: opened, merged or closed.
sub merge_request {
    my ($self, $req, $state, $id, $iid) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $pr = $self->pr_of($state, $path, $iid)
        // return not_found('Merge Request');
    return TP::FakeVCS::json_response(200, {iid => $pr->{number},
        id => 1000 + $pr->{number}, title => $pr->{title},
        state => $pr->{merged} ? 'merged' : $pr->{open} ? 'opened' : 'closed',
        web_url => "$self->{base}/$path/-/merge_requests/$pr->{number}",
        source_branch => $pr->{head}, target_branch => $pr->{base},
        merge_commit_sha => $pr->{merge_sha}});
}

sub diffs {
    my ($self, $req, $state, $id, $iid) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $mr = $self->pr_of($state, $path, $iid)
        // return not_found('Merge Request');
    my @diffs = map { {old_path => $_, new_path => $_, new_file => JSON::PP::false,
                       renamed_file => JSON::PP::false,
                       deleted_file => JSON::PP::false} }
                $self->pr_paths($dir, $mr);
    return TP::FakeVCS::json_response(200, TP::FakeVCS::paged($req, @diffs));
}

sub bad_request { TP::FakeVCS::json_response(400, {message => $_[0]}) }

# GitLab refuses to move a status to the state it is in.
sub status {
    my ($self, $req, $state, $id, $sha) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $b = $self->body_of($req) // return bad_request('400 Bad request');
    return not_found('Commit') unless $self->commit_of($dir, $sha);
    return bad_request('state does not have a valid value')
        unless ($b->{state} // '')
               =~ /^(?:pending|running|success|failed|canceled)$/;
    my $name = $b->{name} // 'default';
    my ($last) = reverse grep { $_->{repo} eq $path && $_->{sha} eq $sha
                                && $_->{context} eq $name }
                         @{ $state->{statuses} };
    return bad_request("Cannot transition status via :$b->{state} from "
                       . ":$last->{state}")
        if $last && $last->{state} eq $b->{state};
    $self->record_status($state, repo => $path, sha => $sha, context => $name,
        map { $_ => $b->{$_} } qw(state description target_url));
    return TP::FakeVCS::json_response(201, {id => scalar @{ $state->{statuses} },
        sha => $sha, status => $b->{state}, name => $name});
}

sub note_create {
    my ($self, $req, $state, $id, $iid) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $b = $self->body_of($req);
    return bad_request('400 (Bad request) "body" not given')
        unless $b && defined $b->{body};
    return not_found('Merge Request') unless $self->pr_of($state, $path, $iid);
    my $c = $self->comment_add($state, $path, $iid, $b->{body});
    return TP::FakeVCS::json_response(201, {id => $c->{id}, body => $c->{body}});
}

sub note_update {
    my ($self, $req, $state, $id, $iid, $note) = @_;
    my ($path, $dir, $refused) = $self->project_dir($req, $id);
    return $refused if $refused;
    my $b = $self->body_of($req);
    return bad_request('400 (Bad request) "body" not given')
        unless $b && defined $b->{body};
    my $c = $self->comment_edit($state, $note, $b->{body})
        // return not_found('Note');
    return TP::FakeVCS::json_response(200, {id => $c->{id}, body => $c->{body}});
}

1;
