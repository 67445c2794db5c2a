package TP::FakeSMTP;
# A small mail server for the tests: speaks SMTP (EHLO/HELO, MAIL FROM,
# RCPT TO, DATA with dot-stuffing, RSET, NOOP, QUIT) on the loopback in a
# child process and writes each message accepted to a file of its
# directory: the envelope's sender and recipients, then the message.
# Given tls => {cert, key} it offers STARTTLS; given auth => [user,
# password] it offers AUTH PLAIN and LOGIN (over TLS only, when it has
# TLS) and takes no mail before a login.
use strict;
use warnings FATAL => 'all';
# stop and DESTROY are the base's: the child is ended the same way
use parent 'TP::FakeServer';
use IO::Socket::INET;
use IO::Socket::SSL ();
use MIME::Base64 qw(decode_base64);
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
        session($self, $c, \$n);
        close $c;
    }
    POSIX::_exit(0);
}

# What EHLO offers now.
sub extensions {
    my ($self, $tls, $user) = @_;
    my @ext = ('8BITMIME', 'SIZE 1000000');
    push @ext, 'STARTTLS' if $self->{tls} && !$tls;
    push @ext, 'AUTH PLAIN LOGIN'
        if $self->{auth} && !defined $user && ($tls || !$self->{tls});
    return @ext;
}

# AUTH PLAIN or LOGIN: the user name when the credentials are right.
sub login {
    my ($self, $c, $line) = @_;
    my ($mech, $initial) = $line =~ /^AUTH (PLAIN|LOGIN)(?: (\S+))?$/i
        or return;
    my ($user, $pass);
    if (uc $mech eq 'PLAIN') {
        if (!defined $initial) { print $c "334 \r\n"; ($initial = <$c> // '') =~ s/\r\n\z// }
        (undef, $user, $pass) = split /\0/, decode_base64($initial), 3;
    } else {
        print $c "334 VXNlcm5hbWU6\r\n";
        ($user = <$c> // '') =~ s/\r\n\z//;
        print $c "334 UGFzc3dvcmQ6\r\n";
        ($pass = <$c> // '') =~ s/\r\n\z//;
        ($user, $pass) = (decode_base64($user), decode_base64($pass));
    }
    return defined $pass && "$user\0$pass" eq join("\0", @{$self->{auth}})
           ? $user : undef;
}

sub session {
    my ($self, $c, $n) = @_;
    my $dir = "$self->{dir}";
    my ($from, @to, $tls, $user);
    local $/ = "\r\n";
    print $c "220 fake.test.local ESMTP\r\n";
    while (defined(my $line = <$c>)) {
        $line =~ s/\r\n\z//;
        if ($line =~ /^EHLO /i) {
            my @ext = ('fake.test.local', $self->extensions($tls, $user));
            print $c join('', map { "250-$_\r\n" } @ext[0 .. $#ext - 1]),
                     "250 $ext[-1]\r\n";
        } elsif ($line =~ /^STARTTLS$/i && $self->{tls} && !$tls) {
            print $c "220 Ready to start TLS\r\n";
            IO::Socket::SSL->start_SSL($c, SSL_server => 1,
                                       SSL_cert_file => $self->{tls}{cert},
                                       SSL_key_file => $self->{tls}{key})
                or return;
            # RFC 3207: everything before the handshake is forgotten
            ($tls, $from, @to) = (1);
        } elsif ($line =~ /^AUTH /i && $self->{auth}) {
            if ($self->{tls} && !$tls) { print $c "538 Encryption required\r\n"; next }
            $user = $self->login($c, $line);
            print $c defined $user ? "235 Authenticated\r\n"
                                   : "535 Authentication failed\r\n";
        } elsif ($line =~ /^MAIL FROM:/i && $self->{auth} && !defined $user) {
            print $c "530 Authentication required\r\n";
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
                      . join(',', @to) . "\r\nX-Received-TLS: "
                      . ($tls ? 'yes' : 'no') . "\r\nX-Authenticated-As: "
                      . ($user // '') . "\r\n$msg";
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
# envelope first, as X-Envelope-From and X-Envelope-To, then whether it
# came over TLS and who had logged in: X-Received-TLS, X-Authenticated-As).
sub messages {
    my ($self) = @_;
    return map { local (@ARGV, $/) = $_; scalar <> }
           sort glob("$self->{dir}/*.eml");
}

1;
