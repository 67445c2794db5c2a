# Apache's access log never shows a credential of a capability URL: not an
# upload URL's signature, a log URL's signature in its path, a download
# ticket, or the code and state a single sign-on provider sends back, in
# the request line (%r), path (%U) or query (%q) of any log format, the
# estate's own included (t/conf/extra.conf.in), whatever the answer
# (200, 401, 405) and however a parameter's name is encoded.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 16;

my $owner = user_token('access-log@test.local');
my $ws = make_ws($owner, 'access-log-ws');

# a configuration uploaded to its signed URL
my $r = api(POST => "/api/v2/workspaces/$ws/configuration-versions", token => $owner,
            body => {data => {type => 'configuration-versions',
                              attributes => {'auto-queue-runs' => JSON::PP::false()}}});
my $cv = json_of($r)->{data};
my $upload = $cv->{attributes}{'upload-url'};
my ($sig) = $upload =~ /signature=([^&]+)/;
ok length($sig // '') > 10, 'the upload URL is signed';
is api(PUT => $upload, body => targz('main.tf' => "# x\n"),
       headers => {'Content-Type' => 'application/octet-stream'})->code, 200,
   'the configuration is uploaded';

# a plan's log, read through its signed URL, and a 405 on that URL
$r = api(POST => '/api/v2/runs', token => $owner,
         body => {data => {type => 'runs', relationships => {
             workspace => {data => {type => 'workspaces', id => $ws}}}}});
is $r->code, 201, 'a run';
my $plan = json_of($r)->{data}{relationships}{plan}{data}{id};
my $log = json_of(api(GET => "/api/v2/plans/$plan", token => $owner))
    ->{data}{attributes}{'log-read-url'};
my ($cap) = $log =~ m{/logs/([^/?]+)$};
is api(GET => "$log?offset=0&limit=10")->code, 200, 'the log is read';
is api(DELETE => $log)->code, 405, 'the log URL with another method';

# a download ticket, used
$r = api(POST => "/api/terrapod/v1/configuration-versions/$cv->{id}/download-ticket",
         token => $owner, body => {data => {attributes => {}}});
my $ticket = json_of($r)->{data}{attributes}{ticket};
is api(GET => json_of($r)->{data}{attributes}{url})->code, 200,
   'the configuration is downloaded with the ticket';

# what a single sign-on provider sends back, and a signature whose
# parameter name is percent-encoded
is api(GET => '/api/terrapod/v1/auth/callback?code=SSOCODE1234&state=SSOSTATE5678')->code,
   401, 'a callback with a code and state nobody began';
is api(PUT => "/api/v2/configuration-versions/$cv->{id}/upload?expires=1&sig%6Eature=ENCODEDSIG99",
       body => 'x')->code, 401, 'an encoded signature parameter';

# the entries are written once the response is done
my $logs = Apache::Test::vars('t_logs');
sub logged {
    my ($file) = @_;
    open my $fh, '<', "$logs/$file" or die "$logs/$file: $!";
    local $/;
    return <$fh>;
}
ok wait_until(5, sub { logged('own_log') =~ /SSOCODE|\{code\}/ }), 'the log is written';
for my $file (qw(own_log access_log)) {
    my $text = logged($file);
    my @leaks = grep { index($text, $_->[1]) >= 0 }
        (['signature', $sig], ['log capability', $cap], ['ticket', $ticket],
         ['code', 'SSOCODE1234'], ['state', 'SSOSTATE5678'], ['encoded', 'ENCODEDSIG99']);
    is "@{[ map { $_->[0] } @leaks ]}", '', "$file: no credential shown";
}
my $own = logged('own_log');
like $own, qr{^PUT /api/v2/configuration-versions/\Q$cv->{id}\E/upload\?expires=\d+&signature=\{signature\} HTTP/1\.1\|/api/v2/configuration-versions/\Q$cv->{id}\E/upload\|\?expires=\d+&signature=\{signature\}$}m,
     'the upload: request line, path and query masked';
like $own, qr{^GET /api/v2/plans/\Q$plan\E/logs/\{cap\}\?offset=0&limit=10 HTTP/1\.1\|}m,
     'the log read: its signature segment masked';
like $own, qr{^DELETE /api/v2/plans/\Q$plan\E/logs/\{cap\} HTTP/1\.1\|}m,
     'the 405 as well';
like $own, qr{/download-by-ticket/\{ticket\} HTTP/1\.1\|}m, 'the ticket masked';
like $own, qr{/auth/callback\?code=\{code\}&state=\{state\} HTTP/1\.1\|}m,
     'the code and state masked';
