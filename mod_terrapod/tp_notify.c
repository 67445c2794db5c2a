/* Notification triggers and bodies: TFE's generic v1 payload (snake_case,
 * signed with HMAC-SHA512), Slack Block Kit, a Microsoft Teams message
 * card and a plain-text email. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "tp_notify.h"
#include "tp_json.h"
#include "tp_crypto.h"

static const char *const DESTINATIONS[] = {
    "generic", "slack", "microsoft-teams", "email", NULL
};

const char *const tp_notify_triggers[] = {
    "run:created", "run:planning", "run:needs_attention", "run:planned",
    "run:applying", "run:completed", "run:errored", "run:drift_detected",
    "assessment:drifted", "assessment:failed", NULL
};

static int one_of(const char *s, const char *const *list)
{
    for (; s && *list; list++) {
        if (strcmp(s, *list) == 0) {
            return 1;
        }
    }
    return 0;
}

int tp_notify_destination_valid(const char *s)
{
    return one_of(s, DESTINATIONS);
}

int tp_notify_trigger_valid(const char *s)
{
    return one_of(s, tp_notify_triggers);
}

typedef struct fired {
    const char *status;
    const char *trigger;
} fired_t;

static const fired_t FIRES[] = {
    {"pending", "run:created"},
    {"planning", "run:planning"},
    {"planned", "run:needs_attention"},
    {"planned_and_finished", "run:planned"},
    {"applying", "run:applying"},
    {"applied", "run:completed"},
    {"errored", "run:errored"},
    {"canceled", "run:errored"},
    {NULL, NULL}
};

int tp_notify_triggers_of(const tp_notify_run_t *run, const char *out[3])
{
    const fired_t *f;
    int n = 0;

    out[0] = NULL;
    if (run->is_drift && strcmp(run->status, "planned_and_finished") == 0) {
        if (run->drifted) {
            out[n++] = "run:drift_detected";
            out[n++] = "assessment:drifted";
        }
    }
    else if (run->is_drift && strcmp(run->status, "errored") == 0) {
        out[n++] = "assessment:failed";
    }
    else if (!run->is_drift || strcmp(run->status, "pending") != 0) {
        /* a drift run's creation is the scheduler's business, not news */
        for (f = FIRES; f->status; f++) {
            if (strcmp(f->status, run->status) == 0) {
                out[n++] = f->trigger;
                break;
            }
        }
    }
    out[n] = NULL;
    return n;
}

static const struct {
    const char *trigger, *title;
} TITLES[] = {
    {"run:created", "Run created"},
    {"run:planning", "Run planning"},
    {"run:needs_attention", "Run needs attention"},
    {"run:planned", "Run planned"},
    {"run:applying", "Run applying"},
    {"run:completed", "Run completed"},
    {"run:errored", "Run errored"},
    {"run:drift_detected", "Drift detected"},
    {"assessment:drifted", "Drift detected"},
    {"assessment:failed", "Drift check failed"},
    {TP_NOTIFY_VERIFICATION, "Verification of a notification configuration"},
    {NULL, NULL}
};

const char *tp_notify_title(const char *trigger)
{
    int i;

    for (i = 0; TITLES[i].trigger; i++) {
        if (strcmp(TITLES[i].trigger, trigger) == 0) {
            return TITLES[i].title;
        }
    }
    return trigger;
}

char *tp_notify_generic(apr_pool_t *p, const char *config_id,
                        const tp_notify_run_t *run, const char *trigger)
{
    tp_json_t *o = tp_json_object(p), *list = tp_json_array(p);
    tp_json_t *n = tp_json_object(p);
    const tp_notify_run_t none = {0};

    if (!run) {
        run = &none;
    }
    tp_json_seti(o, 1, "payload_version", NULL);
    tp_json_sets(o, config_id, "notification_configuration_id", NULL);
    tp_json_sets(o, run->url, "run_url", NULL);
    tp_json_sets(o, run->id, "run_id", NULL);
    tp_json_sets(o, run->message, "run_message", NULL);
    tp_json_sets(o, run->created_at, "run_created_at", NULL);
    tp_json_sets(o, run->created_by, "run_created_by", NULL);
    tp_json_sets(o, run->workspace_id, "workspace_id", NULL);
    tp_json_sets(o, run->workspace_name, "workspace_name", NULL);
    tp_json_sets(o, run->organization, "organization_name", NULL);
    tp_json_sets(n, tp_notify_title(trigger), "message", NULL);
    tp_json_sets(n, trigger, "trigger", NULL);
    tp_json_sets(n, run->status, "run_status", NULL);
    tp_json_sets(n, run->updated_at, "run_updated_at", NULL);
    tp_json_sets(n, run->updated_by, "run_updated_by", NULL);
    tp_json_push(list, n);
    tp_json_setj(o, list, "notifications", NULL);
    return tp_json_dump(o, p);
}

/* "Run completed: workspace prod (run-abc)", the one line of every
 * destination. */
static const char *headline(apr_pool_t *p, const tp_notify_run_t *run,
                            const char *trigger)
{
    if (!run) {
        return tp_notify_title(trigger);
    }
    return apr_psprintf(p, "%s: workspace %s (%s)", tp_notify_title(trigger),
                        run->workspace_name ? run->workspace_name : "?",
                        run->id);
}

/* Slack's mrkdwn treats these three as markup. */
static const char *mrkdwn(apr_pool_t *p, const char *s)
{
    const char *c;
    char *out, *o;

    s = s ? s : "";
    o = out = apr_palloc(p, strlen(s) * 5 + 1);
    for (c = s; *c; c++) {
        const char *e = *c == '&' ? "&amp;" : *c == '<' ? "&lt;"
                        : *c == '>' ? "&gt;" : NULL;

        if (e) {
            o = stpcpy(o, e);
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

static tp_json_t *text_block(apr_pool_t *p, const char *type,
                             const char *text_type, const char *text)
{
    tp_json_t *b = tp_json_object(p);

    tp_json_sets(b, type, "type", NULL);
    tp_json_sets(b, text_type, "text", "type", NULL);
    tp_json_sets(b, text, "text", "text", NULL);
    return b;
}

char *tp_notify_slack(apr_pool_t *p, const tp_notify_run_t *run,
                      const char *trigger)
{
    tp_json_t *o = tp_json_object(p), *blocks = tp_json_array(p);
    const char *body;

    tp_json_sets(o, headline(p, run, trigger), "text", NULL);
    tp_json_push(blocks, text_block(p, "header", "plain_text",
                                    tp_notify_title(trigger)));
    if (run) {
        body = apr_psprintf(p, "*Workspace:* %s\n*Run:* %s\n*Status:* %s",
                            mrkdwn(p, run->workspace_name),
                            run->url ? apr_psprintf(p, "<%s|%s>",
                                                    mrkdwn(p, run->url),
                                                    run->id)
                                     : run->id,
                            run->status);
        if (run->message && *run->message) {
            body = apr_pstrcat(p, body, "\n*Message:* ",
                               mrkdwn(p, run->message), NULL);
        }
    }
    else {
        body = "This notification configuration can reach Slack.";
    }
    tp_json_push(blocks, text_block(p, "section", "mrkdwn", body));
    tp_json_setj(o, blocks, "blocks", NULL);
    return tp_json_dump(o, p);
}

static void fact(tp_json_t *facts, apr_pool_t *p, const char *name,
                 const char *value)
{
    tp_json_t *f = tp_json_object(p);

    if (value) {
        tp_json_sets(f, name, "name", NULL);
        tp_json_sets(f, value, "value", NULL);
        tp_json_push(facts, f);
    }
}

char *tp_notify_teams(apr_pool_t *p, const tp_notify_run_t *run,
                      const char *trigger)
{
    tp_json_t *o = tp_json_object(p), *sections = tp_json_array(p);
    tp_json_t *section = tp_json_object(p), *facts = tp_json_array(p);
    tp_json_t *actions = tp_json_array(p), *open = tp_json_object(p);
    tp_json_t *targets = tp_json_array(p), *target = tp_json_object(p);
    int bad = strstr(trigger, "errored") || strstr(trigger, "failed");

    tp_json_sets(o, "MessageCard", "@type", NULL);
    tp_json_sets(o, "https://schema.org/extensions", "@context", NULL);
    tp_json_sets(o, headline(p, run, trigger), "summary", NULL);
    tp_json_sets(o, bad ? "D70000" : "5C4EE5", "themeColor", NULL);
    tp_json_sets(o, tp_notify_title(trigger), "title", NULL);
    if (run) {
        fact(facts, p, "Workspace", run->workspace_name);
        fact(facts, p, "Run", run->id);
        fact(facts, p, "Status", run->status);
        fact(facts, p, "Message", run->message && *run->message
                                  ? run->message : NULL);
        tp_json_setj(section, facts, "facts", NULL);
    }
    else {
        tp_json_sets(section, "This notification configuration can reach "
                     "Microsoft Teams.", "text", NULL);
    }
    tp_json_push(sections, section);
    tp_json_setj(o, sections, "sections", NULL);
    if (run && run->url) {
        tp_json_sets(open, "OpenUri", "@type", NULL);
        tp_json_sets(open, "View run", "name", NULL);
        tp_json_sets(target, "default", "os", NULL);
        tp_json_sets(target, run->url, "uri", NULL);
        tp_json_push(targets, target);
        tp_json_setj(open, targets, "targets", NULL);
        tp_json_push(actions, open);
        tp_json_setj(o, actions, "potentialAction", NULL);
    }
    return tp_json_dump(o, p);
}

char *tp_notify_signature(apr_pool_t *p, const char *token,
                          const char *body)
{
    return tp_hmac_sha512_hex(p, (const unsigned char *)token,
                              strlen(token), body, strlen(body));
}

int tp_notify_email_valid(const char *s)
{
    const char *at = s ? strrchr(s, '@') : NULL, *c;

    if (!at || at == s || !at[1] || strlen(s) > 254 || strchr(at + 1, '.')
        == NULL) {
        return 0;
    }
    for (c = s; *c; c++) {
        if (!apr_isgraph(*c) || strchr("<>()[]\\,;:\"", *c)) {
            return 0;
        }
    }
    return 1;
}

/* A value for a header line: control characters (line breaks above all)
 * become spaces. */
static const char *header_safe(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s ? s : ""), *c;

    for (c = out; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = ' ';
        }
    }
    return out;
}

/* The body's lines end in CRLF, and a line of a lone "." cannot end
 * the message early (SMTP's dot-stuffing is libcurl's, but a bare LF is
 * not allowed in a message at all). */
static const char *crlf(apr_pool_t *p, const char *s)
{
    const char *c;
    char *out = apr_palloc(p, strlen(s) * 2 + 1), *o = out;

    for (c = s; *c; c++) {
        if (*c == '\n' && (c == s || c[-1] != '\r')) {
            *o++ = '\r';
        }
        if (*c == '\r' && c[1] != '\n') {
            continue;
        }
        *o++ = *c;
    }
    *o = '\0';
    return out;
}

char *tp_notify_email(apr_pool_t *p, const char *from,
                      const apr_array_header_t *to,
                      const tp_notify_run_t *run, const char *trigger,
                      const char *date, const char *message_id)
{
    const char *rcpts = "", *body;
    int i;

    for (i = 0; to && i < to->nelts; i++) {
        rcpts = apr_pstrcat(p, rcpts, i ? ", " : "",
                            header_safe(p, APR_ARRAY_IDX(to, i,
                                                         const char *)),
                            NULL);
    }
    if (run) {
        body = apr_psprintf(p, "%s\n\nWorkspace: %s\nRun: %s\nStatus: %s\n"
                            "Message: %s\n%s%s%s",
                            tp_notify_title(trigger),
                            run->workspace_name ? run->workspace_name : "",
                            run->id, run->status,
                            run->message ? run->message : "",
                            run->url ? "\n" : "", run->url ? run->url : "",
                            run->url ? "\n" : "");
    }
    else {
        body = "This notification configuration can send email.\n";
    }
    return apr_pstrcat(p,
        "Date: ", header_safe(p, date), "\r\n",
        "From: ", header_safe(p, from), "\r\n",
        "To: ", rcpts, "\r\n",
        "Subject: ", header_safe(p, apr_pstrcat(p, "[Terrapod] ",
                                 headline(p, run, trigger), NULL)), "\r\n",
        "Message-ID: <", header_safe(p, message_id), ">\r\n",
        "MIME-Version: 1.0\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n",
        "Content-Transfer-Encoding: 8bit\r\n",
        "\r\n", crlf(p, body), NULL);
}
