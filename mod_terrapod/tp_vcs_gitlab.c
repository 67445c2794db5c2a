/* The GitLab client (API v4 of gitlab.com or a self-hosted server): a
 * personal, group or project access token in PRIVATE-TOKEN. */
#include <string.h>
#include <apr_strings.h>

#include "tp_vcs.h"
#include "tp_json.h"

static apr_array_header_t *headers(apr_pool_t *p, const tp_vcs_conn_t *c)
{
    apr_array_header_t *h = apr_array_make(p, 4, sizeof(const char *));

    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    APR_ARRAY_PUSH(h, const char *) = apr_pstrcat(p, "PRIVATE-TOKEN: ",
                                                  c->credential, NULL);
    return h;
}

static tp_err_t *auth(apr_pool_t *p, tp_vcs_conn_t *c,
                      apr_array_header_t **h)
{
    *h = headers(p, c);
    return NULL;
}

static tp_err_t *check(apr_pool_t *p, tp_vcs_conn_t *c, const char **who)
{
    tp_vcs_call_t call = {0};
    tp_json_t *j;
    tp_err_t *err;

    call.path = "/user";
    call.headers = headers(p, c);
    if ((err = tp_vcs_request(p, c, &call)) != NULL) {
        return err;
    }
    j = tp_json_parse(p, call.answer, strlen(call.answer), NULL);
    *who = j ? tp_json_gets(j, "username", NULL) : NULL;
    return NULL;
}

/* GET /projects/P/repository/commits/REF */
static void commit_read(const tp_json_t *j, tp_vcs_commit_t *commit)
{
    commit->sha = tp_json_gets(j, "id", NULL);
    commit->message = tp_json_gets(j, "message", NULL);
    commit->author = tp_json_gets(j, "author_name", NULL);
    commit->url = tp_json_gets(j, "web_url", NULL);
}

/* A project is addressed by its URL-encoded path, group/sub/name. */
const tp_vcs_ops_t tp_vcs_gitlab_ops = {
    check, auth, "/projects/", 1, "/repository/branches",
    "/repository/tags", "id", "/repository/archive.tar.gz?sha=",
    "/repository/commits/", commit_read,
    "/repository/tree?recursive=true&per_page=100&ref=", ""
};
