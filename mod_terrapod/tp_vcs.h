/* VCS connections: what the API, and the provider clients built on it,
 * agree on about a connection's provider and addresses. Pure functions
 * of their arguments, for unit tests. */
#ifndef TP_VCS_H
#define TP_VCS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "tp_error.h"
#include "tp_json.h"

/* what credentials of a connection are sealed for (tp_seal) */
#define TP_VCS_SEAL_PURPOSE "vcs-credentials"

typedef enum {
    TP_VCS_GITHUB,
    TP_VCS_GITLAB
} tp_vcs_provider_e;

/* "github" or "gitlab"; -1 for anything else. */
int tp_vcs_provider_named(const char *name);

/* Checks a connection's server-url: https to any host, or http to one of
 * internal_hosts (const char *, compared ignoring case; may be NULL);
 * no user name or password, query or fragment. *out is the URL without
 * trailing slashes. NULL when it is fine, else why not. */
const char *tp_vcs_server_url_check(apr_pool_t *p, const char *url,
                                    const apr_array_header_t *internal_hosts,
                                    const char **out);

/* The REST base of a connection without a trailing slash: the public
 * service's (https://api.github.com, https://gitlab.com/api/v4) when
 * server_url is NULL, else SERVER/api/v3 (GitHub Enterprise) or
 * SERVER/api/v4 (GitLab); a server URL already ending in that path is
 * kept as it is. */
const char *tp_vcs_api_base(apr_pool_t *p, tp_vcs_provider_e provider,
                            const char *server_url);

/* The web root repositories live under: the public service's
 * (https://github.com, https://gitlab.com), or the server URL without
 * its API path. */
const char *tp_vcs_web_root(apr_pool_t *p, tp_vcs_provider_e provider,
                            const char *server_url);

/* A repository's web URL on the connection's host
 * (https://github.com/OWNER/REPO, https://HOST/OWNER/REPO for a server
 * URL, an optional ".git" or trailing slash): *owner and *name. GitHub
 * has exactly one owner; GitLab's owner is the group path with any
 * subgroups. APR_EINVAL for another host, scheme or shape. */
apr_status_t tp_vcs_repo_parse(apr_pool_t *p, tp_vcs_provider_e provider,
                               const char *server_url, const char *repo_url,
                               const char **owner, const char **name);

/* ---- the provider clients (tp_vcs_github.c, tp_vcs_gitlab.c) ----
 * Every call goes through tp_http_client with a timeout, is retried on
 * 5xx (a Retry-After within TP_VCS_RETRY_MAX seconds honoured), and
 * leaves in the connection what the provider reported of its rate limit.
 * A provider's refusal is a 502 whose detail says what it answered. */

#define TP_VCS_ATTEMPTS 3
#define TP_VCS_TIMEOUT 30           /* seconds per request */
#define TP_VCS_RETRY_MAX 10         /* longest Retry-After waited for */
#define TP_VCS_MAX_ANSWER (4 << 20) /* bytes of a JSON answer */
/* an installation token is used until this long before it expires */
#define TP_VCS_TOKEN_MARGIN apr_time_from_sec(300)

typedef struct tp_vcs_conn {
    tp_vcs_provider_e provider;
    const char *api_base;           /* tp_vcs_api_base */
    const char *credential;         /* the App's PEM key or the token */
    const char *app_id;             /* GitHub App */
    const char *installation_id;
    const char *ca_extra_file;      /* trusted besides the system's CAs */
    /* GitHub: the installation token the caller kept (NULL: none) and
     * its expiry; a call that mints one sets token_minted, for the
     * caller to keep the new one */
    const char *token;
    apr_time_t token_expires;
    int token_minted;
    /* from the provider's last answer; -1 / 0 when it said nothing */
    long rate_remaining;
    apr_time_t rate_reset;
    apr_off_t max_archive;          /* bytes of an archive; 0: no limit */
} tp_vcs_conn_t;

/* The rate limit a response's headers report (GitHub's X-RateLimit-*,
 * GitLab's RateLimit-*; the reset as Unix seconds): *remaining -1 and
 * *reset 0 for what they do not say. */
void tp_vcs_rate_limit(const apr_table_t *headers, long *remaining,
                       apr_time_t *reset);

/* The App's JWT (RS256): iat a minute ago against clock skew, exp nine
 * minutes from now (GitHub refuses more than ten), iss the App id. NULL,
 * *why saying what is wrong with the key, when it cannot sign. */
char *tp_vcs_github_app_jwt(apr_pool_t *p, const char *app_id,
                            const char *key_pem, apr_time_t now,
                            const char **why);

/* Proves the connection works: GitHub mints an installation token (or
 * uses the kept one) and lists one repository of the installation with
 * it; GitLab reads the token's user. *who: the account the provider
 * says it is. */
tp_err_t *tp_vcs_check(apr_pool_t *p, tp_vcs_conn_t *c, const char **who);

/* ---- repositories (owner and name as tp_vcs_repo_parse gives them) ---- */

typedef struct tp_vcs_ref {
    const char *name;
    const char *sha;            /* the commit; a tag's peeled */
} tp_vcs_ref_t;

#define TP_VCS_MAX_REFS 1000    /* branches or tags read of a repository */

tp_err_t *tp_vcs_default_branch(apr_pool_t *p, tp_vcs_conn_t *c,
                                const char *owner, const char *name,
                                const char **branch);

/* The repository's branches (tags 0) or tags (tags 1), of tp_vcs_ref_t,
 * in the provider's order, at most TP_VCS_MAX_REFS. */
tp_err_t *tp_vcs_refs(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                      const char *name, int tags, apr_array_header_t **refs);

/* The head commit of a branch, asked conditionally: with etag (from an
 * earlier answer, or NULL) an unchanged branch costs the provider a 304,
 * and *sha is then NULL. *new_etag: the answer's ETag, or NULL. A branch
 * that does not exist is a 404. */
tp_err_t *tp_vcs_head(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                      const char *name, const char *branch, const char *etag,
                      const char **sha, const char **new_etag);

/* Downloads the archive (tar.gz) of a commit to out_file, following the
 * provider's redirect; 413 past c->max_archive. Its single top directory (GitHub's
 * OWNER-REPO-SHORTSHA, GitLab's PROJECT-REF-SHA) is the caller's to
 * strip. */
tp_err_t *tp_vcs_archive(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                         const char *name, const char *sha,
                         const char *out_file);

/* A commit as the provider describes it. */
typedef struct tp_vcs_commit {
    const char *sha;            /* the full SHA */
    const char *message;
    const char *author;         /* the account's login, else the name */
    const char *url;            /* its web page */
} tp_vcs_commit_t;

/* The commit ref names: a branch's head, a tag's (peeled), or a commit by
 * its SHA, abbreviated or not. 404 when there is none. */
tp_err_t *tp_vcs_commit(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                        const char *name, const char *ref,
                        tp_vcs_commit_t *commit);

/* A file of a commit's tree. */
typedef struct tp_vcs_file {
    const char *path;           /* from the repository's root */
    const char *sha;            /* the blob: equal SHAs, equal content */
} tp_vcs_file_t;

/* GitLab lists a tree in pages of 100; a tree with more pages than this
 * is taken as truncated, as GitHub truncates a tree it will not send
 * whole. */
#define TP_VCS_TREE_PAGES 100

/* The files (tp_vcs_file_t, blobs only: no directories or submodules)
 * of a commit's tree, recursively. *truncated: the provider did not list
 * them all (GitHub's truncated flag, or TP_VCS_TREE_PAGES pages). */
tp_err_t *tp_vcs_tree(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                      const char *name, const char *sha,
                      apr_array_header_t **files, int *truncated);

/* Parses one answer of a tree call as provider gives it (GitHub's
 * {tree: [...], truncated}, a page of GitLab's [...]), appending its
 * blobs to files (tp_vcs_file_t). *more: GitLab's page was full, so
 * another may follow; *truncated: GitHub says the tree is not whole.
 * -1 when it is not such an answer. */
int tp_vcs_tree_page(apr_pool_t *p, tp_vcs_provider_e provider,
                     const char *answer, apr_array_header_t *files,
                     int *more, int *truncated);

/* The paths that changed between two commits (the provider's compare of
 * base...head), new and old names of renamed files both listed, into
 * *files (const char *). *truncated is 1 when the provider lists no more
 * than some of them (GitHub at most 300 files, GitLab 1000). */
tp_err_t *tp_vcs_compare(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                         const char *name, const char *base_sha,
                         const char *head_sha, apr_array_header_t **files,
                         int *truncated);

/* ---- pull requests (GitHub) and merge requests (GitLab) ---- */

typedef struct tp_vcs_pr {
    int number;                 /* GitHub's number, GitLab's iid */
    const char *head_sha;
    const char *head_ref;       /* the branch it comes from */
    const char *web_url;
    const char *title;
    const char *author;         /* login or username; NULL: unknown */
} tp_vcs_pr_t;

#define TP_VCS_MAX_PRS 500          /* open requests read of a branch */
#define TP_VCS_MAX_PR_FILES 3000    /* GitHub lists no more */

/* The open requests targeting branch, of tp_vcs_pr_t, in the provider's
 * order, at most TP_VCS_MAX_PRS, asked conditionally: with etag (from an
 * earlier answer, or NULL) an unchanged list costs a 304 and *prs is
 * NULL. *new_etag: the list's ETag when one page held it all (a later
 * page could change unseen), else NULL. */
tp_err_t *tp_vcs_prs(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                     const char *name, const char *branch, const char *etag,
                     apr_array_header_t **prs, const char **new_etag);

/* The paths (const char *) request number changes: a renamed file's old
 * path and its new one, at most TP_VCS_MAX_PR_FILES; *truncated 1 when
 * there were more (a caller matching paths should assume any). */
tp_err_t *tp_vcs_pr_files(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                          const char *name, int number,
                          apr_array_header_t **files, int *truncated);

/* What became of a request. */
typedef enum {
    TP_VCS_PR_OPEN,
    TP_VCS_PR_MERGED,
    TP_VCS_PR_CLOSED            /* closed unmerged */
} tp_vcs_pr_state_e;

/* Whether request number is open, merged or closed unmerged (GitHub's
 * pull request, merged when it has a merged_at; GitLab's merge request
 * state, a locked one counted open). 404 when there is none. */
tp_err_t *tp_vcs_pr_state(apr_pool_t *p, tp_vcs_conn_t *c, const char *owner,
                          const char *name, int number,
                          tp_vcs_pr_state_e *state);

/* A commit status's state, named per provider by tp_vcs_status_post. */
typedef enum {
    TP_VCS_STATE_PENDING,
    TP_VCS_STATE_RUNNING,       /* GitHub knows it as pending */
    TP_VCS_STATE_SUCCESS,
    TP_VCS_STATE_FAILURE,       /* the run errored */
    TP_VCS_STATE_ERROR          /* the run was canceled or discarded */
} tp_vcs_state_e;

#define TP_VCS_DESCRIPTION_MAX 140  /* characters GitHub accepts */

/* Sets the commit status named context on sha: GitHub's statuses
 * (pending, success, failure, error), GitLab's commit statuses (pending,
 * running, success, failed, canceled). GitLab refuses a status moved to
 * the state it is in: the caller posts changes only. description is cut to
 * TP_VCS_DESCRIPTION_MAX characters; target_url may be NULL. */
tp_err_t *tp_vcs_status_post(apr_pool_t *p, tp_vcs_conn_t *c,
                             const char *owner, const char *name,
                             const char *sha, tp_vcs_state_e state,
                             const char *context, const char *description,
                             const char *target_url);

/* 1 when the provider refuses a status moved from state `from` to `to`
 * (GitLab: the same state again), which is then not to be posted. */
int tp_vcs_status_refused(const tp_vcs_conn_t *c, tp_vcs_state_e from,
                          tp_vcs_state_e to);

/* s cut to at most max characters (UTF-8), a cut marked by an ellipsis. */
const char *tp_vcs_cut(apr_pool_t *p, const char *s, apr_size_t max);

/* Writes body as the comment id of request number, or as a new comment
 * when id is NULL or the comment is gone (deleted by someone);
 * *new_id: the comment's id, for the next edit. */
tp_err_t *tp_vcs_comment_put(apr_pool_t *p, tp_vcs_conn_t *c,
                             const char *owner, const char *name, int number,
                             const char *id, const char *body,
                             const char **new_id);

/* ---- shared by the clients ---- */

/* One API request: in, what to ask; out, what came back. */
typedef struct tp_vcs_call {
    const char *method;             /* "GET" when NULL */
    const char *path;               /* under api_base */
    apr_array_header_t *headers;    /* "Name: value", authentication too */
    const char *body;               /* JSON, or NULL */
    const char *etag;               /* If-None-Match; a 304 is an answer */
    const char *out_file;           /* the body to this file, redirects
                                       followed */
    apr_off_t max_file;             /* its cap (413, not retried); 0: none */
    int status;
    const char *answer;             /* the body (memory answers) */
    apr_table_t *resp_headers;
} tp_vcs_call_t;

/* Makes the call with the retries above. Anything but a 2xx (or a 304
 * to a conditional call) is a 502 naming the status and the provider's
 * message; 404 when the provider says the thing does not exist. */
tp_err_t *tp_vcs_request(apr_pool_t *p, tp_vcs_conn_t *c,
                         tp_vcs_call_t *call);

/* What differs between the providers. */
typedef struct tp_vcs_ops {
    tp_err_t *(*check)(apr_pool_t *p, tp_vcs_conn_t *c, const char **who);
    /* the headers of an authenticated call: GitHub's installation token
     * (minted first when needed), GitLab's PRIVATE-TOKEN */
    tp_err_t *(*auth)(apr_pool_t *p, tp_vcs_conn_t *c,
                      apr_array_header_t **headers);
    const char *repo_prefix;    /* "/repos/", "/projects/" */
    int escape_repo_slash;      /* GitLab's project id is O%2FR */
    const char *branches;       /* under the repository */
    const char *tags;
    const char *sha_key;        /* of commit in a branch or tag */
    const char *archive;        /* under the repository, then the SHA */
    const char *commits;        /* under the repository, then the ref */
    /* the fields of tp_vcs_commit_t in the provider's commit answer */
    void (*commit_read)(const tp_json_t *j, tp_vcs_commit_t *commit);
    /* a commit's tree, recursive: under the repository, the SHA between
     * them; GitLab's is paged (tp_vcs_tree_page says when it ends) */
    const char *tree, *tree_after;

    /* requests: the list's path, then the target branch */
    const char *prs;
    /* a request of that list, or -1 when it is not one */
    int (*pr_parse)(const tp_json_t *j, tp_vcs_pr_t *pr);
    const char *pr_files;       /* "/pulls/%d/files" */
    const char *file_path;      /* of a file of that list */
    const char *file_old_path;
    const char *states[5];      /* tp_vcs_state_e's names */
    const char *status_name;    /* the status's context member */
    int same_state_refused;     /* tp_vcs_status_refused */
    /* a request's comments; a comment (id) of one */
    const char *(*comment_path)(apr_pool_t *p, int number, const char *id);
    const char *comment_edit;   /* the edit's method */
    /* compare: the path under the repository (a format of base, head),
     * the list of files in the answer, a file's new and old path keys,
     * and the most files the provider lists */
    const char *compare;
    const char *compare_files;
    const char *compare_path;
    const char *compare_old_path;
    int compare_max;
    /* one request ("/pulls/%d"), and what became of it in its answer
     * (a tp_vcs_pr_state_e, or -1 when the answer does not say) */
    const char *pr_one;
    int (*pr_state)(const tp_json_t *j);
} tp_vcs_ops_t;

extern const tp_vcs_ops_t tp_vcs_github_ops;
extern const tp_vcs_ops_t tp_vcs_gitlab_ops;

#endif
