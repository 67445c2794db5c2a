/* What an S3-compatible server answers, as the backend parses it: any
 * bytes as a listing (every object it adds has a key under the prefix and
 * a size that is no negative number from a well-formed document), as an
 * error document's code and as a credentials file; never a crash. */
#include "fuzz.h"
#include "tp_s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_s3_t s3 = {.prefix = "tp/"};
    apr_pool_t *p;
    apr_array_header_t *objs;
    const char *xml, *at, *token;
    tp_s3_creds_t c;
    int i;

    apr_pool_create(&p, fuzz_root);
    xml = fuzz_cstr(p, data, size);
    objs = apr_array_make(p, 4, sizeof(tp_s3_object_t));
    tp_s3_parse_list(p, &s3, xml, objs, &token);
    for (i = 0; i < objs->nelts; i++) {
        const tp_s3_object_t *o = &APR_ARRAY_IDX(objs, i, tp_s3_object_t);

        FUZZ_ASSERT(o->key && o->etag);
        FUZZ_ASSERT(strlen(o->key) < size);
    }
    at = xml;
    while (tp_s3_xml_text(p, &at, "Code")) {
        FUZZ_ASSERT(at <= xml + strlen(xml));
    }
    if (tp_s3_parse_creds(p, xml, &c)) {
        FUZZ_ASSERT(*c.key && *c.secret);
    }
    apr_pool_destroy(p);
    return 0;
}
