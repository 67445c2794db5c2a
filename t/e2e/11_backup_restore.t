# Backup and restore (docs/backup.md) with the real terraform binary. A
# backup taken with tools/tp-instance while the instance serves (a client
# stores and deletes state versions all along) restores into a fresh
# instance on another port that serves the same workspaces, state versions
# and outputs to terraform, accepts the old API tokens and listener
# certificates, opens what was signed before, and runs with the sensitive
# variable sealed before. With another HMAC key the signed tickets are
# refused and the run needing the sensitive variable errors, while API
# tokens (kept as SHA-256 hashes) still work.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(sha256_hex);
use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use TP::E2E;

my $e = instance();
my $json = JSON::PP->new->canonical;
my $NAT = '/api/terrapod/v1';

# ---- what the backup must carry ----

# a workspace terraform applied twice (two state versions) with outputs
my $config = <<'HCL';
variable "greeting" {
  default = "hello"
}
resource "terraform_data" "a" {
  input = var.greeting
}
output "greeting" {
  value = terraform_data.a.output
}
output "hidden" {
  value     = "not-for-eyes"
  sensitive = true
}
HCL
my $tf = workdir();
write_file("$tf/main.tf", cloud_config(workspace => 'e2e-backup', body => $config));
my ($rc, $out) = terraform($tf, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
($rc, $out) = terraform($tf, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'apply' or diag $out;
($rc, $out) = terraform($tf, 'apply', '-auto-approve', '-input=false',
                        '-var', 'greeting=bonjour');
is $rc, 0, 'a second apply' or diag $out;
($rc, my $pulled) = terraform($tf, 'state', 'pull');
($rc, my $outputs) = terraform($tf, 'output', '-json');
my ($res, $doc) = api(GET => '/api/v2/organizations/default/workspaces/e2e-backup');
my $ws = $doc->{data}{id};

# an agent-mode workspace with a sensitive variable and a configuration
# (uploaded, not run) whose output shows the variable's digest
my $secret = 'sealed-' . md5_hex(rand());
my $agent_tf = workdir();
write_file("$agent_tf/main.tf", cloud_config(workspace => 'e2e-backup-agent', body => <<'HCL'));
variable "secret" {
  type      = string
  sensitive = true
}
output "secret_sha" {
  value = nonsensitive(sha256(var.secret))
}
HCL
($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces',
                      attributes => {name => 'e2e-backup-agent',
                                     'execution-mode' => 'agent'}}});
is $res->code, 201, 'an agent-mode workspace' or diag $res->content;
my $agent_ws = $doc->{data}{id};
($res) = api(POST => "/api/v2/workspaces/$agent_ws/vars",
    body => {data => {type => 'vars', attributes => {
        key => 'secret', value => $secret, category => 'terraform',
        sensitive => JSON::PP::true()}}});
is $res->code, 201, 'with a sensitive variable';
upload_config($agent_ws, $agent_tf);
($res, $doc) = api(GET => "/api/v2/workspaces/$agent_ws/configuration-versions");
my $cv = $doc->{data}[0]{id};
my $tarball_md5 = md5_hex((api(GET => "$NAT/configuration-versions/$cv/download"))[0]->content);

# a signed ticket (HMAC) for that configuration, minted before the backup
($res, $doc) = api(POST => "$NAT/configuration-versions/$cv/download-ticket",
    body => {data => {type => 'download-tickets', attributes => {'ttl-seconds' => 1800}}});
is $res->code, 201, 'a download ticket is minted';
my $ticket_path = $doc->{data}{attributes}{url};

# a second API token, made through the API
($res, $doc) = api(GET => '/api/v2/account/details');
my $admin_id = $doc->{data}{id};
($res, $doc) = api(POST => "$NAT/users/$admin_id/authentication-tokens",
    body => {data => {type => 'authentication-tokens',
                      attributes => {description => 'made before the backup'}}});
is $res->code, 201, 'a second API token' or diag $res->content;
my $token2 = $doc->{data}{attributes}{token};

# a listener of a pool of its own, with the certificate it was issued
my $certs = workdir();
($res, $doc) = api(POST => "$NAT/agent-pools",
    body => {data => {type => 'agent-pools', attributes => {name => 'e2e-backup'}}});
my $pool = $doc->{data}{id};
($res, $doc) = api(POST => "$NAT/agent-pools/$pool/authentication-tokens",
    body => {data => {type => 'authentication-tokens', attributes => {}}});
my ($code, $joined) = curl($e, POST => "$NAT/agent-pools/join",
    body => {join_token => $doc->{data}{attributes}{token}, name => 'e2e-backup-l'});
is $code, 201, 'a listener joins';
$joined = decode($joined);
write_file("$certs/l.pem", $joined->{certificate} // '');
write_file("$certs/l.key", $joined->{private_key} // '');
chmod 0600, "$certs/l.key";
my $heartbeat = "$NAT/listeners/$joined->{listener_id}/heartbeat";

# ---- the backup, taken while a client stores and deletes state ----

admin_cmd('user', '--email', 'backup-loop@e2e.local', '--admin');
my ($loop_token) = admin_cmd('token', '--email', 'backup-loop@e2e.local')
    =~ /TERRAPOD_TOKEN='([^']+)'/;
($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => 'e2e-backup-busy'}}});
my $busy = $doc->{data}{id};
my $loop_log = "$certs/loop.log";
my $loop = fork() // die "fork: $!";
busy_client($busy, $loop_token, $loop_log) if $loop == 0;
ok wait_until(30, sub { loop_lines() >= 3 }), 'the client is storing state';

my $backup = File::Temp::tempdir("$e->{DIR}/backup-XXXXXX", CLEANUP => 1);
my $t0 = Time::HiRes::time();
my $made = eval { tp_instance('backup', $e->{DIR}, $backup) };
my $t1 = Time::HiRes::time();
ok $made, 'tp-instance backup succeeds while the instance serves' or diag $@;
my $after = loop_lines();
wait_until(30, sub { loop_lines() >= $after + 3 });
kill 'TERM', $loop;
waitpid $loop, 0;
my @iters = map { [split ' '] } do { open my $fh, '<', $loop_log; <$fh> };
is scalar(grep { $_->[2] != 201 || $_->[3] !~ /^(204|-)$/ } @iters), 0,
   'every request of the client succeeded'
   or diag join "\n", map { "@$_" } @iters;
ok scalar(grep { $_->[0] < $t1 && $_->[1] > $t0 } @iters),
   'requests were answered while the backup ran';
ok -s "$backup/$_", "the backup holds $_"
    for qw(database.dump storage.tar keys/hmac.key keys/listener-ca.key SHA256SUMS);

# the originals, read after the backup (nothing but the busy workspace changed)
my @workspaces = all_workspaces();
my @versions = versions_of($ws);
($code, my $tarball) = curl($e, GET => $ticket_path);
is md5_hex($tarball), $tarball_md5, 'the ticket opens the configuration';

# ---- restored into a fresh instance ----

my $new = "$e->{DIR}/restored";
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                 LocalPort => 0)->sockport;
END { system("$ENV{TP_SRC}/tools/tp-instance", 'down', $new) if $new && -d "$new/pg" }
ok eval { tp_instance('restore', $new, $backup, $port); 1 }, 'tp-instance restore'
    or diag $@;
ok !-e "$new/run/httpd.pid", 'the restored instance is left stopped';
ok eval { tp_instance('up', $new, $port); 1 }, 'and starts' or diag $@;
my $n = on_instance($new, \&instance);
isnt $n->{TERRAPOD_URL}, $e->{TERRAPOD_URL}, 'on another address';
is $n->{TERRAPOD_TOKEN}, $e->{TERRAPOD_TOKEN}, 'with the same admin token';
like on_instance($new, \&error_log), qr/TP00004: schema up to date \(0 file/,
     'the schema came with the dump: no migration ran again';

on_instance($new, sub {
    is_deeply [all_workspaces()], \@workspaces, 'the same workspaces (ids, names)';
    is_deeply [versions_of($ws)], \@versions,
              'the same state versions (ids, serials, content MD5s)';

    my $again = workdir();
    write_file("$again/main.tf", cloud_config(workspace => 'e2e-backup', body => $config));
    ($rc, $out) = terraform($again, 'init', '-input=false');
    is $rc, 0, 'terraform init against the restored instance' or diag $out;
    ($rc, $out) = terraform($again, 'state', 'pull');
    is_deeply decode($out), decode($pulled), 'terraform state pull: the same state';
    ($rc, $out) = terraform($again, 'output', '-json');
    is_deeply decode($out), decode($outputs), 'terraform output: the same outputs';
    ($rc, $out) = terraform($again, 'plan', '-input=false', '-var', 'greeting=bonjour',
                            '-detailed-exitcode');
    is $rc, 0, 'and nothing to change' or diag $out;

    ($res, $doc) = api(GET => '/api/v2/account/details', token => $token2);
    is $res->code, 200, 'the second API token works';
    is $doc->{data}{id}, $admin_id, 'as the same user';
    ($res) = api(GET => '/api/v2/account/details', token => $loop_token);
    is $res->code, 200, 'so does a token of another user';

    # every version the busy client left has its content
    my @busy = versions_of($busy);
    ok @busy, 'the busy workspace has state versions';
    is scalar(grep { $_->{md5} ne $_->{content_md5} } @busy), 0,
       'each downloads with the MD5 it was stored with';
    ($res) = api(GET => "/api/v2/workspaces/$busy/current-state-version");
    is $res->code, 200, 'and one is current';

    ($code, $tarball) = curl($n, GET => $ticket_path);
    is md5_hex($tarball), $tarball_md5,
       'the ticket minted before the backup opens the configuration';
    ($code) = curl($n, POST => $heartbeat, body => {capacity => 1},
                   cert => "$certs/l.pem", key => "$certs/l.key");
    is $code, 200, 'the listener\'s certificate is accepted (the listener CA came along)';

    ($res, $doc) = api(GET => "/api/v2/workspaces/$agent_ws/vars");
    my ($v) = grep { $_->{attributes}{key} eq 'secret' } @{ $doc->{data} };
    ok $v->{attributes}{sensitive} && !defined $v->{attributes}{value},
       'the sensitive variable is still sealed';
    my $run = queue_run($agent_ws, 'auto-apply' => JSON::PP::true());
    ok wait_until(180, sub { status_of($run) =~ /^(applied|errored)$/ }),
       'a run of the restored configuration ends';
    is status_of($run), 'applied', 'applied on the restored instance\'s listener';
    ($res, $doc) = api(GET => "/api/v2/workspaces/$agent_ws/current-state-version-outputs");
    my ($sha) = grep { $_->{attributes}{name} eq 'secret_sha' } @{ $doc->{data} };
    is $sha->{attributes}{value}, sha256_hex($secret),
       'the sensitive variable reached the run, unsealed';
});

# ---- the same backup without its HMAC key ----

tp_instance('httpd-down', $new);
open my $key, '>', "$new/hmac.key" or die "$new/hmac.key: $!";
print $key map { chr int rand 256 } 1 .. 64;
close $key;
tp_instance('httpd-up', $new);
on_instance($new, sub {
    ($code) = curl($n, GET => $ticket_path);
    is $code, 401, 'another key: the ticket signed before is refused';
    ($res) = api(GET => '/api/v2/account/details', token => $token2);
    is $res->code, 200, 'API tokens do not depend on the key';
    my $run = queue_run($agent_ws, 'auto-apply' => JSON::PP::true());
    ok wait_until(90, sub { status_of($run) eq 'errored' }),
       'a run needing the sensitive variable errors';
    ($res, $doc) = api(GET => "/api/v2/runs/$run");
    like $doc->{data}{attributes}{'error-message'}, qr/could not be unsealed/,
         'because the variable cannot be unsealed';
});

# ---- what the tools refuse ----

ok !eval { tp_instance('restore', $new, $backup, $port); 1 },
   'restore refuses an instance that has a database';
like $@, qr/already has a database/, 'saying so';
my @parts = ('--db', "host=$new/run dbname=terrapod user=terrapod",
             '--storage', "$certs/storage", '--hmac-key', "$certs/hmac.key");
($rc, $out) = backup_tool('restore', @parts, $backup);
isnt $rc, 0, 'terrapod-backup restore refuses a database that has tables';
like $out, qr/database is not empty/, 'saying so';
ok !-e "$certs/hmac.key", 'and installs nothing';
my $damaged = File::Temp::tempdir("$e->{DIR}/damaged-XXXXXX", CLEANUP => 1);
system('cp', '-a', "$backup/.", $damaged) == 0 or die 'cp';
open my $tar, '+<', "$damaged/storage.tar" or die $!;
seek $tar, 600, 0;
print $tar 'X';
close $tar;
($rc, $out) = backup_tool('restore', @parts, $damaged);
isnt $rc, 0, 'a damaged backup is refused';
like $out, qr/damaged/, 'saying so';
($rc, $out) = backup_tool('take', '--db', "host=$new/run dbname=terrapod user=terrapod",
                          '--storage', "$new/storage", '--hmac-key', "$new/hmac.key",
                          $backup);
isnt $rc, 0, 'take refuses a directory that is not empty';
like $out, qr/is not empty/, 'saying so';
($rc, $out) = backup_tool('take', '--db', 'x', $damaged);
is $rc, 2, 'missing options: usage';
like $out, qr/usage: terrapod-backup take\|restore/, 'with the usage';
($rc, $out) = backup_tool('take', @parts, '--listener-ca', 'ca.pem', "$certs/b2");
like $out, qr/go together/, 'a listener CA without its key is refused';

ok eval { tp_instance('down', $new); 1 }, 'the restored instance stops' or diag $@;

done_testing;

# ---- helpers ----

sub decode { eval { $json->decode($_[0]) } // $_[0] }

# tools/terrapod-backup with args: (exit status, combined output)
sub backup_tool {
    my $cmd = join ' ', map { quotemeta } "$ENV{TP_SRC}/tools/terrapod-backup", @_;
    my $out = qx{PG_BINDIR=$ENV{PG_BINDIR} $cmd 2>&1};
    return ($? >> 8, $out);
}

# curl against instance $i, with no API token and an optional client
# certificate: (HTTP status, body)
sub curl {
    my ($i, $method, $path, %o) = @_;
    my @cmd = ('curl', '-sS', '-o', "$certs/body", '-w', '%{http_code}',
               '--cacert', $i->{TERRAPOD_CA_FILE}, '-X', $method);
    push @cmd, '-H', 'Content-Type: application/json',
               '--data-binary', $json->encode($o{body}) if $o{body};
    push @cmd, '--cert', $o{cert}, '--key', $o{key} if $o{cert};
    unlink "$certs/body";
    my $status = qx{@{[ join ' ', map { quotemeta } @cmd, "$i->{TERRAPOD_URL}$path" ]} 2>/dev/null};
    open my $fh, '<', "$certs/body" or return ($status, '');
    local $/;
    return ($status, scalar <$fh>);
}

# every workspace as "id name", sorted
sub all_workspaces {
    my (@all, $page);
    for ($page = 1; $page; ) {
        my (undef, $d) = api(GET => '/api/v2/organizations/default/workspaces'
                                    . "?page%5Bsize%5D=100&page%5Bnumber%5D=$page");
        push @all, map { "$_->{id} $_->{attributes}{name}" } @{ $d->{data} };
        $page = $d->{meta}{pagination}{'next-page'};
    }
    return sort @all;
}

# the finalized state versions of workspace $w: id, serial, declared MD5
# and the MD5 of the content downloaded
sub versions_of {
    my ($w) = @_;
    my (undef, $d) = api(GET => "/api/v2/workspaces/$w/state-versions?page%5Bsize%5D=100");
    return map {
        my $a = $_->{attributes};
        my ($r) = api(GET => $a->{'hosted-state-download-url'});
        {id => $_->{id}, serial => $a->{serial}, md5 => $a->{md5},
         content_md5 => $r->code == 200 ? md5_hex($r->content) : $r->code};
    } grep { $_->{attributes}{status} eq 'finalized' } @{ $d->{data} };
}

sub loop_lines {
    open my $fh, '<', $loop_log or return 0;
    my @l = <$fh>;
    return scalar @l;
}

# The client running through the backup: stores the next state version,
# deletes the one before, and writes a line per round (started, ended,
# store status, delete status) until it is sent SIGTERM.
sub busy_client {
    my ($w, $token, $log) = @_;
    $SIG{TERM} = sub { POSIX::_exit(0) };
    open my $fh, '>>', $log or POSIX::_exit(1);
    $fh->autoflush(1);
    my ($prev, $round) = ('', 0);
    for (;;) {
        my $start = Time::HiRes::time();
        my $state = $json->encode({version => 4, terraform_version => '1.11.4',
                                   serial => 0, lineage => 'e2e-backup-busy',
                                   outputs => {round => {value => ++$round,
                                                         type => 'number'}},
                                   resources => []});
        my ($r, $d) = api(POST => "$NAT/workspaces/$w/state-versions/actions/upload",
                          token => $token, raw => $state);
        my ($stored, $deleted) = ($r->code, '-');
        if ($stored == 201 && $prev) {
            ($r) = api(DELETE => "$NAT/state-versions/$prev/manage", token => $token);
            $deleted = $r->code;
        }
        $prev = $d->{data}{id} // '';
        printf $fh "%.3f %.3f %s %s\n", $start, Time::HiRes::time(), $stored,
               $deleted;
        Time::HiRes::sleep(0.05);
    }
}
