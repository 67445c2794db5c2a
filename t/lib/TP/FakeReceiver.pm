package TP::FakeReceiver;
# A notification receiver for the tests: records the body and headers of
# every POST it is sent, and answers 200, or on demand a failure status
# or nothing for a while (a receiver that hangs).
use strict;
use warnings FATAL => 'all';
use parent 'TP::FakeServer';
use HTTP::Response;
use JSON::PP;
use LWP::UserAgent;

my $json = JSON::PP->new->canonical;

sub new {
    my ($class, %o) = @_;
    return bless {%o, base => "http://127.0.0.1:$o{port}"}, $class;
}

sub base { $_[0]{base} }
sub url { "$_[0]{base}/hook" }

sub initial_state { {received => [], fail => 0, status => 500, delay => 0} }

sub control {
    my ($self, $what, $body) = @_;
    my $r = LWP::UserAgent->new(keep_alive => 0, timeout => 10)
        ->post("$self->{base}/_control/$what",
               Content => $json->encode($body // {}));
    die "receiver $what: " . $r->status_line unless $r->is_success;
    return $json->decode($r->content);
}

# Every notification received, oldest first: {body (decoded), raw,
# headers (names in lower case)}.
sub received { @{ $_[0]->control('received') } }

# The next $times notifications are answered $status after $delay s.
sub fail {
    my ($self, $times, $status, $delay) = @_;
    $self->control(fail => {times => $times, status => $status // 500,
                            delay => $delay // 0});
}

sub respond {
    my ($self, $req, $state) = @_;
    my $r = HTTP::Response->new(200);
    $r->header('Content-Type' => 'application/json');
    if ($req->uri->path =~ m{^/_control/(\w+)$}) {
        my $in = $json->decode($req->content || '{}');
        if ($1 eq 'fail') {
            @$state{qw(fail status delay)} = @$in{qw(times status delay)};
        }
        $r->content($json->encode($1 eq 'received' ? $state->{received}
                                                   : {}));
        return $r;
    }
    if ($state->{fail} > 0) {
        $state->{fail}--;
        select(undef, undef, undef, $state->{delay}) if $state->{delay};
        $r->code($state->{status});
        $r->content('{"error":"injected failure"}');
        return $r;
    }
    push @{ $state->{received} }, {
        path => $req->uri->path, raw => $req->content,
        body => eval { $json->decode($req->content) },
        headers => {map { lc($_) => scalar $req->header($_) }
                    $req->header_field_names}};
    $r->content('{"ok":true}');
    return $r;
}

1;
