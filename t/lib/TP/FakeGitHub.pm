package TP::FakeGitHub;
# A fake GitHub Enterprise server (REST v3 under /api/v3) for one App
# installation: it verifies the App's JWT (RS256 against the App's public
# key, iss the App id, iat and exp sane), mints installation access tokens
# that expire in an hour, and wants one of them on everything else.
#
# The installation's repositories are bare git repositories on disk: the
# refs, heads and tarballs (git archive, under GitHub's OWNER-REPO-SHA7/,
# through a redirect to a codeload URL with a token of its own) are
# theirs.
#
# It compares commits (git diff) and sends webhooks as an App does
# (deliver: X-Hub-Signature-256 over the body, the installation in the
# payload).
#
#   TP::FakeGitHub->new(port => P, app_id => 12345,
#                       installation_id => 880001, public_key => FILE,
#                       account => 'my-org',
#                       repos => {'my-org/infra' => BARE_DIR})->start
use strict;
use warnings FATAL => 'all';
use parent -norequire, 'TP::FakeVCS';
use TP::FakeVCS;
use MIME::Base64 qw(decode_base64url);
use File::Temp qw(tempfile);
use URI::Escape ();
use URI::QueryParam;
use POSIX qw(strftime);
use Digest::SHA qw(hmac_sha256_hex);

sub api { "$_[0]{base}/api/v3" }

sub routes {
    return (
        ['POST', qr{^/api/v3/app/installations/(\d+)/access_tokens$},
         'access_token'],
        ['GET', qr{^/api/v3/installation/repositories$}, 'repositories'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)$}, 'repository'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/(branches|tags)$}, 'refs'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/branches/(.+)$}, 'branch'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/tarball/(.+)$}, 'tarball'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/commits/(.+)$}, 'commit'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/git/trees/([^/]+)$}, 'tree'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/compare/([0-9a-f]+)\.\.\.([0-9a-f]+)$},
         'compare'],
        ['GET', qr{^/_codeload/([^/]+/[^/]+)/legacy\.tar\.gz/([0-9a-f]{40})$},
         'codeload'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/pulls$}, 'pulls'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/pulls/(\d+)$}, 'pull'],
        ['GET', qr{^/api/v3/repos/([^/]+/[^/]+)/pulls/(\d+)/files$},
         'pull_files'],
        ['POST', qr{^/api/v3/repos/([^/]+/[^/]+)/statuses/([0-9a-f]{40})$},
         'status'],
        ['POST', qr{^/api/v3/repos/([^/]+/[^/]+)/issues/(\d+)/comments$},
         'comment_create'],
        ['PATCH', qr{^/api/v3/repos/([^/]+/[^/]+)/issues/comments/(\d+)$},
         'comment_update'],
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
    my @repos = map { {name => (split m{/})[1], full_name => $_,
                       owner => {login => (split m{/})[0]}} }
                sort keys %{ $self->{repos} };
    return TP::FakeVCS::json_response(200, {total_count => scalar @repos,
                                            repositories => \@repos});
}

sub not_found { TP::FakeVCS::json_response(404, {message => 'Not Found'}) }

# The repository's directory after the token is checked: (dir) or
# (undef, the refusal to answer).
sub repo_dir {
    my ($self, $req, $state, $full) = @_;
    if (my $why = $self->token_refusal($req, $state)) {
        return (undef, unauthorized($why));
    }
    my $dir = $self->{repos}{$full};
    return $dir ? ($dir) : (undef, not_found());
}

sub repository {
    my ($self, $req, $state, $full) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    return TP::FakeVCS::json_response(200, {
        name => (split m{/}, $full)[1], full_name => $full, private => JSON::PP::true,
        default_branch => $self->default_branch($dir)});
}

sub refs {
    my ($self, $req, $state, $full, $kind) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my @refs = map { {name => $_->[0], commit => {sha => $_->[1],
                      url => "$self->{base}/api/v3/repos/$full/commits/$_->[1]"}} }
               $self->git_refs($dir, $kind eq 'tags');
    return TP::FakeVCS::json_response(200, TP::FakeVCS::paged($req, @refs));
}

sub branch {
    my ($self, $req, $state, $full, $branch) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $sha = $self->branch_sha($dir, URI::Escape::uri_unescape($branch))
        // return TP::FakeVCS::json_response(404, {message => 'Branch not found'});
    return TP::FakeVCS::json_response(200, {name => $branch,
        commit => {sha => $sha}, protected => JSON::PP::false});
}

sub pulls {
    my ($self, $req, $state, $full) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $q = $req->uri;
    my @prs = ($q->query_param('state') // 'open') eq 'open'
        ? $self->open_prs($state, $full, $dir, $q->query_param('base')) : ();
    my @list = map { {number => $_->{number}, state => 'open',
        title => $_->{title}, user => {login => $_->{author} // 'octocat'},
        html_url => "$self->{base}/$full/pull/$_->{number}",
        head => {ref => $_->{head}, sha => $_->{sha}},
        base => {ref => $_->{base}}} } @prs;
    return TP::FakeVCS::json_response(200, TP::FakeVCS::paged($req, @list));
}

# One request: open, or closed (merged_at set when it merged).
sub pull {
    my ($self, $req, $state, $full, $number) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $pr = $self->pr_of($state, $full, $number) // return not_found();
    return TP::FakeVCS::json_response(200, {number => $pr->{number},
        state => $pr->{open} ? 'open' : 'closed', title => $pr->{title},
        html_url => "$self->{base}/$full/pull/$pr->{number}",
        merged => $pr->{merged} ? JSON::PP::true : JSON::PP::false,
        merged_at => $pr->{merged} ? '2026-01-01T00:00:00Z' : undef,
        merge_commit_sha => $pr->{merge_sha},
        head => {ref => $pr->{head}}, base => {ref => $pr->{base}}});
}

sub pull_files {
    my ($self, $req, $state, $full, $number) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $pr = $self->pr_of($state, $full, $number) // return not_found();
    my @files = map { {filename => $_, status => 'modified'} }
                $self->pr_paths($dir, $pr);
    return TP::FakeVCS::json_response(200, TP::FakeVCS::paged($req, @files));
}

sub invalid {
    TP::FakeVCS::json_response(422, {message => 'Validation Failed',
                                     errors => [{message => $_[0]}]});
}

sub status {
    my ($self, $req, $state, $full, $sha) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $b = $self->body_of($req) // return invalid('Problems parsing JSON');
    return not_found() unless $self->commit_of($dir, $sha);
    return invalid('state is not included in the list')
        unless ($b->{state} // '') =~ /^(?:pending|success|failure|error)$/;
    return invalid('description is too long (maximum is 140 characters)')
        if length($b->{description} // '') > 140;
    $self->record_status($state, repo => $full, sha => $sha,
        map { $_ => $b->{$_} } qw(state context description target_url));
    return TP::FakeVCS::json_response(201, {id => scalar @{ $state->{statuses} },
                                            %$b});
}

sub comment_create {
    my ($self, $req, $state, $full, $number) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $b = $self->body_of($req);
    return invalid('body is missing') unless $b && defined $b->{body};
    return not_found() unless $self->pr_of($state, $full, $number);
    my $c = $self->comment_add($state, $full, $number, $b->{body});
    return TP::FakeVCS::json_response(201, {id => $c->{id}, body => $c->{body}});
}

sub comment_update {
    my ($self, $req, $state, $full, $id) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $b = $self->body_of($req);
    return invalid('body is missing') unless $b && defined $b->{body};
    my $c = $self->comment_edit($state, $id, $b->{body}) // return not_found();
    return TP::FakeVCS::json_response(200, {id => $c->{id}, body => $c->{body}});
}

# A commit by branch, tag or SHA; the author's login is the part of
# their e-mail before the @, as if every author had an account.
sub commit {
    my ($self, $req, $state, $full, $ref) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $c = $self->commit_info($dir, URI::Escape::uri_unescape($ref))
        // return TP::FakeVCS::json_response(422,
               {message => "No commit found for SHA: $ref"});
    return TP::FakeVCS::json_response(200, {sha => $c->{sha},
        html_url => "$self->{base}/$full/commit/$c->{sha}",
        commit => {message => $c->{message},
                   author => {name => $c->{author}, email => $c->{email}}},
        author => {login => ($c->{email} =~ /^([^@]+)/)[0]}});
}

# A commit's tree (recursive=1 for all of it, as GitHub's git/trees);
# truncated, when the test asks, to the first half of the entries.
sub tree {
    my ($self, $req, $state, $full, $sha) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $commit = $self->commit_of($dir, $sha) // return not_found();
    my @entries = @{ $self->tree_entries($dir, $commit) };
    @entries = grep { $_->{path} !~ m{/} } @entries
        unless $req->uri->query_param('recursive');
    @entries = map { +{%$_, mode => $_->{type} eq 'tree' ? '040000' : '100644',
                      url => "$self->{base}/api/v3/repos/$full/git/$_->{type}s/$_->{sha}"} }
               @entries;
    @entries = @entries[0 .. $#entries / 2] if $state->{truncate};
    return TP::FakeVCS::json_response(200, {sha => $commit,
        url => "$self->{base}/api/v3/repos/$full/git/trees/$commit",
        tree => \@entries,
        truncated => $state->{truncate} ? JSON::PP::true : JSON::PP::false});
}

# GitHub answers a tarball with a redirect to codeload, whose URL carries
# a short-lived token of its own.
sub tarball {
    my ($self, $req, $state, $full, $ref) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    my $sha = $self->commit_of($dir, $ref) // return not_found();
    my $token = join '', map { ('A'..'Z')[rand 26] } 1..20;
    $state->{codeload}{$token} = 1;
    my $r = HTTP::Response->new(302);
    $r->header(Location => "$self->{base}/_codeload/$full/legacy.tar.gz/$sha?token=$token");
    return $r;
}

sub compare {
    my ($self, $req, $state, $full, $base, $head) = @_;
    my ($dir, $refused) = $self->repo_dir($req, $state, $full);
    return $refused if $refused;
    defined $self->commit_of($dir, $base) && defined $self->commit_of($dir, $head)
        or return not_found();
    my @changed = $self->changed_files($dir, $base, $head);
    return TP::FakeVCS::json_response(200, {status => 'ahead',
        base_commit => {sha => $base}, commits => [],
        files => [map { {filename => $_->[0], status => 'modified',
                         $_->[0] ne $_->[1] ? (previous_filename => $_->[1],
                                               status => 'renamed') : ()} }
                  @changed]});
}

# A push of $after to $branch (its head was $before) as the App's
# webhook describes it.
sub push_payload {
    my ($self, $full, $branch, $before, $after) = @_;
    my ($owner, $name) = split m{/}, $full;
    return {ref => "refs/heads/$branch", before => $before, after => $after,
            repository => {full_name => $full, name => $name,
                           owner => {login => $owner}},
            installation => {id => $self->{installation_id} + 0},
            sender => {login => 'tester'}};
}

# Sends the module ($url) a delivery of $event with $payload (a hash, or
# raw bytes), signed with $secret as GitHub signs it; %o: delivery (its
# id), signature (sent instead), headers. The module's answer.
sub deliver {
    my ($self, $url, $secret, $event, $payload, %o) = @_;
    my $body = ref $payload ? $TP::FakeVCS::json->encode($payload) : $payload;
    return TP::FakeVCS::post_delivery($url, $body,
        'X-GitHub-Event' => $event,
        'X-GitHub-Delivery' => $o{delivery} // TP::FakeVCS::delivery_id(),
        'X-GitHub-Hook-ID' => 1,
        'X-GitHub-Hook-Installation-Target-Type' => 'integration',
        'X-GitHub-Hook-Installation-Target-ID' => $self->{app_id},
        exists $o{signature}
            ? (defined $o{signature} ? ('X-Hub-Signature-256' => $o{signature}) : ())
            : ('X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $secret)),
        %{ $o{headers} // {} });
}

sub codeload {
    my ($self, $req, $state, $full, $sha) = @_;
    my $token = $req->uri->query_param('token') // '';
    return unauthorized('Bad token') unless delete $state->{codeload}{$token};
    my $dir = $self->{repos}{$full} // return not_found();
    my ($owner, $name) = split m{/}, $full;
    return $self->archive_response($dir, $sha,
                                   "$owner-$name-" . substr($sha, 0, 7));
}

1;
