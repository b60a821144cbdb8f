/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pattern.h - patterns over Orthanc paths and lists of methods.
 *
 * A pattern names Orthanc paths segment by segment, below the mapping's
 * prefix.  Each segment is literal ("tools"), a single star for any one
 * segment (/patients/STAR/archive) or, as the last segment only, two stars
 * for any number of segments, none included (/dicom-web/STARSTAR).  They
 * are matched against the canonical path, so an encoded or doubled slash
 * cannot step around them.
 */
#ifndef ORTHANC_PROXY_PATTERN_H
#define ORTHANC_PROXY_PATTERN_H

#include <apr_pools.h>
#include "path_canon.h"

/* NULL when PATTERN is well formed, else what is wrong with it. */
const char *op_pattern_check(apr_pool_t *p, const char *pattern);

/* Whether the segments of PATH from index FROM on match PATTERN. */
int op_pattern_match(const char *pattern, const op_path *path, int from);

/* NULL when METHODS is a list of methods separated by commas or blanks
 * ("GET,POST", "DELETE") or "*" for all, else what is wrong with it. */
const char *op_methods_check(apr_pool_t *p, const char *methods);

/* Whether METHOD is in the list METHODS (or METHODS is "*"). */
int op_methods_include(const char *methods, const char *method);

#endif
