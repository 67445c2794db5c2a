package TP::FakeSMTP;
# A small mail server for the tests: speaks SMTP (EHLO/HELO, MAIL FROM,
# RCPT TO, DATA with dot-stuffing, RSET, NOOP, QUIT) on the loopback in a
# child process and writes each message accepted to a file of its
# directory: the envelope's sender and recipients, then the message.
use strict;
use warnings FATAL => 'all';
# stop and DESTROY are the base's: the child is ended the same way
use parent 'TP::FakeServer';
use IO::Socket::INET;
use File::Temp ();
use POSIX ();

sub new {
    my ($class, %o) = @_;
    return bless {%o, dir => File::Temp->newdir}, $class;
}

sub start {
    my ($self) = @_;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $self->{port}, Listen => 5,
                                  ReuseAddr => 1)
        or die "cannot listen on port $self->{port}: $!";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $l;
        $self->{pid} = $pid;
        return $self;
    }
    $SIG{PIPE} = 'IGNORE';
    my $n = 0;
    while (my $c = $l->accept) {
        session($c, "$self->{dir}", \$n);
        close $c;
    }
    POSIX::_exit(0);
}

sub session {
    my ($c, $dir, $n) = @_;
    my ($from, @to);
    local $/ = "\r\n";
    print $c "220 fake.test.local ESMTP\r\n";
    while (defined(my $line = <$c>)) {
        $line =~ s/\r\n\z//;
        if ($line =~ /^EHLO /i) {
            print $c "250-fake.test.local\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n";
        } elsif ($line =~ /^HELO /i) {
            print $c "250 fake.test.local\r\n";
        } elsif ($line =~ /^MAIL FROM:\s*<([^>]*)>/i) {
            ($from, @to) = ($1);
            print $c "250 OK\r\n";
        } elsif ($line =~ /^RCPT TO:\s*<([^>]+)>/i) {
            if (!defined $from) { print $c "503 MAIL first\r\n"; next }
            push @to, $1;
            print $c "250 OK\r\n";
        } elsif ($line =~ /^DATA$/i) {
            if (!@to) { print $c "503 RCPT first\r\n"; next }
            print $c "354 End data with <CR><LF>.<CR><LF>\r\n";
            my $msg = '';
            while (defined(my $d = <$c>)) {
                last if $d eq ".\r\n";
                $d =~ s/^\.//;
                $msg .= $d;
            }
            $$n++;
            open my $fh, '>', sprintf('%s/%06d.eml.new', $dir, $$n) or die $!;
            print $fh "X-Envelope-From: $from\r\nX-Envelope-To: "
                      . join(',', @to) . "\r\n$msg";
            close $fh;
            rename sprintf('%s/%06d.eml.new', $dir, $$n),
                   sprintf('%s/%06d.eml', $dir, $$n);
            ($from, @to) = ();
            print $c "250 OK queued as $$n\r\n";
        } elsif ($line =~ /^RSET$/i) {
            ($from, @to) = ();
            print $c "250 OK\r\n";
        } elsif ($line =~ /^NOOP/i) {
            print $c "250 OK\r\n";
        } elsif ($line =~ /^QUIT$/i) {
            print $c "221 Bye\r\n";
            return;
        } else {
            print $c "502 Command not implemented\r\n";
        }
    }
}

# The messages accepted so far, oldest first, each as its text (the
# envelope first, as X-Envelope-From and X-Envelope-To).
sub messages {
    my ($self) = @_;
    return map { local (@ARGV, $/) = $_; scalar <> }
           sort glob("$self->{dir}/*.eml");
}

1;
