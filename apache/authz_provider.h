/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authz_provider.h - "Require orthanc-access LEVEL", the access levels as
 * an authorization provider of mod_authz_core.
 */
#ifndef ORTHANC_PROXY_AUTHZ_PROVIDER_H
#define ORTHANC_PROXY_AUTHZ_PROVIDER_H

#include <apr_pools.h>

/* The provider name, as written after Require. */
#define OP_AUTHZ_PROVIDER "orthanc-access"

/* Registers the provider and the hooks that turn its denials into the
 * module's refusals (JSON reason, one log line). */
void op_register_authz_provider(apr_pool_t *p);

#endif
