# Projects through the real terraform binary: the cloud block's
# `workspaces { project = ... }` finds a project by name (filter[names]),
# creates it when it is missing, creates the workspace in it, and the tags
# strategy lists only the project's workspaces (filter[project][id]).
use strict;
use warnings FATAL => 'all';
use Test::More;
use TP::E2E;

# A cloud block whose workspaces are chosen by $mapping (HCL lines).
sub cloud_with {
    my ($mapping) = @_;
    my $host = instance()->{TERRAPOD_HOST};
    return <<"HCL";
terraform {
  cloud {
    hostname     = "$host"
    organization = "default"
    workspaces {
      $mapping
    }
  }
}
resource "terraform_data" "x" {
  input = "hello"
}
HCL
}

sub project_named {
    my ($name) = @_;
    my ($res, $doc) = api(GET => '/api/v2/organizations/default/projects'
                                 . "?filter%5Bnames%5D=$name");
    my @found = grep { $_->{attributes}{name} eq $name } @{ $doc->{data} || [] };
    return @found ? $found[0]{id} : undef;
}

sub project_of {
    my ($ws) = @_;
    my ($res, $doc) = api(GET => "/api/v2/organizations/default/workspaces/$ws");
    return $res->code == 200 ? $doc->{data}{relationships}{project}{data}{id}
                             : 'none:' . $res->code;
}

my ($res, $doc) = api(POST => '/api/v2/organizations/default/projects',
                      body => {data => {type => 'projects',
                                        attributes => {name => 'e2e-apps'}}});
is $res->code, 201, 'a project made through the API';
my $apps = $doc->{data}{id};

# a workspace created by init in an existing project
my $dir = workdir();
write_file("$dir/main.tf", cloud_with(qq{name    = "e2e-in-apps"\n      project = "e2e-apps"}));
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init with a project succeeds' or diag $out;
is project_of('e2e-in-apps'), $apps, 'the workspace is created in the project';
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'apply in it succeeds' or diag $out;

# a project terraform has to create first
$dir = workdir();
write_file("$dir/main.tf", cloud_with(qq{name    = "e2e-in-new"\n      project = "e2e-new"}));
($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init with a missing project succeeds' or diag $out;
my $new = project_named('e2e-new');
like $new // '', qr/^prj-/, 'terraform created the project';
is project_of('e2e-in-new'), $new, 'and the workspace in it';

# without a project: the default one
$dir = workdir();
write_file("$dir/main.tf", cloud_with(qq{name = "e2e-no-project"}));
($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init without a project succeeds' or diag $out;
is project_of('e2e-no-project'), project_named('Default Project'),
   'the workspace is in the default project';

# the tags strategy sees the project's workspaces only
for my $ws (['e2e-tag-in', $apps], ['e2e-tag-out', undef]) {
    my ($name, $project) = @$ws;
    my $rel = {tags => {data => [{type => 'tags',
                                  attributes => {name => 'e2e-prj'}}]}};
    $rel->{project}{data} = {type => 'projects', id => $project} if $project;
    ($res) = api(POST => '/api/v2/organizations/default/workspaces',
                 body => {data => {type => 'workspaces',
                                   attributes => {name => $name},
                                   relationships => $rel}});
    is $res->code, 201, "workspace $name tagged e2e-prj";
}
$dir = workdir();
write_file("$dir/main.tf", cloud_with(qq{tags    = ["e2e-prj"]\n      project = "e2e-apps"}));
($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init with tags and a project succeeds' or diag $out;
($rc, $out) = terraform($dir, 'workspace', 'list');
is $rc, 0, 'workspace list succeeds' or diag $out;
like $out, qr/\be2e-tag-in\b/, 'it lists the tagged workspace in the project';
unlike $out, qr/\be2e-tag-out\b/, 'but not the one in another project';

done_testing;
