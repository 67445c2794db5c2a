# include=: related documents in "included", the same documents their
# own endpoints answer, each once; relationships carry links.related;
# unknown include names are ignored; the TFE users resource.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Digest::MD5 qw(md5_hex);
use JSON::PP ();
use TP::Test;

plan tests => 55;

my $json = JSON::PP->new->canonical;
my $owner = user_token('incl-owner@test.local');
my $other = user_token('incl-other@test.local');
my $owner_id = sql("SELECT id FROM users WHERE email = 'incl-owner\@test.local'");

sub get_doc {
    my ($path, $token) = @_;
    my $r = api(GET => $path, token => $token // $owner);
    die "GET $path: " . $r->as_string unless $r->code == 200;
    return json_of($r);
}

sub by_type {
    my ($doc) = @_;
    my %t;
    push @{ $t{$_->{type}} }, $_ for @{ $doc->{included} || [] };
    return \%t;
}

# a workspace with a state of two outputs, one sensitive
my $sws = make_ws($owner, 'incl-state');
api(POST => "/api/v2/workspaces/$sws/actions/lock", token => $owner, body => {});
my $state = $json->encode({version => 4, terraform_version => '1.11.4',
    serial => 1, lineage => 'incl-lineage', resources => [],
    outputs => {greeting => {value => 'hello', type => 'string'},
                secret => {value => 'hush', type => 'string',
                           sensitive => JSON::PP::true}}});
my $r = api(POST => "/api/v2/workspaces/$sws/state-versions", token => $owner,
            body => {data => {type => 'state-versions', attributes => {
                serial => 1, md5 => md5_hex($state), lineage => 'incl-lineage'}}});
my $sv = json_of($r)->{data};
api(PUT => $sv->{attributes}{'hosted-state-upload-url'}, body => $state,
    headers => {'Content-Type' => 'application/octet-stream'});
api(POST => "/api/v2/workspaces/$sws/actions/unlock", token => $owner, body => {});

# cdktf's output(): the current state version with its outputs
my $doc = get_doc("/api/v2/workspaces/$sws/current-state-version?include=outputs");
my $outs = by_type($doc)->{'state-version-outputs'} || [];
is scalar @$outs, 2, 'current-state-version?include=outputs: two outputs';
my %out = map { $_->{attributes}{name} => $_ } @$outs;
is $out{greeting}{attributes}{value}, 'hello', 'with their values';
ok exists $out{secret}{attributes}{value} && !defined $out{secret}{attributes}{value},
   'a sensitive value stays null';
is_deeply [sort map { $_->{id} } @{ $doc->{data}{relationships}{outputs}{data} }],
          [sort map { $_->{id} } @$outs], 'relationships.outputs names them';
is $doc->{data}{relationships}{outputs}{links}{related},
   "/api/v2/state-versions/$sv->{id}/outputs", 'outputs links.related';
is_deeply $out{greeting},
          get_doc("/api/v2/state-version-outputs/$out{greeting}{id}")->{data},
          'an included output is what its own endpoint answers';
is $doc->{data}{relationships}{'created-by'}{data}{id}, $owner_id,
   'the state version relates to the user who created it';

# a list of state versions fills each version's outputs when asked
$doc = get_doc("/api/v2/workspaces/$sws/state-versions?include=outputs");
is scalar @{ $doc->{data}[0]{relationships}{outputs}{data} }, 2,
   'state version list?include=outputs: the outputs of each';
is scalar @{ by_type($doc)->{'state-version-outputs'} || [] }, 2,
   'and included once';

# the workspace names its current state version and outputs
$doc = get_doc("/api/v2/workspaces/$sws?include=current_state_version,"
               . 'current_state_version.outputs,outputs,organization');
my $t = by_type($doc);
is scalar @{ $t->{'state-versions'} || [] }, 1, 'current_state_version included';
is scalar @{ $t->{'state-version-outputs'} || [] }, 2,
   'the outputs once, though two paths reach them';
is scalar @{ $t->{organizations} || [] }, 1, 'the organization';
is $t->{organizations}[0]{attributes}{name}, 'default', 'named default';
is scalar @{ $doc->{data}{relationships}{outputs}{data} }, 2,
   'workspace relationships.outputs filled by include=outputs';
my $rels = $doc->{data}{relationships};
is $rels->{'current-state-version'}{links}{related},
   "/api/v2/workspaces/$sws/current-state-version",
   'current-state-version links.related';
is $rels->{organization}{links}{related}, '/api/v2/organizations/default',
   'organization links.related';
is $doc->{data}{attributes}{'resource-count'}, 0, 'resource-count is 0, not null';
is $doc->{data}{links}{self}, "/api/v2/workspaces/$sws", 'links.self';

# a workspace with a run holding it
my $ws = make_ws($owner, 'incl-runs');
is get_doc("/api/v2/workspaces/$ws")->{data}{relationships}{'current-run'}{data},
   undef, 'no run yet: current-run is null';
my $cv = make_cv($owner, $ws, 'auto-queue-runs' => JSON::PP::false);
$r = api(POST => '/api/v2/runs', token => $owner,
         body => {data => {type => 'runs', attributes => {message => 'one'},
                           relationships => {workspace => {data => {
                               type => 'workspaces', id => $ws}}}}});
my $run = json_of($r)->{data};
$doc = get_doc("/api/v2/workspaces/$ws?include=current_run,current_run.plan,"
               . 'locked_by,latest_run');
$rels = $doc->{data}{relationships};
is $rels->{'current-run'}{data}{id}, $run->{id}, 'current-run is the run';
is $rels->{'latest-run'}{data}{id}, $run->{id}, 'latest-run is the run';
is_deeply $rels->{'locked-by'}{data}, {id => $run->{id}, type => 'runs'},
          'locked-by is the run';
is $rels->{'current-run'}{links}{related}, "/api/v2/runs/$run->{id}",
   'current-run links.related';
$t = by_type($doc);
is scalar @{ $t->{runs} || [] }, 1, 'the run included once';
is scalar @{ $t->{plans} || [] }, 1, 'and its plan';
is $t->{plans}[0]{id}, $run->{relationships}{plan}{data}{id}, 'the run\'s plan';

# a run with everything TFE documents; absent relations are not included
$doc = get_doc("/api/v2/runs/$run->{id}?include=plan,apply,created_by,"
               . 'configuration_version,configuration_version.ingress_attributes,'
               . 'workspace,cost_estimate');
$t = by_type($doc);
is_deeply [sort keys %$t],
          [qw(applies configuration-versions plans users workspaces)],
          'a run includes its plan, apply, creator, configuration and workspace';
is $t->{'configuration-versions'}[0]{id}, $cv, 'the configuration version';
is_deeply $t->{workspaces}[0],
          get_doc("/api/v2/workspaces/$ws")->{data},
          'the included workspace is what its endpoint answers';
is $t->{users}[0]{attributes}{email}, 'incl-owner@test.local',
   'the creator, who may see its own email';
$rels = $doc->{data}{relationships};
is_deeply $rels->{'created-by'}{data}, {id => $owner_id, type => 'users'},
          'run relationships.created-by';
is $rels->{'created-by'}{links}{related}, "/api/v2/users/$owner_id",
   'created-by links.related';
is $rels->{plan}{links}{related},
   "/api/v2/plans/$rels->{plan}{data}{id}", 'plan links.related';

# run lists
api(POST => '/api/v2/runs', token => $owner,
    body => {data => {attributes => {'plan-only' => JSON::PP::true},
                      relationships => {workspace => {data => {id => $ws}}}}});
$doc = get_doc("/api/v2/workspaces/$ws/runs?include=plan,apply,created_by");
$t = by_type($doc);
is scalar @{ $t->{plans} }, 2, 'run list?include=plan: a plan per run';
is scalar @{ $t->{users} }, 1, 'one creator, included once';

# workspace lists
$doc = get_doc('/api/v2/organizations/default/workspaces?search%5Bname%5D=incl-'
               . '&include=current_run,current_state_version');
$t = by_type($doc);
is scalar @{ $doc->{data} }, 2, 'workspace list: both';
is scalar @{ $t->{runs} || [] }, 1, 'the current run of the one with a run';
is scalar @{ $t->{'state-versions'} || [] }, 1,
   'the current state version of the one with state';

# the project a workspace belongs to
$doc = get_doc("/api/v2/workspaces/$ws?include=project");
$t = by_type($doc);
is $t->{projects}[0]{attributes}{name}, 'Default Project',
   'include=project: the workspace\'s project';
is $doc->{data}{relationships}{project}{links}{related},
   "/api/v2/projects/$t->{projects}[0]{id}", 'project links.related';

# an apply relates to the state version it stored (set here as a
# listener's apply would)
sql("UPDATE runs SET created_state_version_id = '$sv->{id}' WHERE id = '$run->{id}'");
my $apply_id = $run->{relationships}{apply}{data}{id};
$doc = get_doc("/api/v2/applies/$apply_id?include=state_versions");
is_deeply $doc->{data}{relationships}{'state-versions'}{data},
          [{id => $sv->{id}, type => 'state-versions'}],
          'apply relationships.state-versions';
is $doc->{data}{relationships}{'state-versions'}{links}{related},
   "/api/v2/applies/$apply_id/state-versions", 'with links.related';
is by_type($doc)->{'state-versions'}[0]{id}, $sv->{id}, 'include=state_versions';
is_deeply [map { $_->{id} } @{ get_doc("/api/v2/applies/$apply_id/state-versions")->{data} }],
          [$sv->{id}], 'the related link answers it';
is api(GET => "/api/v2/applies/$run->{relationships}{plan}{data}{id}/state-versions",
       token => $owner)->code, 404, 'a plan id is no apply';

# unknown names are ignored
$doc = get_doc("/api/v2/runs/$run->{id}?include=nonsense,plan.nothing,,");
is scalar @{ $doc->{included} }, 1, 'unknown include names are ignored';

# what the caller cannot read is not included, nor answered
is api(GET => "/api/v2/runs/$run->{id}?include=workspace", token => $other)->code,
   404, 'a run of a workspace the caller cannot read: 404';

# the TFE users resource
my $u = get_doc("/api/v2/users/$owner_id", $other)->{data};
is $u->{type}, 'users', 'GET /api/v2/users/{id}: a user';
is $u->{attributes}{username}, 'incl-owner', 'its username';
ok !exists $u->{attributes}{email}, 'no email for another user';
is $u->{attributes}{'is-service-account'}, JSON::PP::false, 'is-service-account';
is $u->{links}{self}, "/api/v2/users/$owner_id", 'links.self';
is get_doc("/api/v2/users/$owner_id")->{data}{attributes}{email},
   'incl-owner@test.local', 'the user itself sees its email';
is_error(api(GET => '/api/v2/users/user-missing', token => $owner), 404,
         'an unknown user');
