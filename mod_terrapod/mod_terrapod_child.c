/* The background child: one process forked by Apache's parent at start-up
 * that runs the periodic tasks with its own database connection. The
 * parent restarts it when it dies and stops it with the server; the child
 * also exits on its own if the parent disappears. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <mpm_common.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_signal.h>

#include "mod_terrapod.h"
#include "tp_migrate.h"
#include "tp_tasks.h"
#include "tp_vcs_poll.h"
#include "tp_notify_store.h"
#include "tp_drift_check.h"

#define TICK apr_time_from_sec(1)
#define STOP_GRACE apr_time_from_sec(5)

static struct {
    apr_pool_t *pconf;
    server_rec *s;
    tp_srv_conf_t *conf;
    apr_proc_t proc;         /* pid 0 while no child runs */
} bg;

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The connection state machine of the child: connect, bring the schema up
 * to date, and drop the connection when the database goes away. */
typedef struct {
    apr_pool_t *pool;    /* owns the connection; cleared to close it */
    tp_db_t *db;
    int schema_ok;
    int down_logged;
    apr_time_t lost;     /* since when it has had no connection; 0: fine */
    int sized;           /* the connection sizing has been checked */
    int listening;       /* the server session its LISTEN is on; 0: none */
} conn_t;

static const tp_stmt_t SQL_CONNECTION_LIMIT = {"connection_limit",
    "SELECT current_setting('max_connections')::int AS max_connections,"
    "       current_setting('superuser_reserved_connections')::int"
    "       + coalesce(current_setting('reserved_connections', true)::int,"
    "                  0) AS reserved"};

/* Warns when Apache may open more connections than the database accepts
 * from ordinary roles: each process's mod_dbd pool (DBDMax, but never more
 * than its threads use at once), audit writer and event hub, and this
 * child. Past
 * that, requests wait for connections or fail with 503 under load. 1 once
 * checked. */
static int check_connection_sizing(conn_t *cn, apr_pool_t *p)
{
    int processes = 0, threads = 0, pooled, need, max, reserved;
    tp_rows_t *rows;

    if (ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &processes) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || tp_db_exec(cn->db, p, &SQL_CONNECTION_LIMIT, &rows, 0, NULL)
           != NULL) {
        return 0;
    }
    pooled = bg.conf->dbd_max < threads ? bg.conf->dbd_max : threads;
    need = processes * (pooled + 2) + 1;
    max = atoi(tp_row(rows, 0, "max_connections"));
    reserved = atoi(tp_row(rows, 0, "reserved"));
    if (need > max - reserved) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, bg.s, "TP00212: Apache "
                     "may open up to %d database connections (%d processes "
                     "x (%d pooled + 1 audit writer + 1 event hub) + 1 "
                     "background child); "
                     "PostgreSQL accepts %d (max_connections %d less %d "
                     "reserved): raise max_connections, or lower "
                     "MaxRequestWorkers or DBDMax", need, processes, pooled,
                     max - reserved, max, reserved);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, bg.s, "TP00213: Apache may "
                     "open up to %d database connections; PostgreSQL "
                     "accepts %d", need, max - reserved);
    }
    return 1;
}

/* The recovery is logged as surely as the failure was (a notice, whatever
 * the LogLevel); the first connection of a healthy start only at info. */
static void log_connected(conn_t *cn)
{
    if (cn->lost) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, bg.s, "TP00203: "
                     "background child connected to the database after %"
                     APR_TIME_T_FMT " s without it",
                     apr_time_sec(apr_time_now() - cn->lost));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, bg.s, "TP00203: background "
                     "child connected to the database");
    }
    cn->lost = 0;
}

static int ensure_connected(conn_t *cn, apr_pool_t *iter)
{
    tp_err_t *err;
    int applied;

    if (!cn->db) {
        err = tp_db_open(cn->pool, bg.conf->dbd_driver, bg.conf->dbd_params,
                         &cn->db);
        if (err) {
            if (!cn->down_logged) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, bg.s, "TP00202: "
                             "background child cannot reach the database "
                             "(%s); retrying", err->log ? err->log : "");
                cn->down_logged = 1;
            }
            if (!cn->lost) {
                cn->lost = apr_time_now();
            }
            apr_pool_clear(cn->pool);
            cn->db = NULL;
            return 0;
        }
        /* its changes (runs, locks) drop the processes' cached reads */
        tp_db_count_writes(cn->db, tp_req_write_counter());
        log_connected(cn);
        cn->down_logged = 0;
        cn->schema_ok = 0;
        if (!cn->sized) {
            cn->sized = check_connection_sizing(cn, iter);
        }
    }
    if (!cn->schema_ok) {
        err = tp_migrate(cn->db, cn->pool, bg.conf->schema_dir, &applied);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, bg.s, "TP00204: schema "
                         "migration failed: %s", err->log ? err->log : "");
            return 0;
        }
        cn->schema_ok = 1;
    }
    return 1;
}

static void drop_connection(conn_t *cn)
{
    apr_pool_clear(cn->pool);
    cn->db = NULL;
    cn->lost = apr_time_now();
}

static int interval_of(const tp_task_t *t)
{
    const char *v = apr_table_get(bg.conf->task_intervals, t->name);

    return v ? atoi(v) : t->interval;
}

static void run_due_tasks(conn_t *cn, apr_pool_t *iter,
                          const tp_task_env_t *env, apr_time_t *next)
{
    apr_time_t now = apr_time_now();
    int i;

    for (i = 0; tp_tasks[i].name && cn->db; i++) {
        const tp_task_t *t = &tp_tasks[i];
        const char *summary = "";
        apr_time_t started;
        tp_err_t *err;
        int ran;

        if (now < next[i]) {
            continue;
        }
        started = apr_time_now();
        err = tp_task_run(cn->db, iter, t, env, &ran, &summary);
        tp_metrics_task(tp_metrics(), i, err ? TP_TASK_FAILED
                                         : ran ? TP_TASK_OK : TP_TASK_SKIPPED,
                        apr_time_now() - started);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, bg.s, "TP00211: task %s "
                         "failed: %s", t->name, err->log ? err->log
                                                          : err->detail);
            if (err->status == 503) {
                drop_connection(cn);
            }
            continue;
        }
        next[i] = now + apr_time_from_sec(interval_of(t));
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, bg.s, "TP00210: task %s %s",
                     t->name, ran ? summary : "skipped: another node runs it");
    }
}

/* What wakes the child, in the bits tp_db_notified_on reports: a webhook
 * asking for a poll, a run's change to notify of. */
static const char *const CHANNELS[] = {TP_VCS_POLL_CHANNEL, TP_NOTIFY_CHANNEL,
                                       NULL};

/* Waits a tick, or less when one of CHANNELS is notified: the child
 * LISTENs on its own connection (again after the adapter reconnected),
 * and the task the channel is for becomes due at once. */
static void wait_tick(conn_t *cn, apr_time_t *next)
{
    int poll_task = (int)(tp_task_named(TP_VCS_POLL_TASK) - tp_tasks);
    int notify_task = (int)(tp_task_named(TP_NOTIFY_TASK) - tp_tasks);
    unsigned bits = 0;

    if (cn->db && cn->listening != tp_db_session(cn->db)) {
        cn->listening = tp_db_listen(cn->db, cn->pool, CHANNELS[0])
                        || tp_db_listen(cn->db, cn->pool, CHANNELS[1])
                        ? 0 : tp_db_session(cn->db);
    }
    if (!cn->db || !cn->listening) {
        apr_sleep(TICK);
        return;
    }
    switch (tp_db_notified_on(cn->db, TICK, CHANNELS, &bits)) {
    case 1:
        if (bits & 1) {
            next[poll_task] = 0;
        }
        if (bits & 2) {
            next[notify_task] = 0;
        }
        break;
    case -1:
        cn->listening = 0;
        break;
    default:
        break;
    }
}

static void child_main(apr_pool_t *p, pid_t parent)
{
    apr_time_t *next;
    apr_pool_t *iter;
    conn_t cn = {0};
    tp_vcs_env_t vcs;
    tp_task_env_t env = {0};
    tp_notify_env_t notify;
    int ntasks = 0;

    apr_signal(SIGTERM, on_stop);
    apr_signal(SIGINT, on_stop);
    /* httpd signals its whole process group on restarts; the parent stops
     * this child itself when it needs to */
    apr_signal(SIGHUP, SIG_IGN);
    apr_signal(SIGUSR1, SIG_IGN);
    apr_signal(SIGWINCH, SIG_IGN);
    apr_signal(SIGPIPE, SIG_IGN);
    if (ap_run_drop_privileges(p, bg.s) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, bg.s, "TP00205: background "
                     "child could not drop privileges");
        _exit(1);
    }
    while (tp_tasks[ntasks].name) {
        ntasks++;
    }
    next = apr_pcalloc(p, sizeof(*next) * (apr_size_t)ntasks);
    tp_vcs_env_from(bg.conf, &vcs);
    env.vcs = &vcs;
    env.public_url = bg.conf->public_url;
    env.vcs_poll_interval = interval_of(tp_task_named(TP_VCS_POLL_TASK));
    tp_notify_env_from(bg.conf, &notify);
    env.notify = &notify;
    env.drift_max_concurrent = bg.conf->drift_max_concurrent > 0
                               ? bg.conf->drift_max_concurrent
                               : TP_DRIFT_MAX_CONCURRENT;
    env.storage = &bg.conf->storage;
    env.retention_run_days = bg.conf->retention_run_days;
    env.retention_cv_days = bg.conf->retention_cv_days;
    apr_pool_create(&cn.pool, p);
    apr_pool_create(&iter, p);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, bg.s, "TP00200: background "
                 "child started (pid %" APR_PID_T_FMT ")", getpid());
    while (!stop_requested && getppid() == parent) {
        if (ensure_connected(&cn, iter)) {
            run_due_tasks(&cn, iter, &env, next);
        }
        apr_pool_clear(iter);
        wait_tick(&cn, next);
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, bg.s, "TP00206: background "
                 "child (pid %" APR_PID_T_FMT ") exiting", getpid());
    /* _exit: the parent's pool cleanups and atexit handlers are not ours */
    _exit(0);
}

static void maintain(int reason, void *data, apr_wait_t status);

static apr_status_t spawn(void)
{
    pid_t parent = getpid();
    apr_status_t rv = apr_proc_fork(&bg.proc, bg.pconf);

    if (rv == APR_INCHILD) {
        child_main(bg.pconf, parent);
    }
    if (rv != APR_INPARENT) {
        bg.proc.pid = 0;
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, bg.s, "TP00207: cannot "
                     "fork the background child");
        return rv;
    }
    apr_proc_other_child_register(&bg.proc, maintain, &bg.proc, NULL,
                                  bg.pconf);
    return APR_SUCCESS;
}

/* Called by the MPM when the child dies, and on restart/unregister. */
static void maintain(int reason, void *data, apr_wait_t status)
{
    int mpm_state = AP_MPMQ_STOPPING;

    (void)status;
    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        apr_proc_other_child_unregister(data);
        bg.proc.pid = 0;
        if (ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) == APR_SUCCESS
            && mpm_state != AP_MPMQ_STOPPING) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, bg.s, "TP00208: "
                         "background child died; restarting it");
            spawn();
        }
        break;
    case APR_OC_REASON_RESTART:
        apr_proc_other_child_unregister(data);
        break;
    default:
        break;
    }
}

/* On restart and stop (pconf cleanup): SIGTERM, a grace period, SIGKILL. */
static apr_status_t stop_child(void *data)
{
    apr_time_t deadline = apr_time_now() + STOP_GRACE;
    int status;

    (void)data;
    if (bg.proc.pid <= 0) {
        return APR_SUCCESS;
    }
    kill(bg.proc.pid, SIGTERM);
    while (waitpid(bg.proc.pid, &status, WNOHANG) == 0) {
        if (apr_time_now() > deadline) {
            kill(bg.proc.pid, SIGKILL);
            waitpid(bg.proc.pid, &status, 0);
            break;
        }
        apr_sleep(apr_time_from_msec(50));
    }
    bg.proc.pid = 0;
    return APR_SUCCESS;
}

apr_status_t tp_child_start(apr_pool_t *pconf, server_rec *s,
                            tp_srv_conf_t *conf)
{
    bg.pconf = pconf;
    bg.s = s;
    bg.conf = conf;
    stop_requested = 0;
    /* registered before the fork so it runs after other_child's own
     * cleanup (cleanups run in reverse order) */
    apr_pool_cleanup_register(pconf, NULL, stop_child, apr_pool_cleanup_null);
    return spawn();
}
