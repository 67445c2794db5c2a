# The OpenAPI document: open to anyone, valid JSON, every route of the
# route table (as tools/api-doc reads it) exactly once with its method,
# its path parameters declared, security on every operation naming
# schemes that exist, every $ref resolving, and the schemas it names for
# an answer matching what the server answers.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use JSON::PP ();
use TP::Test;

plan tests => 26;

my $owner = user_token('openapi-owner@test.local');
my $r = api(GET => '/api/terrapod/v1/openapi.json');
is $r->code, 200, 'open: answered without a token';
like $r->header('Content-Type'), qr{^application/json}, 'as JSON';
my $doc = eval { JSON::PP->new->decode($r->decoded_content) };
ok $doc, 'the document parses' or diag $@;

is $doc->{openapi}, '3.1.0', 'OpenAPI 3.1.0';
like $doc->{info}{version}, qr/^\d+\.\d+\.\d+$/, 'info.version: the module version';
(my $base = Apache::TestRequest::resolve_url('/')) =~ s{/$}{};
is_deeply $doc->{servers}, [{url => $base}], 'servers: the instance';

# ---- every route, exactly once ----
my @routes = map { [m{^\| (\w+) \| `([^`]+)` \|}] }
             grep { m{^\| [A-Z]+ \|} } split /\n/, qx{$ENV{TP_SRC}/tools/api-doc};
cmp_ok scalar @routes, '>', 150, 'the route table, as tools/api-doc reads it';
my (@missing, %ops);
for my $route (@routes) {
    my ($method, $path) = @$route;
    my $op = $doc->{paths}{$path}{lc $method};
    push @missing, "$method $path" unless $op;
    $ops{"$method $path"} = $op if $op;
}
is "@missing", '', 'every route is an operation';
my $count = 0;
$count += scalar grep { /^(get|put|post|patch|delete)$/ } keys %$_
    for values %{ $doc->{paths} };
is $count, scalar @routes, 'and there are no others: each appears once';
my %ids;
$ids{$_->{operationId}}++ for values %ops;
is scalar(grep { $_ > 1 } values %ids), 0, 'operationIds are unique';
is scalar(keys %ids), scalar @routes, 'every operation has one';

# ---- parameters, security, tags ----
my (@undeclared, @insecure, @untagged, @undescribed);
my $schemes = $doc->{components}{securitySchemes};
for my $key (sort keys %ops) {
    my ($path) = $key =~ / (.*)/;
    my $op = $ops{$key};
    my @want = sort $path =~ /\{(\w+)\}/g;
    my @have = sort map { $_->{name} }
                    grep { ($_->{in} // '') eq 'path' && $_->{required} }
                    @{ $op->{parameters} || [] };
    push @undeclared, $key unless "@want" eq "@have";
    push @insecure, $key
        unless ref $op->{security} eq 'ARRAY'
               && !grep { !$schemes->{$_} } map { keys %$_ } @{ $op->{security} };
    push @untagged, $key unless @{ $op->{tags} || [] } == 1;
    push @undescribed, $key
        unless ($op->{description} // '') =~ /^Authentication and permission: /;
}
is "@undeclared", '', 'every path parameter is declared, and no other';
is "@insecure", '', 'every operation has security naming known schemes';
is "@untagged", '', 'every operation has one tag';
is "@undescribed", '', 'every operation says who may call it';
is_deeply $ops{'GET /health'}{security}, [], 'an open route needs nothing';
is_deeply $ops{'POST /api/v2/workspaces/{id}/actions/lock'}{security},
    [{apiToken => []}, {session => [], csrf => []}],
    'a change: API token, or the session cookie with the CSRF header';
like $ops{'PATCH /api/terrapod/v1/agent-pools/{id}'}{description},
    qr/API token, admin on the pool\.$/, 'the permission, as docs/api.md says it';

# ---- references ----
my @refs;
my $walk;
$walk = sub {
    my ($node) = @_;
    if (ref $node eq 'HASH') {
        push @refs, $node->{'$ref'} if defined $node->{'$ref'};
        $walk->($_) for values %$node;
    }
    elsif (ref $node eq 'ARRAY') {
        $walk->($_) for @$node;
    }
};
$walk->($doc);
my @dangling = grep {
    my $at = $doc;
    my $ok = s{^#/}{}r ne $_;
    for my $name (split m{/}, s{^#/}{}r) {
        $at = ref $at eq 'HASH' ? $at->{$name} : undef;
    }
    !$ok || !defined $at;
} @refs;
cmp_ok scalar @refs, '>', 100, 'the document refers to its components';
is "@dangling", '', 'every $ref resolves';

# ---- the schemas named match the answers ----
my $ws = make_ws($owner, 'openapi-ws');
my $schema = $ops{'GET /api/v2/workspaces/{id}'}{responses}{200}{content}
                 {'application/json'}{schema}{'$ref'};
is $schema, '#/components/schemas/workspaces-document',
   'a workspace answers the workspace document';
my $described = $doc->{components}{schemas}{workspaces}{properties};
my $got = json_of(api(GET => "/api/v2/workspaces/$ws", token => $owner))->{data};
is $got->{type}, $described->{type}{const}, 'whose type it is';
my @absent = grep { !exists $got->{attributes}{$_} }
             sort keys %{ $described->{attributes}{properties} };
is "@absent", '', 'with every attribute the schema describes';
my @unrelated = grep { !exists $got->{relationships}{$_} }
                sort keys %{ $described->{relationships}{properties} };
is "@unrelated", '', 'and every relationship';
my $orgs = $ops{'GET /api/v2/organizations'};
is $orgs->{responses}{200}{content}{'application/json'}{schema}{'$ref'},
   '#/components/schemas/organizations-list',
   'the organizations answer the organization list';
my $list = json_of(api(GET => '/api/v2/organizations', token => $owner));
is_deeply [sort keys %{ $list->{meta}{pagination} }],
    [sort keys %{ $doc->{components}{schemas}{pagination}{properties} }],
    'a list answers the pagination the list schema describes';
