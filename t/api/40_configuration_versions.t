# Configuration versions: created with a signed upload URL, uploaded as a
# gzip tar that is validated before anything is stored (each kind of
# malicious archive is refused and the version marked errored), listed,
# downloaded with a token or a short-lived ticket.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Archive::Tar ();
use Archive::Tar::Constant qw(SYMLINK HARDLINK CHARDEV FIFO);
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Socket::INET ();
use URI ();
use File::Find ();
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use TP::Test;

plan tests => 103;

my $storage = "$ENV{TP_INSTANCE}/storage";
my $owner = user_token('cv-owner@test.local');
my $reader = user_token('cv-reader@test.local');
my $admin = admin_token();
my $ws = make_ws($owner, 'cv-ws');
my $other_ws = make_ws($admin, 'cv-hidden');

# the reader gets read on cv-ws through a role
api(POST => '/api/terrapod/v1/roles', token => $admin,
    body => {data => {type => 'roles', attributes => {
        name => 'cv-read', 'workspace-permission' => 'read',
        'allow-names' => ['cv-ws']}}});
api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
    body => {data => {type => 'role-assignments', attributes => {
        email => 'cv-reader@test.local', roles => ['cv-read']}}});

# Builds a tar.gz from entries {name, data, type, linkname, ...}.
sub tarball {
    my (@entries) = @_;
    my $tar = Archive::Tar->new;
    for my $e (@entries) {
        my %opt = (type => $e->{type} // Archive::Tar::Constant::FILE());
        $opt{linkname} = $e->{linkname} if exists $e->{linkname};
        $tar->add_data($e->{name}, $e->{data} // '', \%opt)
            or die "add $e->{name}: " . $tar->error;
    }
    my $raw = $tar->write;
    return $raw if grep { $_->{plain} } @entries;
    my $gz;
    gzip(\$raw => \$gz) or die $GzipError;
    return $gz;
}

my $good = tarball({name => 'main.tf', data => qq{resource "terraform_data" "x" {}\n}},
                   {name => 'modules/m/main.tf', data => "# module\n"},
                   {name => 'modules/link.tf', type => SYMLINK,
                    linkname => 'm/main.tf'});

sub create_cv {
    my ($token, %attrs) = @_;
    return api(POST => "/api/v2/workspaces/$ws/configuration-versions",
               token => $token,
               body => {data => {type => 'configuration-versions',
                                 attributes => {%attrs}}});
}

sub cv_status {
    my ($id) = @_;
    return json_of(api(GET => "/api/v2/configuration-versions/$id",
                       token => $owner))->{data}{attributes}{status};
}

# the tarballs stored for this test's workspace (other tests store theirs)
sub stored_files {
    my @found;
    File::Find::find(sub { push @found, $File::Find::name if -f $_ },
                     "$storage/config/$ws") if -d "$storage/config/$ws";
    return @found;
}

sub put_upload {
    my ($url, $bytes) = @_;
    return api(PUT => $url, body => $bytes,
               headers => {'Content-Type' => 'application/octet-stream'});
}

# ---- create ----
my $r = create_cv($owner, 'auto-queue-runs' => JSON::PP::false(),
                  speculative => JSON::PP::true());
is $r->code, 201, 'write level creates a configuration version';
my $cv = json_of($r)->{data};
is $cv->{type}, 'configuration-versions', 'type';
is $cv->{attributes}{status}, 'pending', 'pending until uploaded';
ok !$cv->{attributes}{'auto-queue-runs'}, 'auto-queue-runs as sent';
ok $cv->{attributes}{speculative}, 'speculative as sent';
like $cv->{attributes}{'upload-url'},
     qr{^https?://[^/]+/api/v2/configuration-versions/$cv->{id}/upload\?expires=\d+&signature=},
     'an absolute signed upload URL';
is $cv->{relationships}{workspace}{data}{id}, $ws, 'belongs to the workspace';
is_error(create_cv($reader), 403, 'read level cannot create');
is_error(api(POST => "/api/v2/workspaces/$ws/configuration-versions"), 401,
         'no token');
is_error(api(POST => "/api/v2/workspaces/$other_ws/configuration-versions",
             token => $owner,
             body => {data => {type => 'configuration-versions'}}),
         404, 'a workspace the caller cannot see');

# ---- upload ----
my $url = $cv->{attributes}{'upload-url'};
$r = put_upload($url, $good);
is $r->code, 200, 'upload without a token through the signed URL';
is cv_status($cv->{id}), 'uploaded', 'the version is uploaded';
is scalar(stored_files()), 1, 'one tarball stored';
is_error(put_upload($url, $good), 409, 'uploading twice');
$r = api(GET => "/api/v2/configuration-versions/$cv->{id}", token => $owner);
ok !defined json_of($r)->{data}{attributes}{'upload-url'},
   'no upload URL once uploaded';

# the signature binds the URL to one version
my $second = json_of(create_cv($owner))->{data};
(my $moved = $url) =~ s/$cv->{id}/$second->{id}/;
is_error(put_upload($moved, $good), 401, "another version's URL");
(my $tampered = $second->{attributes}{'upload-url'}) =~ s/(.)$/$1 eq 'A' ? 'B' : 'A'/e;
is_error(put_upload($tampered, $good), 401, 'a tampered signature');
(my $bare = $second->{attributes}{'upload-url'}) =~ s/\?.*//;
is_error(put_upload($bare, $good), 401, 'no signature at all');
is cv_status($second->{id}), 'pending', 'refused URLs change nothing';

# ---- malicious archives: 422, errored, nothing stored ----
my @bad = (
    ['an absolute path', {name => '/etc/passwd', data => 'x'}],
    ['a .. component', {name => '../outside.tf', data => 'x'}],
    ['a nested .. escape', {name => 'a/../../outside.tf', data => 'x'}],
    ['a symlink out of the root', {name => 'evil', type => SYMLINK,
                                   linkname => '../../etc/passwd'}],
    ['an absolute symlink', {name => 'evil', type => SYMLINK,
                             linkname => '/etc/passwd'}],
    ['a hard link', {name => 'hard', type => HARDLINK, linkname => 'main.tf'}],
    ['a character device', {name => 'dev', type => CHARDEV}],
    ['a fifo', {name => 'pipe', type => FIFO}],
    ['a plain, uncompressed tar', {name => 'main.tf', data => 'x', plain => 1}],
);
for my $case (@bad) {
    my ($what, $entry) = @$case;
    my $c = json_of(create_cv($owner))->{data};
    my $bytes = tarball({name => 'main.tf', data => "# ok\n"}, $entry);
    my $res = put_upload($c->{attributes}{'upload-url'}, $bytes);
    is_error($res, 422, $what);
    is cv_status($c->{id}), 'errored', "$what: the version is errored";
}
my $junk = json_of(create_cv($owner))->{data};
is_error(put_upload($junk->{attributes}{'upload-url'}, 'not an archive at all'),
         422, 'garbage');
is scalar(stored_files()), 1, 'no refused archive was stored';
my @tmp;
File::Find::find(sub { push @tmp, $_ if /\.tmp-/ }, $storage);
is scalar(@tmp), 0, 'and no temp file is left';

# a client that goes away mid-upload leaves nothing
my $gone = json_of(create_cv($owner))->{data};
{
    my $u = URI->new($gone->{attributes}{'upload-url'});
    my $sock = IO::Socket::INET->new(PeerAddr => $u->host, PeerPort => $u->port,
                                     Proto => 'tcp', Timeout => 10)
        or die "connect: $!";
    $sock->autoflush(1);
    print $sock "PUT " . $u->path_query . " HTTP/1.1\r\nHost: "
              . $u->host_port . "\r\nContent-Length: 100000\r\n\r\n";
    print $sock substr($good, 0, 50);
    select undef, undef, undef, 0.5;
    close $sock;
}
ok wait_until(5, sub {
    my @t;
    File::Find::find(sub { push @t, $_ if /\.tmp-/ }, $storage);
    !@t;
}), 'a client gone mid-upload leaves no temp file';
is cv_status($gone->{id}), 'pending', 'and the version still pending';
is put_upload($gone->{attributes}{'upload-url'}, $good)->code, 200,
   'the next upload works';

# ---- reads ----
$r = api(GET => "/api/v2/configuration-versions/$cv->{id}", token => $reader);
is $r->code, 200, 'read level shows a version';
is_error(api(GET => "/api/v2/configuration-versions/$cv->{id}",
             token => user_token('cv-stranger@test.local')), 404,
         'a stranger gets 404');
$r = api(GET => "/api/v2/workspaces/$ws/configuration-versions?page[size]=2",
         token => $reader);
is $r->code, 200, 'list';
my $list = json_of($r);
is scalar(@{ $list->{data} }), 2, 'a page of two';
is $list->{data}[0]{id}, $gone->{id}, 'newest first';
cmp_ok $list->{meta}{pagination}{'total-count'}, '>=', 13, 'total-count';

# ---- downloads ----
$r = api(GET => "/api/terrapod/v1/configuration-versions/$cv->{id}/download",
         token => $reader);
is $r->code, 200, 'download with a token';
ok $r->content eq $good, 'the exact bytes';
is $r->header('Content-Type'), 'application/x-tar', 'as application/x-tar';
like $r->header('Content-Disposition') // '', qr/^attachment/, 'as an attachment';
is_error(api(GET => "/api/terrapod/v1/configuration-versions/$cv->{id}/download"),
         401, 'download without a token');
is_error(api(GET => "/api/terrapod/v1/configuration-versions/$second->{id}/download",
             token => $owner), 409, 'nothing uploaded yet');
is_error(api(GET => "/api/terrapod/v1/configuration-versions/$junk->{id}/download",
             token => $owner), 409, 'an errored version');
is_error(api(GET => "/api/terrapod/v1/configuration-versions/cv-nope/download",
             token => $owner), 404, 'an unknown version');

# ---- tickets ----
sub ticket_for {
    my ($id, %attrs) = @_;
    my $res = api(POST => "/api/terrapod/v1/configuration-versions/$id/download-ticket",
                  token => $reader,
                  body => {data => {attributes => {%attrs}}});
    return ($res, json_of($res));
}
my ($tr, $t) = ticket_for($cv->{id});
is $tr->code, 201, 'read level mints a ticket';
is $t->{data}{type}, 'download-tickets', 'type download-tickets';
like $t->{data}{attributes}{ticket}, qr/^dlticket:cv:\Q$cv->{id}\E:\d+:/, 'ticket shape';
like $t->{data}{attributes}{url},
     qr{^/api/terrapod/v1/configuration-versions/download-by-ticket/dlticket:},
     'with its URL';
my ($exp) = $t->{data}{attributes}{ticket} =~ /^dlticket:cv:[^:]+:(\d+):/;
ok abs($exp - time - 300) <= 5, 'default TTL 300 s';
(undef, my $long) = ticket_for($cv->{id}, 'ttl-seconds' => 5000);
($exp) = $long->{data}{attributes}{ticket} =~ /^dlticket:cv:[^:]+:(\d+):/;
ok abs($exp - time - 1800) <= 5, 'TTL capped at 1800 s';
(undef, my $zero) = ticket_for($cv->{id}, 'ttl-seconds' => 0);
($exp) = $zero->{data}{attributes}{ticket} =~ /^dlticket:cv:[^:]+:(\d+):/;
ok abs($exp - time - 300) <= 5, 'zero falls back to the default';
is_error(api(POST => "/api/terrapod/v1/configuration-versions/$cv->{id}/download-ticket",
             token => user_token('cv-stranger@test.local')), 404,
         'no ticket for a version the caller cannot see');

$r = api(GET => $t->{data}{attributes}{url});
is $r->code, 200, 'download by ticket needs no token';
ok $r->content eq $good, 'the exact bytes by ticket';
my $ticket = $t->{data}{attributes}{ticket};
(my $swapped = $ticket) =~ s/\Q$cv->{id}\E/$gone->{id}/;
is_error(api(GET => "/api/terrapod/v1/configuration-versions/download-by-ticket/$swapped"),
         401, "a ticket for one version does not open another");
(my $bad_sig = $ticket) =~ s/.$/ $& eq 'A' ? 'B' : 'A' /e;
is_error(api(GET => "/api/terrapod/v1/configuration-versions/download-by-ticket/$bad_sig"),
         401, 'a bad signature');
is_error(api(GET => "/api/terrapod/v1/configuration-versions/download-by-ticket/nonsense"),
         401, 'a malformed ticket');

# an expired ticket, signed with the deployment key
{
    open my $fh, '<', "$ENV{TP_INSTANCE}/hmac.key" or die $!;
    binmode $fh;
    my $key = do { local $/; <$fh> };
    my $minter = encode_base64('cv-reader@test.local', '');
    $minter =~ tr{+/}{-_};
    $minter =~ s/=+$//;
    my $body = "dlticket:cv:$cv->{id}:" . (time - 10) . ":$minter";
    my $sig = encode_base64(hmac_sha256($body, $key), '');
    $sig =~ tr{+/}{-_};
    $sig =~ s/=+$//;
    my $res = api(GET => "/api/terrapod/v1/configuration-versions/download-by-ticket/$body:$sig");
    is_error($res, 401, 'an expired ticket');
    like error_detail($res), qr/expired/, 'says it expired';
}

# the bytes swept by retention: 410 by token and by ticket
sql("UPDATE configuration_versions SET status = 'archived' WHERE id = '$cv->{id}'");
is_error(api(GET => "/api/terrapod/v1/configuration-versions/$cv->{id}/download",
             token => $owner), 410, 'archived version by token');
is_error(api(GET => $t->{data}{attributes}{url}), 410, 'archived version by ticket');
