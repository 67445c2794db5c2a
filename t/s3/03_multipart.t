# A state larger than the part size goes to the bucket as a multipart
# upload: the object is whole and byte for byte the upload, no multipart
# upload is left open in the S3 server, and it downloads again; one below
# the part size is a single PUT. A part size under S3's 5 MiB minimum is
# refused with the configuration.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Digest::MD5 qw(md5_hex);
use TP::E2E;
use TP::Faults;

my $data = $ENV{TP_S3_DATA} or die "TP_S3_DATA is not set";
sub bucket_bytes {
    open my $fh, '<', "$data/tp/$_[0]._S3rver_object" or return undef;
    local $/;
    return scalar <$fh>;
}
# the S3 server's multipart uploads in progress, one directory each
sub open_uploads {
    return scalar grep { -d } glob("$data/._S3rver_uploads/*");
}

my $snippet = instance()->{DIR} . '/conf.d/s3-part.conf';
write_file($snippet, "TerrapodStorageS3PartSize 1048576\n");
my ($rc, $out) = config_test();
isnt $rc, 0, 'a part size under 5 MiB fails the configuration';
like $out, qr/TerrapodStorageS3PartSize: S3 takes parts of 5 MiB/,
     'saying why';
unlink $snippet;

with_directives('s3-part', 'TerrapodStorageS3PartSize 5242880');
my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => 's3-multipart'}}});
my $ws = $doc->{data}{id};

my $lineage = 's3-multipart';
# 12 MiB and a little: three parts, the last a short one
my $big = state_bytes(1, $lineage, join '', map { sprintf "%08d", $_ } 1 .. 1_600_000);
cmp_ok length($big), '>', 12 * 1024 * 1024, 'a state of over 12 MiB';
($res, $doc) = new_state_version($ws, 1, $lineage, $big);
my $sv = $doc->{data}{id};
is put_raw($doc->{data}{attributes}{'hosted-state-upload-url'}, $big)->code, 200,
   'it uploads';
my $stored = bucket_bytes("state/$ws/$sv.tfstate") // '';
is length($stored), length($big), 'the object in the bucket is whole';
is md5_hex($stored), md5_hex($big), 'and byte for byte the upload';
# the S3 server keeps a directory of multipart uploads from the first one
ok -d "$data/._S3rver_uploads", 'it went up as a multipart upload';
is open_uploads(), 0, 'completed: none is left open';
($res) = api(GET => "/api/v2/state-versions/$sv/download");
is md5_hex($res->content), md5_hex($big), 'it downloads whole';

# below the part size: one PUT
my $small = state_bytes(2, $lineage, 'small');
($res, $doc) = new_state_version($ws, 2, $lineage, $small);
my $sv2 = $doc->{data}{id};
is put_raw($doc->{data}{attributes}{'hosted-state-upload-url'}, $small)->code, 200,
   'a small state uploads';
is bucket_bytes("state/$ws/$sv2.tfstate"), $small, 'in one object';
my $etag = do { local (@ARGV, $/) = "$data/tp/state/$ws/$sv2.tfstate._S3rver_object.md5"; <> } // '';
is $etag, md5_hex($small), 'put at once (its ETag is its MD5)';

done_testing;
