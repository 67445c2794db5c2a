/* Unit tests of tp_plan.c and the phase timestamps of tp_run.c: resource
 * counts of plan JSON (every kind of action, imports, data sources, the
 * ways a document is malformed or too large, reads in pieces), apply
 * summaries in logs, and status-timestamps of plans and applies. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tp_plan.h"
#include "tp_run.h"

Suite *plan_suite(void);

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A plan JSON with the given resource_changes elements. */
static const char *plan(const char *changes)
{
    return apr_psprintf(pool, "{\"format_version\":\"1.2\","
                         "\"terraform_version\":\"1.9.0\","
                         "\"resource_changes\":[%s]}", changes);
}

/* One resource change of mode managed doing actions (a JSON list). */
static const char *rc(const char *actions)
{
    return apr_psprintf(pool, "{\"address\":\"terraform_data.x\","
                        "\"mode\":\"managed\",\"type\":\"terraform_data\","
                        "\"change\":{\"actions\":%s,\"before\":null,"
                        "\"after\":{\"input\":\"a\"}}}", actions);
}

static tp_plan_counts_t counted(const char *json)
{
    tp_plan_counts_t c;
    tp_err_t *err = tp_plan_count_buf(pool, json, strlen(json), &c);

    ck_assert_msg(err == NULL, "%s: %s", json, err ? err->detail : "");
    return c;
}

#define ck_counts(c, a, ch, d, i) do {                                     \
        ck_assert_int_eq((c).additions, (a));                               \
        ck_assert_int_eq((c).changes, (ch));                                \
        ck_assert_int_eq((c).destructions, (d));                            \
        ck_assert_int_eq((c).imports, (i));                                 \
    } while (0)

/* the version terraform names in the plan, when it looks like one */
START_TEST(plan_terraform_version)
{
    ck_assert_str_eq(counted(plan(rc("[\"create\"]"))).terraform_version,
                     "1.9.0");
    ck_assert_str_eq(counted("{\"format_version\":\"1.2\","
                             "\"terraform_version\":\"1.12.0-beta1\"}")
                         .terraform_version, "1.12.0-beta1");
    ck_assert_ptr_null(counted("{\"format_version\":\"1.2\"}")
                           .terraform_version);
    ck_assert_ptr_null(counted("{\"format_version\":\"1.2\","
                               "\"terraform_version\":\"<b>1</b>\"}")
                           .terraform_version);
    ck_assert_ptr_null(counted("{\"format_version\":\"1.2\","
                               "\"terraform_version\":{\"v\":1}}")
                           .terraform_version);
    ck_assert_ptr_null(counted("{\"format_version\":\"1.2\","
                               "\"terraform_version\":\"1.2.3456789012345678"
                               "9012345678901234567890\"}").terraform_version);
}
END_TEST

START_TEST(plan_counts_each_action)
{
    ck_counts(counted(plan(rc("[\"create\"]"))), 1, 0, 0, 0);
    ck_counts(counted(plan(rc("[\"update\"]"))), 0, 1, 0, 0);
    ck_counts(counted(plan(rc("[\"delete\"]"))), 0, 0, 1, 0);
    ck_counts(counted(plan(rc("[\"delete\",\"create\"]"))), 1, 0, 1, 0);
    ck_counts(counted(plan(rc("[\"create\",\"delete\"]"))), 1, 0, 1, 0);
    ck_counts(counted(plan(rc("[\"create\",\"forget\"]"))), 1, 0, 0, 0);
    ck_counts(counted(plan(rc("[\"no-op\"]"))), 0, 0, 0, 0);
    ck_counts(counted(plan(rc("[\"read\"]"))), 0, 0, 0, 0);
    ck_counts(counted(plan(rc("[\"forget\"]"))), 0, 0, 0, 0);
    /* what no terraform writes counts nothing, and is no error */
    ck_counts(counted(plan(rc("[\"explode\"]"))), 0, 0, 0, 0);
    ck_counts(counted(plan(rc("[\"create\",\"update\"]"))), 0, 0, 0, 0);
    ck_counts(counted(plan(rc("[\"create\",\"delete\",\"create\"]"))),
              0, 0, 0, 0);
    ck_counts(counted(plan(rc("[]"))), 0, 0, 0, 0);
}
END_TEST

START_TEST(plan_counts_mixed_and_imports)
{
    const char *import = "{\"address\":\"terraform_data.i\",\"mode\":"
        "\"managed\",\"change\":{\"actions\":[\"no-op\"],\"importing\":"
        "{\"id\":\"abc\"}}}";
    const char *import_create = "{\"mode\":\"managed\",\"change\":"
        "{\"importing\":{\"id\":\"x\"},\"actions\":[\"create\"]}}";
    const char *not_importing = "{\"mode\":\"managed\",\"change\":"
        "{\"actions\":[\"update\"],\"importing\":null}}";

    ck_counts(counted(plan(apr_pstrcat(pool, rc("[\"create\"]"), ",",
                                       rc("[\"create\"]"), ",",
                                       rc("[\"update\"]"), ",",
                                       rc("[\"delete\",\"create\"]"), ",",
                                       rc("[\"delete\"]"), ",",
                                       rc("[\"no-op\"]"), NULL))),
              3, 1, 2, 0);
    ck_counts(counted(plan(import)), 0, 0, 0, 1);
    ck_counts(counted(plan(import_create)), 1, 0, 0, 1);
    ck_counts(counted(plan(not_importing)), 0, 1, 0, 0);
}
END_TEST

START_TEST(plan_counts_data_sources_and_modes)
{
    /* terraform leaves deleted data sources out of its summary */
    ck_counts(counted(plan("{\"mode\":\"data\",\"change\":{\"actions\":"
                           "[\"delete\"]}}")), 0, 0, 0, 0);
    ck_counts(counted(plan("{\"mode\":\"data\",\"change\":{\"actions\":"
                           "[\"read\"]}}")), 0, 0, 0, 0);
    /* the mode may come after the change */
    ck_counts(counted(plan("{\"change\":{\"actions\":[\"delete\"]},"
                           "\"mode\":\"managed\"}")), 0, 0, 1, 0);
    ck_counts(counted(plan("{\"change\":{\"actions\":[\"delete\"]},"
                           "\"mode\":\"data\"}")), 0, 0, 0, 0);
    /* names may be escaped like any JSON string */
    ck_counts(counted(plan("{\"m\\u006fde\":\"managed\",\"change\":"
                           "{\"actions\":[\"cr\\u0065ate\","
                           "\"d\\u0065lete\"]}}")), 1, 0, 1, 0);
    /* a resource address holding the names is just a string */
    ck_counts(counted(plan("{\"address\":\"resource_changes\",\"change\":"
                           "{\"actions\":[\"create\"]}}")), 1, 0, 0, 0);
}
END_TEST

START_TEST(plan_counts_only_resource_changes)
{
    /* drift and nested lookalikes are not the plan's changes */
    ck_counts(counted("{\"format_version\":\"1.2\",\"resource_drift\":["
                      "{\"mode\":\"managed\",\"change\":{\"actions\":"
                      "[\"update\"]}}],\"planned_values\":{\"root_module\":"
                      "{\"resource_changes\":[{\"change\":{\"actions\":"
                      "[\"create\"]}}]}},\"resource_changes\":[{\"mode\":"
                      "\"managed\",\"change\":{\"actions\":[\"delete\"]}}],"
                      "\"output_changes\":{\"o\":{\"actions\":[\"create\"]}}}"),
              0, 0, 1, 0);
    /* no changes: terraform leaves the list out */
    ck_counts(counted("{\"format_version\":\"1.2\"}"), 0, 0, 0, 0);
    ck_counts(counted("{\"format_version\":\"1.2\",\"resource_changes\":null}"),
              0, 0, 0, 0);
    ck_counts(counted(" \n\t{ \"resource_changes\" : [ { \"change\" : { "
                      "\"actions\" : [ \"create\" ] } } ] , "
                      "\"format_version\" : \"1.2\" } \r\n"), 1, 0, 0, 0);
    /* values of every JSON kind are skipped */
    ck_counts(counted("{\"format_version\":\"1.2\",\"v\":[1,-2.5e+3,0,"
                      "1E9,0.25,true,false,null,\"\\\"\\\\\\/\\b\\f\\n\\r\\t"
                      "\\u00e9\",{\"a\":{}},[]],\"resource_changes\":[]}"),
              0, 0, 0, 0);
}
END_TEST

static void refused(const char *json, const char *why)
{
    tp_plan_counts_t c = {9, 9, 9, 9};
    tp_err_t *err = tp_plan_count_buf(pool, json, strlen(json), &c);

    ck_assert_msg(err != NULL, "accepted: %s", json);
    ck_assert_int_eq(err->status, 422);
    ck_assert_msg(strstr(err->detail, why) != NULL, "%s: %s", json,
                  err->detail);
    ck_counts(c, 0, 0, 0, 0);
}

START_TEST(plan_malformed_is_an_error)
{
    refused("", "not a JSON object at byte 0");
    refused("   ", "not a JSON object");
    refused("[]", "not a JSON object");
    refused("\"plan\"", "not a JSON object");
    refused("{", "expected a string at byte 1");
    refused("{\"format_version\":\"1.2\"", "expected ',' or '}' at byte 23");
    refused("{\"format_version\":\"1.2\",}", "expected a string");
    refused("{\"format_version\" \"1.2\"}", "expected ':'");
    refused("{\"format_version\":\"1.2\"} x", "data after the document at "
            "byte 25");
    refused("{\"format_version\":\"1.2\"}{}", "data after the document");
    refused("{\"format_version\":\"1.2", "unterminated string");
    refused("{\"format_version\":\"a\tb\"}", "control character");
    refused("{\"format_version\":\"\\x\"}", "malformed escape");
    refused("{\"format_version\":\"\\u12G4\"}", "malformed escape");
    refused("{\"format_version\":\"1\",\"a\":tru}", "malformed literal");
    refused("{\"format_version\":\"1\",\"a\":nul", "malformed literal");
    refused("{\"format_version\":\"1\",\"a\":-}", "malformed number");
    refused("{\"format_version\":\"1\",\"a\":1.}", "malformed number");
    refused("{\"format_version\":\"1\",\"a\":1e}", "malformed number");
    refused("{\"format_version\":\"1\",\"a\":01}", "expected ',' or '}'");
    refused("{\"format_version\":\"1\",\"a\":[1 2]}", "expected ',' or ']'");
    refused("{\"format_version\":\"1\",\"a\":[1,]}", "unexpected character");
    refused("{\"format_version\":\"1\",\"a\":}", "unexpected character");
    refused("{\"format_version\":\"1\",\"a\":", "unexpected end");
    refused("{\"format_version\":1}", "expected a string");
    /* JSON, but no plan */
    refused("{}", "no format_version");
    refused("{\"resource_changes\":[]}", "no format_version");
    refused(plan("1"), "a resource change is not an object");
    refused("{\"format_version\":\"1\",\"resource_changes\":{}}",
            "resource_changes is not an array");
    refused(plan("{\"change\":[]}"), "change is not an object");
    refused(plan("{\"change\":{\"actions\":\"create\"}}"),
            "actions is not an array");
    refused(plan("{\"change\":{\"actions\":[1]}}"),
            "an action is not a string");
    refused(plan("{\"mode\":1}"), "mode is not a string");
    refused(plan(rc("[\"create\"]")) + 1, "not a JSON object");
}
END_TEST

/* "{"format_version":"1","v":" then n arrays, a 0 and their ends. */
static const char *nested(int n)
{
    char *s = apr_palloc(pool, 2 * (apr_size_t)n + 64);
    int i, at = sprintf(s, "{\"format_version\":\"1\",\"v\":");

    for (i = 0; i < n; i++) {
        s[at++] = '[';
    }
    s[at++] = '0';
    for (i = 0; i < n; i++) {
        s[at++] = ']';
    }
    strcpy(s + at, "}");
    return s;
}

START_TEST(plan_limits)
{
    const char *doc = plan(rc("[\"create\"]"));
    tp_plan_counts_t c;
    tp_err_t *err;

    /* the document is depth 1, so it may hold DEPTH_MAX - 1 levels */
    ck_counts(counted(nested(TP_PLAN_DEPTH_MAX - 1)), 0, 0, 0, 0);
    refused(nested(TP_PLAN_DEPTH_MAX), "nested too deep");
    refused(nested(100000), "nested too deep");
    err = tp_plan_count_buf(pool, doc, strlen(doc), &c);
    ck_assert_ptr_eq(err, NULL);
    ck_counts(c, 1, 0, 0, 0);
}
END_TEST

typedef struct pieces {
    const char *buf;
    apr_size_t len, pos, step;
    int fail_at;                /* fail the read that starts here; -1 never */
} pieces_t;

static apr_status_t read_pieces(void *baton, char *buf, apr_size_t len,
                                apr_size_t *got)
{
    pieces_t *pc = baton;
    apr_size_t n = pc->step < len ? pc->step : len;

    if (pc->fail_at >= 0 && pc->pos >= (apr_size_t)pc->fail_at) {
        *got = 0;
        return APR_EGENERAL;
    }
    if (n > pc->len - pc->pos) {
        n = pc->len - pc->pos;
    }
    memcpy(buf, pc->buf + pc->pos, n);
    pc->pos += n;
    *got = n;
    return APR_SUCCESS;
}

START_TEST(plan_read_in_pieces_and_capped)
{
    const char *doc = plan(apr_pstrcat(pool, rc("[\"create\"]"), ",",
                                       rc("[\"delete\",\"create\"]"), ",",
                                       "{\"mode\":\"managed\",\"change\":"
                                       "{\"actions\":[\"update\"],"
                                       "\"importing\":{\"id\":\"\\u00e9\"}}}",
                                       NULL));
    apr_size_t len = strlen(doc), step;
    tp_plan_counts_t c;
    tp_err_t *err;

    for (step = 1; step <= 64; step++) {
        pieces_t pc = {doc, len, 0, step, -1};

        err = tp_plan_count(pool, read_pieces, &pc, (apr_off_t)len, &c);
        ck_assert_ptr_eq(err, NULL);
        ck_counts(c, 2, 1, 1, 1);
    }
    {
        pieces_t pc = {doc, len, 0, 7, -1};

        err = tp_plan_count(pool, read_pieces, &pc, (apr_off_t)len - 1, &c);
        ck_assert_ptr_ne(err, NULL);
        ck_assert_int_eq(err->status, 422);
        ck_assert_msg(strstr(err->detail, apr_psprintf(pool, "more than %d "
                             "bytes", (int)len - 1)) != NULL, "%s",
                      err->detail);
    }
    {
        pieces_t pc = {doc, len, 0, 16, 32};

        err = tp_plan_count(pool, read_pieces, &pc, (apr_off_t)len, &c);
        ck_assert_ptr_ne(err, NULL);
        ck_assert_int_eq(err->status, 503);
        ck_assert_str_eq(err->detail, "the plan JSON cannot be read");
    }
}
END_TEST

static const char *temp_file(const char *content)
{
    char *path = apr_pstrdup(pool, "/tmp/tp-check-plan-XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)),
                     (ssize_t)strlen(content));
    close(fd);
    return path;
}

START_TEST(plan_count_file)
{
    const char *good = temp_file(plan(rc("[\"delete\"]")));
    const char *bad = temp_file("{\"format_version\":");
    tp_plan_counts_t c;
    tp_err_t *err;

    ck_assert_ptr_eq(tp_plan_count_file(pool, good, 1 << 20, &c), NULL);
    ck_counts(c, 0, 0, 1, 0);
    err = tp_plan_count_file(pool, bad, 1 << 20, &c);
    ck_assert_int_eq(err->status, 422);
    err = tp_plan_count_file(pool, "/nonexistent/plan.json", 1 << 20, &c);
    ck_assert_int_eq(err->status, 503);
    unlink(good);
    unlink(bad);
}
END_TEST

/* The JSON rendering of a state (terraform show -json): an object with a
 * string format_version, checked whole, capped, wherever the version is. */
START_TEST(state_json_check)
{
    static const struct {
        const char *doc;
        int status;
    } cases[] = {
        {"{\"format_version\":\"1.0\"}", 0},
        {"{\"values\":{\"outputs\":{\"format_version\":1}},"
         "\"terraform_version\":\"1.11.4\",\"format_version\":\"1.0\"}", 0},
        {"{\"values\":{\"format_version\":\"1.0\"}}", 422},
        {"{\"format_version\":1}", 422},
        {"{\"version\":4,\"serial\":1,\"lineage\":\"x\"}", 422},
        {"[\"format_version\"]", 422},
        {"{\"format_version\":\"1.0\"", 422},
        {"{\"format_version\":\"1.0\"} {}", 422},
        {"", 422},
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = temp_file(cases[i].doc);
        tp_err_t *err = tp_state_json_check_file(pool, path, 1 << 20);

        if (cases[i].status) {
            ck_assert_msg(err && err->status == cases[i].status,
                          "case %d accepted", (int)i);
        }
        else {
            ck_assert_msg(err == NULL, "case %d: %s", (int)i,
                          err ? err->detail : "");
        }
        unlink(path);
    }
    {
        const char *path = temp_file("{\"format_version\":\"1.0\"}");

        ck_assert_int_eq(tp_state_json_check_file(pool, path, 10)->status,
                         422);
        unlink(path);
    }
    ck_assert_int_eq(tp_state_json_check_file(pool, "/nonexistent/s.json",
                                              1 << 20)->status, 503);
}
END_TEST

/* The summary of log, fed in pieces of step bytes; 0 when none. */
static int summary(const char *log, apr_size_t step, tp_plan_counts_t *c)
{
    tp_apply_scan_t s;
    apr_size_t len = strlen(log), at;

    memset(c, 0, sizeof(*c));
    tp_apply_scan_init(&s);
    for (at = 0; at < len; at += step) {
        tp_apply_scan_feed(&s, log + at, len - at < step ? len - at : step);
    }
    return tp_apply_scan_end(&s, c);
}

START_TEST(apply_summaries)
{
    const char *log = "Initializing the backend...\n\n"
        "terraform_data.a: Creating...\n"
        "terraform_data.a: Creation complete after 0s [id=1]\n\n"
        "Apply complete! Resources: 2 added, 1 changed, 3 destroyed.\n\n"
        "Outputs:\n\ngreeting = <<EOT\n"
        "Apply complete! Resources: 9 added, 9 changed, 9 destroyed.\nEOT\n";
    tp_plan_counts_t c;
    apr_size_t step;

    for (step = 1; step <= strlen(log); step++) {
        ck_assert_int_eq(summary(log, step, &c), 1);
        ck_counts(c, 2, 1, 3, 0);
    }
    ck_assert_int_eq(summary("Apply complete! Resources: 4 imported, 1 added,"
                             " 0 changed, 0 destroyed.\n", 5, &c), 1);
    ck_counts(c, 1, 0, 0, 4);
    ck_assert_int_eq(summary("x\r\nDestroy complete! Resources: 7 destroyed."
                             "\r\n", 3, &c), 1);
    ck_counts(c, 0, 0, 7, 0);
    /* colours and what newer terraform adds after the summary */
    ck_assert_int_eq(summary("\033[0m\033[1m\033[32m\nApply complete! "
                             "Resources: 1 added, 0 changed, 0 destroyed. "
                             "Actions: 1 invoked.\033[0m\n", 1000, &c), 1);
    ck_counts(c, 1, 0, 0, 0);
    /* the last line needs no newline */
    ck_assert_int_eq(summary("Apply complete! Resources: 0 added, 0 changed, "
                             "1 destroyed.", 1000, &c), 1);
    ck_counts(c, 0, 0, 1, 0);
}
END_TEST

START_TEST(apply_without_summary)
{
    static const char *const logs[] = {
        "",
        "Error: something failed\n",
        "  Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\n",
        "out = \"Apply complete! Resources: 1 added, 0 changed, "
        "0 destroyed.\"\n",
        "Apply complete! Resources: x added, 0 changed, 0 destroyed.\n",
        "Apply complete! Resources: 1 added, 0 changed.\n",
        "Apply complete! Resources: 1 added, 0 changed, 0 destroyed\n",
        "Apply complete! Resources: 1 imported, 0 changed, 0 destroyed.\n",
        "Apply complete! Resources: 1234567890123456789 added, 0 changed, "
        "0 destroyed.\n",
        "Destroy complete! Resources: destroyed.\n",
        "Apply complete!\n",
        NULL
    };
    tp_plan_counts_t c;
    int i;

    for (i = 0; logs[i]; i++) {
        ck_assert_msg(summary(logs[i], 4, &c) == 0, "%s", logs[i]);
    }
}
END_TEST

START_TEST(apply_long_lines)
{
    char *junk = apr_palloc(pool, 100001);
    tp_plan_counts_t c;

    memset(junk, 'A', 100000);
    junk[100000] = '\0';
    ck_assert_int_eq(summary(apr_pstrcat(pool, junk, "\nApply complete! "
                                         "Resources: 5 added, 0 changed, "
                                         "0 destroyed.", junk, "\n", NULL),
                             999, &c), 1);
    ck_counts(c, 5, 0, 0, 0);
    /* a summary glued to the end of a long line is not at its start */
    ck_assert_int_eq(summary(apr_pstrcat(pool, junk, "Apply complete! "
                                         "Resources: 5 added, 0 changed, "
                                         "0 destroyed.\n", NULL), 999, &c), 0);
}
END_TEST

START_TEST(apply_count_file)
{
    const char *log = temp_file("Apply complete! Resources: 1 added, 2 "
                                "changed, 3 destroyed.\n");
    const char *none = temp_file("Error: boom\n");
    tp_plan_counts_t c;
    int found = -1;

    ck_assert_ptr_eq(tp_apply_count_file(pool, log, &c, &found), NULL);
    ck_assert_int_eq(found, 1);
    ck_counts(c, 1, 2, 3, 0);
    ck_assert_ptr_eq(tp_apply_count_file(pool, none, &c, &found), NULL);
    ck_assert_int_eq(found, 0);
    ck_assert_ptr_eq(tp_apply_count_file(pool, "/nonexistent/apply.log", &c,
                                         &found), NULL);
    ck_assert_int_eq(found, 0);
    unlink(log);
    unlink(none);
}
END_TEST

START_TEST(phase_timestamps)
{
    static const char *const applied = "{\"pending-at\":\"t1\","
        "\"plan-queued-at\":\"t2\",\"planning-at\":\"t3\","
        "\"planned-at\":\"t4\",\"confirmed-at\":\"t5\","
        "\"apply-queued-at\":\"t6\",\"applying-at\":\"t7\","
        "\"applied-at\":\"t8\"}";
    static const char *const plan_only = "{\"pending-at\":\"t1\","
        "\"plan-queued-at\":\"t2\",\"planning-at\":\"t3\","
        "\"planned-and-finished-at\":\"t4\"}";
    static const char *const errored = "{\"pending-at\":\"t1\","
        "\"plan-queued-at\":\"t2\",\"planning-at\":\"t3\","
        "\"errored-at\":\"t4\"}";
    static const char *const canceled = "{\"pending-at\":\"t1\","
        "\"plan-queued-at\":\"t2\",\"planning-at\":\"t3\","
        "\"planned-at\":\"t4\",\"apply-queued-at\":\"t5\","
        "\"applying-at\":\"t6\",\"canceled-at\":\"t7\"}";
    static const char *const plan_done = "{\"pending-at\":\"t1\","
        "\"queued-at\":\"t2\",\"started-at\":\"t3\","
        "\"finished-at\":\"t4\"}";
    static const struct {
        const char *run;
        int apply;
        const char *status, *want;
    } cases[] = {
        {NULL, 0, "pending", "{}"},
        {applied, 0, "finished", plan_done},
        {applied, 1, "finished", "{\"queued-at\":\"t6\",\"started-at\":"
                                 "\"t7\",\"finished-at\":\"t8\"}"},
        {plan_only, 0, "finished", plan_done},
        {plan_only, 1, "unreachable", "{}"},
        {errored, 0, "errored", "{\"pending-at\":\"t1\",\"queued-at\":"
                                "\"t2\",\"started-at\":\"t3\","
                                "\"errored-at\":\"t4\"}"},
        {errored, 1, "unreachable", "{}"},
        /* canceled while applying: the plan had finished */
        {canceled, 0, "finished", plan_done},
        {canceled, 1, "canceled", "{\"queued-at\":\"t5\",\"started-at\":"
                                  "\"t6\",\"canceled-at\":\"t7\"}"},
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tp_json_t *run = cases[i].run ? tp_json_parse(pool, cases[i].run,
                                                      strlen(cases[i].run),
                                                      NULL)
                                      : NULL;

        ck_assert_str_eq(tp_json_dump(tp_run_phase_timestamps(pool, run,
                             cases[i].apply, cases[i].status), pool),
                         cases[i].want);
    }
}
END_TEST

Suite *plan_suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plan_counts_each_action);
    tcase_add_test(tc, plan_terraform_version);
    tcase_add_test(tc, plan_counts_mixed_and_imports);
    tcase_add_test(tc, plan_counts_data_sources_and_modes);
    tcase_add_test(tc, plan_counts_only_resource_changes);
    tcase_add_test(tc, plan_malformed_is_an_error);
    tcase_add_test(tc, plan_limits);
    tcase_add_test(tc, plan_read_in_pieces_and_capped);
    tcase_add_test(tc, plan_count_file);
    tcase_add_test(tc, state_json_check);
    tcase_add_test(tc, apply_summaries);
    tcase_add_test(tc, apply_without_summary);
    tcase_add_test(tc, apply_long_lines);
    tcase_add_test(tc, apply_count_file);
    tcase_add_test(tc, phase_timestamps);
    suite_add_tcase(s, tc);
    return s;
}
