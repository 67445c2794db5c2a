# A workspace bound to a repository of a fake GitHub, run for real: POST
# /runs without a configuration version fetches the head of the tracked
# branch (a terraform_data configuration in a working directory), which
# the instance's listener plans and applies; a run of another branch by
# vcs-ref is plan-only whatever the request says, and ends planned with
# that branch's change in its plan. Then a new commit on the tracked
# branch runs and applies over the state the first left.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;
use TP::FakeGitHub;
use TP::VCSFixture;

my $e = instance();
my $dir = workdir();
my $NAT = '/api/terrapod/v1';

# the fake listens on plain http on the loopback: allowed for this run
my $snippet = "$e->{DIR}/conf.d/vcs-e2e.conf";
mkdir "$e->{DIR}/conf.d";
write_file($snippet, "TerrapodVCSInternalHost 127.0.0.1\n");
restart_httpd();
END {
    if ($snippet && -e $snippet) {
        unlink $snippet;
        eval { restart_httpd() };
    }
}

sub config {
    my ($input) = @_;
    return qq{resource "terraform_data" "app" {\n  input = "$input"\n}\n}
         . qq{output "app" {\n  value = terraform_data.app.output\n}\n};
}

my ($key, $pub) = app_key_pair($dir);
my $repo = TP::VCSFixture::Repo->new("$dir/infra");
my $first = $repo->commit('first', 'envs/app/main.tf' => config('one'),
                          'README.md' => "not terraform\n");
$repo->branch('change');
my $change = $repo->commit('change', 'envs/app/main.tf' => config('two'));
$repo->checkout('main');
my $gh = TP::FakeGitHub->new(port => free_port(), app_id => 1414,
                             installation_id => 141401, public_key => $pub,
                             account => 'acme',
                             repos => {'acme/infra' => $repo->bare})->start;

my ($res, $doc) = api(POST => "$NAT/vcs-connections",
    body => {data => {type => 'vcs-connections', attributes => {
        name => 'e2e-github', provider => 'github', 'server-url' => $gh->base,
        'github-app-id' => 1414, 'github-installation-id' => 141401,
        'private-key' => $key}}});
is $res->code, 201, 'a GitHub App connection' or diag $res->content;
my $conn = $doc->{data}{id};
($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces',
                      attributes => {name => 'e2e-vcs', 'execution-mode' => 'agent',
                                     'auto-apply' => JSON::PP::true,
                                     'vcs-repo-url' => $gh->base . '/acme/infra',
                                     'working-directory' => 'envs/app'},
                      relationships => {'vcs-connection' => {data => {
                          type => 'vcs-connections', id => $conn}}}}});
is $res->code, 201, 'a workspace bound to the repository' or diag $res->content;
my $ws = $doc->{data}{id};

sub run_of {
    my (%attrs) = @_;
    my ($res, $doc) = api(POST => '/api/v2/runs',
        body => {data => {type => 'runs', attributes => \%attrs,
                          relationships => {workspace => {data => {
                              type => 'workspaces', id => $ws}}}}});
    is $res->code, 201, 'a run without a configuration version'
        or diag $res->content;
    return $doc->{data};
}

sub plan_log {
    my ($run) = @_;
    my (undef, $d) = api(GET => "/api/v2/plans/$run->{relationships}{plan}{data}{id}");
    my ($r) = api(GET => $d->{data}{attributes}{'log-read-url'}
                         . '?offset=0&limit=10000000');
    return $r->content;
}

sub outputs {
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version-outputs");
    return {map { $_->{attributes}{name} => $_->{attributes}{value} }
            @{ $d->{data} || [] }};
}

# ---- the tracked branch: planned and applied by the listener ----
my $run = run_of(message => 'from main');
ok !$run->{attributes}{'plan-only'}, 'it may apply';
ok wait_until(120, sub { status_of($run->{id}) eq 'applied' }),
   'the listener planned and applied it' or diag status_of($run->{id});
is outputs()->{app}, 'one', "the tracked branch's configuration was applied";
my (undef, $i) = api(GET => '/api/v2/configuration-versions/'
                            . $run->{relationships}{'configuration-version'}{data}{id}
                            . '/ingress-attributes');
is $i->{data}{attributes}{'commit-sha'}, $first, 'from the head of main';
like plan_log($run), qr/terraform_data\.app will be created/,
     'terraform ran in the working directory';

# ---- another branch: plan-only ----
my $other = run_of('vcs-ref' => 'change', 'plan-only' => JSON::PP::false);
ok $other->{attributes}{'plan-only'}, 'a run of another branch is plan-only';
ok wait_until(120, sub { status_of($other->{id}) eq 'planned_and_finished' }),
   'planned, and finished there' or diag status_of($other->{id});
like plan_log($other), qr/~ input\s+= "one" -> "two"/,
     "its plan shows the branch's change";
is outputs()->{app}, 'one', 'nothing applied';

# ---- a new commit on the tracked branch ----
my $second = $repo->commit('second', 'envs/app/main.tf' => config('three'));
$run = run_of(message => 'from main again');
ok wait_until(120, sub { status_of($run->{id}) eq 'applied' }),
   'the new head applied' or diag status_of($run->{id});
is outputs()->{app}, 'three', 'over the state the first run left';
is psql("SELECT vcs_last_commit_sha FROM workspaces WHERE id = '$ws'"), $second,
   'the workspace remembers the commit it ran';

done_testing;
