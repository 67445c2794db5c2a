# TerrapodReadCache against a real instance: 0 keeps no answer, so a
# change made outside the server shows on the next request; a long
# lifetime keeps answering what it read until then, while a change made
# through the server shows at once. Values outside 0..60 stop the
# configuration. One keep-alive connection keeps the requests on the
# process that kept the answer.
use strict;
use warnings FATAL => 'all';
use Test::More;
use JSON::PP ();
use TP::E2E;
use TP::Faults;

my $n = 0;

sub restart_with {
    restart_with_snippet('read-cache', "TerrapodReadCache $_[0]\n");
}

# A new workspace: its id.
sub new_ws {
    my $name = 'rc08-' . $$ . '-' . ++$n;
    my ($res, $doc) = api(POST => '/api/v2/organizations/default/workspaces',
        body => {data => {type => 'workspaces', attributes => {
            name => $name, description => 'first'}}});
    die 'creating a workspace: ' . $res->content unless $res->code == 201;
    return $doc->{data}{id};
}

# A workspace's description as read over one kept-alive connection.
sub connection {
    my $get = kept_alive();
    my $json = JSON::PP->new;
    return sub {
        my $res = $get->("/api/v2/workspaces/$_[0]");
        return $res->code == 200
               ? $json->decode($res->content)->{data}{attributes}{description}
               : $res->code;
    };
}

sub describe_by_sql {
    my ($ws, $text) = @_;
    psql("UPDATE workspaces SET description = '$text' WHERE id = '$ws'");
}

subtest 'TerrapodReadCache outside 0..60 stops the configuration' => sub {
    config_refuses(snippet('read-cache'), 'TerrapodReadCache', '0 to 60',
                   -1, 61, 'soon');
};

subtest 'TerrapodReadCache 0: every read goes to the database' => sub {
    restart_with(0);
    my $ws = new_ws();
    my $c = connection();
    is $c->($ws), 'first', 'read';
    describe_by_sql($ws, 'by sql');
    is $c->($ws), 'by sql', 'changed by SQL: seen on the next request';
};

subtest 'a long lifetime: kept until the server writes' => sub {
    restart_with(30);
    my $ws = new_ws();
    my $c = connection();
    is $c->($ws), 'first', 'read (and kept)';
    describe_by_sql($ws, 'by sql');
    is $c->($ws), 'first', 'changed by SQL: the kept answer still';
    my ($res) = api(PATCH => "/api/v2/workspaces/$ws", body => {data => {
        type => 'workspaces', attributes => {description => 'by api'}}});
    is $res->code, 200, 'changed through the API';
    is $c->($ws), 'by api', 'seen at once';
};

done_testing;
