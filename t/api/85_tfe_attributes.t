# Attributes TFE clients read beyond the CLI's, each from what is stored:
# a run's trigger-reason, a variable's version-id, a refused
# configuration's error.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TP::Test;

plan tests => 9;

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
