/* SPDX-License-Identifier: Apache-2.0 */
/*
 * change_cursor.c - the follower's place in the change log (see
 * change_cursor.h).
 */
#include "change_cursor.h"

#include <string.h>

static void settle(op_change_cursor *c)
{
    c->settled = c->n_open > 0 ? c->open_seq[0] - 1 : c->high;
}

static void drop_open(op_change_cursor *c, int i)
{
    memmove(&c->open_seq[i], &c->open_seq[i + 1],
            (size_t)(c->n_open - i - 1) * sizeof(c->open_seq[0]));
    memmove(&c->open_since[i], &c->open_since[i + 1],
            (size_t)(c->n_open - i - 1) * sizeof(c->open_since[0]));
    c->n_open--;
}

/* Opens the holes FROM .. TO (ascending, above every open one). */
static void open_holes(op_change_cursor *c, apr_int64_t from, apr_int64_t to,
                       apr_time_t now, int *given_up)
{
    apr_int64_t seq;

    /* Only the last OP_CURSOR_MAX_OPEN numbers can be kept. */
    if (to - from + 1 > OP_CURSOR_MAX_OPEN) {
        *given_up += (int)(to - from + 1 - OP_CURSOR_MAX_OPEN);
        from = to - OP_CURSOR_MAX_OPEN + 1;
    }
    for (seq = from; seq <= to; seq++) {
        if (c->n_open == OP_CURSOR_MAX_OPEN) {
            drop_open(c, 0);
            (*given_up)++;
        }
        c->open_seq[c->n_open] = seq;
        c->open_since[c->n_open] = now;
        c->n_open++;
    }
}

void op_cursor_start(op_change_cursor *c, apr_int64_t last)
{
    memset(c, 0, sizeof(*c));
    c->settled = c->high = last < 0 ? 0 : last;
}

op_entry_verdict op_cursor_take(op_change_cursor *c, apr_int64_t seq,
                                apr_time_t now, int *opened, int *given_up)
{
    if (seq <= c->settled) {
        return OP_ENTRY_SEEN;
    }
    if (seq <= c->high) {
        int i;
        for (i = 0; i < c->n_open; i++) {
            if (c->open_seq[i] == seq) {
                drop_open(c, i);
                settle(c);
                return OP_ENTRY_LATE;
            }
        }
        return OP_ENTRY_SEEN;
    }
    if (seq > c->high + 1) {
        open_holes(c, c->high + 1, seq - 1, now, given_up);
        *opened = 1;
    }
    c->high = seq;
    settle(c);
    return OP_ENTRY_NEW;
}

int op_cursor_end(op_change_cursor *c, apr_int64_t last, apr_time_t now,
                  int *given_up)
{
    if (last < c->high) {
        return -1;
    }
    if (last == c->high) {
        return 0;
    }
    open_holes(c, c->high + 1, last, now, given_up);
    c->high = last;
    settle(c);
    return 1;
}

int op_cursor_expire(op_change_cursor *c, apr_time_t now,
                     apr_interval_time_t grace)
{
    int expired = 0;

    while (c->n_open > 0 && c->open_since[0] + grace < now) {
        drop_open(c, 0);
        expired++;
    }
    /* Holes are opened in order, so the oldest come first; one opened
     * later but numbered lower cannot exist. */
    settle(c);
    return expired;
}

apr_int64_t op_cursor_read_from(const op_change_cursor *c)
{
    return c->settled;
}
