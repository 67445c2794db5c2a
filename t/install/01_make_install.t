# make install and make uninstall into a scratch DESTDIR: every file lands
# under it with its mode, the installed programs run, the systemd unit
# is valid and hardened, an edited configuration file survives a new
# install (the new version lands beside the pristine copies) while an
# unedited one of an older version is upgraded, and uninstall removes
# what install put, refuses while the module is enabled, and keeps the
# edited file, saying so.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Temp ();
use File::Find ();
use TP::Install;

my $dest = File::Temp::tempdir('tp-destdir-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $apxs = apxs_q('LIBEXECDIR');
my $sysconf = apxs_q('SYSCONFDIR');
my $debian = -d "$sysconf/mods-available";
my $prefix = make_var('PREFIX');

sub files_under {
    my ($root) = @_;
    my %f;
    File::Find::find({no_chdir => 1, wanted => sub {
        $f{substr $_, length $root} = 1 if -f $_ || -l $_;
    }}, $root);
    return \%f;
}

sub mode_of { sprintf '%04o', (stat $_[0])[2] & 07777 }

my @sql = map { s{.*/}{}r } glob "$ENV{TP_SRC}/sql/*.sql";
# the built web UI: index.html, api-docs.html and their hashed assets
my @ui = map { s{.*/ui/dist/}{}r } glob "$ENV{TP_SRC}/ui/dist/index.html $ENV{TP_SRC}/ui/dist/api-docs.html $ENV{TP_SRC}/ui/dist/assets/*";
my %expect = (
    "$apxs/mod_terrapod.so" => '0644',
    "$prefix/bin/terrapod-admin" => '0755',
    "$prefix/bin/terrapod-publish" => '0755',
    "$prefix/bin/terrapod-listener" => '0755',
    "$prefix/bin/terrapod-backup" => '0755',
    (map { ("/usr/share/mod_terrapod/sql/$_" => '0644') } @sql),
    '/usr/share/mod_terrapod/terrapod-site.conf.example' => '0644',
    (map { ("/usr/share/mod_terrapod/ui/$_" => '0644') } @ui),
    "$prefix/lib/systemd/system/terrapod-listener.service" => '0644',
    '/etc/logrotate.d/terrapod-listener' => '0644',
    '/usr/share/mod_terrapod/conf/terrapod-listener.logrotate' => '0644',
    ($debian
     ? ("$sysconf/mods-available/terrapod.load" => '0644',
        "$sysconf/mods-available/terrapod.conf" => '0644',
        '/usr/share/mod_terrapod/conf/terrapod.load' => '0644',
        '/usr/share/mod_terrapod/conf/terrapod.conf' => '0644')
     : ("$sysconf/terrapod.conf.example" => '0644')),
);
my $conf = $debian ? "$dest$sysconf/mods-available/terrapod.conf" : undef;
my $rotate = "$dest/etc/logrotate.d/terrapod-listener";
my $pristine = "$dest/usr/share/mod_terrapod/conf";

subtest 'make install DESTDIR=...' => sub {
    my @absent = grep { !-e $_ } sort keys %expect;
    my ($rc, $out) = make('install', "DESTDIR=$dest");
    is $rc, 0, 'succeeds' or diag $out;
    is_deeply [grep { -e $_ } @absent], [], 'nothing was written outside DESTDIR';
    is_deeply [sort keys %{ files_under($dest) }], [sort keys %expect],
              'installs exactly the files it should, all under DESTDIR';
    is mode_of("$dest$_"), $expect{$_}, "$_ mode $expect{$_}" for sort keys %expect;
    unlike $out, qr/kept your edited/, 'nothing was there to keep';
};

subtest 'what it installed works' => sub {
    my $v = qx{$dest$prefix/bin/terrapod-listener --version};
    is $?, 0, 'terrapod-listener --version exits 0';
    like $v, qr/^terrapod-listener \d+\.\d+\.\d+\n\z/, 'and prints its version';
    my $u = qx{$dest$prefix/bin/terrapod-admin 2>&1};
    is $? >> 8, 2, 'terrapod-admin without a command is a usage error';
    like $u, qr/init-ca .*gen-hmac-key .*pool create .*join-token create/s,
         'naming the installation commands';
    SKIP: {
        skip 'not a Debian Apache layout', 1 unless $debian;
        like slurp("$dest$sysconf/mods-available/terrapod.load"),
             qr{^LoadModule terrapod_module \Q$apxs\E/mod_terrapod\.so$}m,
             'terrapod.load loads the module where it was installed';
    }
    my $unit = slurp("$dest$prefix/lib/systemd/system/terrapod-listener.service");
    like $unit, qr{^ExecStart=\Q$prefix\E/bin/terrapod-listener }m,
         'the unit starts the installed listener';
    like $unit, qr{--log-file /var/log/terrapod-listener/listener\.log}, 'with its log file';
    like slurp($rotate), qr{^/var/log/terrapod-listener/listener\.log \{}m,
         'which the logrotate snippet rotates';
};

subtest 'the systemd unit' => sub {
    plan skip_all => 'systemd-analyze is not installed'
        unless qx{command -v systemd-analyze 2>/dev/null};
    # verify checks the binary it starts: the one under DESTDIR
    my $text = slurp("$dest$prefix/lib/systemd/system/terrapod-listener.service");
    $text =~ s{\Q$prefix\E/bin/}{$dest$prefix/bin/}g;
    spew("$dest/terrapod-listener.service", $text);
    my $out = qx{systemd-analyze verify $dest/terrapod-listener.service 2>&1};
    is $?, 0, 'systemd-analyze verify passes';
    is $out, '', 'with nothing to say (no unknown settings)';
    $out = qx{systemd-analyze security --offline=yes $dest/terrapod-listener.service 2>&1};
    my ($level) = $out =~ /Overall exposure level for \S+: ([\d.]+)/;
    ok defined $level && $level < 2, 'it is hardened: exposure below 2 ("OK")'
        or diag $out;
    unlink "$dest/terrapod-listener.service";
};

subtest 'another make install: edits survive, older versions are upgraded' => sub {
    plan skip_all => 'not a Debian Apache layout' unless $debian;
    my $shipped = slurp($conf);
    # as if the installed version were an older one nobody edited
    spew($_, "# an older terrapod.conf\n") for $conf, "$pristine/terrapod.conf";
    # and the logrotate snippet edited by its administrator
    spew($rotate, slurp($rotate) . "# rotated daily here\n");
    my $edited = slurp($rotate);
    my ($rc, $out) = make('install', "DESTDIR=$dest");
    is $rc, 0, 'succeeds' or diag $out;
    is slurp($conf), $shipped, 'the unedited older terrapod.conf is upgraded';
    is slurp($rotate), $edited, 'the edited logrotate snippet is kept';
    like $out, qr{kept your edited \Q$rotate\E; the new version is \Q$pristine\E/terrapod-listener\.logrotate},
         'saying so, and where the new version is';
    is slurp("$pristine/terrapod-listener.logrotate"),
       slurp("$ENV{TP_SRC}/listener/terrapod-listener.logrotate"), 'which is the new one';
    # now the module's configuration, edited
    spew($conf, "$shipped# TerrapodTokenCache 5\n");
    ($rc, $out) = make('install', "DESTDIR=$dest");
    is $rc, 0, 'a third install succeeds';
    is slurp($conf), "$shipped# TerrapodTokenCache 5\n", 'the edited terrapod.conf survives';
    like $out, qr{kept your edited \Q$conf\E}, 'saying so';
    is slurp($rotate), $edited, 'and the snippet is still as edited';
};

subtest 'make uninstall DESTDIR=...' => sub {
    plan skip_all => 'not a Debian Apache layout' unless $debian;
    # enabled with a2enmod: removing it would stop Apache from starting
    my $enabled = "$dest$sysconf/mods-enabled/terrapod.load";
    mkdir "$dest$sysconf/mods-enabled";
    symlink '../mods-available/terrapod.load', $enabled or die $!;
    my ($rc, $out) = make('uninstall', "DESTDIR=$dest");
    isnt $rc, 0, 'refused while the module is enabled';
    like $out, qr/terrapod is enabled in Apache; a2dismod terrapod/, 'saying what to do';
    ok -f "$dest$apxs/mod_terrapod.so", 'nothing was removed';
    unlink $enabled;
    rmdir "$dest$sysconf/mods-enabled";
    ($rc, $out) = make('uninstall', "DESTDIR=$dest");
    is $rc, 0, 'then it succeeds' or diag $out;
    is_deeply [sort keys %{ files_under($dest) }],
              [sort map { substr $_, length $dest } $conf, $rotate],
              'removing everything but the edited files';
    like $out, qr{kept your edited \Q$conf\E}, 'saying it kept terrapod.conf';
    like $out, qr{kept your edited \Q$rotate\E}, 'and the logrotate snippet';
    ok !-e "$dest/usr/share/mod_terrapod", 'its data directory is gone';
};

subtest 'another PREFIX' => sub {
    my $d = File::Temp::tempdir('tp-destdir-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my ($rc, $out) = make('install', "DESTDIR=$d", 'PREFIX=/opt/terrapod');
    is $rc, 0, 'make install PREFIX=/opt/terrapod' or diag $out;
    ok -x "$d/opt/terrapod/bin/terrapod-listener", 'installs the programs there';
    like slurp("$d/opt/terrapod/lib/systemd/system/terrapod-listener.service"),
         qr{^ExecStart=/opt/terrapod/bin/terrapod-listener }m,
         'with a unit that starts them from there';
    ($rc, $out) = make('uninstall', "DESTDIR=$d", 'PREFIX=/opt/terrapod');
    is $rc, 0, 'and uninstalls them' or diag $out;
    is_deeply [keys %{ files_under($d) }], [], 'leaving no file';
};

done_testing;
