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

/* A merge request is named by its iid, its number in the project. */
static int pr_parse(const tp_json_t *j, tp_vcs_pr_t *pr)
{
    pr->number = (int)tp_json_geti(j, "iid", NULL);
    pr->head_sha = tp_json_gets(j, "sha", NULL);
    pr->head_ref = tp_json_gets(j, "source_branch", NULL);
    pr->web_url = tp_json_gets(j, "web_url", NULL);
    pr->title = tp_json_gets(j, "title", NULL);
    pr->author = tp_json_gets(j, "author", "username", NULL);
    return pr->number > 0 && pr->head_sha && pr->head_ref && pr->web_url
           && pr->title ? 0 : -1;
}

/* GET /projects/P/merge_requests/IID: opened, locked (being merged),
 * merged or closed. */
static int pr_state(const tp_json_t *j)
{
    const char *state = tp_json_gets(j, "state", NULL);

    if (!state) {
        return -1;
    }
    if (strcmp(state, "merged") == 0) {
        return TP_VCS_PR_MERGED;
    }
    return strcmp(state, "closed") == 0 ? TP_VCS_PR_CLOSED : TP_VCS_PR_OPEN;
}

static const char *comment_path(apr_pool_t *p, int number, const char *id)
{
    return apr_psprintf(p, "/merge_requests/%d/notes%s%s", number,
                        id ? "/" : "", id ? id : "");
}

/* GET /projects/P/repository/commits/REF */
static void commit_read(const tp_json_t *j, tp_vcs_commit_t *commit)
{
    commit->sha = tp_json_gets(j, "id", NULL);
    commit->message = tp_json_gets(j, "message", NULL);
    commit->author = tp_json_gets(j, "author_name", NULL);
    commit->url = tp_json_gets(j, "web_url", NULL);
}

/* A project is addressed by its URL-encoded path, group/sub/name. A
 * canceled run's status is canceled, GitLab having no "error". */
const tp_vcs_ops_t tp_vcs_gitlab_ops = {
    check, auth, "/projects/", 1, "/repository/branches",
    "/repository/tags", "id", "/repository/archive.tar.gz?sha=",
    "/repository/commits/", commit_read,
    "/repository/tree?recursive=true&per_page=100&ref=", "",
    "/merge_requests?state=opened&target_branch=", pr_parse,
    "/merge_requests/%d/diffs", "new_path", "old_path",
    {"pending", "running", "success", "failed", "canceled"}, "name", 1,
    comment_path, "PUT",
    "/repository/compare?from=%s&to=%s", "diffs", "new_path", "old_path",
    1000, "/merge_requests/%d", pr_state
};
