# Workspaces: create with the TFE defaults, validation of every attribute
# (422 and nothing stored), show by name and by id on both surfaces,
# partial updates, deletion, safe-delete, and the list's pagination and
# filters.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 217;

my $admin = admin_token();
my $owner_email = 'ws10-owner@test.local';
my $owner = user_token($owner_email);
my $other = user_token('ws10-other@test.local');

my $ORG_WS = '/api/v2/organizations/default/workspaces';
my $NATIVE = '/api/terrapod/v1/workspaces';

sub ws_body {
    my (%attrs) = @_;
    my $rel = delete $attrs{_relationships};
    my $doc = {data => {type => 'workspaces', attributes => \%attrs}};
    $doc->{data}{relationships} = $rel if $rel;
    return $doc;
}

sub create_ws {
    my ($token, %attrs) = @_;
    return api(POST => $ORG_WS, token => $token, body => ws_body(%attrs));
}

sub count_named {
    my ($name) = @_;
    return sql("SELECT count(*) FROM workspaces WHERE name = '$name'");
}

# ---- create, with the defaults ----

my $r = create_ws($owner, name => 'ws10-basic');
is $r->code, 201, 'create: 201';
my $w = json_of($r)->{data};
my $a = $w->{attributes};
my $basic_id = $w->{id};
is $w->{type}, 'workspaces', 'create: type workspaces';
like $basic_id, qr/^ws-[A-Za-z0-9]+$/, 'create: ws- id';
is $a->{name}, 'ws10-basic', 'create: name';
is $a->{'owner-email'}, $owner_email, 'create: the creator is the owner';
is $a->{'execution-mode'}, 'local', 'default execution-mode local';
is $a->{'terraform-version'}, 'latest', 'default terraform-version latest';
is_deeply $a->{'auto-apply'}, JSON::PP::false, 'default auto-apply false';
is $a->{'drift-detection-interval-seconds'}, 86400,
   'default drift-detection-interval-seconds 86400';
is_deeply $a->{'drift-detection-enabled'}, JSON::PP::false,
   'default drift-detection-enabled false (no VCS)';
is_deeply $a->{'drift-ignore-rules'}, [], 'default drift-ignore-rules []';
is $a->{'ai-summary-mode'}, 'default', 'default ai-summary-mode default';
is $a->{'ai-summary-context'}, '', 'default ai-summary-context empty';
is_deeply $a->{'structured-run-output-enabled'}, JSON::PP::false,
   'structured-run-output-enabled false';
is_deeply $a->{locked}, JSON::PP::false, 'not locked';
is_deeply $a->{labels}, {}, 'no labels';
is_deeply $a->{'tag-names'}, [], 'no tag names';
ok exists $a->{'vcs-repo'} && !defined $a->{'vcs-repo'}, 'vcs-repo null';
ok exists $w->{relationships}{'current-run'}
   && !defined $w->{relationships}{'current-run'}{data},
   'relationships.current-run is null';
ok exists $w->{relationships}{'latest-run'}
   && !defined $w->{relationships}{'latest-run'}{data},
   'relationships.latest-run is null';
is $w->{relationships}{organization}{data}{id}, 'default',
   'relationships.organization is default';
my $perms = $a->{permissions} || {};
ok ref $perms eq 'HASH' && keys %$perms >= 11, 'permissions object present';
ok $perms->{'can-queue-apply'} && $perms->{'can-force-delete'}
   && $perms->{'can-update'} && $perms->{'can-queue-run'},
   'owner: can-queue-apply, can-force-delete, can-update, can-queue-run';
ok !(grep { !$perms->{$_} } keys %$perms), 'owner has every permission';
is_deeply $a->{actions}{'is-destroyable'}, JSON::PP::true,
   'actions.is-destroyable true without state';
is sql("SELECT owner_email FROM workspaces WHERE id = '$basic_id'"), $owner_email,
   'owner stored';

# the native surface creates too
$r = api(POST => $NATIVE, token => $owner, body => ws_body(name => 'ws10-native'));
is $r->code, 201, 'create on the native path: 201';
is count_named('ws10-native'), '1', 'native create stored';

# ---- create: validation ----

is_error(create_ws($other, name => 'ws10-basic'), 422, 'duplicate name');
is count_named('ws10-basic'), '1', 'duplicate name: still one workspace';
is sql("SELECT owner_email FROM workspaces WHERE name = 'ws10-basic'"),
   $owner_email, 'duplicate name: owner unchanged';

for my $bad ('bad name', 'ws10/slash', '', 'x' x 91, 'ws10.dot') {
    my $label = length $bad > 20 ? '91 characters' : "'$bad'";
    is_error(create_ws($owner, name => $bad), 422, "invalid name $label");
}
is_error(create_ws($owner), 422, 'missing name');
is sql("SELECT count(*) FROM workspaces WHERE name LIKE 'ws10/%' OR name = ''"
       . " OR length(name) > 90 OR name LIKE 'bad%'"),
   '0', 'invalid names: nothing stored';

$r = create_ws($owner, name => 'ws10-remote', 'execution-mode' => 'remote');
is $r->code, 201, 'execution-mode remote: 201';
is json_of($r)->{data}{attributes}{'execution-mode'}, 'agent',
   'execution-mode remote is answered as agent';
is sql("SELECT execution_mode FROM workspaces WHERE name = 'ws10-remote'"),
   'agent', 'execution-mode remote stored as agent';
is_error(create_ws($owner, name => 'ws10-mode', 'execution-mode' => 'cloud'),
         422, 'invalid execution-mode');
is count_named('ws10-mode'), '0', 'invalid execution-mode: nothing stored';

is_error(create_ws($owner, name => 'ws10-drift',
                   'drift-detection-interval-seconds' => 3599),
         422, 'drift-detection-interval-seconds 3599');
is count_named('ws10-drift'), '0', 'interval 3599: nothing stored';
is_error(create_ws($owner, name => 'ws10-drift',
                   'drift-detection-interval-seconds' => 'hourly'),
         422, 'drift-detection-interval-seconds not an integer');
$r = create_ws($owner, name => 'ws10-drift',
               'drift-detection-interval-seconds' => 3600);
is $r->code, 201, 'drift-detection-interval-seconds 3600: 201';
is json_of($r)->{data}{attributes}{'drift-detection-interval-seconds'}, 3600,
   'interval 3600 answered';
is sql("SELECT drift_detection_interval_seconds FROM workspaces"
       . " WHERE name = 'ws10-drift'"), '3600', 'interval 3600 stored';

is_error(create_ws($owner, name => 'ws10-rules',
                   'drift-ignore-rules' => [map { "aws_instance.r$_" } 1 .. 51]),
         422, 'drift-ignore-rules with 51 entries');
is_error(create_ws($owner, name => 'ws10-rules',
                   'drift-ignore-rules' => ['a' x 501]),
         422, 'drift-ignore-rule of 501 characters');
is_error(create_ws($owner, name => 'ws10-rules', 'drift-ignore-rules' => [1]),
         422, 'drift-ignore-rule not a string');
is count_named('ws10-rules'), '0', 'invalid drift-ignore-rules: nothing stored';
my @rules = map { sprintf('r.%03d', $_) . ('r' x 495) } 1 .. 50;
$r = create_ws($owner, name => 'ws10-rules', 'drift-ignore-rules' => \@rules);
is $r->code, 201, '50 drift-ignore-rules of 500 characters: 201';
is_deeply json_of($r)->{data}{attributes}{'drift-ignore-rules'}, \@rules,
   'drift-ignore-rules answered as sent';

is_error(create_ws($owner, name => 'ws10-ai', 'ai-summary-mode' => 'sometimes'),
         422, 'ai-summary-mode outside the enum');
is_error(create_ws($owner, name => 'ws10-ai', 'ai-summary-context' => 'x' x 4001),
         422, 'ai-summary-context of 4001 characters');
is_error(create_ws($owner, name => 'ws10-ai', 'ai-summary-context' => 42),
         422, 'ai-summary-context not a string');
is_error(create_ws($owner, name => 'ws10-ai',
                   'ai-summary-context' => ['a list']),
         422, 'ai-summary-context a list');
is count_named('ws10-ai'), '0', 'invalid ai-summary attributes: nothing stored';
$r = create_ws($owner, name => 'ws10-ai', 'ai-summary-mode' => 'disabled',
               'ai-summary-context' => 'y' x 4000);
is $r->code, 201, 'ai-summary-mode disabled with 4000 characters of context: 201';
is length(json_of($r)->{data}{attributes}{'ai-summary-context'} // ''), 4000,
   'ai-summary-context kept whole';
# the limit is in characters: 4000 two-byte characters fit
$r = api(POST => $ORG_WS, token => $owner,
         body => '{"data":{"type":"workspaces","attributes":{"name":"ws10-ai-utf8",'
                 . '"ai-summary-context":"' . ('\\u00e9' x 4000) . '"}}}');
is $r->code, 201, 'ai-summary-context of 4000 non-ASCII characters: 201'
    or diag error_detail($r);

is_error(create_ws($owner, name => 'ws10-lbl', labels => {owner => 'me'}),
         422, 'reserved label key owner');
like error_detail(create_ws($owner, name => 'ws10-lbl',
                            labels => {locked => 'x'})),
     qr/reserved/, 'reserved label key locked: says reserved';
is_error(create_ws($owner, name => 'ws10-lbl', labels => {env => 5}),
         422, 'label with a number value');
is_error(create_ws($owner, name => 'ws10-lbl', labels => {env => JSON::PP::true}),
         422, 'label with a boolean value');
is_error(create_ws($owner, name => 'ws10-lbl', labels => ['env']),
         422, 'labels not an object');
is_error(create_ws($owner, name => 'ws10-lbl', labels => {'-env' => 'x'}),
         422, 'label key not starting with a letter or digit');
is_error(create_ws($owner, name => 'ws10-lbl', labels => {env => 'v' x 256}),
         422, 'label value of 256 characters');
is_error(create_ws($owner, name => 'ws10-lbl',
                   labels => {map { ("k$_" => 'v') } 1 .. 65}),
         422, '65 labels');
is count_named('ws10-lbl'), '0', 'invalid labels: nothing stored';

for my $case (['resource-cpu', 'lots'], ['resource-cpu', '500x'],
              ['resource-cpu', '-1'], ['resource-memory', 'big'],
              ['resource-memory', '2GB'], ['resource-memory', 'Gi']) {
    is_error(create_ws($owner, name => 'ws10-res', $case->[0] => $case->[1]),
             422, "$case->[0] '$case->[1]'");
}
is count_named('ws10-res'), '0', 'invalid resources: nothing stored';
$r = create_ws($owner, name => 'ws10-res', 'resource-cpu' => '500m',
               'resource-memory' => '512Mi');
is $r->code, 201, 'resource-cpu 500m, resource-memory 512Mi: 201';
is json_of($r)->{data}{attributes}{'resource-memory'}, '512Mi',
   'resource-memory answered';

for my $dir ('../x', 'a/../../b', '/abs') {
    is_error(create_ws($owner, name => 'ws10-dir', 'working-directory' => $dir),
             422, "working-directory '$dir'");
}
is count_named('ws10-dir'), '0', 'invalid working-directory: nothing stored';
$r = create_ws($owner, name => 'ws10-dir', 'working-directory' => 'envs/dev');
is $r->code, 201, 'working-directory envs/dev: 201';

is_error(create_ws($owner, name => 'ws10-tv', 'terraform-version' => '1.9; rm'),
         422, 'terraform-version with junk');
is_error(create_ws($owner, name => 'ws10-aa', 'auto-apply' => 'yes'),
         422, 'auto-apply not a boolean');
is sql("SELECT count(*) FROM workspaces WHERE name IN ('ws10-tv', 'ws10-aa')"),
   '0', 'invalid terraform-version / auto-apply: nothing stored';
is_error(api(POST => $ORG_WS, token => $owner,
             body => {data => {type => 'runs', attributes => {name => 'ws10-type'}}}),
         409, 'wrong data.type');

# ---- show ----

for my $path ("$ORG_WS/ws10-basic", "/api/v2/workspaces/$basic_id",
              "$NATIVE/$basic_id") {
    $r = api(GET => $path, token => $owner);
    is $r->code, 200, "show $path: 200";
    is json_of($r)->{data}{id}, $basic_id, "show $path: the workspace";
}
is_error(api(GET => "$ORG_WS/ws10-nope", token => $owner), 404,
         'show an unknown name');
is_error(api(GET => '/api/v2/workspaces/ws-doesnotexist00', token => $owner),
         404, 'show an unknown id');
is_error(api(GET => "$NATIVE/ws-doesnotexist00", token => $owner),
         404, 'show an unknown id (native)');

# ---- unknown organization ----

is_error(api(GET => '/api/v2/organizations/acme/workspaces', token => $owner),
         404, 'list in an unknown organization');
is_error(api(POST => '/api/v2/organizations/acme/workspaces', token => $owner,
             body => ws_body(name => 'ws10-acme')),
         404, 'create in an unknown organization');
is count_named('ws10-acme'), '0', 'unknown organization: nothing created';
is_error(api(GET => '/api/v2/organizations/acme/workspaces/ws10-basic',
             token => $owner),
         404, 'show in an unknown organization');

# ---- update: only what is sent changes ----

my $before = json_of(api(GET => "/api/v2/workspaces/$basic_id",
                         token => $owner))->{data}{attributes};
$r = api(PATCH => "/api/v2/workspaces/$basic_id", token => $owner,
         body => ws_body(description => 'changed', 'auto-apply' => JSON::PP::true));
is $r->code, 200, 'PATCH: 200';
my $after = json_of($r)->{data}{attributes};
is $after->{description}, 'changed', 'PATCH: description changed';
is_deeply $after->{'auto-apply'}, JSON::PP::true, 'PATCH: auto-apply changed';
my %b = %$before; my %c = %$after;
delete @b{qw(description auto-apply updated-at)};
delete @c{qw(description auto-apply updated-at)};
is_deeply \%c, \%b, 'PATCH: every other attribute unchanged';
is sql("SELECT description || '|' || auto_apply FROM workspaces"
       . " WHERE id = '$basic_id'"), 'changed|true', 'PATCH stored';

$r = api(PATCH => "$ORG_WS/ws10-basic", token => $owner,
         body => ws_body('terraform-version' => '~> 1.9', labels => {team => 'core'}));
is $r->code, 200, 'PATCH by name: 200';
$after = json_of($r)->{data}{attributes};
is $after->{'terraform-version'}, '~> 1.9', 'PATCH by name: terraform-version';
is_deeply $after->{labels}, {team => 'core'}, 'PATCH by name: labels';
is $after->{description}, 'changed', 'PATCH by name: description kept';

$r = api(PATCH => "$NATIVE/$basic_id", token => $owner,
         body => ws_body('execution-mode' => 'agent'));
is $r->code, 200, 'PATCH on the native path: 200';
is json_of($r)->{data}{attributes}{'execution-mode'}, 'agent',
   'PATCH native: execution-mode';
is_deeply json_of($r)->{data}{attributes}{labels}, {team => 'core'},
   'PATCH native: labels kept';

my $row = sql("SELECT description || '|' || execution_mode || '|' || labels::text"
              . " FROM workspaces WHERE id = '$basic_id'");
is_error(api(PATCH => "/api/v2/workspaces/$basic_id", token => $owner,
             body => ws_body(description => 'nope',
                             'drift-detection-interval-seconds' => 60)),
         422, 'PATCH with an invalid attribute');
is_error(api(PATCH => "/api/v2/workspaces/$basic_id", token => $owner,
             body => ws_body(description => 'nope', labels => {vcs => 'x'})),
         422, 'PATCH with a reserved label');
is_error(api(PATCH => "/api/v2/workspaces/$basic_id", token => $owner,
             body => ws_body(name => 'ws10-drift')),
         422, 'PATCH renaming onto a taken name');
is sql("SELECT description || '|' || execution_mode || '|' || labels::text"
       . " FROM workspaces WHERE id = '$basic_id'"), $row,
   'rejected PATCHes changed nothing';

$r = api(PATCH => "/api/v2/workspaces/$basic_id", token => $owner,
         body => ws_body(name => 'ws10-renamed'));
is $r->code, 200, 'PATCH rename: 200';
is api(GET => "$ORG_WS/ws10-renamed", token => $owner)->code, 200,
   'renamed workspace found by its new name';
is api(GET => "$ORG_WS/ws10-basic", token => $owner)->code, 404,
   'old name is gone';

# ---- delete ----

my $del_id = json_of(create_ws($owner, name => 'ws10-del1'))->{data}{id};
$r = api(DELETE => "$NATIVE/$del_id", token => $owner);
is $r->code, 204, 'DELETE native: 204';
is $r->content, '', 'DELETE: no body';
is_error(api(GET => "$NATIVE/$del_id", token => $owner), 404,
         'deleted workspace: show');
is_error(api(DELETE => "$NATIVE/$del_id", token => $owner), 404,
         'deleted workspace: delete again');
is sql("SELECT count(*) FROM workspaces WHERE id = '$del_id'"), '0',
   'DELETE removed the row';

create_ws($owner, name => 'ws10-del2');
is api(DELETE => "$ORG_WS/ws10-del2", token => $owner)->code, 204,
   'DELETE by name: 204';
is count_named('ws10-del2'), '0', 'DELETE by name removed the row';

my $del3 = json_of(create_ws($owner, name => 'ws10-del3'))->{data}{id};
is api(DELETE => "/api/v2/workspaces/$del3", token => $owner)->code, 204,
   'DELETE /api/v2/workspaces/{id}: 204';

# ---- safe-delete ----

my $sd1 = json_of(create_ws($owner, name => 'ws10-safe1'))->{data}{id};
is api(POST => "/api/v2/workspaces/$sd1/actions/safe-delete",
       token => $owner)->code, 204, 'safe-delete without state: 204';
is count_named('ws10-safe1'), '0', 'safe-delete removed it';

my $sd2 = json_of(create_ws($owner, name => 'ws10-safe2'))->{data}{id};
my $state = '{"version":4,"serial":1,"lineage":"x","terraform_version":"1.11.4",'
  . '"outputs":{},"resources":[{"mode":"managed","type":"terraform_data",'
  . '"name":"x","provider":"provider[\"terraform.io/builtin/terraform\"]",'
  . '"instances":[]}]}';
$r = api(POST => "$NATIVE/$sd2/state-versions/actions/upload", token => $owner,
         body => $state, headers => {'Content-Type' => 'application/json'});
is $r->code, 201, 'raw state upload: 201';
my $ws2 = json_of(api(GET => "/api/v2/workspaces/$sd2", token => $owner))->{data};
is_deeply $ws2->{attributes}{actions}{'is-destroyable'}, JSON::PP::false,
   'with managed resources: is-destroyable false';
is $ws2->{attributes}{'resource-count'}, 1, 'resource-count 1';
is_error(api(POST => "/api/v2/workspaces/$sd2/actions/safe-delete",
             token => $owner), 409, 'safe-delete with managed resources');
is_error(api(POST => "$ORG_WS/ws10-safe2/actions/safe-delete", token => $owner),
         409, 'safe-delete by name with managed resources');
is count_named('ws10-safe2'), '1', 'refused safe-delete kept the workspace';

(my $empty = $state) =~ s/"resources":\[.*\]\}$/"resources":[]}/;
$r = api(POST => "$NATIVE/$sd2/state-versions/actions/upload", token => $owner,
         body => $empty, headers => {'Content-Type' => 'application/json'});
is $r->code, 201, 'upload of a state without resources: 201';
is api(POST => "$ORG_WS/ws10-safe2/actions/safe-delete",
       token => $owner)->code, 204,
   'safe-delete by name once no resources remain: 204';
is count_named('ws10-safe2'), '0', 'it is gone';

# ---- list: pagination ----

for my $i (1 .. 25) {
    create_ws($admin, name => sprintf('pg10-%02d', $i));
}
is sql("SELECT count(*) FROM workspaces WHERE name LIKE 'pg10-%'"), '25',
   '25 workspaces created for paging';
$r = api(GET => "$ORG_WS?search%5Bname%5D=pg10-&page%5Bsize%5D=10&page%5Bnumber%5D=3",
         token => $admin);
is $r->code, 200, 'list page 3: 200';
my $doc = json_of($r);
is scalar @{ $doc->{data} }, 5, 'page 3 of 10 holds the last 5';
is_deeply [map { $_->{attributes}{name} } @{ $doc->{data} }],
          [map { sprintf('pg10-%02d', $_) } 21 .. 25], 'page 3 in name order';
my $pg = $doc->{meta}{pagination};
is $pg->{'total-count'}, 25, 'total-count 25';
is $pg->{'total-pages'}, 3, 'total-pages 3';
is $pg->{'current-page'}, 3, 'current-page 3';
is $pg->{'prev-page'}, 2, 'prev-page 2';
ok exists $pg->{'next-page'} && !defined $pg->{'next-page'}, 'next-page null';

$doc = json_of(api(GET => "$NATIVE?search[name]=pg10-&page[size]=10",
                   token => $admin));
is scalar @{ $doc->{data} }, 10, 'page 1 holds 10';
is $doc->{meta}{pagination}{'next-page'}, 2, 'page 1: next-page 2';
ok !defined $doc->{meta}{pagination}{'prev-page'}, 'page 1: prev-page null';

# a plain user pages through what it can read: its own workspaces
for my $i (1 .. 3) {
    create_ws($other, name => "pg10-mine-$i");
}
$doc = json_of(api(GET => "$ORG_WS?search[name]=pg10-&page[size]=2&page[number]=2",
                   token => $other));
is_deeply [map { $_->{attributes}{name} } @{ $doc->{data} }], ['pg10-mine-3'],
   'non-admin list: only readable workspaces, paged';
is $doc->{meta}{pagination}{'total-count'}, 3, 'non-admin total-count counts only readable';
is $doc->{meta}{pagination}{'total-pages'}, 2, 'non-admin total-pages 2';

# ---- list: filters ----

create_ws($admin, name => 'ws10-srch-alpha');
create_ws($admin, name => 'ws10-srch-beta');
$doc = json_of(api(GET => "$ORG_WS?search[name]=srch-al", token => $admin));
is_deeply [map { $_->{attributes}{name} } @{ $doc->{data} }], ['ws10-srch-alpha'],
   'search[name] matches a substring';

create_ws($admin, name => 'ws10-tag-ab', labels => {t10a => '', t10b => ''});
create_ws($admin, name => 'ws10-tag-a', labels => {t10a => ''});
create_ws($admin, name => 'ws10-tag-kv', labels => {k10 => 'v'});
create_ws($admin, name => 'ws10-tag-kw', labels => {k10 => 'w'});
$r = api(GET => "$ORG_WS?search[tags]=t10a,t10b", token => $admin);
is $r->code, 200, 'search[tags]: 200';
is_deeply [map { $_->{attributes}{name} } @{ json_of($r)->{data} }], ['ws10-tag-ab'],
   'search[tags]=a,b: only the workspace with both tags';
$doc = json_of(api(GET => "$ORG_WS?search[tags]=t10a", token => $admin));
is_deeply [map { $_->{attributes}{name} } @{ $doc->{data} }],
          ['ws10-tag-a', 'ws10-tag-ab'], 'search[tags]=a: both';
$r = api(GET => "$ORG_WS?filter[tagged][0][key]=k10&filter[tagged][0][value]=v",
         token => $admin);
is $r->code, 200, 'filter[tagged]: 200';
is_deeply [map { $_->{attributes}{name} } @{ json_of($r)->{data} }], ['ws10-tag-kv'],
   'filter[tagged] key and value: only the matching binding';
$doc = json_of(api(GET => "$ORG_WS?filter[tagged][0][key]=k10", token => $admin));
is_deeply [map { $_->{attributes}{name} } @{ $doc->{data} }],
          ['ws10-tag-kv', 'ws10-tag-kw'],
          'filter[tagged] with a key only: any value';

# ---- no token ----

is_error(api(GET => $ORG_WS), 401, 'list without a token');
is_error(api(POST => $ORG_WS, body => ws_body(name => 'ws10-anon')), 401,
         'create without a token');
is count_named('ws10-anon'), '0', 'nothing created without a token';
