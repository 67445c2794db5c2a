/* The audit log's core: resource and path of an entry, the append
 * statement and the retention task. The HTTP glue records entries after
 * each response (mod_terrapod_audit.c). */
#include <string.h>
#include <apr_strings.h>
#include <apr_escape.h>
#include "tp_audit.h"
#include "tp_json.h"

/* at most this many rows per DELETE, and batches per run, so a large
 * backlog never holds long locks or keeps the task busy for minutes */
#define PURGE_BATCH 5000
#define PURGE_MAX_BATCHES 100

/* Entries arrive as one JSON array, so a batch of any size is one
 * statement and one round trip. Its transaction commits without waiting
 * for its WAL flush (the walwriter flushes within wal_writer_delay): a
 * PostgreSQL crash can lose only the last fraction of a second of
 * entries, never corrupt them. The setting is local to the statement's
 * transaction. */
static const tp_stmt_t SQL_AUDIT_INSERT = {"audit_insert",
    "WITH async AS (SELECT set_config('synchronous_commit', 'off', true))"
    " INSERT INTO audit_log (at, actor, token_id, method, path,"
    " resource_type, resource_id, status, client_ip, duration_ms)"
    " SELECT to_timestamp(e.at / 1e6), e.actor, e.token_id, e.method,"
    "        e.path, e.resource_type, e.resource_id, e.status, e.client_ip,"
    "        e.duration_ms"
    "   FROM async, jsonb_to_recordset(%s::jsonb) AS e(at bigint,"
    "        actor text, token_id text, method text, path text,"
    "        resource_type text, resource_id text, status int,"
    "        client_ip text, duration_ms int)"};
static const tp_stmt_t SQL_AUDIT_PURGE = {"audit_purge",
    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log"
    " WHERE at < now() - make_interval(days => %s::int)"
    " ORDER BY at LIMIT %s::int) RETURNING id"};

static int retention_days = TP_AUDIT_RETENTION_DAYS_DEFAULT;

static int is_credential(const char *name, apr_size_t len)
{
    return (len == 3 && strncmp(name, "cap", 3) == 0)
           || (len == 6 && strncmp(name, "ticket", 6) == 0);
}

/* The next segment of s: its start and length; NULL at the end. */
static const char *next_segment(const char *s, apr_size_t *len)
{
    const char *end;

    while (*s == '/') {
        s++;
    }
    if (!*s) {
        return NULL;
    }
    end = strchr(s, '/');
    *len = end ? (apr_size_t)(end - s) : strlen(s);
    return s;
}

static int is_placeholder(const char *seg, apr_size_t len)
{
    return len > 2 && seg[0] == '{' && seg[len - 1] == '}';
}

void tp_audit_resource(apr_pool_t *p, const char *pattern,
                       const tp_params_t *params, const char **type,
                       const char **id)
{
    const char *seg = pattern, *literal = NULL;
    apr_size_t len = 0, literal_len = 0;

    *type = NULL;
    *id = NULL;
    while ((seg = next_segment(seg, &len)) != NULL) {
        if (!is_placeholder(seg, len)) {
            literal = seg;
            literal_len = len;
        }
        else if (!is_credential(seg + 1, len - 2) && literal) {
            *type = apr_pstrmemdup(p, literal, literal_len);
            *id = tp_param(params, apr_pstrmemdup(p, seg + 1, len - 2));
        }
        seg += len;
    }
    if (!*type && literal) {
        *type = apr_pstrmemdup(p, literal, literal_len);
    }
}

const char *tp_audit_path(apr_pool_t *p, const char *pattern,
                          const char *path)
{
    const char *ps = pattern, *ss = path;
    apr_size_t pl = 0, sl = 0;
    char *out = "";

    if (!pattern
        || (!strstr(pattern, "{cap}") && !strstr(pattern, "{ticket}"))) {
        return path;
    }
    /* the path matched pattern, so their segments pair up */
    while ((ps = next_segment(ps, &pl)) != NULL
           && (ss = next_segment(ss, &sl)) != NULL) {
        out = apr_pstrcat(p, out, "/",
                          is_placeholder(ps, pl) && is_credential(ps + 1, pl - 2)
                          ? apr_pstrmemdup(p, ps, pl)
                          : apr_pstrmemdup(p, ss, sl), NULL);
        ps += pl;
        ss += sl;
    }
    return out;
}

static int is_credential_arg(apr_pool_t *p, const char *arg, apr_size_t len)
{
    static const char *const names[] = {"signature", "code", "state", NULL};
    /* the name as the server reads it, '+' and escapes decoded */
    const char *name = apr_punescape_url(p, apr_pstrmemdup(p, arg, len),
                                         NULL, NULL, 1);
    int i;

    for (i = 0; name && names[i]; i++) {
        if (strcmp(name, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *tp_audit_query(apr_pool_t *p, const char *query)
{
    const char *arg = query;
    char *out = "";
    int masked = 0;

    while (arg && *arg) {
        apr_size_t len = strcspn(arg, "&");
        apr_size_t name_len = strcspn(arg, "=&");

        if (is_credential_arg(p, arg, name_len)) {
            out = apr_psprintf(p, "%s%s%.*s={%.*s}", out, *out ? "&" : "",
                               (int)name_len, arg, (int)name_len, arg);
            masked = 1;
        }
        else {
            out = apr_psprintf(p, "%s%s%.*s", out, *out ? "&" : "",
                               (int)len, arg);
        }
        arg += len + (arg[len] == '&');
    }
    return masked ? out : query;
}

static tp_json_t *entry_json(apr_pool_t *p, const tp_audit_entry_t *e)
{
    tp_json_t *j = tp_json_object(p);

    tp_json_seti(j, e->at, "at", NULL);
    tp_json_sets(j, e->actor, "actor", NULL);
    tp_json_sets(j, e->token_id, "token_id", NULL);
    tp_json_sets(j, e->method, "method", NULL);
    tp_json_sets(j, e->path, "path", NULL);
    tp_json_sets(j, e->resource_type, "resource_type", NULL);
    tp_json_sets(j, e->resource_id, "resource_id", NULL);
    tp_json_seti(j, e->status, "status", NULL);
    tp_json_sets(j, e->client_ip, "client_ip", NULL);
    tp_json_seti(j, e->duration_ms, "duration_ms", NULL);
    return j;
}

tp_err_t *tp_audit_record(tp_db_t *db, apr_pool_t *p,
                          const tp_audit_entry_t *const *entries, int n)
{
    tp_json_t *rows = tp_json_array(p);
    int i;

    for (i = 0; i < n; i++) {
        tp_json_push(rows, entry_json(p, entries[i]));
    }
    return tp_db_exec(db, p, &SQL_AUDIT_INSERT, NULL,
                      TP_DB_ARGS(tp_json_dump(rows, p)));
}

void tp_audit_set_retention(int days)
{
    retention_days = days;
}

tp_err_t *tp_audit_purge(tp_db_t *db, apr_pool_t *p, const char **summary)
{
    const char *days = apr_itoa(p, retention_days);
    const char *limit = apr_itoa(p, PURGE_BATCH);
    int total = 0;
    int batch;

    if (retention_days == 0) {
        *summary = "kept every entry (no retention limit)";
        return NULL;
    }
    for (batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
        tp_rows_t *rows;
        tp_err_t *err = tp_db_exec(db, p, &SQL_AUDIT_PURGE, &rows,
                                   TP_DB_ARGS(days, limit));

        if (err) {
            return err;
        }
        total += rows->nrows;
        if (rows->nrows < PURGE_BATCH) {
            break;
        }
    }
    *summary = apr_psprintf(p, "removed %d audit entries older than %s "
                            "days", total, days);
    return NULL;
}
