/* One run phase from start to finish, in its own child process and its own
 * directory: credentials for the run, configuration and state in, terraform
 * init and plan or apply, plan file (and its JSON) or state out, the last
 * of the log and the resource profile, and then the outcome: the server
 * takes a phase's writes only until the phase is reported. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <apr_strings.h>
#include "tpl.h"

#define GRACE_SEC 10
#define SHOW_TIMEOUT_SEC 300
#define TAIL_LINES 20
#define TAIL_BYTES 2000

extern char **environ;

/* Configuration size limits: generous, but a bomb costs no more. */
static const tp_archive_limits_t LIMITS = {512 << 20, (apr_off_t)2 << 30,
                                           100000};

typedef struct phase {
    apr_pool_t *p;
    const tpl_config_t *cfg;
    const tpl_job_t *job;
    tpl_ctx_t ctx;
    tpl_stream_t log;
    const char *dir;            /* ours, removed at the end */
    const char *wd;             /* terraform's working directory */
    const char *terraform;      /* the binary the phase runs */
    apr_hash_t *after_init;     /* its files once init is done */
    int exit_code;              /* of the last terraform command */
    volatile sig_atomic_t *stop;
    /* how the phase ended, reported last */
    const char *outcome;
    int has_changes;
    const char *message;
    int state_diverged;         /* applied, but its state not stored */
} phase_t;

/* Records how the phase ended, for the report that comes once everything
 * else of the phase is stored. */
static void conclude(phase_t *ph, const char *status, int has_changes,
                     const char *message)
{
    ph->outcome = status;
    ph->has_changes = has_changes;
    ph->message = message;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st; (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static const char *run_path(phase_t *ph, const char *rest)
{
    return apr_pstrcat(ph->p, "/runs/", ph->job->run_id, rest, NULL);
}

static const char *listener_path(phase_t *ph, const char *rest)
{
    return apr_pstrcat(ph->p, "/listeners/", ph->ctx.listener_id, "/runs/",
                       ph->job->run_id, rest, NULL);
}

/* GET into a file; *found is 0 on a 404 when missing_ok. */
static tp_err_t *download(phase_t *ph, const char *what, const char *file,
                          int missing_ok, int *found)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_err_t *err;

    req.out_file = file;
    req.timeout = 600;
    tpl_runner_token_refresh(&ph->ctx);
    if ((err = tpl_call(ph->p, &ph->ctx, TPL_AUTH_BEARER, &req,
                        run_path(ph, apr_pstrcat(ph->p, "/artifacts/", what,
                                                 NULL)), NULL, &resp))
        != NULL) {
        return err;
    }
    if (found) {
        *found = resp.status == 200;
    }
    if (resp.status == 404 && missing_ok) {
        unlink(file);
        return NULL;
    }
    if (resp.status != 200) {
        unlink(file);
        return tp_err(ph->p, 502, "downloading the %s failed: HTTP %d", what,
                      resp.status);
    }
    return NULL;
}

static tp_err_t *upload(phase_t *ph, const char *what, const char *file,
                        const char *type)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_err_t *err;

    req.method = "PUT";
    req.body_file = file;
    req.timeout = 600;
    tpl_runner_token_refresh(&ph->ctx);
    req.headers = apr_array_make(ph->p, 4, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) = apr_pstrcat(ph->p,
        "Content-Type: ", type, NULL);
    if ((err = tpl_call(ph->p, &ph->ctx, TPL_AUTH_BEARER, &req,
                        run_path(ph, apr_pstrcat(ph->p, "/artifacts/", what,
                                                 NULL)), NULL, &resp))
        != NULL) {
        return err;
    }
    return resp.status / 100 == 2 ? NULL
           : tp_err(ph->p, 502, "uploading the %s failed: %s", what,
                    tpl_resp_why(ph->p, &resp));
}

/* The outcome. A failure here leaves the run for the server to time out,
 * so it is retried a few times. */
static void report(phase_t *ph, const char *status, int has_changes,
                   const char *message)
{
    tp_json_t *body = tp_json_object(ph->p);
    tp_http_req_t req;
    tp_http_resp_t resp;
    tp_err_t *err;
    int attempt;

    tp_json_sets(body, status, "status", NULL);
    if (!ph->job->apply && !strcmp(status, "planned")) {
        tp_json_setb(body, has_changes, "has-changes", NULL);
    }
    if (message) {
        tp_json_sets(body, message, "error-message", NULL);
    }
    if (ph->state_diverged) {
        tp_json_setb(body, 1, "state-diverged", NULL);
    }
    for (attempt = 0; attempt < 5; attempt++) {
        memset(&req, 0, sizeof(req));
        req.method = "PATCH";
        err = tpl_call(ph->p, &ph->ctx, TPL_AUTH_CERT, &req,
                       listener_path(ph, ""), body, &resp);
        if (!err && resp.status / 100 == 2) {
            tpl_log("TPL0040: run %s: %s %s", ph->job->run_id,
                    ph->job->apply ? "apply" : "plan", status);
            return;
        }
        tpl_log("TPL0041: run %s: reporting %s failed: %s", ph->job->run_id,
                status, err ? err->detail : tpl_resp_why(ph->p, &resp));
        if (!err && resp.status / 100 == 4) {
            return;                 /* the server will not change its mind */
        }
        sleep(2 << attempt);
    }
}

static tp_err_t *write_file(apr_pool_t *p, const char *path, const char *data)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(data, f) == EOF || fclose(f) != 0) {
        return tp_err(p, 500, "cannot write %s: %s", path, strerror(errno));
    }
    return NULL;
}

/* Workspace, configuration and state in place. */
static tp_err_t *prepare(phase_t *ph)
{
    const char *tarball = apr_pstrcat(ph->p, ph->dir, "/config.tar.gz", NULL);
    const char *src = apr_pstrcat(ph->p, ph->dir, "/config", NULL);
    const char *state;
    tp_archive_info_t info;
    struct stat st;
    tp_err_t *err;
    int found;

    if (mkdir(src, 0700) != 0) {
        return tp_err(ph->p, 500, "mkdir %s: %s", src, strerror(errno));
    }
    if ((err = download(ph, "config", tarball, 0, NULL)) != NULL
        || (err = tp_archive_extract(ph->p, tarball, src, &LIMITS, &info))
           != NULL) {
        return err;
    }
    unlink(tarball);
    ph->wd = *ph->job->working_dir ? apr_pstrcat(ph->p, src, "/",
                                                 ph->job->working_dir, NULL)
                                   : src;
    /* lstat: a symlinked working directory could point anywhere */
    if (lstat(ph->wd, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return tp_err(ph->p, 422, "the working directory \"%s\" is not a "
                      "directory of the configuration", ph->job->working_dir);
    }
    state = apr_pstrcat(ph->p, ph->wd, "/terraform.tfstate", NULL);
    unlink(state);
    if ((err = download(ph, "state", state, 1, &found)) != NULL) {
        return err;
    }
    if (ph->job->apply
        && (err = download(ph, "plan-file", apr_pstrcat(ph->p, ph->wd,
                                                        "/tfplan", NULL),
                           0, NULL)) != NULL) {
        return err;
    }
    if ((err = write_file(ph->p, apr_pstrcat(ph->p, ph->wd, "/"
                                             TPL_TFVARS_NAME, NULL),
                          tpl_tfvars(ph->p, ph->job))) != NULL) {
        return err;
    }
    return write_file(ph->p, apr_pstrcat(ph->p, ph->wd, "/" TPL_OVERRIDE_NAME,
                                         NULL), tpl_override_tf());
}

static const char *failure(phase_t *ph, const char *what)
{
    const char *tail = tpl_tail(ph->p, ph->log.tail, ph->log.tail_len,
                                TAIL_LINES, TAIL_BYTES);

    return *tail ? apr_pstrcat(ph->p, what, ":\n", tail, NULL) : what;
}

/* The plan as JSON for the UI and policy tools. It is extra: a failure is
 * logged, and the run goes on without it. */
static void upload_plan_json(phase_t *ph, char **env)
{
    const char *out = apr_pstrcat(ph->p, ph->dir, "/plan.json", NULL);
    const char *errs = apr_pstrcat(ph->p, ph->dir, "/show.err", NULL);
    tp_err_t *err;
    char buf[TAIL_BYTES];
    ssize_t n = 0;
    int rc, fd;

    rc = tpl_exec_to_file(tpl_show_json_argv(ph->p, ph->terraform), env,
                          ph->wd, out, errs, SHOW_TIMEOUT_SEC, ph->stop);
    if (rc != 0) {
        if ((fd = open(errs, O_RDONLY | O_CLOEXEC)) >= 0) {
            n = read(fd, buf, sizeof(buf));
            close(fd);
        }
        tpl_log("TPL0049: run %s: terraform show -json failed (%d): %s",
                ph->job->run_id, rc,
                n > 0 ? tpl_tail(ph->p, buf, (apr_size_t)n, TAIL_LINES,
                                 TAIL_BYTES) : "no output");
    } else if ((err = upload(ph, "plan-json", out, "application/json"))
               != NULL) {
        tpl_log("TPL0050: run %s: %s", ph->job->run_id, err->detail);
    }
    unlink(out);
    unlink(errs);
}

/* What the plan created, for the apply. Always sent, empty or not, so that
 * a missing upload means a failure; a failure is logged and the run goes
 * on (the apply phase proceeds without the files). */
static void upload_plan_artifacts(phase_t *ph)
{
    const char *out = apr_pstrcat(ph->p, ph->dir, "/plan-artifacts.tar.gz",
                                  NULL);
    apr_array_header_t *files = tpl_snapshot_changed(ph->p, ph->wd,
                                                     ph->after_init);
    tp_err_t *err = tp_archive_write(ph->p, ph->wd, files, out);

    if (!err) {
        err = upload(ph, "plan-artifacts", out, "application/x-tar");
    }
    if (err) {
        tpl_log("TPL0051: run %s: plan artifacts: %s", ph->job->run_id,
                err->log ? err->log : err->detail);
    }
    unlink(out);
}

/* The apply phase's counterpart, after its init. */
static void restore_plan_artifacts(phase_t *ph)
{
    const char *tarball = apr_pstrcat(ph->p, ph->dir, "/plan-artifacts.tar.gz",
                                      NULL);
    tp_err_t *err;
    int found, count = 0;

    err = download(ph, "plan-artifacts", tarball, 1, &found);
    if (!err && !found) {
        tpl_stream_note(&ph->log, "terrapod-listener: the plan left no "
                        "files for the apply; going on without them\n");
        return;
    }
    if (!err) {
        err = tpl_artifacts_restore(ph->p, tarball,
                                    apr_pstrcat(ph->p, ph->dir, "/artifacts",
                                                NULL), ph->wd, &LIMITS,
                                    &count);
    }
    if (err) {
        tpl_log("TPL0052: run %s: plan artifacts: %s", ph->job->run_id,
                err->log ? err->log : err->detail);
        tpl_stream_note(&ph->log, apr_pstrcat(ph->p, "terrapod-listener: "
                        "restoring the plan's files failed: ", err->detail,
                        "\n", NULL));
    } else if (count) {
        tpl_stream_note(&ph->log, apr_psprintf(ph->p, "terrapod-listener: "
                        "restored %d files the plan created\n", count));
    }
    unlink(tarball);
}

static void finish_plan(phase_t *ph, int rc, char **env)
{
    tp_err_t *err;

    if (ph->log.canceled) {
        conclude(ph, "canceled", 0, NULL);
    } else if (rc != 0 && rc != 2) {
        conclude(ph, "errored", 0, failure(ph, "terraform plan failed"));
    } else if ((err = upload(ph, "plan-file", apr_pstrcat(ph->p, ph->wd,
                                                          "/tfplan", NULL),
                             "application/octet-stream")) != NULL) {
        tpl_log("TPL0042: run %s: %s", ph->job->run_id, err->detail);
        conclude(ph, "errored", 0, err->detail);
    } else {
        upload_plan_json(ph, env);
        upload_plan_artifacts(ph);
        conclude(ph, "planned", rc == 2, NULL);
    }
}

/* A failed or interrupted apply may have changed resources: whatever
 * state terraform wrote is uploaded in every case. A successful apply
 * whose state could not be stored left the infrastructure ahead of the
 * server's state: the report says so, and the workspace shows it. */
static void finish_apply(phase_t *ph, int rc)
{
    const char *state = apr_pstrcat(ph->p, ph->wd, "/terraform.tfstate",
                                    NULL);
    tp_err_t *err = NULL;
    struct stat st;

    if (stat(state, &st) == 0) {
        err = upload(ph, "state", state, "application/json");
        if (err) {
            tpl_log("TPL0043: run %s: %s", ph->job->run_id, err->detail);
        }
    }
    if (ph->log.canceled) {
        conclude(ph, "canceled", 0, err ? err->detail : NULL);
    } else if (rc != 0) {
        conclude(ph, "errored", 0, failure(ph, "terraform apply failed"));
    } else if (err) {
        ph->state_diverged = 1;
        conclude(ph, "errored", 0, err->detail);
    } else {
        conclude(ph, "applied", 0, NULL);
    }
}

/* Appends the file at path to f; 0 when it cannot be read. */
static int append_file(FILE *f, const char *path)
{
    FILE *in = fopen(path, "r");
    char buf[8192];
    size_t n;
    int ok;

    if (!in) {
        return 0;
    }
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0
           && fwrite(buf, 1, n, f) == n) {
    }
    ok = !ferror(in) && !ferror(f);
    fclose(in);
    return ok;
}

/* What terraform's SSL_CERT_FILE is to name so that it trusts the server
 * as the listener does (terraform_remote_state reads it): with --ca-file,
 * that CA, after the certificates of the listener's own SSL_CERT_FILE
 * when it has one (a file of the phase's); *file stays NULL otherwise,
 * and terraform gets the listener's SSL_CERT_FILE. */
static tp_err_t *trust_file(phase_t *ph, const char **file)
{
    const char *own = getenv("SSL_CERT_FILE");
    const char *bundle = apr_pstrcat(ph->p, ph->dir, "/ca-bundle.pem", NULL);
    FILE *f;
    int ok;

    *file = ph->cfg->ca_file;
    if (!*file || !own || !*own || strcmp(own, *file) == 0) {
        return NULL;
    }
    if (!(f = fopen(bundle, "w"))) {
        return tp_err(ph->p, 500, "cannot write %s: %s", bundle,
                      strerror(errno));
    }
    ok = append_file(f, own) && fputc('\n', f) != EOF
         && append_file(f, ph->cfg->ca_file);
    if (fclose(f) != 0 || !ok) {
        return tp_err(ph->p, 500, "the listener could not join its CA file "
                      "and SSL_CERT_FILE for terraform in %s", bundle);
    }
    *file = bundle;
    return NULL;
}

/* terraform's environment, with a home and a temporary directory of the
 * phase's own: nothing of the operator's home (CLI configuration,
 * credentials) is read, and nothing a run leaves there outlives it. */
static tp_err_t *phase_env(phase_t *ph, char ***env, int *skipped)
{
    const char *home = apr_pstrcat(ph->p, ph->dir, "/home", NULL);
    const char *tmp = apr_pstrcat(ph->p, ph->dir, "/tmp", NULL);
    const char *trust;
    tp_err_t *err;

    if (mkdir(home, 0700) != 0 || mkdir(tmp, 0700) != 0) {
        return tp_err(ph->p, 500, "the listener could not create the run's "
                      "home and temporary directories: %s", strerror(errno));
    }
    if ((err = trust_file(ph, &trust)) != NULL) {
        return err;
    }
    *env = tpl_build_env(ph->p, environ, ph->cfg->pass_env, trust, home, tmp,
                         ph->job, skipped);
    return write_file(ph->p, apr_pstrcat(ph->p, home, "/.terraformrc", NULL),
                      tpl_cli_config(ph->p, ph->cfg->url, ph->ctx.bearer));
}

static int execute(phase_t *ph)
{
    const tpl_job_t *job = ph->job;
    const char *tf, *note;
    char **env = NULL;
    tp_err_t *err;
    int skipped, rc;

    if ((err = prepare(ph)) != NULL) {
        tpl_log("TPL0044: run %s: %s", job->run_id, err->log ? err->log
                                                   : err->detail);
        tpl_stream_note(&ph->log, apr_pstrcat(ph->p, "terrapod-listener: ",
                                              err->detail, "\n", NULL));
        conclude(ph, "errored", 0, err->detail);
        return 1;
    }
    if ((err = phase_env(ph, &env, &skipped)) != NULL) {
        tpl_log("TPL0054: run %s: %s", job->run_id, err->detail);
        report(ph, "errored", 0, err->detail);
        return 1;
    }
    if (skipped) {
        tpl_stream_note(&ph->log, apr_psprintf(ph->p, "terrapod-listener: "
                        "%d variables with names that are no valid "
                        "environment names were left out\n", skipped));
    }
    if ((err = tpl_terraform_for(ph->p, &ph->ctx, job->tf_version, ph->dir,
                                 env, &tf, &note)) != NULL) {
        tpl_log("TPL0062: run %s: %s", job->run_id, err->detail);
        tpl_stream_note(&ph->log, apr_pstrcat(ph->p, "terrapod-listener: ",
                                              err->detail, "\n", NULL));
        conclude(ph, "errored", 0, err->detail);
        return 1;
    }
    if (note) {
        tpl_stream_note(&ph->log, apr_pstrcat(ph->p, "terrapod-listener: ",
                                              note, "\n", NULL));
    }
    ph->terraform = tf;
    rc = ph->exit_code = tpl_exec(&ph->log, tpl_init_argv(ph->p, tf), env,
                                  ph->wd, ph->stop, GRACE_SEC);
    if (rc != 0 || ph->log.canceled) {
        if (ph->log.canceled) {
            conclude(ph, "canceled", 0, NULL);
        } else {
            conclude(ph, "errored", 0, failure(ph, rc < 0 ? "terraform could "
                                             "not be started"
                                             : "terraform init failed"));
        }
        return 1;
    }
    tpl_stream_note(&ph->log, "\n");
    if (job->apply) {
        restore_plan_artifacts(ph);
        rc = ph->exit_code = tpl_exec(&ph->log, tpl_apply_argv(ph->p, tf),
                                      env, ph->wd, ph->stop, GRACE_SEC);
        finish_apply(ph, rc);
    } else {
        ph->after_init = tpl_snapshot(ph->p, ph->wd);
        rc = ph->exit_code = tpl_exec(&ph->log, tpl_plan_argv(ph->p, tf, job),
                                      env, ph->wd, ph->stop, GRACE_SEC);
        finish_plan(ph, rc, env);
    }
    return 0;
}

/* What terraform used, from the kernel's accounting of the processes this
 * one waited for: the largest resident set among them and their CPU time
 * together. Extra, like the plan JSON: a failure is only logged. */
static void report_profile(phase_t *ph)
{
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_json_t *body = tp_json_object(ph->p);
    struct rusage ru;
    tp_err_t *err;

    if (getrusage(RUSAGE_CHILDREN, &ru) != 0) {
        return;
    }
    tp_json_seti(body, (apr_int64_t)ru.ru_maxrss * 1024, "peak_memory_bytes",
                 NULL);
    tp_json_seti(body, ((apr_int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
                       * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
                 "peak_cpu_usec", NULL);
    if (ph->exit_code >= 0) {
        tp_json_seti(body, ph->exit_code, "exit_code", NULL);
    }
    req.method = "POST";
    req.timeout = 30;
    tpl_runner_token_refresh(&ph->ctx);
    err = tpl_call(ph->p, &ph->ctx, TPL_AUTH_BEARER, &req,
                   run_path(ph, "/resource-profile"), body, &resp);
    if (err || resp.status / 100 != 2) {
        tpl_log("TPL0053: run %s: resource profile not stored: %s",
                ph->job->run_id, err ? err->detail
                                     : tpl_resp_why(ph->p, &resp));
    }
}

void tpl_phase_refuse(apr_pool_t *p, const tpl_config_t *cfg,
                      const tpl_job_t *job, const char *why)
{
    phase_t ph;

    memset(&ph, 0, sizeof(ph));
    ph.p = p;
    ph.cfg = cfg;
    ph.job = job;
    ph.ctx.cfg = cfg;
    if (tpl_creds_load(p, &ph.ctx) == APR_SUCCESS) {
        report(&ph, "errored", 0, why);
    }
}

int tpl_phase_run(apr_pool_t *p, const tpl_config_t *cfg, const tpl_job_t *job,
                  volatile sig_atomic_t *stop)
{
    phase_t ph;
    tp_err_t *err;
    char *dir;
    int rc;

    memset(&ph, 0, sizeof(ph));
    ph.exit_code = -1;
    ph.p = p;
    ph.cfg = cfg;
    ph.job = job;
    ph.stop = stop;
    ph.ctx.cfg = cfg;
    if (tpl_creds_load(p, &ph.ctx) != APR_SUCCESS) {
        tpl_log("TPL0045: run %s: no credentials", job->run_id);
        return 1;
    }
    tpl_stream_init(&ph.log, p, &ph.ctx, job->run_id,
                    job->apply ? "apply-log" : "plan-log");
    tpl_log("TPL0046: run %s: starting %s of workspace %s", job->run_id,
            job->apply ? "apply" : "plan",
            job->workspace_name ? job->workspace_name : "?");
    ph.ctx.run_pool = p;
    ph.ctx.run_id = job->run_id;
    if ((err = tpl_runner_token(&ph.ctx)) != NULL) {
        tpl_log("TPL0047: run %s: %s", job->run_id, err->detail);
        report(&ph, "errored", 0, "the listener could not get a runner "
               "token");
        return 1;
    }
    dir = apr_pstrcat(p, cfg->work_dir, "/", job->run_id,
                      job->apply ? "-apply-XXXXXX" : "-plan-XXXXXX", NULL);
    if (!mkdtemp(dir)) {
        tpl_log("TPL0048: run %s: mkdtemp %s: %s", job->run_id, dir,
                strerror(errno));
        report(&ph, "errored", 0, "the listener could not create a work "
               "directory");
        return 1;
    }
    ph.dir = dir;
    tpl_stream_note(&ph.log, apr_psprintf(p, "terrapod-listener %s on %s: "
                    "%s phase\n", TPL_VERSION, cfg->name,
                    job->apply ? "apply" : "plan"));
    rc = execute(&ph);
    tpl_stream_flush(&ph.log);
    report_profile(&ph);
    report(&ph, ph.outcome, ph.has_changes, ph.message);
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
