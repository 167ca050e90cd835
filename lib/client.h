/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* D-Bus client helpers shared by mdevpasidctl and the libvirt hook: one way to reach the
 * system bus (DBUS_SYSTEM_BUS_ADDRESS honoured, so tests and the demo use a private bus),
 * to tell whether mdevpasidd runs, to call it with a bounded wait, and to turn its error
 * names into sentences that name the object and the fix (never an errno number). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "util/macro.h"

struct mdp_ctx;

/* Default waits: a read answers from the daemon's model; a mutation may wait for the kernel
 * (the daemon's own start/stop timeouts are 10 s by default, DESIGN.md §3). */
#define MDP_CLIENT_TIMEOUT_READ_USEC   (10 * 1000000ULL)
#define MDP_CLIENT_TIMEOUT_CHANGE_USEC (90 * 1000000ULL)

/* How to start the daemon, for messages. */
#define MDP_CLIENT_START_HINT "start it with \"systemctl start mdevpasidd\" (or run mdevpasidd as root)"

enum mdp_client_daemon {
        MDP_CLIENT_NO_BUS,      /* the system bus cannot be reached */
        MDP_CLIENT_ABSENT,      /* bus reachable, org.mdevpasid1 neither owned nor activatable */
        MDP_CLIENT_ACTIVATABLE, /* not running, but a call would start it (D-Bus activation) */
        MDP_CLIENT_RUNNING,
};

/* Opens the system bus (sd_bus_open_system(): DBUS_SYSTEM_BUS_ADDRESS, else the standard
 * socket) and registers the org.mdevpasid1.Error.* map. Negative errno, nothing logged. */
int mdp_client_open(sd_bus **ret);

/* Where the daemon stands. bus may be NULL (MDP_CLIENT_NO_BUS). Never fails: a question
 * the bus does not answer counts as ABSENT. */
enum mdp_client_daemon mdp_client_daemon_state(sd_bus *bus);
/* Where the daemon stands as far as can be told without the bus: nothing is loaded, no
 * message sent, so a read can skip loading libsystemd (mdevpasidctl, cli/sd-dlopen.c) when
 * the daemon certainly cannot answer. MDP_CLIENT_NO_BUS: the bus address
 * (DBUS_SYSTEM_BUS_ADDRESS, else sd-bus's default) is one plain unix:path= socket that does
 * not exist. MDP_CLIENT_ABSENT: nobody holds the lock mdevpasidd keeps on
 * <runtime dir>/mdevpasidd.lock while it runs (the runtime dir of ctx: MDEVPASID_ROOT
 * applies, as for the daemon), or the file does not exist; an activatable daemon counts as
 * absent, as for reads. -EAGAIN: only the bus can tell (the lock is held, the address is
 * something else, or a check failed otherwise). */
int mdp_client_daemon_state_offline(const struct mdp_ctx *ctx);
/* The sentence for a daemon that cannot be used (NO_BUS/ABSENT), with the fix; static. */
const char *mdp_client_daemon_state_message(enum mdp_client_daemon state);

/* sd_bus_call_method() on org.mdevpasid1 with a timeout (0: the read default).
 * interface NULL means org.mdevpasid1.Manager, path NULL the root object. */
int mdp_client_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                    uint64_t timeout_usec, sd_bus_error *error, sd_bus_message **reply, const char *types,
                    ...);
/* Builds the call for arguments that sd_bus_message_append() cannot take in one go;
 * mdp_client_send() then sends it with the timeout. */
int mdp_client_new_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                        sd_bus_message **ret);
int mdp_client_send(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, sd_bus_error *error,
                    sd_bus_message **reply);

/* The sentence for a failed call: the daemon's own message for org.mdevpasid1.Error.*
 * (it names the object) with the fix for that kind of error when the message lacks one;
 * for bus errors (no daemon, no answer, denied by policy) what happened and what to do.
 * r is the call's return value (used only when error is not set). what ("define mdev
 * 4b20...") starts the sentence. Returns a malloc'd string (NULL on OOM). */
char *mdp_client_error_message(const sd_bus_error *error, int r, const char *what);

/* The fix for an error name ("run as root, or ..."), NULL when there is nothing to add. */
const char *mdp_client_error_hint(const char *name);

/* The object path of a parent, device or VM: MDP_OBJECT_* + sd_bus_path_encode(). */
int mdp_client_object_path(const char *prefix, const char *id, char **ret);
