# The instance's access log, written in the shipped LogFormat, after every
# other end-to-end test (terraform's state uploads and the log streams of
# its remote runs) and a signed upload, a log read and a ticket download
# of its own: no signature, log capability or download ticket in it, each
# shown by its placeholder instead.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;

my $e = instance();
my $src = workdir();

my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => "access-log-$$"}}});
is $res->code, 201, 'a workspace';
my $ws = $doc->{data}{id};
write_file("$src/main.tf", "# nothing\n");
upload_config($ws, $src);
($res, $doc) = api(POST => '/api/v2/runs',
    body => {data => {type => 'runs', relationships => {
        workspace => {data => {type => 'workspaces', id => $ws}}}}});
is $res->code, 201, 'a run';
my $plan = $doc->{data}{relationships}{plan}{data}{id};
my $cv = $doc->{data}{relationships}{'configuration-version'}{data}{id};
(undef, $doc) = api(GET => "/api/v2/plans/$plan");
($res) = api(GET => "$doc->{data}{attributes}{'log-read-url'}?offset=0&limit=10");
is $res->code, 200, 'its plan log is read through its signed URL';
($res, $doc) = api(POST => "/api/terrapod/v1/configuration-versions/$cv/download-ticket",
                   body => {data => {attributes => {}}});
($res) = api(GET => $doc->{data}{attributes}{url});
is $res->code, 200, 'its configuration is downloaded with a ticket';

open my $fh, '<', "$e->{DIR}/log/access_log" or die "access_log: $!";
my @lines = <$fh>;
my %leaks = (
    signature => [grep { /[?&]signature=(?!\{signature\})/ } @lines],
    'log capability' => [grep { m{/logs/(?!\{cap\})[^/ ?]+} } @lines],
    ticket => [grep { m{/download-by-ticket/(?!\{ticket\})} } @lines],
);
for my $what (sort keys %leaks) {
    is scalar(@{ $leaks{$what} }), 0, "no $what in the access log"
        or diag grep { defined } @{ $leaks{$what} }[0 .. 2];
}
ok scalar(grep { /[?&]signature=\{signature\}/ } @lines), 'signed uploads are logged, masked';
ok scalar(grep { m{/logs/\{cap\}} } @lines), 'log reads are logged, masked';
ok scalar(grep { m{/download-by-ticket/\{ticket\}} } @lines), 'the ticket download is logged, masked';

done_testing;
