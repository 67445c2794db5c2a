/* Projects: TFE's named groups of workspaces. Every authenticated caller
 * reads them; platform admins create, change and delete them. The default
 * project holds the workspaces created without one and is never deleted.
 * A project grants nothing: the level on a workspace still comes from the
 * workspace's own labels, owner and roles (docs/rbac.md). */
#include <apr_strings.h>
#include <apr_lib.h>
#include "../mod_terrapod.h"

#define PRJ_COLUMNS \
    "p.id, p.name, p.description, p.default_execution_mode, p.is_default," \
    " tp_ts(p.created_at) AS created_at," \
    " '" TP_ORGANIZATION "' AS organization_name," \
    " (SELECT count(*) FROM workspaces w WHERE w.project_id = p.id)" \
    "   AS workspace_count"

static const tp_stmt_t SQL_PRJ_GET = {"prj_get",
    "SELECT " PRJ_COLUMNS " FROM projects p WHERE p.id = %s"};
/* q: a part of the name; filter[names]: a JSON list of whole names; both
 * ignore case, as TFE's do. */
static const tp_stmt_t SQL_PRJ_PAGE = {"prj_page",
    "SELECT " PRJ_COLUMNS ", count(*) OVER () AS total FROM projects p"
    " WHERE (%s::text IS NULL OR strpos(lower(p.name), lower(%s)) > 0)"
    "   AND (%s::jsonb IS NULL"
    "        OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(%s::jsonb) n"
    "                    WHERE lower(n) = lower(p.name)))"
    " ORDER BY p.name LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_PRJ_INSERT = {"prj_insert",
    "INSERT INTO projects (id, name, description, default_execution_mode)"
    " VALUES (%s, %s, COALESCE(%s, ''), COALESCE(%s, 'local'))"
    " ON CONFLICT ((lower(name))) DO NOTHING RETURNING id"};
static const tp_stmt_t SQL_PRJ_NAME_TAKEN = {"prj_name_taken",
    "SELECT 1 FROM projects WHERE lower(name) = lower(%s) AND id <> %s"};
/* NULL for an attribute leaves its column as it is. */
static const tp_stmt_t SQL_PRJ_UPDATE = {"prj_update",
    "UPDATE projects SET name = COALESCE(%s, name),"
    " description = COALESCE(%s, description),"
    " default_execution_mode = COALESCE(%s, default_execution_mode),"
    " updated_at = now()"
    " WHERE id = %s RETURNING id"};
/* FOR UPDATE waits for transactions that are putting a workspace into the
 * project (they hold it FOR KEY SHARE, tp_project_hold) and keeps new
 * ones out until the delete is decided, so the delete's own statement
 * sees every workspace the project holds. */
static const tp_stmt_t SQL_PRJ_LOCK = {"prj_lock",
    "SELECT name, is_default FROM projects WHERE id = %s FOR UPDATE"};
static const tp_stmt_t SQL_PRJ_DELETE = {"prj_delete",
    "DELETE FROM projects p WHERE p.id = %s"
    "   AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.project_id = p.id)"
    " RETURNING id"};
static const tp_stmt_t SQL_PRJ_HOLD = {"prj_hold",
    "SELECT id FROM projects WHERE id = %s FOR KEY SHARE"};

#define PRJ_NAME_MIN 3
#define PRJ_NAME_MAX 40
#define PRJ_DESCRIPTION_MAX 256

/* ---- rendering ---- */

static const tp_attr_t PRJ_ATTRS[] = {
    {"name", "name", TP_ATTR_STRING},
    {"description", "description", TP_ATTR_STRING},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"workspace-count", "workspace_count", TP_ATTR_INT},
    {"default-execution-mode", "default_execution_mode", TP_ATTR_STRING},
    {NULL, NULL, 0}
};

static const tp_rel_t PRJ_RELS[] = {
    {"organization", "organizations", TP_REL_ONE, "organization_name"},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t PRJ_DESC = {
    "projects", NULL, "/api/v2/projects/%s", PRJ_ATTRS, PRJ_RELS
};

static tp_json_t *prj_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    tp_json_t *r = tp_resource_render(req->r->pool, &PRJ_DESC, rows, i);
    int admin = req->who->grants.is_admin;

    tp_json_setnull(r, "attributes", "auto-destroy-activity-duration", NULL);
    tp_json_setb(r, 1, "attributes", "permissions", "can-read", NULL);
    tp_json_setb(r, admin, "attributes", "permissions", "can-update", NULL);
    tp_json_setb(r, admin && !tp_row_bool(rows, i, "is_default"),
                 "attributes", "permissions", "can-destroy", NULL);
    /* any caller may create a workspace, and moving one needs admin on
     * the workspace, not on a project */
    tp_json_setb(r, 1, "attributes", "permissions", "can-create-workspace",
                 NULL);
    tp_json_setb(r, 1, "attributes", "permissions", "can-move-workspace",
                 NULL);
    return r;
}

static const tp_stmt_t SQL_PRJ_BY_IDS = {"prj_by_ids",
    "SELECT " PRJ_COLUMNS " FROM projects p WHERE" TP_AMONG_KEYS("p.id")};

const tp_type_t tp_type_projects = {&PRJ_DESC, &SQL_PRJ_BY_IDS, NULL,
                                    prj_resource};

static tp_err_t *load(tp_req_t *req, const char *id, tp_rows_t **rows)
{
    tp_err_t *err = tp_req_exec(req, &SQL_PRJ_GET, rows, TP_DB_ARGS(id));

    if (!err && (*rows)->nrows == 0) {
        err = tp_err(req->r->pool, 404, "project %s not found", id);
    }
    return err;
}

static tp_err_t *send_project(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = load(req, id, &rows);

    return err ? err : tp_send_json(req, status,
                                    tp_jsonapi_doc(req->r->pool,
                                                   prj_resource(req, rows,
                                                                0)));
}

tp_err_t *tp_api_project_show(tp_req_t *req)
{
    return send_project(req, 200, tp_param(&req->params, "id"));
}

/* filter[names]=a,b as a JSON list of the names; NULL without it. */
static const char *names_filter(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *csv = tp_query_arg(req, "filter[names]");
    tp_json_t *names = tp_json_array(p);
    char *copy, *tok, *last;

    if (!csv) {
        return NULL;
    }
    copy = apr_pstrdup(p, csv);
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        char *end = tok + strlen(tok);

        /* names neither start nor end with a space: "a, b" means a and b */
        while (*tok == ' ') tok++;
        while (end > tok && end[-1] == ' ') *--end = '\0';
        tp_json_pushs(names, tok);
    }
    return tp_json_dump(names, p);
}

tp_err_t *tp_api_project_list(tp_req_t *req)
{
    const char *names = names_filter(req);
    /* with both, filter[names] is used, as in TFE */
    const char *q = names ? NULL : tp_query_arg(req, "q");

    return tp_send_page(req, &SQL_PRJ_PAGE, TP_DB_ARGS(q, q, names, names),
                        prj_resource);
}

/* ---- create and update ---- */

/* Column values parsed from a request: NULL leaves a column unchanged. */
typedef struct {
    const char *name, *description, *execution_mode;
} prj_input_t;

/* TFE's rule: letters, digits, spaces, '-' and '_', no space at either
 * end, 3 to 40 characters. */
static int name_valid(const char *s)
{
    apr_size_t n = strlen(s), i;

    if (n < PRJ_NAME_MIN || n > PRJ_NAME_MAX || s[0] == ' ' || s[n - 1] == ' ') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(s[i]) && !strchr(" -_", s[i])) {
            return 0;
        }
    }
    return 1;
}

static tp_err_t *parse_input(apr_pool_t *p, const tp_json_t *body,
                             prj_input_t *in)
{
    static const char *const modes[] = {"local", "agent", "remote", NULL};
    tp_json_t *a;
    tp_err_t *err;
    int has;

    memset(in, 0, sizeof(*in));
    if ((err = tp_jsonapi_attributes(p, body, "projects", &a)) != NULL
        || (err = tp_attr_string(p, a, "name", PRJ_NAME_MAX, &in->name, &has))
           != NULL) {
        return err;
    }
    if (has && !name_valid(in->name)) {
        return tp_err(p, 422, "name may only contain letters, numbers, "
                      "spaces, -, and _, may not start or end with a space, "
                      "and must be %d to %d characters long", PRJ_NAME_MIN,
                      PRJ_NAME_MAX);
    }
    if ((err = tp_attr_string(p, a, "description", PRJ_DESCRIPTION_MAX,
                              &in->description, &has)) != NULL
        || (err = tp_attr_enum(p, a, "default-execution-mode", modes,
                               &in->execution_mode, &has)) != NULL) {
        return err;
    }
    /* TFE's "remote" runs on agents here, as for workspaces */
    if (in->execution_mode && strcmp(in->execution_mode, "remote") == 0) {
        in->execution_mode = "agent";
    }
    /* workspaces here are never destroyed for inactivity */
    switch (tp_json_type(a, "auto-destroy-activity-duration", NULL)) {
    case TP_JSON_ABSENT:
    case TP_JSON_NULL:
        return NULL;
    default:
        return tp_err(p, 422, "auto-destroy-activity-duration is not "
                      "supported; send null or leave it out");
    }
}

tp_err_t *tp_api_project_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "prj");
    tp_json_t *body;
    prj_input_t in;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(p, body, &in)) != NULL) {
        return err;
    }
    if (!in.name) {
        return tp_err(p, 422, "name is required");
    }
    if ((err = tp_req_exec(req, &SQL_PRJ_INSERT, &rows,
                           TP_DB_ARGS(id, in.name, in.description,
                                      in.execution_mode))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 422, "name \"%s\" has already been taken", in.name);
    }
    return send_project(req, 201, id);
}

tp_err_t *tp_api_project_update(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_json_t *body;
    prj_input_t in;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = load(req, id, &rows)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(p, body, &in)) != NULL) {
        return err;
    }
    if (in.name) {
        if ((err = tp_req_exec(req, &SQL_PRJ_NAME_TAKEN, &rows,
                               TP_DB_ARGS(in.name, id))) != NULL) {
            return err;
        }
        if (rows->nrows) {
            return tp_err(p, 422, "name \"%s\" has already been taken",
                          in.name);
        }
    }
    if ((err = tp_req_exec(req, &SQL_PRJ_UPDATE, NULL,
                           TP_DB_ARGS(in.name, in.description,
                                      in.execution_mode, id))) != NULL) {
        return err;
    }
    return send_project(req, 200, id);
}

/* ---- delete ---- */

/* Refused for the default project and for one that still holds
 * workspaces: they are moved or deleted first, never taken along. */
tp_err_t *tp_api_project_delete(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *locked, *deleted;
    tp_db_t *db;
    tp_err_t *err;

    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_db_begin(db, p)) != NULL
        || (err = tp_db_exec(db, p, &SQL_PRJ_LOCK, &locked,
                             TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    if (locked->nrows == 0) {
        tp_db_rollback(db);
        return tp_err(p, 404, "project %s not found", id);
    }
    if (tp_row_bool(locked, 0, "is_default")) {
        tp_db_rollback(db);
        return tp_err(p, 409, "the default project \"%s\" cannot be deleted",
                      tp_row(locked, 0, "name"));
    }
    if ((err = tp_db_exec(db, p, &SQL_PRJ_DELETE, &deleted,
                          TP_DB_ARGS(id))) != NULL) {
        return err;
    }
    if (deleted->nrows == 0) {
        tp_db_rollback(db);
        return tp_err(p, 409, "project \"%s\" still holds workspaces; move "
                      "them to another project or delete them first",
                      tp_row(locked, 0, "name"));
    }
    return (err = tp_db_commit(db)) != NULL
           ? err : tp_send_empty(req, HTTP_NO_CONTENT);
}

tp_err_t *tp_project_hold(tp_db_t *db, apr_pool_t *p, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = tp_db_exec(db, p, &SQL_PRJ_HOLD, &rows, TP_DB_ARGS(id));

    if (!err && rows->nrows == 0) {
        err = tp_err(p, 422, "project %s not found", id);
    }
    return err;
}
