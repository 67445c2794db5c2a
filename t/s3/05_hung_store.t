# An S3 server that stops answering (SIGSTOP: its connections open, no
# byte coming back) fails what needs it with a JSON:API 503 once the
# transfer stalls, instead of holding Apache's threads; once it answers
# again, so does the instance.
use strict;
use warnings FATAL => 'all';
use Test::More;
use LWP::UserAgent;
use JSON::PP;
use TP::E2E;

my $pid = $ENV{TP_S3_PID} or die "TP_S3_PID is not set";
my $e = instance();
# longer than the stall limit (30 s), so the server's answer is what is seen
my $ua = LWP::UserAgent->new(timeout => 120,
                             ssl_opts => {SSL_ca_file => $e->{TERRAPOD_CA_FILE}});

is $ua->get("$e->{TERRAPOD_URL}/ready")->code, 200, 'ready with the S3 server answering';
kill 'STOP', $pid or die "cannot stop the S3 server: $!";
my $res = eval { $ua->get("$e->{TERRAPOD_URL}/ready") };
kill 'CONT', $pid;
is $res->code, 503, 'a hung S3 server makes /ready 503';
my $doc = eval { decode_json($res->content) } || {};
is $doc->{checks}{storage}, 'unhealthy', 'naming storage';
ok wait_until(10, sub { $ua->get("$e->{TERRAPOD_URL}/ready")->code == 200 }),
   'ready again once it answers';

done_testing;
