# The real `terraform login` against a TLS instance: the test plays the
# browser (opens the URL terraform prints, posts the sign-in form with its
# CSRF token, follows the redirect to terraform's loopback listener);
# terraform trades the code for a token, stores it in credentials.tfrc.json,
# and that token then serves `terraform init` with a cloud block.
use strict;
use warnings FATAL => 'all';
use Test::More;
use IPC::Open3 qw(open3);
use IO::Select ();
use Symbol qw(gensym);
use HTTP::Cookies ();
use HTTP::Request::Common qw(POST);
use LWP::UserAgent ();
use JSON::PP ();
use Digest::SHA qw(sha256_hex);
use TP::E2E;

my $e = instance();
my $email = 'e2e-login@test.local';
my $password = 'E2e-login-pass-99';
admin_cmd('user', '--email', $email, '--password', $password);

my $home = workdir();
write_file("$home/empty.tfrc", "");
mkdir "$home/.terraform.d" or die "mkdir: $!";   # terraform login does not create it
local $ENV{HOME} = $home;
local $ENV{SSL_CERT_FILE} = $e->{TERRAPOD_CA_FILE};
local $ENV{TF_CLI_CONFIG_FILE} = "$home/empty.tfrc";
local $ENV{CHECKPOINT_DISABLE} = 1;
local $ENV{NO_COLOR} = 1;
delete local $ENV{BROWSER};
delete local $ENV{TF_INPUT};

my $pid = open3(my $in, my $out, undef, 'terraform', 'login', $e->{TERRAPOD_HOST});
# a failing test must not leave terraform waiting for its code
END { local $?; kill 'KILL', $pid if $pid && waitpid($pid, 1) == 0 }
print $in "yes\n";
close $in;

# terraform's output until it prints the authorize URL (or gives up)
my ($seen, $url) = ('');
my $sel = IO::Select->new($out);
my $deadline = time + 60;
while (!$url && time < $deadline && $sel->can_read(1)) {
    my $n = sysread $out, my $buf, 4096;
    last unless $n;
    $seen .= $buf;
    ($url) = $seen =~ m{(https://\S+/oauth/authorize\?\S+)};
}
ok $url, 'terraform login prints the authorize URL' or diag $seen;
like $seen, qr/Do you want to proceed/, 'after asking to proceed';
like $url // '', qr{redirect_uri=http%3A%2F%2Flocalhost%3A100\d\d%2Flogin},
    'with a loopback redirect URI in the advertised port range';

my $ua = LWP::UserAgent->new(cookie_jar => HTTP::Cookies->new, max_redirect => 0,
                             ssl_opts => {SSL_ca_file => $e->{TERRAPOD_CA_FILE}},
                             timeout => 30);
my $r = $ua->get($url // 'https://invalid./');
is $r->code, 200, 'the browser gets the sign-in page';
my %form;
my $html = $r->content;
while ($html =~ /<input type="hidden" name="(\w+)" value="([^"]*)"/g) {
    my ($k, $v) = ($1, $2);
    $v =~ s/&amp;/&/g;
    $form{$k} = $v;
}
ok $form{csrf_token}, 'with a CSRF token';
$r = $ua->request(POST("$e->{TERRAPOD_URL}/api/terrapod/v1/auth/callback",
                       [%form, email => $email, password => $password]));
is $r->code, 303, 'signing in redirects';
$r = $ua->get($e->{TERRAPOD_URL} . ($r->header('Location') // ''));
is $r->code, 302, 'back at authorize, the code goes to the CLI';
my $cli = $r->header('Location') // '';
like $cli, qr{^http://localhost:100\d\d/login\?code=}, "to terraform's listener";
# terraform closes its listener as soon as it has the code, at times
# before its answer is written; whether it got the code shows below
$r = LWP::UserAgent->new(timeout => 30)->get($cli);
ok $r->is_success || $r->content =~ /closed connection without sending/,
    "terraform's listener took the request" or diag $r->as_string;

# terraform finishes on its own
$sel->can_read(60) and do { local $/; $seen .= <$out> // '' };
waitpid $pid, 0;
is $? >> 8, 0, 'terraform login succeeds' or diag $seen;
(my $plain = $seen) =~ s/\e\[[0-9;]*m//g;
like $plain, qr/Success! Terraform has obtained and saved an API token/,
    'and says so';

my $creds = eval {
    open my $fh, '<', "$home/.terraform.d/credentials.tfrc.json" or die $!;
    local $/;
    JSON::PP->new->decode(<$fh>);
};
my $token = $creds && $creds->{credentials}{$e->{TERRAPOD_HOST}}{token};
like $token // '', qr/^tpv1\./, 'credentials.tfrc.json holds an API token for the host';

my ($res, $doc) = api(GET => '/api/v2/account/details', token => $token);
is $doc->{data}{attributes}{email}, $email, 'the token is the signed-in user';

# the stored token serves the cloud block; terraform reads
# credentials.tfrc.json only when TF_CLI_CONFIG_FILE does not override the
# configuration location, so init runs with just HOME
my $dir = workdir();
write_file("$dir/main.tf", cloud_config(workspace => 'login-ws'));
{
    delete local $ENV{TF_CLI_CONFIG_FILE};
    local $ENV{TF_IN_AUTOMATION} = 1;
    my $o = qx{terraform -chdir=\Q$dir\E init -input=false 2>&1};
    is $? >> 8, 0, 'terraform init with the login token succeeds' or diag $o;
}
($res, $doc) = api(GET => '/api/v2/organizations/default/workspaces/login-ws',
                   token => $token);
is $res->code, 200, 'init created the workspace as that user';

done_testing;
