/* SPDX-License-Identifier: Apache-2.0 */
/*
 * method_override.c - the method Orthanc will really execute.
 */
#include "method_override.h"
#include "header_names.h"
#include "query_reading.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

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

/* What one reading of the query makes of _method. */
typedef struct {
    int count;               /* _method arguments */
    const char *value;       /* the first one's value, or NULL */
} query_override;

static query_override find_query_override(apr_pool_t *p, const char *query,
                                          int reading)
{
    apr_array_header_t *arguments = op_query_arguments(p, query, reading);
    query_override found = { 0, NULL };
    int i;

    for (i = 0; i < arguments->nelts; i++) {
        const op_query_argument *argument =
            &APR_ARRAY_IDX(arguments, i, op_query_argument);
        if (op_is_method_argument(argument->name, argument->name_length)
            && found.count++ == 0) {
            found.value = argument->value;
        }
    }
    return found;
}

/* Whether the &-separated piece of LEN bytes at START is named _method by
 * some release.  A piece that hides an override further on ("x=%26_method
 * %3DPUT") is not: it stays, and the request is refused. */
static int is_override_piece(apr_pool_t *p, const char *start, apr_size_t len)
{
    const char *piece;
    int reading;

    if (op_is_method_argument(start, len < 7 ? len : 7)
        && (len == 7 || start[7] == '=')) {
        return 1;
    }
    /* Without '%' or '+' every reading is the piece as sent. */
    if (!memchr(start, '%', len) && !memchr(start, '+', len)) {
        return 0;
    }
    piece = apr_pstrmemdup(p, start, len);
    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        const op_query_argument *first = &APR_ARRAY_IDX(
            op_query_arguments(p, piece, reading), 0, op_query_argument);
        if (op_is_method_argument(first->name, first->name_length)) {
            return 1;
        }
    }
    return 0;
}

/* The first reading that finds a _method in QUERY, or -1. */
static int reading_with_override(apr_pool_t *p, const char *query)
{
    int reading;

    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        if (find_query_override(p, query, reading).count > 0) {
            return reading;
        }
    }
    return -1;
}

/* QUERY without its _method pieces (QUERY itself when no release finds a
 * _method in it: a piece is judged alone, and what comes before it, a
 * decoded NUL for example, may hide it from every release). */
static const char *without_override_pieces(apr_pool_t *p, const char *query)
{
    const char *start = query;
    char *kept = apr_palloc(p, strlen(query) + 1);
    apr_size_t kept_length = 0;
    int removed = 0;

    if (reading_with_override(p, query) < 0) {
        return query;
    }
    while (1) {
        const char *end = strchr(start, '&');
        apr_size_t len = end ? (apr_size_t)(end - start) : strlen(start);

        if (is_override_piece(p, start, len)) {
            removed = 1;
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
    return removed ? kept : query;
}

static int same_override(query_override a, query_override b)
{
    return a.count == b.count
           && (a.count == 0 || strcmp(a.value, b.value) == 0);
}

static const char *describe_override(apr_pool_t *p, query_override seen)
{
    return seen.count == 0 ? "no _method"
           : apr_psprintf(p, "_method=%s", seen.value);
}

/* The override a GET's QUERY makes, read the same by every release; sets
 * *OVERRIDDEN to it (NULL when there is none). */
static const char *decide_query_override(apr_pool_t *p, const char *query,
                                         const char **overridden)
{
    query_override seen[OP_QUERY_READINGS];
    int reading;

    *overridden = NULL;
    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        seen[reading] = find_query_override(p, query, reading);
        if (seen[reading].count > 1) {
            return apr_psprintf(p, "the query string carries several _method "
                                "arguments (as %s read it)",
                                op_query_reading_releases(reading));
        }
        if (!same_override(seen[reading], seen[0])) {
            return apr_psprintf(p, "Orthanc releases read this query string "
                                "differently: %s see %s, %s see %s; send the "
                                "real method, and no encoded '&', '=' or "
                                "_method", op_query_reading_releases(0),
                                describe_override(p, seen[0]),
                                op_query_reading_releases(reading),
                                describe_override(p, seen[reading]));
        }
    }
    if (seen[0].count == 1) {
        *overridden = override_method(p, seen[0].value);
        if (*overridden == NULL) {
            return apr_psprintf(p, "_method may only name PUT or DELETE, not "
                                "'%s'", seen[0].value);
        }
    }
    return NULL;
}

/* What is forwarded must not carry an override any release would read:
 * the proxy forwards the method it decided on, and nothing else. */
static const char *check_no_override_left(apr_pool_t *p, const char *query)
{
    int reading = reading_with_override(p, query);

    return reading < 0 ? NULL
           : apr_psprintf(p, "the query string hides a _method argument "
                          "behind encoded characters, which %s decode",
                          op_query_reading_releases(reading));
}

const char *op_resolve_method(apr_pool_t *p, const char *method,
                              const apr_table_t *headers, const char *query,
                              const char **effective,
                              const char **forward_query)
{
    header_scan headers_seen = { NULL, 0, NULL };

    *effective = method;
    *forward_query = query;
    apr_table_do(scan_header, &headers_seen, headers, NULL);

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
    }
    if (query == NULL) {
        return NULL;
    }
    *forward_query = without_override_pieces(p, query);
    /* Orthanc reads _method on GET only, and the header wins over it;
     * elsewhere the argument is dropped unread. */
    if (headers_seen.value == NULL && strcmp(method, "GET") == 0) {
        const char *overridden;
        const char *err = decide_query_override(p, query, &overridden);
        if (err != NULL) {
            return err;
        }
        if (overridden) {
            *effective = overridden;
        }
    }
    return check_no_override_left(p, *forward_query);
}
