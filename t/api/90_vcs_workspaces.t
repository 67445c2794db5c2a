# Workspaces bound to a repository: vcs-repo-url checked against the host
# of the connection named by the vcs-connection relationship (or by TFE's
# vcs-repo object), which turns drift detection on; the vcs-repo object
# rendered; unbinding; GET /workspaces/{id}/vcs-refs on the fake GitHub
# and GitLab (branches, tags peeled, default branch), its 422s (not
# connected, connection disabled), a provider's failure as a 502 recorded
# on the connection; no credential in any answer.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::VCSFixture;
use File::Temp ();

plan tests => 86;

my $admin = admin_token();
my $reader_email = 'vcs90-reader@test.local';
my $reader = user_token($reader_email);
my $stranger = user_token('vcs90-stranger@test.local');
my $dir = File::Temp->newdir;
my @answers;    # every body the server sent, searched for credentials

sub call {
    my $r = api(@_);
    push @answers, $r->content;
    return $r;
}

my $repo = TP::VCSFixture::Repo->new("$dir/infra");
my $first = $repo->commit('first', 'envs/dev/main.tf' => "# dev\n");
$repo->tag('v1');
my $second = $repo->commit('second', 'envs/dev/main.tf' => "# dev 2\n");
$repo->tag('v2', 'release two');
$repo->branch('feature/x');
my $feature = $repo->commit('feature', 'envs/dev/x.tf' => "# x\n");
$repo->checkout('main');

my $f = fake_providers(dir => $dir, api => \&call, admin => $admin,
                       name => 'vcs90', app_id => 9090,
                       github => {'acme/infra' => $repo->bare},
                       gitlab => {'group/sub/infra' => $repo->bare});
my ($gh, $gl, $ghc, $glc) = @$f{qw(gh gl github gitlab)};
my $gl_token = $f->{gitlab_token};
my $GH_URL = $gh->base . '/acme/infra';
my $GL_URL = $gl->base . '/group/sub/infra';

sub ws_body {
    my ($attrs, $rels) = @_;
    return {data => {type => 'workspaces', attributes => $attrs,
                     $rels ? (relationships => $rels) : ()}};
}
sub conn_rel { {'vcs-connection' => {data => defined $_[0]
    ? {type => 'vcs-connections', id => $_[0]} : undef}} }
sub create { call(POST => '/api/v2/organizations/default/workspaces',
                  token => $admin, body => ws_body(@_)) }
sub update { my $id = shift; call(PATCH => "/api/v2/workspaces/$id",
                                  token => $admin, body => ws_body(@_)) }
sub show { json_of(call(GET => "/api/v2/workspaces/$_[0]",
                        token => $_[1] // $admin))->{data} }
sub count_named { sql("SELECT count(*) FROM workspaces WHERE name = '$_[0]'") }

# ---- binding with the native attributes ----
my $r = create({name => 'vcs90-gh', 'vcs-repo-url' => $GH_URL,
                'vcs-branch' => 'main', 'working-directory' => 'envs/dev',
                'trigger-prefixes' => ['modules/'],
                'file-triggers-enabled' => JSON::PP::false,
                'speculative-enabled' => JSON::PP::false}, conn_rel($ghc));
is $r->code, 201, 'a workspace bound to a GitHub repository';
my $ws = json_of($r)->{data};
my $a = $ws->{attributes};
is $a->{'vcs-repo-url'}, $GH_URL, 'its repository URL';
is $a->{'vcs-branch'}, 'main', 'its branch';
is $a->{'working-directory'}, 'envs/dev', 'its working directory';
is_deeply $a->{'trigger-prefixes'}, ['modules/'], 'its trigger prefixes';
ok !$a->{'file-triggers-enabled'}, 'file triggers off as asked';
ok !$a->{'speculative-enabled'}, 'speculative plans off as asked';
ok $a->{'drift-detection-enabled'}, 'the connection turned drift detection on';
is $ws->{relationships}{'vcs-connection'}{data}{id}, $ghc, 'the connection';
is_deeply $a->{'vcs-repo'}, {
    identifier => 'acme/infra', 'display-identifier' => 'acme/infra',
    branch => 'main', 'repository-http-url' => $GH_URL,
    'service-provider' => 'github_enterprise', 'oauth-token-id' => $ghc,
    'github-app-installation-id' => $ghc,
    'ingress-submodules' => JSON::PP::false, 'tags-regex' => undef},
    "TFE's vcs-repo";
my $wsid = $ws->{id};
is sql("SELECT vcs_connection_id FROM workspaces WHERE id = '$wsid'"), $ghc,
   'stored';

$r = create({name => 'vcs90-nodrift', 'vcs-repo-url' => $GH_URL,
             'drift-detection-enabled' => JSON::PP::false}, conn_rel($ghc));
is $r->code, 201, 'bound with drift detection off';
ok !json_of($r)->{data}{attributes}{'drift-detection-enabled'},
   'drift detection stays as the request says';

# ---- refusals: nothing stored ----
$r = create({name => 'vcs90-bad'}, conn_rel('vcs-nosuch'));
is_error $r, 422, 'an unknown connection';
like error_detail($r), qr/VCS connection vcs-nosuch not found/, 'named';
$r = create({name => 'vcs90-bad', 'vcs-repo-url' => 'https://github.com/acme/infra'},
            conn_rel($ghc));
is_error $r, 422, "a repository on another host than the connection's";
like error_detail($r), qr/not a repository of VCS connection $ghc: it must be \Q@{[$gh->base]}\E\/OWNER\/NAME/,
     'says what it must be';
is create({name => 'vcs90-bad', 'vcs-repo-url' => "$GH_URL/extra"},
          conn_rel($ghc))->code, 422, 'a GitHub repository has one owner';
is create({name => 'vcs90-bad', 'vcs-repo-url' => $GH_URL},
          conn_rel($glc))->code, 422, "a URL of the GitHub host on the GitLab connection";
is_error create({name => 'vcs90-bad', 'vcs-repo' => {identifier => 'acme/infra'}}),
         422, 'an identifier without a connection';
is_error create({name => 'vcs90-bad', 'vcs-repo' => {identifier => 'acme/infra',
                 'oauth-token-id' => $ghc, 'github-app-installation-id' => $glc}}),
         422, 'two connections in vcs-repo';
is create({name => 'vcs90-bad', 'vcs-repo' => {identifier => 'acme/infra',
           'oauth-token-id' => $glc}}, conn_rel($ghc))->code, 422,
   'vcs-repo and the relationship naming different connections';
is create({name => 'vcs90-bad', 'vcs-repo' => 'acme/infra'})->code, 422,
   'a vcs-repo that is no object';
is create({name => 'vcs90-bad', 'vcs-repo' => {identifier => 'infra',
           'oauth-token-id' => $ghc}})->code, 422, 'an identifier without an owner';
is count_named('vcs90-bad'), 0, 'none of them was created';

$r = update($wsid, {'vcs-repo-url' => 'https://gitlab.com/acme/infra'});
is_error $r, 422, 'a PATCH to a URL of another host';
$r = update($wsid, {}, conn_rel('vcs-nosuch'));
is_error $r, 422, 'a PATCH to an unknown connection';
is sql("SELECT vcs_connection_id || ' ' || vcs_repo_url FROM workspaces"
       . " WHERE id = '$wsid'"), "$ghc $GH_URL", 'the workspace unchanged';
$r = update($wsid, {}, conn_rel($glc));
is $r->code, 422, 'moving to a connection of another host without a URL of it';
is update($wsid, {description => 'other settings'})->code, 200,
   'other settings change without the repository being checked again';

# ---- TFE's vcs-repo object ----
$r = create({name => 'vcs90-gl', 'vcs-repo' => {identifier => 'group/sub/infra',
             branch => 'feature/x', 'oauth-token-id' => $glc}});
is $r->code, 201, "bound with TFE's vcs-repo and oauth-token-id";
my $glws = json_of($r)->{data};
is $glws->{attributes}{'vcs-repo-url'}, $GL_URL,
   "the identifier became a URL on the connection's host";
is $glws->{attributes}{'vcs-branch'}, 'feature/x', 'the branch';
is $glws->{relationships}{'vcs-connection'}{data}{id}, $glc, 'the connection';
is $glws->{attributes}{'vcs-repo'}{'service-provider'}, 'gitlab_enterprise',
   'GitLab of its own server';
is $glws->{attributes}{'vcs-repo'}{identifier}, 'group/sub/infra',
   'the identifier with its subgroup';
is $glws->{attributes}{'vcs-repo'}{'github-app-installation-id'}, undef,
   'no App installation for GitLab';
my $plain = make_ws($admin, 'vcs90-plain');
$r = update($plain, {'vcs-repo' => {identifier => 'acme/infra', branch => '',
                                    'github-app-installation-id' => $ghc}});
is $r->code, 200, 'bound on update with github-app-installation-id';
is json_of($r)->{data}{attributes}{'vcs-repo-url'}, $GH_URL, 'to the repository';
ok json_of($r)->{data}{attributes}{'drift-detection-enabled'}, 'drift detection on';

# ---- unbinding ----
$r = update($plain, {}, conn_rel(undef));
is $r->code, 200, 'the connection cleared';
is json_of($r)->{data}{attributes}{'vcs-repo'}, undef, 'vcs-repo is null';
is json_of($r)->{data}{relationships}{'vcs-connection'}{data}, undef,
   'no connection';
$r = update($glws->{id}, {'vcs-repo' => undef});
is $r->code, 200, 'vcs-repo null';
is json_of($r)->{data}{attributes}{'vcs-repo'}, undef, 'unbound';
is json_of($r)->{data}{attributes}{'vcs-repo-url'}, '', 'the URL cleared too';
update($glws->{id}, {'vcs-repo' => {identifier => 'group/sub/infra',
                                     'oauth-token-id' => $glc}});

# ---- vcs-refs ----
sub refs { call(GET => "/api/terrapod/v1/workspaces/$_[0]/vcs-refs",
                token => $_[1] // $admin) }
my $EXPECTED = {
    branches => [{name => 'feature/x', sha => $feature},
                 {name => 'main', sha => $second}],
    tags => [{name => 'v1', sha => $first}, {name => 'v2', sha => $second}],
    'default-branch' => 'main'};
$r = refs($wsid);
is $r->code, 200, 'the refs of the GitHub repository';
is_deeply json_of($r), $EXPECTED,
          'branches, tags (the annotated one peeled) and the default branch';
$r = refs($glws->{id});
is $r->code, 200, 'the refs of the GitLab project';
is_deeply json_of($r), $EXPECTED, 'the same';
ok scalar(grep { $_->{path} =~ m{^/api/v4/projects/group%2Fsub%2Finfra/repository/tags} }
          $gl->received), 'asked of the project by its encoded path';

grant_ws_role($admin, $reader_email, 'vcs90-readers', 'read', 'vcs90-gh');
is refs($wsid, $reader)->code, 200, 'read on the workspace is enough';
is refs($wsid, $stranger)->code, 404, 'a workspace the caller cannot read: 404';
$r = refs($plain);
is_error $r, 422, 'a workspace not connected';
like error_detail($r), qr/not connected to a VCS repository/, 'says so';
is refs('ws-nosuch')->code, 404, 'no such workspace';

# a connection set but no repository: not connected either
my $nourl = json_of(create({name => 'vcs90-nourl'}, conn_rel($ghc)))->{data}{id};
is refs($nourl)->code, 422, 'a connection without a repository URL: 422';

# the provider failing
$gh->fail(qr{/repos/acme/infra/branches}, 500, 3);
$r = refs($wsid);
is_error $r, 502, 'a provider that keeps failing';
like error_detail($r), qr/answered 500: injected failure/,
     "with the provider's message";
my $conn = json_of(call(GET => "/api/terrapod/v1/vcs-connections/$ghc",
                        token => $admin))->{data}{attributes};
like $conn->{'last-error'}, qr/answered 500/, 'recorded on the connection';
is refs($wsid)->code, 200, 'it answers again';
like json_of(call(GET => "/api/terrapod/v1/vcs-connections/$ghc",
                  token => $admin))->{data}{attributes}{'last-success-at'},
     qr/^\d{4}-/, 'the success recorded';
open my $elog, '<', Apache::Test::vars('t_logs') . '/error_log' or die $!;
my $log = do { local $/; <$elog> };
like $log, qr/TP01950: VCS connection $ghc failed for acme\/infra: .*answered 500/,
     'the failure logged';

# the repository gone from the installation
$r = update($nourl, {'vcs-repo-url' => $gh->base . '/acme/gone'});
is $r->code, 200, 'bound to a repository the provider does not have';
$r = refs($nourl);
is $r->code, 502, 'the provider answers 404: 502';
like error_detail($r), qr/answered 404/, 'saying so';

# a disabled connection
is call(PATCH => "/api/terrapod/v1/vcs-connections/$glc", token => $admin,
        body => {data => {type => 'vcs-connections',
                          attributes => {status => 'disabled'}}})->code, 200,
   'the GitLab connection disabled';
my $before = $gl->count(qr/./);
$r = refs($glws->{id});
is_error $r, 422, 'the refs of a workspace whose connection is disabled';
like error_detail($r), qr/VCS connection $glc of workspace vcs90-gl is disabled/,
     'says so';
is $gl->count(qr/./), $before, 'the provider was not asked';

# ---- the connection deleted: the workspace is unbound ----
my $tmp = vcs_connection(\&call, $admin, name => 'gl-vcs90-tmp',
                         provider => 'gitlab', 'server-url' => $gl->base,
                         token => $gl_token);
my $tmpws = json_of(create({name => 'vcs90-tmp', 'vcs-repo-url' => $GL_URL},
                           conn_rel($tmp)))->{data}{id};
is call(DELETE => "/api/terrapod/v1/vcs-connections/$tmp",
        token => $admin)->code, 204, 'a connection deleted';
is show($tmpws)->{attributes}{'vcs-repo'}, undef,
   'the workspace bound to it is unbound';

# ---- credentials ----
my $tokens = join '|', map { quotemeta } keys %{ {map { $_ => 1 }
    map { $_->{headers}{authorization} =~ /(ghs_\w+)/ ? $1 : () }
    grep { $_->{headers}{authorization} } $gh->received} };
ok length $tokens, 'installation tokens were minted';
my $all = join "\n", @answers;
unlike $all, qr/BEGIN (RSA )?PRIVATE KEY/, 'no private key in any answer';
unlike $all, qr/\Q$gl_token\E/, 'no GitLab token in any answer';
unlike $all, qr/$tokens/, 'no installation token in any answer';
unlike $log, qr/$tokens|\Q$gl_token\E|PRIVATE KEY/, 'nor in the error log';
