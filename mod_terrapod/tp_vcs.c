/* VCS connections: provider names, server URLs, API bases and repository
 * URLs (tp_vcs.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "tp_vcs.h"
#include "tp_http_client.h"
#include "tp_crypto.h"
#include "tp_json.h"

#define GITHUB_WEB "https://github.com"
#define GITHUB_API "https://api.github.com"
#define GITLAB_WEB "https://gitlab.com"

int tp_vcs_provider_named(const char *name)
{
    if (name && strcmp(name, "github") == 0) {
        return TP_VCS_GITHUB;
    }
    if (name && strcmp(name, "gitlab") == 0) {
        return TP_VCS_GITLAB;
    }
    return -1;
}

static int host_listed(const char *host,
                       const apr_array_header_t *hosts)
{
    int i;

    for (i = 0; hosts && i < hosts->nelts; i++) {
        if (strcasecmp(host, APR_ARRAY_IDX(hosts, i, const char *)) == 0) {
            return 1;
        }
    }
    return 0;
}

static char *without_trailing_slashes(apr_pool_t *p, const char *s)
{
    char *c = apr_pstrdup(p, s);
    apr_size_t n = strlen(c);

    while (n > 0 && c[n - 1] == '/') {
        c[--n] = '\0';
    }
    return c;
}

const char *tp_vcs_server_url_check(apr_pool_t *p, const char *url,
                                    const apr_array_header_t *internal_hosts,
                                    const char **out)
{
    apr_uri_t u;

    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme
        || !u.hostname || !*u.hostname) {
        return "must be an absolute URL such as https://github.example.com";
    }
    if (u.user || u.password || u.query || u.fragment) {
        return "may not carry a user name, password, query or fragment";
    }
    if (strcasecmp(u.scheme, "https") != 0
        && !(strcasecmp(u.scheme, "http") == 0
             && host_listed(u.hostname, internal_hosts))) {
        return "must use https; http is accepted only for a host named "
               "by TerrapodVCSInternalHost";
    }
    *out = without_trailing_slashes(p, url);
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    apr_size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *tp_vcs_api_base(apr_pool_t *p, tp_vcs_provider_e provider,
                            const char *server_url)
{
    const char *path = provider == TP_VCS_GITHUB ? "/api/v3" : "/api/v4";

    if (!server_url) {
        return provider == TP_VCS_GITHUB ? GITHUB_API
                                         : GITLAB_WEB "/api/v4";
    }
    server_url = without_trailing_slashes(p, server_url);
    return ends_with(server_url, path)
           ? server_url : apr_pstrcat(p, server_url, path, NULL);
}

const char *tp_vcs_web_root(apr_pool_t *p, tp_vcs_provider_e provider,
                            const char *server_url)
{
    const char *base;

    if (!server_url) {
        return provider == TP_VCS_GITHUB ? GITHUB_WEB : GITLAB_WEB;
    }
    base = tp_vcs_api_base(p, provider, server_url);
    return apr_pstrndup(p, base, strlen(base) - strlen("/api/vN"));
}

/* A path segment a repository's owner or name may be. */
static int segment_ok(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.'
                                                && s[1] == '.')) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789-_.", s[i])) {
            return 0;
        }
    }
    return 1;
}

apr_status_t tp_vcs_repo_parse(apr_pool_t *p, tp_vcs_provider_e provider,
                               const char *server_url, const char *repo_url,
                               const char **owner, const char **name)
{
    const char *root = tp_vcs_web_root(p, provider, server_url);
    apr_size_t rn = strlen(root);
    char *rest, *seg, *last_slash;
    int segments = 0;

    if (!repo_url || strncasecmp(repo_url, root, rn) != 0
        || repo_url[rn] != '/') {
        return APR_EINVAL;
    }
    rest = without_trailing_slashes(p, repo_url + rn + 1);
    if (ends_with(rest, ".git")) {
        rest[strlen(rest) - 4] = '\0';
    }
    for (seg = rest; ; seg = last_slash + 1) {
        last_slash = strchr(seg, '/');
        if (!segment_ok(seg, last_slash ? (apr_size_t)(last_slash - seg)
                                        : strlen(seg))) {
            return APR_EINVAL;
        }
        segments++;
        if (!last_slash) {
            break;
        }
    }
    if (segments < 2 || (provider == TP_VCS_GITHUB && segments != 2)) {
        return APR_EINVAL;
    }
    last_slash = strrchr(rest, '/');
    *owner = apr_pstrndup(p, rest, (apr_size_t)(last_slash - rest));
    *name = last_slash + 1;
    return APR_SUCCESS;
}

/* ---- the clients' common part ---- */

/* The largest figure believed: an int (the remaining count is stored as
 * one) and, as Unix seconds, a time in 2038 that apr_time_t holds. */
#define HEADER_MAX 2147483647L

/* A non-negative figure of the header a, or else b; -1 when neither
 * holds one. */
static long header_long(const apr_table_t *h, const char *a, const char *b)
{
    const char *v = apr_table_get(h, a);
    char *end;
    long n;

    if (!v) {
        v = apr_table_get(h, b);
    }
    if (!v || !*v) {
        return -1;
    }
    n = strtol(v, &end, 10);
    return *end || n < 0 || n > HEADER_MAX ? -1 : n;
}

void tp_vcs_rate_limit(const apr_table_t *headers, long *remaining,
                       apr_time_t *reset)
{
    long at = header_long(headers, "X-RateLimit-Reset", "RateLimit-Reset");

    *remaining = header_long(headers, "X-RateLimit-Remaining",
                             "RateLimit-Remaining");
    *reset = at > 0 ? apr_time_from_sec(at) : 0;
}

/* The provider's own words of a refusal: GitHub's "message", GitLab's
 * "message" or "error"; bounded, for the connection's last error. */
static const char *provider_message(apr_pool_t *p, const char *body)
{
    tp_json_t *j = body ? tp_json_parse(p, body, strlen(body), NULL) : NULL;
    const char *m = j ? tp_json_gets(j, "message", NULL) : NULL;

    if (!m && j) {
        m = tp_json_gets(j, "error", NULL);
    }
    return m ? apr_pstrndup(p, m, 200) : "";
}

#define REFUSAL_READ 4096   /* bytes of a refusal read from a download */

/* The start of a refusal a download wrote to its file instead of memory,
 * for its message. */
static const char *refusal_of(apr_pool_t *p, const char *file)
{
    char *buf = apr_palloc(p, REFUSAL_READ + 1);
    apr_size_t n = REFUSAL_READ;
    apr_file_t *f;

    if (apr_file_open(&f, file, APR_FOPEN_READ, APR_OS_DEFAULT, p)
        != APR_SUCCESS) {
        return "";
    }
    if (apr_file_read(f, buf, &n) != APR_SUCCESS) {
        n = 0;
    }
    apr_file_close(f);
    buf[n] = '\0';
    return buf;
}

/* How long to wait before attempt n (1, 2, ...): what Retry-After asked
 * within TP_VCS_RETRY_MAX, else a quarter second doubling. */
static apr_interval_time_t backoff(int n, long retry_after)
{
    if (retry_after > 0) {
        return apr_time_from_sec(retry_after < TP_VCS_RETRY_MAX
                                 ? retry_after : TP_VCS_RETRY_MAX);
    }
    return apr_time_from_msec(250) << (n - 1);
}

tp_err_t *tp_vcs_request(apr_pool_t *p, tp_vcs_conn_t *c,
                         tp_vcs_call_t *call)
{
    const char *method = call->method ? call->method : "GET";
    tp_http_req_t req = {0};
    tp_http_resp_t resp;
    tp_err_t *err = NULL;
    const char *message;
    int attempt;

    req.method = method;
    req.url = apr_pstrcat(p, c->api_base, call->path, NULL);
    req.headers = call->headers;
    req.body = call->body;
    req.body_len = call->body ? strlen(call->body) : 0;
    req.out_file = call->out_file;
    req.follow = call->out_file != NULL;
    req.max_body = call->out_file ? 0 : TP_VCS_MAX_ANSWER;
    req.max_file = call->max_file;
    req.ca_extra_file = c->ca_extra_file;
    req.timeout = TP_VCS_TIMEOUT;
    APR_ARRAY_PUSH(call->headers, const char *) = "User-Agent: mod_terrapod";
    if (call->body) {
        APR_ARRAY_PUSH(call->headers, const char *) =
            "Content-Type: application/json";
    }
    if (call->etag) {
        APR_ARRAY_PUSH(call->headers, const char *) =
            apr_pstrcat(p, "If-None-Match: ", call->etag, NULL);
    }
    for (attempt = 1; attempt <= TP_VCS_ATTEMPTS; attempt++) {
        if (attempt > 1) {
            apr_sleep(backoff(attempt - 1, err ? 0 : resp.retry_after));
        }
        if ((err = tp_http_perform(p, &req, &resp)) != NULL) {
            if (err->status == 413) {
                return err;     /* too large now, too large again */
            }
            continue;           /* the exchange failed: tried again */
        }
        tp_vcs_rate_limit(resp.headers, &c->rate_remaining, &c->rate_reset);
        if (resp.status < 500) {
            break;
        }
    }
    if (err) {
        return err;
    }
    call->status = resp.status;
    call->answer = resp.body;
    call->resp_headers = resp.headers;
    if ((resp.status >= 200 && resp.status <= 299)
        || (resp.status == 304 && call->etag)) {
        return NULL;
    }
    message = provider_message(p, call->out_file
                                  ? refusal_of(p, call->out_file) : resp.body);
    return tp_err(p, resp.status == 404 ? 404 : 502, "%s %s answered %d%s%s",
                  method, call->path, resp.status, *message ? ": " : "",
                  message);
}

/* Percent-encodes s for a path: all but the unreserved characters, and
 * '/' unless keep_slash. */
static const char *escape(apr_pool_t *p, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (apr_isalnum(ch) || strchr("-._~", ch)
            || (keep_slash && ch == '/')) {
            *o++ = (char)ch;
        }
        else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

static const tp_vcs_ops_t *ops(const tp_vcs_conn_t *c)
{
    return c->provider == TP_VCS_GITHUB ? &tp_vcs_github_ops
                                        : &tp_vcs_gitlab_ops;
}

/* A GET under the repository, authenticated. */
static tp_err_t *repo_get(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                          const char *name, const char *path,
                          tp_vcs_call_t *call)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_err_t *err = o->auth(p, c, &call->headers);

    if (err) {
        return err;
    }
    call->path = apr_pstrcat(p, o->repo_prefix,
                             escape(p, apr_pstrcat(p, owner, "/", name, NULL),
                                    !o->escape_repo_slash), path, NULL);
    return tp_vcs_request(p, c, call);
}

/* The JSON of a call's answer; 502 when it is not JSON. */
static tp_err_t *answer_json(apr_pool_t *p, const tp_vcs_call_t *call,
                             tp_json_t **j)
{
    *j = tp_json_parse(p, call->answer, strlen(call->answer), NULL);
    return *j ? NULL : tp_err(p, 502, "%s answered something that is not "
                              "JSON", call->path);
}

tp_err_t *tp_vcs_check(apr_pool_t *p, tp_vcs_conn_t *c, const char **who)
{
    c->rate_remaining = -1;
    c->rate_reset = 0;
    return ops(c)->check(p, c, who);
}

tp_err_t *tp_vcs_default_branch(apr_pool_t *p, tp_vcs_conn_t *c,
                                const char *owner, const char *name,
                                const char **branch)
{
    tp_vcs_call_t call = {0};
    tp_json_t *j;
    tp_err_t *err;

    if ((err = repo_get(p, c, owner, name, "", &call)) != NULL
        || (err = answer_json(p, &call, &j)) != NULL) {
        return err;
    }
    *branch = tp_json_gets(j, "default_branch", NULL);
    return *branch ? NULL : tp_err(p, 502, "the repository %s/%s has no "
                                   "default branch", owner, name);
}

/* A page of refs as both providers list them, [{name, commit: {key}}],
 * appended to refs; the number it held, or -1 when it is not such a
 * list. */
static int refs_page(apr_pool_t *p, const char *answer, const char *key,
                     apr_array_header_t *refs)
{
    tp_json_t *list = tp_json_parse(p, answer, strlen(answer), NULL), *e;
    apr_size_t i, n = tp_json_len(list);
    tp_vcs_ref_t *ref;

    if (!list || tp_json_type(list, NULL) != TP_JSON_ARRAY) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        e = tp_json_at(list, i);
        ref = apr_array_push(refs);
        ref->name = tp_json_gets(e, "name", NULL);
        ref->sha = tp_json_gets(e, "commit", key, NULL);
        if (!ref->name || !ref->sha) {
            return -1;
        }
    }
    return (int)n;
}

#define REFS_PER_PAGE 100

tp_err_t *tp_vcs_refs(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                      const char *name, int tags, apr_array_header_t **refs)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_vcs_call_t call;
    tp_err_t *err;
    int page, n = REFS_PER_PAGE;

    *refs = apr_array_make(p, 16, sizeof(tp_vcs_ref_t));
    /* page by page while pages are full: both providers number them */
    for (page = 1; n == REFS_PER_PAGE && (*refs)->nelts < TP_VCS_MAX_REFS;
         page++) {
        memset(&call, 0, sizeof(call));
        if ((err = repo_get(p, c, owner, name, apr_psprintf(p,
                            "%s?per_page=%d&page=%d", tags ? o->tags
                            : o->branches, REFS_PER_PAGE, page), &call))
            != NULL) {
            return err;
        }
        if ((n = refs_page(p, call.answer, o->sha_key, *refs)) < 0) {
            return tp_err(p, 502, "%s answered something that is not a "
                          "list of refs", call.path);
        }
    }
    if ((*refs)->nelts > TP_VCS_MAX_REFS) {
        (*refs)->nelts = TP_VCS_MAX_REFS;
    }
    return NULL;
}

tp_err_t *tp_vcs_head(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                      const char *name, const char *branch, const char *etag,
                      const char **sha, const char **new_etag)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_vcs_call_t call = {0};
    tp_json_t *j;
    tp_err_t *err;

    call.etag = etag;
    if ((err = repo_get(p, c, owner, name, apr_pstrcat(p, o->branches, "/",
                        escape(p, branch, c->provider == TP_VCS_GITHUB),
                        NULL), &call)) != NULL) {
        return err;
    }
    *new_etag = apr_table_get(call.resp_headers, "ETag");
    *sha = NULL;
    if (call.status == 304) {
        return NULL;
    }
    if ((err = answer_json(p, &call, &j)) != NULL) {
        return err;
    }
    *sha = tp_json_gets(j, "commit", o->sha_key, NULL);
    return *sha ? NULL : tp_err(p, 502, "%s answered no commit",
                                call.path);
}

tp_err_t *tp_vcs_archive(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                         const char *name, const char *sha,
                         const char *out_file)
{
    tp_vcs_call_t call = {0};

    if (!tp_is_hex(sha)) {
        return tp_err(p, 422, "an archive is fetched by commit SHA, not %s",
                      sha);
    }
    call.out_file = out_file;
    call.max_file = c->max_archive;
    return repo_get(p, c, owner, name, apr_pstrcat(p, ops(c)->archive, sha,
                                                   NULL), &call);
}

/* ---- pull and merge requests ---- */

/* A call with a JSON body under the repository, authenticated. */
static tp_err_t *repo_send(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                           const char *name, const char *method,
                           const char *path, const tp_json_t *body,
                           tp_vcs_call_t *call)
{
    call->method = method;
    call->body = tp_json_dump(body, p);
    return repo_get(p, c, owner, name, path, call);
}

#define LIST_PER_PAGE 100

/* A list read page by page. */
typedef struct list_read {
    const char *path;
    int max;                    /* items read at most */
    /* called for each item; -1 for something that is not one */
    int (*item)(const tp_json_t *e, void *baton);
    void *baton;
    const char *etag;           /* the first page asked with it, or NULL */
    /* out */
    const char *new_etag;       /* the list's, when one page held it all */
    int unchanged;              /* a 304 to etag: no item read */
    int more;                   /* the list went on past max */
} list_read_t;

/* Reads l->path page by page while pages are full and fewer than l->max
 * items came. */
static tp_err_t *repo_list(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                           const char *name, list_read_t *l)
{
    tp_vcs_call_t call;
    tp_json_t *page;
    tp_err_t *err;
    int n = LIST_PER_PAGE, seen = 0, pageno;
    apr_size_t i;

    for (pageno = 1; n == LIST_PER_PAGE; pageno++) {
        memset(&call, 0, sizeof(call));
        call.etag = pageno == 1 ? l->etag : NULL;
        if ((err = repo_get(p, c, owner, name, apr_psprintf(p,
                            "%s%cper_page=%d&page=%d", l->path,
                            strchr(l->path, '?') ? '&' : '?', LIST_PER_PAGE,
                            pageno), &call)) != NULL) {
            return err;
        }
        if (call.status == 304) {
            l->unchanged = 1;
            l->new_etag = l->etag;
            return NULL;
        }
        if ((err = answer_json(p, &call, &page)) != NULL) {
            return err;
        }
        if (tp_json_type(page, NULL) != TP_JSON_ARRAY) {
            return tp_err(p, 502, "%s answered something that is not a list",
                          call.path);
        }
        n = (int)tp_json_len(page);
        /* a later page may change unseen: only a one-page list's tag */
        l->new_etag = pageno == 1 && n < LIST_PER_PAGE
                      ? apr_table_get(call.resp_headers, "ETag") : NULL;
        for (i = 0; i < (apr_size_t)n; i++) {
            if (seen == l->max) {
                l->more = 1;
                return NULL;
            }
            if (l->item(tp_json_at(page, i), l->baton) < 0) {
                return tp_err(p, 502, "%s answered a list of something "
                              "else", call.path);
            }
            seen++;
        }
    }
    return NULL;
}

struct pr_list {
    const tp_vcs_ops_t *ops;
    apr_array_header_t *prs;
};

static int pr_item(const tp_json_t *e, void *baton)
{
    struct pr_list *l = baton;
    tp_vcs_pr_t pr = {0};

    if (l->ops->pr_parse(e, &pr) < 0) {
        return -1;
    }
    APR_ARRAY_PUSH(l->prs, tp_vcs_pr_t) = pr;
    return 0;
}

tp_err_t *tp_vcs_prs(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                     const char *name, const char *branch, const char *etag,
                     apr_array_header_t **prs, const char **new_etag)
{
    struct pr_list l;
    list_read_t r = {0};
    tp_err_t *err;

    l.ops = ops(c);
    l.prs = apr_array_make(p, 8, sizeof(tp_vcs_pr_t));
    r.path = apr_pstrcat(p, l.ops->prs, escape(p, branch, 0), NULL);
    r.max = TP_VCS_MAX_PRS;
    r.item = pr_item;
    r.baton = &l;
    r.etag = etag;
    err = repo_list(p, c, owner, name, &r);
    *prs = r.unchanged ? NULL : l.prs;
    *new_etag = r.new_etag;
    return err;
}

struct file_list {
    const tp_vcs_ops_t *ops;
    apr_array_header_t *files;
};

static int file_item(const tp_json_t *e, void *baton)
{
    struct file_list *l = baton;
    const char *path = tp_json_gets(e, l->ops->file_path, NULL);
    const char *old = tp_json_gets(e, l->ops->file_old_path, NULL);

    if (!path) {
        return -1;
    }
    APR_ARRAY_PUSH(l->files, const char *) = path;
    if (old && strcmp(old, path) != 0) {
        APR_ARRAY_PUSH(l->files, const char *) = old;
    }
    return 0;
}

tp_err_t *tp_vcs_pr_files(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                          const char *name, int number,
                          apr_array_header_t **files, int *truncated)
{
    struct file_list l;
    list_read_t r = {0};
    tp_err_t *err;

    *files = apr_array_make(p, 16, sizeof(const char *));
    l.ops = ops(c);
    l.files = *files;
    r.path = apr_psprintf(p, l.ops->pr_files, number);
    r.max = TP_VCS_MAX_PR_FILES;
    r.item = file_item;
    r.baton = &l;
    err = repo_list(p, c, owner, name, &r);
    *truncated = r.more;
    return err;
}

tp_err_t *tp_vcs_pr_state(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                          const char *name, int number,
                          tp_vcs_pr_state_e *state)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_vcs_call_t call = {0};
    tp_json_t *j;
    tp_err_t *err;
    int s;

    if ((err = repo_get(p, c, owner, name, apr_psprintf(p, o->pr_one, number),
                        &call)) != NULL
        || (err = answer_json(p, &call, &j)) != NULL) {
        return err;
    }
    if ((s = o->pr_state(j)) < 0) {
        return tp_err(p, 502, "%s answered no state", call.path);
    }
    *state = (tp_vcs_pr_state_e)s;
    return NULL;
}

const char *tp_vcs_cut(apr_pool_t *p, const char *s, apr_size_t max)
{
    const char *at = s;
    apr_size_t n = 0;

    if (tp_utf8_len(s) <= max) {
        return s;
    }
    /* keep max - 1 characters: the ellipsis is the last */
    for (; *at && n < max - 1; n++) {
        at++;
        while ((*at & 0xC0) == 0x80) {
            at++;
        }
    }
    return apr_pstrcat(p, apr_pstrndup(p, s, (apr_size_t)(at - s)),
                       "\xE2\x80\xA6", NULL);
}

tp_err_t *tp_vcs_status_post(apr_pool_t *p, tp_vcs_conn_t *c,
                             const char *owner, const char *name,
                             const char *sha, tp_vcs_state_e state,
                             const char *context, const char *description,
                             const char *target_url)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_json_t *body = tp_json_object(p);
    tp_vcs_call_t call = {0};

    if (!tp_is_hex(sha)) {
        return tp_err(p, 422, "a status is set on a commit SHA, not %s",
                      sha);
    }
    tp_json_sets(body, o->states[state], "state", NULL);
    tp_json_sets(body, context, o->status_name, NULL);
    tp_json_sets(body, tp_vcs_cut(p, description, TP_VCS_DESCRIPTION_MAX),
                 "description", NULL);
    if (target_url) {
        tp_json_sets(body, target_url, "target_url", NULL);
    }
    return repo_send(p, c, owner, name, "POST",
                     apr_pstrcat(p, "/statuses/", sha, NULL), body, &call);
}

int tp_vcs_status_refused(const tp_vcs_conn_t *c, tp_vcs_state_e from,
                          tp_vcs_state_e to)
{
    const tp_vcs_ops_t *o = ops(c);

    return o->same_state_refused
           && strcmp(o->states[from], o->states[to]) == 0;
}

tp_err_t *tp_vcs_comment_put(apr_pool_t *p, tp_vcs_conn_t *c,
                             const char *owner, const char *name, int number,
                             const char *id, const char *body,
                             const char **new_id)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_json_t *doc = tp_json_object(p), *j;
    tp_vcs_call_t call = {0};
    tp_err_t *err = NULL;

    tp_json_sets(doc, body, "body", NULL);
    if (id) {
        err = repo_send(p, c, owner, name, o->comment_edit,
                        o->comment_path(p, number, id), doc, &call);
        if (!err || err->status != 404) {
            *new_id = id;
            return err;
        }
        memset(&call, 0, sizeof(call));
    }
    if ((err = repo_send(p, c, owner, name, "POST",
                         o->comment_path(p, number, NULL), doc, &call))
        != NULL || (err = answer_json(p, &call, &j)) != NULL) {
        return err;
    }
    if (tp_json_type(j, "id", NULL) != TP_JSON_INTEGER) {
        return tp_err(p, 502, "%s answered no comment id", call.path);
    }
    *new_id = apr_psprintf(p, "%" APR_INT64_T_FMT,
                           (apr_int64_t)tp_json_geti(j, "id", NULL));
    return NULL;
}

tp_err_t *tp_vcs_commit(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                        const char *name, const char *ref,
                        tp_vcs_commit_t *commit)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_vcs_call_t call = {0};
    tp_json_t *j;
    tp_err_t *err;

    err = repo_get(p, c, owner, name, apr_pstrcat(p, o->commits,
                   escape(p, ref, c->provider == TP_VCS_GITHUB), NULL),
                   &call);
    /* GitHub answers a ref that names no commit with a 422 */
    if (err && call.status == 422) {
        return tp_err(p, 404, "%s/%s has no commit %s", owner, name, ref);
    }
    if (err || (err = answer_json(p, &call, &j)) != NULL) {
        return err;
    }
    memset(commit, 0, sizeof(*commit));
    o->commit_read(j, commit);
    if (!commit->sha || !tp_is_hex(commit->sha)) {
        return tp_err(p, 502, "%s answered no commit", call.path);
    }
    if (!commit->message) commit->message = "";
    if (!commit->author) commit->author = "";
    if (!commit->url) commit->url = "";
    return NULL;
}

/* GitLab's tree pages hold this many entries (per_page of ops->tree) */
#define TREE_PER_PAGE 100

int tp_vcs_tree_page(apr_pool_t *p, tp_vcs_provider_e provider,
                     const char *answer, apr_array_header_t *files,
                     int *more, int *truncated)
{
    tp_json_t *j = tp_json_parse(p, answer, strlen(answer), NULL), *list, *e;
    apr_size_t i, n;
    const char *type;
    tp_vcs_file_t *f;

    list = provider == TP_VCS_GITHUB ? tp_json_get(j, "tree", NULL) : j;
    if (tp_json_type(list, NULL) != TP_JSON_ARRAY) {
        return -1;
    }
    n = tp_json_len(list);
    for (i = 0; i < n; i++) {
        e = tp_json_at(list, i);
        if (!(type = tp_json_gets(e, "type", NULL))) {
            return -1;
        }
        if (strcmp(type, "blob") != 0) {
            continue;           /* a directory, or a submodule's commit */
        }
        f = apr_array_push(files);
        f->path = tp_json_gets(e, "path", NULL);
        f->sha = tp_json_gets(e, provider == TP_VCS_GITHUB ? "sha" : "id",
                              NULL);
        if (!f->path || !*f->path || !f->sha) {
            return -1;
        }
    }
    *more = provider == TP_VCS_GITLAB && n == TREE_PER_PAGE;
    *truncated = provider == TP_VCS_GITHUB
                 && tp_json_getb(j, "truncated", NULL);
    return 0;
}

tp_err_t *tp_vcs_tree(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                      const char *name, const char *sha,
                      apr_array_header_t **files, int *truncated)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_vcs_call_t call;
    tp_err_t *err;
    int page, more = 1;

    if (!tp_is_hex(sha)) {
        return tp_err(p, 422, "a tree is read by commit SHA, not %s", sha);
    }
    *files = apr_array_make(p, 64, sizeof(tp_vcs_file_t));
    *truncated = 0;
    for (page = 1; more && page <= TP_VCS_TREE_PAGES; page++) {
        memset(&call, 0, sizeof(call));
        if ((err = repo_get(p, c, owner, name, apr_psprintf(p, "%s%s%s%s",
                            o->tree, sha, o->tree_after, page > 1
                            ? apr_psprintf(p, "&page=%d", page) : ""),
                            &call)) != NULL) {
            return err;
        }
        if (tp_vcs_tree_page(p, c->provider, call.answer, *files, &more,
                             truncated) < 0) {
            return tp_err(p, 502, "%s answered something that is not a "
                          "tree", call.path);
        }
    }
    if (more) {
        *truncated = 1;         /* pages left unread */
    }
    return NULL;
}

/* Pushes the string at key of file f to files unless it is the path just
 * pushed (an unchanged name of a modified file). */
static void push_path(apr_array_header_t *files, const tp_json_t *f,
                      const char *key)
{
    const char *path = tp_json_gets(f, key, NULL);

    if (path && *path && !(files->nelts > 0 && strcmp(path,
        APR_ARRAY_IDX(files, files->nelts - 1, const char *)) == 0)) {
        APR_ARRAY_PUSH(files, const char *) = path;
    }
}

tp_err_t *tp_vcs_compare(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                         const char *name, const char *base_sha,
                         const char *head_sha, apr_array_header_t **files,
                         int *truncated)
{
    const tp_vcs_ops_t *o = ops(c);
    tp_vcs_call_t call = {0};
    tp_json_t *j, *list;
    apr_size_t i, n;
    tp_err_t *err;

    if (!tp_is_hex(base_sha) || !tp_is_hex(head_sha)) {
        return tp_err(p, 422, "commits are compared by SHA");
    }
    if ((err = repo_get(p, c, owner, name, apr_psprintf(p, o->compare,
                        base_sha, head_sha), &call)) != NULL
        || (err = answer_json(p, &call, &j)) != NULL) {
        return err;
    }
    list = tp_json_get(j, o->compare_files, NULL);
    if (list && tp_json_type(list, NULL) != TP_JSON_ARRAY) {
        return tp_err(p, 502, "%s answered no list of files", call.path);
    }
    n = tp_json_len(list);
    *files = apr_array_make(p, (int)n + 1, sizeof(const char *));
    for (i = 0; i < n; i++) {
        push_path(*files, tp_json_at(list, i), o->compare_path);
        push_path(*files, tp_json_at(list, i), o->compare_old_path);
    }
    *truncated = n >= (apr_size_t)o->compare_max;
    return NULL;
}
