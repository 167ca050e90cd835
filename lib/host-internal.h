/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the host model's sources (host-*.c); not part of the API. */

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx-private.h"
#include "host.h"
#include "util/hashmap.h"
#include "util/strbuf.h"

#define SYSFS_PATH_MAX 4096
/* Attribute size limits: sysfs attributes are at most one page. */
#define ATTR_SHORT_MAX 255
#define ATTR_PAGE_MAX  4096

/* Several strings of one record in one allocation: add (destination, value) pairs whose
 * values stay valid until strpack_commit(), which points each destination into one block
 * (NULL values give NULL fields). */
#define STRPACK_MAX 16
struct strpack {
        size_t n, len;
        char **dst[STRPACK_MAX];
        const char *src[STRPACK_MAX];
};
void strpack_add(struct strpack *p, char **dst, const char *src);
int strpack_commit(struct strpack *p, char **ret_pool);

/* A list of names built one by one and finished into one allocation: a NULL-terminated
 * pointer array followed by the strings (free() releases all). */
struct namelist {
        struct strbuf sb;
        size_t n;
};
void namelist_add(struct namelist *l, const char *name);
int namelist_finish(struct namelist *l, int (*cmp)(const void *, const void *), char ***ret, size_t *ret_n);
void namelist_done(struct namelist *l);
/* Orders for names: plain strcmp() (UUIDs, PCI addresses, parent names: fixed-width hex
 * must not be read as numbers) and natural ("virtfn2" before "virtfn10"). The _compare
 * variants take char ** for qsort(). */
int name_compare(const char *a, const char *b);
int names_compare_plain(const void *x, const void *y);
int names_compare_natural(const void *x, const void *y);

/* Problems found while reading one record, as one "; "-separated string naming each file
 * with its host path (MDEVPASID_ROOT included). Out-of-memory is sticky (strbuf). */
struct record_errors {
        const struct mdp_ctx *ctx;
        struct strbuf sb;
};
void record_error(struct record_errors *e, const char *relpath, const char *fmt, ...) _printf_(3, 4);
/* The same with dir + "/" + name as the path. */
void record_error_at(struct record_errors *e, const char *dir, const char *name, const char *fmt, ...)
        _printf_(4, 5);
/* Finishes: *ret is NULL when nothing went wrong; -ENOMEM when a message could not be kept. */
int record_errors_finish(struct record_errors *e, char **ret);
void record_errors_done(struct record_errors *e);

/* Reads attribute name in directory dfd (dir is its sysfs-relative path, for messages)
 * into buf. Returns the length or a negative errno; every failure is recorded in e except
 * a missing file that is not required (-ENOENT, buf ""). */
int attr_read(struct record_errors *e, int dfd, const char *dir, const char *name, bool required, char *buf,
              size_t size);
/* Strict unsigned decimal, recorded on error: "not a number", "out of range". */
int attr_read_unsigned(struct record_errors *e, int dfd, const char *dir, const char *name, unsigned *ret);
/* Hexadecimal as sysfs prints it with %llx / %#x (IOMMU-SPEC.md §2.2). */
int attr_read_hex(struct record_errors *e, int dfd, const char *dir, const char *name, uint64_t *ret);
/* Appends s to sb quoted, bounded and with control characters escaped, for messages. */
void append_quoted(struct strbuf *sb, const char *s, size_t max);

/* readlinkat() into buf: 1 when name is a link, 0 when it is absent, -EINVAL when it is not a
 * link, other negative errno. The target is used as text only, never resolved on disk. */
int link_read(int dfd, const char *name, char *buf, size_t size);
/* The last component of a link's target ("iommu_group" -> "4"). Same returns as link_read. */
int link_basename(int dfd, const char *name, char *buf, size_t size);
/* A directory name that is a group number: decimal digits only, fits an int. */
int parse_group_number(const char *s, int *ret);
/* Joins a link's directory (relative to the sysfs root) and its relative target lexically,
 * without touching the file system: ("bus/mdev/devices", "../../../devices/x/y") ->
 * "devices/x/y". -EINVAL when the target is absolute or leaves the sysfs root. */
int sysfs_join_lexical(const char *dir, const char *target, char *buf, size_t size);
/* Calls cb for each entry of path (relative to dfd) but "." and "..", in directory order,
 * through getdents64() (no DIR buffer); stops at cb's first non-zero return. */
int dir_foreach(int dfd, const char *path, int (*cb)(const char *name, void *userdata), void *userdata);
/* read_attr() (util/fileio.h) with a single read(): for sysfs and regular files. */
ssize_t sysfs_read_attr(int dfd, const char *path, char *buf, size_t size);
/* snprintf() for relative paths: on truncation buf becomes "" (which no openat() finds)
 * and -ENAMETOOLONG is returned, so a too-long name never opens a shorter path. */
int path_fmt(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
/* "." and ".." */
bool dot_or_dotdot(const char *name);
/* Looks like a PCI address "dddd:bb:dd.f" (hex digits). */
bool pci_address_is_valid(const char *s);

/* Classification (IOMMU-SPEC.md §1.4): group_name may be NULL (types have none). basis
 * receives a short explanation. */
void classify(const struct mdp_ctx *ctx, const char *parent_driver, const char *type_id,
              const char *group_name, enum mdp_mdev_class *ret_class, char *basis, size_t basis_size);

/* Per-scan caches so that a snapshot reads each shared thing once. NULL in per-object
 * readers, which then read directly. */
struct vfio_group_index {
        int *plain, *noiommu; /* sorted group numbers from class/vfio: "N", "noiommu-N" */
        size_t n_plain, n_noiommu;
        bool loaded;
};
struct scan_cache {
        const struct mdp_iommu_group *groups; /* sorted by number */
        size_t n_groups;
        const struct mdp_parent *parents; /* sorted by name */
        size_t n_parents;
        struct hashmap *parent_drivers; /* parent name -> struct parent_driver_entry */
        struct vfio_group_index vfio;
        bool brief; /* MDP_SCAN_MDEVS_BRIEF */
};
void scan_cache_done(struct scan_cache *c);

/* Record readers used by both the snapshot and the per-object API. They fill *ret (which
 * the caller owns and clears with the matching _done) and return 0, -ENOENT when the
 * object does not exist at all, -ENOMEM. */
/* brief: without each type's live instances (its devices/ listing; MDP_SCAN_PARENTS_BRIEF). */
int parent_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *name, bool brief, struct mdp_parent *ret);
void parent_done(struct mdp_parent *p);
void type_done(struct mdp_type *t);
int mdev_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *uuid, struct scan_cache *cache,
                  struct mdp_mdev *ret);
void mdev_done(struct mdp_mdev *m);
int group_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *number, struct mdp_iommu_group *ret);
void group_done(struct mdp_iommu_group *g);
/* What IOMMU reading needs from outside sysfs, loaded once per scan: the kernel release
 * (AMD features order, §2.3) and the scalable-mode config default (§2.2). */
struct iommu_env {
        bool release_loaded, sm_default_loaded;
        char release[ATTR_SHORT_MAX + 1]; /* "" when unknown */
        int sm_default;                   /* -1 unknown, 0 off, 1 on */
};
/* release NULL: read /proc/sys/kernel/osrelease. */
void iommu_env_load_release(struct mdp_ctx *ctx, struct iommu_env *env, const char *release);
int iommu_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *name, struct iommu_env *env,
                   struct mdp_iommu *ret);
void iommu_done(struct mdp_iommu *i);
int pci_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *address, bool read_config,
                 struct mdp_pci_device *ret);
void pci_done(struct mdp_pci_device *d);
int kernel_features_read(struct mdp_ctx *ctx, struct mdp_kernel_features *ret);
void kernel_features_done(struct mdp_kernel_features *k);

/* Directory listing of names that pass filter (may be NULL), sorted by strcmp(). */
int list_dir_names(struct mdp_ctx *ctx, int dfd, const char *path, bool (*filter)(const char *name),
                   char ***ret, size_t *ret_n);
