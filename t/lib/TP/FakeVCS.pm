package TP::FakeVCS;
# The common part of the fake VCS providers (TP::FakeGitHub,
# TP::FakeGitLab): a serial HTTP server on loopback in a child process,
# answering from a table of routes a subclass gives, with what every
# provider does: credentials checked (401 otherwise), conditional GETs
# answered 304 by ETag, and what a test asks for over /_fake: failures or
# delays on demand, the record of what was received, pull (merge)
# requests opened and closed between branches of the repositories, and
# the commit statuses and comments posted to them.
#
#   my $gh = TP::FakeGitHub->new(port => P, ...)->start;
#   $gh->fail(qr{access_tokens}, 503, 1);     # the next one answers 503
#   my @seen = $gh->received;                 # [{method, path, headers}]
#   $gh->truncate_trees(1);                   # trees answered truncated
#   my $n = $gh->pr_open(repo => 'acme/infra', head => 'feature',
#                        base => 'main', title => 'More');
#   # a push to the request is a push to its head branch
#   my $merge = $gh->pr_merge('acme/infra', $n);   # merged into its base
#
# Tests change the repositories as people do (commit_to: a commit pushed
# to a branch) and send the module webhook deliveries signed as the
# provider signs them (each subclass's deliver).
use strict;
use warnings FATAL => 'all';
use parent -norequire, 'TP::FakeServer';
use TP::FakeServer;
use HTTP::Response;
use LWP::UserAgent;
use JSON::PP ();
use Digest::SHA qw(sha1_hex);
use File::Temp ();
use URI::QueryParam;

our $json = JSON::PP->new->canonical;

# new(port => P, tls => {cert => PEM_FILE, key => PEM_FILE, ca => FILE
# the test trusts it with}, ...): over https with tls, else plain http
sub new {
    my ($class, %o) = @_;
    my $scheme = $o{tls} ? 'https' : 'http';
    return bless {%o, base => "$scheme://127.0.0.1:$o{port}"}, $class;
}

sub base { $_[0]{base} }

sub initial_state {
    return {received => [], failures => [], rate_remaining => 5000,
            prs => [], statuses => [], comments => [], comment_id => 9000};
}

sub json_response {
    my ($code, $doc, %headers) = @_;
    my $r = HTTP::Response->new($code);
    $r->header('Content-Type' => 'application/json', %headers);
    $r->content($json->encode($doc));
    return $r;
}

# ---- asked by the test, answered by the child ----

sub control {
    my ($self, $what, $body) = @_;
    my $ua = LWP::UserAgent->new(keep_alive => 0, $self->{tls}
        ? (ssl_opts => {SSL_ca_file => $self->{tls}{ca}}) : ());
    my $r = $ua->post("$self->{base}/_fake/$what",
                      Content => $json->encode($body // {}));
    die "fake $what: " . $r->status_line unless $r->is_success;
    return $json->decode($r->content);
}

# The next $times requests whose "METHOD path" matches $re answer
# $status (a 5xx, 401, ...) after $delay seconds.
sub fail {
    my ($self, $re, $status, $times, $delay) = @_;
    $self->control(fail => {re => "$re", status => $status,
                            times => $times // 1, delay => $delay // 0});
}

# With $on, trees are answered as a provider answers one too large to
# send whole (GitHub: truncated; GitLab: pages without end).
sub truncate_trees {
    my ($self, $on) = @_;
    $self->control(truncate => {on => $on ? 1 : 0});
}

# Everything received so far, oldest first: {method, path, headers}.
sub received { @{ $_[0]->control('received') } }

# How many received requests' "METHOD path" match $re.
sub count {
    my ($self, $re) = @_;
    return scalar grep { "$_->{method} $_->{path}" =~ $re } $self->received;
}

# Opens a request (repo, head and base branch names, title, author) and
# returns its number.
sub pr_open {
    my ($self, %pr) = @_;
    return $self->control(pr_open => \%pr)->{number};
}

sub pr_close {
    my ($self, $repo, $number) = @_;
    $self->control(pr_close => {repo => $repo, number => $number});
}

# Merges request $number as a merge button does: a merge commit of its
# head into its base branch in the bare repository, the request closed as
# merged. Returns the merge commit's SHA.
sub pr_merge {
    my ($self, $repo, $number) = @_;
    return $self->control(pr_merge => {repo => $repo,
                                       number => $number})->{sha};
}

# The commit statuses posted, oldest first: {repo, sha, state, context
# (GitLab's name), description, target_url}.
sub statuses { @{ $_[0]->control('statuses') } }

# The comments on requests: {repo, number, id, body, edits}.
sub comments { @{ $_[0]->control('comments') } }

# The children's side of those, by name.
sub control_fail {
    my ($self, $body, $state) = @_;
    push @{ $state->{failures} }, $body;
    return {};
}

sub control_truncate { $_[2]{truncate} = $_[1]{on}; return {} }
sub control_received { $_[2]{received} }
sub control_statuses { $_[2]{statuses} }
sub control_comments { $_[2]{comments} }

sub control_pr_open {
    my ($self, $body, $state) = @_;
    my $n = 1 + grep { $_->{repo} eq $body->{repo} } @{ $state->{prs} };
    push @{ $state->{prs} }, {%$body, number => $n, open => 1};
    return {number => $n};
}

sub control_pr_close {
    my ($self, $body, $state) = @_;
    $_->{open} = 0 for grep { $_->{repo} eq $body->{repo}
                              && $_->{number} == $body->{number} }
                       @{ $state->{prs} };
    return {};
}

sub control_pr_merge {
    my ($self, $body, $state) = @_;
    my $pr = $self->pr_of($state, $body->{repo}, $body->{number})
        // die "no request $body->{number}";
    my $dir = ($self->{repos} // $self->{projects})->{$pr->{repo}};
    my ($base, $head) = map { $self->branch_sha($dir, $_) // die "no $_" }
                        @$pr{qw(base head)};
    my ($tree) = split /\n/, git($dir, 'merge-tree', '--write-tree', $base,
                                 $head) // die 'the request conflicts';
    local @ENV{qw(GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME
                  GIT_COMMITTER_EMAIL)} = ('merger', 'merger@test.local') x 2;
    my $sha = git($dir, 'commit-tree', $tree, '-p', $base, '-p', $head, '-m',
                  "Merge request $pr->{number} from $pr->{head}") =~ s/\s+$//r;
    defined git($dir, 'update-ref', "refs/heads/$pr->{base}", $sha, $base)
        or die 'the base moved';
    @$pr{qw(open merged merge_sha)} = (0, 1, $sha);
    return {sha => $sha};
}

sub respond {
    my ($self, $req, $state) = @_;
    my $path = $req->uri->path_query;
    if ($path =~ m{^/_fake/(\w+)$}) {
        my $handler = "control_$1";
        return json_response(404, {message => 'no such control'})
            unless $self->can($handler);
        return json_response(200, $self->$handler(
            $json->decode($req->content || '{}'), $state));
    }
    my $line = $req->method . ' ' . $path;
    push @{ $state->{received} }, {
        method => $req->method, path => $path,
        headers => {map { lc($_) => scalar $req->header($_) }
                    $req->header_field_names}};
    for my $f (@{ $state->{failures} }) {
        next unless $f->{times} > 0 && $line =~ /$f->{re}/;
        $f->{times}--;
        select(undef, undef, undef, $f->{delay}) if $f->{delay};
        return json_response($f->{status}, {message => 'injected failure'},
                             $f->{status} == 503 ? ('Retry-After' => 1) : ());
    }
    for my $route ($self->routes) {
        my ($method, $re, $handler) = @$route;
        next unless $req->method eq $method;
        my @args = $req->uri->path =~ $re or next;
        my $r = $self->$handler($req, $state, @args);
        # every answer says what is left of the rate limit, as providers do
        my ($remaining, $reset) = $self->rate_headers;
        $r->header($remaining => --$state->{rate_remaining},
                   $reset => time + 3600);
        return conditional($req, $r);
    }
    return json_response(404, {message => 'Not Found'});
}

# A subclass's routes: [METHOD, path regex (captures are the handler's
# arguments), handler method], the handler called with ($req, $state,
# @captures); $state persists in the server for the test's length.
sub routes { () }

# The names of the rate-limit headers: remaining, reset (Unix seconds).
sub rate_headers { ('X-RateLimit-Remaining', 'X-RateLimit-Reset') }

# ---- the git repositories the fakes serve (bare, made by the test) ----

sub git {
    my ($dir, @args) = @_;
    open my $fh, '-|', 'git', '-C', $dir, @args or die "git: $!";
    local $/;
    my $out = <$fh>;
    close $fh;
    return $? ? undef : $out;
}

sub default_branch { (git($_[1], qw(symbolic-ref --short HEAD)) // '') =~ s/\s+$//r }

# [name, commit sha] of each branch (tags 0) or tag (tags 1, peeled)
sub git_refs {
    my ($self, $dir, $tags) = @_;
    my $out = git($dir, 'for-each-ref',
                  '--format=%(refname:short) %(objectname) %(*objectname)',
                  $tags ? 'refs/tags' : 'refs/heads');
    return map { my ($n, $o, $peeled) = split / /; [$n, $peeled || $o] }
           split /\n/, $out;
}

# The commit of a branch, or undef.
sub branch_sha {
    my ($self, $dir, $branch) = @_;
    my $sha = git($dir, 'rev-parse', '--verify', '--quiet',
                  "refs/heads/$branch^{commit}");
    return $sha ? $sha =~ s/\s+$//r : undef;
}

# The commit a ref or SHA names, or undef.
sub commit_of {
    my ($self, $dir, $ref) = @_;
    my $sha = git($dir, 'rev-parse', '--verify', '--quiet', "$ref^{commit}");
    return $sha ? $sha =~ s/\s+$//r : undef;
}

# ---- requests as the providers' routes serve them ----

# The open requests of $repo (in the directory $dir) into $base, each
# with its head's commit now; a request whose branch is gone is left out.
sub open_prs {
    my ($self, $state, $repo, $dir, $base) = @_;
    my @prs;
    for my $pr (grep { $_->{repo} eq $repo && $_->{open}
                       && (!defined $base || $_->{base} eq $base) }
                @{ $state->{prs} }) {
        my $sha = $self->branch_sha($dir, $pr->{head}) // next;
        push @prs, {%$pr, sha => $sha};
    }
    return @prs;
}

sub pr_of {
    my ($self, $state, $repo, $number) = @_;
    my ($pr) = grep { $_->{repo} eq $repo && $_->{number} == $number }
               @{ $state->{prs} };
    return $pr;
}

# The paths request $pr changes: those of its head since it left its
# base, a renamed file's new and old path.
sub pr_paths {
    my ($self, $dir, $pr) = @_;
    my %seen;
    return grep { !$seen{$_}++ } map { @$_ }
        $self->changed_files($dir, "refs/heads/$pr->{base}",
                             "refs/heads/$pr->{head}");
}

sub record_status {
    my ($self, $state, %status) = @_;
    push @{ $state->{statuses} }, \%status;
}

# A new comment's record.
sub comment_add {
    my ($self, $state, $repo, $number, $body) = @_;
    my $c = {repo => $repo, number => $number + 0,
             id => ++$state->{comment_id}, body => $body, edits => 0};
    push @{ $state->{comments} }, $c;
    return $c;
}

# The comment $id edited to $body, or undef when there is none.
sub comment_edit {
    my ($self, $state, $id, $body) = @_;
    my ($c) = grep { $_->{id} == $id } @{ $state->{comments} } or return;
    $c->{body} = $body;
    $c->{edits}++;
    return $c;
}

# A JSON request body, or undef.
sub body_of { eval { $json->decode($_[1]->content) } }

# The commit a ref or SHA names: {sha, author, email, message}, or undef.
sub commit_info {
    my ($self, $dir, $ref) = @_;
    my $sha = $self->commit_of($dir, $ref) // return undef;
    my ($author, $email, $message) = split /\0/,
        git($dir, 'log', '-1', '--format=%an%x00%ae%x00%B', $sha), 3;
    return {sha => $sha, author => $author, email => $email,
            message => $message =~ s/\s+$//r};
}

# The entries of a commit's tree, recursively, as git lists them:
# [{path, type (blob, tree or commit), sha}], or undef for no such commit.
sub tree_entries {
    my ($self, $dir, $sha) = @_;
    my $out = git($dir, 'ls-tree', '-r', '-t', '--full-tree', $sha)
        // return undef;
    return [map { my ($mode, $type, $obj, $path) = /^(\S+) (\S+) (\S+)\t(.*)$/;
                  +{path => $path, type => $type, sha => $obj} }
            split /\n/, $out];
}

# A page of a list as both providers page them (page, per_page).
sub paged {
    my ($req, @items) = @_;
    my $per = $req->uri->query_param('per_page') || 30;
    my $page = $req->uri->query_param('page') || 1;
    my @slice = grep { defined } @items[($page - 1) * $per .. $page * $per - 1];
    return \@slice;
}

# The tar.gz of a commit, its files under $prefix/.
sub archive_response {
    my ($self, $dir, $sha, $prefix) = @_;
    my $r = HTTP::Response->new(200);
    $r->header('Content-Type' => 'application/x-gzip');
    $r->content(git($dir, 'archive', '--format=tar.gz', "--prefix=$prefix/",
                    $sha));
    return $r;
}

# The paths a compare of $base...$head lists: [new path, old path]
# (renames detected, as providers show them).
sub changed_files {
    my ($self, $dir, $base, $head) = @_;
    my $out = git($dir, 'diff', '--name-status', '-M', "$base...$head")
        // return;
    return map { my ($st, @p) = split /\t/; [$p[-1], $p[0]] }
           split /\n/, $out;
}

# Commits $files ({path => content, or undef to delete}) to $branch of
# the bare repository $bare through a work clone, as a push would; the
# new commit's SHA.
sub commit_to {
    my ($bare, $branch, $files, $message) = @_;
    my $tmp = File::Temp->newdir;
    my $w = "$tmp/w";
    local $ENV{GIT_AUTHOR_NAME} = local $ENV{GIT_COMMITTER_NAME} = 'tester';
    local $ENV{GIT_AUTHOR_EMAIL} = local $ENV{GIT_COMMITTER_EMAIL}
        = 'tester@test.local';
    system('git', 'clone', '-q', '-b', $branch, $bare, $w) == 0
        or die "git clone $bare failed";
    for my $path (sort keys %$files) {
        if (!defined $files->{$path}) {
            system('git', '-C', $w, 'rm', '-q', $path) == 0 or die "git rm";
            next;
        }
        (my $d = "$w/$path") =~ s{/[^/]+$}{};
        system('mkdir', '-p', $d) == 0 or die "mkdir $d";
        open my $fh, '>', "$w/$path" or die "$path: $!";
        print $fh $files->{$path};
        close $fh;
        system('git', '-C', $w, 'add', $path) == 0 or die "git add";
    }
    system('git', '-C', $w, 'commit', '-q', '--allow-empty', '-m',
           $message // 'a change') == 0 or die 'git commit failed';
    system('git', '-C', $w, 'push', '-q', 'origin', $branch) == 0
        or die 'git push failed';
    return git($w, 'rev-parse', 'HEAD') =~ s/\s+$//r;
}

# Posts a webhook delivery to the module at $url: $body with %headers.
sub post_delivery {
    my ($url, $body, %headers) = @_;
    my $ua = LWP::UserAgent->new(keep_alive => 0, ssl_opts =>
                                 {verify_hostname => 0, SSL_verify_mode => 0});
    return $ua->post($url, 'Content-Type' => 'application/json', %headers,
                     Content => $body);
}

sub delivery_id {
    return join '-', map { sprintf '%04x%04x', rand 65536, rand 65536 } 1..4;
}

# A 200 answer to a GET gets an ETag; a request that already has it, 304.
sub conditional {
    my ($req, $r) = @_;
    return $r unless $req->method eq 'GET' && $r->code == 200;
    my $etag = '"' . sha1_hex($r->content) . '"';
    $r->header(ETag => $etag);
    my $inm = $req->header('If-None-Match');
    return $r unless defined $inm && $inm eq $etag;
    my $nm = HTTP::Response->new(304);
    $nm->header(ETag => $etag);
    return $nm;
}

1;
