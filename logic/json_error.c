/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_error.c - the small JSON body of the errors the proxy produces.
 */
#include "json_error.h"

#include <string.h>
#include <apr_strings.h>

/* The length of the well-formed UTF-8 sequence at S (RFC 3629: no
 * overlong form, no surrogate, nothing above U+10FFFF), or 0. */
static apr_size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned char low = 0x80, high = 0xbf;
    apr_size_t n, i;

    if (*s >= 0xc2 && *s <= 0xdf) {
        n = 2;
    }
    else if (*s >= 0xe0 && *s <= 0xef) {
        n = 3;
        low = *s == 0xe0 ? 0xa0 : 0x80;
        high = *s == 0xed ? 0x9f : 0xbf;
    }
    else if (*s >= 0xf0 && *s <= 0xf4) {
        n = 4;
        low = *s == 0xf0 ? 0x90 : 0x80;
        high = *s == 0xf4 ? 0x8f : 0xbf;
    }
    else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        unsigned char c = s[i];
        if (c < (i == 1 ? low : 0x80) || c > (i == 1 ? high : 0xbf)) {
            return 0;
        }
    }
    return n;
}

/* TEXT as a JSON string.  Messages quote what the client sent (a path, a
 * header), which can be any bytes: control characters are escaped, and a
 * byte that does not start well-formed UTF-8 becomes U+FFFD, so that the
 * body stays valid JSON for every parser. */
char *op_json_string(apr_pool_t *p, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *c = (const unsigned char *)text;
    char *result = apr_palloc(p, 6 * strlen(text) + 3);
    char *out = result;

    *out++ = '"';
    while (*c) {
        apr_size_t n;
        if (*c == '"' || *c == '\\') {
            *out++ = '\\';
            *out++ = (char)*c++;
        }
        else if (*c < 0x20 || *c == 0x7f) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[*c >> 4];
            out[5] = hex[*c & 0x0f];
            out += 6;
            c++;
        }
        else if (*c < 0x80) {
            *out++ = (char)*c++;
        }
        else if ((n = utf8_sequence_length(c)) > 0) {
            memcpy(out, c, n);
            out += n;
            c += n;
        }
        else {
            memcpy(out, "\\ufffd", 6);
            out += 6;
            c++;
        }
    }
    *out++ = '"';
    *out = '\0';
    return result;
}

char *op_json_error(apr_pool_t *p, int status, const char *message,
                    const char *rule)
{
    return apr_psprintf(p, "{\"status\": %d, \"message\": %s%s%s}\n", status,
                        op_json_string(p, message ? message : ""),
                        rule ? ", \"rule\": " : "",
                        rule ? op_json_string(p, rule) : "");
}

const char *op_default_error_message(int status)
{
    switch (status) {
    case 400: return "The request is malformed";
    case 401: return "Authentication is required";
    case 403: return "Access to this resource is forbidden";
    case 404: return "No such resource";
    case 405: return "This method is not allowed here";
    case 408: return "The client took too long to send its request";
    case 411: return "A Content-Length or chunked encoding is required";
    case 413: return "The request body is too large";
    case 414: return "The request URI is too long";
    case 415: return "This request body encoding is not accepted";
    case 431: return "The request headers are too large";
    case 500: return "The proxy failed while handling the request";
    case 501: return "This method is not implemented";
    case 502: return "Orthanc sent no valid response";
    case 503: return "Orthanc is unreachable";
    case 504: return "Orthanc did not answer in time";
    }
    return status >= 500 ? "The proxy could not complete the request"
                         : "The request was refused";
}
