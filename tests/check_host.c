/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host model on the real-kernel captures (expected values read from each capture's
 * text sections, not written here) and on hand-made trees with bad input. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "test-help.h"
#include "util/fileio.h"
#include "util/macro.h"

static const char *const variants[] = {
        "x86-6.1-sm",      "x86-6.12-sm",       "x86-6.12-sm-pasid",
        "x86-6.12-legacy", "arm64-6.12-smmuv3", "x86-custom-6.12-iommufd-sm",
};
#define CUSTOM_VARIANT 5

/* ---- reading the captures' text sections ---- */

static char *fixture_text(const char *variant, const char *file)
{
        _cleanup_free_ char *p = NULL;
        char *s = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/tests/fixtures/real-kernel/%s/%s", test_srcdir(), variant, file),
                         0);
        if (read_full_file(AT_FDCWD, p, 1 << 22, &s, NULL) < 0)
                return NULL;
        return s;
}

struct expected_type {
        char parent[64], id[64], name[128], description[128], device_api[32];
        bool has_name, has_description, has_device_api;
        long available;
};

static struct expected_type *expected_find(struct expected_type *t, size_t n, const char *parent,
                                           const char *id)
{
        for (size_t i = 0; i < n; i++)
                if (streq(t[i].parent, parent) && streq(t[i].id, id))
                        return &t[i];
        return NULL;
}

/* 12-mdev_types-attrs.txt: "/sys/class/mdev_bus/P/mdev_supported_types/T/ATTR: VALUE|" per
 * line, taken before any mdev existed; a missing file shows busybox cat's complaint. */
static size_t parse_types_attrs(const char *variant, struct expected_type *out, size_t max)
{
        _cleanup_free_ char *text = fixture_text(variant, "12-mdev_types-attrs.txt");
        char *save = NULL, *line;
        size_t n = 0;

        ck_assert_ptr_nonnull(text);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char parent[64], id[64], attr[64];
                char *value, *bar;
                struct expected_type *t;

                if (sscanf(line, "/sys/class/mdev_bus/%63[^/]/mdev_supported_types/%63[^/]/%63[^:]:", parent,
                           id, attr) != 3)
                        continue;
                value = strstr(line, ": ");
                ck_assert_ptr_nonnull(value);
                value += 2;
                bar = strrchr(value, '|');
                ck_assert_ptr_nonnull(bar);
                *bar = '\0';
                t = expected_find(out, n, parent, id);
                if (!t) {
                        ck_assert_uint_lt(n, max);
                        t = &out[n++];
                        memset(t, 0, sizeof(*t));
                        t->available = -1;
                        snprintf(t->parent, sizeof(t->parent), "%s", parent);
                        snprintf(t->id, sizeof(t->id), "%s", id);
                }
                if (strstr(value, "can't open"))
                        continue; /* absent file */
                if (streq(attr, "name")) {
                        snprintf(t->name, sizeof(t->name), "%s", value);
                        t->has_name = true;
                } else if (streq(attr, "description")) {
                        snprintf(t->description, sizeof(t->description), "%s", value);
                        t->has_description = true;
                } else if (streq(attr, "device_api")) {
                        snprintf(t->device_api, sizeof(t->device_api), "%s", value);
                        t->has_device_api = true;
                } else if (streq(attr, "available_instances"))
                        t->available = strtol(value, NULL, 10);
        }
        ck_assert_uint_gt(n, 0);
        return n;
}

/* "live mdevs for fixture: U1 U2 U3" in the sysfs-fixture section. */
static size_t parse_live_mdevs(const char *variant, char uuids[][MDP_UUID_STRING_MAX], size_t max)
{
        _cleanup_free_ char *text = fixture_text(variant, "21-sysfs-fixture.txt");
        char *p, *save = NULL, *tok;
        size_t n = 0;

        if (!text)
                text = fixture_text(variant, "22-sysfs-fixture.txt");
        ck_assert_ptr_nonnull(text);
        p = strstr(text, "live mdevs for fixture:");
        ck_assert_ptr_nonnull(p);
        p += strlen("live mdevs for fixture:");
        *strchrnul(p, '\n') = '\0';
        for (tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                ck_assert_uint_lt(n, max);
                ck_assert(mdp_uuid_is_canonical(tok));
                memcpy(uuids[n++], tok, MDP_UUID_STRING_MAX);
        }
        ck_assert_uint_gt(n, 0);
        return n;
}

static long raw_number(const char *root, const char *relpath)
{
        _cleanup_free_ char *s = test_read(root, relpath);

        ck_assert_ptr_nonnull(s);
        return strtol(s, NULL, 10);
}

/* ---- real-kernel captures ---- */

START_TEST(test_fixture_parents_types)
{
        const char *v = variants[_i];
        _cleanup_free_ char *root = test_unpack_fixture(v);
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_free_ char *ls = fixture_text(v, "11-mdev_bus-ls.txt");
        struct expected_type exp[32];
        char live[8][MDP_UUID_STRING_MAX], key[256];
        size_t n_exp, n_live, n_parents, n_exp_parents = 0;
        const char *line;
        const struct mdp_parent *parents;

        ck_assert_ptr_nonnull(ls);
        n_exp = parse_types_attrs(v, exp, ELEMENTSOF(exp));
        n_live = parse_live_mdevs(v, live, ELEMENTSOF(live));
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        ck_assert_ptr_null(mdp_host_error(host));

        parents = mdp_host_parents(host, &n_parents);
        for (size_t i = 0; i < n_exp; i++) {
                bool seen = false;
                for (size_t j = 0; j < i; j++)
                        seen |= streq(exp[j].parent, exp[i].parent);
                n_exp_parents += !seen;
        }
        ck_assert_uint_eq(n_parents, n_exp_parents);
        for (size_t i = 1; i < n_parents; i++)
                ck_assert_int_lt(strcmp(parents[i - 1].name, parents[i].name), 0);

        for (size_t i = 0; i < n_parents; i++) {
                const struct mdp_parent *p = &parents[i];
                size_t n_types_exp = 0;

                ck_assert_msg(!p->error, "%s: %s", p->name, p->error);
                /* 11-mdev_bus-ls.txt: "-- parent /sys/class/mdev_bus/P -> /sys/<devpath>" */
                snprintf(key, sizeof(key), "-- parent /sys/class/mdev_bus/%s -> /sys/", p->name);
                line = strstr(ls, key);
                ck_assert_msg(line, "%s: no %s", v, key);
                line += strlen(key);
                ck_assert_int_eq(strncmp(line, p->devpath, strlen(p->devpath)), 0);
                ck_assert_int_eq(line[strlen(p->devpath)], '\n');
                ck_assert_ptr_null(p->pci_address);
                ck_assert_ptr_null(p->iommu);
                ck_assert_int_eq(p->iommu_group, -1);
                for (size_t j = 0; j < n_exp; j++)
                        n_types_exp += streq(exp[j].parent, p->name);
                ck_assert_uint_eq(p->n_types, n_types_exp);
        }

        for (size_t i = 0; i < n_exp; i++) {
                const struct expected_type *e = &exp[i];
                const struct mdp_type *t = mdp_host_find_type(host, e->parent, e->id);
                _cleanup_free_ char *rel = NULL;
                bool is_live_type = false;

                ck_assert_msg(t, "%s: type %s/%s missing", v, e->parent, e->id);
                ck_assert_msg(!t->error, "%s", t->error);
                ck_assert(e->has_name && e->has_device_api);
                ck_assert_str_eq(t->name, e->name);
                ck_assert_str_eq(t->device_api, e->device_api);
                if (e->has_description)
                        ck_assert_str_eq(t->description, e->description);
                else
                        ck_assert_ptr_null(t->description); /* mtty: absent, not an error */
                ck_assert_int_eq(t->class, MDP_MDEV_EMULATED);
                ck_assert(startswith(t->class_basis, "no vendor profile declares type"));

                ck_assert_int_ge(
                        asprintf(&rel, "sys/class/mdev_bus/%s/mdev_supported_types/%s/available_instances",
                                 e->parent, e->id),
                        0);
                ck_assert_int_eq(t->available_instances, raw_number(root, rel));
                for (size_t j = 0; j < t->n_instances; j++)
                        for (size_t k = 0; k < n_live; k++)
                                is_live_type |= streq(t->instances[j], live[k]);
                if (t->n_instances > 0) {
                        /* The capture created one mdev of this type after 12-*.txt was taken. */
                        ck_assert(is_live_type);
                        ck_assert_uint_eq(t->n_instances, 1);
                        ck_assert_int_eq(t->available_instances, e->available - 1);
                } else
                        ck_assert_int_le(t->available_instances, e->available);
        }
}
END_TEST

START_TEST(test_fixture_mdevs)
{
        const char *v = variants[_i];
        _cleanup_free_ char *root = test_unpack_fixture(v);
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        char live[8][MDP_UUID_STRING_MAX];
        size_t n_live, n_mdevs, n_parents;

        n_live = parse_live_mdevs(v, live, ELEMENTSOF(live));
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        mdp_host_mdevs(host, &n_mdevs);
        mdp_host_parents(host, &n_parents);
        ck_assert_uint_eq(n_mdevs, n_live);
        /* one live mdev per parent */
        ck_assert_uint_eq(n_mdevs, n_parents);

        for (size_t i = 0; i < n_live; i++) {
                const struct mdp_mdev *m = mdp_host_find_mdev(host, live[i]);
                const struct mdp_iommu_group *g;
                const struct mdp_type *t;
                _cleanup_(mdp_mdev_freep) struct mdp_mdev *one = NULL;
                _cleanup_(mdp_parent_freep) struct mdp_parent *p = NULL;
                char node[32], devpath[256];
                unsigned avail;

                ck_assert_msg(m, "%s: mdev %s missing", v, live[i]);
                ck_assert_msg(!m->error, "%s", m->error);
                ck_assert_ptr_nonnull(m->parent);
                ck_assert_ptr_nonnull(m->type_id);
                /* The mdev_type link and the type's devices/ listing agree. */
                t = mdp_host_find_type(host, m->parent, m->type_id);
                ck_assert_ptr_nonnull(t);
                ck_assert_uint_eq(t->n_instances, 1);
                ck_assert_str_eq(t->instances[0], m->uuid);
                snprintf(devpath, sizeof(devpath), "devices/virtual/%s/%s/%s", m->parent, m->parent,
                         m->uuid);
                ck_assert_str_eq(m->devpath, devpath);
                if (m->driver) /* the arm64 capture has no driver links */
                        ck_assert_str_eq(m->driver, m->parent);
                ck_assert_int_ge(m->iommu_group, 0);
                /* IOMMU-SPEC.md §1.4 / layer 7 §4.2: the emulated-IOMMU group */
                ck_assert_str_eq(m->group_name, "vfio-noiommu");
                ck_assert_str_eq(m->group_type, "unknown");
                ck_assert_int_eq(m->class, MDP_MDEV_EMULATED);
                ck_assert_str_eq(m->class_basis, "group vfio-noiommu");
                snprintf(node, sizeof(node), "vfio/%d", m->iommu_group);
                ck_assert_str_eq(m->vfio_group, node);
                ck_assert_ptr_nonnull(m->vfio_dev);
                ck_assert(startswith(m->vfio_dev, "vfio"));
                ck_assert_int_eq(m->vfio_cdev, _i == CUSTOM_VARIANT);

                g = mdp_host_find_group(host, m->iommu_group);
                ck_assert_ptr_nonnull(g);
                ck_assert_str_eq(g->name, "vfio-noiommu");
                ck_assert_uint_eq(g->n_devices, 1);
                ck_assert_str_eq(g->devices[0], m->uuid);
                ck_assert_uint_eq(g->n_reserved_regions, 0);

                /* The per-object readers say the same as the snapshot. */
                ck_assert_int_eq(mdp_mdev_read(ctx, m->uuid, &one), 0);
                ck_assert_str_eq(one->parent, m->parent);
                ck_assert_str_eq(one->type_id, m->type_id);
                ck_assert_str_eq(one->devpath, m->devpath);
                ck_assert(streq_ptr(one->driver, m->driver));
                ck_assert_int_eq(one->iommu_group, m->iommu_group);
                ck_assert_str_eq(one->group_name, m->group_name);
                ck_assert_str_eq(one->group_type, m->group_type);
                ck_assert_str_eq(one->vfio_group, m->vfio_group);
                ck_assert_str_eq(one->vfio_dev, m->vfio_dev);
                ck_assert_int_eq(one->vfio_cdev, m->vfio_cdev);
                ck_assert_int_eq(one->class, m->class);
                ck_assert_str_eq(one->class_basis, m->class_basis);
                ck_assert_ptr_null(one->error);

                ck_assert_int_eq(mdp_parent_read(ctx, m->parent, &p), 0);
                ck_assert_uint_eq(p->n_types, mdp_host_find_parent(host, m->parent)->n_types);
                ck_assert_int_eq(mdp_type_read_available(ctx, m->parent, m->type_id, &avail), 0);
                ck_assert_int_eq(avail, t->available_instances);
        }
}
END_TEST

/* 09-iommu_groups.txt: "/sys/kernel/iommu_groups/N type=T devices=A B  reserved=R|R|" */
START_TEST(test_fixture_groups)
{
        const char *v = variants[_i];
        _cleanup_free_ char *root = test_unpack_fixture(v);
        _cleanup_free_ char *text = fixture_text(v, "09-iommu_groups.txt");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        char *save = NULL, *line;
        size_t checked = 0;

        ck_assert_ptr_nonnull(text);
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const struct mdp_iommu_group *g;
                _cleanup_(mdp_iommu_group_freep) struct mdp_iommu_group *one = NULL;
                char type[32], *devs, *res, *s2 = NULL, *tok;
                size_t nd = 0, nr = 0;
                int num;

                if (sscanf(line, "/sys/kernel/iommu_groups/%d type=%31s", &num, type) != 2)
                        continue;
                g = mdp_host_find_group(host, num);
                ck_assert_msg(g, "%s: group %d missing", v, num);
                ck_assert_msg(!g->error, "%s", g->error);
                ck_assert_str_eq(g->type, type);
                ck_assert_ptr_null(g->name);
                devs = strstr(line, "devices=") + strlen("devices=");
                res = strstr(line, "  reserved=");
                ck_assert_ptr_nonnull(res);
                *res = '\0';
                res += strlen("  reserved=");
                for (tok = strtok_r(devs, " ", &s2); tok; tok = strtok_r(NULL, " ", &s2)) {
                        ck_assert_uint_lt(nd, g->n_devices);
                        ck_assert_str_eq(g->devices[nd], tok);
                        nd++;
                }
                ck_assert_uint_eq(nd, g->n_devices);
                for (tok = strtok_r(res, "|", &s2); tok; tok = strtok_r(NULL, "|", &s2)) {
                        unsigned long long a, b;
                        char rt[32];

                        ck_assert_int_eq(sscanf(tok, "0x%llx 0x%llx %31s", &a, &b, rt), 3);
                        ck_assert_uint_lt(nr, g->n_reserved_regions);
                        ck_assert_uint_eq(g->reserved_regions[nr].start, a);
                        ck_assert_uint_eq(g->reserved_regions[nr].end, b);
                        ck_assert_str_eq(g->reserved_regions[nr].type, rt);
                        nr++;
                }
                ck_assert_uint_eq(nr, g->n_reserved_regions);
                ck_assert_int_eq(mdp_iommu_group_read(ctx, num, &one), 0);
                ck_assert_str_eq(one->type, g->type);
                ck_assert_uint_eq(one->n_devices, g->n_devices);
                ck_assert_uint_eq(one->n_reserved_regions, g->n_reserved_regions);
                checked++;
        }
        ck_assert_uint_gt(checked, 0);
}
END_TEST

/* Builds <root>/dev from 16-dev-nodes.txt (ls output of /dev/iommu, /dev/vfio and
 * /dev/vfio/devices) and <root>/proc from 02-kernel.txt (uname -a, /proc/cmdline). */
static void build_dev_proc(const char *variant, const char *root, char *release, size_t rsize, char *cmdline,
                           size_t csize, bool *has_iommu, bool *has_cdev_dir)
{
        _cleanup_free_ char *nodes = fixture_text(variant, "16-dev-nodes.txt");
        _cleanup_free_ char *kernel = fixture_text(variant, "02-kernel.txt");
        char *nl;

        ck_assert_ptr_nonnull(nodes);
        ck_assert_ptr_nonnull(kernel);
        test_mkdir(root, "dev/vfio");
        *has_iommu = strstr(nodes, " /dev/iommu\n") && !strstr(nodes, "/dev/iommu: No such file");
        if (*has_iommu)
                test_write(root, "dev/iommu", "");
        if (strstr(nodes, "10, 196"))
                test_write(root, "dev/vfio/vfio", "");
        *has_cdev_dir = !strstr(nodes, "/dev/vfio/devices: No such file") && strstr(nodes, " devices\n");
        if (*has_cdev_dir)
                test_mkdir(root, "dev/vfio/devices");
        ck_assert_int_eq(sscanf(kernel, "Linux (none) %63s", release), 1);
        (void)rsize;
        nl = strchr(kernel, '\n');
        ck_assert_ptr_nonnull(nl);
        snprintf(cmdline, csize, "%s", nl + 1);
        *strchrnul(cmdline, '\n') = '\0';
        test_write(root, "proc/cmdline", cmdline);
        test_write(root, "proc/sys/kernel/osrelease", release);
        /* /proc/cmdline ends in a space and newline; the library drops only newlines */
}

START_TEST(test_fixture_kernel)
{
        const char *v = variants[_i];
        _cleanup_free_ char *root = test_unpack_fixture(v);
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_(mdp_kernel_features_freep) struct mdp_kernel_features *k2 = NULL;
        const struct mdp_kernel_features *k;
        char release[64], cmdline[512];
        bool has_iommu, has_cdev_dir;

        /* The captures hold sysfs only: device-node features cannot be known. */
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        k = mdp_host_kernel(host);
        ck_assert_ptr_nonnull(k);
        ck_assert_int_eq(k->iommufd, MDP_UNKNOWN);
        ck_assert_int_eq(k->vfio_container, MDP_UNKNOWN);
        /* ... but the mdevs' vfio-dev children tell whether VFIO_DEVICE_CDEV is built. */
        ck_assert_int_eq(k->vfio_cdev, _i == CUSTOM_VARIANT ? MDP_YES : MDP_NO);
        ck_assert_ptr_null(k->cmdline);
        ck_assert_ptr_null(k->release);
        host = mdp_host_unref(host);

        build_dev_proc(v, root, release, sizeof(release), cmdline, sizeof(cmdline), &has_iommu,
                       &has_cdev_dir);
        ck_assert_int_eq(has_iommu, _i == CUSTOM_VARIANT);
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        k = mdp_host_kernel(host);
        ck_assert_int_eq(k->iommufd, has_iommu ? MDP_YES : MDP_NO);
        ck_assert_int_eq(k->vfio_container, MDP_YES);
        ck_assert_int_eq(k->vfio_cdev, _i == CUSTOM_VARIANT ? MDP_YES : MDP_NO);
        ck_assert_str_eq(k->cmdline, cmdline);
        ck_assert_str_eq(k->release, release);

        ck_assert_int_eq(mdp_kernel_features_read(ctx, &k2), 0);
        ck_assert_int_eq(k2->iommufd, k->iommufd);
        ck_assert_int_eq(k2->vfio_container, MDP_YES);
        /* Without the mdevs' evidence only /dev/vfio/devices can tell. */
        ck_assert_int_eq(k2->vfio_cdev, has_cdev_dir ? MDP_YES : MDP_UNKNOWN);
        ck_assert_str_eq(k2->release, release);
}
END_TEST

/* ---- hand-made trees ---- */

#define P  "sys/devices/pci0000:00/0000:00:02.0"
#define T  P "/mdev_supported_types/"
#define U1 "93d027d2-1b51-482e-aab4-3da2abd511c0"
#define U2 "cc2a83fb-38a3-4a2a-9b14-a61bd6c96a31"

static void make_type(const char *root, const char *type, const char *avail)
{
        char p[512];

        snprintf(p, sizeof(p), T "%s/name", type);
        test_write(root, p, "GVTg\n");
        snprintf(p, sizeof(p), T "%s/device_api", type);
        test_write(root, p, "vfio-pci\n");
        snprintf(p, sizeof(p), T "%s/create", type);
        test_write(root, p, "");
        snprintf(p, sizeof(p), T "%s/devices", type);
        test_mkdir(root, p);
        if (avail) {
                snprintf(p, sizeof(p), T "%s/available_instances", type);
                test_write(root, p, avail);
        }
}

/* A PCI parent 0000:00:02.0 (i915) with good types, and an mdev U1 in group 7 (a real
 * IOMMU group: no name) plus U2 in a vfio-noiommu group. */
static char *make_tree(void)
{
        char *root = test_mkdtemp("host");

        make_type(root, "i915-GVTg_V5_4", "2\n");
        make_type(root, "i915-GVTg_V5_8", "4\n");
        test_symlink(root, P "/driver", "../../../bus/pci/drivers/i915");
        test_symlink(root, P "/subsystem", "../../../bus/pci");
        test_symlink(root, P "/iommu", "../../virtual/iommu/dmar0");
        test_symlink(root, P "/iommu_group", "../../../kernel/iommu_groups/1");
        test_symlink(root, "sys/class/mdev_bus/0000:00:02.0", "../../devices/pci0000:00/0000:00:02.0");

        test_write(root, P "/" U1 "/remove", "");
        test_symlink(root, P "/" U1 "/mdev_type", "../mdev_supported_types/i915-GVTg_V5_4");
        test_symlink(root, P "/" U1 "/iommu_group", "../../../../kernel/iommu_groups/7");
        test_symlink(root, P "/" U1 "/driver", "../../../../bus/mdev/drivers/vfio_mdev");
        test_symlink(root, T "i915-GVTg_V5_4/devices/" U1, "../../../" U1);
        test_symlink(root, "sys/bus/mdev/devices/" U1, "../../../devices/pci0000:00/0000:00:02.0/" U1);
        test_write(root, "sys/kernel/iommu_groups/7/type", "DMA\n");
        test_write(root, "sys/kernel/iommu_groups/7/reserved_regions", "");
        test_symlink(root, "sys/kernel/iommu_groups/7/devices/" U1,
                     "../../../../devices/pci0000:00/0000:00:02.0/" U1);

        test_write(root, P "/" U2 "/remove", "");
        test_symlink(root, P "/" U2 "/mdev_type", "../mdev_supported_types/i915-GVTg_V5_8");
        test_symlink(root, P "/" U2 "/iommu_group", "../../../../kernel/iommu_groups/8");
        test_mkdir(root, P "/" U2 "/vfio-dev/vfio0");
        test_write(root, P "/" U2 "/vfio-dev/vfio0/dev", "247:0\n");
        test_symlink(root, T "i915-GVTg_V5_8/devices/" U2, "../../../" U2);
        test_symlink(root, "sys/bus/mdev/devices/" U2, "../../../devices/pci0000:00/0000:00:02.0/" U2);
        test_write(root, "sys/kernel/iommu_groups/8/type", "unknown\n");
        test_write(root, "sys/kernel/iommu_groups/8/name", "vfio-noiommu\n");
        test_mkdir(root, "sys/kernel/iommu_groups/8/devices");
        test_symlink(root, "sys/class/vfio/8", "../../devices/virtual/vfio/8");
        return root;
}

START_TEST(test_tree_good)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        const struct mdp_parent *p;
        const struct mdp_mdev *m;

        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        ck_assert_ptr_null(mdp_host_error(host));
        p = mdp_host_find_parent(host, "0000:00:02.0");
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_null(p->error);
        ck_assert_str_eq(p->devpath, "devices/pci0000:00/0000:00:02.0");
        ck_assert_str_eq(p->driver, "i915");
        ck_assert_str_eq(p->subsystem, "pci");
        ck_assert_str_eq(p->pci_address, "0000:00:02.0");
        ck_assert_str_eq(p->iommu, "dmar0");
        ck_assert_int_eq(p->iommu_group, 1);
        ck_assert_uint_eq(p->n_types, 2);
        ck_assert_str_eq(p->types[0].id, "i915-GVTg_V5_4");
        ck_assert_int_eq(p->types[0].available_instances, 2);
        ck_assert_ptr_null(p->types[0].description);
        ck_assert_str_eq(p->types[0].class_basis,
                         "no vendor profile declares type i915-GVTg_V5_4 (driver i915)");

        m = mdp_host_find_mdev(host, U1);
        ck_assert_ptr_nonnull(m);
        ck_assert_ptr_null(m->error);
        ck_assert_str_eq(m->parent, "0000:00:02.0");
        ck_assert_str_eq(m->driver, "vfio_mdev");
        ck_assert_int_eq(m->iommu_group, 7);
        ck_assert_ptr_null(m->group_name);
        ck_assert_str_eq(m->group_type, "DMA");
        ck_assert_ptr_null(m->vfio_group); /* no class/vfio/7 */
        ck_assert_ptr_null(m->vfio_dev);
        ck_assert_int_eq(m->class, MDP_MDEV_EMULATED);
        ck_assert(startswith(m->class_basis, "no vendor profile declares"));

        m = mdp_host_find_mdev(host, U2);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(m->vfio_group, "vfio/8");
        ck_assert_str_eq(m->vfio_dev, "vfio0");
        ck_assert(m->vfio_cdev);
        ck_assert_ptr_null(m->driver);
        ck_assert_str_eq(m->class_basis, "group vfio-noiommu");
        ck_assert_ptr_null(mdp_host_find_mdev(host, "00000000-0000-0000-0000-000000000000"));
}
END_TEST

/* A true no-IOMMU group: /dev/vfio/noiommu-N (IOMMU-SPEC.md §1.4 fact 2). */
START_TEST(test_tree_noiommu_node)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_mdev_freep) struct mdp_mdev *m = NULL;

        test_symlink(root, "sys/class/vfio/noiommu-8", "../../devices/virtual/vfio/noiommu-8");
        {
                _cleanup_free_ char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/sys/class/vfio/8", root), 0);
                ck_assert_int_eq(unlink(p), 0);
        }
        ck_assert_int_eq(mdp_mdev_read(ctx, U2, &m), 0);
        ck_assert_str_eq(m->vfio_group, "vfio/noiommu-8");
}
END_TEST

static const char *declared_type = "i915-GVTg_V5_8";
static char seen_driver[64];

static int test_classifier(void *userdata, const char *driver, const char *type_id, enum mdp_mdev_class *ret,
                           char *basis, size_t size)
{
        ck_assert_ptr_eq(userdata, &declared_type);
        snprintf(seen_driver, sizeof(seen_driver), "%s", strna(driver));
        if (streq(type_id, "fail"))
                return -EIO;
        if (!streq(type_id, declared_type) && !streq(type_id, "i915-GVTg_V5_4"))
                return 0;
        *ret = MDP_MDEV_PASID_GRANULAR;
        snprintf(basis, size, "profile test-%s", type_id);
        return 1;
}

START_TEST(test_classifier_seam)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_(mdp_type_freep) struct mdp_type *t = NULL;
        const struct mdp_mdev *m;
        const struct mdp_type *ht;

        mdp_ctx_set_classifier(ctx, test_classifier, &declared_type);
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        ck_assert_str_eq(seen_driver, "i915");
        ht = mdp_host_find_type(host, "0000:00:02.0", "i915-GVTg_V5_8");
        ck_assert_int_eq(ht->class, MDP_MDEV_PASID_GRANULAR);
        ck_assert_str_eq(ht->class_basis, "profile test-i915-GVTg_V5_8");
        /* U1: group 7 has no name, the profile decides */
        m = mdp_host_find_mdev(host, U1);
        ck_assert_int_eq(m->class, MDP_MDEV_PASID_GRANULAR);
        ck_assert_str_eq(m->class_basis, "profile test-i915-GVTg_V5_4");
        /* U2: the kernel made a vfio-noiommu group, whatever the profile says */
        m = mdp_host_find_mdev(host, U2);
        ck_assert_int_eq(m->class, MDP_MDEV_EMULATED);
        ck_assert_str_eq(m->class_basis, "group vfio-noiommu (overrides profile test-i915-GVTg_V5_8)");

        make_type(root, "fail", "1\n");
        ck_assert_int_eq(mdp_type_read(ctx, "0000:00:02.0", "fail", &t), 0);
        ck_assert_int_eq(t->class, MDP_MDEV_EMULATED);
        ck_assert(startswith(t->class_basis, "vendor profile lookup failed"));
}
END_TEST

static void assert_type_error(struct mdp_ctx *ctx, const char *type, const char *expect)
{
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        const struct mdp_parent *p;
        const struct mdp_type *t;

        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        p = mdp_host_find_parent(host, "0000:00:02.0");
        ck_assert_ptr_nonnull(p);
        t = mdp_parent_find_type(p, type);
        ck_assert_ptr_nonnull(t);
        ck_assert_msg(t->error && strstr(t->error, expect), "type %s: error \"%s\", expected \"%s\"", type,
                      strna(t->error), expect);
        /* the good type and the mdevs still load */
        ck_assert_ptr_null(mdp_parent_find_type(p, "i915-GVTg_V5_4")->error);
        ck_assert_int_eq(mdp_parent_find_type(p, "i915-GVTg_V5_4")->available_instances, 2);
        ck_assert_ptr_nonnull(mdp_host_find_mdev(host, U1));
}

START_TEST(test_bad_available)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *before = NULL, *after = NULL;
        static const struct {
                const char *content, *expect;
                int avail_errno;
        } cases[] = {
                {"abc\n", "available_instances: not a number: \"abc\"", -EBADMSG},
                {"", "available_instances: not a number: \"\"", -EBADMSG},
                {"-1\n", "not a number: \"-1\"", -EBADMSG},
                {"4 \n", "not a number", -EBADMSG},
                {"0x10\n", "not a number", -EBADMSG},
                {"99999999999999999999\n", "number out of range: \"99999999999999999999\"", -ERANGE},
                {"4294967296\n", "number out of range", -ERANGE},
                {"1\n2\n", "not a number: \"1\\n2\"", -EBADMSG},
                {"\x01\x02garbage", "not a number: \"\\x01\\x02garbage\"", -EBADMSG},
        };
        char path[512];

        snprintf(path, sizeof(path), T "i915-GVTg_V5_8/available_instances");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(mdp_type_freep) struct mdp_type *t = NULL;
                unsigned u = 77;

                test_write(root, path, cases[i].content);
                free(before);
                before = test_tree_fingerprint(root);
                assert_type_error(ctx, "i915-GVTg_V5_8", cases[i].expect);
                ck_assert_int_eq(mdp_type_read(ctx, "0000:00:02.0", "i915-GVTg_V5_8", &t), 0);
                ck_assert_int_eq(t->available_instances, -1);
                ck_assert_ptr_nonnull(strstr(t->error,
                                             "/sys/class/mdev_bus/0000:00:02.0/mdev_supported_types/"
                                             "i915-GVTg_V5_8/available_instances"));
                ck_assert(startswith(t->error, root)); /* the host path, MDEVPASID_ROOT included */
                ck_assert_int_eq(mdp_type_read_available(ctx, "0000:00:02.0", "i915-GVTg_V5_8", &u),
                                 cases[i].avail_errno);
                ck_assert_uint_eq(u, 77);
                free(after);
                after = test_tree_fingerprint(root);
                ck_assert_str_eq(before, after); /* reading wrote nothing */
        }
        /* a page of garbage */
        {
                char big[5000];
                memset(big, '7', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                test_write(root, path, big);
                assert_type_error(ctx, "i915-GVTg_V5_8", "available_instances: longer than");
        }
        test_rm_rf(root);
}
END_TEST

START_TEST(test_bad_type_files)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/" T "i915-GVTg_V5_8/available_instances", root), 0);
        ck_assert_int_eq(unlink(p), 0);
        assert_type_error(ctx, "i915-GVTg_V5_8", "available_instances: missing");
        ck_assert_int_eq(mkdir(p, 0755), 0);
        assert_type_error(ctx, "i915-GVTg_V5_8", "available_instances: ");
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/" T "i915-GVTg_V5_8/device_api", root), 0);
        ck_assert_int_eq(unlink(p), 0);
        assert_type_error(ctx, "i915-GVTg_V5_8", "device_api: missing");
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/" T "i915-GVTg_V5_8/devices", root), 0);
        test_rm_rf(p);
        test_write(root, T "i915-GVTg_V5_8/devices", "x");
        assert_type_error(ctx, "i915-GVTg_V5_8", "devices: not a directory");
        /* a file where a type directory belongs */
        test_write(root, T "zz-file", "x");
        assert_type_error(ctx, "zz-file", "zz-file: not a directory");
        /* free-text attributes: too long, or with a NUL byte */
        {
                char big[5000];
                memset(big, 'd', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                test_write(root, T "i915-GVTg_V5_8/description", big);
                assert_type_error(ctx, "i915-GVTg_V5_8", "description: longer than 4096 bytes");
                free(p);
                ck_assert_int_ge(asprintf(&p, "%s/" T "i915-GVTg_V5_8/name", root), 0);
                FILE *f = fopen(p, "we");
                ck_assert_ptr_nonnull(f);
                fwrite("GV\0Tg\n", 1, 6, f);
                fclose(f);
                assert_type_error(ctx, "i915-GVTg_V5_8", "name: contains a NUL byte");
        }
        /* a dangling type link */
        test_symlink(root, T "zz-dangling", "../nowhere");
        assert_type_error(ctx, "zz-dangling", "zz-dangling: dangling link");
        /* non-UUID names in devices/ are not instances */
        test_mkdir(root, T "i915-GVTg_V5_4/devices/not-a-uuid");
        {
                _cleanup_(mdp_type_freep) struct mdp_type *t = NULL;
                ck_assert_int_eq(mdp_type_read(ctx, "0000:00:02.0", "i915-GVTg_V5_4", &t), 0);
                ck_assert_uint_eq(t->n_instances, 1);
        }
        test_rm_rf(root);
}
END_TEST

START_TEST(test_bad_parents)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        const struct mdp_parent *p;

        test_symlink(root, "sys/class/mdev_bus/dangling", "../../devices/nowhere");
        test_write(root, "sys/class/mdev_bus/afile", "x");
        test_mkdir(root, "sys/devices/virtual/notypes/notypes");
        test_symlink(root, "sys/class/mdev_bus/notypes", "../../devices/virtual/notypes/notypes");
        test_mkdir(root, "sys/devices/virtual/ft/ft");
        test_write(root, "sys/devices/virtual/ft/ft/mdev_supported_types", "x");
        test_symlink(root, "sys/devices/virtual/ft/ft/iommu_group", "../../../../kernel/iommu_groups/abc");
        test_write(root, "sys/devices/virtual/ft/ft/driver", "not a link");
        test_symlink(root, "sys/class/mdev_bus/ft", "../../devices/virtual/ft/ft");
        test_symlink(root, "sys/class/mdev_bus/escape", "../../../../../etc");
        before = test_tree_fingerprint(root);

        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        p = mdp_host_find_parent(host, "dangling");
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(strstr(p->error, "class/mdev_bus/dangling: dangling link"));
        ck_assert_uint_eq(p->n_types, 0);
        p = mdp_host_find_parent(host, "afile");
        ck_assert_ptr_nonnull(strstr(p->error, "class/mdev_bus/afile: not a directory"));
        p = mdp_host_find_parent(host, "notypes");
        ck_assert_ptr_nonnull(strstr(p->error, "mdev_supported_types: missing"));
        p = mdp_host_find_parent(host, "ft");
        ck_assert_ptr_nonnull(strstr(p->error, "mdev_supported_types: not a directory"));
        ck_assert_ptr_nonnull(strstr(p->error, "iommu_group: points to \"abc\", not a group number"));
        ck_assert_ptr_nonnull(strstr(p->error, "driver: not a symbolic link"));
        ck_assert_int_eq(p->iommu_group, -1);
        p = mdp_host_find_parent(host, "escape");
        ck_assert_ptr_nonnull(strstr(p->error, "outside the sysfs tree"));
        ck_assert_ptr_null(p->devpath);
        /* the good parent is intact */
        p = mdp_host_find_parent(host, "0000:00:02.0");
        ck_assert_ptr_null(p->error);
        ck_assert_uint_eq(p->n_types, 2);
        after = test_tree_fingerprint(root);
        ck_assert_str_eq(before, after);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_bad_mdevs)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        const struct mdp_mdev *m;
        size_t n;
        static const char *const u3 = "11111111-2222-3333-4444-555555555555";
        static const char *const u4 = "11111111-2222-3333-4444-666666666666";
        static const char *const u5 = "11111111-2222-3333-4444-777777777777";
        static const char *const u6 = "11111111-2222-3333-4444-888888888888";
        char p[512];

        /* non-canonical names are skipped */
        test_symlink(root, "sys/bus/mdev/devices/93D027D2-1B51-482E-AAB4-3DA2ABD511C0", "../../../x");
        test_symlink(root, "sys/bus/mdev/devices/not-a-uuid", "../../../x");
        /* dangling */
        snprintf(p, sizeof(p), "sys/bus/mdev/devices/%s", u3);
        test_symlink(root, p, "../../../devices/pci0000:00/0000:00:02.0/gone");
        /* no mdev_type, iommu_group to garbage, vfio-dev is a file */
        snprintf(p, sizeof(p), P "/%s/iommu_group", u4);
        test_symlink(root, p, "../../../../kernel/iommu_groups/x1");
        snprintf(p, sizeof(p), P "/%s/vfio-dev", u4);
        test_write(root, p, "");
        snprintf(p, sizeof(p), "sys/bus/mdev/devices/%s", u4);
        test_symlink(root, p,
                     "../../../devices/pci0000:00/0000:00:02.0/11111111-2222-3333-4444-666666666666");
        /* a plain directory instead of a link, and a file */
        snprintf(p, sizeof(p), "sys/bus/mdev/devices/%s", u5);
        test_mkdir(root, p);
        snprintf(p, sizeof(p), "sys/bus/mdev/devices/%s", u6);
        test_write(root, p, "x");
        before = test_tree_fingerprint(root);

        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        mdp_host_mdevs(host, &n);
        ck_assert_uint_eq(n, 6);
        m = mdp_host_find_mdev(host, u3);
        ck_assert_ptr_nonnull(strstr(m->error, "dangling link"));
        ck_assert_str_eq(m->parent, "0000:00:02.0");
        m = mdp_host_find_mdev(host, u4);
        ck_assert_ptr_nonnull(strstr(m->error, "mdev_type: missing"));
        ck_assert_ptr_nonnull(strstr(m->error, "iommu_group: points to \"x1\""));
        ck_assert_ptr_nonnull(strstr(m->error, "vfio-dev: not a directory"));
        ck_assert_int_eq(m->iommu_group, -1);
        m = mdp_host_find_mdev(host, u5);
        ck_assert_ptr_nonnull(strstr(m->error, "not a symbolic link"));
        ck_assert_ptr_null(m->parent);
        m = mdp_host_find_mdev(host, u6);
        ck_assert_ptr_nonnull(strstr(m->error, "not a directory"));
        ck_assert_ptr_null(mdp_host_find_mdev(host, U1)->error);
        after = test_tree_fingerprint(root);
        ck_assert_str_eq(before, after);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_bad_groups)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_iommu_group_freep) struct mdp_iommu_group *g = NULL;
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        size_t n;

        test_write(root, "sys/kernel/iommu_groups/7/reserved_regions",
                   "0x00000000fee00000 0x00000000feefffff msi\n"
                   "garbage\n"
                   "0x10 0x0f reserved\n"
                   "0xzz 0x10 msi\n"
                   "0x0000000000000000 0x0000000000ffffff direct-relaxable\n");
        ck_assert_int_eq(mdp_iommu_group_read(ctx, 7, &g), 0);
        ck_assert_uint_eq(g->n_reserved_regions, 2);
        ck_assert_str_eq(g->reserved_regions[1].type, "direct-relaxable");
        ck_assert_uint_eq(g->reserved_regions[1].end, 0xffffff);
        ck_assert_ptr_nonnull(strstr(g->error, "reserved_regions: line 2 is not"));
        ck_assert_ptr_nonnull(strstr(g->error, "line 3"));
        ck_assert_ptr_nonnull(strstr(g->error, "line 4"));
        ck_assert_ptr_null(strstr(g->error, "line 5"));
        ck_assert_ptr_nonnull(strstr(g->error, "\"garbage\""));
        ck_assert_uint_eq(g->n_devices, 1);
        g = mdp_iommu_group_free(g);

        test_write(root, "sys/kernel/iommu_groups/9", "x");
        test_mkdir(root, "sys/kernel/iommu_groups/notanumber");
        ck_assert_int_eq(mdp_iommu_group_read(ctx, 9, &g), 0);
        ck_assert_ptr_nonnull(strstr(g->error, "iommu_groups/9: not a directory"));
        g = mdp_iommu_group_free(g);
        ck_assert_int_eq(mdp_iommu_group_read(ctx, 1234, &g), -ENOENT);
        ck_assert_int_eq(mdp_iommu_group_read(ctx, -1, &g), -EINVAL);
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        mdp_host_groups(host, &n);
        ck_assert_uint_eq(n, 3); /* 7, 8, 9; "notanumber" is not a group */
        ck_assert_int_eq(mdp_host_groups(host, &n)[0].number, 7);
        ck_assert_int_eq(mdp_host_groups(host, &n)[2].number, 9);
}
END_TEST

START_TEST(test_reader_names)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *before = NULL, *after = NULL;
        char longname[400];
        static const char *const bad[] = {"../x", "a/b", ".", "..", "", "a\nb", "/abs", "x/"};
        _cleanup_free_ char **names = NULL;
        size_t n;

        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        before = test_tree_fingerprint(root);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct mdp_parent *p = NULL;
                struct mdp_type *t = NULL;
                unsigned u;

                ck_assert_int_eq(mdp_parent_read(ctx, bad[i], &p), -EINVAL);
                ck_assert_int_eq(mdp_type_read(ctx, "0000:00:02.0", bad[i], &t), -EINVAL);
                ck_assert_int_eq(mdp_type_read(ctx, bad[i], "i915-GVTg_V5_4", &t), -EINVAL);
                ck_assert_int_eq(mdp_type_read_available(ctx, "0000:00:02.0", bad[i], &u), -EINVAL);
                ck_assert_ptr_null(p);
                ck_assert_ptr_null(t);
                ck_assert(!mdp_sysfs_name_is_valid(bad[i]));
        }
        ck_assert(!mdp_sysfs_name_is_valid(NULL));
        ck_assert(!mdp_sysfs_name_is_valid(longname));
        longname[255] = '\0';
        ck_assert(mdp_sysfs_name_is_valid(longname));
        {
                struct mdp_parent *p = NULL;
                struct mdp_mdev *m = NULL;
                struct mdp_type *t = NULL;

                ck_assert_int_eq(mdp_parent_read(ctx, longname, &p), -ENOENT);
                ck_assert_int_eq(mdp_parent_read(ctx, "mtty", &p), -ENOENT);
                ck_assert_int_eq(mdp_type_read(ctx, "0000:00:02.0", "nope", &t), -ENOENT);
                ck_assert_int_eq(mdp_mdev_read(ctx, "93D027D2-1B51-482E-AAB4-3DA2ABD511C0", &m), -EINVAL);
                ck_assert_int_eq(mdp_mdev_read(ctx, "../../../../etc/passwd", &m), -EINVAL);
                ck_assert_int_eq(mdp_mdev_read(ctx, "", &m), -EINVAL);
                ck_assert_int_eq(mdp_mdev_read(ctx, "00000000-0000-0000-0000-000000000000", &m), -ENOENT);
                ck_assert_ptr_null(m);
        }
        ck_assert_int_eq(mdp_parent_list(ctx, &names, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(names[0], "0000:00:02.0");
        ck_assert_ptr_null(names[1]);
        free(names);
        names = NULL;
        ck_assert_int_eq(mdp_mdev_list(ctx, &names, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(names[0], U1);
        ck_assert_str_eq(names[1], U2);
        after = test_tree_fingerprint(root);
        ck_assert_str_eq(before, after);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_empty_and_missing_root)
{
        _cleanup_free_ char *root = test_mkdtemp("host");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_free_ char **names = NULL;
        size_t n = 99;

        /* no sys at all: a wrong MDEVPASID_ROOT */
        ck_assert_int_eq(mdp_host_scan(ctx, &host), -ENOENT);
        ck_assert_ptr_null(host);
        test_mkdir(root, "sys");
        {
                _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx2 = test_ctx(root);
                ck_assert_int_eq(mdp_host_scan(ctx2, &host), 0);
                ck_assert_ptr_null(mdp_host_error(host));
                mdp_host_parents(host, &n);
                ck_assert_uint_eq(n, 0);
                mdp_host_mdevs(host, &n);
                ck_assert_uint_eq(n, 0);
                ck_assert_ptr_null(mdp_host_find_parent(host, "x"));
                ck_assert_ptr_null(mdp_host_find_group(host, 0));
                ck_assert_int_eq(mdp_parent_list(ctx2, &names, &n), 0);
                ck_assert_uint_eq(n, 0);
                ck_assert_ptr_null(names[0]);
                host = mdp_host_unref(host);
                /* a file where the class directory belongs */
                test_write(root, "sys/class/mdev_bus", "x");
                ck_assert_int_eq(mdp_host_scan(ctx2, &host), 0);
                ck_assert_ptr_nonnull(strstr(mdp_host_error(host), "class/mdev_bus: cannot list"));
        }
        test_rm_rf(root);
}
END_TEST

START_TEST(test_scan_parts)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        size_t n;

        ck_assert_int_eq(mdp_host_scan_parts(ctx, MDP_SCAN_MDEVS, &host), 0);
        mdp_host_parents(host, &n);
        ck_assert_uint_eq(n, 0);
        mdp_host_groups(host, &n);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(mdp_host_kernel(host));
        mdp_host_mdevs(host, &n);
        ck_assert_uint_eq(n, 2);
        /* read without the snapshot's groups and parents, the same facts */
        ck_assert_str_eq(mdp_host_find_mdev(host, U2)->group_name, "vfio-noiommu");
        ck_assert_str_eq(mdp_host_find_mdev(host, U1)->class_basis,
                         "no vendor profile declares type i915-GVTg_V5_4 (driver i915)");
        ck_assert_ptr_eq(mdp_host_ref(host), host);
        mdp_host_unref(host);
        host = mdp_host_unref(host);

        /* brief parents: the types without their instances */
        {
                _cleanup_(mdp_host_unrefp) struct mdp_host *full = NULL, *brief = NULL;
                const struct mdp_parent *pf, *pb;

                ck_assert_int_eq(mdp_host_scan_parts(ctx, MDP_SCAN_PARENTS, &full), 0);
                ck_assert_int_eq(mdp_host_scan_parts(ctx, MDP_SCAN_PARENTS | MDP_SCAN_PARENTS_BRIEF, &brief), 0);
                pf = mdp_host_find_parent(full, "0000:00:02.0");
                pb = mdp_host_find_parent(brief, "0000:00:02.0");
                ck_assert(pf && pb && pf->n_types == pb->n_types && pf->n_types > 0);
                for (size_t i = 0; i < pf->n_types; i++) {
                        ck_assert_str_eq(pf->types[i].id, pb->types[i].id);
                        ck_assert_int_eq(pf->types[i].available_instances, pb->types[i].available_instances);
                        ck_assert_uint_eq(pb->types[i].n_instances, 0);
                }
                /* U1 runs as an i915-GVTg_V5_4 */
                ck_assert_uint_gt(mdp_host_find_type(full, "0000:00:02.0", "i915-GVTg_V5_4")->n_instances, 0);
        }
        /* brief: the same devices with their parent and type, and nothing else read */
        ck_assert_int_eq(mdp_host_scan_parts(ctx, MDP_SCAN_MDEVS | MDP_SCAN_MDEVS_BRIEF, &host), 0);
        mdp_host_mdevs(host, &n);
        ck_assert_uint_eq(n, 2);
        for (size_t i = 0; i < 2; i++) {
                const struct mdp_mdev *m = mdp_host_find_mdev(host, i == 0 ? U1 : U2);

                ck_assert_str_eq(m->parent, "0000:00:02.0");
                ck_assert_ptr_nonnull(m->type_id);
                ck_assert_ptr_null(m->driver);
                ck_assert_ptr_null(m->group_name);
                ck_assert_ptr_null(m->vfio_dev);
                ck_assert_int_eq(m->iommu_group, -1);
        }
        test_rm_rf(root);
}
END_TEST

static Suite *host_suite(void)
{
        Suite *s = suite_create("host");
        TCase *tc;

        tc = tcase_create("fixtures");
        tcase_add_loop_test(tc, test_fixture_parents_types, 0, ELEMENTSOF(variants));
        tcase_add_loop_test(tc, test_fixture_mdevs, 0, ELEMENTSOF(variants));
        tcase_add_loop_test(tc, test_fixture_groups, 0, ELEMENTSOF(variants));
        tcase_add_loop_test(tc, test_fixture_kernel, 0, ELEMENTSOF(variants));
        suite_add_tcase(s, tc);

        tc = tcase_create("trees");
        tcase_add_test(tc, test_tree_good);
        tcase_add_test(tc, test_tree_noiommu_node);
        tcase_add_test(tc, test_classifier_seam);
        tcase_add_test(tc, test_scan_parts);
        suite_add_tcase(s, tc);

        tc = tcase_create("bad-input");
        tcase_add_test(tc, test_bad_available);
        tcase_add_test(tc, test_bad_type_files);
        tcase_add_test(tc, test_bad_parents);
        tcase_add_test(tc, test_bad_mdevs);
        tcase_add_test(tc, test_bad_groups);
        tcase_add_test(tc, test_reader_names);
        tcase_add_test(tc, test_empty_and_missing_root);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(host_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
