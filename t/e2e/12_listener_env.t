# What a run sees of its listener: a listener started with an operator's
# environment (their TF_CLI_CONFIG_FILE, a stray variable, its join
# token, a proxy setting) in a pool of its own, made with terrapod-admin;
# a run's local-exec writes its environment to a file. Only the allow-list
# reaches it: PATH, SSL_CERT_FILE, what --pass-env names, a home and
# TMPDIR of the run's own, the run's variables. The listener's
# --log-file is written and reopened on SIGHUP.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;

my $e = instance();
my $dir = workdir();
my $state = workdir();
my $log = "$state/listener.log";

my $out = admin_cmd('pool', 'create', '--name', 'e2e-env');
my ($pool) = $out =~ /^TERRAPOD_POOL_ID='([^']+)'$/m or die "no pool: $out";
$out = admin_cmd('join-token', 'create', '--pool', 'e2e-env', '--max-uses', 1);
my ($join) = $out =~ /^TERRAPOD_JOIN_TOKEN='([^']+)'$/m or die "no join token: $out";

my $bin = "$ENV{TP_SRC}/listener/terrapod-listener";
my $listener = fork // die "fork: $!";
if (!$listener) {
    %ENV = (PATH => $ENV{PATH}, HOME => $state,
            TERRAPOD_JOIN_TOKEN => $join,
            TF_CLI_CONFIG_FILE => "$state/operator.tfrc",
            FOO_LEAK => 1,
            SSL_CERT_FILE => $e->{TERRAPOD_CA_FILE},
            PASSED_ON => 'by --pass-env',
            NOT_PASSED => 'unnamed');
    exec $bin, '--url', $e->{TERRAPOD_URL},
         '--ca-file', $e->{TERRAPOD_CA_FILE}, '--name', 'env-check',
         '--state-dir', $state, '--log-file', $log, '--pass-env', 'PASSED_ON';
    die "exec: $!";
}
END { kill 'TERM', $listener if $listener }

sub slurp { open my $fh, '<', $_[0] or return ''; local $/; return <$fh> }

ok wait_until(30, sub { slurp($log) =~ /TPL0011: listener \S+ \(env-check\)/ }),
   'the listener joins its pool, logging to --log-file';

# the run writes its environment where this test reads it
my $dump = "$dir/run-env.txt";
write_file("$dir/main.tf", <<"HCL");
resource "terraform_data" "env" {
  provisioner "local-exec" {
    command = "env > $dump; pwd > $dump.cwd"
  }
}
HCL
my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {
        name => 'e2e-env', 'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
is $res->code, 201, 'a workspace on that pool' or diag $res->content;
my $ws = $doc->{data}{id};
($res) = api(POST => "/api/v2/workspaces/$ws/vars",
             body => {data => {type => 'vars', attributes => {
                 key => 'RUN_ENV', value => 'from-the-workspace', category => 'env'}}});
is $res->code, 201, 'with an env variable';
upload_config($ws, $dir);
my $run = queue_run($ws, 'auto-apply' => JSON::PP::true());
ok wait_until(120, sub { status_of($run) eq 'applied' }), 'a run applies on it'
    or diag slurp($log);

my %env = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split /\n/, slurp($dump);
ok %env, 'local-exec wrote the environment it ran with';
for my $leak (qw(FOO_LEAK TF_CLI_CONFIG_FILE TERRAPOD_JOIN_TOKEN NOT_PASSED)) {
    ok !exists $env{$leak}, "$leak of the listener's environment is not there";
}
is $env{PASSED_ON}, 'by --pass-env', 'what --pass-env names is';
is $env{SSL_CERT_FILE}, $e->{TERRAPOD_CA_FILE}, 'SSL_CERT_FILE is';
is $env{PATH}, $ENV{PATH}, 'PATH is';
is $env{RUN_ENV}, 'from-the-workspace', "the run's own variables are";
is $env{TF_IN_AUTOMATION}, 1, 'and the automation settings';
chomp(my $cwd = slurp("$dump.cwd"));
my ($phase) = $cwd =~ m{^(\Q$state\E/work/\Q$run\E-apply-\w+)/} or diag "cwd $cwd";
ok $phase, "it ran in the phase's directory";
is $env{HOME}, "$phase/home", 'its HOME is the phase\'s own, not the listener\'s';
is $env{TMPDIR}, "$phase/tmp", 'and so is TMPDIR';
ok wait_until(10, sub { !-e $phase }), 'both went with the phase';

# logrotate moves the file; SIGHUP makes the listener open a new one
rename $log, "$log.1" or die $!;
kill 'HUP', $listener;
ok wait_until(10, sub { slurp($log) =~ /TPL0015: reopened the log file \Q$log\E/ }),
   'SIGHUP reopens the log file';
$run = queue_run($ws, 'auto-apply' => JSON::PP::true(), 'is-destroy' => JSON::PP::true());
ok wait_until(120, sub { status_of($run) eq 'applied' }), 'another run';
like slurp($log), qr/TPL0046: run \Q$run\E: starting plan/, 'logs into the new file';
unlike slurp("$log.1"), qr/\Q$run\E/, 'not into the old one';
ok kill(0, $listener), 'the listener is still running';

done_testing;
