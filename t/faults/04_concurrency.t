# 200 clients, each its own user, cycling lock / read the current serial /
# create and upload the next state version / unlock on 10 workspaces for
# 30 s. Afterwards, in the database and through the API: every serial once,
# every version a client saw created is there and finalized, serials have
# no gaps, no workspace stays locked, and no request got a 5xx.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Time::HiRes qw(sleep);
use TP::E2E;
use TP::Faults;

long_case();

my ($clients, $nws, $seconds) = (200, 10, 30);

my @ws = map {
    my (undef, $d) = api(POST => '/api/v2/organizations/default/workspaces',
        body => {data => {type => 'workspaces', attributes => {name => "fault-race-$_"}}});
    $d->{data}{id};
} 1 .. $nws;

# one platform admin per client, so locks are held by different users
my @tokens = map {
    admin_cmd('user', '--email', "race$_\@test.local", '--admin');
    admin_cmd('token', '--email', "race$_\@test.local") =~ /TERRAPOD_TOKEN='([^']+)'/;
} 1 .. $clients;
is scalar(@tokens), $clients, "$clients users with tokens";

# one cycle; returns result lines: "cycle WS SERIAL SV", "5xx ..." or "odd ..."
sub cycle {
    my ($token, $ws) = @_;
    my %t = (token => $token);
    my ($res) = api(POST => "/api/v2/workspaces/$ws/actions/lock", %t, body => {});
    return ("5xx lock " . $res->code) if $res->code >= 500;
    if ($res->code == 409) { sleep 0.02 + rand 0.05; return () }
    return ("odd lock " . $res->code) if $res->code != 200;
    my @out;
    my ($cur, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version", %t);
    my $serial = $cur->code == 200 ? $d->{data}{attributes}{serial} + 1 : 1;
    push @out, "5xx current " . $cur->code if $cur->code >= 500;
    my $bytes = state_bytes($serial, "race-$ws", "$token $serial");
    ($res, $d) = new_state_version($ws, $serial, "race-$ws", $bytes, %t);
    if ($res->code == 201) {
        my $put = put_raw($d->{data}{attributes}{'hosted-state-upload-url'}, $bytes);
        push @out, $put->code == 200 ? "cycle $ws $serial $d->{data}{id}"
                                     : "odd put " . $put->code;
    } else {
        push @out, ($res->code >= 500 ? '5xx' : 'odd') . " create " . $res->code
                   . " " . $res->content;
    }
    ($res) = api(POST => "/api/v2/workspaces/$ws/actions/unlock", %t);
    push @out, ($res->code >= 500 ? '5xx' : 'odd') . " unlock " . $res->code
        if $res->code != 200;
    return @out;
}

my @lines = hammer($clients, $seconds, sub {
    my ($w) = @_;
    return cycle($tokens[$w - 1], $ws[($w - 1) % $nws]);
});
my @cycles = grep { /^cycle / } @lines;
diag scalar(@cycles) . " lock/create/upload/unlock cycles in ${seconds}s";
ok @cycles >= $nws, 'cycles completed on the workspaces';
is_deeply [grep { /^5xx/ } @lines], [], 'no 5xx';
is_deeply [grep { /^odd/ } @lines], [], 'no unexpected answer while holding the lock';

is_deeply [psql("SELECT workspace_id || ' ' || serial FROM state_versions "
               . "WHERE workspace_id LIKE 'ws-%' GROUP BY workspace_id, serial "
               . "HAVING count(*) > 1")], [], 'no serial stored twice';
for my $ws (@ws) {
    my @mine = sort { $a <=> $b } map { (split)[2] } grep { (split)[1] eq $ws } @cycles;
    my @stored = psql("SELECT serial FROM state_versions WHERE workspace_id = '$ws' "
                      . "AND status = 'finalized' ORDER BY serial");
    is_deeply \@stored, [1 .. scalar @mine], "$ws: serials 1.." . @mine . ' without gaps'
        or next;
    is_deeply \@stored, \@mine, "$ws: exactly the versions the clients made";
    my ($res, $d) = api(GET => "/api/v2/workspaces/$ws");
    ok !$d->{data}{attributes}{locked}, "$ws: not locked";
    ($res, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
    is $d->{data}{attributes}{serial}, scalar @mine, "$ws: the newest is current";
}

done_testing;
