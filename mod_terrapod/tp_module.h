/* The private module registry's rules, apart from requests: module
 * addresses, semantic versions, where a version's archive is stored, what
 * a published archive tells of the module (its interface and README),
 * recording a version and the impact runs it queues: what the API and
 * the VCS task share. */
#ifndef TP_MODULE_H
#define TP_MODULE_H

#include <apr_pools.h>
#include "tp_error.h"
#include "tp_json.h"
#include "tp_archive.h"
#include "tp_db.h"

/* 1 when name is 1 to 64 letters, digits, '-' or '_' starting with a
 * letter or digit; provider 1 to 64 lower-case letters or digits (what
 * terraform's module source addresses allow). */
int tp_module_name_valid(const char *name);
int tp_module_provider_valid(const char *provider);

typedef struct tp_semver {
    apr_int64_t major, minor, patch;
    const char *prerelease;     /* "" for a release */
    /* the pre-release as a key whose byte order is semver's precedence
     * among pre-releases of one version; "" for a release */
    const char *order;
} tp_semver_t;

/* Parses a semantic version (semver.org 2.0.0) without build metadata:
 * MAJOR.MINOR.PATCH with an optional "-" and dot-separated pre-release
 * identifiers of [0-9A-Za-z-], numbers (numeric identifiers too) without
 * leading zeros and of at most 15 digits. 0 for anything else. */
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

/* A version to record, its archive stored under
 * tp_module_key(module_id, id) already. */
typedef struct tp_module_version {
    const char *id;
    const char *module_id;
    const char *version;
    tp_semver_t sv;
    apr_off_t size;
    const tp_json_t *iface;     /* tp_module_inspect's */
    const char *readme;
    const char *created_by;     /* NULL: from a tag of the repository */
    const char *vcs_tag;        /* NULL unless from a tag */
    const char *vcs_sha;
} tp_module_version_t;

/* Records v; *added is 0, and nothing changed, when the module has that
 * version already (a concurrent publisher won). */
tp_err_t *tp_module_version_add(tp_db_t *db, apr_pool_t *p,
                                const tp_module_version_t *v, int *added);

/* Queues a plan-only run (by the server) on every workspace linked to
 * module_id, for version of the module at address ("default/NAME/
 * PROVIDER"): what the new version does to them. Returns, per linked
 * workspace, {"workspace-id", "run-id"} or {"workspace-id", "error"}: a
 * workspace that runs terraform locally (nothing would run it) or has no
 * configuration gets none. */
tp_json_t *tp_module_impact_runs(tp_db_t *db, apr_pool_t *p,
                                 const char *module_id, const char *address,
                                 const char *version);

#endif
