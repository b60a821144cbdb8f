/*
 * method_override.h - the method Orthanc will really execute.
 *
 * Orthanc turns "GET ...?_method=delete" and any request carrying
 * "X-HTTP-Method-Override: DELETE" into a DELETE.  A filter that looks at
 * the request line alone would let such a request through as a GET.  The
 * proxy works out the method Orthanc will execute, decides on that, and
 * forwards it as the real method with every override removed.
 */
#ifndef ORTHANC_PROXY_METHOD_OVERRIDE_H
#define ORTHANC_PROXY_METHOD_OVERRIDE_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Decodes a query-string argument as Orthanc's decoder does (releases up
 * to 1.9.7 applied it to argument names): '+' is a space and '%' followed
 * by two letters or digits is one byte, even when they are not
 * hexadecimal. */
char *op_orthanc_query_decode(apr_pool_t *p, const char *text, apr_size_t len);

/* Works out the method Orthanc will execute for METHOD with HEADERS and the
 * raw QUERY (may be NULL).  Sets *EFFECTIVE to it and *FORWARD_QUERY to the
 * query without any _method argument (QUERY itself when it has none).
 * Returns NULL, or the reason for refusing the request with 400: an override
 * that names anything but PUT or DELETE written plainly, several overrides,
 * or an override header Orthanc would ignore. */
const char *op_resolve_method(apr_pool_t *p, const char *method,
                              const apr_table_t *headers, const char *query,
                              const char **effective,
                              const char **forward_query);

#endif
