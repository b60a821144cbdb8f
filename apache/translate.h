/* SPDX-License-Identifier: Apache-2.0 */
/*
 * translate.h - the hooks that decide which requests are the module's and
 * where they go: pre_translate_name, translate_name, map_to_storage.
 */
#ifndef ORTHANC_PROXY_TRANSLATE_H
#define ORTHANC_PROXY_TRANSLATE_H

#include <httpd.h>

/* pre_translate_name: read the path as Orthanc will, pick the mapping and
 * work out the method Orthanc will run. */
int op_map_request(request_rec *r);

/* translate_name: hand the request to mod_proxy, or to the local handler. */
int op_hand_over(request_rec *r);

/* map_to_storage: no file to look for behind what is answered here. */
int op_skip_file_walk(request_rec *r);

#endif
