/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The testbed tree: file helpers relative to <testbed>/sys, links computed the way kernfs
 * computes them, and loading a captured or generated sysfs into the model (completing what a
 * capture leaves out but a real kernel has: subsystem links, class links, /dev nodes). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"

char *sim_path(struct sim *s, const char *fmt, ...)
{
        va_list ap;
        g_autofree char *rel = NULL;

        va_start(ap, fmt);
        rel = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        return g_build_filename(s->sys, rel, NULL);
}

static int mkdir_parents(const char *path)
{
        g_autofree char *dir = g_path_get_dirname(path);
        return g_mkdir_with_parents(dir, 0755) < 0 ? -errno : 0;
}

int sim_write(struct sim *s, const char *rel, const char *content, unsigned mode)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        size_t len = strlen(content);
        int fd, r = 0;

        if (mkdir_parents(p) < 0)
                return -errno;
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        if (write(fd, content, len) != (ssize_t)len)
                r = -EIO;
        if (mode)
                (void)fchmod(fd, mode);
        close(fd);
        return r;
}

int sim_write_attr(struct sim *s, const char *rel, const char *content)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        int fd;
        ssize_t n;

        if (g_hash_table_contains(s->pinned, rel))
                return 0; /* a fault put garbage here; keep it */
        fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = write(fd, content, strlen(content));
        close(fd);
        return n < 0 ? -errno : 0;
}

char *sim_read(struct sim *s, const char *rel)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        char *c = NULL;

        if (!g_file_get_contents(p, &c, NULL, NULL))
                return NULL;
        return c;
}

int sim_mkdir(struct sim *s, const char *rel)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        return g_mkdir_with_parents(p, 0755) < 0 ? -errno : 0;
}

bool sim_exists(struct sim *s, const char *rel)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        struct stat st;
        return lstat(p, &st) == 0;
}

/* The relative target kernfs writes for a link in link_dir to target (both relative to the
 * sysfs root, canonical): up to the deepest ancestor of link_dir that is also an ancestor of
 * target's parent, then down. "vfio-dev/vfio1/device" therefore reads "../../../<uuid>". */
char *sim_kernfs_relpath(const char *link_dir, const char *target)
{
        g_auto(GStrv) a = g_strsplit(link_dir, "/", -1);
        g_auto(GStrv) b = g_strsplit(target, "/", -1);
        guint na = g_strv_length(a), nb = g_strv_length(b), common = 0;
        GString *out = g_string_new(NULL);

        while (common < na && common + 1 < nb && strcmp(a[common], b[common]) == 0)
                common++;
        for (guint i = common; i < na; i++)
                g_string_append(out, "../");
        for (guint i = common; i < nb; i++) {
                g_string_append(out, b[i]);
                if (i + 1 < nb)
                        g_string_append_c(out, '/');
        }
        return g_string_free(out, FALSE);
}

int sim_link(struct sim *s, const char *link_rel, const char *target_rel)
{
        g_autofree char *p = g_build_filename(s->sys, link_rel, NULL);
        g_autofree char *dir = g_path_get_dirname(link_rel);
        g_autofree char *target = sim_kernfs_relpath(strcmp(dir, ".") == 0 ? "" : dir, target_rel);

        if (mkdir_parents(p) < 0)
                return -errno;
        if (symlink(target, p) < 0)
                return -errno;
        return 0;
}

int sim_unlink(struct sim *s, const char *rel)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        return unlink(p) < 0 ? -errno : 0;
}

static int rm_rf_at(int at, const char *name)
{
        struct stat st;
        int fd;
        DIR *d;
        struct dirent *de;

        if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(at, name, 0) < 0 ? -errno : 0;
        fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        rm_rf_at(dirfd(d), de->d_name);
        closedir(d);
        return unlinkat(at, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int sim_rm_rf(struct sim *s, const char *rel)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        return rm_rf_at(AT_FDCWD, p);
}

char *sim_canonical(struct sim *s, const char *rel)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        char real[PATH_MAX];
        size_t l = strlen(s->sys);

        if (!realpath(p, real))
                return NULL;
        if (strncmp(real, s->sys, l) != 0 || real[l] != '/')
                return NULL; /* points out of sysfs */
        return g_strdup(real + l + 1);
}

char *sim_link_basename(struct sim *s, const char *rel)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        g_autofree char *t = g_file_read_link(p, NULL);
        return t ? g_path_get_basename(t) : NULL;
}

void sim_bitmap_set(struct sim_bitmap *b, unsigned i, bool on)
{
        guint8 zero = 0;

        if (!b->bits)
                b->bits = g_byte_array_new();
        while (b->bits->len <= i)
                g_byte_array_append(b->bits, &zero, 1);
        b->bits->data[i] = on;
}

bool sim_bitmap_test(struct sim_bitmap *b, unsigned i)
{
        return b->bits && i < b->bits->len && b->bits->data[i];
}

unsigned sim_bitmap_lowest_free(struct sim_bitmap *b)
{
        unsigned i = 0;
        while (sim_bitmap_test(b, i))
                i++;
        return i;
}

long sim_type_available(struct sim_type *t)
{
        long free_units = t->pool->total - t->pool->used;
        return free_units <= 0 || t->cost <= 0 ? 0 : free_units / t->cost;
}

void sim_type_update_available(struct sim *s, struct sim_type *t)
{
        g_autofree char *rel = NULL, *val = NULL;

        if (!t->parent->registered && !t->parent->unregistering)
                return;
        rel = g_strdup_printf("%s/mdev_supported_types/%s/available_instances", t->parent->devpath, t->id);
        val = g_strdup_printf("%ld\n", sim_type_available(t));
        sim_write_attr(s, rel, val);
}

void sim_pool_update_available(struct sim *s, struct sim_parent *p, struct sim_pool *pool)
{
        GPtrArray *types = sim_parent_types(p);
        for (guint i = 0; i < types->len; i++) {
                struct sim_type *t = g_ptr_array_index(types, i);
                if (t->pool == pool)
                        sim_type_update_available(s, t);
        }
}

struct sim_type *sim_parent_type(struct sim_parent *p, const char *id)
{
        GPtrArray *types = sim_parent_types(p);
        for (guint i = 0; i < types->len; i++) {
                struct sim_type *t = g_ptr_array_index(types, i);
                if (strcmp(t->id, id) == 0)
                        return t;
        }
        return NULL;
}

void sim_parent_add_child(struct sim_parent *p, struct sim_mdev *m)
{
        g_ptr_array_add(p->children, m);
}

void sim_parent_remove_child(struct sim_parent *p, struct sim_mdev *m)
{
        g_ptr_array_remove_fast(p->children, m);
}

char *sim_resolve_link(struct sim *s, const char *rel)
{
        g_autofree char *p = g_build_filename(s->sys, rel, NULL);
        g_autofree char *t = g_file_read_link(p, NULL);
        g_autofree char *dir = NULL, *joined = NULL;
        g_auto(GStrv) parts = NULL;
        GPtrArray *out;
        char *r;

        if (!t)
                return NULL;
        if (t[0] == '/')
                return sim_canonical(s, rel);
        dir = g_path_get_dirname(rel);
        joined = g_strdup_printf("%s/%s", dir, t);
        parts = g_strsplit(joined, "/", -1);
        out = g_ptr_array_new();
        for (guint i = 0; parts[i]; i++) {
                if (!*parts[i] || strcmp(parts[i], ".") == 0)
                        continue;
                if (strcmp(parts[i], "..") == 0) {
                        if (out->len == 0) {
                                g_ptr_array_free(out, TRUE);
                                return NULL; /* points out of sysfs */
                        }
                        g_ptr_array_set_size(out, out->len - 1);
                        continue;
                }
                g_ptr_array_add(out, parts[i]);
        }
        g_ptr_array_add(out, NULL);
        r = g_strjoinv("/", (char **)out->pdata);
        g_ptr_array_free(out, TRUE);
        return r;
}

static void type_free(gpointer data)
{
        struct sim_type *t = data;
        g_free(t->id);
        g_free(t->name);
        g_free(t->description);
        g_strfreev(t->mdev_attrs);
        g_free(t->device_api);
        g_free(t);
}

void sim_parent_free(struct sim_parent *p)
{
        if (!p)
                return;
        g_free(p->name);
        g_free(p->devpath);
        g_free(p->subsystem);
        g_free(p->mdev_driver);
        g_ptr_array_unref(p->types);
        g_ptr_array_unref(p->children);
        g_free(p);
}

void sim_mdev_free(struct sim_mdev *m)
{
        if (!m)
                return;
        if (m->delay_source)
                g_source_remove(m->delay_source);
        g_free(m->uuid);
        g_free(m->devpath);
        g_free(m->type_id);
        if (m->waiters)
                g_array_unref(m->waiters);
        g_free(m);
}

static char *read_trimmed(struct sim *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static char *read_trimmed(struct sim *s, const char *fmt, ...)
{
        va_list ap;
        g_autofree char *rel = NULL;
        char *c;

        va_start(ap, fmt);
        rel = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        c = sim_read(s, rel);
        if (c)
                g_strchomp(c);
        return c;
}

static bool is_bdf(const char *name)
{
        unsigned a, b, c, d;
        char tail;
        return sscanf(name, "%4x:%2x:%2x.%1x%c", &a, &b, &c, &d, &tail) == 4 && strlen(name) == 12;
}

static bool is_sample_driver(const char *d)
{
        return d && (strcmp(d, "mtty") == 0 || strcmp(d, "mdpy") == 0 || strcmp(d, "mbochs") == 0);
}

/* What a type costs from its parent's shared pool (sample drivers only). */
static long sample_type_cost(const char *driver, struct sim_type *t)
{
        long v;

        if (strcmp(driver, "mtty") == 0 && sscanf(t->id, "mtty-%ld", &v) == 1 && v > 0)
                return v;
        if (strcmp(driver, "mbochs") == 0) {
                if (t->description && sscanf(t->description, "virtual display, %ld MB", &v) == 1 && v > 0)
                        return v;
                if (g_str_has_suffix(t->id, "-small"))
                        return 4;
                if (g_str_has_suffix(t->id, "-medium"))
                        return 16;
                if (g_str_has_suffix(t->id, "-large"))
                        return 64;
        }
        return 1;
}


/* The mdev driver the children of p bind to: a driver directory named after a virtual parent
 * (mtty), else one named after the parent's own driver, else the only one there is, else
 * the parent's driver or name. A live child's driver link overrides this (load_mdevs). */
static char *guess_mdev_driver(struct sim *s, struct sim_parent *p)
{
        g_autofree char *drivers = sim_path(s, "bus/mdev/drivers");
        g_autofree char *plink = g_strdup_printf("%s/driver", p->devpath);
        g_autofree char *pdrv = sim_link_basename(s, plink);
        g_autofree char *only = NULL;
        GDir *d;
        const char *e;
        int n = 0;

        if (p->is_virtual) {
                g_autofree char *rel = g_strdup_printf("bus/mdev/drivers/%s", p->name);
                if (sim_exists(s, rel))
                        return g_strdup(p->name);
        }
        if (pdrv) {
                g_autofree char *rel = g_strdup_printf("bus/mdev/drivers/%s", pdrv);
                if (sim_exists(s, rel))
                        return g_steal_pointer(&pdrv);
        }
        d = g_dir_open(drivers, 0, NULL);
        if (d) {
                while ((e = g_dir_read_name(d))) {
                        n++;
                        g_free(only);
                        only = g_strdup(e);
                }
                g_dir_close(d);
                if (n == 1)
                        return g_steal_pointer(&only);
        }
        if (pdrv)
                return g_steal_pointer(&pdrv);
        return g_strdup(p->is_virtual ? p->name : "vfio_mdev");
}

static gint type_cmp(gconstpointer a, gconstpointer b)
{
        const struct sim_type *x = *(struct sim_type *const *)a, *y = *(struct sim_type *const *)b;
        return strcmp(x->id, y->id);
}

/* The parent's types from the tree, their live mdevs, and the pools (see struct sim_pool). */
static void load_types(struct sim *s, struct sim_parent *p)
{
        g_autofree char *dir = sim_path(s, "%s/mdev_supported_types", p->devpath);
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *e;
        long free_units = 0, used = 0;

        while (d && (e = g_dir_read_name(d))) {
                struct sim_type *t = g_new0(struct sim_type, 1);
                g_autofree char *avail = NULL;

                t->parent = p;
                t->id = g_strdup(e);
                t->name = read_trimmed(s, "%s/mdev_supported_types/%s/name", p->devpath, e);
                t->description = read_trimmed(s, "%s/mdev_supported_types/%s/description", p->devpath, e);
                t->device_api = read_trimmed(s, "%s/mdev_supported_types/%s/device_api", p->devpath, e);
                avail = read_trimmed(s, "%s/mdev_supported_types/%s/available_instances", p->devpath, e);
                t->own_pool.total = avail ? MAX(strtol(avail, NULL, 10), 0) : 0; /* the free part */
                t->cost = 1;
                t->pool = &t->own_pool;
                g_ptr_array_add(p->types, t);
        }
        if (d)
                g_dir_close(d);
        g_ptr_array_sort(p->types, type_cmp); /* like ls: stable event and listing order */
        for (guint i = 0; i < p->children->len; i++) {
                struct sim_mdev *m = g_ptr_array_index(p->children, i);
                m->type = m->type_id ? sim_parent_type(p, m->type_id) : NULL;
                if (m->type)
                        m->type->own_pool.used++;
        }
        if (!is_sample_driver(p->mdev_driver)) {
                for (guint i = 0; i < p->types->len; i++) {
                        struct sim_type *t = g_ptr_array_index(p->types, i);
                        t->own_pool.total += t->own_pool.used; /* free + live = capacity */
                }
                return;
        }
        /* Sample drivers: one pool. Free units are the most any type can still show; the
         * live devices' cost is added back. */
        p->shared_pool = true;
        for (guint i = 0; i < p->types->len; i++) {
                struct sim_type *t = g_ptr_array_index(p->types, i);
                t->cost = sample_type_cost(p->mdev_driver, t);
                free_units = MAX(free_units, t->own_pool.total * t->cost);
                used += t->own_pool.used * t->cost;
                t->pool = &p->pool;
        }
        p->pool.used = used;
        p->pool.total = free_units + used;
}

GPtrArray *sim_parent_types(struct sim_parent *p)
{
        if (!p->types_loaded) {
                p->types_loaded = true; /* before: load_types() looks types up */
                load_types(p->sim, p);
        }
        return p->types;
}

static void load_parents(struct sim *s)
{
        g_autofree char *dir = sim_path(s, "class/mdev_bus");
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *e;

        if (!d)
                return;
        while ((e = g_dir_read_name(d))) {
                g_autofree char *rel = g_strdup_printf("class/mdev_bus/%s", e);
                g_autofree char *devpath = sim_resolve_link(s, rel);
                g_auto(GStrv) parts = NULL;
                struct sim_parent *p;

                if (!devpath || !sim_exists(s, devpath)) {
                        g_warning("class/mdev_bus/%s does not resolve inside the tree; ignored", e);
                        continue;
                }
                p = g_new0(struct sim_parent, 1);
                p->sim = s;
                p->name = g_strdup(e);
                p->devpath = g_steal_pointer(&devpath);
                p->types = g_ptr_array_new_with_free_func(type_free);
                p->children = g_ptr_array_new();
                p->registered = true;
                parts = g_strsplit(p->devpath, "/", -1);
                if (g_strv_length(parts) == 4 && strcmp(parts[0], "devices") == 0 &&
                    strcmp(parts[1], "virtual") == 0) {
                        p->is_virtual = true; /* a driver's own device: /devices/virtual/<class>/<name> */
                        p->subsystem = g_strdup(parts[2]);
                } else if (is_bdf(e)) {
                        p->subsystem = g_strdup("pci");
                } else {
                        g_autofree char *l = g_strdup_printf("%s/subsystem", p->devpath);
                        p->subsystem = sim_link_basename(s, l);
                        if (!p->subsystem)
                                p->subsystem = g_strdup("platform");
                }
                p->mdev_driver = guess_mdev_driver(s, p);
                g_hash_table_insert(s->parents, p->name, p);
                g_hash_table_insert(s->parent_by_path, p->devpath, p);
        }
        g_dir_close(d);
}

static int read_dev(struct sim *s, const char *rel, unsigned *major, unsigned *minor)
{
        g_autofree char *c = sim_read(s, rel);
        return c && sscanf(c, "%u:%u", major, minor) == 2 ? 0 : -EINVAL;
}

/* vfio-dev/vfioN of a device directory: N, or -1. */
static int find_vfio_dev(struct sim *s, const char *devpath)
{
        g_autofree char *dir = sim_path(s, "%s/vfio-dev", devpath);
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *e;
        int n = -1;

        if (!d)
                return -1;
        while ((e = g_dir_read_name(d)))
                if (sscanf(e, "vfio%d", &n) == 1)
                        break;
        g_dir_close(d);
        return n;
}

static void load_mdevs(struct sim *s)
{
        g_autofree char *dir = sim_path(s, "bus/mdev/devices");
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *e;

        if (!d)
                return;
        while ((e = g_dir_read_name(d))) {
                g_autofree char *rel = g_strdup_printf("bus/mdev/devices/%s", e);
                g_autofree char *devpath = sim_resolve_link(s, rel);
                g_autofree char *pdir = NULL, *tlink = NULL, *glink = NULL, *gid = NULL;
                struct sim_parent *p;
                struct sim_mdev *m;
                unsigned maj, min;

                if (!devpath)
                        continue;
                pdir = g_path_get_dirname(devpath);
                p = g_hash_table_lookup(s->parent_by_path, pdir);
                if (!p) {
                        g_warning("mdev %s: its parent %s is not in class/mdev_bus; left alone", e, pdir);
                        continue;
                }
                m = g_new0(struct sim_mdev, 1);
                m->uuid = g_ascii_strdown(e, -1);
                m->devpath = g_steal_pointer(&devpath);
                m->parent = p;
                m->group = m->vfio_minor = m->vfio_dev = -1;
                tlink = g_strdup_printf("%s/mdev_type", m->devpath);
                m->type_id = sim_link_basename(s, tlink);
                if (p->children->len == 0) {
                        /* the driver a live child is bound to is the one new children get */
                        g_autofree char *dlink = g_strdup_printf("%s/driver", m->devpath);
                        g_autofree char *drv = sim_link_basename(s, dlink);
                        if (drv) {
                                g_free(p->mdev_driver);
                                p->mdev_driver = g_steal_pointer(&drv);
                        }
                }
                glink = g_strdup_printf("%s/iommu_group", m->devpath);
                gid = sim_link_basename(s, glink);
                if (gid) {
                        g_autofree char *vrel = NULL;
                        m->group = atoi(gid);
                        vrel = g_strdup_printf("devices/virtual/vfio/%d/dev", m->group);
                        if (read_dev(s, vrel, &maj, &min) == 0)
                                m->vfio_minor = (int)min;
                }
                m->vfio_dev = find_vfio_dev(s, m->devpath);
                if (m->vfio_dev >= 0)
                        sim_bitmap_set(&s->vfio_devs, (unsigned)m->vfio_dev, true);
                g_hash_table_insert(s->mdevs, m->uuid, m);
                g_hash_table_insert(s->mdev_by_path, m->devpath, m);
                sim_parent_add_child(p, m);
        }
        g_dir_close(d);
}

/* IOMMU groups, vfio group minors and vfio-dev indexes already taken, and the char majors. */
static void load_resources(struct sim *s)
{
        g_autofree char *groups = sim_path(s, "kernel/iommu_groups");
        g_autofree char *vfio = sim_path(s, "class/vfio");
        g_autofree char *pci = sim_path(s, "bus/pci/devices");
        GDir *d;
        const char *e;
        bool have_major = false;

        if ((d = g_dir_open(groups, 0, NULL))) {
                while ((e = g_dir_read_name(d)))
                        if (g_ascii_isdigit(e[0]))
                                sim_bitmap_set(&s->groups, (unsigned)atoi(e), true);
                g_dir_close(d);
        }
        if ((d = g_dir_open(vfio, 0, NULL))) {
                while ((e = g_dir_read_name(d))) {
                        g_autofree char *rel = g_strdup_printf("class/vfio/%s/dev", e);
                        unsigned maj, min;
                        if (read_dev(s, rel, &maj, &min) == 0) {
                                sim_bitmap_set(&s->vfio_minors, min, true);
                                if (!have_major)
                                        s->vfio_major = maj;
                                have_major = true;
                        }
                }
                g_dir_close(d);
        }
        if (!have_major)
                s->vfio_major = 245; /* what 6.12 shows; any dynamic major would do */
        if ((d = g_dir_open(pci, 0, NULL))) {
                while ((e = g_dir_read_name(d))) {
                        g_autofree char *rel = g_strdup_printf("bus/pci/devices/%s", e);
                        g_autofree char *devpath = sim_canonical(s, rel);
                        int n = devpath ? find_vfio_dev(s, devpath) : -1;
                        if (n >= 0)
                                sim_bitmap_set(&s->vfio_devs, (unsigned)n, true);
                }
                g_dir_close(d);
        }
        /* IOMMUFD kernels (VFIO_DEVICE_CDEV): vfio-dev/vfioN carries a char device. */
        {
                GHashTableIter it;
                gpointer v;
                g_hash_table_iter_init(&it, s->mdevs);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        struct sim_mdev *m = v;
                        g_autofree char *rel = NULL;
                        unsigned maj, min;
                        if (m->vfio_dev < 0)
                                continue;
                        rel = g_strdup_printf("%s/vfio-dev/vfio%d/dev", m->devpath, m->vfio_dev);
                        if (read_dev(s, rel, &maj, &min) == 0) {
                                s->vfio_cdev = true;
                                s->vfio_cdev_major = maj;
                                break;
                        }
                }
        }
}

/* The sample drivers' pools are shared by all types: set them up now (three parents). */
static void setup_pools(struct sim *s)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, s->parents);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (is_sample_driver(((struct sim_parent *)v)->mdev_driver))
                        sim_parent_types(v);
}

/* ----- completing a capture ------------------------------------------------------------- */

static void link_if_missing(struct sim *s, const char *link_rel, const char *target_rel)
{
        if (!sim_exists(s, link_rel))
                sim_link(s, link_rel, target_rel);
}

static void write_if_missing(struct sim *s, const char *rel, const char *content, unsigned mode)
{
        if (!sim_exists(s, rel))
                sim_write(s, rel, content, mode);
}

/* <root>/dev/<node> as umockdev emulates a char device: a regular file, with its numbers in
 * dev/.node/<node with / as _> (what the preload's stat() reports as st_rdev). */
int sim_dev_node(struct sim *s, const char *node, unsigned major, unsigned minor, unsigned mode)
{
        g_autofree char *p = g_build_filename(s->root, "dev", node, NULL);
        g_autofree char *dir = g_path_get_dirname(p);
        g_autofree char *flat = g_strdelimit(g_strdup(node), "/", '_');
        g_autofree char *np = g_build_filename(s->root, "dev", ".node", flat, NULL);
        g_autofree char *ndir = g_path_get_dirname(np);
        g_autofree char *nums = g_strdup_printf("%u:%u", major, minor);
        int fd;

        g_mkdir_with_parents(dir, 0755);
        g_mkdir_with_parents(ndir, 0755);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        (void)fchmod(fd, mode);
        close(fd);
        unlink(np);
        return symlink(nums, np) < 0 ? -errno : 0;
}

void sim_dev_node_remove(struct sim *s, const char *node)
{
        g_autofree char *p = g_build_filename(s->root, "dev", node, NULL);
        g_autofree char *flat = g_strdelimit(g_strdup(node), "/", '_');
        g_autofree char *np = g_build_filename(s->root, "dev", ".node", flat, NULL);

        unlink(p);
        unlink(np);
}

static void complete_pci(struct sim *s)
{
        g_autofree char *pci = sim_path(s, "bus/pci/devices");
        GDir *d = g_dir_open(pci, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *e;

        if (!d)
                return;
        while ((e = g_dir_read_name(d)))
                g_ptr_array_add(names, g_strdup(e));
        g_dir_close(d);
        for (guint i = 1; i < names->len; i++) /* ascending BDF, as the PCI core probes */
                for (guint j = i; j > 0 && strcmp(names->pdata[j - 1], names->pdata[j]) > 0; j--) {
                        gpointer t = names->pdata[j - 1];
                        names->pdata[j - 1] = names->pdata[j];
                        names->pdata[j] = t;
                }
        for (guint i = 0; i < names->len; i++) {
                const char *bdf = names->pdata[i];
                g_autofree char *rel = g_strdup_printf("bus/pci/devices/%s", bdf);
                g_autofree char *devpath = sim_canonical(s, rel);
                g_autofree char *sub = NULL, *ue = NULL, *drvl = NULL, *drv = NULL;
                g_autofree char *ven = NULL, *dev = NULL, *cls = NULL, *sv = NULL, *sd = NULL;
                int n;

                if (!devpath)
                        continue;
                sub = g_strdup_printf("%s/subsystem", devpath);
                link_if_missing(s, sub, "bus/pci");
                drvl = g_strdup_printf("%s/driver", devpath);
                drv = sim_link_basename(s, drvl);
                ue = g_strdup_printf("%s/uevent", devpath);
                ven = read_trimmed(s, "%s/vendor", devpath);
                dev = read_trimmed(s, "%s/device", devpath);
                cls = read_trimmed(s, "%s/class", devpath);
                sv = read_trimmed(s, "%s/subsystem_vendor", devpath);
                sd = read_trimmed(s, "%s/subsystem_device", devpath);
                if (!sim_exists(s, ue) && ven && dev && strlen(ven) > 2 && strlen(dev) > 2) {
                        /* what the PCI core puts in uevent (the capture has none) */
                        GString *u = g_string_new(NULL);
                        if (drv)
                                g_string_append_printf(u, "DRIVER=%s\n", drv);
                        if (cls && strlen(cls) > 2)
                                g_string_append_printf(u, "PCI_CLASS=%lX\n", strtoul(cls, NULL, 16));
                        g_string_append_printf(u, "PCI_ID=%04lX:%04lX\n", strtoul(ven, NULL, 16),
                                               strtoul(dev, NULL, 16));
                        if (sv && sd && strlen(sv) > 2 && strlen(sd) > 2)
                                g_string_append_printf(u, "PCI_SUBSYS_ID=%04lX:%04lX\n", strtoul(sv, NULL, 16),
                                                       strtoul(sd, NULL, 16));
                        g_string_append_printf(u, "PCI_SLOT_NAME=%s\n", bdf);
                        sim_write(s, ue, u->str, 0644);
                        g_string_free(u, TRUE);
                }
                /* A device bound to vfio-pci has a vfio-dev the capture did not copy. */
                n = find_vfio_dev(s, devpath);
                if (drv && strcmp(drv, "vfio-pci") == 0 && n < 0) {
                        g_autofree char *vd = NULL, *vl = NULL;
                        n = (int)sim_bitmap_lowest_free(&s->vfio_devs);
                        sim_bitmap_set(&s->vfio_devs, (unsigned)n, true);
                        vd = g_strdup_printf("%s/vfio-dev/vfio%d", devpath, n);
                        vl = g_strdup_printf("%s/device", vd);
                        sim_link(s, vl, devpath);
                        g_free(vl);
                        vl = g_strdup_printf("%s/uevent", vd);
                        sim_write(s, vl, "", 0644);
                }
                if (n >= 0) {
                        g_autofree char *vs = g_strdup_printf("%s/vfio-dev/vfio%d/subsystem", devpath, n);
                        g_autofree char *cl = g_strdup_printf("class/vfio-dev/vfio%d", n);
                        g_autofree char *vd = g_strdup_printf("%s/vfio-dev/vfio%d", devpath, n);
                        link_if_missing(s, vs, "class/vfio-dev");
                        link_if_missing(s, cl, vd);
                }
        }
}

static void complete_parents_and_mdevs(struct sim *s)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, s->parents);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct sim_parent *p = v;
                g_autofree char *sub = g_strdup_printf("%s/subsystem", p->devpath);
                g_autofree char *ue = g_strdup_printf("%s/uevent", p->devpath);
                g_autofree char *drv = g_strdup_printf("bus/mdev/drivers/%s", p->mdev_driver);

                if (p->is_virtual) {
                        g_autofree char *cls = g_strdup_printf("class/%s", p->subsystem);
                        g_autofree char *cl = g_strdup_printf("class/%s/%s", p->subsystem, p->name);
                        link_if_missing(s, sub, cls);
                        link_if_missing(s, cl, p->devpath);
                        write_if_missing(s, ue, "", 0644); /* empty: MDEV_STATE is only on the event */
                } else if (strcmp(p->subsystem, "pci") == 0) {
                        link_if_missing(s, sub, "bus/pci");
                }
                if (!sim_exists(s, drv)) {
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
                }
        }
        g_hash_table_iter_init(&it, s->mdevs);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct sim_mdev *m = v;
                g_autofree char *sub = g_strdup_printf("%s/subsystem", m->devpath);
                g_autofree char *ue = g_strdup_printf("%s/uevent", m->devpath);

                link_if_missing(s, sub, "bus/mdev");
                write_if_missing(s, ue, "", 0644);
                if (m->vfio_dev >= 0) {
                        g_autofree char *vd = g_strdup_printf("%s/vfio-dev/vfio%d", m->devpath, m->vfio_dev);
                        g_autofree char *vs = g_strdup_printf("%s/subsystem", vd);
                        g_autofree char *cl = g_strdup_printf("class/vfio-dev/vfio%d", m->vfio_dev);
                        g_autofree char *dv = g_strdup_printf("%s/dev", vd);
                        unsigned maj, min;

                        link_if_missing(s, vs, "class/vfio-dev");
                        link_if_missing(s, cl, vd);
                        if (read_dev(s, dv, &maj, &min) == 0) {
                                g_autofree char *node = g_strdup_printf("vfio/devices/vfio%d", m->vfio_dev);
                                sim_dev_node(s, node, maj, min, 0600);
                        }
                }
        }
}

static void complete_vfio_groups(struct sim *s)
{
        g_autofree char *vfio = sim_path(s, "class/vfio");
        GDir *d = g_dir_open(vfio, 0, NULL);
        const char *e;

        if (!d)
                return;
        while ((e = g_dir_read_name(d))) {
                g_autofree char *rel = g_strdup_printf("class/vfio/%s", e);
                g_autofree char *devpath = sim_canonical(s, rel);
                g_autofree char *sub = NULL, *dv = NULL, *node = NULL;
                unsigned maj, min;

                if (!devpath)
                        continue;
                sub = g_strdup_printf("%s/subsystem", devpath);
                link_if_missing(s, sub, "class/vfio");
                dv = g_strdup_printf("%s/dev", devpath);
                node = g_strdup_printf("vfio/%s", e);
                if (read_dev(s, dv, &maj, &min) == 0)
                        sim_dev_node(s, node, maj, min, 0600);
        }
        g_dir_close(d);
}

static void complete_iommus(struct sim *s)
{
        g_autofree char *dir = sim_path(s, "class/iommu");
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *e;

        if (!d)
                return;
        while ((e = g_dir_read_name(d))) {
                g_autofree char *rel = g_strdup_printf("class/iommu/%s", e);
                g_autofree char *devpath = sim_canonical(s, rel);
                g_autofree char *sub = NULL;
                if (!devpath)
                        continue;
                sub = g_strdup_printf("%s/subsystem", devpath);
                link_if_missing(s, sub, "class/iommu");
        }
        g_dir_close(d);
}

/* /proc and /dev entries a capture records in its logs: the kernel release and command line
 * (02-kernel.txt: "uname -a", then /proc/cmdline) and /dev/iommu (16-dev-nodes.txt). */
static void complete_from_capture_logs(struct sim *s)
{
        g_autofree char *kern = NULL, *nodes = NULL, *kp = NULL, *np = NULL;
        g_auto(GStrv) lines = NULL;

        if (!s->capture_dir)
                return;
        kp = g_build_filename(s->capture_dir, "02-kernel.txt", NULL);
        if (g_file_get_contents(kp, &kern, NULL, NULL)) {
                lines = g_strsplit(kern, "\n", 3);
                if (lines[0] && lines[1]) {
                        g_auto(GStrv) uname = g_strsplit(lines[0], " ", 4);
                        g_autofree char *cmdline = g_strdup_printf("%s\n", lines[1]);
                        g_autofree char *proc = g_build_filename(s->root, "proc", NULL);
                        g_autofree char *cl = g_build_filename(proc, "cmdline", NULL);
                        g_autofree char *rel = g_build_filename(proc, "sys", "kernel", "osrelease", NULL);
                        g_autofree char *reldir = g_path_get_dirname(rel);

                        g_mkdir_with_parents(reldir, 0755);
                        g_file_set_contents(cl, cmdline, -1, NULL);
                        if (g_strv_length(uname) >= 3) {
                                g_autofree char *r = g_strdup_printf("%s\n", uname[2]);
                                g_file_set_contents(rel, r, -1, NULL);
                        }
                }
        }
        np = g_build_filename(s->capture_dir, "16-dev-nodes.txt", NULL);
        if (g_file_get_contents(np, &nodes, NULL, NULL)) {
                g_auto(GStrv) nl = g_strsplit(nodes, "\n", -1);
                for (guint i = 0; nl[i]; i++) {
                        unsigned maj, min;
                        const char *at = strstr(nl[i], " /dev/iommu");
                        if (nl[i][0] == 'c' && at && strcmp(at, " /dev/iommu") == 0 &&
                            sscanf(nl[i], "%*s %*s %*s %*s %u, %u", &maj, &min) == 2)
                                sim_dev_node(s, "iommu", maj, min, 0660);
                }
        }
}

int sim_load(struct sim *s, GError **error)
{
        static const char *const dirs[] = {"dev/vfio", "etc/mdevctl.d", "var/lib/mdevpasid", "run/mdevpasid"};

        if (!g_file_test(s->sys, G_FILE_TEST_IS_DIR)) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s is not a directory", s->sys);
                return -ENOENT;
        }
        load_parents(s);
        load_mdevs(s);
        load_resources(s);
        setup_pools(s);
        complete_pci(s);
        complete_parents_and_mdevs(s);
        complete_vfio_groups(s);
        complete_iommus(s);
        for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
                g_autofree char *p = g_build_filename(s->root, dirs[i], NULL);
                g_mkdir_with_parents(p, 0755);
        }
        sim_dev_node(s, "vfio/vfio", 10, 196, 0666);
        complete_from_capture_logs(s);
        return 0;
}
