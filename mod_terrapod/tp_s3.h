/* The S3-compatible object storage backend behind tp_storage: requests
 * signed with AWS Signature V4 (by libcurl), presigned download URLs,
 * multipart uploads from a spooled file, and logs kept as chunk objects
 * that reads merge. Keys are tp_storage's, under a prefix in one bucket. */
#ifndef TP_S3_H
#define TP_S3_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "tp_error.h"

typedef struct tp_s3 {
    const char *endpoint;          /* http(s)://host[:port], no path */
    const char *region;
    const char *bucket;
    const char *prefix;            /* put before every key; "" for none */
    int virtual_host;              /* bucket.host rather than host/bucket */
    const char *credentials_file;  /* NULL: the AWS_* environment */
    apr_off_t part_size;           /* multipart above this many bytes */
    int redirect;                  /* downloads: 302 to a presigned URL */
} tp_s3_t;

#define TP_S3_PART_SIZE_DEFAULT (16 * 1024 * 1024)
/* S3 refuses parts below 5 MiB (but the last) */
#define TP_S3_PART_SIZE_MIN (5 * 1024 * 1024)
/* how long a presigned download URL stays valid, seconds */
#define TP_S3_PRESIGN_TTL 300

typedef struct tp_s3_creds {
    const char *key;
    const char *secret;
    const char *token;             /* a session token, or NULL */
} tp_s3_creds_t;

/* The credentials: from the file when one is configured (read at each
 * call, so a rotated file takes effect), else the environment. */
tp_err_t *tp_s3_creds(const tp_s3_t *s3, apr_pool_t *p, tp_s3_creds_t *c);

/* Parses an AWS shared-credentials file's text: the [default] profile, or
 * lines before any profile. 0 when it names no key and secret. */
int tp_s3_parse_creds(apr_pool_t *p, const char *text, tp_s3_creds_t *c);

/* The prefix as keys use it: "tp", "tp/" and "tp//" are "tp/"; "" and
 * "/" are none. */
const char *tp_s3_prefix(apr_pool_t *p, const char *arg);

/* RFC 3986 encoding as SigV4 wants it; '/' kept when keep_slash. */
char *tp_s3_uri_encode(apr_pool_t *p, const char *s, int keep_slash);

/* The URL of key (NULL: the bucket itself) with an encoded query (or
 * NULL), and the Host it is signed for. */
const char *tp_s3_url(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                      const char *query, const char **host);

/* A presigned GET of key valid for ttl seconds from now. */
const char *tp_s3_presign(const tp_s3_t *s3, apr_pool_t *p,
                          const tp_s3_creds_t *c, const char *key,
                          apr_time_t now, int ttl);

/* The text of the first <tag> element at or after *from in xml (entities
 * decoded), moving *from past it; NULL when there is none. */
char *tp_s3_xml_text(apr_pool_t *p, const char **from, const char *tag);

/* One listed object: its key (the prefix removed), size and ETag (the
 * hex MD5 of an object put whole; "...-N" for one of N parts). */
typedef struct tp_s3_object {
    const char *key;
    apr_off_t size;
    const char *etag;
} tp_s3_object_t;

/* Adds the objects of a ListObjectsV2 page to objs; *token is the next
 * page's continuation token, NULL after the last page. */
void tp_s3_parse_list(apr_pool_t *p, const tp_s3_t *s3, const char *xml,
                      apr_array_header_t *objs, const char **token);

/* The CompleteMultipartUpload document for etags (of const char *, part
 * 1 first). */
char *tp_s3_complete_xml(apr_pool_t *p, const apr_array_header_t *etags);

/* Whether a refusal (its HTTP status and S3 error code, or NULL) says
 * the bucket is full: 507, or a code of a quota or of full storage
 * (MinIO's XMinioStorageFull, Ceph's QuotaExceeded). */
int tp_s3_full(int status, const char *code);

/* The bucket answers (HeadBucket) with these credentials. */
tp_err_t *tp_s3_check(const tp_s3_t *s3, apr_pool_t *p);

/* The object's size; 0 (and no error) when it is absent. A log written
 * with tp_s3_append counts as present once a chunk is. */
tp_err_t *tp_s3_size(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                     int *found, apr_off_t *size);

/* Copies the object (or merges a log's chunks) into the file at path;
 * *found is 0 for an absent one. */
tp_err_t *tp_s3_get_file(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                         const char *path, int *found, apr_off_t *size);

/* Receives streamed bytes; a return short of len stops the stream. */
typedef apr_size_t (*tp_s3_writer_t)(void *baton, const char *buf,
                                     apr_size_t len);

/* Streams the object (a log's chunks one after another) to write, which
 * sees only the bytes of the object, never an error document. */
tp_err_t *tp_s3_stream(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                       tp_s3_writer_t write, void *baton);

/* Reads the whole object, at most max bytes (413 past that, 404 absent). */
tp_err_t *tp_s3_read(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                     apr_off_t max, char **buf, apr_size_t *len);

/* Up to len bytes from offset from; an absent object reads empty. */
tp_err_t *tp_s3_read_range(const tp_s3_t *s3, apr_pool_t *p,
                           const char *key, apr_off_t from, apr_size_t len,
                           char **buf, apr_size_t *got);

/* Stores len bytes of memory under key. */
tp_err_t *tp_s3_put(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                    const char *buf, apr_size_t len);

/* Stores the file at path (size bytes, MD5 md5_hex) under key: one PUT
 * with Content-MD5 up to the part size, else a multipart upload whose
 * parts are checked against the MD5 computed as they stream, completed
 * last and aborted on any failure. Nothing of the file is held in memory
 * beyond libcurl's buffer. */
tp_err_t *tp_s3_put_file(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                         const char *path, apr_off_t size,
                         const char *md5_hex);

/* S3 has no append: each chunk is an object of its own under
 * key.chunks/, named by the offset it starts at, which reads merge. */
tp_err_t *tp_s3_append(const tp_s3_t *s3, apr_pool_t *p, const char *key,
                       const char *buf, apr_size_t len);

tp_err_t *tp_s3_remove(const tp_s3_t *s3, apr_pool_t *p, const char *key);
/* Removes every object under prefix/ (a log's chunks included). */
tp_err_t *tp_s3_remove_tree(const tp_s3_t *s3, apr_pool_t *p,
                            const char *prefix);

/* Every object under prefix ("" for all), keys without the configured
 * prefix; for moving objects between backends. */
tp_err_t *tp_s3_list(const tp_s3_t *s3, apr_pool_t *p, const char *prefix,
                     apr_array_header_t **objs);

#endif
