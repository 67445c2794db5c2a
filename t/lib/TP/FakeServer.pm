package TP::FakeServer;
# The base of the tests' stand-ins for services outside the project (an
# OIDC provider, VCS providers): a serial HTTP server on loopback in a
# child process, over TLS when the object has tls => {cert, key}. A
# subclass answers each request with respond($req, $state), $state being
# a hash the child keeps for its life (initial_state gives its start).
use strict;
use warnings FATAL => 'all';
use HTTP::Daemon;
use IO::Socket::SSL ();
use POSIX ();
use HTTP::Response ();
use JSON::PP ();

sub initial_state { {} }

# An answer of status $code whose body is $doc as JSON.
sub json_response {
    my ($code, $doc) = @_;
    my $r = HTTP::Response->new($code);
    $r->header('Content-Type' => 'application/json');
    $r->content(JSON::PP->new->canonical->encode($doc));
    return $r;
}

# Serves in a child process until stop (or the test's end).
sub start {
    my ($self) = @_;
    my $d = HTTP::Daemon->new(LocalAddr => '127.0.0.1',
                              LocalPort => $self->{port}, ReuseAddr => 1)
        or die "cannot listen on port $self->{port}: $!";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        $d->close;
        $self->{pid} = $pid;
        return $self;
    }
    my $state = $self->initial_state;
    # a client that hangs up mid-answer (a download refused past its
    # cap) ends that answer, not the server
    $SIG{PIPE} = 'IGNORE';
    # one request per connection: an idle keep-alive client would block
    # this serial server
    while (my $c = $d->accept) {
        next if $self->{tls} && !start_tls($c, $self->{tls});
        if (my $req = $c->get_request) {
            $c->force_last_request;
            $c->send_response($self->respond($req, $state));
        }
        $c->close;
    }
    POSIX::_exit(0);   # not through the test's END blocks
}

# A connection read and answered by HTTP::Daemon over TLS: IO::Socket::SSL
# ties the handle, so the daemon's reads and prints go through TLS.
{
    package TP::FakeServer::TLSConn;
    our @ISA = ('IO::Socket::SSL', 'HTTP::Daemon::ClientConn');
}

sub start_tls {
    my ($c, $tls) = @_;
    IO::Socket::SSL->start_SSL($c, SSL_server => 1,
                               SSL_cert_file => $tls->{cert},
                               SSL_key_file => $tls->{key}) or return 0;
    bless $c, 'TP::FakeServer::TLSConn';
    return 1;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    # the child's end is not the test's: a stop at global destruction
    # must not become the script's exit status
    local $?;
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub DESTROY { $_[0]->stop }

1;
