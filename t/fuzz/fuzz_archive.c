/* The configuration tarball validator: any uploaded bytes are refused
 * with a 4xx naming why, or accepted within the limits; the in-memory
 * reader the diff uses agrees with the validator, and so does reading
 * some files only (the registry's), which lists no others; stripping a
 * provider's top directory refuses at least what the validator refuses,
 * and what it writes the validator accepts. */
#include <unistd.h>
#include "fuzz.h"
#include "tp_archive.h"

static char path[] = "/tmp/tp-fuzz-archive-XXXXXX";
static char stripped[] = "/tmp/tp-fuzz-stripped-XXXXXX";
static int fd = -1, sfd = -1;

/* The validator reads a file, as the upload handler hands it one. */
static int store(const uint8_t *data, size_t size)
{
    if ((fd < 0 && (fd = mkstemp(path)) < 0)
        || (sfd < 0 && (sfd = mkstemp(stripped)) < 0)) {
        return 0;
    }
    return ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0)
                                    == (ssize_t)size;
}

static void cleanup(void)
{
    if (fd >= 0) {
        unlink(path);
    }
    if (sfd >= 0) {
        unlink(stripped);
    }
}

static int at_root(const char *path)
{
    return strchr(path, '/') == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const tp_archive_limits_t limits = {64 * 1024, 256 * 1024, 64};
    apr_pool_t *p;
    tp_archive_info_t info = {0, 0}, rinfo = {0, 0}, sinfo = {0, 0};
    tp_archive_info_t again = {0, 0};
    tp_archive_info_t sominfo = {0, 0};
    apr_array_header_t *files = NULL, *some = NULL;
    int i;
    tp_err_t *verr, *rerr, *serr;

    if (fd < 0) {
        atexit(cleanup);
    }
    if (!store(data, size)) {
        return 0;
    }
    apr_pool_create(&p, fuzz_root);
    verr = tp_archive_validate(p, path, &limits, &info);
    FUZZ_ASSERT(!verr || (verr->status >= 400 && verr->status < 500));
    FUZZ_ASSERT(verr || (info.files >= 0 && info.files <= limits.max_entries
                         && info.total_size <= limits.max_total_size));
    rerr = tp_archive_read(p, path, &limits, 1024, &files, &rinfo);
    FUZZ_ASSERT(!verr == !rerr);
    FUZZ_ASSERT(rerr || files->nelts <= info.files);
    /* reading some files checks as much and lists only those */
    rerr = tp_archive_read_some(p, path, &limits, 1024, at_root, &some,
                                &sominfo);
    FUZZ_ASSERT(!verr == !rerr);
    FUZZ_ASSERT(rerr || (some->nelts <= files->nelts
                         && sominfo.files == rinfo.files));
    for (i = 0; !rerr && i < some->nelts; i++) {
        FUZZ_ASSERT(at_root(APR_ARRAY_IDX(some, i, tp_archive_file_t).path));
    }
    serr = tp_archive_strip(p, path, stripped, &limits, &sinfo);
    FUZZ_ASSERT(!serr || (serr->status >= 400 && serr->status < 500));
    FUZZ_ASSERT(!verr || serr);
    if (!serr) {
        FUZZ_ASSERT(!tp_archive_validate(p, stripped, &limits, &again));
        FUZZ_ASSERT(again.files == sinfo.files
                    && again.total_size <= sinfo.total_size);
    }
    apr_pool_destroy(p);
    return 0;
}
