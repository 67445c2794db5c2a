package TP::E2E;
# Helpers for the end-to-end suite: the instance made by tools/tp-instance,
# the real terraform binary pointed at it, and its logs and processes.
use strict;
use Time::HiRes ();
use warnings FATAL => 'all';
use Exporter 'import';
use TP::Util;
use File::Temp ();
use LWP::UserAgent ();
use JSON::PP ();

our @EXPORT = qw(instance terraform workdir cloud_config api error_log targz
                 wait_until free_port tp_instance write_file admin_cmd kill_listener
                 status_of upload_config queue_run psql_cmd psql
                 config_test config_refuses restart_httpd agent_workspace
                 new_agent_workspace runs_of
                 httpd_cmd on_instance with_directives runs_ended);

# the instance every helper works on (on_instance switches it for a while)
our $inst = $ENV{TP_INSTANCE} or die "TP_INSTANCE is not set";

# The settings make run writes: TERRAPOD_URL, TERRAPOD_HOST, TERRAPOD_TOKEN...
sub instance {
    my %env = (DIR => $inst);
    open my $fh, '<', "$inst/run/terrapod.env" or die "terrapod.env: $!";
    while (my $line = <$fh>) { $env{$1} = $2 if $line =~ /^(\w+)='(.*)'$/ }
    return \%env;
}

sub workdir { File::Temp::tempdir("$inst/work-XXXXXX", CLEANUP => 1) }

sub cloud_config {
    my (%o) = @_;
    my $e = instance();
    my $host = $o{hostname} // $e->{TERRAPOD_HOST};
    my $org = $o{organization} // 'default';
    my $ws = $o{workspace} // 'e2e';
    my $body = $o{body} // qq{resource "terraform_data" "x" {\n  input = "hello"\n}\n};
    return <<"HCL";
terraform {
  cloud {
    hostname     = "$host"
    organization = "$org"
    workspaces {
      name = "$ws"
    }
  }
}
$body
HCL
}

# The CLI configuration terraform() uses; tests may point it elsewhere.
our $cli_config = "$inst/run/terraformrc";

# Runs code with every helper pointed at the instance in dir (another one
# made with tools/tp-instance); returns what code returns.
sub on_instance {
    my ($dir, $code) = @_;
    local $inst = $dir;
    local $cli_config = "$dir/run/terraformrc";
    return $code->();
}

# Runs terraform in dir; returns (exit code, combined output).
sub terraform {
    my ($dir, @args) = @_;
    my $e = instance();
    local $ENV{SSL_CERT_FILE} = $e->{TERRAPOD_CA_FILE};
    local $ENV{TF_CLI_CONFIG_FILE} = $cli_config;
    local $ENV{CHECKPOINT_DISABLE} = 1;
    local $ENV{TF_IN_AUTOMATION} = 1;
    local $ENV{TF_INPUT} = 0;
    local $ENV{NO_COLOR} = 1;
    my $cmd = join ' ', map { quotemeta } 'terraform', "-chdir=$dir", @args;
    my $out = qx{$cmd 2>&1};
    return ($? >> 8, $out);
}

my $json = JSON::PP->new;

sub api {
    my ($method, $path, %opt) = @_;
    my $e = instance();
    my $ua = LWP::UserAgent->new(ssl_opts => {SSL_ca_file => $e->{TERRAPOD_CA_FILE}},
                                 timeout => 30);
    my @h = (Authorization => "Bearer " . ($opt{token} // $e->{TERRAPOD_TOKEN}),
             %{ $opt{headers} || {} });
    my $body;
    if (exists $opt{body}) {
        $body = ref $opt{body} ? $json->encode($opt{body}) : $opt{body};
        push @h, 'Content-Type' => 'application/vnd.api+json';
    }
    if (exists $opt{raw}) {
        $body = $opt{raw};
        push @h, 'Content-Type' => 'application/octet-stream';
    }
    my $url = $path =~ m{^https?://} ? $path : "$e->{TERRAPOD_URL}$path";
    my $req = HTTP::Request->new($method, $url, \@h, $body);
    my $res = $ua->request($req);
    # the instance keeps the default per-user limit, which terraform
    # running with the same token may have spent: wait as a client should
    for (1 .. 5) {
        last unless $res->code == 429;
        Time::HiRes::sleep($res->header('Retry-After') // 1);
        $res = $ua->request($req);
    }
    return ($res, eval { $json->decode($res->content) });
}

# The gzip tarball of files (path => content), as a module or configuration
# is packed.
sub targz {
    my (%files) = @_;
    my $dir = workdir();
    for my $path (sort keys %files) {
        system('mkdir', '-p', ($dir . '/' . $path) =~ s{/[^/]*$}{}r) == 0
            or die "mkdir failed\n";
        write_file("$dir/$path", $files{$path});
    }
    my $tgz = qx{tar -czf - -C '$dir' .};
    die "tar failed\n" if $?;
    return $tgz;
}

sub write_file {
    my ($path, $content) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $content;
    close $fh;
}

# terrapod-admin against the instance's database; returns its output.
sub admin_cmd {
    my @args = @_;
    my $db = "host=$inst/run dbname=terrapod user=terrapod";
    my $out = qx{$ENV{TP_SRC}/mod_terrapod/terrapod-admin @args --db '$db' 2>&1};
    die "terrapod-admin @args: $out" if $?;
    return $out;
}

# psql as the service user on the instance's database, as tools/tp-instance
# runs it: the command, for a session of one's own.
sub psql_cmd {
    my @as = $> == 0 ? qw(runuser -u terrapod --) : ();
    return (@as, "$ENV{PG_BINDIR}/psql", '-X', '-q', '-v', 'ON_ERROR_STOP=1',
            "host=$inst/run dbname=terrapod user=terrapod");
}

# One query through psql_cmd: its rows (in scalar context, the rows
# joined by newlines).
sub psql {
    my ($query) = @_;
    open my $ph, '-|', psql_cmd(), '-tA', '-c', $query or die "psql: $!";
    chomp(my @rows = <$ph>);
    close $ph or die "psql failed on: $query\n";
    return wantarray ? @rows : join "\n", @rows;
}

sub error_log {
    open my $fh, '<', "$inst/log/error_log" or return '';
    local $/;
    return <$fh>;
}

sub tp_instance {
    my @args = @_;
    my $out = qx{$ENV{TP_SRC}/tools/tp-instance @args 2>&1};
    die "tp-instance @args: $out" if $?;
    return $out;
}

# Stops Apache and starts it again, reading conf.d anew.
sub restart_httpd {
    tp_instance('httpd-down', $inst);
    tp_instance('httpd-up', $inst);
}

# The conf.d snippets with_directives wrote, removed when the test (the
# process that wrote them, not a child it forked) ends.
my (@snippets, $writer);

# Restarts Apache with the directives (one a line) in conf.d/NAME.conf,
# until the test ends: however it ends, the snippet is then removed and
# Apache restarted without it, as the next test expects the instance.
sub with_directives {
    my ($name, @lines) = @_;
    my $path = "$inst/conf.d/$name.conf";
    write_file($path, join '', map { "$_\n" } @lines);
    push @snippets, $path;
    $writer = $$;
    restart_httpd();
}

END {
    local $?;
    my @left = grep { -e } @snippets;
    if (@left && $writer == $$) {
        unlink @left;
        eval { restart_httpd() };
    }
}

# The command that runs httpd as tools/tp-instance does (with the
# sanitizer's environment when the module is built with one).
sub httpd_cmd {
    my $apxs = qx{command -v apxs || command -v apxs2};
    chomp $apxs;
    my $httpd = join '/', map { my $v = qx{$apxs -q $_}; chomp $v; $v }
                          qw(SBINDIR TARGET);
    my $env = qx{$ENV{TP_SRC}/tools/tp-instance sanitizer-env};
    $env =~ s/\n/ /g;
    return "env $env $httpd";
}

# httpd -t on the instance's configuration, or on the file conf names:
# (exit status, output).
sub config_test {
    my (%o) = @_;
    my $conf = $o{conf} // "$inst/httpd.conf";
    my $out = qx{${\ httpd_cmd()} -t -f $conf 2>&1};
    return ($?, $out);
}

# Tests (two per value) that each "DIRECTIVE value", written to snippet
# (a file of the instance's conf.d), stops the configuration with a
# message naming the range; the snippet is gone afterwards.
sub config_refuses {
    my ($snippet, $directive, $range, @values) = @_;
    for my $v (@values) {
        write_file($snippet, "$directive $v\n");
        my ($rc, $out) = config_test();
        Test::More::isnt($rc, 0, "$v refused");
        Test::More::like($out, qr/\Q$directive takes a number from $range\E/,
                         "$v: the range is named");
    }
    unlink $snippet;
}

# Puts the workspace named $name (terraform init made it) in agent
# execution mode, with %attrs besides: (its id, the status of the change).
sub agent_workspace {
    my ($name, %attrs) = @_;
    my (undef, $doc) = api(GET => "/api/v2/organizations/default/workspaces/$name");
    my $ws = $doc->{data}{id};
    my ($res) = api(PATCH => "/api/v2/workspaces/$ws",
                    body => {data => {type => 'workspaces', attributes => {
                        'execution-mode' => 'agent', %attrs}}});
    return ($ws, $res->code);
}

# The status of run.
sub status_of {
    my ($run) = @_;
    my (undef, $d) = api(GET => "/api/v2/runs/$run");
    return $d->{data}{attributes}{status} // '';
}

# Waits (up to 180 s) until workspace ws has n runs, the newest of them
# ended; its runs, newest first.
sub runs_ended {
    my ($ws, $n) = @_;
    wait_until(180, sub {
        my @r = runs_of($ws);
        @r == $n && $r[0]{attributes}{status}
                    =~ /^(applied|planned_and_finished|errored|discarded|canceled)$/;
    });
    return runs_of($ws);
}

# The workspace's runs, newest first (up to 100).
sub runs_of {
    my ($ws) = @_;
    my (undef, $d) = api(GET => "/api/v2/workspaces/$ws/runs?page[size]=100");
    return @{ $d->{data} || [] };
}

# A new agent-mode workspace named name with auto-apply and an uploaded
# configuration whose main.tf is body; its id.
sub new_agent_workspace {
    my ($name, $body) = @_;
    my ($res, $d) = api(POST => '/api/v2/organizations/default/workspaces',
        body => {data => {type => 'workspaces', attributes => {
            name => $name, 'execution-mode' => 'agent',
            'auto-apply' => JSON::PP::true()}}});
    die $res->content unless $res->code == 201;
    my $dir = workdir();
    write_file("$dir/main.tf", $body);
    upload_config($d->{data}{id}, $dir);
    return $d->{data}{id};
}

# Uploads dir's *.tf as a new (non-speculative) configuration version.
sub upload_config {
    my ($ws, $from) = @_;
    my ($res, $d) = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
        body => {data => {type => 'configuration-versions',
                          attributes => {'auto-queue-runs' => JSON::PP::false()}}});
    die $res->content unless $res->code == 201;
    my $tgz = qx{tar -C $from -czf - --exclude=.terraform --exclude='*.tfstate' .};
    ($res) = api(PUT => $d->{data}{attributes}{'upload-url'}, raw => $tgz);
    die $res->content unless $res->code == 200;
}

sub queue_run {
    my ($ws, %attrs) = @_;
    my ($res, $d) = api(POST => '/api/v2/runs',
        body => {data => {type => 'runs', attributes => {%attrs},
                          relationships => {workspace => {data => {
                              type => 'workspaces', id => $ws}}}}});
    die $res->content unless $res->code == 201;
    return $d->{data}{id};
}

# SIGKILLs, all at once, the instance's listener and everything it started
# (phase processes and the terraform they run, whatever their process
# group), and nothing of any other instance on the machine.
sub kill_listener {
    my $mark = "--state-dir\0$inst/listener\0";
    my (%children, @roots);
    opendir my $proc, '/proc' or die "/proc: $!";
    for my $pid (grep { /^\d+$/ } readdir $proc) {
        open my $st, '<', "/proc/$pid/stat" or next;
        my ($ppid) = (<$st> // '') =~ /\)\s+\S+\s+(\d+)/ or next;
        push @{ $children{$ppid} }, $pid;
        open my $cl, '<', "/proc/$pid/cmdline" or next;
        my $cmd = do { local $/; <$cl> } // '';
        push @roots, $pid if index("$cmd\0", $mark) >= 0;
    }
    my @all;
    while (my $pid = shift @roots) {
        push @all, $pid;
        push @roots, @{ $children{$pid} || [] };
    }
    kill 'KILL', @all if @all;
    return scalar @all;
}

1;
