/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The udev monitor on the event loop (IOMMU-SPEC.md §1.2, §7 step 1). It turns uevents
 * into three callbacks and never reads sysfs itself: the manager re-reads the one object
 * an event names, through lib/ and the context root.
 *   - parents: `change` with MDEV_STATE=registered|unregistered on any subsystem, and
 *     `add`/`remove` of any device (older kernels send no MDEV_STATE; mdevctl keeps the same
 *     fallback);
 *   - mdevs: add/bind/unbind/remove/change with SUBSYSTEM=mdev;
 *   - SR-IOV: `change` on a PCI function without MDEV_STATE (a VF link appeared). */

#include <stdbool.h>
#include <systemd/sd-event.h>

enum uevent_kind {
        UEVENT_IGNORE,
        UEVENT_PARENT_REGISTERED,   /* change, MDEV_STATE=registered */
        UEVENT_PARENT_UNREGISTERED, /* change, MDEV_STATE=unregistered */
        UEVENT_DEVICE_ADDED,        /* add of a non-mdev device: maybe a parent (old kernels) */
        UEVENT_DEVICE_REMOVED,      /* remove of a non-mdev device: maybe a parent */
        UEVENT_MDEV,                /* add/bind/unbind/remove/change of an mdev */
        UEVENT_PCI_CHANGE,          /* change on a PCI function: SR-IOV VF links */
};

/* Pure: what an event means. name is the last component of devpath (the parent's name, or
 * the mdev's UUID). */
enum uevent_kind uevent_classify(const char *action, const char *subsystem, const char *devpath,
                                 const char *mdev_state, const char **ret_name);

struct udev_callbacks {
        void (*parent_event)(void *userdata, enum uevent_kind kind, const char *name);
        void (*mdev_event)(void *userdata, const char *action, const char *uuid);
        void (*pci_change)(void *userdata, const char *name, const char *devpath);
};

struct udev_watch;

/* Creates the monitor and starts receiving (events queue until the loop runs), so that
 * nothing is lost between this call and the coldplug scan that follows it. */
int udev_watch_new(sd_event *event, const struct udev_callbacks *cb, void *userdata,
                   struct udev_watch **ret);
struct udev_watch *udev_watch_free(struct udev_watch *w);
/* "udev" or "kernel": which netlink source is used. */
const char *udev_watch_source(const struct udev_watch *w);
