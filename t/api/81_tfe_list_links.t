# Lists carry TFE's top-level links beside meta.pagination: self, first,
# prev, next and last, each the list's own address with its other query
# parameters kept and the page parameters of that page.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 12;

my $owner = user_token('links-owner@test.local');
make_ws($owner, "links-ws-$_") for 1 .. 3;

my $path = '/api/v2/organizations/default/workspaces';
my $r = api(GET => "$path?search%5Bname%5D=links-ws&page%5Bnumber%5D=2"
                 . '&page%5Bsize%5D=1', token => $owner);
is $r->code, 200, 'the second page of three: 200';
my $doc = json_of($r);
is scalar @{ $doc->{data} }, 1, 'one workspace on it';
is $doc->{data}[0]{attributes}{name}, 'links-ws-2', 'the second by name';
my $l = $doc->{links};
my $page = sub { "$path?search%5Bname%5D=links-ws&page%5Bnumber%5D=$_[0]"
                 . '&page%5Bsize%5D=1' };
like $l->{self}, qr{^https?://[^/]+\Q@{[ $page->(2) ]}\E$}, 'links.self';
like $l->{first}, qr{\Q@{[ $page->(1) ]}\E$}, 'links.first';
like $l->{prev}, qr{\Q@{[ $page->(1) ]}\E$}, 'links.prev';
like $l->{next}, qr{\Q@{[ $page->(3) ]}\E$}, 'links.next';
like $l->{last}, qr{\Q@{[ $page->(3) ]}\E$}, 'links.last';
is $doc->{meta}{pagination}{'total-count'}, 3, 'meta.pagination stays';

# the last page has no next; the first has no prev
$doc = json_of(api(GET => "$path?search%5Bname%5D=links-ws&page%5Bsize%5D=20",
                   token => $owner));
ok exists $doc->{links}{prev} && !defined $doc->{links}{prev},
   'one page: links.prev is null';
ok exists $doc->{links}{next} && !defined $doc->{links}{next},
   'one page: links.next is null';
like $doc->{links}{last},
     qr{\?search%5Bname%5D=links-ws&page%5Bnumber%5D=1&page%5Bsize%5D=20$},
     'one page: links.last is page 1 at the size asked';
