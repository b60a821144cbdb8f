/* SPDX-License-Identifier: Apache-2.0 */
/*
 * method_override.h - the method Orthanc will really execute.
 *
 * Orthanc turns "GET ...?_method=delete" and any request carrying
 * "X-HTTP-Method-Override: DELETE" into a DELETE.  A filter that looks at
 * the request line alone would let such a request through as a GET.  The
 * proxy works out the method Orthanc will execute, decides on that, and
 * forwards it as the real method with every override removed.
 *
 * Releases differ on decoding the query string before they split it
 * (query_reading.h), so an override may exist for some of them only: the
 * proxy reads the query every way, and refuses what they read differently.
 */
#ifndef ORTHANC_PROXY_METHOD_OVERRIDE_H
#define ORTHANC_PROXY_METHOD_OVERRIDE_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Works out the method Orthanc will execute for METHOD with HEADERS and the
 * raw QUERY (may be NULL).  Sets *EFFECTIVE to it and *FORWARD_QUERY to the
 * query without any _method argument (QUERY itself when it has none).
 * QUERY is read as every Orthanc release reads it (query_reading.h).
 * Returns NULL, or the reason for refusing the request with 400: an override
 * that names anything but PUT or DELETE written plainly, several overrides,
 * an override header Orthanc would ignore, a query string whose override
 * releases read differently, or one that would still carry an override
 * for some release once the proxy has removed what it decided on. */
const char *op_resolve_method(apr_pool_t *p, const char *method,
                              const apr_table_t *headers, const char *query,
                              const char **effective,
                              const char **forward_query);

#endif
