/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who holds an mdev: the processes with its VFIO group node (/dev/vfio/N) or device cdev
 * (/dev/vfio/devices/vfioX) open. The kernel's remove blocks while such a holder exists
 * (TESTING.md layer 7 §4.2), so the daemon names it in its Busy error. Reads
 * the fd links in /proc/<pid>/fd through the context (MDEVPASID_ROOT), comparing link targets as text. */

#include <stddef.h>
#include <sys/types.h>

#include "ctx.h"

struct mdp_vfio_holder {
        pid_t pid;
        char comm[32];  /* /proc/<pid>/comm, "" when unreadable */
        char guest[64]; /* QEMU's "-name guest=X" (or "-name X"), "" when not QEMU or absent */
        char node[64];  /* the node it holds: "/dev/vfio/4" */
};

/* nodes: host paths as the kernel shows them in /proc/<pid>/fd ("/dev/vfio/4"), n_nodes of
 * them. Returns 0 and a malloc'd array sorted by pid (possibly empty, *ret NULL), -ENOENT
 * when the proc file system cannot be read, -ENOMEM. Processes that vanish or whose fds
 * are not readable are skipped. */
int mdp_vfio_holders_find(struct mdp_ctx *ctx, const char *const *nodes, size_t n_nodes,
                          struct mdp_vfio_holder **ret, size_t *ret_n);

/* "pid 1234 (qemu-system-x86, guest vm1) holds /dev/vfio/4", several joined with "; ".
 * malloc'd; NULL only when out of memory. */
char *mdp_vfio_holders_describe(const struct mdp_vfio_holder *h, size_t n);
