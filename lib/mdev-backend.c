/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Creating and removing mdevs through sysfs (IOMMU-SPEC.md §1.1), with validation first
 * and kernel errors turned into sentences (TESTING.md layer 7 §4.2 lists what a real
 * kernel returns: EEXIST duplicate UUID, EINVAL bad UUID, ENOSPC no capacity). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host-internal.h"
#include "mdev-backend.h"
#include "mdp-names.h"
#include "util/fileio.h"
#include "util/parse.h"
#include "util/uuid.h"

/* Files of an mdev directory that are not device settings: writing them through
 * set_attr would remove, rebind or re-announce the device behind the caller's back. */
static const char *const denied_attrs[] = {
        MDP_ATTR_REMOVE,
        "uevent",
        MDP_LINK_DRIVER,
        "driver_override",
        MDP_LINK_SUBSYSTEM,
        MDP_LINK_MDEV_TYPE,
        MDP_LINK_IOMMU_GROUP,
        "vfio-dev",
        "power",
        "bind",
        "unbind",
        MDP_ATTR_CREATE,
};

/* A sysfs attribute takes at most one page. */
#define ATTR_VALUE_MAX 4095

_public_ bool mdp_mdev_attr_name_is_valid(const char *name)
{
        if (!mdp_sysfs_name_is_valid(name))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(denied_attrs); i++)
                if (streq(name, denied_attrs[i]))
                        return false;
        return true;
}

static int fail(struct mdp_mdev_error *e, int error, enum mdp_mdev_object object, bool invalid)
{
        if (e) {
                e->error = error;
                e->object = object;
                e->invalid = invalid;
        }
        return error;
}

static void error_init(struct mdp_mdev_error *e, enum mdp_mdev_op op, const char *parent,
                       const char *type_id, const char *uuid, const char *attr)
{
        if (!e)
                return;
        *e = (struct mdp_mdev_error){
                .op = op,
                .parent = parent,
                .type_id = type_id,
                .uuid = uuid,
                .attr = attr,
                .available = -1,
        };
}

/* available_instances of an open type directory, -1 when unreadable. */
static int64_t read_available(int tfd)
{
        char buf[64];
        unsigned u;

        if (read_attr(tfd, MDP_ATTR_AVAILABLE_INSTANCES, buf, sizeof(buf)) < 0 || safe_atou(buf, &u) < 0)
                return -1;
        return u;
}

static int open_device(int sfd, const char *uuid)
{
        char rel[128];

        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_MDEV_DEVICES, uuid);
        return openat(sfd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

_public_ int mdp_mdev_create(struct mdp_ctx *ctx, const char *parent, const char *type_id, const char *uuid,
                             struct mdp_mdev_error *ret_error)
{
        struct mdp_mdev_error *e = ret_error;
        _cleanup_close_ int pfd = -1, types_fd = -1, tfd = -1;
        char rel[SYSFS_PATH_MAX];
        struct stat st;
        int sfd, r;

        error_init(e, MDP_MDEV_OP_CREATE, parent, type_id, uuid, NULL);
        if (!mdp_uuid_is_canonical(uuid))
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_DEVICE, true);
        if (!mdp_sysfs_name_is_valid(parent))
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_PARENT, true);
        if (!mdp_sysfs_name_is_valid(type_id))
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_TYPE, true);
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return fail(e, sfd, MDP_MDEV_OBJECT_NONE, false);

        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_MDEV_BUS, parent);
        pfd = openat(sfd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return fail(e, -ENOENT, MDP_MDEV_OBJECT_PARENT, false);
        types_fd = openat(pfd, MDP_SYSFS_SUPPORTED_TYPES, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (types_fd < 0)
                return fail(e, -ENOENT, MDP_MDEV_OBJECT_TYPE, false);
        /* The type must be a directory of mdev_supported_types itself, not a link out of it. */
        if (fstatat(types_fd, type_id, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                return fail(e, -ENOENT, MDP_MDEV_OBJECT_TYPE, false);
        tfd = openat(types_fd, type_id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tfd < 0)
                return fail(e, -ENOENT, MDP_MDEV_OBJECT_TYPE, false);

        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_MDEV_DEVICES, uuid);
        if (faccessat(sfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return fail(e, -EEXIST, MDP_MDEV_OBJECT_DEVICE, false);
        if (read_available(tfd) == 0) {
                if (e)
                        e->available = 0;
                return fail(e, -ENOSPC, MDP_MDEV_OBJECT_TYPE, false);
        }
        if (fstatat(tfd, MDP_ATTR_CREATE, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return fail(e, -ENOENT, MDP_MDEV_OBJECT_TYPE, false);

        mdp_dbg(ctx, "create %s: %s/%s", uuid, parent, type_id);
        r = write_attr(tfd, MDP_ATTR_CREATE, uuid);
        if (r >= 0)
                return 0;
        switch (r) {
        case -EEXIST:
                return fail(e, r, MDP_MDEV_OBJECT_DEVICE, false);
        case -ENOSPC:
                if (e)
                        e->available = read_available(tfd);
                return fail(e, r, MDP_MDEV_OBJECT_TYPE, false);
        case -ENODEV:
                return fail(e, r, MDP_MDEV_OBJECT_PARENT, false);
        case -ENOENT:
                return fail(e, r, MDP_MDEV_OBJECT_TYPE, false);
        default:
                return fail(e, r, MDP_MDEV_OBJECT_NONE, false);
        }
}

_public_ int mdp_mdev_remove(struct mdp_ctx *ctx, const char *uuid, struct mdp_mdev_error *ret_error)
{
        struct mdp_mdev_error *e = ret_error;
        _cleanup_close_ int dfd = -1;
        struct stat st;
        int sfd, r;

        error_init(e, MDP_MDEV_OP_REMOVE, NULL, NULL, uuid, NULL);
        if (!mdp_uuid_is_canonical(uuid))
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_DEVICE, true);
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return fail(e, sfd, MDP_MDEV_OBJECT_NONE, false);
        dfd = open_device(sfd, uuid);
        if (dfd < 0 || fstatat(dfd, MDP_ATTR_REMOVE, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return fail(e, -ENOENT, MDP_MDEV_OBJECT_DEVICE, false);
        /* Blocks while a VFIO user holds the device (TESTING.md layer 7 §4.2). */
        mdp_dbg(ctx, "remove %s", uuid);
        r = write_attr(dfd, MDP_ATTR_REMOVE, "1");
        if (r >= 0)
                return 0;
        return fail(e, r, r == -ENOENT || r == -ENODEV ? MDP_MDEV_OBJECT_DEVICE : MDP_MDEV_OBJECT_NONE,
                    false);
}

_public_ int mdp_mdev_set_attr(struct mdp_ctx *ctx, const char *uuid, const char *attr, const char *value,
                               struct mdp_mdev_error *ret_error)
{
        struct mdp_mdev_error *e = ret_error;
        _cleanup_close_ int dfd = -1;
        struct stat st;
        int sfd, r;

        error_init(e, MDP_MDEV_OP_SET_ATTR, NULL, NULL, uuid, attr);
        if (!mdp_uuid_is_canonical(uuid))
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_DEVICE, true);
        if (!mdp_mdev_attr_name_is_valid(attr))
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE, true);
        if (!value || strlen(value) > ATTR_VALUE_MAX)
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_VALUE, true);
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return fail(e, sfd, MDP_MDEV_OBJECT_NONE, false);
        dfd = open_device(sfd, uuid);
        if (dfd < 0)
                return fail(e, -ENOENT, MDP_MDEV_OBJECT_DEVICE, false);
        if (fstatat(dfd, attr, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return fail(e, -ENOENT, MDP_MDEV_OBJECT_ATTRIBUTE, false);
        if (!S_ISREG(st.st_mode))
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE, true);
        mdp_dbg(ctx, "set %s/%s", uuid, attr);
        r = write_attr(dfd, attr, value);
        if (r >= 0)
                return 0;
        return fail(e, r, r == -EINVAL ? MDP_MDEV_OBJECT_VALUE : MDP_MDEV_OBJECT_NONE, false);
}

static uint64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static bool reached(int sfd, const char *uuid, enum mdp_mdev_op what)
{
        char rel[128];
        bool present;

        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_MDEV_DEVICES, uuid);
        present = faccessat(sfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        switch (what) {
        case MDP_MDEV_OP_WAIT_PRESENT:
                return present;
        case MDP_MDEV_OP_WAIT_BOUND:
                /* The kernel sends add before bind (TESTING.md layer 7 §4.3). */
                (void)path_fmt(rel, sizeof(rel), "%s/%s/%s", MDP_SYSFS_MDEV_DEVICES, uuid, MDP_LINK_DRIVER);
                return present && faccessat(sfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        default:
                return !present;
        }
}

_public_ int mdp_mdev_wait(struct mdp_ctx *ctx, const char *uuid, enum mdp_mdev_op what, unsigned timeout_ms,
                           struct mdp_mdev_error *ret_error)
{
        struct mdp_mdev_error *e = ret_error;
        uint64_t deadline, delay = 1000; /* µs: 1 ms doubling to 50 ms */
        int sfd;

        error_init(e, what, NULL, NULL, uuid, NULL);
        if (e)
                e->timeout_ms = timeout_ms;
        if (what != MDP_MDEV_OP_WAIT_PRESENT && what != MDP_MDEV_OP_WAIT_BOUND &&
            what != MDP_MDEV_OP_WAIT_GONE)
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_NONE, true);
        if (!mdp_uuid_is_canonical(uuid))
                return fail(e, -EINVAL, MDP_MDEV_OBJECT_DEVICE, true);
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return fail(e, sfd, MDP_MDEV_OBJECT_NONE, false);
        /* Microseconds, so that a timeout is never cut short by rounding. */
        deadline = now_us() + (uint64_t)timeout_ms * 1000;
        for (;;) {
                uint64_t now;
                struct timespec ts;

                if (reached(sfd, uuid, what))
                        return 0;
                now = now_us();
                if (now >= deadline)
                        return fail(e, -ETIMEDOUT, MDP_MDEV_OBJECT_DEVICE, false);
                delay = MIN(delay, deadline - now);
                ts = (struct timespec){.tv_sec = (time_t)(delay / 1000000),
                                       .tv_nsec = (long)(delay % 1000000) * 1000};
                (void)nanosleep(&ts, NULL);
                delay = MIN(delay * 2, 50000);
        }
}

static void quoted(struct strbuf *sb, const char *s)
{
        if (s)
                append_quoted(sb, s, 80);
        else
                strbuf_append(sb, "(none)");
}

static void invalid_message(struct strbuf *sb, const struct mdp_mdev_error *e)
{
        switch (e->object) {
        case MDP_MDEV_OBJECT_DEVICE:
                strbuf_append(sb, "Invalid UUID ");
                quoted(sb, e->uuid);
                strbuf_append(
                        sb, ": expected the canonical lowercase form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.");
                break;
        case MDP_MDEV_OBJECT_PARENT:
                strbuf_append(sb, "Invalid parent name ");
                quoted(sb, e->parent);
                strbuf_append(sb, ": a parent is one entry of /sys/class/mdev_bus (no \"/\", not \".\" or "
                                  "\"..\", at most 255 bytes).");
                break;
        case MDP_MDEV_OBJECT_TYPE:
                strbuf_append(sb, "Invalid type name ");
                quoted(sb, e->type_id);
                strbuf_append(sb,
                              ": a type is one entry of the parent's mdev_supported_types (no \"/\", not "
                              "\".\" or \"..\", at most 255 bytes).");
                break;
        case MDP_MDEV_OBJECT_ATTRIBUTE:
                if (mdp_sysfs_name_is_valid(e->attr) && !mdp_mdev_attr_name_is_valid(e->attr)) {
                        strbuf_append(sb, "Attribute ");
                        quoted(sb, e->attr);
                        strbuf_append(sb,
                                      " cannot be set: it is not a device setting (remove, driver binding "
                                      "and events are managed by mdevpasid).");
                } else if (mdp_sysfs_name_is_valid(e->attr)) {
                        strbuf_append(sb, "Attribute ");
                        quoted(sb, e->attr);
                        strbuf_printf(sb, " of mdev %s is not a writable file.", strna(e->uuid));
                } else {
                        strbuf_append(sb, "Invalid attribute name ");
                        quoted(sb, e->attr);
                        strbuf_append(sb,
                                      ": an attribute is one file in the mdev's directory (no \"/\", not "
                                      "\".\" or \"..\", at most 255 bytes).");
                }
                break;
        case MDP_MDEV_OBJECT_VALUE:
                strbuf_printf(sb, "Invalid value for attribute %s: at most %d bytes.", strna(e->attr),
                              ATTR_VALUE_MAX);
                break;
        default:
                strbuf_append(sb, "Invalid request: unknown operation.");
        }
}

_public_ char *mdp_mdev_error_message(const struct mdp_mdev_error *e)
{
        struct strbuf sb = {0};
        int err = -e->error;

        if (e->invalid) {
                invalid_message(&sb, e);
                return strbuf_steal(&sb);
        }
        switch (e->op) {
        case MDP_MDEV_OP_CREATE:
                strbuf_printf(&sb, "Cannot create mdev %s (type %s on parent %s): ", strna(e->uuid),
                              strna(e->type_id), strna(e->parent));
                break;
        case MDP_MDEV_OP_REMOVE:
                strbuf_printf(&sb, "Cannot remove mdev %s: ", strna(e->uuid));
                break;
        case MDP_MDEV_OP_SET_ATTR:
                strbuf_printf(&sb, "Cannot set attribute %s of mdev %s: ", strna(e->attr), strna(e->uuid));
                break;
        case MDP_MDEV_OP_WAIT_PRESENT:
        case MDP_MDEV_OP_WAIT_BOUND:
        case MDP_MDEV_OP_WAIT_GONE:
                if (err == ETIMEDOUT) {
                        strbuf_printf(&sb,
                                      e->op == MDP_MDEV_OP_WAIT_PRESENT
                                              ? "mdev %s did not appear within %u ms. "
                                      : e->op == MDP_MDEV_OP_WAIT_BOUND
                                              ? "mdev %s did not bind to its vendor driver within %u ms. "
                                              : "mdev %s was still present after %u ms. ",
                                      strna(e->uuid), e->timeout_ms);
                        strbuf_append(&sb,
                                      e->op == MDP_MDEV_OP_WAIT_GONE
                                              ? "A VFIO user (a running VM?) may still hold it: stop it."
                                              : "Check the kernel log (dmesg) for the vendor driver's "
                                                "probe error.");
                        return strbuf_steal(&sb);
                }
                strbuf_printf(&sb, "Cannot wait for mdev %s: ", strna(e->uuid));
                break;
        }

        switch (err) {
        case EEXIST:
                strbuf_append(&sb,
                              "an mdev with this UUID already exists. Choose another UUID, or remove the "
                              "existing device first.");
                break;
        case ENOSPC:
                if (e->available >= 0)
                        strbuf_printf(&sb, "type %s has no capacity left (available_instances is %lld). ",
                                      strna(e->type_id), (long long)e->available);
                else
                        strbuf_printf(&sb, "type %s has no capacity left. ", strna(e->type_id));
                strbuf_printf(&sb, "Remove an mdev of parent %s, or choose another type.", strna(e->parent));
                break;
        case ENOENT:
        case ENODEV:
                switch (e->object) {
                case MDP_MDEV_OBJECT_PARENT:
                        strbuf_printf(
                                &sb,
                                "parent %s is not in /sys/class/mdev_bus. Check that its driver is loaded "
                                "(list parents with \"mdevpasidctl parents\").",
                                strna(e->parent));
                        break;
                case MDP_MDEV_OBJECT_TYPE:
                        strbuf_printf(
                                &sb,
                                "parent %s has no type %s. List its types with \"mdevpasidctl types -p "
                                "%s\".",
                                strna(e->parent), strna(e->type_id), strna(e->parent));
                        break;
                case MDP_MDEV_OBJECT_ATTRIBUTE:
                        strbuf_printf(&sb,
                                      "the device has no attribute %s. Check the name against the vendor "
                                      "driver's documentation.",
                                      strna(e->attr));
                        break;
                default:
                        strbuf_printf(&sb,
                                      "no mdev %s exists (already removed?). List mdevs with "
                                      "\"mdevpasidctl list\".",
                                      strna(e->uuid));
                }
                break;
        case EINVAL:
                if (e->op == MDP_MDEV_OP_CREATE)
                        strbuf_append(&sb,
                                      "the kernel rejected the request (invalid argument). Check the UUID "
                                      "and that the vendor driver accepts this type now.");
                else if (e->op == MDP_MDEV_OP_SET_ATTR)
                        strbuf_append(&sb,
                                      "the vendor driver rejected the value (invalid argument). Check the "
                                      "value against the driver's documentation.");
                else
                        strbuf_append(&sb, "the kernel rejected the request (invalid argument).");
                break;
        case EBUSY:
                if (e->op == MDP_MDEV_OP_CREATE)
                        strbuf_append(&sb, "the parent is busy. Retry later.");
                else
                        strbuf_append(&sb,
                                      "the device is busy: a VFIO user (a running VM?) holds it. Stop it "
                                      "and retry.");
                break;
        case EACCES:
        case EPERM:
        case EROFS:
                strbuf_append(&sb, "permission denied. Run as root, or through the mdevpasid daemon.");
                break;
        default:
                strbuf_printf(&sb, "%s.", strerror(err));
        }
        return strbuf_steal(&sb);
}

_public_ const char *mdp_mdev_error_dbus_name(const struct mdp_mdev_error *e)
{
        if (e->invalid)
                return MDP_ERROR_INVALID_ARGS;
        switch (-e->error) {
        case EEXIST:
                return MDP_ERROR_ALREADY_EXISTS;
        case ENOSPC:
                return MDP_ERROR_NO_CAPACITY;
        case EBUSY:
                return MDP_ERROR_BUSY;
        case ETIMEDOUT:
                return MDP_ERROR_TIMEOUT;
        case EACCES:
        case EPERM:
                return MDP_ERROR_NOT_AUTHORIZED;
        case ENOENT:
        case ENODEV:
                switch (e->object) {
                case MDP_MDEV_OBJECT_PARENT:
                        return MDP_ERROR_NO_SUCH_PARENT;
                case MDP_MDEV_OBJECT_TYPE:
                        return MDP_ERROR_NO_SUCH_TYPE;
                case MDP_MDEV_OBJECT_ATTRIBUTE:
                        return MDP_ERROR_INVALID_CONFIG;
                default:
                        return MDP_ERROR_NO_SUCH_DEVICE;
                }
        default:
                return MDP_ERROR_KERNEL;
        }
}
