# TerrapodTokenCache against a real instance: 0 looks every token up
# again, so a token deleted outside the API is refused on the next
# request; a long lifetime keeps believing such a token, but never past
# the token's own expiry. Values outside 0..300 stop the configuration.
# One keep-alive connection keeps the requests on the process that
# looked the token up.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Time::HiRes qw(time sleep);
use TP::E2E;
use TP::Faults;

my $n = 0;

sub restart_with {
    restart_with_snippet('token-cache', "TerrapodTokenCache $_[0]\n");
}

# A fresh user's token (raw) and its id.
sub new_token {
    my $email = 'tc07-' . $$ . '-' . ++$n . '@test.local';
    admin_cmd('user', '--email', $email);
    my ($raw) = admin_cmd('token', '--email', $email)
        =~ /^TERRAPOD_TOKEN='([^']+)'/m or die 'no token';
    my $id = psql("SELECT id FROM api_tokens WHERE user_email = '$email'");
    return ($raw, $id);
}

# GET account details over one kept-alive connection: its status.
sub connection {
    my $get = kept_alive();
    return sub { $get->('/api/v2/account/details', $_[0])->code };
}

subtest 'TerrapodTokenCache outside 0..300 stops the configuration' => sub {
    config_refuses(snippet('token-cache'), 'TerrapodTokenCache', '0 to 300',
                   -1, 301, 'soon');
};

subtest 'TerrapodTokenCache 0: every request looks its token up' => sub {
    restart_with(0);
    my ($raw, $id) = new_token();
    my $c = connection();
    is $c->($raw), 200, 'the token works';
    psql("DELETE FROM api_tokens WHERE id = '$id'");
    is $c->($raw), 401, 'deleted outside the API: 401 on the next request';
};

subtest 'a long lifetime, capped by the token\'s expiry' => sub {
    restart_with(30);
    my ($raw, $id) = new_token();
    my $c = connection();
    is $c->($raw), 200, 'the token works';
    psql("DELETE FROM api_tokens WHERE id = '$id'");
    is $c->($raw), 200, 'deleted outside the API: still believed';

    ($raw, $id) = new_token();
    psql("UPDATE api_tokens SET expires_at = now() + interval '2 seconds'"
         . " WHERE id = '$id'");
    my $expires = time + 2;
    is $c->($raw), 200, 'a token expiring in 2 s works';
    sleep $expires - time + 0.3;
    is $c->($raw), 401, 'past its expiry: 401 well within the lifetime';
};

done_testing;
