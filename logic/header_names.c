/* SPDX-License-Identifier: Apache-2.0 */
/*
 * header_names.c - the request headers only the proxy may set.
 */
#include "header_names.h"

#include <string.h>

const char *const op_forwarding_headers[] = {
    "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
    "X-Forwarded-Prefix", "X-Forwarded-Port", "X-Forwarded-Server", NULL
};

const char *const op_override_headers[] = {
    "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", NULL
};

/* Header names are ASCII tokens: fold case and '_' without the locale. */
static char fold_name_char(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return (char)(c - 'A' + 'a');
    }
    return c == '_' ? '-' : c;
}

static size_t length_without_trailing_blanks(const char *name)
{
    size_t n = strlen(name);
    while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t')) {
        n--;
    }
    return n;
}

int op_header_names_match(const char *a, const char *b)
{
    size_t n = length_without_trailing_blanks(a), i;

    if (n != length_without_trailing_blanks(b)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (fold_name_char(a[i]) != fold_name_char(b[i])) {
            return 0;
        }
    }
    return 1;
}

static int is_listed(const char *name, const char *const *names)
{
    for (; *names; names++) {
        if (op_header_names_match(name, *names)) {
            return 1;
        }
    }
    return 0;
}

int op_is_override_header(const char *name)
{
    /* Every request header passes here: most are ruled out at once. */
    return fold_name_char(name[0]) == 'x' && is_listed(name, op_override_headers);
}

int op_is_proxy_owned_header(const char *name, const char *user_header)
{
    return is_listed(name, op_forwarding_headers) || op_is_override_header(name)
           || (user_header && op_header_names_match(name, user_header));
}
