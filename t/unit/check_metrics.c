/* Unit tests of the metrics: what each recorder adds, as the exposition
 * text shows it (cumulative buckets agreeing with their count, series
 * only for routes that saw requests, label values escaped, unmatched
 * requests by method), the gauge of connections in use across processes
 * (a dead process's connections are not counted), storage failures
 * counted where they happen, and the database's part of a scrape. */
#include <check.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_file_io.h>

#include "tp_metrics.h"
#include "tp_storage.h"
#include "tp_tasks.h"

const char *temp_dir(apr_pool_t *p);

static apr_pool_t *pool;

static const tp_metrics_route_t routes[] = {
    {"GET", "/health"},
    {"GET", "/api/v2/workspaces/{id}"},
    {"POST", "/odd/\"quoted\"\\path"},
};
#define NROUTES 3

#define REQ "terrapod_http_request_duration_seconds"
#define WS_2XX "route=\"/api/v2/workspaces/{id}\",method=\"GET\"," \
               "status_class=\"2xx\""

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* Counters for nprocs processes in memory every forked child shares. */
static tp_metrics_t *shared_metrics(int nprocs)
{
    apr_shm_t *shm;

    ck_assert_int_eq(apr_shm_create(&shm, tp_metrics_size(NROUTES, nprocs),
                                    NULL, pool), APR_SUCCESS);
    return tp_metrics_make(pool, apr_shm_baseaddr_get(shm), routes, NROUTES,
                           nprocs);
}

static const tp_metrics_db_t db_down = {0};

static char *render(const tp_metrics_t *m)
{
    return tp_metrics_render(m, pool, &db_down);
}

/* 1 when text holds want as a whole line. */
static int has_line(const char *text, const char *want)
{
    apr_size_t n = strlen(want);
    const char *at;

    for (at = strstr(text, want); at; at = strstr(at + 1, want)) {
        if ((at == text || at[-1] == '\n') && at[n] == '\n') {
            return 1;
        }
    }
    return 0;
}

#define ck_line(text, ...) \
    ck_assert_msg(has_line(text, apr_psprintf(pool, __VA_ARGS__)), \
                  "no line \"%s\"", apr_psprintf(pool, __VA_ARGS__))

START_TEST(metrics_request_histograms)
{
    tp_metrics_t *m = shared_metrics(4);
    char *text;

    tp_metrics_request(m, 1, "GET", 200, 3000);
    tp_metrics_request(m, 1, "GET", 201, 30000);
    /* exactly on a bound counts in that bucket (le: at most) */
    tp_metrics_request(m, 1, "GET", 200, 5000);
    tp_metrics_request(m, 1, "GET", 204, apr_time_from_sec(20));
    tp_metrics_request(m, 1, "GET", 404, 1000);
    text = render(m);
    ck_line(text, "# TYPE " REQ " histogram");
    ck_line(text, REQ "_bucket{" WS_2XX ",le=\"0.005\"} 2");
    ck_line(text, REQ "_bucket{" WS_2XX ",le=\"0.01\"} 2");
    ck_line(text, REQ "_bucket{" WS_2XX ",le=\"0.05\"} 3");
    ck_line(text, REQ "_bucket{" WS_2XX ",le=\"10\"} 3");
    ck_line(text, REQ "_bucket{" WS_2XX ",le=\"+Inf\"} 4");
    ck_line(text, REQ "_count{" WS_2XX "} 4");
    ck_line(text, REQ "_sum{" WS_2XX "} 20.038000");
    ck_line(text, REQ "_count{route=\"/api/v2/workspaces/{id}\","
            "method=\"GET\",status_class=\"4xx\"} 1");
    /* no request, no series */
    ck_assert_ptr_null(strstr(text, "route=\"/health\""));
    ck_assert_ptr_null(strstr(text, "status_class=\"5xx\""));
}
END_TEST

START_TEST(metrics_unmatched_by_method)
{
    tp_metrics_t *m = shared_metrics(4);
    char *text;

    tp_metrics_request(m, TP_METRICS_UNMATCHED, "GET", 404, 100);
    tp_metrics_request(m, TP_METRICS_UNMATCHED, "DELETE", 405, 100);
    /* a method a client made up is not a label value */
    tp_metrics_request(m, TP_METRICS_UNMATCHED, "BREW-ws-AbCdEf", 404, 100);
    tp_metrics_request(m, TP_METRICS_UNMATCHED, NULL, 400, 100);
    /* an index past the table is no route either */
    tp_metrics_request(m, NROUTES, "GET", 404, 100);
    text = render(m);
    ck_line(text, REQ "_count{route=\"unmatched\",method=\"GET\","
            "status_class=\"4xx\"} 2");
    ck_line(text, REQ "_count{route=\"unmatched\",method=\"DELETE\","
            "status_class=\"4xx\"} 1");
    ck_line(text, REQ "_count{route=\"unmatched\",method=\"other\","
            "status_class=\"4xx\"} 2");
    ck_assert_ptr_null(strstr(text, "BREW"));
}
END_TEST

START_TEST(metrics_label_values_escaped)
{
    tp_metrics_t *m = shared_metrics(4);
    char *text;

    tp_metrics_request(m, 2, "POST", 302, 100);
    text = render(m);
    ck_line(text, REQ "_count{route=\"/odd/\\\"quoted\\\"\\\\path\","
            "method=\"POST\",status_class=\"3xx\"} 1");
}
END_TEST

/* The family a sample belongs to: its name less a histogram's suffix. */
static const char *family_of(const char *name)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    apr_size_t n = strlen(name), i;

    for (i = 0; i < 3; i++) {
        apr_size_t k = strlen(suffixes[i]);

        if (n > k && strcmp(name + n - k, suffixes[i]) == 0) {
            return apr_pstrndup(pool, name, n - k);
        }
    }
    return name;
}

/* Every line is a comment (HELP, then TYPE, once per family) or a sample
 * of a family typed before it; a histogram's buckets never decrease
 * within a series. */
START_TEST(metrics_text_well_formed)
{
    tp_metrics_t *m = shared_metrics(4);
    apr_hash_t *typed = apr_hash_make(pool);
    char *text, *ln, *last, name[128], type[16];
    apr_int64_t prev = 0;

    tp_metrics_request(m, 1, "GET", 200, 7000);
    tp_metrics_request(m, 1, "GET", 200, 70000);
    tp_metrics_request(m, 1, "GET", 500, 70000);
    tp_metrics_task(m, 0, TP_TASK_OK, 1000);
    text = render(m);
    ck_assert_int_eq(text[strlen(text) - 1], '\n');
    for (ln = apr_strtok(text, "\n", &last); ln;
         ln = apr_strtok(NULL, "\n", &last)) {
        if (sscanf(ln, "# TYPE %127s %15s", name, type) == 2) {
            ck_assert_ptr_null(apr_hash_get(typed, name,
                                            APR_HASH_KEY_STRING));
            apr_hash_set(typed, apr_pstrdup(pool, name), APR_HASH_KEY_STRING,
                         "");
            continue;
        }
        if (strncmp(ln, "# HELP ", 7) == 0) {
            continue;
        }
        ck_assert_msg(sscanf(ln, "%127[a-z_]", name) == 1, "line: %s", ln);
        ck_assert_msg(apr_hash_get(typed, family_of(name),
                                   APR_HASH_KEY_STRING),
                      "sample before its TYPE: %s", ln);
        if (strstr(name, "_bucket")) {
            apr_int64_t v = apr_atoi64(strrchr(ln, ' ') + 1);

            /* a series starts again at its first bucket */
            ck_assert_msg(v >= prev || strstr(ln, "le=\"0.005\"")
                          || strstr(ln, "le=\"0.0001\""),
                          "buckets decrease: %s", ln);
            prev = v;
        }
    }
}
END_TEST

START_TEST(metrics_database_pool)
{
    tp_metrics_t *m = shared_metrics(4);
    char *text;

    tp_metrics_attach(m);
    tp_metrics_db_acquired(m, 1, 50);
    tp_metrics_db_acquired(m, 1, 3000);
    tp_metrics_db_released(m);
    tp_metrics_db_acquired(m, 0, 2000000);
    text = render(m);
    ck_line(text, "terrapod_db_connections_in_use 1");
    ck_line(text, "terrapod_db_acquire_failures_total 1");
    ck_line(text, "terrapod_db_acquire_seconds_bucket{le=\"0.0001\"} 1");
    ck_line(text, "terrapod_db_acquire_seconds_bucket{le=\"0.005\"} 2");
    ck_line(text, "terrapod_db_acquire_seconds_bucket{le=\"+Inf\"} 3");
    ck_line(text, "terrapod_db_acquire_seconds_count 3");
    ck_line(text, "terrapod_db_acquire_seconds_sum 2.003050");
}
END_TEST

/* A process that dies holding connections leaves no trace in the gauge,
 * and its slot goes to the next process that needs one. */
START_TEST(metrics_dead_process_not_counted)
{
    tp_metrics_t *m = shared_metrics(1);
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        tp_metrics_attach(m);
        tp_metrics_db_acquired(m, 1, 10);
        tp_metrics_db_acquired(m, 1, 10);
        _exit(has_line(render(m), "terrapod_db_connections_in_use 2")
              ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_line(render(m), "terrapod_db_acquire_seconds_count 2");
    ck_line(render(m), "terrapod_db_connections_in_use 0");
    tp_metrics_attach(m);
    tp_metrics_db_acquired(m, 1, 10);
    ck_line(render(m), "terrapod_db_connections_in_use 1");
}
END_TEST

START_TEST(metrics_tasks)
{
    tp_metrics_t *m = shared_metrics(4);
    const char *name = tp_tasks[0].name;
    char *text;

    tp_metrics_task(m, 0, TP_TASK_OK, 2000);
    tp_metrics_task(m, 0, TP_TASK_FAILED, apr_time_from_sec(2));
    tp_metrics_task(m, 0, TP_TASK_SKIPPED, 100);
    tp_metrics_task(m, 99, TP_TASK_OK, 100);
    text = render(m);
    ck_line(text, "terrapod_task_runs_total{task=\"%s\",outcome=\"ok\"} 1",
            name);
    ck_line(text, "terrapod_task_runs_total{task=\"%s\",outcome=\"failed\"} 1",
            name);
    ck_line(text, "terrapod_task_runs_total{task=\"%s\",outcome=\"skipped\"} "
            "1", name);
    /* a skipped turn took no time of this node's */
    ck_line(text, "terrapod_task_duration_seconds_count{task=\"%s\"} 2", name);
    ck_line(text, "terrapod_task_duration_seconds_bucket{task=\"%s\","
            "le=\"0.005\"} 1", name);
    ck_line(text, "terrapod_task_runs_total{task=\"%s\",outcome=\"ok\"} 0",
            tp_tasks[1].name);
}
END_TEST

/* Storage counts its own failures: a root that is a file makes every
 * write fail. */
START_TEST(metrics_storage_errors)
{
    tp_metrics_t *m = shared_metrics(4);
    const char *file = apr_pstrcat(pool, temp_dir(pool), "/not-a-dir", NULL);
    tp_storage_t st = {file, m};
    apr_file_t *f;
    tp_err_t *err;

    ck_assert_int_eq(apr_file_open(&f, file, APR_FOPEN_CREATE
                                   | APR_FOPEN_WRITE, APR_FPROT_OS_DEFAULT,
                                   pool), APR_SUCCESS);
    apr_file_close(f);
    err = tp_storage_put(&st, pool, "state/w/v.tfstate", "{}", 2);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 503);
    err = tp_storage_append(&st, pool, "logs/r/plan.log", "x", 1);
    ck_assert_int_eq(err->status, 503);
    ck_assert_int_eq(tp_storage_check(&st, pool)->status, 503);
    /* a missing object is no failure of storage */
    ck_assert_int_eq(tp_storage_read(&st, pool, "state/none", 10, NULL,
                                     NULL)->status, 404);
    tp_metrics_storage_error(m, 507);
    ck_line(render(m), "terrapod_storage_errors_total{kind=\"unavailable\"} 3");
    ck_line(render(m), "terrapod_storage_errors_total{kind=\"full\"} 1");
}
END_TEST

START_TEST(metrics_database_part)
{
    static const char *names[] = {"status", "n"};
    static const char *cells[] = {"plan_queued", "2", "planning", "4",
                                  "apply_queued", "1", "no-such", "9"};
    tp_rows_t runs = {4, 2, names, cells};
    tp_metrics_db_t db = {1, &runs, 3, 2};
    tp_metrics_t *m = shared_metrics(4);
    char *text = tp_metrics_render(m, pool, &db);

    ck_line(text, "terrapod_database_up 1");
    ck_line(text, "terrapod_runs{status=\"plan_queued\"} 2");
    ck_line(text, "terrapod_runs{status=\"planning\"} 4");
    ck_line(text, "terrapod_runs{status=\"pending\"} 0");
    ck_line(text, "terrapod_run_queue_depth 3");
    ck_line(text, "terrapod_listeners_connected 3");
    ck_line(text, "terrapod_listeners_busy 2");
    /* only the statuses runs pass through are labels */
    ck_assert_ptr_null(strstr(text, "no-such"));
    text = render(m);
    ck_line(text, "terrapod_database_up 0");
    ck_assert_ptr_null(strstr(text, "terrapod_runs"));
    ck_assert_ptr_null(strstr(text, "terrapod_listeners"));
}
END_TEST

/* Metrics off: the recorders are given no counters and do nothing. */
START_TEST(metrics_off)
{
    tp_metrics_request(NULL, 1, "GET", 200, 10);
    tp_metrics_db_acquired(NULL, 1, 10);
    tp_metrics_db_released(NULL);
    tp_metrics_task(NULL, 0, TP_TASK_OK, 10);
    tp_metrics_storage_error(NULL, 503);
}
END_TEST

Suite *metrics_suite(void);

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, metrics_request_histograms);
    tcase_add_test(tc, metrics_unmatched_by_method);
    tcase_add_test(tc, metrics_label_values_escaped);
    tcase_add_test(tc, metrics_text_well_formed);
    tcase_add_test(tc, metrics_database_pool);
    tcase_add_test(tc, metrics_dead_process_not_counted);
    tcase_add_test(tc, metrics_tasks);
    tcase_add_test(tc, metrics_storage_errors);
    tcase_add_test(tc, metrics_database_part);
    tcase_add_test(tc, metrics_off);
    suite_add_tcase(s, tc);
    return s;
}
