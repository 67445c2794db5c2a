# Workspace variables: create, list, update and delete through the TFE
# paths, validation of every attribute (422 and nothing stored), sensitive
# values that are only stored sealed and never answered, the access level
# each call needs, and the merged all-vars view of a workspace's own.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 224;

my $true = JSON::PP::true;
my $false = JSON::PP::false;
my $RA = '/api/terrapod/v1/role-assignments';
my $ROLES = '/api/terrapod/v1/roles';

my $secret = 'vars30-s3cr3t-Zq9';
my $secret2 = 'vars30-rotated-Xw4';
my $turned = 'vars30-was-plain-Kp7';

my $admin = admin_token();
my $owner = user_token('vars30-owner@test.local');
my $stranger = user_token('vars30-stranger@test.local');
my $reader = user_token('vars30-reader@test.local');
my $writer = user_token('vars30-writer@test.local');

my $ws = make_ws($owner, 'vars30-main');
my $other_ws = make_ws($owner, 'vars30-other');
my $VARS = "/api/v2/workspaces/$ws/vars";

# every answer, to show no sensitive value ever left the server
my @answers;

sub call {
    my $r = api(@_);
    push @answers, $r->content;
    return $r;
}

sub var_body {
    my (%attrs) = @_;
    my $type = delete $attrs{_type} // 'vars';
    return {data => {type => $type, attributes => \%attrs}};
}

sub create_var {
    my ($token, %attrs) = @_;
    return call(POST => $VARS, token => $token, body => var_body(%attrs));
}

sub count_vars {
    my ($where) = @_;
    $where = $where ? " AND $where" : '';
    return sql("SELECT count(*) FROM variables WHERE workspace_id = '$ws'$where");
}

sub column {
    my ($id, $col) = @_;
    return sql("SELECT $col FROM variables WHERE id = '$id'");
}

sub listed {
    my ($token) = @_;
    my $doc = json_of(call(GET => "$VARS?page[size]=100", token => $token));
    return {map {; $_->{attributes}{key} . '/' . $_->{attributes}{category} => $_ }
            @{ $doc->{data} || [] }};
}

for ([reader => 'read'], [writer => 'write']) {
    my ($who, $level) = @$_;
    api(POST => $ROLES, token => $admin,
        body => {data => {type => 'roles',
                          attributes => {name => "vars30-$who",
                                         'workspace-permission' => $level,
                                         'allow-names' => ['vars30-main']}}});
    api(PUT => $RA, token => $admin,
        body => {data => {type => 'role-assignments',
                          attributes => {'provider-name' => 'local',
                                         email => "vars30-$who\@test.local",
                                         roles => ["vars30-$who"]}}});
}

# ---- create ----

my $r = create_var($owner, key => 'AWS_REGION', value => 'eu-west-1',
                   category => 'env', description => 'AWS region');
is $r->code, 201, 'create a variable: 201';
my $v = json_of($r)->{data};
my $region = $v->{id};
is $v->{type}, 'vars', 'type vars';
like $region, qr/^var-[A-Za-z0-9]{16}$/, 'id var-...';
is $v->{attributes}{key}, 'AWS_REGION', 'key as sent';
is $v->{attributes}{value}, 'eu-west-1', 'value as sent';
is $v->{attributes}{category}, 'env', 'category as sent';
is $v->{attributes}{description}, 'AWS region', 'description as sent';
is_deeply $v->{attributes}{hcl}, $false, 'hcl defaults to false';
is_deeply $v->{attributes}{sensitive}, $false, 'sensitive defaults to false';
like $v->{attributes}{'created-at'} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'created-at';
is_deeply $v->{relationships}{configurable}{data}, {id => $ws, type => 'workspaces'},
          'related to its workspace as configurable';
is $v->{links}{self}, "/api/v2/workspaces/$ws/vars/$region", 'links.self';
is column($region, 'value'), 'eu-west-1', 'plain value stored as is';
is column($region, "coalesce(sealed_value, 'none')"), 'none', 'plain value not sealed';

$r = create_var($owner, key => 'instance_count', value => '{ a = 1 }',
                category => 'terraform', hcl => $true);
is $r->code, 201, 'create an HCL terraform variable: 201';
my $count = json_of($r)->{data}{id};
is_deeply json_of($r)->{data}{attributes}{hcl}, $true, 'hcl true';
is json_of($r)->{data}{attributes}{description}, '', 'description defaults to empty';

$r = create_var($owner, key => 'DB_PASSWORD', value => $secret, category => 'env',
                sensitive => $true);
is $r->code, 201, 'create a sensitive variable: 201';
my $password = json_of($r)->{data}{id};
ok exists json_of($r)->{data}{attributes}{value}
   && !defined json_of($r)->{data}{attributes}{value},
   'sensitive value answered as null';
is_deeply json_of($r)->{data}{attributes}{sensitive}, $true, 'sensitive true';
is column($password, 'value'), '', 'sensitive: value column empty';
my $sealed = column($password, 'sealed_value');
ok length $sealed > length $secret, 'sensitive: sealed_value stored';
is sql("SELECT count(*) FROM variables WHERE value LIKE '%$secret%'"
       . " OR sealed_value LIKE '%$secret%' OR description LIKE '%$secret%'"),
   '0', 'the sensitive value is nowhere in plain text';

$r = create_var($owner, key => 'EMPTY_SECRET', category => 'env', sensitive => $true);
is $r->code, 201, 'a sensitive variable without a value: 201';
my $empty_secret = json_of($r)->{data}{id};
ok length column($empty_secret, 'sealed_value'), 'an empty value is sealed too';

$r = create_var($owner, key => 'AWS_REGION', value => 'tf', category => 'terraform');
is $r->code, 201, 'the same key in the other category: 201';
my $region_tf = json_of($r)->{data}{id};

$r = create_var($owner, key => '_x-y_9', value => '', category => 'env',
                description => 'd' x 512);
is $r->code, 201, 'key of _, - and digits, 512-character description: 201';
my $odd = json_of($r)->{data}{id};
is length(json_of($r)->{data}{attributes}{description}), 512, 'description kept whole';

my $k128 = 'k' x 128;
$r = create_var($owner, key => $k128, category => 'env');
is $r->code, 201, 'a 128-character key: 201';
my $long = json_of($r)->{data}{id};

is count_vars(), '7', 'seven variables stored';

# ---- bad input: exact status, nothing stored ----

my @bad = (
    ['no key', 422, category => 'env', value => 'x'],
    ['no category', 422, key => 'NOCAT', value => 'x'],
    ['unknown category', 422, key => 'BADCAT', category => 'policy-set'],
    ['category not a string', 422, key => 'BADCAT', category => 1],
    ['key starting with a digit', 422, key => '1abc', category => 'env'],
    ['key starting with -', 422, key => '-abc', category => 'env'],
    ['key with a space', 422, key => 'a b', category => 'env'],
    ['key with a dot', 422, key => 'a.b', category => 'env'],
    ['empty key', 422, key => '', category => 'env'],
    ['129-character key', 422, key => 'k' x 129, category => 'env'],
    ['key not a string', 422, key => 12, category => 'env'],
    ['value not a string', 422, key => 'NUM', category => 'env', value => 3],
    ['value null', 422, key => 'NUL', category => 'env', value => undef],
    ['hcl not a boolean', 422, key => 'H', category => 'env', hcl => 'yes'],
    ['sensitive not a boolean', 422, key => 'S', category => 'env',
     sensitive => 'true'],
    ['513-character description', 422, key => 'D', category => 'env',
     description => 'd' x 513],
    ['description not a string', 422, key => 'D', category => 'env',
     description => []],
    ['wrong data type', 409, key => 'T', category => 'env', _type => 'workspaces'],
    ['duplicate key and category', 422, key => 'AWS_REGION', category => 'env',
     value => 'changed'],
);
for my $case (@bad) {
    my ($name, $status, %attrs) = @$case;
    is_error(create_var($owner, %attrs), $status, "create: $name");
}
like error_detail(create_var($owner, key => 'AWS_REGION', category => 'env')),
     qr/has already been taken/, 'duplicate: "has already been taken"';
is_error(call(POST => $VARS, token => $owner, body => '{"data":'), 400,
         'create: malformed JSON');
is_error(call(POST => $VARS, token => $owner, body => {key => 'X'}), 400,
         'create: no data object');
is count_vars(), '7', 'refused creates stored nothing';
is column($region, 'value'), 'eu-west-1', 'the duplicate left the original alone';

# ---- list ----

$r = call(GET => $VARS, token => $owner);
is $r->code, 200, 'list: 200';
my $doc = json_of($r);
is $doc->{meta}{pagination}{'total-count'}, 7, 'list: total-count';
is_deeply [map { "$_->{attributes}{category}/$_->{attributes}{key}" } @{ $doc->{data} }],
          ['env/AWS_REGION', 'env/DB_PASSWORD', 'env/EMPTY_SECRET', 'env/_x-y_9',
           "env/$k128", 'terraform/AWS_REGION', 'terraform/instance_count'],
          'list: ordered by category, then key';
my $all = listed($owner);
ok !defined $all->{'DB_PASSWORD/env'}{attributes}{value}, 'list: sensitive value null';
is $all->{'AWS_REGION/env'}{attributes}{value}, 'eu-west-1', 'list: plain value shown';
$r = call(GET => "$VARS?page[size]=2&page[number]=2", token => $owner);
is scalar @{ json_of($r)->{data} }, 2, 'list: page[size] honoured';
is json_of($r)->{data}[0]{attributes}{key}, 'EMPTY_SECRET', 'list: page[number] honoured';
is_error(call(GET => "$VARS?page[size]=x", token => $owner), 400, 'list: bad page[size]');
$r = call(GET => "/api/v2/workspaces/$other_ws/vars", token => $owner);
is_deeply json_of($r)->{data}, [], 'list: another workspace has none of them';

# ---- show ----

$r = call(GET => "$VARS/$region", token => $owner);
is $r->code, 200, 'show: 200';
is json_of($r)->{data}{attributes}{value}, 'eu-west-1', 'show: the variable';
$r = call(GET => "$VARS/$password", token => $owner);
is $r->code, 200, 'show a sensitive variable: 200';
ok !defined json_of($r)->{data}{attributes}{value}, 'show: sensitive value null';
is_error(call(GET => "$VARS/var-doesnotexist0000", token => $owner), 404,
         'show an unknown variable');

# ---- update ----

sub patch {
    my ($token, $id, %attrs) = @_;
    return call(PATCH => "$VARS/$id", token => $token, body => var_body(%attrs));
}

$r = patch($owner, $region, value => 'us-east-1');
is $r->code, 200, 'PATCH the value: 200';
$v = json_of($r)->{data}{attributes};
is $v->{value}, 'us-east-1', 'PATCH: value changed';
is $v->{description}, 'AWS region', 'PATCH: description kept';
is $v->{category}, 'env', 'PATCH: category kept';
is $v->{key}, 'AWS_REGION', 'PATCH: key kept';

$r = patch($owner, $region, description => 'where', hcl => $true);
is $r->code, 200, 'PATCH description and hcl: 200';
$v = json_of($r)->{data}{attributes};
is $v->{value}, 'us-east-1', 'PATCH: value kept';
is $v->{description}, 'where', 'PATCH: description changed';
is_deeply $v->{hcl}, $true, 'PATCH: hcl changed';

$r = patch($owner, $region, key => 'REGION');
is $r->code, 200, 'PATCH the key: 200';
is json_of($r)->{data}{attributes}{key}, 'REGION', 'PATCH: key changed';
is column($region, 'key'), 'REGION', 'PATCH: key stored';

is_error(patch($owner, $region, key => 'DB_PASSWORD'), 422,
         'PATCH the key onto another variable\'s');
is_error(patch($owner, $region_tf, category => 'env', key => 'REGION'), 422,
         'PATCH category and key onto another variable\'s');
is_error(patch($owner, $region, key => '9lives'), 422, 'PATCH an invalid key');
is_error(patch($owner, $region, category => 'secret'), 422, 'PATCH an invalid category');
is_error(patch($owner, $region, value => {}), 422, 'PATCH a value that is not a string');
is_error(patch($owner, $region, hcl => 1), 422, 'PATCH hcl not a boolean');
is_error(patch($owner, $region, description => 'd' x 513), 422,
         'PATCH a description too long');
is_error(patch($owner, $region, value => 'x', _type => 'state-versions'), 409,
         'PATCH with the wrong data type');
is_error(call(PATCH => "$VARS/$region", token => $owner, body => 'nope'), 400,
         'PATCH malformed JSON');
is sql("SELECT key || '|' || category || '|' || value || '|' || description"
       . " FROM variables WHERE id = '$region'"),
   'REGION|env|us-east-1|where', 'refused PATCHes changed nothing';
is_error(patch($owner, 'var-doesnotexist0000', value => 'x'), 404,
         'PATCH an unknown variable');

$r = create_var($owner, key => 'MOVED', category => 'terraform');
my $moved = json_of($r)->{data}{id};
$r = patch($owner, $moved, category => 'env');
is $r->code, 200, 'PATCH the category: 200';
is column($moved, 'category'), 'env', 'PATCH: category stored';

# a variable of another workspace is not reachable through this one
$r = call(POST => "/api/v2/workspaces/$other_ws/vars", token => $owner,
          body => var_body(key => 'ELSEWHERE', value => 'there', category => 'env'));
is $r->code, 201, 'a variable in another workspace: 201';
my $elsewhere = json_of($r)->{data}{id};
is_error(patch($owner, $elsewhere, value => 'hijacked'), 404,
         'PATCH another workspace\'s variable through this one');
is_error(call(GET => "$VARS/$elsewhere", token => $owner), 404,
         'show another workspace\'s variable through this one');
is_error(call(DELETE => "$VARS/$elsewhere", token => $owner), 404,
         'DELETE another workspace\'s variable through this one');
is column($elsewhere, 'value'), 'there', 'the other workspace\'s variable is untouched';

# ---- sensitive values ----

is_error(patch($owner, $password, sensitive => $false), 422,
         'a sensitive variable cannot be made non-sensitive');
like error_detail(patch($owner, $password, sensitive => $false, value => 'x')),
     qr/non-sensitive/, '... even with a new value';
is column($password, 'sensitive'), 't', 'still sensitive';
is column($password, 'sealed_value'), $sealed, 'sealed value untouched';

$r = patch($owner, $password, description => 'the db');
is $r->code, 200, 'PATCH a sensitive variable\'s description: 200';
ok !defined json_of($r)->{data}{attributes}{value}, 'PATCH: sensitive value null';
is column($password, 'sealed_value'), $sealed, 'PATCH without a value keeps the sealed one';

$r = patch($owner, $password, value => $secret2, sensitive => $true);
is $r->code, 200, 'PATCH a sensitive variable\'s value: 200';
ok !defined json_of($r)->{data}{attributes}{value}, 'PATCH: new value not answered';
isnt column($password, 'sealed_value'), $sealed, 'the new value replaced the sealed one';
is column($password, 'value'), '', 'value column still empty';

$r = create_var($owner, key => 'TURNS_SECRET', value => $turned, category => 'env');
my $turns = json_of($r)->{data}{id};
is json_of($r)->{data}{attributes}{value}, $turned, 'a plain variable shows its value';
$r = patch($owner, $turns, sensitive => $true);
is $r->code, 200, 'make a plain variable sensitive: 200';
ok !defined json_of($r)->{data}{attributes}{value}, 'now its value is null';
is column($turns, 'value'), '', 'its plain value is gone from the row';
ok length column($turns, 'sealed_value'), 'its value was sealed';

is sql("SELECT count(*) FROM variables WHERE value LIKE '%vars30-%'"
       . " OR sealed_value LIKE '%vars30-%'"),
   '0', 'no sensitive value is stored in plain text';

# ---- delete ----

is call(DELETE => "$VARS/$odd", token => $owner)->code, 204, 'DELETE: 204';
is column($odd, 'count(*)'), '0', 'DELETE: row gone';
ok !listed($owner)->{'_x-y_9/env'}, 'DELETE: no longer listed';
is_error(call(DELETE => "$VARS/$odd", token => $owner), 404, 'DELETE again');
is_error(call(DELETE => "$VARS/var-doesnotexist0000", token => $owner), 404,
         'DELETE an unknown variable');

# ---- who may do what ----

my $n = count_vars();

# no token
is_error(call(GET => $VARS), 401, 'list without a token');
is_error(call(GET => "$VARS/$region"), 401, 'show without a token');
is_error(call(POST => $VARS, body => var_body(key => 'ANON', category => 'env')), 401,
         'create without a token');
is_error(call(PATCH => "$VARS/$region", body => var_body(value => 'anon')), 401,
         'update without a token');
is_error(call(DELETE => "$VARS/$region"), 401, 'delete without a token');
is_error(call(GET => "/api/v2/workspaces/$ws/all-vars"), 401, 'all-vars without a token');

# a user who cannot read the workspace does not see it
is_error(call(GET => $VARS, token => $stranger), 404, 'stranger lists');
is_error(call(GET => "$VARS/$region", token => $stranger), 404, 'stranger shows');
is_error(create_var($stranger, key => 'STRANGE', category => 'env'), 404,
         'stranger creates');
is_error(patch($stranger, $region, value => 'strange'), 404, 'stranger updates');
is_error(call(DELETE => "$VARS/$region", token => $stranger), 404, 'stranger deletes');
is_error(call(GET => "/api/v2/workspaces/$ws/all-vars", token => $stranger), 404,
         'stranger reads all-vars');

# read lists, but cannot change
$r = call(GET => $VARS, token => $reader);
is $r->code, 200, 'reader lists: 200';
is scalar @{ json_of($r)->{data} }, $n, 'reader sees every variable';
ok !defined listed($reader)->{'DB_PASSWORD/env'}{attributes}{value},
   'reader: sensitive value null';
is call(GET => "$VARS/$region", token => $reader)->code, 200, 'reader shows: 200';
is call(GET => "/api/v2/workspaces/$ws/all-vars", token => $reader)->code, 200,
   'reader reads all-vars: 200';
is_error(create_var($reader, key => 'READER', category => 'env'), 403, 'reader creates');
is_error(patch($reader, $region, value => 'read-only'), 403, 'reader updates');
is_error(call(DELETE => "$VARS/$region", token => $reader), 403, 'reader deletes');
is count_vars(), $n, 'refused calls stored nothing';
is column($region, 'value'), 'us-east-1', 'refused calls changed nothing';

# write creates, updates and deletes
$r = create_var($writer, key => 'WRITER', value => 'w', category => 'env');
is $r->code, 201, 'writer creates: 201';
my $w = json_of($r)->{data}{id};
is patch($writer, $w, value => 'w2')->code, 200, 'writer updates: 200';
is column($w, 'value'), 'w2', 'writer update stored';
is call(DELETE => "$VARS/$w", token => $writer)->code, 204, 'writer deletes: 204';
is_error(call(GET => "/api/v2/workspaces/$other_ws/vars", token => $writer), 404,
         'writer: a workspace its role does not name is invisible');

# the platform admin and the owner can do anything
is call(GET => $VARS, token => $admin)->code, 200, 'admin lists: 200';
$r = create_var($admin, key => 'BY_ADMIN', category => 'terraform');
is $r->code, 201, 'admin creates: 201';
is call(DELETE => "$VARS/" . json_of($r)->{data}{id}, token => $admin)->code, 204,
   'admin deletes: 204';

# ---- all-vars of a workspace with only its own ----

$r = call(GET => "/api/v2/workspaces/$ws/all-vars", token => $owner);
is $r->code, 200, 'all-vars: 200';
my @items = @{ json_of($r)->{data} };
is scalar @items, count_vars(), 'all-vars: every own variable';
my %by = map {; "$_->{attributes}{category}/$_->{attributes}{key}" => $_ } @items;
is $by{'env/REGION'}{attributes}{value}, 'us-east-1', 'all-vars: plain value';
ok exists $by{'env/DB_PASSWORD'}{attributes}{value}
   && !defined $by{'env/DB_PASSWORD'}{attributes}{value},
   'all-vars: sensitive value null';
is_deeply $by{'env/DB_PASSWORD'}{attributes}{sensitive}, $true,
          'all-vars: sensitive flag';
is_deeply $by{'terraform/instance_count'}{attributes}{hcl}, $true, 'all-vars: hcl flag';
is_deeply $by{'env/REGION'}{relationships}{configurable}{data},
          {id => $ws, type => 'workspaces'}, 'all-vars: the workspace as source';
is $by{'env/REGION'}{id}, $region, 'all-vars: the variable\'s own id';
$r = call(GET => "/api/v2/workspaces/$other_ws/all-vars", token => $owner);
is_deeply [map { $_->{attributes}{key} } @{ json_of($r)->{data} }], ['ELSEWHERE'],
          'all-vars: only the workspace\'s own';
is_error(call(GET => '/api/v2/workspaces/ws-doesnotexist0000/all-vars', token => $admin),
         404, 'all-vars of an unknown workspace');
is_error(call(GET => '/api/v2/workspaces/ws-doesnotexist0000/vars', token => $admin),
         404, 'vars of an unknown workspace');

# ---- deleting the workspace takes its variables ----

is call(DELETE => "/api/v2/workspaces/$other_ws", token => $owner)->code, 204,
   'delete the other workspace: 204';
is sql("SELECT count(*) FROM variables WHERE workspace_id = '$other_ws'"), '0',
   'its variables went with it';

# ---- no answer and no log line carried a sensitive value ----

my @turned_plain = grep { index($_, $turned) >= 0 } @answers;
is scalar(@turned_plain), 1, 'the once-plain value was answered only while plain';
is scalar(grep { index($_, $secret) >= 0 || index($_, $secret2) >= 0 } @answers), 0,
   'no answer carried a sensitive value';
my $log = Apache::Test::vars('t_logs') . '/error_log';
my $text = do { local (@ARGV, $/) = ($log); <> } // '';
ok length $text, 'the error log was read';
ok index($text, $secret) < 0 && index($text, $secret2) < 0,
   'the error log carries no sensitive value';
