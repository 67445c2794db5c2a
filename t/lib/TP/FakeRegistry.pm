package TP::FakeRegistry;
# A stand-in for a public provider registry (registry.terraform.io) and a
# releases server (releases.hashicorp.com, binary_release): the
# providers.v1 protocol as terraform reads it (service discovery, version
# lists, download documents naming SHA256SUMS, its detached signature and
# the key that made it) and the release files themselves, all over plain
# http on the loopback. Releases are built by the test: a zip per
# platform holding a stand-in provider binary, SHA256SUMS over them,
# signed with a key generated for the test by gpg.
#
#   my $reg = TP::FakeRegistry->new(port => P, dir => DIR)->start;
#   $reg->release('acme', 'widget', '1.2.0', ['linux_amd64', 'darwin_arm64']);
#   my @paths = $reg->received;      # every path asked for, in order
#
# Releases may be added or tampered with while the server runs: it reads
# DIR on every request.
use strict;
use warnings FATAL => 'all';
use parent -norequire, 'TP::FakeServer';
use TP::FakeServer;
use HTTP::Response;
use JSON::PP ();
use Digest::SHA ();
use File::Path qw(make_path);
use File::Temp ();
use IO::Compress::Zip qw(zip $ZipError);

my $json = JSON::PP->new->canonical;

# new(port => P, dir => DIR, gnupg => HOME): DIR holds the releases;
# HOME, when given, a signing key made before (the suite's, whose public
# half the server is configured with), else one is made.
sub new {
    my ($class, %o) = @_;
    # a short home: gpg-agent's socket path must fit in a sockaddr_un
    my $self = bless {%o, base => "http://127.0.0.1:$o{port}",
                      gnupg => $o{gnupg} // File::Temp::tempdir('/tmp/tpreg-XXXXXX', CLEANUP => 1),
                      owner => $$}, $class;
    make_path("$o{dir}/files");
    $self->key;     # before the server forks: it signs with the same key
    return $self;
}

sub DESTROY {
    my ($self) = @_;
    $self->stop;
    system('gpgconf', '--homedir', $self->{gnupg}, '--kill', 'gpg-agent')
        if $self->{owner} == $$;
}

sub base { $_[0]{base} }

sub gpg {
    my ($self, @args) = @_;
    my $cmd = join ' ', map { quotemeta } 'gpg', '--batch', '--quiet',
        '--homedir', $self->{gnupg}, '--pinentry-mode', 'loopback',
        '--passphrase', '', @args;
    my $out = qx{$cmd 2>&1};
    die "gpg @args: $out" if $?;
    return $out;
}

# The signing key (made on first use): its long key id and armour.
sub key {
    my ($self) = @_;
    return $self->{key} if $self->{key};
    my $id_of = sub { ($self->gpg('--with-colons', '--list-secret-keys')
                       =~ /^sec:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):/m)[0] };
    my $id = $id_of->();
    if (!$id) {
        $self->gpg('--quick-gen-key', 'Upstream releases <releases@upstream.test>',
                   'ed25519', 'sign', 'never');
        $id = $id_of->();
    }
    $self->{key} = {id => $id, armor => $self->gpg('--armor', '--export', $id)};
    return $self->{key};
}

sub files { "$_[0]{dir}/files" }

sub write_bytes {
    my ($path, $bytes) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $bytes;
    close $fh;
}

sub read_bytes {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    return <$fh>;
}

sub prefix { "terraform-provider-$_[1]_$_[2]" }

# Builds and signs a release of ns/type at version for each "os_arch";
# %o: protocols (default ['5.0']). Returns the zips' SHA-256 by platform.
sub release {
    my ($self, $ns, $type, $version, $platforms, %o) = @_;
    my $key = $self->key;
    my $prefix = $self->prefix($type, $version);
    my (%sha, $sums);
    for my $pl (@$platforms) {
        my $zip = "$prefix\_$pl.zip";
        # a stand-in binary: terraform installs a provider without running it
        my $bin = "#!/bin/sh\necho 'stand-in $type $version $pl'\n";
        zip \$bin => $self->files . "/$zip", Name => "terraform-provider-$type\_v$version",
            ExtAttr => 0755 << 16 or die "zip: $ZipError";
        $sha{$pl} = Digest::SHA->new(256)->addfile($self->files . "/$zip", 'b')->hexdigest;
        $sums .= "$sha{$pl}  $zip\n";
    }
    write_bytes($self->files . "/$prefix\_SHA256SUMS", $sums);
    $self->sign($self->files . "/$prefix\_SHA256SUMS");
    my $index = $self->index($ns, $type);
    @$index = grep { $_->{version} ne $version } @$index;
    push @$index, {version => $version, protocols => $o{protocols} // ['5.0'],
                   platforms => [map { my ($os, $arch) = split /_/, $_, 2;
                                       {os => $os, arch => $arch} } @$platforms]};
    write_bytes("$self->{dir}/$ns-$type.json", $json->encode($index));
    return \%sha;
}

# The versions of ns/type as the registry lists them.
sub index {
    my ($self, $ns, $type) = @_;
    my $raw = read_bytes("$self->{dir}/$ns-$type.json");
    return $raw ? $json->decode($raw) : [];
}

# Signs file with the key (a detached binary signature at file.sig).
sub sign {
    my ($self, $file) = @_;
    $self->gpg('--yes', '--local-user', $self->key->{id}, '--output', "$file.sig",
               '--detach-sign', $file);
}

# A release of terraform or tofu as releases.hashicorp.com lays it out,
# under /releases/TOOL/: index.json listing the versions, and VERSION/
# holding TOOL_VERSION_OS_ARCH.zip (the executable $binary, a file, named
# TOOL inside), TOOL_VERSION_SHA256SUMS and its signature. Returns the
# zips' SHA-256 by platform.
sub binary_release {
    my ($self, $tool, $version, $platforms, $binary) = @_;
    my $dir = $self->files . "/releases/$tool/$version";
    make_path($dir);
    my (%sha, $sums);
    for my $pl (@$platforms) {
        my $zip = "$dir/$tool\_$version\_$pl.zip";
        zip $binary => $zip, Name => $tool, ExtAttr => 0755 << 16, BinModeIn => 1
            or die "zip: $ZipError";
        $sha{$pl} = Digest::SHA->new(256)->addfile($zip, 'b')->hexdigest;
        $sums .= "$sha{$pl}  $tool\_$version\_$pl.zip\n";
    }
    write_bytes("$dir/$tool\_$version\_SHA256SUMS", $sums);
    $self->sign("$dir/$tool\_$version\_SHA256SUMS");
    my $index_file = $self->files . "/releases/$tool/index.json";
    my $index = -e $index_file ? $json->decode(read_bytes($index_file))
                               : {name => $tool, versions => {}};
    $index->{versions}{$version} = {name => $tool, version => $version,
                                    shasums => "$tool\_$version\_SHA256SUMS",
                                    shasums_signature => "$tool\_$version\_SHA256SUMS.sig"};
    write_bytes($index_file, $json->encode($index));
    return \%sha;
}

# Replaces a release file's bytes (a tampered zip, a forged signature).
sub replace_file {
    my ($self, $name, $bytes) = @_;
    write_bytes($self->files . "/$name", $bytes);
}

# Every path asked for so far, in order.
sub received {
    my ($self) = @_;
    my $log = read_bytes("$self->{dir}/received.log") // '';
    return split /\n/, $log;
}

sub json_response {
    my ($code, $doc) = @_;
    my $r = HTTP::Response->new($code);
    $r->header('Content-Type' => 'application/json');
    $r->content($json->encode($doc));
    return $r;
}

sub respond {
    my ($self, $req) = @_;
    my $path = $req->uri->path;
    open my $log, '>>', "$self->{dir}/received.log" or die "log: $!";
    print $log "$path\n";
    close $log;
    if ($path eq '/.well-known/terraform.json') {
        return json_response(200, {'providers.v1' => '/v1/providers/'});
    }
    if ($path =~ m{^/v1/providers/([^/]+)/([^/]+)/versions$}) {
        my $index = $self->index($1, $2);
        return @$index ? json_response(200, {versions => $index})
                       : json_response(404, {errors => ['Not Found']});
    }
    if ($path =~ m{^/v1/providers/([^/]+)/([^/]+)/([^/]+)/download/([^/]+)/([^/]+)$}) {
        my ($ns, $type, $version, $os, $arch) = ($1, $2, $3, $4, $5);
        my ($v) = grep { $_->{version} eq $version } @{ $self->index($ns, $type) };
        my $prefix = $self->prefix($type, $version);
        my $zip = "$prefix\_$os\_$arch.zip";
        my $sha = Digest::SHA->new(256);
        return json_response(404, {errors => ['Not Found']})
            unless $v && -e $self->files . "/$zip";
        return json_response(200, {
            protocols => $v->{protocols}, os => $os, arch => $arch,
            filename => $zip,
            # relative, as registries may answer: resolved against this URL
            download_url => "/files/$zip",
            shasums_url => "$self->{base}/files/$prefix\_SHA256SUMS",
            shasums_signature_url => "$self->{base}/files/$prefix\_SHA256SUMS.sig",
            shasum => $sha->addfile($self->files . "/$zip", 'b')->hexdigest,
            signing_keys => {gpg_public_keys => [{
                key_id => $self->key->{id}, ascii_armor => $self->key->{armor},
                trust_signature => '', source => 'Upstream',
                source_url => undef}]}});
    }
    if ($path =~ m{^/releases/((?:[\w.+-]+/)*[\w.+-]+)$} && $path !~ /\.\./
        && -f $self->files . "/releases/$1") {
        my $file = $1;
        my $r = HTTP::Response->new(200);
        $r->header('Content-Type' => $file =~ /\.json$/ ? 'application/json'
                                                        : 'application/octet-stream');
        $r->content(read_bytes($self->files . "/releases/$file"));
        return $r;
    }
    if ($path =~ m{^/files/([^/]+)$} && -f $self->files . "/$1") {
        my $r = HTTP::Response->new(200);
        $r->header('Content-Type' => 'application/octet-stream');
        $r->content(read_bytes($self->files . "/$1"));
        return $r;
    }
    return json_response(404, {errors => ['Not Found']});
}

1;
