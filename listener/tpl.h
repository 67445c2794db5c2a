/* terrapod-listener: an agent that joins a pool, long-polls the server for
 * run phases and runs terraform for each in a child process. Pure helpers
 * (tpl_job.c, tpl_config.c) are unit-tested; the rest talks to the server
 * (tpl_api.c), runs processes (tpl_exec.c, tpl_phase.c) and loops
 * (tpl_main.c). */
#ifndef TPL_H
#define TPL_H

#include <signal.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>
#include <apr_time.h>
#include "tp_error.h"
#include "tp_json.h"
#include "tp_http_client.h"
#include "tp_archive.h"

#define TPL_VERSION "0.1.0"
#define TPL_API "/api/terrapod/v1"
#define TPL_OVERRIDE_NAME "zz_terrapod_override.tf"

typedef struct tpl_config {
    const char *url;            /* without a trailing slash */
    const char *join_token;     /* NULL when only stored credentials exist */
    const char *name;
    const char *state_dir;
    const char *ca_file;        /* the server's TLS CA; NULL: system CAs */
    const char *terraform;
    const char *work_dir;
    int concurrency;
    int token_ttl;              /* runner tokens asked for, seconds */
    const char *log_file;       /* NULL: standard error */
    /* names of the listener's environment variables terraform gets
     * besides its allow-list (proxies, ...) */
    apr_array_header_t *pass_env;   /* of const char * */
    int version;                /* --version was asked for */
} tpl_config_t;

/* Fills cfg from the command line (and TERRAPOD_JOIN_TOKEN); returns a
 * message for the user, "" for --help and --version (which sets
 * cfg->version), or NULL when cfg is complete. */
const char *tpl_parse_args(apr_pool_t *p, int argc, const char *const *argv,
                           const char *env_token, tpl_config_t *cfg);
const char *tpl_usage(void);

typedef struct tpl_var {
    const char *key;
    const char *value;          /* never logged */
    int env;                    /* category "env" rather than "terraform" */
    int hcl;
    int sensitive;
} tpl_var_t;

typedef struct tpl_job {
    const char *run_id;
    int apply;                  /* phase "apply", else "plan" */
    const char *workspace_id;
    const char *workspace_name;
    const char *working_dir;    /* relative, checked; "" for the root */
    const char *tf_version;
    int is_destroy, refresh, refresh_only, allow_empty_apply, plan_only;
    apr_array_header_t *targets;    /* of const char * */
    apr_array_header_t *replaces;   /* of const char * */
    apr_array_header_t *vars;       /* of tpl_var_t */
} tpl_job_t;

/* Reads the "data" member of a runs/next answer; a message when it is
 * not usable. */
const char *tpl_job_parse(apr_pool_t *p, const tp_json_t *doc, tpl_job_t *job);

/* The file that replaces any cloud or backend block with local state. */
const char *tpl_override_tf(void);

#define TPL_TFVARS_NAME "zz_terrapod.auto.tfvars"

/* The terraform variables with HCL values, as a tfvars file ("" when
 * there are none); keys that are no identifiers are left out. */
const char *tpl_tfvars(apr_pool_t *p, const tpl_job_t *job);

/* 1 when name may be an environment variable's: letters, digits and '_',
 * not starting with a digit. */
int tpl_env_name_valid(const char *name);

/* terraform's environment. Never the listener's whole environment (base,
 * a NULL-terminated environ), which holds the operator's own settings:
 * from it only PATH (a default when unset), SSL_CERT_FILE and the names
 * pass lists, when set; ca_file (NULL: none) replaces SSL_CERT_FILE: the
 * certificates that let terraform reach the server as the listener does
 * (tpl_phase.c; Go still reads the system's certificate directories);
 * HOME and TMPDIR are the phase's own directories;
 * then the job's env variables and non-HCL terraform variables (as
 * TF_VAR_<key>), and the fixed automation settings over everything. A
 * later name replaces an earlier one. *skipped counts variables whose key
 * is no valid variable name. */
char **tpl_build_env(apr_pool_t *p, char *const *base,
                     const apr_array_header_t *pass, const char *ca_file,
                     const char *home, const char *tmpdir,
                     const tpl_job_t *job, int *skipped);

/* The CLI configuration ($HOME/.terraformrc) of a phase: the runner
 * token as the credentials of the server's host (url's host and port),
 * so that terraform_remote_state and tfe_outputs reads of the server
 * act as the run's workspace, and the server's provider network mirror
 * as the one way providers are installed. */
const char *tpl_cli_config(apr_pool_t *p, const char *url,
                           const char *token);

/* NULL-terminated argument vectors. */
const char **tpl_init_argv(apr_pool_t *p, const char *terraform);
const char **tpl_plan_argv(apr_pool_t *p, const char *terraform,
                           const tpl_job_t *job);
const char **tpl_apply_argv(apr_pool_t *p, const char *terraform);
/* terraform show -json tfplan: the plan as data */
const char **tpl_show_json_argv(apr_pool_t *p, const char *terraform);

/* The last lines (at most max_lines and max_bytes) of output, starting on
 * a character boundary, trailing blank lines dropped. */
const char *tpl_tail(apr_pool_t *p, const char *buf, apr_size_t len,
                     int max_lines, apr_size_t max_bytes);

/* 1 when less than a third of the certificate's lifetime is left. */
int tpl_renew_due(apr_time_t not_before, apr_time_t not_after,
                  apr_time_t now);

#define TPL_RETRY_SEC 5         /* after a failure that says nothing */
#define TPL_RETRY_MAX 300

/* Seconds to wait before the next long poll after an answer of status (0:
 * none came) whose Retry-After asked for retry_after seconds (0: none):
 * none after 200 and 204; what a busy (503) or limiting (429) server
 * asked, within 1 and TPL_RETRY_MAX; TPL_RETRY_SEC otherwise. */
int tpl_poll_delay(int status, long retry_after);

/* ---- talking to the server (tpl_api.c) ---- */

typedef struct tpl_ctx {
    const tpl_config_t *cfg;
    const char *listener_id;
    const char *pool_id;
    const char *pem_file;       /* certificate + key, mode 0600 */
    volatile sig_atomic_t *abort;
    /* the run of a phase process, its runner token, and when to ask for a
     * fresh one (half-way through its life: phases may outlast it) */
    apr_pool_t *run_pool;
    const char *run_id;
    const char *bearer;
    apr_time_t bearer_renew_at;
} tpl_ctx_t;

typedef enum { TPL_AUTH_NONE, TPL_AUTH_CERT, TPL_AUTH_BEARER } tpl_auth_e;

/* One request to <url>/api/terrapod/v1<path>. body_json, when not NULL, is
 * sent as JSON; req may carry body/out files, method and timeout. */
tp_err_t *tpl_call(apr_pool_t *p, const tpl_ctx_t *c, tpl_auth_e auth,
                   tp_http_req_t *req, const char *path,
                   const tp_json_t *body_json, tp_http_resp_t *resp);

/* Credentials in the state directory: loads them (APR_ENOENT when there
 * are none), joins, renews. */
apr_status_t tpl_creds_load(apr_pool_t *p, tpl_ctx_t *c);
tp_err_t *tpl_join(apr_pool_t *p, tpl_ctx_t *c);
tp_err_t *tpl_renew_if_due(apr_pool_t *p, tpl_ctx_t *c);
/* A runner token for c->run_id, kept in c->run_pool. */
tp_err_t *tpl_runner_token(tpl_ctx_t *c);
/* Renews the runner token when it is due; a failure is logged (the
 * request it was for then fails on its own). */
void tpl_runner_token_refresh(tpl_ctx_t *c);

/* Heartbeat; *status is the HTTP status (0 on transport errors). */
tp_err_t *tpl_heartbeat(apr_pool_t *p, const tpl_ctx_t *c, int *status);
/* An error message from a JSON:API error answer, for logs. */
const char *tpl_resp_why(apr_pool_t *p, const tp_http_resp_t *resp);

/* ---- the terraform a phase runs (tpl_binaries.c) ---- */

/* 1 when v is one exact version (1.11.4, 1.12.0-beta1), not a constraint
 * or "latest". */
int tpl_version_exact(const char *v);
/* This machine's platform as releases name it: "linux_amd64". */
const char *tpl_platform(apr_pool_t *p);
/* The terraform to run for a workspace pinned to version: the
 * listener's own when version is no exact version or is its own; else
 * the one kept under the state directory, or fetched from the server's
 * binary cache with the runner token (checked against the SHA-256 the
 * server sends, then kept). scratch is a directory of the phase's; envp
 * terraform's environment. *note says what was chosen when it is not the
 * listener's own. */
tp_err_t *tpl_terraform_for(apr_pool_t *p, tpl_ctx_t *c, const char *version,
                            const char *scratch, char **envp,
                            const char **tf, const char **note);

/* ---- files a plan leaves for its apply (tpl_artifacts.c) ---- */

/* Fingerprints (size, mtime) of the regular files under root. */
apr_hash_t *tpl_snapshot(apr_pool_t *p, const char *root);
/* Paths (relative to root) of the regular files added or changed since
 * before, leaving out the plan file, the state and the lock file, which
 * travel on their own. */
apr_array_header_t *tpl_snapshot_changed(apr_pool_t *p, const char *root,
                                         apr_hash_t *before);
/* Unpacks tarball (checked as configurations are) into the new directory
 * scratch, then moves its files into wd, replacing files of the same
 * name; *count is the number moved. */
tp_err_t *tpl_artifacts_restore(apr_pool_t *p, const char *tarball,
                                const char *scratch, const char *wd,
                                const tp_archive_limits_t *limits, int *count);

/* ---- running phases ---- */

typedef struct tpl_stream {
    apr_pool_t *p;
    tpl_ctx_t *ctx;
    const char *run_id;
    const char *log_path;       /* ".../artifacts/plan-log" */
    char *pending;              /* not yet sent */
    apr_size_t pending_len;
    char *tail;                 /* the last output, for error messages */
    apr_size_t tail_len;
    apr_time_t last_flush;
    apr_time_t last_check;
    int canceled;               /* a cancel was asked for */
} tpl_stream_t;

void tpl_stream_init(tpl_stream_t *s, apr_pool_t *p, tpl_ctx_t *ctx,
                     const char *run_id, const char *log_kind);
/* Adds text of the listener's own to the log. */
void tpl_stream_note(tpl_stream_t *s, const char *text);
void tpl_stream_flush(tpl_stream_t *s);

/* Runs argv in cwd with envp, streaming its output; returns its exit
 * status (128+signal when killed), -1 when it could not be started.
 * Cancels (server-side or *stop) interrupt it: SIGINT, then SIGKILL after
 * grace_sec. */
int tpl_exec(tpl_stream_t *s, const char *const *argv, char **envp,
             const char *cwd, volatile sig_atomic_t *stop, int grace_sec);

/* Runs argv in cwd with envp, its standard output into out_file and its
 * standard error into err_file, nothing streamed; killed after
 * timeout_sec or when *stop is set. Returns as tpl_exec does. */
int tpl_exec_to_file(const char *const *argv, char **envp, const char *cwd,
                     const char *out_file, const char *err_file,
                     int timeout_sec, volatile sig_atomic_t *stop);

/* The whole phase, in a forked child; returns the child's exit code. */
int tpl_phase_run(apr_pool_t *p, const tpl_config_t *cfg, const tpl_job_t *job,
                  volatile sig_atomic_t *stop);

/* Hands a phase back as errored without running it. */
void tpl_phase_refuse(apr_pool_t *p, const tpl_config_t *cfg,
                      const tpl_job_t *job, const char *why);

/* One line on standard error (the --log-file once it is open), written
 * at once so lines of several processes never mix. */
void tpl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
