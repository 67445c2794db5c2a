# A full disk under an upload: storage on a small tmpfs, filled up. The
# upload is refused with a JSON:API 507, nothing changes (the previous
# state stays current and downloads intact, no temp file, the new version
# stays pending), and the same upload works once space is freed.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Temp ();
use TP::E2E;
use TP::Faults;

plan skip_all => 'needs root to mount a size-limited tmpfs' if $> != 0;

my $storage = instance()->{DIR} . '/storage';
my $saved = File::Temp::tempdir(CLEANUP => 1);

sub sh { my $out = qx{@_ 2>&1}; die "@_: $out" if $?; $out }

# the instance's storage moves onto a 4 MiB tmpfs for the test and back
sh("cp -a $storage/. $saved/");
sh("mount -t tmpfs -o size=4m,mode=0755 tp-fault-full $storage");
my $mounted = 1;
END {
    if ($mounted) {
        my $back = File::Temp::tempdir(CLEANUP => 1);
        system("cp -a $storage/. $back/ && umount $storage && cp -a $back/. $storage/");
    }
}
sh("cp -a $saved/. $storage/ && chown terrapod: $storage");

my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => 'fault-full'}}});
my $ws = $doc->{data}{id};
my $lineage = 'fault-full';
my $first = state_bytes(1, $lineage, 'first');
($res, $doc) = new_state_version($ws, 1, $lineage, $first);
is put_raw($doc->{data}{attributes}{'hosted-state-upload-url'}, $first)->code, 200,
   'a first state';
my $current = $doc->{data}{id};

# fill the filesystem, leaving less than the next upload needs
sh("dd if=/dev/zero of=$storage/filler bs=64k 2>/dev/null || true");
sh("rm -f $storage/filler.small; dd if=/dev/zero of=$storage/filler.small bs=1k count=1 2>/dev/null || true");
my $bytes = state_bytes(2, $lineage, 'z' x 1_000_000);
($res, $doc) = new_state_version($ws, 2, $lineage, $bytes);
is $res->code, 201, 'a pending version for a 1 MB state';
my $sv = $doc->{data}{id};
my $url = $doc->{data}{attributes}{'hosted-state-upload-url'};
$res = put_raw($url, $bytes);
is $res->code, 507, 'the disk is full: 507';
my $err = eval { JSON::PP::decode_json($res->content) };
is $err && $err->{errors}[0]{status}, '507', 'as a JSON:API error';
is_deeply [temp_files()], [], 'no temp file left';
my (undef, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
is $d->{data}{id}, $current, 'the previous state is still current';
($res) = api(GET => "/api/v2/state-versions/$current/download");
ok $res->code == 200 && $res->content eq $first, 'and downloads intact';
(undef, $d) = api(GET => "/api/v2/state-versions/$sv");
is $d->{data}{attributes}{status}, 'pending', 'the new version stays pending';

# a configuration upload meets the same full disk
($res, $doc) = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
    body => {data => {type => 'configuration-versions',
                      attributes => {'auto-queue-runs' => JSON::PP::false()}}});
my $cv = $doc->{data}{id};
my $tgz = do {
    my $src = workdir();
    write_file("$src/main.tf", "# " . ('x' x 100) . "\n");
    open my $fh, '<', '/dev/urandom' or die $!;
    read $fh, my $pad, 1_000_000;
    write_file("$src/pad.bin", $pad);
    qx{tar -C $src -czf - .};
};
my $cv_url = $doc->{data}{attributes}{'upload-url'};
is put_raw($cv_url, $tgz)->code, 507, 'a configuration upload: 507';
(undef, $d) = api(GET => "/api/v2/configuration-versions/$cv");
is $d->{data}{attributes}{status}, 'pending', 'the configuration version is not uploaded';
is_deeply [temp_files()], [], 'no temp file left';

# space freed: the same uploads go through
unlink "$storage/filler", "$storage/filler.small";
is put_raw($url, $bytes)->code, 200, 'space freed: the state upload works';
(undef, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
is $d->{data}{id}, $sv, 'and is current';
is put_raw($cv_url, $tgz)->code, 200, 'the configuration upload works';

done_testing;
