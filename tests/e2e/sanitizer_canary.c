/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sanitizer_canary.c - a test module with bugs on purpose, built only by
 * ./configure --enable-sanitizers (make check), with the module's flags.
 *
 * tests/e2e/test_sanitizers.py loads it next to mod_orthanc_proxy into an
 * Apache started the way every test starts one, and checks that what it
 * does wrong reaches a report with its stack: the proof that a sanitized
 * run would have seen the same mistake in the module.
 *
 *   GET /canary?ok                 200
 *   GET /canary?heap=N             writes byte N of an 8-byte heap block
 *   GET /canary?shift=N            shifts 1 left by N bits
 */
#include <stdlib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <apr_strings.h>

extern module AP_MODULE_DECLARE_DATA sanitizer_canary_module;

static int canary_handler(request_rec *r)
{
    const char *args = r->args ? r->args : "";
    volatile int result = 0;

    if (r->handler == NULL || strcmp(r->handler, "sanitizer-canary") != 0) {
        return DECLINED;
    }
    if (strncmp(args, "heap=", 5) == 0) {
        /* The index comes from the request: no compiler sees the bug. */
        char *block = malloc(8);
        if (block == NULL) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        block[atoi(args + 5)] = 'x';
        result = block[0];
        free(block);
    }
    else if (strncmp(args, "shift=", 6) == 0) {
        int bits = atoi(args + 6);
        result = 1 << bits;
    }
    ap_set_content_type(r, "text/plain");
    ap_rprintf(r, "canary %d\n", result);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_handler(canary_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(sanitizer_canary) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};
