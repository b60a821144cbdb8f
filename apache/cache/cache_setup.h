/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_setup.h - OrthancProxyCache at start-up: the checks of
 * apachectl configtest, the generation counters, mod_watchdog's callbacks,
 * mod_cache's key generator.
 */
#ifndef ORTHANC_PROXY_CACHE_SETUP_H
#define ORTHANC_PROXY_CACHE_SETUP_H

/* Registers the start-up hooks and the request-time parts
 * (cache_request.c). */
void op_register_cache(void);

#endif
