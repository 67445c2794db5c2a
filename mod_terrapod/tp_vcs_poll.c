/* The VCS poller (tp_vcs_poll.h): which branches are tracked, asking
 * their heads, deciding which workspaces a new commit concerns, and the
 * requests webhooks leave for it. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "tp_vcs_poll.h"
#include "tp_vcs_pr.h"
#include "tp_autodiscovery_store.h"
#include "tp_vcs_store.h"
#include "tp_vcs_config.h"
#include "tp_runs.h"
#include "tp_json.h"

/* The workspaces the poller serves: active ones on an active connection,
 * each with its repository's web URL (autodiscovery's workspaces of a
 * pull request follow that request, not a branch; nothing would run a
 * local-execution workspace's runs). */
static const tp_stmt_t SQL_TRACKED = {"vcs_poll_tracked",
    "SELECT w.id, w.vcs_connection_id AS conn, c.provider, c.server_url,"
    " w.vcs_repo_url AS url, w.vcs_branch AS branch,"
    " w.working_directory AS working_dir,"
    " w.trigger_prefixes::text AS prefixes,"
    " w.file_triggers_enabled AS file_triggers, w.auto_apply,"
    " w.vcs_last_commit_sha AS last_sha"
    " FROM workspaces w JOIN vcs_connections c ON c.id = w.vcs_connection_id"
    " WHERE w.lifecycle_state = 'active' AND c.status = 'active'"
    " AND w.vcs_repo_url <> '' AND w.autodiscovery_pr_number IS NULL"
    " AND w.execution_mode <> 'local'"
    /* an enabled autodiscovery rule's branch is followed too, for the
     * directories that have no workspace yet */
    " UNION ALL"
    " SELECT NULL, r.vcs_connection_id, c.provider, c.server_url,"
    " r.repo_url, r.branch, NULL, NULL, NULL, NULL, NULL"
    " FROM autodiscovery_rules r"
    " JOIN vcs_connections c ON c.id = r.vcs_connection_id"
    " WHERE r.enabled AND c.status = 'active'"
    " ORDER BY 2, 5, 6, 1 NULLS FIRST"};
/* A repository and branch's state, made on first sight: whether it is
 * due (its time came, or a webhook asked since it was last asked), and
 * the time this poll counts as asked at. */
static const tp_stmt_t SQL_STATE = {"vcs_poll_state",
    "INSERT INTO vcs_poll_state AS s"
    " (vcs_connection_id, repo_owner, repo_name, branch)"
    " VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (vcs_connection_id, repo_owner, repo_name, branch)"
    " DO UPDATE SET branch = EXCLUDED.branch"
    " RETURNING s.default_branch, s.etag, s.last_sha, s.failures,"
    " now() AS polled_at,"
    " (s.next_at IS NULL OR s.next_at <= now()) AS due,"
    " EXISTS (SELECT 1 FROM vcs_poll_requests r"
    "   WHERE r.vcs_connection_id = s.vcs_connection_id"
    "   AND r.repo = lower(s.repo_owner || '/' || s.repo_name)"
    "   AND r.requested_at > COALESCE(s.checked_at, '-infinity')"
    "   AND (r.branch = ''"
    "        OR (r.branch = COALESCE(NULLIF(s.branch, ''), s.default_branch)"
    "            AND r.sha IS DISTINCT FROM s.last_sha))) AS requested"};
/* After an answer: asked again a little before the next interval ends,
 * so that the task's next run finds it due. */
static const tp_stmt_t SQL_ANSWERED = {"vcs_poll_answered",
    "UPDATE vcs_poll_state SET default_branch = %s, etag = %s,"
    " last_sha = %s, checked_at = %s::timestamptz,"
    " next_at = %s::timestamptz + make_interval(secs => %s::int),"
    " failures = 0"
    " WHERE vcs_connection_id = %s AND repo_owner = %s AND repo_name = %s"
    " AND branch = %s"};
/* After a failure: backed off, the interval doubling at each failure in
 * a row, up to its cap. */
static const tp_stmt_t SQL_FAILED = {"vcs_poll_failed",
    "UPDATE vcs_poll_state SET checked_at = %s::timestamptz,"
    " failures = failures + 1, last_error = %s, last_error_at = now(),"
    " next_at = now() + make_interval(secs => least("
    "   %s::int * 2 ^ least(failures, 16), %s::int))"
    " WHERE vcs_connection_id = %s AND repo_owner = %s AND repo_name = %s"
    " AND branch = %s"};
static const tp_stmt_t SQL_WS_SEEN = {"vcs_poll_ws_seen",
    "UPDATE workspaces SET vcs_last_commit_sha = %s WHERE id = %s"};
/* Two statements, so that a purge with nothing to purge counts as no
 * change (tp_db) and leaves the processes' cached reads alone. */
static const tp_stmt_t SQL_PURGE_DELIVERIES = {"vcs_poll_purge_deliveries",
    "DELETE FROM vcs_webhook_deliveries"
    " WHERE received_at < now() - make_interval(days => %s::int)"};
static const tp_stmt_t SQL_PURGE_REQUESTS = {"vcs_poll_purge_requests",
    "DELETE FROM vcs_poll_requests"
    " WHERE requested_at < now() - make_interval(days => %s::int)"};

/* A poll asked of a repository (and branch: "" all of them). */
static const tp_stmt_t SQL_REQUEST = {"vcs_poll_request",
    "INSERT INTO vcs_poll_requests AS r"
    " (vcs_connection_id, repo, branch, sha)"
    " VALUES (%s, lower(%s), COALESCE(%s, ''), %s)"
    " ON CONFLICT (vcs_connection_id, repo, branch)"
    " DO UPDATE SET sha = EXCLUDED.sha, requested_at = now()"};

#define ERROR_MAX 500           /* characters of a repository's error */

typedef struct {
    const char *id;
    const char *working_dir;
    apr_array_header_t *prefixes;   /* const char * */
    int file_triggers;
    int auto_apply;
    const char *last_sha;           /* NULL: never ran from VCS */
} ws_t;

/* A tracked (connection, repository, branch) and its workspaces. */
typedef struct {
    const char *conn_id;
    const char *owner;
    const char *name;
    const char *branch;             /* as workspaces name it; "": default */
    apr_array_header_t *ws;         /* ws_t */
} repo_t;

/* One cycle: what it needs, what it loaded, what it did. */
typedef struct {
    tp_db_t *db;
    apr_pool_t *p;
    const tp_task_env_t *env;
    apr_hash_t *links;              /* connection id -> tp_vcs_link_t */
    int polled, commits, runs, failed;
    const char *first_error;
} cycle_t;

/* A path as a prefix of others: no "./" or "/" before, no "/" after. */
static const char *dir_of(apr_pool_t *p, const char *path)
{
    apr_size_t n;

    while (strncmp(path, "./", 2) == 0 || *path == '/') {
        path += *path == '/' ? 1 : 2;
    }
    n = strlen(path);
    while (n > 0 && path[n - 1] == '/') {
        n--;
    }
    return apr_pstrmemdup(p, path, n);
}

static int under(const char *file, const char *dir)
{
    apr_size_t n = strlen(dir);

    return n == 0 || (strncmp(file, dir, n) == 0
                      && (file[n] == '/' || file[n] == '\0'));
}

int tp_vcs_files_trigger(apr_pool_t *p, const char *working_dir,
                         const apr_array_header_t *prefixes,
                         const apr_array_header_t *files)
{
    apr_array_header_t *dirs = apr_array_make(p, 4, sizeof(const char *));
    int i, j, hit = 0;

    if (working_dir && *dir_of(p, working_dir)) {
        APR_ARRAY_PUSH(dirs, const char *) = dir_of(p, working_dir);
    }
    for (i = 0; prefixes && i < prefixes->nelts; i++) {
        APR_ARRAY_PUSH(dirs, const char *) =
            dir_of(p, APR_ARRAY_IDX(prefixes, i, const char *));
    }
    if (dirs->nelts == 0) {
        APR_ARRAY_PUSH(dirs, const char *) = "";
    }
    for (i = 0; !hit && i < files->nelts; i++) {
        for (j = 0; !hit && j < dirs->nelts; j++) {
            hit = under(APR_ARRAY_IDX(files, i, const char *),
                        APR_ARRAY_IDX(dirs, j, const char *));
        }
    }
    return hit;
}

/* ---- what is tracked ---- */

/* The tracked repositories in order, their workspaces grouped under
 * them. A workspace whose URL is not its connection's is skipped (the API
 * refuses such URLs; a connection's server URL may have changed). */
static tp_err_t *tracked(cycle_t *cy, apr_array_header_t **repos)
{
    apr_hash_t *seen = apr_hash_make(cy->p);
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if ((err = tp_db_exec(cy->db, cy->p, &SQL_TRACKED, &rows, 0, NULL))
        != NULL) {
        return err;
    }
    *repos = apr_array_make(cy->p, 16, sizeof(repo_t *));
    for (i = 0; i < rows->nrows; i++) {
        const char *owner, *name, *key;
        repo_t *repo;
        ws_t *ws;

        if (tp_vcs_repo_parse(cy->p, tp_vcs_provider_named(tp_row(rows, i,
                              "provider")), tp_row(rows, i, "server_url"),
                              tp_row(rows, i, "url"), &owner, &name)
            != APR_SUCCESS) {
            continue;
        }
        key = apr_pstrcat(cy->p, tp_row(rows, i, "conn"), "\n", owner, "\n",
                          name, "\n", tp_row(rows, i, "branch"), NULL);
        if (!(repo = apr_hash_get(seen, key, APR_HASH_KEY_STRING))) {
            repo = apr_pcalloc(cy->p, sizeof(*repo));
            repo->conn_id = tp_row(rows, i, "conn");
            repo->owner = owner;
            repo->name = name;
            repo->branch = tp_row(rows, i, "branch");
            repo->ws = apr_array_make(cy->p, 4, sizeof(ws_t));
            apr_hash_set(seen, key, APR_HASH_KEY_STRING, repo);
            APR_ARRAY_PUSH(*repos, repo_t *) = repo;
        }
        if (!tp_row(rows, i, "id")) {
            continue;           /* a rule's branch: no workspace of it */
        }
        ws = apr_array_push(repo->ws);
        ws->id = tp_row(rows, i, "id");
        ws->working_dir = tp_row(rows, i, "working_dir");
        ws->prefixes = tp_json_text_strings(cy->p, tp_row(rows, i,
                                                          "prefixes"));
        ws->file_triggers = tp_row_bool(rows, i, "file_triggers");
        ws->auto_apply = tp_row_bool(rows, i, "auto_apply");
        ws->last_sha = tp_row(rows, i, "last_sha");
    }
    return NULL;
}

/* The connection of repo, loaded once a cycle; NULL with *err when it
 * cannot be used. */
static tp_vcs_link_t *link_of(cycle_t *cy, const repo_t *repo,
                              tp_err_t **err)
{
    tp_vcs_link_t *link = apr_hash_get(cy->links, repo->conn_id,
                                       APR_HASH_KEY_STRING);

    *err = NULL;
    if (!link) {
        link = apr_pcalloc(cy->p, sizeof(*link));
        if ((*err = tp_vcs_link_load(cy->db, cy->p, cy->env->vcs,
                                     repo->conn_id, link)) != NULL) {
            return NULL;
        }
        apr_hash_set(cy->links, repo->conn_id, APR_HASH_KEY_STRING, link);
    }
    return link;
}

/* ---- one repository and branch ---- */

/* What a poll of one repository and branch works with. */
typedef struct {
    cycle_t *cy;
    const repo_t *repo;
    apr_pool_t *p;                  /* cleared after it */
    tp_vcs_link_t *link;
    const char *branch;             /* its name on the provider */
    const char *polled_at;
    const char *sha;                /* its head now */
    const char *tarball;            /* the head's files, once fetched */
    tp_vcs_commit_t commit;         /* the head, described once asked */
    apr_hash_t *compared;           /* base sha -> files changed since */
    int stale;                      /* a workspace is left behind */
} poll_t;

/* Keeps a token the provider minted during the poll beyond its pool, and
 * records how the connection answered. */
static tp_err_t *record(poll_t *pl, const tp_err_t *failed)
{
    tp_vcs_conn_t *c = &pl->link->conn;
    tp_err_t *err = tp_vcs_link_record(pl->cy->db, pl->p, pl->cy->env->vcs,
                                       pl->link, failed);

    if (c->token_minted) {
        c->token = apr_pstrdup(pl->cy->p, c->token);
        c->token_minted = 0;
    }
    return err;
}

/* The provider's failure: the repository backs off; the connection
 * records it. An error of the database is the cycle's. */
static tp_err_t *failed(poll_t *pl, const tp_err_t *why)
{
    cycle_t *cy = pl->cy;
    const repo_t *r = pl->repo;
    const char *what = apr_pstrndup(pl->p, why->detail, ERROR_MAX);
    int interval = cy->env->vcs_poll_interval;
    tp_err_t *err;

    cy->failed++;
    if (!cy->first_error) {
        cy->first_error = apr_psprintf(cy->p, "%s/%s: %s", r->owner, r->name,
                                       what);
    }
    err = tp_db_exec(cy->db, pl->p, &SQL_FAILED, NULL, TP_DB_ARGS(
        pl->polled_at, what, apr_itoa(pl->p, interval),
        apr_itoa(pl->p, interval > TP_VCS_BACKOFF_MAX ? interval
                                                      : TP_VCS_BACKOFF_MAX),
        r->conn_id, r->owner, r->name, r->branch));
    return err ? err : pl->link ? record(pl, why) : NULL;
}

/* 1 when the provider's answer is the database's trouble, not the
 * provider's: the cycle stops. */
static int database_down(const tp_err_t *err)
{
    return err->status == 503;
}

/* Whether the new head concerns ws: with file triggers on and a commit
 * to compare with, only when its files changed. */
static tp_err_t *concerns(poll_t *pl, const ws_t *ws, int *yes)
{
    apr_array_header_t *files;
    int truncated;
    tp_err_t *err;

    *yes = 1;
    if (!ws->file_triggers || !ws->last_sha) {
        return NULL;
    }
    files = apr_hash_get(pl->compared, ws->last_sha, APR_HASH_KEY_STRING);
    if (!files) {
        if ((err = tp_vcs_compare(pl->p, &pl->link->conn, pl->repo->owner,
                                  pl->repo->name, ws->last_sha, pl->sha,
                                  &files, &truncated)) != NULL) {
            return err;
        }
        if (truncated) {
            return NULL;        /* not every change is known: a run */
        }
        apr_hash_set(pl->compared, ws->last_sha, APR_HASH_KEY_STRING, files);
    }
    *yes = tp_vcs_files_trigger(pl->p, ws->working_dir, ws->prefixes, files);
    return NULL;
}

/* The head's files and description, fetched once for all the
 * workspaces of the poll. */
static tp_err_t *fetch_head(poll_t *pl)
{
    const repo_t *r = pl->repo;
    tp_err_t *err;

    if (pl->tarball) {
        return NULL;
    }
    if ((err = tp_vcs_commit(pl->p, &pl->link->conn, r->owner, r->name,
                             pl->sha, &pl->commit)) != NULL) {
        return err;
    }
    return tp_vcs_fetch(pl->p, pl->cy->env->vcs, &pl->link->conn, r->owner,
                        r->name, pl->sha, &pl->tarball, NULL);
}

/* A configuration version of the head and a run on ws, applied as the
 * workspace's auto-apply says. */
static tp_err_t *queue_run(poll_t *pl, const ws_t *ws)
{
    tp_vcs_ingress_t ing = {0};
    tp_run_spec_t spec = {0};
    const char *cv_id, *run_id;
    tp_err_t *err;

    if ((err = fetch_head(pl)) != NULL) {
        return err;
    }
    ing.commit_sha = pl->sha;
    ing.commit_url = *pl->commit.url ? pl->commit.url : NULL;
    ing.branch = pl->branch;
    ing.commit_message = pl->commit.message;
    ing.sender_username = *pl->commit.author ? pl->commit.author : NULL;
    ing.identifier = apr_pstrcat(pl->p, pl->repo->owner, "/",
                                 pl->repo->name, NULL);
    if ((err = tp_vcs_cv_create(pl->cy->db, pl->p, pl->cy->env->vcs, ws->id,
                                pl->tarball, &ing, 0, &cv_id)) != NULL) {
        return err;
    }
    spec.cv_id = cv_id;
    spec.message = *pl->commit.message ? pl->commit.message
                   : apr_psprintf(pl->p, "Commit %.7s on %s", pl->sha,
                                  pl->branch);
    spec.vcs_ref = "";
    spec.refresh = 1;
    spec.target_addrs = spec.replace_addrs = spec.variables = "[]";
    spec.level = TP_LEVEL_ADMIN;        /* the server's own run */
    return tp_run_create(pl->cy->db, pl->p, ws->id, &spec, NULL, &run_id);
}

/* Brings ws to the new head: a run when the change concerns it, and the
 * head remembered as its last. Its failure leaves it behind, to be tried
 * again when the repository's backoff ends. */
static tp_err_t *advance(poll_t *pl, const ws_t *ws)
{
    tp_err_t *err;
    int yes;

    if ((err = concerns(pl, ws, &yes)) != NULL
        || (yes && (err = queue_run(pl, ws)) != NULL)) {
        pl->stale = 1;
        return database_down(err) ? err : failed(pl, err);
    }
    pl->cy->runs += yes;
    return tp_db_exec(pl->cy->db, pl->p, &SQL_WS_SEEN, NULL,
                      TP_DB_ARGS(pl->sha, ws->id));
}

/* 1 when every workspace has run the branch's last seen head: then a
 * conditional request can tell whether there is anything to do. */
static int all_at(const repo_t *repo, const char *sha)
{
    int i;

    for (i = 0; sha && i < repo->ws->nelts; i++) {
        const char *at = APR_ARRAY_IDX(repo->ws, i, ws_t).last_sha;

        if (!at || strcmp(at, sha) != 0) {
            return 0;
        }
    }
    return sha != NULL;
}

/* What work beside the branch's own (its requests, its autodiscovery)
 * found: the database failing stops the cycle; the provider's refusal is
 * counted, the first kept for the summary, and the branch goes on. */
static tp_err_t *side_work(poll_t *pl, const char *what, tp_err_t *err)
{
    if (!err || database_down(err)) {
        return err;
    }
    pl->cy->failed++;
    if (!pl->cy->first_error) {
        pl->cy->first_error = apr_psprintf(pl->cy->p, "%s/%s %s: %.*s",
                                           pl->repo->owner, pl->repo->name,
                                           what, ERROR_MAX, err->detail);
    }
    return NULL;
}

static tp_err_t *poll_branch(poll_t *pl, const tp_rows_t *state)
{
    const repo_t *r = pl->repo;
    const char *last = tp_row(state, 0, "last_sha");
    const char *etag = all_at(r, last) ? tp_row(state, 0, "etag") : NULL;
    const char *new_etag = NULL;
    tp_err_t *err;
    int i, queued = 0, changed = 0;

    pl->branch = *r->branch ? r->branch : tp_row(state, 0, "default_branch");
    if ((!pl->branch
         && (err = tp_vcs_default_branch(pl->p, &pl->link->conn, r->owner,
                                         r->name, &pl->branch)) != NULL)
        || (err = tp_vcs_head(pl->p, &pl->link->conn, r->owner, r->name,
                              pl->branch, etag, &pl->sha, &new_etag))
           != NULL) {
        return database_down(err) ? err : failed(pl, err);
    }
    pl->cy->polled++;
    pl->sha = pl->sha ? pl->sha : last;     /* a 304: unchanged */
    /* Work due at every poll of a repository and branch: the pull
     * requests targeting it. Their trouble is the connection's record,
     * and the branch goes on. */
    if ((err = side_work(pl, "requests", tp_vcs_prs_sync(pl->cy->db, pl->p,
             pl->cy->env->vcs, pl->link, r->owner, r->name, pl->branch,
             &queued))) != NULL) {
        return err;
    }
    pl->cy->runs += queued;
    if (!last || strcmp(pl->sha, last) != 0) {
        pl->cy->commits++;
        /* the autodiscovery rules of the branch; when they made, moved or
         * flagged workspaces, the ones loaded for this cycle are stale:
         * the branch is asked again at once, with them read anew */
        if ((err = side_work(pl, "autodiscovery", tp_autodiscovery_reconcile(
                 pl->cy->db, pl->p, pl->link, r->owner, r->name, pl->branch,
                 pl->sha, &changed))) != NULL) {
            return err;
        }
        if (changed) {
            return tp_db_exec(pl->cy->db, pl->p, &SQL_REQUEST, NULL,
                              TP_DB_ARGS(r->conn_id, apr_pstrcat(pl->p,
                                         r->owner, "/", r->name, NULL),
                                         r->branch, NULL));
        }
    }
    for (i = 0; i < r->ws->nelts; i++) {
        const ws_t *ws = &APR_ARRAY_IDX(r->ws, i, ws_t);

        if ((!ws->last_sha || strcmp(ws->last_sha, pl->sha) != 0)
            && (err = advance(pl, ws)) != NULL) {
            return err;
        }
    }
    if (pl->stale) {
        return NULL;    /* backed off as failed; asked in full next time */
    }
    if ((err = tp_db_exec(pl->cy->db, pl->p, &SQL_ANSWERED, NULL, TP_DB_ARGS(
             *r->branch ? NULL : pl->branch, new_etag,
             pl->sha, pl->polled_at, pl->polled_at,
             apr_itoa(pl->p, pl->cy->env->vcs_poll_interval
                      - (pl->cy->env->vcs_poll_interval >= 10
                         ? pl->cy->env->vcs_poll_interval / 10 : 1)),
             r->conn_id, r->owner, r->name, r->branch))) != NULL) {
        return err;
    }
    return record(pl, NULL);
}

/* Polls repo when it is due. Only the database's errors are returned:
 * the provider's are the repository's. */
static tp_err_t *poll_repo(cycle_t *cy, const repo_t *repo, apr_pool_t *p)
{
    poll_t pl = {0};
    tp_rows_t *state;
    tp_err_t *err;

    if ((err = tp_db_exec(cy->db, p, &SQL_STATE, &state, TP_DB_ARGS(
             repo->conn_id, repo->owner, repo->name, repo->branch)))
        != NULL) {
        return err;
    }
    if (!tp_row_bool(state, 0, "due") && !tp_row_bool(state, 0,
                                                      "requested")) {
        return NULL;
    }
    pl.cy = cy;
    pl.repo = repo;
    pl.p = p;
    pl.polled_at = tp_row(state, 0, "polled_at");
    pl.compared = apr_hash_make(p);
    if (!(pl.link = link_of(cy, repo, &err))) {
        return database_down(err) ? err : failed(&pl, err);
    }
    return poll_branch(&pl, state);
}

tp_err_t *tp_vcs_poll(tp_db_t *db, apr_pool_t *p, const tp_task_env_t *env,
                      const char **summary)
{
    const char *days = apr_itoa(p, TP_VCS_DELIVERY_DAYS);
    cycle_t cy = {0};
    apr_array_header_t *repos;
    apr_pool_t *sub;
    tp_err_t *err;
    int i;

    cy.db = db;
    cy.p = p;
    cy.env = env;
    cy.links = apr_hash_make(p);
    if ((err = tp_db_exec(db, p, &SQL_PURGE_DELIVERIES, NULL,
                          TP_DB_ARGS(days))) != NULL
        || (err = tp_db_exec(db, p, &SQL_PURGE_REQUESTS, NULL,
                             TP_DB_ARGS(days))) != NULL
        || (err = tracked(&cy, &repos)) != NULL) {
        return err;
    }
    apr_pool_create(&sub, p);
    for (i = 0; i < repos->nelts && !err; i++) {
        err = poll_repo(&cy, APR_ARRAY_IDX(repos, i, repo_t *), sub);
        apr_pool_clear(sub);
    }
    *summary = apr_psprintf(p, "%d branches tracked, %d asked, %d moved, "
                            "%d runs queued, %d failed%s%s", repos->nelts,
                            cy.polled, cy.commits, cy.runs, cy.failed,
                            cy.first_error ? ": " : "",
                            cy.first_error ? cy.first_error : "");
    return err;
}

/* ---- what webhooks ask ---- */

static const tp_stmt_t SQL_DELIVERY = {"vcs_delivery",
    "INSERT INTO vcs_webhook_deliveries (provider, delivery_id)"
    " VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1 AS fresh"};

tp_err_t *tp_vcs_poll_request(tp_db_t *db, apr_pool_t *p,
                              const char *provider, const char *delivery,
                              const char *conn_id, const char *repo,
                              const char *branch, const char *sha,
                              int *replay)
{
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_db_begin(db, p)) != NULL) {
        return err;
    }
    err = tp_db_exec(db, p, &SQL_DELIVERY, &rows,
                     TP_DB_ARGS(provider, delivery));
    *replay = !err && rows->nrows == 0;
    if (!err && !*replay && repo) {
        err = tp_db_exec(db, p, &SQL_REQUEST, NULL,
                         TP_DB_ARGS(conn_id, repo, branch, sha));
    }
    if (err) {
        tp_db_rollback(db);
        return err;
    }
    return tp_db_commit(db);
}
