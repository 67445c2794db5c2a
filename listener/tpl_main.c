/* terrapod-listener's processes: the main one long-polls for work and forks
 * a child per run phase; a heartbeat child keeps the listener online and
 * its certificate fresh. SIGTERM stops taking work and cancels what runs,
 * and so does the server's word that the listener is revoked; SIGHUP
 * reopens the log file (after logrotate moved it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tpl.h"

#define HEARTBEAT_SEC 10
#define POLL_WAIT_SEC 25
/* the exit status after a revocation: a service manager told not to
 * restart on it (systemd's RestartPreventExitStatus=3) leaves it down */
#define EXIT_REVOKED 3

static volatile sig_atomic_t stopping;
static int revoked;
/* the main process's run children, for the signal handlers; NULL in
 * every child */
static pid_t *volatile run_pids;
static int run_max;
/* the main process's heartbeat child; 0 in every child */
static volatile pid_t beat_pid;
/* --log-file; the last reopen's errno (0: it worked) and whether one
 * happened since it was noted */
static const char *log_path;
static volatile sig_atomic_t reopen_errno, reopened;
/* only the heartbeat child notes reopens: it looks ten times a second,
 * the main process may sit in a long poll */
static int notes_reopens;

/* Points standard error at the log file; async-signal-safe. 0 or the
 * errno of the failure, which leaves standard error as it was. */
static int open_log(void)
{
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    int e = 0;

    if (fd < 0) {
        return errno;
    }
    if (fd != STDERR_FILENO) {
        if (dup2(fd, STDERR_FILENO) < 0) {
            e = errno;
        }
        close(fd);
    }
    return e;
}

static void signal_runs(int sig)
{
    pid_t *pids = run_pids;
    int i;

    for (i = 0; pids && i < run_max; i++) {
        if (pids[i] > 0) {
            kill(pids[i], sig);
        }
    }
}

/* Every process reopens for itself (each holds its own descriptor); the
 * main process passes the signal on to its children. */
static void on_hup(int sig)
{
    int saved = errno;

    if (log_path) {
        reopen_errno = open_log();
        reopened = 1;
    }
    if (beat_pid > 0) {
        kill(beat_pid, sig);
    }
    signal_runs(sig);
    errno = saved;
}

/* Passed on at once to the run children: the main process may sit in a
 * long poll. The heartbeat child is stopped once they are done. */
static void on_term(int sig)
{
    int saved = errno;

    (void)sig;
    stopping = 1;
    signal_runs(SIGTERM);
    errno = saved;
}

static void signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Says how the last reopen of the log file went, in the file. */
static void note_reopen(void)
{
    int e = reopen_errno;

    reopened = 0;
    if (e) {
        tpl_log("TPL0014: cannot reopen the log file %s: %s; logging on to "
                "the one open", log_path, strerror(e));
    } else if (notes_reopens) {
        tpl_log("TPL0015: reopened the log file %s", log_path);
    }
}

/* The server answers 403 to a revoked listener, whatever it asks (a join
 * under its name included): the one answer that is never worth retrying. */
static int refused_for_good(const tp_err_t *err, const char *what)
{
    if (!err || err->status != 403) {
        return 0;
    }
    tpl_log("TPL0016: %s: the server has revoked this listener (%s); "
            "stopping", what, err->detail);
    return 1;
}

/* Sleeps up to sec seconds, less when stopping. */
static void pause_for(int sec)
{
    int i;

    for (i = 0; i < sec * 10 && !stopping; i++) {
        if (reopened) {
            note_reopen();
        }
        usleep(100000);
    }
}

/* Stored credentials that the server still accepts, or new ones. A server
 * that cannot be reached is waited for; a rejected certificate is
 * replaced by joining again. */
static tp_err_t *establish(apr_pool_t *p, tpl_ctx_t *c)
{
    tp_err_t *err;
    int status;

    while (!stopping) {
        if (tpl_creds_load(p, c) != APR_SUCCESS) {
            return tpl_join(p, c);
        }
        err = tpl_heartbeat(p, c, &status);
        if (!err) {
            tpl_log("TPL0004: resuming as listener %s", c->listener_id);
            return tpl_renew_if_due(p, c);
        }
        if (status == 403) {
            return err;
        }
        if (status == 401 || status == 404) {
            tpl_log("TPL0005: the stored certificate was refused (%s); "
                    "joining again", err->detail);
            return tpl_join(p, c);
        }
        tpl_log("TPL0006: server not reachable: %s", err->detail);
        pause_for(TPL_RETRY_SEC);
    }
    return tp_err(p, 503, "stopped");
}

/* The heartbeat child: beats, renews, and joins again when the server
 * forgets the listener. It exits when the main process goes away, or when
 * the listener is revoked (the main process learns it from its poll). */
static void heartbeat_loop(const tpl_config_t *cfg, pid_t parent)
{
    apr_pool_t *p, *iter;
    tpl_ctx_t c;
    tp_err_t *err;
    int status, failing = 0;

    apr_pool_create(&p, NULL);
    apr_pool_create(&iter, p);
    while (!stopping && getppid() == parent) {
        apr_pool_clear(iter);
        memset(&c, 0, sizeof(c));
        c.cfg = cfg;
        if (tpl_creds_load(iter, &c) != APR_SUCCESS) {
            err = tpl_join(iter, &c);
        } else if ((err = tpl_heartbeat(iter, &c, &status)) == NULL) {
            err = tpl_renew_if_due(iter, &c);
        } else if (status == 401 || status == 404) {
            tpl_log("TPL0007: heartbeat refused (%s); joining again",
                    err->detail);
            err = tpl_join(iter, &c);
        }
        if (refused_for_good(err, "heartbeat")) {
            break;
        }
        if (err && !failing++) {
            tpl_log("TPL0008: heartbeat: %s", err->detail);
        } else if (!err && failing) {
            tpl_log("TPL0009: heartbeat works again");
            failing = 0;
        }
        pause_for(HEARTBEAT_SEC);
    }
    apr_pool_destroy(p);
}

typedef struct children {
    pid_t *pids;
    int max, running;
} children_t;

static void reap(children_t *ch, int block)
{
    int i, status;
    pid_t pid;

    for (i = 0; i < ch->max; i++) {
        if (ch->pids[i] <= 0) {
            continue;
        }
        pid = waitpid(ch->pids[i], &status, block ? 0 : WNOHANG);
        if (pid == ch->pids[i] || (pid < 0 && errno == ECHILD)) {
            ch->pids[i] = 0;
            ch->running--;
        }
    }
}

static void spawn(apr_pool_t *p, const tpl_config_t *cfg, children_t *ch,
                  const tpl_job_t *job)
{
    pid_t pid;
    int i;

    for (i = 0; i < ch->max && ch->pids[i] > 0; i++) {
    }
    pid = fork();
    if (pid < 0) {
        tpl_log("TPL0020: fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        run_pids = NULL;
        beat_pid = 0;
        _exit(tpl_phase_run(p, cfg, job, &stopping));
    }
    ch->pids[i] = pid;
    ch->running++;
}

/* One long poll; the seconds to wait before the next (0: at once). */
static int poll_once(apr_pool_t *p, const tpl_config_t *cfg, children_t *ch)
{
    tpl_ctx_t c;
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_json_t *doc;
    tpl_job_t job;
    const char *why;
    tp_err_t *err;
    int delay;

    /* not aborted on SIGTERM: the server may claim a run for a poll
     * whose client already left, and that run would wait for nobody */
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    if (tpl_creds_load(p, &c) != APR_SUCCESS) {
        return TPL_RETRY_SEC;       /* the heartbeat child joins */
    }
    req.timeout = POLL_WAIT_SEC + 20;
    err = tpl_call(p, &c, TPL_AUTH_CERT, &req,
                   apr_psprintf(p, "/listeners/%s/runs/next?wait=%d",
                                c.listener_id, POLL_WAIT_SEC), NULL, &resp);
    if (err) {
        tpl_log("TPL0021: polling for work failed: %s", err->detail);
        return TPL_RETRY_SEC;
    }
    if (resp.status == 204) {
        return 0;
    }
    if (resp.status == 403) {
        refused_for_good(tp_err(p, 403, "%s", tpl_resp_why(p, &resp)),
                         "polling for work");
        revoked = stopping = 1;
        return 0;
    }
    if (resp.status != 200) {
        /* a busy server says when to come back (Retry-After) */
        delay = tpl_poll_delay(resp.status, resp.retry_after);
        tpl_log("TPL0022: polling for work refused: %s; polling again in "
                "%d s", tpl_resp_why(p, &resp), delay);
        return delay;
    }
    doc = tp_json_parse(p, resp.body, resp.body_len, &why);
    if (!doc || (why = tpl_job_parse(p, doc, &job)) != NULL) {
        tpl_log("TPL0023: unusable job: %s", why);
        return TPL_RETRY_SEC;
    }
    tpl_log("TPL0024: run %s: %s phase assigned", job.run_id,
            job.apply ? "apply" : "plan");
    if (stopping) {
        tpl_log("TPL0025: run %s: stopping, so not started", job.run_id);
        tpl_phase_refuse(p, cfg, &job, "the listener was stopping when the "
                         "run was assigned to it");
        return 0;
    }
    spawn(p, cfg, ch, &job);
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        tpl_log("TPL0010: mkdir %s: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p, *iter;
    tpl_config_t cfg;
    tpl_ctx_t c;
    children_t ch;
    const char *why;
    tp_err_t *err;
    pid_t beat, self;
    int i, delay;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    why = tpl_parse_args(p, argc, argv, getenv("TERRAPOD_JOIN_TOKEN"), &cfg);
    if (why && cfg.version) {
        printf("terrapod-listener %s\n", TPL_VERSION);
        return 0;
    }
    if (why) {
        fprintf(stderr, "%s%s%s", *why ? why : "", *why ? "\n" : "",
                tpl_usage());
        return *why ? 2 : 0;
    }
    umask(077);
    log_path = cfg.log_file;
    if (log_path && (i = open_log()) != 0) {
        fprintf(stderr, "terrapod-listener: cannot open the log file %s: "
                "%s\n", log_path, strerror(i));
        return 1;
    }
    signals();
    if (!make_dir(cfg.state_dir) || !make_dir(cfg.work_dir)
        || tp_http_global_init() != APR_SUCCESS) {
        return 1;
    }
    memset(&c, 0, sizeof(c));
    c.cfg = &cfg;
    if ((err = establish(p, &c)) != NULL) {
        if (refused_for_good(err, "starting")) {
            return EXIT_REVOKED;
        }
        tpl_log("TPL0001: cannot start: %s", err->detail);
        return 1;
    }
    self = getpid();
    if ((beat = fork()) == 0) {
        run_pids = NULL;
        notes_reopens = 1;
        heartbeat_loop(&cfg, self);
        _exit(0);
    }
    beat_pid = beat;
    tpl_log("TPL0011: listener %s (%s) taking up to %d runs at a time",
            c.listener_id, cfg.name, cfg.concurrency);
    ch.max = cfg.concurrency;
    ch.running = 0;
    ch.pids = apr_pcalloc(p, sizeof(pid_t) * (apr_size_t)ch.max);
    run_max = ch.max;
    run_pids = ch.pids;
    apr_pool_create(&iter, p);
    while (!stopping) {
        apr_pool_clear(iter);
        reap(&ch, 0);
        if (ch.running >= ch.max) {
            pause_for(1);
        } else if ((delay = poll_once(iter, &cfg, &ch)) > 0) {
            pause_for(delay);
        }
    }
    tpl_log("TPL0012: stopping; canceling %d running phases", ch.running);
    for (i = 0; i < ch.max; i++) {
        if (ch.pids[i] > 0) {
            kill(ch.pids[i], SIGTERM);
        }
    }
    reap(&ch, 1);
    if (beat > 0) {
        beat_pid = 0;
        kill(beat, SIGTERM);
        waitpid(beat, NULL, 0);
    }
    tpl_log("TPL0013: stopped");
    apr_pool_destroy(p);
    apr_terminate();
    return revoked ? EXIT_REVOKED : 0;
}
