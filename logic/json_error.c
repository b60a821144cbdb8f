/*
 * json_error.c - the small JSON body of the errors the proxy produces.
 */
#include "json_error.h"

#include <string.h>
#include <apr_strings.h>

static char *json_string(apr_pool_t *p, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t size = 3;
    const unsigned char *c;
    char *result, *out;

    for (c = (const unsigned char *)text; *c; c++) {
        size += (*c < 0x20 || *c == '"' || *c == '\\') ? 6 : 1;
    }
    result = out = apr_palloc(p, size);
    *out++ = '"';
    for (c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *out++ = '\\';
            *out++ = (char)*c;
        }
        else if (*c < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[*c >> 4];
            out[5] = hex[*c & 0x0f];
            out += 6;
        }
        else {
            *out++ = (char)*c;
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
                        json_string(p, message ? message : ""),
                        rule ? ", \"rule\": " : "",
                        rule ? json_string(p, rule) : "");
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
