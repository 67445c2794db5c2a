/* Unit tests of the S3 backend's pure parts: the presigned URL against
 * AWS's published example, key and query encoding, path and virtual-host
 * URLs under a prefix, the shared-credentials file, the listing and
 * multipart documents. */
#include <check.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_date.h>

#include "tp_s3.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* AWS's documented example of a presigned GET (SigV4 query auth):
 * examplebucket/test.txt, 24 May 2013, valid for a day */
START_TEST(s3_presign_matches_aws_example)
{
    tp_s3_t s3 = {.endpoint = "https://s3.amazonaws.com",
                  .region = "us-east-1", .bucket = "examplebucket",
                  .prefix = "", .virtual_host = 1};
    tp_s3_creds_t c = {"AKIAIOSFODNN7EXAMPLE",
                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    apr_time_t when = apr_date_parse_rfc("Fri, 24 May 2013 00:00:00 GMT");
    const char *url = tp_s3_presign(&s3, pool, &c, "test.txt", when, 86400);

    ck_assert_str_eq(url,
        "https://examplebucket.s3.amazonaws.com/test.txt"
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3"
        "%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
        "&X-Amz-SignedHeaders=host&X-Amz-Signature="
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}
END_TEST

/* a session token is signed too, in its sorted place; another secret
 * signs differently */
START_TEST(s3_presign_session_token)
{
    tp_s3_t s3 = {.endpoint = "http://127.0.0.1:9000", .region = "eu-west-1",
                  .bucket = "b", .prefix = "tp/"};
    tp_s3_creds_t c = {"K", "S", "tok/en+="}, d = {"K", "S2", "tok/en+="};
    const char *url = tp_s3_presign(&s3, pool, &c, "state/x", 0, 300);

    ck_assert_ptr_nonnull(strstr(url, "http://127.0.0.1:9000/b/tp/state/x?"));
    ck_assert_ptr_nonnull(strstr(url, "&X-Amz-Expires=300"
                                      "&X-Amz-Security-Token=tok%2Fen%2B%3D"
                                      "&X-Amz-SignedHeaders=host"));
    ck_assert_str_ne(url, tp_s3_presign(&s3, pool, &d, "state/x", 0, 300));
}
END_TEST

START_TEST(s3_uri_encoding)
{
    ck_assert_str_eq(tp_s3_uri_encode(pool, "a/b c+d~e_f.g-h", 1),
                     "a/b%20c%2Bd~e_f.g-h");
    ck_assert_str_eq(tp_s3_uri_encode(pool, "a/b=é", 0), "a%2Fb%3D%C3%A9");
    ck_assert_str_eq(tp_s3_uri_encode(pool, "", 0), "");
}
END_TEST

START_TEST(s3_prefix_is_a_directory)
{
    ck_assert_str_eq(tp_s3_prefix(pool, "tp"), "tp/");
    ck_assert_str_eq(tp_s3_prefix(pool, "a/b//"), "a/b/");
    ck_assert_str_eq(tp_s3_prefix(pool, "/"), "");
    ck_assert_str_eq(tp_s3_prefix(pool, ""), "");
}
END_TEST

START_TEST(s3_urls_path_and_virtual)
{
    tp_s3_t s3 = {.endpoint = "https://s3.example.net:8443", .region = "r",
                  .bucket = "bk", .prefix = "pre/"};
    const char *host;

    ck_assert_str_eq(tp_s3_url(&s3, pool, "logs/run-1/plan.log", NULL, &host),
                     "https://s3.example.net:8443/bk/pre/logs/run-1/plan.log");
    ck_assert_str_eq(host, "s3.example.net:8443");
    /* the bucket itself has no trailing slash: its canonical URI is /bk */
    ck_assert_str_eq(tp_s3_url(&s3, pool, NULL, "list-type=2", &host),
                     "https://s3.example.net:8443/bk?list-type=2");
    s3.virtual_host = 1;
    ck_assert_str_eq(tp_s3_url(&s3, pool, "a b", "uploads=", &host),
                     "https://bk.s3.example.net:8443/pre/a%20b?uploads=");
    ck_assert_str_eq(host, "bk.s3.example.net:8443");
    ck_assert_str_eq(tp_s3_url(&s3, pool, NULL, NULL, &host),
                     "https://bk.s3.example.net:8443/");
}
END_TEST

START_TEST(s3_credentials_file)
{
    tp_s3_creds_t c;

    ck_assert(tp_s3_parse_creds(pool,
        "# rotated daily\n[other]\naws_access_key_id = NOPE\n"
        "[default]\r\naws_access_key_id=AKID \n"
        "aws_secret_access_key =  se=cret\t\naws_session_token = T\n"
        "[later]\naws_secret_access_key = NOPE\n", &c));
    ck_assert_str_eq(c.key, "AKID");
    ck_assert_str_eq(c.secret, "se=cret");
    ck_assert_str_eq(c.token, "T");
    /* lines before any profile count as the default's */
    ck_assert(tp_s3_parse_creds(pool, "aws_access_key_id=A\n"
                                "aws_secret_access_key=B\n", &c));
    ck_assert_ptr_null(c.token);
    ck_assert(!tp_s3_parse_creds(pool, "[default]\naws_access_key_id=A\n",
                                 &c));
    ck_assert(!tp_s3_parse_creds(pool, "[prod]\naws_access_key_id=A\n"
                                 "aws_secret_access_key=B\n", &c));
    ck_assert(!tp_s3_parse_creds(pool, "", &c));
}
END_TEST

START_TEST(s3_listing_parsed)
{
    tp_s3_t s3 = {.prefix = "tp/"};
    apr_array_header_t *objs = apr_array_make(pool, 4,
                                              sizeof(tp_s3_object_t));
    const char *token;
    const tp_s3_object_t *o;

    tp_s3_parse_list(pool, &s3,
        "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name>"
        "<IsTruncated>true</IsTruncated><Contents><Key>tp/a&amp;b</Key>"
        "<ETag>&quot;x&quot;</ETag><Size>12</Size></Contents>"
        "<Contents><Key>elsewhere/c</Key><Size>1</Size></Contents>"
        "<Contents><Size>7</Size><Key>tp/logs/x.chunks/0000000000000012"
        "</Key></Contents>"
        "<NextContinuationToken>n&lt;1</NextContinuationToken>"
        "</ListBucketResult>", objs, &token);
    ck_assert_int_eq(objs->nelts, 2);
    o = &APR_ARRAY_IDX(objs, 0, tp_s3_object_t);
    ck_assert_str_eq(o->key, "a&b");
    ck_assert_int_eq(o->size, 12);
    ck_assert_str_eq(o->etag, "x");
    o = &APR_ARRAY_IDX(objs, 1, tp_s3_object_t);
    ck_assert_str_eq(o->key, "logs/x.chunks/0000000000000012");
    ck_assert_int_eq(o->size, 7);
    ck_assert_str_eq(o->etag, "");
    ck_assert_str_eq(token, "n<1");
    /* the last page; and a broken document adds nothing */
    tp_s3_parse_list(pool, &s3, "<ListBucketResult><IsTruncated>false"
                     "</IsTruncated><NextContinuationToken>z"
                     "</NextContinuationToken></ListBucketResult>", objs,
                     &token);
    ck_assert_ptr_null(token);
    tp_s3_parse_list(pool, &s3, "<Contents><Key>tp/x</Key><Size>", objs,
                     &token);
    ck_assert_int_eq(objs->nelts, 2);
}
END_TEST

START_TEST(s3_xml_text)
{
    const char *doc = "<R><UploadId>u&apos;1</UploadId><UploadId>2"
                      "</UploadId><Code>", *at = doc;

    ck_assert_str_eq(tp_s3_xml_text(pool, &at, "UploadId"), "u'1");
    ck_assert_str_eq(tp_s3_xml_text(pool, &at, "UploadId"), "2");
    ck_assert_ptr_null(tp_s3_xml_text(pool, &at, "UploadId"));
    at = doc;
    ck_assert_ptr_null(tp_s3_xml_text(pool, &at, "Code"));
    ck_assert_ptr_eq(at, doc);
}
END_TEST

START_TEST(s3_complete_document)
{
    apr_array_header_t *etags = apr_array_make(pool, 2, sizeof(char *));

    APR_ARRAY_PUSH(etags, const char *) = "aa";
    APR_ARRAY_PUSH(etags, const char *) = "bb";
    ck_assert_str_eq(tp_s3_complete_xml(pool, etags),
        "<CompleteMultipartUpload>"
        "<Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>"
        "<Part><PartNumber>2</PartNumber><ETag>\"bb\"</ETag></Part>"
        "</CompleteMultipartUpload>");
}
END_TEST

START_TEST(s3_full_bucket)
{
    ck_assert(tp_s3_full(507, NULL));
    ck_assert(tp_s3_full(507, "InsufficientStorage"));
    ck_assert(tp_s3_full(503, "XMinioStorageFull"));
    ck_assert(tp_s3_full(403, "QuotaExceeded"));
    ck_assert(!tp_s3_full(403, "AccessDenied"));
    ck_assert(!tp_s3_full(503, "SlowDown"));
    ck_assert(!tp_s3_full(500, NULL));
}
END_TEST

Suite *s3_suite(void);

Suite *s3_suite(void)
{
    Suite *s = suite_create("s3");
    TCase *tc = tcase_create("s3");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, s3_presign_matches_aws_example);
    tcase_add_test(tc, s3_presign_session_token);
    tcase_add_test(tc, s3_uri_encoding);
    tcase_add_test(tc, s3_prefix_is_a_directory);
    tcase_add_test(tc, s3_urls_path_and_virtual);
    tcase_add_test(tc, s3_credentials_file);
    tcase_add_test(tc, s3_listing_parsed);
    tcase_add_test(tc, s3_xml_text);
    tcase_add_test(tc, s3_complete_document);
    tcase_add_test(tc, s3_full_bucket);
    suite_add_tcase(s, tc);
    return s;
}
