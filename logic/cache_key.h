/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_key.h - the names mod_cache stores Orthanc's answers under, and
 * their entity tags.
 *
 * A key holds everything an answer of Orthanc depends on: the public
 * origin Orthanc writes into DICOMweb answers (Forwarded), the mapping and
 * its backend, the path and query Orthanc receives, the request headers
 * Orthanc negotiates on (Accept, Accept-Encoding), the identity the proxy
 * sends, and the generation counters of the answer's scope
 * (generation_table.h).  A change in Orthanc increments a counter, so
 * every key built with its old value becomes unreachable: nothing has to
 * be deleted from mod_cache's stores.
 *
 * Every key starts with a byte derived from a hash of the rest: shmcb
 * (mod_socache_shmcb, used by mod_cache_socache) picks its subcache from
 * the first byte of a name, and mod_cache's own keys all start with
 * "http", which crowds them into one subcache.
 */
#ifndef ORTHANC_PROXY_CACHE_KEY_H
#define ORTHANC_PROXY_CACHE_KEY_H

#include <apr_pools.h>

/* 64-bit FNV-1a of the LEN bytes at DATA, continuing from HASH (start
 * with OP_HASH64_INIT). */
#define OP_HASH64_INIT APR_UINT64_C(0xcbf29ce484222325)
apr_uint64_t op_hash64(apr_uint64_t hash, const void *data, apr_size_t len);

/* The first byte of a name whose rest is REST: one of 64 printable
 * characters whose low six bits are all different, so that shmcb's up to
 * 64 subcaches (and a quarter of 256) are used evenly. */
char op_spread_byte(const char *rest);

typedef struct {
    const char *tokens;       /* the counters, "EPOCH.G.S" */
    const char *scheme;       /* of the public origin */
    const char *public_host;  /* host[:port] Orthanc is told about */
    const char *prefix;       /* the mapping's prefix, "/orthanc" */
    const char *path;         /* below the prefix, encoded: "/series/x" */
    const char *query;        /* as forwarded; NULL when none */
    const char *backend;      /* the mapping's backend URL */
    const char *user;         /* the identity sent to Orthanc, or NULL */
    const char *credentials;  /* the user of OrthancProxyCredentials, or NULL */
    const char *accept;       /* the request's Accept, or NULL */
    const char *accept_encoding;
} op_cache_key_parts;

/* The key of an answer; blanks and bytes outside printable ASCII in the
 * parts are percent-escaped, so the parts cannot run into each other. */
const char *op_cache_key(apr_pool_t *p, const op_cache_key_parts *parts);

/* The entity tag of the answer stored under KEY: a strong tag, since a
 * key names one answer of Orthanc. */
const char *op_cache_etag(apr_pool_t *p, const char *key);

/* 8 random bytes as text (16 hexadecimal digits). */
const char *op_token_text(apr_pool_t *p, const unsigned char random[8]);

/* VALUE, a list of entity tags (If-None-Match, If-Match), without the
 * module's own (op_cache_etag's, strong or weak): Orthanc parses these
 * headers on metadata and attachments and answers 400 to a tag that is not
 * its own.  VALUE itself when it has none of them or cannot be read as a
 * list of entity tags ("*" included); NULL when nothing is left. */
const char *op_without_own_etags(apr_pool_t *p, const char *value);

#endif
