/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Blocking work off the event loop. The kernel's remove blocks while a VFIO user holds the
 * device and create runs the vendor driver's probe (lib/mdev-backend.h), so each such
 * write runs in its own thread; its completion is handed back to the loop through a pipe.
 *
 * A work item's run() may touch only the item itself (and a context it holds a reference
 * to); done() runs on the loop. Items still running when the daemon exits are left to the
 * process exit: they stay reachable from a list here, so leak checkers stay quiet. */

#include <stdbool.h>
#include <systemd/sd-event.h>

struct work {
        void (*run)(struct work *w);  /* worker thread */
        void (*done)(struct work *w); /* event loop */
        unsigned generation;          /* the worker it was submitted to */
        struct work *in_flight_next, *in_flight_prev;
};

struct worker;

int worker_new(sd_event *event, struct worker **ret);
struct worker *worker_free(struct worker *w);
int worker_submit(struct worker *wk, struct work *w);
/* Items submitted and not yet done. */
unsigned worker_in_flight(const struct worker *wk);
