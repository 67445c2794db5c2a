# What the error log tells an operator about the database. At start-up, a
# warning when Apache may open more connections than PostgreSQL accepts
# (processes x DBDMax against max_connections). During an outage, the
# database's reason on one line (libpq's messages end in a newline, which
# the log showed as a literal "\n"); and at the default LogLevel warn the
# recovery is logged as well as the failure.
use strict;
use warnings FATAL => 'all';
use Test::More;
use TP::E2E;
use TP::Faults;

# What the error log gained since it was seen at length seen.
sub log_since { substr error_log(), $_[0] }

# The instance: ServerLimit 16, ThreadsPerChild 25, DBDMax 25,
# PostgreSQL's max_connections 450 of which 3 are reserved for
# superusers. The background child checks once it has connected after a
# start.
subtest 'connection sizing is checked at start-up' => sub {
    my $seen = length error_log();
    restart_with_snippet('db-sizing', "# as made\n");
    ok wait_until(20, sub { log_since($seen) =~ /TP0021[23]/ }), 'the check ran';
    like log_since($seen),
         qr/TP00213: Apache may open up to 433 database connections; PostgreSQL accepts 447/,
         'MaxRequestWorkers 400: 16 processes x (25 + 1 audit writer + 1 event hub) + 1 fit';
    unlike log_since($seen), qr/TP00212/, 'no warning';

    $seen = length error_log();
    restart_with_snippet('db-sizing', "ThreadsPerChild 30\nMaxRequestWorkers 480\n"
                                      . "DBDMax 30\n");
    ok wait_until(20, sub { log_since($seen) =~ /TP0021[23]/ }), 'checked again';
    like log_since($seen), qr/TP00212: Apache may open up to 513 database connections \(16 processes x \(30 pooled \+ 1 audit writer \+ 1 event hub\) \+ 1 background child\); PostgreSQL accepts 447 \(max_connections 450 less 3 reserved\)/,
         'DBDMax 30 on 30 threads: 16 processes need 513, and a warning says so';
    like log_since($seen), qr/\[terrapod:warn\][^\n]*TP00212/, 'at warning level';
    write_file(snippet('db-sizing'), "# as made\n");
};

subtest 'an outage and the recovery, at LogLevel warn' => sub {
    my $seen = length error_log();
    restart_with_snippet('log-level', "LogLevel warn\n");
    {
        pg_kill9();
        # past the token cache's second, so the request needs the database
        sleep 2;
        my ($res) = api(GET => '/api/v2/account/details');
        is $res->code, 503, 'a request while the database is down: 503';
        ok wait_until(10, sub { log_since($seen) =~ /TP00202|TP00211/ }),
           'the background child notices';
        pg_restart();
        ok wait_until(20, sub { log_since($seen) =~ /TP00203: background child connected to the database after/ }),
           'and logs its reconnection';
    }
    my $log = log_since($seen);
    like $log, qr/TP00100: 503 database unavailable/, 'the failed request is logged';
    like $log, qr/TP00202: background child cannot reach the database \(connection to server on socket "[^"]+" failed: [^\n]+ Is the server running locally[^\n]*\); retrying\n/,
         "the child's failure with the database's reason, on one line";
    like $log, qr/TP00203: background child connected to the database after \d+ s without it/,
         'the recovery is in the log at LogLevel warn';
    my @escaped = grep { /TP0\d{4}:.*\\[nt]/ } split /\n/, $log;
    is_deeply \@escaped, [], 'no line carries a literal \n or \t';
};

done_testing;
