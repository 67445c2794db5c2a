/* The SHA256SUMS manifest parser: the first line of the input is the file
 * name looked up, the rest the manifest. A refusal is a 422; a digest
 * found is 64 lower-case hex digits that the manifest holds. */
#include "fuzz.h"
#include "tp_zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *name, *sums, *hex = "unset";
    tp_err_t *err;
    size_t i;

    apr_pool_create(&p, fuzz_root);
    fuzz_split(p, data, size, &name, &sums);
    err = tp_shasums_find(p, sums, strlen(sums), name, &hex);
    FUZZ_ASSERT(!err || err->status == 422);
    FUZZ_ASSERT(!err || !hex);
    if (hex) {
        FUZZ_ASSERT(strlen(hex) == 64);
        for (i = 0; i < 64; i++) {
            FUZZ_ASSERT((hex[i] >= '0' && hex[i] <= '9')
                        || (hex[i] >= 'a' && hex[i] <= 'f'));
        }
        FUZZ_ASSERT(strstr(sums, name) != NULL);
    }
    apr_pool_destroy(p);
    return 0;
}
