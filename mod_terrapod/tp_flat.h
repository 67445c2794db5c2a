/* Records handed from one thread to another (audit entries to their
 * writer, events to the streams of a process) with their strings in the
 * same malloc'd block: one allocation and one free() per record. A pool
 * per record would cost an mmap and a munmap each (APR's allocator maps
 * its memory), and every munmap interrupts each CPU the process runs on. */
#ifndef TP_FLAT_H
#define TP_FLAT_H

#include <stddef.h>
#include <apr.h>

/* the string member at byte offset off of record rec */
#define TP_FLAT_STR(rec, off) (*(const char **)((char *)(rec) + (off)))

/* A malloc'd copy of the size bytes of rec whose n string members (their
 * offsets in strings[], each NULL or a string) point into the same
 * block; NULL when out of memory. */
void *tp_flat_copy(const void *rec, apr_size_t size,
                   const apr_size_t *strings, apr_size_t n);

#endif
