/* Autodiscovery rules: a VCS connection's repository and branch, a glob of
 * the files that make a directory a workspace, and the settings of the
 * workspaces a rule creates. Platform admins manage them, preview what a
 * rule (saved or not) would create, and scan to create it. The secrets in
 * a rule's run-task and notification templates are sealed and
 * write-only. */
#include <apr_strings.h>
#include "../mod_terrapod.h"
#include "../tp_autodiscovery_store.h"
#include "../tp_crypto.h"

/* what template secrets are sealed for (tp_seal) */
#define AD_SEAL_PURPOSE "autodiscovery-templates"
#define AD_LIST_MAX 50          /* entries of a list attribute */
#define AD_STRING_MAX 2048

#define AD_COLUMNS \
    "r.id, r.name, r.vcs_connection_id, r.repo_url, r.branch, r.pattern," \
    " r.ignore_patterns::text AS ignore_patterns, r.name_template," \
    " r.enabled, r.execution_mode, r.execution_backend, r.agent_pool_id," \
    " r.terraform_version, r.resource_cpu, r.resource_memory, r.auto_apply," \
    " r.on_directory_delete, r.labels::text AS labels, r.owner_email," \
    " r.var_files::text AS var_files," \
    " r.run_task_templates::text AS run_task_templates," \
    " r.notification_templates::text AS notification_templates," \
    " (SELECT count(*) FROM workspaces w" \
    "   WHERE w.autodiscovery_rule_id = r.id) AS workspace_count," \
    " tp_ts(r.created_at) AS created_at, tp_ts(r.updated_at) AS updated_at"

static const tp_stmt_t SQL_AD_GET = {"ad_get",
    "SELECT " AD_COLUMNS " FROM autodiscovery_rules r WHERE r.id = %s"};
static const tp_stmt_t SQL_AD_PAGE = {"ad_page",
    "SELECT " AD_COLUMNS ", count(*) OVER () AS total"
    " FROM autodiscovery_rules r ORDER BY lower(r.name), r.id"
    " LIMIT %s::bigint OFFSET %s::bigint"};
static const tp_stmt_t SQL_AD_CONNECTION = {"ad_connection",
    "SELECT provider, server_url, status FROM vcs_connections WHERE id = %s"};
static const tp_stmt_t SQL_AD_POOL = {"ad_pool",
    "SELECT 1 FROM agent_pools WHERE id = %s"};
static const tp_stmt_t SQL_AD_NAME_TAKEN = {"ad_name_taken",
    "SELECT 1 FROM autodiscovery_rules WHERE vcs_connection_id = %s"
    " AND lower(name) = lower(%s) AND id <> %s"};
/* The poller reconciles a branch's rules when the branch moves: the
 * branch of a rule created or changed (the rule r, in the same statement)
 * is asked again as if never seen, so that the rule acts on the branch's
 * current commit without waiting for the next one. */
#define AD_REPOLL \
    " repoll AS (UPDATE vcs_poll_state s" \
    "   SET last_sha = NULL, etag = NULL, next_at = NULL FROM r" \
    "   WHERE r.enabled AND s.vcs_connection_id = r.vcs_connection_id" \
    "   AND s.branch = r.branch AND lower(s.repo_owner) = lower(%s)" \
    "   AND lower(s.repo_name) = lower(%s))"
#define AD_CHANGED "RETURNING id, vcs_connection_id, branch, enabled)"

/* No row back: the connection already has a rule of that name. */
static const tp_stmt_t SQL_AD_INSERT = {"ad_insert",
    "WITH r AS (INSERT INTO autodiscovery_rules (id, name,"
    " vcs_connection_id, repo_url, branch, pattern, ignore_patterns,"
    " name_template, enabled,"
    " execution_mode, execution_backend, agent_pool_id, terraform_version,"
    " resource_cpu, resource_memory, auto_apply, on_directory_delete, labels,"
    " owner_email, var_files, run_task_templates, notification_templates)"
    " VALUES (%s, %s, %s, %s, COALESCE(%s, ''), %s,"
    " COALESCE(%s::jsonb, '[]'), COALESCE(%s, '{path}'),"
    " COALESCE(%s::boolean, true), COALESCE(%s, 'local'),"
    " COALESCE(%s, 'terraform'), %s, COALESCE(%s, 'latest'),"
    " COALESCE(%s, '1'), COALESCE(%s, '2Gi'), COALESCE(%s::boolean, false),"
    " COALESCE(%s, 'flag'), COALESCE(%s::jsonb, '{}'), %s,"
    " COALESCE(%s::jsonb, '[]'), COALESCE(%s::jsonb, '[]'),"
    " COALESCE(%s::jsonb, '[]'))"
    " ON CONFLICT (vcs_connection_id, lower(name)) DO NOTHING " AD_CHANGED
    "," AD_REPOLL " SELECT id FROM r"};
/* NULL leaves a column as it is. */
static const tp_stmt_t SQL_AD_UPDATE = {"ad_update",
    "WITH r AS (UPDATE autodiscovery_rules SET name = COALESCE(%s, name),"
    " vcs_connection_id = COALESCE(%s, vcs_connection_id),"
    " repo_url = COALESCE(%s, repo_url), branch = COALESCE(%s, branch),"
    " pattern = COALESCE(%s, pattern),"
    " ignore_patterns = COALESCE(%s::jsonb, ignore_patterns),"
    " name_template = COALESCE(%s, name_template),"
    " enabled = COALESCE(%s::boolean, enabled),"
    " execution_mode = COALESCE(%s, execution_mode),"
    " execution_backend = COALESCE(%s, execution_backend),"
    " agent_pool_id = CASE WHEN %s::boolean THEN %s ELSE agent_pool_id END,"
    " terraform_version = COALESCE(%s, terraform_version),"
    " resource_cpu = COALESCE(%s, resource_cpu),"
    " resource_memory = COALESCE(%s, resource_memory),"
    " auto_apply = COALESCE(%s::boolean, auto_apply),"
    " on_directory_delete = COALESCE(%s, on_directory_delete),"
    " labels = COALESCE(%s::jsonb, labels),"
    " owner_email = CASE WHEN %s::boolean THEN %s ELSE owner_email END,"
    " var_files = COALESCE(%s::jsonb, var_files),"
    " run_task_templates = COALESCE(%s::jsonb, run_task_templates),"
    " notification_templates = COALESCE(%s::jsonb, notification_templates),"
    " updated_at = now()"
    " WHERE id = %s " AD_CHANGED "," AD_REPOLL " SELECT id FROM r"};
static const tp_stmt_t SQL_AD_DELETE = {"ad_delete",
    "DELETE FROM autodiscovery_rules WHERE id = %s RETURNING id"};

/* ---- rendering ---- */

static const tp_attr_t AD_ATTRS[] = {
    {"name", "name", TP_ATTR_STRING},
    {"vcs-connection-id", "vcs_connection_id", TP_ATTR_STRING},
    {"repo-url", "repo_url", TP_ATTR_STRING},
    {"branch", "branch", TP_ATTR_STRING},
    {"pattern", "pattern", TP_ATTR_STRING},
    {"ignore-patterns", "ignore_patterns", TP_ATTR_JSON},
    {"name-template", "name_template", TP_ATTR_STRING},
    {"enabled", "enabled", TP_ATTR_BOOL},
    {"execution-mode", "execution_mode", TP_ATTR_STRING},
    {"execution-backend", "execution_backend", TP_ATTR_STRING},
    {"agent-pool-id", "agent_pool_id", TP_ATTR_STRING},
    {"terraform-version", "terraform_version", TP_ATTR_STRING},
    {"resource-cpu", "resource_cpu", TP_ATTR_STRING},
    {"resource-memory", "resource_memory", TP_ATTR_STRING},
    {"auto-apply", "auto_apply", TP_ATTR_BOOL},
    {"on-directory-delete", "on_directory_delete", TP_ATTR_STRING},
    {"labels", "labels", TP_ATTR_JSON},
    {"owner-email", "owner_email", TP_ATTR_STRING},
    {"var-files", "var_files", TP_ATTR_JSON},
    {"workspace-count", "workspace_count", TP_ATTR_INT},
    {"created-at", "created_at", TP_ATTR_STRING},
    {"updated-at", "updated_at", TP_ATTR_STRING},
    {NULL, NULL, 0}
};

static const tp_rel_t AD_RELS[] = {
    {"vcs-connection", "vcs-connections", TP_REL_ONE, "vcs_connection_id",
     "/api/terrapod/v1/vcs-connections/%s"},
    {"agent-pool", "agent-pools", TP_REL_ONE, "agent_pool_id", ""},
    {NULL, NULL, 0, NULL}
};

static const tp_type_desc_t AD_DESC = {
    "autodiscovery-rules", NULL, "/api/terrapod/v1/autodiscovery-rules/%s",
    AD_ATTRS, AD_RELS
};

/* The write-only secret of each kind of template. */
typedef struct {
    const char *attr;           /* the rule's attribute */
    const char *column;
    const char *kind;           /* the enumerated member */
    const char *const *kinds;
    const char *secret;         /* sealed as SECRET-sealed */
} template_t;

static const char *const STAGES[] = {"pre_plan", "post_plan", "pre_apply",
                                     NULL};
static const char *const DESTINATIONS[] = {"generic", "slack", "email",
                                           NULL};
static const template_t TEMPLATES[] = {
    {"run-task-templates", "run_task_templates", "stage", STAGES,
     "hmac-key"},
    {"notification-templates", "notification_templates", "destination-type",
     DESTINATIONS, "token"},
};
#define AD_NTEMPLATES 2

/* A stored template list as answers show it: each sealed secret replaced
 * by has-SECRET. */
static tp_json_t *templates_shown(apr_pool_t *p, const template_t *t,
                                  const char *stored)
{
    tp_json_t *list = tp_json_parse(p, stored, strlen(stored), NULL), *e;
    const char *sealed = apr_pstrcat(p, t->secret, "-sealed", NULL);
    apr_size_t i;

    for (i = 0; i < tp_json_len(list); i++) {
        e = tp_json_at(list, i);
        tp_json_setb(e, tp_json_type(e, sealed, NULL) == TP_JSON_STRING,
                     apr_pstrcat(p, "has-", t->secret, NULL), NULL);
        tp_json_del(e, sealed);
    }
    return list;
}

static tp_json_t *ad_resource(tp_req_t *req, const tp_rows_t *rows, int i)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *r = tp_resource_render(p, &AD_DESC, rows, i);
    int k;

    for (k = 0; k < AD_NTEMPLATES; k++) {
        tp_json_setj(r, templates_shown(p, &TEMPLATES[k],
                                        tp_row(rows, i, TEMPLATES[k].column)),
                     "attributes", TEMPLATES[k].attr, NULL);
    }
    return r;
}

static tp_err_t *load(tp_req_t *req, const char *id, tp_rows_t **rows)
{
    tp_err_t *err = tp_req_exec(req, &SQL_AD_GET, rows, TP_DB_ARGS(id));

    if (!err && (*rows)->nrows == 0) {
        err = tp_err(req->r->pool, 404, "autodiscovery rule %s not found", id);
    }
    return err;
}

static tp_err_t *send_rule(tp_req_t *req, int status, const char *id)
{
    tp_rows_t *rows;
    tp_err_t *err = load(req, id, &rows);

    return err ? err : tp_send_json(req, status,
                                    tp_jsonapi_doc(req->r->pool,
                                                   ad_resource(req, rows,
                                                               0)));
}

tp_err_t *tp_api_autodiscovery_rule_show(tp_req_t *req)
{
    return send_rule(req, 200, tp_param(&req->params, "id"));
}

tp_err_t *tp_api_autodiscovery_rule_list(tp_req_t *req)
{
    return tp_send_page(req, &SQL_AD_PAGE, 0, NULL, ad_resource);
}

/* ---- create and update ---- */

/* Column values parsed from a request: NULL leaves a column unchanged. */
typedef struct {
    const char *name, *vcs_connection_id, *repo_url, *branch, *pattern;
    const char *ignore_patterns, *name_template, *enabled;
    const char *execution_mode, *execution_backend;
    const char *pool_set, *agent_pool_id;
    const char *terraform_version, *resource_cpu, *resource_memory;
    const char *auto_apply, *on_directory_delete, *labels;
    const char *owner_set, *owner_email, *var_files;
    const char *templates[AD_NTEMPLATES];
    tp_json_t *ignores;             /* ignore_patterns, parsed */
} ad_input_t;

/* A list of templates: objects with a name and their kind, the secret
 * sealed; as JSON text in *out, NULL when absent. */
static tp_err_t *templates_attr(tp_req_t *req, const tp_json_t *a,
                                const template_t *t, const char **out)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *list = tp_json_get(a, t->attr, NULL), *e;
    const char *kind, *secret;
    apr_size_t i;
    tp_err_t *err;
    int has;

    *out = NULL;
    if (tp_json_type(list, NULL) == TP_JSON_ABSENT) {
        return NULL;
    }
    if (tp_json_type(list, NULL) != TP_JSON_ARRAY
        || tp_json_len(list) > AD_LIST_MAX) {
        return tp_err(p, 422, "%s must be a list of at most %d objects",
                      t->attr, AD_LIST_MAX);
    }
    for (i = 0; i < tp_json_len(list); i++) {
        e = tp_json_at(list, i);
        if (tp_json_type(e, NULL) != TP_JSON_OBJECT
            || !tp_json_gets(e, "name", NULL)
            || !*tp_json_gets(e, "name", NULL)) {
            return tp_err(p, 422, "%s[%d] must be an object with a name",
                          t->attr, (int)i);
        }
        if ((err = tp_attr_enum(p, e, t->kind, t->kinds, &kind, &has))
            != NULL || !has) {
            return err ? err : tp_err(p, 422, "%s[%d] must have a %s",
                                      t->attr, (int)i, t->kind);
        }
        if ((secret = tp_json_gets(e, t->secret, NULL)) && *secret) {
            tp_json_sets(e, tp_seal(p, req->conf->hmac.bytes,
                                    req->conf->hmac.len, AD_SEAL_PURPOSE,
                                    secret),
                         apr_pstrcat(p, t->secret, "-sealed", NULL), NULL);
        }
        tp_json_del(e, t->secret);
    }
    *out = tp_json_dump(list, p);
    return NULL;
}

/* A repository URL as stored: without trailing slashes or ".git". */
static const char *repo_url_of(apr_pool_t *p, const char *url)
{
    char *u = apr_pstrdup(p, url);
    apr_size_t n = strlen(u);

    while (n > 0 && u[n - 1] == '/') {
        u[--n] = '\0';
    }
    if (n > 4 && strcmp(u + n - 4, ".git") == 0) {
        u[n - 4] = '\0';
    }
    return u;
}

static tp_err_t *parse_patterns(apr_pool_t *p, const tp_json_t *a,
                                ad_input_t *in)
{
    const char *why;
    apr_size_t i;
    tp_err_t *err;
    int has;

    if ((err = tp_attr_string(p, a, "pattern", TP_AD_PATTERN_MAX,
                              &in->pattern, &has)) != NULL
        || (err = tp_attr_strings(p, a, "ignore-patterns", AD_LIST_MAX,
                                  TP_AD_PATTERN_MAX, &in->ignores, &has))
           != NULL
        || (err = tp_attr_string(p, a, "name-template", TP_AD_TEMPLATE_MAX,
                                 &in->name_template, &has)) != NULL) {
        return err;
    }
    if (in->pattern && (why = tp_ad_pattern_check(in->pattern)) != NULL) {
        return tp_err(p, 422, "pattern %s", why);
    }
    for (i = 0; i < tp_json_len(in->ignores); i++) {
        if ((why = tp_ad_pattern_check(tp_json_gets(tp_json_at(in->ignores,
                                                               i), NULL)))) {
            return tp_err(p, 422, "ignore-patterns[%d] %s", (int)i, why);
        }
    }
    in->ignore_patterns = in->ignores ? tp_json_dump(in->ignores, p) : NULL;
    if (in->name_template
        && (why = tp_ad_template_check(in->name_template)) != NULL) {
        return tp_err(p, 422, "name-template %s", why);
    }
    return NULL;
}

/* What the rule gives its workspaces. */
static tp_err_t *parse_settings(tp_req_t *req, const tp_json_t *a,
                                ad_input_t *in)
{
    static const char *const modes[] = {"local", "agent", "remote", NULL};
    static const char *const deletes[] = {"flag", "destroy", NULL};
    apr_pool_t *p = req->r->pool;
    tp_json_t *labels, *files;
    tp_err_t *err;
    int b, has, k;

    if ((err = tp_ws_settings_check(p, a)) != NULL
        || (err = tp_attr_enum(p, a, "execution-mode", modes,
                               &in->execution_mode, &has)) != NULL
        || (err = tp_attr_string(p, a, "execution-backend", 32,
                                 &in->execution_backend, &has)) != NULL
        || (err = tp_attr_string(p, a, "terraform-version", 32,
                                 &in->terraform_version, &has)) != NULL
        || (err = tp_attr_string(p, a, "resource-cpu", 16,
                                 &in->resource_cpu, &has)) != NULL
        || (err = tp_attr_string(p, a, "resource-memory", 16,
                                 &in->resource_memory, &has)) != NULL
        || (err = tp_attr_enum(p, a, "on-directory-delete", deletes,
                               &in->on_directory_delete, &has)) != NULL
        || (err = tp_attr_strings(p, a, "var-files", AD_LIST_MAX, 500,
                                  &files, &has)) != NULL) {
        return err;
    }
    /* TFE's "remote" runs on agents here */
    if (in->execution_mode && strcmp(in->execution_mode, "remote") == 0) {
        in->execution_mode = "agent";
    }
    in->var_files = has ? tp_json_dump(files, p) : NULL;
    if ((err = tp_attr_bool(p, a, "auto-apply", &b, &has)) != NULL) {
        return err;
    }
    in->auto_apply = has ? tp_db_bool(b) : NULL;
    if (tp_json_type(a, "labels", NULL) != TP_JSON_ABSENT) {
        labels = tp_json_get(a, "labels", NULL);
        if ((err = tp_labels_check(p, labels, "labels", 1)) != NULL) {
            return err;
        }
        in->labels = tp_json_dump(labels, p);
    }
    in->owner_set = tp_db_bool(tp_json_type(a, "owner-email", NULL)
                               != TP_JSON_ABSENT);
    if ((err = tp_attr_string(p, a, "owner-email", 255, &in->owner_email,
                              &has)) != NULL) {
        return err;
    }
    if (has && !strchr(in->owner_email, '@')) {
        return tp_err(p, 422, "owner-email must be an e-mail address");
    }
    in->pool_set = tp_db_bool(tp_json_type(a, "agent-pool-id", NULL)
                              != TP_JSON_ABSENT);
    if ((err = tp_attr_string(p, a, "agent-pool-id", 255, &in->agent_pool_id,
                              &has)) != NULL) {
        return err;
    }
    for (k = 0; k < AD_NTEMPLATES; k++) {
        if ((err = templates_attr(req, a, &TEMPLATES[k], &in->templates[k]))
            != NULL) {
            return err;
        }
    }
    return NULL;
}

static tp_err_t *parse_input(tp_req_t *req, const tp_json_t *body,
                             ad_input_t *in)
{
    apr_pool_t *p = req->r->pool;
    tp_json_t *a;
    tp_err_t *err;
    int b, has;

    memset(in, 0, sizeof(*in));
    if ((err = tp_jsonapi_attributes(p, body, "autodiscovery-rules", &a))
            != NULL
        || (err = tp_attr_string(p, a, "name", 90, &in->name, &has)) != NULL
        || (err = tp_attr_string(p, a, "vcs-connection-id", 255,
                                 &in->vcs_connection_id, &has)) != NULL
        || (err = tp_attr_string(p, a, "repo-url", AD_STRING_MAX,
                                 &in->repo_url, &has)) != NULL
        || (err = tp_attr_string(p, a, "branch", 255, &in->branch, &has))
           != NULL
        || (err = tp_attr_bool(p, a, "enabled", &b, &has)) != NULL) {
        return err;
    }
    in->enabled = has ? tp_db_bool(b) : NULL;
    if (in->name && !*in->name) {
        return tp_err(p, 422, "name may not be empty");
    }
    if (in->repo_url) {
        in->repo_url = repo_url_of(p, in->repo_url);
    }
    if ((err = parse_patterns(p, a, in)) != NULL) {
        return err;
    }
    return parse_settings(req, a, in);
}

/* The connection named exists and knows the repository URL's host (the
 * repository's *owner and *name on it); the pool named exists. 422
 * otherwise. */
static tp_err_t *check_refs(tp_req_t *req, const char *conn_id,
                            const char *repo_url, const char *pool_id,
                            const char **owner, const char **name)
{
    apr_pool_t *p = req->r->pool;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_req_exec(req, &SQL_AD_CONNECTION, &rows,
                           TP_DB_ARGS(conn_id))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(p, 422, "VCS connection %s not found", conn_id);
    }
    if (tp_vcs_repo_parse(p, tp_vcs_provider_named(tp_row(rows, 0,
                          "provider")), tp_row(rows, 0, "server_url"),
                          repo_url, owner, name) != APR_SUCCESS) {
        return tp_err(p, 422, "repo-url %s is not a repository of the "
                      "connection's host", repo_url);
    }
    if (pool_id && ((err = tp_req_exec(req, &SQL_AD_POOL, &rows,
                                       TP_DB_ARGS(pool_id))) != NULL
                    || rows->nrows == 0)) {
        return err ? err : tp_err(p, 422, "agent pool %s not found", pool_id);
    }
    return NULL;
}

static tp_err_t *name_taken(tp_req_t *req, const char *name)
{
    return tp_err(req->r->pool, 409, "the connection already has an "
                  "autodiscovery rule named \"%s\"", name);
}

tp_err_t *tp_api_autodiscovery_rule_create(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    const char *id = tp_id_generate(p, "adr");
    const char *owner, *repo;
    tp_json_t *body;
    ad_input_t in;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(req, body, &in)) != NULL) {
        return err;
    }
    if (!in.name || !in.vcs_connection_id || !in.repo_url || !in.pattern) {
        return tp_err(p, 422, "name, vcs-connection-id, repo-url and pattern "
                      "are required");
    }
    if ((err = check_refs(req, in.vcs_connection_id, in.repo_url,
                          in.agent_pool_id, &owner, &repo)) != NULL
        || (err = tp_req_exec(req, &SQL_AD_INSERT, &rows, TP_DB_ARGS(
                id, in.name, in.vcs_connection_id, in.repo_url, in.branch,
                in.pattern, in.ignore_patterns, in.name_template, in.enabled,
                in.execution_mode, in.execution_backend, in.agent_pool_id,
                in.terraform_version, in.resource_cpu, in.resource_memory,
                in.auto_apply, in.on_directory_delete, in.labels,
                in.owner_email, in.var_files, in.templates[0],
                in.templates[1], owner, repo))) != NULL) {
        return err;
    }
    if (rows->nrows == 0) {
        return name_taken(req, in.name);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02020: "
                  "autodiscovery rule %s (%s, %s on %s) created by %s", id,
                  in.name, in.pattern, in.repo_url, req->who->grants.email);
    return send_rule(req, 201, id);
}

tp_err_t *tp_api_autodiscovery_rule_update(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    const char *conn, *name, *owner, *repo;
    tp_json_t *body;
    ad_input_t in;
    tp_rows_t *rows, *taken;
    tp_err_t *err;

    if ((err = load(req, id, &rows)) != NULL
        || (err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(req, body, &in)) != NULL) {
        return err;
    }
    conn = in.vcs_connection_id ? in.vcs_connection_id
                                : tp_row(rows, 0, "vcs_connection_id");
    name = in.name ? in.name : tp_row(rows, 0, "name");
    if ((err = check_refs(req, conn, in.repo_url ? in.repo_url
                          : tp_row(rows, 0, "repo_url"), in.agent_pool_id,
                          &owner, &repo)) != NULL
        || (err = tp_req_exec(req, &SQL_AD_NAME_TAKEN, &taken,
                              TP_DB_ARGS(conn, name, id))) != NULL) {
        return err;
    }
    if (taken->nrows) {
        return name_taken(req, name);
    }
    if ((err = tp_req_exec(req, &SQL_AD_UPDATE, NULL, TP_DB_ARGS(
            in.name, in.vcs_connection_id, in.repo_url, in.branch,
            in.pattern, in.ignore_patterns, in.name_template, in.enabled,
            in.execution_mode, in.execution_backend, in.pool_set,
            in.agent_pool_id, in.terraform_version, in.resource_cpu,
            in.resource_memory, in.auto_apply, in.on_directory_delete,
            in.labels, in.owner_set, in.owner_email, in.var_files,
            in.templates[0], in.templates[1], id, owner, repo))) != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02021: "
                  "autodiscovery rule %s updated by %s", id,
                  req->who->grants.email);
    return send_rule(req, 200, id);
}

tp_err_t *tp_api_autodiscovery_rule_delete(tp_req_t *req)
{
    const char *id = tp_param(&req->params, "id");
    tp_rows_t *rows;
    tp_err_t *err = tp_req_exec(req, &SQL_AD_DELETE, &rows, TP_DB_ARGS(id));

    if (err) {
        return err;
    }
    if (rows->nrows == 0) {
        return tp_err(req->r->pool, 404, "autodiscovery rule %s not found",
                      id);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02022: "
                  "autodiscovery rule %s deleted by %s; its workspaces stay",
                  id, req->who->grants.email);
    return tp_send_empty(req, HTTP_NO_CONTENT);
}

/* ---- preview and scan ---- */

/* A walk's entries as the seed names their members. */
static tp_json_t *walk_doc(apr_pool_t *p, const tp_ad_walk_t *w, int scan)
{
    tp_json_t *doc = tp_json_object(p), *list = tp_json_array(p), *o;
    const tp_ad_entry_t *e;
    int i, created = 0;

    for (i = 0; i < w->entries->nelts; i++) {
        e = &APR_ARRAY_IDX(w->entries, i, tp_ad_entry_t);
        o = tp_json_object(p);
        if (e->name) {
            tp_json_sets(o, e->name, "workspace_name", NULL);
        }
        else {
            tp_json_setnull(o, "workspace_name", NULL);
        }
        tp_json_sets(o, e->dir, "working_directory", NULL);
        tp_json_setb(o, e->collision, "collision", NULL);
        tp_json_setb(o, e->existing_autodiscovered, "existing_autodiscovered",
                     NULL);
        if (scan) {
            tp_json_setb(o, !e->collision, "created", NULL);
            created += !e->collision;
        }
        if (e->workspace_id) {
            tp_json_sets(o, e->workspace_id, "workspace_id", NULL);
        }
        tp_json_push(list, o);
    }
    tp_json_setj(doc, list, "data", NULL);
    tp_json_sets(doc, w->branch, "meta", "branch", NULL);
    tp_json_sets(doc, w->sha, "meta", "commit-sha", NULL);
    tp_json_seti(doc, w->files->nelts, "meta", "files", NULL);
    if (scan) {
        tp_json_seti(doc, created, "meta", "created", NULL);
    }
    return doc;
}

/* Walks rule over its connection's repository, recording what the
 * provider answered as the connection's health. */
static tp_err_t *walk(tp_req_t *req, const char *conn_id,
                      const tp_ad_rule_t *rule, tp_ad_walk_t *w)
{
    apr_pool_t *p = req->r->pool;
    tp_vcs_env_t env;
    tp_vcs_link_t link;
    tp_db_t *db;
    tp_err_t *err, *failed;

    tp_vcs_env_from(req->conf, &env);
    if ((err = tp_req_db(req, &db)) != NULL
        || (err = tp_vcs_link_load(db, p, &env, conn_id, &link)) != NULL) {
        return err->status == 404 ? tp_err(p, 422, "VCS connection %s not "
                                           "found", conn_id) : err;
    }
    if (strcmp(link.status, "active") != 0) {
        return tp_err(p, 422, "VCS connection %s is disabled", conn_id);
    }
    failed = tp_ad_walk(db, p, &link, rule, NULL, NULL, w);
    if (failed && failed->status == 502) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, req->r, "TP02023: "
                      "autodiscovery of %s failed: %s", rule->repo_url,
                      failed->detail);
    }
    /* what the provider answered; the rest is no news of it */
    if ((!failed || failed->status == 502)
        && (err = tp_vcs_link_record(db, p, &env, &link, failed)) != NULL) {
        return err;
    }
    return failed;
}

tp_err_t *tp_api_autodiscovery_rule_preview(tp_req_t *req)
{
    tp_ad_rule_t rule;
    tp_ad_walk_t w;
    tp_rows_t *rows;
    tp_err_t *err;

    if ((err = load(req, tp_param(&req->params, "id"), &rows)) != NULL) {
        return err;
    }
    rule = tp_ad_rule_row(req->r->pool, rows, 0);
    if ((err = walk(req, tp_row(rows, 0, "vcs_connection_id"), &rule, &w))
        != NULL) {
        return err;
    }
    return tp_send_json(req, 200, walk_doc(req->r->pool, &w, 0));
}

tp_err_t *tp_api_autodiscovery_rule_preview_unsaved(tp_req_t *req)
{
    apr_pool_t *p = req->r->pool;
    tp_ad_rule_t rule;
    tp_ad_walk_t w;
    tp_json_t *body;
    ad_input_t in;
    tp_err_t *err;

    if ((err = tp_read_json(req, &body)) != NULL
        || (err = parse_input(req, body, &in)) != NULL) {
        return err;
    }
    if (!in.vcs_connection_id || !in.repo_url || !in.pattern) {
        return tp_err(p, 422, "vcs-connection-id, repo-url and pattern are "
                      "required");
    }
    memset(&rule, 0, sizeof(rule));
    rule.repo_url = in.repo_url;
    rule.branch = in.branch ? in.branch : "";
    rule.pattern = in.pattern;
    rule.name_template = in.name_template ? in.name_template
                                          : TP_AD_DEFAULT_TEMPLATE;
    rule.ignores = tp_ad_patterns(p, in.ignores);
    if ((err = walk(req, in.vcs_connection_id, &rule, &w)) != NULL) {
        return err;
    }
    return tp_send_json(req, 200, walk_doc(p, &w, 0));
}

/* Creates what the preview shows, whether the rule is enabled or not: an
 * operator asked for it. */
tp_err_t *tp_api_autodiscovery_rule_scan(tp_req_t *req)
{
    tp_ad_rule_t rule;
    tp_ad_walk_t w;
    tp_rows_t *rows;
    tp_db_t *db;
    tp_err_t *err;
    int created;

    if ((err = load(req, tp_param(&req->params, "id"), &rows)) != NULL) {
        return err;
    }
    rule = tp_ad_rule_row(req->r->pool, rows, 0);
    if ((err = walk(req, tp_row(rows, 0, "vcs_connection_id"), &rule, &w))
            != NULL
        || (err = tp_req_db(req, &db)) != NULL
        || (err = tp_ad_create(db, req->r->pool, rule.id, &w, &created))
           != NULL) {
        return err;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, req->r, "TP02024: "
                  "autodiscovery rule %s scanned by %s: %d workspace(s) "
                  "created at %s", rule.id, req->who->grants.email, created,
                  w.sha);
    return tp_send_json(req, 200, walk_doc(req->r->pool, &w, 1));
}
