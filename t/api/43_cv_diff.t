# Configuration version diffs: per-file unified diffs between two uploaded
# versions of one workspace, binary and oversized files named only, the
# 32 MiB pair cap, and every refusal with its exact status.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Path qw(remove_tree);
use TP::Test;

plan tests => 53;

my $storage = "$ENV{TP_INSTANCE}/storage";
my $owner = user_token('diff-owner@test.local');
my $reader = user_token('diff-reader@test.local');
my $stranger = user_token('diff-stranger@test.local');
my $admin = admin_token();
my $ws = make_ws($owner, 'diff-ws');
my $ws2 = make_ws($owner, 'diff-ws-2');

api(POST => '/api/terrapod/v1/roles', token => $admin,
    body => {data => {type => 'roles', attributes => {
        name => 'diff-read', 'workspace-permission' => 'read',
        'allow-names' => ['diff-ws']}}});
api(PUT => '/api/terrapod/v1/role-assignments', token => $admin,
    body => {data => {type => 'role-assignments', attributes => {
        email => 'diff-reader@test.local', roles => ['diff-read']}}});

sub create_cv {
    my ($in) = @_;
    my $r = api(POST => "/api/v2/workspaces/$in/configuration-versions",
                token => $owner,
                body => {data => {type => 'configuration-versions',
                                  attributes => {'auto-queue-runs' =>
                                                 JSON::PP::false()}}});
    die $r->as_string unless $r->code == 201;
    return json_of($r)->{data};
}

# A version of workspace $in holding %files; returns its id.
sub upload_cv {
    my ($in, %files) = @_;
    my $cv = create_cv($in);
    my $r = api(PUT => $cv->{attributes}{'upload-url'}, body => targz(%files),
                headers => {'Content-Type' => 'application/octet-stream'});
    die $r->as_string unless $r->code == 200;
    return $cv->{id};
}

sub diff {
    my ($from, $to, %opt) = @_;
    my %attrs;
    $attrs{'from-id'} = $from if defined $from;
    $attrs{'to-id'} = $to if defined $to;
    return api(POST => '/api/terrapod/v1/configuration-versions/diff',
               exists $opt{token} ? (token => $opt{token})
                                  : (token => $owner),
               body => {data => {attributes => \%attrs}});
}

my $main_v1 = join '', map { "line $_\n" } 1 .. 20;
(my $main_v2 = $main_v1) =~ s/^line 10$/line ten/m;
my $big_v1 = "resource line\n" x 100_000;          # 1.4 MB
my $big_v2 = $big_v1 . "one more\n";

my $from = upload_cv($ws,
    'main.tf' => $main_v1,
    'same.tf' => "unchanged\n",
    'old.tf' => "gone\n",
    'logo.png' => "PNG\0\x01\x02",
    'gone.bin' => "\0\0",
    'big.tf' => $big_v1,
    'bigsame.tf' => $big_v1);
my $to = upload_cv($ws,
    'main.tf' => $main_v2,
    'same.tf' => "unchanged\n",
    'new.tf' => "variable \"x\" {}\n",
    'logo.png' => "PNG\0\x01\x03",
    'big.tf' => $big_v2,
    'bigsame.tf' => $big_v1,
    'tail.tf' => "no newline");

# ---- the diff ----
my $r = diff($from, $to);
is $r->code, 200, 'diff of two uploaded versions';
my $d = json_of($r)->{data};
is $d->{type}, 'configuration-version-diffs', 'type';
is $d->{attributes}{'from-id'}, $from, 'from-id';
is $d->{attributes}{'to-id'}, $to, 'to-id';
my @files = @{ $d->{attributes}{files} };
is_deeply [map { $_->{path} } @files],
          [qw(gone.bin logo.png main.tf new.tf old.tf tail.tf)],
          'changed files sorted by path; unchanged and oversized not listed';
my %by = map { $_->{path} => $_ } @files;
is $by{'main.tf'}{type}, 'modified', 'modified';
is $by{'main.tf'}{diff},
   "@@ -7,7 +7,7 @@\n line 7\n line 8\n line 9\n-line 10\n+line ten\n"
   . " line 11\n line 12\n line 13\n",
   'a unified hunk with 3 lines of context';
is $by{'new.tf'}{type}, 'added', 'added';
is $by{'new.tf'}{diff}, "@@ -0,0 +1 @@\n+variable \"x\" {}\n",
   'an added file is all insertions';
is $by{'old.tf'}{type}, 'removed', 'removed';
is $by{'old.tf'}{diff}, "@@ -1 +0,0 @@\n-gone\n",
   'a removed file is all deletions';
is $by{'tail.tf'}{diff},
   "@@ -0,0 +1 @@\n+no newline\n\\ No newline at end of file\n",
   'the missing final newline is marked';
is $by{'logo.png'}{type}, 'binary-changed', 'a changed binary file';
ok !exists $by{'logo.png'}{diff}, 'a binary file has no diff';
is $by{'gone.bin'}{type}, 'removed', 'a removed binary file';
ok !exists $by{'gone.bin'}{diff}, '... without a diff';
is_deeply $d->{attributes}{oversized}, ['big.tf'],
          'a changed file over 1 MiB is only named';
is $d->{attributes}{'total-files-changed'}, 6, 'total-files-changed';

$r = diff($to, $from);
is $r->code, 200, 'the other way round';
%by = map { $_->{path} => $_ } @{ json_of($r)->{data}{attributes}{files} };
is $by{'new.tf'}{type}, 'removed', 'added becomes removed';
is $by{'old.tf'}{type}, 'added', 'removed becomes added';

$r = diff($from, $from);
is $r->code, 200, 'a version against itself';
is_deeply json_of($r)->{data}{attributes},
          {'from-id' => $from, 'to-id' => $from, files => [],
           oversized => [], 'total-files-changed' => 0},
          'nothing changed';

# ---- permissions ----
$r = diff($from, $to, token => $reader);
is $r->code, 200, 'read on the workspace is enough';
is_deeply json_of($r)->{data}, $d, 'the reader sees the same diff';
is_error(diff($from, $to, token => $stranger), 404,
         'a caller who cannot read the workspace');
is_error(diff($from, $to, token => undef), 401, 'no token');

# ---- refusals ----
is_error(diff($from, 'cv-doesnotexist'), 404, 'to-id does not exist');
is_error(diff('cv-doesnotexist', $to), 404, 'from-id does not exist');
is_error(diff($from, undef), 422, 'to-id missing');
is_error(diff(undef, $to), 422, 'from-id missing');
my $elsewhere = upload_cv($ws2, 'main.tf' => $main_v1);
is_error(diff($from, $elsewhere), 422, 'versions of different workspaces');
my $pending = create_cv($ws)->{id};
is_error(diff($from, $pending), 409, 'to-id not uploaded');
is_error(diff($pending, $to), 409, 'from-id not uploaded');

# retention: the status says so, or the bytes are simply gone
my $archived = upload_cv($ws, 'main.tf' => $main_v1);
sql("UPDATE configuration_versions SET status = 'archived' WHERE id = '$archived'");
is_error(diff($from, $archived), 410, 'an archived version');
my $swept = upload_cv($ws, 'main.tf' => $main_v1);
my $file = "$storage/config/$ws/$swept.tar.gz";
ok -f $file, 'the tarball is stored';
unlink $file;
is_error(diff($swept, $to), 410, 'a version whose bytes were removed');

# ---- the pair cap: 17 + 17 MiB of compressible text ----
my $half = "x" x 1023 . "\n";
my $a17 = upload_cv($ws, 'a.txt' => $half x (17 * 1024));
my $b17 = upload_cv($ws, 'b.txt' => $half x (17 * 1024));
$r = diff($a17, $b17);
is_error($r, 413, 'over 32 MiB together');
like error_detail($r), qr/together exceed 33554432 bytes/,
     'the detail names the cap';
$r = diff($a17, $to);
is $r->code, 200, 'one large version with a small one is under the cap';
is_deeply json_of($r)->{data}{attributes}{oversized}, ['a.txt', 'big.tf', 'bigsame.tf'],
          'removed and added files over 1 MiB are only named';

# the stored tarballs go, so that no other test finds them
remove_tree("$storage/config/$ws", "$storage/config/$ws2");
