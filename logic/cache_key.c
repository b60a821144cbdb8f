/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_key.c - cache keys and entity tags (see cache_key.h).
 */
#include "cache_key.h"

#include <string.h>
#include <apr_strings.h>

#define FNV_PRIME APR_UINT64_C(0x100000001b3)

apr_uint64_t op_hash64(apr_uint64_t hash, const void *data, apr_size_t len)
{
    const unsigned char *byte = data;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        hash ^= byte[i];
        hash *= FNV_PRIME;
    }
    return hash;
}

char op_spread_byte(const char *rest)
{
    /* '@' .. '~' have the low bits 0 .. 62; '?' has 63.  FNV's bits are
     * mixed first (a 64-bit finalizer): similar names differ in their
     * last bytes, which FNV-1a spreads poorly into its top bits. */
    apr_uint64_t hash = op_hash64(OP_HASH64_INIT, rest, strlen(rest));
    unsigned index;

    hash ^= hash >> 33;
    hash *= APR_UINT64_C(0xff51afd7ed558ccd);
    hash ^= hash >> 33;
    index = (unsigned)(hash >> 58);
    return index == 63 ? '?' : (char)('@' + index);
}

static const char *spread(apr_pool_t *p, const char *rest)
{
    char first[2];
    first[0] = op_spread_byte(rest);
    first[1] = '\0';
    return apr_pstrcat(p, first, rest, NULL);
}

/* Whether C may stand as it is in a key part. */
static int plain(unsigned char c)
{
    return c > 0x20 && c < 0x7F && c != '%';
}

static const char *escape(apr_pool_t *p, const char *text)
{
    static const char HEX[] = "0123456789ABCDEF";
    apr_size_t n = 0, i;
    char *out, *o;

    if (text == NULL) {
        return "";
    }
    for (i = 0; text[i]; i++) {
        n += plain((unsigned char)text[i]) ? 1 : 3;
    }
    if (n == i) {
        return text;
    }
    o = out = apr_palloc(p, n + 1);
    for (i = 0; text[i]; i++) {
        unsigned char c = (unsigned char)text[i];
        if (plain(c)) {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = HEX[c >> 4];
            *o++ = HEX[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *op_cache_key(apr_pool_t *p, const op_cache_key_parts *parts)
{
    /* An absent header and an empty one are told apart: '-' vs "=". */
    const char *user = parts->user ? apr_pstrcat(p, "=", escape(p, parts->user),
                                                 NULL) : "-";
    const char *accept = parts->accept
                         ? apr_pstrcat(p, "=", escape(p, parts->accept), NULL)
                         : "-";
    const char *encoding = parts->accept_encoding
                           ? apr_pstrcat(p, "=", escape(p, parts->accept_encoding),
                                         NULL)
                           : "-";
    const char *credentials = parts->credentials
                              ? apr_pstrcat(p, "=", escape(p, parts->credentials),
                                            NULL)
                              : "-";

    return spread(p, apr_pstrcat(
        p, "orthanc ", escape(p, parts->tokens), " ",
        escape(p, parts->scheme), "://", escape(p, parts->public_host),
        escape(p, parts->prefix), escape(p, parts->path),
        parts->query ? "?" : "", escape(p, parts->query), " ",
        escape(p, parts->backend), " u", user, " c", credentials,
        " a", accept, " e", encoding, NULL));
}

const char *op_cache_etag(apr_pool_t *p, const char *key)
{
    apr_uint64_t hash = op_hash64(OP_HASH64_INIT, key, strlen(key));
    return apr_psprintf(p, "\"op-%08x%08x\"", (unsigned)(hash >> 32),
                        (unsigned)(hash & 0xffffffffu));
}

const char *op_token_text(apr_pool_t *p, const unsigned char random[8])
{
    return apr_psprintf(p, "%02x%02x%02x%02x%02x%02x%02x%02x", random[0],
                        random[1], random[2], random[3], random[4], random[5],
                        random[6], random[7]);
}

/* The module's entity tags: "op-" and 16 hexadecimal digits. */
static int is_own_etag(const char *tag, apr_size_t n)
{
    apr_size_t i;

    if (n >= 2 && tag[0] == 'W' && tag[1] == '/') {
        tag += 2;
        n -= 2;
    }
    if (n != 1 + 3 + 16 + 1 || strncmp(tag, "\"op-", 4) != 0
        || tag[n - 1] != '"') {
        return 0;
    }
    for (i = 4; i < n - 1; i++) {
        if (!((tag[i] >= '0' && tag[i] <= '9')
              || (tag[i] >= 'a' && tag[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

const char *op_without_own_etags(apr_pool_t *p, const char *value)
{
    const char *s = value, *kept = NULL;
    int dropped = 0;

    for (;;) {
        const char *start, *close;

        while (*s == ' ' || *s == '\t') {
            s++;
        }
        start = s;
        if (s[0] == 'W' && s[1] == '/') {
            s += 2;
        }
        if (*s != '"' || (close = strchr(s + 1, '"')) == NULL) {
            /* Not a list of entity tags ("*", or malformed). */
            return value;
        }
        s = close + 1;
        if (is_own_etag(start, (apr_size_t)(s - start))) {
            dropped = 1;
        }
        else {
            const char *tag = apr_pstrmemdup(p, start, s - start);
            kept = kept ? apr_pstrcat(p, kept, ", ", tag, NULL) : tag;
        }
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (*s == '\0') {
            break;
        }
        if (*s != ',') {
            return value;
        }
        s++;
    }
    return dropped ? kept : value;
}
