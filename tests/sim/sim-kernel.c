/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the kernel does on a sysfs store, following the real-kernel captures (TESTING.md
 * layer 7 §4.2, §4.3; tests/fixtures/real-kernel/<variant>/13-, 17-, 19-, 22-, 23-*.txt):
 *
 *   create (mdev_core.c create_store / mdev_device_create):
 *     length 36 or 37 and a valid UUID, else EINVAL; a UUID in use on any parent: EEXIST,
 *     no event; device_add: "add" mdev; the driver's probe takes capacity or fails with
 *     ENOSPC ("remove" mdev follows); the emulated-IOMMU group (kernel/iommu_groups/N,
 *     name vfio-noiommu, type unknown, no reserved regions) and its vfio group device:
 *     "add" vfio (DEVNAME vfio/N); the vfio device: "add" vfio-dev; bound: "bind" DRIVER=.
 *   remove (remove_store): kstrtoul, 0 does nothing; blocks while a VFIO user holds the
 *     device; then "remove" vfio-dev, "remove" vfio, "unbind", "remove" mdev; capacity back.
 *   parent unregister (mdev_unregister_parent): class/mdev_bus link, children removed,
 *     mdev_supported_types removed, "change" MDEV_STATE=unregistered; rmmod of a sample
 *     driver then removes its device. Register is the reverse, "change" MDEV_STATE=registered.
 *
 * Every file a uevent announces exists before the uevent is sent, so a process reacting to
 * the event finds it (TESTING.md §B pitfall 3). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim.h"

static const struct {
        int e;
        const char *name;
} errno_names[] = {
        {EPERM, "EPERM"},   {ENOENT, "ENOENT"}, {EIO, "EIO"},         {ENXIO, "ENXIO"},
        {E2BIG, "E2BIG"},   {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},   {EACCES, "EACCES"},
        {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},   {EEXIST, "EEXIST"},   {ENODEV, "ENODEV"},
        {EINVAL, "EINVAL"}, {ENOSPC, "ENOSPC"}, {EROFS, "EROFS"},     {ERANGE, "ERANGE"},
        {ENOSYS, "ENOSYS"}, {EUSERS, "EUSERS"}, {ETIMEDOUT, "ETIMEDOUT"}, {EALREADY, "EALREADY"},
        {EINTR, "EINTR"},   {ENOTSUP, "ENOTSUP"}, {EPROTO, "EPROTO"}, {ECANCELED, "ECANCELED"},
};

int sim_errno_from_name(const char *name)
{
        char *end;
        long v;

        for (size_t i = 0; i < G_N_ELEMENTS(errno_names); i++)
                if (g_ascii_strcasecmp(name, errno_names[i].name) == 0)
                        return errno_names[i].e;
        v = strtol(name, &end, 10);
        return (*name && !*end && v > 0 && v < 4096) ? (int)v : -1;
}

const char *sim_errno_name(int e)
{
        static char buf[16];
        for (size_t i = 0; i < G_N_ELEMENTS(errno_names); i++)
                if (errno_names[i].e == e)
                        return errno_names[i].name;
        snprintf(buf, sizeof(buf), "E%d", e);
        return buf;
}

/* uuid_is_valid(): 8-4-4-4-12 hex digits, either case. */
bool sim_uuid_valid(const char *str, size_t len)
{
        if (len < 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (str[i] != '-')
                                return false;
                } else if (!g_ascii_isxdigit(str[i])) {
                        return false;
                }
        }
        return true;
}

void sim_fault_free(struct sim_fault *f)
{
        if (!f)
                return;
        g_free(f->match);
        g_free(f);
}

/* The first fault of kind matching (parent, type or uuid), used up by one; NULL if none. */
const struct sim_fault *sim_fault_take(struct sim *s, enum sim_fault_kind kind, const char *parent,
                                       const char *type, const char *uuid)
{
        static struct sim_fault last; /* a copy of the one used, valid until the next call */

        for (guint i = 0; i < s->faults->len; i++) {
                struct sim_fault *f = g_ptr_array_index(s->faults, i);
                g_autofree char *pt = parent && type ? g_strdup_printf("%s/%s", parent, type) : NULL;

                if (f->kind != kind)
                        continue;
                if (f->match && !(parent && strcmp(f->match, parent) == 0) && !(pt && strcmp(f->match, pt) == 0) &&
                    !(uuid && g_ascii_strcasecmp(f->match, uuid) == 0))
                        continue;
                last = *f;
                last.match = NULL;
                if (f->remaining > 0 && --f->remaining == 0)
                        g_ptr_array_remove_index(s->faults, i); /* frees f */
                return &last;
        }
        return NULL;
}

/* ----- vendor attributes the sample drivers add at probe ---------------------------------- */

static void add_vendor_attrs(struct sim *s, struct sim_mdev *m)
{
        const char *drv = m->parent->mdev_driver;
        g_autofree char *rel = NULL, *val = NULL;

        if (strcmp(drv, "mtty") == 0) {
                rel = g_strdup_printf("%s/vendor/sample_mdev_dev", m->devpath);
                val = g_strdup_printf("This is MDEV %s\n", m->uuid);
        } else if (strcmp(drv, "mbochs") == 0 && m->type) {
                rel = g_strdup_printf("%s/vendor/memory", m->devpath);
                val = g_strdup_printf("%ld MB\n", m->type->cost);
        } else if (strcmp(drv, "mdpy") == 0 && m->type) {
                const char *d = m->type->description ? strstr(m->type->description, ", ") : NULL;
                g_autofree char *res = d ? g_strndup(d + 2, strcspn(d + 2, " ")) : g_strdup("640x480");
                rel = g_strdup_printf("%s/vendor/resolution", m->devpath);
                val = g_strdup_printf("%s\n", res);
        }
        if (rel)
                sim_write(s, rel, val, 0444);
}

/* ----- create ---------------------------------------------------------------------------------- */

static void mdev_index(struct sim *s, struct sim_mdev *m)
{
        g_hash_table_insert(s->mdevs, m->uuid, m);
        g_hash_table_insert(s->mdev_by_path, m->devpath, m);
}

static void mdev_device_files(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *f = NULL, *t = NULL;

        sim_mkdir(s, m->devpath);
        f = g_strdup_printf("%s/uevent", m->devpath);
        sim_write(s, f, "", 0644);
        g_free(f);
        f = g_strdup_printf("%s/remove", m->devpath);
        sim_write(s, f, "", 0200);
        g_free(f);
        /* Device settings such as vfio_ap's assign_adapter: a store replaces the value. */
        for (char **a = m->type->mdev_attrs; a && *a; a++) {
                f = g_strdup_printf("%s/%s", m->devpath, *a);
                sim_write(s, f, "", 0644);
                g_free(f);
        }
        f = g_strdup_printf("%s/subsystem", m->devpath);
        sim_link(s, f, "bus/mdev");
        g_free(f);
        f = g_strdup_printf("%s/mdev_type", m->devpath);
        t = g_strdup_printf("%s/mdev_supported_types/%s", m->parent->devpath, m->type->id);
        sim_link(s, f, t);
        g_free(f);
        f = g_strdup_printf("bus/mdev/devices/%s", m->uuid);
        sim_link(s, f, m->devpath);
        g_free(f);
        f = g_strdup_printf("%s/mdev_supported_types/%s/devices/%s", m->parent->devpath, m->type->id, m->uuid);
        sim_link(s, f, m->devpath);
}

static void mdev_device_files_remove(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *f = g_strdup_printf("%s/mdev_supported_types/%s/devices/%s", m->parent->devpath,
                                             m->type_id ? m->type_id : "", m->uuid);
        sim_unlink(s, f);
        g_free(f);
        f = g_strdup_printf("bus/mdev/devices/%s", m->uuid);
        sim_unlink(s, f);
        sim_rm_rf(s, m->devpath);
}

static void group_add(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *g = NULL, *f = NULL, *v = NULL, *val = NULL, *node = NULL;

        m->group = (int)sim_bitmap_lowest_free(&s->groups);
        sim_bitmap_set(&s->groups, (unsigned)m->group, true);
        m->vfio_minor = (int)sim_bitmap_lowest_free(&s->vfio_minors);
        sim_bitmap_set(&s->vfio_minors, (unsigned)m->vfio_minor, true);

        g = g_strdup_printf("kernel/iommu_groups/%d", m->group);
        f = g_strdup_printf("%s/name", g);
        sim_write(s, f, "vfio-noiommu\n", 0444);
        g_free(f);
        f = g_strdup_printf("%s/type", g);
        sim_write(s, f, "unknown\n", 0644);
        g_free(f);
        f = g_strdup_printf("%s/reserved_regions", g);
        sim_write(s, f, "", 0444);
        g_free(f);
        f = g_strdup_printf("%s/devices/%s", g, m->uuid);
        sim_link(s, f, m->devpath);
        g_free(f);
        f = g_strdup_printf("%s/iommu_group", m->devpath);
        sim_link(s, f, g);

        v = g_strdup_printf("devices/virtual/vfio/%d", m->group);
        g_free(f);
        f = g_strdup_printf("%s/dev", v);
        val = g_strdup_printf("%u:%d\n", s->vfio_major, m->vfio_minor);
        sim_write(s, f, val, 0444);
        g_free(f);
        g_free(val);
        f = g_strdup_printf("%s/uevent", v);
        val = g_strdup_printf("MAJOR=%u\nMINOR=%d\nDEVNAME=vfio/%d\n", s->vfio_major, m->vfio_minor, m->group);
        sim_write(s, f, val, 0644);
        g_free(f);
        f = g_strdup_printf("%s/subsystem", v);
        sim_link(s, f, "class/vfio");
        g_free(f);
        f = g_strdup_printf("class/vfio/%d", m->group);
        sim_link(s, f, v);
        node = g_strdup_printf("vfio/%d", m->group);
        sim_dev_node(s, node, s->vfio_major, (unsigned)m->vfio_minor, 0600);
}

static void group_event(struct sim *s, struct sim_mdev *m, const char *action)
{
        g_autofree char *v = g_strdup_printf("devices/virtual/vfio/%d", m->group);
        g_autofree char *dn = g_strdup_printf("DEVNAME=/dev/vfio/%d", m->group);
        g_autofree char *ma = g_strdup_printf("MAJOR=%u", s->vfio_major);
        g_autofree char *mi = g_strdup_printf("MINOR=%d", m->vfio_minor);
        sim_uevent(s, action, v, "vfio", dn, ma, mi, NULL);
}

/* The vfio group device of m's group goes (vfio_device_group_unregister). */
static void vfio_group_remove(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *f = NULL, *node = NULL;

        node = g_strdup_printf("vfio/%d", m->group);
        sim_dev_node_remove(s, node);
        f = g_strdup_printf("class/vfio/%d", m->group);
        sim_unlink(s, f);
        g_free(f);
        f = g_strdup_printf("devices/virtual/vfio/%d", m->group);
        sim_rm_rf(s, f);
        sim_bitmap_set(&s->vfio_minors, (unsigned)m->vfio_minor, false);
}

/* m leaves its IOMMU group; a group without devices is released (iommu_group_remove_device). */
static void group_leave(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *f = g_strdup_printf("%s/iommu_group", m->devpath);
        g_autofree char *g = g_strdup_printf("kernel/iommu_groups/%d", m->group);
        g_autofree char *devs = g_strdup_printf("%s/%s/devices", s->sys, g);
        GDir *d;
        bool empty;

        sim_unlink(s, f);
        g_free(f);
        f = g_strdup_printf("%s/devices/%s", g, m->uuid);
        sim_unlink(s, f);
        d = g_dir_open(devs, 0, NULL);
        empty = !d || !g_dir_read_name(d);
        if (d)
                g_dir_close(d);
        if (empty) {
                sim_rm_rf(s, g);
                sim_bitmap_set(&s->groups, (unsigned)m->group, false);
        }
}

static void vfio_dev_add(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *vd = NULL, *f = NULL, *val = NULL;

        m->vfio_dev = (int)sim_bitmap_lowest_free(&s->vfio_devs);
        sim_bitmap_set(&s->vfio_devs, (unsigned)m->vfio_dev, true);
        vd = g_strdup_printf("%s/vfio-dev/vfio%d", m->devpath, m->vfio_dev);
        f = g_strdup_printf("%s/device", vd);
        sim_link(s, f, m->devpath);
        g_free(f);
        f = g_strdup_printf("%s/subsystem", vd);
        sim_link(s, f, "class/vfio-dev");
        g_free(f);
        f = g_strdup_printf("%s/uevent", vd);
        if (s->vfio_cdev) {
                g_autofree char *d = g_strdup_printf("%s/dev", vd);
                g_autofree char *dv = g_strdup_printf("%u:%d\n", s->vfio_cdev_major, m->vfio_dev);
                g_autofree char *node = g_strdup_printf("vfio/devices/vfio%d", m->vfio_dev);
                sim_write(s, d, dv, 0444);
                val = g_strdup_printf("MAJOR=%u\nMINOR=%d\nDEVNAME=vfio/devices/vfio%d\n", s->vfio_cdev_major,
                                      m->vfio_dev, m->vfio_dev);
                sim_dev_node(s, node, s->vfio_cdev_major, (unsigned)m->vfio_dev, 0600);
        }
        sim_write(s, f, val ? val : "", 0644);
        g_free(f);
        f = g_strdup_printf("class/vfio-dev/vfio%d", m->vfio_dev);
        sim_link(s, f, vd);
}

static void vfio_dev_event(struct sim *s, struct sim_mdev *m, const char *action)
{
        g_autofree char *vd = g_strdup_printf("%s/vfio-dev/vfio%d", m->devpath, m->vfio_dev);

        if (s->vfio_cdev) {
                g_autofree char *dn = g_strdup_printf("DEVNAME=/dev/vfio/devices/vfio%d", m->vfio_dev);
                g_autofree char *ma = g_strdup_printf("MAJOR=%u", s->vfio_cdev_major);
                g_autofree char *mi = g_strdup_printf("MINOR=%d", m->vfio_dev);
                sim_uevent(s, action, vd, "vfio-dev", dn, ma, mi, NULL);
        } else {
                sim_uevent(s, action, vd, "vfio-dev", NULL);
        }
}

static void vfio_dev_remove(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *f = g_strdup_printf("class/vfio-dev/vfio%d", m->vfio_dev);

        sim_unlink(s, f);
        g_free(f);
        f = g_strdup_printf("%s/vfio-dev", m->devpath);
        sim_rm_rf(s, f);
        if (s->vfio_cdev) {
                g_autofree char *node = g_strdup_printf("vfio/devices/vfio%d", m->vfio_dev);
                sim_dev_node_remove(s, node);
        }
        sim_bitmap_set(&s->vfio_devs, (unsigned)m->vfio_dev, false);
}

static void driver_bind(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *f = g_strdup_printf("%s/driver", m->devpath);
        g_autofree char *d = g_strdup_printf("bus/mdev/drivers/%s", m->parent->mdev_driver);
        g_autofree char *ue = g_strdup_printf("DRIVER=%s\n", m->parent->mdev_driver);
        g_autofree char *prop = g_strdup_printf("DRIVER=%s", m->parent->mdev_driver);

        add_vendor_attrs(s, m);
        sim_link(s, f, d);
        g_free(f);
        f = g_strdup_printf("%s/%s", d, m->uuid);
        sim_link(s, f, m->devpath);
        g_free(f);
        f = g_strdup_printf("%s/uevent", m->devpath);
        sim_write(s, f, ue, 0644);
        sim_uevent(s, "bind", m->devpath, "mdev", prop, NULL);
}

static void driver_unbind(struct sim *s, struct sim_mdev *m)
{
        g_autofree char *f = g_strdup_printf("%s/driver", m->devpath);

        sim_unlink(s, f);
        g_free(f);
        f = g_strdup_printf("bus/mdev/drivers/%s/%s", m->parent->mdev_driver, m->uuid);
        sim_unlink(s, f);
        g_free(f);
        f = g_strdup_printf("%s/vendor", m->devpath);
        sim_rm_rf(s, f);
        g_free(f);
        f = g_strdup_printf("%s/uevent", m->devpath);
        sim_write(s, f, "", 0644);
        sim_uevent(s, "unbind", m->devpath, "mdev", NULL);
}

static struct sim_mdev *mdev_new(struct sim_parent *p, struct sim_type *t, const char *uuid)
{
        struct sim_mdev *m = g_new0(struct sim_mdev, 1);

        m->uuid = g_ascii_strdown(uuid, 36);
        m->parent = p;
        m->type = t;
        m->type_id = g_strdup(t->id);
        m->devpath = g_strdup_printf("%s/%s", p->devpath, m->uuid);
        m->group = m->vfio_minor = m->vfio_dev = -1;
        return m;
}

/* mdev_device_create() after the UUID was parsed. Returns 0 or -errno. */
int sim_create(struct sim *s, struct sim_parent *p, struct sim_type *t, const char *uuid)
{
        const struct sim_fault *f;
        struct sim_mdev *m;
        g_autofree char *lower = g_ascii_strdown(uuid, 36);

        if (!p->registered || p->unregistering)
                return -ENODEV; /* mdev_unregister_parent() holds unreg_sem */
        if (g_hash_table_contains(s->mdevs, lower))
                return -EEXIST;
        if ((f = sim_fault_take(s, FAULT_VANISH_BEFORE, p->name, t->id, lower))) {
                sim_parent_unregister(s, p, NULL, NULL);
                return -ENODEV;
        }
        if ((f = sim_fault_take(s, FAULT_FAIL_CREATE, p->name, t->id, lower)))
                return -f->error;
        if (sim_fault_take(s, FAULT_GHOST_CREATE, p->name, t->id, lower))
                return 0; /* accepted, and nothing ever shows up */

        m = mdev_new(p, t, lower);
        mdev_device_files(s, m);
        sim_uevent(s, "add", m->devpath, "mdev", NULL);

        /* the driver's probe: capacity, or the device goes away again (19-error-cases) */
        if (t->pool->total - t->pool->used < t->cost) {
                mdev_device_files_remove(s, m);
                sim_uevent(s, "remove", m->devpath, "mdev", NULL);
                sim_mdev_free(m);
                return -ENOSPC;
        }
        t->pool->used += t->cost;
        sim_pool_update_available(s, p, t->pool);
        mdev_index(s, m);
        sim_parent_add_child(p, m);

        group_add(s, m);
        group_event(s, m, "add");
        vfio_dev_add(s, m);
        vfio_dev_event(s, m, "add");
        driver_bind(s, m);

        if (sim_fault_take(s, FAULT_VANISH_AFTER, p->name, t->id, lower))
                sim_parent_unregister(s, p, NULL, NULL);
        return 0;
}

/* ----- remove ---------------------------------------------------------------------------------- */

static void mdev_do_remove(struct sim *s, struct sim_mdev *m)
{
        g_autoptr(GArray) waiters = g_steal_pointer(&m->waiters);

        sim_parent_types(m->parent); /* resolves m->type: its capacity comes back */
        if (m->vfio_dev >= 0) {
                vfio_dev_remove(s, m);
                vfio_dev_event(s, m, "remove");
        }
        if (m->group >= 0 && m->vfio_minor >= 0) {
                vfio_group_remove(s, m);
                group_event(s, m, "remove");
        }
        if (m->group >= 0)
                group_leave(s, m);
        if (m->type) {
                m->type->pool->used -= m->type->cost;
                sim_pool_update_available(s, m->parent, m->type->pool);
        }
        driver_unbind(s, m);
        mdev_device_files_remove(s, m);
        sim_uevent(s, "remove", m->devpath, "mdev", NULL);

        g_hash_table_remove(s->mdev_by_path, m->devpath);
        g_hash_table_steal(s->mdevs, m->uuid);
        sim_parent_remove_child(m->parent, m);
        sim_mdev_free(m);
        for (guint i = 0; waiters && i < waiters->len; i++) {
                struct sim_waiter *w = &g_array_index(waiters, struct sim_waiter, i);
                if (w->fn)
                        w->fn(s, 0, w->userdata);
        }
}

static void mdev_maybe_finish_remove(struct sim *s, struct sim_mdev *m)
{
        if (m->removing && m->hold == 0 && !m->delay_pending)
                mdev_do_remove(s, m);
}

struct delay_ctx {
        struct sim *s;
        char *uuid;
};

static gboolean delay_done(gpointer data)
{
        struct delay_ctx *d = data;
        struct sim_mdev *m = g_hash_table_lookup(d->s->mdevs, d->uuid);

        if (m) {
                m->delay_source = 0;
                m->delay_pending = false;
                mdev_maybe_finish_remove(d->s, m);
        }
        return G_SOURCE_REMOVE;
}

static void delay_free(gpointer data)
{
        struct delay_ctx *d = data;
        g_free(d->uuid);
        g_free(d);
}

/* Asks for the removal of m; fn runs when it is gone (now, or once released). */
void sim_mdev_remove(struct sim *s, struct sim_mdev *m, sim_done_fn fn, void *userdata)
{
        struct sim_waiter w = {fn, userdata};
        const struct sim_fault *f;

        if (!m->waiters)
                m->waiters = g_array_new(FALSE, FALSE, sizeof(struct sim_waiter));
        g_array_append_val(m->waiters, w);
        if (m->removing)
                return; /* kernfs_remove_self(): later writers wait for the first */
        m->removing = true;
        if ((f = sim_fault_take(s, FAULT_DELAY_REMOVE, m->parent->name, m->type_id, m->uuid)) &&
            f->delay_ms > 0) {
                struct delay_ctx *d = g_new0(struct delay_ctx, 1);
                d->s = s;
                d->uuid = g_strdup(m->uuid);
                m->delay_pending = true;
                m->delay_source = g_timeout_add_full(G_PRIORITY_DEFAULT, (guint)f->delay_ms, delay_done, d,
                                                     delay_free);
        }
        mdev_maybe_finish_remove(s, m);
}

int sim_hold(struct sim *s, const char *uuid, bool on)
{
        g_autofree char *lower = g_ascii_strdown(uuid, -1);
        struct sim_mdev *m = g_hash_table_lookup(s->mdevs, lower);

        if (!m)
                return -ENOENT;
        if (on) {
                m->hold++;
                return 0;
        }
        if (m->hold == 0)
                return -EALREADY;
        m->hold--;
        mdev_maybe_finish_remove(s, m);
        return 0;
}

/* ----- the store dispatcher -------------------------------------------------------------------- */

static int parse_kstrtoul(const char *data, size_t len, unsigned long *ret)
{
        g_autofree char *str = g_strndup(data, len);
        char *end;
        size_t l = strlen(str);

        if (l > 0 && str[l - 1] == '\n') /* kstrtoul accepts one trailing newline */
                str[--l] = '\0';
        if (l == 0 || str[0] == '-' || str[0] == '+' || g_ascii_isspace(str[0]))
                return -EINVAL;
        errno = 0;
        *ret = strtoul(str, &end, 0);
        if (errno || *end)
                return errno == ERANGE ? -ERANGE : -EINVAL;
        return 0;
}

/* A write of data to sysfs file rel (relative, canonical). Returns 1 when the outcome goes to
 * fn (a remove: fn may run before this returns, or much later when the device is released),
 * else 0 with *ret_count set, or -errno. */
int sim_store(struct sim *s, const char *rel, const char *data, size_t len, sim_done_fn fn, void *userdata,
              long *ret_count)
{
        g_autofree char *dir = NULL, *base = NULL, *abs = NULL;
        struct sim_mdev *m;

        if (g_str_has_suffix(rel, " (deleted)"))
                return -ENODEV; /* kernfs_get_active() fails on a removed node */
        dir = g_path_get_dirname(rel);
        base = g_path_get_basename(rel);
        *ret_count = (long)len;

        if (strcmp(base, "create") == 0) {
                g_autofree char *tdir = g_path_get_dirname(dir);   /* .../mdev_supported_types */
                g_autofree char *pdir = g_path_get_dirname(tdir);  /* the parent */
                g_autofree char *tname = g_path_get_basename(dir);
                g_autofree char *tdirname = g_path_get_basename(tdir);
                struct sim_parent *p = g_hash_table_lookup(s->parent_by_path, pdir);
                struct sim_type *t = p && strcmp(tdirname, "mdev_supported_types") == 0 ? sim_parent_type(p, tname)
                                                                                      : NULL;
                if (t) {
                        if (len < 36 || len > 37 || !sim_uuid_valid(data, len))
                                return -EINVAL;
                        return sim_create(s, p, t, data);
                }
        }
        if (strcmp(base, "remove") == 0 && (m = g_hash_table_lookup(s->mdev_by_path, dir))) {
                unsigned long v;
                int r = parse_kstrtoul(data, len, &v);
                if (r < 0)
                        return r;
                if (v == 0)
                        return 0;
                sim_mdev_remove(s, m, fn, userdata); /* fn runs when it is gone: maybe already */
                return 1;
        }

        /* Any other attribute: a store replaces the value (files without write bits were
         * refused at open by the shim; this catches descriptors opened before a chmod). */
        abs = g_build_filename(s->sys, rel, NULL);
        {
                struct stat st;
                if (stat(abs, &st) < 0)
                        return -ENOENT;
                if (!(st.st_mode & 0222))
                        return -EACCES;
        }
        if (g_hash_table_contains(s->pinned, rel))
                return 0; /* garbage pinned by a fault stays */
        {
                g_autofree char *val = g_strndup(data, len);
                int r = sim_write_attr(s, rel, val);
                return r < 0 ? r : 0;
        }
}

/* ----- parents ----------------------------------------------------------------------------------- */

struct unreg_op {
        struct sim_parent *parent;
        int outstanding;
        sim_done_fn fn;
        void *userdata;
};

static void unreg_finish(struct sim *s, struct unreg_op *op)
{
        struct sim_parent *p = op->parent;
        g_autofree char *types = g_strdup_printf("%s/mdev_supported_types", p->devpath);

        sim_rm_rf(s, types);
        p->unregistering = false;
        sim_uevent(s, "change", p->devpath, p->subsystem, "MDEV_STATE=unregistered", NULL);
        if (p->is_virtual) {
                /* rmmod of the sample driver: its device, driver, class and module go */
                g_autofree char *cl = g_strdup_printf("class/%s/%s", p->subsystem, p->name);
                g_autofree char *drv = g_strdup_printf("bus/mdev/drivers/%s", p->mdev_driver);
                g_autofree char *cls = g_strdup_printf("class/%s", p->subsystem);
                g_autofree char *mod = g_strdup_printf("module/%s", p->mdev_driver);
                g_autofree char *vdir = g_path_get_dirname(p->devpath);

                sim_unlink(s, cl);
                sim_rm_rf(s, p->devpath);
                sim_uevent(s, "remove", p->devpath, p->subsystem, NULL);
                sim_rm_rf(s, drv);
                sim_uevent(s, "remove", drv, "drivers", NULL);
                sim_rm_rf(s, cls);
                sim_uevent(s, "remove", cls, "class", NULL);
                sim_uevent(s, "remove", mod, "module", NULL);
                {
                        g_autofree char *vabs = g_build_filename(s->sys, vdir, NULL);
                        (void)rmdir(vabs); /* devices/virtual/<class>, now empty */
                }
        }
        if (op->fn)
                op->fn(s, 0, op->userdata);
        g_free(op);
}

static void unreg_child_done(struct sim *s, int error, void *userdata)
{
        struct unreg_op *op = userdata;
        if (--op->outstanding == 0)
                unreg_finish(s, op);
}

void sim_parent_unregister(struct sim *s, struct sim_parent *p, sim_done_fn fn, void *userdata)
{
        struct unreg_op *op;
        g_autofree char *cl = g_strdup_printf("class/mdev_bus/%s", p->name);
        g_autoptr(GPtrArray) children = NULL;

        if (!p->registered) {
                if (fn)
                        fn(s, p->unregistering ? -EBUSY : -EALREADY, userdata);
                return;
        }
        sim_parent_types(p); /* kept for register: read them before they go */
        p->registered = false;
        p->unregistering = true;
        sim_unlink(s, cl);
        op = g_new0(struct unreg_op, 1);
        op->parent = p;
        op->fn = fn;
        op->userdata = userdata;
        children = g_ptr_array_copy(p->children, NULL, NULL); /* removal edits p->children */
        op->outstanding = (int)children->len + 1;
        for (guint i = 0; i < children->len; i++)
                sim_mdev_remove(s, g_ptr_array_index(children, i), unreg_child_done, op);
        unreg_child_done(s, 0, op);
}

int sim_parent_register(struct sim *s, struct sim_parent *p)
{
        g_autofree char *cl = g_strdup_printf("class/mdev_bus/%s", p->name);

        if (p->registered)
                return -EALREADY;
        if (p->unregistering)
                return -EBUSY;
        if (p->is_virtual && !sim_exists(s, p->devpath)) {
                /* insmod of the sample driver (04-insmod, 23-log-busybox-uevent) */
                g_autofree char *drv = g_strdup_printf("bus/mdev/drivers/%s", p->mdev_driver);
                g_autofree char *cls = g_strdup_printf("class/%s", p->subsystem);
                g_autofree char *cll = g_strdup_printf("class/%s/%s", p->subsystem, p->name);
                g_autofree char *f = NULL;

                sim_mkdir(s, drv);
                f = g_strdup_printf("%s/bind", drv);
                sim_write(s, f, "", 0200);
                g_free(f);
                f = g_strdup_printf("%s/unbind", drv);
                sim_write(s, f, "", 0200);
                g_free(f);
                f = g_strdup_printf("%s/uevent", drv);
                sim_write(s, f, "", 0200);
                sim_uevent(s, "add", drv, "drivers", NULL);
                sim_mkdir(s, cls);
                sim_uevent(s, "add", cls, "class", NULL);
                sim_mkdir(s, p->devpath);
                g_free(f);
                f = g_strdup_printf("%s/uevent", p->devpath);
                sim_write(s, f, "", 0644);
                g_free(f);
                f = g_strdup_printf("%s/subsystem", p->devpath);
                sim_link(s, f, cls);
                sim_link(s, cll, p->devpath);
                sim_uevent(s, "add", p->devpath, p->subsystem, NULL);
        }
        for (guint i = 0; i < sim_parent_types(p)->len; i++) {
                struct sim_type *t = g_ptr_array_index(p->types, i);
                g_autofree char *td = g_strdup_printf("%s/mdev_supported_types/%s", p->devpath, t->id);
                g_autofree char *f = NULL, *val = NULL;

                f = g_strdup_printf("%s/devices", td);
                sim_mkdir(s, f);
                g_free(f);
                if (t->name) {
                        f = g_strdup_printf("%s/name", td);
                        val = g_strdup_printf("%s\n", t->name);
                        sim_write(s, f, val, 0444);
                        g_free(f);
                        g_free(val);
                }
                if (t->description) {
                        f = g_strdup_printf("%s/description", td);
                        val = g_strdup_printf("%s\n", t->description);
                        sim_write(s, f, val, 0444);
                        g_free(f);
                        g_free(val);
                }
                if (t->device_api) {
                        f = g_strdup_printf("%s/device_api", td);
                        val = g_strdup_printf("%s\n", t->device_api);
                        sim_write(s, f, val, 0444);
                        g_free(f);
                        g_free(val);
                }
                f = g_strdup_printf("%s/available_instances", td);
                val = g_strdup_printf("%ld\n", sim_type_available(t));
                sim_write(s, f, val, 0444);
                g_free(f);
                f = g_strdup_printf("%s/create", td);
                sim_write(s, f, "", 0200);
        }
        sim_link(s, cl, p->devpath);
        p->registered = true;
        sim_uevent(s, "change", p->devpath, p->subsystem, "MDEV_STATE=registered", NULL);
        if (p->is_virtual) {
                g_autofree char *mod = g_strdup_printf("module/%s", p->mdev_driver);
                sim_uevent(s, "add", mod, "module", NULL);
        }
        return 0;
}

/* An SR-IOV VF appearing under its PF: the links, then "change" on the PF (sriov_numvfs). */
int sim_sriov_link(struct sim *s, const char *pf, const char *vf)
{
        g_autofree char *pfrel = g_strdup_printf("bus/pci/devices/%s", pf);
        g_autofree char *vfrel = g_strdup_printf("bus/pci/devices/%s", vf);
        g_autofree char *pfpath = sim_canonical(s, pfrel), *vfpath = sim_canonical(s, vfrel);
        g_autofree char *l = NULL;
        int n = 0;

        if (!pfpath || !vfpath)
                return -ENOENT;
        for (;; n++) {
                g_free(l);
                l = g_strdup_printf("%s/virtfn%d", pfpath, n);
                if (!sim_exists(s, l))
                        break;
        }
        sim_link(s, l, vfpath);
        g_free(l);
        l = g_strdup_printf("%s/physfn", vfpath);
        if (!sim_exists(s, l))
                sim_link(s, l, pfpath);
        sim_uevent(s, "change", pfpath, "pci", NULL);
        return 0;
}
