/* OpenPGP public keys and detached signatures, the only wrapper around
 * gpgme. Parsing and verifying work in a keyring of their own that holds
 * exactly the keys given and is removed before they return, so nothing
 * depends on a user's keyring and calls may run in parallel threads;
 * signing, a publisher's act, uses the publisher's own keyring. */
#ifndef TP_GPG_H
#define TP_GPG_H

#include <apr_pools.h>
#include "tp_error.h"

typedef struct tp_gpg_key {
    const char *key_id;       /* 16 upper-case hex digits: the primary key's long id */
    const char *fingerprint;  /* 40 upper-case hex */
    const char *armor;        /* the armoured public key as given */
} tp_gpg_key_t;

/* One ASCII-armoured public key; 422 when not armoured, when it holds a
 * secret key, or not exactly one primary key. */
tp_err_t *tp_gpg_key_parse(apr_pool_t *p, const char *armor, apr_size_t len,
                           tp_gpg_key_t **key);

/* Verifies a detached signature (binary or armoured) over data against
 * exactly these armoured public keys (nothing else); on success *key_id is
 * the signer's primary key id. 422 when bad, or made by a key not among
 * them. */
tp_err_t *tp_gpg_verify(apr_pool_t *p, const char *const *armors, int n,
                        const char *data, apr_size_t len,
                        const char *sig, apr_size_t siglen,
                        const char **key_id);

/* A binary detached signature over data by the secret key signer (an id or
 * fingerprint) of the caller's keyring (GNUPGHOME, or gpg's default);
 * gpg's agent asks for a passphrase when the key has one. 422 when the
 * key is not there or cannot sign. */
tp_err_t *tp_gpg_sign(apr_pool_t *p, const char *signer, const char *data,
                      apr_size_t len, const char **sig, apr_size_t *siglen);

#endif
