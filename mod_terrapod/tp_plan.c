/* Plan JSON counted by a pull parser that keeps nothing but the counts: a
 * plan of any size costs one read buffer and at most TP_PLAN_DEPTH_MAX
 * stack frames, and every byte is checked against the JSON grammar. The
 * JSON rendering of a state is checked by the same parser. Apply
 * summaries are found by a line scanner. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_file_io.h>
#include "tp_plan.h"

#define READ_CHUNK 16384
/* names are compared on this many bytes: the longest is "resource_changes" */
#define KEY_BYTES 32

/* ---- the JSON scanner ---- */

typedef struct scan {
    apr_pool_t *p;
    tp_plan_read_fn *read;
    void *baton;
    char *buf;
    apr_size_t pos, len;
    apr_off_t done;             /* bytes before buf */
    apr_off_t max;
    int eof;
    int io;                     /* the reader failed, not the input */
    const char *why;            /* the first error */
} scan_t;

/* Records why and stops the scan; every caller then returns 0 at once. */
static int fail(scan_t *s, const char *why)
{
    if (!s->why) {
        s->why = apr_psprintf(s->p, "%s at byte %" APR_OFF_T_FMT, why,
                              s->done + (apr_off_t)s->pos);
    }
    s->eof = 1;
    s->pos = s->len;
    return 0;
}

/* The next byte, not taken; -1 at the end or after an error. */
static int peek(scan_t *s)
{
    apr_size_t got = 0;
    apr_status_t rv;

    if (s->pos < s->len) {
        return (unsigned char)s->buf[s->pos];
    }
    if (s->eof) {
        return -1;
    }
    s->done += (apr_off_t)s->len;
    s->pos = s->len = 0;
    rv = s->read(s->baton, s->buf, READ_CHUNK, &got);
    if (rv != APR_SUCCESS) {
        s->io = 1;
        fail(s, apr_psprintf(s->p, "reading failed (%d)", rv));
        return -1;
    }
    if (got == 0) {
        s->eof = 1;
        return -1;
    }
    if ((apr_off_t)got > s->max - s->done) {
        fail(s, apr_psprintf(s->p, "more than %" APR_OFF_T_FMT " bytes",
                             s->max));
        return -1;
    }
    s->len = got;
    return (unsigned char)s->buf[0];
}

static int take(scan_t *s)
{
    int c = peek(s);

    if (c >= 0) {
        s->pos++;
    }
    return c;
}

/* Skips whitespace; the byte after it, not taken. */
static int ws(scan_t *s)
{
    int c;

    while ((c = peek(s)) == ' ' || c == '\t' || c == '\n' || c == '\r') {
        s->pos++;
    }
    return c;
}

static int expect(scan_t *s, int ch, const char *why)
{
    if (ws(s) != ch) {
        return fail(s, why);
    }
    s->pos++;
    return 1;
}

static int hex(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One escape after its backslash, decoded; a \u escape beyond ASCII reads
 * as 0xFF, which no compared name holds. -1 when malformed. */
static int escape(scan_t *s)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    int c = take(s), i, v = 0, h;
    const char *at = c > 0 ? strchr(from, c) : NULL;

    if (at) {
        return to[at - from];
    }
    if (c != 'u') {
        return -1;
    }
    for (i = 0; i < 4; i++) {
        if ((h = hex(take(s))) < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    return v < 0x80 ? v : 0xFF;
}

/* A string; when name is not NULL its first KEY_BYTES bytes (escapes
 * decoded) go there and its length to *len. */
static int string(scan_t *s, char *name, apr_size_t *len)
{
    apr_size_t n = 0;
    int c;

    if (ws(s) != '"') {
        return fail(s, "expected a string");
    }
    s->pos++;
    while ((c = take(s)) != '"') {
        if (c < 0) {
            return fail(s, "unterminated string");
        }
        if (c < 0x20) {
            return fail(s, "control character in a string");
        }
        if (c == '\\' && (c = escape(s)) < 0) {
            return fail(s, "malformed escape in a string");
        }
        if (name && n < KEY_BYTES) {
            name[n] = (char)c;
        }
        n++;
    }
    if (len) {
        *len = n;
    }
    return 1;
}

static int is(const char *name, apr_size_t len, const char *want)
{
    return len == strlen(want) && len <= KEY_BYTES
           && memcmp(name, want, len) == 0;
}

static int digits(scan_t *s)
{
    int n = 0;

    while (peek(s) >= '0' && peek(s) <= '9') {
        s->pos++;
        n++;
    }
    return n;
}

static int number(scan_t *s)
{
    int c;

    if (peek(s) == '-') {
        s->pos++;
    }
    if (peek(s) == '0') {
        s->pos++;
    }
    else if (!digits(s)) {
        return fail(s, "malformed number");
    }
    if (peek(s) == '.') {
        s->pos++;
        if (!digits(s)) {
            return fail(s, "malformed number");
        }
    }
    if ((c = peek(s)) == 'e' || c == 'E') {
        s->pos++;
        if ((c = peek(s)) == '+' || c == '-') {
            s->pos++;
        }
        if (!digits(s)) {
            return fail(s, "malformed number");
        }
    }
    return 1;
}

static int literal(scan_t *s, const char *word)
{
    for (; *word; word++) {
        if (take(s) != *word) {
            return fail(s, "malformed literal");
        }
    }
    return 1;
}

/* What a container does with each item: a member of an object (its name
 * and the length of the name given) or an element of an array (name
 * NULL); the value starts at the next non-space byte, at depth. */
typedef int item_fn(scan_t *s, void *ctx, const char *name, apr_size_t len,
                    int depth);

static int value(scan_t *s, int depth);

/* An object (open '{') or an array ('['), each item given to fn, or
 * checked and skipped without one. */
static int container(scan_t *s, int depth, int open, item_fn *fn,
                     void *ctx)
{
    int object = open == '{', close = object ? '}' : ']', c;
    char name[KEY_BYTES];
    apr_size_t len = 0;

    if (depth > TP_PLAN_DEPTH_MAX) {
        return fail(s, "nested too deep");
    }
    if (!expect(s, open, object ? "expected an object"
                                : "expected an array")) {
        return 0;
    }
    if (ws(s) == close) {
        s->pos++;
        return 1;
    }
    for (;;) {
        if ((object && (!string(s, name, &len)
                        || !expect(s, ':', "expected ':'")))
            || !(fn ? fn(s, ctx, object ? name : NULL, len, depth + 1)
                    : value(s, depth + 1))) {
            return 0;
        }
        if ((c = ws(s)) != ',' && c != close) {
            return fail(s, object ? "expected ',' or '}'"
                                  : "expected ',' or ']'");
        }
        s->pos++;
        if (c == close) {
            return 1;
        }
    }
}

static int object(scan_t *s, int depth, item_fn *fn, void *ctx)
{
    return container(s, depth, '{', fn, ctx);
}

static int array(scan_t *s, int depth, item_fn *fn, void *ctx)
{
    return container(s, depth, '[', fn, ctx);
}

/* Any value, checked and skipped. */
static int value(scan_t *s, int depth)
{
    int c = ws(s);

    switch (c) {
    case '{':
        return object(s, depth, NULL, NULL);
    case '[':
        return array(s, depth, NULL, NULL);
    case '"':
        return string(s, NULL, NULL);
    case 't':
        return literal(s, "true");
    case 'f':
        return literal(s, "false");
    case 'n':
        return literal(s, "null");
    case -1:
        return fail(s, "unexpected end");
    default:
        return c == '-' || (c >= '0' && c <= '9') ? number(s)
               : fail(s, "unexpected character");
    }
}

/* ---- what a plan JSON holds ---- */

typedef enum {
    ACT_CREATE, ACT_UPDATE, ACT_DELETE, ACT_FORGET, ACT_NONE
} action_e;

typedef struct change {
    action_e actions[2];
    int nactions;               /* 3: more than two, none known */
    int managed;                /* mode "managed", not a data source */
    int importing;
} change_t;

typedef struct plan {
    tp_plan_counts_t counts;
    int has_version;
} plan_t;

static action_e action_of(const char *name, apr_size_t len)
{
    return is(name, len, "create") ? ACT_CREATE
           : is(name, len, "update") ? ACT_UPDATE
           : is(name, len, "delete") ? ACT_DELETE
           : is(name, len, "forget") ? ACT_FORGET : ACT_NONE;
}

/* As terraform's plan summary counts (jsonformat/plan.go): deleted data
 * sources are left out altogether. */
static void tally(tp_plan_counts_t *c, const change_t *rc)
{
    action_e a = rc->actions[0], b = rc->actions[1];

    if (rc->nactions == 1 && a == ACT_DELETE && !rc->managed) {
        return;
    }
    c->imports += rc->importing;
    if (rc->nactions == 1) {
        c->additions += a == ACT_CREATE;
        c->changes += a == ACT_UPDATE;
        c->destructions += a == ACT_DELETE;
    }
    else if (rc->nactions == 2
             && ((a == ACT_CREATE && b == ACT_DELETE)
                 || (a == ACT_DELETE && b == ACT_CREATE))) {
        c->additions++;
        c->destructions++;
    }
    else if (rc->nactions == 2 && a == ACT_CREATE && b == ACT_FORGET) {
        c->additions++;
    }
}

static int action(scan_t *s, void *ctx, const char *unused,
                  apr_size_t ulen, int depth)
{
    change_t *rc = ctx;
    char name[KEY_BYTES];
    apr_size_t len;

    (void)unused; (void)ulen; (void)depth;
    if (ws(s) != '"') {
        return fail(s, "an action is not a string");
    }
    if (!string(s, name, &len)) {
        return 0;
    }
    if (rc->nactions < 2) {
        rc->actions[rc->nactions] = action_of(name, len);
    }
    if (rc->nactions < 3) {
        rc->nactions++;
    }
    return 1;
}

static int change_member(scan_t *s, void *ctx, const char *name,
                         apr_size_t len, int depth)
{
    change_t *rc = ctx;

    if (is(name, len, "actions")) {
        rc->nactions = 0;
        if (ws(s) != '[') {
            return fail(s, "actions is not an array");
        }
        return array(s, depth, action, rc);
    }
    if (is(name, len, "importing")) {
        rc->importing = ws(s) != 'n';
    }
    return value(s, depth);
}

static int resource_member(scan_t *s, void *ctx, const char *name,
                           apr_size_t len, int depth)
{
    change_t *rc = ctx;
    char mode[KEY_BYTES];
    apr_size_t mlen;

    if (is(name, len, "mode")) {
        if (ws(s) != '"') {
            return fail(s, "mode is not a string");
        }
        if (!string(s, mode, &mlen)) {
            return 0;
        }
        rc->managed = is(mode, mlen, "managed");
        return 1;
    }
    if (is(name, len, "change")) {
        if (ws(s) != '{') {
            return fail(s, "change is not an object");
        }
        rc->nactions = rc->importing = 0;
        return object(s, depth, change_member, rc);
    }
    return value(s, depth);
}

static int resource_change(scan_t *s, void *ctx, const char *unused,
                           apr_size_t ulen, int depth)
{
    change_t rc;

    (void)unused; (void)ulen;
    memset(&rc, 0, sizeof(rc));
    if (ws(s) != '{') {
        return fail(s, "a resource change is not an object");
    }
    if (!object(s, depth, resource_member, &rc)) {
        return 0;
    }
    tally(ctx, &rc);
    return 1;
}

/* "1.11.4", "1.12.0-beta1": digits, letters, '.', '-' and '+'; v holds
 * the first KEY_BYTES bytes of a string len long */
static int looks_like_version(const char *v, apr_size_t len)
{
    apr_size_t i;

    if (len == 0 || len > KEY_BYTES || !apr_isdigit(v[0])) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        /* strchr would find a NUL byte in the set's terminator */
        if (!apr_isalnum(v[i]) && (!v[i] || !strchr(".-+", v[i]))) {
            return 0;
        }
    }
    return 1;
}

static int plan_member(scan_t *s, void *ctx, const char *name,
                       apr_size_t len, int depth)
{
    plan_t *plan = ctx;
    char version[KEY_BYTES];
    apr_size_t n;

    if (is(name, len, "format_version")) {
        plan->has_version = 1;
        return string(s, NULL, NULL);
    }
    if (is(name, len, "terraform_version")) {
        if (ws(s) != '"') {
            return value(s, depth);
        }
        if (!string(s, version, &n)) {
            return 0;
        }
        plan->counts.terraform_version = looks_like_version(version, n)
            ? apr_pstrmemdup(s->p, version, n) : NULL;
        return 1;
    }
    if (!is(name, len, "resource_changes")) {
        return value(s, depth);
    }
    /* of a name given twice the last counts, as in any JSON reader */
    plan->counts.additions = plan->counts.changes = 0;
    plan->counts.destructions = plan->counts.imports = 0;
    /* terraform leaves the list out when empty; null means the same */
    if (ws(s) == 'n') {
        return literal(s, "null");
    }
    if (ws(s) != '[') {
        return fail(s, "resource_changes is not an array");
    }
    return array(s, depth, resource_change, &plan->counts);
}

/* Reads one JSON object through read, giving each of its members to fn;
 * what says what the document should be, for the errors. The caller then
 * checks what fn found (format_version, for both kinds). */
static tp_err_t *scan_document(apr_pool_t *p, tp_plan_read_fn *read,
                               void *baton, apr_off_t max, item_fn *fn,
                               void *ctx, const char *what)
{
    scan_t s;

    memset(&s, 0, sizeof(s));
    s.p = p;
    s.read = read;
    s.baton = baton;
    s.max = max;
    s.buf = apr_palloc(p, READ_CHUNK);
    if (ws(&s) != '{') {
        fail(&s, "not a JSON object");
    }
    else if (object(&s, 1, fn, ctx) && ws(&s) != -1) {
        fail(&s, "data after the document");
    }
    if (s.io) {
        return tp_err_internal(p, 503, apr_pstrcat(p, what, " cannot be "
                                                   "read", NULL), s.why);
    }
    if (s.why) {
        return tp_err(p, 422, "%s is malformed: %s", what, s.why);
    }
    return NULL;
}

tp_err_t *tp_plan_count(apr_pool_t *p, tp_plan_read_fn *read, void *baton,
                        apr_off_t max, tp_plan_counts_t *out)
{
    plan_t plan;
    tp_err_t *err;

    memset(&plan, 0, sizeof(plan));
    memset(out, 0, sizeof(*out));
    if ((err = scan_document(p, read, baton, max, plan_member, &plan,
                             "the plan JSON")) != NULL) {
        return err;
    }
    if (!plan.has_version) {
        return tp_err(p, 422, "the plan JSON has no format_version: it is "
                      "not a plan as terraform show -json renders it");
    }
    *out = plan.counts;
    return NULL;
}

/* A member of a state's JSON rendering: only format_version matters. */
static int state_member(scan_t *s, void *ctx, const char *name,
                        apr_size_t len, int depth)
{
    if (is(name, len, "format_version")) {
        *(int *)ctx = 1;
        return string(s, NULL, NULL);
    }
    return value(s, depth);
}

typedef struct mem {
    const char *buf;
    apr_size_t len, pos;
} mem_t;

static apr_status_t mem_read(void *baton, char *buf, apr_size_t len,
                             apr_size_t *got)
{
    mem_t *m = baton;

    *got = len < m->len - m->pos ? len : m->len - m->pos;
    memcpy(buf, m->buf + m->pos, *got);
    m->pos += *got;
    return APR_SUCCESS;
}

tp_err_t *tp_plan_count_buf(apr_pool_t *p, const char *buf, apr_size_t len,
                            tp_plan_counts_t *out)
{
    mem_t m = {buf, len, 0};

    return tp_plan_count(p, mem_read, &m, (apr_off_t)len, out);
}

static apr_status_t file_read(void *baton, char *buf, apr_size_t len,
                              apr_size_t *got)
{
    apr_status_t rv;

    *got = len;
    rv = apr_file_read(baton, buf, got);
    if (APR_STATUS_IS_EOF(rv)) {
        *got = 0;
        return APR_SUCCESS;
    }
    return rv;
}

static tp_err_t *io_failed(apr_pool_t *p, const char *what,
                           const char *path, apr_status_t rv)
{
    char msg[120];

    return tp_err_internal(p, 503, "storage is unavailable",
                           apr_psprintf(p, "%s %s: %s", what, path,
                                        apr_strerror(rv, msg, sizeof(msg))));
}

static tp_err_t *open_input(apr_pool_t *p, const char *path, apr_file_t **f)
{
    apr_status_t rv = apr_file_open(f, path, APR_FOPEN_READ, 0, p);

    return rv == APR_SUCCESS ? NULL : io_failed(p, "open", path, rv);
}

tp_err_t *tp_plan_count_file(apr_pool_t *p, const char *path, apr_off_t max,
                             tp_plan_counts_t *out)
{
    apr_file_t *f;
    tp_err_t *err = open_input(p, path, &f);

    if (err) {
        return err;
    }
    err = tp_plan_count(p, file_read, f, max, out);
    apr_file_close(f);
    return err;
}

tp_err_t *tp_state_json_check_file(apr_pool_t *p, const char *path,
                                   apr_off_t max)
{
    apr_file_t *f;
    tp_err_t *err = open_input(p, path, &f);
    int has_version = 0;

    if (err) {
        return err;
    }
    err = scan_document(p, file_read, f, max, state_member, &has_version,
                        "the JSON state");
    apr_file_close(f);
    if (!err && !has_version) {
        err = tp_err(p, 422, "the JSON state has no format_version: it is "
                     "not a state as terraform show -json renders it");
    }
    return err;
}

/* ---- apply summaries ---- */

void tp_apply_scan_init(tp_apply_scan_t *s)
{
    memset(s, 0, sizeof(*s));
}

/* Takes want from *at when it is there. */
static int word(const char **at, const char *end, const char *want)
{
    apr_size_t n = strlen(want);

    if ((apr_size_t)(end - *at) < n || memcmp(*at, want, n) != 0) {
        return 0;
    }
    *at += n;
    return 1;
}

/* Takes a number of at most 18 digits and then rest from *at. */
static int count(const char **at, const char *end, const char *rest,
                 apr_int64_t *v)
{
    const char *c = *at;
    int n = 0;

    for (*v = 0; c < end && *c >= '0' && *c <= '9' && n < 18; c++, n++) {
        *v = *v * 10 + (*c - '0');
    }
    if (!n || !word(&c, end, rest)) {
        return 0;
    }
    *at = c;
    return 1;
}

static void check_line(tp_apply_scan_t *s)
{
    const char *at = s->line, *end = s->line + s->len, *mark;
    tp_plan_counts_t c;

    memset(&c, 0, sizeof(c));
    if (word(&at, end, "Destroy complete! Resources: ")) {
        s->found = count(&at, end, " destroyed.", &c.destructions);
    }
    else if (word(&at, end, "Apply complete! Resources: ")) {
        mark = at;
        /* imports are named only when there were some */
        if (!count(&at, end, " imported, ", &c.imports)) {
            at = mark;
            c.imports = 0;
        }
        s->found = count(&at, end, " added, ", &c.additions)
                   && count(&at, end, " changed, ", &c.changes)
                   && count(&at, end, " destroyed.", &c.destructions);
    }
    if (s->found) {
        s->counts = c;
    }
}

void tp_apply_scan_feed(tp_apply_scan_t *s, const char *buf, apr_size_t len)
{
    const char *end = buf + len, *nl;
    apr_size_t n, room;

    while (buf < end && !s->found) {
        nl = memchr(buf, '\n', (apr_size_t)(end - buf));
        n = (apr_size_t)((nl ? nl : end) - buf);
        room = TP_APPLY_LINE_MAX - s->len;
        memcpy(s->line + s->len, buf, n < room ? n : room);
        s->len += n < room ? n : room;
        if (!nl) {
            return;
        }
        check_line(s);
        s->len = 0;
        buf = nl + 1;
    }
}

int tp_apply_scan_end(tp_apply_scan_t *s, tp_plan_counts_t *out)
{
    if (!s->found && s->len) {
        check_line(s);
        s->len = 0;
    }
    if (s->found) {
        *out = s->counts;
    }
    return s->found;
}

tp_err_t *tp_apply_count_file(apr_pool_t *p, const char *path,
                              tp_plan_counts_t *out, int *found)
{
    tp_apply_scan_t *s = apr_palloc(p, sizeof(*s));
    char *buf = apr_palloc(p, READ_CHUNK);
    apr_off_t total = 0;
    apr_size_t got;
    apr_file_t *f;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);

    *found = 0;
    if (APR_STATUS_IS_ENOENT(rv)) {
        return NULL;
    }
    if (rv != APR_SUCCESS) {
        return io_failed(p, "open", path, rv);
    }
    tp_apply_scan_init(s);
    while (!s->found && total < TP_APPLY_LOG_SCAN_MAX
           && (rv = file_read(f, buf, READ_CHUNK, &got)) == APR_SUCCESS
           && got > 0) {
        tp_apply_scan_feed(s, buf, got);
        total += (apr_off_t)got;
    }
    apr_file_close(f);
    if (rv != APR_SUCCESS) {
        return io_failed(p, "read", path, rv);
    }
    *found = tp_apply_scan_end(s, out);
    return NULL;
}
