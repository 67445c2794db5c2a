# terrapod-admin bootstrap is idempotent: the first run creates the admin
# with a generated password and an API token; a second run reports what
# exists and changes nothing (no new password, no new token) unless
# --reset asks for both; an existing account that is not an admin is
# reported, never promoted silently.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Temp ();
use TP::Test;

plan tests => 24;

# (exit status, stdout, stderr) of terrapod-admin bootstrap.
sub bootstrap {
    my @args = @_;
    my $err = File::Temp->new;
    my $out = qx{$ENV{TP_SRC}/mod_terrapod/terrapod-admin bootstrap --db '$ENV{TP_DB}' @args 2>${\ $err->filename}};
    my $rc = $? >> 8;
    return ($rc, $out, do { local (@ARGV, $/) = $err->filename; <> });
}
sub assigned { my ($out, $name) = @_; $out =~ /^$name='([^']*)'$/m ? $1 : undef }
sub hash_of { sql("SELECT password_hash FROM users WHERE email = '$_[0]'") }
sub tokens_of { sql("SELECT count(*) FROM api_tokens WHERE user_email = '$_[0]'") }
sub works { api(GET => '/api/v2/account/details', token => $_[0])->code == 200 }

my $email = 'bootstrap@test.local';
my ($rc, $out, $err) = bootstrap('--email', $email);
is $rc, 0, 'first run: success' or diag $err;
my $token = assigned($out, 'TERRAPOD_TOKEN');
ok assigned($out, 'TERRAPOD_ADMIN_PASSWORD'), 'a generated password';
ok $token && works($token), 'an API token that works';
is sql("SELECT count(*) FROM role_assignments WHERE email = '$email' AND role_name = 'admin'"),
   1, 'the admin role';
my ($hash, $tokens) = (hash_of($email), tokens_of($email));

($rc, $out, $err) = bootstrap('--email', $email);
is $rc, 0, 'second run: success';
is assigned($out, 'TERRAPOD_ADMIN_EMAIL'), $email, 'names the admin';
unlike $out, qr/TERRAPOD_(ADMIN_PASSWORD|TOKEN)=/, 'prints no password and no token';
like $err, qr/\Q$email\E exists \(an admin, 1 API token\); nothing changed/,
     'reports what exists';
like $err, qr/--reset/, 'and how to ask for a new password and token';
is hash_of($email), $hash, 'the password is unchanged';
is tokens_of($email), $tokens, 'no token was minted';
ok works($token), 'the first token still works';

($rc, $out, $err) = bootstrap('--email', $email, '--reset');
is $rc, 0, '--reset: success' or diag $err;
my $new = assigned($out, 'TERRAPOD_TOKEN');
ok $new && $new ne $token && works($new), 'a new token that works';
isnt hash_of($email), $hash, 'a new password';
is tokens_of($email), $tokens + 1, 'one token more';
ok works($token), 'the earlier token is not revoked';

# an account that exists but is no admin
my $plain = 'not-admin@test.local';
user_token($plain);
($rc, $out, $err) = bootstrap('--email', $plain);
is $rc, 1, 'an existing non-admin: failure';
like $err, qr/\Q$plain\E exists but is not an admin; nothing changed/, 'saying why';
is sql("SELECT count(*) FROM role_assignments WHERE email = '$plain'"), 0,
   'no role was granted';
is tokens_of($plain), 1, 'no token was minted';
unlike $out, qr/TERRAPOD_(ADMIN_PASSWORD|TOKEN)=/, 'nothing to source';

# an admin who was deactivated
my $gone = 'deactivated-admin@test.local';
user_token($gone, admin => 1);
sql("UPDATE users SET is_active = false WHERE email = '$gone'");
($rc, $out, $err) = bootstrap('--email', $gone);
is $rc, 1, 'a deactivated admin: failure';
like $err, qr/\Q$gone\E exists but is deactivated; nothing changed/, 'saying so';
