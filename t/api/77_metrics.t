# /metrics (TerrapodMetrics On in the suite's main server): exposition
# text that parses as format 0.0.4; request series moving by exactly the
# requests made, under their route pattern, method and status class, and
# unknown paths counted by method only; no id or client-chosen name in any
# label; the connections in use; runs by status, the queue depth and
# listeners connected and busy as the database has them; task turns of
# the background child; storage failures; a scrape with the database
# down. Who may read it: the loopback address, not a forwarded other one
# unless an admin or auditor token comes along; on terrapod_metrics_elsewhere
# (t/conf/extra.conf.in) only 192.0.2.0/24; on terrapod_metrics_off no one.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use TP::Test;
use TP::Listener;

plan tests => 69;

my $NAT = '/api/terrapod/v1';

sub base_of {
    my ($vhost, $scheme) = @_;
    Apache::TestRequest::module($vhost);
    my $base = ($scheme // 'http') . '://' . Apache::TestRequest::hostport();
    $Apache::TestRequest::Module = undef;
    return $base;
}
# behind the proxy, which proves itself: the addresses it forwards count
my $ELSEWHERE = base_of('terrapod_metrics_elsewhere', 'https');
my $OFF = base_of('terrapod_metrics_off');

# ==== a small parser of the exposition format ====

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $VALUE = qr/[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN/;

# A sample's key: its name and its labels in name order.
sub key_of {
    my ($name, %labels) = @_;
    return $name . '{' . join(',', map { "$_=$labels{$_}" } sort keys %labels) . '}';
}

# The labels of a sample's {...}, unescaped; undef when malformed.
sub parse_labels {
    my ($text) = @_;
    my %labels;
    while (length $text) {
        $text =~ s/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)// or return undef;
        my ($k, $v) = ($1, $2);
        return undef if exists $labels{$k};
        $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
        $labels{$k} = $v;
    }
    return \%labels;
}

# The family of a sample: a histogram's name for its _bucket, _sum and
# _count, else the sample's own name.
sub family_of {
    my ($name, $types) = @_;
    if ($name =~ /^(.*)_(?:bucket|sum|count)$/ && ($types->{$1} // '') eq 'histogram') {
        return $1;
    }
    return $name;
}

# {types, samples (key => value), errors}
sub parse_exposition {
    my ($text) = @_;
    my (%types, %help, %samples, @list, @errors);
    push @errors, 'no final newline' unless $text =~ /\n\z/;
    for my $line (split /\n/, $text) {
        if ($line =~ /^# HELP ($NAME) (.*)$/) {
            push @errors, "HELP of $1 twice" if $help{$1}++;
        }
        elsif ($line =~ /^# TYPE ($NAME) (counter|gauge|histogram|summary|untyped)$/) {
            push @errors, "TYPE of $1 twice or after its samples" if $types{$1};
            $types{$1} = $2;
        }
        elsif ($line =~ /^($NAME)(?:\{(.*)\})? ($VALUE)$/) {
            my ($name, $value) = ($1, $3);
            my $labels = parse_labels($2 // '');
            my $family = family_of($name, \%types);
            if (!$labels) { push @errors, "labels of: $line"; next }
            push @errors, "sample before its TYPE: $line" unless $types{$family};
            push @errors, "counter not named _total: $name"
                if ($types{$family} // '') eq 'counter' && $name !~ /_total$/;
            my $key = key_of($name, %$labels);
            push @errors, "sample twice: $key" if exists $samples{$key};
            $samples{$key} = $value;
            push @list, [$name, $labels, $value];
        }
        else {
            push @errors, "not a comment or a sample: $line";
        }
    }
    check_histograms(\%types, \%samples, \@list, \@errors);
    return {types => \%types, samples => \%samples, list => \@list, errors => \@errors};
}

# Each histogram series: ascending le ending in +Inf, cumulative counts,
# +Inf equal to _count, a _sum.
sub check_histograms {
    my ($types, $samples, $list, $errors) = @_;
    my %series;
    for (@$list) {
        my ($name, $labels, $value) = @$_;
        next unless $name =~ /^(.*)_bucket$/ && ($types->{$1} // '') eq 'histogram';
        my %l = %$labels;
        my $le = delete $l{le};
        push @{ $series{$1}{key_of('', %l)} }, [$le, $value, \%l];
    }
    for my $fam (sort keys %series) {
        for my $s (sort keys %{ $series{$fam} }) {
            my @b = @{ $series{$fam}{$s} };
            my %l = %{ $b[0][2] };
            my $inf = sub { $_[0] eq '+Inf' ? 9**9**9 : $_[0] };
            for my $i (1 .. $#b) {
                push @{$errors}, "$fam$s: le not ascending" if $inf->($b[$i][0]) <= $inf->($b[$i - 1][0]);
                push @{$errors}, "$fam$s: buckets not cumulative" if $b[$i][1] < $b[$i - 1][1];
            }
            push @{$errors}, "$fam$s: no +Inf bucket" unless $b[-1][0] eq '+Inf';
            my $count = $samples->{key_of("${fam}_count", %l)};
            push @{$errors}, "$fam$s: +Inf is not the count"
                unless defined $count && $count == $b[-1][1];
            push @{$errors}, "$fam$s: no _sum" unless defined $samples->{key_of("${fam}_sum", %l)};
        }
    }
}

# ==== scraping ====

sub scrape_raw {
    my (%opt) = @_;
    return api(GET => ($opt{base} // '') . '/metrics', %opt);
}

sub scrape {
    my $r = scrape_raw(@_);
    die 'scrape: ' . $r->as_string unless $r->code == 200;
    return parse_exposition($r->content);
}

# A sample's value (0 when the series has not appeared).
sub val {
    my ($m, $name, %labels) = @_;
    return $m->{samples}{key_of($name, %labels)} // 0;
}

my $REQ = 'terrapod_http_request_duration_seconds';
sub req_count {
    my ($m, $route, $method, $class) = @_;
    return val($m, "${REQ}_count", route => $route, method => $method, status_class => $class);
}

# The request series are written after each response: a scrape waits
# until what is expected there has arrived (and may show too much).
sub scrape_when {
    my ($ready) = @_;
    my $m;
    wait_until(10, sub { $m = scrape(); $ready->($m) });
    return $m;
}

# ==== the text and its format ====

my $r = scrape_raw();
is $r->code, 200, 'loopback, no token: 200';
is $r->header('Content-Type'), 'text/plain; version=0.0.4; charset=utf-8',
   'the exposition format\'s content type';
my $m0 = parse_exposition($r->content);
is_deeply $m0->{errors}, [], 'the text parses as the exposition format';
is_deeply [map { $m0->{types}{$_} // 'missing' } qw(terrapod_http_request_duration_seconds
    terrapod_db_connections_in_use terrapod_db_acquire_seconds terrapod_db_acquire_failures_total
    terrapod_storage_errors_total terrapod_task_runs_total terrapod_task_duration_seconds
    terrapod_database_up terrapod_runs terrapod_run_queue_depth terrapod_listeners_connected
    terrapod_listeners_busy)],
    [qw(histogram gauge histogram counter counter counter histogram gauge gauge gauge gauge gauge)],
    'every family, with its type';
is val($m0, 'terrapod_database_up'), 1, 'the database answered';
is val($m0, 'terrapod_db_connections_in_use'), 1,
   'connections in use: the scrape\'s own, in whichever process answered';

# ==== requests move their series by exactly what was done ====

my $admin = admin_token();
my $owner = user_token('metrics77-owner@test.local');
my $ws = make_ws($owner, 'metrics77-ws');
my $WS = '/api/v2/workspaces/{id}';
my $before = scrape();
is api(GET => "/api/v2/workspaces/$ws", token => $owner)->code, 200, 'a workspace read' for 1 .. 3;
is api(GET => '/api/v2/workspaces/ws-metrics77AbCdEfGh', token => $owner)->code, 404,
   'an absent workspace' for 1 .. 2;
is api(GET => "/api/v2/metrics77-nowhere/$ws", token => $owner)->code, 404, 'an unknown path';
is api(POST => '/api/v2/ping')->code, 405, 'a method the path does not take';
my $after = scrape_when(sub {
    req_count($_[0], 'unmatched', 'POST', '4xx') > req_count($before, 'unmatched', 'POST', '4xx')
});
is req_count($after, $WS, 'GET', '2xx') - req_count($before, $WS, 'GET', '2xx'), 3,
   'three reads: the route pattern\'s 2xx count moved by 3';
is val($after, "${REQ}_bucket", route => $WS, method => 'GET', status_class => '2xx', le => '+Inf')
   - val($before, "${REQ}_bucket", route => $WS, method => 'GET', status_class => '2xx', le => '+Inf'),
   3, 'and its +Inf bucket by 3';
ok val($after, "${REQ}_sum", route => $WS, method => 'GET', status_class => '2xx')
   > val($before, "${REQ}_sum", route => $WS, method => 'GET', status_class => '2xx'),
   'and its sum of seconds grew';
is req_count($after, $WS, 'GET', '4xx') - req_count($before, $WS, 'GET', '4xx'), 2,
   'two absent workspaces: the 4xx count moved by 2';
is req_count($after, 'unmatched', 'GET', '4xx') - req_count($before, 'unmatched', 'GET', '4xx'), 1,
   'the unknown path: one unmatched GET';
is req_count($after, 'unmatched', 'POST', '4xx') - req_count($before, 'unmatched', 'POST', '4xx'), 1,
   'the wrong method: one unmatched POST';
is req_count($after, $WS, 'GET', '5xx'), 0, 'no 5xx';
ok req_count($after, '/metrics', 'GET', '2xx') >= 1, 'scrapes count under /metrics';
is_deeply $after->{errors}, [], 'still well formed';

# ==== labels are bounded ====

my $text = scrape_raw()->content;
unlike $text, qr/\b[a-z]+-[A-Za-z0-9]{16}\b/, 'no id anywhere in the text';
unlike $text, qr/metrics77/, 'no path or name a client chose';
my %values;
for my $sample (@{ $after->{list} }) {
    $values{$_}{ $sample->[1]{$_} } = 1 for keys %{ $sample->[1] };
}
is_deeply [grep { $_ ne 'unmatched' && !m{^/[A-Za-z0-9/{}._-]*$} } keys %{ $values{route} }], [],
    'routes are patterns of the route table or "unmatched"';
is_deeply [grep { !/^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|other)$/ } keys %{ $values{method} }], [],
    'methods from a fixed list';
is_deeply [grep { !/^[1-5]xx$/ } keys %{ $values{status_class} }], [], 'status classes';

# ==== runs and listeners as the database has them ====

my ($pool, $join) = make_pool($admin, 'metrics77-pool');
my $aws = make_ws($owner, 'metrics77-agent');
$r = api(PATCH => "/api/v2/workspaces/$aws", token => $admin,
         body => {data => {type => 'workspaces',
                           attributes => {'execution-mode' => 'agent', 'agent-pool-id' => $pool}}});
is $r->code, 200, 'a workspace running on the pool\'s listeners';
my $cv = make_cv($owner, $aws, 'auto-queue-runs' => JSON::PP::false());
$r = api(POST => '/api/v2/runs', token => $owner,
         body => {data => {type => 'runs', attributes => {},
                           relationships => {workspace => {data => {type => 'workspaces', id => $aws}}}}});
is $r->code, 201, 'a run';
my $run = json_of($r)->{data}{id};
is sql("SELECT status FROM runs WHERE id = '$run'"), 'plan_queued', 'queued for a listener';

my @ACTIVE = qw(pending plan_queued planning planned confirmed apply_queued applying);
# The gauges agree with the database at one moment (other tests' runs and
# listeners may change between two looks, so both are looked at again).
sub agrees {
    my ($what) = @_;
    my ($m, $want, $got);
    my $ok = wait_until(10, sub {
        $m = scrape();
        $want = $what->();
        $got = {map { $_ => val($m, $_ =~ /^runs:(.*)$/ ? ('terrapod_runs', status => $1) : $_) }
                keys %$want};
        return join(',', map { "$_=$got->{$_}" } sort keys %$got)
            eq join(',', map { "$_=$want->{$_}" } sort keys %$want);
    });
    diag explain {want => $want, got => $got} unless $ok;
    return $ok;
}
sub db_runs {
    my %n = map { $_ => 0 } @ACTIVE;
    for (split /\n/, sql("SELECT status || ' ' || count(*) FROM runs GROUP BY status")) {
        my ($s, $c) = split / /;
        $n{$s} = $c if exists $n{$s};
    }
    my %g = map { ("runs:$_" => $n{$_}) } @ACTIVE;
    $g{terrapod_run_queue_depth} = $n{plan_queued} + $n{apply_queued};
    return \%g;
}
my $ONLINE = "NOT revoked AND last_heartbeat_at > now() - interval '3 minutes'";
sub db_listeners {
    return {
        terrapod_listeners_connected => sql("SELECT count(*) FROM listeners WHERE $ONLINE"),
        terrapod_listeners_busy => sql("SELECT count(*) FROM listeners l WHERE $ONLINE AND EXISTS"
            . " (SELECT 1 FROM runs r WHERE r.listener_id = l.id AND r.status IN ('planning', 'applying'))"),
    };
}
ok agrees(\&db_runs), 'runs by status and the queue depth, the queued run among them';
ok val(scrape(), 'terrapod_run_queue_depth') >= 1, 'the queue is not empty';

my $l = join_as($join, 'metrics77-l1');
is as_l($l, POST => '/heartbeat')->code, 200, 'a listener heartbeats';
ok agrees(\&db_listeners), 'listeners connected and busy agree with the database';
my $connected = val(scrape(), 'terrapod_listeners_connected');
ok $connected >= 1, "the listener is connected ($connected)";
$r = as_l($l, GET => '/runs/next?wait=0');
is $r->code, 200, 'the listener takes the run';
is sql("SELECT status FROM runs WHERE id = '$run'"), 'planning', 'planning';
ok agrees(sub { +{%{ db_runs() }, %{ db_listeners() }} }), 'after the claim: runs and listeners agree';
ok val(scrape(), 'terrapod_listeners_busy') >= 1, 'a busy listener';

# ==== the background child's task turns ====

my $task = sub { val($_[0], 'terrapod_task_runs_total', task => 'reconcile-runs', outcome => $_[1]) };
$before = scrape();
$after = scrape_when(sub { $task->($_[0], 'ok') > $task->($before, 'ok') });
ok $task->($after, 'ok') > $task->($before, 'ok'), 'reconcile-runs turns are counted (every second here)';
is val($after, 'terrapod_task_duration_seconds_count', task => 'reconcile-runs'),
   $task->($after, 'ok') + $task->($after, 'failed'), 'each turn that ran has its duration';

# ==== storage failures ====

my $storage = "$ENV{TP_INSTANCE}/storage";
my $errs = sub { val($_[0], 'terrapod_storage_errors_total', kind => 'unavailable') };
$before = scrape();
chmod 0500, $storage;
$r = api(GET => '/ready');
chmod 0755, $storage;
is $r->code, 503, 'unwritable storage: /ready 503';
$after = scrape();
is $errs->($after) - $errs->($before), 1, 'one storage failure counted';
is val($after, 'terrapod_storage_errors_total', kind => 'full'),
   val($before, 'terrapod_storage_errors_total', kind => 'full'), 'none of them a full disk';

# ==== the database down ====

$before = scrape();
pg_stop();
$r = scrape_raw();
my $down = parse_exposition($r->content);
# a pooled connection is handed out until a statement finds it broken;
# then the pool has none to give
my ($scrapes, $failed) = (0, 0);
wait_until(10, sub {
    $scrapes++;
    $failed = val(scrape(), 'terrapod_db_acquire_failures_total')
              - val($before, 'terrapod_db_acquire_failures_total');
});
pg_start();
is $r->code, 200, 'the database down: still 200';
is_deeply $down->{errors}, [], 'and well formed';
is val($down, 'terrapod_database_up'), 0, 'terrapod_database_up 0';
ok !grep({ /^terrapod_(runs|listeners)/ } keys %{ $down->{samples} }), 'no database gauges';
ok $failed >= 1 && $failed <= $scrapes + 1,
   "scrapes that got no connection are counted ($failed of " . ($scrapes + 1) . ')';
ok req_count($down, $WS, 'GET', '2xx') >= 3, 'the counters are still there';
ok wait_until(15, sub { api(GET => '/ready')->code == 200 }), 'the database is back';

# ==== who may read it ====

# from another address, through the proxy of the vhost that allows only
# 192.0.2.0/24
my $far = {'X-Forwarded-For' => '198.51.100.77'};
is_error(scrape_raw(base => $ELSEWHERE, headers => $far), 403,
         'another address, through the trusted proxy');
like error_detail(scrape_raw(base => $ELSEWHERE, headers => $far)),
     qr/TerrapodMetricsAllow/, 'the detail names the setting';
is_error(scrape_raw(base => $ELSEWHERE, headers => $far, token => $owner), 403,
         'another address with a user\'s token');
is_error(scrape_raw(base => $ELSEWHERE, headers => $far, token => 'not-a-token'), 403,
         'another address with a bad token');
is scrape_raw(base => $ELSEWHERE, headers => $far, token => $admin)->code, 200,
   'another address with an admin\'s token: 200';
my $auditor_email = 'metrics77-auditor@test.local';
my $auditor = user_token($auditor_email);
$r = api(PUT => "$NAT/role-assignments", token => $admin,
         body => {data => {type => 'role-assignments',
                           attributes => {'provider-name' => 'local', email => $auditor_email,
                                          roles => ['audit']}}});
is $r->code, 200, 'an auditor';
token_cache_expired();
is scrape_raw(base => $ELSEWHERE, headers => $far, token => $auditor)->code, 200,
   'another address with an auditor\'s token: 200';
$r = api(POST => '/metrics');
is $r->code, 405, 'POST /metrics: 405';

is_error(scrape_raw(base => $ELSEWHERE), 403,
         'TerrapodMetricsAllow 192.0.2.0/24: the proxy\'s own address refused');
is scrape_raw(base => $ELSEWHERE, headers => {'X-Forwarded-For' => '192.0.2.9'})->code, 200,
   'an address of the block: 200';
is_error(scrape_raw(base => $ELSEWHERE, headers => {'X-Forwarded-For' => '198.51.100.9'}), 403,
   'an address outside it');
is_error(scrape_raw(base => $OFF, token => $admin), 404, 'TerrapodMetrics Off: 404, even for an admin');
