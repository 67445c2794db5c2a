package TP::VCSFixture;
# What the tests of VCS-bound workspaces share: a free port for a fake
# provider, a GitHub App's key pair, a git repository built commit by
# commit and served bare, and a fake GitHub and a fake GitLab with their
# connections.
#
#   my $repo = TP::VCSFixture::Repo->new("$dir/infra");
#   my $sha = $repo->commit('add vpc', 'envs/dev/main.tf' => '...');
#   $repo->tag('v1', 'release');            # annotated with a message
#   $repo->pull('main');                    # as a merge on the fake left it
#   my $f = fake_providers(dir => $dir, api => \&api, admin => $admin,
#                          name => 'vcs90', app_id => 9090,
#                          github => {'acme/infra' => $repo->bare},
#                          gitlab => {'group/infra' => $repo->bare});
#   # $f->{gh}, $f->{gl}: the fakes; $f->{github}, $f->{gitlab}: the
#   # connections' ids; $f->{gitlab_token}
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use File::Path qw(make_path);
use File::Basename qw(dirname);
use JSON::PP ();
use TP::FakeGitHub;
use TP::FakeGitLab;
use TP::Util;

our @EXPORT = qw(app_key_pair vcs_connection fake_providers);


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

# Creates a VCS connection with the platform admin's token $admin through
# $api (TP::Test's api, or a wrapper of it); returns its id.
sub vcs_connection {
    my ($api, $admin, %attrs) = @_;
    my $r = $api->(POST => '/api/terrapod/v1/vcs-connections', token => $admin,
                   body => {data => {type => 'vcs-connections',
                                     attributes => \%attrs}});
    die 'creating a VCS connection: ' . $r->as_string unless $r->code == 201;
    return JSON::PP->new->decode($r->content)->{data}{id};
}

# A fake GitHub of App app_id (installation app_id * 100 + 1) serving the
# repositories of github, and a fake GitLab with a token of its own
# serving the projects of gitlab, each with its connection
# ("NAME-github", "NAME-gitlab").
sub fake_providers {
    my (%o) = @_;
    my ($key, $pub) = app_key_pair($o{dir});
    my $installation = $o{app_id} * 100 + 1;
    my %f = (gitlab_token => "glpat-$o{name}-"
                             . join '', map { ('a'..'z')[rand 26] } 1..20);
    $f{gh} = TP::FakeGitHub->new(port => free_port(), app_id => $o{app_id},
                                 installation_id => $installation,
                                 public_key => $pub, account => 'acme',
                                 repos => $o{github})->start;
    $f{gl} = TP::FakeGitLab->new(port => free_port(), token => $f{gitlab_token},
                                 username => 'ci-bot',
                                 projects => $o{gitlab})->start;
    $f{github} = vcs_connection($o{api}, $o{admin}, name => "$o{name}-github",
        provider => 'github', 'server-url' => $f{gh}->base,
        'github-app-id' => $o{app_id},
        'github-installation-id' => $installation, 'private-key' => $key);
    $f{gitlab} = vcs_connection($o{api}, $o{admin}, name => "$o{name}-gitlab",
        provider => 'gitlab', 'server-url' => $f{gl}->base,
        token => $f{gitlab_token});
    return \%f;
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

# Branch $branch checked out as the bare repository has it (a merge the
# provider made there), before the next push would undo it.
sub pull {
    my ($self, $branch) = @_;
    $self->checkout($branch);
    $self->git('fetch', '-q', $self->{bare}, $branch);
    $self->git('reset', '-q', '--hard', 'FETCH_HEAD');
}

sub push {
    my ($self) = @_;
    $self->git('push', '-q', '--force', '--all', $self->{bare});
    $self->git('push', '-q', '--force', '--tags', $self->{bare});
}

1;
