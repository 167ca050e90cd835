/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sysfs source: the host model (lib/host.h) and the definition store (lib/definition.h)
 * read directly, with MDEVPASID_ROOT applied. This is what the read verbs use while the
 * daemon is not running, so it must stay at least as fast as mdevctl (MDEVCTL.md §7): one
 * snapshot per query, no realpath, definitions read once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "definition.h"
#include "host.h"
#include "mdp-names.h"
#include "profile.h"
#include "source.h"
#include "util/log.h"

struct sysfs_source {
        struct cli_source base;
        struct mdp_ctx *ctx;
        struct mdp_profiles *profiles;
        struct mdp_host *parents_host, *mdevs_host;
        unsigned flags;
        struct mdp_host *hw_host; /* IOMMU instances and kernel features */
        struct mdp_parent *one_parent; /* parents(only_parent) */
        struct mdp_mdev *one_mdev;     /* devices() for one UUID */
        struct mdp_definition **defs;
        size_t n_defs;
        char **problems; /* skipped definition files, "path: reason" */
        size_t n_problems;
};

#define SOURCE(s) ((struct sysfs_source *)(s))

static void defs_clear(struct sysfs_source *s)
{
        for (size_t i = 0; i < s->n_defs; i++)
                mdp_definition_free(s->defs[i]);
        free(s->defs);
        s->defs = NULL;
        s->n_defs = 0;
}

/* Skipped definition files become warnings: all of them when definitions are listed, and
 * for active devices only those of a listed device (mdevctl's `list` reads no others). */
static void defs_report_problems(struct sysfs_source *s, const struct cli_device *devices, size_t n, bool all)
{
        for (size_t i = 0; i < s->n_problems; i++) {
                bool relevant = all;

                for (size_t j = 0; !relevant && j < n; j++)
                        relevant = strstr(s->problems[i], devices[j].uuid) != NULL;
                if (relevant)
                        (void)cli_source_warn(&s->base, "%s", s->problems[i]);
                free(s->problems[i]);
        }
        free(s->problems);
        s->problems = NULL;
        s->n_problems = 0;
}

static void sysfs_free(struct cli_source *base)
{
        struct sysfs_source *s = SOURCE(base);

        defs_clear(s);
        defs_report_problems(s, NULL, 0, false);
        mdp_host_unref(s->parents_host);
        mdp_host_unref(s->mdevs_host);
        mdp_host_unref(s->hw_host);
        mdp_parent_free(s->one_parent);
        mdp_mdev_free(s->one_mdev);
        mdp_profiles_unref(s->profiles);
        mdp_ctx_unref(s->ctx);
        free(s);
}

static int scan_error(struct sysfs_source *s, int r)
{
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r == -ENOENT) {
                const char *root = mdp_ctx_get_root(s->ctx);
                if (!isempty(root))
                        return log_error_errno(r, "cannot read the host: %s/sys does not exist; "
                                                  "point MDEVPASID_ROOT at a directory that holds a sys/ tree",
                                               root);
                return log_error_errno(r, "cannot read /sys: %m; is sysfs mounted?");
        }
        return log_error_errno(r, "cannot read the host's sysfs: %m");
}

static int host_get(struct sysfs_source *s, struct mdp_host **slot, unsigned parts)
{
        const char *err;
        int r;

        if (*slot)
                return 0;
        r = mdp_host_scan_parts(s->ctx, parts, slot);
        if (r < 0)
                return scan_error(s, r);
        err = mdp_host_error(*slot);
        if (err && cli_source_warn(&s->base, "%s", err) < 0)
                return log_error_errno(-ENOMEM, "out of memory");
        return 0;
}

/* ---- parents and types ---- */

static int fill_type(struct sysfs_source *s, const char *parent, const struct mdp_type *t, struct cli_type *ret)
{
        *ret = (struct cli_type){
                .parent = parent,
                .id = t->id,
                .name = t->name,
                .description = t->description,
                .device_api = t->device_api,
                .available_instances = t->available_instances,
                .instances = t->instances,
                .n_instances = t->n_instances,
                .class = mdp_mdev_class_to_string(t->class),
                .class_basis = t->class_basis,
                .error = t->error,
        };
        return 0;
}

static int fill_parent(struct sysfs_source *s, const struct mdp_parent *p, struct cli_parent *ret)
{
        struct cli_type *types = NULL;

        if (p->n_types > 0) {
                types = cli_source_keep(&s->base, calloc(p->n_types, sizeof(*types)));
                if (!types)
                        return -ENOMEM;
                for (size_t i = 0; i < p->n_types; i++)
                        fill_type(s, p->name, &p->types[i], &types[i]);
        }
        *ret = (struct cli_parent){
                .name = p->name,
                .devpath = p->devpath,
                .driver = p->driver,
                .subsystem = p->subsystem,
                .pci_address = p->pci_address,
                .iommu = p->iommu,
                .iommu_family = mdp_iommu_family_to_string(p->iommu ? mdp_iommu_family_from_name(p->iommu)
                                                                    : MDP_IOMMU_NONE),
                .iommu_group = p->iommu_group,
                .types = types,
                .n_types = p->n_types,
                .error = p->error,
        };
        return 0;
}

static int sysfs_parents(struct cli_source *base, const char *only_parent, const struct cli_parent **ret,
                         size_t *ret_n)
{
        struct sysfs_source *s = SOURCE(base);
        const struct mdp_parent *parents;
        struct cli_parent *out;
        size_t n;
        int r;

        if (only_parent) {
                /* One parent: read just that one (mdevctl's `types -p` costs one parent too). */
                _cleanup_(mdp_parent_freep) struct mdp_parent *p = NULL;

                r = mdp_parent_read(s->ctx, only_parent, &p);
                if (r == -ENOENT || r == -EINVAL) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                if (r < 0)
                        return scan_error(s, r);
                mdp_parent_free(s->one_parent);
                s->one_parent = TAKE_PTR(p);
                out = cli_source_keep(&s->base, calloc(1, sizeof(*out)));
                if (!out || fill_parent(s, s->one_parent, out) < 0)
                        return log_error_errno(-ENOMEM, "out of memory");
                *ret = out;
                *ret_n = 1;
                return 0;
        }

        r = host_get(s, &s->parents_host,
                     MDP_SCAN_PARENTS | (s->flags & CLI_SOURCE_CLASSIFY ? 0 : MDP_SCAN_PARENTS_BRIEF));
        if (r < 0)
                return r;
        parents = mdp_host_parents(s->parents_host, &n);
        out = n ? cli_source_keep(&s->base, calloc(n, sizeof(*out))) : NULL;
        if (n && !out)
                return log_error_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                r = fill_parent(s, &parents[i], &out[i]);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

/* ---- devices ---- */

static int defs_add(void *userdata, struct mdp_definition *d)
{
        struct sysfs_source *s = userdata;
        struct mdp_definition **a;

        a = realloc(s->defs, (s->n_defs + 1) * sizeof(*a));
        if (!a) {
                mdp_definition_free(d);
                return -ENOMEM;
        }
        s->defs = a;
        s->defs[s->n_defs++] = d;
        return 0;
}

static void defs_problem(void *userdata, const char *path, const char *problem)
{
        struct sysfs_source *s = userdata;
        char *msg, **a;

        if (asprintf(&msg, "%s: %s", path, problem) < 0)
                return;
        a = realloc(s->problems, (s->n_problems + 1) * sizeof(char *));
        if (!a) {
                free(msg);
                return;
        }
        s->problems = a;
        s->problems[s->n_problems++] = msg;
}

/* Every definition of one UUID: /etc/mdevctl.d/<each parent>/<uuid>, without reading the
 * other files (mdevctl skips them by name too). */
static int defs_load_uuid(struct sysfs_source *s, const char *uuid)
{
        _cleanup_free_ char *base = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        base = mdp_path(s->ctx, MDP_PATH_MDEVCTL, NULL);
        if (!base)
                return -ENOMEM;
        d = opendir(base);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *error = NULL;
                struct mdp_definition *def = NULL;

                if (de->d_name[0] == '.' || streq(de->d_name, "scripts.d") || !mdp_sysfs_name_is_valid(de->d_name))
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
                        continue;
                r = mdp_definition_load(s->ctx, de->d_name, uuid, &def, &error);
                if (r == -ENOENT || r == -ENOTDIR || r == -EISDIR)
                        continue;
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        _cleanup_free_ char *path = mdp_path(s->ctx, MDP_PATH_MDEVCTL, "%s/%s", de->d_name, uuid);
                        if (!path)
                                return -ENOMEM;
                        if (error) {
                                _cleanup_free_ char *msg = NULL;
                                if (asprintf(&msg, "skipped: %s", error) < 0)
                                        return -ENOMEM;
                                defs_problem(s, path, msg);
                        } else {
                                _cleanup_free_ char *msg = NULL;
                                if (asprintf(&msg, "skipped: cannot read it: %s", strerror(-r)) < 0)
                                        return -ENOMEM;
                                defs_problem(s, path, msg);
                        }
                        continue;
                }
                r = defs_add(s, def);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int def_compare(const void *a, const void *b)
{
        const struct mdp_definition *x = *(struct mdp_definition *const *)a, *y = *(struct mdp_definition *const *)b;
        int c = strcmp(x->uuid, y->uuid);
        return c ? c : strcmp(x->parent, y->parent);
}

/* The definitions of uuid: a range of s->defs (sorted by UUID, then parent). */
static size_t defs_find(struct sysfs_source *s, const char *uuid, size_t *ret_n)
{
        size_t lo = 0, hi = s->n_defs, first;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(s->defs[mid]->uuid, uuid) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        first = lo;
        while (lo < s->n_defs && streq(s->defs[lo]->uuid, uuid))
                lo++;
        *ret_n = lo - first;
        return first;
}

static int fill_definition(struct sysfs_source *s, struct cli_device *d, const struct mdp_definition *def)
{
        struct cli_attr *attrs = NULL;

        if (def->n_attrs > 0) {
                attrs = cli_source_keep(&s->base, calloc(def->n_attrs, sizeof(*attrs)));
                if (!attrs)
                        return -ENOMEM;
                for (size_t i = 0; i < def->n_attrs; i++)
                        attrs[i] = (struct cli_attr){def->attrs[i].name, def->attrs[i].value};
        }
        d->defined = true;
        d->autostart = def->autostart;
        d->attrs = attrs;
        d->n_attrs = def->n_attrs;
        return 0;
}

static int fill_defined_parents(struct sysfs_source *s, struct cli_device *d)
{
        size_t n, first = defs_find(s, d->uuid, &n);
        char **v;

        if (n == 0)
                return 0;
        v = cli_source_keep(&s->base, calloc(n, sizeof(char *)));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                v[i] = s->defs[first + i]->parent;
        d->defined_parents = v;
        d->n_defined_parents = n;
        return 0;
}

static int fill_active(struct sysfs_source *s, struct cli_device *d, const struct mdp_mdev *m)
{
        char *vfio_group = NULL;

        /* The contract's VfioGroup is the node's path ("/dev/vfio/4"); the host model keeps
         * it relative to /dev. */
        if (m->vfio_group && (asprintf(&vfio_group, "/dev/%s", m->vfio_group) < 0 || !cli_source_keep(&s->base, vfio_group)))
                return -ENOMEM;
        d->active = true;
        d->parent = m->parent;
        d->type = m->type_id;
        d->driver = m->driver;
        d->iommu_group = m->iommu_group;
        d->group_name = m->group_name;
        d->group_type = m->group_type;
        d->vfio_group = vfio_group;
        d->vfio_device = m->vfio_dev;
        d->class = mdp_mdev_class_to_string(m->class);
        d->class_basis = m->class_basis;
        d->error = m->error;
        return 0;
}

static int device_compare(const void *a, const void *b)
{
        const struct cli_device *x = a, *y = b;
        int c = strcmp(x->parent, y->parent);
        return c ? c : strcmp(x->uuid, y->uuid);
}

static int sysfs_devices(struct cli_source *base, const struct cli_device_query *q, const struct cli_device **ret,
                         size_t *ret_n)
{
        struct sysfs_source *s = SOURCE(base);
        const struct mdp_mdev *mdevs = NULL;
        struct cli_device *out;
        size_t n_mdevs = 0, n = 0;
        int r;

        /* Definitions: only the files of one UUID when asked for one, else all of them
         * (the whole set is needed for DefinedParents). */
        defs_clear(s);
        r = q->uuid ? defs_load_uuid(s, q->uuid) : mdp_definitions_scan(s->ctx, NULL, defs_add, defs_problem, s);
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r < 0) {
                _cleanup_free_ char *dir = mdp_path(s->ctx, MDP_PATH_MDEVCTL, NULL);
                return log_error_errno(r, "cannot read the definitions in %s: %m", strna(dir));
        }
        if (s->n_defs > 1)
                qsort(s->defs, s->n_defs, sizeof(*s->defs), def_compare);

        /* Active devices: one read for one UUID, else one snapshot. */
        if (q->uuid) {
                struct mdp_mdev *m = NULL;

                r = mdp_mdev_read(s->ctx, q->uuid, &m);
                if (r == -ENOMEM)
                        return log_error_errno(r, "out of memory");
                if (r >= 0) {
                        mdp_mdev_free(s->one_mdev);
                        s->one_mdev = m;
                        mdevs = m;
                        n_mdevs = 1;
                } else if (r != -ENOENT && r != -EINVAL)
                        return scan_error(s, r);
        } else {
                /* mdevctl's verbs show a device's parent and type only */
                r = host_get(s, &s->mdevs_host,
                             MDP_SCAN_MDEVS | (s->flags & CLI_SOURCE_CLASSIFY ? 0 : MDP_SCAN_MDEVS_BRIEF));
                if (r < 0)
                        return r;
                mdevs = mdp_host_mdevs(s->mdevs_host, &n_mdevs);
        }

        out = cli_source_keep(&s->base, calloc(MAX(q->defined ? s->n_defs : n_mdevs, 1), sizeof(*out)));
        if (!out)
                return log_error_errno(-ENOMEM, "out of memory");

        if (!q->defined) {
                for (size_t i = 0; i < n_mdevs; i++) {
                        const struct mdp_mdev *m = &mdevs[i];
                        struct cli_device *d = &out[n];
                        size_t nd, first;

                        if (!m->parent || !m->type_id) {
                                /* mdevctl leaves out what it cannot place either. */
                                (void)cli_source_warn(&s->base, "active device %s left out: %s", m->uuid,
                                                      m->error ? m->error : "its parent or type cannot be read");
                                continue;
                        }
                        if (q->parent && !streq(q->parent, m->parent))
                                continue;
                        *d = (struct cli_device){.iommu_group = -1};
                        memcpy(d->uuid, m->uuid, sizeof(d->uuid));
                        if (fill_active(s, d, m) < 0)
                                return log_error_errno(-ENOMEM, "out of memory");
                        first = defs_find(s, m->uuid, &nd);
                        for (size_t j = first; j < first + nd; j++)
                                if (streq(s->defs[j]->parent, m->parent) && fill_definition(s, d, s->defs[j]) < 0)
                                        return log_error_errno(-ENOMEM, "out of memory");
                        if (fill_defined_parents(s, d) < 0)
                                return log_error_errno(-ENOMEM, "out of memory");
                        n++;
                }
        } else {
                for (size_t i = 0; i < s->n_defs; i++) {
                        const struct mdp_definition *def = s->defs[i];
                        struct cli_device *d = &out[n];
                        const struct mdp_mdev *m = NULL;

                        if (q->parent && !streq(q->parent, def->parent))
                                continue;
                        *d = (struct cli_device){.iommu_group = -1};
                        memcpy(d->uuid, def->uuid, sizeof(d->uuid));
                        d->parent = def->parent;
                        d->type = def->type;
                        if (s->mdevs_host)
                                m = mdp_host_find_mdev(s->mdevs_host, def->uuid);
                        else if (s->one_mdev && streq(s->one_mdev->uuid, def->uuid))
                                m = s->one_mdev;
                        /* Active here only when it runs on this parent (mdevctl's "(active)"). */
                        if (m && streq_ptr(m->parent, def->parent)) {
                                if (fill_active(s, d, m) < 0)
                                        return log_error_errno(-ENOMEM, "out of memory");
                                d->type = def->type; /* the definition's type is what is listed */
                        }
                        if (fill_definition(s, d, def) < 0 || fill_defined_parents(s, d) < 0)
                                return log_error_errno(-ENOMEM, "out of memory");
                        n++;
                }
        }
        qsort(out, n, sizeof(*out), device_compare);
        defs_report_problems(s, out, n, q->defined);
        *ret = out;
        *ret_n = n;
        return 0;
}

/* ---- kernel features and IOMMU instances ---- */

/* The mdevs' vfio-dev children tell whether the kernel has VFIO device cdevs when a capture
 * lacks the class directory; the command line decides VT-d scalable mode (§2.2). */
#define HW_PARTS (MDP_SCAN_KERNEL | MDP_SCAN_MDEVS | MDP_SCAN_IOMMUS)

static int sysfs_kernel(struct cli_source *base, const struct cli_kernel **ret)
{
        struct sysfs_source *s = SOURCE(base);
        const struct mdp_kernel_features *k;
        struct cli_kernel *out;
        int r;

        r = host_get(s, &s->hw_host, HW_PARTS);
        if (r < 0)
                return r;
        k = mdp_host_kernel(s->hw_host);
        out = cli_source_keep(&s->base, calloc(1, sizeof(*out)));
        if (!out)
                return log_error_errno(-ENOMEM, "out of memory");
        *out = (struct cli_kernel){
                .iommufd = k->iommufd,
                .vfio_cdev = k->vfio_cdev,
                .vfio_container = k->vfio_container,
                .release = k->release,
                .cmdline = k->cmdline,
        };
        *ret = out;
        return 0;
}

static int sysfs_iommus(struct cli_source *base, const struct cli_iommu **ret, size_t *ret_n)
{
        struct sysfs_source *s = SOURCE(base);
        const struct mdp_kernel_features *k;
        const struct mdp_iommu *iommus;
        struct cli_iommu *out;
        size_t n;
        int r;

        /* The kernel command line decides whether VT-d runs in scalable mode (§2.2). */
        r = host_get(s, &s->hw_host, HW_PARTS);
        if (r < 0)
                return r;
        k = mdp_host_kernel(s->hw_host);
        iommus = mdp_host_iommus(s->hw_host, &n);
        out = cli_source_keep(&s->base, calloc(MAX(n, 1), sizeof(*out)));
        if (!out)
                return log_error_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const struct mdp_iommu *m = &iommus[i];
                struct mdp_reg_field *fields = NULL;
                size_t n_fields = 0;

                r = mdp_iommu_decode_fields(&m->regs, &fields, &n_fields);
                if (r < 0 || (fields && !cli_source_keep(&s->base, fields)))
                        return log_error_errno(-ENOMEM, "out of memory");
                out[i] = (struct cli_iommu){
                        .name = m->name,
                        .family = m->family,
                        .devpath = m->devpath,
                        .devices = m->devices,
                        .n_devices = m->n_devices,
                        .regs = &m->regs,
                        .fields = fields,
                        .n_fields = n_fields,
                        .error = m->error,
                };
                mdp_iommu_caps_from_regs(&m->regs, k ? k->cmdline : NULL, &out[i].caps);
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

static const struct cli_source_ops sysfs_ops = {
        .name = "sysfs",
        .parents = sysfs_parents,
        .devices = sysfs_devices,
        .iommus = sysfs_iommus,
        .kernel = sysfs_kernel,
        .free = sysfs_free,
};

static void profiles_load(struct sysfs_source *s)
{
        struct mdp_conf_messages msgs = {0};
        int r;

        r = mdp_profiles_load(s->ctx, &s->profiles, &msgs);
        for (size_t i = 0; i < msgs.n_warnings; i++)
                log_debug("vendor profiles: %s", msgs.warnings[i]);
        if (r < 0)
                (void)cli_source_warn(&s->base, "vendor profiles not loaded, every type is shown as emulated: %s",
                                      msgs.error ? msgs.error : strerror(-r));
        else
                mdp_ctx_set_classifier(s->ctx, mdp_profiles_classify, s->profiles);
        mdp_conf_messages_done(&msgs);
}

int cli_source_sysfs_new(unsigned flags, struct cli_source **ret)
{
        struct sysfs_source *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return log_error_errno(-ENOMEM, "out of memory");
        s->base.ops = &sysfs_ops;
        s->flags = flags;
        r = mdp_ctx_new(&s->ctx);
        if (r < 0) {
                free(s);
                if (r == -EINVAL)
                        return log_error_errno(r, "MDEVPASID_ROOT=%s is not an absolute path; "
                                                  "set it to the directory that holds the sys/ tree",
                                               strna(getenv(MDP_ENV_ROOT)));
                return log_error_errno(r, "cannot set up the library context: %m");
        }
        mdp_ctx_set_log_fn(s->ctx, log_ctx_callback, NULL);
        if (flags & CLI_SOURCE_CLASSIFY)
                profiles_load(s);
        *ret = &s->base;
        return 0;
}
