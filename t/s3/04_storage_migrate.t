# terrapod-admin storage-migrate: the instance's bucket (with the states,
# configurations, plan files and chunked logs the tests before left in it)
# copied into a directory, each object byte for byte and each log's
# chunks merged into one file; a rerun copies nothing, one whose copy was
# damaged copies it again; the directory copied to another prefix of the
# bucket the same way; bad arguments change nothing.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Digest::MD5 qw(md5_hex);
use File::Find ();
use File::Temp ();
use TP::E2E;

my $data = $ENV{TP_S3_DATA} or die "TP_S3_DATA is not set";
my $inst = instance()->{DIR};
my $dir = File::Temp::tempdir("$inst/moved-XXXXXX", CLEANUP => 1);
my @s3 = ('--endpoint', "http://127.0.0.1:$ENV{TP_S3_PORT}", '--bucket', 'terrapod',
          '--credentials-file', "$inst/s3-credentials");

sub slurp { open my $fh, '<', $_[0] or return undef; local $/; scalar <$fh> }

sub migrate {
    my $cmd = join ' ', map { quotemeta } "$ENV{TP_SRC}/mod_terrapod/terrapod-admin",
                                          'storage-migrate', @_;
    my $out = qx{$cmd 2>/dev/null};
    my %v = $out =~ /^(\w+)='(\d+)'$/mg;
    return ($? >> 8, $v{TERRAPOD_OBJECTS_COPIED}, $v{TERRAPOD_OBJECTS_KEPT});
}

# the objects of a prefix of the bucket, key => bytes, a log's chunks
# merged in offset order where there is no whole log
sub bucket_objects {
    my ($prefix) = @_;
    my (%whole, %chunks);
    File::Find::find(sub {
        return unless /\._S3rver_object$/;
        my $key = $File::Find::name =~ s{^\Q$data/$prefix/\E}{}r =~ s{\._S3rver_object$}{}r;
        if ($key =~ m{^(.*)\.chunks/(\d{16})$}) { $chunks{$1}{$2} = slurp($File::Find::name) }
        else { $whole{$key} = slurp($File::Find::name) }
    }, "$data/$prefix");
    for my $log (keys %chunks) {
        $whole{$log} //= join '', map { $chunks{$log}{$_} } sort keys %{ $chunks{$log} };
    }
    return \%whole;
}

sub dir_objects {
    my %files;
    File::Find::find(sub {
        $files{$File::Find::name =~ s{^\Q$dir/\E}{}r} = slurp($File::Find::name) if -f;
    }, $dir);
    return \%files;
}

my $bucket = bucket_objects('tp');
my @logs = grep { m{^logs/} } keys %$bucket;
ok scalar(grep { m{^state/} } keys %$bucket) >= 4 && scalar(grep { m{^config/} } keys %$bucket)
   && scalar(grep { m{^runs/} } keys %$bucket) && @logs,
   'the bucket holds states, configurations, plan files and logs';
my $chunked = grep { -d "$data/tp/$_.chunks" && !-e "$data/tp/$_._S3rver_object" } @logs;
ok $chunked, 'some logs only as chunks';

my ($rc, $copied, $kept) = migrate('--to', 'dir', '--storage', $dir, '--prefix', 'tp', @s3);
is $rc, 0, 'storage-migrate --to dir';
is $copied, scalar(keys %$bucket), 'copies every object (a log once)';
is $kept, 0, 'keeping none';
is_deeply dir_objects(), $bucket, 'the directory holds them byte for byte, logs merged';

($rc, $copied, $kept) = migrate('--to', 'dir', '--storage', $dir, '--prefix', 'tp', @s3);
is "$rc $copied $kept", "0 0 " . scalar(keys %$bucket), 'a rerun copies nothing';

my ($state) = grep { m{^state/.*\.tfstate$} } sort keys %$bucket;
my $bytes = $bucket->{$state};
substr(my $damaged = $bytes, 0, 1) = ' ';
write_file("$dir/$state", $damaged);
($rc, $copied, $kept) = migrate('--to', 'dir', '--storage', $dir, '--prefix', 'tp', @s3);
is "$rc $copied", '0 1', 'a damaged copy (same size, another MD5) is copied again';
is md5_hex(slurp("$dir/$state")), md5_hex($bytes), 'and whole now';

# and back, to another prefix
write_file("$dir/$state.tmp-abc123", 'a staging file of a running server');
($rc, $copied, $kept) = migrate('--to', 's3', '--storage', $dir, '--prefix', 'moved/', @s3);
is $rc, 0, 'storage-migrate --to s3';
is $copied, scalar(keys %$bucket), 'copies every file';
is_deeply bucket_objects('moved'), $bucket, 'the new prefix holds them byte for byte';
($rc, $copied, $kept) = migrate('--to', 's3', '--storage', $dir, '--prefix', 'moved', @s3);
is "$rc $copied $kept", "0 0 " . scalar(keys %$bucket), 'a rerun copies nothing';

($rc) = migrate('--to', 'nowhere', '--storage', $dir, @s3);
is $rc, 2, 'an unknown --to is a usage error';
($rc) = migrate('--to', 's3', '--storage', $dir, '--bucket', 'terrapod');
is $rc, 2, 'so is a bucket without an endpoint';
($rc) = migrate('--to', 'dir', '--storage', $dir, '--prefix', 'tp',
                @s3[0 .. 3], '--credentials-file', '/nonexistent');
is $rc, 1, 'unreadable credentials fail';

done_testing;
