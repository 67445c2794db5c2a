/* What runners upload about a plan and an apply: any bytes are counted as
 * a plan JSON or refused with a 422, never a crash; the counts and the
 * error do not depend on how the bytes are read; any object jansson reads
 * (within the depth cap, without NUL bytes) is counted as a walk of
 * jansson's tree counts it.
 * The apply summary scanner finds the same summary however the log
 * arrives, and one appended to a log without one. */
#include "fuzz.h"
#include "tp_json.h"
#include "tp_plan.h"

typedef struct pieces {
    const uint8_t *data;
    size_t size, pos, step;
} pieces_t;

static apr_status_t read_pieces(void *baton, char *buf, apr_size_t len,
                                apr_size_t *got)
{
    pieces_t *pc = baton;
    size_t n = pc->step < len ? pc->step : len;

    if (n > pc->size - pc->pos) {
        n = pc->size - pc->pos;
    }
    memcpy(buf, pc->data + pc->pos, n);
    pc->pos += n;
    *got = n;
    return APR_SUCCESS;
}

static int same(const tp_plan_counts_t *a, const tp_plan_counts_t *b)
{
    return a->additions == b->additions && a->changes == b->changes
           && a->destructions == b->destructions && a->imports == b->imports;
}

static int is_string(const tp_json_t *j, const char *name, const char *want)
{
    const char *s = tp_json_gets(j, name, NULL);

    return s && strcmp(s, want) == 0;
}

/* One resource change counted from jansson's tree; 0 when the streaming
 * counter must refuse it. */
static int reference_change(const tp_json_t *rc, tp_plan_counts_t *c)
{
    tp_json_t *change = tp_json_get(rc, "change", NULL);
    tp_json_t *actions = tp_json_get(change, "actions", NULL);
    tp_json_type_e mode = tp_json_type(rc, "mode", NULL);
    const char *a[3] = {"", "", ""};
    apr_size_t i, n = tp_json_len(actions);
    int importing, managed = is_string(rc, "mode", "managed");

    if (tp_json_type(rc, NULL) != TP_JSON_OBJECT
        || (mode != TP_JSON_ABSENT && mode != TP_JSON_STRING)
        || (change && tp_json_type(change, NULL) != TP_JSON_OBJECT)
        || (actions && tp_json_type(actions, NULL) != TP_JSON_ARRAY)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!tp_json_gets(tp_json_at(actions, i), NULL)) {
            return 0;
        }
        if (i < 3) {
            a[i] = tp_json_gets(tp_json_at(actions, i), NULL);
        }
    }
    importing = tp_json_type(change, "importing", NULL) != TP_JSON_ABSENT
                && tp_json_type(change, "importing", NULL) != TP_JSON_NULL;
    if (n == 1 && !strcmp(a[0], "delete") && !managed) {
        return 1;
    }
    c->imports += importing;
    if (n == 1) {
        c->additions += !strcmp(a[0], "create");
        c->changes += !strcmp(a[0], "update");
        c->destructions += !strcmp(a[0], "delete");
    }
    else if (n == 2 && ((!strcmp(a[0], "create") && !strcmp(a[1], "delete"))
                        || (!strcmp(a[0], "delete")
                            && !strcmp(a[1], "create")))) {
        c->additions++;
        c->destructions++;
    }
    else if (n == 2 && !strcmp(a[0], "create") && !strcmp(a[1], "forget")) {
        c->additions++;
    }
    return 1;
}

/* The plan counted from jansson's tree; 0 when it is no plan. */
static int reference(const tp_json_t *doc, tp_plan_counts_t *c)
{
    tp_json_t *list = tp_json_get(doc, "resource_changes", NULL);
    tp_json_type_e t = tp_json_type(list, NULL);
    apr_size_t i;

    memset(c, 0, sizeof(*c));
    if (tp_json_type(doc, NULL) != TP_JSON_OBJECT
        || tp_json_type(doc, "format_version", NULL) != TP_JSON_STRING
        || (t != TP_JSON_ABSENT && t != TP_JSON_NULL && t != TP_JSON_ARRAY)) {
        return 0;
    }
    for (i = 0; i < tp_json_len(list); i++) {
        if (!reference_change(tp_json_at(list, i), c)) {
            return 0;
        }
    }
    return 1;
}

static void check_plan(apr_pool_t *p, const uint8_t *data, size_t size)
{
    pieces_t pc = {data, size, 0, 1 + (size ? data[size - 1] % 13 : 0)};
    tp_plan_counts_t c, pieces, ref;
    tp_json_t *doc;
    tp_err_t *err, *perr;

    err = tp_plan_count_buf(p, (const char *)data, size, &c);
    FUZZ_ASSERT(!err || err->status == 422);
    FUZZ_ASSERT(err || (c.additions >= 0 && c.changes >= 0
                        && c.destructions >= 0 && c.imports >= 0));
    FUZZ_ASSERT(err || (c.additions <= (apr_int64_t)size
                        && c.changes <= (apr_int64_t)size
                        && c.destructions <= (apr_int64_t)size
                        && c.imports <= (apr_int64_t)size));
    perr = tp_plan_count(p, read_pieces, &pc, (apr_off_t)size, &pieces);
    FUZZ_ASSERT(!err == !perr);
    FUZZ_ASSERT(err || same(&c, &pieces));
    /* the version read whole or in pieces is the same, and a version */
    FUZZ_ASSERT(err || !c.terraform_version == !pieces.terraform_version);
    FUZZ_ASSERT(err || !c.terraform_version
                || (strcmp(c.terraform_version, pieces.terraform_version) == 0
                    && strspn(c.terraform_version, "0123456789.-+abcdefghij"
                              "klmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
                       == strlen(c.terraform_version)));
    FUZZ_ASSERT(!err || strcmp(err->detail, perr->detail) == 0);
    /* jansson takes a NUL after a number for the number's end, where JSON
     * allows none; and it nests deeper than the counter does */
    doc = memchr(data, 0, size) ? NULL
          : tp_json_parse(p, (const char *)data, size, NULL);
    if (doc && !(err && strstr(err->detail, "nested too deep"))) {
        FUZZ_ASSERT(reference(doc, &ref) == !err);
        FUZZ_ASSERT(err || same(&c, &ref));
    }
}

static int scan(const uint8_t *data, size_t size, size_t step,
                tp_plan_counts_t *c)
{
    tp_apply_scan_t s;
    size_t at;

    memset(c, 0, sizeof(*c));
    tp_apply_scan_init(&s);
    for (at = 0; at < size; at += step) {
        tp_apply_scan_feed(&s, (const char *)data + at,
                           size - at < step ? size - at : step);
    }
    return tp_apply_scan_end(&s, c);
}

static void check_apply(apr_pool_t *p, const uint8_t *data, size_t size)
{
    static const char summary[] = "\nApply complete! Resources: 3 imported, "
                                  "2 added, 1 changed, 4 destroyed.\n";
    const tp_plan_counts_t want = {2, 1, 4, 3};
    tp_plan_counts_t whole, pieces;
    int found = scan(data, size, size ? size : 1, &whole);
    uint8_t *more;

    FUZZ_ASSERT(found == scan(data, size, 1 + (size ? data[0] % 7 : 0),
                              &pieces));
    FUZZ_ASSERT(!found || same(&whole, &pieces));
    FUZZ_ASSERT(!found || (whole.additions >= 0 && whole.changes >= 0
                           && whole.destructions >= 0 && whole.imports >= 0));
    if (!found) {
        more = apr_palloc(p, size + sizeof(summary));
        memcpy(more, data, size);
        memcpy(more + size, summary, sizeof(summary) - 1);
        FUZZ_ASSERT(scan(more, size + sizeof(summary) - 1, 4096, &whole));
        FUZZ_ASSERT(same(&whole, &want));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    apr_pool_create(&p, fuzz_root);
    check_plan(p, data, size);
    check_apply(p, data, size);
    apr_pool_destroy(p);
    return 0;
}
