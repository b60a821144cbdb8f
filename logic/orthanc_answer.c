/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc_answer.c - an HTTP/1.x answer read whole (see orthanc_answer.h).
 */
#include "orthanc_answer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>

#include "hex.h"

/* The end of the line that starts at S, or NULL; *NEXT after its CRLF. */
static const char *line_end(const char *s, const char *end, const char **next)
{
    const char *lf = memchr(s, '\n', end - s);
    if (lf == NULL) {
        return NULL;
    }
    *next = lf + 1;
    return lf > s && lf[-1] == '\r' ? lf - 1 : lf;
}

static int header_is(const char *line, const char *eol, const char *name,
                     const char **value)
{
    apr_size_t n = strlen(name);
    if ((apr_size_t)(eol - line) <= n || strncasecmp(line, name, n) != 0
        || line[n] != ':') {
        return 0;
    }
    *value = line + n + 1;
    while (*value < eol && (**value == ' ' || **value == '\t')) {
        (*value)++;
    }
    return 1;
}

static const char *dechunk(apr_pool_t *p, const char *s, const char *end,
                           op_http_reply *out)
{
    char *body = apr_palloc(p, end - s + 1);
    apr_size_t n = 0;

    for (;;) {
        const char *next, *eol = line_end(s, end, &next);
        apr_size_t size = 0;
        int digits = 0;

        if (eol == NULL) {
            return "a chunked body is cut short";
        }
        for (; s < eol && op_hex_value((unsigned char)*s) >= 0; s++, digits++) {
            if (size > (((apr_size_t)-1) >> 4)) {
                return "a chunk size is too large";
            }
            size = size * 16 + (apr_size_t)op_hex_value((unsigned char)*s);
        }
        if (digits == 0 || (s < eol && *s != ';')) {
            return "a chunk size is malformed";
        }
        if (size == 0) {
            break;
        }
        if ((apr_size_t)(end - next) < size + 2) {
            return "a chunk is cut short";
        }
        memcpy(body + n, next, size);
        n += size;
        s = next + size + 2;
    }
    body[n] = '\0';
    out->body = body;
    out->length = n;
    return NULL;
}

const char *op_http_reply_parse(apr_pool_t *p, const char *raw, apr_size_t len,
                                op_http_reply *out)
{
    const char *end = raw + len, *s, *next;
    const char *length = NULL, *encoding = NULL;
    char *rest;

    if (len < 12 || strncmp(raw, "HTTP/1.", 7) != 0 || raw[8] != ' '
        || line_end(raw, end, &next) == NULL) {
        return "no HTTP/1.x status line";
    }
    errno = 0;
    out->status = (int)strtol(raw + 9, &rest, 10);
    if (errno != 0 || rest != raw + 12 || out->status < 100
        || out->status > 599) {
        return "a malformed status line";
    }
    for (s = next; ; s = next) {
        const char *eol = line_end(s, end, &next), *value;
        if (eol == NULL) {
            return "the headers are cut short";
        }
        if (eol == s) {
            break;
        }
        if (header_is(s, eol, "Content-Length", &value)) {
            length = apr_pstrmemdup(p, value, eol - value);
        }
        else if (header_is(s, eol, "Transfer-Encoding", &value)) {
            encoding = apr_pstrmemdup(p, value, eol - value);
        }
    }
    s = next;
    if (encoding && strcasecmp(encoding, "chunked") == 0) {
        return dechunk(p, s, end, out);
    }
    if (length) {
        apr_off_t n;
        char *stop;
        if (apr_strtoff(&n, length, &stop, 10) != APR_SUCCESS || *stop
            || n < 0) {
            return "a malformed Content-Length";
        }
        if (n > end - s) {
            return "the body is cut short";
        }
        end = s + n;
    }
    out->body = apr_pstrmemdup(p, s, end - s);
    out->length = (apr_size_t)(end - s);
    return NULL;
}
