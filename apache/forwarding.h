/* SPDX-License-Identifier: Apache-2.0 */
/*
 * forwarding.h - the fixups hook: after authentication, the last checks
 * and what mod_proxy must send.
 */
#ifndef ORTHANC_PROXY_FORWARDING_H
#define ORTHANC_PROXY_FORWARDING_H

#include <httpd.h>

int op_prepare_forwarding(request_rec *r);

#endif
