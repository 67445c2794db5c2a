/* What the provider mirror reads from an upstream registry before any
 * check of its own: URLs it resolves against the URL they came from (the
 * first line of the input is the base, the rest the reference), and the
 * names and versions it accepts into paths and storage keys. A resolved
 * URL keeps the base's scheme and host unless the reference is absolute;
 * an accepted name or version holds nothing a path would mind. */
#include "fuzz.h"
#include "tp_mirror.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *base, *ref, *url;

    apr_pool_create(&p, fuzz_root);
    fuzz_split(p, data, size, &base, &ref);
    url = tp_url_resolve(p, base, ref);
    FUZZ_ASSERT(url != NULL);
    /* a plain host's base and a path: that host's path */
    if (strncmp(base, "https://", 8) == 0 && base[8]
        && strspn(base + 8, "abcdefghijklmnopqrstuvwxyz0123456789.-")
           == strlen(base + 8)
        && *ref == '/' && ref[1] != '/') {
        FUZZ_ASSERT(strncmp(url, base, strlen(base)) == 0);
    }
    if (tp_mirror_name_valid(ref) || tp_mirror_version_valid(ref)) {
        FUZZ_ASSERT(strpbrk(ref, "/\\:%?#") == NULL);
        FUZZ_ASSERT(strstr(ref, "..") == NULL || tp_mirror_version_valid(ref));
        FUZZ_ASSERT(strlen(ref) <= 64);
    }
    if (tp_mirror_name_valid(ref)) {
        FUZZ_ASSERT(strchr(ref, '.') == NULL);
    }
    apr_pool_destroy(p);
    return 0;
}
