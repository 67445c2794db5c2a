# The files terrapod-admin makes for an installation: the listener CA
# (init-ca) and the HMAC signing key (gen-hmac-key). Their modes and
# owner whatever the umask, a CA whose key is its own and that signs,
# nothing changed on a second run, and nothing written when what exists
# is not what it would make.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Temp ();
use TP::Install;

my $admin = "$ENV{TP_SRC}/mod_terrapod/terrapod-admin";
my $dir = File::Temp::tempdir('tp-admin-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub admin { run($admin, @_) }
sub mode_of { sprintf '%04o', (stat $_[0])[2] & 07777 }
sub owner_of { (stat $_[0])[4] }
sub openssl { my $out = qx{(openssl @_) 2>&1}; return ($? >> 8, $out) }
sub leftovers { [grep { /\.tmp-/ } glob "$dir/*"] }

my ($cert, $key, $hmac) = map { "$dir/$_" } qw(listener-ca.pem listener-ca.key hmac.key);

subtest 'init-ca' => sub {
    umask 0;    # the modes are its own, not the umask's
    my ($rc, $out) = admin('init-ca', '--cert', $cert, '--key', $key);
    umask 022;
    is $rc, 0, 'creates the listener CA' or diag $out;
    like $out, qr/created the listener CA \Q$cert\E \(key \Q$key\E\), CN=mod_terrapod listener CA, for 3650 days/,
         'saying what it made';
    is mode_of($key), '0600', 'the key is 0600';
    is mode_of($cert), '0644', 'the certificate 0644';
    is owner_of($_), $>, "$_ is owned by whoever ran it" for $key, $cert;
    is_deeply leftovers(), [], 'no temporary file is left';
    my (undef, $pub1) = openssl("x509 -in $cert -noout -pubkey");
    my (undef, $pub2) = openssl("pkey -in $key -pubout");
    like $pub1, qr/BEGIN PUBLIC KEY/, 'the certificate has a public key';
    is $pub1, $pub2, 'which is the key\'s';
    my (undef, $text) = openssl("x509 -in $cert -noout -text");
    like $text, qr/Subject: CN\s*=\s*mod_terrapod listener CA/, 'its subject';
    like $text, qr/CA:TRUE/, 'it is a CA';
    like $text, qr/Certificate Sign, CRL Sign/, 'that signs certificates';
    like $text, qr/ASN1 OID: prime256v1/, 'with an EC P-256 key';
    my ($vrc, $v) = openssl("verify -CAfile $cert $cert");
    is $vrc, 0, 'it verifies as its own root' or diag $v;
    # what it signs verifies against it
    my ($lrc, $l) = openssl("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
        . " -keyout $dir/leaf.key -subj /CN=leaf -out $dir/leaf.csr"
        . " && openssl x509 -req -in $dir/leaf.csr -CA $cert -CAkey $key"
        . " -CAcreateserial -out $dir/leaf.pem -days 1"
        . " && openssl verify -CAfile $cert $dir/leaf.pem");
    is $lrc, 0, 'a certificate its key signs verifies against it' or diag $l;
    unlink glob("$dir/leaf.*"), "$dir/listener-ca.srl";
};

subtest 'init-ca again' => sub {
    my %before = map { $_ => [slurp($_), (stat $_)[9, 1]] } $cert, $key;
    sleep 1;
    my ($rc, $out) = admin('init-ca', '--cert', $cert, '--key', $key);
    is $rc, 0, 'succeeds';
    like $out, qr/the listener CA \Q$cert\E \(key \Q$key\E\) exists; nothing changed/,
         'saying nothing changed';
    is_deeply [slurp($_), (stat $_)[9, 1]], $before{$_}, "$_ is untouched" for $cert, $key;
};

subtest 'init-ca refuses what is no CA of its own' => sub {
    my ($rc, $out) = admin('init-ca', '--cert', "$dir/other.pem", '--key', $key);
    is $rc, 1, 'a key without its certificate';
    like $out, qr/\Q$key\E exists without \Q$dir\E\/other\.pem; nothing changed/, 'says which is missing';
    ok !-e "$dir/other.pem", 'and writes no certificate';
    ($rc, $out) = admin('init-ca', '--cert', "$dir/o.pem", '--key', "$dir/o.key",
                        '--days', 30, '--cn', 'Build farm CA');
    is $rc, 0, 'a second CA, 30 days, its own name' or diag $out;
    my (undef, $text) = openssl("x509 -in $dir/o.pem -noout -subject -enddate");
    like $text, qr/subject=CN\s*=\s*Build farm CA/, 'named as asked';
    my ($end) = $text =~ /notAfter=(.*)/;
    my $days = (qx{date -d '$end' +%s} - time) / 86400;
    ok $days > 29.9 && $days < 30.1, "valid 30 days ($days)";
    my $mine = slurp($cert);
    ($rc, $out) = admin('init-ca', '--cert', $cert, '--key', "$dir/o.key");
    is $rc, 1, 'a certificate with the key of another CA';
    like $out, qr/are no listener CA: the CA key does not belong to the CA certificate; nothing changed/,
         'says why';
    is slurp($cert), $mine, 'nothing changed';
    ($rc, $out) = admin('init-ca', '--cert', "$dir/nodir/c.pem", '--key', "$dir/nodir/c.key");
    is $rc, 1, 'a directory that does not exist';
    like $out, qr{cannot create \Q$dir\E/nodir/c\.key: No such file or directory}, 'says so';
    for my $bad (['--days', 0], ['--days', 'ten'], ['--days', 36501]) {
        ($rc) = admin('init-ca', '--cert', "$dir/x.pem", '--key', "$dir/x.key", @$bad);
        is $rc, 2, "@$bad is a usage error";
    }
    ($rc) = admin('init-ca', '--cert', "$dir/x.pem");
    is $rc, 2, 'without --key, a usage error';
    ok !-e "$dir/x.pem" && !-e "$dir/x.key", 'none of them wrote anything';
    is_deeply leftovers(), [], 'no temporary file is left';
};

subtest 'gen-hmac-key' => sub {
    umask 0;
    my ($rc, $out) = admin('gen-hmac-key', '--out', $hmac);
    umask 022;
    is $rc, 0, 'creates the key' or diag $out;
    like $out, qr/created the HMAC key \Q$hmac\E/, 'saying so';
    is -s $hmac, 64, '64 bytes';
    is mode_of($hmac), '0600', 'mode 0600';
    is owner_of($hmac), $>, 'owned by whoever ran it';
    my $k = slurp($hmac);
    ($rc, $out) = admin('gen-hmac-key', '--out', $hmac);
    is $rc, 0, 'again: succeeds';
    like $out, qr/the HMAC key \Q$hmac\E exists; nothing changed/, 'saying nothing changed';
    is slurp($hmac), $k, 'the key is the same';
    admin('gen-hmac-key', '--out', "$dir/other.key");
    isnt slurp("$dir/other.key"), $k, 'another key is another';
    spew("$dir/short.key", 'x' x 10);
    ($rc, $out) = admin('gen-hmac-key', '--out', "$dir/short.key");
    is $rc, 1, 'an existing file too short to be a key is refused';
    like $out, qr/holds 10 bytes; a key needs 32; nothing changed/, 'saying why';
    is slurp("$dir/short.key"), 'x' x 10, 'and left alone';
    ($rc) = admin('gen-hmac-key');
    is $rc, 2, 'without --out, a usage error';
    is_deeply leftovers(), [], 'no temporary file is left';
};

subtest 'the database commands need a database' => sub {
    local $ENV{TERRAPOD_DB};
    delete $ENV{TERRAPOD_DB};
    for my $cmd (['pool', 'create', '--name', 'p'], ['join-token', 'create', '--pool', 'p'],
                 ['bootstrap', '--email', 'a@b.c']) {
        my ($rc, $out) = admin(@$cmd);
        is $rc, 2, "@$cmd without --db is a usage error";
        like $out, qr/needs --db PARAMS \(or TERRAPOD_DB\)/, 'saying what it needs';
    }
    my ($rc) = admin('pool', 'frobnicate', '--name', 'p');
    is $rc, 2, 'an unknown command is a usage error';
};

done_testing;
