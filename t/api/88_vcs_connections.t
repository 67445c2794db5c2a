# VCS connections: create / show / list / update / delete for GitHub App
# and GitLab connections, platform admins only; the refusals (422 and
# nothing stored): a changed provider, a taken installation id or name, a
# server-url that is not https (plain http only to a listed internal
# host), a missing or unusable credential, another provider's
# attributes. Credentials and webhook secrets are write-only: sealed in
# the database, never in an answer, the error log or the audit log, and
# rotated only by a non-empty value.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;
use File::Temp ();

plan tests => 112;

my $admin = admin_token();
my $user = user_token('vcs88-user@test.local');
my $BASE = '/api/terrapod/v1/vcs-connections';
my $T = JSON::PP::true;
my $F = JSON::PP::false;

# A new RSA private key (PEM) of $bits bits.
sub rsa_key {
    my ($bits) = @_;
    my $dir = File::Temp->newdir;
    system("openssl genrsa -out $dir/k.pem $bits 2>/dev/null") == 0
        or die 'openssl genrsa failed';
    local (@ARGV, $/) = ("$dir/k.pem");
    return <>;
}

sub error_log {
    local (@ARGV, $/) = (Apache::Test::vars('t_logs') . '/error_log');
    return <>;
}

sub body {
    my (%attrs) = @_;
    return {data => {type => 'vcs-connections', attributes => \%attrs}};
}

sub create {
    my (%attrs) = @_;
    return api(POST => $BASE, token => $admin, body => body(%attrs));
}

sub patch {
    my ($id, %attrs) = @_;
    return api(PATCH => "$BASE/$id", token => $admin, body => body(%attrs));
}

# this test's connections (other tests leave theirs)
sub count_all { sql(q{SELECT count(*) FROM vcs_connections WHERE name LIKE '%vcs88%' OR name = 'another'}) }

my $key = rsa_key(2048);
my $key2 = rsa_key(2048);
my $token = 'glpat-vcs88-' . join('', map { ('a'..'z')[rand 26] } 1..20);
my $hook = 'hook-secret-vcs88-' . time;
my @secrets = ($key, $key2, $token, $hook);
my ($key_body) = $key =~ /\n(.{40})/;   # a line of the key's base64

my %github = (name => 'gh-vcs88', provider => 'github',
              'github-app-id' => 12345, 'github-installation-id' => 880001,
              'github-account-login' => 'my-org',
              'github-account-type' => 'Organization', 'private-key' => $key);

# ---- platform admins only ----
for my $c ([GET => $BASE], [POST => $BASE], [GET => "$BASE/vcs-x"],
           [PATCH => "$BASE/vcs-x"], [DELETE => "$BASE/vcs-x"]) {
    my ($m, $path) = @$c;
    is api($m => $path, body => body(%github))->code, 401,
       "$m $path without a token: 401";
    is api($m => $path, token => $user, body => body(%github))->code, 403,
       "$m $path as a user: 403";
}
is count_all(), 0, 'nothing created by the refused requests';

# ---- create ----
my $r = create(%github, 'webhook-secret' => $hook);
is $r->code, 201, 'GitHub App connection created';
my $gh = json_of($r)->{data};
like $gh->{id}, qr/^vcs-[A-Za-z0-9]{16}$/, 'its id';
my $a = $gh->{attributes};
is_deeply [@$a{qw(name provider server-url status github-app-id
                  github-installation-id github-account-login
                  github-account-type has-webhook-secret last-success-at
                  last-error last-error-at rate-limit-remaining)}],
          ['gh-vcs88', 'github', undef, 'active', 12345, 880001, 'my-org',
           'Organization', $T, undef, undef, undef, undef],
          'its attributes; health empty until the provider answers';
ok !exists $a->{'private-key'} && !exists $a->{'webhook-secret'},
   'neither the private key nor the webhook secret is an attribute';
is $gh->{links}{self}, "$BASE/$gh->{id}", 'its self link';
unlike $r->content, qr/\Q$key_body\E|\Q$hook\E/, 'no secret in the answer';

$r = create(name => 'gl-vcs88', provider => 'gitlab', token => $token,
            'server-url' => 'https://gitlab.example.com/');
is $r->code, 201, 'GitLab connection created';
my $gl = json_of($r)->{data};
is $gl->{attributes}{'server-url'}, 'https://gitlab.example.com',
   'its server-url, without the trailing slash';
is $gl->{attributes}{'has-webhook-secret'}, $F,
   'no webhook secret of its own (the server-wide one applies)';
is $gl->{attributes}{'github-app-id'}, undef, 'no App id';
unlike $r->content, qr/\Q$token\E/, 'the token is not in the answer';

$r = create(name => 'gl-internal-vcs88', provider => 'gitlab',
            token => $token, 'server-url' => 'http://127.0.0.1:9/');
is $r->code, 201, 'plain http accepted for a listed internal host';
my $internal = json_of($r)->{data}{id};

# ---- sealed at rest ----
my $sealed = sql("SELECT credential_sealed FROM vcs_connections"
                 . " WHERE id = '$gh->{id}'");
ok length($sealed) > 100 && $sealed !~ /BEGIN|\Q$key_body\E/,
   'the private key is stored sealed';
is sql("SELECT count(*) FROM vcs_connections WHERE credential_sealed"
       . " LIKE '%$token%' OR webhook_secret_sealed LIKE '%$hook%'"), 0,
   'the token and the webhook secret are stored sealed';

# ---- refusals on create ----
my $before = count_all();
for my $case (
    [{%github, provider => undef}, qr/provider is required/, 'no provider'],
    [{%github, provider => 'bitbucket'}, qr/provider/, 'unknown provider'],
    [{%github, name => undef}, qr/name is required/, 'no name'],
    [{%github, name => 'another', 'private-key' => undef},
     qr/private-key is required/, 'no private key'],
    [{%github, name => 'another', 'private-key' => ''},
     qr/private-key is required/, 'an empty private key'],
    [{%github, name => 'another', 'private-key' => 'not a key'},
     qr/private-key is not a PEM RSA private key/, 'a private key that is not one'],
    [{%github, name => 'another', 'private-key' => rsa_key(1024)},
     qr/fewer than 2048 bits/, 'a 1024-bit private key'],
    [{%github, name => 'another', 'github-installation-id' => undef},
     qr/github-installation-id/, 'no installation id'],
    [{%github, name => 'another', 'github-app-id' => 'abc'},
     qr/github-app-id/, 'an App id that is not a number'],
    [{%github, name => 'another', 'github-account-type' => 'Team'},
     qr/github-account-type/, 'an unknown account type'],
    [{%github, name => 'another'}, qr/github-installation-id 880001 is already used/,
     'an installation id another connection has'],
    [{%github, 'github-installation-id' => 880002},
     qr/name "gh-vcs88" has already been taken/, 'a taken name'],
    [{%github, name => 'GH-VCS88', 'github-installation-id' => 880002},
     qr/already been taken/, 'a taken name in other case'],
    [{%github, name => 'another', 'github-installation-id' => 880002,
      token => $token}, qr/token is not an attribute of a github connection/,
     'a token on a github connection'],
    [{name => 'another', provider => 'gitlab', token => $token,
      'github-app-id' => 1}, qr/github-app-id is not an attribute of a gitlab/,
     'an App id on a gitlab connection'],
    [{name => 'another', provider => 'gitlab'}, qr/token is required/,
     'no token'],
    [{name => 'another', provider => 'gitlab', token => $token,
      'server-url' => 'http://gitlab.example.com'}, qr/server-url must use https/,
     'plain http to a host not listed'],
    [{name => 'another', provider => 'gitlab', token => $token,
      'server-url' => 'ftp://gitlab.example.com'}, qr/server-url must use https/,
     'another scheme'],
    [{name => 'another', provider => 'gitlab', token => $token,
      'server-url' => 'https://u:p@gitlab.example.com'},
     qr/server-url may not carry/, 'a user and password in the server-url'],
    [{name => 'another', provider => 'gitlab', token => $token,
      'server-url' => 'gitlab.example.com'}, qr/server-url must be an absolute URL/,
     'a server-url without a scheme'],
    [{name => 'another', provider => 'gitlab', token => $token,
      status => 'paused'}, qr/status/, 'an unknown status'],
) {
    my ($attrs, $detail, $name) = @$case;
    my %attrs = map { defined $attrs->{$_} ? ($_ => $attrs->{$_}) : () }
                keys %$attrs;
    $r = create(%attrs);
    is $r->code, 422, "$name: 422";
    like error_detail($r), $detail, "$name: says why";
}
is count_all(), $before, 'nothing stored by the refused creates';

# ---- show and list ----
$r = api(GET => "$BASE/$gh->{id}", token => $admin);
is $r->code, 200, 'shown';
is_deeply json_of($r)->{data}, $gh, 'as it was created';
$r = api(GET => "$BASE?page[size]=2", token => $admin);
is $r->code, 200, 'listed';
is_deeply [map { $_->{attributes}{name} } @{ json_of($r)->{data} }],
          ['gh-vcs88', 'gl-internal-vcs88'], 'by name, a page of two';
is json_of($r)->{meta}{pagination}{'total-count'}, sql('SELECT count(*) FROM vcs_connections'),
   'every connection counted';
is count_all(), 3, 'three of them this test\'s';
is api(GET => "$BASE/vcs-nosuch", token => $admin)->code, 404,
   'an unknown connection: 404';

# ---- update ----
$r = patch($gh->{id}, provider => 'gitlab');
is $r->code, 422, 'changing the provider: 422';
like error_detail($r), qr/provider cannot be changed/, 'says so';
$r = patch($gh->{id}, provider => 'github', name => 'gh-renamed-vcs88');
is $r->code, 200, 'the same provider again is no change';
is json_of($r)->{data}{attributes}{name}, 'gh-renamed-vcs88', 'renamed';

$r = create(%github, name => 'gh2-vcs88', 'github-installation-id' => 880002,
            'private-key' => $key2);
is $r->code, 201, 'a second App installation';
my $gh2 = json_of($r)->{data}{id};
$r = patch($gh2, 'github-installation-id' => 880001);
is $r->code, 422, "taking another connection's installation id: 422";
like error_detail($r), qr/880001 is already used/, 'says so';
$r = patch($gh2, name => 'gh-renamed-vcs88');
is $r->code, 422, "taking another connection's name: 422";
is sql("SELECT github_installation_id || name FROM vcs_connections"
       . " WHERE id = '$gh2'"), '880002gh2-vcs88', 'neither changed';

$r = patch($gh->{id}, status => 'disabled');
is $r->code, 200, 'disabled';
is json_of($r)->{data}{attributes}{status}, 'disabled', 'status disabled';
$r = patch($gh->{id}, status => 'active');
is json_of($r)->{data}{attributes}{status}, 'active', 'enabled again';

$r = patch($gl->{id}, 'server-url' => 'https://gitlab.example.com/api/v4');
is json_of($r)->{data}{attributes}{'server-url'},
   'https://gitlab.example.com/api/v4', 'server-url changed';
$r = patch($gl->{id}, 'server-url' => 'http://gitlab.example.com');
is $r->code, 422, 'to plain http of a host not listed: 422';
$r = patch($gl->{id}, 'server-url' => '');
is $r->code, 200, 'an empty server-url';
is json_of($r)->{data}{attributes}{'server-url'}, undef,
   'is the public service again';

# ---- rotation only by a non-empty value ----
sub sealed_of {
    my ($id) = @_;
    return sql("SELECT credential_sealed || '|' ||"
               . " coalesce(webhook_secret_sealed, '') FROM vcs_connections"
               . " WHERE id = '$id'");
}
my $was = sealed_of($gh->{id});
$r = patch($gh->{id}, 'private-key' => '', 'webhook-secret' => '',
           'github-account-login' => 'other-org');
is $r->code, 200, 'empty secrets with another change';
is sealed_of($gh->{id}), $was, 'empty values keep the stored secrets';
is json_of($r)->{data}{attributes}{'github-account-login'}, 'other-org',
   'the other change is made';
$r = patch($gh->{id}, name => 'gh-vcs88');
is sealed_of($gh->{id}), $was, 'leaving them out keeps them too';
$r = patch($gh->{id}, 'private-key' => 'garbage');
is $r->code, 422, 'rotating to a key that is not one: 422';
is sealed_of($gh->{id}), $was, 'nothing changed';
$r = patch($gh->{id}, 'private-key' => $key2);
is $r->code, 200, 'the private key rotated';
isnt sealed_of($gh->{id}), $was, 'a new sealed key';
unlike $r->content, qr/BEGIN|\Q$key_body\E/, 'not in the answer';
$r = patch($gl->{id}, token => $token . 'x', 'webhook-secret' => $hook);
is $r->code, 200, 'the token and a webhook secret set';
is json_of($r)->{data}{attributes}{'has-webhook-secret'}, $T,
   'the connection has its own webhook secret now';
$r = patch($gl->{id}, 'private-key' => $key);
is $r->code, 422, 'a private key on a gitlab connection: 422';

# ---- delete ----
$r = api(DELETE => "$BASE/$internal", token => $admin);
is $r->code, 204, 'deleted';
is api(GET => "$BASE/$internal", token => $admin)->code, 404, 'gone';
is api(DELETE => "$BASE/$internal", token => $admin)->code, 404,
   'deleting it again: 404';

# ---- secrets in no log ----
my $log = error_log();
like $log, qr/TP01900: VCS connection \Q$gh->{id}\E \(gh-vcs88, github\) created/,
   'the creation is logged';
like $log, qr/TP01901: VCS connection \Q$gh->{id}\E: credential rotated/,
   'the rotation is logged';
like $log, qr/TP01902: VCS connection \Q$internal\E deleted/,
   'the deletion is logged';
ok !(grep { index($log, $_) >= 0 } $key_body, $token, $hook),
   'no secret in the error log';
is sql("SELECT count(*) FROM audit_log WHERE path LIKE '$BASE%'"
       . " AND (path LIKE '%BEGIN%' OR path LIKE '%$token%')"), 0,
   'no secret in the audit log';
ok sql("SELECT count(*) FROM audit_log WHERE path LIKE '$BASE%'") > 0,
   'the requests are in the audit log';
