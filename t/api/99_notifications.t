# Notification configurations (/api/terrapod/v1 and TFE's /api/v2): every
# endpoint; admin on the workspace to change or verify, read to look; the
# validation refusals (destination, URL syntax, an address the outbound
# guard refuses although 127.0.0.0/8 is allowed, triggers, recipients, a
# token where none belongs, the 21st configuration); the token write-only;
# verify against a receiver with a valid HMAC-SHA512 signature, and its
# result among the delivery-responses; a run's status changes delivered
# once per trigger, tried again while the receiver fails; Slack's Block Kit;
# an email through the suite's mail server.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use TP::FakeReceiver;
use TP::FakeSMTP;
use Digest::SHA qw(hmac_sha512_hex);

plan tests => 135;


my $admin = admin_token();
my $ws = make_ws($admin, 'notify99');
my $reader = user_token('notify-reader@test.local');
my $outsider = user_token('notify-outsider@test.local');
grant_ws_role($admin, 'notify-reader@test.local', 'notify99-read', 'read',
              'notify99');
my $recv = TP::FakeReceiver->new(port => free_port())->start;
my $smtp = TP::FakeSMTP->new(port => $ENV{TP_SMTP_PORT})->start;

my $N = '/api/terrapod/v1';
sub create {
    my ($attrs, %o) = @_;
    return api(POST => ($o{prefix} // $N) . "/workspaces/" . ($o{ws} // $ws)
                       . '/notification-configurations',
               token => $o{token} // $admin,
               body => {data => {type => 'notification-configurations',
                                 attributes => $attrs}});
}
sub patch {
    my ($id, $attrs, %o) = @_;
    return api(PATCH => "$N/notification-configurations/$id",
               token => $o{token} // $admin,
               body => {data => {type => 'notification-configurations',
                                 attributes => $attrs}});
}
sub show { api(GET => "$N/notification-configurations/$_[0]", token => $_[1] // $admin) }
sub verify { api(POST => "$N/notification-configurations/$_[0]/actions/verify",
                 token => $_[1] // $admin) }
sub attrs { json_of($_[0])->{data}{attributes} }

# ---- create, show, list ----
my $r = create({name => 'hooks', 'destination-type' => 'generic',
                url => $recv->url, token => 'sekrit-99', enabled => JSON::PP::true,
                triggers => ['run:created', 'run:completed']});
is $r->code, 201, 'create: 201';
my $nc = json_of($r)->{data};
like $nc->{id}, qr/^nc-\w+$/, 'an nc- id';
is $nc->{type}, 'notification-configurations', 'its type';
is $nc->{attributes}{'has-token'}, JSON::PP::true, 'has-token';
ok !exists $nc->{attributes}{token}, 'the token is not shown';
is_deeply $nc->{attributes}{triggers}, ['run:created', 'run:completed'], 'triggers';
is $nc->{attributes}{'destination-type'}, 'generic', 'destination-type';
is $nc->{attributes}{enabled}, JSON::PP::true, 'enabled';
is_deeply $nc->{attributes}{'delivery-responses'}, [], 'no deliveries yet';
is $nc->{relationships}{subscribable}{data}{id}, $ws, 'subscribable: the workspace';
unlike $r->content, qr/sekrit-99/, 'the token nowhere in the answer';
unlike sql("SELECT token_sealed FROM notification_configurations WHERE id = '$nc->{id}'"),
       qr/sekrit-99/, 'the token sealed at rest';
my $id = $nc->{id};

is show($id)->code, 200, 'show: 200';
is show($id, $reader)->code, 200, 'show: a reader may';
is_error show($id, $outsider), 404, 'show: an outsider';
is_error show('nc-nope'), 404, 'show: unknown';
$r = api(GET => "$N/workspaces/$ws/notification-configurations", token => $reader);
is $r->code, 200, 'list: a reader may';
is scalar @{ json_of($r)->{data} }, 1, 'list: one';
$r = api(GET => "/api/v2/workspaces/$ws/notification-configurations", token => $admin);
is json_of($r)->{data}[0]{id}, $id, 'list: the TFE path';
is api(GET => "/api/v2/notification-configurations/$id", token => $admin)->code, 200,
   'show: the TFE path';
is_error api(GET => "$N/workspaces/$ws/notification-configurations", token => $outsider),
         404, 'list: an outsider';

# ---- permissions: admin on the workspace ----
is_error create({name => 'x', 'destination-type' => 'generic', url => $recv->url},
                token => $reader), 403, 'create: a reader may not';
is_error patch($id, {name => 'y'}, token => $reader), 403, 'update: a reader may not';
is_error verify($id, $reader), 403, 'verify: a reader may not';
is_error api(DELETE => "$N/notification-configurations/$id", token => $reader), 403,
         'delete: a reader may not';
is_error api(DELETE => "$N/notification-configurations/$id", token => $outsider), 404,
         'delete: an outsider';
is_error create({name => 'x', 'destination-type' => 'generic', url => $recv->url},
                token => $outsider), 404, 'create: an outsider';

# ---- validation: nothing written ----
my $count = sub { sql("SELECT count(*) FROM notification_configurations WHERE workspace_id = '$ws'") };
is_error create({'destination-type' => 'generic', url => $recv->url}), 422, 'no name';
is_error create({name => 'x', 'destination-type' => 'pager', url => $recv->url}), 422,
         'unknown destination';
is_error create({name => 'x', 'destination-type' => 'generic'}), 422, 'no url';
is_error create({name => 'x', 'destination-type' => 'generic', url => 'ftp://example.com/'}),
         422, 'not http(s)';
is_error create({name => 'x', 'destination-type' => 'generic', url => 'hooks'}), 422,
         'not absolute';
is_error create({name => 'x', 'destination-type' => 'generic',
                 url => 'https://user:pw@example.com/'}), 422, 'a password in the url';
for my $url ('http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data',
             'http://[::1]/hook', 'http://192.168.0.1/', 'http://[fd00:ec2::254]/') {
    $r = create({name => 'x', 'destination-type' => 'generic', url => $url});
    is_error $r, 422, "guarded: $url";
}
like error_detail($r), qr/metadata/, 'the refusal says why';
is_error create({name => 'x', 'destination-type' => 'generic', url => $recv->url,
                 triggers => ['run:exploded']}), 422, 'unknown trigger';
is_error create({name => 'x', 'destination-type' => 'email'}), 422, 'email without recipients';
is_error create({name => 'x', 'destination-type' => 'email',
                 'email-addresses' => ["a\@example.com\r\nBcc: b\@example.com"]}), 422,
         'a recipient with a line break';
is_error create({name => 'x', 'destination-type' => 'slack', url => $recv->url,
                 token => 't'}), 422, 'a token on slack';
is_error create({name => 'x', 'destination-type' => 'email', url => $recv->url,
                 'email-addresses' => ['a@example.com']}), 422, 'a url on email';
is_error api(POST => "$N/workspaces/$ws/notification-configurations", token => $admin,
             body => {data => {type => 'workspaces', attributes => {name => 'x'}}}),
         409, 'the wrong type';
is $count->(), 1, 'nothing written';

# ---- update: the token write-only ----
$r = patch($id, {name => 'renamed'});
is $r->code, 200, 'update: 200';
is attrs($r)->{name}, 'renamed', 'renamed';
is attrs($r)->{'has-token'}, JSON::PP::true, 'the token kept';
is_error patch($id, {'destination-type' => 'slack'}), 422, 'the destination stays';
is_error patch($id, {url => 'http://10.0.0.1/'}), 422, 'update: a guarded url';
is attrs(show($id))->{url}, $recv->url, 'the url unchanged';

# ---- verify: signed with the token ----
$r = verify($id);
is $r->code, 200, 'verify: 200';
my @got = $recv->received;
is scalar @got, 1, 'verify: one notification';
my $v = $got[0];
is $v->{body}{notifications}[0]{trigger}, 'verification', 'its trigger';
is $v->{body}{payload_version}, 1, 'payload_version';
is $v->{body}{notification_configuration_id}, $id, 'the configuration';
is $v->{headers}{'x-tfe-notification-signature'}, hmac_sha512_hex($v->{raw}, 'sekrit-99'),
   'the signature: HMAC-SHA512 of the body';
my $dr = attrs($r)->{'delivery-responses'};
is $dr->[0]{successful}, JSON::PP::true, 'the result: successful';
is $dr->[0]{code}, 200, 'the result: its status';

$recv->fail(1, 500);
$dr = attrs(verify($id))->{'delivery-responses'};
is $dr->[0]{successful}, JSON::PP::false, 'a failing receiver: not successful';
is $dr->[0]{code}, 500, 'its status';
like $dr->[0]{body}, qr/injected failure/, 'an excerpt of its answer';
is scalar @$dr, 2, 'both results kept';
verify($id) for 1 .. 10;
is scalar @{ attrs(show($id))->{'delivery-responses'} }, 10, 'the last 10 kept';

$r = patch($id, {token => ''});
is attrs($r)->{'has-token'}, JSON::PP::false, 'an empty token removes it';
verify($id);
@got = $recv->received;
ok !exists $got[-1]{headers}{'x-tfe-notification-signature'}, 'unsigned without a token';
patch($id, {token => 'sekrit-99'});

# ---- a run's status changes delivered, once per trigger ----
my $cv = make_cv($admin, $ws);
$r = api(POST => '/api/v2/runs', token => $admin,
         body => {data => {type => 'runs', attributes => {message => 'notify me'},
                           relationships => {workspace => {data => {type => 'workspaces', id => $ws}},
                               'configuration-version' => {data => {type => 'configuration-versions', id => $cv}}}}});
is $r->code, 201, 'a run';
my $run = json_of($r)->{data}{id};
sub of_run { grep { ($_->{body}{run_id} // '') eq $run } $recv->received }
ok wait_until(20, sub { of_run() >= 1 }), 'run:created delivered';
my ($created) = of_run();
is $created->{body}{notifications}[0]{trigger}, 'run:created', 'its trigger';
is $created->{body}{run_message}, 'notify me', 'the run message';
is $created->{body}{workspace_name}, 'notify99', 'the workspace';
is $created->{body}{workspace_id}, $ws, 'the workspace id';
is $created->{body}{organization_name}, 'default', 'the organization';
is $created->{headers}{'x-tfe-notification-signature'},
   hmac_sha512_hex($created->{raw}, 'sekrit-99'), 'signed';

$recv->fail(2, 503);
sql("UPDATE runs SET status = 'applied' WHERE id = '$run'");
ok wait_until(30, sub { of_run() >= 2 }), 'run:completed delivered after two failures';
is((of_run())[1]{body}{notifications}[0]{trigger}, 'run:completed', 'its trigger');
is((of_run())[1]{body}{notifications}[0]{run_status}, 'applied', 'its status');
is sql("SELECT attempts FROM notification_deliveries WHERE run_id = '$run'"
       . " AND trigger = 'run:completed'"), 3, 'tried three times';
sql("UPDATE runs SET status = 'planning' WHERE id = '$run'");
sql("UPDATE runs SET status = 'applied' WHERE id = '$run'");
ok wait_until(10, sub { sql("SELECT count(*) FROM notification_events") == 0 }),
   'the changes fanned out';
sleep 2;
is scalar(of_run()), 2, 'applied again: not told twice';
is sql("SELECT count(*) FROM notification_deliveries WHERE run_id = '$run'"), 2,
   'one delivery per trigger';

# ---- slack and email ----
$r = create({name => 'slack', 'destination-type' => 'slack',
             url => $recv->base . '/slack', enabled => JSON::PP::true});
is $r->code, 201, 'slack: created';
verify(json_of($r)->{data}{id});
my ($slack) = grep { $_->{path} eq '/slack' } $recv->received;
is ref $slack->{body}{blocks}, 'ARRAY', 'slack: Block Kit blocks';
is $slack->{body}{blocks}[0]{type}, 'header', 'slack: a header block';

$r = create({name => 'mail', 'destination-type' => 'email',
             'email-addresses' => ['ops@example.com', 'dev@example.com'],
             enabled => JSON::PP::true});
is $r->code, 201, 'email: created';
my $mail_id = json_of($r)->{data}{id};
# where STARTTLS is required, a server that offers none gets nothing
Apache::TestRequest::module('terrapod_smtp_tls');
my $tls_base = 'http://' . Apache::TestRequest::hostport();
$Apache::TestRequest::Module = undef;
$dr = attrs(api(POST => "$tls_base$N/notification-configurations/$mail_id/actions/verify",
                token => $admin))->{'delivery-responses'};
is $dr->[0]{successful}, JSON::PP::false, 'email: STARTTLS required and not offered: refused';
is scalar $smtp->messages, 0, 'email: nothing sent in the clear';
$dr = attrs(verify($mail_id))->{'delivery-responses'};
is $dr->[0]{successful}, JSON::PP::true, 'email: accepted';
my @mail = $smtp->messages;
is scalar @mail, 1, 'email: one message';
like $mail[0], qr/^X-Envelope-To: ops\@example.com,dev\@example.com\r$/m, 'email: both recipients';
like $mail[0], qr/^X-Received-TLS: no\r$/m, 'email: in the clear where STARTTLS is not offered';
like $mail[0], qr/^From: terrapod\@test.local\r$/m, 'email: the sender';
like $mail[0], qr/^Subject: \[Terrapod\] /m, 'email: a subject';

# STARTTLS required, offered, the certificate of TerrapodOutboundCAFile's
# CA, a login only over TLS
my $tls_dir = "$ENV{TP_INSTANCE}/tls";
my $smtps = TP::FakeSMTP->new(port => $ENV{TP_SMTP_TLS_PORT},
                              tls => {cert => "$tls_dir/server.pem",
                                      key => "$tls_dir/server.key"},
                              auth => ['notifier', 'mail-secret-99'])->start;
Apache::TestRequest::module('terrapod_smtp_starttls');
my $starttls_base = 'http://' . Apache::TestRequest::hostport();
$Apache::TestRequest::Module = undef;
$dr = attrs(api(POST => "$starttls_base$N/notification-configurations/$mail_id/actions/verify",
                token => $admin))->{'delivery-responses'};
is $dr->[0]{successful}, JSON::PP::true, 'email: STARTTLS and a login: accepted';
@mail = $smtps->messages;
is scalar @mail, 1, 'email over TLS: one message';
like $mail[0], qr/^X-Received-TLS: yes\r$/m, 'email over TLS: sent after STARTTLS';
like $mail[0], qr/^X-Authenticated-As: notifier\r$/m, 'email over TLS: logged in';
like $mail[0], qr/^Subject: \[Terrapod\] /m, 'email over TLS: the message';
is scalar $smtp->messages, 1, 'email over TLS: nothing more at the server in the clear';

# ---- at most 20 per workspace; delete ----
create({name => "more-$_", 'destination-type' => 'generic', url => $recv->url})
    for $count->() + 1 .. 20;
is $count->(), 20, 'twenty';
is_error create({name => 'one-too-many', 'destination-type' => 'generic',
                 url => $recv->url}), 422, 'the 21st';
is $count->(), 20, 'still twenty';
is api(DELETE => "/api/v2/notification-configurations/$id", token => $admin)->code, 204,
   'delete: 204 (TFE path)';
is_error show($id), 404, 'gone';
