# Proxy trust in the configuration: a forwarded client certificate header
# without TerrapodTrustedProxyCert (trust by address alone, which any
# process on the proxy's host passes) stops it, so does a
# TerrapodTrustedProxyCert file without a certificate; a trusted address
# on this host without one is accepted with a warning that its
# X-Forwarded-For is not believed.
use strict;
use warnings FATAL => 'all';
use Test::More;
use TP::E2E;
use TP::Faults;

my $e = instance();
my $snippet = snippet('proxy-trust');

# httpd -t with the snippet's lines: (exit status, output)
sub with_lines {
    write_file($snippet, join "\n", @_, '');
    my @got = config_test();
    unlink $snippet;
    return @got;
}

my ($rc, $out) = with_lines('TerrapodTrustedProxy 127.0.0.1',
                            'TerrapodClientCertHeader X-Client-Cert');
isnt $rc, 0, 'a certificate header trusted by address alone is refused';
like $out, qr/TP01410: TerrapodClientCertHeader needs TerrapodTrustedProxyCert/,
     'naming what it needs';

write_file("$e->{DIR}/not-a-cert.pem", "not a certificate\n");
($rc, $out) = with_lines("TerrapodTrustedProxyCert $e->{DIR}/not-a-cert.pem");
isnt $rc, 0, 'a TerrapodTrustedProxyCert file without a certificate is refused';
like $out, qr/TP01411: TerrapodTrustedProxyCert .*not-a-cert\.pem: no PEM certificate/,
     'naming the file';

($rc, $out) = with_lines('TerrapodTrustedProxy 127.0.0.1',
                         "TerrapodTrustedProxyCert $e->{TERRAPOD_CA_FILE}",
                         'TerrapodClientCertHeader X-Client-Cert');
is $rc, 0, 'with a proxy certificate it is accepted' or diag $out;

($rc, $out) = with_lines('TerrapodTrustedProxy 127.0.0.0/8');
is $rc, 0, 'a trusted address on this host alone is accepted';
like $out, qr/TP01412: TerrapodTrustedProxy names this host/, 'with a warning';

done_testing;
