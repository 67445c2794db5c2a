# The JSON rendering of a state (what terraform sends to a version's
# hosted-json-state-upload-url, `terraform show -json` of the state) is
# taken once per version: go-tfe sends it alongside the state, before or
# after the version is finalized, and a replay of the signed URL, then or
# later, is 409 and replaces nothing. It must be such a rendering (JSON, an
# object with format_version), two uploads racing have one winner, and the
# upload cap applies.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use POSIX ();
use Digest::MD5 qw(md5_hex);
use TP::Test;

plan tests => 46;

my $json = JSON::PP->new->canonical;
my $owner = user_token('sj-owner@test.local');
my $ws = make_ws($owner, 'sj-flow');
my $lin = 'c1c2c3c4-0000-4000-8000-000000000026';
my $serial = 0;

sub state_bytes {
    my ($s) = @_;
    return $json->encode({version => 4, terraform_version => '1.11.4', serial => $s,
                          lineage => $lin, outputs => {}, resources => []});
}

# what terraform renders for a state: show -json's format
sub rendering {
    my ($note) = @_;
    return $json->encode({format_version => '1.0', terraform_version => '1.11.4',
                          values => {root_module => {}, outputs => {
                              note => {value => $note, type => 'string',
                                       sensitive => JSON::PP::false}}}});
}

# a new pending version: (its id, its raw state, the two upload URLs)
sub new_version {
    my $bytes = state_bytes(++$serial);
    my $r = api(POST => "/api/v2/workspaces/$ws/state-versions", token => $owner,
                body => {data => {type => 'state-versions', attributes => {
                    serial => $serial, md5 => md5_hex($bytes), lineage => $lin}}});
    die 'create: ' . $r->as_string unless $r->code == 201;
    my $a = json_of($r)->{data}{attributes};
    return (json_of($r)->{data}{id}, $bytes, $a->{'hosted-state-upload-url'},
            $a->{'hosted-json-state-upload-url'});
}

sub put {
    my ($url, $bytes) = @_;
    return api(PUT => $url, body => $bytes,
               headers => {'Content-Type' => 'application/json'});
}

sub json_download {
    my ($id) = @_;
    return api(GET => "/api/v2/state-versions/$id/json-download", token => $owner);
}

sub has_json { sql("SELECT has_json_state FROM state_versions WHERE id = '$_[0]'") }

# ---- sent before the state, as go-tfe may: once ----

my ($v1, $raw1, $up1, $jup1) = new_version();
my $first = rendering('first');
is put($jup1, $first)->code, 200, 'the JSON rendering before the state: 200';
is_error(put($jup1, rendering('second')), 409, 'the same URL again while pending');
is put($up1, $raw1)->code, 200, 'the state: 200, finalized';
my $r = json_download($v1);
is $r->code, 200, 'json-download serves the rendering';
ok $r->content eq $first, 'the first upload, not the refused one';
$r = put($jup1, rendering('replayed after the version was finalized'));
is_error($r, 409, 'a replay after the version was finalized');
like error_detail($r), qr/already been uploaded/, 'saying it was uploaded';
ok json_download($v1)->content eq $first, 'json-download is unchanged';
ok api(GET => "/api/v2/state-versions/$v1/download", token => $owner)->content eq $raw1,
   'and so is the raw state';

# ---- sent after the state was finalized (the two race in go-tfe) ----

my ($v2, $raw2, $up2, $jup2) = new_version();
is put($up2, $raw2)->code, 200, 'the state first';
is has_json($v2), 'f', 'no rendering yet';
my $late = rendering('late');
is put($jup2, $late)->code, 200, 'the rendering of a finalized version: 200 the first time';
is has_json($v2), 't', 'recorded';
ok json_download($v2)->content eq $late, 'served';
is_error(put($jup2, rendering('again')), 409, 'then no more');
ok json_download($v2)->content eq $late, 'unchanged';
my $shown = json_of(api(GET => "/api/v2/state-versions/$v2", token => $owner))->{data}{attributes};
like $shown->{'hosted-json-state-download-url'} // '', qr{/json-download$},
     'the version names its JSON download';

# ---- only a rendering of a state; a refused one uses nothing up ----

my ($v3, $raw3, $up3, $jup3) = new_version();
for my $bad (['{"format_version": "1.0", "values": {', 'truncated JSON'],
             ['not json at all', 'not JSON'],
             ['["format_version"]', 'an array'],
             [state_bytes(99), 'the raw state (no format_version)'],
             ['{"format_version": 1}', 'a format_version that is no string'],
             ['{"format_version": "1.0"} {}', 'data after the document']) {
    $r = put($jup3, $bad->[0]);
    is_error($r, 422, $bad->[1]);
}
like error_detail(put($jup3, '{"format_version": "1.0", "values": {')), qr/at byte \d+/,
     'a malformed one is told where';
is has_json($v3), 'f', 'nothing recorded for the refused uploads';
is put($up3, $raw3)->code, 200, 'the state';
is json_download($v3)->code, 404, 'no rendering is served';
my $good = rendering('good');
is put($jup3, $good)->code, 200, 'a real rendering still goes in after the refusals';
ok json_download($v3)->content eq $good, 'and is served';

# ---- two uploads at once: one wins ----

my ($v4, $raw4, $up4, $jup4) = new_version();
is put($up4, $raw4)->code, 200, 'another finalized version';
my $n = 6;
my @kids;
for my $i (1 .. $n) {
    pipe my $rd, my $wr or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $rd;
        my $res = put($jup4, rendering("racer $i" . ('x' x 20000)));
        print $wr $res->code;
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    push @kids, [$pid, $rd, $i];
}
my (%codes, $winner);
for my $k (@kids) {
    waitpid $k->[0], 0;
    my $rd = $k->[1];
    my $code = <$rd> // 'none';
    $codes{$code}++;
    $winner = $k->[2] if $code eq '200';
}
is $codes{200}, 1, 'one racing upload wins';
is $codes{409}, $n - 1, 'the others are 409';
ok defined $winner && json_download($v4)->content eq rendering("racer $winner" . ('x' x 20000)),
   'the served rendering is the winner\'s';

# ---- the upload cap ----

my ($v5, $raw5, $up5, $jup5) = new_version();
{
    my $answer = announce_body(PUT => $jup5, 512 * 1024 * 1024 + 1,
                               'Content-Type' => 'application/json');
    like $answer, qr{^HTTP/1\.1 413 }, 'a rendering over TerrapodMaxUploadSize: 413';
    like $answer, qr/"status":\s*"413"/, 'with a JSON:API error';
}
is has_json($v5), 'f', 'nothing recorded';
is put($jup5, rendering('fits'))->code, 200, 'one that fits goes in afterwards';
