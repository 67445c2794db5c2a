# The three token kinds as they act: interactive tokens with the owner's
# live roles, service_bound tokens with the pinned roles the owner still
# holds (refused once the owner is deactivated or has not signed in for
# the idle window), service_detached tokens with exactly their pins; who
# may pin what, the lifespan caps, and converting between kinds.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Tokens;

plan tests => 125;

my $TOK = '/api/terrapod/v1/authentication-tokens';
my $admin = admin_token();
my $owner_email = 'tk70-owner@test.local';
my $owner = user_token($owner_email);
my $owner_id = user_id($owner);

make_role($admin, 'tk70-dev', 'write', env => 'dev');
make_role($admin, 'tk70-prod', 'read', env => 'prod');
make_role($admin, 'tk70-other', 'admin', env => 'other');
assign_roles($admin, $owner_email, 'tk70-dev', 'tk70-prod');

my $ws_dev = make_ws($admin, 'tk70-dev-ws', labels => {env => 'dev'});
my $ws_prod = make_ws($admin, 'tk70-prod-ws', labels => {env => 'prod'});
my $ws_own = make_ws($owner, 'tk70-own-ws');
sub ws { "/api/v2/workspaces/$_[0]" }

sub token_count { sql('SELECT count(*) FROM api_tokens') }

sub set_active {
    my ($email, $active) = @_;
    my $r = api(PATCH => "/api/terrapod/v1/users/$email", token => $admin,
                body => {data => {type => 'users',
                                  attributes => {'is-active' => $active}}});
    die 'is-active: ' . $r->as_string unless $r->code == 200;
}

# ---- interactive ----

my $r = create_token($owner, $owner_id, description => 'laptop');
is $r->code, 201, 'interactive token (the default kind): 201';
my $inter = json_of($r)->{data};
is $inter->{attributes}{kind}, 'interactive', 'kind interactive';
ok exists $inter->{attributes}{'pinned-roles'}
   && !defined $inter->{attributes}{'pinned-roles'}, 'pinned-roles null';
is $inter->{attributes}{'token-type'}, 'user', 'token-type user';
my $inter_raw = $inter->{attributes}{token};
is works_as($inter_raw, ws($ws_dev)), 200, 'interactive: the owner\'s dev role';
is works_as($inter_raw, ws($ws_prod)), 200, 'interactive: the owner\'s prod role';
is works_as($inter_raw, ws($ws_own)), 200, 'interactive: the owner\'s own workspace';

# ---- service_bound ----

$r = create_token($owner, $owner_id, description => 'ci', kind => 'service_bound',
                  pinned_roles => ['tk70-dev']);
is $r->code, 201, 'service_bound token pinned to a held role: 201';
my $bound = json_of($r)->{data};
my $bound_raw = $bound->{attributes}{token};
is $bound->{attributes}{kind}, 'service_bound', 'kind service_bound';
is_deeply $bound->{attributes}{'pinned-roles'}, ['tk70-dev'], 'pinned-roles as sent';
is $bound->{attributes}{'bound-to'}, $owner_email, 'bound to the owner';
is $bound->{attributes}{'lifespan-hours'}, 8760, 'no lifespan asked: the cap (a year)';
my $exp = epoch_of($bound->{attributes}{'expires-at'});
ok defined $exp && abs($exp - (time + 8760 * 3600)) < 300, 'expires a year ahead';

$r = api(GET => ws($ws_dev), token => $bound_raw);
is_error($r, 401, 'bound token of an owner who never signed in');
like error_detail($r), qr/signed in within 7 days/, 'the detail names the idle window';

signed_in_days_ago($owner_email, 1);
is works_as($bound_raw, ws($ws_dev)), 200, 'bound: the pinned role applies';
is works_as($bound_raw, ws($ws_prod)), 404, 'bound: a held but unpinned role does not';
is works_as($bound_raw, ws($ws_own)), 404,
   'bound: owning a workspace grants the token nothing';
is api(PATCH => ws($ws_dev), token => $bound_raw,
       body => {data => {type => 'workspaces', attributes => {description => 'x'}}})->code,
   403, 'bound: write from the role, not admin';
is_error(api(GET => '/api/terrapod/v1/users', token => $bound_raw), 403,
         'bound: no platform role');

assign_roles($admin, $owner_email, 'tk70-prod');
is works_as($bound_raw, ws($ws_dev)), 404, 'the owner loses the role: so does the token, at once';
is works_as($inter_raw, ws($ws_dev)), 404, 'and the interactive token';
assign_roles($admin, $owner_email, 'tk70-dev', 'tk70-prod');
is works_as($bound_raw, ws($ws_dev)), 200, 'the role given back: the token has it again';

signed_in_days_ago($owner_email, 8);
$r = api(GET => ws($ws_dev), token => $bound_raw);
is_error($r, 401, 'bound token of an owner idle 8 days');
is works_as($inter_raw, ws($ws_dev)), 200, 'the interactive token is not subject to the idle window';
signed_in_days_ago($owner_email, 6);
is works_as($bound_raw, ws($ws_dev)), 200, 'owner idle 6 days: the bound token works';

set_active($owner_email, JSON::PP::false);
$r = api(GET => ws($ws_dev), token => $bound_raw);
is_error($r, 401, 'bound token of a deactivated owner');
like error_detail($r), qr/deactivated/, 'the detail says why';
is works_as($inter_raw), 401, 'the interactive token of a deactivated owner: 401';
set_active($owner_email, JSON::PP::true);
is works_as($bound_raw, ws($ws_dev)), 200, 'reactivated: the bound token works again';

# a service token cannot hand out more than it has
is_error(create_token($bound_raw, $owner_id, description => 'escape'), 403,
         'a bound token creating an interactive token');
is_error(create_token($bound_raw, $owner_id, kind => 'service_bound',
                      pinned_roles => ['tk70-prod']),
         403, 'a bound token pinning a role it does not act with');
is_error(api(POST => "$TOK/$inter->{id}/actions/rotate", token => $bound_raw), 403,
         'a bound token rotating its owner\'s interactive token');
is_error(api(PATCH => "$TOK/$bound->{id}", token => $bound_raw,
             body => {data => {type => 'authentication-tokens',
                               attributes => {kind => 'interactive'}}}),
         403, 'a bound token converting itself to interactive');
$r = create_token($bound_raw, $owner_id, kind => 'service_bound',
                  pinned_roles => ['tk70-dev'], lifespan_hours => 1);
is $r->code, 201, 'a bound token may create one within its own scope';
is works_as($inter_raw, ws($ws_prod)), 200, 'the owner\'s interactive token is untouched';

# ---- who may pin what ----

my $before = token_count();
is_error(create_token($owner, $owner_id, kind => 'service_bound',
                      pinned_roles => ['tk70-other']),
         403, 'pinning a role the creator does not hold');
is_error(create_token($owner, $owner_id, kind => 'service_bound',
                      'pinned-roles' => ['tk70-dev', 'admin']),
         403, 'pinning the admin role without holding it');
is_error(create_token($owner, $owner_id, kind => 'service_bound',
                      pinned_roles => ['tk70-nosuch']),
         422, 'pinning an unknown role');
is_error(create_token($owner, $owner_id, kind => 'service_bound'), 422,
         'a service_bound token without pinned roles');
is_error(create_token($owner, $owner_id, kind => 'service_bound', pinned_roles => []),
         422, 'a service_bound token with an empty pin list');
is_error(create_token($owner, $owner_id, pinned_roles => ['tk70-dev']), 422,
         'pinned roles on an interactive token');
is_error(create_token($owner, $owner_id, kind => 'robot'), 422, 'an unknown kind');
is_error(create_token($owner, $owner_id, kind => 'service_bound',
                      pinned_roles => 'tk70-dev'), 422, 'pinned_roles not a list');
is_error(create_token($owner, $owner_id, kind => 'service_detached',
                      pinned_roles => ['tk70-dev']),
         403, 'a non-admin creating a service_detached token');
is token_count(), $before, 'refused tokens: nothing stored';

# an admin may pin any role, but a bound token still gets only what its
# owner holds
$r = create_token($admin, $owner_id, kind => 'service_bound',
                  pinned_roles => ['tk70-other', 'tk70-prod']);
is $r->code, 201, 'admin pins a role the owner lacks: 201';
my $capped = json_of($r)->{data}{attributes}{token};
is works_as($capped, ws($ws_prod)), 200, 'the pinned role the owner holds applies';
make_ws($admin, 'tk70-other-ws', labels => {env => 'other'});
is works_as($capped, '/api/v2/organizations/default/workspaces/tk70-other-ws'), 404,
   'the one the owner lacks does not';

# ---- service_detached ----

my $admin2_email = 'tk70-admin2@test.local';
my $admin2 = user_token($admin2_email, admin => 1);
$r = create_token($admin2, $owner_id, description => 'deploy bot',
                  kind => 'service_detached', pinned_roles => ['tk70-prod']);
is $r->code, 201, 'admin creates a service_detached token: 201';
my $det = json_of($r)->{data};
my $det_raw = $det->{attributes}{token};
ok exists $det->{attributes}{'bound-to'} && !defined $det->{attributes}{'bound-to'},
   'unbound whatever the path names';
is $det->{attributes}{'token-type'}, 'service', 'token-type service';
is $det->{attributes}{'created-by'}, $admin2_email, 'created-by the admin';
is_deeply $det->{attributes}{'pinned-roles'}, ['tk70-prod'], 'its pins';
is works_as($det_raw, ws($ws_prod)), 200, 'detached: its pinned role applies';
is works_as($det_raw, ws($ws_dev)), 404, 'detached: nothing beyond it';
is_error(api(GET => '/api/terrapod/v1/users', token => $det_raw), 403,
         'detached: no platform role');
$r = api(GET => '/api/v2/account/details', token => $det_raw);
is $r->code, 200, 'a detached token reads its account';
is json_of($r)->{data}{attributes}{'is-service-account'}, JSON::PP::true,
   'as a service account';
$r = api(GET => tokens_path($owner_id), token => $owner);
ok !(grep { $_->{id} eq $det->{id} } @{ json_of($r)->{data} }),
   'not listed among the user\'s tokens';
set_active($admin2_email, JSON::PP::false);
is works_as($det_raw, ws($ws_prod)), 200, 'its creator deactivated: it still works';
set_active($admin2_email, JSON::PP::true);

$r = create_token($admin, $owner_id, kind => 'service_detached', pinned_roles => ['admin']);
is $r->code, 201, 'a detached token pinned to admin: 201';
my $det_admin = json_of($r)->{data}{attributes}{token};
is works_as($det_admin, '/api/terrapod/v1/users'), 200, 'is a platform admin';
$r = create_token($det_admin, $owner_id, kind => 'service_detached',
                  pinned_roles => ['tk70-dev']);
is $r->code, 201, 'which may create detached tokens itself';

# ---- lifespan caps ----

is_error(create_token($owner, $owner_id, kind => 'service_bound',
                      pinned_roles => ['tk70-dev'], lifespan_hours => 8761),
         422, 'service_bound beyond the 8760-hour cap');
is_error(create_token($admin, $owner_id, kind => 'service_detached',
                      pinned_roles => ['tk70-dev'], 'lifespan-hours' => 9000),
         422, 'service_detached beyond the cap');
is_error(create_token($owner, $owner_id, 'lifespan-hours' => 8761), 422,
         'interactive beyond a year');
is_error(create_token($owner, $owner_id, 'lifespan-hours' => 0), 422,
         'a lifespan of zero hours');
$r = create_token($owner, $owner_id, kind => 'service_bound',
                  pinned_roles => ['tk70-dev'], lifespan_hours => 3);
is $r->code, 201, 'service_bound within the cap: 201';
is json_of($r)->{data}{attributes}{'lifespan-hours'}, 3, 'lifespan-hours as asked';
$exp = epoch_of(json_of($r)->{data}{attributes}{'expires-at'});
ok defined $exp && abs($exp - (time + 3 * 3600)) < 300, 'expires three hours ahead';

# ---- converting between kinds ----

my $conv = "$TOK/$inter->{id}";
sub patch_token {
    my ($token, $path, %attrs) = @_;
    return api(PATCH => $path, token => $token,
               body => {data => {type => 'authentication-tokens', attributes => \%attrs}});
}

is_error(patch_token($owner, $conv, kind => 'service_bound'), 422,
         'to service_bound without pins');
$r = patch_token($owner, $conv, kind => 'service_bound', 'pinned-roles' => ['tk70-prod']);
is $r->code, 200, 'the owner converts interactive to service_bound: 200';
my $at = json_of($r)->{data}{attributes};
is $at->{kind}, 'service_bound', 'now service_bound';
is_deeply $at->{'pinned-roles'}, ['tk70-prod'], 'with its pins';
$exp = epoch_of($at->{'expires-at'});
ok defined $exp && $exp <= time + 8760 * 3600 + 60, 'and an expiry within the cap';
is works_as($inter_raw, ws($ws_dev)), 404, 'the converted token lost the unpinned role';
is works_as($inter_raw, ws($ws_prod)), 200, 'and keeps the pinned one';
is_error(patch_token($owner, $conv, 'pinned-roles' => ['tk70-other']), 403,
         'repinning to a role the owner lacks');
is_error(patch_token($owner, $conv, kind => 'service_detached'), 403,
         'the owner converting to service_detached');
is_error(patch_token($owner, $conv, kind => 'nope'), 422, 'an unknown kind');
is sql("SELECT kind FROM api_tokens WHERE id = '$inter->{id}'"), 'service_bound',
   'refused conversions change nothing';

$r = patch_token($admin, $conv, kind => 'service_detached');
is $r->code, 200, 'an admin converts it to service_detached: 200';
$at = json_of($r)->{data}{attributes};
ok !defined $at->{'bound-to'}, 'unbound';
is works_as($inter_raw, ws($ws_prod)), 200, 'the same secret acts with its pins';
is_error(api(GET => $conv, token => $owner), 404, 'its former owner no longer sees it');

$r = patch_token($admin, $conv, kind => 'interactive');
is $r->code, 200, 'an admin converts it back to interactive: 200';
$at = json_of($r)->{data}{attributes};
is $at->{'bound-to'}, 'admin@test.local', 'rebound to the admin';
ok !defined $at->{'pinned-roles'}, 'pins dropped';
is works_as($inter_raw, '/api/terrapod/v1/users'), 200, 'it acts as the admin now';

is_error(patch_token($owner, "$TOK/$bound->{id}", pinned_roles => ['tk70-dev'],
                     kind => 'interactive'),
         422, 'pins on a conversion to interactive');
$r = patch_token($owner, "$TOK/$bound->{id}", kind => 'interactive');
is $r->code, 200, 'the owner converts service_bound to interactive';
is works_as($bound_raw, ws($ws_own)), 200, 'which acts with the owner\'s full access';

is_error(patch_token($owner, "$TOK/at-nosuchtoken00000", kind => 'interactive'), 404,
         'converting an unknown token');
is_error(api(PATCH => $conv, token => $admin, body => 'nope'), 400, 'malformed body');
