/* Autodiscovery: which directories of a repository's tree a rule turns
 * into workspaces, and what it names them. Pure functions of their
 * arguments (a tree as tp_vcs_tree lists it), for unit tests; the
 * database side is tp_autodiscovery_store.c. */
#ifndef TP_AUTODISCOVERY_H
#define TP_AUTODISCOVERY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "tp_vcs.h"

#define TP_AD_PATTERN_MAX 500       /* characters of a pattern */
#define TP_AD_PATTERN_SEGMENTS 32   /* '/'-separated parts of one */
#define TP_AD_PATH_SEGMENTS 256     /* deeper paths never match */
#define TP_AD_TEMPLATE_MAX 200      /* characters of a name template */
#define TP_AD_NAME_MAX 90           /* a workspace name's length */
#define TP_AD_DEFAULT_TEMPLATE "{path}"

/* A glob over repository paths: '/' separates parts; "**" as a whole part
 * matches any number of parts (the last part "**" at least one: after
 * "modules", what is inside it); '*' any characters within a part, '?'
 * one.
 * NULL when pattern is such a glob, else why it is not. */
const char *tp_ad_pattern_check(const char *pattern);

/* 1 when path matches pattern (checked by tp_ad_pattern_check). */
int tp_ad_glob(const char *pattern, const char *path);

/* The directories ("" the root; sorted, each once) of the files
 * (tp_vcs_file_t) that pattern matches, leaving out a file when an
 * ignore pattern (const char *) matches it or one of its directories. */
apr_array_header_t *tp_ad_dirs(apr_pool_t *p, const apr_array_header_t *files,
                               const char *pattern,
                               const apr_array_header_t *ignores);

/* NULL when tmpl is a usable name template (text and the placeholders
 * {path}, {dir}, {repo}), else why not. */
const char *tp_ad_template_check(const char *tmpl);

/* The workspace name tmpl gives directory dir of repository repo: {path}
 * the directory with '/' as '-', {dir} its last part, {repo} the
 * repository's name ("root" for both of the root directory); then made a
 * workspace name: other characters than letters, digits, '-' and '_'
 * become '-', runs of '-' one, none at either end, at most
 * TP_AD_NAME_MAX characters. NULL when nothing is left. */
const char *tp_ad_name(apr_pool_t *p, const char *tmpl, const char *dir,
                       const char *repo);

/* What a rule would do with one directory. */
typedef struct tp_ad_entry {
    const char *dir;            /* the working directory */
    const char *name;           /* the workspace name, NULL: none left */
    int collision;              /* nothing to create: the directory is
                                   bound or the name taken */
    int bound;                  /* a workspace is bound to the directory */
    int existing_autodiscovered;/* ... one this rule made */
    const char *workspace_id;   /* the workspace bound, or holding the
                                   name */
} tp_ad_entry_t;

/* The entries (tp_ad_entry_t) of dirs named by tmpl; a name that nothing
 * is left of, or that an earlier directory of the list takes, is a
 * collision. */
apr_array_header_t *tp_ad_entries(apr_pool_t *p, const apr_array_header_t *dirs,
                                  const char *tmpl, const char *repo);

/* Renames between two trees of a branch (tp_vcs_file_t): for each
 * directory of gone (gone from the new tree), to[i] is the directory of
 * appeared (new in it) that holds the same files with the same content,
 * or NULL when none does (or an empty one). Each appeared directory is
 * taken once. */
void tp_ad_renames(apr_pool_t *p, const apr_array_header_t *old_files,
                   const apr_array_header_t *new_files,
                   const apr_array_header_t *gone,
                   const apr_array_header_t *appeared, const char **to);

#endif
