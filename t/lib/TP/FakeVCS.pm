package TP::FakeVCS;
# The common part of the fake VCS providers (TP::FakeGitHub,
# TP::FakeGitLab): a serial HTTP server on loopback in a child process,
# answering from a table of routes a subclass gives, with what every
# provider does: credentials checked (401 otherwise), conditional GETs
# answered 304 by ETag, and two things a test asks for over /_fake:
# failures or delays on demand, and the record of what was received.
#
#   my $gh = TP::FakeGitHub->new(port => P, ...)->start;
#   $gh->fail(qr{access_tokens}, 503, 1);     # the next one answers 503
#   my @seen = $gh->received;                 # [{method, path, headers}]
#   $gh->truncate_trees(1);                   # trees answered truncated
use strict;
use warnings FATAL => 'all';
use parent -norequire, 'TP::FakeServer';
use TP::FakeServer;
use HTTP::Response;
use LWP::UserAgent;
use JSON::PP ();
use Digest::SHA qw(sha1_hex);
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

sub initial_state { {received => [], failures => [], rate_remaining => 5000} }

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

sub respond {
    my ($self, $req, $state) = @_;
    my $path = $req->uri->path_query;
    if ($path =~ m{^/_fake/(\w+)$}) {
        my $body = $json->decode($req->content || '{}');
        if ($1 eq 'fail') {
            push @{ $state->{failures} }, $body;
            return json_response(200, {});
        }
        if ($1 eq 'truncate') {
            $state->{truncate} = $body->{on};
            return json_response(200, {});
        }
        return json_response(200, $state->{received});
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
