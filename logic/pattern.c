/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pattern.c - patterns over Orthanc paths and lists of methods.
 */
#include "pattern.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

static int is_plain_segment_char(unsigned char c)
{
    return c != '\0' && (apr_isalnum(c) || strchr("-._~!$&'()+,=:@", c));
}

static const char *check_segment(apr_pool_t *p, const char *pattern,
                                 const char *segment, int is_last)
{
    const char *c;

    if (strcmp(segment, "**") == 0) {
        return is_last ? NULL
                       : apr_psprintf(p, "in the pattern '%s', '**' may only "
                                      "be the last segment", pattern);
    }
    if (strcmp(segment, "*") == 0) {
        return NULL;
    }
    if (strcmp(segment, ".") == 0 || strcmp(segment, "..") == 0) {
        return apr_psprintf(p, "the pattern '%s' has a dot segment", pattern);
    }
    for (c = segment; *c; c++) {
        if (!is_plain_segment_char((unsigned char)*c)) {
            return apr_psprintf(p, "the pattern '%s' contains '%c'; segments "
                                "are literal, '*' or '**'", pattern, *c);
        }
    }
    return NULL;
}

const char *op_pattern_check(apr_pool_t *p, const char *pattern)
{
    char *copy, *state, *segment;

    if (pattern == NULL || pattern[0] != '/') {
        return apr_psprintf(p, "the pattern '%s' must start with '/'",
                            pattern ? pattern : "");
    }
    if (strstr(pattern, "//")) {
        return apr_psprintf(p, "the pattern '%s' has an empty segment", pattern);
    }
    copy = apr_pstrdup(p, pattern + 1);
    segment = apr_strtok(copy, "/", &state);
    while (segment) {
        char *next = apr_strtok(NULL, "/", &state);
        const char *err = check_segment(p, pattern, segment, next == NULL);
        if (err) {
            return err;
        }
        segment = next;
    }
    return NULL;
}

int op_pattern_match(const char *pattern, const op_path *path, int from)
{
    const char **segments = (const char **)path->segments->elts;
    int count = path->segments->nelts;
    int i = from;
    const char *p = pattern;

    /* One pass over the pattern, no copies: every request is matched
     * against the whole route table. */
    while (p[0] == '/' && p[1] != '\0') {
        p++;
        if (p[0] == '*' && p[1] == '*' && (p[2] == '/' || p[2] == '\0')) {
            return 1;
        }
        if (i >= count) {
            return 0;
        }
        if (p[0] == '*' && (p[1] == '/' || p[1] == '\0')) {
            p++;
        }
        else {
            const char *segment = segments[i];
            while (*segment != '\0' && *segment == *p) {
                segment++;
                p++;
            }
            if (*segment != '\0' || (*p != '/' && *p != '\0')) {
                return 0;
            }
        }
        i++;
    }
    return i == count;
}

static int is_method_separator(char c)
{
    return c == ',' || c == ' ' || c == '\t';
}

const char *op_methods_check(apr_pool_t *p, const char *methods)
{
    const char *c;
    int seen = 0;

    if (methods && strcmp(methods, "*") == 0) {
        return NULL;
    }
    for (c = methods ? methods : ""; *c; c++) {
        if (apr_isupper(*c)) {
            seen = 1;
        }
        else if (!is_method_separator(*c)) {
            return apr_psprintf(p, "'%s' is not a list of methods; write "
                                "them in capitals separated by commas "
                                "(GET,POST) or '*'", methods);
        }
    }
    return seen ? NULL : "the list of methods is empty";
}

int op_methods_include(const char *methods, const char *method)
{
    apr_size_t n = strlen(method);
    const char *c = methods;

    if (strcmp(methods, "*") == 0) {
        return 1;
    }
    while (*c) {
        apr_size_t len;
        while (is_method_separator(*c)) {
            c++;
        }
        len = 0;
        while (c[len] && !is_method_separator(c[len])) {
            len++;
        }
        if (len == n && len > 0 && strncmp(c, method, n) == 0) {
            return 1;
        }
        c += len;
    }
    return 0;
}
