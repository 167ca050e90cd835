/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdev parents and their types: /sys/class/mdev_bus (IOMMU-SPEC.md §1.1). Parents are
 * found by reading that directory, never through udev_enumerate("mdev_bus"), which finds
 * nothing (TESTING.md §B). */
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
#include "util/parse.h"

void type_done(struct mdp_type *t)
{
        if (!t)
                return;
        free(t->instances);
        free(t->error);
        free(t->_pool);
        *t = (struct mdp_type){.available_instances = -1};
}

void parent_done(struct mdp_parent *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_types; i++)
                type_done(&p->types[i]);
        free(p->types);
        free(p->error);
        free(p->_pool);
        *p = (struct mdp_parent){.iommu_group = -1};
}

static bool name_is_uuid(const char *name)
{
        return mdp_uuid_is_canonical(name);
}

/* Lists devices/ of a type: the live instances (§1.1). */
static int type_read_instances(struct mdp_ctx *ctx, struct record_errors *e, int tfd, const char *dir,
                               struct mdp_type *t)
{
        char rel[SYSFS_PATH_MAX];
        int r;

        (void)path_fmt(rel, sizeof(rel), "%s/%s", dir, MDP_ATTR_TYPE_DEVICES);
        r = list_dir_names(ctx, tfd, MDP_ATTR_TYPE_DEVICES, name_is_uuid, &t->instances, &t->n_instances);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT)
                record_error(e, rel, "missing");
        else if (r == -ENOTDIR)
                record_error(e, rel, "not a directory");
        else if (r < 0)
                record_error(e, rel, "cannot list: %s", strerror(-r));
        return 0;
}

/* types_fd is <parent>/mdev_supported_types, types_dir its sysfs-relative path. */
static int type_read_at(struct mdp_ctx *ctx, int types_fd, const char *types_dir, const char *id,
                        const char *driver, bool brief, struct mdp_type *ret)
{
        struct record_errors e = {.ctx = ctx};
        struct mdp_type t = {.available_instances = -1};
        char dir[SYSFS_PATH_MAX], name[ATTR_SHORT_MAX + 1], desc[ATTR_PAGE_MAX + 1], api[ATTR_SHORT_MAX + 1];
        char basis[512];
        bool have_name = false, have_desc = false, have_api = false;
        _cleanup_close_ int tfd = -1;
        struct strpack pack = {0};
        unsigned avail;
        struct stat st;
        int r;

        (void)path_fmt(dir, sizeof(dir), "%s/%s", types_dir, id);
        tfd = openat(types_fd, id, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (tfd < 0) {
                r = -errno;
                if (fstatat(types_fd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -ENOENT; /* gone (or never there) */
                if (r == -ENOTDIR)
                        record_error(&e, dir, "not a directory");
                else if (r == -ENOENT)
                        record_error(&e, dir, "dangling link");
                else
                        record_error(&e, dir, "cannot open: %s", strerror(-r));
        } else {
                have_name = attr_read(&e, tfd, dir, MDP_ATTR_NAME, false, name, sizeof(name)) >= 0;
                /* mtty has no description: absent is normal (TESTING.md layer 7 §4.1). */
                have_desc = attr_read(&e, tfd, dir, MDP_ATTR_DESCRIPTION, false, desc, sizeof(desc)) >= 0;
                have_api = attr_read(&e, tfd, dir, MDP_ATTR_DEVICE_API, true, api, sizeof(api)) >= 0;
                if (attr_read_unsigned(&e, tfd, dir, MDP_ATTR_AVAILABLE_INSTANCES, &avail) >= 0)
                        t.available_instances = avail;
                r = brief ? 0 : type_read_instances(ctx, &e, tfd, dir, &t);
                if (r < 0)
                        goto fail;
        }
        classify(ctx, driver, id, NULL, &t.class, basis, sizeof(basis));

        strpack_add(&pack, &t.id, id);
        strpack_add(&pack, &t.name, have_name ? name : NULL);
        strpack_add(&pack, &t.description, have_desc ? desc : NULL);
        strpack_add(&pack, &t.device_api, have_api ? api : NULL);
        strpack_add(&pack, &t.class_basis, basis);
        r = strpack_commit(&pack, &t._pool);
        if (r < 0)
                goto fail;
        r = record_errors_finish(&e, &t.error);
        if (r < 0)
                goto fail;
        *ret = t;
        return 0;
fail:
        record_errors_done(&e);
        type_done(&t);
        return r;
}

static int type_compare(const void *a, const void *b)
{
        return strcmp(((const struct mdp_type *)a)->id, ((const struct mdp_type *)b)->id);
}

static int parent_read_types(struct mdp_ctx *ctx, struct record_errors *e, int pfd, const char *pdir,
                             const char *driver, bool brief, struct mdp_parent *p)
{
        _cleanup_free_ char **ids = NULL;
        char types_dir[SYSFS_PATH_MAX];
        _cleanup_close_ int types_fd = -1;
        size_t n = 0;
        int r;

        (void)path_fmt(types_dir, sizeof(types_dir), "%s/%s", pdir, MDP_SYSFS_SUPPORTED_TYPES);
        types_fd = openat(pfd, MDP_SYSFS_SUPPORTED_TYPES, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (types_fd >= 0)
                r = list_dir_names(ctx, types_fd, ".", NULL, &ids, &n);
        else
                r = -errno;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (r == -ENOENT)
                        record_error(e, types_dir, "missing: the parent shows no mdev types");
                else if (r == -ENOTDIR)
                        record_error(e, types_dir, "not a directory");
                else
                        record_error(e, types_dir, "cannot list: %s", strerror(-r));
                return 0;
        }
        if (n == 0)
                return 0;
        p->types = calloc(n, sizeof(struct mdp_type));
        if (!p->types)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = type_read_at(ctx, types_fd, types_dir, ids[i], driver, brief, &p->types[p->n_types]);
                if (r == -ENOENT)
                        continue; /* removed while we read */
                if (r < 0)
                        return r;
                p->n_types++;
        }
        qsort(p->types, p->n_types, sizeof(struct mdp_type), type_compare);
        return 0;
}

/* The driver, subsystem, iommu and iommu_group links of a device directory. Results are
 * "" when absent; malformed links are recorded. */
struct device_links {
        char driver[ATTR_SHORT_MAX + 1], subsystem[ATTR_SHORT_MAX + 1], iommu[ATTR_SHORT_MAX + 1];
        int iommu_group;
};

static void read_device_links(struct record_errors *e, int dfd, const char *dir, struct device_links *l)
{
        static const char *const names[] = {MDP_LINK_DRIVER, MDP_LINK_SUBSYSTEM, MDP_LINK_IOMMU};
        char *bufs[] = {l->driver, l->subsystem, l->iommu};
        char group[64];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                r = link_basename(dfd, names[i], bufs[i], sizeof(l->driver));
                if (r < 0)
                        record_error_at(e, dir, names[i], "%s",
                                        r == -EINVAL ? "not a symbolic link to a device" : strerror(-r));
        }
        l->iommu_group = -1;
        r = link_basename(dfd, MDP_LINK_IOMMU_GROUP, group, sizeof(group));
        if (r < 0)
                record_error_at(e, dir, MDP_LINK_IOMMU_GROUP, "%s",
                                r == -EINVAL ? "not a symbolic link to a group" : strerror(-r));
        else if (r > 0 && parse_group_number(group, &l->iommu_group) < 0)
                record_error_at(e, dir, MDP_LINK_IOMMU_GROUP, "points to \"%s\", not a group number", group);
}

int parent_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *name, bool brief, struct mdp_parent *ret)
{
        struct record_errors e = {.ctx = ctx};
        struct mdp_parent p = {.iommu_group = -1};
        char rel[SYSFS_PATH_MAX], target[SYSFS_PATH_MAX], devpath[SYSFS_PATH_MAX];
        struct device_links links = {.iommu_group = -1};
        const char *pci = NULL, *driver_string;
        _cleanup_close_ int pfd = -1;
        bool have_devpath = false;
        struct strpack pack = {0};
        int r;

        if (!mdp_sysfs_name_is_valid(name))
                return -EINVAL;
        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_MDEV_BUS, name);
        r = link_read(sysfs_fd, rel, target, sizeof(target));
        if (r == 0)
                return -ENOENT;
        if (r == -EINVAL) {
                /* Not a link: a plain directory in a hand-made tree. */
                (void)path_fmt(devpath, sizeof(devpath), "%s", rel);
                have_devpath = true;
        } else if (r < 0)
                record_error(&e, rel, "cannot read link: %s", strerror(-r));
        else if (sysfs_join_lexical(MDP_SYSFS_MDEV_BUS, target, devpath, sizeof(devpath)) < 0)
                record_error(&e, rel, "link target \"%s\" is outside the sysfs tree", target);
        else
                have_devpath = true;

        pfd = openat(sysfs_fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0) {
                int err = errno;
                if (err == ENOENT)
                        record_error(&e, rel, "dangling link to %s", target);
                else if (err == ENOTDIR)
                        record_error(&e, rel, "not a directory");
                else
                        record_error(&e, rel, "cannot open: %s", strerror(err));
        } else
                read_device_links(&e, pfd, rel, &links);

        if (streq(links.subsystem, "pci") || (!links.subsystem[0] && pci_address_is_valid(name))) {
                if (pci_address_is_valid(name))
                        pci = name;
                else
                        record_error(&e, rel, "PCI parent whose name is not a PCI address");
        }
        driver_string = links.driver[0] ? links.driver : links.subsystem[0] ? links.subsystem : NULL;
        if (pfd >= 0) {
                r = parent_read_types(ctx, &e, pfd, rel, driver_string, brief, &p);
                if (r < 0)
                        goto fail;
        }
        p.iommu_group = links.iommu_group;
        strpack_add(&pack, &p.name, name);
        strpack_add(&pack, &p.devpath, have_devpath ? devpath : NULL);
        strpack_add(&pack, &p.driver, links.driver[0] ? links.driver : NULL);
        strpack_add(&pack, &p.subsystem, links.subsystem[0] ? links.subsystem : NULL);
        strpack_add(&pack, &p.pci_address, pci);
        strpack_add(&pack, &p.iommu, links.iommu[0] ? links.iommu : NULL);
        r = strpack_commit(&pack, &p._pool);
        if (r < 0)
                goto fail;
        r = record_errors_finish(&e, &p.error);
        if (r < 0)
                goto fail;
        *ret = p;
        return 0;
fail:
        record_errors_done(&e);
        parent_done(&p);
        return r;
}

_public_ const char *mdp_parent_driver_string(const struct mdp_parent *p)
{
        return p->driver ?: p->subsystem;
}

_public_ const struct mdp_type *mdp_parent_find_type(const struct mdp_parent *p, const char *type_id)
{
        struct mdp_type key = {.id = (char *)type_id};

        if (!p || !type_id || p->n_types == 0)
                return NULL;
        return bsearch(&key, p->types, p->n_types, sizeof(struct mdp_type), type_compare);
}

_public_ int mdp_parent_read(struct mdp_ctx *ctx, const char *name, struct mdp_parent **ret)
{
        _cleanup_free_ struct mdp_parent *p = NULL;
        int sfd, r;

        if (!mdp_sysfs_name_is_valid(name))
                return -EINVAL;
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return sfd;
        p = malloc(sizeof(*p));
        if (!p)
                return -ENOMEM;
        r = parent_read_one(ctx, sfd, name, false, p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

_public_ struct mdp_parent *mdp_parent_free(struct mdp_parent *p)
{
        parent_done(p);
        free(p);
        return NULL;
}

/* Opens <parent>/mdev_supported_types and finds the parent's driver string. */
static int open_types_dir(struct mdp_ctx *ctx, const char *parent, int *ret_fd, char *driver, size_t size)
{
        char rel[SYSFS_PATH_MAX];
        _cleanup_close_ int pfd = -1;
        struct stat st;
        int sfd, fd;

        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return sfd;
        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_MDEV_BUS, parent);
        pfd = openat(sfd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return fstatat(sfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -ENOENT : -errno;
        if (link_basename(pfd, MDP_LINK_DRIVER, driver, size) <= 0 &&
            link_basename(pfd, MDP_LINK_SUBSYSTEM, driver, size) <= 0)
                driver[0] = '\0';
        fd = openat(pfd, MDP_SYSFS_SUPPORTED_TYPES, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

_public_ int mdp_type_read(struct mdp_ctx *ctx, const char *parent, const char *type_id,
                           struct mdp_type **ret)
{
        _cleanup_free_ struct mdp_type *t = NULL;
        _cleanup_close_ int types_fd = -1;
        char driver[ATTR_SHORT_MAX + 1], types_dir[SYSFS_PATH_MAX];
        int r;

        if (!mdp_sysfs_name_is_valid(parent) || !mdp_sysfs_name_is_valid(type_id))
                return -EINVAL;
        r = open_types_dir(ctx, parent, &types_fd, driver, sizeof(driver));
        if (r < 0)
                return r;
        t = malloc(sizeof(*t));
        if (!t)
                return -ENOMEM;
        (void)path_fmt(types_dir, sizeof(types_dir), "%s/%s/%s", MDP_SYSFS_MDEV_BUS, parent,
                       MDP_SYSFS_SUPPORTED_TYPES);
        r = type_read_at(ctx, types_fd, types_dir, type_id, driver[0] ? driver : NULL, false, t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

_public_ struct mdp_type *mdp_type_free(struct mdp_type *t)
{
        type_done(t);
        free(t);
        return NULL;
}

_public_ int mdp_type_read_available(struct mdp_ctx *ctx, const char *parent, const char *type_id,
                                     unsigned *ret)
{
        _cleanup_close_ int types_fd = -1, tfd = -1;
        char driver[ATTR_SHORT_MAX + 1], buf[64];
        ssize_t n;
        int r;

        if (!mdp_sysfs_name_is_valid(parent) || !mdp_sysfs_name_is_valid(type_id))
                return -EINVAL;
        r = open_types_dir(ctx, parent, &types_fd, driver, sizeof(driver));
        if (r < 0)
                return r;
        tfd = openat(types_fd, type_id, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (tfd < 0)
                return -errno;
        n = sysfs_read_attr(tfd, MDP_ATTR_AVAILABLE_INSTANCES, buf, sizeof(buf));
        if (n == -E2BIG)
                return -EBADMSG;
        if (n < 0)
                return (int)n;
        r = safe_atou(buf, ret);
        return r == -EINVAL ? -EBADMSG : r;
}

static bool entry_name_ok(const char *name)
{
        return mdp_sysfs_name_is_valid(name);
}

_public_ int mdp_parent_list(struct mdp_ctx *ctx, char ***ret, size_t *ret_n)
{
        int sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        struct namelist empty = {0};
        int r;

        if (sfd < 0)
                return sfd;
        r = list_dir_names(ctx, sfd, MDP_SYSFS_MDEV_BUS, entry_name_ok, ret, ret_n);
        if (r == -ENOENT) /* mdev core not loaded: no parents */
                return namelist_finish(&empty, NULL, ret, ret_n);
        return r;
}
