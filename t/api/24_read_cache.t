# The read cache (TerrapodReadCache, 1 s here): an Apache process keeps
# the answers of the hot reads (a workspace, its current state version
# and outputs) while nothing is written, so a change made outside the
# server (SQL, another server) shows within the lifetime; every change
# committed through the server shows at once, on every process. An answer
# is kept per user and token, and per address asked at.
# One keep-alive connection keeps requests on one process, the one that
# kept the answer.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Digest::MD5 qw(md5_hex);
use JSON::PP ();
use Time::HiRes qw(time);
use TP::Test;
use TP::Tokens;

plan tests => 23;

my $admin = admin_token();
my $json = JSON::PP->new->canonical;

# One connection to the server, kept open across its requests: the
# decoded answer (undef unless 200) and the status.
sub connection {
    my $get = kept_alive();
    return sub {
        my ($token, $path, %headers) = @_;
        my $r = $get->($path, $token, %headers);
        return ($r->code == 200 ? json_of($r) : undef, $r->code);
    };
}

# A workspace attribute as n requests, each on a connection of its own
# (spread over the processes), see it: the distinct values.
sub everywhere {
    my ($n, $token, $path, $attr) = @_;
    my %seen;
    for (1 .. $n) {
        my $r = api(GET => $path, token => $token);
        $seen{ $r->code == 200 ? json_of($r)->{data}{attributes}{$attr}
                               : $r->code }++;
    }
    return join ',', sort keys %seen;
}

sub description_of {
    my ($c, $token, $path) = @_;
    my ($doc, $code) = $c->($token, $path);
    return $doc ? $doc->{data}{attributes}{description} : $code;
}

my $ws = make_ws($admin, 'rc24-ws', description => 'first');
my $ws_path = "/api/v2/workspaces/$ws";
my $by_name = '/api/v2/organizations/default/workspaces/rc24-ws';
my $c = connection();

# ---- a change outside the server: kept until the lifetime passes ----

# the answer's lifetime runs from when the server kept it, during the read
my $changed = time;
is description_of($c, $admin, $ws_path), 'first', 'read (and kept)';
sql("UPDATE workspaces SET description = 'by sql' WHERE id = '$ws'");
my $seen = description_of($c, $admin, $ws_path);
SKIP: {
    skip 'the machine took longer than the lifetime to change the row', 1
        if time - $changed >= $TP::Test::READ_CACHE_SECONDS;
    is $seen, 'first', 'changed by SQL: the process still answers from '
                       . 'what it kept';
}
read_cache_expired();
is description_of($c, $admin, $ws_path), 'by sql',
   'once the lifetime has passed: the change shows';

# ---- changes through the server: at once, on every process ----

everywhere(8, $admin, $ws_path, 'description');
is description_of($c, $admin, $by_name), 'by sql', 'read by name (kept)';
my $r = api(PATCH => $ws_path, token => $admin, body => {data => {
    type => 'workspaces', attributes => {description => 'by api'}}});
is $r->code, 200, 'description changed through the API';
is description_of($c, $admin, $ws_path), 'by api', 'seen at once by id';
is description_of($c, $admin, $by_name), 'by api', 'and by name';
is everywhere(8, $admin, $ws_path, 'description'), 'by api',
   'and on every process';

is api(POST => "$ws_path/actions/lock", token => $admin)->code, 200,
   'locked through the API';
is everywhere(8, $admin, $ws_path, 'locked'), 1, 'locked: seen at once';
is api(POST => "$ws_path/actions/unlock", token => $admin)->code, 200,
   'unlocked';
is everywhere(8, $admin, $ws_path, 'locked'), 0, 'unlocked: seen at once';

# the current state version follows an upload through the signed URL
sub push_state {
    my ($serial) = @_;
    my $bytes = $json->encode({version => 4, terraform_version => '1.11.4',
        serial => $serial, lineage => 'rc24', outputs => {
            n => {value => $serial, type => 'number'}}, resources => []});
    my $r = api(POST => "$ws_path/state-versions", token => $admin,
        body => {data => {type => 'state-versions', attributes => {
            serial => $serial, md5 => md5_hex($bytes), lineage => 'rc24'}}});
    die 'create: ' . $r->as_string unless $r->code == 201;
    my $sv = json_of($r)->{data};
    $r = api(PUT => $sv->{attributes}{'hosted-state-upload-url'},
             body => $bytes,
             headers => {'Content-Type' => 'application/octet-stream'});
    die 'upload: ' . $r->as_string unless $r->code == 200;
    return $sv->{id};
}

my $csv = "$ws_path/current-state-version";
my $first = push_state(1);
my ($doc) = $c->($admin, $csv);
is $doc->{data}{id}, $first, 'current state version read (and kept)';
($doc) = $c->($admin, "$csv-outputs");
is $doc->{data}[0]{attributes}{value}, 1, 'its outputs read (and kept)';
my $second = push_state(2);
($doc) = $c->($admin, $csv);
is $doc->{data}{id}, $second, 'a new version uploaded: current at once';
($doc) = $c->($admin, "$csv-outputs");
is $doc->{data}[0]{attributes}{value}, 2, 'and its outputs';

# ---- an answer is kept for the one who asked, where they asked ----

make_role($admin, 'rc24-dev', 'read', env => 'rc24');
is api(PATCH => $ws_path, token => $admin, body => {data => {
    type => 'workspaces', attributes => {labels => {env => 'rc24'}}}})->code,
   200, 'workspace labelled for the role';
my $email = 'rc24-dev@test.local';
my $dev = user_token($email);
my $other = user_token('rc24-other@test.local');
assign_roles($admin, $email, 'rc24-dev');
my (undef, $code) = $c->($dev, $ws_path);
is $code, 200, 'the role holder reads the workspace (kept)';
(undef, $code) = $c->($other, $ws_path);
is $code, 404, 'a user without a role does not get that answer';
my ($mine) = $c->($dev, $ws_path);
my ($admins) = $c->($admin, $ws_path);
isnt $json->encode($mine->{data}{attributes}{permissions}),
     $json->encode($admins->{data}{attributes}{permissions}),
     'the admin and the role holder each get their own permissions';
is api(DELETE => "/api/terrapod/v1/role-assignments/local/$email/rc24-dev",
       token => $admin)->code, 204, 'assignment deleted through the API';
(undef, $code) = $c->($dev, $ws_path);
is $code, 404, 'unassigned: hidden at once';

# the download URL names the address the client asked at
my $port = Apache::Test::vars('port');
my %url;
for my $host ("localhost:$port", "127.0.0.1:$port") {
    ($doc) = $c->($admin, $csv, Host => $host);
    ($url{$host}) = ($doc->{data}{attributes}{'hosted-state-download-url'}
                     // '') =~ m{^https?://([^/]+)/};
}
is_deeply [sort values %url], [sort keys %url],
          'each address gets download URLs of its own';
