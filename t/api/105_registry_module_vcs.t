# VCS-backed registry modules against a fake GitHub: a module following a
# repository publishes the tags its pattern matches as versions (the
# prefix before the star taken off; tags that are no semantic version
# passed over), with the interface, README, tag and commit of each, and
# impact runs on its linked workspaces; a tag that is no module is
# reported on the module while the others publish; a tag moved to another
# commit is reported, never published again; uploads are refused; the
# settings are checked.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::VCSFixture;
use TP::Listener;
use File::Temp ();

plan tests => 44;

my $admin = admin_token();
my $dir = File::Temp->newdir;
my $MODS = '/api/terrapod/v1/registry-modules';
my $PRIV = "$MODS/private/default";
my $V1 = '/api/v2/registry/modules/default';

my $repo = TP::VCSFixture::Repo->new("$dir/modules");
my $main = sub {
    my ($greeting) = @_;
    return qq{variable "name" {\n  description = "Who"\n  type = string\n}\n}
         . qq{output "greeting" {\n  value = "$greeting \${var.name}"\n}\n};
};
my $first = $repo->commit('First', 'main.tf' => $main->('hello'),
                          'README.md' => "# Greeter\n");
$repo->tag('v1.0.0', 'the first release');
$repo->tag('latest');                    # matches no v*
$repo->tag('v1');                        # v*, but no semantic version
my $second = $repo->commit('Second', 'main.tf' => $main->('hi'));
$repo->tag('v1.1.0');
$repo->tag('release-9.0.0');

my $f = fake_providers(dir => $dir, api => \&api, admin => $admin,
                       name => 'rm105', app_id => 10501,
                       github => {'acme/modules' => $repo->bare},
                       gitlab => {});
my ($gh, $ghc) = @$f{qw(gh github)};
my $url = $gh->base . '/acme/modules';

sub mod_body {
    my (%attrs) = @_;
    return {data => {type => 'registry-modules', attributes => \%attrs}};
}

sub versions {
    my ($name) = @_;
    my $r = api(GET => "$PRIV/$name/tf/versions", token => $admin);
    return join ',', map { $_->{attributes}{version} } @{ json_of($r)->{data} || [] };
}

# ---- the settings ----
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'greeter', provider => 'tf',
                              'vcs-repo-url' => $url)),
         422, 'a repository without a connection');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'greeter', provider => 'tf',
                              'vcs-connection-id' => 'vcs-none',
                              'vcs-repo-url' => $url)),
         422, 'an unknown connection');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'greeter', provider => 'tf',
                              'vcs-connection-id' => $ghc,
                              'vcs-repo-url' => 'https://elsewhere.example/acme/modules')),
         422, 'a repository of another host');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'greeter', provider => 'tf',
                              'vcs-connection-id' => $ghc)),
         422, 'a connection without a repository');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'greeter', provider => 'tf',
                              'vcs-connection-id' => $ghc, 'vcs-repo-url' => $url,
                              'vcs-tag-pattern' => '')),
         422, 'an empty tag pattern');
is sql("SELECT count(*) FROM registry_modules WHERE name = 'greeter'"), 0,
   'none of them stored';

# a workspace linked before the first tag is published
my ($pool) = make_pool($admin, 'rm105-pool');
my $ws = make_ws($admin, 'rm105-ws', 'execution-mode' => 'agent',
                 'agent-pool-id' => $pool);
make_cv($admin, $ws, 'auto-queue-runs' => JSON::PP::false);

my $r = api(POST => $MODS, token => $admin,
            body => mod_body(name => 'greeter', provider => 'tf',
                             'vcs-connection-id' => $ghc, 'vcs-repo-url' => $url));
is $r->code, 201, 'a module following a repository';
my $mod = json_of($r)->{data};
is_deeply [@{ $mod->{attributes}{'vcs-repo'} }{qw(vcs-connection-id repo-url tag-pattern)}],
          [$ghc, $url, 'v*'], 'its repository, with the default pattern';
ok !$mod->{attributes}{permissions}{'can-create-version'},
   'no versions are created by hand';
is api(POST => "$PRIV/greeter/tf/workspace-links", token => $admin,
       body => {data => {type => 'module-workspace-links',
                         attributes => {'workspace-id' => $ws}}})->code, 201,
   'a workspace linked';

ok wait_until(20, sub { versions('greeter') eq '1.1.0,1.0.0' }),
   'the tags matching v* become versions, the prefix taken off';
is versions('greeter'), '1.1.0,1.0.0', 'not latest, v1 or release-9.0.0';
$r = api(GET => "$PRIV/greeter/tf/versions/1.0.0", token => $admin);
my $v = json_of($r)->{data}{attributes};
is $v->{'vcs-tag'}, 'v1.0.0', 'the tag';
is $v->{'vcs-commit-sha'}, $first, 'its commit (the annotated tag peeled)';
is $v->{readme}, "# Greeter\n", 'the README of that commit';
is_deeply [map { $_->{name} } @{ $v->{inputs} }], ['name'], 'its interface';
is $v->{'created-by'}, undef, 'published by no one';
ok !defined $v->{'vcs-moved-to-sha'}, 'not moved';
$r = api(GET => "$PRIV/greeter/tf/versions/1.1.0", token => $admin);
is json_of($r)->{data}{attributes}{'vcs-commit-sha'}, $second,
   '1.1.0 at the second commit';
$r = api(GET => "$V1/greeter/tf/1.1.0/download", token => $admin);
is $r->code, 204, 'served to terraform';
$r = api(GET => $r->header('X-Terraform-Get'));
is $r->code, 200, 'its archive';
is sql("SELECT count(*) FROM runs WHERE workspace_id = '$ws'"
       . " AND plan_only AND message LIKE 'Module impact: default/greeter/tf %'"), 2,
   'an impact run for each version on the linked workspace';
$r = api(GET => "$PRIV/greeter/tf", token => $admin);
ok json_of($r)->{data}{attributes}{'vcs-repo'}{'checked-at'},
   'the module says when its repository was looked at';
is json_of($r)->{data}{attributes}{'vcs-repo'}{error}, undef, 'without error';

is_error(api(PUT => "$PRIV/greeter/tf/versions/3.0.0/upload", token => $admin,
             body => targz('main.tf' => "variable \"x\" {}\n"),
             headers => {'Content-Type' => 'application/octet-stream'}),
         409, 'uploads are refused');

# ---- a tag moved to another commit ----
my $third = $repo->commit('Third', 'main.tf' => $main->('hey'));
$repo->git('tag', '-f', 'v1.0.0');
$repo->push;
ok wait_until(20, sub {
    sql("SELECT coalesce(vcs_moved_to_sha, '') FROM registry_module_versions"
        . " WHERE version = '1.0.0' AND module_id = '$mod->{id}'") eq $third;
}), 'a moved tag is recorded with the commit it points at now';
$r = api(GET => "$PRIV/greeter/tf/versions/1.0.0", token => $admin);
$v = json_of($r)->{data}{attributes};
is $v->{'vcs-moved-to-sha'}, $third, 'the version reports it';
ok $v->{'vcs-moved-at'}, 'and when it was seen';
is $v->{'vcs-commit-sha'}, $first, 'but keeps its commit';
my @archives = glob "$ENV{TP_INSTANCE}/storage/registry/modules/$mod->{id}/*";
is scalar @archives, 2, 'and no second archive';
is sql("SELECT count(*) FROM runs WHERE workspace_id = '$ws'"
       . " AND message LIKE 'Module impact: default/greeter/tf 1.0.0%'"), 1,
   'and no new impact run';

# ---- a tag that is no module, a pattern of its own ----
$repo->commit('Broken', 'main.tf' => qq{variable "x" {\n  default = "open\n}\n});
$repo->tag('v2.0.0');
$repo->commit('Fixed', 'main.tf' => $main->('fixed'));
$repo->tag('v2.1.0');
ok wait_until(20, sub { versions('greeter') =~ /^2\.1\.0,/ }),
   'a tag after a broken one is published';
is versions('greeter'), '2.1.0,1.1.0,1.0.0', 'the broken tag is not';
$r = api(GET => "$PRIV/greeter/tf", token => $admin);
like json_of($r)->{data}{attributes}{'vcs-repo'}{error} // '',
     qr/tag v2\.0\.0: main\.tf: line 2: unterminated string/,
     'the module reports why';

$r = api(PATCH => "$PRIV/greeter/tf", token => $admin,
         body => mod_body('vcs-tag-pattern' => 'release-*'));
is $r->code, 200, 'another tag pattern';
ok wait_until(20, sub { versions('greeter') =~ /^9\.0\.0,/ }),
   'its tags are published too';
is_error(api(PATCH => "$PRIV/greeter/tf", token => $admin,
             body => mod_body('vcs-repo-url' => 'https://elsewhere.example/a/b')),
         422, 'a repository of another host, by update');
