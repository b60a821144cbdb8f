/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query_reading.h - a query string as each Orthanc release reads it.
 *
 * Orthanc does not read its GET arguments alike across releases, because
 * two independent stages decode them or not:
 *
 * 1. Its web server, civetweb, percent-decodes the whole query string
 *    before Orthanc sees it (handle_request(), step 1.3): civetweb 1.14 and
 *    older always (the Orthanc Team's static builds 1.10.0 to 1.12.9),
 *    civetweb 1.15 and 1.16 only with "decode_query_string", which Orthanc
 *    sets from 1.12.10 (Debian sid's 1.13.0).  That decoding is
 *    mg_url_decode() with is_form_url_encoded=1: "%" and two hexadecimal
 *    digits make one byte, '+' is a space, anything else stays; the result
 *    is a C string, so a decoded NUL ends it.  Debian 12's 1.10.1 and
 *    Debian 13's 1.12.7 run on civetweb 1.15/1.16 without that option and
 *    see the query as sent.
 * 2. Orthanc then splits the string on '&' and each argument on its first
 *    '=' (HttpToolbox::ParseGetArguments()).  Releases up to 1.9.7 also
 *    decoded every name and value with their own decoder
 *    (Toolbox::UrlDecode(), which takes any two letters or digits after a
 *    '%'); 1.9.8 and later keep them as civetweb handed them.
 *
 * An encoded '&' or '=' therefore makes an argument appear on some
 * releases that others read as part of a value: "x=%26_method%3DDELETE" is
 * a harmless x on Debian's 1.10.1 and a DELETE on 1.13.0.  The proxy reads
 * the query all four ways and decides on what any of them would execute.
 */
#ifndef ORTHANC_PROXY_QUERY_READING_H
#define ORTHANC_PROXY_QUERY_READING_H

#include <apr_pools.h>
#include <apr_tables.h>

/* The two stages above, as bits: a reading is any combination of them. */
#define OP_QUERY_CIVETWEB_DECODES 1   /* stage 1 on */
#define OP_QUERY_ORTHANC_DECODES  2   /* Orthanc <= 1.9.7 */
#define OP_QUERY_READINGS 4

typedef struct {
    const char *name;
    apr_size_t name_length;   /* a name decoded by Orthanc <= 1.9.7 may
                                 hold a NUL, as its std::string does */
    const char *value;        /* "" for an argument without '=' */
} op_query_argument;

/* The arguments (op_query_argument) Orthanc sees in QUERY, the raw query
 * string without its '?', under READING (a combination of the bits above),
 * in order. */
apr_array_header_t *op_query_arguments(apr_pool_t *p, const char *query,
                                       int reading);

/* civetweb's mg_url_decode() of LEN bytes at TEXT, form-encoded ('+' is a
 * space), cut at the first decoded NUL as the C string it becomes. */
char *op_civetweb_query_decode(apr_pool_t *p, const char *text,
                               apr_size_t len);

/* Toolbox::UrlDecode() of Orthanc up to 1.9.7 on LEN bytes at TEXT: '+' is
 * a space, and '%' followed by two letters or digits is one byte, even
 * when they are not hexadecimal ('%4V' is '_').  The result may hold NULs:
 * its length is set in *DECODED_LENGTH (a terminating NUL follows it). */
char *op_orthanc_query_decode(apr_pool_t *p, const char *text,
                              apr_size_t len, apr_size_t *decoded_length);

/* Whether the LEN bytes at NAME are "_method". */
int op_is_method_argument(const char *name, apr_size_t len);

/* Which Orthanc releases read a query as READING does, for messages. */
const char *op_query_reading_releases(int reading);

#endif
