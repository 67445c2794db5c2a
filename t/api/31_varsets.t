# Variable sets: create, list, show, update and delete (platform admins
# change them, auditors read them), their variables through the same rules
# as a workspace's, assignment to workspaces, and the precedence the
# merged all-vars view of a workspace follows.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 233;

my $true = JSON::PP::true;
my $false = JSON::PP::false;
my $RA = '/api/terrapod/v1/role-assignments';
my $ROLES = '/api/terrapod/v1/roles';
my $SETS = '/api/v2/organizations/default/varsets';

my $secret = 'vs31-s3cr3t-Hn2';

my $admin = admin_token();
my $audit_email = 'vs31-audit@test.local';
my $audit = user_token($audit_email);
my $plain = user_token('vs31-plain@test.local');
my $owner = user_token('vs31-owner@test.local');
my $reader = user_token('vs31-reader@test.local');
api(PUT => $RA, token => $admin,
    body => {data => {type => 'role-assignments',
                      attributes => {'provider-name' => 'local', email => $audit_email,
                                     roles => ['audit']}}});

my @answers;

sub call {
    my $r = api(@_);
    push @answers, $r->content;
    return $r;
}

sub set_body {
    my (%attrs) = @_;
    my $type = delete $attrs{_type} // 'varsets';
    return {data => {type => $type, attributes => \%attrs}};
}

sub var_body {
    my (%attrs) = @_;
    return {data => {type => 'vars', attributes => \%attrs}};
}

sub ws_refs {
    return {data => [map { {type => 'workspaces', id => $_} } @_]};
}

sub create_set {
    my ($token, %attrs) = @_;
    return call(POST => $SETS, token => $token, body => set_body(%attrs));
}

sub set_count {
    return sql("SELECT count(*) FROM variable_sets WHERE name LIKE 'vs31-%'");
}

sub assigned {
    my ($set) = @_;
    return sql("SELECT coalesce(string_agg(workspace_id, ',' ORDER BY workspace_id), '')"
               . " FROM variable_set_workspaces WHERE varset_id = '$set'");
}

# ---- create ----

my $r = create_set($admin, name => 'vs31-base', description => 'the basics',
                   global => $false, priority => 1);
is $r->code, 201, 'create a variable set: 201';
my $set = json_of($r)->{data};
my $base = $set->{id};
is $set->{type}, 'varsets', 'type varsets';
like $base, qr/^varset-[A-Za-z0-9]{16}$/, 'id varset-...';
is $set->{attributes}{name}, 'vs31-base', 'name as sent';
is $set->{attributes}{description}, 'the basics', 'description as sent';
is_deeply $set->{attributes}{global}, $false, 'global as sent';
is $set->{attributes}{priority}, 1, 'priority as sent';
is $set->{attributes}{'var-count'}, 0, 'var-count 0';
is $set->{attributes}{'workspace-count'}, 0, 'workspace-count 0';
is_deeply $set->{relationships}{workspaces}{data}, [], 'no workspaces';
is_deeply $set->{relationships}{vars}{data}, [], 'no vars';
is_deeply $set->{relationships}{organization}{data},
          {id => 'default', type => 'organizations'}, 'in the organization';
is $set->{links}{self}, "/api/v2/varsets/$base", 'links.self';

$r = create_set($admin, name => 'vs31-defaults');
is $r->code, 201, 'create with a name only: 201';
my $defaults = json_of($r)->{data};
is_deeply [@{ $defaults->{attributes} }{qw(description priority)}], ['', 0],
          'description and priority default';
is_deeply $defaults->{attributes}{global}, $false, 'global defaults to false';

is set_count(), '2', 'two sets stored';

my @bad = (
    ['no name', 422, description => 'x'],
    ['empty name', 422, name => ''],
    ['129-character name', 422, name => 'n' x 129],
    ['name not a string', 422, name => 5],
    ['global not a boolean', 422, name => 'vs31-bad', global => 'yes'],
    ['priority not an integer', 422, name => 'vs31-bad', priority => 'high'],
    ['priority a fraction', 422, name => 'vs31-bad', priority => 1.5],
    ['priority a boolean', 422, name => 'vs31-bad', priority => $true],
    ['priority beyond 32 bits', 422, name => 'vs31-bad', priority => 2147483648],
    ['description not a string', 422, name => 'vs31-bad', description => 1],
    ['duplicate name', 422, name => 'vs31-base'],
    ['wrong data type', 409, name => 'vs31-bad', _type => 'vars'],
);
for my $case (@bad) {
    my ($name, $status, %attrs) = @$case;
    is_error(create_set($admin, %attrs), $status, "create: $name");
}
like error_detail(create_set($admin, name => 'vs31-base')), qr/already been taken/,
     'duplicate name: "has already been taken"';
is_error(call(POST => $SETS, token => $admin, body => '{'), 400, 'create: malformed JSON');
is set_count(), '2', 'refused creates stored nothing';
is sql("SELECT description FROM variable_sets WHERE id = '$base'"), 'the basics',
   'the duplicate left the original alone';
is_error(call(POST => '/api/v2/organizations/other/varsets', token => $admin,
              body => set_body(name => 'vs31-other')), 404, 'create in another organization');
is_error(call(GET => '/api/v2/organizations/other/varsets', token => $admin), 404,
         'list in another organization');

# ---- who may do what with the sets ----

is_error(call(GET => $SETS), 401, 'list without a token');
is_error(create_set(undef, name => 'vs31-anon'), 401, 'create without a token');
is_error(create_set($plain, name => 'vs31-plain'), 403, 'plain user creates');
is_error(create_set($audit, name => 'vs31-audit'), 403, 'auditor creates');
is_error(call(GET => $SETS, token => $plain), 403, 'plain user lists');
is_error(call(GET => "/api/v2/varsets/$base", token => $plain), 403, 'plain user reads one');
is_error(call(GET => "/api/v2/varsets/$base", token => $owner), 403,
         'a workspace owner reads one');
is call(GET => $SETS, token => $audit)->code, 200, 'auditor lists: 200';
is call(GET => "/api/v2/varsets/$base", token => $audit)->code, 200, 'auditor reads one: 200';
is_error(call(PATCH => "/api/v2/varsets/$base", token => $audit,
              body => set_body(priority => 9)), 403, 'auditor updates');
is_error(call(DELETE => "/api/v2/varsets/$base", token => $audit), 403, 'auditor deletes');
is_error(call(PATCH => "/api/v2/varsets/$base", token => $plain,
              body => set_body(priority => 9)), 403, 'plain user updates');
is_error(call(DELETE => "/api/v2/varsets/$base", token => $plain), 403,
         'plain user deletes');
is set_count(), '2', 'refused calls stored nothing';
is sql("SELECT priority FROM variable_sets WHERE id = '$base'"), '1',
   'refused calls changed nothing';

# ---- list and show ----

$r = call(GET => "$SETS?page[size]=100", token => $admin);
is $r->code, 200, 'list: 200';
my @mine = grep { $_->{attributes}{name} =~ /^vs31-/ } @{ json_of($r)->{data} };
is_deeply [map { $_->{attributes}{name} } @mine], ['vs31-base', 'vs31-defaults'],
          'list: the sets, by name';
ok json_of($r)->{meta}{pagination}{'total-count'} >= 2, 'list: paginated';
$r = call(GET => "/api/v2/varsets/$base", token => $admin);
is $r->code, 200, 'show: 200';
is json_of($r)->{data}{attributes}{name}, 'vs31-base', 'show: the set';
is_error(call(GET => '/api/v2/varsets/varset-doesnotexist00', token => $admin), 404,
         'show an unknown set');

# ---- update ----

$r = call(PATCH => "/api/v2/varsets/$defaults->{id}", token => $admin,
          body => set_body(priority => -3, global => $true));
is $r->code, 200, 'PATCH priority and global: 200';
my $attrs = json_of($r)->{data}{attributes};
is $attrs->{priority}, -3, 'PATCH: priority changed';
is_deeply $attrs->{global}, $true, 'PATCH: global changed';
is $attrs->{name}, 'vs31-defaults', 'PATCH: name kept';
$r = call(PATCH => "/api/v2/varsets/$defaults->{id}", token => $admin,
          body => set_body(name => 'vs31-renamed', description => 'now described'));
is $r->code, 200, 'PATCH name and description: 200';
$attrs = json_of($r)->{data}{attributes};
is_deeply [@$attrs{qw(name description priority)}], ['vs31-renamed', 'now described', -3],
          'PATCH: name and description changed, priority kept';
is_error(call(PATCH => "/api/v2/varsets/$defaults->{id}", token => $admin,
              body => set_body(name => 'vs31-base')), 422, 'PATCH onto a taken name');
is_error(call(PATCH => "/api/v2/varsets/$defaults->{id}", token => $admin,
              body => set_body(name => '')), 422, 'PATCH an empty name');
is_error(call(PATCH => "/api/v2/varsets/$defaults->{id}", token => $admin,
              body => set_body(priority => 'x')), 422, 'PATCH a bad priority');
is_error(call(PATCH => "/api/v2/varsets/$defaults->{id}", token => $admin,
              body => set_body(priority => 1, _type => 'workspaces')), 409,
         'PATCH with the wrong data type');
is sql("SELECT name || '|' || priority FROM variable_sets WHERE id = '$defaults->{id}'"),
   'vs31-renamed|-3', 'refused PATCHes changed nothing';
is_error(call(PATCH => '/api/v2/varsets/varset-doesnotexist00', token => $admin,
              body => set_body(priority => 1)), 404, 'PATCH an unknown set');

# ---- a set's variables: the workspace rules, under the set ----

my $SVARS = "/api/v2/varsets/$base/relationships/vars";
$r = call(POST => $SVARS, token => $admin,
          body => var_body(key => 'TEAM', value => 'core', category => 'env'));
is $r->code, 201, 'create a set variable: 201';
my $team = json_of($r)->{data};
is $team->{type}, 'vars', 'set variable: type vars';
is_deeply $team->{relationships}{configurable}{data}, {id => $base, type => 'varsets'},
          'set variable: configurable is the set';
is_deeply $team->{relationships}{varset}{data}, {id => $base, type => 'varsets'},
          'set variable: varset is the set';
is $team->{links}{self}, "$SVARS/$team->{id}", 'set variable: links.self';
is sql("SELECT varset_id || '|' || coalesce(workspace_id, 'none')"
       . " FROM variables WHERE id = '$team->{id}'"),
   "$base|none", 'set variable stored under the set';

$r = call(POST => $SVARS, token => $admin,
          body => var_body(key => 'SET_SECRET', value => $secret, category => 'env',
                           sensitive => $true));
is $r->code, 201, 'create a sensitive set variable: 201';
my $set_secret = json_of($r)->{data}{id};
ok !defined json_of($r)->{data}{attributes}{value}, 'sensitive set variable: value null';
is sql("SELECT value FROM variables WHERE id = '$set_secret'"), '',
   'sensitive set variable: value column empty';
is sql("SELECT count(*) FROM variables WHERE sealed_value LIKE '%$secret%'"
       . " OR value LIKE '%$secret%'"), '0', 'sensitive set variable sealed';

is_error(call(POST => $SVARS, token => $admin,
              body => var_body(key => 'TEAM', category => 'env')), 422,
         'duplicate set variable');
is_error(call(POST => $SVARS, token => $admin,
              body => var_body(key => 'bad key', category => 'env')), 422,
         'set variable with a bad key');
is_error(call(POST => $SVARS, token => $admin,
              body => var_body(key => 'NOCAT')), 422, 'set variable without a category');
is sql("SELECT count(*) FROM variables WHERE varset_id = '$base'"), '2',
   'refused set variables stored nothing';

$r = call(GET => $SVARS, token => $audit);
is $r->code, 200, 'auditor lists set variables: 200';
is_deeply [map { $_->{attributes}{key} } @{ json_of($r)->{data} }], ['SET_SECRET', 'TEAM'],
          'set variables listed';
ok !defined json_of($r)->{data}[0]{attributes}{value}, 'listed sensitive value null';

$r = call(GET => "$SVARS/$team->{id}", token => $audit);
is $r->code, 200, 'auditor shows a set variable: 200';
is json_of($r)->{data}{attributes}{value}, 'core', 'the set variable shown';
$r = call(GET => "$SVARS/$set_secret", token => $admin);
ok !defined json_of($r)->{data}{attributes}{value}, 'shown sensitive value null';
is_error(call(GET => "$SVARS/$team->{id}", token => $plain), 403,
         'plain user shows a set variable');

$r = call(PATCH => "$SVARS/$team->{id}", token => $admin, body => var_body(value => 'edge'));
is $r->code, 200, 'PATCH a set variable: 200';
is json_of($r)->{data}{attributes}{value}, 'edge', 'set variable value changed';
is_error(call(PATCH => "$SVARS/$set_secret", token => $admin,
              body => var_body(sensitive => $false)), 422,
         'a sensitive set variable cannot be made non-sensitive');

$r = call(GET => "/api/v2/varsets/$base", token => $admin);
is json_of($r)->{data}{attributes}{'var-count'}, 2, 'show: var-count';
is_deeply [sort map { $_->{id} } @{ json_of($r)->{data}{relationships}{vars}{data} }],
          [sort $team->{id}, $set_secret], 'show: relationships.vars';

is_error(call(POST => $SVARS, token => $audit,
              body => var_body(key => 'AUDIT', category => 'env')), 403,
         'auditor creates a set variable');
is_error(call(PATCH => "$SVARS/$team->{id}", token => $audit,
              body => var_body(value => 'x')), 403, 'auditor updates a set variable');
is_error(call(DELETE => "$SVARS/$team->{id}", token => $audit), 403,
         'auditor deletes a set variable');
is_error(call(GET => $SVARS, token => $plain), 403, 'plain user lists set variables');
is_error(call(GET => $SVARS), 401, 'set variables without a token');
is sql("SELECT value FROM variables WHERE id = '$team->{id}'"), 'edge',
   'refused set-variable calls changed nothing';

my $OTHER_SVARS = "/api/v2/varsets/$defaults->{id}/relationships/vars";
is_error(call(GET => "$OTHER_SVARS/$team->{id}", token => $admin), 404,
         'show a variable through another set');
is_error(call(PATCH => "$OTHER_SVARS/$team->{id}", token => $admin,
              body => var_body(value => 'x')), 404,
         'PATCH a variable through another set');
is_error(call(DELETE => "$OTHER_SVARS/$team->{id}", token => $admin), 404,
         'DELETE a variable through another set');
my $NOSET = '/api/v2/varsets/varset-doesnotexist00/relationships/vars';
is_error(call(GET => $NOSET, token => $admin), 404, 'variables of an unknown set');
is_error(call(POST => $NOSET, token => $admin,
              body => var_body(key => 'X', category => 'env')), 404,
         'create in an unknown set');

my $ws_a = make_ws($owner, 'vs31-a');
my $ws_b = make_ws($owner, 'vs31-b');
my $ws_c = make_ws($owner, 'vs31-c');
$r = call(POST => "/api/v2/workspaces/$ws_a/vars", token => $owner,
          body => var_body(key => 'OVERRIDE', value => 'ws', category => 'env'));
my $ws_var = json_of($r)->{data}{id};
is_error(call(PATCH => "$SVARS/$ws_var", token => $admin, body => var_body(value => 'x')),
         404, 'a workspace variable is not reachable through a set');
is_error(call(GET => "$SVARS/$ws_var", token => $admin), 404,
         'a workspace variable is not shown through a set');
is_error(call(PATCH => "/api/v2/workspaces/$ws_a/vars/$team->{id}", token => $owner,
              body => var_body(value => 'x')), 404,
         'a set variable is not reachable through a workspace');

$r = call(POST => $SVARS, token => $admin,
          body => var_body(key => 'DOOMED', category => 'terraform'));
my $doomed = json_of($r)->{data}{id};
is call(DELETE => "$SVARS/$doomed", token => $admin)->code, 204,
   'DELETE a set variable: 204';
is sql("SELECT count(*) FROM variables WHERE id = '$doomed'"), '0', 'set variable gone';
is_error(call(DELETE => "$SVARS/$doomed", token => $admin), 404,
         'DELETE a set variable again');

# ---- assigning sets to workspaces ----

my $SWS = "/api/v2/varsets/$base/relationships/workspaces";
is call(POST => $SWS, token => $admin, body => ws_refs($ws_a, $ws_b))->code, 204,
   'assign two workspaces: 204';
is assigned($base), join(',', sort $ws_a, $ws_b), 'both assigned';
is call(POST => $SWS, token => $admin, body => ws_refs($ws_a))->code, 204,
   'assign again: 204';
is assigned($base), join(',', sort $ws_a, $ws_b), 'assigning again changes nothing';
$r = call(GET => "/api/v2/varsets/$base", token => $admin);
is json_of($r)->{data}{attributes}{'workspace-count'}, 2, 'show: workspace-count';
is_deeply [sort map { $_->{id} } @{ json_of($r)->{data}{relationships}{workspaces}{data} }],
          [sort $ws_a, $ws_b], 'show: relationships.workspaces';

is_error(call(POST => $SWS, token => $admin,
              body => ws_refs($ws_c, 'ws-doesnotexist0000')), 404,
         'assign with an unknown workspace');
like error_detail(call(POST => $SWS, token => $admin,
                       body => ws_refs('ws-doesnotexist0000'))),
     qr/ws-doesnotexist0000/, 'the unknown workspace is named';
is_error(call(POST => $SWS, token => $admin, body => {data => {type => 'workspaces',
                                                               id => $ws_c}}),
         400, 'assign with data not a list');
is_error(call(POST => $SWS, token => $admin, body => {data => []}), 422,
         'assign an empty list');
is_error(call(POST => $SWS, token => $admin,
              body => {data => [{type => 'vars', id => $ws_c}]}), 422,
         'assign something that is not a workspace');
is_error(call(POST => $SWS, token => $admin,
              body => {data => [{type => 'workspaces'}]}), 422,
         'assign a workspace without an id');
is_error(call(POST => $SWS, token => $admin, body => 'x'), 400, 'assign malformed JSON');
is_error(call(POST => $SWS, token => $audit, body => ws_refs($ws_c)), 403,
         'auditor assigns');
is_error(call(POST => $SWS, token => $owner, body => ws_refs($ws_c)), 403,
         'a workspace owner assigns');
is_error(call(POST => $SWS, body => ws_refs($ws_c)), 401, 'assign without a token');
is_error(call(POST => '/api/v2/varsets/varset-doesnotexist00/relationships/workspaces',
              token => $admin, body => ws_refs($ws_c)), 404, 'assign an unknown set');
is assigned($base), join(',', sort $ws_a, $ws_b), 'refused assignments changed nothing';

is call(DELETE => $SWS, token => $admin, body => ws_refs($ws_b))->code, 204,
   'unassign a workspace: 204';
is assigned($base), $ws_a, 'unassigned';
is call(DELETE => $SWS, token => $admin, body => ws_refs($ws_b))->code, 204,
   'unassign again: 204';
is_error(call(DELETE => $SWS, token => $admin,
              body => ws_refs($ws_a, 'ws-doesnotexist0000')), 404,
         'unassign with an unknown workspace');
is_error(call(DELETE => $SWS, token => $audit, body => ws_refs($ws_a)), 403,
         'auditor unassigns');
is assigned($base), $ws_a, 'refused unassignments changed nothing';

# ---- precedence in all-vars ----

sub make_set {
    my (%attrs) = @_;
    my $vars = delete $attrs{vars};
    my $ws = delete $attrs{workspaces};
    my $r = create_set($admin, %attrs);
    die 'creating set: ' . $r->as_string unless $r->code == 201;
    my $id = json_of($r)->{data}{id};
    for my $v (@$vars) {
        my ($key, $value, $category, %more) = @$v;
        my $r = call(POST => "/api/v2/varsets/$id/relationships/vars", token => $admin,
                     body => var_body(key => $key, value => $value,
                                      category => $category // 'env', %more));
        die 'creating set variable: ' . $r->as_string unless $r->code == 201;
    }
    call(POST => "/api/v2/varsets/$id/relationships/workspaces", token => $admin,
         body => ws_refs(@$ws)) if $ws;
    return $id;
}

sub effective {
    my ($ws, $token) = @_;
    my $r = call(GET => "/api/v2/workspaces/$ws/all-vars", token => $token // $owner);
    return {map {; "$_->{attributes}{category}/$_->{attributes}{key}" => $_ }
            @{ json_of($r)->{data} || [] }};
}

sub values_of {
    my ($eff) = @_;
    return {map {; $_ => $eff->{$_}{attributes}{value} } keys %$eff};
}

sub source_of {
    my ($item) = @_;
    my $d = $item->{relationships}{configurable}{data};
    return "$d->{type}:$d->{id}";
}

# the base set: TEAM=edge and SET_SECRET, assigned to A only
my $global = make_set(name => 'vs31-global', global => $true, priority => 0,
                      vars => [['SHARED', 'g'], ['LEVEL', 'g'], ['OVERRIDE', 'g'],
                               ['GLOBAL_SECRET', $secret, 'env', sensitive => $true]]);
my $low = make_set(name => 'vs31-low', priority => 1, workspaces => [$ws_a],
                   vars => [['LEVEL', 'low'], ['OVERRIDE', 'low'],
                            ['LEVEL', 'tf-low', 'terraform']]);
my $high = make_set(name => 'vs31-high', priority => 5, workspaces => [$ws_a],
                    vars => [['LEVEL', 'high']]);
my $unassigned = make_set(name => 'vs31-unassigned', priority => 100,
                          vars => [['LEVEL', 'unassigned'], ['LONELY', 'x']]);

my $eff = effective($ws_a);
is_deeply values_of($eff),
          {'env/SHARED' => 'g', 'env/LEVEL' => 'high', 'env/OVERRIDE' => 'ws',
           'env/GLOBAL_SECRET' => undef, 'terraform/LEVEL' => 'tf-low',
           'env/TEAM' => 'edge', 'env/SET_SECRET' => undef},
          'A: the merged set';
is source_of($eff->{'env/OVERRIDE'}), "workspaces:$ws_a",
   'A: the workspace\'s own variable beats every set';
is $eff->{'env/OVERRIDE'}{id}, $ws_var, 'A: ... and is that variable';
is source_of($eff->{'env/LEVEL'}), "varsets:$high", 'A: the higher priority set wins';
is source_of($eff->{'terraform/LEVEL'}), "varsets:$low",
   'A: the same key in another category is its own variable';
is source_of($eff->{'env/SHARED'}), "varsets:$global", 'A: a global set applies';
is source_of($eff->{'env/TEAM'}), "varsets:$base", 'A: an assigned set applies';
ok !$eff->{'env/LONELY'}, 'A: an unassigned set does not apply';
is_deeply $eff->{'env/GLOBAL_SECRET'}{attributes}{sensitive}, $true,
          'A: a sensitive set variable is marked sensitive';

$eff = effective($ws_b);
is_deeply values_of($eff),
          {'env/SHARED' => 'g', 'env/LEVEL' => 'g', 'env/OVERRIDE' => 'g',
           'env/GLOBAL_SECRET' => undef},
          'B (nothing assigned): only the global set';
is source_of($eff->{'env/LEVEL'}), "varsets:$global", 'B: from the global set';

# a higher-priority global set beats a lower-priority assigned one
my $loud = make_set(name => 'vs31-loud', global => $true, priority => 3,
                    vars => [['OVERRIDE', 'loud']]);
$eff = effective($ws_c);
is $eff->{'env/OVERRIDE'}{attributes}{value}, 'loud',
   'C: the higher-priority of two global sets wins';
call(POST => "/api/v2/varsets/$low/relationships/workspaces", token => $admin,
     body => ws_refs($ws_c));
$eff = effective($ws_c);
is $eff->{'env/OVERRIDE'}{attributes}{value}, 'loud',
   'C: a higher-priority global set beats a lower-priority assigned one';
is $eff->{'env/LEVEL'}{attributes}{value}, 'low',
   'C: a higher-priority assigned set beats a lower-priority global one';

# changes to the sets show at once
call(PATCH => "/api/v2/varsets/$unassigned", token => $admin,
     body => set_body(global => $true));
$eff = effective($ws_b);
is $eff->{'env/LEVEL'}{attributes}{value}, 'unassigned', 'a set made global applies';
ok $eff->{'env/LONELY'}, '... with all its variables';
call(PATCH => "/api/v2/varsets/$unassigned", token => $admin,
     body => set_body(global => $false));
is call(DELETE => "/api/v2/varsets/$high", token => $admin)->code, 204,
   'DELETE a set: 204';
is effective($ws_a)->{'env/LEVEL'}{attributes}{value}, 'low',
   'A: with the high set gone, the low one wins';
call(DELETE => "/api/v2/varsets/$low/relationships/workspaces", token => $admin,
     body => ws_refs($ws_a));
is effective($ws_a)->{'env/LEVEL'}{attributes}{value}, 'g',
   'A: unassigned from the low set, the global one wins';

# who may read the merged set
api(POST => $ROLES, token => $admin,
    body => {data => {type => 'roles',
                      attributes => {name => 'vs31-reader', 'workspace-permission' => 'read',
                                     'allow-names' => ['vs31-a']}}});
api(PUT => $RA, token => $admin,
    body => {data => {type => 'role-assignments',
                      attributes => {'provider-name' => 'local',
                                     email => 'vs31-reader@test.local',
                                     roles => ['vs31-reader']}}});
is effective($ws_a, $reader)->{'env/SHARED'}{attributes}{value}, 'g',
   'a reader of the workspace sees the merged set';
is_error(call(GET => "/api/v2/workspaces/$ws_b/all-vars", token => $reader), 404,
         'all-vars of a workspace the reader cannot see');
is_error(call(GET => "/api/v2/workspaces/$ws_a/all-vars", token => $plain), 404,
         'all-vars for a user without access');

# ---- deleting a set takes its variables and assignments ----

is call(DELETE => "/api/v2/varsets/$base", token => $admin)->code, 204,
   'DELETE the base set: 204';
is sql("SELECT count(*) FROM variables WHERE varset_id = '$base'"), '0',
   'its variables went with it';
is assigned($base), '', 'its assignments went with it';
is_error(call(GET => "/api/v2/varsets/$base", token => $admin), 404, 'deleted set');
is_error(call(DELETE => "/api/v2/varsets/$base", token => $admin), 404,
         'DELETE a set again');
ok !effective($ws_a)->{'env/TEAM'}, 'A: the deleted set no longer applies';

# deleting a workspace takes its assignments
call(POST => "/api/v2/varsets/$unassigned/relationships/workspaces", token => $admin,
     body => ws_refs($ws_c));
is call(DELETE => "/api/v2/workspaces/$ws_c", token => $owner)->code, 204,
   'delete a workspace with an assigned set: 204';
is sql("SELECT count(*) FROM variable_set_workspaces WHERE workspace_id = '$ws_c'"),
   '0', 'its assignments went with it';

# global sets stay out of other workspaces' way in later tests
call(PATCH => "/api/v2/varsets/$_", token => $admin, body => set_body(global => $false))
    for $global, $loud, $defaults->{id};

is scalar(grep { index($_, $secret) >= 0 } @answers), 0,
   'no answer carried a sensitive value';
