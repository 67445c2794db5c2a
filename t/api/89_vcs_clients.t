# The GitHub and GitLab clients against the fake providers (TP::FakeGitHub,
# TP::FakeGitLab) through POST /vcs-connections/{id}/actions/test: the App's
# JWT accepted by a server that verifies it, the installation token minted
# once and kept (and dropped when the key changes), a 5xx retried, a
# refusal recorded as the connection's last error, the rate limit the
# provider reports recorded; with ?repo-url=, a real git repository's
# default branch, branches, tags (annotated ones peeled) and the archive of
# its head through GitHub's redirect and GitLab's archive.tar.gz; no
# credential in the error log.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::FakeGitHub;
use TP::FakeGitLab;
use File::Temp ();
use URI::Escape qw(uri_escape);

plan tests => 67;

my $admin = admin_token();
my $user = user_token('vcs89-user@test.local');
my $BASE = '/api/terrapod/v1/vcs-connections';
my $dir = File::Temp->newdir;


sub slurp {
    local (@ARGV, $/) = @_;
    return <>;
}

sub error_log { slurp(Apache::Test::vars('t_logs') . '/error_log') }

for my $k (qw(app other)) {
    system("openssl genrsa -out $dir/$k.pem 2048 2>/dev/null"
           . " && openssl rsa -in $dir/$k.pem -pubout -out $dir/$k.pub"
           . " 2>/dev/null") == 0 or die 'openssl failed';
}
my $key = slurp("$dir/app.pem");

# A bare repository: main with two commits, a branch feature/x, a
# lightweight tag v1 and an annotated tag v2.
sub git { system('git', @_) == 0 or die "git @_ failed" }
$ENV{$_} = 'vcs89' for qw(GIT_AUTHOR_NAME GIT_COMMITTER_NAME);
$ENV{$_} = 'vcs89@test.local' for qw(GIT_AUTHOR_EMAIL GIT_COMMITTER_EMAIL);
my $work = "$dir/work";
git('init', '-q', '-b', 'main', $work);
mkdir "$work/envs";
for my $n (1, 2) {
    open my $fh, '>', "$work/envs/main$n.tf" or die $!;
    print $fh qq{resource "terraform_data" "n$n" {}\n};
    close $fh;
    git('-C', $work, 'add', '.');
    git('-C', $work, 'commit', '-q', '-m', "commit $n");
    git('-C', $work, 'tag', 'v1') if $n == 1;
}
git('-C', $work, 'tag', '-a', '-m', 'release', 'v2');
git('-C', $work, 'branch', 'feature/x', 'v1');
git('clone', '-q', '--bare', $work, "$dir/infra.git");
my %sha = map { $_ => scalar(qx{git -C $work rev-parse '$_^{commit}'}) =~ s/\s+$//r }
          qw(main v1 v2 feature/x);
my $other_key = slurp("$dir/other.pem");

my $gh = TP::FakeGitHub->new(port => free_port(), app_id => 4242,
                             installation_id => 990001,
                             public_key => "$dir/app.pub",
                             account => 'acme',
                             repos => {'acme/infra' => "$dir/infra.git"})->start;
my $gl_token = 'glpat-vcs89-' . join '', map { ('a'..'z')[rand 26] } 1..20;
my $gl = TP::FakeGitLab->new(port => free_port(), token => $gl_token,
                             username => 'ci-bot',
                             projects => {'group/sub/infra' => "$dir/infra.git"})->start;

sub create {
    my (%attrs) = @_;
    my $r = api(POST => $BASE, token => $admin,
                body => {data => {type => 'vcs-connections',
                                  attributes => \%attrs}});
    die 'creating: ' . $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}

sub test_conn {
    my ($id, $token, $repo) = @_;
    return api(POST => "$BASE/$id/actions/test"
                       . ($repo ? '?repo-url=' . uri_escape($repo) : ''),
               token => $token // $admin);
}

# What a repository test should find of infra.git.
my $INFRA = {
    'default-branch' => 'main', head => $sha{main},
    branches => [{name => 'feature/x', sha => $sha{'feature/x'}},
                 {name => 'main', sha => $sha{main}}],
    tags => [{name => 'v1', sha => $sha{v1}}, {name => 'v2', sha => $sha{v2}}],
    'archive-files' => 2};

sub attrs_of {
    my ($id) = @_;
    return json_of(api(GET => "$BASE/$id", token => $admin))->{data}{attributes};
}

my $TOKENS = qr{^POST /api/v3/app/installations/990001/access_tokens$};
my $REPOS = qr{^GET /api/v3/installation/repositories};

# ---- GitHub App ----
my $app = create(name => 'gh-vcs89', provider => 'github',
                 'server-url' => $gh->base, 'github-app-id' => 4242,
                 'github-installation-id' => 990001, 'private-key' => $key);

is test_conn($app, $user)->code, 403, 'a user may not test a connection';
is test_conn('vcs-nosuch')->code, 404, 'an unknown connection: 404';
is $gh->count(qr/./), 0, 'neither reached the provider';

my $r = test_conn($app);
is $r->code, 200, 'the App connection works';
is json_of($r)->{meta}{account}, 'acme', 'the account the provider named';
my $a = json_of($r)->{data}{attributes};
like $a->{'last-success-at'}, qr/^\d{4}-\d\d-\d\dT/, 'last success recorded';
is $a->{'last-error'}, undef, 'no error';
like $a->{'rate-limit-remaining'}, qr/^\d+$/, 'the rate limit left recorded';
like $a->{'rate-limit-reset-at'}, qr/^\d{4}-/, 'and when it resets';
is $gh->count($TOKENS), 1, 'one installation token minted';
my @seen = $gh->received;
my ($mint) = grep { "$_->{method} $_->{path}" =~ $TOKENS } @seen;
is $mint->{headers}{'x-github-api-version'}, '2022-11-28', 'the API version sent';
is $mint->{headers}{accept}, 'application/vnd.github+json', 'the media type';
my ($repos) = grep { "$_->{method} $_->{path}" =~ $REPOS } @seen;
like $repos->{headers}{authorization}, qr/^Bearer ghs_/,
     'the repositories are read with the installation token';
is sql("SELECT token_sealed IS NOT NULL AND token_sealed NOT LIKE 'ghs_%'"
       . " AND token_expires_at > now() + interval '50 minutes'"
       . " FROM vcs_connections WHERE id = '$app'"), 't',
   'the token kept sealed with its expiry';

my $left = $a->{'rate-limit-remaining'};
$r = test_conn($app);
is $r->code, 200, 'tested again';
is $gh->count($TOKENS), 1, 'the kept token is used: none minted';
is $gh->count($REPOS), 2, 'the repositories read again';
my @auth = map { $_->{headers}{authorization} }
           grep { "$_->{method} $_->{path}" =~ $REPOS } $gh->received;
is $auth[1], $auth[0], 'with the same token';
cmp_ok json_of($r)->{data}{attributes}{'rate-limit-remaining'}, '<', $left,
       'the rate limit left as the provider reports it now';

# ---- 5xx retried ----
$gh->fail($REPOS, 502, 1);
$r = test_conn($app);
is $r->code, 200, 'a 502 of the provider is retried';
is $gh->count($REPOS), 4, 'the request was made twice';
$gh->fail($REPOS, 503, 3);
my $success = attrs_of($app)->{'last-success-at'};
$r = test_conn($app);
is $r->code, 502, 'a provider that keeps failing: 502';
like error_detail($r), qr/installation\/repositories\S* answered 503/,
     'says what the provider answered';
is $gh->count($REPOS), 7, 'after three attempts';
$a = attrs_of($app);
like $a->{'last-error'}, qr/answered 503: injected failure/,
     'recorded as the last error';
like $a->{'last-error-at'}, qr/^\d{4}-/, 'with its time';
is $a->{'last-success-at'}, $success, 'the last success stays';
$r = test_conn($app);
is $r->code, 200, 'it works again';
is attrs_of($app)->{'last-error'}, $a->{'last-error'},
   'the last error stays for the admin to see, with its time';

# ---- the key changes: the kept token goes ----
$r = api(PATCH => "$BASE/$app", token => $admin,
         body => {data => {type => 'vcs-connections',
                           attributes => {'private-key' => $key}}});
is $r->code, 200, 'the private key sent again';
is sql("SELECT count(*) FROM vcs_connections WHERE id = '$app'"
       . " AND token_sealed IS NULL"), 1, 'the kept token dropped';
is test_conn($app)->code, 200, 'tested';
is $gh->count($TOKENS), 2, 'a new installation token minted';

# ---- refusals ----
my $rogue = create(name => 'gh-rogue-vcs89', provider => 'github',
                   'server-url' => $gh->base, 'github-app-id' => 4242,
                   'github-installation-id' => 990002,
                   'private-key' => $other_key);
$r = test_conn($rogue);
is $r->code, 502, 'a JWT signed by another key: 502';
like error_detail($r), qr/answered 401: A JSON web token could not be verified/,
     "with the provider's words";
like attrs_of($rogue)->{'last-error'}, qr/401/, 'recorded on the connection';
is attrs_of($rogue)->{'last-success-at'}, undef, 'never a success';
my $wrong_app = create(name => 'gh-app-vcs89', provider => 'github',
                       'server-url' => $gh->base, 'github-app-id' => 4243,
                       'github-installation-id' => 990003,
                       'private-key' => $key);
like error_detail(test_conn($wrong_app)), qr/answered 401: 'Issuer' claim/,
     'another App id is refused by the provider';
$gh->fail($TOKENS, 401, 1);
# the kept token is not minted again: the refusal has to come on a mint
api(PATCH => "$BASE/$app", token => $admin,
    body => {data => {type => 'vcs-connections',
                      attributes => {'private-key' => $key}}});
$r = test_conn($app);
is $r->code, 502, 'a 401 when minting is not retried';
is $gh->count($TOKENS), 3, 'one attempt';

# ---- a repository ----
$r = test_conn($app, undef, $gh->base . '/acme/infra');
is $r->code, 200, 'the repository read';
is_deeply json_of($r)->{meta}{repository}, $INFRA,
          'its default branch, branches, tags (v2 peeled) and head archive';
isnt $sha{v2}, scalar(qx{git -C $work rev-parse v2}) =~ s/\s+$//r,
     'v2 is an annotated tag: its own object is not the commit';
my @tarball = grep { $_->{path} =~ m{^/(api/v3/repos/acme/infra/tarball|_codeload)/} }
              $gh->received;
is_deeply [map { $_->{path} =~ s/\?.*//r } @tarball],
          ["/api/v3/repos/acme/infra/tarball/$sha{main}",
           "/_codeload/acme/infra/legacy.tar.gz/$sha{main}"],
          'the tarball of the head commit, through the redirect';
$r = test_conn($app, undef, $gh->base . '/acme/nosuch');
is $r->code, 422, 'a repository the installation has not: 422';
like error_detail($r), qr/does not know the repository/, 'says so';
like attrs_of($app)->{'last-error'}, qr{/repos/acme/nosuch answered 404},
     'recorded as the last error';
$r = test_conn($app, undef, 'https://github.com/acme/infra');
is $r->code, 422, "a repository of another host than the connection's: 422";
like error_detail($r), qr/not a repository of this connection's host/,
     'says so';

# ---- GitLab ----
my $glc = create(name => 'gl-vcs89', provider => 'gitlab',
                 'server-url' => $gl->base . '/', token => $gl_token);
$r = test_conn($glc);
is $r->code, 200, 'the GitLab connection works';
is json_of($r)->{meta}{account}, 'ci-bot', "the token's user";
like json_of($r)->{data}{attributes}{'rate-limit-remaining'}, qr/^\d+$/,
     "GitLab's RateLimit-Remaining recorded";
my ($u) = grep { $_->{path} eq '/api/v4/user' } $gl->received;
is $u->{headers}{'private-token'}, $gl_token, 'sent as PRIVATE-TOKEN';
$r = test_conn($glc, undef, $gl->base . '/group/sub/infra');
is $r->code, 200, 'the GitLab project read';
is_deeply json_of($r)->{meta}{repository}, $INFRA,
          'its default branch, branches, tags and head archive';
ok scalar(grep { $_->{path} eq '/api/v4/projects/group%2Fsub%2Finfra/repository/'
                 . "archive.tar.gz?sha=$sha{main}" } $gl->received),
   'the project addressed by its encoded path, the archive by SHA';
my $glbad = create(name => 'gl-bad-vcs89', provider => 'gitlab',
                   'server-url' => $gl->base, token => 'glpat-wrong');
$r = test_conn($glbad);
is $r->code, 502, 'a wrong token: 502';
like attrs_of($glbad)->{'last-error'}, qr{GET /user answered 401: 401 Unauthorized},
     'recorded as the last error';

# ---- HTTPS: the CA of TerrapodVCSCAFile trusted, besides the system's ----
my $tls = "$ENV{TP_INSTANCE}/tls";
system("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1"
       . " -addext subjectAltName=IP:127.0.0.1 -days 1 -keyout $dir/self.key"
       . " -out $dir/self.pem 2>/dev/null") == 0 or die 'openssl req failed';
my %https = (tls => {cert => "$tls/server.pem", key => "$tls/server.key",
                     ca => "$tls/ca.pem"});
my %self_signed = (tls => {cert => "$dir/self.pem", key => "$dir/self.key",
                           ca => "$dir/self.pem"});
my %gl_fake = (token => $gl_token, username => 'ci-bot', projects => {});
my $gls = TP::FakeGitLab->new(port => free_port(), %gl_fake, %https)->start;
my $gly = TP::FakeGitLab->new(port => free_port(), %gl_fake, %self_signed)->start;
like $gls->base, qr{^https://127\.0\.0\.1:}, 'a fake provider over https';
$r = test_conn(create(name => 'gl-tls-vcs89', provider => 'gitlab',
                      'server-url' => $gls->base, token => $gl_token));
is $r->code, 200, "a certificate of TerrapodVCSCAFile's CA is trusted";
is $gls->count(qr{^GET /api/v4/user$}), 1, 'the provider was asked';
$r = test_conn(create(name => 'gl-self-vcs89', provider => 'gitlab',
                      'server-url' => $gly->base, token => $gl_token));
is $r->code, 502, 'a certificate of no trusted CA: 502';
like error_detail($r), qr/certificate/i, 'says so';
is $gly->count(qr/./), 0, 'nothing was sent to it';
$gls->stop;
$gly->stop;

my $log = error_log();
like $log, qr/TP01903: VCS connection \Q$glbad\E does not work/,
     'the failure is logged';
ok !(grep { index($log, $_) >= 0 } $gl_token, (split /\n/, $key)[5]),
   'no credential in the error log';
ok !(grep { index($log, $_->{headers}{authorization} // 'none') >= 0 }
     grep { $_->{path} =~ /repositories/ } $gh->received),
   'no installation token in the error log';

$gh->stop;
$gl->stop;
