# Clients killed (SIGKILL, over TLS) half-way through a state upload and a
# configuration upload, with a Content-Length and with chunked bodies:
# nothing becomes current or uploaded, no temp file stays in storage, and
# the next upload to the same URL works.
use strict;
use warnings FATAL => 'all';
use Test::More;
use TP::E2E;
use TP::Faults;

my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
    body => {data => {type => 'workspaces', attributes => {name => 'fault-kill'}}});
is $res->code, 201, 'a workspace';
my $ws = $doc->{data}{id};

sub current_sv {
    my ($r, $d) = api(GET => "/api/v2/workspaces/$ws/current-state-version");
    return $r->code == 200 ? $d->{data}{id} : 'none';
}

my $lineage = 'fault-kill-lineage';
my $first = state_bytes(1, $lineage, 'x' x 200_000);
($res, $doc) = new_state_version($ws, 1, $lineage, $first);
is put_raw($doc->{data}{attributes}{'hosted-state-upload-url'}, $first)->code,
   200, 'a first state is uploaded';
my $current = current_sv();

for my $chunked (0, 1) {
    my $how = $chunked ? 'chunked' : 'Content-Length';
    my $serial = 2 + $chunked;
    my $bytes = state_bytes($serial, $lineage, 'y' x 400_000);
    ($res, $doc) = new_state_version($ws, $serial, $lineage, $bytes);
    is $res->code, 201, "$how: a pending state version";
    my $sv = $doc->{data}{id};
    my $url = $doc->{data}{attributes}{'hosted-state-upload-url'};
    die_mid_upload($url, $bytes, chunked => $chunked);
    ok wait_until(10, sub { !temp_files() }), "$how: no temp file left";
    is current_sv(), $current, "$how: no new current state";
    my (undef, $d) = api(GET => "/api/v2/state-versions/$sv");
    is $d->{data}{attributes}{status}, 'pending', "$how: the version stays pending";
    ok !stored_file("state/$ws/$sv.tfstate"), "$how: no partial state file";
    is put_raw($url, $bytes)->code, 200, "$how: the next upload works";
    is current_sv(), $sv, "$how: and becomes current";
    $current = $sv;
}

# a configuration upload killed the same ways
my $tgz = do {
    my $src = workdir();
    write_file("$src/main.tf", qq{resource "terraform_data" "x" {}\n});
    # incompressible padding, so the tarball is large enough to cut
    open my $fh, '<', '/dev/urandom' or die $!;
    read $fh, my $pad, 300_000;
    write_file("$src/pad.bin", $pad);
    qx{tar -C $src -czf - .};
};
for my $chunked (0, 1) {
    my $how = $chunked ? 'chunked' : 'Content-Length';
    ($res, $doc) = api(POST => "/api/v2/workspaces/$ws/configuration-versions",
        body => {data => {type => 'configuration-versions',
                          attributes => {'auto-queue-runs' => JSON::PP::false()}}});
    is $res->code, 201, "$how: a pending configuration version";
    my $cv = $doc->{data}{id};
    my $url = $doc->{data}{attributes}{'upload-url'};
    die_mid_upload($url, $tgz, chunked => $chunked);
    ok wait_until(10, sub { !temp_files() }), "$how: no temp file left";
    my (undef, $d) = api(GET => "/api/v2/configuration-versions/$cv");
    is $d->{data}{attributes}{status}, 'pending', "$how: not uploaded";
    ok !stored_file("config/$ws/$cv.tar.gz"), "$how: no partial tarball";
    is put_raw($url, $tgz)->code, 200, "$how: the next upload works";
    (undef, $d) = api(GET => "/api/v2/configuration-versions/$cv");
    is $d->{data}{attributes}{status}, 'uploaded', "$how: and the version is uploaded";
}

done_testing;
