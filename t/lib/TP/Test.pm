package TP::Test;
# Helpers for the HTTP suite: JSON:API requests against the Apache::Test
# server, principals minted with terrapod-admin, and control of the suite's
# PostgreSQL cluster.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use JSON::PP ();
use Apache::TestRequest ();
use HTTP::Request ();

our @EXPORT = qw(api json_of admin_token user_token sql pg_stop pg_start
                 wait_until error_detail);

my $json = JSON::PP->new->canonical;

sub admin_cmd {
    my @args = @_;
    my $out = qx{$ENV{TP_SRC}/mod_terrapod/terrapod-admin @args --db '$ENV{TP_DB}' 2>&1};
    die "terrapod-admin @args: $out" if $?;
    return $out;
}

# A fresh API token for email, creating the user first; admin => 1 grants
# the platform admin role, lifespan => N makes it expire after N seconds.
sub user_token {
    my ($email, %opt) = @_;
    admin_cmd('user', '--email', $email, $opt{admin} ? '--admin' : ());
    my $out = admin_cmd('token', '--email', $email,
                        '--lifespan-seconds', $opt{lifespan} // 0);
    my ($token) = $out =~ /^TERRAPOD_TOKEN='([^']+)'/m or die $out;
    return $token;
}

sub admin_token { user_token('admin@test.local', admin => 1) }

# api(METHOD, PATH, token => T, body => STRING|REF, headers => {...})
sub api {
    my ($method, $path, %opt) = @_;
    my @headers = %{ $opt{headers} || {} };
    my $body;
    push @headers, Authorization => "Bearer $opt{token}" if $opt{token};
    if (exists $opt{body}) {
        $body = ref $opt{body} ? $json->encode($opt{body}) : $opt{body};
        push @headers, 'Content-Type' => 'application/vnd.api+json';
    }
    my $req = HTTP::Request->new($method,
                                 Apache::TestRequest::resolve_url($path),
                                 \@headers, $body);
    return Apache::TestRequest::user_agent(keep_alive => 0)->request($req);
}

sub json_of {
    my ($res) = @_;
    my $doc = eval { $json->decode($res->content) };
    return $doc;
}

sub error_detail {
    my $doc = json_of(shift) or return '';
    return $doc->{errors}[0]{detail} // '';
}

# Runs SQL on the suite's database; returns the first column of each row.
sub sql {
    my ($query) = @_;
    my $out = qx{$ENV{PG_BINDIR}/psql '$ENV{TP_DB}' -tAqc "$query" 2>&1};
    die "psql: $out" if $?;
    chomp $out;
    return $out;
}

sub pg_ctl {
    my @args = @_;
    my $inst = $ENV{TP_INSTANCE};
    my $out = qx{$ENV{PG_BINDIR}/pg_ctl -D $inst/pg -w @args 2>&1};
    die "pg_ctl @args: $out" if $?;
}

sub pg_stop { pg_ctl('-m', 'fast', 'stop') }

sub pg_start {
    my $inst = $ENV{TP_INSTANCE};
    pg_ctl('-l', "$inst/log/postgresql.log",
           '-o', qq{"-k $inst/run -c listen_addresses="}, 'start');
}

# Polls fn every 0.2 s until it returns true or timeout seconds pass.
sub wait_until {
    my ($timeout, $fn) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        return 1 if $fn->();
        select undef, undef, undef, 0.2;
    }
    return $fn->();
}

1;
