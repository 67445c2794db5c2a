/* The provider zip checks: any uploaded bytes are refused with a 4xx
 * naming why, or accepted; a zip the checker accepts has an h1: hash, and
 * the hash is refused only with a 4xx. */
#include <unistd.h>
#include "fuzz.h"
#include "tp_zip.h"

static char path[] = "/tmp/tp-fuzz-zip-XXXXXX";
static int fd = -1;

static void cleanup(void)
{
    unlink(path);
}

/* The checks read a file, as the upload handler hands them one. */
static int store(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        if ((fd = mkstemp(path)) < 0) {
            return 0;
        }
        atexit(cleanup);
    }
    return ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0)
                                    == (ssize_t)size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    tp_err_t *cerr, *herr;
    const char *h1 = NULL;

    if (!store(data, size)) {
        return 0;
    }
    apr_pool_create(&p, fuzz_root);
    cerr = tp_zip_check(p, path, "terraform-provider-x");
    FUZZ_ASSERT(!cerr || (cerr->status >= 400 && cerr->status < 500));
    herr = tp_zip_h1(p, path, &h1);
    FUZZ_ASSERT(!herr || (herr->status >= 400 && herr->status < 500));
    FUZZ_ASSERT(cerr || !herr);
    FUZZ_ASSERT(!herr == (h1 != NULL));
    FUZZ_ASSERT(!h1 || (strncmp(h1, "h1:", 3) == 0 && strlen(h1) == 47));
    apr_pool_destroy(p);
    return 0;
}
