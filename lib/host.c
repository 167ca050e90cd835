/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host snapshot: everything the model reads, in sorted arrays, read once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host-internal.h"
#include "mdp-names.h"

struct mdp_host {
        int n_ref;
        struct mdp_ctx *ctx;
        struct mdp_parent *parents;
        size_t n_parents;
        struct mdp_mdev *mdevs;
        size_t n_mdevs;
        struct mdp_iommu_group *groups;
        size_t n_groups;
        struct mdp_iommu *iommus;
        size_t n_iommus;
        struct mdp_pci_device *pci;
        size_t n_pci;
        struct mdp_kernel_features kernel;
        bool have_kernel;
        char *error;
};

static void host_free(struct mdp_host *h)
{
        for (size_t i = 0; i < h->n_parents; i++)
                parent_done(&h->parents[i]);
        free(h->parents);
        for (size_t i = 0; i < h->n_mdevs; i++)
                mdev_done(&h->mdevs[i]);
        free(h->mdevs);
        for (size_t i = 0; i < h->n_groups; i++)
                group_done(&h->groups[i]);
        free(h->groups);
        for (size_t i = 0; i < h->n_iommus; i++)
                iommu_done(&h->iommus[i]);
        free(h->iommus);
        for (size_t i = 0; i < h->n_pci; i++)
                pci_done(&h->pci[i]);
        free(h->pci);
        kernel_features_done(&h->kernel);
        free(h->error);
        mdp_ctx_unref(h->ctx);
        free(h);
}

_public_ struct mdp_host *mdp_host_ref(struct mdp_host *h)
{
        if (h)
                __atomic_add_fetch(&h->n_ref, 1, __ATOMIC_SEQ_CST);
        return h;
}

_public_ struct mdp_host *mdp_host_unref(struct mdp_host *h)
{
        if (h && __atomic_sub_fetch(&h->n_ref, 1, __ATOMIC_SEQ_CST) == 0)
                host_free(h);
        return NULL;
}

/* Lists dir (relative to the sysfs root); an absent directory is an empty list, other
 * failures are recorded as host errors and give an empty list too. */
static int scan_list(struct mdp_ctx *ctx, int sfd, const char *dir, bool (*filter)(const char *),
                     struct record_errors *e, char ***ret, size_t *ret_n)
{
        struct namelist empty = {0};
        int r;

        r = list_dir_names(ctx, sfd, dir, filter, ret, ret_n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (r != -ENOENT)
                        record_error(e, dir, "cannot list: %s", strerror(-r));
                else
                        mdp_dbg(ctx, "%s: absent", dir);
                return namelist_finish(&empty, NULL, ret, ret_n);
        }
        return 0;
}

static bool name_ok(const char *name)
{
        return mdp_sysfs_name_is_valid(name);
}

static bool name_is_uuid(const char *name)
{
        return mdp_uuid_is_canonical(name);
}

static bool name_is_number(const char *name)
{
        int n;
        return parse_group_number(name, &n) == 0;
}

static int scan_parents(struct mdp_host *h, int sfd, bool brief, struct record_errors *e)
{
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        int r;

        r = scan_list(h->ctx, sfd, MDP_SYSFS_MDEV_BUS, name_ok, e, &names, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        h->parents = calloc(n, sizeof(struct mdp_parent));
        if (!h->parents)
                return -ENOMEM;
        /* names are sorted by strcmp(), and so stay the records. */
        for (size_t i = 0; i < n; i++) {
                r = parent_read_one(h->ctx, sfd, names[i], brief, &h->parents[h->n_parents]);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                h->n_parents++;
        }
        return 0;
}

static int group_number_compare(const void *a, const void *b)
{
        int x = ((const struct mdp_iommu_group *)a)->number, y = ((const struct mdp_iommu_group *)b)->number;
        return x < y ? -1 : x > y;
}

static int scan_groups(struct mdp_host *h, int sfd, struct record_errors *e)
{
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        int r;

        r = scan_list(h->ctx, sfd, MDP_SYSFS_IOMMU_GROUPS, name_is_number, e, &names, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        h->groups = calloc(n, sizeof(struct mdp_iommu_group));
        if (!h->groups)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = group_read_one(h->ctx, sfd, names[i], &h->groups[h->n_groups]);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                h->n_groups++;
        }
        qsort(h->groups, h->n_groups, sizeof(struct mdp_iommu_group), group_number_compare);
        return 0;
}

static int scan_mdevs(struct mdp_host *h, int sfd, bool brief, struct record_errors *e)
{
        struct scan_cache cache = {
                .groups = h->groups,
                .n_groups = h->n_groups,
                .parents = h->parents,
                .n_parents = h->n_parents,
                .brief = brief,
        };
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        int r;

        /* Non-canonical names are skipped with a debug message. */
        r = scan_list(h->ctx, sfd, MDP_SYSFS_MDEV_DEVICES, name_is_uuid, e, &names, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        h->mdevs = calloc(n, sizeof(struct mdp_mdev));
        if (!h->mdevs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = mdev_read_one(h->ctx, sfd, names[i], &cache, &h->mdevs[h->n_mdevs]);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        break;
                h->n_mdevs++;
                r = 0;
        }
        scan_cache_done(&cache);
        return r;
}

static int scan_iommus(struct mdp_host *h, int sfd, struct record_errors *e)
{
        _cleanup_free_ char **names = NULL;
        struct iommu_env env = {0};
        size_t n = 0;
        int r;

        r = scan_list(h->ctx, sfd, MDP_SYSFS_IOMMU_CLASS, name_ok, e, &names, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        h->iommus = calloc(n, sizeof(struct mdp_iommu));
        if (!h->iommus)
                return -ENOMEM;
        iommu_env_load_release(h->ctx, &env, h->have_kernel ? h->kernel.release : NULL);
        for (size_t i = 0; i < n; i++) {
                r = iommu_read_one(h->ctx, sfd, names[i], &env, &h->iommus[h->n_iommus]);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                h->n_iommus++;
        }
        return 0;
}

static int scan_pci(struct mdp_host *h, int sfd, bool read_config, struct record_errors *e)
{
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        int r;

        r = scan_list(h->ctx, sfd, MDP_SYSFS_PCI_DEVICES, name_ok, e, &names, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        h->pci = calloc(n, sizeof(struct mdp_pci_device));
        if (!h->pci)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = pci_read_one(h->ctx, sfd, names[i], read_config, &h->pci[h->n_pci]);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                h->n_pci++;
        }
        return 0;
}

static int scan_kernel(struct mdp_host *h)
{
        int r;

        r = kernel_features_read(h->ctx, &h->kernel);
        if (r < 0)
                return r;
        h->have_kernel = true;
        /* The vfio-dev class may be missing from a capture while the mdevs show their
         * vfio-dev children: they tell as much. */
        if (h->kernel.vfio_cdev == MDP_UNKNOWN)
                for (size_t i = 0; i < h->n_mdevs; i++) {
                        if (!h->mdevs[i].vfio_dev)
                                continue;
                        if (h->mdevs[i].vfio_cdev) {
                                h->kernel.vfio_cdev = MDP_YES;
                                break;
                        }
                        h->kernel.vfio_cdev = MDP_NO;
                }
        return 0;
}

_public_ int mdp_host_scan_parts(struct mdp_ctx *ctx, unsigned parts, struct mdp_host **ret)
{
        struct record_errors e = {.ctx = ctx};
        struct mdp_host *h;
        int sfd, r;

        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return sfd;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->n_ref = 1;
        h->ctx = mdp_ctx_ref(ctx);

        /* Groups first, then parents: the mdevs take their group name/type and parent
         * driver from those instead of reading them again. */
        r = 0;
        if (parts & MDP_SCAN_GROUPS)
                r = scan_groups(h, sfd, &e);
        if (r >= 0 && (parts & MDP_SCAN_PARENTS))
                r = scan_parents(h, sfd, parts & MDP_SCAN_PARENTS_BRIEF, &e);
        if (r >= 0 && (parts & MDP_SCAN_MDEVS))
                r = scan_mdevs(h, sfd, parts & MDP_SCAN_MDEVS_BRIEF, &e);
        if (r >= 0 && (parts & MDP_SCAN_KERNEL))
                r = scan_kernel(h);
        if (r >= 0 && (parts & MDP_SCAN_IOMMUS))
                r = scan_iommus(h, sfd, &e);
        if (r >= 0 && (parts & MDP_SCAN_PCI))
                r = scan_pci(h, sfd, parts & MDP_SCAN_PCI_CONFIG, &e);
        if (r >= 0)
                r = record_errors_finish(&e, &h->error);
        if (r < 0) {
                record_errors_done(&e);
                host_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

_public_ int mdp_host_scan(struct mdp_ctx *ctx, struct mdp_host **ret)
{
        return mdp_host_scan_parts(ctx, MDP_SCAN_ALL, ret);
}

_public_ const struct mdp_parent *mdp_host_parents(const struct mdp_host *h, size_t *ret_n)
{
        *ret_n = h->n_parents;
        return h->parents;
}

_public_ const struct mdp_mdev *mdp_host_mdevs(const struct mdp_host *h, size_t *ret_n)
{
        *ret_n = h->n_mdevs;
        return h->mdevs;
}

_public_ const struct mdp_iommu_group *mdp_host_groups(const struct mdp_host *h, size_t *ret_n)
{
        *ret_n = h->n_groups;
        return h->groups;
}

_public_ const struct mdp_iommu *mdp_host_iommus(const struct mdp_host *h, size_t *ret_n)
{
        *ret_n = h->n_iommus;
        return h->iommus;
}

_public_ const struct mdp_pci_device *mdp_host_pci_devices(const struct mdp_host *h, size_t *ret_n)
{
        *ret_n = h->n_pci;
        return h->pci;
}

_public_ const struct mdp_kernel_features *mdp_host_kernel(const struct mdp_host *h)
{
        return h->have_kernel ? &h->kernel : NULL;
}

_public_ const char *mdp_host_error(const struct mdp_host *h)
{
        return h->error;
}

static int parent_key_compare(const void *key, const void *elem)
{
        return strcmp(key, ((const struct mdp_parent *)elem)->name);
}

_public_ const struct mdp_parent *mdp_host_find_parent(const struct mdp_host *h, const char *name)
{
        if (!name || h->n_parents == 0)
                return NULL;
        return bsearch(name, h->parents, h->n_parents, sizeof(struct mdp_parent), parent_key_compare);
}

_public_ const struct mdp_type *mdp_host_find_type(const struct mdp_host *h, const char *parent,
                                                   const char *type_id)
{
        return mdp_parent_find_type(mdp_host_find_parent(h, parent), type_id);
}

static int mdev_key_compare(const void *key, const void *elem)
{
        return strcmp(key, ((const struct mdp_mdev *)elem)->uuid);
}

_public_ const struct mdp_mdev *mdp_host_find_mdev(const struct mdp_host *h, const char *uuid)
{
        if (!uuid || h->n_mdevs == 0)
                return NULL;
        return bsearch(uuid, h->mdevs, h->n_mdevs, sizeof(struct mdp_mdev), mdev_key_compare);
}

static int group_key_compare(const void *key, const void *elem)
{
        int n = *(const int *)key, m = ((const struct mdp_iommu_group *)elem)->number;
        return n < m ? -1 : n > m;
}

_public_ const struct mdp_iommu_group *mdp_host_find_group(const struct mdp_host *h, int number)
{
        if (h->n_groups == 0)
                return NULL;
        return bsearch(&number, h->groups, h->n_groups, sizeof(struct mdp_iommu_group), group_key_compare);
}

static int iommu_key_compare(const void *key, const void *elem)
{
        return strcmp(key, ((const struct mdp_iommu *)elem)->name);
}

_public_ const struct mdp_iommu *mdp_host_find_iommu(const struct mdp_host *h, const char *name)
{
        if (!name || h->n_iommus == 0)
                return NULL;
        return bsearch(name, h->iommus, h->n_iommus, sizeof(struct mdp_iommu), iommu_key_compare);
}

static int pci_key_compare(const void *key, const void *elem)
{
        return strcmp(key, ((const struct mdp_pci_device *)elem)->address);
}

_public_ const struct mdp_pci_device *mdp_host_find_pci_device(const struct mdp_host *h, const char *address)
{
        if (!address || h->n_pci == 0)
                return NULL;
        return bsearch(address, h->pci, h->n_pci, sizeof(struct mdp_pci_device), pci_key_compare);
}

/* ---- a snapshot of some objects (the daemon's plans) ---- */

static int mdev_compare(const void *a, const void *b)
{
        return strcmp(((const struct mdp_mdev *)a)->uuid, ((const struct mdp_mdev *)b)->uuid);
}

static int parent_compare(const void *a, const void *b)
{
        return strcmp(((const struct mdp_parent *)a)->name, ((const struct mdp_parent *)b)->name);
}

static int iommu_compare(const void *a, const void *b)
{
        return strcmp(((const struct mdp_iommu *)a)->name, ((const struct mdp_iommu *)b)->name);
}

static int pci_compare(const void *a, const void *b)
{
        return strcmp(((const struct mdp_pci_device *)a)->address,
                      ((const struct mdp_pci_device *)b)->address);
}

static int names_push(char ***l, size_t *n, const char *s)
{
        char **nl;

        for (size_t i = 0; i < *n; i++)
                if (streq((*l)[i], s))
                        return 0;
        nl = reallocarray(*l, *n + 2, sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[*n] = strdup(s);
        if (!nl[*n])
                return -ENOMEM;
        nl[++*n] = NULL;
        return 0;
}

/* Kernel features as scan_kernel() has them: when the vfio-dev class does not tell, the
 * first live mdev (by UUID) that has a vfio-dev child does, as in a full scan. */
static int scan_kernel_some(struct mdp_host *h, int sfd)
{
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        int r;

        r = kernel_features_read(h->ctx, &h->kernel);
        if (r < 0)
                return r;
        h->have_kernel = true;
        if (h->kernel.vfio_cdev != MDP_UNKNOWN)
                return 0;
        r = list_dir_names(h->ctx, sfd, MDP_SYSFS_MDEV_DEVICES, name_is_uuid, &names, &n);
        if (r == -ENOMEM)
                return r;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const struct mdp_mdev *m = mdp_host_find_mdev(h, names[i]);
                struct mdp_mdev tmp = {};
                bool have = false, cdev = false;

                if (m) {
                        have = m->vfio_dev;
                        cdev = m->vfio_cdev;
                } else if (mdev_read_one(h->ctx, sfd, names[i], NULL, &tmp) >= 0) {
                        have = tmp.vfio_dev;
                        cdev = tmp.vfio_cdev;
                        mdev_done(&tmp);
                }
                if (!have)
                        continue;
                h->kernel.vfio_cdev = cdev ? MDP_YES : MDP_NO;
                break;
        }
        return 0;
}

static int host_grow(void **array, size_t n, size_t size)
{
        void *a = reallocarray(*array, n + 1, size);
        if (!a)
                return -ENOMEM;
        *array = a;
        memset((char *)a + n * size, 0, size);
        return 0;
}

/* After a reader filled base[*n] (r its result): counts the record unless the object was
 * gone (-ENOENT), and keeps the array sorted for the lookups. */
static int host_added(int r, void *base, size_t *n, size_t size, int (*compare)(const void *, const void *))
{
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        (*n)++;
        qsort(base, *n, size, compare);
        return 0;
}

static int add_mdev(struct mdp_host *h, int sfd, const char *uuid, struct scan_cache *cache)
{
        int r;

        if (mdp_host_find_mdev(h, uuid))
                return 0;
        r = host_grow((void **)&h->mdevs, h->n_mdevs, sizeof(struct mdp_mdev));
        if (r < 0)
                return r;
        r = mdev_read_one(h->ctx, sfd, uuid, cache, &h->mdevs[h->n_mdevs]);
        return host_added(r, h->mdevs, &h->n_mdevs, sizeof(struct mdp_mdev), mdev_compare);
}

static int add_parent(struct mdp_host *h, int sfd, const char *name)
{
        int r;

        /* The scan only knows entries of class/mdev_bus with valid names. */
        if (!name || !mdp_sysfs_name_is_valid(name) || mdp_host_find_parent(h, name))
                return 0;
        r = host_grow((void **)&h->parents, h->n_parents, sizeof(struct mdp_parent));
        if (r < 0)
                return r;
        r = parent_read_one(h->ctx, sfd, name, false, &h->parents[h->n_parents]);
        return host_added(r, h->parents, &h->n_parents, sizeof(struct mdp_parent), parent_compare);
}

static int add_group(struct mdp_host *h, int sfd, int number)
{
        char name[16];
        int r;

        if (number < 0 || mdp_host_find_group(h, number))
                return 0;
        r = host_grow((void **)&h->groups, h->n_groups, sizeof(struct mdp_iommu_group));
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%d", number);
        r = group_read_one(h->ctx, sfd, name, &h->groups[h->n_groups]);
        return host_added(r, h->groups, &h->n_groups, sizeof(struct mdp_iommu_group), group_number_compare);
}

static int add_iommu(struct mdp_host *h, int sfd, struct iommu_env *env, const char *name)
{
        int r;

        if (!name || !mdp_sysfs_name_is_valid(name) || mdp_host_find_iommu(h, name))
                return 0;
        r = host_grow((void **)&h->iommus, h->n_iommus, sizeof(struct mdp_iommu));
        if (r < 0)
                return r;
        r = iommu_read_one(h->ctx, sfd, name, env, &h->iommus[h->n_iommus]);
        return host_added(r, h->iommus, &h->n_iommus, sizeof(struct mdp_iommu), iommu_compare);
}

static int add_pci(struct mdp_host *h, int sfd, const char *address, const struct mdp_pci_device **ret)
{
        const struct mdp_pci_device *d;
        _cleanup_free_ char *copy = NULL;
        int r;

        if (ret)
                *ret = NULL;
        if (!address || !mdp_sysfs_name_is_valid(address))
                return 0;
        d = mdp_host_find_pci_device(h, address);
        if (!d) {
                copy = strdup(address); /* address may point into the array that moves */
                if (!copy)
                        return -ENOMEM;
                r = host_grow((void **)&h->pci, h->n_pci, sizeof(struct mdp_pci_device));
                if (r < 0)
                        return r;
                r = pci_read_one(h->ctx, sfd, copy, true, &h->pci[h->n_pci]);
                r = host_added(r, h->pci, &h->n_pci, sizeof(struct mdp_pci_device), pci_compare);
                if (r < 0)
                        return r;
                d = mdp_host_find_pci_device(h, copy);
                if (!d)
                        return 0;
        }
        if (ret)
                *ret = d;
        return 0;
}

/* A group and every member that is a PCI function (§6.4 step 1 looks at each one). */
static int add_group_and_members(struct mdp_host *h, int sfd, int number)
{
        const struct mdp_iommu_group *g;
        _cleanup_strv_free_ char **members = NULL;
        size_t n_members = 0;
        int r;

        r = add_group(h, sfd, number);
        if (r < 0)
                return r;
        g = number >= 0 ? mdp_host_find_group(h, number) : NULL;
        if (!g)
                return 0;
        /* The groups array may move while the PCI array grows: copy the names. */
        for (size_t i = 0; i < g->n_devices; i++)
                if (names_push(&members, &n_members, g->devices[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < n_members; i++) {
                r = add_pci(h, sfd, members[i], NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int units_read(struct mdp_host *h, int sfd, const char *const *mdevs, size_t n_mdevs,
                      const char *const *pci, size_t n_pci, const char *const *others, size_t n_others)
{
        struct scan_cache cache = {};
        struct iommu_env env = {0};
        _cleanup_strv_free_ char **iommus = NULL;
        size_t n_iommus = 0;
        bool pasid_granular = false;
        int r = 0;

        for (size_t i = 0; i < n_mdevs && r >= 0; i++)
                if (mdevs[i] && mdp_uuid_is_canonical(mdevs[i]))
                        r = add_mdev(h, sfd, mdevs[i], &cache);
        for (size_t i = 0; i < h->n_mdevs; i++)
                pasid_granular = pasid_granular || h->mdevs[i].class == MDP_MDEV_PASID_GRANULAR;
        /* Other VMs' mdevs matter only for the sharing facts of a PASID-granular parent
         * (§6.2); the plan reads their parent and nothing else. */
        for (size_t i = 0; pasid_granular && i < n_others && r >= 0; i++)
                if (others[i] && mdp_uuid_is_canonical(others[i]))
                        r = add_mdev(h, sfd, others[i], &cache);
        scan_cache_done(&cache);
        if (r < 0)
                return r;

        r = scan_kernel_some(h, sfd);
        if (r < 0)
                return r;
        iommu_env_load_release(h->ctx, &env, h->kernel.release);

        for (size_t i = 0; i < n_mdevs; i++) {
                const struct mdp_mdev *m = mdevs[i] ? mdp_host_find_mdev(h, mdevs[i]) : NULL;
                const struct mdp_parent *p;
                _cleanup_free_ char *parent = NULL;
                int group;

                if (!m)
                        continue;
                group = m->iommu_group;
                parent = m->parent ? strdup(m->parent) : NULL;
                if (m->parent && !parent)
                        return -ENOMEM;
                r = add_parent(h, sfd, parent);
                if (r < 0)
                        return r;
                p = mdp_host_find_parent(h, parent);
                if (p) {
                        _cleanup_free_ char *address = p->pci_address ? strdup(p->pci_address) : NULL;

                        if (p->iommu && names_push(&iommus, &n_iommus, p->iommu) < 0)
                                return -ENOMEM;
                        if (p->pci_address && !address)
                                return -ENOMEM;
                        r = add_pci(h, sfd, address, NULL);
                        if (r < 0)
                                return r;
                }
                r = add_group_and_members(h, sfd, group);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_pci; i++) {
                const struct mdp_pci_device *d;
                _cleanup_free_ char *physfn = NULL;
                int group;

                r = add_pci(h, sfd, pci[i], &d);
                if (r < 0)
                        return r;
                if (!d)
                        continue;
                if (d->iommu && names_push(&iommus, &n_iommus, d->iommu) < 0)
                        return -ENOMEM;
                group = d->iommu_group;
                physfn = d->physfn ? strdup(d->physfn) : NULL;
                if (d->physfn && !physfn)
                        return -ENOMEM;
                r = add_pci(h, sfd, physfn, NULL);
                if (r < 0)
                        return r;
                r = add_group_and_members(h, sfd, group);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; iommus && iommus[i]; i++) {
                r = add_iommu(h, sfd, &env, iommus[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

_public_ int mdp_host_scan_units(struct mdp_ctx *ctx, const char *const *mdevs, size_t n_mdevs,
                                 const char *const *pci, size_t n_pci, const char *const *others,
                                 size_t n_others, struct mdp_host **ret)
{
        struct mdp_host *h;
        int sfd, r;

        if (!ctx || !ret || (n_mdevs && !mdevs) || (n_pci && !pci) || (n_others && !others))
                return -EINVAL;
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return sfd;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->n_ref = 1;
        h->ctx = mdp_ctx_ref(ctx);
        r = units_read(h, sfd, mdevs, n_mdevs, pci, n_pci, others, n_others);
        if (r < 0) {
                host_free(h);
                return r;
        }
        *ret = h;
        return 0;
}
