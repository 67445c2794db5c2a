# Content for the screenshots of docs/ui.md (tools/ui-screenshots), on
# the instance TP_INSTANCE names: workspaces of a small platform team with
# labels, remote runs on the instance's listener through the real
# terraform CLI (applied, plan-only, errored), state versions, variables,
# a variable set, a lock, a custom role and a second person, version
# control connections (a GitHub App and a GitLab) with a workspace bound
# to a repository, an autodiscovery rule and a workspace it flagged, a
# drift check, a run trigger, a remote-state consumer and notification
# configurations, registry modules and a provider signed by a key of its
# own. Prints what the pages' addresses need as JSON.
use strict;
use warnings FATAL => 'all';
use JSON::PP ();
use TP::E2E;
use TP::ProviderRelease;

my $ORG_WS = '/api/v2/organizations/default/workspaces';

sub must {
    my ($want, $res, $what) = @_;
    die "$what: " . $res->code . ' ' . $res->content . "\n" unless $res->code == $want;
}

sub tf {
    my ($dir, @args) = @_;
    my ($rc, $out) = terraform($dir, @args, '-input=false');
    return $out;
}

sub set_attrs {
    my ($ws, %attrs) = @_;
    my ($res) = api(PATCH => "/api/v2/workspaces/$ws", body => {data => {
        type => 'workspaces', attributes => \%attrs}});
    must(200, $res, "update $ws");
}

sub add_var {
    my ($ws, %attrs) = @_;
    my ($res) = api(POST => "/api/v2/workspaces/$ws/vars", body => {data => {
        type => 'vars', attributes => {category => 'terraform', %attrs}}});
    must(201, $res, "variable $attrs{key}");
}

# A configuration of terraform_data resources (no provider to download).
sub config {
    my ($name, $round, @extra) = @_;
    my $body = <<"HCL";
variable "cidr_block" {
  type    = string
  default = "10.0.0.0/16"
}
resource "terraform_data" "vpc" {
  input = { cidr = var.cidr_block, round = $round }
}
resource "terraform_data" "subnet" {
  count = 3
  input = cidrsubnet(var.cidr_block, 8, count.index)
}
resource "terraform_data" "routes" {
  input = [for s in terraform_data.subnet : s.output]
}
output "vpc_cidr" {
  value = terraform_data.vpc.output.cidr
}
output "subnets" {
  value = terraform_data.routes.output
}
HCL
    return cloud_config(workspace => $name, body => join '', $body, @extra);
}

# A workspace whose runs go to the listener: made by terraform init, in
# agent mode with labels and variables, then applied $applies times.
sub remote_workspace {
    my ($name, $labels, $applies) = @_;
    my $dir = workdir();
    write_file("$dir/main.tf", config($name, 1));
    tf($dir, 'init');
    my ($ws, $code) = agent_workspace($name, labels => $labels,
                                      description => "Managed by the $labels->{team} team");
    die "agent mode for $name: $code\n" unless $code == 200;
    add_var($ws, key => 'cidr_block', value => '10.20.0.0/16',
            description => 'The address range of the network');
    add_var($ws, key => 'AWS_REGION', value => 'eu-west-1', category => 'env');
    add_var($ws, key => 'api_key', value => 'not-shown-anywhere', sensitive => JSON::PP::true(),
            description => 'Read by the monitoring hooks');
    for my $round (1 .. $applies) {
        write_file("$dir/main.tf", config($name, $round));
        my $out = tf($dir, 'apply', '-auto-approve');
        die "apply in $name: $out" unless $out =~ /Apply complete/;
    }
    return ($ws, $dir);
}

my %ids;
my ($net, $net_dir) = remote_workspace('network-prod', {env => 'prod', team => 'platform'}, 2);
# a plan-only run after the applies
write_file("$net_dir/main.tf", config('network-prod', 3));
tf($net_dir, 'plan');
my (undef, $runs) = api(GET => "/api/v2/workspaces/$net/runs");
# the first apply, which created everything (the list is newest first)
my ($applied) = reverse grep { $_->{attributes}{status} eq 'applied' } @{ $runs->{data} };
@ids{qw(workspace run)} = ('network-prod', $applied->{id});

my ($billing) = remote_workspace('billing-api-prod', {env => 'prod', team => 'payments'}, 1);
my (undef, $billing_dir) = remote_workspace('billing-api-staging',
                                            {env => 'staging', team => 'payments'}, 1);
# an errored run: a precondition that fails at plan time
write_file("$billing_dir/main.tf", config('billing-api-staging', 2, <<'HCL'));
resource "terraform_data" "guard" {
  lifecycle {
    precondition {
      condition     = var.cidr_block != "10.20.0.0/16"
      error_message = "Staging must not use the production address range."
    }
  }
}
HCL
tf($billing_dir, 'plan');

for my $w (['network-staging', {env => 'staging', team => 'platform'}],
           ['data-warehouse', {env => 'prod', team => 'data'}],
           ['dns', {team => 'platform'}],
           ['monitoring', {env => 'prod', team => 'sre'}],
           ['sandbox-dana', {team => 'payments', purpose => 'sandbox'}]) {
    my ($res) = api(POST => $ORG_WS, body => {data => {type => 'workspaces',
        attributes => {name => $w->[0], labels => $w->[1]}}});
    must(201, $res, "create $w->[0]");
}
my (undef, $dns) = api(GET => "$ORG_WS/dns");
my ($res) = api(POST => "/api/v2/workspaces/$dns->{data}{id}/actions/lock",
                body => {reason => 'Moving the zones to the new provider by hand'});
must(200, $res, 'lock dns');

# a variable set every workspace gets
my $set;
($res, $set) = api(POST => '/api/v2/organizations/default/varsets', body => {data => {
    type => 'varsets', attributes => {name => 'cloud-credentials', global => JSON::PP::true(),
        description => 'Credentials of the deployment account'}}});
must(201, $res, 'variable set');
for my $v (['AWS_ACCESS_KEY_ID', 'AKIAEXAMPLEEXAMPLE', 0],
           ['AWS_SECRET_ACCESS_KEY', 'not-shown-anywhere', 1]) {
    ($res) = api(POST => "/api/v2/varsets/$set->{data}{id}/relationships/vars", body => {data => {
        type => 'vars', attributes => {key => $v->[0], value => $v->[1], category => 'env',
            sensitive => $v->[2] ? JSON::PP::true() : JSON::PP::false()}}});
    must(201, $res, "variable set variable $v->[0]");
}

# a team's role and a person holding it
($res) = api(POST => '/api/terrapod/v1/roles', body => {data => {type => 'roles',
    attributes => {name => 'payments-developers', 'workspace-permission' => 'write',
                   'allow-labels' => {team => 'payments'},
                   description => 'Plan and apply the payments workspaces'}}});
must(201, $res, 'role');
admin_cmd('user', '--email', 'dana@example.com');
($res) = api(PUT => '/api/terrapod/v1/role-assignments', body => {data => {
    type => 'role-assignments', attributes => {'provider-name' => 'local',
        email => 'dana@example.com', roles => ['payments-developers']}}});
must(200, $res, 'role assignment');

# version control: a GitHub App (a key of its own) and a self-hosted GitLab
my $key = qx{openssl genrsa 2048 2>/dev/null};
my $vcs;
($res, $vcs) = api(POST => '/api/terrapod/v1/vcs-connections', body => {data => {
    type => 'vcs-connections', attributes => {name => 'github-acme', provider => 'github',
        'github-app-id' => 123456, 'github-installation-id' => 45678901,
        'github-account-login' => 'acme', 'github-account-type' => 'Organization',
        'private-key' => $key, 'webhook-secret' => 'screenshots-only'}}});
must(201, $res, 'GitHub connection');
$ids{vcs} = $vcs->{data}{id};
my $gitlab;
($res, $gitlab) = api(POST => '/api/terrapod/v1/vcs-connections', body => {data => {
    type => 'vcs-connections', attributes => {name => 'gitlab-internal', provider => 'gitlab',
        'server-url' => 'https://gitlab.example.com', token => 'glpat-screenshots-only'}}});
must(201, $res, 'GitLab connection');
my (undef, $staging) = api(GET => "$ORG_WS/network-staging");
($res) = api(PATCH => "/api/v2/workspaces/$staging->{data}{id}", body => {data => {
    type => 'workspaces', attributes => {'vcs-repo-url' => 'https://github.com/acme/network',
        'working-directory' => 'envs/staging', 'speculative-enabled' => JSON::PP::true()},
    relationships => {'vcs-connection' => {data => {type => 'vcs-connections', id => $ids{vcs}}}}}});
must(200, $res, 'bind network-staging');
my $rule;
($res, $rule) = api(POST => '/api/terrapod/v1/autodiscovery-rules', body => {data => {
    type => 'autodiscovery-rules', attributes => {name => 'accounts', 'vcs-connection-id' => $ids{vcs},
        'repo-url' => 'https://github.com/acme/accounts', pattern => 'accounts/*/*.tf',
        'ignore-patterns' => ['modules/**'], 'name-template' => 'acct-{dir}',
        labels => {'managed-by' => 'autodiscovery'}}}});
must(201, $res, 'autodiscovery rule');
$ids{rule} = $rule->{data}{id};
# what autodiscovery does to a workspace whose directory went away
my (undef, $sandbox) = api(GET => "$ORG_WS/sandbox-dana");
psql("UPDATE workspaces SET lifecycle_state = 'pending_deletion', lifecycle_reason = "
     . "'directory ''sandboxes/dana'' removed on ''main''' WHERE id = '$sandbox->{data}{id}'");

# the network checked for drift on the listener (nothing drifted), its
# applies triggering billing's runs, billing reading its outputs, and who
# is told of its runs
($res) = api(PATCH => "/api/v2/workspaces/$net", body => {data => {type => 'workspaces',
    attributes => {'drift-detection-enabled' => JSON::PP::true(),
                   'drift-ignore-rules' => ['terraform_data.routes.output']}}});
must(200, $res, 'drift detection on');
($res) = api(POST => "/api/terrapod/v1/workspaces/$net/actions/check-drift");
must(201, $res, 'check for drift');
wait_until(120, sub {
    my (undef, $w) = api(GET => "/api/v2/workspaces/$net");
    ($w->{data}{attributes}{'drift-status'} // '') ne '';
}) or die "no drift result\n";
($res) = api(POST => "/api/v2/workspaces/$billing/run-triggers", body => {data => {
    relationships => {sourceable => {data => {type => 'workspaces', id => $net}}}}});
must(201, $res, 'run trigger');
($res) = api(POST => "/api/v2/workspaces/$net/relationships/remote-state-consumers",
             body => {data => [{type => 'workspaces', id => $billing}]});
must(204, $res, 'remote-state consumer');
for my $nc ({name => 'platform-alerts', 'destination-type' => 'slack',
             url => 'https://hooks.slack.example/services/T000/B000/screenshots',
             triggers => ['run:needs_attention', 'run:errored', 'assessment:drifted']},
            {name => 'change-log', 'destination-type' => 'generic',
             url => 'https://changes.example.com/terrapod', token => 'not-shown-anywhere',
             triggers => ['run:completed']}) {
    ($res) = api(POST => "/api/v2/workspaces/$net/notification-configurations", body => {data => {
        type => 'notification-configurations', attributes => {%$nc, enabled => JSON::PP::true()}}});
    must(201, $res, "notification configuration $nc->{name}");
}

# the registry: a module of two versions linked to the network, and a
# provider published as a publisher does, with its key registered
($res) = api(POST => '/api/terrapod/v1/registry-modules', body => {data => {
    type => 'registry-modules', attributes => {name => 'network', provider => 'aws',
        'registry-name' => 'private', labels => {team => 'platform'}}}});
must(201, $res, 'registry module');
for my $v ('1.0.0', '1.1.0') {
    ($res) = api(PUT => "/api/terrapod/v1/registry-modules/private/default/network/aws/versions/$v/upload",
                 raw => targz('main.tf' => <<'HCL', 'README.md' => <<"MD"));
variable "cidr_block" {
  type        = string
  description = "The address range of the network"
}
variable "zones" {
  type        = number
  description = "Availability zones to spread the subnets over"
  default     = 3
}
output "vpc_id" {
  description = "The network's id"
  value       = "vpc-${var.cidr_block}"
}
HCL
# network

A VPC with one subnet per zone, as the platform team runs it ($v).
MD
    must(201, $res, "module version $v");
}
($res) = api(POST => '/api/terrapod/v1/registry-modules/private/default/network/aws/workspace-links',
             body => {data => {type => 'module-workspace-links',
                               attributes => {'workspace-id' => $net}}});
must(201, $res, 'workspace link');
my $signer = gpg_key('acme-releases');
($res) = api(POST => '/api/terrapod/v1/gpg-keys', body => {data => {type => 'gpg-keys',
    attributes => {namespace => 'default', 'ascii-armor' => $signer->{armor}}}});
must(201, $res, 'GPG key');
($res) = api(POST => '/api/terrapod/v1/registry-providers', body => {data => {
    type => 'registry-providers', attributes => {name => 'acme', namespace => 'default',
                                                 'registry-name' => 'private'}}});
must(201, $res, 'registry provider');
my %zips = map { ("terraform-provider-acme_2.4.0_$_.zip" => provider_zip('acme', '2.4.0')) }
           qw(linux_amd64 linux_arm64 darwin_arm64);
my $sums = shasums_of(%zips);
my $ver = '/api/terrapod/v1/registry-providers/private/default/acme/versions/2.4.0';
($res) = api(PUT => "$ver/shasums", raw => $sums);
must(201, $res, 'SHA256SUMS');
($res) = api(PUT => "$ver/shasums.sig", raw => sign($signer, $sums));
must(200, $res, 'its signature');
for my $file (sort keys %zips) {
    my ($platform) = $file =~ /_(\w+_\w+)\.zip$/;
    ($res) = api(PUT => "$ver/platforms/" . join('/', split /_/, $platform), raw => $zips{$file});
    must(201, $res, "platform $platform");
}

print JSON::PP->new->canonical->encode(\%ids), "\n";
