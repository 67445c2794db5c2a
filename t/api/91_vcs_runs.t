# Runs without a configuration version on a workspace bound to a
# repository (fake GitHub and GitLab): the head of the tracked branch
# (the default one) fetched, its archive's top directory stripped and
# stored as an uploaded configuration version with ingress attributes;
# vcs-ref naming another branch, an annotated tag or a SHA makes the run
# plan-only whatever the body says; ingress-attributes served and
# included; a retry keeps the configuration; the seed's 422s
# (misconfigured workspace, disabled connection, unknown ref); archives
# past the upload cap, packed or unpacked, refused with nothing written.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::VCSFixture;
use File::Temp ();
use Archive::Tar ();
use IO::Uncompress::Gunzip qw(gunzip);

plan tests => 117;

my $admin = admin_token();
my $reader_email = 'vcs91-reader@test.local';
my $reader = user_token($reader_email);
my $dir = File::Temp->newdir;
my $STORAGE = "$ENV{TP_INSTANCE}/storage";

my $repo = TP::VCSFixture::Repo->new("$dir/infra");
my $TF = qq{resource "terraform_data" "x" {}\n};
my $first = $repo->commit("First commit\n\nwith a body",
                          'envs/dev/main.tf' => $TF, 'README.md' => "hi\n");
$repo->tag('v1', 'release one');
$repo->author('bob');
my $main = $repo->commit('Second commit', 'envs/dev/extra.tf' => $TF);
$repo->branch('feature/x');
my $feature = $repo->commit('Feature', 'envs/dev/feature.tf' => $TF);
$repo->checkout('main');

# packed and unpacked past a cap of 64 KiB
my $big = TP::VCSFixture::Repo->new("$dir/big");
$big->commit('zeros', 'main.tf' => $TF, 'zeros.bin' => "\0" x 200_000);
$big->branch('noise');
$big->commit('noise', 'zeros.bin' => undef,
             'noise.bin' => join '', map { chr int rand 256 } 1..100_000);
$big->checkout('main');

my $f = fake_providers(dir => $dir, api => \&api, admin => $admin,
                       name => 'vcs91', app_id => 9191,
                       github => {'acme/infra' => $repo->bare,
                                  'acme/big' => $big->bare},
                       gitlab => {'group/infra' => $repo->bare});
my ($gh, $gl, $ghc, $glc) = @$f{qw(gh gl github gitlab)};

sub bound_ws {
    my ($name, $conn, %attrs) = @_;
    my $r = api(POST => '/api/v2/organizations/default/workspaces',
                token => $admin,
                body => {data => {type => 'workspaces',
                                  attributes => {name => $name, %attrs},
                                  relationships => {'vcs-connection' =>
                                      {data => {type => 'vcs-connections',
                                                id => $conn}}}}});
    die "creating $name: " . $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}

sub post_run {
    my ($ws, %attrs) = @_;
    my $token = delete $attrs{token} // $admin;
    my $url = delete $attrs{url} // '/api/v2/runs';
    return api(POST => $url, token => $token,
               body => {data => {type => 'runs', attributes => \%attrs,
                                 relationships => {workspace =>
                                     {data => {type => 'workspaces', id => $ws}}}}});
}

sub get { json_of(api(GET => $_[0], token => $admin)) }
sub cv_of { $_[0]->{relationships}{'configuration-version'}{data}{id} }
sub ingress_of { get("/api/v2/configuration-versions/$_[0]/ingress-attributes")->{data} }
sub cv_count { sql("SELECT count(*) FROM configuration_versions WHERE workspace_id = '$_[0]'") }

# The paths in a configuration version's stored tarball.
sub listing {
    my ($cv) = @_;
    my $r = api(GET => "/api/terrapod/v1/configuration-versions/$cv/download",
                token => $admin);
    die 'download: ' . $r->status_line unless $r->code == 200;
    my $tar_bytes;
    gunzip(\$r->content => \$tar_bytes) or die 'gunzip';
    open my $fh, '<', \$tar_bytes or die;
    return [sort map { $_->full_path } grep { $_->is_file }
            Archive::Tar->new($fh)->get_files];
}

# ---- the tracked branch: the default one ----
my $ws = bound_ws('vcs91-gh', $ghc, 'vcs-repo-url' => $gh->base . '/acme/infra',
                  'working-directory' => 'envs/dev');
my $r = post_run($ws, message => 'from the repository');
is $r->code, 201, 'a run without a configuration version';
my $run = json_of($r)->{data};
ok !$run->{attributes}{'plan-only'}, 'the tracked branch may apply';
is $run->{attributes}{status}, 'plan_queued', 'queued';
my $cv = cv_of($run);
my $c = get("/api/v2/configuration-versions/$cv")->{data};
is $c->{attributes}{status}, 'uploaded', 'its configuration version is uploaded';
is $c->{attributes}{source}, 'github', 'from GitHub';
ok !$c->{attributes}{speculative}, 'not speculative';
(my $ia = $cv) =~ s/^cv-/ia-/;
is_deeply $c->{relationships}{'ingress-attributes'},
    {data => {type => 'ingress-attributes', id => $ia},
     links => {related => "/api/v2/configuration-versions/$cv/ingress-attributes"}},
    'its ingress-attributes relationship';
my $i = ingress_of($cv);
is $i->{type}, 'ingress-attributes', 'ingress attributes';
is $i->{id}, $ia, 'their id derived from the version\'s';
is_deeply $i->{attributes}, {
    branch => 'main', 'clone-url' => $gh->base . '/acme/infra.git',
    'commit-message' => 'Second commit', 'commit-sha' => $main,
    'commit-url' => $gh->base . "/acme/infra/commit/$main",
    'compare-url' => undef, identifier => 'acme/infra',
    'is-pull-request' => JSON::PP::false, 'pull-request-number' => undef,
    'pull-request-title' => undef, 'pull-request-url' => undef,
    'sender-username' => 'bob', tag => undef}, 'what the commit was';
is $i->{links}{self}, "/api/v2/configuration-versions/$cv/ingress-attributes",
   'their address';
is_deeply listing($cv), ['README.md', 'envs/dev/extra.tf', 'envs/dev/main.tf'],
          "the archive's top directory stripped";
is sql("SELECT vcs_last_commit_sha FROM workspaces WHERE id = '$ws'"), $main,
   'the workspace remembers the commit of its tracked branch it ran';
my @tarballs = grep { $_->{path} =~ m{/tarball/} } $gh->received;
is scalar(@tarballs), 1, 'the archive downloaded once';
like $tarballs[0]{path}, qr{/tarball/$main$}, 'by SHA';

# ---- include= ----
$r = api(GET => "/api/v2/runs/$run->{id}?include=configuration_version.ingress_attributes",
         token => $admin);
my %included = map { ("$_->{type}/$_->{id}" => $_) } @{ json_of($r)->{included} || [] };
ok $included{"configuration-versions/$cv"}, 'the configuration version included';
is $included{"ingress-attributes/$ia"}{attributes}{'commit-sha'}, $main,
   'and its ingress attributes, for the run page';
$r = api(GET => "/api/v2/configuration-versions/$cv?include=ingress_attributes",
         token => $admin);
is json_of($r)->{included}[0]{id}, $ia, 'included with the version too';

# ---- other refs: plan-only ----
sub ref_run {
    my ($ref, %attrs) = @_;
    my $r = post_run($ws, 'vcs-ref' => $ref, 'plan-only' => JSON::PP::false,
                     %attrs);
    is $r->code, 201, "a run of $ref";
    my $run = json_of($r)->{data};
    ok $run->{attributes}{'plan-only'}, "$ref: plan-only whatever the body said";
    is $run->{attributes}{'vcs-ref'}, $ref, "$ref: the run's vcs-ref";
    ok get('/api/v2/configuration-versions/' . cv_of($run))->{data}{attributes}{speculative},
       "$ref: a speculative configuration";
    return ($run, ingress_of(cv_of($run))->{attributes});
}
my ($frun, $fi) = ref_run('feature/x');
is $fi->{branch}, 'feature/x', 'the branch';
is $fi->{'commit-sha'}, $feature, "its head";
is $fi->{tag}, undef, 'no tag';
is_deeply listing(cv_of($frun)), ['README.md', 'envs/dev/extra.tf',
                                  'envs/dev/feature.tf', 'envs/dev/main.tf'],
          "the branch's files";
my (undef, $ti) = ref_run('v1');
is $ti->{tag}, 'v1', 'the tag';
is $ti->{branch}, undef, 'no branch';
is $ti->{'commit-sha'}, $first, 'the commit the annotated tag points to';
is $ti->{'commit-message'}, "First commit\n\nwith a body", 'its message';
is $ti->{'sender-username'}, 'alice', 'its author';
my (undef, $si) = ref_run(substr($first, 0, 7));
is $si->{'commit-sha'}, $first, 'an abbreviated SHA: the full one recorded';
is $si->{branch}, undef, 'no branch';
is $si->{tag}, undef, 'no tag';
ref_run($main);
is sql("SELECT vcs_last_commit_sha FROM workspaces WHERE id = '$ws'"), $main,
   'runs of other refs leave the tracked commit alone';

$r = post_run($ws, 'vcs-ref' => 'main');
is $r->code, 201, 'the tracked branch named';
ok !json_of($r)->{data}{attributes}{'plan-only'}, 'is not plan-only';
is json_of($r)->{data}{attributes}{status}, 'pending',
   'and waits for the first run, which holds the workspace';

my $cvs = cv_count($ws);
$r = post_run($ws, 'vcs-ref' => 'nosuch');
is_error $r, 422, 'a ref that names nothing';
like error_detail($r), qr/vcs-ref nosuch names no branch, tag or commit of acme\/infra/,
     'says so';
$r = post_run($ws, 'vcs-ref' => 'abcdef1');
is_error $r, 422, 'a SHA that names no commit (GitHub answers 422)';
like error_detail($r), qr/vcs-ref abcdef1 names no branch, tag or commit/, 'says so';
is cv_count($ws), $cvs, 'no configuration version for either';

# ---- a retry keeps the configuration, so its ingress ----
is api(POST => "/api/v2/runs/$frun->{id}/actions/cancel", token => $admin)->code,
   202, 'the feature run canceled';
$r = api(POST => "/api/terrapod/v1/runs/$frun->{id}/actions/retry", token => $admin);
is $r->code, 201, 'and retried';
my $retry = json_of($r)->{data};
is cv_of($retry), cv_of($frun), 'with the same configuration version';
ok $retry->{attributes}{'plan-only'}, 'still plan-only';
is ingress_of(cv_of($retry))->{attributes}{branch}, 'feature/x',
   'so the same ingress';
is cv_count($ws), $cvs, 'nothing fetched again';

# ---- who may ----
grant_ws_role($admin, $reader_email, 'vcs91-readers', 'read', 'vcs91-gh');
my $asked = $gh->count(qr/./);
$r = post_run($ws, token => $reader);
is_error $r, 403, 'a reader';
is $gh->count(qr/./), $asked, 'the provider was not asked for a reader';
my $planner_email = 'vcs91-planner@test.local';
my $planner = user_token($planner_email);
grant_ws_role($admin, $planner_email, 'vcs91-planners', 'plan', 'vcs91-gh');
$cvs = cv_count($ws);
$r = post_run($ws, token => $planner);
is_error $r, 403, 'a run of the tracked branch that may apply, by a planner';
like error_detail($r), qr/needs write/, 'it needs write';
is cv_count($ws), $cvs, 'no configuration version left without its run';
$r = post_run($ws, token => $planner, 'plan-only' => JSON::PP::true);
is $r->code, 201, 'a plan-only run of it by the planner';
$r = post_run($ws, token => $planner, 'vcs-ref' => 'feature/x');
is $r->code, 201, 'a run of another branch by the planner: plan-only';
is cv_count($ws), $cvs + 2, 'each with its configuration version';
is api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
       body => {data => {type => 'workspaces', attributes => {
           'allow-destroy-plan' => JSON::PP::false}}})->code, 200,
   'destroy plans turned off';
$asked = $gh->count(qr/./);
$cvs = cv_count($ws);
$r = post_run($ws, 'is-destroy' => JSON::PP::true);
is_error $r, 422, 'a destroy run where destroy plans are off';
is cv_count($ws), $cvs, 'nothing stored';
is $gh->count(qr/./), $asked, 'nor the provider asked';

# ---- misconfigured, disabled, not connected ----
my $nourl = bound_ws('vcs91-nourl', $ghc);
make_cv($admin, $nourl);
$r = post_run($nourl);
is_error $r, 422, 'a connection but no repository URL';
is error_detail($r), "Workspace has no uploaded configuration. Upload one via "
   . "'tofu plan' / 'tofu apply' (CLI), or POST a configuration version + "
   . "tarball before queueing a run.", "the seed's answer";
my $plain = make_ws($admin, 'vcs91-plain');
$r = post_run($plain, 'vcs-ref' => 'main');
is_error $r, 422, 'a vcs-ref on a workspace not connected';
like error_detail($r), qr/vcs-ref needs a workspace connected to a VCS repository/,
     'says so';
is error_detail(post_run($plain)), error_detail(post_run($nourl)),
   'no configuration at all: the same answer';

# ---- GitLab ----
my $glws = bound_ws('vcs91-gl', $glc, 'vcs-repo-url' => $gl->base . '/group/infra',
                    'vcs-branch' => 'feature/x');
$r = post_run($glws);
is $r->code, 201, 'a run of a GitLab project';
my $glrun = json_of($r)->{data};
ok !$glrun->{attributes}{'plan-only'}, 'its tracked branch feature/x may apply';
$c = get('/api/v2/configuration-versions/' . cv_of($glrun))->{data};
is $c->{attributes}{source}, 'gitlab', 'from GitLab';
my $gi = ingress_of(cv_of($glrun))->{attributes};
is $gi->{branch}, 'feature/x', 'the tracked branch';
is $gi->{'commit-sha'}, $feature, 'its head';
is $gi->{'sender-username'}, 'bob', "the author's name";
is $gi->{'commit-url'}, $gl->base . "/group/infra/-/commit/$feature", 'the commit page';
is_deeply listing(cv_of($glrun)), ['README.md', 'envs/dev/extra.tf',
                                   'envs/dev/feature.tf', 'envs/dev/main.tf'],
          "GitLab's top directory stripped";
ok scalar(grep { $_->{path} =~ m{/repository/commits/feature%2Fx$} } $gl->received),
   'the branch asked for with its slash encoded';
is post_run($glws, 'vcs-ref' => 'abcdef1')->code, 422,
   'a SHA that names no commit (GitLab answers 404)';
is post_run($glws, 'vcs-ref' => 'nosuch')->code, 422,
   'a ref that names nothing';
is api(PATCH => "/api/terrapod/v1/vcs-connections/$glc", token => $admin,
       body => {data => {type => 'vcs-connections',
                         attributes => {status => 'disabled'}}})->code, 200,
   'the GitLab connection disabled';
$cvs = cv_count($glws);
$r = post_run($glws);
is_error $r, 422, 'a run of a workspace whose connection is disabled';
like error_detail($r), qr/VCS connection $glc of workspace vcs91-gl is disabled/,
     'says so';
is cv_count($glws), $cvs, 'nothing fetched';

# ---- the provider failing ----
$gh->fail(qr{/_codeload/}, 500, 3);
$cvs = cv_count($ws);
$r = post_run($ws, 'plan-only' => JSON::PP::true);
is_error $r, 502, 'an archive the provider fails to send';
like error_detail($r), qr{/tarball/$main answered 500: injected failure},
     "what the provider answered, read from the download";
is cv_count($ws), $cvs, 'no configuration version';

# ---- the caps ----
sub small_url {
    local $Apache::TestRequest::Module = $Apache::TestRequest::Module;
    return Apache::TestRequest::module2url('terrapod_small_uploads',
                                           {path => $_[0]});
}
my $bigws = bound_ws('vcs91-big', $ghc, 'vcs-repo-url' => $gh->base . '/acme/big');
$r = post_run($bigws, url => small_url('/api/v2/runs'));
is_error $r, 422, 'an archive that unpacks past the upload cap';
like error_detail($r), qr/exceeds 65536 bytes uncompressed/, 'says so';
$r = post_run($bigws, url => small_url('/api/v2/runs'), 'vcs-ref' => 'noise');
is_error $r, 413, 'an archive larger than the upload cap';
is cv_count($bigws), 0, 'no configuration version';
ok !-e "$STORAGE/config/$bigws", 'and nothing in storage';
$r = post_run($bigws);
is $r->code, 201, 'under the default cap the same repository runs';

# ---- ingress attributes of an upload: none ----
my $up = make_cv($admin, $plain);
$r = api(GET => "/api/v2/configuration-versions/$up/ingress-attributes", token => $admin);
is_error $r, 404, 'an uploaded version has no ingress attributes';
is get("/api/v2/configuration-versions/$up")->{data}{relationships}{'ingress-attributes'}{data},
   undef, 'nor the relationship';
is api(GET => "/api/v2/configuration-versions/$cv/ingress-attributes",
       token => user_token('vcs91-stranger@test.local'))->code, 404,
   'ingress attributes of a workspace the caller cannot read: 404';
