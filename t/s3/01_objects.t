# Objects in the bucket through the API: a state version's raw and JSON
# content stored in the bucket (and not in the storage directory, which
# only spools), read back byte for byte; a wrong MD5 stores nothing; a
# configuration upload; a client killed mid-upload leaves no object and
# no spooled file; downloads answered with a redirect to a presigned URL
# that the S3 server accepts (and refuses once tampered with); /ready
# with the bucket, and a bucket that fails is a JSON:API 503.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Digest::MD5 qw(md5_hex);
use LWP::UserAgent;
use JSON::PP;
use TP::E2E;
use TP::Faults;

my $data = $ENV{TP_S3_DATA} or die "TP_S3_DATA is not set";
my $inst = instance()->{DIR};
# where the S3 server keeps an object of the instance (prefix tp)
sub in_bucket { -f "$data/tp/$_[0]._S3rver_object" }
sub bucket_bytes {
    open my $fh, '<', "$data/tp/$_[0]._S3rver_object" or return undef;
    local $/;
    return scalar <$fh>;
}
sub objects_under {
    my ($prefix) = @_;
    my @found;
    require File::Find;
    File::Find::find(sub { push @found, $File::Find::name if /_S3rver_object$/ },
                     "$data/tp/$prefix") if -d "$data/tp/$prefix";
    return @found;
}

my ($res, $doc) = api(GET => '/ready');
is $res->code, 200, '/ready answers 200 with the bucket reachable';

($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => 's3-objects'}}});
is $res->code, 201, 'a workspace';
my $ws = $doc->{data}{id};

# a state and its JSON form
my $lineage = 's3-lineage';
my $bytes = state_bytes(1, $lineage, 'stored in a bucket');
my $json_state = encode_json({format_version => '1.0', values => {}});
($res, $doc) = api(POST => "/api/v2/workspaces/$ws/state-versions",
    body => {data => {type => 'state-versions', attributes => {
        serial => 1, lineage => $lineage, md5 => md5_hex($bytes)}}});
is $res->code, 201, 'a pending state version';
my $sv = $doc->{data}{id};
my $attrs = $doc->{data}{attributes};
is put_raw($attrs->{'hosted-state-upload-url'}, $bytes)->code, 200,
   'the state uploads';
is put_raw($attrs->{'hosted-json-state-upload-url'}, $json_state)->code, 200,
   'and its JSON form';
is bucket_bytes("state/$ws/$sv.tfstate"), $bytes,
   'the bucket holds the state, byte for byte, under the prefix';
ok in_bucket("state/$ws/$sv.json"), 'and the JSON state';
ok !-e "$inst/storage/state/$ws/$sv.tfstate",
   'the storage directory does not';
ok !temp_files(), 'and keeps no spooled file';

($res, $doc) = api(GET => "/api/v2/state-versions/$sv");
my $dl = $doc->{data}{attributes}{'hosted-state-download-url'};
($res) = api(GET => $dl);
is $res->code, 200, 'the download (proxied) answers 200';
is $res->content, $bytes, 'with the stored bytes';
($res) = api(GET => $doc->{data}{attributes}{'hosted-json-state-download-url'});
is $res->content, $json_state, 'the JSON state reads back too';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
is $doc->{data}{id}, $sv, 'the version is current';

# an upload whose bytes do not match the MD5 announced stores nothing
my $other = state_bytes(2, $lineage, 'announced otherwise');
($res, $doc) = new_state_version($ws, 2, $lineage, $other);
my $bad = $doc->{data}{id};
($res) = api(PUT => $doc->{data}{attributes}{'hosted-state-upload-url'},
             raw => state_bytes(2, $lineage, 'something else'));
is $res->code, 422, 'an upload that does not match its MD5 is refused';
ok !in_bucket("state/$ws/$bad.tfstate"), 'and is not in the bucket';
ok !temp_files(), 'nor spooled';

# a configuration version
($res, $doc) = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
    body => {data => {type => 'configuration-versions',
                      attributes => {'auto-queue-runs' => JSON::PP::false}}});
my $cv = $doc->{data}{id};
my $src = workdir();
write_file("$src/main.tf", qq{resource "terraform_data" "x" {}\n});
my $tgz = qx{tar -C $src -czf - .};
is put_raw($doc->{data}{attributes}{'upload-url'}, $tgz)->code, 200,
   'a configuration uploads';
is bucket_bytes("config/$ws/$cv.tar.gz"), $tgz, 'its tarball is in the bucket';
($res, $doc) = api(GET => "/api/v2/configuration-versions/$cv");
is $doc->{data}{attributes}{status}, 'uploaded', 'and the version is uploaded';
($res) = api(GET => "/api/terrapod/v1/configuration-versions/$cv/download");
is $res->code, 200, 'the tarball downloads';
is $res->content, $tgz, 'byte for byte';

# a client killed half-way through a state upload
my $big = state_bytes(3, $lineage, 'z' x 400_000);
($res, $doc) = new_state_version($ws, 3, $lineage, $big);
my $killed = $doc->{data}{id};
die_mid_upload($doc->{data}{attributes}{'hosted-state-upload-url'}, $big);
ok wait_until(10, sub { !temp_files() }), 'killed mid-upload: nothing spooled';
ok !in_bucket("state/$ws/$killed.tfstate"), 'and no object in the bucket';
($res, $doc) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
is $doc->{data}{id}, $sv, 'the current state is unchanged';

# downloads as redirects to presigned URLs
with_directives('s3-redirect', 'TerrapodStorageS3Downloads redirect');
my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 30,
    ssl_opts => {SSL_ca_file => instance()->{TERRAPOD_CA_FILE}});
$res = $ua->get($dl, Authorization => 'Bearer ' . instance()->{TERRAPOD_TOKEN});
is $res->code, 302, 'redirect: the state download answers 302';
my $to = $res->header('Location') // '';
like $to, qr{^http://127\.0\.0\.1:\Q$ENV{TP_S3_PORT}\E/terrapod/tp/state/\Q$ws/$sv\E\.tfstate\?X-Amz-Algorithm=AWS4-HMAC-SHA256&},
     'to the object in the bucket';
like $to, qr/X-Amz-Expires=300&.*X-Amz-Signature=[0-9a-f]{64}$/,
     'presigned for five minutes';
$res = $ua->get($to);
is $res->code, 200, 'the S3 server accepts the presigned URL';
is $res->content, $bytes, 'and sends the state';
(my $tampered = $to) =~ s{\.tfstate\?}{.json?};
is $ua->get($tampered)->code, 403, 'the signature covers the key';
$res = $ua->get(instance()->{TERRAPOD_URL} . "/api/terrapod/v1/configuration-versions/$cv/download",
                Authorization => 'Bearer ' . instance()->{TERRAPOD_TOKEN});
is $res->code, 302, 'a configuration download is redirected too';
is $ua->get($res->header('Location') // '')->content, $tgz,
   'to its tarball in the bucket';

# a bucket that fails: wrong credentials make storage unavailable
my $creds = "$inst/s3-credentials";
my $good = do { local (@ARGV, $/) = $creds; <> };
write_file($creds, "[default]\naws_access_key_id = S3RVER\n"
                   . "aws_secret_access_key = wrong\n");
($res, $doc) = api(GET => '/ready');
is $res->code, 503, '/ready answers 503 when the bucket refuses';
($res, $doc) = new_state_version($ws, 4, $lineage, $big);
my $refused = $doc->{data}{id};
($res, $doc) = api(PUT => $doc->{data}{attributes}{'hosted-state-upload-url'},
                   raw => $big);
is $res->code, 503, 'an upload then answers 503';
is $doc->{errors}[0]{title}, 'Service Unavailable', 'as a JSON:API error';
is $doc->{errors}[0]{detail}, 'storage is unavailable',
   'saying storage is unavailable';
unlike $res->content, qr/S3RVER|wrong|SignatureDoesNotMatch/,
       'naming neither the credentials nor the cause';
like error_log(), qr/S3 PUT state\/\Q$ws\/$refused\E\.tfstate: 403 SignatureDoesNotMatch/,
     'the cause is in the error log';
ok !temp_files(), 'nothing stays spooled';
write_file($creds, $good);
($res) = api(GET => '/ready');
is $res->code, 200, '/ready recovers with the credentials (read at each use)';

done_testing;
