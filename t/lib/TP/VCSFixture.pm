package TP::VCSFixture;
# What the tests of VCS-bound workspaces share: a free port for a fake
# provider, a GitHub App's key pair, and a git repository built commit by
# commit and served bare.
#
#   my $repo = TP::VCSFixture::Repo->new("$dir/infra");
#   my $sha = $repo->commit('add vpc', 'envs/dev/main.tf' => '...');
#   $repo->tag('v1', 'release');            # annotated with a message
#   my $gh = TP::FakeGitHub->new(port => free_port(), ...,
#                                repos => {'acme/infra' => $repo->bare})
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use IO::Socket::INET ();
use File::Path qw(make_path);
use File::Basename qw(dirname);

our @EXPORT = qw(free_port app_key_pair);

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1) or die "no port: $!";
    return $s->sockport;
}

# (private key PEM text, public key file) of a new 2048-bit RSA key.
sub app_key_pair {
    my ($dir) = @_;
    system("openssl genrsa -out $dir/app.pem 2048 2>/dev/null"
           . " && openssl rsa -in $dir/app.pem -pubout -out $dir/app.pub"
           . " 2>/dev/null") == 0 or die 'openssl failed';
    open my $fh, '<', "$dir/app.pem" or die $!;
    local $/;
    return (scalar <$fh>, "$dir/app.pub");
}

package TP::VCSFixture::Repo;

sub git {
    my ($self, @args) = @_;
    local $ENV{GIT_AUTHOR_NAME} = $self->{author};
    local $ENV{GIT_AUTHOR_EMAIL} = "$self->{author}\@test.local";
    local $ENV{GIT_COMMITTER_NAME} = 'committer';
    local $ENV{GIT_COMMITTER_EMAIL} = 'committer@test.local';
    my $out = qx{git -C '$self->{work}' @{[map { "'$_'" } @args]} 2>&1};
    die "git @args: $out" if $?;
    return $out =~ s/\s+$//r;
}

# A work tree at $work on branch main, and its bare copy at $work.git
# that the fakes serve and every change is pushed to.
sub new {
    my ($class, $work) = @_;
    my $self = bless {work => $work, bare => "$work.git", author => 'alice'},
                     $class;
    system('git', 'init', '-q', '-b', 'main', $work) == 0 or die 'git init';
    system('git', 'init', '-q', '--bare', '-b', 'main', $self->{bare}) == 0
        or die 'git init --bare';
    return $self;
}

sub bare { $_[0]{bare} }

# Commits the files (path => content; undef removes it) on the current
# branch as $self->{author}, pushes, and returns the commit's SHA.
sub commit {
    my ($self, $message, %files) = @_;
    for my $path (sort keys %files) {
        my $file = "$self->{work}/$path";
        if (defined $files{$path}) {
            File::Path::make_path(File::Basename::dirname($file));
            open my $fh, '>', $file or die "$file: $!";
            print $fh $files{$path};
            close $fh;
        }
        else {
            unlink $file;
        }
    }
    $self->git('add', '-A');
    $self->git('commit', '-q', '--allow-empty', '-m', $message);
    $self->push;
    return $self->sha('HEAD');
}

sub author { $_[0]{author} = $_[1] }

# A branch at the current commit, checked out.
sub branch {
    my ($self, $name) = @_;
    $self->git('checkout', '-q', '-b', $name);
    $self->push;
}

sub checkout { $_[0]->git('checkout', '-q', $_[1]) }

# A tag at the current commit: annotated when it has a message.
sub tag {
    my ($self, $name, $message) = @_;
    $self->git('tag', defined $message ? ('-a', '-m', $message) : (), $name);
    $self->push;
}

sub sha { $_[0]->git('rev-parse', "$_[1]^{commit}") }

sub push {
    my ($self) = @_;
    $self->git('push', '-q', '--force', '--all', $self->{bare});
    $self->git('push', '-q', '--force', '--tags', $self->{bare});
}

1;
