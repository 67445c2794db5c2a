# The retention directives against a real instance: values outside
# 0..36500 stop the configuration; each kind is swept after its own
# number of days, and 0 keeps a kind forever. Runs are written as rows
# with files in storage, as old as the case needs.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Path ();
use TP::E2E;
use TP::Faults;

subtest 'outside 0..36500 stops the configuration' => sub {
    config_refuses(snippet('retention'), $_, '0 to 36500', -1, 36501)
        for qw(TerrapodRetentionRunArtifactsDays TerrapodRetentionConfigVersionsDays);
};

restart_with_snippet('retention', "TerrapodTaskInterval retention 1\n"
                     . "TerrapodRetentionRunArtifactsDays 30\n"
                     . "TerrapodRetentionConfigVersionsDays 0\n");

my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
                      body => {data => {type => 'workspaces',
                                        attributes => {name => "f18-retention-$$"}}});
is $res->code, 201, 'a workspace';
my $ws = $doc->{data}{id};
my $dir = workdir();
write_file("$dir/main.tf", qq{resource "terraform_data" "x" {}\n});
upload_config($ws, $dir) for 1 .. 2;
my ($old_cv) = psql("SELECT id FROM configuration_versions WHERE workspace_id = '$ws'"
                    . " ORDER BY seq LIMIT 1");
psql("UPDATE configuration_versions SET created_at = now() - interval '400 days'"
     . " WHERE id = '$old_cv'");

my $storage = instance()->{DIR} . "/storage";
my ($uid, $gid) = (stat $storage)[4, 5];
# a finished run $days old with a plan log and plan JSON stored
sub old_run {
    my ($id, $days) = @_;
    psql("INSERT INTO runs (id, plan_id, apply_id, workspace_id, status, created_at)"
         . " VALUES ('$id', 'plan-$id', 'apply-$id', '$ws', 'errored',"
         . " now() - interval '$days days')");
    for my $f ("runs/$id/plan.json", "logs/$id/plan.log") {
        my ($d) = "$storage/$f" =~ m{(.*)/};
        File::Path::make_path($d, {owner => $uid, group => $gid});
        write_file("$storage/$f", "{}\n");
        chown $uid, $gid, "$storage/$f";
    }
}
sub removed { psql("SELECT artifacts_removed_at IS NOT NULL FROM runs WHERE id = '$_[0]'") eq 't' }

old_run("run-f18a-$$", 40);
old_run("run-f18b-$$", 20);
ok wait_until(30, sub { removed("run-f18a-$$") }), 'a run 40 days old is swept after 30';
ok !-e "$storage/runs/run-f18a-$$" && !-e "$storage/logs/run-f18a-$$", 'its files are removed';
# a turn that began after the first one ended: the first swept
# configurations too, if it was to
old_run("run-f18c-$$", 31);
ok wait_until(30, sub { removed("run-f18c-$$") }), 'the task turns again';
ok !removed("run-f18b-$$"), 'a run 20 days old is kept';
ok -e "$storage/runs/run-f18b-$$/plan.json", 'with its files';
is psql("SELECT status FROM configuration_versions WHERE id = '$old_cv'"), 'uploaded',
   'configuration versions are kept forever with 0';
ok -e "$storage/config/$ws/$old_cv.tar.gz", 'its tarball too';

($res) = api(DELETE => "/api/v2/workspaces/$ws");
is $res->code, 204, 'the workspace is deleted';
File::Path::remove_tree(map { ("$storage/runs/$_", "$storage/logs/$_") }
                        map { "run-f18$_-$$" } qw(a b c));

done_testing;
