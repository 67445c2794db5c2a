# Autodiscovery end to end, through the poller alone (no scan): a rule
# on a fake GitHub's repository (real git repositories, the App's JWT
# verified) makes a workspace of each of envs/a and envs/b, seeded with
# the branch's head (no run); a commit to envs/a runs that workspace
# alone on the real listener with the real terraform; envs/b deleted
# flags its workspace; envs/a renamed moves its workspace in place, state
# kept and nothing to run; and a second rule, created on a branch the
# poller has answered, discovers its directory at once and destroys it:
# the workspace, applied once, gets a destroy run when its directory
# goes, whose apply archives it.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use File::Temp ();
use TP::E2E;
use TP::VCSFixture;

my $e = instance();
my $NAT = '/api/terrapod/v1';
my $SECRET = 'e2e22-webhook-secret';
my $T = JSON::PP::true;
my $tmp = File::Temp->newdir;

# polls every 2 seconds; the fake is plain http on the loopback
with_directives('vcs-autodiscovery', 'TerrapodVCSInternalHost 127.0.0.1',
                'TerrapodVCSPollInterval 2', "TerrapodVCSWebhookSecret $SECRET");

sub tf { my ($v) = @_; qq{resource "terraform_data" "x" {\n  input = "$v"\n}\n} }

my $repo = TP::VCSFixture::Repo->new("$tmp/discover");
my %sha;
$sha{0} = $repo->commit('two environments and a module',
                        'envs/a/main.tf' => tf('a0'), 'envs/b/main.tf' => tf('b0'),
                        'modules/x/main.tf' => tf('x0'));

my $f = fake_providers(dir => "$tmp", api => sub { (api(@_))[0] },
                       admin => $e->{TERRAPOD_TOKEN}, name => 'e2e22',
                       app_id => 2222, github => {'acme/discover' => $repo->bare},
                       gitlab => {});
my ($gh, $conn) = ($f->{gh}, $f->{github});
my $URL = $gh->base . '/acme/discover';

sub rule {
    my (%a) = @_;
    my ($r, $d) = api(POST => "$NAT/autodiscovery-rules", body => {data => {
        type => 'autodiscovery-rules', attributes => {
            'vcs-connection-id' => $conn, 'repo-url' => $URL, branch => 'main',
            'name-template' => 'e2e22-{path}', 'execution-mode' => 'agent',
            'auto-apply' => $T, %a}}});
    is $r->code, 201, "the rule $a{name} created" or diag $r->content;
    return $d->{data}{id};
}

sub workspace {
    my ($name) = @_;
    my ($r, $d) = api(GET => "/api/v2/organizations/default/workspaces/$name");
    return $r->code == 200 ? $d->{data} : undef;
}

sub attr { my ($name, $a) = @_; my $w = workspace($name); $w && $w->{attributes}{$a} }

sub runs {
    my ($ws) = @_;
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws/runs?page[size]=100");
    return @{ $d->{data} || [] };
}

sub last_sha { scalar psql("SELECT vcs_last_commit_sha FROM workspaces WHERE id = '$_[0]'") }

# The head the poller last answered for the branch: the poll that saw it
# has reconciled the rules and advanced every workspace of the branch.
sub polled {
    my ($sha) = @_;
    return wait_until(60, sub {
        psql("SELECT last_sha FROM vcs_poll_state WHERE vcs_connection_id = '$conn'"
             . " AND branch = 'main'") eq $sha
    });
}

# Waits until ws has $n runs, the newest applied; the newest.
sub applied_run {
    my ($ws, $n, $name) = @_;
    my @r = runs_ended($ws, $n);
    is scalar(@r), $n, "$name: run $n";
    is $r[0]{attributes}{status}, 'applied', "$name: applied"
        or diag explain $r[0]{attributes};
    return $r[0];
}

# The commit a run's configuration came from, as its ingress says.
sub commit_sha_of {
    my ($run) = @_;
    my $cv = $run->{relationships}{'configuration-version'}{data}{id} // '';
    my (undef, $d) = api(GET => "/api/v2/configuration-versions/$cv/ingress-attributes");
    return $d->{data}{attributes}{'commit-sha'} // '';
}

sub states { scalar psql("SELECT count(*) FROM state_versions WHERE workspace_id = '$_[0]'") }

# A signed push delivery announcing commit $after.
sub announce {
    my ($before, $after) = @_;
    my $body = $gh->push_payload('acme/discover', 'main', $before, $after);
    return $gh->deliver("$e->{TERRAPOD_URL}$NAT/vcs-events/github", $SECRET,
                        'push', $body);
}

# ---- a rule, and the poller alone makes its workspaces ----
my $envs = rule(name => 'envs', pattern => 'envs/*/*.tf',
                'ignore-patterns' => ['modules/**'], 'on-directory-delete' => 'flag');
ok wait_until(60, sub { workspace('e2e22-envs-a') && workspace('e2e22-envs-b') }),
   'the poller made a workspace of envs/a and of envs/b without a scan';
my %ws = map { $_ => workspace("e2e22-envs-$_")->{id} } qw(a b);
for my $d (qw(a b)) {
    my $w = workspace("e2e22-envs-$d");
    is_deeply [@{ $w->{attributes} }{qw(vcs-repo-url vcs-branch working-directory
                                        execution-mode auto-apply lifecycle-state)}],
              [$URL, 'main', "envs/$d", 'agent', $T, 'active'],
              "e2e22-envs-$d: bound to the repository, branch and directory, as the rule says";
    is $w->{relationships}{'autodiscovery-rule'}{data}{id}, $envs, "e2e22-envs-$d: its rule";
    is last_sha($ws{$d}), $sha{0}, "e2e22-envs-$d: seeded with the branch's head";
}
is workspace('e2e22-modules-x'), undef, 'the ignored module made nothing';
ok polled($sha{0}), 'the poller answered the head with the workspaces in place';
is scalar(runs($ws{a})) + scalar(runs($ws{b})), 0, 'and queued no run of the head';

# ---- a commit to envs/a runs envs-a alone ----
$sha{1} = $repo->commit('envs/a changes', 'envs/a/main.tf' => tf('a1'));
is announce($sha{0}, $sha{1})->code, 200, 'the signed push delivery accepted';
my $run = applied_run($ws{a}, 1, 'a commit to envs/a');
is commit_sha_of($run), $sha{1}, 'its configuration is the commit';
ok polled($sha{1}), 'the poller answered the commit';
is last_sha($ws{b}), $sha{1}, 'e2e22-envs-b moved to the commit';
is scalar(runs($ws{b})), 0, 'without a run';
my $states_a = states($ws{a});
ok $states_a > 0, 'e2e22-envs-a has state';

# ---- envs/b deleted: its workspace flagged ----
$sha{2} = $repo->commit('envs/b removed', 'envs/b/main.tf' => undef);
ok wait_until(60, sub { (attr('e2e22-envs-b', 'lifecycle-state') // '') eq 'pending_deletion' }),
   'e2e22-envs-b flagged by the poller (no webhook)';
is attr('e2e22-envs-b', 'lifecycle-reason'), "directory 'envs/b' removed on 'main'",
   'saying why';
ok polled($sha{2}), 'the poller answered the commit';
is scalar(runs($ws{b})), 0, 'no run of the flagged workspace';
is scalar(runs($ws{a})), 1, 'nor of e2e22-envs-a, which the commit does not touch';
is last_sha($ws{a}), $sha{2}, 'e2e22-envs-a moved to the commit';

# ---- envs/a renamed envs/alpha: the workspace moves in place ----
$sha{3} = $repo->commit('envs/a renamed envs/alpha', 'envs/a/main.tf' => undef,
                        'envs/alpha/main.tf' => tf('a1'));
announce($sha{2}, $sha{3});
ok wait_until(60, sub { (attr('e2e22-envs-alpha', 'working-directory') // '') eq 'envs/alpha' }),
   'the workspace moved to envs/alpha, named for it';
my $alpha = workspace('e2e22-envs-alpha');
is $alpha->{id}, $ws{a}, 'the same workspace';
is $alpha->{attributes}{'lifecycle-state'}, 'active', 'still active';
is workspace('e2e22-envs-a'), undef, 'its old name is gone';
is states($ws{a}), $states_a, 'its state kept';
ok polled($sha{3}), 'the poller answered the commit';
# the same files under a new directory: nothing to plan
is scalar(runs($ws{a})), 1, 'no run queued for the rename';
is last_sha($ws{a}), $sha{3}, 'the workspace is at the commit';
$sha{4} = $repo->commit('envs/alpha changes', 'envs/alpha/main.tf' => tf('a4'));
$run = applied_run($ws{a}, 2, 'a commit to envs/alpha');
is commit_sha_of($run), $sha{4}, 'from the commit, in the new directory';

# ---- a second rule, which destroys: applied once, then its directory goes ----
# the stack is there before its rule, on a branch the poller has answered
$sha{5} = $repo->commit('a stack', 'stacks/s1/main.tf' => tf('s0'));
ok polled($sha{5}), 'the poller answered the commit';
is workspace('e2e22-stacks-s1'), undef, 'which no rule discovers';
my $stacks = rule(name => 'stacks', pattern => 'stacks/*/*.tf',
                  'on-directory-delete' => 'destroy');
ok wait_until(60, sub { workspace('e2e22-stacks-s1') }),
   'the new rule discovers it without waiting for a commit';
my $s1 = workspace('e2e22-stacks-s1')->{id};
is last_sha($s1), $sha{5}, "seeded with the branch's head";
ok polled($sha{5}), 'the poller answered the head again';
is scalar(runs($s1)), 0, 'which does not run';
is scalar(runs($ws{a})), 2, 'nor does e2e22-envs-alpha again';
$sha{6} = $repo->commit('the stack changes', 'stacks/s1/main.tf' => tf('s1'));
$run = applied_run($s1, 1, 'a commit to stacks/s1');
is commit_sha_of($run), $sha{6}, 'from the commit';
ok states($s1) > 0, 'the stack has state';
$sha{7} = $repo->commit('the stack removed', 'stacks/s1/main.tf' => undef);
$run = applied_run($s1, 2, 'stacks/s1 removed');
ok $run->{attributes}{'is-destroy'}, 'a destroy run';
like $run->{attributes}{message}, qr/^Destroy: directory 'stacks\/s1' removed on 'main'/,
     'saying why';
ok wait_until(30, sub { (attr('e2e22-stacks-s1', 'lifecycle-state') // '') eq 'archived' }),
   'its apply archived the workspace';
like attr('e2e22-stacks-s1', 'lifecycle-reason'),
     qr/^directory 'stacks\/s1' removed on 'main'; destroy run \Q$run->{id}\E queued; destroyed by \Q$run->{id}\E$/,
     'the reason names the run';
is psql("SELECT count(*) FROM runs WHERE workspace_id IN ('$ws{a}', '$ws{b}')"), 2,
   'the other rule\'s workspaces ran nothing more';

my $log = error_log();
unlike $log, qr{acme/discover autodiscovery}, 'no reconciliation failed';
unlike $log, qr/\Q$SECRET\E|BEGIN (RSA )?PRIVATE KEY/, 'no secret in the error log';

# leave the instance as the other tests expect it
api(DELETE => "$NAT/autodiscovery-rules/$_") for $envs, $stacks;
api(DELETE => "$NAT/vcs-connections/$_") for $f->{github}, $f->{gitlab};
$gh->stop;
$f->{gl}->stop;

done_testing;
