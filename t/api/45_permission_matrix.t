# The permission matrix of the run-related routes in one place: for every
# route, a caller without a token gets 401, a person who cannot see the
# workspace 404, one whose level on it is below the route's 403, and one
# at or above it gets past access control (whatever the handler then says).
# Levels come from custom roles matched on the workspace's labels; variable
# sets are platform-level (audit reads, admin writes).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

my @LEVELS = qw(read plan write admin);
my %RANK = (none => 0, read => 1, plan => 2, write => 3, admin => 4);

my $admin = admin_token();
my $owner = user_token('pm45-owner@test.local');
my %who = (none => user_token('pm45-none@test.local'));
for my $level (@LEVELS) {
    my $r = api(POST => '/api/terrapod/v1/roles', token => $admin,
                body => {data => {type => 'roles', attributes => {
                    name => "pm45-$level", 'workspace-permission' => $level,
                    'allow-labels' => {team => 'pm45'}}}});
    die $r->as_string unless $r->code == 201;
    my $email = "pm45-$level\@test.local";
    $who{$level} = user_token($email);
    $r = api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
             body => {data => {type => 'role-assignments', attributes => {
                 'provider-name' => 'local', email => $email, roles => ["pm45-$level"]}}});
    die $r->as_string unless $r->code == 200;
}

my $ws = make_ws($owner, 'pm45-ws', labels => {team => 'pm45'});
my $cv = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());
my $cv2 = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());

sub run_body {
    my (%attrs) = @_;
    return {data => {type => 'runs', attributes => \%attrs,
                     relationships => {workspace => {data => {type => 'workspaces', id => $ws}}}}};
}
# a fresh plan-only run (they never wait for the workspace), as the owner
sub fresh_run {
    my $r = api(POST => '/api/v2/runs', token => $owner,
                body => run_body('plan-only' => JSON::PP::true()));
    die $r->as_string unless $r->code == 201;
    return json_of($r)->{data};
}
my $run = fresh_run();
my ($plan, $apply) = map { $run->{relationships}{$_}{data}{id} } qw(plan apply);
my $event = sql("SELECT id FROM run_events WHERE run_id = '$run->{id}' ORDER BY seq LIMIT 1");
my $n = 0;
sub var_body {
    return {data => {type => 'vars', attributes => {key => 'k' . ++$n, value => 'v',
                                                     category => 'terraform'}}};
}
sub fresh_var {
    my $r = api(POST => "/api/v2/workspaces/$ws/vars", token => $owner, body => var_body());
    die $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}

# [method, path (or a sub making one per request), level, body (or sub)]
my @routes = (
    [GET => "/api/v2/workspaces/$ws/configuration-versions", 'read'],
    [POST => "/api/v2/workspaces/$ws/configuration-versions", 'write',
     {data => {type => 'configuration-versions', attributes => {}}}],
    [GET => "/api/v2/configuration-versions/$cv", 'read'],
    [GET => "/api/terrapod/v1/configuration-versions/$cv/download", 'read'],
    [POST => "/api/terrapod/v1/configuration-versions/$cv/download-ticket", 'read'],
    [POST => '/api/terrapod/v1/configuration-versions/diff', 'read',
     {data => {type => 'configuration-version-diffs',
               attributes => {'from-id' => $cv, 'to-id' => $cv2}}}],
    [POST => '/api/v2/runs', 'plan', sub { run_body('plan-only' => JSON::PP::true()) }],
    [POST => '/api/v2/runs', 'write', sub { run_body(message => 'may apply') }],
    [GET => "/api/v2/runs/$run->{id}", 'read'],
    [GET => "/api/v2/workspaces/$ws/runs", 'read'],
    [GET => "/api/v2/runs/$run->{id}/run-events", 'read'],
    [GET => "/api/v2/run-events/$event", 'read'],
    [GET => "/api/v2/runs/$run->{id}/task-stages", 'read'],
    [GET => "/api/v2/plans/$plan", 'read'],
    [GET => "/api/v2/applies/$apply", 'read'],
    [GET => "/api/terrapod/v1/runs/$run->{id}/plan", 'read'],
    [GET => "/api/terrapod/v1/runs/$run->{id}/apply", 'read'],
    [POST => "/api/v2/runs/$run->{id}/actions/apply", 'write'],
    [POST => "/api/v2/runs/$run->{id}/actions/confirm", 'write'],
    [POST => "/api/v2/runs/$run->{id}/actions/discard", 'write'],
    [POST => sub { '/api/v2/runs/' . fresh_run()->{id} . '/actions/cancel' }, 'plan'],
    [POST => sub { '/api/v2/runs/' . fresh_run()->{id} . '/actions/force-cancel' }, 'admin'],
    [POST => "/api/terrapod/v1/runs/$run->{id}/actions/retry", 'plan'],
    [GET => "/api/v2/workspaces/$ws/vars", 'read'],
    [POST => "/api/v2/workspaces/$ws/vars", 'write', \&var_body],
    [GET => sub { "/api/v2/workspaces/$ws/vars/" . fresh_var() }, 'read'],
    [PATCH => sub { "/api/v2/workspaces/$ws/vars/" . fresh_var() }, 'write',
     {data => {type => 'vars', attributes => {value => 'changed'}}}],
    [DELETE => sub { "/api/v2/workspaces/$ws/vars/" . fresh_var() }, 'write'],
    [GET => "/api/v2/workspaces/$ws/all-vars", 'read'],
);

plan tests => @routes * (2 + @LEVELS) + 6;

sub call {
    my ($route, $token) = @_;
    my ($method, $path, undef, $body) = @$route;
    $path = $path->() if ref $path;
    $body = $body->() if ref $body eq 'CODE';
    return ($path, api($method => $path, token => $token,
                       (defined $body ? (body => $body) : ())));
}

for my $route (@routes) {
    my ($method, undef, $need) = @$route;
    my ($path, $r) = call($route, undef);
    is $r->code, 401, "$method $path without a token: 401";
    ($path, $r) = call($route, $who{none});
    is $r->code, 404, "$method $path, no access: 404";
    for my $level (@LEVELS) {
        ($path, $r) = call($route, $who{$level});
        if ($RANK{$level} < $RANK{$need}) {
            is $r->code, 403, "$method $path needs $need, $level: 403";
        } else {
            ok !grep({ $r->code == $_ } 401, 403, 404),
               "$method $path needs $need, $level passes (" . $r->code . ')';
        }
    }
}

# variable sets are the platform's: audit reads them, admin writes them
my $audit_email = 'pm45-audit@test.local';
my $audit = user_token($audit_email);
api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
    body => {data => {type => 'role-assignments', attributes => {
        'provider-name' => 'local', email => $audit_email, roles => ['audit']}}});
my $VS = '/api/v2/organizations/default/varsets';
my $vs_body = {data => {type => 'varsets', attributes => {name => 'pm45-set'}}};
is api(GET => $VS, token => $who{admin})->code, 403, 'varsets: a workspace admin may not list them';
is api(GET => $VS, token => $audit)->code, 200, 'varsets: audit lists them';
is api(POST => $VS, token => $audit, body => $vs_body)->code, 403, 'varsets: audit may not create one';
is api(POST => $VS, token => $admin, body => $vs_body)->code, 201, 'varsets: admin creates one';
is api(GET => $VS)->code, 401, 'varsets: no token';
is api(POST => $VS, body => $vs_body)->code, 401, 'varsets: no token to create';
