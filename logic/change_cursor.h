/* SPDX-License-Identifier: Apache-2.0 */
/*
 * change_cursor.h - where the change follower is in Orthanc's change log,
 * with the sequence numbers it has not seen yet.
 *
 * Orthanc numbers its changes one after the other, but the log can have
 * holes, for two reasons the follower cannot tell apart when it meets one:
 *   - entries removed: deleting a resource removes its earlier entries from
 *     the log (every Orthanc up to 1.13), so a resource stored and deleted
 *     between two readings leaves only a hole - also at the end of the log,
 *     where an empty page's "Last" (the database's high-water mark) shows
 *     it;
 *   - entries not committed yet: with several writers on PostgreSQL,
 *     sequence number 101 can be committed after 102.
 * A hole is therefore treated as both: the follower makes everything fresh
 * when it opens (something may have been deleted), and keeps it open for a
 * grace period, reading the log again from its first open hole on each
 * pass, so that a change committed late is still applied - once.  Every
 * sequence number is applied at most once: those up to SETTLED are done
 * (or given up), those above it are either applied or open.
 */
#ifndef ORTHANC_PROXY_CHANGE_CURSOR_H
#define ORTHANC_PROXY_CHANGE_CURSOR_H

#include <apr.h>
#include <apr_time.h>

/* Holes kept open at most; older ones are given up first. */
#define OP_CURSOR_MAX_OPEN 128

typedef struct {
    apr_int64_t settled;     /* every number up to here applied or given up */
    apr_int64_t high;        /* the highest number seen (>= settled) */
    int n_open;
    apr_int64_t open_seq[OP_CURSOR_MAX_OPEN];      /* ascending */
    apr_time_t open_since[OP_CURSOR_MAX_OPEN];
} op_change_cursor;

/* What the follower must do with one entry of the log. */
typedef enum {
    OP_ENTRY_SEEN = 0,       /* applied before: skip it */
    OP_ENTRY_NEW,            /* apply it */
    OP_ENTRY_LATE            /* a hole filled: apply it (committed late) */
} op_entry_verdict;

/* A cursor at LAST: every number up to it counts as applied. */
void op_cursor_start(op_change_cursor *c, apr_int64_t last);

/* The log answered entry SEQ at NOW.  *OPENED is set when numbers were
 * skipped (new holes); *GIVEN_UP counts holes dropped for lack of room. */
op_entry_verdict op_cursor_take(op_change_cursor *c, apr_int64_t seq,
                                apr_time_t now, int *opened, int *given_up);

/* An empty page read from above HIGH said the log's last number is LAST:
 * the numbers up to it that were never seen are holes (entries removed,
 * or not committed yet).  Returns 1 when holes were opened, 0 when there
 * are none, -1 when LAST is below what was seen: the log went back (it
 * was cleared, or Orthanc uses another database). */
int op_cursor_end(op_change_cursor *c, apr_int64_t last, apr_time_t now,
                  int *given_up);

/* Gives up the holes open since before NOW - GRACE; how many. */
int op_cursor_expire(op_change_cursor *c, apr_time_t now,
                     apr_interval_time_t grace);

/* The "since" of the next reading: before the first open hole, or HIGH. */
apr_int64_t op_cursor_read_from(const op_change_cursor *c);

#endif
