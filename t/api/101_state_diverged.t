# state-diverged: a listener reports an apply whose state it could not
# store (errored, with state-diverged) and the workspace shows
# state-diverged until the next successful apply or a state version
# stored by hand; the flag is refused with any other report.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TP::Test;
use TP::Listener;

plan tests => 20;

my $admin = admin_token();
my $owner = user_token('div-owner@test.local');
my ($ws, $l) = agent_pool_ws($admin, $owner, 'div-ws');
make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false());

sub diverged {
    my $a = json_of(api(GET => "/api/v2/workspaces/$ws", token => $owner))->{data}{attributes};
    return exists $a->{'state-diverged'} ? ($a->{'state-diverged'} ? 'true' : 'false')
                                         : 'absent';
}
sub claim { claim_job($l, @_) }
sub report { my ($id, %body) = @_; as_l($l, PATCH => "/runs/$id", body => \%body) }
# an auto-apply run, planned and claimed for its apply
sub applying {
    my $id = new_run($owner, $ws, 'auto-apply' => JSON::PP::true())->{id};
    claim($id, 'plan');
    my $res = report($id, status => 'planned', 'has-changes' => JSON::PP::true());
    die 'planned: ' . $res->as_string unless $res->code == 200;
    claim($id, 'apply');
    return $id;
}
sub status_of {
    json_of(api(GET => "/api/v2/runs/$_[0]", token => $owner))->{data}{attributes}{status};
}
my $true = JSON::PP::true();

is diverged(), 'false', 'a new workspace has not diverged';

# ==== refused with anything but an apply that errored ====

my $id = new_run($owner, $ws, 'auto-apply' => $true)->{id};
claim($id, 'plan');
is_error(report($id, status => 'planned', 'has-changes' => $true, 'state-diverged' => $true),
         422, 'with a plan: 422');
is_error(report($id, status => 'errored', 'state-diverged' => 'yes'), 422,
         'not a boolean: 422');
is status_of($id), 'planning', 'the refused reports changed nothing';
is report($id, status => 'planned', 'has-changes' => $true)->code, 200, 'planned';
claim($id, 'apply');
is_error(report($id, status => 'applied', 'state-diverged' => $true), 422,
         'with an apply that succeeded: 422');
is diverged(), 'false', 'nothing marked';

# ==== an apply whose state was not stored ====

is report($id, status => 'errored', 'error-message' => 'uploading the state failed',
          'state-diverged' => $true)->code, 200, 'reported: errored, state diverged';
is status_of($id), 'errored', 'the run errored';
is diverged(), 'true', 'the workspace shows state-diverged';

# ==== the next successful apply clears it ====

$id = applying();
is report($id, status => 'applied')->code, 200, 'the next apply succeeded';
is diverged(), 'false', 'state-diverged is cleared';

# ==== so does a state version stored by hand ====

$id = applying();
report($id, status => 'errored', 'state-diverged' => $true);
is diverged(), 'true', 'diverged again';
$id = applying();
report($id, status => 'errored', 'error-message' => 'terraform apply failed');
is diverged(), 'true', 'an apply that failed does not clear it';
my $state = '{"version":4,"terraform_version":"1.11.4","serial":7,"lineage":"div",'
          . '"outputs":{},"resources":[]}';
my $r = api(POST => "/api/terrapod/v1/workspaces/$ws/state-versions/actions/upload",
         token => $owner, body => $state, headers => {'Content-Type' => 'application/json'});
is $r->code, 201, 'a person uploads the state that matches reality';
is diverged(), 'false', 'state-diverged is cleared';

# other tests count what storage holds: the workspace goes with its files
is api(DELETE => "/api/v2/workspaces/$ws", token => $owner)->code, 204,
   'the workspace is deleted';
