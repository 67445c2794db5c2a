# TFE endpoints integrators call besides the CLI's: the organization list,
# account update, the older /vars paths, force-execute, a run's plan and
# apply under /runs, the pools under the organization, a workspace's
# resources from its current state, and the organization's tags.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Digest::MD5 qw(md5_hex);
use JSON::PP ();
use TP::Test;

plan tests => 64;

my $json = JSON::PP->new->canonical;
my $false = JSON::PP::false;
my $owner = user_token('endp-owner@test.local');
my $other = user_token('endp-other@test.local');
my $admin = admin_token();
my $owner_id = sql("SELECT id FROM users WHERE email = 'endp-owner\@test.local'");

sub get_doc {
    my ($path, $token) = @_;
    my $r = api(GET => $path, token => $token // $owner);
    return $r->code == 200 ? json_of($r) : {status => $r->code};
}

# ---- organizations ----
my $doc = get_doc('/api/v2/organizations');
is scalar @{ $doc->{data} }, 1, 'GET /organizations: a list of one';
is $doc->{data}[0]{attributes}{name}, 'default', 'the default organization';
is $doc->{meta}{pagination}{'total-count'}, 1, 'total-count 1';
is scalar @{ get_doc('/api/v2/organizations?page%5Bnumber%5D=2')->{data} }, 0,
   'page 2 is empty';

# ---- account update ----
my $r = api(PATCH => '/api/v2/account/update', token => $owner,
            body => {data => {type => 'users',
                              attributes => {username => 'Endpoint Owner'}}});
is $r->code, 200, 'PATCH /account/update: 200';
is json_of($r)->{data}{attributes}{'display-name'}, 'Endpoint Owner',
   'the new name is answered';
is sql("SELECT display_name FROM users WHERE id = '$owner_id'"), 'Endpoint Owner',
   'and stored';
is get_doc("/api/v2/users/$owner_id", $other)->{data}{attributes}{username},
   'Endpoint Owner', 'others see it as the username';
$r = api(PATCH => '/api/v2/account/update', token => $owner,
         body => {data => {attributes => {email => 'someone@else.local'}}});
is_error($r, 422, 'changing the email');
$r = api(PATCH => '/api/v2/account/update', token => $owner,
         body => {data => {attributes => {email => 'ENDP-OWNER@test.local'}}});
is $r->code, 200, 'the same email in another case is no change';
$doc = get_doc('/api/v2/account/details');
is $doc->{data}{attributes}{'is-site-admin'}, $false, 'is-site-admin';
is $doc->{data}{attributes}{'is-service-user'}, $false, 'is-service-user';
is $doc->{data}{attributes}{'v2-only'}, JSON::PP::true, 'v2-only';
ok exists $doc->{data}{attributes}{'avatar-url'}, 'avatar-url';
is get_doc('/api/v2/account/details', $admin)->{data}{attributes}{'is-site-admin'},
   JSON::PP::true, 'an admin is a site admin';

# ---- /vars ----
my $ws = make_ws($owner, 'endp-vars');
$r = api(POST => '/api/v2/vars', token => $owner,
         body => {data => {type => 'vars',
                           attributes => {key => 'region', value => 'eu',
                                          category => 'terraform'},
                           relationships => {workspace => {data => {
                               type => 'workspaces', id => $ws}}}}});
is $r->code, 201, 'POST /vars with a workspace relationship: 201';
my $var = json_of($r)->{data};
is $var->{relationships}{configurable}{data}{id}, $ws, 'the variable is the workspace\'s';
is scalar @{ get_doc("/api/v2/workspaces/$ws/vars")->{data} }, 1,
   'the workspace lists it';
$doc = get_doc('/api/v2/vars?filter%5Borganization%5D%5Bname%5D=default'
               . '&filter%5Bworkspace%5D%5Bname%5D=endp-vars');
is_deeply [map { $_->{attributes}{key} } @{ $doc->{data} }], ['region'],
          'GET /vars by organization and workspace name';
is get_doc('/api/v2/vars?filter%5Bworkspace%5D%5Bname%5D=endp-vars', $other)->{status},
   404, 'another user: 404';
is_error(api(GET => '/api/v2/vars', token => $owner), 422, 'no workspace filter');
is get_doc('/api/v2/vars?filter%5Borganization%5D%5Bname%5D=acme'
           . '&filter%5Bworkspace%5D%5Bname%5D=endp-vars')->{status}, 404,
   'another organization: 404';
$r = api(PATCH => "/api/v2/vars/$var->{id}", token => $owner,
         body => {data => {type => 'vars', attributes => {value => 'us'}}});
is $r->code, 200, 'PATCH /vars/{id}: 200';
is json_of($r)->{data}{attributes}{value}, 'us', 'the new value';
is api(PATCH => "/api/v2/vars/$var->{id}", token => $other,
       body => {data => {attributes => {value => 'x'}}})->code, 404,
   'another user cannot change it';
is api(DELETE => "/api/v2/vars/$var->{id}", token => $owner)->code, 204,
   'DELETE /vars/{id}: 204';
is scalar @{ get_doc("/api/v2/workspaces/$ws/vars")->{data} }, 0, 'it is gone';
$r = api(POST => '/api/v2/vars', token => $owner,
         body => {data => {attributes => {key => 'k', value => 'v',
                                          category => 'env'}}});
is_error($r, 422, 'POST /vars without a workspace');

# ---- force-execute ----
my $fws = make_ws($owner, 'endp-force');
make_cv($owner, $fws, 'auto-queue-runs' => $false);
sub queue_run {
    my $r = api(POST => '/api/v2/runs', token => $owner,
                body => {data => {relationships => {workspace => {data => {
                    id => $fws}}}}});
    return json_of($r)->{data}{id};
}
sub status_of { sql("SELECT status FROM runs WHERE id = '$_[0]'") }
my @runs = map { queue_run() } 1 .. 3;
is join(' ', map { status_of($_) } @runs), 'plan_queued pending pending',
   'three runs: one holds the workspace, two wait';
is_error(api(POST => "/api/v2/runs/$runs[0]/actions/force-execute",
             token => $owner, body => {}), 409, 'force-execute of a queued run');
is api(POST => "/api/v2/runs/$runs[2]/actions/force-execute", token => $other,
       body => {})->code, 404, 'force-execute by someone who cannot read it: 404';
is api(POST => "/api/v2/runs/$runs[2]/actions/force-execute", token => $owner,
       body => {})->code, 202, 'force-execute of the last: 202';
is join(' ', map { status_of($_) } @runs), 'canceled canceled plan_queued',
   'the runs ahead are canceled and it goes next';
is get_doc("/api/v2/workspaces/$fws")->{data}{relationships}{'current-run'}{data}{id},
   $runs[2], 'it is the current run';

# ---- a run's plan and apply under /runs ----
$doc = get_doc("/api/v2/runs/$runs[2]/plan");
is $doc->{data}{type}, 'plans', 'GET /runs/{id}/plan: the plan';
is $doc->{data}{id}, sql("SELECT plan_id FROM runs WHERE id = '$runs[2]'"),
   'of that run';
is get_doc("/api/v2/runs/$runs[2]/apply")->{data}{type}, 'applies',
   'GET /runs/{id}/apply: the apply';
is_error(api(GET => "/api/v2/runs/$runs[2]/plan/json-output", token => $owner),
         404, 'no JSON plan before the plan ran');

# ---- agent pools under the organization ----
$r = api(POST => '/api/terrapod/v1/agent-pools', token => $admin,
         body => {data => {type => 'agent-pools',
                           attributes => {name => 'endp-pool'}}});
my $pool = json_of($r)->{data}{id};
$doc = get_doc('/api/v2/organizations/default/agent-pools', $admin);
ok scalar(grep { $_->{id} eq $pool } @{ $doc->{data} }),
   'GET /organizations/{org}/agent-pools lists the pools';
is get_doc("/api/v2/agent-pools/$pool", $admin)->{data}{id}, $pool,
   'GET /agent-pools/{id}';

# ---- workspace resources ----
my $sws = make_ws($owner, 'endp-state');
is scalar @{ get_doc("/api/v2/workspaces/$sws/resources")->{data} }, 0,
   'no state: no resources';
api(POST => "/api/v2/workspaces/$sws/actions/lock", token => $owner, body => {});
my $state = $json->encode({version => 4, terraform_version => '1.11.4',
    serial => 1, lineage => 'endp', outputs => {}, resources => [
    {mode => 'managed', type => 'terraform_data', name => 'one',
     provider => 'provider["terraform.io/builtin/terraform"]',
     instances => [{attributes => {}}]},
    {module => 'module.net', mode => 'managed', type => 'null_resource',
     name => 'n', provider => 'provider["registry.terraform.io/hashicorp/null"]',
     instances => [{index_key => 0, attributes => {}},
                   {index_key => 'b', attributes => {}}]},
    {mode => 'data', type => 'external', name => 'd',
     provider => 'provider["registry.terraform.io/hashicorp/external"]',
     instances => [{attributes => {}}]}]});
$r = api(POST => "/api/v2/workspaces/$sws/state-versions", token => $owner,
         body => {data => {attributes => {serial => 1, md5 => md5_hex($state),
                                          lineage => 'endp'}}});
my $sv = json_of($r)->{data};
api(PUT => $sv->{attributes}{'hosted-state-upload-url'}, body => $state,
    headers => {'Content-Type' => 'application/octet-stream'});
$doc = get_doc("/api/v2/workspaces/$sws/resources");
is_deeply [map { $_->{attributes}{address} } @{ $doc->{data} }],
          ['terraform_data.one', 'module.net.null_resource.n[0]',
           'module.net.null_resource.n["b"]'],
          'GET /workspaces/{id}/resources: the managed instances';
my $res = $doc->{data}[1];
is $res->{type}, 'workspace-resources', 'type workspace-resources';
is $res->{attributes}{module}, 'module.net', 'module';
is $res->{attributes}{provider}, 'hashicorp/null', 'provider';
is $res->{attributes}{'provider-type'}, 'null_resource', 'provider-type';
is $res->{attributes}{'name-index'}, '0', 'name-index';
is $res->{attributes}{name}, 'n', 'name';
is $res->{attributes}{'modified-by-state-version-id'}, $sv->{id},
   'modified-by-state-version-id';
is $doc->{data}[0]{attributes}{module}, 'root', 'a root resource is in module root';
$doc = get_doc("/api/v2/workspaces/$sws/resources?page%5Bsize%5D=2&page%5Bnumber%5D=2");
is scalar @{ $doc->{data} }, 1, 'paginated';
is $doc->{meta}{pagination}{'total-count'}, 3, 'total-count';
is get_doc("/api/v2/workspaces/$sws/resources", $other)->{status}, 404,
   'another user: 404';

# ---- the organization's tags ----
my $t1 = make_ws($owner, 'endp-tags-1', labels => {'endp-app' => '', 'endp-db' => ''});
make_ws($owner, 'endp-tags-2', labels => {'endp-app' => '', env => 'prod'});
make_ws($other, 'endp-tags-3', labels => {'endp-app' => '', 'endp-secret' => ''});
$doc = get_doc('/api/v2/organizations/default/tags?q=endp-');
is_deeply {map { $_->{attributes}{name} => $_->{attributes}{'instance-count'} }
           @{ $doc->{data} }},
          {'endp-app' => 2, 'endp-db' => 1},
          'tags of the readable workspaces, with their counts';
is $doc->{data}[0]{type}, 'tags', 'type tags';
$doc = get_doc("/api/v2/organizations/default/tags?q=endp-&filter%5Bexclude%5D%5Btaggable%5D%5Bid%5D=$t1");
is scalar @{ $doc->{data} }, 0, 'filter[exclude][taggable][id] leaves out a workspace\'s own';
$doc = get_doc('/api/v2/organizations/default/tags?q=endp-', $admin);
is_deeply [map { $_->{attributes}{name} } @{ $doc->{data} }],
          [qw(endp-app endp-db endp-secret)], 'an admin sees every tag';

# relationships outside the described types carry links too
$r = api(POST => "/api/v2/workspaces/$ws/vars", token => $owner,
         body => {data => {type => 'vars', attributes => {
             key => 'linked', value => 'v', category => 'env'}}});
is json_of($r)->{data}{relationships}{configurable}{links}{related},
   "/api/v2/workspaces/$ws", 'a variable\'s configurable links.related';
is get_doc('/api/v2/organizations/default')->{data}{relationships}
       {'entitlement-set'}{links}{related},
   '/api/v2/organizations/default/entitlement-set',
   'the organization\'s entitlement-set links.related';
