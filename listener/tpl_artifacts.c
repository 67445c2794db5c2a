/* Files a plan leaves for its apply (a generated archive, a local-exec
 * scratch file): the working directory is fingerprinted after init, what
 * plan added or changed is packed after it, and the apply phase moves the
 * unpacked files into its own fresh directory after its own init. */
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include "tpl.h"

/* Handled by other artifacts, or terraform's own bookkeeping. */
static int excluded(const char *rel)
{
    static const char *const names[] = {
        "tfplan", ".terraform.lock.hcl", ".terraform/terraform.tfstate",
        "terraform.tfstate", "terraform.tfstate.backup", NULL
    };
    int i;

    for (i = 0; names[i]; i++) {
        if (strcmp(rel, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

typedef void (*visit_fn)(void *baton, const char *rel, const struct stat *st);

/* Every regular file under root (symlinks are not followed), by its path
 * relative to root. */
static void walk(apr_pool_t *p, const char *root, const char *rel,
                 visit_fn fn, void *baton)
{
    const char *dir = *rel ? apr_pstrcat(p, root, "/", rel, NULL) : root;
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;

    if (!d) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        const char *sub;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
            continue;
        }
        sub = *rel ? apr_pstrcat(p, rel, "/", de->d_name, NULL)
                   : apr_pstrdup(p, de->d_name);
        if (lstat(apr_pstrcat(p, root, "/", sub, NULL), &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            walk(p, root, sub, fn, baton);
        } else if (S_ISREG(st.st_mode)) {
            fn(baton, sub, &st);
        }
    }
    closedir(d);
}

static const char *fingerprint(apr_pool_t *p, const struct stat *st)
{
    return apr_psprintf(p, "%" APR_OFF_T_FMT ":%ld.%09ld",
                        (apr_off_t)st->st_size, (long)st->st_mtim.tv_sec,
                        (long)st->st_mtim.tv_nsec);
}

typedef struct {
    apr_pool_t *p;
    apr_hash_t *seen;
    apr_array_header_t *changed;
} snap_t;

static void remember(void *baton, const char *rel, const struct stat *st)
{
    snap_t *s = baton;

    apr_hash_set(s->seen, rel, APR_HASH_KEY_STRING, fingerprint(s->p, st));
}

static void compare(void *baton, const char *rel, const struct stat *st)
{
    snap_t *s = baton;
    const char *was = apr_hash_get(s->seen, rel, APR_HASH_KEY_STRING);

    if (!excluded(rel) && (!was || strcmp(was, fingerprint(s->p, st)))) {
        APR_ARRAY_PUSH(s->changed, const char *) = rel;
    }
}

apr_hash_t *tpl_snapshot(apr_pool_t *p, const char *root)
{
    snap_t s = {p, apr_hash_make(p), NULL};

    walk(p, root, "", remember, &s);
    return s.seen;
}

apr_array_header_t *tpl_snapshot_changed(apr_pool_t *p, const char *root,
                                         apr_hash_t *before)
{
    snap_t s = {p, before, apr_array_make(p, 8, sizeof(const char *))};

    walk(p, root, "", compare, &s);
    return s.changed;
}

/* mkdir -p of the directories above rel, under root. */
static int make_parents(apr_pool_t *p, const char *root, const char *rel)
{
    char *path = apr_pstrcat(p, root, "/", rel, NULL);
    char *slash = path + strlen(root) + 1;

    while ((slash = strchr(slash, '/')) != NULL) {
        *slash = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            return -1;
        }
        *slash++ = '/';
    }
    return 0;
}

typedef struct {
    apr_pool_t *p;
    const char *from, *to;
    int moved;
    const char *failed;
} move_t;

static void move_one(void *baton, const char *rel, const struct stat *st)
{
    move_t *m = baton;

    (void)st;
    if (m->failed) {
        return;
    }
    if (make_parents(m->p, m->to, rel) != 0
        || rename(apr_pstrcat(m->p, m->from, "/", rel, NULL),
                  apr_pstrcat(m->p, m->to, "/", rel, NULL)) != 0) {
        m->failed = apr_psprintf(m->p, "%s: %s", rel, strerror(errno));
        return;
    }
    m->moved++;
}

tp_err_t *tpl_artifacts_restore(apr_pool_t *p, const char *tarball,
                                const char *scratch, const char *wd,
                                const tp_archive_limits_t *limits, int *count)
{
    tp_archive_info_t info;
    move_t m = {p, scratch, wd, 0, NULL};
    tp_err_t *err;

    *count = 0;
    if (mkdir(scratch, 0700) != 0) {
        return tp_err(p, 500, "mkdir %s: %s", scratch, strerror(errno));
    }
    if ((err = tp_archive_extract(p, tarball, scratch, limits, &info))
        != NULL) {
        return err;
    }
    walk(p, scratch, "", move_one, &m);
    *count = m.moved;
    return m.failed ? tp_err(p, 500, "restoring the plan's files failed at "
                             "%s", m.failed) : NULL;
}
