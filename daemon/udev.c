/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libudev.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udev.h"
#include "util/log.h"
#include "util/macro.h"

struct udev_watch {
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *source;
        const char *source_name;
        struct udev_callbacks cb;
        void *userdata;
};

enum uevent_kind uevent_classify(const char *action, const char *subsystem, const char *devpath,
                                 const char *mdev_state, const char **ret_name)
{
        const char *name;

        *ret_name = NULL;
        if (!action || !devpath)
                return UEVENT_IGNORE;
        name = strrchr(devpath, '/');
        name = name ? name + 1 : devpath;
        if (!*name)
                return UEVENT_IGNORE;
        *ret_name = name;
        if (streq_ptr(subsystem, "mdev")) {
                if (streq(action, "add") || streq(action, "remove") || streq(action, "bind") ||
                    streq(action, "unbind") || streq(action, "change") || streq(action, "move"))
                        return UEVENT_MDEV;
                return UEVENT_IGNORE;
        }
        if (streq(action, "change") && mdev_state) {
                if (streq(mdev_state, "registered"))
                        return UEVENT_PARENT_REGISTERED;
                if (streq(mdev_state, "unregistered"))
                        return UEVENT_PARENT_UNREGISTERED;
                return UEVENT_IGNORE;
        }
        if (streq(action, "change") && streq_ptr(subsystem, "pci"))
                return UEVENT_PCI_CHANGE;
        if (streq(action, "add"))
                return UEVENT_DEVICE_ADDED;
        if (streq(action, "remove"))
                return UEVENT_DEVICE_REMOVED;
        return UEVENT_IGNORE;
}

static int on_monitor(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct udev_watch *w = userdata;

        for (;;) {
                struct udev_device *dev = udev_monitor_receive_device(w->monitor);
                const char *action, *subsystem, *devpath, *state, *name;
                enum uevent_kind kind;

                if (!dev)
                        break;
                action = udev_device_get_action(dev);
                subsystem = udev_device_get_subsystem(dev);
                devpath = udev_device_get_devpath(dev);
                state = udev_device_get_property_value(dev, "MDEV_STATE");
                kind = uevent_classify(action, subsystem, devpath, state, &name);
                log_debug("uevent %s %s (%s)%s%s -> %d", strna(action), strna(devpath), strna(subsystem),
                          state ? " MDEV_STATE=" : "", state ? state : "", kind);
                switch (kind) {
                case UEVENT_MDEV:
                        w->cb.mdev_event(w->userdata, action, name);
                        break;
                case UEVENT_PCI_CHANGE:
                        w->cb.pci_change(w->userdata, name, devpath);
                        break;
                case UEVENT_PARENT_REGISTERED:
                case UEVENT_PARENT_UNREGISTERED:
                case UEVENT_DEVICE_ADDED:
                case UEVENT_DEVICE_REMOVED:
                        w->cb.parent_event(w->userdata, kind, name);
                        break;
                case UEVENT_IGNORE:
                        break;
                }
                udev_device_unref(dev);
        }
        return 0;
}

int udev_watch_new(sd_event *event, const struct udev_callbacks *cb, void *userdata, struct udev_watch **ret)
{
        struct udev_watch *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->cb = *cb;
        w->userdata = userdata;
        w->udev = udev_new();
        if (!w->udev) {
                udev_watch_free(w);
                return -ENOMEM;
        }
        /* Processed events when udevd runs; without it (containers, an initramfs, tests) the
         * kernel's own, which libudev would otherwise silently drop. */
        w->source_name = access("/run/udev/control", F_OK) == 0 ? "udev" : "kernel";
        w->monitor = udev_monitor_new_from_netlink(w->udev, w->source_name);
        if (!w->monitor) {
                r = errno > 0 ? -errno : -ENOMEM;
                udev_watch_free(w);
                return r;
        }
        /* Bursts (thousands of creates, or a parent with many mdevs going) must not be lost. */
        (void)udev_monitor_set_receive_buffer_size(w->monitor, 32 * 1024 * 1024);
        r = udev_monitor_enable_receiving(w->monitor);
        if (r < 0) {
                udev_watch_free(w);
                return r;
        }
        r = sd_event_add_io(event, &w->source, udev_monitor_get_fd(w->monitor), EPOLLIN, on_monitor, w);
        if (r < 0) {
                udev_watch_free(w);
                return r;
        }
        (void)sd_event_source_set_description(w->source, "udev-monitor");
        *ret = w;
        return 0;
}

struct udev_watch *udev_watch_free(struct udev_watch *w)
{
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        udev_monitor_unref(w->monitor);
        udev_unref(w->udev);
        free(w);
        return NULL;
}

const char *udev_watch_source(const struct udev_watch *w)
{
        return w ? w->source_name : "none";
}
