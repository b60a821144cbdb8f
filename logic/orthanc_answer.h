/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc_answer.h - reading the answer of an HTTP/1.x server, as the cache's
 * background task receives it from Orthanc (apache/orthanc_client.c).
 *
 * The whole answer is read first (the client asks for Connection: close);
 * the body is then delimited by Content-Length, by chunked encoding, or by
 * the end of the connection, as RFC 9112 says.
 */
#ifndef ORTHANC_PROXY_ORTHANC_ANSWER_H
#define ORTHANC_PROXY_ORTHANC_ANSWER_H

#include <apr_pools.h>

typedef struct {
    int status;
    const char *body;        /* NUL-terminated copy; LENGTH bytes */
    apr_size_t length;
} op_http_reply;

/* Reads the LEN bytes at RAW; NULL on success, else what is wrong (an
 * answer cut short, a malformed status line or chunk). */
const char *op_http_reply_parse(apr_pool_t *p, const char *raw, apr_size_t len,
                                op_http_reply *out);

#endif
