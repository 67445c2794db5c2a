# VCS-driven runs end to end: a workspace bound to a repository of a fake
# GitHub (real git repositories, the App's JWT verified) runs on the real
# listener with the real terraform whenever its tracked branch moves: a
# commit announced by a signed webhook, one the poller finds by itself
# within its interval, a change outside the working directory and trigger
# prefixes that queues nothing (on a fake GitLab too), a provider answering 5xx (the error
# recorded on the connection, then recovery), and Apache stopped and
# PostgreSQL restarted under the poller while commits are pushed.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;
use TP::FakeGitHub;
use TP::FakeGitLab;

my $e = instance();
my $root = "$e->{DIR}/vcs-e2e";
my $SECRET = 'e2e-webhook-secret';
my $NAT = '/api/terrapod/v1';
mkdir $root;


# polls every 2 seconds; the fake is plain http on the loopback
with_directives('vcs-poll', 'TerrapodVCSInternalHost 127.0.0.1',
                'TerrapodVCSPollInterval 2', "TerrapodVCSWebhookSecret $SECRET");

system("openssl genrsa -out $root/app.pem 2048 2>/dev/null"
       . " && openssl rsa -in $root/app.pem -pubout -out $root/app.pub 2>/dev/null") == 0
    or die 'openssl failed';
my $key = do { local (@ARGV, $/) = "$root/app.pem"; <> };

sub tf { my ($v) = @_; qq{resource "terraform_data" "x" {\n  input = "$v"\n}\n} }

my $work = "$root/work";
system("git init -q -b main $work && git -C $work commit -q --allow-empty -m init"
       . " && git clone -q --bare $work $root/infra.git") == 0 or die 'git init';
my $BARE = "$root/infra.git";
my %sha;
$sha{0} = TP::FakeVCS::commit_to($BARE, 'main', {'envs/prod/main.tf' => tf('v0'),
                                                 'docs/README.md' => "docs\n"},
                                 'the first configuration');

my $gh = TP::FakeGitHub->new(port => free_port(), app_id => 6161,
                             installation_id => 880021,
                             public_key => "$root/app.pub", account => 'acme',
                             repos => {'acme/infra' => $BARE})->start;

my ($res, $doc) = api(POST => "$NAT/vcs-connections", body => {data => {
    type => 'vcs-connections', attributes => {
        name => 'e2e21-github', provider => 'github', 'server-url' => $gh->base,
        'github-app-id' => 6161, 'github-installation-id' => 880021,
        'private-key' => $key}}});
is $res->code, 201, 'a GitHub App connection' or diag $res->content;
my $conn = $doc->{data}{id};

($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces', body => {data => {
    type => 'workspaces',
    attributes => {name => 'e2e-vcs-poll', 'execution-mode' => 'agent',
                   'auto-apply' => JSON::PP::true, 'working-directory' => 'envs/prod',
                   'trigger-prefixes' => ['modules'],
                   'vcs-repo-url' => $gh->base . '/acme/infra', 'vcs-branch' => 'main'},
    relationships => {'vcs-connection' => {data => {type => 'vcs-connections',
                                                    id => $conn}}}}});
is $res->code, 201, 'a workspace bound to acme/infra, main, envs/prod'
    or diag $res->content;
my $ws = $doc->{data}{id};

sub runs {
    my ($ws) = @_;
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws/runs?page[size]=100");
    return @{ $d->{data} || [] };
}

# Waits until workspace $ws has $n runs, the newest applied (or ended
# as $status): its commit.
sub applied_run {
    my ($ws, $n, $name, $status) = @_;
    $status //= 'applied';
    my @r = runs_ended($ws, $n);
    is scalar(@r), $n, "$name: run $n";
    is $r[0]{attributes}{status}, $status, "$name: $status"
        or diag explain $r[0]{attributes};
    my $cv = $r[0]{relationships}{'configuration-version'}{data}{id} // '';
    return scalar psql("SELECT ingress->>'commit-sha' FROM configuration_versions"
                       . " WHERE id = '$cv'");
}

sub last_sha { scalar psql("SELECT vcs_last_commit_sha FROM workspaces WHERE id = '$_[0]'") }

sub push_hook {
    my ($before, $after) = @_;
    return $gh->deliver("$e->{TERRAPOD_URL}$NAT/vcs-events/github", $SECRET, 'push',
                        $gh->push_payload('acme/infra', 'main', $before, $after));
}

# ---- the branch's head runs; a webhook announces the next commit ----
is applied_run($ws, 1, 'the head of a newly bound workspace'), $sha{0},
   'its configuration is the commit, recorded as its ingress';
ok wait_until(10, sub { last_sha($ws) eq $sha{0} }), 'the workspace remembers the commit';

$sha{1} = TP::FakeVCS::commit_to($BARE, 'main', {'envs/prod/main.tf' => tf('v1')},
                                 'a change in the working directory');
$res = push_hook($sha{0}, $sha{1});
is $res->code, 200, 'the signed push delivery accepted' or diag $res->content;
is applied_run($ws, 2, 'a pushed commit (webhook)'), $sha{1}, 'from the pushed commit';

# ---- no webhook: the poller finds the commit by itself ----
$sha{2} = TP::FakeVCS::commit_to($BARE, 'main', {'envs/prod/main.tf' => tf('v2')},
                                 'a change nobody announces');
is applied_run($ws, 3, 'a commit without a webhook (the poller)'), $sha{2},
   'from the commit the poller found';

# ---- trigger prefixes: a change elsewhere queues nothing ----
$sha{3} = TP::FakeVCS::commit_to($BARE, 'main', {'docs/README.md' => "more docs\n"},
                                 'documentation only');
push_hook($sha{2}, $sha{3});
ok wait_until(30, sub { last_sha($ws) eq $sha{3} }),
   'a change outside the working directory: the workspace moves to the commit';
is scalar(runs($ws)), 3, 'and no run was queued';
$sha{4} = TP::FakeVCS::commit_to($BARE, 'main', {'modules/net/main.tf' => "# net\n"},
                                 'a module the workspace watches');
push_hook($sha{3}, $sha{4});
# the module changes nothing the working directory's configuration uses
is applied_run($ws, 4, 'a change under a trigger prefix', 'planned_and_finished'),
   $sha{4}, 'from that commit';

# ---- GitLab: its compare decides, its Push Hook announces ----
system("git clone -q --bare $work $root/gl.git") == 0 or die 'git clone';
my %gsha;
$gsha{0} = TP::FakeVCS::commit_to("$root/gl.git", 'main',
    {'envs/dev/main.tf' => tf('d0'), 'README.md' => "infra\n"}, 'dev');
my $gl_token = 'glpat-e2e-' . join '', map { ('a'..'z')[rand 26] } 1 .. 20;
my $gl = TP::FakeGitLab->new(port => free_port(), token => $gl_token,
                             username => 'ci-bot',
                             projects => {'group/infra' => "$root/gl.git"})->start;
($res, $doc) = api(POST => "$NAT/vcs-connections", body => {data => {
    type => 'vcs-connections', attributes => {
        name => 'e2e-poll-gitlab', provider => 'gitlab', 'server-url' => $gl->base,
        token => $gl_token, 'webhook-secret' => 'e2e-gitlab-token'}}});
is $res->code, 201, 'a GitLab connection' or diag $res->content;
my $glconn = $doc->{data}{id};
($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces', body => {data => {
    type => 'workspaces',
    attributes => {name => 'e2e-vcs-poll-gl', 'execution-mode' => 'agent',
                   'auto-apply' => JSON::PP::true, 'working-directory' => 'envs/dev',
                   'vcs-repo-url' => $gl->base . '/group/infra'},
    relationships => {'vcs-connection' => {data => {type => 'vcs-connections',
                                                    id => $glconn}}}}});
is $res->code, 201, 'a workspace on the GitLab project, its default branch'
    or diag $res->content;
my $glws = $doc->{data}{id};
is applied_run($glws, 1, 'GitLab: the head'), $gsha{0}, 'GitLab: from the head';
$gsha{1} = TP::FakeVCS::commit_to("$root/gl.git", 'main', {'README.md' => "more\n"},
                                  'outside envs/dev');
my $glhook = sub {
    my ($before, $after) = @_;
    return $gl->deliver("$e->{TERRAPOD_URL}$NAT/vcs-events/gitlab?connection=$glconn",
                        'e2e-gitlab-token', 'Push Hook',
                        $gl->push_payload('group/infra', 'main', $before, $after));
};
is $glhook->($gsha{0}, $gsha{1})->code, 200, 'GitLab: the Push Hook accepted';
ok wait_until(30, sub { last_sha($glws) eq $gsha{1} }),
   'GitLab: a change outside the working directory moves the workspace';
is scalar(runs($glws)), 1, 'GitLab: and queues nothing';
$gsha{2} = TP::FakeVCS::commit_to("$root/gl.git", 'main', {'envs/dev/main.tf' => tf('d2')},
                                  'inside envs/dev');
$glhook->($gsha{1}, $gsha{2});
is applied_run($glws, 2, 'GitLab: a change in the working directory'), $gsha{2},
   'GitLab: from that commit';
ok $gl->count(qr{^GET /api/v4/projects/group%2Finfra/repository/compare\?from=}) >= 2,
   "GitLab: its compare was asked";
api(DELETE => "$NAT/vcs-connections/$glconn");
$gl->stop;

# ---- the provider answers 503: recorded, backed off, then recovered ----
$gh->fail(qr{^GET /api/v3/repos/acme/infra/branches/main}, 503, 3);
$sha{5} = TP::FakeVCS::commit_to($BARE, 'main', {'envs/prod/main.tf' => tf('v5')},
                                 'a commit while the provider fails');
push_hook($sha{4}, $sha{5});
my $conn_attrs = sub { (api(GET => "$NAT/vcs-connections/$conn"))[1]{data}{attributes} };
ok wait_until(60, sub { ($conn_attrs->()->{'last-error'} // '') =~ /503/ }),
   "the provider's 503 recorded on the connection";
like psql("SELECT last_error FROM vcs_poll_state WHERE vcs_connection_id = '$conn'"),
     qr/503/, 'and on the repository';
is applied_run($ws, 5, 'after the provider recovered'), $sha{5}, 'the commit still ran';
is psql("SELECT last_success_at > last_error_at FROM vcs_connections WHERE id = '$conn'"),
   't', 'the connection worked again since its error';

# ---- Apache stopped: a commit pushed meanwhile runs once it is back ----
tp_instance('httpd-down', $e->{DIR});
$sha{6} = TP::FakeVCS::commit_to($BARE, 'main', {'envs/prod/main.tf' => tf('v6')},
                                 'a commit while Apache is down');
tp_instance('httpd-up', $e->{DIR});
is applied_run($ws, 6, 'a commit made while Apache was down'), $sha{6},
   'the new background child found it';

# ---- PostgreSQL restarted under the poller: the commit still runs ----
my $pg = "$ENV{PG_BINDIR}/pg_ctl";
my $as = $> == 0 ? 'runuser -u terrapod -- ' : '';
system("${as}$pg -D $e->{DIR}/pg -m fast -w stop >/dev/null") == 0 or die 'pg stop';
$sha{7} = TP::FakeVCS::commit_to($BARE, 'main', {'envs/prod/main.tf' => tf('v7')},
                                 'a commit while the database is down');
sleep 3;
system("${as}$pg -D $e->{DIR}/pg -w -l $e->{DIR}/log/postgresql.log "
       . "-o '-k $e->{DIR}/run -c listen_addresses=' start >/dev/null") == 0
    or die 'pg start';
is applied_run($ws, 7, 'a commit made while the database was down'), $sha{7},
   'the poller found it once the database was back';

my $log = error_log();
like $log, qr/TP00210: task vcs-poll \d+ branches tracked/, 'the poll task logs its cycles';
unlike $log, qr/\Q$SECRET\E|BEGIN (RSA )?PRIVATE KEY/, 'no secret in the error log';

# leave the instance as the other tests expect it
api(DELETE => "$NAT/vcs-connections/$conn");
$gh->stop;

done_testing;
