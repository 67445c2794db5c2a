# GET /api/v2/organizations/{org}/runs: the runs of every workspace the
# caller may read (decided in SQL, as the workspace list is), newest first,
# with TFE's filters and pagination.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TP::Test;

plan tests => 27;

my $true = JSON::PP::true;
my $owner = user_token('orgruns-owner@test.local');
my $other = user_token('orgruns-other@test.local');
my $admin = admin_token();

my %ws;
for my $name (qw(orgruns-a orgruns-b orgruns-c)) {
    my $token = $name eq 'orgruns-c' ? $other : $owner;
    $ws{$name} = make_ws($token, $name);
    make_cv($token, $ws{$name}, 'auto-queue-runs' => JSON::PP::false);
}

sub run_on {
    my ($token, $name, %attrs) = @_;
    my $r = api(POST => '/api/v2/runs', token => $token,
                body => {data => {attributes => \%attrs, relationships => {
                    workspace => {data => {id => $ws{$name}}}}}});
    die 'run: ' . $r->as_string unless $r->code == 201;
    return json_of($r)->{data}{id};
}

my $a1 = run_on($owner, 'orgruns-a', message => 'first of a');      # plan_queued
my $a2 = run_on($owner, 'orgruns-a', message => 'second of a',
                'is-destroy' => $true);                             # pending
my $b1 = run_on($owner, 'orgruns-b', 'plan-only' => $true,
                message => 'speculative b');                        # plan_queued
my $c1 = run_on($other, 'orgruns-c', message => 'other team');
api(POST => "/api/v2/runs/$a2/actions/cancel", token => $owner, body => {});

sub ids {
    my ($query, $token) = @_;
    my $r = api(GET => "/api/v2/organizations/default/runs$query",
                token => $token // $owner);
    return $r->code == 200 ? join(' ', map { $_->{id} } @{ json_of($r)->{data} })
                           : 'status ' . $r->code;
}

is ids(''), "$b1 $a2 $a1", 'the owner sees its runs, newest first';
is ids('', $other), $c1, 'the other user sees only its own';
like ids('?filter%5Bworkspace_names%5D=orgruns-a,orgruns-b,orgruns-c', $admin),
     qr/^\Q$c1 $b1 $a2 $a1\E$/, 'an admin sees every workspace\'s runs';
is ids('?filter%5Bworkspace_names%5D=orgruns-c'), '',
   'a filter cannot reach a workspace the caller cannot read';
is ids('?filter%5Bworkspace_names%5D=orgruns-a'), "$a2 $a1",
   'filter[workspace_names]';
is ids('?filter%5Bworkspace_names%5D=orgruns-b,%20orgruns-a'), "$b1 $a2 $a1",
   'filter[workspace_names] of two';
is ids('?filter%5Bstatus%5D=canceled'), $a2, 'filter[status]';
is ids('?filter%5Bstatus%5D=canceled,plan_queued'), "$b1 $a2 $a1",
   'filter[status] of two';
is ids('?filter%5Bstatus_group%5D=final'), $a2, 'filter[status_group]=final';
is ids('?filter%5Bstatus_group%5D=non_final'), "$b1 $a1",
   'filter[status_group]=non_final';
is ids('?filter%5Bstatus_group%5D=discardable'), '',
   'filter[status_group]=discardable: none planned';
is ids('?filter%5Bstatus_group%5D=non_final&filter%5Bstatus%5D=pending'), '',
   'status and status_group together';
is ids('?filter%5Boperation%5D=destroy'), $a2, 'filter[operation]=destroy';
is ids('?filter%5Boperation%5D=plan_only'), $b1, 'filter[operation]=plan_only';
is ids('?filter%5Boperation%5D=plan_and_apply'), $a1,
   'filter[operation]=plan_and_apply';
is ids('?filter%5Bsource%5D=tfe-api'), "$b1 $a2 $a1", 'filter[source]';
is ids('?filter%5Bsource%5D=tfe-ui'), '', 'filter[source] of another source';
is ids('?search%5Bbasic%5D=SPECULATIVE'), $b1,
   'search[basic] in the message, any case';
is ids("?search%5Bbasic%5D=$a1"), $a1, 'search[basic] by run id';

my $r = api(GET => '/api/v2/organizations/default/runs?filter%5Bstatus_group%5D=done',
            token => $owner);
is_error($r, 400, 'an unknown status group');
$r = api(GET => '/api/v2/organizations/default/runs?filter%5Boperation%5D=apply',
         token => $owner);
is_error($r, 400, 'an unknown operation');

$r = api(GET => '/api/v2/organizations/default/runs?page%5Bsize%5D=1&page%5Bnumber%5D=2',
         token => $owner);
my $doc = json_of($r);
is $doc->{data}[0]{id}, $a2, 'page 2 of size 1';
is $doc->{meta}{pagination}{'total-count'}, 3, 'total-count counts what is readable';
like $doc->{links}{next}, qr{/api/v2/organizations/default/runs\?page%5Bnumber%5D=3},
     'links.next';
is $doc->{data}[0]{relationships}{workspace}{data}{id}, $ws{'orgruns-a'},
   'each run names its workspace';
