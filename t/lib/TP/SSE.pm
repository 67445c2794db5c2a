package TP::SSE;
# A client of the live event streams (text/event-stream) for the tests: an
# HTTP/1.1 GET over a socket of its own (TLS for https URLs), the chunked
# body decoded as it arrives, and its frames read one by one, each wait
# with a deadline.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use IO::Socket::INET ();
use IO::Socket::SSL ();
use IO::Select ();
use Time::HiRes ();
use JSON::PP ();
use URI ();

our @EXPORT = qw(sse_open);

# sse_open(URL, token => T, last_id => N, ca_file => F, headers => {...}):
# the stream once its response head has arrived (whatever its status).
sub sse_open {
    my ($url, %o) = @_;
    my $u = URI->new($url);
    my $sock = $u->scheme eq 'https'
        ? IO::Socket::SSL->new(PeerHost => $u->host, PeerPort => $u->port,
                               SSL_ca_file => $o{ca_file}, Timeout => 10)
        : IO::Socket::INET->new(PeerAddr => $u->host, PeerPort => $u->port,
                                Proto => 'tcp', Timeout => 10);
    die "connect $url: " . ($! || $IO::Socket::SSL::SSL_ERROR) unless $sock;
    my %h = (Host => $u->host_port, Accept => 'text/event-stream',
             %{ $o{headers} || {} });
    $h{Authorization} = "Bearer $o{token}" if $o{token};
    $h{'Last-Event-ID'} = $o{last_id} if defined $o{last_id};
    syswrite $sock, "GET " . $u->path_query . " HTTP/1.1\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
    my $s = bless {sock => $sock, raw => '', body => '', eof => 0}, __PACKAGE__;
    my $deadline = Time::HiRes::time() + 15;
    while ($s->{raw} !~ /\r\n\r\n/) {
        $s->_fill($deadline) or die "no response head from $url";
    }
    $s->{raw} =~ s/^(.*?)\r\n\r\n//s;
    my ($status, @lines) = split /\r\n/, $1;
    ($s->{code}) = $status =~ m{^HTTP/1\.\d (\d{3})} or die "status: $status";
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $s->{headers}{lc $k} = $v;
    }
    $s->{chunked} = lc($s->header('Transfer-Encoding') // '') eq 'chunked';
    $s->{length} = $s->header('Content-Length');
    return $s;
}

sub code { $_[0]{code} }
sub header { $_[0]{headers}{lc $_[1]} }

# More bytes from the socket before the deadline; 0 on timeout or EOF.
sub _fill {
    my ($s, $deadline) = @_;
    my $sock = $s->{sock};
    return 0 if $s->{eof};
    my $left = $deadline - Time::HiRes::time();
    return 0 if $left <= 0;
    unless ($sock->can('pending') && $sock->pending) {
        return 0 unless IO::Select->new($sock)->can_read($left);
    }
    my $n = sysread $sock, my $buf, 65536;
    if (!defined $n && $sock->isa('IO::Socket::SSL')
        && $IO::Socket::SSL::SSL_ERROR == IO::Socket::SSL::SSL_WANT_READ()) {
        return 1;       # a TLS record not complete yet
    }
    if (!$n) {
        $s->{eof} = 1;
        return 0;
    }
    $s->{raw} .= $buf;
    return 1;
}

# Moves what has arrived of the body from raw to body: 1 once the body
# has ended (the last chunk, or all of a Content-Length).
sub _decode {
    my ($s) = @_;
    if (!$s->{chunked}) {
        $s->{body} .= $s->{raw};
        $s->{raw} = '';
        return defined $s->{length} && length($s->{body}) >= $s->{length};
    }
    while ($s->{raw} =~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/) {
        my ($size, $head) = (hex $1, length($&));
        if ($size == 0) {
            $s->{ended} = 1;
            return 1;
        }
        last if length($s->{raw}) < $head + $size + 2;
        $s->{body} .= substr($s->{raw}, $head, $size);
        substr($s->{raw}, 0, $head + $size + 2) = '';
    }
    return $s->{ended} // 0;
}

# The whole body, once it has ended (an error answer's JSON).
sub content {
    my ($s, $timeout) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // 10);
    until ($s->_decode) { $s->_fill($deadline) or last }
    return $s->{body};
}

# The next frame within timeout seconds: {id, event, data (lines joined),
# json (data parsed), retry, comment, raw}; undef when none came, or the
# stream ended (then ended() is true).
sub frame {
    my ($s, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $done = $s->_decode;
        if ($s->{body} =~ s/^(.*?)\n\n//s) {
            my %f = (raw => "$1\n\n");
            for my $line (split /\n/, $1) {
                if ($line =~ /^: ?(.*)$/) { $f{comment} = $1; next }
                my ($k, $v) = $line =~ /^([^:]+): ?(.*)$/ or next;
                $f{$k} = defined $f{$k} && $k eq 'data' ? "$f{$k}\n$v" : $v;
            }
            $f{json} = JSON::PP::decode_json($f{data}) if defined $f{data};
            return \%f;
        }
        if ($done || !$s->_fill($deadline)) {
            $s->{ended_seen} = 1 if $done || $s->{eof};
            return undef;
        }
    }
}

# The next event (a frame with event:) within timeout, keep-alives and
# the retry line passed over; undef when none came.
sub event {
    my ($s, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        my $f = $s->frame($left) // return undef;
        return $f if defined $f->{event};
    }
    return undef;
}

# The next event that $want accepts within timeout (others passed over),
# or undef.
sub event_where {
    my ($s, $timeout, $want) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        my $e = $s->event($left) // return undef;
        return $e if $want->($e);
    }
    return undef;
}

# 1 when the server ends the stream within timeout (whatever it sends
# before that is passed over).
sub ends {
    my ($s, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        next if $s->frame($left);
        return 1 if $s->{ended_seen};
    }
    return 0;
}

sub close { CORE::close($_[0]{sock}) }

1;
