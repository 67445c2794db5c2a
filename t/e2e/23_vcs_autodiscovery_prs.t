# Autodiscovery of directories that exist only in a pull request's branch,
# against a fake GitHub Enterprise (real git repositories on disk), run by
# the real terraform on the instance's listener: a request adding
# envs/new gets a workspace of its own (autodiscovery-pr-number its
# number) and its speculative plan, and no other request's; merged (a
# real merge commit in the repository), the workspace graduates and the
# merge commit is applied; a request adding envs/tmp closed unmerged
# leaves its workspace archived, saying why. The same with merge requests
# on a fake GitLab.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use File::Temp ();
use TP::E2E;
use TP::VCSFixture;

my $e = instance();
my $NAT = '/api/terrapod/v1';
my $REPO = 'acme/infra23';
my $tmp = File::Temp->newdir;

# ==== the instance polls often and may reach the fake over http ====

my $snippet = "$e->{DIR}/conf.d/vcs-adpr.conf";
write_file($snippet, "TerrapodVCSInternalHost 127.0.0.1\n"
                     . "TerrapodVCSPollInterval 2\n");
restart_httpd();
END {
    local $?;
    if (-e $snippet) {
        unlink $snippet;
        eval { restart_httpd() };
    }
}

sub tf { qq{resource "terraform_data" "x" {\n  input = "$_[0]"\n}\n} }

# main has envs/live; each request's branch adds a directory
my $repo = TP::VCSFixture::Repo->new("$tmp/infra23");
$repo->commit('live', 'envs/live/main.tf' => tf('live'));
$repo->branch('add-new');
my $new_sha = $repo->commit('new env', 'envs/new/main.tf' => tf('new'));
$repo->checkout('main');
$repo->branch('add-tmp');
my $tmp_sha = $repo->commit('tmp env', 'envs/tmp/main.tf' => tf('tmp'));
$repo->checkout('main');

my $f = fake_providers(dir => "$tmp", api => sub { (api(@_))[0] },
                       admin => $e->{TERRAPOD_TOKEN}, name => 'e2e23',
                       app_id => 2323, github => {$REPO => $repo->bare},
                       gitlab => {'group/infra23' => $repo->bare});
my ($gh, $gl) = @$f{qw(gh gl)};

# A rule $name of connection $conn on main of $url: each envs/* directory
# an auto-applying workspace named PREFIX-DIR.
sub rule {
    my ($name, $conn, $url, $prefix) = @_;
    my ($res) = api(POST => "$NAT/autodiscovery-rules", body => {data => {
        type => 'autodiscovery-rules', attributes => {
            name => $name, 'vcs-connection-id' => $conn, 'repo-url' => $url,
            branch => 'main', pattern => 'envs/*/*.tf',
            'name-template' => "$prefix-{dir}", 'execution-mode' => 'agent',
            'auto-apply' => JSON::PP::true}}});
    is $res->code, 201, "a rule on main of $url" or diag $res->content;
}

rule('e2e23-envs', $f->{github}, $gh->base . "/$REPO", 'e2e23');
my ($res, $doc);

sub ws_id { scalar psql("SELECT id FROM workspaces WHERE name = '$_[0]'") }

sub ws_attrs {
    my (undef, $d) = api(GET => '/api/v2/workspaces/' . ws_id($_[0]));
    return $d->{data}{attributes};
}

ok wait_until(60, sub { ws_id('e2e23-live') }),
   'the poller made the workspace of the directory on main';

# ==== two requests, each adding a directory ====

my $pr_new = $gh->pr_open(repo => $REPO, head => 'add-new', base => 'main',
                          title => 'Add new', author => 'dev');
my $pr_tmp = $gh->pr_open(repo => $REPO, head => 'add-tmp', base => 'main',
                          title => 'Add tmp', author => 'dev');

# The run of the request $pr's commit $sha on workspace $ws.
sub pr_run {
    my ($ws, $pr, $sha) = @_;
    my $run;
    wait_until(90, sub {
        $run = psql("SELECT run_id FROM vcs_pr_runs WHERE workspace_id = '$ws'"
                    . " AND pr_number = $pr AND head_sha = '$sha'"
                    . " AND run_id IS NOT NULL");
    });
    return $run;
}

ok wait_until(90, sub { ws_id('e2e23-new') && ws_id('e2e23-tmp') }),
   'each request\'s directory is a workspace';
my ($new, $tmpws, $live) = map { ws_id("e2e23-$_") } qw(new tmp live);
my $attrs = ws_attrs('e2e23-new');
is $attrs->{'autodiscovery-pr-number'}, $pr_new, 'of its request';
is $attrs->{'lifecycle-state'}, 'active', 'active';
is $attrs->{'working-directory'}, 'envs/new', 'on its directory';
is $attrs->{'vcs-branch'}, 'main', 'bound to the branch it will join';
is ws_attrs('e2e23-tmp')->{'autodiscovery-pr-number'}, $pr_tmp,
   'the other of the other request';
is ws_attrs('e2e23-live')->{'autodiscovery-pr-number'}, undef,
   'the directory of main has none';

my $run = pr_run($new, $pr_new, $new_sha);
ok $run, 'the request\'s head is planned on its workspace';
($res, $doc) = api(GET => "/api/v2/runs/$run");
ok $doc->{data}{attributes}{'plan-only'}, 'plan-only';
ok wait_until(180, sub { status_of($run) eq 'planned_and_finished' }),
   'terraform planned it on the listener';
my $tmp_run = pr_run($tmpws, $pr_tmp, $tmp_sha);
ok $tmp_run, 'the other request is planned on its own workspace';
is psql("SELECT count(*) FROM vcs_pr_runs WHERE workspace_id = '$new'"
        . " AND pr_number <> $pr_new"), 0,
   'a request\'s workspace has nothing of another request';
is psql("SELECT count(*) FROM vcs_pr_runs WHERE workspace_id = '$tmpws'"
        . " AND pr_number <> $pr_tmp"), 0, 'nor the other';
is psql("SELECT count(*) FROM runs WHERE workspace_id IN ('$new', '$tmpws')"
        . " AND NOT plan_only"), 0, 'the branch runs neither';
ok wait_until(180, sub { status_of($tmp_run) eq 'planned_and_finished' }),
   'the other plan ends';

# ==== merged: graduated, the merge commit applied ====

my $merge = $gh->pr_merge($REPO, $pr_new);
ok wait_until(60, sub { !defined ws_attrs('e2e23-new')->{'autodiscovery-pr-number'} }),
   'merged, the workspace graduates';
is ws_attrs('e2e23-new')->{'lifecycle-state'}, 'active', 'still active';
my $applied;
ok wait_until(180, sub {
    $applied = psql("SELECT r.id FROM runs r"
        . " JOIN configuration_versions cv ON cv.id = r.configuration_version_id"
        . " WHERE r.workspace_id = '$new' AND NOT r.plan_only"
        . " AND cv.ingress->>'commit-sha' = '$merge'");
    $applied && status_of($applied) eq 'applied' }),
   'the merge commit is applied on it';
is psql("SELECT count(*) FROM workspaces WHERE working_directory = 'envs/new'"
        . " AND name LIKE 'e2e23-%'"), 1, 'and no second workspace was made';

# ==== closed unmerged: archived ====

$gh->pr_close($REPO, $pr_tmp);
ok wait_until(60, sub { ws_attrs('e2e23-tmp')->{'lifecycle-state'} eq 'archived' }),
   'closed unmerged, the workspace is archived';
is ws_attrs('e2e23-tmp')->{'lifecycle-reason'},
   "origin PR #$pr_tmp closed unmerged; never applied \xE2\x80\x94 auto-archived",
   'saying why';
is ws_attrs('e2e23-live')->{'lifecycle-state'}, 'active',
   'the workspace of main is left as it was';
is psql("SELECT count(*) FROM vcs_pr_runs WHERE workspace_id = '$live'"
        . " AND run_id IS NOT NULL"), 0,
   'which no request touched, so none planned it';

# ==== GitLab: one merge request merged, another closed ====

$repo->pull('main');
$repo->branch('gl-add');
my $gl_new_sha = $repo->commit('gl env', 'envs/glnew/main.tf' => tf('glnew'));
$repo->checkout('main');
$repo->branch('gl-drop');
$repo->commit('gl drop', 'envs/gldrop/main.tf' => tf('gldrop'));
$repo->checkout('main');
rule('e2e23-gl', $f->{gitlab}, $gl->base . '/group/infra23', 'e2e23gl');
ok wait_until(60, sub { ws_id('e2e23gl-live') && ws_id('e2e23gl-new') }),
   'the GitLab rule made the workspaces of main';
my $mr_new = $gl->pr_open(repo => 'group/infra23', head => 'gl-add',
                          base => 'main', title => 'Add glnew', author => 'dev');
my $mr_drop = $gl->pr_open(repo => 'group/infra23', head => 'gl-drop',
                           base => 'main', title => 'Add gldrop',
                           author => 'dev');
ok wait_until(90, sub { ws_id('e2e23gl-glnew') && ws_id('e2e23gl-gldrop') }),
   'each merge request\'s directory is a workspace';
my $glnew = ws_id('e2e23gl-glnew');
is ws_attrs('e2e23gl-glnew')->{'autodiscovery-pr-number'}, $mr_new,
   'of its merge request';
my $mr_run = pr_run($glnew, $mr_new, $gl_new_sha);
ok $mr_run, 'planned';
ok wait_until(180, sub { status_of($mr_run) eq 'planned_and_finished' }),
   'on the listener';
$merge = $gl->pr_merge('group/infra23', $mr_new);
ok wait_until(60, sub { !defined ws_attrs('e2e23gl-glnew')->{'autodiscovery-pr-number'} }),
   'merged, it graduates';
ok wait_until(180, sub {
    $applied = psql("SELECT r.id FROM runs r"
        . " JOIN configuration_versions cv ON cv.id = r.configuration_version_id"
        . " WHERE r.workspace_id = '$glnew' AND NOT r.plan_only"
        . " AND cv.ingress->>'commit-sha' = '$merge'");
    $applied && status_of($applied) eq 'applied' }),
   'and the merge commit is applied on it';
$gl->pr_close('group/infra23', $mr_drop);
ok wait_until(60, sub { ws_attrs('e2e23gl-gldrop')->{'lifecycle-state'} eq 'archived' }),
   'the merge request closed unmerged leaves its workspace archived';
is ws_attrs('e2e23gl-gldrop')->{'lifecycle-reason'},
   "origin MR !$mr_drop closed unmerged; never applied \xE2\x80\x94 auto-archived",
   'naming it as GitLab does';

done_testing;
