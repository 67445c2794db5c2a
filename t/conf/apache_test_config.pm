# WARNING: this file is generated, do not edit
# generated on Mon Nov 23 23:12:41 2026
# 01: /usr/lib/x86_64-linux-gnu/perl5/5.36/Apache/TestConfig.pm:1007
# 02: /usr/lib/x86_64-linux-gnu/perl5/5.36/Apache/TestConfig.pm:1025
# 03: /usr/lib/x86_64-linux-gnu/perl5/5.36/Apache/TestConfig.pm:1941
# 04: /usr/lib/x86_64-linux-gnu/perl5/5.36/Apache/TestRun.pm:503
# 05: /usr/lib/x86_64-linux-gnu/perl5/5.36/Apache/TestRun.pm:713
# 06: /usr/lib/x86_64-linux-gnu/perl5/5.36/Apache/TestRun.pm:713
# 07: /work/main/t/TEST:10

package apache_test_config;

sub new {
    bless( {
         'postamble_hooks' => [
                                sub { "DUMMY" }
                              ],
         'cmodules_disabled' => {},
         'preamble_hooks' => [
                               sub { "DUMMY" }
                             ],
         'vhosts' => {},
         'hostport' => 'localhost:8529',
         'server' => bless( {
                              'run' => bless( {
                                                'opts' => {
                                                            'header' => {},
                                                            'run-tests' => 1,
                                                            'start-httpd' => 1,
                                                            'preamble' => [],
                                                            'postamble' => [],
                                                            'stop-httpd' => 1,
                                                            'breakpoint' => [],
                                                            'req_args' => {}
                                                          },
                                                'conf_opts' => {
                                                                 'group' => 'terrapod',
                                                                 'httpd_conf' => '/etc/apache2/apache2.conf',
                                                                 'apxs' => '/usr/bin/apxs',
                                                                 'save' => 1,
                                                                 'user' => 'terrapod',
                                                                 'verbose' => undef
                                                               },
                                                'tests' => [],
                                                'test_config' => $VAR1,
                                                'argv' => [],
                                                'server' => $VAR1->{'server'}
                                              }, 'Apache::TestRun' ),
                              'version' => 'Apache/2.4.71',
                              'port_counter' => 8529,
                              'mpm' => '',
                              'config' => $VAR1,
                              'name' => 'localhost:8529',
                              'revminor' => '4',
                              'rev' => '2'
                            }, 'Apache::TestServer' ),
         'mpm' => '',
         'httpd_basedir' => '/usr',
         'preamble' => [
                         '<IfModule !mod_access_compat.c>
    LoadModule access_compat_module "/usr/lib/apache2/modules/mod_access_compat.so"
</IfModule>
',
                         '<IfModule !mod_alias.c>
    LoadModule alias_module "/usr/lib/apache2/modules/mod_alias.so"
</IfModule>
',
                         '<IfModule !mod_auth_basic.c>
    LoadModule auth_basic_module "/usr/lib/apache2/modules/mod_auth_basic.so"
</IfModule>
',
                         '<IfModule !mod_authn_core.c>
    LoadModule authn_core_module "/usr/lib/apache2/modules/mod_authn_core.so"
</IfModule>
',
                         '<IfModule !mod_authn_file.c>
    LoadModule authn_file_module "/usr/lib/apache2/modules/mod_authn_file.so"
</IfModule>
',
                         '<IfModule !mod_authz_core.c>
    LoadModule authz_core_module "/usr/lib/apache2/modules/mod_authz_core.so"
</IfModule>
',
                         '<IfModule !mod_authz_host.c>
    LoadModule authz_host_module "/usr/lib/apache2/modules/mod_authz_host.so"
</IfModule>
',
                         '<IfModule !mod_authz_user.c>
    LoadModule authz_user_module "/usr/lib/apache2/modules/mod_authz_user.so"
</IfModule>
',
                         '<IfModule !mod_autoindex.c>
    LoadModule autoindex_module "/usr/lib/apache2/modules/mod_autoindex.so"
</IfModule>
',
                         '<IfModule !mod_deflate.c>
    LoadModule deflate_module "/usr/lib/apache2/modules/mod_deflate.so"
</IfModule>
',
                         '<IfModule !mod_dir.c>
    LoadModule dir_module "/usr/lib/apache2/modules/mod_dir.so"
</IfModule>
',
                         '<IfModule !mod_env.c>
    LoadModule env_module "/usr/lib/apache2/modules/mod_env.so"
</IfModule>
',
                         '<IfModule !mod_filter.c>
    LoadModule filter_module "/usr/lib/apache2/modules/mod_filter.so"
</IfModule>
',
                         '<IfModule !mod_mime.c>
    LoadModule mime_module "/usr/lib/apache2/modules/mod_mime.so"
</IfModule>
',
                         '<IfModule !mod_mpm_event.c>
    LoadModule mpm_event_module "/usr/lib/apache2/modules/mod_mpm_event.so"
</IfModule>
',
                         '<IfModule !mod_negotiation.c>
    LoadModule negotiation_module "/usr/lib/apache2/modules/mod_negotiation.so"
</IfModule>
',
                         '<IfModule !mod_perl.c>
    LoadModule perl_module "/usr/lib/apache2/modules/mod_perl.so"
</IfModule>
',
                         '<IfModule !mod_reqtimeout.c>
    LoadModule reqtimeout_module "/usr/lib/apache2/modules/mod_reqtimeout.so"
</IfModule>
',
                         '<IfModule !mod_setenvif.c>
    LoadModule setenvif_module "/usr/lib/apache2/modules/mod_setenvif.so"
</IfModule>
',
                         '<IfModule !mod_status.c>
    LoadModule status_module "/usr/lib/apache2/modules/mod_status.so"
</IfModule>
',
                         '<IfModule !mod_mime.c>
    LoadModule mime_module "/usr/lib/apache2/modules/mod_mime.so"
</IfModule>
',
                         '<IfModule !mod_alias.c>
    LoadModule alias_module "/usr/lib/apache2/modules/mod_alias.so"
</IfModule>
',
                         '
'
                       ],
         'httpd_defines' => {
                              'HTTPD_ROOT' => '/etc/apache2',
                              'APR_USE_PTHREAD_SERIALIZE' => 1,
                              'DEFAULT_SCOREBOARD' => 'logs/apache_runtime_status',
                              'SERVER_CONFIG_FILE' => 'apache2.conf',
                              'SINGLE_LISTEN_UNSERIALIZED_ACCEPT' => 1,
                              'AP_HAVE_RELIABLE_PIPED_LOGS' => 1,
                              'DYNAMIC_MODULE_LIMIT' => '256',
                              'APR_USE_PROC_PTHREAD_SERIALIZE' => 1,
                              'APR_HAS_OTHER_CHILD' => 1,
                              'AP_TYPES_CONFIG_FILE' => 'mime.types',
                              'DEFAULT_ERRORLOG' => 'logs/error_log',
                              'APR_HAVE_IPV6 (IPv4-mapped addresses enabled)' => 1,
                              'APR_HAS_MMAP' => 1,
                              'DEFAULT_PIDLOG' => '/run/apache2.pid',
                              'SUEXEC_BIN' => '/usr/lib/apache2/suexec',
                              'APR_HAS_SENDFILE' => 1
                            },
         'modules' => {
                        'mod_status.c' => '/usr/lib/apache2/modules/mod_status.so',
                        'mod_log_config.c' => 1,
                        'http_core.c' => 1,
                        'mod_reqtimeout.c' => '/usr/lib/apache2/modules/mod_reqtimeout.so',
                        'mod_version.c' => 1,
                        'mod_dir.c' => '/usr/lib/apache2/modules/mod_dir.so',
                        'mod_authz_user.c' => '/usr/lib/apache2/modules/mod_authz_user.so',
                        'mod_authz_core.c' => '/usr/lib/apache2/modules/mod_authz_core.so',
                        'mod_setenvif.c' => '/usr/lib/apache2/modules/mod_setenvif.so',
                        'mod_autoindex.c' => '/usr/lib/apache2/modules/mod_autoindex.so',
                        'mod_watchdog.c' => 1,
                        'mod_authn_file.c' => '/usr/lib/apache2/modules/mod_authn_file.so',
                        'mod_negotiation.c' => '/usr/lib/apache2/modules/mod_negotiation.so',
                        'mod_env.c' => '/usr/lib/apache2/modules/mod_env.so',
                        'mod_deflate.c' => '/usr/lib/apache2/modules/mod_deflate.so',
                        'mod_mime.c' => '/usr/lib/apache2/modules/mod_mime.so',
                        'mod_authz_host.c' => '/usr/lib/apache2/modules/mod_authz_host.so',
                        'mod_logio.c' => 1,
                        'mod_perl.c' => '/usr/lib/apache2/modules/mod_perl.so',
                        'mod_alias.c' => '/usr/lib/apache2/modules/mod_alias.so',
                        'mod_mpm_event.c' => '/usr/lib/apache2/modules/mod_mpm_event.so',
                        'core.c' => 1,
                        'mod_so.c' => 1,
                        'mod_filter.c' => '/usr/lib/apache2/modules/mod_filter.so',
                        'mod_unixd.c' => 1,
                        'mod_authn_core.c' => '/usr/lib/apache2/modules/mod_authn_core.so',
                        'mod_auth_basic.c' => '/usr/lib/apache2/modules/mod_auth_basic.so',
                        'mod_access_compat.c' => '/usr/lib/apache2/modules/mod_access_compat.so'
                      },
         'save' => 1,
         'APXS' => '/usr/bin/apxs',
         'verbose' => undef,
         '_apxs' => {
                      'TARGET' => 'apache2',
                      'BINDIR' => '/usr/bin',
                      'SYSCONFDIR' => '/etc/apache2',
                      'LIBEXECDIR' => '/usr/lib/apache2/modules',
                      'SBINDIR' => '/usr/sbin'
                    },
         'httpd_info' => {
                           'SERVER_MPM' => '',
                           'MODULE_MAGIC_NUMBER_MINOR' => '142',
                           'MODULE_MAGIC_NUMBER' => '20120211:142',
                           'MODULE_MAGIC_NUMBER_MAJOR' => '20120211',
                           'BUILT' => '2026-11-12T08:58:41',
                           'VERSION' => 'Apache/2.4.71 (Debian)'
                         },
         'inc' => [],
         'clean' => {
                      'dirs' => {
                                  '/work/main/t/logs' => 1,
                                  '/work/main/t/htdocs' => 1,
                                  '/work/main/t/state' => 1
                                },
                      'files' => {
                                   '/work/main/t/conf/httpd.conf' => 1,
                                   '/work/main/t/htdocs/index.html' => 1,
                                   '/work/main/t/conf/extra.conf' => 1,
                                   '/work/main/t/conf/apache_test_config.pm' => 1,
                                   '/work/main/t/logs/apache_runtime_status.sem' => 1
                                 }
                    },
         'apache_test_version' => '1.43',
         'postamble' => [
                          '<IfModule mod_mime.c>
    TypesConfig "/etc/mime.types"
</IfModule>
',
                          'Include "/work/main/t/conf/extra.conf"
',
                          '
'
                        ],
         'vars' => {
                     'startserversthreadedmpm' => 1,
                     'httpd' => '/usr/sbin/apache2',
                     'auth_module_name' => 'mod_auth_basic',
                     'group' => 'terrapod',
                     't_logs' => '/work/main/t/logs',
                     'sslca' => '/work/main/t/conf/ssl/ca',
                     'scheme' => 'http',
                     'auth_module' => 'mod_auth_basic.c',
                     'sslcaorg' => 'asf',
                     'access_module_name' => 'mod_authz_host',
                     't_pid_file' => '/work/main/t/logs/httpd.pid',
                     'inherit_documentroot' => '/var/www/html',
                     't_conf' => '/work/main/t/conf',
                     'access_module' => 'mod_authz_host.c',
                     'maxspare' => 2,
                     'limitrequestlinex2' => 256,
                     'serveradmin' => 'webmaster@localhost',
                     'minclientsthreadedmpm' => 10,
                     'bindir' => '/usr/bin',
                     't_state' => '/work/main/t/state',
                     'sslproto' => 'all',
                     'sbindir' => '/usr/sbin',
                     'minclients' => 1,
                     'user' => 'terrapod',
                     'threadsperchild' => 10,
                     'src_dir' => undef,
                     'servername' => 'localhost',
                     'perlpod' => '/usr/share/perl/5.36/pod',
                     't_conf_file' => '/work/main/t/conf/httpd.conf',
                     'proxyssl_url' => '',
                     'remote_addr' => '127.0.0.1',
                     'maxclients_preset' => 0,
                     'documentroot' => '/work/main/t/htdocs',
                     'proxy' => 'off',
                     'php_module' => 'sapi_apache2.c',
                     'port' => 8529,
                     'cgi_module_name' => 'mod_cgi',
                     'target' => 'apache2',
                     'ssl_module' => 'mod_ssl.c',
                     'top_dir' => '/work/main',
                     'perl' => '/usr/bin/perl',
                     't_dir' => '/work/main/t',
                     'maxclients' => 3,
                     'conf_dir' => '/etc/apache2',
                     'maxsparethreadedmpm' => 20,
                     'thread_module' => 'worker.c',
                     'serverroot' => '/work/main/t',
                     'limitrequestline' => 128,
                     'maxclientsthreadedmpm' => 30,
                     'defines' => '',
                     'thread_module_name' => 'worker',
                     'cgi_module' => 'mod_cgi.c',
                     'php_module_name' => 'sapi_apache2',
                     'ssl_module_name' => 'mod_ssl',
                     'apxs' => '/usr/bin/apxs',
                     'httpd_conf' => '/etc/apache2/apache2.conf'
                   },
         'inherit_config' => {
                               'ServerAdmin' => 'webmaster@localhost',
                               'LoadFile' => [],
                               'ServerRoot' => '',
                               'TypesConfig' => '/etc/mime.types',
                               'LoadModule' => [
                                                 [
                                                   'access_compat_module',
                                                   '/usr/lib/apache2/modules/mod_access_compat.so'
                                                 ],
                                                 [
                                                   'alias_module',
                                                   '/usr/lib/apache2/modules/mod_alias.so'
                                                 ],
                                                 [
                                                   'auth_basic_module',
                                                   '/usr/lib/apache2/modules/mod_auth_basic.so'
                                                 ],
                                                 [
                                                   'authn_core_module',
                                                   '/usr/lib/apache2/modules/mod_authn_core.so'
                                                 ],
                                                 [
                                                   'authn_file_module',
                                                   '/usr/lib/apache2/modules/mod_authn_file.so'
                                                 ],
                                                 [
                                                   'authz_core_module',
                                                   '/usr/lib/apache2/modules/mod_authz_core.so'
                                                 ],
                                                 [
                                                   'authz_host_module',
                                                   '/usr/lib/apache2/modules/mod_authz_host.so'
                                                 ],
                                                 [
                                                   'authz_user_module',
                                                   '/usr/lib/apache2/modules/mod_authz_user.so'
                                                 ],
                                                 [
                                                   'autoindex_module',
                                                   '/usr/lib/apache2/modules/mod_autoindex.so'
                                                 ],
                                                 [
                                                   'deflate_module',
                                                   '/usr/lib/apache2/modules/mod_deflate.so'
                                                 ],
                                                 [
                                                   'dir_module',
                                                   '/usr/lib/apache2/modules/mod_dir.so'
                                                 ],
                                                 [
                                                   'env_module',
                                                   '/usr/lib/apache2/modules/mod_env.so'
                                                 ],
                                                 [
                                                   'filter_module',
                                                   '/usr/lib/apache2/modules/mod_filter.so'
                                                 ],
                                                 [
                                                   'mime_module',
                                                   '/usr/lib/apache2/modules/mod_mime.so'
                                                 ],
                                                 [
                                                   'mpm_event_module',
                                                   '/usr/lib/apache2/modules/mod_mpm_event.so'
                                                 ],
                                                 [
                                                   'negotiation_module',
                                                   '/usr/lib/apache2/modules/mod_negotiation.so'
                                                 ],
                                                 [
                                                   'perl_module',
                                                   '/usr/lib/apache2/modules/mod_perl.so'
                                                 ],
                                                 [
                                                   'reqtimeout_module',
                                                   '/usr/lib/apache2/modules/mod_reqtimeout.so'
                                                 ],
                                                 [
                                                   'setenvif_module',
                                                   '/usr/lib/apache2/modules/mod_setenvif.so'
                                                 ],
                                                 [
                                                   'status_module',
                                                   '/usr/lib/apache2/modules/mod_status.so'
                                                 ]
                                               ],
                               'DocumentRoot' => '/var/www/html'
                             }
       }, 'Apache::TestConfig' );
}

1;
