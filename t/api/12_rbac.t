# Access control: roles and role assignments (who may manage them, the
# built-ins), and the permission matrix on workspaces: levels from custom
# roles matched on labels and names, deny rules, the everyone role,
# owners, the highest level winning, 404 for what a caller cannot read,
# self-lockout protection, and 401 without a token everywhere.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 299;

my $ROLES = '/api/terrapod/v1/roles';
my $RA = '/api/terrapod/v1/role-assignments';
my $ORG_WS = '/api/v2/organizations/default/workspaces';
my $NATIVE = '/api/terrapod/v1/workspaces';
my $MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
my $STATE = '{"version":4,"serial":1,"lineage":"l12","terraform_version":"1.11.4",'
          . '"outputs":{},"resources":[]}';

sub role_body {
    my (%attrs) = @_;
    return {data => {type => 'roles', attributes => \%attrs}};
}

sub ra_body {
    my ($email, @roles) = @_;
    return {data => {type => 'role-assignments',
                     attributes => {'provider-name' => 'local', email => $email,
                                    roles => \@roles}}};
}

sub ws_body {
    my (%attrs) = @_;
    return {data => {type => 'workspaces', attributes => \%attrs}};
}

sub sv_body {
    my ($serial) = @_;
    return {data => {type => 'state-versions',
                     attributes => {serial => $serial, md5 => $MD5,
                                    lineage => 'l12'}}};
}

sub role_count {
    my ($name) = @_;
    return sql("SELECT count(*) FROM roles WHERE name = '$name'");
}

sub held_roles {
    my ($email) = @_;
    return sql("SELECT coalesce(string_agg(role_name, ',' ORDER BY role_name), '')"
               . " FROM role_assignments WHERE provider_name = 'local'"
               . " AND email = '$email'");
}

my $admin = admin_token();
my $audit_email = 'rbac12-audit@test.local';
my $audit = user_token($audit_email);
my $plain = user_token('rbac12-plain@test.local');
my $plain2 = user_token('rbac12-plain2@test.local');

my $r = api(PUT => $RA, token => $admin, body => ra_body($audit_email, 'audit'));
is $r->code, 200, 'audit role assigned: 200';

# ==== roles ====

$r = api(POST => $ROLES, token => $admin,
         body => role_body(name => 'rbac12-crud', description => 'crud test',
                           'workspace-permission' => 'write',
                           'allow-labels' => {team => 'x'}));
is $r->code, 201, 'admin creates a role: 201';
my $role = json_of($r)->{data};
is $role->{type}, 'roles', 'role: type roles';
is $role->{id}, 'rbac12-crud', 'role: id is the name';
is $role->{attributes}{'workspace-permission'}, 'write', 'role: workspace-permission';
is $role->{attributes}{'pool-permission'}, 'read', 'role: pool-permission defaults to read';
is $role->{attributes}{'registry-permission'}, 'read',
   'role: registry-permission defaults to read';
is_deeply $role->{attributes}{'allow-labels'}, {team => 'x'}, 'role: allow-labels';
is_deeply [$role->{attributes}{'allow-names'}, $role->{attributes}{'deny-labels'},
           $role->{attributes}{'deny-names'}], [[], {}, []],
          'role: empty rules default';
is_deeply $role->{attributes}{'built-in'}, JSON::PP::false, 'role: not built-in';

is_error(api(POST => $ROLES, token => $admin,
             body => role_body(name => 'rbac12-crud', 'workspace-permission' => 'admin')),
         409, 'duplicate role');
is sql("SELECT workspace_permission FROM roles WHERE name = 'rbac12-crud'"), 'write',
   'duplicate role: the original is unchanged';

for my $bad ('Rbac12-Upper', 'rbac12 space', '-rbac12', 'r' x 64, 'rbac12.dot') {
    my $label = length $bad > 20 ? '64 characters' : "'$bad'";
    is_error(api(POST => $ROLES, token => $admin, body => role_body(name => $bad)),
             422, "invalid role name $label");
}
is_error(api(POST => $ROLES, token => $admin, body => role_body(description => 'x')),
         422, 'role without a name');
is sql("SELECT count(*) FROM roles WHERE name ILIKE '%rbac12%' AND name <> 'rbac12-crud'"),
   '0', 'invalid role names: nothing stored';

is_error(api(POST => $ROLES, token => $admin,
             body => role_body(name => 'rbac12-bad', 'workspace-permission' => 'owner')),
         422, 'invalid workspace-permission');
is_error(api(POST => $ROLES, token => $admin,
             body => role_body(name => 'rbac12-bad', 'pool-permission' => 'plan')),
         422, 'plan is not a pool-permission');
is_error(api(POST => $ROLES, token => $admin,
             body => role_body(name => 'rbac12-bad', 'allow-labels' => ['env'])),
         422, 'allow-labels not an object');
is_error(api(POST => $ROLES, token => $admin,
             body => role_body(name => 'rbac12-bad', 'deny-labels' => {env => 1})),
         422, 'deny-labels with a non-string value');
is_error(api(POST => $ROLES, token => $admin,
             body => role_body(name => 'rbac12-bad', 'allow-names' => 'x')),
         422, 'allow-names not a list');
is role_count('rbac12-bad'), '0', 'invalid roles: nothing stored';

# audit reads, cannot write; a plain user can do neither
$r = api(GET => "$ROLES?page[size]=100", token => $audit);
is $r->code, 200, 'audit lists roles: 200';
my %roles = map { $_->{id} => $_ } @{ json_of($r)->{data} };
ok $roles{'rbac12-crud'}, 'the custom role is listed';
for my $b (qw(admin audit everyone)) {
    is_deeply $roles{$b} && $roles{$b}{attributes}{'built-in'}, JSON::PP::true,
              "built-in $b listed with built-in true";
}
ok json_of($r)->{meta}{pagination}{'total-count'} >= 4, 'role list paginated';
is api(GET => "$ROLES/rbac12-crud", token => $audit)->code, 200, 'audit reads a role: 200';
is api(GET => "$ROLES/admin", token => $admin)->code, 200, 'admin reads a built-in: 200';
is_error(api(POST => $ROLES, token => $audit, body => role_body(name => 'rbac12-byaudit')),
         403, 'audit creates a role');
is_error(api(PATCH => "$ROLES/rbac12-crud", token => $audit,
             body => role_body('workspace-permission' => 'admin')),
         403, 'audit updates a role');
is_error(api(DELETE => "$ROLES/rbac12-crud", token => $audit), 403, 'audit deletes a role');
is_error(api(GET => $ROLES, token => $plain), 403, 'plain user lists roles');
is_error(api(GET => "$ROLES/rbac12-crud", token => $plain), 403, 'plain user reads a role');
is_error(api(POST => $ROLES, token => $plain, body => role_body(name => 'rbac12-byplain')),
         403, 'plain user creates a role');
is sql("SELECT count(*) FROM roles WHERE name IN ('rbac12-byaudit', 'rbac12-byplain')"),
   '0', 'refused role creates stored nothing';
is sql("SELECT workspace_permission FROM roles WHERE name = 'rbac12-crud'"), 'write',
   'refused role update changed nothing';

# built-ins cannot be changed or deleted
for my $b (qw(admin audit everyone)) {
    is_error(api(DELETE => "$ROLES/$b", token => $admin), 409, "DELETE built-in $b");
    is_error(api(PATCH => "$ROLES/$b", token => $admin,
                 body => role_body(description => 'hijacked')),
             409, "PATCH built-in $b");
}
is sql("SELECT count(*) FROM roles WHERE built_in AND description <> 'hijacked'"), '3',
   'built-ins still there and unchanged';

$r = api(PATCH => "$ROLES/rbac12-crud", token => $admin,
         body => role_body('workspace-permission' => 'admin', 'deny-names' => ['x']));
is $r->code, 200, 'PATCH a custom role: 200';
my $ra = json_of($r)->{data}{attributes};
is $ra->{'workspace-permission'}, 'admin', 'PATCH: workspace-permission changed';
is_deeply $ra->{'deny-names'}, ['x'], 'PATCH: deny-names changed';
is $ra->{description}, 'crud test', 'PATCH: description kept';
is_deeply $ra->{'allow-labels'}, {team => 'x'}, 'PATCH: allow-labels kept';
is_error(api(PATCH => "$ROLES/rbac12-crud", token => $admin,
             body => role_body('workspace-permission' => 'superuser')),
         422, 'PATCH a role with an invalid level');
is sql("SELECT workspace_permission FROM roles WHERE name = 'rbac12-crud'"), 'admin',
   'invalid PATCH changed nothing';
is_error(api(GET => "$ROLES/rbac12-none", token => $admin), 404, 'GET unknown role');
is_error(api(PATCH => "$ROLES/rbac12-none", token => $admin,
             body => role_body(description => 'x')), 404, 'PATCH unknown role');
is_error(api(DELETE => "$ROLES/rbac12-none", token => $admin), 404, 'DELETE unknown role');

is api(DELETE => "$ROLES/rbac12-crud", token => $admin)->code, 204,
   'DELETE a custom role: 204';
is_error(api(GET => "$ROLES/rbac12-crud", token => $admin), 404, 'deleted role');
is role_count('rbac12-crud'), '0', 'deleted role removed';

# ==== role assignments ====

for my $n (1, 2) {
    api(POST => $ROLES, token => $admin, body => role_body(name => "rbac12-ra$n"));
}
my $ra_email = 'rbac12-ra@test.local';
$r = api(PUT => $RA, token => $admin,
         body => ra_body('RBAC12-Ra@Test.Local', 'rbac12-ra2', 'rbac12-ra1'));
is $r->code, 200, 'PUT role-assignments: 200';
my $as = json_of($r)->{data};
is $as->{type}, 'role-assignments', 'assignment: type';
is $as->{attributes}{email}, $ra_email, 'assignment: email lower-cased';
is $as->{attributes}{'provider-name'}, 'local', 'assignment: provider-name';
is_deeply $as->{attributes}{roles}, ['rbac12-ra1', 'rbac12-ra2'], 'assignment: roles';
is held_roles($ra_email), 'rbac12-ra1,rbac12-ra2', 'assignment stored';

$r = api(GET => "$RA?page[size]=100", token => $admin);
is $r->code, 200, 'admin lists role-assignments: 200';
my ($listed) = grep { $_->{attributes}{email} eq $ra_email } @{ json_of($r)->{data} };
is_deeply $listed && $listed->{attributes}{roles}, ['rbac12-ra1', 'rbac12-ra2'],
          'the assignment is listed';
is api(GET => $RA, token => $audit)->code, 200, 'audit lists role-assignments: 200';
is_error(api(GET => $RA, token => $plain), 403, 'plain user lists role-assignments');

$r = api(PUT => $RA, token => $admin, body => ra_body($ra_email, 'rbac12-ra2'));
is $r->code, 200, 'PUT a smaller set: 200';
is_deeply json_of($r)->{data}{attributes}{roles}, ['rbac12-ra2'], 'PUT replaced the set';
is held_roles($ra_email), 'rbac12-ra2', 'replaced set stored';

is_error(api(PUT => $RA, token => $admin,
             body => ra_body($ra_email, 'rbac12-ra1', 'rbac12-nosuch')),
         422, 'PUT with an unknown role');
is_error(api(PUT => $RA, token => $admin, body => ra_body('not-an-email', 'rbac12-ra1')),
         422, 'PUT with an invalid email');
is_error(api(PUT => $RA, token => $admin,
             body => {data => {type => 'role-assignments',
                               attributes => {email => $ra_email}}}),
         422, 'PUT without roles');
is_error(api(PUT => $RA, token => $audit, body => ra_body($ra_email, 'rbac12-ra1')),
         403, 'audit PUTs an assignment');
is_error(api(PUT => $RA, token => $plain,
             body => ra_body('rbac12-plain@test.local', 'admin')),
         403, 'plain user grants itself admin');
is held_roles($ra_email), 'rbac12-ra2', 'rejected PUTs changed nothing';
is held_roles('rbac12-plain@test.local'), '', 'plain user still holds nothing';

is_error(api(DELETE => "$RA/local/$ra_email/rbac12-ra1", token => $admin), 404,
         'DELETE an assignment not held');
is_error(api(DELETE => "$RA/local/$ra_email/rbac12-ra2", token => $audit), 403,
         'audit DELETEs an assignment');
is api(DELETE => "$RA/local/$ra_email/rbac12-ra2", token => $admin)->code, 204,
   'DELETE an assignment: 204';
is held_roles($ra_email), '', 'assignment removed';
api(PUT => $RA, token => $admin, body => ra_body($ra_email, 'rbac12-ra1'));
is api(DELETE => "$ROLES/rbac12-ra1", token => $admin)->code, 204,
   'DELETE a role that is held: 204';
is held_roles($ra_email), '', 'its assignments went with it';

# ==== the permission matrix ====

my %rules = (
    'rbac12-dev-read'  => {'workspace-permission' => 'read',
                           'allow-labels' => {env => 'dev'}},
    'rbac12-dev-plan'  => {'workspace-permission' => 'plan',
                           'allow-labels' => {env => 'dev'}},
    'rbac12-dev-write' => {'workspace-permission' => 'write',
                           'allow-labels' => {env => 'dev'}},
    'rbac12-dev-admin' => {'workspace-permission' => 'admin',
                           'allow-labels' => {env => 'dev'}},
    'rbac12-guarded'   => {'workspace-permission' => 'admin',
                           'allow-labels' => {env => 'dev'},
                           'deny-names' => ['rbac12-dev-b'],
                           'deny-labels' => {tier => 'secret'}},
    'rbac12-byname'    => {'workspace-permission' => 'write',
                           'allow-names' => ['rbac12-prod']},
);
for my $name (sort keys %rules) {
    is api(POST => $ROLES, token => $admin,
           body => role_body(name => $name, %{ $rules{$name} }))->code, 201,
       "role $name: 201";
}

my %holds = (
    reader  => ['rbac12-dev-read'],
    planner => ['rbac12-dev-plan'],
    writer  => ['rbac12-dev-write'],
    wsadmin => ['rbac12-dev-admin'],
    guarded => ['rbac12-guarded'],
    mixed   => ['rbac12-dev-read', 'rbac12-guarded'],
    multi   => ['rbac12-dev-read', 'rbac12-dev-write', 'rbac12-byname'],
);
my (%tok, %mail);
for my $who (sort keys %holds) {
    $mail{$who} = "rbac12-$who\@test.local";
    $tok{$who} = user_token($mail{$who});
    api(PUT => $RA, token => $admin, body => ra_body($mail{$who}, @{ $holds{$who} }));
}
$tok{plain} = $plain;
$tok{audit} = $audit;
$tok{admin} = $admin;

my %labels = (
    'rbac12-dev'        => {env => 'dev'},
    'rbac12-dev-b'      => {env => 'dev'},
    'rbac12-dev-secret' => {env => 'dev', tier => 'secret'},
    'rbac12-dev-del'    => {env => 'dev'},
    'rbac12-lockout'    => {env => 'dev'},
    'rbac12-prod'       => {env => 'prod'},
    'rbac12-public'     => {access => 'everyone'},
);
my %ws;
for my $name (sort keys %labels) {
    $r = api(POST => $ORG_WS, token => $admin,
             body => ws_body(name => $name, labels => $labels{$name}));
    $ws{$name} = json_of($r)->{data}{id};
}
is scalar(grep { defined } values %ws), 7, 'seven workspaces created by the admin';

sub readable {
    my ($token) = @_;
    my $doc = json_of(api(GET => "$NATIVE?search[name]=rbac12-&page[size]=100",
                          token => $token));
    return [sort map { $_->{attributes}{name} } @{ $doc->{data} || [] }];
}

sub perms_of {
    my ($token, $name) = @_;
    my $doc = json_of(api(GET => "/api/v2/workspaces/$ws{$name}", token => $token));
    return $doc->{data}{attributes}{permissions} || {};
}

my @all = sort keys %labels;
my @dev = qw(rbac12-dev rbac12-dev-b rbac12-dev-del rbac12-dev-secret rbac12-lockout);
my %expect = (
    admin   => [@all],
    audit   => [@all],
    plain   => ['rbac12-public'],
    reader  => [sort @dev, 'rbac12-public'],
    planner => [sort @dev, 'rbac12-public'],
    writer  => [sort @dev, 'rbac12-public'],
    wsadmin => [sort @dev, 'rbac12-public'],
    guarded => [sort qw(rbac12-dev rbac12-dev-del rbac12-lockout rbac12-public)],
    mixed   => [sort @dev, 'rbac12-public'],
    multi   => [sort @dev, 'rbac12-prod', 'rbac12-public'],
);
for my $who (sort keys %expect) {
    is_deeply readable($tok{$who}), $expect{$who}, "$who: list shows what it can read";
}

# visibility is decided before paging: pages and totals count only what
# the caller can read, with the name and label filters on top
my $page = json_of(api(GET => "$NATIVE?search[name]=rbac12-&page[size]=2&page[number]=2",
                       token => $tok{guarded}));
is_deeply [map { $_->{attributes}{name} } @{ $page->{data} }],
          [qw(rbac12-lockout rbac12-public)], 'guarded: page 2 of its readable list';
is $page->{meta}{pagination}{'total-count'}, 4, 'guarded: total-count counts the readable';
$page = json_of(api(GET => "$NATIVE?search[name]=rbac12-&filter[tagged][0][key]=env"
                           . "&filter[tagged][0][value]=dev", token => $tok{guarded}));
is_deeply [map { $_->{attributes}{name} } @{ $page->{data} }],
          [qw(rbac12-dev rbac12-dev-del rbac12-lockout)],
          'guarded: a label filter narrows the readable list';
# rule values are data: quotes and SQL in a label match only themselves
$r = api(POST => $ROLES, token => $admin,
         body => role_body(name => 'rbac12-quoted', 'workspace-permission' => 'read',
                           'allow-labels' => {team => q{o'brien" OR true --}}));
is $r->code, 201, 'a role with quotes in its label rule';
my $quoted = user_token('rbac12-quoted@test.local');
api(PUT => $RA, token => $admin, body => ra_body('rbac12-quoted@test.local', 'rbac12-quoted'));
is_deeply readable($quoted), ['rbac12-public'], 'quoted rule: matches nothing it should not';

# what a caller cannot read does not exist for it
for my $case ([reader => 'rbac12-prod'], [planner => 'rbac12-prod'],
              [wsadmin => 'rbac12-prod'], [plain => 'rbac12-dev'],
              [guarded => 'rbac12-dev-b'], [guarded => 'rbac12-dev-secret']) {
    my ($who, $name) = @$case;
    is_error(api(GET => "/api/v2/workspaces/$ws{$name}", token => $tok{$who}), 404,
             "$who GET $name by id");
    is api(GET => "$ORG_WS/$name", token => $tok{$who})->code, 404,
       "$who GET $name by name: 404";
}
my $hidden = json_of(api(GET => "/api/v2/workspaces/$ws{'rbac12-prod'}",
                         token => $tok{reader}))->{errors}[0];
my $absent = json_of(api(GET => '/api/v2/workspaces/ws-absent000000',
                         token => $tok{reader}))->{errors}[0];
is_deeply [$hidden->{status}, $hidden->{title}], [$absent->{status}, $absent->{title}],
          'an unreadable workspace answers like an absent one';
is_error(api(POST => "/api/v2/workspaces/$ws{'rbac12-prod'}/actions/lock",
             token => $tok{wsadmin}), 404, 'lock on an unreadable workspace');
is_error(api(PATCH => "/api/v2/workspaces/$ws{'rbac12-prod'}", token => $tok{wsadmin},
             body => ws_body(description => 'x')), 404,
         'PATCH on an unreadable workspace');
is_error(api(DELETE => "$NATIVE/$ws{'rbac12-prod'}", token => $tok{wsadmin}), 404,
         'DELETE on an unreadable workspace');

my $dev = $ws{'rbac12-dev'};
my $dev_snapshot = sql("SELECT description || '|' || coalesce(lock_holder, '-')"
                       . " FROM workspaces WHERE id = '$dev'");
sub sv_count {
    my ($id) = @_;
    return sql("SELECT count(*) FROM state_versions WHERE workspace_id = '$id'");
}

# read
is api(GET => "/api/v2/workspaces/$dev", token => $tok{reader})->code, 200,
   'reader GET by id: 200';
is api(GET => "$ORG_WS/rbac12-dev", token => $tok{reader})->code, 200,
   'reader GET by name: 200';
my $p = perms_of($tok{reader}, 'rbac12-dev');
is_deeply [@$p{qw(can-read-settings can-lock can-create-state-versions can-update)}],
          [JSON::PP::true, JSON::PP::false, JSON::PP::false, JSON::PP::false],
          'reader: permissions say read only';
is_error(api(POST => "/api/v2/workspaces/$dev/actions/lock", token => $tok{reader}),
         403, 'reader locks');
is_error(api(POST => "/api/v2/workspaces/$dev/state-versions", token => $tok{reader},
             body => sv_body(1)), 403, 'reader creates a state version');
is_error(api(POST => "$NATIVE/$dev/state-versions/actions/upload", token => $tok{reader},
             body => $STATE), 403, 'reader uploads a raw state');
is_error(api(PATCH => "/api/v2/workspaces/$dev", token => $tok{reader},
             body => ws_body(description => 'by reader')), 403, 'reader PATCHes');
is_error(api(DELETE => "$NATIVE/$dev", token => $tok{reader}), 403, 'reader DELETEs');
is sql("SELECT description || '|' || coalesce(lock_holder, '-')"
       . " FROM workspaces WHERE id = '$dev'") . '|' . sv_count($dev),
   "$dev_snapshot|0", 'reader changed nothing';

# plan
$p = perms_of($tok{planner}, 'rbac12-dev');
ok $p->{'can-lock'} && $p->{'can-queue-run'} && !$p->{'can-queue-apply'}
   && !$p->{'can-create-state-versions'}, 'planner: permissions say plan';
is api(POST => "/api/v2/workspaces/$dev/actions/lock", token => $tok{planner})->code,
   200, 'planner locks: 200';
is api(POST => "/api/v2/workspaces/$dev/actions/unlock", token => $tok{planner})->code,
   200, 'planner unlocks: 200';
is_error(api(POST => "/api/v2/workspaces/$dev/state-versions", token => $tok{planner},
             body => sv_body(1)), 403, 'planner creates a state version');
is_error(api(PATCH => "/api/v2/workspaces/$dev", token => $tok{planner},
             body => ws_body(description => 'by planner')), 403, 'planner PATCHes');
is sv_count($dev), '0', 'planner created no state version';

# write
$p = perms_of($tok{writer}, 'rbac12-dev');
ok $p->{'can-create-state-versions'} && $p->{'can-queue-apply'} && !$p->{'can-update'}
   && !$p->{'can-force-unlock'}, 'writer: permissions say write';
$r = api(POST => "/api/v2/workspaces/$dev/state-versions", token => $tok{writer},
         body => sv_body(1));
is $r->code, 201, 'writer creates a state version: 201';
is json_of($r)->{data}{type}, 'state-versions', 'writer: a state version';
is api(POST => "$NATIVE/$dev/state-versions/actions/upload", token => $tok{writer},
       body => $STATE)->code, 201, 'writer uploads a raw state: 201';
is sv_count($dev), '2', 'writer: both state versions stored';
is api(POST => "/api/v2/workspaces/$dev/actions/lock", token => $tok{writer})->code,
   200, 'writer locks (write includes plan): 200';
is_error(api(POST => "/api/v2/workspaces/$dev/actions/force-unlock",
             token => $tok{planner}), 403, 'planner force-unlocks');
is api(POST => "/api/v2/workspaces/$dev/actions/unlock", token => $tok{writer})->code,
   200, 'writer unlocks: 200';
is_error(api(PATCH => "/api/v2/workspaces/$dev", token => $tok{writer},
             body => ws_body(description => 'by writer')), 403, 'writer PATCHes');
is_error(api(DELETE => "/api/v2/workspaces/$dev", token => $tok{writer}), 403,
         'writer DELETEs');
is sql("SELECT description FROM workspaces WHERE id = '$dev'"), '',
   'writer changed no setting';

# admin
$p = perms_of($tok{wsadmin}, 'rbac12-dev');
ok !(grep { !$p->{$_} } keys %$p) && keys %$p, 'wsadmin: every permission';
$r = api(PATCH => "/api/v2/workspaces/$dev", token => $tok{wsadmin},
         body => ws_body(description => 'by wsadmin'));
is $r->code, 200, 'wsadmin PATCHes: 200';
is sql("SELECT description FROM workspaces WHERE id = '$dev'"), 'by wsadmin',
   'wsadmin PATCH stored';
is api(DELETE => "$NATIVE/$ws{'rbac12-dev-del'}", token => $tok{wsadmin})->code, 204,
   'wsadmin DELETEs: 204';
is sql("SELECT count(*) FROM workspaces WHERE name = 'rbac12-dev-del'"), '0',
   'wsadmin DELETE removed it';
is_error(api(PATCH => "/api/v2/workspaces/$ws{'rbac12-prod'}", token => $tok{wsadmin},
             body => ws_body(description => 'x')), 404, 'wsadmin on prod: still nothing');

# deny wins over allow, within the role that says it
is api(GET => "/api/v2/workspaces/$dev", token => $tok{guarded})->code, 200,
   'guarded reads dev (allowed by label)';
is api(PATCH => "/api/v2/workspaces/$dev", token => $tok{guarded},
       body => ws_body(description => 'by guarded'))->code, 200,
   'guarded has admin on dev';
is_error(api(PATCH => "/api/v2/workspaces/$ws{'rbac12-dev-b'}", token => $tok{guarded},
             body => ws_body(description => 'x')), 404,
         'guarded: denied by name although allowed by env=dev');
is_error(api(POST => "/api/v2/workspaces/$ws{'rbac12-dev-secret'}/actions/lock",
             token => $tok{guarded}), 404,
         'guarded: denied by tier=secret although allowed by env=dev');
is sql("SELECT count(*) FROM workspaces WHERE name IN ('rbac12-dev-b', 'rbac12-dev-secret')"
       . " AND (description <> '' OR lock_holder IS NOT NULL)"), '0',
   'denied writes changed nothing';
# another role still grants what it grants
$p = perms_of($tok{mixed}, 'rbac12-dev-b');
ok $p->{'can-read-settings'} && !$p->{'can-update'},
   'mixed: read on dev-b from the other role, no admin';
is_error(api(PATCH => "/api/v2/workspaces/$ws{'rbac12-dev-b'}", token => $tok{mixed},
             body => ws_body(description => 'x')), 403, 'mixed PATCHes dev-b');
is api(PATCH => "/api/v2/workspaces/$dev", token => $tok{mixed},
       body => ws_body(description => 'by mixed'))->code, 200,
   'mixed has admin on dev through the guarded role';

# the highest matching level wins
$p = perms_of($tok{multi}, 'rbac12-dev-b');
ok $p->{'can-create-state-versions'} && !$p->{'can-update'},
   'multi: write (read and write roles) on dev-b';
is api(POST => "/api/v2/workspaces/$ws{'rbac12-dev-b'}/state-versions",
       token => $tok{multi}, body => sv_body(7))->code, 201,
   'multi creates a state version: 201';
is_error(api(PATCH => "/api/v2/workspaces/$ws{'rbac12-dev-b'}", token => $tok{multi},
             body => ws_body(description => 'x')), 403, 'multi PATCHes: 403');
is api(POST => "/api/v2/workspaces/$ws{'rbac12-prod'}/state-versions",
       token => $tok{multi}, body => sv_body(3))->code, 201,
   'multi: write on prod by name';

# everyone
for my $who (qw(plain reader guarded)) {
    is api(GET => "/api/v2/workspaces/$ws{'rbac12-public'}", token => $tok{$who})->code,
       200, "$who reads the access=everyone workspace";
}
$p = perms_of($plain, 'rbac12-public');
ok $p->{'can-read-settings'} && !$p->{'can-lock'}, 'everyone: read only';
is_error(api(POST => "/api/v2/workspaces/$ws{'rbac12-public'}/actions/lock",
             token => $plain), 403, 'plain user locks the access=everyone workspace');

# audit: read everything, write nothing
is api(GET => "/api/v2/workspaces/$ws{'rbac12-prod'}", token => $audit)->code, 200,
   'audit reads prod';
is_error(api(POST => "/api/v2/workspaces/$ws{'rbac12-prod'}/actions/lock",
             token => $audit), 403, 'audit locks');
is_error(api(PATCH => "/api/v2/workspaces/$ws{'rbac12-prod'}", token => $audit,
             body => ws_body(description => 'x')), 403, 'audit PATCHes');

# the owner has admin whatever the labels
$r = api(POST => $NATIVE, token => $plain,
         body => ws_body(name => 'rbac12-own', labels => {env => 'prod'}));
is $r->code, 201, 'plain user creates a workspace: 201';
my $own = $ws{"rbac12-own"} = json_of($r)->{data}{id};
$p = perms_of($plain, 'rbac12-own');
ok keys %$p && !(grep { !$p->{$_} } keys %$p), 'owner: every permission';
is api(POST => "/api/v2/workspaces/$own/actions/lock", token => $plain)->code, 200,
   'owner locks';
is api(POST => "/api/v2/workspaces/$own/actions/force-unlock", token => $plain)->code, 200,
   'owner force-unlocks';
is api(POST => "/api/v2/workspaces/$own/state-versions", token => $plain,
       body => sv_body(1))->code, 201, 'owner creates a state version';
is_error(api(GET => "/api/v2/workspaces/$own", token => $plain2), 404,
         'another plain user cannot see it');

# ==== self-lockout ====

my $lo = $ws{'rbac12-lockout'};
sub lo_row {
    return sql("SELECT labels::text || '|' || description FROM workspaces"
               . " WHERE id = '$lo'");
}
my $lo_before = lo_row();
$r = api(PATCH => "/api/v2/workspaces/$lo", token => $tok{wsadmin},
         body => ws_body(labels => {env => 'prod'}, description => 'moved'));
is_error($r, 409, 'relabelling away its own access');
like error_detail($r), qr/force/, 'the 409 says to use force';
is lo_row(), $lo_before, 'refused relabel changed nothing';
is_error(api(PATCH => "/api/v2/workspaces/$lo", token => $tok{wsadmin},
             body => ws_body(labels => {access => 'everyone'})), 409,
         'relabelling down to read');
is_error(api(PATCH => "/api/v2/workspaces/$lo", token => $tok{wsadmin},
             body => ws_body(labels => {env => 'prod'},
                             force => JSON::PP::false)), 409,
         'relabelling with force false');
is lo_row(), $lo_before, 'still nothing changed';
$r = api(PATCH => "/api/v2/workspaces/$lo", token => $tok{wsadmin},
         body => ws_body(labels => {env => 'dev', team => 'a'}));
is $r->code, 200, 'a relabel that keeps its access: 200 without force';
$r = api(PATCH => "/api/v2/workspaces/$lo", token => $tok{wsadmin},
         body => ws_body(labels => {env => 'prod'}, description => 'moved',
                         force => JSON::PP::true));
is $r->code, 200, 'relabel away with force: 200' or diag error_detail($r);
is lo_row(), '{"env": "prod"}|moved', 'forced relabel stored';
is_error(api(GET => "/api/v2/workspaces/$lo", token => $tok{wsadmin}), 404,
         'after the forced relabel the workspace is gone for it');

$r = api(PATCH => "/api/v2/workspaces/$own", token => $plain,
         body => ws_body(labels => {env => 'nowhere'}));
is $r->code, 200, 'the owner relabels without force: 200';
$r = api(PATCH => "/api/v2/workspaces/$ws{'rbac12-prod'}", token => $admin,
         body => ws_body(labels => {env => 'staging'}));
is $r->code, 200, 'a platform admin relabels without force: 200';
is sql("SELECT labels->>'env' FROM workspaces WHERE id = '$ws{'rbac12-prod'}'"),
   'staging', 'admin relabel stored';
is api(DELETE => "$NATIVE/$own", token => $plain)->code, 204, 'owner DELETEs: 204';

# losing a role takes effect on the next request
is api(DELETE => "$RA/local/$mail{reader}/rbac12-dev-read", token => $admin)->code, 204,
   'reader loses its role';
is_error(api(GET => "/api/v2/workspaces/$dev", token => $tok{reader}), 404,
         'reader can no longer see dev');

# ==== no token: 401 everywhere ====

for my $case ([GET => $ROLES], [POST => $ROLES], [GET => "$ROLES/admin"],
              [PATCH => "$ROLES/rbac12-ra2"], [DELETE => "$ROLES/rbac12-ra2"],
              [GET => $RA], [PUT => $RA],
              [DELETE => "$RA/local/$mail{writer}/rbac12-dev-write"],
              [GET => $ORG_WS], [POST => $ORG_WS], [GET => "$ORG_WS/rbac12-dev"],
              [PATCH => "$ORG_WS/rbac12-dev"], [DELETE => "$ORG_WS/rbac12-dev"],
              [POST => "$ORG_WS/rbac12-dev/actions/safe-delete"],
              [GET => $NATIVE], [POST => $NATIVE], [GET => "$NATIVE/$dev"],
              [PATCH => "$NATIVE/$dev"], [DELETE => "$NATIVE/$dev"],
              [GET => "/api/v2/workspaces/$dev"], [PATCH => "/api/v2/workspaces/$dev"],
              [DELETE => "/api/v2/workspaces/$dev"],
              [POST => "/api/v2/workspaces/$dev/actions/safe-delete"],
              [POST => "/api/v2/workspaces/$dev/actions/lock"],
              [POST => "/api/v2/workspaces/$dev/actions/unlock"],
              [POST => "/api/v2/workspaces/$dev/actions/force-unlock"],
              [POST => "/api/v2/workspaces/$dev/state-versions"],
              [POST => "$NATIVE/$dev/state-versions/actions/upload"]) {
    my ($m, $path) = @$case;
    my $res = api($m, $path, ($m eq 'GET' || $m eq 'DELETE') ? ()
                             : (body => {data => {type => 'x'}}));
    is $res->code . '/' . ((json_of($res) || {})->{errors}[0]{status} // ''),
       '401/401', "$m $path without a token: 401, JSON:API";
}
my $res = api(GET => "/api/v2/workspaces/$dev", token => 'tpv1.' . ('B' x 43));
is $res->code, 401, 'an unknown token: 401';
is sql("SELECT count(*) FROM workspaces WHERE id = '$dev'") . '|' . role_count('rbac12-ra2')
   . '|' . held_roles($mail{writer}), '1|1|rbac12-dev-write',
   'nothing changed by the unauthenticated requests';
