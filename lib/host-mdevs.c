/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live mdevs: /sys/bus/mdev/devices/<uuid> (IOMMU-SPEC.md §1.1, §1.4, §7 step 2). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-internal.h"
#include "mdp-names.h"
#include "util/fileio.h"
#include "util/hashmap.h"

void mdev_done(struct mdp_mdev *m)
{
        if (!m)
                return;
        free(m->error);
        free(m->_pool);
        *m = (struct mdp_mdev){.iommu_group = -1};
}

struct parent_driver_entry {
        char *name;
        char *driver; /* NULL when the parent shows neither driver nor subsystem */
};

void scan_cache_done(struct scan_cache *c)
{
        struct parent_driver_entry *pe;

        if (c->parent_drivers) {
                HASHMAP_FOREACH (pe, c->parent_drivers, i) {
                        free(pe->name);
                        free(pe->driver);
                        free(pe);
                }
                c->parent_drivers = hashmap_free(c->parent_drivers);
        }
        free(c->vfio.plain);
        free(c->vfio.noiommu);
        c->vfio = (struct vfio_group_index){0};
}

static int int_compare(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;
        return x < y ? -1 : x > y;
}

/* Reads class/vfio once: the group nodes that exist ("N" -> /dev/vfio/N, "noiommu-N" ->
 * /dev/vfio/noiommu-N, IOMMU-SPEC.md §1.4 fact 2). */
static int vfio_index_load(struct mdp_ctx *ctx, int sfd, struct vfio_group_index *v)
{
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        int r;

        v->loaded = true;
        r = list_dir_names(ctx, sfd, "class/vfio", NULL, &names, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || n == 0)
                return 0;
        v->plain = malloc(n * sizeof(int));
        v->noiommu = malloc(n * sizeof(int));
        if (!v->plain || !v->noiommu)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *rest = startswith(names[i], "noiommu-");
                int g;

                if (rest && parse_group_number(rest, &g) == 0)
                        v->noiommu[v->n_noiommu++] = g;
                else if (!rest && parse_group_number(names[i], &g) == 0)
                        v->plain[v->n_plain++] = g;
        }
        qsort(v->plain, v->n_plain, sizeof(int), int_compare);
        qsort(v->noiommu, v->n_noiommu, sizeof(int), int_compare);
        return 0;
}

/* "vfio/N", "vfio/noiommu-N" or "" when class/vfio shows neither. */
static int vfio_group_node(struct mdp_ctx *ctx, int sfd, struct scan_cache *cache, int group, char *buf,
                           size_t size)
{
        char rel[64];
        int r;

        buf[0] = '\0';
        if (cache) {
                if (!cache->vfio.loaded) {
                        r = vfio_index_load(ctx, sfd, &cache->vfio);
                        if (r < 0)
                                return r;
                }
                if (cache->vfio.n_noiommu &&
                    bsearch(&group, cache->vfio.noiommu, cache->vfio.n_noiommu, sizeof(int), int_compare))
                        snprintf(buf, size, "vfio/noiommu-%d", group);
                else if (cache->vfio.n_plain &&
                         bsearch(&group, cache->vfio.plain, cache->vfio.n_plain, sizeof(int), int_compare))
                        snprintf(buf, size, "vfio/%d", group);
                return 0;
        }
        (void)path_fmt(rel, sizeof(rel), "class/vfio/noiommu-%d", group);
        if (faccessat(sfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                snprintf(buf, size, "vfio/noiommu-%d", group);
                return 0;
        }
        (void)path_fmt(rel, sizeof(rel), "class/vfio/%d", group);
        if (faccessat(sfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                snprintf(buf, size, "vfio/%d", group);
        return 0;
}

static int group_compare_number(const void *key, const void *elem)
{
        int n = *(const int *)key, m = ((const struct mdp_iommu_group *)elem)->number;
        return n < m ? -1 : n > m;
}

/* The group's name and type: from the snapshot's groups when there, else read. */
static void group_info(int sfd, struct scan_cache *cache, int group, char *name, char *type, size_t size,
                       bool *have_name, bool *have_type)
{
        const struct mdp_iommu_group *g = NULL;
        char rel[96];

        *have_name = *have_type = false;
        if (cache && cache->n_groups)
                g = bsearch(&group, cache->groups, cache->n_groups, sizeof(*g), group_compare_number);
        if (g) {
                if (g->name && strlen(g->name) < size) {
                        strcpy(name, g->name);
                        *have_name = true;
                }
                if (g->type && strlen(g->type) < size) {
                        strcpy(type, g->type);
                        *have_type = true;
                }
                return;
        }
        /* Straight to the files: no directory fd to open and close. */
        (void)path_fmt(rel, sizeof(rel), "%s/%d/%s", MDP_SYSFS_IOMMU_GROUPS, group, MDP_ATTR_NAME);
        *have_name = sysfs_read_attr(sfd, rel, name, size) >= 0;
        (void)path_fmt(rel, sizeof(rel), "%s/%d/type", MDP_SYSFS_IOMMU_GROUPS, group);
        *have_type = sysfs_read_attr(sfd, rel, type, size) >= 0;
}

static int parent_compare_name(const void *key, const void *elem)
{
        return strcmp(key, ((const struct mdp_parent *)elem)->name);
}

/* The parent's driver string for classification: from the snapshot's parents, else the
 * per-scan cache, else its links. */
static int parent_driver(int sfd, struct scan_cache *cache, const char *parent, char *buf, size_t size)
{
        struct parent_driver_entry *pe;
        char rel[SYSFS_PATH_MAX];
        _cleanup_close_ int pfd = -1;
        int r;

        buf[0] = '\0';
        if (cache && cache->n_parents) {
                const struct mdp_parent *p = bsearch(parent, cache->parents, cache->n_parents,
                                                     sizeof(struct mdp_parent), parent_compare_name);
                if (p) {
                        const char *d = mdp_parent_driver_string(p);
                        if (d && strlen(d) < size)
                                strcpy(buf, d);
                        return 0;
                }
        }
        if (cache && cache->parent_drivers) {
                pe = hashmap_get(cache->parent_drivers, parent);
                if (pe) {
                        if (pe->driver && strlen(pe->driver) < size)
                                strcpy(buf, pe->driver);
                        return 0;
                }
        }
        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_MDEV_BUS, parent);
        pfd = openat(sfd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (pfd >= 0 && link_basename(pfd, MDP_LINK_DRIVER, buf, size) <= 0 &&
            link_basename(pfd, MDP_LINK_SUBSYSTEM, buf, size) <= 0)
                buf[0] = '\0';
        if (!cache)
                return 0;
        if (!cache->parent_drivers) {
                cache->parent_drivers = hashmap_new();
                if (!cache->parent_drivers)
                        return -ENOMEM;
        }
        pe = calloc(1, sizeof(*pe));
        if (!pe)
                return -ENOMEM;
        pe->name = strdup(parent);
        pe->driver = buf[0] ? strdup(buf) : NULL;
        if (!pe->name || (buf[0] && !pe->driver)) {
                free(pe->name);
                free(pe->driver);
                free(pe);
                return -ENOMEM;
        }
        r = hashmap_put(cache->parent_drivers, pe->name, pe);
        if (r < 0) {
                free(pe->name);
                free(pe->driver);
                free(pe);
                return r;
        }
        return 0;
}

static int first_entry(const char *name, void *userdata)
{
        char *buf = userdata;

        if (strlen(name) > ATTR_SHORT_MAX)
                return 0;
        strcpy(buf, name);
        return 1;
}

/* The vfio-dev child: its name and whether it is a char device (VFIO_DEVICE_CDEV). */
static void read_vfio_dev(struct record_errors *e, int dfd, const char *dir, char name[ATTR_SHORT_MAX + 1],
                          bool *cdev)
{
        char rel[ATTR_SHORT_MAX * 2];
        int r;

        name[0] = '\0';
        *cdev = false;
        r = dir_foreach(dfd, "vfio-dev", first_entry, name);
        if (r == -ENOENT)
                return; /* not a VFIO device (yet) */
        if (r < 0) {
                record_error_at(e, dir, "vfio-dev", "%s", r == -ENOTDIR ? "not a directory" : strerror(-r));
                return;
        }
        if (!name[0])
                return;
        (void)path_fmt(rel, sizeof(rel), "vfio-dev/%s/dev", name);
        *cdev = faccessat(dfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int mdev_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *uuid, struct scan_cache *cache,
                  struct mdp_mdev *ret)
{
        struct record_errors e = {.ctx = ctx};
        struct mdp_mdev m = {.iommu_group = -1};
        char rel[SYSFS_PATH_MAX], target[SYSFS_PATH_MAX], devpath[SYSFS_PATH_MAX],
                parent[ATTR_SHORT_MAX + 1];
        char type[ATTR_SHORT_MAX + 1], driver[ATTR_SHORT_MAX + 1], group[64], gname[ATTR_SHORT_MAX + 1];
        char gtype[ATTR_SHORT_MAX + 1], vfio_group[64], vfio_dev[ATTR_SHORT_MAX + 1];
        char pdriver[ATTR_SHORT_MAX + 1], basis[512];
        bool have_devpath = false, have_gname = false, have_gtype = false;
        /* What mdevctl's list shows and no more: the parent and the type. */
        bool brief = cache && cache->brief;
        _cleanup_close_ int dfd = -1;
        struct strpack pack = {0};
        int r;

        if (!mdp_uuid_is_canonical(uuid))
                return -EINVAL;
        parent[0] = type[0] = driver[0] = vfio_group[0] = vfio_dev[0] = pdriver[0] = basis[0] = '\0';
        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_MDEV_DEVICES, uuid);
        r = link_read(sysfs_fd, rel, target, sizeof(target));
        if (r == 0)
                return -ENOENT;
        if (r == -EINVAL)
                record_error(&e, rel, "not a symbolic link: the parent cannot be known");
        else if (r < 0)
                record_error(&e, rel, "cannot read link: %s", strerror(-r));
        else if (sysfs_join_lexical(MDP_SYSFS_MDEV_DEVICES, target, devpath, sizeof(devpath)) < 0)
                record_error(&e, rel, "link target \"%s\" is outside the sysfs tree", target);
        else {
                /* The parent is the directory the mdev sits in (mdev->dev.parent): take the
                 * basename of the target's dirname, as text (MDEVCTL.md §7.4: no realpath). */
                char *slash = strrchr(devpath, '/');

                have_devpath = true;
                if (slash) {
                        *slash = '\0';
                        (void)path_fmt(parent, sizeof(parent), "%s", path_basename(devpath));
                        *slash = '/';
                }
                if (!parent[0] || !mdp_sysfs_name_is_valid(parent)) {
                        parent[0] = '\0';
                        record_error(&e, rel, "link target \"%s\" names no parent device", target);
                }
        }

        dfd = openat(sysfs_fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                int err = errno;
                if (err == ENOENT)
                        record_error(&e, rel, "dangling link to %s", target);
                else if (err == ENOTDIR)
                        record_error(&e, rel, "not a directory");
                else
                        record_error(&e, rel, "cannot open: %s", strerror(err));
        } else {
                r = link_basename(dfd, MDP_LINK_MDEV_TYPE, type, sizeof(type));
                if (r == 0)
                        record_error_at(&e, rel, MDP_LINK_MDEV_TYPE, "missing");
                else if (r < 0)
                        record_error_at(&e, rel, MDP_LINK_MDEV_TYPE, "%s",
                                        r == -EINVAL ? "not a symbolic link to a type" : strerror(-r));
                if (brief)
                        goto read;
                r = link_basename(dfd, MDP_LINK_DRIVER, driver, sizeof(driver));
                if (r < 0)
                        record_error_at(&e, rel, MDP_LINK_DRIVER, "%s",
                                        r == -EINVAL ? "not a symbolic link to a driver" : strerror(-r));
                r = link_basename(dfd, MDP_LINK_IOMMU_GROUP, group, sizeof(group));
                if (r < 0)
                        record_error_at(&e, rel, MDP_LINK_IOMMU_GROUP, "%s",
                                        r == -EINVAL ? "not a symbolic link to a group" : strerror(-r));
                else if (r > 0 && parse_group_number(group, &m.iommu_group) < 0)
                        record_error_at(&e, rel, MDP_LINK_IOMMU_GROUP,
                                        "points to \"%s\", not a group number", group);
                read_vfio_dev(&e, dfd, rel, vfio_dev, &m.vfio_cdev);
        }

        if (brief)
                goto read;
        if (m.iommu_group >= 0) {
                group_info(sysfs_fd, cache, m.iommu_group, gname, gtype, sizeof(gname), &have_gname,
                           &have_gtype);
                r = vfio_group_node(ctx, sysfs_fd, cache, m.iommu_group, vfio_group, sizeof(vfio_group));
                if (r < 0)
                        goto fail;
        }
        if (parent[0]) {
                r = parent_driver(sysfs_fd, cache, parent, pdriver, sizeof(pdriver));
                if (r < 0)
                        goto fail;
        }
        classify(ctx, pdriver[0] ? pdriver : NULL, type[0] ? type : NULL, have_gname ? gname : NULL,
                 &m.class, basis, sizeof(basis));
read:

        memcpy(m.uuid, uuid, MDP_UUID_STRING_MAX);
        strpack_add(&pack, &m.parent, parent[0] ? parent : NULL);
        strpack_add(&pack, &m.type_id, type[0] ? type : NULL);
        strpack_add(&pack, &m.devpath, have_devpath ? devpath : NULL);
        strpack_add(&pack, &m.driver, driver[0] ? driver : NULL);
        strpack_add(&pack, &m.group_name, have_gname ? gname : NULL);
        strpack_add(&pack, &m.group_type, have_gtype ? gtype : NULL);
        strpack_add(&pack, &m.vfio_group, vfio_group[0] ? vfio_group : NULL);
        strpack_add(&pack, &m.vfio_dev, vfio_dev[0] ? vfio_dev : NULL);
        strpack_add(&pack, &m.class_basis, basis);
        r = strpack_commit(&pack, &m._pool);
        if (r < 0)
                goto fail;
        r = record_errors_finish(&e, &m.error);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;
fail:
        record_errors_done(&e);
        mdev_done(&m);
        return r;
}

_public_ int mdp_mdev_read(struct mdp_ctx *ctx, const char *uuid, struct mdp_mdev **ret)
{
        _cleanup_free_ struct mdp_mdev *m = NULL;
        int sfd, r;

        if (!mdp_uuid_is_canonical(uuid))
                return -EINVAL;
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return sfd;
        m = malloc(sizeof(*m));
        if (!m)
                return -ENOMEM;
        r = mdev_read_one(ctx, sfd, uuid, NULL, m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

_public_ struct mdp_mdev *mdp_mdev_free(struct mdp_mdev *m)
{
        mdev_done(m);
        free(m);
        return NULL;
}

static bool name_is_uuid(const char *name)
{
        return mdp_uuid_is_canonical(name);
}

_public_ int mdp_mdev_list(struct mdp_ctx *ctx, char ***ret, size_t *ret_n)
{
        int sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        struct namelist empty = {0};
        int r;

        if (sfd < 0)
                return sfd;
        /* Non-canonical names are skipped with a debug message (list_dir_names). */
        r = list_dir_names(ctx, sfd, MDP_SYSFS_MDEV_DEVICES, name_is_uuid, ret, ret_n);
        if (r == -ENOENT)
                return namelist_finish(&empty, NULL, ret, ret_n);
        return r;
}
