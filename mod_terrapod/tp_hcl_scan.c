/* The block scanner of tp_hcl_scan.h. It walks the source once, keeping
 * the line for errors; every nested thing (bracket, block, template)
 * costs one level of TP_HCL_MAX_DEPTH, so no input recurses deeper. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "tp_hcl_scan.h"

typedef struct {
    apr_pool_t *p;
    const char *s;
    apr_size_t i, n;
    int line;
    int depth;
    tp_err_t *err;
} sc_t;

#define END (-1)

static int peek(const sc_t *sc, apr_size_t k)
{
    return sc->i + k < sc->n ? (unsigned char)sc->s[sc->i + k] : END;
}

static int fail(sc_t *sc, const char *what)
{
    if (!sc->err) {
        sc->err = tp_err(sc->p, 422, "line %d: %s", sc->line, what);
    }
    return 0;
}

static int ident_start(int c)
{
    return c != END && (apr_isalpha(c) || c == '_' || c >= 0x80);
}

static int ident_char(int c)
{
    return ident_start(c) || (c != END && (apr_isdigit(c) || c == '-'));
}

/* Spaces and comments; newlines too when newlines is set (a comment's
 * own newline is left for the caller otherwise). */
static int skip_blank(sc_t *sc, int newlines)
{
    for (;;) {
        int c = peek(sc, 0);

        if (c == ' ' || c == '\t' || c == '\r') {
            sc->i++;
        }
        else if (c == '\n' && newlines) {
            sc->line++;
            sc->i++;
        }
        else if (c == '#' || (c == '/' && peek(sc, 1) == '/')) {
            while (peek(sc, 0) != END && peek(sc, 0) != '\n') {
                sc->i++;
            }
        }
        else if (c == '/' && peek(sc, 1) == '*') {
            for (sc->i += 2; !(peek(sc, 0) == '*' && peek(sc, 1) == '/');
                 sc->i++) {
                if (peek(sc, 0) == END) {
                    return fail(sc, "unterminated comment");
                }
                sc->line += peek(sc, 0) == '\n';
            }
            sc->i += 2;
        }
        else {
            return 1;
        }
    }
}

static int skip_until(sc_t *sc, int close);

/* A quoted string from its opening quote: escapes, and the expressions of
 * its ${...} and %{...} templates, which may hold strings of their own. */
static int skip_string(sc_t *sc)
{
    for (sc->i++;;) {
        int c = peek(sc, 0);

        if (c == END || c == '\n') {
            return fail(sc, "unterminated string");
        }
        if (c == '\\') {
            sc->i++;
            if (peek(sc, 0) == END || peek(sc, 0) == '\n') {
                return fail(sc, "unterminated string");
            }
            sc->i++;
        }
        else if (c == '"') {
            sc->i++;
            return 1;
        }
        else if ((c == '$' || c == '%') && peek(sc, 1) == c
                 && peek(sc, 2) == '{') {
            sc->i += 3;                 /* $${ and %%{ are literal */
        }
        else if ((c == '$' || c == '%') && peek(sc, 1) == '{') {
            sc->i += 2;
            if (!skip_until(sc, '}')) {
                return 0;
            }
        }
        else {
            sc->i++;
        }
    }
}

/* A heredoc from its "<<": *body and *body_end (when not NULL) span its
 * lines, *indented says whether it was "<<-". Ends on its marker line,
 * before that line's newline. */
static int skip_heredoc(sc_t *sc, apr_size_t *body, apr_size_t *body_end,
                        int *indented)
{
    apr_size_t m;
    const char *marker;
    apr_size_t mlen;

    sc->i += 2;
    if (indented) {
        *indented = peek(sc, 0) == '-';
    }
    sc->i += peek(sc, 0) == '-';
    for (m = sc->i; ident_char(peek(sc, 0)); sc->i++) {
    }
    if (sc->i == m || !ident_start((unsigned char)sc->s[m])) {
        return fail(sc, "a heredoc needs a marker after <<");
    }
    marker = sc->s + m;
    mlen = sc->i - m;
    while (peek(sc, 0) == ' ' || peek(sc, 0) == '\t' || peek(sc, 0) == '\r') {
        sc->i++;
    }
    if (peek(sc, 0) != '\n') {
        return fail(sc, "a heredoc's marker must end its line");
    }
    sc->i++;
    sc->line++;
    if (body) {
        *body = sc->i;
    }
    for (;;) {
        const char *nl = memchr(sc->s + sc->i, '\n', sc->n - sc->i);
        apr_size_t e = nl ? (apr_size_t)(nl - sc->s) : sc->n;
        apr_size_t a = sc->i, z = e;

        while (a < z && (sc->s[a] == ' ' || sc->s[a] == '\t')) {
            a++;
        }
        while (z > a && (sc->s[z - 1] == ' ' || sc->s[z - 1] == '\t'
                         || sc->s[z - 1] == '\r')) {
            z--;
        }
        if (z - a == mlen && memcmp(sc->s + a, marker, mlen) == 0) {
            if (body_end) {
                *body_end = sc->i;
            }
            sc->i = e;
            return 1;
        }
        if (!nl) {
            return fail(sc, "unterminated heredoc");
        }
        sc->i = e + 1;
        sc->line++;
    }
}

static int deeper(sc_t *sc)
{
    if (++sc->depth > TP_HCL_MAX_DEPTH) {
        return fail(sc, "nested too deeply");
    }
    return 1;
}

static int opener_close(int c)
{
    return c == '{' ? '}' : c == '[' ? ']' : c == '(' ? ')' : 0;
}

/* What starts with c: a string, a heredoc, a bracketed whole, or one
 * character of anything else. */
static int skip_token(sc_t *sc, int c)
{
    if (c == '"') {
        return skip_string(sc);
    }
    if (c == '<' && peek(sc, 1) == '<') {
        return skip_heredoc(sc, NULL, NULL, NULL);
    }
    sc->i++;
    return !opener_close(c) || skip_until(sc, opener_close(c));
}

/* Everything up to and including the close that matches an opener just
 * passed: newlines are free inside brackets. */
static int skip_until(sc_t *sc, int close)
{
    if (!deeper(sc)) {
        return 0;
    }
    for (;;) {
        int c;

        if (!skip_blank(sc, 1)) {
            return 0;
        }
        c = peek(sc, 0);
        if (c == close) {
            sc->i++;
            sc->depth--;
            return 1;
        }
        if (c == END) {
            return fail(sc, apr_psprintf(sc->p, "'%c' is never closed",
                                         close == '}' ? '{'
                                         : close == ']' ? '[' : '('));
        }
        if (c == '}' || c == ']' || c == ')') {
            return fail(sc, apr_psprintf(sc->p, "unexpected '%c'", c));
        }
        if (!skip_token(sc, c)) {
            return 0;
        }
    }
}

/* An attribute's value: up to the end of its line (or the '}' of a
 * one-line block), brackets spanning lines. [*start, *end) is its text
 * without surrounding blanks and comments. */
static int read_expr(sc_t *sc, apr_size_t *start, apr_size_t *end)
{
    if (!skip_blank(sc, 0)) {
        return 0;
    }
    *start = *end = sc->i;
    for (;;) {
        int c = peek(sc, 0);

        if (c == END || c == '\n' || c == '}') {
            return 1;
        }
        if (c == ')' || c == ']') {
            return fail(sc, apr_psprintf(sc->p, "unexpected '%c'", c));
        }
        if (c == '#' || c == '/' || c == ' ' || c == '\t' || c == '\r') {
            if (c == '/' && peek(sc, 1) != '/' && peek(sc, 1) != '*') {
                *end = ++sc->i;         /* division */
            }
            else if (!skip_blank(sc, 0)) {
                return 0;
            }
            continue;
        }
        if (!skip_token(sc, c)) {
            return 0;
        }
        *end = sc->i;
    }
}

static const char *read_ident(sc_t *sc)
{
    apr_size_t start = sc->i;

    while (ident_char(peek(sc, 0))) {
        sc->i++;
    }
    return apr_pstrmemdup(sc->p, sc->s + start, sc->i - start);
}

/* Appends code point cp as UTF-8. */
static void put_utf8(char **o, unsigned long cp)
{
    if (cp < 0x80) {
        *(*o)++ = (char)cp;
    }
    else if (cp < 0x800) {
        *(*o)++ = (char)(0xC0 | (cp >> 6));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *(*o)++ = (char)(0xE0 | (cp >> 12));
        *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    }
    else {
        *(*o)++ = (char)(0xF0 | ((cp >> 18) & 0x07));
        *(*o)++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    }
}

/* The text of the quoted string s..e (quotes included) with its escapes
 * decoded; templates are kept as written. A malformed \u escape is kept
 * as written too. */
static const char *unquote(apr_pool_t *p, const char *s, const char *e)
{
    /* decoding never grows: \uXXXX (6) gives at most 3 bytes, \U... (10)
     * at most 4 */
    char *out = apr_palloc(p, (apr_size_t)(e - s) + 1), *o = out;

    for (s++, e--; s < e; s++) {
        int n = 0, k;
        unsigned long cp = 0;

        if ((*s == '$' || *s == '%') && s + 2 < e && s[1] == *s
            && s[2] == '{') {
            *o++ = *s++;                /* $${ -> ${ */
            continue;
        }
        if (*s != '\\' || s + 1 >= e) {
            *o++ = *s;
            continue;
        }
        switch (*++s) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'u': n = 4; break;
        case 'U': n = 8; break;
        default: *o++ = *s; break;      /* \" \\ */
        }
        for (k = 1; n && k <= n; k++) {
            if (s + k >= e || !apr_isxdigit(s[k])) {
                break;
            }
            cp = cp * 16 + (unsigned long)(apr_isdigit(s[k])
                                           ? s[k] - '0'
                                           : apr_tolower(s[k]) - 'a' + 10);
        }
        if (n && k > n && cp <= 0x10FFFF) {
            put_utf8(&o, cp);
            s += n;
        }
        else if (n) {
            *o++ = '\\';
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* A heredoc's lines; "<<-" drops the indentation they share. */
static const char *heredoc_text(apr_pool_t *p, const char *body,
                                const char *end, int indented)
{
    apr_size_t cut = (apr_size_t)-1;
    const char *l;
    char *out, *o;

    if (indented) {
        for (l = body; l < end; ) {
            const char *nl = memchr(l, '\n', (apr_size_t)(end - l));
            const char *le = nl ? nl : end, *c = l;

            while (c < le && (*c == ' ' || *c == '\t')) {
                c++;
            }
            if (c < le && *c != '\r' && (apr_size_t)(c - l) < cut) {
                cut = (apr_size_t)(c - l);
            }
            l = nl ? nl + 1 : end;
        }
    }
    if (cut == (apr_size_t)-1) {
        cut = 0;
    }
    out = o = apr_palloc(p, (apr_size_t)(end - body) + 1);
    for (l = body; l < end; ) {
        const char *nl = memchr(l, '\n', (apr_size_t)(end - l));
        const char *le = nl ? nl + 1 : end;
        apr_size_t skip = (apr_size_t)(le - l) < cut ? (apr_size_t)(le - l)
                                                     : cut;
        apr_size_t k;

        for (k = 0; k < skip && (l[k] == ' ' || l[k] == '\t'); k++) {
        }
        memcpy(o, l + k, (apr_size_t)(le - l) - k);
        o += (apr_size_t)(le - l) - k;
        l = le;
    }
    /* the newline before the marker belongs to no line of the text */
    if (o > out && o[-1] == '\n') {
        o--;
    }
    *o = '\0';
    return out;
}

/* What a description reads as: a lone quoted string or heredoc decoded,
 * anything else as written. */
static const char *text_of(sc_t *sc, apr_size_t start, apr_size_t end)
{
    sc_t sub = *sc;
    apr_size_t body = 0, body_end = 0;
    int indented = 0;

    sub.i = start;
    sub.n = end;
    sub.err = NULL;
    if (peek(&sub, 0) == '"' && skip_string(&sub) && sub.i == end) {
        return unquote(sc->p, sc->s + start, sc->s + end);
    }
    sub.i = start;
    sub.err = NULL;
    if (peek(&sub, 0) == '<' && peek(&sub, 1) == '<'
        && skip_heredoc(&sub, &body, &body_end, &indented) && sub.i == end) {
        return heredoc_text(sc->p, sc->s + body, sc->s + body_end, indented);
    }
    return apr_pstrmemdup(sc->p, sc->s + start, end - start);
}

static int is_true(const sc_t *sc, apr_size_t start, apr_size_t end)
{
    return end - start == 4 && memcmp(sc->s + start, "true", 4) == 0;
}

/* The body of a variable or output block, after its '{'. */
static int scan_body(sc_t *sc, tp_hcl_var_t *var, tp_hcl_output_t *out)
{
    if (!deeper(sc)) {
        return 0;
    }
    for (;;) {
        const char *name;
        apr_size_t start, end;

        if (!skip_blank(sc, 1)) {
            return 0;
        }
        if (peek(sc, 0) == '}') {
            sc->i++;
            sc->depth--;
            return 1;
        }
        if (peek(sc, 0) == END) {
            return fail(sc, "'{' is never closed");
        }
        if (!ident_start(peek(sc, 0))) {
            return fail(sc, "expected an attribute or a block");
        }
        name = read_ident(sc);
        if (!skip_blank(sc, 0)) {
            return 0;
        }
        if (peek(sc, 0) == '=' && peek(sc, 1) != '=') {
            sc->i++;
            if (!read_expr(sc, &start, &end)) {
                return 0;
            }
            if (var && strcmp(name, "type") == 0) {
                var->type = apr_pstrmemdup(sc->p, sc->s + start, end - start);
            }
            else if (var && strcmp(name, "default") == 0) {
                var->has_default = 1;
            }
            else if (strcmp(name, "description") == 0) {
                *(var ? &var->description : &out->description)
                    = text_of(sc, start, end);
            }
            else if (strcmp(name, "sensitive") == 0) {
                *(var ? &var->sensitive : &out->sensitive)
                    = is_true(sc, start, end);
            }
            continue;
        }
        /* a nested block (validation, precondition): labels, then '{' */
        while (peek(sc, 0) == '"' || ident_start(peek(sc, 0))) {
            if ((peek(sc, 0) == '"' && !skip_string(sc))
                || !skip_blank(sc, 0)) {
                return 0;
            }
            read_ident(sc);
            if (!skip_blank(sc, 0)) {
                return 0;
            }
        }
        if (peek(sc, 0) != '{') {
            return fail(sc, "expected '=' or '{'");
        }
        sc->i++;
        if (!skip_until(sc, '}')) {
            return 0;
        }
    }
}

/* One top-level block (or attribute) from its first identifier. */
static int scan_top(sc_t *sc, apr_array_header_t *vars,
                    apr_array_header_t *outputs)
{
    const char *type = read_ident(sc), *label = NULL;
    int labels = 0;
    apr_size_t start, end;

    if (!skip_blank(sc, 0)) {
        return 0;
    }
    if (peek(sc, 0) == '=' && peek(sc, 1) != '=') {
        sc->i++;
        return read_expr(sc, &start, &end);
    }
    while (peek(sc, 0) == '"' || ident_start(peek(sc, 0))) {
        start = sc->i;
        if (peek(sc, 0) == '"') {
            if (!skip_string(sc)) {
                return 0;
            }
            label = unquote(sc->p, sc->s + start, sc->s + sc->i);
        }
        else {
            label = read_ident(sc);
        }
        labels++;
        if (!skip_blank(sc, 0)) {
            return 0;
        }
    }
    if (peek(sc, 0) != '{') {
        return fail(sc, "expected '{' after a block's labels");
    }
    sc->i++;
    if (labels == 1 && strcmp(type, "variable") == 0) {
        tp_hcl_var_t *v = apr_array_push(vars);

        memset(v, 0, sizeof(*v));
        v->name = label;
        return scan_body(sc, v, NULL);
    }
    if (labels == 1 && strcmp(type, "output") == 0) {
        tp_hcl_output_t *o = apr_array_push(outputs);

        memset(o, 0, sizeof(*o));
        o->name = label;
        return scan_body(sc, NULL, o);
    }
    return skip_until(sc, '}');
}

tp_err_t *tp_hcl_scan(apr_pool_t *p, const char *src, apr_size_t len,
                      apr_array_header_t *vars, apr_array_header_t *outputs)
{
    sc_t sc = {p, src, 0, len, 1, 0, NULL};

    for (;;) {
        if (!skip_blank(&sc, 1)) {
            break;
        }
        if (peek(&sc, 0) == END) {
            break;
        }
        if (!ident_start(peek(&sc, 0))) {
            fail(&sc, "expected a block or an attribute");
            break;
        }
        if (!scan_top(&sc, vars, outputs)) {
            break;
        }
    }
    return sc.err;
}
