# Projects: the built-in default project, create / show / list / update /
# delete with their exact shapes and refusals (422 and nothing stored,
# 403 for non-admins, 409 for the default project and for a project that
# still holds workspaces), and workspaces in projects: the project
# relationship on create and update, the default for workspaces created
# without one, moves between projects, and filter[project][id].
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use POSIX ();

plan tests => 167;

my $admin = admin_token();
my $user_email = 'prj13-user@test.local';
my $user = user_token($user_email);

my $ORG_PRJ = '/api/v2/organizations/default/projects';
my $ORG_WS = '/api/v2/organizations/default/workspaces';
my $T = JSON::PP::true;
my $F = JSON::PP::false;

sub prj_body {
    my (%attrs) = @_;
    return {data => {type => 'projects', attributes => \%attrs}};
}

sub create_prj {
    my ($token, %attrs) = @_;
    return api(POST => $ORG_PRJ, token => $token, body => prj_body(%attrs));
}

sub patch_prj {
    my ($token, $id, %attrs) = @_;
    return api(PATCH => "/api/v2/projects/$id", token => $token,
               body => prj_body(%attrs));
}

# A workspace document; project => ID (or a ref, sent as the data as is)
# goes into relationships.project.
sub ws_body {
    my (%attrs) = @_;
    my $doc = {data => {type => 'workspaces', attributes => \%attrs}};
    if (exists $attrs{project}) {
        my $prj = delete $attrs{project};
        $doc->{data}{relationships}{project}{data}
            = ref $prj || !defined $prj ? $prj
                                        : {type => 'projects', id => $prj};
    }
    return $doc;
}

sub count_where {
    my ($table, $cond) = @_;
    return sql("SELECT count(*) FROM $table WHERE $cond");
}

# The permissions every caller has, with can-update and can-destroy.
sub perms {
    my ($update, $destroy) = @_;
    return {'can-read' => $T, 'can-update' => $update ? $T : $F,
            'can-destroy' => $destroy ? $T : $F,
            'can-create-workspace' => $T, 'can-move-workspace' => $T};
}

# The whole document project $id should be, with the attributes given
# (created-at is taken from the answer $got, checked elsewhere).
sub prj_doc {
    my ($id, $got, %attrs) = @_;
    return {
        id => $id, type => 'projects',
        attributes => {'created-at' => $got->{attributes}{'created-at'},
                       'default-execution-mode' => 'local',
                       'auto-destroy-activity-duration' => undef, %attrs},
        relationships => {organization => {
            data => {id => 'default', type => 'organizations'},
            links => {related => '/api/v2/organizations/default'}}},
        links => {self => "/api/v2/projects/$id"},
    };
}

sub ws_project { sql("SELECT project_id FROM workspaces WHERE id = '$_[0]'") }

sub names_of {
    my ($r) = @_;
    return [map { $_->{attributes}{name} } @{ json_of($r)->{data} || [] }];
}

# ---- the default project ----

my $default_id = sql("SELECT id FROM projects WHERE is_default");
like $default_id, qr/^prj-[A-Za-z0-9]{16}$/, 'the default project has a prj- id';

my $r = api(GET => "/api/v2/projects/$default_id", token => $user);
is $r->code, 200, 'show the default project: 200';
my $d = json_of($r)->{data};
is_deeply $d, prj_doc($default_id, $d, name => 'Default Project', description => '',
                      'workspace-count' => $d->{attributes}{'workspace-count'},
                      permissions => perms(0, 0)),
          'the default project: the exact document, as a non-admin sees it';
like $d->{attributes}{'created-at'}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'created-at is RFC 3339';
is $d->{attributes}{'workspace-count'},
   count_where('workspaces', "project_id = '$default_id'"),
   'workspace-count counts the workspaces in it';

$r = api(GET => "/api/v2/projects/$default_id", token => $admin);
is_deeply json_of($r)->{data}{attributes}{permissions}, perms(1, 0),
          'an admin may update the default project but not destroy it';

is_error(api(GET => "/api/v2/projects/$default_id"), 401, 'show without a token');
is_error(api(GET => '/api/v2/projects/prj-doesnotexist00', token => $user),
         404, 'show an unknown project');
is_error(api(GET => '/api/v2/organizations/other/projects', token => $user),
         404, 'another organization');

# ---- create ----

$r = create_prj($admin, name => 'Payments Team', description => 'cards');
is $r->code, 201, 'create: 201';
my $p = json_of($r)->{data};
my $pay = $p->{id};
like $pay, qr/^prj-[A-Za-z0-9]{16}$/, 'create: prj- id';
is_deeply $p, prj_doc($pay, $p, name => 'Payments Team', description => 'cards',
                      'workspace-count' => 0, permissions => perms(1, 1)),
          'create: the exact document';
is sql("SELECT name || '|' || description || '|' || is_default FROM projects"
       . " WHERE id = '$pay'"), 'Payments Team|cards|false', 'create: stored';

$r = create_prj($admin, name => 'agents_by-default', 'default-execution-mode' => 'remote',
                'auto-destroy-activity-duration' => undef);
is $r->code, 201, 'create with default-execution-mode remote: 201';
my $agents = json_of($r)->{data}{id};
is json_of($r)->{data}{attributes}{'default-execution-mode'}, 'agent',
   'remote is answered as agent (remote runs happen on agents here)';

is_error(create_prj($user, name => 'prj13-by-user'), 403, 'create as a non-admin');
is count_where('projects', "name = 'prj13-by-user'"), '0',
   'non-admin create: nothing stored';

is_error(create_prj($admin, name => 'Payments Team'), 422, 'duplicate name');
is count_where('projects', "name = 'Payments Team'"), '1',
   'duplicate name: still one project';
is_error(create_prj($admin, name => 'payments TEAM'), 422,
         'a name taken but for its case');
is count_where('projects', "lower(name) = 'payments team'"), '1',
   'names differing in case only: still one project';
is sql("SELECT description FROM projects WHERE name = 'Payments Team'"), 'cards',
   'duplicate name: the first is unchanged';

my %bad_names = ('two characters' => 'ab', '41 characters' => 'x' x 41,
                 'a leading space' => ' lead', 'a trailing space' => 'trail ',
                 'a slash' => 'bad/name', 'a dot' => 'bad.name',
                 'the empty name' => '', 'a plus' => 'a+b+c');
for my $what (sort keys %bad_names) {
    is_error(create_prj($admin, name => $bad_names{$what}), 422,
             "a name with $what");
}
like error_detail(create_prj($admin, name => 'bad/name')),
     qr/may only contain letters, numbers, spaces, -, and _/,
     'the bad name error says the rule';
is_error(create_prj($admin), 422, 'no name');
is_error(create_prj($admin, name => 42), 422, 'a name that is no string');
is_error(create_prj($admin, name => 'prj13-long', description => 'd' x 257),
         422, 'a description of 257 characters');
is_error(create_prj($admin, name => 'prj13-mode', 'default-execution-mode' => 'cloud'),
         422, 'an unknown default-execution-mode');
is_error(create_prj($admin, name => 'prj13-destroy',
                    'auto-destroy-activity-duration' => '14d'),
         422, 'an auto-destroy-activity-duration');
is_error(api(POST => $ORG_PRJ, token => $admin,
             body => {data => {type => 'workspaces',
                               attributes => {name => 'prj13-type'}}}),
         409, 'data.type other than projects');
is count_where('projects', "name LIKE 'prj13-%' OR name LIKE 'bad%'"
                           . " OR length(name) < 3 OR name LIKE ' %'"),
   '0', 'refused creates: nothing stored';

$r = create_prj($admin, name => 'abc', description => 'd' x 256);
is $r->code, 201, 'three characters and a 256-character description: 201';
my $abc = json_of($r)->{data}{id};
$r = create_prj($admin, name => 'Forty ' . ('x' x 34));
is $r->code, 201, 'forty characters with an inner space: 201';
my $forty = json_of($r)->{data}{id};

# ---- show and list ----

$r = api(GET => "/api/v2/projects/$pay", token => $user);
is $r->code, 200, 'a non-admin shows a project: 200';
is_deeply json_of($r)->{data}{attributes}{permissions}, perms(0, 0),
          'a non-admin: read, create and move workspaces, nothing more';

my $all = [sort { $a cmp $b } 'Default Project', 'Payments Team',
           'agents_by-default', 'abc', 'Forty ' . ('x' x 34)];
$r = api(GET => $ORG_PRJ, token => $user);
is $r->code, 200, 'list: 200';
is_deeply names_of($r), $all, 'list: every project, ordered by name';
my $pg = json_of($r)->{meta}{pagination};
is_deeply [@$pg{qw(current-page prev-page next-page total-pages total-count)}],
          [1, undef, undef, 1, 5], 'list: meta.pagination';
is json_of($r)->{data}[0]{links}{self}, "/api/v2/projects/"
   . json_of($r)->{data}[0]{id}, 'list: each project has links.self';

$r = api(GET => "$ORG_PRJ?page%5Bsize%5D=2&page%5Bnumber%5D=2", token => $user);
is_deeply names_of($r), [@$all[2, 3]], 'list: page 2 of size 2';
is json_of($r)->{meta}{pagination}{'total-pages'}, 3, 'list: 3 pages of 2';
is json_of($r)->{meta}{pagination}{'next-page'}, 3, 'list: next page 3';

$r = api(GET => "$ORG_PRJ?q=PAY", token => $user);
is_deeply names_of($r), ['Payments Team'], 'q: part of the name, any case';
$r = api(GET => "$ORG_PRJ?filter%5Bnames%5D=ABC,%20payments%20team,nope",
         token => $user);
is_deeply names_of($r), ['Payments Team', 'abc'],
          'filter[names]: whole names, comma-separated, any case';
$r = api(GET => "$ORG_PRJ?q=default&filter%5Bnames%5D=abc", token => $user);
is_deeply names_of($r), ['abc'], 'filter[names] wins over q';
$r = api(GET => "$ORG_PRJ?filter%5Bnames%5D=Payments", token => $user);
is_deeply names_of($r), [], 'filter[names]: no partial matches';
is json_of($r)->{meta}{pagination}{'total-count'}, 0,
   'filter[names] without a match: total-count 0';
is_error(api(GET => "$ORG_PRJ?page%5Bsize%5D=x", token => $user), 400,
         'list with a bad page[size]');

# ---- update ----

$r = patch_prj($admin, $pay, name => 'Payments', description => 'cards and wallets',
               'default-execution-mode' => 'agent');
is $r->code, 200, 'rename: 200';
is_deeply [@{ json_of($r)->{data}{attributes} }{qw(name description default-execution-mode)}],
          ['Payments', 'cards and wallets', 'agent'], 'rename: the new attributes';
is json_of($r)->{data}{id}, $pay, 'rename: the id stays';
is sql("SELECT name || '|' || default_execution_mode FROM projects WHERE id = '$pay'"),
   'Payments|agent', 'rename: stored';

$r = patch_prj($admin, $pay, description => 'only this');
is $r->code, 200, 'a partial update: 200';
is json_of($r)->{data}{attributes}{name}, 'Payments',
   'a partial update leaves the name';

is_error(patch_prj($admin, $pay, name => 'abc'), 422, 'rename to a taken name');
is_error(patch_prj($admin, $pay, name => 'ABC'), 422,
         'rename to a name taken but for its case');
is_error(patch_prj($admin, $pay, name => 'x'), 422, 'rename to a bad name');
is_error(patch_prj($user, $pay, name => 'Mine Now'), 403, 'rename as a non-admin');
is_error(patch_prj($admin, 'prj-doesnotexist00', name => 'Ghost'), 404,
         'rename an unknown project');
is sql("SELECT name || '|' || description FROM projects WHERE id = '$pay'"),
   'Payments|only this', 'refused updates: nothing changed';

$r = patch_prj($admin, $default_id, name => 'Default Project');
is $r->code, 200, 'the default project can be updated';
is json_of($r)->{data}{id}, $default_id, 'and keeps its id';

# ---- workspaces in projects ----

$r = api(POST => $ORG_WS, token => $user, body => ws_body(name => 'prj13-plain'));
is $r->code, 201, 'a workspace without a project: 201';
my $w = json_of($r)->{data};
my $plain = $w->{id};
is_deeply $w->{relationships}{project}, {
    data => {id => $default_id, type => 'projects'},
    links => {related => "/api/v2/projects/$default_id"},
}, 'it is in the default project: the exact relationship';
is ws_project($plain), $default_id, 'stored in the default project';
is $w->{attributes}{'execution-mode'}, 'local',
   'the default project\'s execution mode';

$r = api(POST => $ORG_WS, token => $user,
         body => ws_body(name => 'prj13-pay', project => $pay));
is $r->code, 201, 'a workspace in a project: 201';
$w = json_of($r)->{data};
my $in_pay = $w->{id};
is_deeply $w->{relationships}{project}, {
    data => {id => $pay, type => 'projects'},
    links => {related => "/api/v2/projects/$pay"},
}, 'the relationship names the project';
is ws_project($in_pay), $pay, 'stored in the project';
is $w->{attributes}{'execution-mode'}, 'agent',
   'a new workspace takes its project\'s default execution mode';
is $w->{attributes}{'owner-email'}, $user_email, 'the creator owns it';

$r = api(POST => $ORG_WS, token => $user,
         body => ws_body(name => 'prj13-pay-local', project => $pay,
                         'execution-mode' => 'local'));
is $r->code, 201, 'a workspace in a project with its own mode: 201';
my $pay_local = json_of($r)->{data}{id};
is json_of($r)->{data}{attributes}{'execution-mode'}, 'local',
   'its own execution mode wins';

$r = api(POST => $ORG_WS, token => $user,
         body => ws_body(name => 'prj13-ghost', project => 'prj-doesnotexist00'));
is_error($r, 422, 'a workspace in an unknown project');
is error_detail($r), 'project prj-doesnotexist00 not found',
   'the refusal names the project';
is_error(api(POST => $ORG_WS, token => $user,
             body => ws_body(name => 'prj13-null', project => undef)),
         422, 'a workspace with a null project');
is_error(api(POST => $ORG_WS, token => $user,
             body => ws_body(name => 'prj13-noid', project => {type => 'projects'})),
         422, 'a project relationship without an id');
is count_where('workspaces', "name IN ('prj13-ghost', 'prj13-null', 'prj13-noid')"),
   '0', 'refused workspace creates: nothing stored';

$r = api(GET => "/api/v2/projects/$pay", token => $user);
is json_of($r)->{data}{attributes}{'workspace-count'}, 2,
   'the project counts its two workspaces';

# the list filter
$r = api(GET => "$ORG_WS?filter%5Bproject%5D%5Bid%5D=$pay", token => $user);
is $r->code, 200, 'filter[project][id]: 200';
is_deeply [sort @{ names_of($r) }], ['prj13-pay', 'prj13-pay-local'],
          'filter[project][id]: the project\'s workspaces only';
is json_of($r)->{meta}{pagination}{'total-count'}, 2,
   'filter[project][id]: total-count 2';
$r = api(GET => "$ORG_WS?filter%5Bproject%5D%5Bid%5D=$default_id"
               . "&search%5Bname%5D=prj13", token => $user);
is_deeply names_of($r), ['prj13-plain'],
          'filter[project][id] of the default project, with search[name]';
$r = api(GET => "$ORG_WS?filter%5Bproject%5D%5Bid%5D=prj-doesnotexist00",
         token => $user);
is_deeply names_of($r), [], 'filter[project][id] of an unknown project: none';
# filtering never shows what the caller cannot read
my $other = user_token('prj13-other@test.local');
$r = api(GET => "$ORG_WS?filter%5Bproject%5D%5Bid%5D=$pay", token => $other);
is_deeply names_of($r), [], 'filter[project][id]: only readable workspaces';

# moving between projects
$r = api(PATCH => "/api/v2/workspaces/$plain", token => $user,
         body => ws_body(project => $abc));
is $r->code, 200, 'move a workspace to another project: 200';
is json_of($r)->{data}{relationships}{project}{data}{id}, $abc,
   'the answer names the new project';
is ws_project($plain), $abc, 'moved: stored';
is json_of($r)->{data}{attributes}{'execution-mode'}, 'local',
   'moving keeps the workspace\'s execution mode';
$r = api(GET => "/api/v2/workspaces/$plain", token => $user);
is_deeply json_of($r)->{data}{relationships}{project}, {
    data => {id => $abc, type => 'projects'},
    links => {related => "/api/v2/projects/$abc"},
}, 'show: the relationship follows the move';

$r = api(PATCH => "$ORG_WS/prj13-plain", token => $user,
         body => ws_body(description => 'renamed only'));
is $r->code, 200, 'an update without a project: 200';
is ws_project($plain), $abc, 'an update without a project leaves it';

is_error(api(PATCH => "/api/v2/workspaces/$plain", token => $user,
             body => ws_body(project => 'prj-doesnotexist00',
                             description => 'not stored')),
         422, 'move to an unknown project');
is_error(api(PATCH => "/api/v2/workspaces/$plain", token => $user,
             body => ws_body(project => undef)), 422, 'move to a null project');
is sql("SELECT project_id || '|' || description FROM workspaces WHERE id = '$plain'"),
   "$abc|renamed only", 'refused moves: nothing changed';
# moving needs admin on the workspace, as any change of its settings
is_error(api(PATCH => "/api/v2/workspaces/$plain", token => $other,
             body => ws_body(project => $pay)), 404,
         'a caller who cannot see the workspace cannot move it');
is ws_project($plain), $abc, 'still where it was';

# ---- delete ----

is_error(api(DELETE => "/api/v2/projects/$abc", token => $admin), 409,
         'delete a project that holds a workspace');
like error_detail(api(DELETE => "/api/v2/projects/$abc", token => $admin)),
     qr/still holds workspaces/, 'the refusal says why';
is count_where('projects', "id = '$abc'"), '1', 'refused: the project stays';
is ws_project($plain), $abc, 'refused: the workspace stays in it';

is_error(api(DELETE => "/api/v2/projects/$default_id", token => $admin), 409,
         'delete the default project');
is count_where('projects', "id = '$default_id'"), '1',
   'refused: the default project stays';

is_error(api(DELETE => "/api/v2/projects/$forty", token => $user), 403,
         'delete as a non-admin');
is count_where('projects', "id = '$forty'"), '1', 'refused: the project stays';
is_error(api(DELETE => '/api/v2/projects/prj-doesnotexist00', token => $admin),
         404, 'delete an unknown project');

$r = api(DELETE => "/api/v2/projects/$forty", token => $admin);
is $r->code, 204, 'delete an empty project: 204';
is count_where('projects', "id = '$forty'"), '0', 'deleted';
is_error(api(GET => "/api/v2/projects/$forty", token => $admin), 404,
         'a deleted project is gone');

# emptied by a move, then deletable; the workspace lives on
$r = api(PATCH => "/api/v2/workspaces/$plain", token => $user,
         body => ws_body(project => $default_id));
is $r->code, 200, 'move the workspace back to the default project';
$r = api(DELETE => "/api/v2/projects/$abc", token => $admin);
is $r->code, 204, 'the emptied project can be deleted';
is ws_project($plain), $default_id, 'its former workspace is unharmed';

# emptied by deleting its workspaces
for my $ws ($in_pay, $pay_local) {
    is api(DELETE => "/api/v2/workspaces/$ws", token => $user)->code, 204,
       'delete a workspace of the project';
}
is api(DELETE => "/api/v2/projects/$pay", token => $admin)->code, 204,
   'a project whose workspaces were deleted can be deleted';
is count_where('projects', "id IN ('$pay', '$abc', '$forty')"), '0',
   'three projects deleted';

# ---- races between a delete and a workspace moving in ----

# Runs SQL in a transaction of its own that sleeps before committing;
# returns once the transaction is sleeping (holding its locks).
sub in_slow_transaction {
    my ($stmts) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        exec("$ENV{PG_BINDIR}/psql", $ENV{TP_DB}, '-qc',
             "BEGIN; $stmts SELECT pg_sleep(2); COMMIT;") or POSIX::_exit(1);
    }
    wait_until(10, sub {
        sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
            eq '1' }) or die 'the slow transaction did not start';
    return $pid;
}

# the move is not committed when the delete starts: the delete waits for
# it and then sees the workspace
my $pid = in_slow_transaction(
    "UPDATE workspaces SET project_id = '$agents' WHERE id = '$plain';");
is_error(api(DELETE => "/api/v2/projects/$agents", token => $admin), 409,
         'delete while a workspace is moving in');
waitpid $pid, 0;
is ws_project($plain), $agents, 'the workspace moved in, the project stays';

# the delete is not committed when a workspace is created in the project:
# the create waits for it and then finds no project
sql("UPDATE workspaces SET project_id = '$default_id' WHERE id = '$plain'");
$pid = in_slow_transaction(
    "SELECT 1 FROM projects WHERE id = '$agents' FOR UPDATE;"
    . " DELETE FROM projects WHERE id = '$agents';");
$r = api(POST => $ORG_WS, token => $user,
         body => ws_body(name => 'prj13-late', project => $agents));
waitpid $pid, 0;
is_error($r, 422, 'create a workspace in a project being deleted');
is count_where('workspaces', "name = 'prj13-late'"), '0', 'nothing stored';
is sql("SELECT string_agg(name, ',') FROM projects"), 'Default Project',
   'only the default project is left';
