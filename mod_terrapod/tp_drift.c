/* Ignore rules are split into dot-separated segments once (a '.' inside
 * brackets, as in a for_each key, separates nothing) and matched segment
 * by segment with a glob whose wildcards are deterministic but for `*`,
 * so the classic one-backtrack-point matcher stays linear per star. The
 * plan is read with jansson: a drift run's plan is bounded by
 * TP_DRIFT_PLAN_MAX and attribute paths need the before/after trees. */
#include <string.h>
#include <apr_strings.h>
#include <apr_hash.h>
#include "tp_drift.h"
#include "tp_json.h"

typedef struct rule {
    apr_array_header_t *segs;   /* of const char * */
    int naddr;                  /* the leading segments naming a resource */
} rule_t;

/* Splits s at the dots outside brackets and quotes; NULL when a bracket
 * or quote is left open, a bracket nests, or a segment is empty. */
static apr_array_header_t *split(apr_pool_t *p, const char *s)
{
    apr_array_header_t *segs = apr_array_make(p, 8, sizeof(const char *));
    const char *start = s, *c;
    int bracket = 0, quote = 0;

    for (c = s;; c++) {
        if (quote) {
            if (!*c) {
                return NULL;
            }
            if (*c == '\\' && c[1]) {
                c++;
            }
            else if (*c == '"') {
                quote = 0;
            }
            continue;
        }
        if (*c == '"' && bracket) {
            quote = 1;
        }
        else if (*c == '[') {
            if (bracket) {
                return NULL;
            }
            bracket = 1;
        }
        else if (*c == ']') {
            if (!bracket) {
                return NULL;
            }
            bracket = 0;
        }
        else if ((*c == '.' && !bracket) || !*c) {
            if (c == start || bracket) {
                return NULL;
            }
            APR_ARRAY_PUSH(segs, const char *) = apr_pstrmemdup(p, start,
                                                                c - start);
            if (!*c) {
                return segs;
            }
            start = c + 1;
        }
    }
}

/* How many leading segments name the resource: module.NAME pairs, then
 * data. when it is a data source, then TYPE.NAME; 0 when too few. */
static int address_segments(const apr_array_header_t *segs)
{
    const char **s = (const char **)segs->elts;
    int i = 0, n = segs->nelts;

    while (i + 2 < n && strcmp(s[i], "module") == 0) {
        i += 2;
    }
    if (i < n && strcmp(s[i], "data") == 0) {
        i++;
    }
    return i + 2 <= n ? i + 2 : 0;
}

static int parse_rule(apr_pool_t *p, const char *text, rule_t *r)
{
    const char *c;

    for (c = text; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            return 0;
        }
    }
    r->segs = split(p, text);
    return r->segs && (r->naddr = address_segments(r->segs)) > 0;
}

tp_err_t *tp_drift_rules_check(apr_pool_t *p, const apr_array_header_t *rules)
{
    rule_t r;
    int i;

    if (rules->nelts > TP_DRIFT_RULES_MAX) {
        return tp_err(p, 422, "drift-ignore-rules holds at most %d rules",
                      TP_DRIFT_RULES_MAX);
    }
    for (i = 0; i < rules->nelts; i++) {
        const char *text = APR_ARRAY_IDX(rules, i, const char *);
        apr_size_t len = strlen(text);

        if (len == 0 || len > TP_DRIFT_RULE_LEN_MAX) {
            return tp_err(p, 422, "drift-ignore-rules[%d] must be 1 to %d "
                          "characters", i, TP_DRIFT_RULE_LEN_MAX);
        }
        if (!parse_rule(p, text, &r)) {
            return tp_err(p, 422, "drift-ignore-rules[%d] is not a resource "
                          "address with an optional attribute path "
                          "(TYPE.NAME[.attribute...], module.NAME. and "
                          "data. prefixes, balanced brackets, no spaces)",
                          i);
        }
    }
    return NULL;
}

/* A pattern segment against a segment: `*` any run of characters, `[*]`
 * one bracketed index, anything else itself. */
static int glob(const char *pat, const char *str)
{
    const char *star_p = NULL, *star_s = NULL, *close;

    while (*str) {
        if (strncmp(pat, "[*]", 3) == 0) {
            if (*str == '[' && (close = strchr(str, ']')) != NULL) {
                pat += 3;
                str = close + 1;
                continue;
            }
        }
        else if (*pat == '*') {
            star_p = ++pat;
            star_s = str;
            continue;
        }
        else if (*pat == *str) {
            pat++;
            str++;
            continue;
        }
        if (!star_p) {
            return 0;
        }
        pat = star_p;
        str = ++star_s;
    }
    while (*pat == '*') {
        pat++;
    }
    return *pat == '\0';
}

/* seg without the bracketed indices that end it ("config[0]": "config"),
 * NULL when it has none. */
static const char *unindexed(apr_pool_t *p, const char *seg)
{
    apr_size_t n = strlen(seg);

    while (n && seg[n - 1] == ']') {
        while (n && seg[n - 1] != '[') {
            n--;
        }
        if (n) {
            n--;
        }
    }
    return n && n < strlen(seg) ? apr_pstrmemdup(p, seg, n) : NULL;
}

static int rule_matches(apr_pool_t *p, const rule_t *r,
                        const apr_array_header_t *addr,
                        const apr_array_header_t *path)
{
    const char **rs = (const char **)r->segs->elts, *bare;
    int i, nattr = r->segs->nelts - r->naddr;

    if (r->naddr != addr->nelts || (!path && nattr)
        || (path && (!nattr || nattr > path->nelts))) {
        return 0;
    }
    for (i = 0; i < r->naddr; i++) {
        if (!glob(rs[i], APR_ARRAY_IDX(addr, i, const char *))) {
            return 0;
        }
    }
    for (i = 0; i < nattr; i++) {
        const char *seg = APR_ARRAY_IDX(path, i, const char *);

        if (!glob(rs[r->naddr + i], seg)
            && (!(bare = unindexed(p, seg)) || !glob(rs[r->naddr + i], bare))) {
            return 0;
        }
    }
    return 1;
}

int tp_drift_rule_matches(apr_pool_t *p, const char *rule,
                          const char *address, const char *path)
{
    apr_array_header_t *addr = split(p, address), *segs = NULL;
    rule_t r;

    if (path && !(segs = split(p, path))) {
        return 0;
    }
    return addr && parse_rule(p, rule, &r) && rule_matches(p, &r, addr, segs);
}

/* ---- the plan ---- */

typedef struct classify {
    apr_pool_t *p;
    rule_t *rules;
    int nrules;
    apr_hash_t *all, *drifted;  /* addresses */
} classify_t;

static int same(apr_pool_t *p, const tp_json_t *a, const tp_json_t *b)
{
    return tp_json_type(a, NULL) == tp_json_type(b, NULL)
           && (!a || strcmp(tp_json_dump(a, p), tp_json_dump(b, p)) == 0);
}

static void diff(classify_t *c, const tp_json_t *before, const tp_json_t *after,
                 const tp_json_t *unknown, const char *path,
                 apr_array_header_t *out);

typedef struct walk {
    classify_t *c;
    const tp_json_t *before, *after, *unknown;
    const char *path;
    apr_array_header_t *out;
    apr_hash_t *seen;
} walk_t;

static int member(void *baton, const char *key, tp_json_t *unused)
{
    walk_t *w = baton;

    (void)unused;
    if (apr_hash_get(w->seen, key, APR_HASH_KEY_STRING)) {
        return 0;
    }
    apr_hash_set(w->seen, key, APR_HASH_KEY_STRING, key);
    diff(w->c, tp_json_get(w->before, key, NULL),
         tp_json_get(w->after, key, NULL),
         tp_json_type(w->unknown, NULL) == TP_JSON_OBJECT
             ? tp_json_get(w->unknown, key, NULL) : NULL,
         *w->path ? apr_pstrcat(w->c->p, w->path, ".", key, NULL) : key,
         w->out);
    return 0;
}

/* Adds to out the attribute paths whose value differs between before and
 * after or that after_unknown marks as known only after apply. */
static void diff(classify_t *c, const tp_json_t *before, const tp_json_t *after,
                 const tp_json_t *unknown, const char *path,
                 apr_array_header_t *out)
{
    tp_json_type_e tb = tp_json_type(before, NULL);
    tp_json_type_e ta = tp_json_type(after, NULL);
    tp_json_type_e tu = tp_json_type(unknown, NULL);
    apr_size_t i, n;

    if (tu == TP_JSON_BOOL && tp_json_getb(unknown, NULL)) {
        APR_ARRAY_PUSH(out, const char *) = path;
    }
    else if (tb == TP_JSON_OBJECT && ta == TP_JSON_OBJECT) {
        walk_t w = {c, before, after, unknown, path, out, apr_hash_make(c->p)};

        tp_json_each(before, member, &w);
        tp_json_each(after, member, &w);
        if (tu == TP_JSON_OBJECT) {
            tp_json_each(unknown, member, &w);
        }
    }
    else if (tb == TP_JSON_ARRAY && ta == TP_JSON_ARRAY
             && (n = tp_json_len(before)) == tp_json_len(after)) {
        for (i = 0; i < n; i++) {
            diff(c, tp_json_at(before, i), tp_json_at(after, i),
                 tu == TP_JSON_ARRAY ? tp_json_at(unknown, i) : NULL,
                 apr_psprintf(c->p, "%s[%" APR_SIZE_T_FMT "]", path, i), out);
        }
    }
    else if (!same(c->p, before, after)) {
        APR_ARRAY_PUSH(out, const char *) = path;
    }
}

/* Whether the rules silence the change of the resource at addr doing
 * actions ("update" alone is the in-place update). */
static int silenced(classify_t *c, const apr_array_header_t *addr,
                    const char *actions, const tp_json_t *change)
{
    apr_array_header_t *paths, *segs;
    int i, j, any;

    for (i = 0; i < c->nrules; i++) {
        if (rule_matches(c->p, &c->rules[i], addr, NULL)) {
            return 1;
        }
    }
    if (!c->nrules || strcmp(actions, "update") != 0) {
        return 0;
    }
    paths = apr_array_make(c->p, 8, sizeof(const char *));
    diff(c, tp_json_get(change, "before", NULL),
         tp_json_get(change, "after", NULL),
         tp_json_get(change, "after_unknown", NULL), "", paths);
    for (j = 0; j < paths->nelts; j++) {
        segs = split(c->p, APR_ARRAY_IDX(paths, j, const char *));
        for (i = 0, any = 0; segs && i < c->nrules && !any; i++) {
            any = rule_matches(c->p, &c->rules[i], addr, segs);
        }
        if (!any) {
            return 0;
        }
    }
    return paths->nelts > 0;
}

/* One entry of resource_changes (listed) or resource_drift. */
static tp_err_t *entry(classify_t *c, const char *list, apr_size_t at,
                       const tp_json_t *rc, int listed)
{
    const char *address = tp_json_gets(rc, "address", NULL), *actions = "";
    const char *mode = tp_json_gets(rc, "mode", NULL);
    tp_json_t *change = tp_json_get(rc, "change", NULL);
    tp_json_t *acts = tp_json_get(change, "actions", NULL);
    apr_array_header_t *addr;
    apr_size_t i;

    if (tp_json_type(rc, NULL) != TP_JSON_OBJECT || !address
        || !(addr = split(c->p, address))
        || tp_json_type(change, NULL) != TP_JSON_OBJECT
        || tp_json_type(acts, NULL) != TP_JSON_ARRAY) {
        return tp_err(c->p, 422, "the plan JSON is malformed: %s[%"
                      APR_SIZE_T_FMT "] is not a resource change with an "
                      "address and change.actions", list, at);
    }
    for (i = 0; i < tp_json_len(acts); i++) {
        const char *a = tp_json_gets(tp_json_at(acts, i), NULL);

        if (!a) {
            return tp_err(c->p, 422, "the plan JSON is malformed: an action "
                          "of %s[%" APR_SIZE_T_FMT "] is not a string",
                          list, at);
        }
        actions = i ? apr_pstrcat(c->p, actions, ",", a, NULL) : a;
    }
    if (!mode || strcmp(mode, "managed") != 0) {
        return NULL;
    }
    if (listed) {
        apr_hash_set(c->all, address, APR_HASH_KEY_STRING, address);
    }
    if (!*actions || !strcmp(actions, "no-op") || !strcmp(actions, "read")) {
        return NULL;
    }
    if (!silenced(c, addr, actions, change)) {
        apr_hash_set(c->drifted, address, APR_HASH_KEY_STRING, address);
    }
    return NULL;
}

static tp_err_t *entries(classify_t *c, const tp_json_t *doc,
                         const char *list, int listed)
{
    tp_json_t *l = tp_json_get(doc, list, NULL);
    tp_json_type_e t = tp_json_type(l, NULL);
    tp_err_t *err;
    apr_size_t i;

    if (t != TP_JSON_ABSENT && t != TP_JSON_NULL && t != TP_JSON_ARRAY) {
        return tp_err(c->p, 422, "the plan JSON is malformed: %s is not an "
                      "array", list);
    }
    for (i = 0; i < tp_json_len(l); i++) {
        if ((err = entry(c, list, i, tp_json_at(l, i), listed)) != NULL) {
            return err;
        }
    }
    return NULL;
}

tp_err_t *tp_drift_classify(apr_pool_t *p, const char *buf, apr_size_t len,
                            const apr_array_header_t *rules,
                            tp_drift_result_t *out)
{
    classify_t c = {p, NULL, 0, apr_hash_make(p), apr_hash_make(p)};
    const char *why = NULL;
    tp_json_t *doc = tp_json_parse(p, buf, len, &why);
    apr_hash_index_t *hi;
    tp_err_t *err;
    int i;

    memset(out, 0, sizeof(*out));
    if (tp_json_type(doc, NULL) != TP_JSON_OBJECT
        || tp_json_type(doc, "format_version", NULL) != TP_JSON_STRING) {
        return tp_err(p, 422, "the plan JSON is malformed: %s",
                      why ? why : "not an object with a format_version");
    }
    c.rules = apr_pcalloc(p, sizeof(rule_t) * (rules ? rules->nelts + 1 : 1));
    for (i = 0; rules && i < rules->nelts; i++) {
        /* a rule stored before the grammar was checked is left out */
        c.nrules += parse_rule(p, APR_ARRAY_IDX(rules, i, const char *),
                               &c.rules[c.nrules]);
    }
    if ((err = entries(&c, doc, "resource_drift", 0)) != NULL
        || (err = entries(&c, doc, "resource_changes", 1)) != NULL) {
        return err;
    }
    out->resources_drifted = apr_hash_count(c.drifted);
    for (hi = apr_hash_first(p, c.all); hi; hi = apr_hash_next(hi)) {
        const void *key;

        apr_hash_this(hi, &key, NULL, NULL);
        out->resources_undrifted += !apr_hash_get(c.drifted, key,
                                                  APR_HASH_KEY_STRING);
    }
    out->drifted = out->resources_drifted > 0;
    return NULL;
}
