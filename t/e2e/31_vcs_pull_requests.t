# Pull requests against a fake GitHub Enterprise (TP::FakeGitHub, real git
# repositories on disk), planned by the real terraform on the instance's
# listener: the poller finds a pull request into the tracked branch and
# queues a speculative plan of its head; the commit gets a pending status,
# then success with the plan's counts and a link to the run; one comment
# on the request, edited in place when a later push is planned; a push
# while a plan runs cancels the older run (its commit's status: error);
# a closed request's runs are canceled; a status the provider refused
# (5xx) is posted when tried again, the refusal recorded on the
# connection; an unchanged list of requests is a 304. And a merge request
# on a fake GitLab: its statuses are GitLab's (pending, running, success,
# a state never posted twice in a row) and its note is the comment.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use IO::Socket::INET ();
use File::Temp ();
use TP::E2E;
use TP::VCSFixture;

my $e = instance();
my $NAT = '/api/terrapod/v1';
my $WS = 'e2e-vcs-pr';
my $REPO = 'acme/infra';
my $tmp = File::Temp->newdir;

# ==== the instance polls often and may reach the fake over http ====

with_directives('vcs-pr', 'TerrapodVCSInternalHost 127.0.0.1',
                'TerrapodVCSPollInterval 1', 'TerrapodTaskInterval vcs-statuses 1');

# ==== a repository: main, and a feature branch for the requests ====

# a plan that waits for ever on a remote state nobody answers
my $hang = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, Proto => 'tcp') or die $!;
my $BLOCK = <<"HCL";
data "terraform_remote_state" "stuck" {
  backend = "http"
  config = {
    address = "http://127.0.0.1:${\ $hang->sockport}/state"
  }
}
HCL
sub resource { qq{resource "terraform_data" "$_[0]" {\n  input = "$_[0]"\n}\n} }

my $repo = TP::VCSFixture::Repo->new("$tmp/infra");
my $main_sha = $repo->commit('seed', 'main.tf' => cloud_config(
    workspace => $WS, body => resource('a')));
$repo->branch('feature');

# the fake GitHub and GitLab serving it, and their connections
my $f = fake_providers(dir => "$tmp", api => sub { (api(@_))[0] },
                       admin => $e->{TERRAPOD_TOKEN}, name => 'e2e31',
                       app_id => 3131, github => {$REPO => $repo->bare},
                       gitlab => {'group/infra' => $repo->bare});
my ($gh, $gl) = ($f->{gh}, $f->{gl});

# ==== a workspace bound to main ====

# An agent-mode workspace $name bound to branch main of $repo_url on
# $conn, seeded with its head (only the requests are this test's runs):
# its id.
sub bound_workspace {
    my ($name, $conn, $repo_url) = @_;
    my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
        body => {data => {type => 'workspaces', attributes => {
            name => $name, 'execution-mode' => 'agent'}}});
    die $res->content unless $res->code == 201;
    my $id = $doc->{data}{id};
    psql("UPDATE workspaces SET vcs_last_commit_sha = '$main_sha'"
         . " WHERE id = '$id'");
    ($res) = api(PATCH => "/api/v2/workspaces/$id", body => {data => {
        type => 'workspaces',
        attributes => {'vcs-repo-url' => $repo_url, 'vcs-branch' => 'main'},
        relationships => {'vcs-connection' => {data => {
            type => 'vcs-connections', id => $conn}}}}});
    is $res->code, 200, "$name is bound to $repo_url, branch main";
    return $id;
}

my $conn = $f->{github};
my $ws = bound_workspace($WS, $conn, $gh->base . "/$REPO");

# ==== helpers ====

# The run of the request's commit $sha, once the poller queued it.
sub pr_run {
    my ($sha) = @_;
    my $run;
    wait_until(90, sub {
        $run = psql("SELECT run_id FROM vcs_pr_runs WHERE workspace_id = '$ws'"
                    . " AND head_sha = '$sha' AND run_id IS NOT NULL");
        return $run;
    });
    return $run;
}

sub statuses_of {
    my ($sha) = @_;
    return grep { $_->{sha} eq $sha } $gh->statuses;
}

# Waits until the last status of $sha is $state; the statuses of $sha.
sub status_reaches {
    my ($sha, $state) = @_;
    wait_until(90, sub { my @s = statuses_of($sha);
                         @s && $s[-1]{state} eq $state });
    return statuses_of($sha);
}

sub comments_of_pr { grep { $_->{number} == $_[0] } $gh->comments }

sub push_feature {
    my ($files, $message) = @_;
    return $repo->commit($message, %$files);
}

# ==== a request: a speculative plan, pending then success, one comment ====

my $sha1 = push_feature({'b.tf' => resource('b')}, 'add b');
my $pr = $gh->pr_open(repo => $REPO, head => 'feature', base => 'main',
                      title => 'Add b', author => 'dev');
my $run1 = pr_run($sha1);
ok $run1, 'the poller queued a run of the request head';
my ($res, $doc) = api(GET => "/api/v2/runs/$run1");
ok $doc->{data}{attributes}{'plan-only'}, 'a plan-only run';
like $doc->{data}{attributes}{message}, qr/^Speculative plan of #$pr: Add b/,
     'its message names the request';
ok wait_until(180, sub { status_of($run1) eq 'planned_and_finished' }),
   'terraform planned it on the listener';
my @s = status_reaches($sha1, 'success');
is $s[0]{state}, 'pending', 'the commit was pending first';
is $s[-1]{state}, 'success', 'then success';
is $s[-1]{context}, "terrapod/$WS", 'in the context of the workspace';
is $s[-1]{description}, 'Planned: +2 ~0 -0', 'with the counts of the plan';
is $s[-1]{target_url},
   "$e->{TERRAPOD_URL}/app/default/workspaces/$WS/runs/$run1",
   'linking to the run page';
ok !(grep { length($_->{description}) > 140 } @s),
   'no description past 140 characters';
ok wait_until(30, sub { comments_of_pr($pr) == 1 }), 'one comment';
my ($c) = comments_of_pr($pr);
like $c->{body}, qr/2 to add, 0 to change, 0 to destroy/, 'with the plan';
like $c->{body}, qr/\Q$run1\E/, 'and the link';
is $c->{edits}, 0, 'written once';
is $gh->count(qr{^GET /api/v3/repos/acme/infra/tarball/$sha1}), 1,
   'the commit was downloaded once';

# ==== a push while its plan runs: the older run canceled ====

my $sha2 = push_feature({'stuck.tf' => $BLOCK}, 'block');
my $run2 = pr_run($sha2);
ok $run2, 'a run of the second push';
ok wait_until(180, sub { status_of($run2) eq 'planning' }),
   'its plan waits on the remote state';
my $sha3 = push_feature({'stuck.tf' => undef, 'c.tf' => resource('c')},
                        'add c instead');
my $run3 = pr_run($sha3);
ok $run3, 'a run of the third push';
ok wait_until(120, sub { status_of($run2) eq 'canceled' }),
   'the older run is canceled';
@s = status_reaches($sha2, 'error');
is $s[-1]{description}, 'Run canceled', 'its commit says so';
ok wait_until(180, sub { status_of($run3) eq 'planned_and_finished' }),
   'the new head is planned';
@s = status_reaches($sha3, 'success');
is $s[-1]{description}, 'Planned: +3 ~0 -0', 'with its counts';
ok wait_until(30, sub { my ($x) = comments_of_pr($pr);
                        $x && $x->{body} =~ /\Q$run3\E/ }),
   'the comment tells of the new plan';
my @cs = comments_of_pr($pr);
is scalar @cs, 1, 'still one comment';
is $cs[0]{edits}, 1, 'edited in place';
like $cs[0]{body}, qr/3 to add/, 'with the new counts';
is status_of($run1), 'planned_and_finished', 'a finished run stays as it was';

# ==== the provider fails; the request closes while a plan runs ====

my $sha4 = push_feature({'stuck.tf' => $BLOCK}, 'block again');
my $run4 = pr_run($sha4);
ok wait_until(180, sub { status_of($run4) eq 'planning' }), 'a plan runs';
ok wait_until(30, sub { grep { $_->{description} eq 'Planning' }
                              statuses_of($sha4) }),
   'its commit is pending, planning';
my $before = $gh->count(qr{^POST /api/v3/repos/acme/infra/statuses/$sha4});
$gh->fail(qr{^POST /api/v3/repos/acme/infra/statuses/$sha4}, 502, 3);
$gh->pr_close($REPO, $pr);
ok wait_until(120, sub { status_of($run4) eq 'canceled' }),
   'the closed request\'s run is canceled';
@s = status_reaches($sha4, 'error');
is $s[-1]{state}, 'error', 'its status is posted once the provider answers';
cmp_ok $gh->count(qr{^POST /api/v3/repos/acme/infra/statuses/$sha4}) - $before,
       '>=', 4, 'after the refused tries';
($res, $doc) = api(GET => "$NAT/vcs-connections/$conn");
like $doc->{data}{attributes}{'last-error'} // '', qr/statuses.*502/,
     'the refusal is recorded on the connection';
is scalar(comments_of_pr($pr)), 1, 'a canceled plan writes no comment';
is $gh->count(qr{^GET /api/v3/repos/acme/infra/pulls/$pr/files}), 4,
   'the files of each pushed commit were asked for once';
ok scalar(grep { $_->{path} =~ m{/pulls\?} && $_->{headers}{'if-none-match'} }
          $gh->received),
   'the open requests are asked for conditionally (ETag)';

# ==== GitLab: a merge request ====

my $GLWS = 'e2e-vcs-mr';
my $glws = bound_workspace($GLWS, $f->{gitlab}, $gl->base . '/group/infra');
$repo->checkout('main');
$repo->branch('feature2');
my $sha5 = $repo->commit('add d',
    'main.tf' => cloud_config(workspace => $GLWS, body => resource('a')),
    'd.tf' => resource('d'));
my $mr = $gl->pr_open(repo => 'group/infra', head => 'feature2',
                      base => 'main', title => 'Add d', author => 'dev');
my $run5;
ok wait_until(90, sub {
    $run5 = psql("SELECT run_id FROM vcs_pr_runs WHERE workspace_id = '$glws'"
                 . " AND head_sha = '$sha5' AND run_id IS NOT NULL") }),
   'the merge request is planned';
ok wait_until(180, sub { status_of($run5) eq 'planned_and_finished' }),
   'on the listener';
ok wait_until(90, sub { my @g = grep { $_->{sha} eq $sha5 } $gl->statuses;
                        @g && $g[-1]{state} eq 'success' }),
   'its commit succeeds';
my @g = grep { $_->{sha} eq $sha5 } $gl->statuses;
is join(',', map { $_->{state} } @g), 'pending,running,success',
   'through GitLab\'s states, none posted twice in a row';
is $g[-1]{context}, "terrapod/$GLWS", 'named for the workspace';
is $g[-1]{description}, 'Planned: +2 ~0 -0', 'with the counts';
ok wait_until(30, sub { grep { $_->{number} == $mr } $gl->comments }),
   'a note on the merge request';
my @notes = grep { $_->{number} == $mr } $gl->comments;
is scalar @notes, 1, 'one';
like $notes[0]{body}, qr/2 to add/, 'with the plan';

done_testing;
