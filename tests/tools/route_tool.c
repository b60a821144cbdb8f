/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_tool.c - the route table from the command line.
 *
 *   route_tool < requests      reads lines "METHOD PATH" (the path as
 *                              Orthanc receives it, below the prefix; a
 *                              query string is ignored) and prints
 *                              "LEVEL FAMILY" for each, LEVEL being
 *                              "unknown" when the table has no route
 *                              (such a request needs admin) and "invalid"
 *                              when the path cannot be read.
 *   route_tool --since         the same, with the first release of the route
 *   route_tool --markdown      prints the whole table as a Markdown table.
 *
 * Used by tests/e2e/test_route_coverage.py and to write docs/routes.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "path_canon.h"
#include "pattern.h"
#include "route_table.h"

#define LINE_MAX_LEN 8192

static void usage(FILE *out)
{
    fputs("usage: route_tool            reads 'METHOD PATH' lines, prints 'LEVEL FAMILY'\n"
          "       route_tool --since    the same, 'LEVEL SINCE FAMILY' (SINCE: '-',\n"
          "                             or the first release, e.g. Orthanc_1.12.0)\n"
          "       route_tool --markdown prints the route table as Markdown\n", out);
}

/* The route's first release without spaces, "-" when every release has it. */
static const char *since_word(apr_pool_t *p, const op_route *route)
{
    char *word, *c;

    if (route->since == NULL) {
        return "-";
    }
    word = apr_pstrdup(p, route->since);
    for (c = word; *c; c++) {
        if (*c == ' ') {
            *c = '_';
        }
    }
    return word;
}

static int classify_lines(apr_pool_t *pool, int with_since)
{
    char line[LINE_MAX_LEN];
    int status = EXIT_SUCCESS;

    while (fgets(line, sizeof line, stdin)) {
        apr_pool_t *p;
        char *method, *path, *state, *query;
        op_path parsed;
        const op_route *route;

        line[strcspn(line, "\r\n")] = '\0';
        method = apr_strtok(line, " \t", &state);
        if (method == NULL) {
            continue;       /* a blank line */
        }
        path = apr_strtok(NULL, " \t", &state);
        if (path == NULL) {
            fprintf(stderr, "route_tool: '%s': expected 'METHOD PATH'\n", method);
            puts("invalid -");
            status = EXIT_FAILURE;
            continue;
        }
        if ((query = strchr(path, '?')) != NULL) {
            *query = '\0';
        }
        apr_pool_create(&p, pool);
        if (op_path_parse(p, path, strlen(path), &parsed) != OP_PATH_OK) {
            puts(with_since ? "invalid - -" : "invalid -");
        }
        else if ((route = op_route_find(method, &parsed, 0)) == NULL) {
            puts(with_since ? "unknown - -" : "unknown -");
        }
        else if (with_since) {
            printf("%s %s %s\n", op_level_name(route->level),
                   since_word(p, route), route->family);
        }
        else {
            printf("%s %s\n", op_level_name(route->level), route->family);
        }
        fflush(stdout);
        apr_pool_destroy(p);
    }
    return status;
}

/* The first segment of PATTERN ("patients" for "/patients/STAR") and the
 * rest ("/STAR"). */
static const char *split_first(apr_pool_t *p, const char *pattern,
                               const char **rest)
{
    const char *slash = strchr(pattern + 1, '/');
    if (slash == NULL) {
        *rest = "";
        return apr_pstrdup(p, pattern + 1);
    }
    *rest = slash;
    return apr_pstrndup(p, pattern + 1, (apr_size_t)(slash - pattern - 1));
}

static int is_resource_level(const char *segment)
{
    return strcmp(segment, "patients") == 0 || strcmp(segment, "studies") == 0
           || strcmp(segment, "series") == 0 || strcmp(segment, "instances") == 0;
}

/* Whether entries A and B are the same route below two resource levels:
 * same methods, level and family, patterns that differ only in their
 * first segment, a resource level. */
static int same_route_other_level(apr_pool_t *p, const op_route *a,
                                  const op_route *b)
{
    const char *rest_a, *rest_b;

    if (strcmp(a->methods, b->methods) != 0 || a->level != b->level
        || strcmp(a->family, b->family) != 0
        || (a->since == NULL) != (b->since == NULL)
        || (a->since && strcmp(a->since, b->since) != 0)) {
        return 0;
    }
    return is_resource_level(split_first(p, a->pattern, &rest_a))
           && is_resource_level(split_first(p, b->pattern, &rest_b))
           && strcmp(rest_a, rest_b) == 0;
}

static const char *methods_text(apr_pool_t *p, const char *methods)
{
    char *text, *c;

    if (strcmp(methods, "*") == 0) {
        return "any";
    }
    text = apr_pstrdup(p, methods);
    for (c = text; *c; c++) {
        if (*c == ',') {
            *c = ' ';
        }
    }
    return text;
}

/* Rows in table order; consecutive entries that are the same route below
 * several resource levels become one row, "/{patients,studies}/STAR/..". */
static int print_markdown(apr_pool_t *p)
{
    const op_route *table = op_route_table();
    const op_route *route = table;

    puts("| route | methods | lowest level | what it is | since |");
    puts("|---|---|---|---|---|");
    while (route->pattern) {
        const op_route *end = route + 1;
        const char *rest = "";
        const char *shown;

        while (end->pattern && same_route_other_level(p, route, end)) {
            end++;
        }
        if (end - route == 1) {
            shown = route->pattern;
        }
        else {
            const op_route *r;
            char *firsts = NULL;
            for (r = route; r < end; r++) {
                const char *first = split_first(p, r->pattern, &rest);
                firsts = firsts ? apr_pstrcat(p, firsts, ",", first, NULL)
                                : apr_pstrdup(p, first);
            }
            shown = apr_pstrcat(p, "/{", firsts, "}", rest, NULL);
        }
        printf("| `%s` | %s | %s | %s | %s |\n", shown,
               methods_text(p, route->methods), op_level_name(route->level),
               route->family, route->since ? route->since : "");
        route = end;
    }
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    int status;

    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--markdown") != 0
                     && strcmp(argv[1], "--since") != 0)) {
        usage(stderr);
        return 2;
    }
    apr_initialize();
    atexit(apr_terminate);
    apr_pool_create(&pool, NULL);
    status = argc == 2 && strcmp(argv[1], "--markdown") == 0
             ? print_markdown(pool) : classify_lines(pool, argc == 2);
    apr_pool_destroy(pool);
    return status;
}
