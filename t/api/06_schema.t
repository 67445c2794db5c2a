# The schema files are applied at start-up, each exactly once, and recorded.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use TP::Test;

plan tests => 4;

opendir my $dh, "$ENV{TP_SRC}/sql" or die $!;
my @files = sort grep { /^\d{4}_.+\.sql$/ } readdir $dh;
s/\.sql$// for @files;

is sql("SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations"),
   join(',', @files), 'every schema file is recorded, in order';

my $out = qx{$ENV{TP_SRC}/mod_terrapod/terrapod-admin migrate --db '$ENV{TP_DB}' --schema $ENV{TP_SRC}/sql 2>&1};
is $?, 0, 'migrating again succeeds';
is $out, "applied=0\n", 'and applies nothing';
is sql("SELECT count(*) FROM schema_migrations"), scalar(@files),
   'each recorded once';
