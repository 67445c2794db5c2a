package TP::Install;
# Helpers for the install suite (t/install): make in the source tree,
# apxs's answers, files.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';

our @EXPORT = qw(make make_var apxs_q slurp spew run);

my $src = $ENV{TP_SRC} or die "TP_SRC is not set";

# make in the source tree: (exit status, combined output).
sub make {
    my @args = map { quotemeta } @_;
    my $out = qx{make -C $src --no-print-directory @args 2>&1};
    return ($? >> 8, $out);
}

# A variable configure wrote into the Makefile.
sub make_var {
    my ($name) = @_;
    open my $fh, '<', "$src/Makefile" or die "Makefile: $!";
    while (<$fh>) { return $1 if /^\Q$name\E\s*\??=\s*(.*?)\s*$/ }
    die "no $name in the Makefile";
}

sub apxs_q {
    my $apxs = qx{command -v apxs || command -v apxs2};
    chomp $apxs;
    my $v = qx{$apxs -q $_[0]};
    chomp $v;
    return $v;
}

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    return <$fh>;
}

sub spew {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

# A command (a list, no shell): (exit status, combined output).
sub run {
    my @cmd = @_;
    my $pid = open my $fh, '-|' // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT or die;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

1;
