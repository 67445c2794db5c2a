# Attributes TFE clients read beyond the CLI's, each from what is stored:
# a run's trigger-reason, a variable's version-id, a refused
# configuration's error.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TP::Test;

plan tests => 26;

my $owner = user_token('attrs-owner@test.local');
my $ws = make_ws($owner, 'attrs-ws');

# runs made through the API are manual
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false);
my $r = api(POST => '/api/v2/runs', token => $owner,
            body => {data => {relationships => {workspace => {data => {id => $ws}}}}});
is json_of($r)->{data}{attributes}{'trigger-reason'}, 'manual',
   'a run made through the API: trigger-reason manual';

# a variable's version-id changes when it does, and only then
$r = api(POST => "/api/v2/workspaces/$ws/vars", token => $owner,
         body => {data => {type => 'vars', attributes => {
             key => 'k', value => 'one', category => 'env'}}});
my $var = json_of($r)->{data};
my $v1 = $var->{attributes}{'version-id'};
like $v1, qr/^[0-9a-f]{32}$/, 'version-id';
is json_of(api(GET => "/api/v2/workspaces/$ws/vars/$var->{id}", token => $owner))
       ->{data}{attributes}{'version-id'}, $v1, 'the same while unchanged';
$r = api(PATCH => "/api/v2/workspaces/$ws/vars/$var->{id}", token => $owner,
         body => {data => {type => 'vars', attributes => {value => 'two'}}});
isnt json_of($r)->{data}{attributes}{'version-id'}, $v1, 'another after a change';

# a refused upload says why, as a code and a message
$r = api(POST => "/api/v2/workspaces/$ws/configuration-versions", token => $owner,
         body => {data => {type => 'configuration-versions',
                           attributes => {'auto-queue-runs' => JSON::PP::false}}});
my $cv = json_of($r)->{data};
is $cv->{attributes}{error}, undef, 'a new configuration version has no error';
$r = api(PUT => $cv->{attributes}{'upload-url'}, body => 'not a tarball',
         headers => {'Content-Type' => 'application/octet-stream'});
is $r->code, 422, 'a body that is no archive: 422';
my $a = json_of(api(GET => "/api/v2/configuration-versions/$cv->{id}",
                    token => $owner))->{data}{attributes};
is $a->{status}, 'errored', 'the version is errored';
is $a->{error}, 'invalid_archive', 'error: invalid_archive';
ok length($a->{'error-message'}), 'error-message says more';

# workspace settings: stored as sent, allow-destroy-plan enforced
my $doc = json_of(api(GET => "/api/v2/workspaces/$ws", token => $owner))->{data};
is_deeply {map { $_ => $doc->{attributes}{$_} }
           qw(allow-destroy-plan file-triggers-enabled queue-all-runs
              speculative-enabled global-remote-state environment)},
          {'allow-destroy-plan' => JSON::PP::true,
           'file-triggers-enabled' => JSON::PP::true,
           'queue-all-runs' => JSON::PP::false,
           'speculative-enabled' => JSON::PP::true,
           'global-remote-state' => JSON::PP::false,
           environment => 'default'}, 'the settings\' defaults';
is_deeply $doc->{attributes}{'trigger-prefixes'}, [], 'no trigger prefixes';
is $doc->{attributes}{permissions}{'can-queue-destroy'}, JSON::PP::true,
   'the owner can-queue-destroy';
is $doc->{attributes}{permissions}{'can-queue-destroy-plan'}, JSON::PP::true,
   'and can-queue-destroy-plan';
$r = api(PATCH => "/api/v2/workspaces/$ws", token => $owner,
         body => {data => {attributes => {
             allowDestroyPlan => JSON::PP::false,
             'queue-all-runs' => JSON::PP::true,
             'global-remote-state' => JSON::PP::true,
             'trigger-prefixes' => ['modules/', 'shared/']}}});
is $r->code, 200, 'settings update: 200';
$a = json_of($r)->{data}{attributes};
is_deeply [@$a{qw(allow-destroy-plan queue-all-runs global-remote-state)}],
          [JSON::PP::false, JSON::PP::true, JSON::PP::true], 'stored as sent';
is_deeply $a->{'trigger-prefixes'}, ['modules/', 'shared/'], 'trigger-prefixes';
is $a->{'speculative-enabled'}, JSON::PP::true, 'what was not sent is kept';
$r = api(POST => '/api/v2/runs', token => $owner,
         body => {data => {attributes => {'is-destroy' => JSON::PP::true},
                           relationships => {workspace => {data => {id => $ws}}}}});
is_error($r, 422, 'a destroy run with allow-destroy-plan false');
is sql("SELECT count(*) FROM runs WHERE workspace_id = '$ws' AND is_destroy"), 0,
   'and none was made';
is_error(api(PATCH => "/api/v2/workspaces/$ws", token => $owner,
             body => {data => {attributes => {'queue-all-runs' => 'yes'}}}),
         422, 'a setting of the wrong type');
is_error(api(PATCH => "/api/v2/workspaces/$ws", token => $owner,
             body => {data => {attributes => {'trigger-prefixes' => 'modules/'}}}),
         422, 'trigger-prefixes not a list');

# the organization: created with the database, its contact Apache's
my $org = json_of(api(GET => '/api/v2/organizations/default', token => $owner))
    ->{data}{attributes};
is $org->{'created-at'},
   sql('SELECT tp_ts(min(applied_at)) FROM schema_migrations'),
   'organization created-at: when its database was set up';
is $org->{email}, Apache::Test::vars('serveradmin'),
   'organization email: the ServerAdmin';
