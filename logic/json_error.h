/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_error.h - the small JSON body of every error the proxy itself produces,
 * so that a JavaScript application can show the reason.
 */
#ifndef ORTHANC_PROXY_JSON_ERROR_H
#define ORTHANC_PROXY_JSON_ERROR_H

#include <apr_pools.h>

/* {"status": STATUS, "message": "MESSAGE"} with ", "rule": "RULE"" when
 * RULE is not NULL; strings are escaped as JSON requires. */
char *op_json_error(apr_pool_t *p, int status, const char *message,
                    const char *rule);

/* TEXT as a quoted JSON string: control characters escaped, bytes that do
 * not start well-formed UTF-8 replaced by U+FFFD. */
char *op_json_string(apr_pool_t *p, const char *text);

/* What a person should read for STATUS when nothing more precise is known. */
const char *op_default_error_message(int status);

#endif
