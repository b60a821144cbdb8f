/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_window.h - one event per user, client, action and study in a
 * window, not one per request.
 *
 * A window opens with the first request of its key and gathers the
 * requests that follow (their number, bytes and distinct instances); it
 * closes after QUIET seconds without one, or LONGEST seconds after it
 * opened, and its event is written then.  The key holds the node, the
 * mapping, the user, the client, the kind of event, its outcome and the
 * study (or patient, or Orthanc's ID when unresolved); queries add their
 * keys and refusals their reason, so different searches and different
 * refusals stay different events.
 */
#ifndef ORTHANC_PROXY_AUDIT_WINDOW_H
#define ORTHANC_PROXY_AUDIT_WINDOW_H

#include <apr_pools.h>
#include <apr_hash.h>

#include "audit_event.h"

typedef struct op_audit_windows op_audit_windows;

typedef void (*op_audit_emit)(void *ctx, const op_audit_event *event);

/* An empty set of windows; its memory comes from sub-pools of P, each
 * freed when its window closes. */
op_audit_windows *op_audit_windows_make(apr_pool_t *p);

/* Adds one request to the window of EVENT's key (EVENT describes this
 * request alone: its subject, if any, is SUBJECT, which may be NULL),
 * opening it if needed.  INSTANCE names the instance the request touched
 * (a SOP Instance UID or an Orthanc ID), or NULL.  Everything is copied. */
void op_audit_windows_add(op_audit_windows *windows,
                          const op_audit_event *event,
                          const op_audit_subject *subject,
                          const char *instance, int quiet, int longest);

/* Closes the windows that are due at NOW (every one when NOW is 0) and
 * passes their events to EMIT; returns how many. */
int op_audit_windows_close(op_audit_windows *windows, apr_time_t now,
                           op_audit_emit emit, void *ctx);

/* How many windows are open. */
int op_audit_windows_open(const op_audit_windows *windows);

#endif
