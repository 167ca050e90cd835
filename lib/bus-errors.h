/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one table of org.mdevpasid1.Error.* names and the errno each maps to (STYLE.md
 * "Errors"). The daemon and every client register it with mdp_bus_errors_register(), so a
 * client's sd_bus_error_get_errno() / sd_bus_call() return value is meaningful (-ENOSPC for
 * NoCapacity, ...) and the daemon fills errors by name, never from bare errnos. */

#include <systemd/sd-bus.h>

#include "mdev-backend.h"

extern const sd_bus_error_map mdp_bus_error_map[];

/* sd_bus_error_add_map() for the table above; safe to call more than once. */
int mdp_bus_errors_register(void);

/* Sets InvalidArgs with a message naming the bad value and what was expected:
 * "Invalid <what> \"<value>\": <expected>." The value is quoted with control characters
 * escaped and cut at 80 bytes, so hostile input cannot forge log or terminal output.
 * Returns -EINVAL (sd-bus handlers can return it directly). */
int mdp_bus_error_invalid_arg(sd_bus_error *error, const char *what, const char *value,
                              const char *expected);

/* Sets the error the backend's failure means (mdp_mdev_error_dbus_name() and its sentence,
 * mdp_mdev_error_message()), optionally prefixed ("Cannot start mdev U: step 2 of 3
 * failed. "). Returns the errno the name maps to, negative. */
int mdp_bus_error_set_mdev(sd_bus_error *error, const struct mdp_mdev_error *e, const char *prefix);

/* The errno an org.mdevpasid1.Error.* name maps to (positive), 0 for names not ours. */
int mdp_bus_error_name_to_errno(const char *name);
