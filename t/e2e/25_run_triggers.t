# Workspaces feeding each other, with the real terraform and the
# instance's listener: a chain of three workspaces joined by run triggers
# applies in order from one run of the first; a consumer's agent run reads
# a producer's output through data "terraform_remote_state" (the remote
# backend, authenticated by the runner token the listener gives
# terraform), refused until the producer lists it, then working.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;

my $e = instance();
my $NAT = '/api/terrapod/v1';
my $true = JSON::PP::true();

sub log_of {
    my ($run) = @_;
    my (undef, $d) = api(GET => "/api/v2/plans/$run->{relationships}{plan}{data}{id}");
    my ($res) = api(GET => $d->{data}{attributes}{'log-read-url'});
    return $res->content;
}
sub applied_at { $_[0]{attributes}{'status-timestamps'}{'applied-at'} // '' }

# ==== a chain: a -> b -> c ====

my %ws;
for my $n (qw(a b c)) {
    $ws{$n} = new_agent_workspace("e2e-chain-$n", <<"HCL");
resource "terraform_data" "step" {
  input = "$n"
}
output "step" {
  value = terraform_data.step.output
}
HCL
}
for ([qw(a b)], [qw(b c)]) {
    my ($src, $dest) = @$_;
    my ($res) = api(POST => "/api/v2/workspaces/$ws{$dest}/run-triggers",
        body => {data => {relationships => {sourceable => {data => {
            type => 'workspaces', id => $ws{$src}}}}}});
    is $res->code, 201, "a run trigger $src -> $dest";
}
my $first = queue_run($ws{a}, message => 'the chain starts');
my @c = runs_ended($ws{c}, 1);
is $c[0]{attributes}{status}, 'applied', 'the last workspace of the chain applied';
my ($a) = runs_of($ws{a});
my ($b) = runs_of($ws{b});
is $a->{id}, $first, 'a ran once';
is $b->{attributes}{status}, 'applied', 'b applied';
is $b->{attributes}{'trigger-reason'}, 'run_trigger', 'b\'s run came from a trigger';
like $b->{attributes}{message}, qr/e2e-chain-a/, 'naming a';
like $c[0]{attributes}{message}, qr/e2e-chain-b/, 'c\'s names b';
ok applied_at($a) lt applied_at($b) && applied_at($b) lt applied_at($c[0]),
   'they applied in order: a, b, c';
my (undef, $out) = api(GET => "/api/v2/workspaces/$ws{c}/current-state-version-outputs");
is $out->{data}[0]{attributes}{value}, 'c', 'c\'s state is stored';

# ==== a consumer reading a producer's output ====

my $consumer = new_agent_workspace('e2e-consumer', <<"HCL");
data "terraform_remote_state" "a" {
  backend = "remote"
  config = {
    hostname     = "$e->{TERRAPOD_HOST}"
    organization = "default"
    workspaces = {
      name = "e2e-chain-a"
    }
  }
}
output "seen" {
  value = data.terraform_remote_state.a.outputs.step
}
HCL

queue_run($consumer, message => 'before the grant');
my ($refused) = runs_ended($consumer, 1);
is $refused->{attributes}{status}, 'errored', 'not listed: the consumer\'s run fails';
like log_of($refused),
     qr/e2e-chain-a does not share its state with workspace e2e-consumer/,
     'terraform shows why';

my ($res) = api(POST => "$NAT/workspaces/$ws{a}/remote-state-consumers",
    body => {data => {relationships => {consumer => {data => {
        type => 'workspaces', id => $consumer}}}}});
is $res->code, 201, 'the producer lists the consumer';
queue_run($consumer, message => 'after the grant');
my ($read) = runs_ended($consumer, 2);
is $read->{attributes}{status}, 'applied', 'listed: the consumer\'s run applies'
    or diag log_of($read);
(undef, $out) = api(GET => "/api/v2/workspaces/$consumer/current-state-version-outputs");
is $out->{data}[0]{attributes}{value}, 'a', 'it read the producer\'s output';

done_testing;
