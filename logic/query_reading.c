/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query_reading.c - a query string as each Orthanc release reads it.
 */
#include "query_reading.h"
#include "hex.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

char *op_civetweb_query_decode(apr_pool_t *p, const char *text,
                               apr_size_t len)
{
    char *out = apr_palloc(p, len + 1);
    apr_size_t i, n = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '%' && i + 2 < len && apr_isxdigit(text[i + 1])
            && apr_isxdigit(text[i + 2])) {
            c = (unsigned char)((op_hex_value((unsigned char)text[i + 1]) << 4)
                                | op_hex_value((unsigned char)text[i + 2]));
            i += 2;
        }
        else if (c == '+') {
            c = ' ';
        }
        if (c == '\0') {
            break;        /* the end of the C string Orthanc is given */
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return out;
}

/* Orthanc's hexadecimal digit, for a letter or digit C: the usual value,
 * and for the letters that are not hexadecimal, its reading of them as if
 * they were upper-case digits beyond F ('G' is 16, 'v' is 63). */
static int orthanc_hex_value(unsigned char c)
{
    int value = op_hex_value(c);
    return value >= 0 ? value : c - 'A' + 10;
}

char *op_orthanc_query_decode(apr_pool_t *p, const char *text, apr_size_t len,
                              apr_size_t *decoded_length)
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
    *decoded_length = n;
    return out;
}

int op_is_method_argument(const char *name, apr_size_t len)
{
    return len == 7 && memcmp(name, "_method", 7) == 0;
}

/* Sets *OUT and *OUT_LENGTH to the LEN bytes at START as READING leaves
 * them after the split. */
static void argument_part(apr_pool_t *p, const char *start, apr_size_t len,
                          int reading, const char **out,
                          apr_size_t *out_length)
{
    if (reading & OP_QUERY_ORTHANC_DECODES) {
        *out = op_orthanc_query_decode(p, start, len, out_length);
    }
    else {
        *out = apr_pstrmemdup(p, start, len);
        *out_length = len;
    }
}

apr_array_header_t *op_query_arguments(apr_pool_t *p, const char *query,
                                       int reading)
{
    apr_array_header_t *arguments =
        apr_array_make(p, 4, sizeof(op_query_argument));
    const char *start = (reading & OP_QUERY_CIVETWEB_DECODES)
        ? op_civetweb_query_decode(p, query, strlen(query)) : query;

    while (1) {
        const char *end = strchr(start, '&');
        apr_size_t len = end ? (apr_size_t)(end - start) : strlen(start);
        const char *equals = memchr(start, '=', len);
        apr_size_t name_length = equals ? (apr_size_t)(equals - start) : len;
        op_query_argument *argument = apr_array_push(arguments);
        apr_size_t value_length;

        argument_part(p, start, name_length, reading, &argument->name,
                      &argument->name_length);
        argument->value = "";
        if (equals) {
            argument_part(p, equals + 1, len - name_length - 1, reading,
                          &argument->value, &value_length);
        }
        if (end == NULL) {
            break;
        }
        start = end + 1;
    }
    return arguments;
}

const char *op_query_reading_releases(int reading)
{
    switch (reading) {
    case 0:
        return "Orthanc 1.9.8 to 1.12.9 on civetweb 1.15 or 1.16 "
               "(Debian 12's 1.10.1, Debian 13's 1.12.7)";
    case OP_QUERY_CIVETWEB_DECODES:
        return "Orthanc 1.12.10 and later, and the builds on civetweb 1.14 "
               "(the Orthanc Team's 1.10.0 to 1.12.9)";
    case OP_QUERY_ORTHANC_DECODES:
        return "Orthanc up to 1.9.7 on civetweb 1.15";
    default:
        return "Orthanc up to 1.9.7 on civetweb 1.14 or older";
    }
}
