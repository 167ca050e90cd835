/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mdev lifecycle operations (Start, Create, Stop, Remove) as asynchronous state
 * machines on the event loop. Every sysfs write runs in a worker thread; the D-Bus reply
 * is sent when the operation ends, so other calls are served meanwhile.
 *
 *   start/create: intent recorded in state.json -> create write (serialized per parent:
 *                 no over-commit) -> wait for the device to be present and bound (uevents,
 *                 with a timeout) -> attributes in order -> ownership recorded.
 *                 A failure after the create removes the device again and says which step
 *                 failed and why.
 *   stop/remove:  holders checked (Busy naming them, nothing written) -> remove write,
 *                 which the kernel blocks while a VFIO user holds the device -> Busy after
 *                 the stop timeout (the kernel finishes the removal when the holder lets go).
 */

#include <stdbool.h>

#include "definition.h"
#include "manager.h"

enum op_origin {
        OP_ORIGIN_BUS,       /* a method call; replied when done */
        OP_ORIGIN_AUTOSTART, /* autostart.c; reported through the callback */
        OP_ORIGIN_RECOVERY,  /* undoing an operation a restart interrupted */
        OP_ORIGIN_ATTACH,    /* AttachVm starting the VM's defined mdevs (vms.c); the callback */
};

/* Called when an operation that was not started by a method call ends. r is 0 or a
 * negative errno; error_name and message describe the failure (NULL on success). */
typedef void (*op_done_fn)(struct manager *m, const char *uuid, int r, const char *error_name,
                           const char *message, void *userdata);

/* Starts the definition def of device d. message may be NULL (origin not BUS). Returns 0
 * when the operation was started (the reply comes later), or a negative errno with error
 * set when it could not be (the caller replies with error). */
int op_start(struct manager *m, struct device *d, const struct mdp_definition *def, enum op_origin origin,
             sd_bus_message *message, op_done_fn done, void *userdata, sd_bus_error *error);
/* Creates a transient device. */
int op_create(struct manager *m, const char *uuid, const char *parent, const char *type,
              const struct mdp_attr *attrs, size_t n_attrs, sd_bus_message *message, sd_bus_error *error);
/* Stops (removes from sysfs) an active device. transient: Remove semantics. */
int op_stop(struct manager *m, struct device *d, enum op_origin origin, sd_bus_message *message,
            sd_bus_error *error);

/* The model saw the device change (uevent): a waiting operation re-checks. */
void op_device_changed(struct device *d);
/* A parent went away: queued creates on it fail. */
void op_parent_gone(struct manager *m, struct parent *p);
/* The parent and type an operation works on (shown while a device is starting). */
const char *op_parent(const struct op *op);
const char *op_type(const struct op *op);
/* Operations still running (for shutdown messages). */
unsigned op_count(void);
