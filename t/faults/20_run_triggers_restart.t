# A run trigger owed while nothing fires it: the source applies while the
# run-triggers task is held back, PostgreSQL is killed with SIGKILL and
# restarted, Apache restarted; the destination then gets its run, once,
# and a further restart fires nothing more.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;
use TP::Faults;

# the task runs once as the background child starts, then not for an hour
restart_with_snippet('run-triggers-held', "TerrapodTaskInterval run-triggers 3600\n");

sub agent_ws {
    my ($name) = @_;
    return new_agent_workspace($name,
        qq{resource "terraform_data" "x" {
  input = "$name"
}
});
}
sub owed { scalar psql("SELECT count(*) FROM run_trigger_outbox") }

my $src = agent_ws('fault-rt-src');
my $dst = agent_ws('fault-rt-dst');
my ($res) = api(POST => "/api/v2/workspaces/$dst/run-triggers",
    body => {data => {relationships => {sourceable => {data => {
        type => 'workspaces', id => $src}}}}});
is $res->code, 201, 'a run trigger src -> dst';

my $run = queue_run($src);
ok wait_until(120, sub { status_of($run) eq 'applied' }), 'the source applies';
is owed(), 1, 'the trigger it owes is in the outbox';
sleep 2;
is scalar(runs_of($dst)), 0, 'and fired nothing while the task is held back';

pg_kill9();
pg_restart();
unlink instance()->{DIR} . '/conf.d/run-triggers-held.conf';
restart_httpd();
ok wait_until(60, sub { runs_of($dst) == 1 }),
   'after PostgreSQL and Apache restarted, the destination gets its run';
is owed(), 0, 'the outbox is empty';
my ($dst_run) = runs_of($dst);
ok wait_until(120, sub { status_of($dst_run->{id}) eq 'applied' }), 'which applies';

restart_httpd();
sleep 3;
is scalar(runs_of($dst)), 1, 'another restart fires nothing more';

done_testing;
