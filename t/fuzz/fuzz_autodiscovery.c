/* Autodiscovery: a rule's pattern and name template as an admin sends
 * them, and a tree as a provider answers it. Any bytes are refused or
 * accepted, never crash; what is accepted keeps the promises of
 * tp_autodiscovery.h and tp_vcs.h. */
#include "fuzz.h"
#include <apr_lib.h>
#include "tp_autodiscovery.h"

/* 1 when name is a workspace name: 1 to 90 of [A-Za-z0-9_-], no '-' at
 * either end. */
static int workspace_name(const char *name)
{
    size_t n = strlen(name), i;

    if (n == 0 || n > TP_AD_NAME_MAX || name[0] == '-' || name[n - 1] == '-') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(name[i]) && name[i] != '-' && name[i] != '_') {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *files, *dirs;
    const char *a, *b, *name;
    int more, truncated, provider, i;

    apr_pool_create(&p, fuzz_root);
    fuzz_split(p, data, size, &a, &b);
    if (tp_ad_pattern_check(a) == NULL) {
        FUZZ_ASSERT(*a && a[0] != '/' && a[strlen(a) - 1] != '/');
        /* a path is matched whatever it holds; a pattern matches itself
         * when it has no wildcard */
        tp_ad_glob(a, b);
        FUZZ_ASSERT(strpbrk(a, "*?") || tp_ad_glob(a, a));
    }
    if (tp_ad_template_check(a) == NULL) {
        name = tp_ad_name(p, a, b, "repo");
        FUZZ_ASSERT(!name || workspace_name(name));
    }
    for (provider = TP_VCS_GITHUB; provider <= TP_VCS_GITLAB; provider++) {
        files = apr_array_make(p, 4, sizeof(tp_vcs_file_t));
        if (tp_vcs_tree_page(p, provider, b, files, &more, &truncated) < 0) {
            continue;
        }
        for (i = 0; i < files->nelts; i++) {
            FUZZ_ASSERT(*APR_ARRAY_IDX(files, i, tp_vcs_file_t).path);
        }
        if (tp_ad_pattern_check(a) == NULL) {
            dirs = tp_ad_dirs(p, files, a, NULL);
            FUZZ_ASSERT(dirs->nelts <= files->nelts);
            tp_ad_entries(p, dirs, TP_AD_DEFAULT_TEMPLATE, "repo");
        }
    }
    apr_pool_destroy(p);
    return 0;
}
