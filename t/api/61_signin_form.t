# The password sign-in form: its CSRF token, one answer for unknown
# accounts and wrong passwords, throttling per account and per address,
# the return path, password strength wherever passwords are set, and the
# record of the last sign-in.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use HTTP::Request::Common qw(POST);
use TP::Test;
use TP::Browser;
use URI::Escape ();

plan tests => 66;

my $email = 'form-bob@test.local';
my $password = 'Bobs-own-pass-7';
password_user($email, $password);
my $page = '/api/terrapod/v1/auth/authorize?provider=local&return_to=/hello';

sub sessions { sql("SELECT count(*) FROM sessions WHERE user_email = '$_[0]'") }
sub failures { sql("SELECT count(*) FROM login_failures") }

# ---- CSRF ----

my $ua = browser();
my $r = sign_in($ua, $page, $email, $password, csrf_token => undef);
is $r->code, 403, 'no CSRF token: 403';
like $r->content, qr/did not come from this site/, 'says why';
$r = sign_in($ua, $page, $email, $password, csrf_token => 'x' x 43);
is $r->code, 403, 'a forged CSRF token: 403';
my $other = browser();
my $stolen = form_fields($other->get(url($page))->content)->{csrf_token};
$r = sign_in($ua, $page, $email, $password, csrf_token => $stolen);
is $r->code, 403, "another browser's CSRF token: 403";
my $fresh = browser();
my $f = form_fields($fresh->get(url($page))->content);
$r = LWP::UserAgent->new->request(POST(url('/api/terrapod/v1/auth/callback'),
    [%$f, email => $email, password => $password]));
is $r->code, 403, 'the right token without its cookie (a cross-site post): 403';
is sessions($email), 0, 'nobody was signed in';
ok !defined cookie($ua, 'terrapod_session'), 'no session cookie';
is failures(), 0, 'CSRF failures are not counted as password failures';

# ---- wrong password and unknown account look the same ----

$r = sign_in($ua, $page, $email, 'Wrong-password-1');
is $r->code, 401, 'wrong password: 401';
my ($msg_wrong) = $r->content =~ m{<p role="alert">([^<]*)</p>};
$r = sign_in($ua, $page, 'nobody-here@test.local', 'Wrong-password-1');
is $r->code, 401, 'unknown account: 401';
my ($msg_unknown) = $r->content =~ m{<p role="alert">([^<]*)</p>};
ok defined $msg_wrong && length $msg_wrong, 'a message is shown';
is $msg_unknown, $msg_wrong, 'the same message for both';
is form_fields($r->content)->{return_to}, '/hello', 'the form keeps its return path';
is sessions($email), 0, 'still nobody signed in';
is failures(), 2, 'both failures were recorded';
$r = sign_in($ua, $page, $email, '');
is $r->code, 400, 'empty password: 400';

# ---- success ----

is sql("SELECT last_login_at IS NULL FROM users WHERE email = '$email'"), 't',
   'never signed in yet';
$r = sign_in($ua, $page, uc $email, $password);
is $r->code, 303, 'right password (email in any case): 303';
is $r->header('Location'), '/hello', 'to the return path';
is sessions($email), 1, 'a session exists';
is sql("SELECT last_login_at > now() - interval '1 minute' FROM users WHERE email = '$email'"),
   't', 'last_login_at recorded';
is sql("SELECT count(*) FROM login_failures WHERE email = '$email'"), 0,
   "a sign-in clears the account's failures";
is sql("SELECT provider_name || ' ' || client_address FROM sessions WHERE user_email = '$email'"),
   'local 127.0.0.1', 'the session records provider and address';
my @set = $r->header('Set-Cookie');
ok((grep { /^terrapod_csrf=[\w-]+;/ && !/HttpOnly/ } @set),
   'the CSRF cookie is readable by pages');
ok((grep { /^terrapod_signin=;.*Max-Age=0/ } @set), 'the pre-session cookie is dropped');

# ---- return paths ----

for my $bad ('//evil.example/x', 'https://evil.example/', '/\\evil.example', 'relative') {
    $r = api(GET => "/api/terrapod/v1/auth/authorize?provider=local&return_to=" . URI::Escape::uri_escape($bad));
    is_error($r, 400, "return_to $bad");
}
$r = sign_in(browser(), $page, $email, $password, return_to => '//evil.example/');
is $r->code, 400, 'a posted off-site return_to: 400';

# ---- throttling per account ----

sql("DELETE FROM login_failures");
my $carol = 'form-carol@test.local';
password_user($carol, 'Carols-pass-123');
for my $i (1 .. 5) {
    $r = sign_in(browser(), $page, $carol, "Wrong-pass-$i");
    is $r->code, 401, "failure $i: 401";
}
$r = sign_in(browser(), $page, $carol, 'Carols-pass-123');
is $r->code, 429, 'then even the right password: 429';
ok $r->header('Retry-After'), 'with Retry-After';
my ($throttled_msg) = $r->content =~ m{<p role="alert">([^<]*)</p>};
like $throttled_msg, qr/Too many/, 'says there were too many attempts';
is sessions($carol), 0, 'and no session';
is sql("SELECT count(*) FROM login_failures WHERE email = '$carol'"), 5,
   'refused attempts are not counted again';

# an unknown account is throttled the same way
for my $i (1 .. 5) {
    sign_in(browser(), $page, 'ghost@test.local', "Wrong-pass-$i");
}
$r = sign_in(browser(), $page, 'ghost@test.local', 'Any-pass-1234');
is $r->code, 429, 'unknown account: throttled the same way';
my ($ghost_msg) = $r->content =~ m{<p role="alert">([^<]*)</p>};
is $ghost_msg, $throttled_msg, 'with the same message';

# other accounts from this address still work
$r = sign_in(browser(), $page, $email, $password);
is $r->code, 303, 'another account still signs in';

# the window passes
sql("UPDATE login_failures SET failed_at = now() - interval '16 minutes' WHERE email = '$carol'");
$r = sign_in(browser(), $page, $carol, 'Carols-pass-123');
is $r->code, 303, 'after the window the account signs in again';

# ---- throttling per address ----

sql("DELETE FROM login_failures");
for my $i (1 .. 20) {
    sign_in(browser(), $page, "spray-$i\@test.local", 'Wrong-pass-123');
}
is failures(), 20, '20 failures over 20 accounts';
$r = sign_in(browser(), $page, $email, $password);
is $r->code, 429, 'then the address is throttled, whatever the account';
is sql("SELECT count(*) FROM login_failures WHERE failed_at < now() - interval '20 minutes'"),
   0, 'no stale failures';
sql("UPDATE login_failures SET failed_at = now() - interval '20 minutes'");
wait_until(10, sub { failures() == 0 });
is failures(), 0, 'the background task purges failures older than the window';
$r = sign_in(browser(), $page, $email, $password);
is $r->code, 303, 'and the address may sign in again';

# ---- password strength wherever passwords are set ----

my $admin = admin_token();
for my $case (['short', 'Ab1-short'], ['one kind', 'abcdefghijklmnop'],
              ['digits only', '1234567890123']) {
    my ($name, $pw) = @$case;
    is_error(api(POST => '/api/terrapod/v1/users', token => $admin,
                 body => {data => {type => 'users',
                                   attributes => {email => "weak-$name\@test.local" =~ s/ /-/r,
                                                  password => $pw}}}),
             422, "weak password ($name)");
}
$r = api(POST => '/api/terrapod/v1/users', token => $admin,
         body => {data => {type => 'users',
                           attributes => {email => 'strong@test.local',
                                          password => 'abcdefghijkl-'}}});
is $r->code, 201, 'twelve characters of two kinds: accepted';
ok !eval { password_user('weak-admin@test.local', 'alllowercaseletters'); 1 },
   'terrapod-admin refuses a weak password';
like $@, qr/two kinds/, 'and says why';

# ---- what the error log says ----

my $log = do {
    open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die $!;
    local $/;
    <$fh>;
};
like $log, qr/TP01001: failed sign-in of form-bob\@test\.local from 127\.0\.0\.1/,
     'failed sign-ins are logged';
like $log, qr/TP01002: sign-in of form-carol\@test\.local from 127\.0\.0\.1 refused/,
     'throttled sign-ins are logged';
like $log, qr/TP01000: form-bob\@test\.local signed in with local/, 'sign-ins are logged';
unlike $log, qr/Bobs-own-pass-7|Carols-pass-123|Wrong-pass/, 'passwords never are';
