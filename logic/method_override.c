/*
 * method_override.c - the method Orthanc will really execute.
 */
#include "method_override.h"
#include "header_names.h"
#include "hex.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

/* Orthanc's hexadecimal digit, for a letter or digit C: the usual value,
 * and for the letters that are not hexadecimal, Orthanc's reading of them
 * as if they were upper-case digits beyond F ('G' is 16, 'v' is 63). */
static int orthanc_hex_value(unsigned char c)
{
    int value = op_hex_value(c);
    return value >= 0 ? value : c - 'A' + 10;
}

char *op_orthanc_query_decode(apr_pool_t *p, const char *text, apr_size_t len)
{
    char *out = apr_palloc(p, len + 1);
    apr_size_t i, n = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '%' && i + 2 < len && apr_isalnum(text[i + 1])
            && apr_isalnum(text[i + 2])) {
            out[n++] = (char)(unsigned char)
                ((orthanc_hex_value((unsigned char)text[i + 1]) << 4)
                 | orthanc_hex_value((unsigned char)text[i + 2]));
            i += 2;
        }
        else {
            out[n++] = (char)(c == '+' ? ' ' : c);
        }
    }
    out[n] = '\0';
    return out;
}

/* Accepts an override value every Orthanc reads alike: PUT or DELETE,
 * written plainly (releases differ on decoding escapes in it). */
static const char *override_method(apr_pool_t *p, const char *value)
{
    char *upper = apr_pstrdup(p, value);
    char *c;

    for (c = upper; *c; c++) {
        *c = (char)apr_toupper(*c);
    }
    if (strcmp(upper, "PUT") == 0 || strcmp(upper, "DELETE") == 0) {
        return upper;
    }
    return NULL;
}

typedef struct {
    const char *value;       /* value of the Orthanc override header */
    int count;               /* Orthanc override headers seen */
    const char *ignored;     /* name of a look-alike header, if any */
} header_scan;

static int scan_header(void *data, const char *name, const char *value)
{
    header_scan *scan = data;

    if (!op_is_override_header(name)) {
        return 1;
    }
    if (op_header_names_match(name, op_override_headers[0])) {
        scan->value = value;
        scan->count++;
    }
    else {
        scan->ignored = name;
    }
    return 1;
}

typedef struct {
    const char *value;       /* value of the first _method argument */
    int count;
    const char *remaining;   /* the query without _method arguments */
} query_scan;

/* Orthanc up to 1.9.7 decoded argument names (op_orthanc_query_decode);
 * later releases compare them as sent.  Either reading of "_method" is an
 * override. */
static int is_method_argument(apr_pool_t *p, const char *name, apr_size_t len)
{
    if (len == 7 && strncmp(name, "_method", 7) == 0) {
        return 1;
    }
    /* Without '%' or '+' the decoded name is the name itself. */
    return (memchr(name, '%', len) || memchr(name, '+', len))
           && strcmp(op_orthanc_query_decode(p, name, len), "_method") == 0;
}

static void scan_query(apr_pool_t *p, const char *query, query_scan *scan)
{
    const char *start = query;
    char *kept = apr_palloc(p, strlen(query) + 1);
    apr_size_t kept_length = 0;

    scan->value = NULL;
    scan->count = 0;
    while (1) {
        const char *end = strchr(start, '&');
        apr_size_t len = end ? (apr_size_t)(end - start) : strlen(start);
        const char *equals = memchr(start, '=', len);
        apr_size_t name_length = equals ? (apr_size_t)(equals - start) : len;

        if (is_method_argument(p, start, name_length)) {
            if (scan->count++ == 0) {
                scan->value = equals
                    ? apr_pstrmemdup(p, equals + 1, len - name_length - 1)
                    : "";
            }
        }
        else {
            if (kept_length > 0) {
                kept[kept_length++] = '&';
            }
            memcpy(kept + kept_length, start, len);
            kept_length += len;
        }
        if (end == NULL) {
            break;
        }
        start = end + 1;
    }
    kept[kept_length] = '\0';
    scan->remaining = scan->count ? kept : query;
}

const char *op_resolve_method(apr_pool_t *p, const char *method,
                              const apr_table_t *headers, const char *query,
                              const char **effective,
                              const char **forward_query)
{
    header_scan headers_seen = { NULL, 0, NULL };
    query_scan query_seen = { NULL, 0, query };

    *effective = method;
    *forward_query = query;
    apr_table_do(scan_header, &headers_seen, headers, NULL);
    if (query) {
        scan_query(p, query, &query_seen);
        *forward_query = query_seen.remaining;
    }

    if (headers_seen.ignored) {
        return apr_psprintf(p, "the header %s is not accepted; send the real "
                            "method instead", headers_seen.ignored);
    }
    if (headers_seen.count > 1 || (headers_seen.value
                                   && strchr(headers_seen.value, ','))) {
        return "the request carries several X-HTTP-Method-Override headers";
    }
    if (headers_seen.value) {
        const char *overridden = override_method(p, headers_seen.value);
        if (overridden == NULL) {
            return apr_psprintf(p, "X-HTTP-Method-Override may only name PUT or "
                                "DELETE, not '%s'", headers_seen.value);
        }
        *effective = overridden;
        return NULL;
    }
    if (query_seen.count > 1) {
        return "the query string carries several _method arguments";
    }
    /* Orthanc reads _method on GET only; elsewhere it is dropped unread. */
    if (query_seen.count == 1 && strcmp(method, "GET") == 0) {
        const char *overridden = override_method(p, query_seen.value);
        if (overridden == NULL) {
            return apr_psprintf(p, "_method may only name PUT or DELETE, not "
                                "'%s'", query_seen.value);
        }
        *effective = overridden;
    }
    return NULL;
}
