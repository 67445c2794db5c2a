# The private module registry over plain HTTP: creating modules (who may,
# what is checked, TFE's bodies and paths), registry RBAC through owners,
# custom roles and labels (invisible is 404, the self-lockout check),
# publishing versions by one streamed PUT (semantic versions, immutable,
# the tarball checks, the interface and README read from it, nothing left
# of a refused upload), the modules.v1 protocol terraform reads (versions,
# the download's signed archive URL served without a token), deleting
# versions and modules, and workspace links with their impact runs.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Find ();
use TP::Test;
use TP::Listener;

plan tests => 233;

my $MODS = '/api/terrapod/v1/registry-modules';
my $PRIV = "$MODS/private/default";
my $TFE = '/api/v2/organizations/default/registry-modules';
my $V1 = '/api/v2/registry/modules/default';
my $V1N = '/api/terrapod/v1/registry/modules/default';

sub mod_body {
    my (%attrs) = @_;
    return {data => {type => 'registry-modules', attributes => \%attrs}};
}

sub role {
    my ($admin, $name, $email, %attrs) = @_;
    my $r = api(POST => '/api/terrapod/v1/roles', token => $admin,
                body => {data => {type => 'roles',
                                  attributes => {name => $name, %attrs}}});
    die "role $name: " . $r->as_string unless $r->code == 201;
    $r = api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
             body => {data => {type => 'role-assignments',
                               attributes => {'provider-name' => 'local',
                                              email => $email,
                                              roles => [$name]}}});
    die "assign $name: " . $r->as_string unless $r->code == 200;
}

sub upload {
    my ($token, $name, $provider, $version, $body) = @_;
    return api(PUT => "$PRIV/$name/$provider/versions/$version/upload",
               token => $token, body => $body,
               headers => {'Content-Type' => 'application/octet-stream'});
}

sub versions_of {
    my ($r) = @_;
    my $doc = json_of($r) or return '';
    return join ',', map { $_->{version} } @{ $doc->{modules}[0]{versions} };
}

# the files under the module's storage directory
sub stored {
    my ($mod_id) = @_;
    my $dir = "$ENV{TP_INSTANCE}/storage/registry/modules/$mod_id";
    my @files;
    File::Find::find(sub { push @files, $_ if -f $_ }, $dir) if -d $dir;
    return scalar @files;
}

my $variables_tf = <<'HCL';
# The network's inputs.
variable "cidr" {
  type        = string
  description = "The \"main\" CIDR block"
  default     = "10.0.0.0/16"
}

variable "tags" {
  type = map(object({
    owner = string # who to ask
  }))
  description = <<-EOT
    Tags for every resource.
    Merged with the defaults.
  EOT
  validation {
    condition     = length(var.tags) < 50 && !contains(keys(var.tags), "}")
    error_message = "Too many tags: ${length(var.tags)} {"
  }
}

/* a block comment with variable "hidden" { } inside */
variable "password" {
  sensitive = true
}
HCL
my $outputs_tf = <<'HCL';
output "vpc_id" {
  description = "The VPC's id"
  value       = "vpc-${var.cidr}"
}
output "secret" { value = var.password
  sensitive = true }
HCL
my $readme = "# Network\n\nBuilds a network.\n";
my $module_tgz = targz('variables.tf' => $variables_tf,
                       'outputs.tf' => $outputs_tf,
                       'README.md' => $readme,
                       'modules/sub/main.tf' => qq{variable "inner" {}\n});

my $admin = admin_token();
my $plain = user_token('regmod-plain@test.local');
my $writer_email = 'regmod-writer@test.local';
my $writer = user_token($writer_email);
my $reader_email = 'regmod-reader@test.local';
my $reader = user_token($reader_email);
my $radm_email = 'regmod-radm@test.local';
my $radm = user_token($radm_email);
role($admin, 'regmod-writers', $writer_email, 'registry-permission' => 'write',
     'allow-labels' => {team => 'net'});
role($admin, 'regmod-readers', $reader_email, 'registry-permission' => 'read',
     'allow-labels' => {team => 'net'});
role($admin, 'regmod-admins', $radm_email, 'registry-permission' => 'admin',
     'allow-labels' => {team => 'net'});

# ---- creating ----
my $r = api(POST => $MODS, token => $admin,
            body => mod_body(name => 'network', provider => 'aws',
                             'registry-name' => 'private',
                             description => 'A network',
                             labels => {team => 'net'}));
is $r->code, 201, 'platform admin creates a module';
my $mod = json_of($r)->{data};
my $mod_id = $mod->{id};
like $mod_id, qr/^mod-/, 'module id';
is $mod->{type}, 'registry-modules', 'type registry-modules';
is $mod->{attributes}{name}, 'network', 'name';
is $mod->{attributes}{provider}, 'aws', 'provider';
is $mod->{attributes}{namespace}, 'default', 'namespace default';
is $mod->{attributes}{'registry-name'}, 'private', 'registry-name private';
is $mod->{attributes}{status}, 'pending', 'no version yet: pending';
is $mod->{attributes}{'owner-email'}, 'admin@test.local', 'the creator owns it';
is_deeply $mod->{attributes}{labels}, {team => 'net'}, 'labels stored';
is_deeply $mod->{attributes}{permissions},
          {'can-update' => JSON::PP::true, 'can-destroy' => JSON::PP::true,
           'can-create-version' => JSON::PP::true}, 'admin: every permission';
is $mod->{links}{self}, "$PRIV/network/aws", 'self link';

is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'network', provider => 'aws')),
         409, 'the same name and provider again');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => '-bad', provider => 'aws')),
         422, 'a name starting with a dash');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'ok', provider => 'AWS')),
         422, 'an upper-case provider');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(provider => 'aws')), 422, 'no name');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'ok', provider => 'aws',
                              'registry-name' => 'public')),
         422, 'registry-name public');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'ok', provider => 'aws',
                              namespace => 'other')),
         422, 'another namespace');
is_error(api(POST => $MODS, token => $admin,
             body => mod_body(name => 'ok', provider => 'aws',
                              labels => {status => 'x'})),
         422, 'a reserved label key');
is_error(api(POST => $MODS, token => $admin,
             body => {data => {type => 'workspaces',
                               attributes => {name => 'ok',
                                              provider => 'aws'}}}),
         409, 'the wrong type');
is sql("SELECT count(*) FROM registry_modules WHERE name = 'ok'"), 0,
   'no refused module was stored';

is_error(api(POST => $MODS, token => $plain,
             body => mod_body(name => 'mine', provider => 'aws')),
         403, 'no registry role: no module');
is_error(api(POST => $MODS, token => $writer,
             body => mod_body(name => 'mine', provider => 'aws')),
         403, 'a writer role whose labels are not on the module');
is_error(api(POST => $MODS, token => $reader,
             body => mod_body(name => 'mine', provider => 'aws',
                              labels => {team => 'net'})),
         403, 'a reader role cannot create');
$r = api(POST => $MODS, token => $writer,
         body => mod_body(name => 'dns', provider => 'aws',
                          labels => {team => 'net'}));
is $r->code, 201, 'a writer role creates a module its labels cover';
is json_of($r)->{data}{attributes}{'owner-email'}, $writer_email,
   'and owns it';

# ---- visibility ----
$r = api(GET => $MODS, token => $plain);
is $r->code, 200, 'list without registry roles';
is scalar @{ json_of($r)->{data} }, 0, 'sees no module';
is_error(api(GET => "$PRIV/network/aws", token => $plain), 404,
         'an invisible module');
$r = api(GET => $MODS, token => $reader);
is join(',', map { $_->{attributes}{name} } @{ json_of($r)->{data} }),
   'dns,network', 'a reader sees the modules its role covers';
is_deeply json_of($r)->{data}[1]{attributes}{permissions},
          {'can-update' => JSON::PP::false, 'can-destroy' => JSON::PP::false,
           'can-create-version' => JSON::PP::false},
          'a reader: no permissions';
$r = api(GET => "$MODS?q=dn", token => $admin);
is join(',', map { $_->{attributes}{name} } @{ json_of($r)->{data} }), 'dns',
   'q searches names';
is json_of($r)->{meta}{pagination}{'total-count'}, 1, 'paginated';
$r = api(GET => "$PRIV/network/aws", token => $writer);
is $r->code, 200, 'a writer shows the module';
is_deeply json_of($r)->{data}{attributes}{permissions},
          {'can-update' => JSON::PP::false, 'can-destroy' => JSON::PP::false,
           'can-create-version' => JSON::PP::true},
          'a writer: can create versions only';
is api(GET => "$PRIV/network/aws")->code, 401, 'no token: 401';

# ---- publishing ----
$r = upload($writer, 'network', 'aws', '1.0.0', $module_tgz);
is $r->code, 201, 'a writer publishes 1.0.0';
my $v = json_of($r)->{data};
is $v->{type}, 'registry-module-versions', 'a version';
is $v->{attributes}{version}, '1.0.0', 'its version';
is $v->{attributes}{'created-by'}, $writer_email, 'who published it';
is $v->{attributes}{size}, length $module_tgz, 'its size';
is $v->{attributes}{readme}, $readme, 'the README';
is_deeply $v->{attributes}{inputs}, [
    {name => 'cidr', type => 'string', description => 'The "main" CIDR block',
     required => JSON::PP::false, sensitive => JSON::PP::false},
    {name => 'tags', type => "map(object({\n    owner = string # who to ask\n  }))",
     description => "Tags for every resource.\nMerged with the defaults.",
     required => JSON::PP::true, sensitive => JSON::PP::false},
    {name => 'password', type => 'any', description => '',
     required => JSON::PP::true, sensitive => JSON::PP::true},
], 'the inputs of the root module, from the scanner';
is_deeply $v->{attributes}{outputs}, [
    {name => 'vpc_id', description => "The VPC's id",
     sensitive => JSON::PP::false},
    {name => 'secret', description => '', sensitive => JSON::PP::true},
], 'the outputs';
is_deeply json_of($r)->{meta}{'impact-runs'}, [], 'no linked workspace';
is stored($mod_id), 1, 'one archive stored';

is_error(upload($writer, 'network', 'aws', '1.0.0', $module_tgz), 409,
         'the same version again');
is_error(upload($writer, 'network', 'aws', '1.0', $module_tgz), 422,
         'not a semantic version');
is_error(upload($writer, 'network', 'aws', '01.0.0', $module_tgz), 422,
         'a leading zero');
is_error(upload($writer, 'network', 'aws', '1.0.0+build', $module_tgz), 422,
         'build metadata');
is_error(upload($writer, 'network', 'aws', '2.0.0', 'not a tarball'), 422,
         'not a gzip tarball');
my $bad_hcl = targz('main.tf' => qq{variable "x" {\n  default = "open\n}\n});
$r = upload($writer, 'network', 'aws', '2.0.0', $bad_hcl);
is_error($r, 422, 'a .tf file that is no HCL');
like error_detail($r), qr/^main\.tf: line 2: unterminated string/,
     'the detail names the file and line';
is_error(upload($writer, 'network', 'aws', '2.0.0',
                targz('../escape.tf' => "x")), 422, 'a path escaping the root');
is_error(upload($reader, 'network', 'aws', '2.0.0', $module_tgz), 403,
         'a reader cannot publish');
is_error(upload($plain, 'network', 'aws', '2.0.0', $module_tgz), 404,
         'nor can someone who cannot see it');
is sql("SELECT count(*) FROM registry_module_versions"
       . " WHERE module_id = '$mod_id'"), 1, 'no refused version was stored';
is stored($mod_id), 1, 'nor its archive';

for my $version ('1.10.0', '1.0.0-rc.10', '1.1.0', '1.0.0-rc.9') {
    is upload($writer, 'network', 'aws', $version, $module_tgz)->code, 201,
       "publishes $version";
}

# ---- modules.v1 ----
$r = api(GET => "$V1/network/aws/versions", token => $reader);
is $r->code, 200, 'modules.v1 versions';
is versions_of($r), '1.10.0,1.1.0,1.0.0,1.0.0-rc.10,1.0.0-rc.9',
   'newest first, releases above their pre-releases';
is json_of($r)->{modules}[0]{source}, 'default/network/aws', 'the source';
$r = api(GET => "$V1N/network/aws/versions/", token => $reader);
is versions_of($r), '1.10.0,1.1.0,1.0.0,1.0.0-rc.10,1.0.0-rc.9',
   'the same under the native prefix, with a trailing slash';
is api(GET => "$V1/network/aws/versions")->code, 401, 'no token: 401';
is_error(api(GET => "$V1/network/aws/versions", token => $plain), 404,
         'invisible: 404, as terraform reads "not found"');
is_error(api(GET => '/api/v2/registry/modules/other/network/aws/versions',
             token => $admin), 404, 'another namespace');
is_error(api(GET => "$V1/nothing/aws/versions", token => $admin), 404,
         'an unknown module');

$r = api(GET => "$V1/network/aws/1.0.0/download", token => $reader);
is $r->code, 204, 'download: 204';
my $get = $r->header('X-Terraform-Get') // '';
like $get, qr{^http://[^/]+/api/terrapod/v1/registry-archives/modules/modver-[^/]+/\d+\.[A-Za-z0-9_-]+/module\.tar\.gz$},
     'X-Terraform-Get: an absolute signed URL ending in .tar.gz';
$r = api(GET => $get);
is $r->code, 200, 'the archive without a token';
ok $r->content eq $module_tgz, 'the bytes published';
(my $forged = $get) =~ s{/(\d+)\.([A-Za-z0-9_-]+)/}{/$1.AAAA$2/};
is_error(api(GET => $forged), 401, 'a forged signature');
(my $other = $get) =~ s{modver-[^/]+}{modver-0000};
is_error(api(GET => $other), 401, 'the signature of another version');
$r = api(GET => "$V1N/network/aws/1.0.0-rc.10/download", token => $reader);
is $r->code, 204, 'download of a pre-release under the native prefix';
is_error(api(GET => "$V1/network/aws/9.9.9/download", token => $reader), 404,
         'an unknown version');
is_error(api(GET => "$V1/network/aws/1.0.0/download", token => $plain), 404,
         'invisible module: no download');

# ---- versions in the management API ----
$r = api(GET => "$PRIV/network/aws/versions", token => $reader);
is $r->code, 200, 'versions list';
is join(',', map { $_->{attributes}{version} } @{ json_of($r)->{data} }),
   '1.10.0,1.1.0,1.0.0,1.0.0-rc.10,1.0.0-rc.9', 'in precedence order';
ok !json_of($r)->{data}[0]{attributes}{permissions}{'can-destroy'},
   'a reader may not delete versions';
$r = api(GET => "$PRIV/network/aws/versions", token => $radm);
ok json_of($r)->{data}[0]{attributes}{permissions}{'can-destroy'},
   'a registry admin may';
$r = api(GET => "$PRIV/network/aws/versions/1.0.0", token => $reader);
is $r->code, 200, 'one version';
is $r->code == 200 && json_of($r)->{data}{attributes}{readme}, $readme,
   'with its README';
$r = api(GET => "$PRIV/network/aws", token => $reader);
is json_of($r)->{data}{attributes}{status}, 'setup_complete',
   'a module with versions: setup_complete';
is join(',', map { $_->{version} }
        @{ json_of($r)->{data}{attributes}{'version-statuses'} }),
   '1.10.0,1.1.0,1.0.0,1.0.0-rc.10,1.0.0-rc.9', 'its version-statuses';

is_error(api(DELETE => "$PRIV/network/aws/versions/1.0.0-rc.9",
             token => $writer), 403, 'a writer cannot delete versions');
$r = api(DELETE => "$PRIV/network/aws/versions/1.0.0", token => $radm);
is $r->code, 204, 'a registry admin deletes 1.0.0';
is versions_of(api(GET => "$V1/network/aws/versions", token => $reader)),
   '1.10.0,1.1.0,1.0.0-rc.10,1.0.0-rc.9', 'gone from modules.v1';
is_error(api(GET => $get), 404, 'its signed archive URL answers 404');
is stored($mod_id), 4, 'its archive removed';
is_error(api(DELETE => "$PRIV/network/aws/versions/1.0.0", token => $radm),
         404, 'deleting it again');
is upload($writer, 'network', 'aws', '1.0.0', $module_tgz)->code, 201,
   'a deleted version can be published again';

# ---- updating, and the self-lockout check ----
$r = api(PATCH => "$PRIV/network/aws", token => $radm,
         body => mod_body(description => 'The network'));
is $r->code, 200, 'a registry admin updates the description';
is json_of($r)->{data}{attributes}{description}, 'The network',
   'description changed';
is_error(api(PATCH => "$PRIV/network/aws", token => $writer,
             body => mod_body(description => 'x')), 403,
         'a writer cannot update');
is_error(api(PATCH => "$PRIV/network/aws", token => $radm,
             body => mod_body(name => 'renamed')), 422,
         'the name cannot change');
$r = api(PATCH => "$PRIV/network/aws", token => $radm,
         body => mod_body(labels => {team => 'other'}));
is_error($r, 409, 'a label change locking the caller out');
like error_detail($r), qr/from admin to none.*force/,
     'says what would change and how to confirm';
is sql("SELECT labels->>'team' FROM registry_modules WHERE id = '$mod_id'"),
   'net', 'labels unchanged';
$r = api(PATCH => "$PRIV/network/aws", token => $admin,
         body => mod_body(labels => {team => 'net', tier => 'core'}));
is $r->code, 200, 'a platform admin never trips it';
$r = api(PATCH => "$PRIV/network/aws", token => $radm,
         body => mod_body(labels => {team => 'other'}, force => JSON::PP::true));
is $r->code, 200, 'confirmed with force';
is_error(api(GET => "$PRIV/network/aws", token => $radm), 404,
         'the caller no longer sees it');
$r = api(PATCH => "$PRIV/network/aws", token => $admin,
         body => mod_body(labels => {team => 'net'}));
is $r->code, 200, 'labels given back';

# ---- workspace links and impact runs ----
my ($pool, $join) = make_pool($admin, 'regmod-pool');
my $listener = join_as($join, 'regmod-listener');
my %agent = ('execution-mode' => 'agent', 'agent-pool-id' => $pool);
my $ws = make_ws($admin, 'regmod-ws', %agent);
make_cv($admin, $ws, 'auto-queue-runs' => JSON::PP::false);
my $bare_ws = make_ws($admin, 'regmod-bare', %agent);
my $local_ws = make_ws($admin, 'regmod-local');
make_cv($admin, $local_ws, 'auto-queue-runs' => JSON::PP::false);
my $links = "$PRIV/network/aws/workspace-links";
sub link_body {
    return {data => {type => 'module-workspace-links',
                     attributes => {'workspace-id' => shift}}};
}
is_error(api(POST => $links, token => $writer, body => link_body($ws)), 403,
         'a writer cannot link');
is_error(api(POST => $links, token => $radm, body => link_body($ws)), 404,
         'a module admin cannot link a workspace it cannot see');
is_error(api(POST => $links, token => $admin, body => link_body('ws-none')),
         404, 'an unknown workspace');
is_error(api(POST => $links, token => $admin, body => link_body(undef)), 422,
         'no workspace-id');
$r = api(POST => $links, token => $admin, body => link_body($ws));
is $r->code, 201, 'a workspace linked';
my $link = json_of($r)->{data};
is $link->{type}, 'module-workspace-links', 'a link';
is $link->{attributes}{'workspace-name'}, 'regmod-ws', 'naming its workspace';
is $link->{relationships}{workspace}{data}{id}, $ws, 'related to it';
ok $link->{attributes}{permissions}{'can-destroy'}, 'which its creator may remove';
is_error(api(POST => $links, token => $admin, body => link_body($ws)), 409,
         'linked twice');
is api(POST => $links, token => $admin, body => link_body($bare_ws))->code,
   201, 'a workspace without configuration linked';
is api(POST => $links, token => $admin, body => link_body($local_ws))->code,
   201, 'a workspace that runs terraform locally linked';
$r = api(GET => $links, token => $reader);
is $r->code, 200, 'a reader lists links';
is scalar @{ json_of($r)->{data} }, 0,
   'but not those of workspaces it cannot read';
$r = api(GET => $links, token => $admin);
is join(',', map { $_->{attributes}{'workspace-name'} }
        @{ json_of($r)->{data} }), 'regmod-bare,regmod-local,regmod-ws',
   'the admin sees them all';

my $runs_before = sql("SELECT count(*) FROM runs WHERE workspace_id = '$ws'");
$r = upload($writer, 'network', 'aws', '2.0.0', $module_tgz);
is $r->code, 201, 'publishing 2.0.0 with linked workspaces';
my %impact = map { $_->{'workspace-id'} => $_ }
             @{ json_of($r)->{meta}{'impact-runs'} };
my $run_id = $impact{$ws}{'run-id'} // '';
like $run_id, qr/^run-/, 'an impact run on the linked workspace';
like $impact{$bare_ws}{error} // '', qr/configuration/,
     'the workspace without configuration: why there is none';
like $impact{$local_ws}{error} // '', qr/locally/,
     'the workspace that runs terraform locally: why there is none';
is sql("SELECT count(*) FROM runs WHERE workspace_id = '$ws'"),
   $runs_before + 1, 'one run more';
is sql("SELECT plan_only::text || ' ' || message FROM runs"
       . " WHERE id = '$run_id'"),
   'true Module impact: default/network/aws 2.0.0 published',
   'plan-only, saying why';
is sql("SELECT count(*) FROM runs WHERE workspace_id IN ('$bare_ws',"
       . " '$local_ws')"), 0, 'none on the others';

# ---- the runner token of a run reads modules.v1 as the person it runs for ----
is api(POST => $MODS, token => $admin,
       body => mod_body(name => 'hidden', provider => 'aws'))->code, 201,
   'a module without labels';
is json_of(as_l($listener, GET => '/runs/next?wait=5'))->{data}{'run-id'},
   $run_id, 'the impact run is planning on the listener';
my $runtok = json_of(as_l($listener, POST => "/runs/$run_id/runner-token",
                          body => {}))->{token};
sub as_run { api(GET => shift, headers => {Authorization => "Bearer $runtok"}) }
is versions_of(as_run("$V1/network/aws/versions")), '2.0.0,1.10.0,1.1.0,1.0.0,1.0.0-rc.10,1.0.0-rc.9',
   'the impact run (the server\'s) reads as the workspace\'s owner, the admin';
is as_run("$V1N/network/aws/2.0.0/download")->code, 204, 'and downloads';
is as_run("$V1/hidden/aws/versions")->code, 200, 'the admin reads every module';
is_error(as_run('/api/terrapod/v1/registry/providers/default/no-such/versions'), 404,
         'providers.v1 takes the token too: no such provider, not 401');
sql("UPDATE workspaces SET owner_email = '$reader_email' WHERE id = '$ws'");
is as_run("$V1/network/aws/versions")->code, 200,
   'owned by the reader: the module its role covers';
is_error(as_run("$V1/hidden/aws/versions"), 404, 'but not the other');
is_error(as_run("$PRIV/network/aws"), 401,
         'the management API does not take the token');
is as_l($listener, PATCH => "/runs/$run_id",
        body => {status => 'planned', 'has-changes' => JSON::PP::false})->code,
   200, 'the run ends';
is_error(as_run("$V1/network/aws/versions"), 401,
         'its token reads no module any more');
is_error(as_run('/api/terrapod/v1/registry/providers/default/no-such/versions'), 401,
         'and no provider');
sql("UPDATE workspaces SET owner_email = 'admin\@test.local' WHERE id = '$ws'");

is_error(api(DELETE => "$links/$link->{id}", token => $writer), 403,
         'a writer cannot unlink');
is api(DELETE => "$links/$link->{id}", token => $admin)->code, 204,
   'unlinked';
is_error(api(DELETE => "$links/$link->{id}", token => $admin), 404,
         'unlinked twice');
$r = upload($writer, 'network', 'aws', '2.1.0', $module_tgz);
ok !grep({ $_->{'workspace-id'} eq $ws }
         @{ json_of($r)->{meta}{'impact-runs'} }),
   'no impact run once unlinked';

# ---- TFE's paths and bodies ----
$r = api(POST => $TFE, token => $admin,
         body => {data => {type => 'registry-modules',
                           attributes => {name => 'tfe-mod', provider => 'gcp',
                                          'registry-name' => 'private'}}});
is $r->code, 201, 'TFE: create';
is json_of($r)->{data}{attributes}{name}, 'tfe-mod', 'TFE: its name';
is api(POST => '/api/v2/organizations/other/registry-modules', token => $admin,
       body => mod_body(name => 'x', provider => 'aws'))->code, 404,
   'TFE: another organization';
$r = api(GET => "$TFE/private/default/tfe-mod/gcp", token => $admin);
is $r->code, 200, 'TFE: show';
is json_of($r)->{data}{attributes}{'registry-name'}, 'private',
   'TFE: registry-name';
$r = api(GET => $TFE, token => $reader);
is join(',', map { $_->{attributes}{name} } @{ json_of($r)->{data} }),
   'dns,network', 'TFE: list under registry RBAC';
$r = api(PATCH => "$TFE/private/default/tfe-mod/gcp", token => $admin,
         body => mod_body(description => 'from TFE'));
is $r->code, 200, 'TFE: update';
is upload($admin, 'tfe-mod', 'gcp', '0.1.0', $module_tgz)->code, 201,
   'a version of it';
sub tfe_version {
    my ($token, $version) = @_;
    return api(POST => "$TFE/private/default/tfe-mod/gcp/versions",
               token => $token,
               body => {data => {type => 'registry-module-versions',
                                 attributes => {version => $version}}});
}
$r = tfe_version($admin, '0.2.0');
is $r->code, 201, 'TFE: create a version';
my $tv = json_of($r)->{data};
is $tv->{attributes}{status}, 'pending', 'TFE: pending until uploaded';
like $tv->{id}, qr/^modver-/, 'TFE: the id it will have';
my $upload_link = $tv->{links}{upload} // '';
like $upload_link, qr{^http://[^/]+/api/terrapod/v1/registry-module-uploads/[^/]+/\d+\.[A-Za-z0-9_-]+$},
     'TFE: a signed upload link';
is sql("SELECT count(*) FROM registry_module_versions WHERE version = '0.2.0'"),
   0, 'TFE: nothing stored before the upload';
(my $forged_link = $upload_link) =~ s{/(\d+)\.([A-Za-z0-9_-]+)$}{/$1.AAAA$2};
is_error(api(PUT => $forged_link, body => $module_tgz), 401,
         'TFE: a forged upload link');
$r = api(PUT => $upload_link, body => $module_tgz,
         headers => {'Content-Type' => 'application/octet-stream'});
is $r->code, 201, 'TFE: the upload link takes the tarball without a token';
is json_of($r)->{data}{id}, $tv->{id}, 'TFE: the version has the id announced';
is sql("SELECT created_by FROM registry_module_versions WHERE id = '$tv->{id}'"),
   'admin@test.local', 'TFE: published by who asked for the link';
is_error(api(PUT => $upload_link, body => $module_tgz), 409,
         'TFE: the upload link used twice');
is_error(tfe_version($admin, '0.2.0'), 409, 'TFE: a version that exists');
is_error(tfe_version($admin, 'latest'), 422, 'TFE: not a semantic version');
is_error(api(POST => "$TFE/private/default/tfe-mod/gcp/versions", token => $admin,
             body => {data => {type => 'registry-module-versions',
                               attributes => {}}}), 422, 'TFE: no version');
is_error(tfe_version($reader, '0.3.0'), 404,
         'TFE: a version of a module the caller cannot see');
is api(DELETE => "$TFE/private/default/tfe-mod/gcp/0.1.0", token => $admin)
   ->code, 204, 'TFE: delete a version';
my $tfe_id = sql("SELECT id FROM registry_modules WHERE name = 'tfe-mod'");
is sql("SELECT string_agg(version, ',') FROM registry_module_versions"
       . " WHERE module_id = '$tfe_id'"), '0.2.0', 'the version is gone';
is api(DELETE => "$TFE/private/default/tfe-mod/gcp", token => $admin)->code,
   204, 'TFE: delete the module';
is_error(api(GET => "$TFE/private/default/tfe-mod/gcp", token => $admin),
         404, 'TFE: gone');

# ---- deleting a module ----
is_error(api(DELETE => "$PRIV/network/aws", token => $writer), 403,
         'a writer cannot delete the module');
is api(DELETE => "$PRIV/hidden/aws", token => $admin)->code, 204,
   'the module without labels deleted';
is api(DELETE => "$PRIV/dns/aws", token => $writer)->code, 204,
   'its owner deletes a module';
$r = api(DELETE => "$PRIV/network/aws", token => $radm);
is $r->code, 204, 'a registry admin deletes the module';
is sql("SELECT count(*) FROM registry_module_versions"
       . " WHERE module_id = '$mod_id'"), 0, 'its versions went with it';
is sql("SELECT count(*) FROM registry_module_links"
       . " WHERE module_id = '$mod_id'"), 0, 'and its links';
is stored($mod_id), 0, 'and its archives';
is_error(api(GET => "$V1/network/aws/versions", token => $admin), 404,
         'modules.v1 no longer knows it');
