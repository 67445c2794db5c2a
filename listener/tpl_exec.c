/* Running terraform with its output streamed to the run's log while it
 * runs, and interrupted when the run is canceled; or, for output that is
 * data, into a file. */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/wait.h>
#include <apr_strings.h>
#include "tpl.h"

#define FLUSH_EVERY apr_time_from_sec(1)
#define CHECK_EVERY apr_time_from_sec(2)
#define PENDING_MAX (256 * 1024)    /* sent at once when this much waits */
#define PENDING_DROP (4 << 20)      /* dropped when the server keeps failing */
#define TAIL_MAX 16384

void tpl_stream_init(tpl_stream_t *s, apr_pool_t *p, tpl_ctx_t *ctx,
                     const char *run_id, const char *log_kind)
{
    memset(s, 0, sizeof(*s));
    s->p = p;
    s->ctx = ctx;
    s->run_id = run_id;
    s->log_path = apr_pstrcat(p, "/runs/", run_id, "/artifacts/", log_kind,
                              NULL);
    s->pending = apr_palloc(p, PENDING_DROP);
    s->tail = apr_palloc(p, TAIL_MAX);
    s->last_flush = s->last_check = apr_time_now();
}

static void keep_tail(tpl_stream_t *s, const char *data, apr_size_t len)
{
    if (len >= TAIL_MAX) {
        memcpy(s->tail, data + len - TAIL_MAX, TAIL_MAX);
        s->tail_len = TAIL_MAX;
        return;
    }
    if (s->tail_len + len > TAIL_MAX) {
        apr_size_t drop = s->tail_len + len - TAIL_MAX;

        memmove(s->tail, s->tail + drop, s->tail_len - drop);
        s->tail_len -= drop;
    }
    memcpy(s->tail + s->tail_len, data, len);
    s->tail_len += len;
}

static void add(tpl_stream_t *s, const char *data, apr_size_t len)
{
    keep_tail(s, data, len);
    if (s->pending_len + len > PENDING_DROP) {
        tpl_log("TPL0030: run %s: dropping %lu bytes of log the server did "
                "not take", s->run_id, (unsigned long)s->pending_len);
        s->pending_len = 0;
        len = len > PENDING_DROP ? PENDING_DROP : len;
    }
    memcpy(s->pending + s->pending_len, data, len);
    s->pending_len += len;
}

void tpl_stream_note(tpl_stream_t *s, const char *text)
{
    add(s, text, strlen(text));
}

/* A failed post keeps the text for the next one. */
void tpl_stream_flush(tpl_stream_t *s)
{
    apr_pool_t *sp;
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_err_t *err;

    s->last_flush = apr_time_now();
    /* flushes come every second while terraform runs: the place to keep
     * the token fresh through a long phase */
    tpl_runner_token_refresh(s->ctx);
    if (s->pending_len == 0) {
        return;
    }
    apr_pool_create(&sp, s->p);
    req.method = "POST";
    req.body = s->pending;
    req.body_len = s->pending_len;
    req.timeout = 30;
    req.headers = apr_array_make(sp, 4, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) =
        "Content-Type: application/octet-stream";
    err = tpl_call(sp, s->ctx, TPL_AUTH_BEARER, &req, s->log_path, NULL,
                   &resp);
    if (err) {
        tpl_log("TPL0031: run %s: log upload failed: %s", s->run_id,
                err->detail);
    } else if (resp.status / 100 != 2) {
        tpl_log("TPL0032: run %s: log upload refused: %s", s->run_id,
                tpl_resp_why(sp, &resp));
    } else {
        s->pending_len = 0;
    }
    apr_pool_destroy(sp);
}

/* Asks the server whether the run was canceled meanwhile. */
static void check_cancel(tpl_stream_t *s)
{
    apr_pool_t *sp;
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_json_t *doc, *d;
    const char *status;

    s->last_check = apr_time_now();
    apr_pool_create(&sp, s->p);
    req.timeout = 10;
    if (tpl_call(sp, s->ctx, TPL_AUTH_CERT, &req,
                 apr_pstrcat(sp, "/listeners/", s->ctx->listener_id,
                             "/runs/", s->run_id, NULL), NULL, &resp)) {
        resp.status = 0;
    }
    /* revoked: the server has errored the run and will take nothing more
     * of it (a 401 may be a renewal crossing this request, and is not) */
    if (resp.status == 403) {
        tpl_log("TPL0037: run %s: the server refused this listener (%s)",
                s->run_id, tpl_resp_why(sp, &resp));
        s->canceled = 1;
    }
    if (resp.status == 200
        && (doc = tp_json_parse(sp, resp.body, resp.body_len, NULL))) {
        d = tp_json_get(doc, "data", NULL);
        if (tp_json_type(d, "attributes", NULL) == TP_JSON_OBJECT) {
            d = tp_json_get(d, "attributes", NULL);
        }
        status = tp_json_gets(d, "status", NULL);
        /* a run no longer planning or applying was ended meanwhile */
        if (tp_json_getb(d, "cancel-requested", NULL)
            || (status && strcmp(status, "planning")
                && strcmp(status, "applying"))) {
            if (!s->canceled) {
                tpl_log("TPL0033: run %s: cancel requested", s->run_id);
            }
            s->canceled = 1;
        }
    }
    apr_pool_destroy(sp);
}

static pid_t start(const char *const *argv, char **envp, const char *cwd,
                   int out, int err)
{
    pid_t pid = fork();
    int devnull;

    if (pid != 0) {
        return pid;
    }
    /* its own process group: signals reach terraform and its providers
     * as a terminal's Ctrl-C would */
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0
        || dup2(err, 2) < 0 || chdir(cwd) != 0) {
        _exit(127);
    }
    execvpe(argv[0], (char *const *)argv, envp);
    dprintf(2, "terrapod-listener: cannot run %s: %s\n", argv[0],
            strerror(errno));
    _exit(127);
}

int tpl_exec(tpl_stream_t *s, const char *const *argv, char **envp,
             const char *cwd, volatile sig_atomic_t *stop, int grace_sec)
{
    char buf[16384];
    int fds[2], wstatus = 0, exited = 0, open_end = 1;
    apr_time_t interrupted = 0, exited_at = 0, now;
    struct pollfd pfd;
    ssize_t n;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        return -1;
    }
    pid = start(argv, envp, cwd, fds[1], fds[1]);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    setpgid(pid, pid);      /* both sides, whichever runs first */
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    /* until exit and EOF; a provider left holding the pipe gets 2 s */
    while (!exited || (open_end && apr_time_now() - exited_at
                       < apr_time_from_sec(2))) {
        if (open_end && poll(&pfd, 1, 200) > 0) {
            n = read(fds[0], buf, sizeof(buf));
            if (n > 0) {
                add(s, buf, (apr_size_t)n);
            } else if (n == 0 || errno != EINTR) {
                open_end = 0;
            }
        } else if (!open_end) {
            usleep(200000);
        }
        if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid) {
            exited = 1;
            exited_at = apr_time_now();
        }
        now = apr_time_now();
        if (s->pending_len >= PENDING_MAX
            || now - s->last_flush >= FLUSH_EVERY) {
            tpl_stream_flush(s);
        }
        if (!exited && !s->canceled && now - s->last_check >= CHECK_EVERY) {
            check_cancel(s);
        }
        if (stop && *stop && !s->canceled) {
            tpl_log("TPL0034: run %s: the listener is stopping", s->run_id);
            s->canceled = 1;
        }
        if (!exited && s->canceled && !interrupted) {
            tpl_log("TPL0035: run %s: interrupting terraform", s->run_id);
            tpl_stream_note(s, "\nterrapod-listener: run canceled, "
                            "interrupting terraform\n");
            kill(-pid, SIGINT);
            interrupted = now;
        }
        if (!exited && interrupted
            && now - interrupted >= apr_time_from_sec(grace_sec)) {
            tpl_log("TPL0036: run %s: killing terraform after %d s",
                    s->run_id, grace_sec);
            kill(-pid, SIGKILL);
            interrupted = now + apr_time_from_sec(3600);
        }
    }
    close(fds[0]);
    tpl_stream_flush(s);
    if (WIFSIGNALED(wstatus)) {
        return 128 + WTERMSIG(wstatus);
    }
    return WEXITSTATUS(wstatus);
}

int tpl_exec_to_file(const char *const *argv, char **envp, const char *cwd,
                     const char *out_file, const char *err_file,
                     int timeout_sec, volatile sig_atomic_t *stop)
{
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(timeout_sec);
    int out, err, wstatus = 0;
    pid_t pid, got;

    out = open(out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    err = open(err_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0 || err < 0) {
        if (out >= 0) close(out);
        if (err >= 0) close(err);
        return -1;
    }
    pid = start(argv, envp, cwd, out, err);
    close(out);
    close(err);
    if (pid < 0) {
        return -1;
    }
    setpgid(pid, pid);
    while ((got = waitpid(pid, &wstatus, WNOHANG)) == 0) {
        if ((stop && *stop) || apr_time_now() >= deadline) {
            /* nobody waits for this output any longer */
            kill(-pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            break;
        }
        usleep(100000);
    }
    if (got < 0) {
        return -1;
    }
    if (WIFSIGNALED(wstatus)) {
        return 128 + WTERMSIG(wstatus);
    }
    return WEXITSTATUS(wstatus);
}
