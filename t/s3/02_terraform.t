# The real terraform CLI and listener with every object in the bucket: a
# state backend round trip (apply, pull, a second apply), then a remote
# run planned and applied on the listener, whose streamed logs are chunk
# objects that read back whole, whose plan file and plan JSON are in the
# bucket, and whose new state is too.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP;
use TP::E2E;

my $data = $ENV{TP_S3_DATA} or die "TP_S3_DATA is not set";
my $inst = instance()->{DIR};
sub in_bucket { -f "$data/tp/$_[0]._S3rver_object" }
sub bucket_keys {
    my ($prefix) = @_;
    my @found;
    require File::Find;
    File::Find::find(sub {
        push @found, $File::Find::name =~ s{^\Q$data/tp/\E}{}r =~ s{\._S3rver_object$}{}r
            if /\._S3rver_object$/;
    }, "$data/tp/$prefix") if -d "$data/tp/$prefix";
    return sort @found;
}

my $dir = workdir();
write_file("$dir/main.tf", cloud_config(workspace => 's3-state', body => <<'HCL'));
variable "kept_in" {
  default = "a directory"
}
resource "terraform_data" "where" {
  input = "state kept in ${var.kept_in}"
}
output "where" {
  value = terraform_data.where.output
}
HCL
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'apply with the state on S3' or diag $out;
my ($res, $doc) = api(GET => '/api/v2/organizations/default/workspaces/s3-state');
my $ws = $doc->{data}{id};
($res, $doc) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
my $sv = $doc->{data}{id};
ok in_bucket("state/$ws/$sv.tfstate"), 'the state is in the bucket';
ok in_bucket("state/$ws/$sv.json"), 'and its JSON form';
($rc, $out) = terraform($dir, 'state', 'pull');
my $state = eval { decode_json($out) } || {};
is $state->{serial}, 1, 'state pull reads it back from the bucket';
($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false',
                        '-var', 'kept_in=a bucket');
is $rc, 0, 'a second apply reads and writes it again' or diag $out;
($rc, $out) = terraform($dir, 'output', '-raw', 'where');
is $out, 'state kept in a bucket', 'and the output is the new one';
my @states = bucket_keys("state/$ws");
is scalar(@states), 4, 'two versions, raw and JSON, in the bucket';
my @spooled;
require File::Find;
File::Find::find(sub { push @spooled, $File::Find::name unless -d }, "$inst/storage");
is "@spooled", '', 'the storage directory (the spool) holds no file';

# a remote run on the listener
my $agent = new_agent_workspace('s3-agent', <<'HCL');
resource "terraform_data" "b" {
  input = "remote"
  provisioner "local-exec" {
    command = "for i in 1 2 3; do echo line $i of the apply; done"
  }
}
HCL
my $run = queue_run($agent);
my @runs = runs_ended($agent, 1);
is $runs[0]{attributes}{status}, 'applied', 'the remote run applied';
my @chunks = bucket_keys("logs/$run");
ok scalar(grep { m{^logs/\Q$run\E/(plan|apply)\.log(\.chunks/\d{16})?$} } @chunks),
   'its logs are in the bucket';
is scalar(grep { !m{^logs/\Q$run\E/(plan|apply)\.log(\.chunks/\d{16})?$} } @chunks), 0,
   'as logs or chunks named by offset, nothing else';
(undef, $doc) = api(GET => "/api/v2/runs/$run/apply");
($res) = api(GET => $doc->{data}{attributes}{'log-read-url'}
                    . '?offset=0&limit=10000000');
like $res->content, qr/line 1 of the apply.*line 2 of the apply.*line 3 of the apply/s,
     'the apply log reads back whole and in order';
my ($res2) = api(GET => $doc->{data}{attributes}{'log-read-url'} . '?offset=5&limit=20');
is length($res2->content), 20, 'a range of it reads';
is $res2->content, substr($res->content, 5, 20),
   'the same bytes as the whole (offsets count its STX)';
ok in_bucket("runs/$run/plan.tfplan"), 'the plan file is in the bucket';
ok in_bucket("runs/$run/plan.json"), 'and the plan JSON';
($res) = api(GET => "/api/v2/runs/$run/plan/json-output");
is $res->code, 200, 'which the API serves';
ok eval { decode_json($res->content)->{format_version} }, 'as the plan JSON';
($res, $doc) = api(GET => "/api/v2/workspaces/$agent/current-state-version");
ok in_bucket("state/$agent/$doc->{data}{id}.tfstate"),
   'the run\'s new state is in the bucket';

done_testing;
