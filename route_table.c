/*
 * route_table.c - Orthanc's REST routes and the access level each needs.
 */
#include "route_table.h"

#include <string.h>
#include <strings.h>

#include "pattern.h"

/* First match wins: specific routes come before the general ones. */
static const op_route ROUTES[] = {
    { "POST", "/tools/execute-script", OP_LEVEL_ADMIN, "server administration (Lua)" },
    { "GET", "/**", OP_LEVEL_READ, "reading" },
    { NULL, NULL, OP_LEVEL_UNSET, NULL }
};

const op_route *op_route_table(void)
{
    return ROUTES;
}

const op_route *op_route_find(const char *method, const op_path *path, int from)
{
    const op_route *route;
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;

    for (route = ROUTES; route->pattern; route++) {
        if (op_methods_include(route->methods, as)
            && op_pattern_match(route->pattern, path, from)) {
            return route;
        }
    }
    return NULL;
}

static const char *const LEVEL_NAMES[] = { NULL, "read", "upload", "modify", "admin" };

op_level op_level_parse(const char *name)
{
    int level;
    for (level = OP_LEVEL_READ; level <= OP_LEVEL_ADMIN; level++) {
        if (strcasecmp(name, LEVEL_NAMES[level]) == 0) {
            return (op_level)level;
        }
    }
    return OP_LEVEL_UNSET;
}

const char *op_level_name(op_level level)
{
    return level >= OP_LEVEL_READ && level <= OP_LEVEL_ADMIN
           ? LEVEL_NAMES[level] : "unset";
}
