package TP::Tokens;
# Helpers for the token and user administration tests: user ids, token
# creation of each kind, roles and their assignment, and sign-in times.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use TP::Test;
use Time::Local qw(timegm);

our @EXPORT = qw(user_id tokens_path create_token make_role assign_roles
                 signed_in_days_ago works_as epoch_of);

my $ROLES = '/api/terrapod/v1/roles';
my $RA = '/api/terrapod/v1/role-assignments';

# The user id behind a token.
sub user_id {
    my ($token) = @_;
    my $r = api(GET => '/api/v2/account/details', token => $token);
    die 'account details: ' . $r->as_string unless $r->code == 200;
    return json_of($r)->{data}{id};
}

sub tokens_path { "/api/terrapod/v1/users/$_[0]/authentication-tokens" }

# POST a token for user_id as token; returns the response.
sub create_token {
    my ($token, $user_id, %attrs) = @_;
    return api(POST => tokens_path($user_id), token => $token,
               body => {data => {type => 'authentication-tokens',
                                 attributes => \%attrs}});
}

# A custom role granting level on workspaces labelled {key => value}.
sub make_role {
    my ($admin, $name, $level, %labels) = @_;
    my $r = api(POST => $ROLES, token => $admin,
                body => {data => {type => 'roles',
                                  attributes => {name => $name,
                                                 'workspace-permission' => $level,
                                                 'allow-labels' => \%labels}}});
    die "creating role $name: " . $r->as_string unless $r->code == 201;
}

# Gives email exactly these roles.
sub assign_roles {
    my ($admin, $email, @roles) = @_;
    my $r = api(PUT => $RA, token => $admin,
                body => {data => {type => 'role-assignments',
                                  attributes => {'provider-name' => 'local',
                                                 email => $email,
                                                 roles => \@roles}}});
    die "assigning @roles to $email: " . $r->as_string unless $r->code == 200;
}

# Sets a user's last sign-in to days ago (undef: never), and waits until
# tokens in use see it.
sub signed_in_days_ago {
    my ($email, $days) = @_;
    my $at = defined $days ? "now() - interval '$days days'" : 'NULL';
    sql("UPDATE users SET last_login_at = $at WHERE email = '$email'");
    token_cache_expired();
}

# The HTTP status of GET path with token.
sub works_as {
    my ($token, $path) = @_;
    return api(GET => $path // '/api/v2/account/details', token => $token)->code;
}

# Seconds since the epoch of an API timestamp; undef when it is none.
sub epoch_of {
    my ($ts) = @_;
    my ($y, $mo, $d, $h, $mi, $s) = ($ts // '') =~
        /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?Z$/ or return undef;
    return timegm($s, $mi, $h, $d, $mo - 1, $y);
}

1;
