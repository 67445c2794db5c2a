# Webhook deliveries (POST /vcs-events/github, /vcs-events/gitlab), as the
# fake providers sign and send them: GitHub's X-Hub-Signature-256 under
# the connection's secret (or the server's), GitLab's X-Gitlab-Token; the
# connection found by the App installation in the payload or named by
# ?connection=; a ping answered; a push, pull request or tag asks the
# poller for a poll of that repository (a row of vcs_poll_requests, which
# wakes the background child); a delivery acted on once; every refusal
# with its status and nothing recorded; a storm of deliveries for one
# repository leaves one request; no secret in the error log.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::FakeGitHub;
use TP::FakeGitLab;
use File::Temp ();
use Digest::SHA ();

plan tests => 82;

my $admin = admin_token();
my $dir = File::Temp->newdir;
system("openssl genrsa -out $dir/app.pem 2048 2>/dev/null") == 0
    or die 'openssl failed';
my $key = do { local (@ARGV, $/) = "$dir/app.pem"; <> };

sub create {
    my (%attrs) = @_;
    my $r = api(POST => '/api/terrapod/v1/vcs-connections', token => $admin,
                body => {data => {type => 'vcs-connections',
                                  attributes => \%attrs}});
    die 'creating: ' . $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}

sub github_conn {
    my ($name, $installation, %more) = @_;
    return create(name => $name, provider => 'github',
                  'github-app-id' => 5151,
                  'github-installation-id' => $installation,
                  'private-key' => $key, %more);
}

my $gh_own = github_conn('hooks92-own', 770001, 'webhook-secret' => 'gh-own-secret-92');
my $gh_suite = github_conn('hooks92-suite', 770002);
my $gh_off = github_conn('hooks92-off', 770003, 'webhook-secret' => 'gh-off-secret-92',
                         status => 'disabled');
my $gl = create(name => 'hooks92-gl', provider => 'gitlab', token => 'glpat-92',
                'server-url' => 'http://127.0.0.1:1', 'webhook-secret' => 'gl-secret-92');

# the fakes only sign and send here: nothing asks them anything
my $fgh = TP::FakeGitHub->new(port => 1, app_id => 5151, installation_id => 770001);
my $fgh2 = TP::FakeGitHub->new(port => 1, app_id => 5151, installation_id => 770002);
my $fgh9 = TP::FakeGitHub->new(port => 1, app_id => 5151, installation_id => 779999);
my $fgh_off = TP::FakeGitHub->new(port => 1, app_id => 5151, installation_id => 770003);
my $fgl = TP::FakeGitLab->new(port => 1);

my $GH = Apache::TestRequest::resolve_url('/api/terrapod/v1/vcs-events/github');
my $GL = Apache::TestRequest::resolve_url('/api/terrapod/v1/vcs-events/gitlab');
my $SHA1 = 'a' x 40;
my $SHA2 = 'b' x 40;

sub requests { sql("SELECT count(*) FROM vcs_poll_requests WHERE vcs_connection_id = '$_[0]'") }
sub deliveries { sql("SELECT count(*) FROM vcs_webhook_deliveries") }
sub outcome { (json_of($_[0]) // {})->{meta}{outcome} // '' }

# ---- GitHub: the installation in the payload names the connection ----
my $r = $fgh->deliver($GH, 'gh-own-secret-92', 'ping', {zen => 'Keep it simple.',
                      hook_id => 1, installation => {id => 770001}});
is $r->code, 200, 'ping: 200';
is outcome($r), 'pong', 'ping: answered';
is requests($gh_own), 0, 'ping: no poll asked';

my $push = $fgh->push_payload('Acme/Infra', 'main', '0' x 40, $SHA1);
$r = $fgh->deliver($GH, 'gh-own-secret-92', 'push', $push, delivery => 'd92-push-1');
is $r->code, 200, 'push: 200';
is outcome($r), 'poll requested', 'push: a poll requested';
is json_of($r)->{meta}{delivery}, 'd92-push-1', 'the delivery named';
is sql("SELECT repo || ' ' || branch || ' ' || sha FROM vcs_poll_requests"
       . " WHERE vcs_connection_id = '$gh_own'"), "acme/infra main $SHA1",
   'the repository (in lower case), its branch and the pushed commit';
my $at = sql("SELECT requested_at FROM vcs_poll_requests WHERE vcs_connection_id = '$gh_own'");

my $before = deliveries();
$r = $fgh->deliver($GH, 'gh-own-secret-92', 'push', $push, delivery => 'd92-push-1');
is $r->code, 200, 'the same delivery again: 200';
like outcome($r), qr/^replay: .*nothing done/, 'a replay says nothing was done';
is deliveries(), $before, 'a replay records nothing';
is sql("SELECT requested_at FROM vcs_poll_requests WHERE vcs_connection_id = '$gh_own'"),
   $at, 'and asks no poll again';

$r = $fgh->deliver($GH, 'gh-own-secret-92', 'pull_request', {action => 'opened',
        number => 7, pull_request => {number => 7, base => {ref => 'release'},
                                      head => {sha => $SHA2}},
        repository => {full_name => 'Acme/Infra'}, installation => {id => 770001}});
is outcome($r), 'poll requested', 'pull_request: a poll requested';
is sql("SELECT coalesce(sha, 'none') FROM vcs_poll_requests WHERE vcs_connection_id = '$gh_own'"
       . " AND branch = 'release'"), 'none',
   'of the branch it targets, with no commit known';
$r = $fgh->deliver($GH, 'gh-own-secret-92', 'push',
                   {%$push, ref => 'refs/tags/v9'});
is outcome($r), 'poll requested', 'a pushed tag: a poll requested';
is sql("SELECT count(*) FROM vcs_poll_requests WHERE vcs_connection_id = '$gh_own'"
       . " AND branch = '' AND sha IS NULL"), 1, 'of every tracked branch';
$r = $fgh->deliver($GH, 'gh-own-secret-92', 'issues', {action => 'opened',
                   installation => {id => 770001}});
is $r->code, 200, 'another event: 200';
like outcome($r), qr/^ignored/, 'another event: ignored';

# ---- refusals: nothing recorded ----
$before = deliveries();
my $reqs = requests($gh_own);
is_error($fgh->deliver($GH, 'another-secret', 'push', $push), 401,
         'signed with another secret');
is_error($fgh->deliver($GH, 'gh-own-secret-92', 'push', $push, signature => undef),
         401, 'no signature');
is_error($fgh->deliver($GH, 'gh-own-secret-92', 'push', $push,
                       signature => 'sha1=' . ('0' x 40)), 401, 'a sha1 signature');
my $body = $TP::FakeVCS::json->encode($push);
is_error($fgh->deliver($GH, 'gh-own-secret-92', 'push', $body . ' ',
                       signature => 'sha256=' . Digest::SHA::hmac_sha256_hex($body, 'gh-own-secret-92')),
         401, 'a signature of another body');
is_error($fgh9->deliver($GH, 'gh-own-secret-92', 'push',
                        $fgh9->push_payload('acme/infra', 'main', $SHA1, $SHA2)),
         404, 'an installation no connection has');
is_error($fgh->deliver("$GH?connection=vcs-nosuch", 'gh-own-secret-92', 'push', $push),
         404, 'an unknown ?connection=');
is_error($fgh->deliver("$GH?connection=$gl", 'gl-secret-92', 'push', $push),
         404, 'a GitLab connection on the GitHub URL');
is_error($fgh->deliver($GH, 'gh-own-secret-92', 'push', {ref => 'refs/heads/main',
                       repository => {full_name => 'acme/infra'}}),
         400, 'no installation and no ?connection=');
is_error($fgh->deliver($GH, 'gh-own-secret-92', 'push', '{"installation": '),
         400, 'malformed JSON');
is_error($fgh->deliver("$GH?connection=$gh_own", 'another-secret', 'push', '{"a":'),
         401, 'with ?connection=, the signature is checked before the JSON');
is_error($fgh->deliver("$GH?connection=$gh_own", 'gh-own-secret-92', 'push', '{"a":'),
         400, 'a signed delivery of malformed JSON');
is_error($fgh->deliver($GH, 'gh-own-secret-92', 'push', {%$push, repository => {}}),
         400, 'a push naming no repository');
is_error($fgh_off->deliver($GH, 'gh-off-secret-92', 'push',
                           $fgh_off->push_payload('acme/infra', 'main', $SHA1, $SHA2)),
         422, 'a disabled connection');
my $big = {%$push, padding => 'x' x (2 * 1024 * 1024)};
is_error($fgh->deliver($GH, 'gh-own-secret-92', 'push', $big), 413, 'too big');
is deliveries(), $before, 'no refused delivery recorded';
is requests($gh_own), $reqs, 'nor any poll asked';

# ---- the server's secret for a connection without its own ----
$r = $fgh2->deliver($GH, 'suite-webhook-secret', 'push',
                    $fgh2->push_payload('acme/other', 'main', $SHA1, $SHA2));
is outcome($r), 'poll requested', "the server's secret signs for a connection without one";
is_error($fgh2->deliver($GH, 'gh-own-secret-92', 'push',
                        $fgh2->push_payload('acme/other', 'main', $SHA1, $SHA2)),
         401, "another connection's secret does not");
$r = $fgh2->deliver("$GH?connection=$gh_suite", 'suite-webhook-secret', 'push',
                    {ref => 'refs/heads/dev', after => $SHA1,
                     repository => {full_name => 'acme/other'}});
is outcome($r), 'poll requested', '?connection= names it without an installation';

# ---- GitLab: ?connection= and X-Gitlab-Token ----
my $glpush = $fgl->push_payload('Group/Sub/Infra', 'main', '0' x 40, $SHA1);
is_error($fgl->deliver($GL, 'gl-secret-92', 'Push Hook', $glpush), 400,
         'GitLab without ?connection=');
is_error($fgl->deliver("$GL?connection=$gl", 'gl-wrong', 'Push Hook', $glpush), 401,
         'GitLab with another token');
is_error($fgl->deliver("$GL?connection=$gl", undef, 'Push Hook', $glpush), 401,
         'GitLab without a token');
is_error($fgl->deliver("$GL?connection=$gh_own", 'gh-own-secret-92', 'Push Hook', $glpush),
         404, 'a GitHub connection on the GitLab URL');
is_error($fgl->deliver("$GL?connection=$gl", 'gl-secret-92', 'Push Hook', '[1,'),
         400, 'GitLab: malformed JSON');
is requests($gl), 0, 'no GitLab refusal asked a poll';
$r = $fgl->deliver("$GL?connection=$gl", 'gl-secret-92', 'Push Hook', $glpush,
                   delivery => 'gl92-1');
is $r->code, 200, 'Push Hook: 200';
is outcome($r), 'poll requested', 'Push Hook: a poll requested';
is sql("SELECT repo || ' ' || branch || ' ' || sha FROM vcs_poll_requests"
       . " WHERE vcs_connection_id = '$gl'"), "group/sub/infra main $SHA1",
   'of the project, its branch and commit';
like outcome($fgl->deliver("$GL?connection=$gl", 'gl-secret-92', 'Push Hook', $glpush,
                           delivery => 'gl92-1')), qr/^replay/,
     'X-Gitlab-Event-UUID seen before: a replay';
$r = $fgl->deliver("$GL?connection=$gl", 'gl-secret-92', 'Merge Request Hook',
                   {object_kind => 'merge_request', object_attributes =>
                    {iid => 3, target_branch => 'main', source_branch => 'f'},
                    project => {path_with_namespace => 'group/sub/infra'}});
is outcome($r), 'poll requested', 'Merge Request Hook: a poll requested';
is sql("SELECT sha IS NULL FROM vcs_poll_requests WHERE vcs_connection_id = '$gl'"
       . " AND branch = 'main'"), 't', 'of its target branch, no commit known';
$r = $fgl->deliver("$GL?connection=$gl", 'gl-secret-92', 'Tag Push Hook',
                   {object_kind => 'tag_push', ref => 'refs/tags/v1',
                    project => {path_with_namespace => 'group/sub/infra'}});
is outcome($r), 'poll requested', 'Tag Push Hook: a poll requested';
is sql("SELECT count(*) FROM vcs_poll_requests WHERE vcs_connection_id = '$gl'"
       . " AND branch = ''"), 1, 'of every branch';
like outcome($fgl->deliver("$GL?connection=$gl", 'gl-secret-92', 'Note Hook',
                           {object_kind => 'note'})), qr/^ignored/,
     'Note Hook: ignored';
# a GitLab without X-Gitlab-Event-UUID: the body stands for the delivery
my %no_uuid = (headers => {'X-Gitlab-Event-UUID' => ''});
my $once = $fgl->push_payload('group/sub/infra', 'dev', $SHA1, $SHA2);
is outcome($fgl->deliver("$GL?connection=$gl", 'gl-secret-92', 'Push Hook', $once,
                         %no_uuid)), 'poll requested', 'without a delivery id: acted on';
like outcome($fgl->deliver("$GL?connection=$gl", 'gl-secret-92', 'Push Hook', $once,
                           %no_uuid)), qr/^replay/, 'the same body again: a replay';

# ---- a storm: many deliveries for one repository, one request ----
my $STORM = $GH;     # the suite's own server has no rate limits to speak of
my $storm = $fgh->push_payload('acme/storm', 'main', $SHA1, $SHA2);
$before = deliveries();
my ($ok, $n) = (0, 1000);
for my $i (1 .. $n) {
    $ok++ if $fgh->deliver($STORM, 'gh-own-secret-92', 'push', $storm,
                           delivery => "storm92-$i")->code == 200;
}
is $ok, $n, "$n deliveries answered 200";
is deliveries() - $before, $n, 'each recorded once';
is sql("SELECT count(*) FROM vcs_poll_requests WHERE repo = 'acme/storm'"), 1,
   'one poll request for the repository';

# ---- the rate limit of open routes applies (terrapod_limits: 5 a minute) ----
Apache::TestRequest::module('terrapod_limits');
my $LIM = 'https://' . Apache::TestRequest::hostport();
$Apache::TestRequest::Module = undef;
my $ping = '{"zen":"x","installation":{"id":770001}}';
my @codes = map {
    api(POST => "$LIM/api/terrapod/v1/vcs-events/github", body => $ping,
        headers => {'X-Forwarded-For' => '203.0.113.92',
                    'Content-Type' => 'application/json',
                    'X-GitHub-Event' => 'ping', 'X-GitHub-Delivery' => "lim92-$_",
                    'X-Hub-Signature-256' => 'sha256='
                        . Digest::SHA::hmac_sha256_hex($ping, 'gh-own-secret-92')})->code
} 1 .. 12;
ok((grep { $_ == 200 } @codes) && (grep { $_ == 429 } @codes),
   "deliveries past the unauthenticated rate limit: 429 (@codes)");

# ---- deleting a connection forgets its requests ----
is api(DELETE => "/api/terrapod/v1/vcs-connections/$gl", token => $admin)->code, 204,
   'the GitLab connection deleted';
is requests($gl), 0, 'its poll requests with it';

# the module's own lines (httpd's trace shows every request header)
my $log = join '', grep { /\[terrapod:/ }
    do { local @ARGV = Apache::Test::vars('t_logs') . '/error_log'; <> };
like $log, qr/TP01970: github webhook delivery for VCS connection \Q$gh_own\E refused/,
     'a refused delivery is logged (TP01970)';
like $log, qr/TP01971: /, 'a requested poll is logged (TP01971)';
unlike $log, qr/gh-own-secret-92|gl-secret-92|suite-webhook-secret/,
       'no webhook secret in the error log';
