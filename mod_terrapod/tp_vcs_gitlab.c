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

tp_err_t *tp_vcs_gitlab_check(apr_pool_t *p, tp_vcs_conn_t *c,
                              const char **who)
{
    const char *answer;
    tp_json_t *j;
    tp_err_t *err = tp_vcs_request(p, c, "GET", "/user", headers(p, c), NULL,
                                   &answer);

    if (err) {
        return err;
    }
    j = tp_json_parse(p, answer, strlen(answer), NULL);
    *who = j ? tp_json_gets(j, "username", NULL) : NULL;
    return NULL;
}
