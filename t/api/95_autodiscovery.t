# Autodiscovery rules against the fake providers (TP::FakeGitHub,
# TP::FakeGitLab) serving a real git repository with envs/a, envs/b and
# modules/x: the rules' CRUD for platform admins only, and its refusals
# (409 for a name the connection's rules have, 422 and nothing stored for
# reserved labels, a bad pattern, an unknown connection, ...); previews of
# a saved and an unsaved rule with their collisions and no side effects;
# 413 when the provider truncates the tree; scans creating the workspaces
# bound to their directories and seeded with the branch's head, again
# without creating anything; a deleted rule leaving its workspaces.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::FakeGitHub;
use TP::FakeGitLab;
use File::Temp ();

plan tests => 133;

my $admin = admin_token();
my $user = user_token('ad95-user@test.local');
my $BASE = '/api/terrapod/v1/autodiscovery-rules';
my $T = JSON::PP::true;
my $F = JSON::PP::false;
my $dir = File::Temp->newdir;


sub git { system('git', @_) == 0 or die "git @_ failed" }

# A bare repository: main with envs/a, envs/b (each a main.tf), modules/x
# and a README; a branch "staging" with envs/c as well.
$ENV{$_} = 'ad95' for qw(GIT_AUTHOR_NAME GIT_COMMITTER_NAME);
$ENV{$_} = 'ad95@test.local' for qw(GIT_AUTHOR_EMAIL GIT_COMMITTER_EMAIL);
my $work = "$dir/work";
git('init', '-q', '-b', 'main', $work);
for my $d (qw(envs/a envs/b modules/x)) {
    system('mkdir', '-p', "$work/$d") == 0 or die;
    open my $fh, '>', "$work/$d/main.tf" or die $!;
    print $fh qq{resource "terraform_data" "x" { input = "$d" }\n};
    close $fh;
}
open my $readme, '>', "$work/README.md" or die $!;
print $readme "infra\n";
close $readme;
git('-C', $work, 'add', '.');
git('-C', $work, 'commit', '-q', '-m', 'envs and modules');
git('-C', $work, 'checkout', '-q', '-b', 'staging');
system('mkdir', '-p', "$work/envs/c") == 0 or die;
open my $c, '>', "$work/envs/c/main.tf" or die $!;
print $c qq{resource "terraform_data" "c" {}\n};
close $c;
git('-C', $work, 'add', '.');
git('-C', $work, 'commit', '-q', '-m', 'envs/c');
git('-C', $work, 'checkout', '-q', 'main');
git('clone', '-q', '--bare', $work, "$dir/infra.git");
my %sha = map { $_ => scalar(qx{git -C $work rev-parse $_}) =~ s/\s+$//r }
          qw(main staging);

system("openssl genrsa -out $dir/app.pem 2048 2>/dev/null"
       . " && openssl rsa -in $dir/app.pem -pubout -out $dir/app.pub"
       . " 2>/dev/null") == 0 or die 'openssl failed';
my $key = do { local (@ARGV, $/) = ("$dir/app.pem"); <> };
my $gh = TP::FakeGitHub->new(port => free_port(), app_id => 9595,
                             installation_id => 959501,
                             public_key => "$dir/app.pub", account => 'acme',
                             repos => {'acme/infra' => "$dir/infra.git"})->start;
my $gl_token = 'glpat-ad95-' . join '', map { ('a'..'z')[rand 26] } 1..20;
my $gl = TP::FakeGitLab->new(port => free_port(), token => $gl_token,
                             username => 'ci-bot',
                             projects => {'group/sub/infra' => "$dir/infra.git"})->start;

sub connection {
    my (%attrs) = @_;
    my $r = api(POST => '/api/terrapod/v1/vcs-connections', token => $admin,
                body => {data => {type => 'vcs-connections',
                                  attributes => \%attrs}});
    die 'creating a connection: ' . $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}
my $ghc = connection(name => 'gh-ad95', provider => 'github',
                     'server-url' => $gh->base, 'github-app-id' => 9595,
                     'github-installation-id' => 959501,
                     'private-key' => $key);
my $glc = connection(name => 'gl-ad95', provider => 'gitlab',
                     'server-url' => $gl->base, token => $gl_token);
my $GH_REPO = $gh->base . '/acme/infra';
my $GL_REPO = $gl->base . '/group/sub/infra';

sub body { {data => {type => 'autodiscovery-rules', attributes => {@_}}} }
sub create { api(POST => $BASE, token => $admin, body => body(@_)) }
sub patch {
    my ($id, @attrs) = @_;
    return api(PATCH => "$BASE/$id", token => $admin, body => body(@attrs));
}
sub rules { sql('SELECT count(*) FROM autodiscovery_rules') }
sub workspaces { sql('SELECT count(*) FROM workspaces') }
sub entries {
    my ($r) = @_;
    return [map { "$_->{working_directory}=" . ($_->{workspace_name} // '')
                  . ($_->{collision} ? ' collision' : '')
                  . ($_->{existing_autodiscovered} ? ' own' : '') }
            @{ json_of($r)->{data} }];
}

my %rule = (name => 'envs', 'vcs-connection-id' => $ghc,
            'repo-url' => "$GH_REPO.git/", pattern => 'envs/*/*.tf');

# ---- platform admins only ----
for my $c ([GET => $BASE], [POST => $BASE], [GET => "$BASE/adr-x"],
           [PATCH => "$BASE/adr-x"], [DELETE => "$BASE/adr-x"],
           [GET => "$BASE/adr-x/preview"], [POST => "$BASE/preview"],
           [POST => "$BASE/adr-x/scan"]) {
    my ($m, $path) = @$c;
    is api($m => $path, body => body(%rule))->code, 401,
       "$m $path without a token: 401";
    is api($m => $path, token => $user, body => body(%rule))->code, 403,
       "$m $path as a user: 403";
}
is rules(), 0, 'nothing stored by the refused requests';
is $gh->count(qr/./), 0, 'nor was the provider asked';

# ---- create ----
my $r = create(%rule, labels => {team => 'platform'},
               'owner-email' => 'platform@test.local',
               'ignore-patterns' => ['modules/**'],
               'execution-mode' => 'agent', 'terraform-version' => '1.11.4',
               'var-files' => ['common.tfvars'],
               'run-task-templates' => [{name => 'scan', url => 'https://rt.test/x',
                                         stage => 'post_plan',
                                         'hmac-key' => 'rt-secret-ad95'}],
               'notification-templates' => [{name => 'hook',
                                             'destination-type' => 'generic',
                                             url => 'https://hook.test/x',
                                             token => 'nt-secret-ad95'}]);
is $r->code, 201, 'a rule created';
my $doc = json_of($r)->{data};
my $rid = $doc->{id};
like $rid, qr/^adr-/, 'with its id';
my $a = $doc->{attributes};
is $a->{'repo-url'}, $GH_REPO, 'the repository URL stored without .git and the slash';
is_deeply [@$a{qw(branch name-template enabled on-directory-delete
                  execution-mode execution-backend terraform-version
                  resource-cpu resource-memory auto-apply)}],
          ['', '{path}', $T, 'flag', 'agent', 'terraform', '1.11.4', '1',
           '2Gi', $F], 'the defaults and the settings sent';
is_deeply $a->{'ignore-patterns'}, ['modules/**'], 'the ignore patterns';
is_deeply $a->{labels}, {team => 'platform'}, 'the labels';
is $a->{'owner-email'}, 'platform@test.local', 'the owner';
is_deeply $a->{'var-files'}, ['common.tfvars'], 'the var files';
is_deeply $a->{'run-task-templates'},
          [{name => 'scan', url => 'https://rt.test/x', stage => 'post_plan',
            'has-hmac-key' => $T}], 'run-task templates without their key';
is_deeply $a->{'notification-templates'},
          [{name => 'hook', 'destination-type' => 'generic',
            url => 'https://hook.test/x', 'has-token' => $T}],
          'notification templates without their token';
is $a->{'workspace-count'}, 0, 'no workspace yet';
is $doc->{relationships}{'vcs-connection'}{data}{id}, $ghc,
   'the connection as a relationship';
is sql("SELECT count(*) FROM autodiscovery_rules WHERE id = '$rid'"
       . " AND run_task_templates::text NOT LIKE '%rt-secret-ad95%'"
       . " AND notification_templates::text NOT LIKE '%nt-secret-ad95%'"
       . " AND run_task_templates::text LIKE '%hmac-key-sealed%'"), 1,
   'the template secrets stored sealed';

is create(%rule, name => 'ENVS')->code, 409,
   'a name the connection has (ignoring case): 409';
$r = create(%rule, 'vcs-connection-id' => $glc, 'repo-url' => $GL_REPO);
is $r->code, 201, 'the same name on another connection';
my $glrid = json_of($r)->{data}{id};
is rules(), 2, 'two rules';

# ---- refusals: 422, nothing stored ----
for my $c (
    [{labels => {status => 'x'}}, qr/labels key "status" is reserved/,
     'a reserved label'],
    [{labels => {branch => 'main'}}, qr/reserved/, 'another reserved label'],
    [{pattern => 'envs/**x/*.tf'}, qr/^pattern .*\*\*/, 'a bad pattern'],
    [{pattern => '/envs/*'}, qr/^pattern /, 'an absolute pattern'],
    [{'ignore-patterns' => ['ok/**', '../x']}, qr/ignore-patterns\[1\]/,
     'a bad ignore pattern'],
    [{'name-template' => 'ws-{nope}'}, qr/name-template/, 'an unknown placeholder'],
    [{'vcs-connection-id' => 'vcs-nosuch'}, qr/VCS connection vcs-nosuch not found/,
     'an unknown connection'],
    [{'repo-url' => 'https://github.com/acme/infra'},
     qr/not a repository of the connection's host/, "another host's repository"],
    [{'on-directory-delete' => 'archive'}, qr/on-directory-delete/,
     'an unknown on-directory-delete'],
    [{'execution-mode' => 'cloud'}, qr/execution-mode/, 'an unknown execution mode'],
    [{'resource-memory' => 'lots'}, qr/resource-memory/, 'a bad memory quantity'],
    [{'agent-pool-id' => 'apool-nosuch'}, qr/agent pool apool-nosuch not found/,
     'an unknown agent pool'],
    [{'run-task-templates' => [{url => 'x', stage => 'post_plan'}]},
     qr/run-task-templates\[0\] must be an object with a name/, 'a template without a name'],
    [{'run-task-templates' => [{name => 'x', stage => 'later'}]},
     qr/stage/, 'a template of an unknown stage'],
    [{pattern => undef}, qr/required/, 'no pattern'],
) {
    my ($attrs, $detail, $what) = @$c;
    my %a = (%rule, name => 'refused', %$attrs);
    delete $a{pattern} unless defined $a{pattern};
    $r = create(%a);
    is $r->code, 422, "$what: 422";
    like error_detail($r), $detail, "$what: says why";
}
is rules(), 2, 'nothing stored by the refusals';

# ---- show, list, update ----
is json_of(api(GET => "$BASE/$rid", token => $admin))->{data}{attributes}{name},
   'envs', 'shown';
$r = api(GET => $BASE, token => $admin);
is $r->code, 200, 'listed';
is json_of($r)->{meta}{pagination}{'total-count'}, 2, 'both rules';
is api(GET => "$BASE/adr-nosuch", token => $admin)->code, 404,
   'an unknown rule: 404';
is patch($rid, labels => {status => 'x'})->code, 422,
   'a reserved label in an update: 422';
$r = api(PATCH => "$BASE/$rid", token => $admin,
         body => body('vcs-connection-id' => $glc, 'repo-url' => $GL_REPO));
is $r->code, 409, "moving the rule onto a connection whose rule has its name: 409";
$r = api(PATCH => "$BASE/$rid", token => $admin,
         body => body('name-template' => 'gh-{path}', 'on-directory-delete' => 'destroy'));
is $r->code, 200, 'updated';
$a = json_of($r)->{data}{attributes};
is_deeply [@$a{qw(name-template on-directory-delete pattern)}],
          ['gh-{path}', 'destroy', 'envs/*/*.tf'], 'only what was sent changed';
is_deeply $a->{'run-task-templates'}[0]{'has-hmac-key'}, $T,
          'the template secrets kept';

# ---- preview: saved and unsaved, no side effects ----
my $before = workspaces();
my $taken = make_ws($admin, 'gh-envs-b');
$r = api(GET => "$BASE/$rid/preview", token => $admin);
is $r->code, 200, 'a saved rule previewed';
is_deeply entries($r), ['envs/a=gh-envs-a', 'envs/b=gh-envs-b collision'],
          'its directories, the one whose name is taken a collision';
is json_of($r)->{meta}{'commit-sha'}, $sha{main}, "at the default branch's head";
is json_of($r)->{meta}{branch}, 'main', 'the default branch';
is workspaces(), $before + 1, 'nothing created by the preview';
ok $gh->count(qr{^GET /api/v3/repos/acme/infra/git/trees/$sha{main}\?recursive=1$}),
   'the tree read recursively at the commit';

my %unsaved = ('vcs-connection-id' => $ghc, 'repo-url' => $GH_REPO,
               pattern => '**/*.tf');
$r = api(POST => "$BASE/preview", token => $admin, body => body(%unsaved));
is $r->code, 200, 'an unsaved rule previewed';
is_deeply entries($r), ['envs/a=envs-a', 'envs/b=envs-b', 'modules/x=modules-x'],
          'every directory with a .tf file';
$r = api(POST => "$BASE/preview", token => $admin,
         body => body(%unsaved, 'ignore-patterns' => ['modules/**'],
                      branch => 'staging', 'name-template' => '{repo}-{dir}'));
is_deeply entries($r), ['envs/a=infra-a', 'envs/b=infra-b', 'envs/c=infra-c'],
          'ignores, another branch and a template';
is json_of($r)->{meta}{'commit-sha'}, $sha{staging}, "at that branch's head";
is rules(), 2, 'no rule stored by an unsaved preview';
is workspaces(), $before + 1, 'nor a workspace';
$r = api(POST => "$BASE/preview", token => $admin,
         body => body(%unsaved, branch => 'nosuch'));
is $r->code, 422, 'a branch the provider does not know: 422';
$r = api(POST => "$BASE/preview", token => $admin,
         body => body(%unsaved, pattern => 'a**'));
is $r->code, 422, 'an unsaved rule with a bad pattern: 422';

# ---- truncated trees: 413 ----
$gh->truncate_trees(1);
is_error(api(GET => "$BASE/$rid/preview", token => $admin), 413,
         'a tree GitHub truncated');
like error_detail(api(POST => "$BASE/$rid/scan", token => $admin)),
     qr/too large to scan in one pass/, 'a scan of it says so';
is workspaces(), $before + 1, 'nothing created';
$gh->truncate_trees(0);
$gl->truncate_trees(1);
is_error(api(GET => "$BASE/$glrid/preview", token => $admin), 413,
         'a GitLab tree of more pages than are read');
is $gl->count(qr{/repository/tree\?}), 100, 'after a hundred pages';
$gl->truncate_trees(0);

# ---- scan ----
$r = api(POST => "$BASE/$rid/scan", token => $admin);
is $r->code, 200, 'scanned';
is json_of($r)->{meta}{created}, 1, 'one workspace created';
my ($a_entry, $b_entry) = @{ json_of($r)->{data} };
is_deeply [@$a_entry{qw(workspace_name created collision)}], ['gh-envs-a', $T, $F],
          'for envs/a';
is_deeply [@$b_entry{qw(workspace_name created collision workspace_id)}],
          ['gh-envs-b', $F, $T, $taken], 'envs/b skipped: its name is taken';
my $ws = $a_entry->{workspace_id};
$r = api(GET => "/api/v2/workspaces/$ws", token => $admin);
$a = json_of($r)->{data}{attributes};
is_deeply [@$a{qw(name vcs-repo-url vcs-branch working-directory execution-mode
                  terraform-version owner-email lifecycle-state lifecycle-reason
                  autodiscovery-pr-number drift-detection-enabled)}],
          ['gh-envs-a', $GH_REPO, '', 'envs/a', 'agent', '1.11.4',
           'platform@test.local', 'active', '', undef, $T],
          "the rule's settings, bound to the directory";
is_deeply $a->{labels}, {team => 'platform'}, "the rule's labels";
is json_of($r)->{data}{relationships}{'autodiscovery-rule'}{data}{id}, $rid,
   'the rule as a relationship';
is json_of($r)->{data}{relationships}{'vcs-connection'}{data}{id}, $ghc,
   'and the connection';
is sql("SELECT vcs_last_commit_sha FROM workspaces WHERE id = '$ws'"), $sha{main},
   "seeded with the branch's head";
is json_of(api(GET => "$BASE/$rid", token => $admin))->{data}{attributes}{'workspace-count'},
   1, 'the rule counts it';

$before = workspaces();
$r = api(POST => "$BASE/$rid/scan", token => $admin);
is $r->code, 200, 'scanned again';
is json_of($r)->{meta}{created}, 0, 'nothing created';
is_deeply entries($r), ['envs/a=gh-envs-a collision own', 'envs/b=gh-envs-b collision'],
          'envs/a is the workspace this rule made';
$r = api(GET => "$BASE/$rid/preview", token => $admin);
is_deeply entries($r), ['envs/a=gh-envs-a collision own', 'envs/b=gh-envs-b collision'],
          'the preview says the same';
is workspaces(), $before, 'no workspace added';

# a workspace bound to the directory is a collision whatever its name
my $bound = make_ws($admin, 'hand-made-ad95', 'working-directory' => 'envs/b');
sql("UPDATE workspaces SET vcs_repo_url = '$GL_REPO' WHERE id = '$bound'");
is patch($glrid, enabled => $F)->code, 200, 'the GitLab rule disabled';
$r = api(POST => "$BASE/$glrid/scan", token => $admin);
is $r->code, 200, 'a disabled rule is scanned when asked';
is_deeply entries($r), ['envs/a=envs-a', 'envs/b=envs-b collision'],
          'envs/b is bound to a workspace already';
is json_of($r)->{data}[1]{workspace_id}, $bound, 'that one';
is json_of($r)->{meta}{created}, 1, 'envs/a created';
my $glws = json_of($r)->{data}[0]{workspace_id};
is sql("SELECT vcs_repo_url || ' ' || vcs_last_commit_sha FROM workspaces"
       . " WHERE id = '$glws'"), "$GL_REPO $sha{main}",
   'bound to the GitLab project, seeded with its head';
ok $gl->count(qr{^GET /api/v4/projects/group%2Fsub%2Finfra/repository/tree\?recursive=true&per_page=100&ref=$sha{main}$}),
   'the project tree read by pages at the commit';

# ---- a disabled connection ----
api(PATCH => "/api/terrapod/v1/vcs-connections/$glc", token => $admin,
    body => {data => {type => 'vcs-connections', attributes => {status => 'disabled'}}});
$r = api(GET => "$BASE/$glrid/preview", token => $admin);
is $r->code, 422, 'a rule of a disabled connection: 422';
like error_detail($r), qr/disabled/, 'says so';

# ---- a destroy run queued for a removed directory: its apply archives ----
make_cv($admin, $ws);
$r = api(POST => '/api/v2/runs', token => $admin,
         body => {data => {type => 'runs', attributes => {'is-destroy' => $T},
                           relationships => {workspace => {data => {
                               type => 'workspaces', id => $ws}}}}});
is $r->code, 201, 'a destroy run queued';
my $run = json_of($r)->{data}{id};
sql("UPDATE workspaces SET lifecycle_state = 'pending_deletion',"
    . " lifecycle_reason = 'gone', lifecycle_run_id = '$run' WHERE id = '$ws'");
sql("UPDATE runs SET status = 'errored' WHERE id = '$run'");
is sql("SELECT lifecycle_state FROM workspaces WHERE id = '$ws'"),
   'pending_deletion', 'a run that did not apply archives nothing';
sql("UPDATE runs SET status = 'applied' WHERE id = '$run'");
$a = json_of(api(GET => "/api/v2/workspaces/$ws", token => $admin))->{data}{attributes};
is_deeply [@$a{qw(lifecycle-state lifecycle-reason)}],
          ['archived', "gone; destroyed by $run"], 'its apply archives the workspace';

# ---- delete: the workspaces stay ----
is api(DELETE => "$BASE/$rid", token => $admin)->code, 204, 'the rule deleted';
is api(DELETE => "$BASE/$rid", token => $admin)->code, 404, 'deleted once';
is sql("SELECT count(*) FROM workspaces WHERE id = '$ws'"
       . " AND autodiscovery_rule_id IS NULL"), 1,
   'its workspace stays, without the rule';
$r = api(GET => "/api/v2/workspaces/$ws", token => $admin);
is $r->code, 200, 'and works';
is json_of($r)->{data}{relationships}{'autodiscovery-rule'}{data}, undef,
   'no rule as its relationship';
is api(DELETE => "/api/terrapod/v1/vcs-connections/$glc", token => $admin)->code,
   204, 'a connection deleted';
is sql("SELECT count(*) FROM autodiscovery_rules WHERE id = '$glrid'"), 0,
   'its rules with it';
is sql("SELECT count(*) FROM workspaces WHERE id = '$glws'"), 1,
   'their workspaces stay';

my $log = do { local (@ARGV, $/) = (Apache::Test::vars('t_logs') . '/error_log'); <> };
like $log, qr/TP02020: autodiscovery rule \Q$rid\E \(envs, envs\/\*\/\*\.tf on /,
     'the creation logged';
like $log, qr/TP02024: autodiscovery rule \Q$rid\E scanned by admin\@test\.local: 1 workspace/,
     'the scan logged';
ok !(grep { index($log, $_) >= 0 } 'rt-secret-ad95', 'nt-secret-ad95', $gl_token),
   'no secret in the error log';

$gh->stop;
$gl->stop;
