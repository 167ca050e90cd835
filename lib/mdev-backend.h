/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The mdev backend: create and remove mdevs through sysfs (IOMMU-SPEC.md §1.1), write
 * their attributes (a definition's attrs, in order), and wait for them to appear or go.
 *
 * Every name is validated before any path is built: a canonical lowercase UUID; parent
 * and type are single entries of /sys/class/mdev_bus and of that parent's
 * mdev_supported_types (no '/', not "." or "..", no control characters, at most 255
 * bytes, and they must exist); attribute names likewise, minus a deny-list of files that
 * are not device settings (remove, uevent, driver, ...). Writes go through write_attr(),
 * which never creates a file.
 *
 * Blocking: the kernel's remove waits until the VFIO user (a VM) closes the device —
 * seconds, or as long as the VM runs (TESTING.md layer 7 §4.2) — and create runs the
 * vendor driver's probe. Never call these on an event loop thread; the daemon runs them
 * in a worker. */

#include <stdbool.h>
#include <stdint.h>

#include "ctx.h"

enum mdp_mdev_op {
        MDP_MDEV_OP_CREATE,
        MDP_MDEV_OP_REMOVE,
        MDP_MDEV_OP_SET_ATTR,
        MDP_MDEV_OP_WAIT_PRESENT, /* waiting for a created mdev to appear */
        MDP_MDEV_OP_WAIT_BOUND,   /* ... and its vendor driver to bind (open /dev/vfio only then) */
        MDP_MDEV_OP_WAIT_GONE,    /* waiting for a removed mdev to go */
};

/* The object an error is about. */
enum mdp_mdev_object {
        MDP_MDEV_OBJECT_NONE,
        MDP_MDEV_OBJECT_PARENT,
        MDP_MDEV_OBJECT_TYPE,
        MDP_MDEV_OBJECT_DEVICE,
        MDP_MDEV_OBJECT_ATTRIBUTE,
        MDP_MDEV_OBJECT_VALUE,
};

/* What went wrong, for mdp_mdev_error_message(): (operation, errno, objects). The backend
 * fills it on failure when the caller passes one; a caller with an errno from elsewhere
 * (the daemon's own uevent wait) may fill it by hand. The strings are the caller's
 * arguments, not copies. */
struct mdp_mdev_error {
        enum mdp_mdev_op op;
        int error;                   /* negative errno, as returned */
        enum mdp_mdev_object object; /* what the error is about */
        bool invalid;                /* the name was refused before anything was touched */
        const char *parent, *type_id, *uuid, *attr;
        int64_t available; /* the type's available_instances after ENOSPC; -1 unknown */
        unsigned timeout_ms;
};

/* Writes uuid to <parent>/mdev_supported_types/<type_id>/create. Before writing it
 * checks that the parent and type exist (-ENOENT), that no mdev has this UUID
 * (-EEXIST) and that the type has capacity (-ENOSPC when available_instances reads 0);
 * then the kernel's own errno is returned unchanged. */
int mdp_mdev_create(struct mdp_ctx *ctx, const char *parent, const char *type_id, const char *uuid,
                    struct mdp_mdev_error *ret_error);
/* Writes "1" to /sys/bus/mdev/devices/<uuid>/remove. Blocks while a VFIO user holds the
 * device (see above). -ENOENT when no such mdev exists. */
int mdp_mdev_remove(struct mdp_ctx *ctx, const char *uuid, struct mdp_mdev_error *ret_error);
/* Writes value to the existing regular file /sys/bus/mdev/devices/<uuid>/<attr>.
 * -EINVAL for a refused name or a value longer than a page, -ENOENT when the device or
 * the attribute does not exist. */
int mdp_mdev_set_attr(struct mdp_ctx *ctx, const char *uuid, const char *attr, const char *value,
                      struct mdp_mdev_error *ret_error);
/* Polls (with backoff: 1 ms doubling to 50 ms) until the mdev is present (op
 * MDP_MDEV_OP_WAIT_PRESENT), bound to its driver (WAIT_BOUND) or gone (WAIT_GONE);
 * -ETIMEDOUT after timeout_ms. For one-shot callers; the daemon waits on uevents. */
int mdp_mdev_wait(struct mdp_ctx *ctx, const char *uuid, enum mdp_mdev_op what, unsigned timeout_ms,
                  struct mdp_mdev_error *ret_error);

/* An attribute name mdp_mdev_set_attr() accepts (mdp_sysfs_name_is_valid() and not
 * denied). */
bool mdp_mdev_attr_name_is_valid(const char *name);

/* One sentence naming the object and the fix ("Cannot create mdev U (type T on parent
 * P): the type has no capacity left (available_instances is 0). Remove an mdev of this
 * parent, or choose another type."), so the CLI and the daemon say the same words.
 * malloc'd; NULL only when out of memory. */
char *mdp_mdev_error_message(const struct mdp_mdev_error *e);
/* The org.mdevpasid1.Error.* name (mdp-names.h) for the same error. */
const char *mdp_mdev_error_dbus_name(const struct mdp_mdev_error *e);
