# Broken files and values the configuration names fail the configuration
# test (httpd -t, which apachectl configtest and apachectl graceful run
# first) with the module's reason, instead of taking the whole server down
# at its next restart. Checked on a layout of its own (a configuration
# naming the module and the files, as an installed system has it), then on
# the running instance: a graceful restart with a broken key is refused
# and the server keeps serving, and a restart signalled despite that stops
# with the reason in the main error log, not only in the virtual host's.
#
# TP_MODULE and TP_SCHEMA_DIR point the layout at an installed
# mod_terrapod.so and schema directory instead of the build's.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Copy qw(copy);
use File::Temp ();
use TP::E2E;
use TP::Faults;

my $e = instance();
my $dir = $e->{DIR};
my $module = $ENV{TP_MODULE} // "$ENV{TP_SRC}/mod_terrapod/mod_terrapod.so";
my $schema = $ENV{TP_SCHEMA_DIR} // "$ENV{TP_SRC}/sql";
my $apxs = qx{command -v apxs || command -v apxs2};
chomp $apxs;
chomp(my $moddir = qx{$apxs -q LIBEXECDIR});

# ---- a layout of its own ----

my $root = File::Temp::tempdir("$dir/layout-XXXXXX", CLEANUP => 1);
mkdir "$root/$_" or die "$root/$_: $!" for qw(keys storage);
copy("$dir/hmac.key", "$root/keys/hmac.key") or die $!;
copy("$dir/tls/listener-ca.pem", "$root/keys/ca.pem") or die $!;
copy("$dir/tls/listener-ca.key", "$root/keys/ca.key") or die $!;
copy("$dir/tls/ca.key", "$root/keys/other-ca.key") or die $!;   # another CA's
copy("$dir/tls/ca.pem", "$root/keys/idp-ca.pem") or die $!;
write_file("$root/keys/short.key", "0123456789");
write_file("$root/keys/garbage.pem", "not a certificate\n");
write_file("$root/keys/oidc-secret", "a-client-secret\n");

my %good = (
    TerrapodHMACKeyFile    => 'keys/hmac.key',
    TerrapodListenerCACert => 'keys/ca.pem',
    TerrapodListenerCAKey  => 'keys/ca.key',
    TerrapodStorageDir     => 'storage',
    TerrapodSchemaDir      => $schema,
    DBDriver               => 'pgsql',
    socache                => "LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so",
    oidc_secret            => 'keys/oidc-secret',
    oidc_ca                => 'keys/idp-ca.pem',
);

# The layout's configuration with some settings replaced (undef: left out).
sub layout_conf {
    my %o = (%good, @_);
    my $set = sub { defined $o{$_[0]} ? qq{$_[0] "$o{$_[0]}"\n} : '' };
    my $conf = "$root/httpd.conf";
    write_file($conf, <<"CONF"
ServerRoot "$root"
ServerName localhost
PidFile "$root/httpd.pid"
DefaultRuntimeDir "$root"
Listen 127.0.0.1:1
LoadModule mpm_event_module $moddir/mod_mpm_event.so
LoadModule dbd_module $moddir/mod_dbd.so
@{[ $o{socache} // '' ]}
LoadModule terrapod_module "$module"
ErrorLog "$root/error_log"
DBDParams "host=$root dbname=terrapod"
Terrapod On
TerrapodOIDCProvider idp https://idp.example terrapod "$o{oidc_secret}"
TerrapodOIDCCACertificate idp "$o{oidc_ca}"
CONF
        . join '', map { $set->($_) } qw(DBDriver TerrapodHMACKeyFile
            TerrapodListenerCACert TerrapodListenerCAKey TerrapodStorageDir
            TerrapodSchemaDir));
    return $conf;
}

my ($rc, $out) = config_test(conf => layout_conf());
is $rc, 0, 'the layout as made passes the configuration test' or diag $out;
like $out, qr/Syntax OK/, 'Syntax OK';

# name => [settings, what the output must say]
my @broken = (
    ['a missing HMAC key file', [TerrapodHMACKeyFile => 'keys/none.key'],
     qr{TP00002: cannot use HMAC key file \Q$root\E/keys/none\.key: No such file}],
    ['a short HMAC key', [TerrapodHMACKeyFile => 'keys/short.key'],
     qr{TP00002: cannot use HMAC key file \Q$root\E/keys/short\.key: 10 bytes; 32 to 4096 are needed}],
    ['no HMAC key file', [TerrapodHMACKeyFile => undef],
     qr{TP00001: TerrapodHMACKeyFile is required with Terrapod On}],
    ['a listener CA key of another CA', [TerrapodListenerCAKey => 'keys/other-ca.key'],
     qr{TP00703: listener CA \Q$root\E/keys/ca\.pem / \Q$root\E/keys/other-ca\.key: the CA key does not belong to the CA certificate}],
    ['a listener CA certificate that is none', [TerrapodListenerCACert => 'keys/garbage.pem'],
     qr{TP00703: listener CA .*: the CA certificate is not a PEM certificate}],
    ['a missing listener CA key', [TerrapodListenerCAKey => 'keys/none.key'],
     qr{TP00702: cannot read \Q$root\E/keys/none\.key: No such file}],
    ['a listener CA certificate without its key', [TerrapodListenerCAKey => undef],
     qr{TP00701: TerrapodListenerCACert and TerrapodListenerCAKey go together}],
    ['a missing client secret file', [oidc_secret => 'keys/none'],
     qr{TP01100: single sign-on provider idp: cannot use client secret file \Q$root\E/keys/none: No such file}],
    ['a provider CA file without certificates', [oidc_ca => 'keys/garbage.pem'],
     qr{TP01104: single sign-on provider idp: TerrapodOIDCCACertificate \Q$root\E/keys/garbage\.pem: no PEM certificate in it}],
    ['a missing storage directory', [TerrapodStorageDir => 'gone'],
     qr{TP00007: TerrapodStorageDir \Q$root\E/gone: No such file}],
    ['a storage "directory" that is a file', [TerrapodStorageDir => 'keys/hmac.key'],
     qr{TP00007: TerrapodStorageDir \Q$root\E/keys/hmac\.key: not a directory}],
    ['a missing schema directory', [TerrapodSchemaDir => "$root/no-sql"],
     qr{TP00008: TerrapodSchemaDir \Q$root\E/no-sql: No such file}],
    ['no DBDriver', [DBDriver => undef],
     qr{TP00005: Terrapod needs DBDriver and DBDParams}],
    ['rate limits without mod_socache_shmcb', [socache => undef],
     qr{TP01310: rate limits need mod_socache_shmcb}],
);
for my $case (@broken) {
    my ($name, $settings, $says) = @$case;
    my ($rc, $out) = config_test(conf => layout_conf(@$settings));
    isnt $rc, 0, "$name fails the configuration test";
    like $out, $says, '... with the reason' or diag $out;
    unlike $out, qr/Syntax OK/, '... and no "Syntax OK"';
}

# ---- the running instance ----

# however the case ends, the instance is left as it was found
END {
    local $?;
    unlink map({ snippet($_) } qw(broken-key broken-vhost)), "$dir/short.key";
    eval { restart_httpd() } unless kill 0, httpd_pid();
}

write_file("$dir/short.key", "0123456789");

subtest 'a graceful restart with a short key is refused; the server keeps serving' => sub {
    my $pid = httpd_pid();
    write_file(snippet('broken-key'), "TerrapodHMACKeyFile short.key\n");
    my ($rc, $out) = config_test();
    isnt $rc, 0, 'the configuration test fails';
    like $out, qr{TP00002: cannot use HMAC key file \Q$dir\E/short\.key: 10 bytes},
         'naming the key and what is wrong with it';
    my $graceful = qx{${\ httpd_cmd()} -f $dir/httpd.conf -k graceful 2>&1};
    isnt $?, 0, 'httpd -k graceful refuses too';
    like $graceful, qr/TP00002/, 'saying why';
    sleep 2;
    ok kill(0, $pid), 'Apache still runs';
    ok ready(), 'and answers /ready';
    unlink snippet('broken-key');
};

# A virtual host with an error log of its own and the short key: httpd's
# own last word in the main log is "Configuration Failed".
my ($port) = $e->{TERRAPOD_URL} =~ /:(\d+)$/;
my $broken_vhost = <<"CONF";
<VirtualHost 127.0.0.1:$port>
    ServerName other.localhost
    ErrorLog "$dir/log/other_error_log"
    TerrapodHMACKeyFile short.key
</VirtualHost>
CONF
my $says_why = qr{TP00002: cannot use HMAC key file \Q$dir\E/short\.key: 10 bytes};

subtest 'a restart signalled despite it stops with the reason in the main error log' => sub {
    write_file(snippet('broken-vhost'), $broken_vhost);
    my $pid = httpd_pid();
    my @children = split ' ', qx{pgrep -P $pid};
    my $seen = length error_log();
    kill 'USR1', $pid;
    ok wait_until(20, sub { !kill 0, $pid }), 'Apache stopped';
    like substr(error_log(), $seen), $says_why, 'the main error log says why';
    unlink snippet('broken-vhost');
    # its children notice their parent is gone and free the port
    wait_until(30, sub { !grep { kill 0, $_ } @children });
    restart_httpd();
    ok ready(), 'started again with the configuration repaired';
};

subtest 'a start with a broken key: the reason on the console and in the main error log' => sub {
    tp_instance('httpd-down', $dir);
    write_file(snippet('broken-vhost'), $broken_vhost);
    my $seen = length error_log();
    my $out = qx{${\ httpd_cmd()} -f $dir/httpd.conf -k start 2>&1};
    isnt $?, 0, 'httpd -k start fails';
    like $out, $says_why, 'saying why on the console';
    like substr(error_log(), $seen), $says_why, 'and in the main error log';
    like substr(error_log(), $seen), qr/AH00016: Configuration Failed/,
         "before httpd's own last word";
    unlink snippet('broken-vhost');
    tp_instance('httpd-up', $dir);
    ok ready(), 'started with the configuration repaired';
};

subtest 'httpd -M with a broken key lists the modules, and says why' => sub {
    write_file(snippet('broken-key'), "TerrapodHMACKeyFile short.key\n");
    my $out = qx{${\ httpd_cmd()} -f $dir/httpd.conf -M 2>&1};
    is $?, 0, 'succeeds';
    like $out, qr/terrapod_module/, 'listing the modules';
    like $out, $says_why, 'with the reason the configuration would fail';
    unlink snippet('broken-key');
};
unlink "$dir/short.key";

done_testing;
