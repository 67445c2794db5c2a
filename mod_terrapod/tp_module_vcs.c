/* The registry's VCS task (tp_module_vcs.h). */
#include <string.h>
#include <apr_fnmatch.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include "tp_module_vcs.h"
#include "tp_module.h"
#include "tp_token.h"
#include "tp_vcs_config.h"

static const tp_stmt_t SQL_FOLLOWING = {"module_vcs_following",
    "SELECT m.id, m.name, m.provider, m.vcs_connection_id AS conn,"
    " m.vcs_repo_url AS url, m.vcs_tag_pattern AS pattern, c.provider AS kind,"
    " c.server_url"
    " FROM registry_modules m JOIN vcs_connections c"
    "   ON c.id = m.vcs_connection_id"
    " WHERE c.status = 'active' ORDER BY m.vcs_connection_id, m.id"};
static const tp_stmt_t SQL_VERSIONS = {"module_vcs_versions",
    "SELECT version, vcs_commit_sha, vcs_moved_to_sha"
    " FROM registry_module_versions WHERE module_id = %s"};
static const tp_stmt_t SQL_MOVED = {"module_vcs_moved",
    "UPDATE registry_module_versions SET vcs_moved_to_sha = %s,"
    " vcs_moved_at = now() WHERE module_id = %s AND version = %s"};
static const tp_stmt_t SQL_CHECKED = {"module_vcs_checked",
    "UPDATE registry_modules SET vcs_checked_at = now(), vcs_error = %s"
    " WHERE id = %s"};

#define ERROR_MAX 500           /* characters of a module's error kept */

const char *tp_module_tag_version(apr_pool_t *p, const char *pattern,
                                  const char *tag)
{
    const char *star = strchr(pattern, '*');
    apr_size_t cut = star ? (apr_size_t)(star - pattern) : 0;
    tp_semver_t sv;

    if (apr_fnmatch(pattern, tag, 0) != APR_SUCCESS
        || strncmp(tag, pattern, cut) != 0
        || !tp_semver_parse(p, tag + cut, &sv)) {
        return NULL;
    }
    return tag + cut;
}

/* One cycle's counts and its cache of unsealed connections. */
typedef struct {
    tp_db_t *db;
    apr_pool_t *p;
    const tp_task_env_t *env;
    apr_hash_t *links;              /* connection id -> tp_vcs_link_t */
    int modules, published, moved, failed;
} cycle_t;

/* Module row i of SQL_FOLLOWING, its repository and connection. */
typedef struct {
    const tp_rows_t *rows;
    int i;
    const char *id, *owner, *name;
    tp_vcs_link_t *link;
} followed_t;

/* Publishes the tag (its commit sha) as version of module m. */
static tp_err_t *publish_tag(cycle_t *cy, apr_pool_t *p, followed_t *m,
                             const char *tag, const char *sha,
                             const char *version)
{
    tp_archive_limits_t limits = tp_archive_config_limits(
        cy->env->vcs->max_upload);
    tp_module_version_t v = {tp_id_generate(p, "modver"), m->id, version};
    const char *tarball, *key = tp_module_key(p, m->id, v.id);
    tp_json_t *iface;
    tp_err_t *err;
    int added;

    tp_semver_parse(p, version, &v.sv);
    v.vcs_tag = tag;
    v.vcs_sha = sha;
    if ((err = tp_vcs_fetch(p, cy->env->vcs, &m->link->conn, m->owner,
                            m->name, sha, &tarball, NULL)) != NULL
        || (err = tp_module_inspect(p, tarball, &limits, 1 << 20, &iface,
                                    &v.readme)) != NULL) {
        return tp_err(p, err->status, "tag %s: %s", tag, err->detail);
    }
    v.iface = iface;
    if ((err = tp_storage_put_file(cy->env->storage, p, key, tarball,
                                   cy->env->vcs->max_upload, &v.size))
           != NULL
        || (err = tp_module_version_add(cy->db, p, &v, &added)) != NULL) {
        tp_storage_remove(cy->env->storage, p, key);
        return err;
    }
    if (!added) {
        tp_storage_remove(cy->env->storage, p, key);
        return NULL;
    }
    cy->published++;
    tp_module_impact_runs(cy->db, p, m->id,
                          apr_pstrcat(p, "default/",
                                      tp_row(m->rows, m->i, "name"), "/",
                                      tp_row(m->rows, m->i, "provider"),
                                      NULL),
                          version);
    return NULL;
}

/* The tags of module m's repository against its versions. */
static tp_err_t *poll_module(cycle_t *cy, apr_pool_t *p, followed_t *m)
{
    const char *pattern = tp_row(m->rows, m->i, "pattern");
    apr_array_header_t *tags;
    apr_hash_t *have = apr_hash_make(p);
    tp_rows_t *rows;
    tp_err_t *err, *bad_tag = NULL;
    int i;

    if ((err = tp_vcs_refs(p, &m->link->conn, m->owner, m->name, 1, &tags))
        != NULL
        || (err = tp_db_exec(cy->db, p, &SQL_VERSIONS, &rows,
                             TP_DB_ARGS(m->id))) != NULL) {
        return err;
    }
    for (i = 0; i < rows->nrows; i++) {
        apr_hash_set(have, tp_row(rows, i, "version"), APR_HASH_KEY_STRING,
                     apr_pmemdup(p, &i, sizeof(i)));
    }
    for (i = 0; i < tags->nelts; i++) {
        const tp_vcs_ref_t *t = &APR_ARRAY_IDX(tags, i, tp_vcs_ref_t);
        const char *version = tp_module_tag_version(p, pattern, t->name);
        const int *at = version ? apr_hash_get(have, version,
                                               APR_HASH_KEY_STRING) : NULL;
        const char *was, *moved;

        if (!version) {
            continue;
        }
        if (!at) {
            /* a tag that is no module is reported, and the others go on;
             * the provider or the database failing ends the module's turn */
            err = publish_tag(cy, p, m, t->name, t->sha, version);
            if (err && (err->status >= 500 || err->status == 404)) {
                return err;
            }
            bad_tag = bad_tag ? bad_tag : err;
            continue;
        }
        was = tp_row(rows, *at, "vcs_commit_sha");
        moved = tp_row(rows, *at, "vcs_moved_to_sha");
        /* an uploaded version (no commit) is left alone */
        if (was && strcmp(was, t->sha) != 0
            && (!moved || strcmp(moved, t->sha) != 0)) {
            if ((err = tp_db_exec(cy->db, p, &SQL_MOVED, NULL,
                                  TP_DB_ARGS(t->sha, m->id, version)))
                != NULL) {
                return err;
            }
            cy->moved++;
        }
    }
    return bad_tag;
}

/* Connection conn, unsealed once per cycle. */
static tp_err_t *link_of(cycle_t *cy, const char *conn, tp_vcs_link_t **out)
{
    tp_vcs_link_t *link = apr_hash_get(cy->links, conn, APR_HASH_KEY_STRING);
    tp_err_t *err;

    if (!link) {
        link = apr_pcalloc(cy->p, sizeof(*link));
        if ((err = tp_vcs_link_load(cy->db, cy->p, cy->env->vcs, conn, link))
            != NULL) {
            return err;
        }
        apr_hash_set(cy->links, conn, APR_HASH_KEY_STRING, link);
    }
    *out = link;
    return NULL;
}

/* Module row i polled; what failed is recorded on the module (and the
 * provider's failures on its connection). An error of the database is
 * the cycle's. p is the module's own pool. */
static tp_err_t *follow(cycle_t *cy, apr_pool_t *p, const tp_rows_t *rows,
                        int i)
{
    followed_t m = {rows, i, tp_row(rows, i, "id")};
    const char *why = NULL;
    tp_err_t *err, *rec = NULL;

    if ((err = link_of(cy, tp_row(rows, i, "conn"), &m.link)) == NULL
        && tp_vcs_repo_parse(p, tp_vcs_provider_named(tp_row(rows, i, "kind")),
                             tp_row(rows, i, "server_url"),
                             tp_row(rows, i, "url"), &m.owner, &m.name)
           != APR_SUCCESS) {
        err = tp_err(p, 422, "%s is not a repository of its connection",
                     tp_row(rows, i, "url"));
    }
    if (!err) {
        err = poll_module(cy, p, &m);
        if (!err || err->status == 502) {
            rec = tp_vcs_link_record(cy->db, p, cy->env->vcs, m.link, err);
        }
        /* a token minted now serves the cycle's other modules */
        if (m.link->conn.token_minted) {
            m.link->conn.token = apr_pstrdup(cy->p, m.link->conn.token);
            m.link->conn.token_minted = 0;
        }
    }
    if (rec) {
        return rec;
    }
    if (err && err->status >= 500 && err->status != 502) {
        return err;
    }
    if (err) {
        cy->failed++;
        why = tp_utf8_len(err->detail) > ERROR_MAX
              ? apr_pstrndup(p, err->detail, ERROR_MAX) : err->detail;
    }
    cy->modules++;
    return tp_db_exec(cy->db, p, &SQL_CHECKED, NULL, TP_DB_ARGS(why, m.id));
}

tp_err_t *tp_module_vcs_poll(tp_db_t *db, apr_pool_t *p,
                             const tp_task_env_t *env, const char **summary)
{
    cycle_t cy = {db, p, env, apr_hash_make(p), 0, 0, 0, 0};
    apr_pool_t *sp;
    tp_rows_t *rows;
    tp_err_t *err;
    int i;

    if ((err = tp_db_exec(db, p, &SQL_FOLLOWING, &rows, 0, NULL)) != NULL) {
        return err;
    }
    apr_pool_create(&sp, p);
    for (i = 0; i < rows->nrows && !err; i++) {
        err = follow(&cy, sp, rows, i);
        apr_pool_clear(sp);
    }
    apr_pool_destroy(sp);
    *summary = apr_psprintf(p, "%d module repositories polled, %d versions "
                            "published, %d moved tags reported, %d failed",
                            cy.modules, cy.published, cy.moved, cy.failed);
    return err;
}
