/* The GitHub client (REST v3 of github.com or an Enterprise server): an
 * App authenticates with a JWT it signs (RS256), trades it for an
 * installation access token, and uses that token for everything else. */
#include <string.h>
#include <apr_strings.h>

#include "tp_vcs.h"
#include "tp_crypto.h"
#include "tp_json.h"
#include "tp_jsonapi.h"

#define JWT_HEADER "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define JWT_BACKDATE 60         /* seconds iat lies back, for clock skew */
#define JWT_LIFETIME 540        /* seconds from now; GitHub allows 600 */

char *tp_vcs_github_app_jwt(apr_pool_t *p, const char *app_id,
                            const char *key_pem, apr_time_t now,
                            const char **why)
{
    tp_json_t *claims = tp_json_object(p);
    apr_int64_t secs = apr_time_sec(now);
    const char *claims_json, *input;
    unsigned char *sig;
    apr_size_t siglen;

    tp_json_seti(claims, secs - JWT_BACKDATE, "iat", NULL);
    tp_json_seti(claims, secs + JWT_LIFETIME, "exp", NULL);
    tp_json_sets(claims, app_id, "iss", NULL);
    claims_json = tp_json_dump(claims, p);
    input = apr_pstrcat(p, tp_b64url(p, (const unsigned char *)JWT_HEADER,
                                     strlen(JWT_HEADER)),
                        ".", tp_b64url(p, (const unsigned char *)claims_json,
                                       strlen(claims_json)), NULL);
    sig = tp_rs256_sign(p, key_pem, input, strlen(input), &siglen, why);
    return sig ? apr_pstrcat(p, input, ".", tp_b64url(p, sig, siglen), NULL)
               : NULL;
}

/* Headers of a request authorised by credential (a JWT or a token). */
static apr_array_header_t *headers(apr_pool_t *p, const char *credential)
{
    apr_array_header_t *h = apr_array_make(p, 6, sizeof(const char *));

    APR_ARRAY_PUSH(h, const char *) = "Accept: application/vnd.github+json";
    APR_ARRAY_PUSH(h, const char *) = "X-GitHub-Api-Version: 2022-11-28";
    APR_ARRAY_PUSH(h, const char *) = apr_pstrcat(p, "Authorization: Bearer ",
                                                  credential, NULL);
    return h;
}

/* c->token, minted when there is none or it is about to expire. */
static tp_err_t *installation_token(apr_pool_t *p, tp_vcs_conn_t *c)
{
    tp_vcs_call_t call = {0};
    const char *jwt, *why, *token, *expires;
    tp_json_t *j;
    apr_time_t at;
    tp_err_t *err;

    if (c->token && c->token_expires - TP_VCS_TOKEN_MARGIN > apr_time_now()) {
        return NULL;
    }
    if (!(jwt = tp_vcs_github_app_jwt(p, c->app_id, c->credential,
                                      apr_time_now(), &why))) {
        return tp_err(p, 422, "the App's private key %s", why);
    }
    call.method = "POST";
    call.path = apr_pstrcat(p, "/app/installations/", c->installation_id,
                            "/access_tokens", NULL);
    call.headers = headers(p, jwt);
    call.body = "{}";
    if ((err = tp_vcs_request(p, c, &call)) != NULL) {
        return err;
    }
    j = tp_json_parse(p, call.answer, strlen(call.answer), NULL);
    token = j ? tp_json_gets(j, "token", NULL) : NULL;
    expires = j ? tp_json_gets(j, "expires_at", NULL) : NULL;
    if (!token || !*token || !expires
        || tp_rfc3339_parse(expires, &at) != APR_SUCCESS) {
        return tp_err(p, 502, "the installation token answer holds no "
                      "token and expiry");
    }
    c->token = token;
    c->token_expires = at;
    c->token_minted = 1;
    return NULL;
}

static tp_err_t *auth(apr_pool_t *p, tp_vcs_conn_t *c,
                      apr_array_header_t **h)
{
    tp_err_t *err = installation_token(p, c);

    *h = err ? NULL : headers(p, c->token);
    return err;
}

static tp_err_t *check(apr_pool_t *p, tp_vcs_conn_t *c, const char **who)
{
    tp_vcs_call_t call = {0};
    tp_json_t *j;
    tp_err_t *err;

    call.path = "/installation/repositories?per_page=1";
    if ((err = auth(p, c, &call.headers)) != NULL
        || (err = tp_vcs_request(p, c, &call)) != NULL) {
        return err;
    }
    j = tp_json_parse(p, call.answer, strlen(call.answer), NULL);
    j = j ? tp_json_at(tp_json_get(j, "repositories", NULL), 0) : NULL;
    *who = j ? tp_json_gets(j, "owner", "login", NULL) : NULL;
    return NULL;
}

static int pr_parse(const tp_json_t *j, tp_vcs_pr_t *pr)
{
    pr->number = (int)tp_json_geti(j, "number", NULL);
    pr->head_sha = tp_json_gets(j, "head", "sha", NULL);
    pr->head_ref = tp_json_gets(j, "head", "ref", NULL);
    pr->web_url = tp_json_gets(j, "html_url", NULL);
    pr->title = tp_json_gets(j, "title", NULL);
    pr->author = tp_json_gets(j, "user", "login", NULL);
    return pr->number > 0 && pr->head_sha && pr->head_ref && pr->web_url
           && pr->title ? 0 : -1;
}

/* GET /repos/O/R/pulls/N: closed, and merged when it has a merged_at. */
static int pr_state(const tp_json_t *j)
{
    const char *state = tp_json_gets(j, "state", NULL);

    if (!state) {
        return -1;
    }
    if (strcmp(state, "open") == 0) {
        return TP_VCS_PR_OPEN;
    }
    return tp_json_gets(j, "merged_at", NULL) ? TP_VCS_PR_MERGED
                                              : TP_VCS_PR_CLOSED;
}

/* A pull request's comments are its issue's. */
static const char *comment_path(apr_pool_t *p, int number, const char *id)
{
    return id ? apr_pstrcat(p, "/issues/comments/", id, NULL)
              : apr_psprintf(p, "/issues/%d/comments", number);
}

/* GET /repos/O/R/commits/REF: the author's login when the commit's
 * e-mail belongs to an account, else the name git recorded. */
static void commit_read(const tp_json_t *j, tp_vcs_commit_t *commit)
{
    commit->sha = tp_json_gets(j, "sha", NULL);
    commit->message = tp_json_gets(j, "commit", "message", NULL);
    commit->author = tp_json_gets(j, "author", "login", NULL);
    if (!commit->author) {
        commit->author = tp_json_gets(j, "commit", "author", "name", NULL);
    }
    commit->url = tp_json_gets(j, "html_url", NULL);
}

/* The tarball's redirect goes to codeload, which wants no token. */
const tp_vcs_ops_t tp_vcs_github_ops = {
    check, auth, "/repos/", 0, "/branches", "/tags", "sha", "/tarball/",
    "/commits/", commit_read,
    "/git/trees/", "?recursive=1",
    "/pulls?state=open&base=", pr_parse, "/pulls/%d/files", "filename",
    "previous_filename", {"pending", "pending", "success", "failure", "error"},
    "context", 0, comment_path, "PATCH",
    "/compare/%s...%s", "files", "filename", "previous_filename", 300,
    "/pulls/%d", pr_state
};
