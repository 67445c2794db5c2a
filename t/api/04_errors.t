# The route table's answers for what it does not serve, and the request
# body rules: 404, 405 with Allow, 413, 400, 403, 409 and 422, all JSON:API.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 31;

my $admin = admin_token();
my $user = user_token('plain@test.local');

is_error(api(GET => '/api/v2/nope', token => $admin), 404, 'unknown /api/v2 path');
is_error(api(GET => '/api/terrapod/v1/nope'), 404, 'unknown native path');

my $r = api(POST => '/health', body => '{}');
is_error($r, 405, 'POST /health');
is $r->header('Allow'), 'GET, HEAD', 'Allow lists GET and HEAD';
$r = api(DELETE => '/api/terrapod/v1/users', token => $admin);
is_error($r, 405, 'DELETE users collection');
is $r->header('Allow'), 'GET, POST, HEAD', 'Allow lists GET, POST and HEAD';

my $users = '/api/terrapod/v1/users';
my $big = '{"data":{"type":"users","attributes":{"email":"' . ('x' x 70000) . '@a.b"}}}';
is_error(api(POST => $users, token => $admin, body => $big), 413,
         'body over TerrapodMaxBodySize');
is_error(api(POST => $users, token => $admin, body => '{"data":'), 400,
         'malformed JSON');
like error_detail(api(POST => $users, token => $admin, body => '{"data":')),
     qr/malformed JSON/, 'malformed JSON detail';
is_error(api(POST => $users, token => $admin, body => ''), 400, 'empty body');
is_error(api(POST => $users, token => $admin, body => '[1]'), 400,
         'not a JSON:API document');

my $new = {data => {type => 'users', attributes => {email => 'New@Test.Local'}}};
is_error(api(POST => $users, token => $user, body => $new), 403,
         'non-admin creating a user');
is sql("SELECT count(*) FROM users WHERE email = 'new\@test.local'"), '0',
   'nothing written on 403';

$r = api(POST => $users, token => $admin, body => $new);
is $r->code, 201, 'admin creates a user';
is json_of($r)->{data}{attributes}{email}, 'new@test.local', 'email lower-cased';
is_error(api(POST => $users, token => $admin, body => $new), 409,
         'same email again');
is_error(api(POST => $users, token => $admin,
             body => {data => {type => 'users', attributes => {email => 'nope'}}}),
         422, 'invalid email');
is_error(api(POST => $users, token => $admin,
             body => {data => {type => 'users',
                               attributes => {email => 'p@test.local', password => 'short'}}}),
         422, 'weak password');

# paths outside the API stay with httpd
$r = api(GET => '/not-terrapod.html');
isnt $r->header('Content-Type') // '', 'application/json',
     'non-API paths are not answered by the module';
