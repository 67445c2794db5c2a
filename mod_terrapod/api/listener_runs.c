/* The listener and runner protocol: a listener long-polls for the next
 * queued run of an agent-mode workspace, mints a runner token for it and
 * reports how each phase ended; the runner (authenticated by that token)
 * downloads the configuration and state, and uploads logs, the plan file
 * (with its JSON rendering and the files it created), the new state and
 * its resource usage, each only while the phase it belongs to runs. See
 * docs/listener-protocol.md. */
#include <apr_strings.h>
#include <http_protocol.h>
#include "../mod_terrapod.h"
#include "../tp_run.h"
#include "../tp_vars.h"
#include "../tp_plan.h"
#include "../tp_drift_check.h"

#define RECHECK       apr_time_from_sec(1)
#define TOKEN_TTL     3600
#define TOKEN_TTL_MAX 7200
/* files a plan wrote for its apply: bounded on their own, whatever
 * TerrapodMaxUploadSize allows */
#define PLAN_ARTIFACTS_MAX ((apr_off_t)256 * 1024 * 1024)
#define UNSEALABLE "a sensitive variable of this run could not be " \
    "unsealed: it was sealed with another HMAC key than the server's " \
    "(restored without its key?); set it again or restore the key"

static const tp_stmt_t SQL_LR_RUN = {"lr_run",
    "SELECT r.id, r.workspace_id, r.status, r.listener_id, r.claim_id,"
    "       r.plan_only,"
    "       r.save_plan, r.auto_apply, r.allow_empty_apply,"
    "       r.cancel_requested,"
    "       r.configuration_version_id, r.is_destroy, r.refresh,"
    "       r.refresh_only, r.message, r.target_addrs::text AS target_addrs,"
    "       r.replace_addrs::text AS replace_addrs,"
    "       r.variables::text AS variables, r.is_drift_detection,"
    "       w.drift_ignore_rules::text AS drift_ignore_rules, w.name AS ws_name,"
    "       w.working_directory, w.terraform_version, w.execution_backend"
    "  FROM runs r JOIN workspaces w ON w.id = r.workspace_id"
    " WHERE r.id = %s"};
/* what a listener says about a phase, kept only while it still runs it */
static const tp_stmt_t SQL_LR_REPORT = {"lr_report",
    "UPDATE runs SET has_changes = COALESCE(%s::boolean, has_changes),"
    " error_message = COALESCE(%s, error_message), updated_at = now()"
    " WHERE id = %s AND status = %s AND listener_id = %s RETURNING id"};
/* Set when an apply changed the infrastructure but its state could not
 * be stored; cleared by a successful apply (and by any state version
 * stored, api/state_versions.c). */
static const tp_stmt_t SQL_LR_DIVERGED = {"lr_diverged",
    "UPDATE workspaces SET state_diverged = %s::boolean"
    " WHERE id = %s AND state_diverged <> %s::boolean RETURNING id"};
static const tp_stmt_t SQL_LR_PLAN_COUNTS = {"lr_plan_counts",
    "UPDATE runs SET plan_additions = %s::bigint, plan_changes = %s::bigint,"
    " plan_destructions = %s::bigint, plan_imports = %s::bigint"
    " WHERE id = %s"};
static const tp_stmt_t SQL_LR_RUN_VERSION = {"lr_run_version",
    "UPDATE runs SET terraform_version = %s WHERE id = %s"};
static const tp_stmt_t SQL_LR_APPLY_COUNTS = {"lr_apply_counts",
    "UPDATE runs SET apply_additions = %s::bigint,"
    " apply_changes = %s::bigint, apply_destructions = %s::bigint,"
    " apply_imports = %s::bigint WHERE id = %s"};
static const tp_stmt_t SQL_LR_PLAN_FILE = {"lr_plan_file",
    "UPDATE runs SET plan_file_stored = true WHERE id = %s"};
/* the state a plan reads, which a saved plan needs to still be current
 * when it is applied */
static const tp_stmt_t SQL_LR_PLAN_STATE = {"lr_plan_state",
    "UPDATE runs SET plan_state_version_id = %s"
    " WHERE id = %s AND status = 'planning'"};
static const tp_stmt_t SQL_LR_CREATED_SV = {"lr_created_sv",
    "UPDATE runs SET created_state_version_id = %s WHERE id = %s"};
static const tp_stmt_t SQL_LR_PROFILE = {"lr_profile",
    "UPDATE runs SET peak_memory_bytes = COALESCE(%s::bigint,"
    "                                             peak_memory_bytes),"
    " peak_cpu_usec = COALESCE(%s::bigint, peak_cpu_usec),"
    " exit_code = COALESCE(%s::integer, exit_code) WHERE id = %s"};

static tp_err_t *load(tp_req_t *req, const char *run_id, tp_rows_t **rows)
{
    tp_err_t *err = tp_req_exec(req, &SQL_LR_RUN, rows, TP_DB_ARGS(run_id));

    if (!err && (*rows)->nrows == 0) {
        return tp_err(req->r->pool, 404, "run %s not found", run_id);
    }
    return err;
}

/* What a runner request may do in which status of its run: write what
 * belongs to the phase that runs, read while either runs. */
enum { PLANNING = 1, APPLYING = 2, RUNNING = PLANNING | APPLYING };

static int in_phase(const char *status, int phases)
{
    return ((phases & PLANNING) && strcmp(status, "planning") == 0)
           || ((phases & APPLYING) && strcmp(status, "applying") == 0);
}

/* The run {run_id} of a runner request while it is in one of phases;
 * 409 otherwise: a runner token outlives the phase it was minted for,
 * and must then open nothing (a canceled or finished run's log and plan
 * stay as they ended). */
static tp_err_t *load_in(tp_req_t *req, int phases, tp_rows_t **rows)
{
    const char *status;
    tp_err_t *err = load(req, tp_param(&req->params, "run_id"), rows);

    if (err) {
        return err;
    }
    status = tp_row(*rows, 0, "status");
    if (in_phase(status, phases)) {
        return NULL;
    }
    return tp_err(req->r->pool, 409, "run %s is %s; this is taken only "
                  "while it %s", tp_row(*rows, 0, "id"), status,
                  phases == PLANNING ? "plans"
                  : phases == APPLYING ? "applies" : "plans or applies");
}

/* The {run_id} of the path, claimed by the listener {id}: 404 otherwise,
 * so a listener learns nothing of the runs of others. */
static tp_err_t *load_claimed(tp_req_t *req, tp_rows_t **rows)
{
    const char *run_id = tp_param(&req->params, "run_id");
    const char *holder;
    tp_err_t *err = load(req, run_id, rows);

    if (err && err->status != 404) {
        return err;
    }
    holder = err ? NULL : tp_row(*rows, 0, "listener_id");
    if (!holder || strcmp(holder, tp_param(&req->params, "id")) != 0) {
        return tp_err(req->r->pool, 404, "no run %s claimed by this "
                      "listener", run_id);
    }
    return NULL;
}


/* ---- runs/next ---- */

static void push_var(apr_pool_t *p, tp_json_t *list, const char *key,
                     const char *value, const char *category, int hcl,
                     int sensitive)
{
    tp_json_t *v = tp_json_object(p);

    tp_json_sets(v, key, "key", NULL);
    tp_json_sets(v, value ? value : "", "value", NULL);
    tp_json_sets(v, category, "category", NULL);
    tp_json_setb(v, hcl, "hcl", NULL);
    tp_json_setb(v, sensitive, "sensitive", NULL);
    tp_json_push(list, v);
}

/* The variables the run gets: its own (terraform, HCL values) over the
 * workspace's and variable sets' vars (merged, sensitive ones unsealed for
 * this answer only). */
static tp_json_t *run_variables(apr_pool_t *p, const tp_rows_t *run,
                                const apr_array_header_t *vars)
{
    tp_json_t *own = tp_row_json(p, run, 0, "variables"), *out;
    apr_size_t k, nown = own ? tp_json_len(own) : 0;
    int i;

    out = tp_json_array(p);
    for (i = 0; i < vars->nelts; i++) {
        const tp_var_t *v = &APR_ARRAY_IDX(vars, i, tp_var_t);
        int overridden = 0;

        for (k = 0; k < nown && strcmp(v->category, "terraform") == 0; k++) {
            const char *key = tp_json_gets(tp_json_at(own, k), "key", NULL);

            overridden |= key && strcmp(key, v->key) == 0;
        }
        if (!overridden) {
            push_var(p, out, v->key, v->value, v->category, v->hcl,
                     v->sensitive);
        }
    }
    for (k = 0; k < nown; k++) {
        tp_json_t *v = tp_json_at(own, k);

        push_var(p, out, tp_json_gets(v, "key", NULL),
                 tp_json_gets(v, "value", NULL), "terraform", 1, 0);
    }
    return out;
}

/* A run with a sensitive variable sealed under another HMAC key than the
 * server's (a restore that left the key behind) can never run: it is
 * errored at once, saying why, rather than left claimed until its
 * deadline. The listener is told there is nothing to run. */
static tp_err_t *refuse_unsealable(tp_req_t *req, const tp_rows_t *run,
                                   const char *phase,
                                   const tp_err_t *why)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_row(run, 0, "id");
    const char *status = strcmp(phase, "plan") == 0 ? "planning"
                                                    : "applying";
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_LR_REPORT, NULL,
                             TP_DB_ARGS(NULL, UNSEALABLE, id, status,
                                        tp_param(&req->params, "id"))))
           != NULL
        || (err = tp_run_finish(db, p, id, tp_row(run, 0, "workspace_id"),
                                status, "errored", NULL)) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP00725: run %s "
                  "errored: %s (%s)", id, why->detail,
                  why->log ? why->log : "");
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

static tp_err_t *send_job(tp_req_t *req, const char *run_id,
                          const char *phase)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p);
    apr_array_header_t *vars;
    tp_rows_t *run;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = load(req, run_id, &run)) != NULL) {
        return err;
    }
    /* ended since the claim committed (a revocation of this listener
     * waits for the claim, then errors the run): its variables stay here */
    if (!in_phase(tp_row(run, 0, "status"), RUNNING)) {
        return tp_err(p, 409, "run %s was %s before it was handed over",
                      run_id, tp_row(run, 0, "status"));
    }
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_vars_effective(db, p, tp_row(run, 0, "workspace_id"),
                                    &vars)) != NULL) {
        return err;
    }
    if ((err = tp_vars_unseal(p, &req->conf->hmac, vars)) != NULL) {
        return refuse_unsealable(req, run, phase, err);
    }
    tp_json_sets(doc, run_id, "data", "run-id", NULL);
    tp_json_sets(doc, phase, "data", "phase", NULL);
    tp_json_sets(doc, tp_row(run, 0, "workspace_id"), "data", "workspace",
                 "id", NULL);
    tp_json_sets(doc, tp_row(run, 0, "ws_name"), "data", "workspace", "name",
                 NULL);
    tp_json_sets(doc, tp_row(run, 0, "working_directory"), "data",
                 "workspace", "working-directory", NULL);
    tp_json_sets(doc, tp_row(run, 0, "terraform_version"), "data",
                 "workspace", "terraform-version", NULL);
    tp_json_sets(doc, tp_row(run, 0, "execution_backend"), "data",
                 "workspace", "execution-backend", NULL);
    tp_json_setb(doc, tp_row_bool(run, 0, "is_destroy"), "data", "run",
                 "is-destroy", NULL);
    tp_json_setb(doc, tp_row_bool(run, 0, "refresh"), "data", "run",
                 "refresh", NULL);
    tp_json_setb(doc, tp_row_bool(run, 0, "refresh_only"), "data", "run",
                 "refresh-only", NULL);
    tp_json_setj(doc, tp_row_json(p, run, 0, "target_addrs"), "data", "run",
                 "target-addrs", NULL);
    tp_json_setj(doc, tp_row_json(p, run, 0, "replace_addrs"), "data", "run",
                 "replace-addrs", NULL);
    tp_json_setb(doc, tp_row_bool(run, 0, "allow_empty_apply"), "data",
                 "run", "allow-empty-apply", NULL);
    tp_json_setb(doc, tp_row_bool(run, 0, "plan_only"), "data", "run",
                 "plan-only", NULL);
    tp_json_sets(doc, tp_row(run, 0, "message"), "data", "run", "message",
                 NULL);
    tp_json_setj(doc, run_variables(p, run, vars), "data", "variables",
                 NULL);
    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_json(req, 200, doc);
}

/* GET /listeners/{id}/runs/next?wait=N: a claim is tried, then again
 * each time this process's event hub sees a run queued or RECHECK passes
 * (a finished phase frees capacity without a queued run), until one
 * succeeds or the wait is over. Each try is one short transaction on a
 * connection borrowed for it: a waiting poll holds a worker thread, not
 * a database connection. */
tp_err_t *tp_api_listener_run_next(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool, *iter;
    const char *listener = tp_param(&req->params, "id");
    const char *wait_s = tp_query_arg(req, "wait");
    int max = req->conf->listener_poll_wait >= 0
              ? req->conf->listener_poll_wait : TP_DEFAULT_POLL_WAIT;
    apr_time_t deadline, left;
    apr_uint32_t seen;
    long wait = 0;
    tp_db_t *db;
    tp_err_t *err;
    char *end;

    if (wait_s) {
        wait = strtol(wait_s, &end, 10);
        if (*end || end == wait_s || wait < 0) {
            return tp_err(p, 400, "wait must be a number of seconds");
        }
    }
    deadline = apr_time_now() + apr_time_from_sec(wait < max ? wait : max);
    /* a wait holds a worker: bounded */
    if (wait > 0 && max > 0 && (err = tp_hold(req)) != NULL) {
        return err;
    }
    /* taken before the first try: a run queued after it wakes the wait */
    seen = tp_events_queued();
    apr_pool_create(&iter, p);
    for (;;) {
        const char *run_id, *phase;

        apr_pool_clear(iter);
        if ((err = tp_req_db(req, &db)) != NULL
            || (err = tp_run_claim(db, iter, listener, &run_id, &phase))
               != NULL) {
            return err;
        }
        if (run_id) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP00720: "
                          "listener %s claimed run %s for its %s phase",
                          listener, run_id, phase);
            return send_job(req, apr_pstrdup(p, run_id),
                            apr_pstrdup(p, phase));
        }
        tp_req_db_release(req);
        left = deadline - apr_time_now();
        if (left <= 0 || req->r->connection->aborted
            || tp_process_stopping()) {
            return tp_send_empty(req, HTTP_NO_CONTENT);
        }
        tp_events_wait_queued(&seen, left < RECHECK ? left : RECHECK);
    }
}

/* ---- a claimed run ---- */

tp_err_t *tp_api_listener_runner_token(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    long long ttl = TOKEN_TTL;
    tp_json_t *doc, *body;
    tp_rows_t *run;
    tp_err_t *err;
    int has;

    if ((err = load_claimed(req, &run)) != NULL) {
        return err;
    }
    if (tp_has_body(req)) {
        if ((err = tp_read_json(req, &body)) != NULL
            || (err = tp_attr_int(p, body, "ttl", 1, APR_INT32_MAX, &ttl,
                                  &has)) != NULL) {
            return err;
        }
        if (!has) {
            ttl = TOKEN_TTL;
        }
    }
    if (ttl > TOKEN_TTL_MAX) {
        ttl = TOKEN_TTL_MAX;
    }
    /* a token is for the phase the listener runs now, and only it */
    if (!in_phase(tp_row(run, 0, "status"), RUNNING)) {
        return tp_err(p, 409, "run %s is %s: no phase of it runs",
                      tp_row(run, 0, "id"), tp_row(run, 0, "status"));
    }
    doc = tp_json_object(p);
    tp_json_sets(doc, tp_runtok_mint(p, &req->conf->hmac,
                                     tp_row(run, 0, "id"),
                                     tp_row(run, 0, "claim_id"), ttl,
                                     apr_time_now()), "token", NULL);
    tp_json_seti(doc, ttl, "expires_in", NULL);
    apr_table_setn(req->r->headers_out, "Cache-Control", "no-store");
    return tp_send_json(req, 200, doc);
}

static tp_err_t *send_status(tp_req_t *req, const char *run_id)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *doc = tp_json_object(p);
    tp_rows_t *run;
    tp_err_t *err = load(req, run_id, &run);

    if (err) {
        return err;
    }
    tp_json_sets(doc, tp_row(run, 0, "status"), "data", "status", NULL);
    tp_json_setb(doc, tp_row_bool(run, 0, "cancel_requested"), "data",
                 "cancel-requested", NULL);
    return tp_send_json(req, 200, doc);
}

tp_err_t *tp_api_listener_run_show(tp_req_t *req)
{
    tp_rows_t *run;
    tp_err_t *err = load_claimed(req, &run);

    return err ? err : send_status(req, tp_row(run, 0, "id"));
}

/* The counts of a phase, on run id. */
static tp_err_t *store_counts(tp_req_t *req, const tp_stmt_t *stmt,
                              const tp_plan_counts_t *c, const char *id)
{
    apr_pool_t *p = req->r->pool;

    return tp_req_exec(req, stmt, NULL, TP_DB_ARGS(
        apr_psprintf(p, "%" APR_INT64_T_FMT, c->additions),
        apr_psprintf(p, "%" APR_INT64_T_FMT, c->changes),
        apr_psprintf(p, "%" APR_INT64_T_FMT, c->destructions),
        apr_psprintf(p, "%" APR_INT64_T_FMT, c->imports), id));
}

/* What an apply did, from the summary terraform printed in its log when
 * it succeeded; a failed or interrupted apply printed none and its counts
 * stay unknown. They are extra: a log that cannot be read is logged and
 * the report goes on. */
static void count_apply(tp_req_t *req, const char *id)
{
    apr_pool_t *p = req->r->pool;
    apr_off_t size;
    const char *path = tp_storage_file(&req->conf->storage, p,
                                       tp_run_log_key(p, id, 1), &size);
    tp_plan_counts_t c;
    int found = 0;
    tp_err_t *err = path ? tp_apply_count_file(p, path, &c, &found) : NULL;

    if (!err && found) {
        err = store_counts(req, &SQL_LR_APPLY_COUNTS, &c, id);
    }
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP00724: the "
                      "apply counts of run %s are unknown: %s", id,
                      err->log ? err->log : err->detail);
    }
}

/* An apply's report moves the workspace's state-diverged flag: set when
 * the listener could not store the state of a successful apply, cleared
 * when an apply succeeded. Before the run ends, so whoever sees it ended
 * sees the flag. */
static tp_err_t *mark_diverged(tp_req_t *req, const tp_rows_t *run,
                               const char *report, int diverged)
{
    const char *v = tp_db_bool(diverged);
    const char *ws = tp_row(run, 0, "workspace_id");
    tp_rows_t *rows;
    tp_err_t *err;

    if (!diverged && strcmp(report, "applied") != 0) {
        return NULL;
    }
    if ((err = tp_req_exec(req, &SQL_LR_DIVERGED, &rows,
                           TP_DB_ARGS(v, ws, v))) == NULL
        && diverged && rows->nrows > 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP02090: run "
                      "%s applied but its state could not be stored: "
                      "workspace %s is marked state-diverged",
                      tp_row(run, 0, "id"), ws);
    }
    return err;
}

/* A successful plan: where tp_run_after_plan says. Auto-apply runs pass
 * planned and confirmed into the apply queue in one transaction, so no
 * client ever sees them stop at planned. What a listener reports is the
 * server's move: its events have no actor, and an auto-apply has no
 * confirmed-by, since no one confirmed it. A saved plan leaves the
 * workspace to others until it is applied, as a finished run does. */
static tp_err_t *after_plan(tp_db_t *db, apr_pool_t *p, const tp_rows_t *run,
                            int has_changes)
{
    static const struct {
        const char *column;
        unsigned flag;
    } flags[] = {
        {"plan_only", TP_RUN_PLAN_ONLY}, {"save_plan", TP_RUN_SAVE_PLAN},
        {"allow_empty_apply", TP_RUN_EMPTY_APPLY},
        {"auto_apply", TP_RUN_AUTO_APPLY}, {NULL, 0}
    };
    const char *id = tp_row(run, 0, "id");
    unsigned f = has_changes ? TP_RUN_HAS_CHANGES : 0;
    const char *to;
    tp_err_t *err;
    int i;

    for (i = 0; flags[i].column; i++) {
        f |= tp_row_bool(run, 0, flags[i].column) ? flags[i].flag : 0;
    }
    to = tp_run_after_plan(f);
    if (tp_run_final(to) || strcmp(to, "planned_and_saved") == 0) {
        return tp_run_finish(db, p, id, tp_row(run, 0, "workspace_id"),
                             "planning", to, NULL);
    }
    if ((err = tp_db_begin(db, p)) != NULL
        || (err = tp_run_move(db, p, id, "planning", "planned", NULL))
           != NULL
        || (strcmp(to, "confirmed") == 0
            && ((err = tp_run_move(db, p, id, "planned", "confirmed", NULL))
                != NULL
                || (err = tp_run_move(db, p, id, "confirmed",
                                      "apply_queued", NULL)) != NULL))) {
        tp_db_rollback(db);
        return err;
    }
    return tp_db_commit(db);
}

/* PATCH /listeners/{id}/runs/{run_id}: how the phase the listener runs
 * ended. */
tp_err_t *tp_api_listener_run_update(tp_req_t *req)
{
    static const char *const reports[] = {
        "planned", "applied", "errored", "canceled", NULL
    };
    apr_pool_t *p = req->r->pool;
    const char *report = NULL, *message = NULL, *status, *id, *hc;
    tp_json_t *body, *a;
    tp_rows_t *run, *done;
    tp_db_t *db;
    tp_err_t *err;
    int has, has_changes = 0, has_hc, planning, diverged = 0;

    if ((err = load_claimed(req, &run)) != NULL
        || (err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    /* plain attributes or a JSON:API document */
    a = tp_json_type(body, "data", NULL) == TP_JSON_OBJECT
        ? tp_json_get(body, "data", "attributes", NULL) : body;
    if ((err = tp_attr_enum(p, a, "status", reports, &report, &has)) != NULL
        || (err = tp_attr_bool(p, a, "has-changes", &has_changes, &has_hc))
           != NULL
        || (err = tp_attr_string(p, a, "error-message", 4000, &message,
                                 &has)) != NULL
        || (err = tp_attr_bool(p, a, "state-diverged", &diverged, &has))
           != NULL) {
        return err;
    }
    if (!report) {
        return tp_err(p, 422, "status is required: planned, applied, "
                      "errored or canceled");
    }
    id = tp_row(run, 0, "id");
    status = tp_row(run, 0, "status");
    planning = strcmp(status, "planning") == 0;
    if ((!planning && strcmp(status, "applying") != 0)
        || (planning && strcmp(report, "applied") == 0)
        || (!planning && strcmp(report, "planned") == 0)) {
        return tp_err(p, 409, "run %s is %s; it cannot become %s", id, status,
                      report);
    }
    if (diverged && (planning || strcmp(report, "errored") != 0)) {
        return tp_err(p, 422, "state-diverged is reported only with an "
                      "apply that errored");
    }
    /* a plan reported without has-changes has none: what after_plan
     * goes on with, and what clients read once the plan finished */
    hc = has_hc || strcmp(report, "planned") == 0
         ? (has_changes ? "true" : "false") : NULL;
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_exec(db, p, &SQL_LR_REPORT, &done,
                             TP_DB_ARGS(hc, message, id, status,
                                        tp_param(&req->params, "id"))))
           != NULL) {
        return err;
    }
    if (done->nrows == 0) {
        return tp_err(p, 409, "run %s is no longer %s", id, status);
    }
    /* before the run ends, so whoever sees it ended sees them */
    if (!planning) {
        count_apply(req, id);
        if ((err = mark_diverged(req, run, report, diverged)) != NULL) {
            return err;
        }
    }
    err = strcmp(report, "planned") == 0
          ? after_plan(db, p, run, has_changes)
          : tp_run_finish(db, p, id, tp_row(run, 0, "workspace_id"), status,
                          report, NULL);
    if (err) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP00721: listener %s "
                  "reported run %s %s", tp_param(&req->params, "id"), id,
                  report);
    return send_status(req, id);
}

/* ---- runner artifacts ---- */

/* where the {run_id} of the path keeps an artifact named file */
static const char *artifact_key(tp_req_t *req, const char *file)
{
    return tp_run_key(req->r->pool, tp_param(&req->params, "run_id"), file);
}

/* Whether a .../plan-log or .../apply-log path names the apply's. */
static int apply_log(tp_req_t *req)
{
    const char *path = req->r->parsed_uri.path;
    apr_size_t n = strlen(path);

    return n >= 10 && strcmp(path + n - 10, "/apply-log") == 0;
}

/* The log the path names, of a run in the phase that writes it. */
static tp_err_t *load_log(tp_req_t *req, tp_rows_t **run, const char **key)
{
    int apply = apply_log(req);
    tp_err_t *err = load_in(req, apply ? APPLYING : PLANNING, run);

    *key = err ? NULL : tp_run_log_key(req->r->pool, tp_row(*run, 0, "id"),
                                       apply);
    return err;
}

static const tp_stmt_t SQL_LOG_EVENT = {"log_event",
    "SELECT tp_event('log_updated', %s, NULL,"
    " jsonb_build_object('workspace_id', %s::text, 'run_id', %s::text,"
    "                    'phase', %s::text, 'size', %s::bigint))"};

/* Tells the run's followers (log_updated) how long its log now is; they
 * read the new bytes from its log-read-url. The bytes are stored by now:
 * a failure here is only logged, or the runner would send them again. */
static void log_updated(tp_req_t *req, const tp_rows_t *run, const char *key)
{
    apr_pool_t *p = req->r->pool;
    const char *ws = tp_row(run, 0, "workspace_id");
    apr_off_t size = 0;
    tp_err_t *err;
    int found;

    tp_storage_stat(&req->conf->storage, p, key, &found, &size);
    err = tp_req_exec(req, &SQL_LOG_EVENT, NULL,
                      TP_DB_ARGS(ws, ws, tp_row(run, 0, "id"),
                                 apply_log(req) ? "apply" : "plan",
                                 apr_off_t_toa(p, size)));
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP01606: no "
                      "log_updated event for run %s: %s",
                      tp_row(run, 0, "id"), err->log ? err->log : err->detail);
    }
}

/* A stored artifact, to the runner of a phase now running. */
static tp_err_t *send_stored(tp_req_t *req, const char *key,
                             const char *what, const char *type)
{
    apr_off_t size = 0;
    const char *path;
    tp_rows_t *run;
    tp_err_t *err = load_in(req, RUNNING, &run);

    /* a failing bucket is the runner's 503 (it tries again), not a 404 */
    if (err || (err = tp_storage_fetch(&req->conf->storage, req->r->pool,
                                       key, &path, &size)) != NULL) {
        return err;
    }
    if (!path) {
        return tp_err(req->r->pool, 404, "run %s has no %s",
                      tp_param(&req->params, "run_id"), what);
    }
    return tp_send_file(req, path, size, type);
}

tp_err_t *tp_api_artifact_config(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *run;
    tp_err_t *err = load_in(req, RUNNING, &run);

    if (err) {
        return err;
    }
    if (!tp_row(run, 0, "configuration_version_id")) {
        return tp_err(p, 404, "run %s has no configuration",
                      tp_row(run, 0, "id"));
    }
    return send_stored(req, tp_cv_key(p, tp_row(run, 0, "workspace_id"),
                                      tp_row(run, 0,
                                             "configuration_version_id")),
                       "configuration", "application/gzip");
}

tp_err_t *tp_api_artifact_state(tp_req_t *req)
{
    const char *path, *sv_id;
    apr_off_t size = 0;
    tp_rows_t *run;
    tp_err_t *err;

    if ((err = load_in(req, RUNNING, &run)) != NULL
        || (err = tp_sv_current_file(req, tp_row(run, 0, "workspace_id"),
                                     &sv_id, &path, &size)) != NULL
        || (strcmp(tp_row(run, 0, "status"), "planning") == 0
            && (err = tp_req_exec(req, &SQL_LR_PLAN_STATE, NULL,
                                  TP_DB_ARGS(sv_id, tp_row(run, 0, "id"))))
               != NULL)) {
        return err;
    }
    if (!path) {
        return tp_err(req->r->pool, 404, "workspace %s has no state yet",
                      tp_row(run, 0, "ws_name"));
    }
    return tp_send_file(req, path, size, "application/json");
}

/* PUT .../artifacts/state: the state an apply produced. */
tp_err_t *tp_api_artifact_state_upload(tp_req_t *req)
{
    const char *sv_id, *id;
    tp_rows_t *run;
    tp_err_t *err;
    char *buf;
    apr_size_t len;

    if ((err = load_in(req, APPLYING, &run)) != NULL) {
        return err;
    }
    id = tp_row(run, 0, "id");
    if ((err = tp_read_raw(req, req->conf->max_upload, &buf, &len)) != NULL
        || (err = tp_sv_store_for_run(req, tp_row(run, 0, "workspace_id"), id,
                                      buf, len, &sv_id)) != NULL
        || (err = tp_req_exec(req, &SQL_LR_CREATED_SV, NULL,
                              TP_DB_ARGS(sv_id, id))) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, "TP00722: run %s "
                  "stored state version %s", id, sv_id);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

tp_err_t *tp_api_artifact_plan_file(tp_req_t *req)
{
    return send_stored(req, artifact_key(req, TP_PLAN_FILE),
                       "plan file", "application/octet-stream");
}

/* Streams the body (at most max bytes) towards key; nothing replaces
 * what is there until the upload is committed. */
static tp_err_t *receive(tp_req_t *req, const char *key, apr_off_t max,
                         tp_upload_t **up)
{
    tp_err_t *err = tp_storage_begin(&req->conf->storage, req->r->pool, key,
                                     max, up);

    return err ? err : tp_receive_upload_capped(req, *up, max);
}

/* The body, at most max bytes, replaces key once whole. */
static tp_err_t *store_capped(tp_req_t *req, const char *key, apr_off_t max)
{
    tp_upload_t *up;
    tp_err_t *err = receive(req, key, max, &up);

    return err ? err : tp_upload_commit(up);
}

static tp_err_t *store_body(tp_req_t *req, const char *key)
{
    return store_capped(req, key, req->conf->max_upload);
}

tp_err_t *tp_api_artifact_plan_file_upload(tp_req_t *req)
{
    const char *run_id = tp_param(&req->params, "run_id");
    tp_rows_t *run;
    tp_err_t *err;

    if ((err = load_in(req, PLANNING, &run)) != NULL
        || (err = store_body(req, artifact_key(req, TP_PLAN_FILE)))
           != NULL
        || (err = tp_req_exec(req, &SQL_LR_PLAN_FILE, NULL,
                              TP_DB_ARGS(run_id))) != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* The plan as `terraform show -json` renders it; GET json-output of the
 * plan (api/runs.c) serves it to people. */
tp_err_t *tp_api_artifact_plan_json(tp_req_t *req)
{
    return send_stored(req, artifact_key(req, TP_PLAN_JSON),
                       "plan JSON", "application/json");
}

/* A drift run's plan classified after the workspace's ignore rules, for
 * the drift status its end records. Extra, as the counts of an apply
 * are: a plan that cannot be classified leaves the status to what
 * terraform said (has-changes), and the upload goes on. */
static void classify_drift(tp_req_t *req, const tp_rows_t *run)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_row(run, 0, "id");
    apr_off_t size;
    const char *path = tp_storage_file(&req->conf->storage, p,
                                       tp_run_key(p, id, TP_PLAN_JSON), &size);
    tp_db_t *db;
    tp_err_t *err = tp_req_db(req, &db);

    if (!err) {
        err = path ? tp_drift_classify_run(db, p, id,
                                           tp_row(run, 0, "drift_ignore_rules"),
                                           path)
                   : tp_err(p, 404, "the plan JSON is not stored");
    }
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP02050: the "
                      "plan of drift run %s is not classified: %s", id,
                      err->log ? err->log : err->detail);
    }
}

/* The plan's resource counts are read from it before it is stored: a
 * document that is no plan is refused (422) and replaces nothing. */
tp_err_t *tp_api_artifact_plan_json_upload(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_plan_counts_t counts;
    tp_upload_t *up;
    tp_rows_t *run;
    tp_err_t *err;

    if ((err = load_in(req, PLANNING, &run)) != NULL
        || (err = receive(req, artifact_key(req, TP_PLAN_JSON),
                          req->conf->max_upload, &up)) != NULL
        || (err = tp_plan_count_file(p, tp_upload_path(up),
                                     req->conf->max_upload, &counts)) != NULL
        || (err = tp_upload_commit(up)) != NULL
        || (err = store_counts(req, &SQL_LR_PLAN_COUNTS, &counts,
                               tp_row(run, 0, "id"))) != NULL
        || (err = tp_req_exec(req, &SQL_LR_RUN_VERSION, NULL,
                              TP_DB_ARGS(counts.terraform_version,
                                         tp_row(run, 0, "id")))) != NULL) {
        return err;
    }
    if (tp_row_bool(run, 0, "is_drift_detection")) {
        classify_drift(req, run);
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* A tarball of the files the plan created, for the apply to restore. */
tp_err_t *tp_api_artifact_plan_artifacts(tp_req_t *req)
{
    return send_stored(req, artifact_key(req, "plan-artifacts.tar"),
                       "plan artifacts", "application/x-tar");
}

tp_err_t *tp_api_artifact_plan_artifacts_upload(tp_req_t *req)
{
    tp_rows_t *run;
    tp_err_t *err;

    if ((err = load_in(req, PLANNING, &run)) != NULL
        || (err = store_capped(req, artifact_key(req, "plan-artifacts.tar"),
                               PLAN_ARTIFACTS_MAX)) != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* PUT: the whole log, replacing what was there. */
tp_err_t *tp_api_artifact_log_put(tp_req_t *req)
{
    const char *key;
    tp_rows_t *run;
    tp_err_t *err;

    if ((err = load_log(req, &run, &key)) != NULL
        || (err = store_body(req, key)) != NULL) {
        return err;
    }
    log_updated(req, run, key);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* POST: one more chunk, appended whole, so log readers see it grow. */
tp_err_t *tp_api_artifact_log_append(tp_req_t *req)
{
    const char *key;
    tp_rows_t *run;
    tp_err_t *err;
    char *buf;
    apr_size_t len;

    if ((err = load_log(req, &run, &key)) != NULL
        || (err = tp_read_raw(req, req->conf->max_upload, &buf, &len))
           != NULL
        || (len && (err = tp_storage_append(&req->conf->storage,
                                            req->r->pool, key, buf, len))
            != NULL)) {
        return err;
    }
    if (len) {
        log_updated(req, run, key);
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* One optional non-negative integer field; 400 for anything else. */
static tp_err_t *counter(apr_pool_t *p, const tp_json_t *body,
                         const char *name, long long max, const char **out)
{
    tp_json_type_e t = tp_json_type(body, name, NULL);
    long long v;

    *out = NULL;
    if (t == TP_JSON_ABSENT || t == TP_JSON_NULL) {
        return NULL;
    }
    v = t == TP_JSON_INTEGER ? tp_json_geti(body, name, NULL) : -1;
    if (v < 0 || v > max) {
        return tp_err(p, 400, "%s must be an integer from 0 to %"
                      APR_INT64_T_FMT, name, (apr_int64_t)max);
    }
    *out = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
    return NULL;
}

tp_err_t *tp_api_run_resource_profile(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *mem, *cpu, *code;
    tp_json_t *body;
    tp_rows_t *run;
    tp_err_t *err;

    if ((err = load_in(req, RUNNING, &run)) != NULL
        || (err = tp_read_json(req, &body)) != NULL) {
        return err;
    }
    if (tp_json_type(body, NULL) != TP_JSON_OBJECT) {
        return tp_err(p, 400, "the resource profile must be a JSON object");
    }
    if ((err = counter(p, body, "peak_memory_bytes", APR_INT64_MAX, &mem))
        != NULL
        || (err = counter(p, body, "peak_cpu_usec", APR_INT64_MAX, &cpu))
           != NULL
        || (err = counter(p, body, "exit_code", APR_INT32_MAX, &code))
           != NULL
        || (err = tp_req_exec(req, &SQL_LR_PROFILE, NULL,
                              TP_DB_ARGS(mem, cpu, code,
                                         tp_row(run, 0, "id")))) != NULL) {
        return err;
    }
    return tp_send_empty(req, HTTP_NO_CONTENT);
}
