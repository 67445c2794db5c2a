/* Unit tests of notifications: the triggers a run's status fires, the
 * bodies of each destination, TFE's signature, email addresses and
 * headers, and the outbound guard's decisions (address classes, CIDRs,
 * the allow list, URLs). */
#include <check.h>
#include <string.h>
#include <arpa/inet.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tp_notify.h"
#include "tp_outbound.h"
#include "tp_json.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static tp_notify_run_t a_run(const char *status)
{
    tp_notify_run_t r;

    memset(&r, 0, sizeof(r));
    r.id = "run-abc";
    r.status = status;
    r.message = "Deploy <prod> & more";
    r.created_at = "2026-01-02T03:04:05Z";
    r.created_by = "alice";
    r.updated_at = "2026-01-02T03:05:00Z";
    r.workspace_id = "ws-123";
    r.workspace_name = "prod";
    r.organization = "default";
    r.url = "https://tp.example/app/default/workspaces/prod/runs/run-abc";
    return r;
}

static const char *fires(const char *status, int drift, int changes,
                         int which)
{
    tp_notify_run_t r = a_run(status);
    const char *out[3];

    r.is_drift = drift;
    r.drifted = changes;
    tp_notify_triggers_of(&r, out);
    return out[which];
}

START_TEST(triggers_of_statuses)
{
    ck_assert_str_eq(fires("pending", 0, 0, 0), "run:created");
    ck_assert_str_eq(fires("planning", 0, 0, 0), "run:planning");
    ck_assert_str_eq(fires("planned", 0, 1, 0), "run:needs_attention");
    ck_assert_str_eq(fires("planned_and_finished", 0, 0, 0), "run:planned");
    ck_assert_str_eq(fires("applying", 0, 0, 0), "run:applying");
    ck_assert_str_eq(fires("applied", 0, 0, 0), "run:completed");
    ck_assert_str_eq(fires("errored", 0, 0, 0), "run:errored");
    ck_assert_str_eq(fires("canceled", 0, 0, 0), "run:errored");
    ck_assert_ptr_null(fires("plan_queued", 0, 0, 0));
    ck_assert_ptr_null(fires("discarded", 0, 0, 0));
    ck_assert_ptr_null(fires("confirmed", 0, 0, 0));
    /* drift runs */
    ck_assert_str_eq(fires("planned_and_finished", 1, 1, 0),
                     "run:drift_detected");
    ck_assert_str_eq(fires("planned_and_finished", 1, 1, 1),
                     "assessment:drifted");
    ck_assert_ptr_null(fires("planned_and_finished", 1, 1, 2));
    ck_assert_ptr_null(fires("planned_and_finished", 1, 0, 0));
    ck_assert_str_eq(fires("errored", 1, 0, 0), "assessment:failed");
    ck_assert_ptr_null(fires("errored", 1, 0, 1));
    ck_assert_ptr_null(fires("pending", 1, 0, 0));
    ck_assert_str_eq(fires("planning", 1, 0, 0), "run:planning");
}
END_TEST

START_TEST(trigger_and_destination_names)
{
    int i;

    for (i = 0; tp_notify_triggers[i]; i++) {
        ck_assert(tp_notify_trigger_valid(tp_notify_triggers[i]));
    }
    ck_assert_int_eq(i, 10);
    ck_assert(!tp_notify_trigger_valid("run:Created"));
    ck_assert(!tp_notify_trigger_valid("verification"));
    ck_assert(!tp_notify_trigger_valid(NULL));
    ck_assert(tp_notify_destination_valid("generic"));
    ck_assert(tp_notify_destination_valid("slack"));
    ck_assert(tp_notify_destination_valid("microsoft-teams"));
    ck_assert(tp_notify_destination_valid("email"));
    ck_assert(!tp_notify_destination_valid("teams"));
    ck_assert(!tp_notify_destination_valid(NULL));
}
END_TEST

static tp_json_t *parsed(const char *body)
{
    const char *why;
    tp_json_t *j = tp_json_parse(pool, body, strlen(body), &why);

    ck_assert_ptr_nonnull(j);
    return j;
}

START_TEST(generic_payload)
{
    tp_notify_run_t r = a_run("applied");
    tp_json_t *j = parsed(tp_notify_generic(pool, "nc-XYZ", &r,
                                            "run:completed"));
    tp_json_t *n;

    ck_assert_int_eq(tp_json_geti(j, "payload_version", NULL), 1);
    ck_assert_str_eq(tp_json_gets(j, "notification_configuration_id", NULL),
                     "nc-XYZ");
    ck_assert_str_eq(tp_json_gets(j, "run_url", NULL), r.url);
    ck_assert_str_eq(tp_json_gets(j, "run_id", NULL), "run-abc");
    ck_assert_str_eq(tp_json_gets(j, "run_message", NULL), r.message);
    ck_assert_str_eq(tp_json_gets(j, "run_created_at", NULL), r.created_at);
    ck_assert_str_eq(tp_json_gets(j, "run_created_by", NULL), "alice");
    ck_assert_str_eq(tp_json_gets(j, "workspace_id", NULL), "ws-123");
    ck_assert_str_eq(tp_json_gets(j, "workspace_name", NULL), "prod");
    ck_assert_str_eq(tp_json_gets(j, "organization_name", NULL), "default");
    ck_assert_uint_eq(tp_json_len(tp_json_get(j, "notifications", NULL)), 1);
    n = tp_json_at(tp_json_get(j, "notifications", NULL), 0);
    ck_assert_str_eq(tp_json_gets(n, "trigger", NULL), "run:completed");
    ck_assert_str_eq(tp_json_gets(n, "run_status", NULL), "applied");
    ck_assert_str_eq(tp_json_gets(n, "message", NULL), "Run completed");
    ck_assert_str_eq(tp_json_gets(n, "run_updated_at", NULL), r.updated_at);
    ck_assert_int_eq(tp_json_type(n, "run_updated_by", NULL), TP_JSON_NULL);
}
END_TEST

START_TEST(verification_payload)
{
    tp_json_t *j = parsed(tp_notify_generic(pool, "nc-XYZ", NULL,
                                            TP_NOTIFY_VERIFICATION));
    tp_json_t *n = tp_json_at(tp_json_get(j, "notifications", NULL), 0);

    ck_assert_str_eq(tp_json_gets(n, "trigger", NULL), "verification");
    ck_assert_int_eq(tp_json_type(j, "run_id", NULL), TP_JSON_NULL);
    ck_assert_int_eq(tp_json_type(j, "run_url", NULL), TP_JSON_NULL);
    ck_assert_int_eq(tp_json_type(n, "run_status", NULL), TP_JSON_NULL);
    ck_assert_str_eq(tp_json_gets(j, "notification_configuration_id", NULL),
                     "nc-XYZ");
}
END_TEST

START_TEST(signature_is_hmac_sha512)
{
    /* RFC 4231 test case 2 */
    ck_assert_str_eq(tp_notify_signature(pool, "Jefe",
                                         "what do ya want for nothing?"),
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    ck_assert_uint_eq(strlen(tp_notify_signature(pool, "k", "")), 128);
}
END_TEST

START_TEST(slack_block_kit)
{
    tp_notify_run_t r = a_run("errored");
    tp_json_t *j = parsed(tp_notify_slack(pool, &r, "run:errored"));
    tp_json_t *blocks = tp_json_get(j, "blocks", NULL);
    const char *text;

    ck_assert_str_eq(tp_json_gets(j, "text", NULL),
                     "Run errored: workspace prod (run-abc)");
    ck_assert_uint_eq(tp_json_len(blocks), 2);
    ck_assert_str_eq(tp_json_gets(tp_json_at(blocks, 0), "type", NULL),
                     "header");
    ck_assert_str_eq(tp_json_gets(tp_json_at(blocks, 0), "text", "type",
                                  NULL), "plain_text");
    ck_assert_str_eq(tp_json_gets(tp_json_at(blocks, 1), "text", "type",
                                  NULL), "mrkdwn");
    text = tp_json_gets(tp_json_at(blocks, 1), "text", "text", NULL);
    ck_assert_ptr_nonnull(strstr(text, "*Workspace:* prod"));
    ck_assert_ptr_nonnull(strstr(text, apr_pstrcat(pool, "<", r.url,
                                                   "|run-abc>", NULL)));
    /* the message's markup characters are escaped, not links */
    ck_assert_ptr_nonnull(strstr(text, "Deploy &lt;prod&gt; &amp; more"));
}
END_TEST

START_TEST(teams_message_card)
{
    tp_notify_run_t r = a_run("applied");
    tp_json_t *j = parsed(tp_notify_teams(pool, &r, "run:completed"));
    tp_json_t *facts, *act;

    ck_assert_str_eq(tp_json_gets(j, "@type", NULL), "MessageCard");
    ck_assert_str_eq(tp_json_gets(j, "title", NULL), "Run completed");
    facts = tp_json_get(tp_json_at(tp_json_get(j, "sections", NULL), 0),
                        "facts", NULL);
    ck_assert_uint_eq(tp_json_len(facts), 4);
    ck_assert_str_eq(tp_json_gets(tp_json_at(facts, 0), "value", NULL),
                     "prod");
    act = tp_json_at(tp_json_get(j, "potentialAction", NULL), 0);
    ck_assert_str_eq(tp_json_gets(act, "@type", NULL), "OpenUri");
    ck_assert_str_eq(tp_json_gets(tp_json_at(tp_json_get(act, "targets",
                                                         NULL), 0),
                                  "uri", NULL), r.url);
    j = parsed(tp_notify_teams(pool, NULL, TP_NOTIFY_VERIFICATION));
    ck_assert_int_eq(tp_json_type(j, "potentialAction", NULL),
                     TP_JSON_ABSENT);
}
END_TEST

START_TEST(email_addresses)
{
    ck_assert(tp_notify_email_valid("ops@example.com"));
    ck_assert(tp_notify_email_valid("a.b+c@sub.example.org"));
    ck_assert(!tp_notify_email_valid("ops@localhost"));
    ck_assert(!tp_notify_email_valid("@example.com"));
    ck_assert(!tp_notify_email_valid("ops"));
    ck_assert(!tp_notify_email_valid("ops@example.com\r\nBcc: x@y.z"));
    ck_assert(!tp_notify_email_valid("Ops <ops@example.com>"));
    ck_assert(!tp_notify_email_valid("o ps@example.com"));
    ck_assert(!tp_notify_email_valid(NULL));
}
END_TEST

START_TEST(email_message)
{
    tp_notify_run_t r = a_run("errored");
    apr_array_header_t *to = apr_array_make(pool, 2, sizeof(const char *));
    const char *m, *body;

    r.workspace_name = "prod\r\nBcc: evil@example.com";
    r.message = "line one\nline two";
    APR_ARRAY_PUSH(to, const char *) = "a@example.com";
    APR_ARRAY_PUSH(to, const char *) = "b@example.com";
    m = tp_notify_email(pool, "terrapod@example.com", to, &r, "run:errored",
                        "Fri, 02 Jan 2026 03:04:05 +0000", "nd-1@tp");
    ck_assert_ptr_nonnull(strstr(m, "From: terrapod@example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(m, "To: a@example.com, b@example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(m, "Date: Fri, 02 Jan 2026 03:04:05 "
                                    "+0000\r\n"));
    ck_assert_ptr_nonnull(strstr(m, "Message-ID: <nd-1@tp>\r\n"));
    ck_assert_ptr_nonnull(strstr(m, "Subject: [Terrapod] Run errored: "
                                    "workspace prod  Bcc: evil@example.com "
                                    "(run-abc)\r\n"));
    body = strstr(m, "\r\n\r\n");
    ck_assert_ptr_nonnull(body);
    /* the headers end where they should: no Bcc of the workspace's name */
    ck_assert_ptr_null(strstr(apr_pstrndup(pool, m, (apr_size_t)(body - m)),
                              "\r\nBcc:"));
    ck_assert_ptr_nonnull(strstr(body, "Message: line one\r\nline two\r\n"));
    ck_assert_ptr_nonnull(strstr(body, r.url));
    /* no bare line feed anywhere */
    for (; *m; m++) {
        ck_assert(*m != '\n' || m[-1] == '\r');
    }
}
END_TEST

static const char *class_of(const char *text)
{
    tp_cidr_t c;

    ck_assert_int_eq(tp_cidr_parse(text, &c), APR_SUCCESS);
    return tp_outbound_class(c.v6, c.addr);
}

START_TEST(address_classes)
{
    ck_assert_str_eq(class_of("127.0.0.1"), "loopback");
    ck_assert_str_eq(class_of("127.255.0.9"), "loopback");
    ck_assert_str_eq(class_of("10.1.2.3"), "private");
    ck_assert_str_eq(class_of("172.16.0.1"), "private");
    ck_assert_str_eq(class_of("172.31.255.255"), "private");
    ck_assert_ptr_null(class_of("172.32.0.1"));
    ck_assert_str_eq(class_of("192.168.1.1"), "private");
    ck_assert_str_eq(class_of("100.64.0.1"), "private");
    ck_assert_str_eq(class_of("169.254.169.254"), "metadata");
    ck_assert_str_eq(class_of("169.254.1.1"), "link-local");
    ck_assert_str_eq(class_of("0.0.0.0"), "unspecified");
    ck_assert_str_eq(class_of("224.0.0.1"), "multicast");
    ck_assert_str_eq(class_of("255.255.255.255"), "reserved");
    ck_assert_ptr_null(class_of("93.184.216.34"));
    ck_assert_ptr_null(class_of("8.8.8.8"));
    ck_assert_str_eq(class_of("::1"), "loopback");
    ck_assert_str_eq(class_of("::"), "unspecified");
    ck_assert_str_eq(class_of("fe80::1"), "link-local");
    ck_assert_str_eq(class_of("fd12::1"), "private");
    ck_assert_str_eq(class_of("fd00:ec2::254"), "metadata");
    ck_assert_str_eq(class_of("ff02::1"), "multicast");
    ck_assert_str_eq(class_of("::ffff:127.0.0.1"), "loopback");
    ck_assert_str_eq(class_of("::ffff:169.254.169.254"), "metadata");
    ck_assert_ptr_null(class_of("::ffff:8.8.8.8"));
    ck_assert_ptr_null(class_of("2606:4700::1111"));
}
END_TEST

START_TEST(cidr_parsing)
{
    tp_cidr_t c;

    ck_assert_int_eq(tp_cidr_parse("127.0.0.0/8", &c), APR_SUCCESS);
    ck_assert_int_eq(c.bits, 8);
    ck_assert_int_eq(c.v6, 0);
    ck_assert_int_eq(tp_cidr_parse("10.1.2.3", &c), APR_SUCCESS);
    ck_assert_int_eq(c.bits, 32);
    ck_assert_int_eq(tp_cidr_parse("fd00::/8", &c), APR_SUCCESS);
    ck_assert_int_eq(c.v6, 1);
    ck_assert_int_eq(c.bits, 8);
    ck_assert_int_eq(tp_cidr_parse("0.0.0.0/0", &c), APR_SUCCESS);
    ck_assert_int_eq(tp_cidr_parse("10.1.2.3/8", &c), APR_EINVAL);
    ck_assert_int_eq(tp_cidr_parse("10.0.0.0/33", &c), APR_EINVAL);
    ck_assert_int_eq(tp_cidr_parse("10.0.0.0/", &c), APR_EINVAL);
    ck_assert_int_eq(tp_cidr_parse("10.0.0.0/ 8", &c), APR_EINVAL);
    ck_assert_int_eq(tp_cidr_parse("10.0.0.0/-1", &c), APR_EINVAL);
    ck_assert_int_eq(tp_cidr_parse("10.0.0.0/8x", &c), APR_EINVAL);
    ck_assert_int_eq(tp_cidr_parse("example.com/8", &c), APR_EINVAL);
    ck_assert_int_eq(tp_cidr_parse("::/129", &c), APR_EINVAL);
    ck_assert_int_eq(tp_cidr_parse("", &c), APR_EINVAL);
}
END_TEST

static const char *refused(const char *addr, const char *allow_list)
{
    apr_array_header_t *allow = apr_array_make(pool, 2, sizeof(tp_cidr_t));
    char *list = apr_pstrdup(pool, allow_list), *last, *s;
    tp_cidr_t c;

    for (s = apr_strtok(list, " ", &last); s; s = apr_strtok(NULL, " ",
                                                             &last)) {
        ck_assert_int_eq(tp_cidr_parse(s, &c), APR_SUCCESS);
        APR_ARRAY_PUSH(allow, tp_cidr_t) = c;
    }
    ck_assert_int_eq(tp_cidr_parse(addr, &c), APR_SUCCESS);
    return tp_outbound_refused(c.v6, c.addr, allow);
}

START_TEST(allow_list)
{
    ck_assert_str_eq(refused("127.0.0.1", ""), "loopback");
    ck_assert_ptr_null(refused("127.0.0.1", "127.0.0.0/8"));
    ck_assert_ptr_null(refused("::ffff:127.0.0.1", "127.0.0.0/8"));
    ck_assert_str_eq(refused("::1", "127.0.0.0/8"), "loopback");
    ck_assert_str_eq(refused("10.0.0.1", "127.0.0.0/8"), "private");
    ck_assert_ptr_null(refused("10.9.8.7", "127.0.0.0/8 10.9.0.0/16"));
    ck_assert_str_eq(refused("10.10.8.7", "10.9.0.0/16"), "private");
    ck_assert_ptr_null(refused("10.9.8.7", "10.9.8.7/32"));
    ck_assert_str_eq(refused("169.254.169.254", "10.0.0.0/8"), "metadata");
    ck_assert_ptr_null(refused("169.254.169.254", "169.254.169.254"));
    ck_assert_ptr_null(refused("8.8.8.8", ""));
    ck_assert_ptr_null(refused("fd00:ec2::254", "fd00::/8"));
    ck_assert_str_eq(refused("fe80::1", "fd00::/8"), "link-local");
}
END_TEST

START_TEST(urls)
{
    tp_outbound_target_t t;

    ck_assert_ptr_null(tp_outbound_url(pool, "https://hooks.example.com/x",
                                       "http,https", &t));
    ck_assert_str_eq(t.host, "hooks.example.com");
    ck_assert_int_eq(t.port, 443);
    ck_assert_ptr_null(tp_outbound_url(pool, "http://[::1]:8080/x",
                                       "http,https", &t));
    ck_assert_str_eq(t.host, "::1");
    ck_assert_int_eq(t.port, 8080);
    ck_assert_ptr_null(tp_outbound_url(pool, "smtp://mail.example.com",
                                       "smtp,smtps", &t));
    ck_assert_int_eq(t.port, 25);
    ck_assert_int_eq(tp_outbound_url(pool, "ftp://example.com/",
                                     "http,https", &t)->status, 422);
    ck_assert_int_eq(tp_outbound_url(pool, "/relative", "http,https",
                                     &t)->status, 422);
    ck_assert_int_eq(tp_outbound_url(pool, "https://", "http,https",
                                     &t)->status, 422);
    ck_assert_int_eq(tp_outbound_url(pool, "https://u:p@example.com/",
                                     "http,https", &t)->status, 422);
    ck_assert_int_eq(tp_outbound_url(pool, "https://exa mple.com/",
                                     "http,https", &t)->status, 422);
    ck_assert_int_eq(tp_outbound_url(pool, "http://example.com:99999/",
                                     "http,https", &t)->status, 422);
}
END_TEST

START_TEST(check_resolves_and_pins)
{
    apr_array_header_t *allow = apr_array_make(pool, 1, sizeof(tp_cidr_t));
    tp_outbound_target_t t;
    tp_err_t *err;

    err = tp_outbound_check(pool, "http://127.0.0.1:9/hook", "http,https",
                            NULL, &t);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 422);
    ck_assert_ptr_nonnull(strstr(err->detail, "loopback"));
    err = tp_outbound_check(pool, "http://169.254.169.254/latest/",
                            "http,https", NULL, &t);
    ck_assert_ptr_nonnull(strstr(err->detail, "metadata"));
    tp_cidr_parse("127.0.0.0/8", &APR_ARRAY_PUSH(allow, tp_cidr_t));
    ck_assert_ptr_null(tp_outbound_check(pool, "http://127.0.0.1:9/hook",
                                         "http,https", allow, &t));
    ck_assert_str_eq(t.address, "127.0.0.1");
    ck_assert_ptr_null(t.resolve);
    /* a name: pinned to the address checked */
    tp_cidr_parse("::1", &APR_ARRAY_PUSH(allow, tp_cidr_t));
    ck_assert_ptr_null(tp_outbound_check(pool, "http://localhost:9/",
                                         "http,https", allow, &t));
    ck_assert_str_eq(t.resolve, apr_psprintf(pool, strchr(t.address, ':')
                                             ? "localhost:9:[%s]"
                                             : "localhost:9:%s", t.address));
    apr_array_pop(allow);
    err = tp_outbound_check(pool, "http://[::1]:9/", "http,https", allow, &t);
    ck_assert_int_eq(err->status, 422);
    err = tp_outbound_check(pool, "http://name.invalid/", "http,https",
                            allow, &t);
    ck_assert_int_eq(err->status, 502);
}
END_TEST

Suite *notify_suite(void);

Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("notify");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, triggers_of_statuses);
    tcase_add_test(tc, trigger_and_destination_names);
    tcase_add_test(tc, generic_payload);
    tcase_add_test(tc, verification_payload);
    tcase_add_test(tc, signature_is_hmac_sha512);
    tcase_add_test(tc, slack_block_kit);
    tcase_add_test(tc, teams_message_card);
    tcase_add_test(tc, email_addresses);
    tcase_add_test(tc, email_message);
    tcase_add_test(tc, address_classes);
    tcase_add_test(tc, cidr_parsing);
    tcase_add_test(tc, allow_list);
    tcase_add_test(tc, urls);
    tcase_add_test(tc, check_resolves_and_pins);
    suite_add_tcase(s, tc);
    return s;
}
