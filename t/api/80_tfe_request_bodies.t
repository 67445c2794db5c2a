# Request bodies as TFE clients other than the CLI send them: the singular
# form of data.type or none at all, and attribute and relationship names
# in snake_case or camelCase (cdktf's npm client), read as their
# kebab-case names; anything else is still refused.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Digest::MD5 qw(md5_hex);
use JSON::PP ();
use TP::Test;

plan tests => 24;

my $true = JSON::PP::true;
my $false = JSON::PP::false;
my $owner = user_token('bodies-owner@test.local');
my $ws = make_ws($owner, 'bodies-ws');

sub runs_of { sql("SELECT count(*) FROM runs WHERE workspace_id = '$ws'") }

# a configuration version of type "configuration-version", autoQueueRuns
my $r = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
            token => $owner,
            body => {data => {type => 'configuration-version',
                              attributes => {autoQueueRuns => $false,
                                             speculative => $false}}});
is $r->code, 201, 'singular configuration-version type: 201';
my $cv = json_of($r)->{data};
is $cv->{attributes}{'auto-queue-runs'}, $false, 'autoQueueRuns false is read';
$r = api(PUT => $cv->{attributes}{'upload-url'},
         body => targz('main.tf' => qq{resource "terraform_data" "x" {}\n}),
         headers => {'Content-Type' => 'application/octet-stream'});
is $r->code, 200, 'the upload is taken';
is runs_of(), 0, 'and no run was queued by it';

# a run of no type at all, isDestroy and configurationVersion
$r = api(POST => '/api/v2/runs', token => $owner,
         body => {data => {attributes => {isDestroy => $true,
                                          message => 'cdktf destroy'},
                           relationships => {
                               workspace => {data => {id => $ws}},
                               configurationVersion => {data => {
                                   id => $cv->{id}}}}}});
is $r->code, 201, 'a run without a type: 201';
my $run = json_of($r)->{data};
is $run->{attributes}{'is-destroy'}, $true, 'isDestroy true is read';
is $run->{relationships}{'configuration-version'}{data}{id}, $cv->{id},
   'configurationVersion names the configuration version';
api(POST => "/api/v2/runs/$run->{id}/actions/discard", token => $owner,
    body => {});

# snake_case; the kebab-case spelling wins when both are sent
$r = api(POST => '/api/v2/runs', token => $owner,
         body => {data => {type => 'run',
                           attributes => {plan_only => $true,
                                          'is-destroy' => $false,
                                          isDestroy => $true},
                           relationships => {
                               workspace => {data => {type => 'workspace',
                                                      id => $ws}}}}});
is $r->code, 201, 'a run of type "run": 201';
$run = json_of($r)->{data};
is $run->{attributes}{'plan-only'}, $true, 'plan_only true is read';
is $run->{attributes}{'is-destroy'}, $false, 'is-destroy wins over isDestroy';

# a state version of type "state-version"
my $sws = make_ws($owner, 'bodies-state');
api(POST => "/api/v2/workspaces/$sws/actions/lock", token => $owner,
    body => {});
my $state = JSON::PP->new->canonical->encode({
    version => 4, terraform_version => '1.11.4', serial => 1,
    lineage => 'bodies-lineage', outputs => {}, resources => []});
$r = api(POST => "/api/v2/workspaces/$sws/state-versions", token => $owner,
         body => {data => {type => 'state-version',
                           attributes => {serial => 1, md5 => md5_hex($state),
                                          lineage => 'bodies-lineage'}}});
is $r->code, 201, 'singular state-version type: 201';
is json_of($r)->{data}{attributes}{serial}, 1, 'with its serial';

# a workspace of camelCase attributes
$r = api(POST => '/api/v2/organizations/default/workspaces', token => $owner,
         body => {data => {type => 'workspace',
                           attributes => {name => 'bodies-camel',
                                          autoApply => $true,
                                          executionMode => 'agent',
                                          working_directory => 'infra'}}});
is $r->code, 201, 'a workspace of type "workspace": 201';
my $a = json_of($r)->{data}{attributes};
is $a->{'auto-apply'}, $true, 'autoApply is read';
is $a->{'execution-mode'}, 'agent', 'executionMode is read';
is $a->{'working-directory'}, 'infra', 'working_directory is read';

# labels keep the keys they were given
$r = api(PATCH => '/api/v2/organizations/default/workspaces/bodies-camel',
         token => $owner,
         body => {data => {attributes => {labels => {teamName => 'a',
                                                     cost_center => 'b'}}}});
is $r->code, 200, 'labels update: 200';
is_deeply json_of($r)->{data}{attributes}{labels},
          {teamName => 'a', cost_center => 'b'}, 'label keys are kept as sent';

# what is neither the type nor its singular is refused, and nothing made
$r = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
         token => $owner,
         body => {data => {type => 'configuration', attributes => {}}});
is_error($r, 409, 'type "configuration"');
like error_detail($r), qr/data\.type must be "configuration-versions"/,
     'the error names the type expected';
$r = api(POST => '/api/v2/organizations/default/workspaces', token => $owner,
         body => {data => {type => 'workspacess',
                           attributes => {name => 'bodies-wrong'}}});
is_error($r, 409, 'type "workspacess"');
is sql("SELECT count(*) FROM workspaces WHERE name = 'bodies-wrong'"), 0,
   'and no workspace was made';
