/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_lookup.h - a child asks Orthanc who a resource belongs to, before
 * it forwards a request that may make the resource disappear.
 */
#ifndef ORTHANC_PROXY_AUDIT_LOOKUP_H
#define ORTHANC_PROXY_AUDIT_LOOKUP_H

#include <httpd.h>

#include "logic/audit_resolve.h"

/* A resolver (logic/audit_resolve.h) that asks the Orthanc of R's mapping
 * with the credentials in force for R, with libcurl, each question on a
 * connection of its own; it remembers nothing. */
op_audit_resolver op_audit_lookup_resolver(request_rec *r);

#endif
