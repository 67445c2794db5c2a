/* Autodiscovery's pure part: globs over repository paths, the directories
 * a rule matches, workspace names from templates, renames
 * (tp_autodiscovery.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "tp_autodiscovery.h"

/* ---- globs ---- */

typedef struct {
    const char *s;
    apr_size_t n;
} part_t;

/* Splits s at '/' into at most max parts; -1 when it has more. */
static int split(const char *s, part_t *parts, int max)
{
    int n = 0;
    const char *slash;

    for (;;) {
        if (n == max) {
            return -1;
        }
        slash = strchr(s, '/');
        parts[n].s = s;
        parts[n].n = slash ? (apr_size_t)(slash - s) : strlen(s);
        n++;
        if (!slash) {
            return n;
        }
        s = slash + 1;
    }
}

static int is_globstar(const part_t *pt)
{
    return pt->n == 2 && pt->s[0] == '*' && pt->s[1] == '*';
}

/* '*' and '?' within one part: the greedy match that backs up to the
 * last star, linear in practice. */
static int part_match(const part_t *pat, const part_t *str)
{
    apr_size_t pi = 0, si = 0, star = (apr_size_t)-1, mark = 0;

    while (si < str->n) {
        if (pi < pat->n && (pat->s[pi] == '?' || pat->s[pi] == str->s[si])) {
            pi++;
            si++;
        }
        else if (pi < pat->n && pat->s[pi] == '*') {
            star = pi++;
            mark = si;
        }
        else if (star != (apr_size_t)-1) {
            pi = star + 1;
            si = ++mark;
        }
        else {
            return 0;
        }
    }
    while (pi < pat->n && pat->s[pi] == '*') {
        pi++;
    }
    return pi == pat->n;
}

const char *tp_ad_pattern_check(const char *pattern)
{
    part_t parts[TP_AD_PATTERN_SEGMENTS];
    const char *c;
    int n, i;

    if (!*pattern || strlen(pattern) > TP_AD_PATTERN_MAX) {
        return "must be 1 to 500 characters";
    }
    for (c = pattern; *c; c++) {
        if (apr_iscntrl(*c) || *c == '\\' || *c == '[' || *c == ']') {
            return "may hold no control characters, '\\', '[' or ']' "
                   "(character classes and escapes are not supported)";
        }
    }
    if ((n = split(pattern, parts, TP_AD_PATTERN_SEGMENTS)) < 0) {
        return "has more than 32 parts";
    }
    for (i = 0; i < n; i++) {
        if (parts[i].n == 0) {
            return "may not start or end with '/' or hold '//'";
        }
        if ((parts[i].n == 1 && parts[i].s[0] == '.')
            || (parts[i].n == 2 && parts[i].s[0] == '.'
                && parts[i].s[1] == '.')) {
            return "may not hold '.' or '..' parts";
        }
        if (!is_globstar(&parts[i])
            && memmem(parts[i].s, parts[i].n, "**", 2)) {
            return "may hold '**' only as a whole part, as in a/**/b";
        }
    }
    return NULL;
}

int tp_ad_glob(const char *pattern, const char *path)
{
    part_t pat[TP_AD_PATTERN_SEGMENTS], str[TP_AD_PATH_SEGMENTS];
    /* ok[j]: pattern parts i.. match path parts j.., one row per i from
     * the end (next: row i + 1) */
    unsigned char next[TP_AD_PATH_SEGMENTS + 1], ok[TP_AD_PATH_SEGMENTS + 1];
    int np = split(pattern, pat, TP_AD_PATTERN_SEGMENTS);
    int ns = split(path, str, TP_AD_PATH_SEGMENTS);
    int i, j;

    if (np < 0 || ns < 0) {
        return 0;
    }
    for (j = 0; j <= ns; j++) {
        next[j] = j == ns;
    }
    for (i = np - 1; i >= 0; i--) {
        for (j = ns; j >= 0; j--) {
            if (is_globstar(&pat[i])) {
                ok[j] = i == np - 1 ? j < ns
                                    : next[j] || (j < ns && ok[j + 1]);
            }
            else {
                ok[j] = j < ns && next[j + 1] && part_match(&pat[i], &str[j]);
            }
        }
        memcpy(next, ok, (apr_size_t)ns + 1);
    }
    return next[0];
}

/* ---- the directories of a tree ---- */

static const char *dir_of(apr_pool_t *p, const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? apr_pstrndup(p, path, (apr_size_t)(slash - path)) : "";
}

/* 1 when an ignore pattern matches path or a directory above it. */
static int ignored(apr_pool_t *p, const char *path,
                   const apr_array_header_t *ignores)
{
    const char *at = path;
    int i;

    while (*at) {
        for (i = 0; ignores && i < ignores->nelts; i++) {
            if (tp_ad_glob(APR_ARRAY_IDX(ignores, i, const char *), at)) {
                return 1;
            }
        }
        at = dir_of(p, at);
    }
    return 0;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts a (const char *) and keeps each string once. */
static void sort_unique(apr_array_header_t *a)
{
    const char **s = (const char **)a->elts;
    int i, n = 0;

    qsort(s, (size_t)a->nelts, sizeof(*s), by_string);
    for (i = 0; i < a->nelts; i++) {
        if (n == 0 || strcmp(s[n - 1], s[i]) != 0) {
            s[n++] = s[i];
        }
    }
    a->nelts = n;
}

apr_array_header_t *tp_ad_dirs(apr_pool_t *p, const apr_array_header_t *files,
                               const char *pattern,
                               const apr_array_header_t *ignores)
{
    apr_array_header_t *dirs = apr_array_make(p, 8, sizeof(const char *));
    const char *path;
    int i;

    for (i = 0; i < files->nelts; i++) {
        path = APR_ARRAY_IDX(files, i, tp_vcs_file_t).path;
        if (tp_ad_glob(pattern, path) && !ignored(p, path, ignores)) {
            APR_ARRAY_PUSH(dirs, const char *) = dir_of(p, path);
        }
    }
    sort_unique(dirs);
    return dirs;
}

/* ---- names ---- */

static const char *const placeholders[] = {"{path}", "{dir}", "{repo}",
                                           NULL};

/* The placeholder at s, or -1. */
static int placeholder_at(const char *s)
{
    int k;

    for (k = 0; placeholders[k]; k++) {
        if (strncmp(s, placeholders[k], strlen(placeholders[k])) == 0) {
            return k;
        }
    }
    return -1;
}

const char *tp_ad_template_check(const char *tmpl)
{
    const char *c;
    int k;

    if (!*tmpl || strlen(tmpl) > TP_AD_TEMPLATE_MAX) {
        return "must be 1 to 200 characters";
    }
    for (c = tmpl; *c; c++) {
        if (*c == '{') {
            if ((k = placeholder_at(c)) < 0) {
                return "knows only the placeholders {path}, {dir} and "
                       "{repo}";
            }
            c += strlen(placeholders[k]) - 1;
        }
        else if (*c == '}') {
            return "has a '}' without its placeholder";
        }
    }
    return NULL;
}

const char *tp_ad_name(apr_pool_t *p, const char *tmpl, const char *dir,
                       const char *repo)
{
    const char *last = strrchr(dir, '/');
    const char *values[3];
    char *out = apr_palloc(p, TP_AD_NAME_MAX + 1);
    const char *c, *v;
    apr_size_t n = 0;
    int k;

    values[0] = *dir ? dir : "root";
    values[1] = last ? last + 1 : *dir ? dir : "root";
    values[2] = repo;
    for (c = tmpl; *c && n < TP_AD_NAME_MAX; c++) {
        k = placeholder_at(c);
        v = k < 0 ? apr_pstrndup(p, c, 1) : values[k];
        c += k < 0 ? 0 : strlen(placeholders[k]) - 1;
        for (; *v && n < TP_AD_NAME_MAX; v++) {
            char ch = apr_isalnum(*v) || *v == '_' ? *v : '-';

            /* no '-' first, none after another */
            if (ch != '-' || (n > 0 && out[n - 1] != '-')) {
                out[n++] = ch;
            }
        }
    }
    while (n > 0 && out[n - 1] == '-') {
        n--;
    }
    out[n] = '\0';
    return n ? out : NULL;
}

apr_array_header_t *tp_ad_entries(apr_pool_t *p, const apr_array_header_t *dirs,
                                  const char *tmpl, const char *repo)
{
    apr_array_header_t *out = apr_array_make(p, dirs->nelts + 1,
                                             sizeof(tp_ad_entry_t));
    apr_hash_t *taken = apr_hash_make(p);
    tp_ad_entry_t *e;
    int i;

    for (i = 0; i < dirs->nelts; i++) {
        e = apr_array_push(out);
        memset(e, 0, sizeof(*e));
        e->dir = APR_ARRAY_IDX(dirs, i, const char *);
        e->name = tp_ad_name(p, tmpl, e->dir, repo);
        if (!e->name || apr_hash_get(taken, e->name, APR_HASH_KEY_STRING)) {
            e->collision = 1;
        }
        else {
            apr_hash_set(taken, e->name, APR_HASH_KEY_STRING, e);
        }
    }
    return out;
}

/* ---- renames ---- */

/* What dir holds: each file under it as "relative path TAB sha", sorted,
 * one per line; "" when nothing. */
static const char *contents(apr_pool_t *p, const apr_array_header_t *files,
                            const char *dir)
{
    apr_array_header_t *lines = apr_array_make(p, 8, sizeof(const char *));
    apr_size_t dn = strlen(dir);
    const tp_vcs_file_t *f;
    int i;

    for (i = 0; i < files->nelts; i++) {
        f = &APR_ARRAY_IDX(files, i, tp_vcs_file_t);
        if (dn == 0 || (strncmp(f->path, dir, dn) == 0
                        && f->path[dn] == '/')) {
            APR_ARRAY_PUSH(lines, const char *) =
                apr_pstrcat(p, f->path + (dn ? dn + 1 : 0), "\t", f->sha,
                            NULL);
        }
    }
    qsort(lines->elts, (size_t)lines->nelts, sizeof(const char *), by_string);
    return apr_array_pstrcat(p, lines, '\n');
}

void tp_ad_renames(apr_pool_t *p, const apr_array_header_t *old_files,
                   const apr_array_header_t *new_files,
                   const apr_array_header_t *gone,
                   const apr_array_header_t *appeared, const char **to)
{
    const char **fresh = apr_pcalloc(p, sizeof(char *) * (appeared->nelts
                                                            + 1));
    const char *was;
    int i, j;

    for (j = 0; j < appeared->nelts; j++) {
        fresh[j] = contents(p, new_files, APR_ARRAY_IDX(appeared, j,
                                                        const char *));
    }
    for (i = 0; i < gone->nelts; i++) {
        to[i] = NULL;
        was = contents(p, old_files, APR_ARRAY_IDX(gone, i, const char *));
        for (j = 0; *was && j < appeared->nelts; j++) {
            if (fresh[j] && strcmp(was, fresh[j]) == 0) {
                to[i] = APR_ARRAY_IDX(appeared, j, const char *);
                fresh[j] = NULL;
                break;
            }
        }
    }
}
