/* The private module registry's rules, apart from requests: module
 * addresses, semantic versions, where a version's archive is stored, and
 * what a published archive tells of the module (its interface and
 * README). */
#ifndef TP_MODULE_H
#define TP_MODULE_H

#include <apr_pools.h>
#include "tp_error.h"
#include "tp_json.h"
#include "tp_archive.h"

/* 1 when name is 1 to 64 letters, digits, '-' or '_' starting with a
 * letter or digit; provider 1 to 64 lower-case letters or digits (what
 * terraform's module source addresses allow). */
int tp_module_name_valid(const char *name);
int tp_module_provider_valid(const char *provider);

typedef struct tp_semver {
    apr_int64_t major, minor, patch;
    const char *prerelease;     /* "" for a release */
} tp_semver_t;

/* Parses a semantic version (semver.org 2.0.0) without build metadata:
 * MAJOR.MINOR.PATCH with an optional "-" and dot-separated pre-release
 * identifiers of [0-9A-Za-z-], numbers without leading zeros and of at
 * most 15 digits. 0 for anything else. */
int tp_semver_parse(apr_pool_t *p, const char *s, tp_semver_t *v);

/* The storage key of a module version's archive. */
const char *tp_module_key(apr_pool_t *p, const char *module_id,
                          const char *version);

/* What the module archive at path (checked already) tells of its module:
 * *iface {"variables": [{name, type, description, required, sensitive}],
 * "outputs": [{name, description, sensitive}]} from the .tf files at its
 * root, in file and then source order; *readme its root README.md (or
 * README), "" when it has none. Files larger than max_file bytes are
 * passed over. 422 naming the file and line the scanner could not read. */
tp_err_t *tp_module_inspect(apr_pool_t *p, const char *path,
                            const tp_archive_limits_t *limits,
                            apr_size_t max_file, tp_json_t **iface,
                            const char **readme);

#endif
