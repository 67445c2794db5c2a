# State versions: the TFE create / upload / download flow the CLI uses,
# outputs, the serial and lineage rules, legacy inline state, listing and
# filtering, and the native delete, rollback and raw upload actions.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use HTTP::Request ();
use JSON::PP ();
use Digest::MD5 qw(md5_hex);
use MIME::Base64 qw(encode_base64);
use TP::Test;

plan tests => 128;

my $json = JSON::PP->new->canonical;
my $true = JSON::PP::true;
my $false = JSON::PP::false;
my $storage = "$ENV{TP_INSTANCE}/storage";

my $owner_email = 'sv-owner@test.local';
my $owner = user_token($owner_email);
my $admin = admin_token();

# A terraform state (format 4) as the CLI writes it.
sub state_doc {
    my (%o) = @_;
    return {
        version => 4,
        terraform_version => '1.11.4',
        serial => $o{serial},
        lineage => $o{lineage},
        outputs => $o{outputs} // {},
        resources => $o{resources} // [],
        check_results => undef,
    };
}

sub resource {
    my ($name, $id) = @_;
    return {mode => 'managed', type => 'null_resource', name => $name,
            provider => 'provider["registry.terraform.io/hashicorp/null"]',
            instances => [{schema_version => 0,
                           attributes => {id => $id, triggers => undef},
                           sensitive_attributes => []}]};
}

sub b64 { encode_base64($_[0], '') }

sub sv_path { "/api/v2/workspaces/$_[0]/state-versions" }

sub create_sv {
    my ($ws, %attrs) = @_;
    return api(POST => sv_path($ws), token => $owner,
               body => {data => {type => 'state-versions',
                                 attributes => \%attrs}});
}

# Requests an absolute URL the server handed out, as is.

sub put_state {
    my ($url, $bytes) = @_;
    return api(PUT => $url, body => $bytes,
                       headers => {'Content-Type' => 'application/octet-stream'});
}

# create + upload; returns the version id
sub push_state {
    my ($ws, $doc, %extra) = @_;
    my $bytes = $json->encode($doc);
    my $r = create_sv($ws, serial => $doc->{serial}, md5 => md5_hex($bytes),
                      lineage => $doc->{lineage}, %extra);
    die 'create: ' . $r->as_string unless $r->code == 201;
    my $sv = json_of($r)->{data};
    $r = put_state($sv->{attributes}{'hosted-state-upload-url'}, $bytes);
    die 'upload: ' . $r->as_string unless $r->code == 200;
    return $sv->{id};
}

sub rows_of {
    my ($ws, $where) = @_;
    $where = $where ? " AND $where" : '';
    return sql("SELECT count(*) FROM state_versions WHERE workspace_id = '$ws'$where");
}

sub outputs_by_name {
    my ($r) = @_;
    my %o = map { $_->{attributes}{name} => $_ } @{ json_of($r)->{data} || [] };
    return \%o;
}

# ---- the TFE flow ----

my $ws = make_ws($owner, 'sv-flow');
my $lineage = 'a1b2c3d4-0000-4000-8000-000000000001';
my $outputs = {
    greeting => {value => 'hello', type => 'string', sensitive => $false},
    items    => {value => [1, 2], type => ['list', 'number'], sensitive => $false},
    secret   => {value => 's3cr3t', type => 'string', sensitive => $true},
};
my $doc1 = state_doc(serial => 1, lineage => $lineage, outputs => $outputs,
                     resources => [resource('one', '111')]);
my $bytes1 = $json->encode($doc1);

my $r = create_sv($ws, serial => 1, md5 => md5_hex($bytes1), lineage => $lineage,
                  'json-state-outputs' => b64($json->encode($outputs)));
is $r->code, 201, 'create state version: 201';
my $sv = json_of($r)->{data};
my $v1 = $sv->{id};
is $sv->{type}, 'state-versions', 'type state-versions';
is $sv->{attributes}{status}, 'pending', 'new version is pending';
is $sv->{attributes}{serial}, 1, 'serial as sent';
is $sv->{attributes}{md5}, md5_hex($bytes1), 'md5 as sent';
is $sv->{attributes}{lineage}, $lineage, 'lineage as sent';
is $sv->{attributes}{'created-by'}, $owner_email, 'created-by is the creator';
like $sv->{attributes}{'hosted-state-upload-url'} // '',
     qr{^https?://[^/]+/api/v2/state-versions/\Q$v1\E/content\?expires=\d+&signature=[A-Za-z0-9_-]+$},
     'hosted-state-upload-url is an absolute signed URL';
like $sv->{attributes}{'hosted-json-state-upload-url'} // '',
     qr{^https?://[^/]+/api/v2/state-versions/\Q$v1\E/json-content\?expires=\d+&signature=[A-Za-z0-9_-]+$},
     'hosted-json-state-upload-url is an absolute signed URL';
ok !defined $sv->{attributes}{'hosted-state-download-url'},
   'no download URL while pending';
is $sv->{relationships}{workspace}{data}{id}, $ws, 'related to its workspace';
# the create answer is built from the insert itself: it must show what a
# read of the pending version shows (the signed URLs aside, signed anew)
my $read = json_of(api(GET => "/api/v2/state-versions/$v1", token => $owner))->{data};
my %signed = map { $_ => 1 } qw(hosted-state-upload-url hosted-json-state-upload-url);
my $unsigned = sub { my ($a) = @_; +{ map { $_ => $a->{$_} } grep { !$signed{$_} } keys %$a } };
is_deeply $unsigned->($sv->{attributes}), $unsigned->($read->{attributes}),
          'the create answer has the attributes a read shows';
is_deeply $sv->{relationships}, $read->{relationships},
          'and the same relationships';
is scalar @{ $sv->{relationships}{outputs}{data} // [] }, 3,
   'among them the three declared outputs';

is_error(api(GET => "/api/v2/workspaces/$ws/current-state-version", token => $owner),
         404, 'current-state-version while pending');

$r = put_state($sv->{attributes}{'hosted-state-upload-url'}, $bytes1);
is $r->code, 200, 'PUT to the upload URL without a token: 200';

$r = api(GET => "/api/v2/state-versions/$v1", token => $owner);
is $r->code, 200, 'show state version: 200';
my $shown = json_of($r)->{data};
is $shown->{attributes}{status}, 'finalized', 'finalized after upload';
like $shown->{attributes}{'hosted-state-download-url'} // '',
     qr{^https?://[^/]+/api/v2/state-versions/\Q$v1\E/download$},
     'hosted-state-download-url present';
is $shown->{attributes}{size}, length $bytes1, 'size is the byte count';
ok $shown->{attributes}{'is-current'}, 'is-current';

$r = api(GET => "/api/v2/workspaces/$ws/current-state-version", token => $owner);
is $r->code, 200, 'current-state-version: 200';
is json_of($r)->{data}{id}, $v1, 'current is the uploaded version';

my $dl = $shown->{attributes}{'hosted-state-download-url'};
$r = api(GET => $dl, token => $owner,
                 headers => {Accept => 'application/json'});
is $r->code, 200, 'download with the token: 200';
ok $r->content eq $bytes1, 'download returns exactly the uploaded bytes';
is_error(api(GET => $dl), 401, 'download without a token');

# outputs
$r = api(GET => "/api/v2/state-versions/$v1/outputs", token => $owner);
is $r->code, 200, 'state version outputs: 200';
my $outs = outputs_by_name($r);
is_deeply [sort keys %$outs], [qw(greeting items secret)], 'all outputs listed';
is_deeply [sort map { $_->{type} } values %$outs],
          [('state-version-outputs') x 3], 'type state-version-outputs';
is $outs->{greeting}{attributes}{type}, 'string', 'string output: type';
is $outs->{greeting}{attributes}{'detailed-type'}, 'string',
   'string output: detailed-type';
is $outs->{greeting}{attributes}{value}, 'hello', 'string output: value';
ok !$outs->{greeting}{attributes}{sensitive}, 'string output: not sensitive';
is $outs->{items}{attributes}{type}, 'array', 'list output: type array';
is_deeply $outs->{items}{attributes}{'detailed-type'}, ['list', 'number'],
          'list output: detailed-type';
is_deeply $outs->{items}{attributes}{value}, [1, 2], 'list output: value';
ok $outs->{secret}{attributes}{sensitive}, 'sensitive output marked sensitive';
ok exists $outs->{secret}{attributes}{value}
   && !defined $outs->{secret}{attributes}{value},
   'sensitive output value is null';
unlike $r->content, qr/s3cr3t/, 'sensitive value is nowhere in the answer';
is_deeply [map { $_->{id} } @{ $shown->{relationships}{outputs}{data} }],
          [map { $outs->{$_}{id} } sort keys %$outs],
          'the version relates to its outputs, by name';

$r = api(GET => "/api/v2/workspaces/$ws/current-state-version-outputs",
         token => $owner);
is $r->code, 200, 'current-state-version-outputs: 200';
my $cur_outs = outputs_by_name($r);
is_deeply [map { $cur_outs->{$_}{id} } sort keys %$cur_outs],
          [map { $outs->{$_}{id} } sort keys %$outs],
          'current outputs are the current version\'s';
is $cur_outs->{items}{attributes}{type}, 'array', 'current outputs carry type';
is_deeply $cur_outs->{items}{attributes}{'detailed-type'}, ['list', 'number'],
          'current outputs carry detailed-type';
ok !defined $cur_outs->{secret}{attributes}{value},
   'current outputs: sensitive value null';

$r = api(GET => "/api/v2/state-version-outputs/$outs->{greeting}{id}",
         token => $owner);
is $r->code, 200, 'show one output: 200';
is json_of($r)->{data}{attributes}{name}, 'greeting', 'the output asked for';
is json_of($r)->{data}{attributes}{value}, 'hello', 'with its value';
$r = api(GET => "/api/v2/state-version-outputs/$outs->{secret}{id}",
         token => $owner);
ok !defined json_of($r)->{data}{attributes}{value},
   'one sensitive output: value null';

# ---- serial and lineage rules; legacy inline state ----

my $ws2 = make_ws($owner, 'sv-rules');
my $lin2 = 'a1b2c3d4-0000-4000-8000-000000000002';
my $doc5 = state_doc(serial => 5, lineage => $lin2,
                     resources => [resource('five', '555')]);
my $bytes5 = $json->encode($doc5);
my $other = $json->encode(state_doc(serial => 6, lineage => $lin2));

is_error(create_sv($ws2, serial => 6, md5 => md5_hex($other), lineage => $lin2,
                   state => b64($bytes5)),
         422, 'inline state whose md5 does not match');
is rows_of($ws2), '0', 'nothing written on the md5 mismatch';

$r = create_sv($ws2, serial => 5, md5 => md5_hex($bytes5), lineage => $lin2,
               state => b64($bytes5));
is $r->code, 201, 'legacy inline state: 201';
my $v5 = json_of($r)->{data}{id};
is json_of($r)->{data}{attributes}{status}, 'finalized',
   'inline state is finalized at once';
is current_sv_id($ws2, $owner), $v5, 'and is current';
$r = api(GET => "/api/v2/state-versions/$v5/download", token => $owner);
ok $r->code == 200 && $r->content eq $bytes5, 'inline state downloads as sent';

is_error(create_sv($ws2, serial => 5, md5 => md5_hex($other), lineage => $lin2),
         409, 'same serial as the current one');
is_error(create_sv($ws2, serial => 4, md5 => md5_hex($other), lineage => $lin2),
         409, 'lower serial');
is_error(create_sv($ws2, serial => 6, md5 => md5_hex($other),
                   lineage => 'ffffffff-0000-4000-8000-00000000ffff'),
         409, 'another lineage');
is rows_of($ws2), '1', 'the refused creates wrote nothing';
is current_sv_id($ws2, $owner), $v5, 'current unchanged after the refusals';

$r = create_sv($ws2, serial => 5, md5 => md5_hex($other), lineage => $lin2,
               force => $true);
is $r->code, 201, 'same serial with force: 201';
is json_of($r)->{data}{attributes}{status}, 'pending', 'forced version is pending';
$r = create_sv($ws2, serial => 7, md5 => md5_hex($other),
               lineage => 'ffffffff-0000-4000-8000-00000000ffff', force => $true);
is $r->code, 201, 'another lineage with force: 201';
is current_sv_id($ws2, $owner), $v5, 'pending forced versions are not current';

# ---- listing, newest first, paginated ----

my $doc2 = state_doc(serial => 2, lineage => $lineage,
                     outputs => {greeting => {value => 'two', type => 'string'},
                                 secret => {value => 'x', type => 'string',
                                            sensitive => $true}},
                     resources => [resource('one', '111'), resource('two', '222')]);
my $v2 = push_state($ws, $doc2);
my $doc3 = state_doc(serial => 3, lineage => $lineage,
                     outputs => {greeting => {value => 'three', type => 'string'}},
                     resources => [resource('three', '333')]);
my $v3 = push_state($ws, $doc3);

$r = api(GET => sv_path($ws), token => $owner);
is $r->code, 200, 'list state versions: 200';
my $list = json_of($r);
is_deeply [map { $_->{attributes}{serial} } @{ $list->{data} }], [3, 2, 1],
          'newest first';
is_deeply [map { $_->{id} } @{ $list->{data} }], [$v3, $v2, $v1], 'ids in order';
is_deeply [map { $_->{attributes}{'created-by'} } @{ $list->{data} }],
          [($owner_email) x 3], 'created-by on every version';
my $pg = $list->{meta}{pagination};
is_deeply [@$pg{qw(current-page total-pages total-count)}], [1, 1, 3],
          'pagination meta';

$r = api(GET => sv_path($ws) . '?page%5Bsize%5D=2', token => $owner);
$list = json_of($r);
is_deeply [map { $_->{id} } @{ $list->{data} }], [$v3, $v2], 'page 1 of size 2';
is_deeply [@{ $list->{meta}{pagination} }{qw(current-page next-page total-pages total-count)}],
          [1, 2, 2, 3], 'page 1 meta';
$r = api(GET => sv_path($ws) . '?page%5Bsize%5D=2&page%5Bnumber%5D=2',
         token => $owner);
$list = json_of($r);
is_deeply [map { $_->{id} } @{ $list->{data} }], [$v1], 'page 2 of size 2';
is_deeply [@{ $list->{meta}{pagination} }{qw(current-page prev-page next-page)}],
          [2, 1, undef], 'page 2 meta';

$r = api(GET => '/api/v2/state-versions?filter%5Bworkspace%5D%5Bname%5D=sv-flow'
              . '&filter%5Borganization%5D%5Bname%5D=default', token => $owner);
is $r->code, 200, 'state versions filtered by workspace name: 200';
is_deeply [map { $_->{id} } @{ json_of($r)->{data} }], [$v3, $v2, $v1],
          'filtered list is that workspace\'s, newest first';

# ---- native delete ----

is_error(api(DELETE => "/api/terrapod/v1/state-versions/$v3/manage", token => $owner),
         409, 'deleting the current version');
is current_sv_id($ws, $owner), $v3, 'current version kept';
ok -f "$storage/state/$ws/$v1.tfstate", 'the old version\'s file is stored';
$r = api(DELETE => "/api/terrapod/v1/state-versions/$v1/manage", token => $owner);
is $r->code, 204, 'deleting an older version: 204';
ok !-e "$storage/state/$ws/$v1.tfstate", 'its file is gone from storage';
is api(GET => "/api/v2/state-versions/$v1", token => $owner)->code, 404,
   'the deleted version is 404';
$r = api(GET => sv_path($ws), token => $owner);
is_deeply [map { $_->{id} } @{ json_of($r)->{data} }], [$v3, $v2],
          'and no longer listed';

# ---- rollback (copy forward) ----

$r = api(POST => "/api/terrapod/v1/state-versions/$v2/actions/rollback",
         token => $owner);
is $r->code, 201, 'rollback: 201';
my $rb = json_of($r)->{data};
is $rb->{type}, 'state-versions', 'rollback answers a state version';
isnt $rb->{id}, $v2, 'a new version';
is $rb->{attributes}{serial}, 4, 'serial is max + 1';
is $rb->{attributes}{status}, 'finalized', 'finalized';
is current_sv_id($ws, $owner), $rb->{id}, 'the rolled-back version is current';
$r = api(GET => "/api/v2/state-versions/$rb->{id}/download", token => $owner);
is $r->code, 200, 'rolled-back content downloads';
my $content = eval { $json->decode($r->content) } || {};
is $content->{serial}, 4, 'its content carries the new serial';
is $content->{lineage}, $lineage, 'and the old lineage';
is_deeply $content->{resources}, $doc2->{resources},
          'same resources as the old version';
is_deeply $content->{outputs}, $doc2->{outputs}, 'same outputs in the content';
$r = api(GET => "/api/v2/state-versions/$rb->{id}/outputs", token => $owner);
my $rb_outs = outputs_by_name($r);
is_deeply {map { $_ => $rb_outs->{$_}{attributes}{value} } keys %$rb_outs},
          {greeting => 'two', secret => undef},
          'same outputs served (sensitive still null)';
$r = api(GET => sv_path($ws), token => $owner);
is_deeply [map { $_->{id} } @{ json_of($r)->{data} }], [$rb->{id}, $v3, $v2],
          'history is kept';

# ---- raw upload with an assigned serial ----

my $raw = $json->encode(state_doc(serial => 1, lineage => $lineage,
                                  outputs => {greeting => {value => 'raw',
                                                           type => 'string'}},
                                  resources => [resource('raw', '999')]));
$r = api(POST => "/api/terrapod/v1/workspaces/$ws/state-versions/actions/upload",
         token => $owner, body => $raw, headers => {'Content-Type' => 'application/json'});
is $r->code, 201, 'raw state upload: 201';
my $up = json_of($r)->{data};
is $up->{attributes}{serial}, 5, 'serial assigned as max + 1';
is $up->{attributes}{status}, 'finalized', 'finalized';
is current_sv_id($ws, $owner), $up->{id}, 'and current';
$r = api(GET => "/api/v2/state-versions/$up->{id}/download", token => $owner);
$content = eval { $json->decode($r->content) } || {};
is $content->{serial}, 5, 'stored content carries the assigned serial';
is_deeply $content->{resources}, [resource('raw', '999')], 'with the uploaded resources';

my $before = rows_of($ws);
is_error(api(POST => "/api/terrapod/v1/workspaces/$ws/state-versions/actions/upload",
             token => $owner, body => '{"hello":"world"}'),
         422, 'raw upload of JSON that is not a state');
is_error(api(POST => "/api/terrapod/v1/workspaces/$ws/state-versions/actions/upload",
             token => $owner, body => 'this is not json'),
         422, 'raw upload of non-JSON');
is rows_of($ws), $before, 'the refused uploads wrote nothing';
is current_sv_id($ws, $owner), $up->{id}, 'current unchanged';

# ---- a workspace locked by someone else ----

$r = api(POST => "/api/v2/workspaces/$ws/actions/lock", token => $admin,
         body => {reason => 'maintenance'});
is $r->code, 200, 'another user locks the workspace';
my $doc10 = state_doc(serial => 10, lineage => $lineage);
my $bytes10 = $json->encode($doc10);
$r = create_sv($ws, serial => 10, md5 => md5_hex($bytes10), lineage => $lineage);
is_error($r, 409, 'creating a state version on a workspace locked by another');
like error_detail($r), qr/locked/, 'the 409 says it is locked';
is_error(create_sv($ws, serial => 11, md5 => md5_hex($bytes10), lineage => $lineage,
                   state => b64($bytes10)),
         409, 'inline state on a workspace locked by another');
is_error(api(POST => "/api/terrapod/v1/workspaces/$ws/state-versions/actions/upload",
             token => $owner, body => $bytes10),
         409, 'raw upload on a workspace locked by another');
is_error(api(POST => "/api/terrapod/v1/state-versions/$v2/actions/rollback",
             token => $owner),
         409, 'rollback on a workspace locked by another');
is rows_of($ws), $before, 'nothing written while locked by another';
is current_sv_id($ws, $owner), $up->{id}, 'current unchanged while locked';

$r = api(POST => "/api/v2/workspaces/$ws/actions/unlock", token => $admin);
is $r->code, 200, 'the holder unlocks';
$r = create_sv($ws, serial => 10, md5 => md5_hex($bytes10), lineage => $lineage);
is $r->code, 201, 'creating works again once unlocked';
