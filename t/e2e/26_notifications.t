# Notifications of a real run: terraform apply on the instance's listener,
# and a generic receiver told run:created, run:planning, run:applying and
# run:completed once each, in order, every body signed with HMAC-SHA512
# under the configuration's token; a Slack-shaped receiver sent Block Kit;
# the suite's mail server an email of the run's completion.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Digest::SHA qw(hmac_sha512_hex);
use TP::E2E;
use TP::FakeReceiver;
use TP::FakeSMTP;


my $recv = TP::FakeReceiver->new(port => free_port())->start;
my $smtp_port = free_port();
my $smtp = TP::FakeSMTP->new(port => $smtp_port)->start;
# runs are linked from their notifications through the public URL
with_directives('notifications', 'TerrapodOutboundAllow 127.0.0.0/8',
                'TerrapodPublicURL ' . instance()->{TERRAPOD_URL},
                "TerrapodSMTPURL smtp://127.0.0.1:$smtp_port",
                'TerrapodSMTPFrom terrapod@e2e.local');

my $dir = workdir();
write_file("$dir/main.tf", cloud_config(workspace => 'e2e-notify',
    body => qq{resource "terraform_data" "n" {\n  input = "told"\n}\n}));
my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init' or diag $out;
my ($ws, $code) = agent_workspace('e2e-notify');
is $code, 200, 'the workspace runs on agents';

sub configure {
    my (%attrs) = @_;
    my ($res, $doc) = api(POST => "/api/v2/workspaces/$ws/notification-configurations",
        body => {data => {type => 'notification-configurations',
                          attributes => {enabled => JSON::PP::true(), %attrs}}});
    is $res->code, 201, "$attrs{name}: configured" or diag $res->content;
    return $doc->{data}{id};
}
my @run_triggers = qw(run:created run:planning run:applying run:completed);
my $generic = configure(name => 'generic', 'destination-type' => 'generic',
                        url => $recv->url, token => 'e2e-notify-token',
                        triggers => [@run_triggers, 'run:errored']);
configure(name => 'slack', 'destination-type' => 'slack',
          url => $recv->base . '/slack', triggers => ['run:completed']);
configure(name => 'mail', 'destination-type' => 'email',
          'email-addresses' => ['ops@e2e.local'], triggers => ['run:completed']);

($rc, $out) = terraform($dir, 'apply', '-auto-approve', '-input=false');
is $rc, 0, 'terraform apply' or diag $out;
my (undef, $runs) = api(GET => "/api/v2/workspaces/$ws/runs");
my $run = $runs->{data}[0]{id};

sub generic { grep { $_->{path} eq '/hook' && ($_->{body}{run_id} // '') eq $run } $recv->received }
ok wait_until(30, sub { (grep { $_->{body}{notifications}[0]{trigger} eq 'run:completed' } generic()) }),
   'run:completed arrived';
my @got = generic();
is_deeply [map { $_->{body}{notifications}[0]{trigger} } @got], \@run_triggers,
          'each trigger once, in order';
is scalar(grep { ($_->{headers}{'x-tfe-notification-signature'} // '')
                 eq hmac_sha512_hex($_->{raw}, 'e2e-notify-token') } @got),
   scalar @got, 'every body signed with the token';
is $got[-1]{body}{notification_configuration_id}, $generic, 'the nc- id';
is $got[-1]{body}{notifications}[0]{run_status}, 'applied', 'the run applied';
is $got[-1]{body}{workspace_name}, 'e2e-notify', 'the workspace';
like $got[-1]{body}{run_url} // '', qr{/runs/\Q$run\E$}, 'a link to the run';

ok wait_until(30, sub { grep { $_->{path} eq '/slack' } $recv->received }), 'slack told';
my ($slack) = grep { $_->{path} eq '/slack' } $recv->received;
is $slack->{body}{blocks}[0]{type}, 'header', 'Block Kit';
like $slack->{body}{blocks}[1]{text}{text}, qr/e2e-notify/, 'naming the workspace';

ok wait_until(30, sub { scalar $smtp->messages }), 'an email';
my ($mail) = $smtp->messages;
like $mail, qr/^X-Envelope-To: ops\@e2e.local\r$/m, 'to the address configured';
like $mail, qr/^Subject: \[Terrapod\] Run completed: workspace e2e-notify/m, 'its subject';

done_testing;
