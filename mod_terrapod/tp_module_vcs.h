/* VCS-backed registry modules: the background task that publishes the
 * tags of a module's repository matching its pattern as versions, and
 * reports a tag moved to another commit rather than publishing it again
 * (versions are immutable). */
#ifndef TP_MODULE_VCS_H
#define TP_MODULE_VCS_H

#include "tp_db.h"
#include "tp_tasks.h"

#define TP_MODULE_VCS_TASK "registry-vcs-poll"
#define TP_MODULE_VCS_INTERVAL 60        /* seconds, by default */

/* The version a tag publishes under pattern (a glob, "v*" by default):
 * the tag with the pattern's text before its first '*' taken off; NULL
 * when the tag does not match the pattern or is no semantic version
 * then. */
const char *tp_module_tag_version(apr_pool_t *p, const char *pattern,
                                  const char *tag);

/* The task: for every module following a repository of an active
 * connection, its tags listed once; each matching tag not yet a version
 * is downloaded, checked and read as an upload is, and published (with
 * its impact runs); a tag whose commit differs from its version's is
 * recorded as moved. A failing repository is recorded on its module and
 * its connection; the others go on. */
tp_err_t *tp_module_vcs_poll(tp_db_t *db, apr_pool_t *p,
                             const tp_task_env_t *env, const char **summary);

#endif
