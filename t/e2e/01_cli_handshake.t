# The real terraform CLI against a TLS instance: `terraform init` with a
# cloud block completes service discovery, the ping handshake and the
# organization check; a wrong organization or token is refused.
use strict;
use warnings FATAL => 'all';
use Test::More;
use TP::E2E;

my $dir = workdir();
open my $fh, '>', "$dir/main.tf" or die $!;
print $fh cloud_config(workspace => 'handshake');
close $fh;

my ($rc, $out) = terraform($dir, 'init', '-input=false');
is $rc, 0, 'init succeeds' or diag $out;
unlike $out, qr/Failed to request discovery document|service discovery/i,
    'discovery succeeded';
unlike $out, qr/unsupported|API version/i, 'ping handshake accepted';
unlike $out, qr/organization "default" at host .* not found/i,
    'organization found';
unlike $out, qr/unauthorized|required token could not be found/i,
    'token from the CLI config accepted';
my $log = do { local $/; open my $a, '<', instance()->{DIR} . '/log/access_log'; <$a> };
like $log, qr{"GET /api/v2/ping HTTP/1.1" 204}, 'CLI pinged /api/v2/ping';
like $log, qr{"GET /api/v2/organizations/default/entitlement-set HTTP/1.1" 200},
    'CLI read the entitlement set';
like $log, qr{GET /api/v2/organizations/default/workspaces/handshake },
    'CLI went on to look up its workspace';

# go-tfe paces itself by the X-RateLimit-Limit of the ping it sends with
# its token: the user's limit per second, 30 by default as on HCP Terraform
my ($ping) = api(GET => '/api/v2/ping');
is $ping->code, 204, 'ping with the CLI\'s token';
is $ping->header('X-RateLimit-Limit'), 30, 'carries the user\'s limit, 30 a second';

# the same CLI with another organization is told it does not exist
$dir = workdir();
open $fh, '>', "$dir/main.tf" or die $!;
print $fh cloud_config(organization => 'acme');
close $fh;
($rc, $out) = terraform($dir, 'init', '-input=false');
isnt $rc, 0, 'init with an unknown organization fails';
like $out, qr/organization "acme" at host \S+ not found/, 'and says why';

# and with a token the server does not know, it is refused
$dir = workdir();
open $fh, '>', "$dir/main.tf" or die $!;
print $fh cloud_config(workspace => 'badtoken');
close $fh;
open $fh, '>', "$dir/bad.tfrc" or die $!;
printf $fh qq{credentials "%s" {\n  token = "tpv1.%s"\n}\n},
    instance()->{TERRAPOD_HOST}, 'Z' x 43;
close $fh;
{
    local $TP::E2E::cli_config = "$dir/bad.tfrc";
    ($rc, $out) = terraform($dir, 'init', '-input=false');
}
isnt $rc, 0, 'init with an unknown token fails';
like $out, qr/unauthorized|required token could not be found|401/i,
    'as unauthorized';

done_testing;
