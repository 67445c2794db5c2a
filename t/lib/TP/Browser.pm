package TP::Browser;
# A browser for the sign-in tests: an agent with a cookie jar that shows
# redirects instead of following them, the sign-in form's fields, and the
# PKCE values and authorize URLs terraform login would make.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use LWP::UserAgent ();
use HTTP::Cookies ();
use HTTP::Request::Common ();
use Digest::SHA qw(sha256 sha256_hex);
use MIME::Base64 qw(encode_base64url);
use URI ();
use URI::QueryParam ();
use Apache::TestRequest ();
use TP::Test ();

our @EXPORT = qw(browser url password_user form_fields sign_in pkce
                 authorize_url cookie query_of sha256_hex);

sub url { Apache::TestRequest::resolve_url($_[0]) }

sub browser {
    return LWP::UserAgent->new(cookie_jar => HTTP::Cookies->new,
                               max_redirect => 0, keep_alive => 0);
}

# A local user with a password (created or reset with terrapod-admin).
sub password_user {
    my ($email, $password, %opt) = @_;
    TP::Test::admin_cmd('user', '--email', $email, '--password',
                        quotemeta $password, $opt{admin} ? '--admin' : ());
}

# name => value of the <input>s of a page.
sub form_fields {
    my ($html) = @_;
    my %f;
    while ($html =~ /<input type="\w+" name="(\w+)"(?: value="([^"]*)")?/g) {
        my ($k, $v) = ($1, $2 // '');
        $v =~ s/&amp;/&/g; $v =~ s/&quot;/"/g; $v =~ s/&lt;/</g;
        $v =~ s/&gt;/>/g; $v =~ s/&#39;/'/g;
        $f{$k} = $v;
    }
    return \%f;
}

# Fetches the sign-in page at $page (a path) and posts the form with
# email and password (and overrides); returns the POST's response.
sub sign_in {
    my ($ua, $page, $email, $password, %over) = @_;
    my $r = $ua->get(url($page));
    die "sign-in page: " . $r->as_string unless $r->code == 200;
    my $f = form_fields($r->content);
    my %fields = (%$f, email => $email, password => $password, %over);
    delete $fields{$_} for grep { !defined $fields{$_} } keys %fields;
    return $ua->request(HTTP::Request::Common::POST(
        url('/api/terrapod/v1/auth/callback'), \%fields));
}

sub pkce {
    my $verifier = encode_base64url(join '', map { chr int rand 256 } 1 .. 48);
    return ($verifier, encode_base64url(sha256($verifier)));
}

# The authorize URL terraform login opens, with overrides (undef drops).
sub authorize_url {
    my (%over) = @_;
    my %q = (client_id => 'terraform-cli',
             redirect_uri => 'http://localhost:10005/login',
             response_type => 'code', state => 'st-' . int(rand 1e9),
             code_challenge_method => 'S256', %over);
    my $u = URI->new('/oauth/authorize');
    $u->query_form(map { defined $q{$_} ? ($_ => $q{$_}) : () } sort keys %q);
    return $u->as_string;
}

# The value of a cookie in the agent's jar; undef when it has none.
sub cookie {
    my ($ua, $name) = @_;
    my $v;
    $ua->cookie_jar->scan(sub { $v = $_[2] if $_[1] eq $name });
    return $v;
}

# The query parameters of a URL as a hash.
sub query_of {
    my $u = URI->new(shift);
    return { map { $_ => scalar $u->query_param($_) } $u->query_param };
}

1;
