/* Unified diffs of configuration files. Lines are compared by hash and
 * bytes; the common head and tail are set aside and the middle goes to
 * Myers' O(ND) greedy algorithm, whose rounds are kept to walk the edit
 * script back. Rounds and comparisons are capped, so a pair of 1 MiB
 * files costs a bounded time and at most tens of MB whatever they hold. */
#include <string.h>
#include <limits.h>
#include <apr_strings.h>
#include "tp_diff.h"

/* Memory grows with the square of the edits (a round each), time with
 * the edits times the lines: both stay in the tens of MB and well under
 * a second per file. */
#define DEFAULT_MAX_EDITS 4096
#define DEFAULT_MAX_WORK 20000000

typedef struct line {
    const char *s;
    apr_size_t len;         /* with the '\n', when there is one */
    apr_uint64_t h;
} line_t;

typedef struct op {
    char t;                 /* ' ', '-' or '+' */
    int ai, bj;             /* lines of a and b before this one */
} op_t;

typedef struct buf {
    apr_pool_t *p;
    char *s;
    apr_size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *s, apr_size_t n)
{
    char *grown;

    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        grown = apr_palloc(b->p, b->cap);
        if (b->len) {   /* the first growth has nothing (NULL) to copy */
            memcpy(grown, b->s, b->len);
        }
        b->s = grown;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
}

static void puts_(buf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

/* FNV-1a: equal lines hash alike, and most unequal ones do not. */
static line_t *split(apr_pool_t *p, const char *s, apr_size_t len,
                     apr_size_t *n)
{
    apr_size_t i, count = 0, start = 0;
    apr_uint64_t h = 14695981039346656037ULL;
    line_t *lines;

    for (i = 0; i < len; i++) {
        count += s[i] == '\n';
    }
    count += len > 0 && s[len - 1] != '\n';
    lines = apr_palloc(p, (count ? count : 1) * sizeof(*lines));
    *n = 0;
    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
        if (s[i] == '\n' || i + 1 == len) {
            lines[*n].s = s + start;
            lines[*n].len = i + 1 - start;
            lines[(*n)++].h = h;
            h = 14695981039346656037ULL;
            start = i + 1;
        }
    }
    return lines;
}

static int same(const line_t *x, const line_t *y)
{
    return x->h == y->h && x->len == y->len
           && memcmp(x->s, y->s, x->len) == 0;
}

/* The furthest x on diagonal k in round d, or -1 when unreached. */
static int at(int *const *t, int d, int k)
{
    return k < -d || k > d ? -1 : t[d][(k + d) / 2];
}

/* Round d's edit onto diagonal k from round d - 1: the x it ends at, or
 * -1 when no edit inside the n by m grid reaches k. Down (an insertion)
 * wins unless going right (a deletion) gets further. */
static int edit_onto(int *const *t, int d, int k, int n, int m, int *down)
{
    int xd = at(t, d - 1, k + 1), xr = at(t, d - 1, k - 1);
    int down_ok = xd >= 0 && xd - k <= m;
    int right_ok = xr >= 0 && xr + 1 <= n;

    if (down_ok && (!right_ok || xr < xd)) {
        *down = 1;
        return xd;
    }
    *down = 0;
    return right_ok ? xr + 1 : -1;
}

/* Marks the lines of a deleted and of b inserted by a shortest edit
 * script; 0 when the bounds were reached first. */
static int myers(apr_pool_t *p, const line_t *a, int n, const line_t *b,
                 int m, char *del, char *ins, const tp_diff_bounds_t *bd)
{
    apr_size_t work = 0;
    int max = n + m, d, k, x, y, down;
    int **t;

    if ((apr_size_t)max > bd->max_edits) {
        max = (int)bd->max_edits;
    }
    t = apr_palloc(p, ((apr_size_t)max + 1) * sizeof(*t));
    for (d = 0; d <= max; d++) {
        t[d] = apr_palloc(p, ((apr_size_t)d + 1) * sizeof(**t));
        for (k = -d; k <= d; k += 2) {
            x = d == 0 ? 0 : edit_onto(t, d, k, n, m, &down);
            t[d][(k + d) / 2] = x;
            if (x < 0) {
                continue;
            }
            for (y = x - k; x < n && y < m && same(&a[x], &b[y]); x++, y++) {
                work++;
            }
            t[d][(k + d) / 2] = x;
            if (x == n && y == m) {
                goto found;
            }
            if (++work > bd->max_work) {
                return 0;
            }
        }
    }
    return 0;
found:
    /* back from (n, m): each round's snake, then the edit before it */
    for (; d > 0; d--) {
        k = x - y;
        x = edit_onto(t, d, k, n, m, &down);
        if (down) {
            ins[x - k - 1] = 1;
            y = x - k - 1;
        } else {
            del[x - 1] = 1;
            y = x - k;
            x--;
        }
    }
    return 1;
}

static void range(buf_t *o, char sign, int before, int count)
{
    /* diff -u: a count of 1 is implied; an empty range names the line
     * before it */
    if (count == 1) {
        puts_(o, apr_psprintf(o->p, "%c%d", sign, before + 1));
    } else {
        puts_(o, apr_psprintf(o->p, "%c%d,%d", sign,
                              count ? before + 1 : before, count));
    }
}

static void hunk(buf_t *o, const op_t *ops, int from, int to,
                 const line_t *la, const line_t *lb)
{
    int i, ac = 0, bc = 0;
    const line_t *l;

    for (i = from; i < to; i++) {
        ac += ops[i].t != '+';
        bc += ops[i].t != '-';
    }
    puts_(o, "@@ ");
    range(o, '-', ops[from].ai, ac);
    puts_(o, " ");
    range(o, '+', ops[from].bj, bc);
    puts_(o, " @@\n");
    for (i = from; i < to; i++) {
        l = ops[i].t == '+' ? &lb[ops[i].bj] : &la[ops[i].ai];
        put(o, &ops[i].t, 1);
        put(o, l->s, l->len);
        if (l->s[l->len - 1] != '\n') {
            puts_(o, "\n\\ No newline at end of file\n");
        }
    }
}

/* Changes closer than twice the context share a hunk, as in diff -u. */
static void render(buf_t *o, const line_t *la, int na, const char *del,
                   const line_t *lb, int nb, const char *ins)
{
    op_t *ops = apr_palloc(o->p, ((apr_size_t)na + nb + 1) * sizeof(*ops));
    int n = 0, i = 0, j = 0, pos, last, q;

    while (i < na || j < nb) {
        ops[n].ai = i;
        ops[n].bj = j;
        if (i < na && del[i]) {
            ops[n++].t = '-';
            i++;
        } else if (j < nb && ins[j]) {
            ops[n++].t = '+';
            j++;
        } else {
            ops[n++].t = ' ';
            i++;
            j++;
        }
    }
    for (pos = 0; pos < n; pos = q) {
        while (pos < n && ops[pos].t == ' ') {
            pos++;
        }
        if (pos == n) {
            break;
        }
        for (last = q = pos; q < n && q - last - 1 <= 2 * TP_DIFF_CONTEXT;
             q++) {
            if (ops[q].t != ' ') {
                last = q;
            }
        }
        q = last + 1 + TP_DIFF_CONTEXT < n ? last + 1 + TP_DIFF_CONTEXT : n;
        hunk(o, ops, pos > TP_DIFF_CONTEXT ? pos - TP_DIFF_CONTEXT : 0, q,
             la, lb);
    }
}

char *tp_diff_unified_bounded(apr_pool_t *p, const char *a, apr_size_t alen,
                              const char *b, apr_size_t blen,
                              const tp_diff_bounds_t *bounds, int *exact)
{
    apr_pool_t *sp;
    apr_size_t na, nb, pre = 0, suf = 0, i;
    line_t *la, *lb;
    char *del, *ins, *out;
    buf_t o;
    int ok = 1;

    apr_pool_create(&sp, p);
    la = split(sp, a, alen, &na);
    lb = split(sp, b, blen, &nb);
    while (pre < na && pre < nb && same(&la[pre], &lb[pre])) {
        pre++;
    }
    while (suf < na - pre && suf < nb - pre
           && same(&la[na - 1 - suf], &lb[nb - 1 - suf])) {
        suf++;
    }
    del = apr_pcalloc(sp, na + 1);
    ins = apr_pcalloc(sp, nb + 1);
    if (na + nb >= INT_MAX / 2
        || (na - pre - suf > 0 && nb - pre - suf > 0
            && !myers(sp, la + pre, (int)(na - pre - suf), lb + pre,
                      (int)(nb - pre - suf), del + pre, ins + pre, bounds))) {
        /* past the bounds the changed middle is replaced whole */
        memset(del, 0, na);
        memset(ins, 0, nb);
        ok = 0;
    }
    if (!ok || na - pre - suf == 0 || nb - pre - suf == 0) {
        for (i = pre; i < na - suf; i++) {
            del[i] = 1;
        }
        for (i = pre; i < nb - suf; i++) {
            ins[i] = 1;
        }
    }
    if (exact) {
        *exact = ok;
    }
    o.p = sp;
    o.s = NULL;
    o.len = o.cap = 0;
    if (na + nb < INT_MAX / 2) {
        render(&o, la, (int)na, del, lb, (int)nb, ins);
    }
    out = apr_pstrmemdup(p, o.s ? o.s : "", o.len);
    apr_pool_destroy(sp);
    return out;
}

char *tp_diff_unified(apr_pool_t *p, const char *a, apr_size_t alen,
                      const char *b, apr_size_t blen)
{
    tp_diff_bounds_t bounds = {DEFAULT_MAX_EDITS, DEFAULT_MAX_WORK};

    return tp_diff_unified_bounded(p, a, alen, b, blen, &bounds, NULL);
}

/* Length of the UTF-8 sequence at s (n bytes left), or 0 when invalid:
 * no overlong forms, surrogates or code points past U+10FFFF. */
static apr_size_t utf8_seq(const unsigned char *s, apr_size_t n)
{
    apr_size_t len, i;
    unsigned int cp;

    if (s[0] < 0x80) {
        return 1;
    }
    len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    if (s[0] < 0xC2 || s[0] > 0xF4 || len > n) {
        return 0;
    }
    cp = s[0] & (0x7F >> len);
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        return 0;
    }
    return len;
}

int tp_diff_is_binary(const char *buf, apr_size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    apr_size_t i, n;

    if (memchr(buf, '\0', len)) {
        return 1;
    }
    for (i = 0; i < len; i += n) {
        if ((n = utf8_seq(s + i, len - i)) == 0) {
            return 1;
        }
    }
    return 0;
}
