# Workspace locks (holder, reason, conflicts, force-unlock, and one winner
# among parallel lockers) and tags as views of the labels: tag bindings,
# effective tag bindings and plain tags.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use POSIX ();
use TP::Test;

plan tests => 124;

my $ORG_WS = '/api/v2/organizations/default/workspaces';

sub grant {
    my ($token, $email, @roles) = @_;
    my $r = api(PUT => '/api/terrapod/v1/role-assignments', token => $token,
                body => {data => {type => 'role-assignments',
                                  attributes => {'provider-name' => 'local',
                                                 email => $email,
                                                 roles => \@roles}}});
    die 'role assignment failed: ' . $r->status_line unless $r->code == 200;
}

sub role {
    my ($token, %attrs) = @_;
    my $r = api(POST => '/api/terrapod/v1/roles', token => $token,
                body => {data => {type => 'roles', attributes => \%attrs}});
    die 'role create failed: ' . $r->status_line unless $r->code == 201;
}

sub lock_row {
    my ($id) = @_;
    return sql("SELECT coalesce(lock_holder, '-') || '|' || lock_reason"
               . " FROM workspaces WHERE id = '$id'");
}

my $admin = admin_token();

# principals: two planners and a writer through a role on env=lock11, and
# an owner who is not a platform admin
my %email = map { $_ => "lock11-$_\@test.local" } qw(plan1 plan2 writer owner);
my %tok = map { $_ => user_token($email{$_}) } keys %email;
role($admin, name => 'lock11-plan', 'workspace-permission' => 'plan',
     'allow-labels' => {env => 'lock11'});
role($admin, name => 'lock11-write', 'workspace-permission' => 'write',
     'allow-labels' => {env => 'lock11'});
grant($admin, $email{plan1}, 'lock11-plan');
grant($admin, $email{plan2}, 'lock11-plan');
grant($admin, $email{writer}, 'lock11-write');

my $r = api(POST => $ORG_WS, token => $tok{owner},
            body => {data => {type => 'workspaces',
                              attributes => {name => 'lock11-ws',
                                             labels => {env => 'lock11'}}}});
is $r->code, 201, 'workspace for the lock tests: 201';
my $id = json_of($r)->{data}{id};
my $lock = "/api/v2/workspaces/$id/actions/lock";
my $unlock = "/api/v2/workspaces/$id/actions/unlock";
my $force = "/api/v2/workspaces/$id/actions/force-unlock";

# ---- lock and unlock ----

$r = api(POST => $lock, token => $tok{plan1}, body => {reason => 'maintenance'});
is $r->code, 200, 'lock: 200';
my $a = json_of($r)->{data}{attributes};
is_deeply $a->{locked}, JSON::PP::true, 'lock: locked true';
is $a->{'locked-by'}, $email{plan1}, 'lock: locked-by is the caller';
is $a->{'lock-reason'}, 'maintenance', 'lock: lock-reason from the body';
like $a->{'locked-at'} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'lock: locked-at set';
is lock_row($id), "$email{plan1}|maintenance", 'lock stored';

$r = api(GET => "/api/v2/workspaces/$id", token => $tok{plan2});
is_deeply json_of($r)->{data}{attributes}{locked}, JSON::PP::true,
    'others see it locked';

is_error(api(POST => $lock, token => $tok{plan1}, body => {reason => 'again'}),
         409, 'lock again by the holder');
is_error(api(POST => $lock, token => $tok{plan2}), 409, 'lock by another user');
like error_detail(api(POST => $lock, token => $tok{plan2})),
     qr/\Q$email{plan1}\E/, 'lock conflict names the holder';
is lock_row($id), "$email{plan1}|maintenance", 'conflicting locks changed nothing';

is_error(api(POST => $unlock, token => $tok{plan2}), 409,
         'unlock by a different plan-level user');
is_error(api(POST => $unlock, token => $tok{writer}), 409,
         'unlock by a different write-level user');
is lock_row($id), "$email{plan1}|maintenance", 'still held by the holder';

$r = api(POST => $unlock, token => $tok{plan1});
is $r->code, 200, 'unlock by the holder: 200';
$a = json_of($r)->{data}{attributes};
is_deeply $a->{locked}, JSON::PP::false, 'unlock: locked false';
ok !defined $a->{'locked-by'}, 'unlock: locked-by null';
is lock_row($id), '-|', 'unlock stored';

is_error(api(POST => $unlock, token => $tok{plan1}), 409, 'unlock when not locked');
is_error(api(POST => $force, token => $admin), 409,
         'force-unlock when not locked');

# lock without a body, and with the JSON:API form of the reason
$r = api(POST => $lock, token => $tok{plan2});
is $r->code, 200, 'lock without a body: 200';
is json_of($r)->{data}{attributes}{'lock-reason'}, '', 'no reason: empty';
is api(POST => $unlock, token => $tok{plan2})->code, 200, 'unlocked again';
$r = api(POST => $lock, token => $tok{writer},
         body => {data => {attributes => {reason => 'release'}}});
is $r->code, 200, 'lock by a writer with data.attributes.reason: 200';
is json_of($r)->{data}{attributes}{'lock-reason'}, 'release',
   'reason read from data.attributes';
is api(POST => $unlock, token => $tok{writer})->code, 200, 'writer unlocks';

is_error(api(POST => $lock, token => $tok{plan1}, body => {reason => 7}),
         422, 'lock with a non-string reason');
is_error(api(POST => $lock, token => $tok{plan1}, body => '{"reason":'),
         400, 'lock with malformed JSON');
is lock_row($id), '-|', 'rejected lock bodies locked nothing';

# ---- force-unlock ----

is api(POST => $lock, token => $tok{plan1}, body => {reason => 'stuck'})->code,
   200, 'locked for force-unlock';
is_error(api(POST => $force, token => $tok{plan2}), 403,
         'force-unlock with plan level');
is_error(api(POST => $force, token => $tok{writer}), 403,
         'force-unlock with write level');
is_error(api(POST => $force, token => $tok{plan1}), 403,
         'force-unlock by the holder with plan level');
is lock_row($id), "$email{plan1}|stuck", 'refused force-unlocks changed nothing';
$r = api(POST => $force, token => $admin);
is $r->code, 200, 'force-unlock by a platform admin: 200';
is_deeply json_of($r)->{data}{attributes}{locked}, JSON::PP::false,
    'force-unlock: unlocked';
is lock_row($id), '-|', 'force-unlock stored';

is api(POST => $lock, token => $tok{plan2})->code, 200, 'locked again';
is api(POST => $force, token => $tok{owner})->code, 200,
   'force-unlock by the owner (admin on it): 200';

# ---- 50 lockers at once: exactly one wins ----

my @pids;
for my $n (1 .. 50) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        my $res = eval { api(POST => $lock, token => $tok{$n % 2 ? 'plan1' : 'plan2'},
                             body => {reason => "racer $n"}) };
        POSIX::_exit(!$res ? 3 : $res->code == 200 ? 0 : $res->code == 409 ? 1 : 2);
    }
    push @pids, $pid;
}
my %outcome;
for my $pid (@pids) {
    waitpid $pid, 0;
    $outcome{$? >> 8}++;
}
is $outcome{0} // 0, 1, 'parallel lock: exactly one 200';
is $outcome{1} // 0, 49, 'parallel lock: 49 answered 409';
like lock_row($id), qr/^lock11-plan[12]\@test\.local\|racer \d+$/,
     'parallel lock: one holder stored';
is api(POST => $force, token => $admin)->code, 200, 'parallel lock released';

# ---- tags ----

$r = api(POST => $ORG_WS, token => $tok{owner},
         body => {data => {type => 'workspaces',
                           attributes => {name => 'tags11-ws'},
                           relationships => {
                               'tag-bindings' => {data => [
                                   {type => 'tag-bindings',
                                    attributes => {key => 'team', value => 'core'}}]},
                               tags => {data => [
                                   {type => 'tags', attributes => {name => 'blue'}}]}}}});
is $r->code, 201, 'create with relationships.tag-bindings and tags: 201';
$a = json_of($r)->{data}{attributes};
my $tid = json_of($r)->{data}{id};
is_deeply $a->{labels}, {team => 'core', blue => ''},
    'bindings and tags became labels (a tag has an empty value)';
is_deeply $a->{'tag-names'}, ['blue'], 'tag-names lists the plain tag';

my $tb = "/api/v2/workspaces/$tid/tag-bindings";
my $tags = "/api/v2/workspaces/$tid/relationships/tags";

sub bindings_of {
    my ($res) = @_;
    my $doc = json_of($res) || {};
    return {map { $_->{attributes}{key} => $_->{attributes}{value} }
            @{ $doc->{data} || [] }};
}

$r = api(GET => $tb, token => $tok{owner});
is $r->code, 200, 'GET tag-bindings: 200';
is_deeply bindings_of($r), {team => 'core', blue => ''},
    'tag-bindings: every label';
ok !(grep { $_->{type} ne 'tag-bindings' } @{ json_of($r)->{data} }),
   'tag-bindings: type tag-bindings';

$r = api(PATCH => $tb, token => $tok{owner},
         body => {data => [{type => 'tag-bindings',
                            attributes => {key => 'env', value => 'qa'}},
                           {type => 'tag-bindings',
                            attributes => {key => 'team', value => 'platform'}}]});
is $r->code, 200, 'PATCH tag-bindings: 200';
is_deeply bindings_of($r), {team => 'platform', blue => '', env => 'qa'},
    'PATCH tag-bindings: added and updated, others kept';
is sql("SELECT labels->>'env' || '|' || (labels->>'team')"
       . " FROM workspaces WHERE id = '$tid'"), 'qa|platform',
   'PATCH tag-bindings stored';

$r = api(GET => "/api/v2/workspaces/$tid/effective-tag-bindings", token => $tok{owner});
is $r->code, 200, 'GET effective-tag-bindings: 200';
is_deeply bindings_of($r), {team => 'platform', blue => '', env => 'qa'},
    'effective-tag-bindings: every label';
ok !(grep { $_->{type} ne 'effective-tag-bindings' } @{ json_of($r)->{data} }),
   'effective-tag-bindings: type effective-tag-bindings';

$r = api(POST => $tags, token => $tok{owner},
         body => {data => [{type => 'tags', attributes => {name => 'green'}},
                           {type => 'tags', id => 'red'}]});
is $r->code, 204, 'POST relationships/tags: 204';
$r = api(GET => $tags, token => $tok{owner});
is $r->code, 200, 'GET relationships/tags: 200';
is_deeply [sort map { $_->{attributes}{name} } @{ json_of($r)->{data} }],
          [qw(blue green red)], 'relationships/tags: the plain tags only';
ok !(grep { $_->{type} ne 'tags' } @{ json_of($r)->{data} }),
   'relationships/tags: type tags';
$r = api(GET => "/api/v2/workspaces/$tid", token => $tok{owner});
is_deeply [sort @{ json_of($r)->{data}{attributes}{'tag-names'} }],
          [qw(blue green red)], 'tag-names lists the added tags';
is json_of($r)->{data}{attributes}{labels}{env}, 'qa',
   'adding tags kept the bindings';

$r = api(DELETE => $tags, token => $tok{owner},
         body => {data => [{type => 'tags', attributes => {name => 'blue'}}]});
is $r->code, 204, 'DELETE relationships/tags: 204';
is_deeply [sort map { $_->{attributes}{name} }
           @{ json_of(api(GET => $tags, token => $tok{owner}))->{data} }],
          [qw(green red)], 'the removed tag is gone';
is sql("SELECT labels ? 'blue' FROM workspaces WHERE id = '$tid'"), 'f',
   'DELETE relationships/tags stored';
is sql("SELECT labels->>'team' FROM workspaces WHERE id = '$tid'"), 'platform',
   'removing a tag kept the bindings';

# tags are searchable
$r = api(GET => "$ORG_WS?search[tags]=green,red&search[name]=tags11-",
         token => $tok{owner});
is_deeply [map { $_->{attributes}{name} } @{ json_of($r)->{data} }], ['tags11-ws'],
    'search[tags] finds the tagged workspace';

# rejected tag writes change nothing
my $labels = sql("SELECT labels::text FROM workspaces WHERE id = '$tid'");
is_error(api(POST => $tags, token => $tok{owner},
             body => {data => [{type => 'tags', attributes => {name => 'owner'}}]}),
         422, 'POST a reserved tag name');
is_error(api(POST => $tags, token => $tok{owner},
             body => {data => [{type => 'tags', attributes => {name => 'bad tag'}}]}),
         422, 'POST an invalid tag name');
is_error(api(POST => $tags, token => $tok{owner},
             body => {data => [{type => 'tags'}]}), 422, 'POST a tag without a name');
is_error(api(PATCH => $tb, token => $tok{owner},
             body => {data => [{type => 'tag-bindings',
                                attributes => {key => 'drift', value => 'x'}}]}),
         422, 'PATCH a reserved tag binding key');
is_error(api(PATCH => $tb, token => $tok{owner},
             body => {data => {type => 'tag-bindings',
                               attributes => {key => 'a', value => 'b'}}}),
         400, 'PATCH tag-bindings with data not a list');
is sql("SELECT labels::text FROM workspaces WHERE id = '$tid'"), $labels,
   'rejected tag writes changed nothing';

is_error(api(POST => $ORG_WS, token => $tok{owner},
             body => {data => {type => 'workspaces',
                               attributes => {name => 'tags11-bad'},
                               relationships => {tags => {data => [
                                   {type => 'tags',
                                    attributes => {name => 'version'}}]}}}}),
         422, 'create with a reserved tag');
is sql("SELECT count(*) FROM workspaces WHERE name = 'tags11-bad'"), '0',
   'create with a reserved tag: nothing stored';

# tag writes need admin on the workspace, reads need read
my $lws = api(GET => "/api/v2/workspaces/$id", token => $admin);
is $lws->code, 200, 'lock workspace shown to the admin';
is api(GET => "/api/v2/workspaces/$id/tag-bindings", token => $tok{plan1})->code,
   200, 'tag-bindings readable with plan level';
is_error(api(PATCH => "/api/v2/workspaces/$id/tag-bindings", token => $tok{writer},
             body => {data => [{type => 'tag-bindings',
                                attributes => {key => 'x', value => 'y'}}]}),
         403, 'PATCH tag-bindings with write level');
is_error(api(POST => "/api/v2/workspaces/$id/relationships/tags",
             token => $tok{plan1},
             body => {data => [{type => 'tags', attributes => {name => 'x'}}]}),
         403, 'POST tags with plan level');
is_error(api(DELETE => "/api/v2/workspaces/$id/relationships/tags",
             token => $tok{writer},
             body => {data => [{type => 'tags', attributes => {name => 'x'}}]}),
         403, 'DELETE tags with write level');
is sql("SELECT labels::text FROM workspaces WHERE id = '$id'"), '{"env": "lock11"}',
   'refused tag writes changed nothing';
is_error(api(GET => $tb, token => $tok{plan1}), 404,
         'tag-bindings of an unreadable workspace');
is_error(api(GET => $tags, token => $tok{plan1}), 404,
         'tags of an unreadable workspace');

# ---- no token ----

for my $case ([POST => $lock], [POST => $unlock], [POST => $force],
              [GET => $tb], [PATCH => $tb],
              [GET => "/api/v2/workspaces/$tid/effective-tag-bindings"],
              [GET => $tags], [POST => $tags], [DELETE => $tags]) {
    my $res = api($case->[0], $case->[1],
                  $case->[0] eq 'GET' ? () : (body => {data => []}));
    is_error($res, 401, "$case->[0] $case->[1] without a token");
}
is lock_row($id), '-|', 'no lock taken without a token';
