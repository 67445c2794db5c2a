# Users administration: the list (admins and auditors; filter[email] as a
# case-insensitive substring, paginated), reading one, changing
# display-name and is-active (deactivation stops every token of the user
# at once), and deleting a user with its tokens and role assignments.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::Tokens;

plan tests => 86;

my $USERS = '/api/terrapod/v1/users';
my $admin_email = 'tk72-boss@test.local';
my $admin = user_token($admin_email, admin => 1);
my $audit = user_token('tk72-auditor@test.local');
assign_roles($admin, 'tk72-auditor@test.local', 'audit');
my $plain = user_token('tk72-plain@test.local');
my @emails = map { "tk72-member$_\@test.local" } 1 .. 5;
my %token = map { $_ => user_token($_) } @emails;
my ($first, $victim) = @emails[0, 4];

sub patch_user {
    my ($token, $email, %attrs) = @_;
    return api(PATCH => "$USERS/$email", token => $token,
               body => {data => {type => 'users', attributes => \%attrs}});
}

sub column {
    my ($col, $email) = @_;
    return sql("SELECT $col FROM users WHERE email = '$email'");
}

# ---- list ----

is_error(api(GET => $USERS), 401, 'list without a token');
is_error(api(GET => $USERS, token => $plain), 403, 'plain user lists users');
my $r = api(GET => "$USERS?page[size]=100", token => $audit);
is $r->code, 200, 'an auditor lists users: 200';
$r = api(GET => "$USERS?filter[email]=TK72-MEMBER&page[size]=100", token => $admin);
is $r->code, 200, 'an admin lists users: 200';
my @got = map { $_->{attributes}{email} } @{ json_of($r)->{data} };
is_deeply \@got, \@emails, 'filter[email] matches case-insensitively, sorted by email';
my $u = json_of($r)->{data}[0];
is $u->{type}, 'users', 'type users';
like $u->{id}, qr/^user-/, 'a user id';
is_deeply [map { exists $u->{attributes}{$_} ? 1 : 0 }
           qw(email username display-name is-active is-service-account created-at
              last-login-at)], [(1) x 7], 'every attribute';
unlike $r->content, qr/password|pbkdf2/i, 'no password material';

$r = api(GET => "$USERS?filter[email]=member&page[size]=2&page[number]=3", token => $admin);
is scalar @{ json_of($r)->{data} }, 1, 'page 3 of 2 holds the fifth';
is json_of($r)->{data}[0]{attributes}{email}, $victim, 'the last by email';
is json_of($r)->{meta}{pagination}{'total-count'}, 5, 'total-count counts the matches';
$r = api(GET => "$USERS?filter[email]=tk72-member_", token => $admin);
is_deeply json_of($r)->{data}, [], '_ is no wildcard';
$r = api(GET => "$USERS?filter[email]=%25", token => $admin);
is_deeply json_of($r)->{data}, [], '% is no wildcard';
is_error(api(GET => "$USERS?page[size]=x", token => $admin), 400, 'a bad page size');

signed_in_days_ago($first, 2);
$r = api(GET => "$USERS/$first", token => $admin);
like json_of($r)->{data}{attributes}{'last-login-at'}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
   'last-login-at once signed in';

# ---- show ----

is api(GET => "$USERS/$first", token => $audit)->code, 200, 'an auditor reads a user';
is api(GET => "$USERS/" . uc $first, token => $admin)->code, 200,
   'the email in the path is case-insensitive';
is api(GET => "$USERS/$first", token => $token{$first})->code, 200, 'a user reads itself';
is_error(api(GET => "$USERS/$first", token => $plain), 404, 'a plain user reads another');
is_error(api(GET => "$USERS/tk72-nobody\@test.local", token => $admin), 404, 'an unknown user');

# ---- update ----

is_error(patch_user($plain, $first, 'display-name' => 'X'), 403, 'plain user updates');
is_error(patch_user($audit, $first, 'display-name' => 'X'), 403, 'auditor updates');
is_error(patch_user($token{$first}, $first, 'display-name' => 'X'), 403,
         'a user updates itself');
is_error(patch_user($admin, $first, 'is-active' => 'no'), 422, 'is-active not a boolean');
is_error(patch_user($admin, $first, 'display-name' => 'x' x 201), 422,
         'display-name of 201 characters');
is_error(patch_user($admin, $first, 'display-name' => 5), 422, 'display-name not a string');
is_error(patch_user($admin, "tk72-nobody\@test.local", 'display-name' => 'X'), 404,
         'updating an unknown user');
is_error(api(PATCH => "$USERS/$first", token => $admin, body => '{'), 400, 'malformed body');
is_error(api(PATCH => "$USERS/$first", token => $admin,
             body => {data => {type => 'workspaces', attributes => {}}}),
         409, 'wrong resource type');
is_error(patch_user($admin, $admin_email, 'is-active' => JSON::PP::false), 409,
         'an admin deactivating itself');
is column('display_name', $first) . column('is_active', $first), 't',
   'refused updates change nothing';
is column('is_active', $admin_email), 't', 'the admin is still active';

$r = patch_user($admin, $first, 'display-name' => 'First Member');
is $r->code, 200, 'admin sets display-name: 200';
is json_of($r)->{data}{attributes}{'display-name'}, 'First Member', 'answered';
is column('display_name', $first), 'First Member', 'stored';
is json_of($r)->{data}{attributes}{'is-active'}, JSON::PP::true, 'is-active untouched';
$r = patch_user($admin, $admin_email, 'display-name' => 'Boss');
is $r->code, 200, 'an admin renames itself: 200';

make_role($admin, 'tk72-dev', 'read', env => 'dev');
assign_roles($admin, $first, 'tk72-dev');
signed_in_days_ago($first, 0);
my $bound = json_of(create_token($token{$first}, user_id($token{$first}),
                                 kind => 'service_bound',
                                 pinned_roles => ['tk72-dev']))->{data}{attributes}{token};
is works_as($bound), 200, 'the user\'s service_bound token works';

$r = patch_user($admin, $first, 'is-active' => JSON::PP::false);
is $r->code, 200, 'admin deactivates a user: 200';
is json_of($r)->{data}{attributes}{'is-active'}, JSON::PP::false, 'is-active false';
is json_of($r)->{data}{attributes}{'display-name'}, 'First Member', 'display-name kept';
is_error(api(GET => '/api/v2/account/details', token => $token{$first}), 401,
         'the deactivated user\'s interactive token');
is works_as($bound), 401, 'and service_bound token, at once';
$r = api(GET => "$USERS?filter[email]=$first", token => $admin);
is json_of($r)->{data}[0]{attributes}{'is-active'}, JSON::PP::false, 'listed as inactive';
$r = patch_user($admin, $first, 'is-active' => JSON::PP::true);
is $r->code, 200, 'reactivated: 200';
is works_as($token{$first}), 200, 'the interactive token works again';
is works_as($bound), 200, 'and the service_bound one';

# ---- delete ----

assign_roles($admin, $victim, 'tk72-dev');
sql("INSERT INTO role_assignments (provider_name, email, role_name)"
    . " VALUES ('oidc', '$victim', 'tk72-dev')");
create_token($admin, user_id($token{$victim}), description => 'second');
my $victim_tokens = sql("SELECT count(*) FROM api_tokens WHERE user_email = '$victim'");
is $victim_tokens, 2, 'the user to delete holds two tokens';
my $others_ra = sql("SELECT count(*) FROM role_assignments WHERE email <> '$victim'");

is_error(api(DELETE => "$USERS/$victim", token => $plain), 403, 'plain user deletes');
is_error(api(DELETE => "$USERS/$victim", token => $audit), 403, 'auditor deletes');
is_error(api(DELETE => "$USERS/$admin_email", token => $admin), 409,
         'an admin deleting itself');
is_error(api(DELETE => "$USERS/tk72-nobody\@test.local", token => $admin), 404,
         'deleting an unknown user');
is column('count(*)', $victim), 1, 'refused deletes keep the user';

$r = api(DELETE => "$USERS/" . uc $victim, token => $admin);
is $r->code, 204, 'admin deletes a user: 204';
is column('count(*)', $victim), 0, 'the user is gone';
is sql("SELECT count(*) FROM api_tokens WHERE user_email = '$victim'"), 0,
   'with its tokens';
is sql("SELECT count(*) FROM role_assignments WHERE email = '$victim'"), 0,
   'and its role assignments, of every provider';
is sql("SELECT count(*) FROM role_assignments WHERE email <> '$victim'"), $others_ra,
   'other assignments stay';
is works_as($token{$victim}), 401, 'its token no longer works';
is_error(api(GET => "$USERS/$victim", token => $admin), 404, 'reading it');
is_error(api(DELETE => "$USERS/$victim", token => $admin), 404, 'deleting it again');
is works_as($token{$emails[1]}), 200, 'other users are untouched';
$r = api(GET => "$USERS?filter[email]=tk72-member", token => $admin);
is json_of($r)->{meta}{pagination}{'total-count'}, 4, 'four members left';
