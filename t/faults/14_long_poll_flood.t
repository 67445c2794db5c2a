# A flood of listener long polls (runs/next) cannot starve the API: each
# Apache process holds at most TerrapodMaxHeldRequests of them and answers
# the rest at once, 503 with Retry-After and a JSON:API error, while
# /health and an authenticated GET keep answering within a second. The
# instance's listener, refused while every place is taken, polls again
# after the Retry-After and polls, held, once the flood is over. Out-of-
# range maximums stop the configuration. Quick: a
# flood of 10 s; under make check-faults of 30 s.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Time::HiRes ();
use POSIX ();
use JSON::PP ();
use LWP::UserAgent ();
use TP::E2E;
use TP::Faults;

my $e = instance();
my $dir = $e->{DIR};
my $seconds = $ENV{TP_FAULTS_LONG} ? 30 : 10;
my $json = JSON::PP->new;

# a listener of a pool of its own (no workspace runs there, so its polls
# never claim a run), its certificate and key as files
my ($res, $doc) = api(POST => '/api/terrapod/v1/agent-pools',
    body => {data => {type => 'agent-pools', attributes => {name => "fault-flood-$$"}}});
is $res->code, 201, 'a pool';
($res, $doc) = api(POST => "/api/terrapod/v1/agent-pools/$doc->{data}{id}/authentication-tokens",
    body => {data => {type => 'authentication-tokens', attributes => {}}});
($res, $doc) = api(POST => '/api/terrapod/v1/agent-pools/join',
    body => {join_token => $doc->{data}{attributes}{token}, name => "flood-$$"});
is $res->code, 201, 'a listener joins';
my $work = workdir();
write_file("$work/flood.pem", $doc->{certificate});
write_file("$work/flood.key", $doc->{private_key});
my $NEXT = "$e->{TERRAPOD_URL}/api/terrapod/v1/listeners/$doc->{listener_id}/runs/next?wait=25";

# n processes polling runs/next, as that many listeners would: each again
# as soon as its poll is answered, after the Retry-After when refused,
# for seconds; in the background. Gives a function that waits for them and returns one
# [status, seconds, Retry-After, JSON body] per poll.
sub flood {
    my ($n, $seconds) = @_;
    my $out = "$work/flood.out";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 60,
            ssl_opts => {SSL_ca_file => $e->{TERRAPOD_CA_FILE},
                         SSL_cert_file => "$work/flood.pem",
                         SSL_key_file => "$work/flood.key"});
        my @lines = hammer($n, $seconds, sub {
            my $t = Time::HiRes::time();
            my $r = $ua->get($NEXT);
            my $took = Time::HiRes::time() - $t;
            Time::HiRes::sleep($r->header('Retry-After') // 5) if $r->code == 503;
            return $json->encode([$r->code, $took, $r->header('Retry-After'),
                                  $r->code == 503 ? $r->content : '']);
        });
        write_file($out, join "\n", @lines);
        POSIX::_exit(0);
    }
    return sub {
        waitpid $pid, 0;
        open my $fh, '<', $out or die "$out: $!";
        return map { $json->decode($_) } grep { /\S/ } <$fh>;
    };
}

subtest 'TerrapodMaxHeldRequests outside 1..100000 stops the configuration' => sub {
    config_refuses(snippet('held'), 'TerrapodMaxHeldRequests', '1 to 100000',
                   0, 100001, 'half');
};

subtest 'a flood of long polls does not starve the API' => sub {
    my $done = flood(450, $seconds);
    Time::HiRes::sleep(2);
    my @got = answer_times($seconds - 2, '/health', '/api/v2/account/details');
    my @polls = $done->();
    for my $path ('/health', '/api/v2/account/details') {
        my @mine = grep { $_->[0] eq $path } @got;
        my @bad = grep { $_->[1] != 200 || $_->[2] > 1 } @mine;
        ok @mine >= 8 && !@bad, "$path answered 200 within 1 s, " . scalar(@mine)
           . ' times' or diag join "\n", map { sprintf '%d after %.2f s', @$_[1, 2] } @bad;
    }
    my @held = grep { $_->[0] == 204 } @polls;
    my @refused = grep { $_->[0] == 503 } @polls;
    ok @held >= 16, scalar(@held) . ' polls were held for their wait';
    ok @refused, scalar(@refused) . ' were refused';
    is scalar(grep { $_->[0] != 204 && $_->[0] != 503 } @polls), 0,
       'no other answer' or diag explain [grep { $_->[0] != 204 && $_->[0] != 503 } @polls];
    # (a first one includes its TLS handshake among 450 at once)
    my @slow = sort { $b <=> $a } map { $_->[1] } grep { $_->[1] > 3 } @refused;
    ok !@slow, 'refused at once, not after a wait of 25 s' or diag "@slow";
    ok !grep({ ($_->[2] // '') ne '5' } @refused), 'with Retry-After: 5';
    my $err = eval { $json->decode($refused[0][3])->{errors}[0] } || {};
    is $err->{status}, '503', 'and a JSON:API error';
    like $err->{detail} // '', qr/ask again in 5 seconds/, 'saying when to ask again';
    ok error_log() =~ /TP01401: this process holds its maximum of \d+ waiting requests/,
       'the error log says a process was full';
};

subtest 'the listener polls again after the Retry-After' => sub {
    # one process, one place: the flood holds it, the listener is refused;
    # polls wait 5 s at most, so the listener's first held one soon ends
    restart_with_snippet('flood', join "\n", 'ServerLimit 1', 'StartServers 1',
                         'MaxRequestWorkers 25', 'MinSpareThreads 5',
                         'MaxSpareThreads 25', 'TerrapodMaxHeldRequests 1',
                         'TerrapodListenerPollWait 5', '');
    my $log = "$dir/log/listener.log";
    my $before = -s $log;
    my $done = flood(3, 20);
    Time::HiRes::sleep(20);
    my @polls = $done->();
    ok grep({ $_->[0] == 503 } @polls), 'the flood keeps the one place taken';
    open my $fh, '<', $log or die "$log: $!";
    seek $fh, $before, 0;
    my @refusals = grep { /TPL0022: polling for work refused: HTTP 503/ } <$fh>;
    ok @refusals >= 2, scalar(@refusals) . ' refusals of the listener';
    like $refusals[0] // '', qr/polling again in 5 s/, 'it waits the Retry-After';
    my @at = map { /T(\d\d):(\d\d):(\d\d)Z/ ? $1 * 3600 + $2 * 60 + $3 : () } @refusals;
    my @gaps = map { $at[$_] - $at[$_ - 1] } 1 .. $#at;
    ok !grep({ $_ < 4 } @gaps), "between its polls: @gaps s";
    my $listener = $json->decode(do { local (@ARGV, $/) = "$dir/listener/listener.json"; <> })
                        ->{listener_id};
    my $since = time;
    ok wait_until(15, sub {
        psql("SELECT count(*) FROM audit_log WHERE status = 204"
             . " AND path = '/api/terrapod/v1/listeners/$listener/runs/next'"
             . " AND at > to_timestamp($since)") > 0
    }), 'once the flood is over it polls, held again';
};

done_testing;
