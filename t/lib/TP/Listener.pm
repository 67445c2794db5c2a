package TP::Listener;
# Listeners for the HTTP suite: a pool with a join token, listeners joined
# with it, and their requests, whose certificate arrives the way a
# TLS-terminating proxy that proves itself forwards it (X-Client-Cert),
# and the requests of the runners they start.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use URI::Escape qw(uri_escape);
use TP::Test;

our @EXPORT = qw(make_pool join_as as_l as_runner new_run agent_pool_ws claim_job
                 runner_token_of read_phase_log);

my $NAT = '/api/terrapod/v1';

# (pool id, join token) of a new pool created with $token
sub make_pool {
    my ($token, $name) = @_;
    my $r = api(POST => "$NAT/agent-pools", token => $token,
                body => {data => {type => 'agent-pools', attributes => {name => $name}}});
    die 'pool: ' . $r->as_string unless $r->code == 201;
    my $pool = json_of($r)->{data}{id};
    $r = api(POST => "$NAT/agent-pools/$pool/authentication-tokens", token => $token,
             body => {data => {type => 'authentication-tokens', attributes => {}}});
    die 'join token: ' . $r->as_string unless $r->code == 201;
    return ($pool, json_of($r)->{data}{attributes}{token});
}

# the join answer (listener_id, certificate, ...) of listener $name
sub join_as {
    my ($join, $name) = @_;
    my $res = api(POST => "$NAT/agent-pools/join",
                  body => {join_token => $join, name => $name});
    die 'join: ' . $res->as_string unless $res->code == 201;
    return json_of($res);
}

# A workspace $name of the owner of $token in agent execution mode, on a
# pool of its own ($name-pool, made with the admin token $admin) that one
# listener joined: (workspace id, the listener's join answer).
sub agent_pool_ws {
    my ($admin, $token, $name) = @_;
    my ($pool, $join) = make_pool($admin, "$name-pool");
    my $l = join_as($join, "$name-1");
    my $ws = make_ws($token, $name);
    my $r = api(PATCH => "/api/v2/workspaces/$ws", token => $admin,
                body => {data => {type => 'workspaces', attributes => {
                    'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
    die 'agent mode: ' . $r->as_string unless $r->code == 200;
    return ($ws, $l);
}

# Listener $l claims its next job, which must be phase $phase of run $want.
sub claim_job {
    my ($l, $want, $phase) = @_;
    my $res = as_l($l, GET => '/runs/next?wait=2');
    die 'next: ' . $res->as_string unless $res->code == 200;
    my $job = json_of($res)->{data};
    die "claimed $job->{'run-id'}/$job->{phase}" unless $job->{'run-id'} eq $want
                                                        && $job->{phase} eq $phase;
}

# A runner token listener $l gets for the phase of run $run it claimed.
sub runner_token_of {
    my ($l, $run) = @_;
    my $res = as_l($l, POST => "/runs/$run/runner-token", body => {});
    die 'token: ' . $res->as_string unless $res->code == 200;
    return json_of($res)->{token};
}

# The answer to GET <log-read-url> (the whole log) of the plan or apply
# ($phase) of run $run (its JSON:API data), the URL read with $token.
sub read_phase_log {
    my ($token, $run, $phase) = @_;
    my $pid = $run->{relationships}{$phase}{data}{id};
    my $url = json_of(api(GET => "/api/v2/" . ($phase eq 'plan' ? 'plans' : 'applies') . "/$pid",
                          token => $token))->{data}{attributes}{'log-read-url'};
    return api(GET => "$url?offset=0&limit=100000");
}

# a new run of workspace $ws by the owner of $token: its JSON:API data
sub new_run {
    my ($token, $ws, %attrs) = @_;
    my $res = api(POST => '/api/v2/runs', token => $token,
                  body => {data => {type => 'runs', attributes => \%attrs,
                                    relationships => {workspace => {data => {
                                        type => 'workspaces', id => $ws}}}}});
    die 'run: ' . $res->as_string unless $res->code == 201;
    return json_of($res)->{data};
}

# a request of listener $l to /listeners/<its id>$path
sub as_l {
    my ($l, $method, $path, %opt) = @_;
    return api($method => proxied("$NAT/listeners/$l->{listener_id}$path"),
               headers => {'X-Client-Cert' => uri_escape($l->{certificate})}, %opt);
}

# a request of the runner holding runner token $tok (none when undef) to
# $NAT/runs/$run/$what
sub as_runner {
    my ($tok, $method, $run, $what, %opt) = @_;
    my %h = defined $tok ? (Authorization => "Bearer $tok") : ();
    %h = (%h, %{ delete $opt{headers} || {} });
    return api($method => "$NAT/runs/$run/$what", headers => \%h, %opt);
}

1;
