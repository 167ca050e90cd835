/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host model (IOMMU-SPEC.md §1, §2, §3, §7): what sysfs says about mdev parents and
 * their types, the live mdevs, IOMMU instances and groups, PCI functions and kernel
 * features.
 *
 * Two ways in:
 *  - a snapshot, mdp_host_scan(), for one-shot readers such as the CLI: ref-counted,
 *    immutable, sorted arrays with lookups by name / UUID / number;
 *  - per-object readers (mdp_parent_read(), mdp_mdev_read(), ...) for the daemon, which
 *    refreshes only what a udev event names. They do not need a snapshot.
 *
 * Records are plain read-only data. Records returned by a reader are freed with their
 * _free(); the records of a snapshot belong to the snapshot and live as long as it does.
 * A string field is NULL when sysfs does not have it. Problems in what sysfs shows
 * (garbage, a missing required file, a dangling link, a file where a directory belongs)
 * never fail a scan: the record carries an `error` sentence naming the file, and the rest
 * of the host still loads. All paths are read relative to the context's sysfs root
 * (MDEVPASID_ROOT); links are read as text (readlink) and never resolved with realpath. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "types.h"
#include "util/macro.h"
#include "util/uuid.h"

/* One mdev type: /sys/class/mdev_bus/<parent>/mdev_supported_types/<id>/ (§1.1). */
struct mdp_type {
        char *id;                    /* directory name, "<parent driver>-<name>": "mtty-2" */
        char *name;                  /* "Dual port serial"; NULL when the file is absent (optional) */
        char *description;           /* NULL when the driver has none (mtty) */
        char *device_api;            /* "vfio-pci"; NULL when unreadable (see error) */
        int64_t available_instances; /* -1 when missing or not a number (see error) */
        char **instances;            /* UUIDs listed in devices/, sorted */
        size_t n_instances;
        enum mdp_mdev_class class; /* §1.4: emulated unless a vendor profile declares it */
        char *class_basis;         /* why: "no vendor profile declares ...", "profile X" */
        char *error;               /* NULL when everything read cleanly */
        char *_pool;
};

/* One mdev parent: an entry of /sys/class/mdev_bus. */
struct mdp_parent {
        char *name;             /* entry name: "0000:00:02.0", "mtty" */
        char *devpath;          /* device path relative to the sysfs root: "devices/virtual/mtty/mtty" */
        char *driver;           /* basename of the driver link; NULL when unbound or virtual */
        char *subsystem;        /* basename of the subsystem link: "pci", "mtty"; NULL when absent */
        char *pci_address;      /* set when the parent is a PCI function */
        char *iommu;            /* IOMMU instance (basename of the iommu link): "dmar0"; NULL when none */
        int iommu_group;        /* -1 when the parent has no iommu_group link */
        struct mdp_type *types; /* sorted by id */
        size_t n_types;
        char *error;
        char *_pool;
};
/* The name type ids are built from (dev_driver_string()): the driver, else the subsystem.
 * NULL when sysfs shows neither. This is what vendor profiles key on. */
const char *mdp_parent_driver_string(const struct mdp_parent *p);
const struct mdp_type *mdp_parent_find_type(const struct mdp_parent *p, const char *type_id);

/* One live mdev: /sys/bus/mdev/devices/<uuid>. */
struct mdp_mdev {
        char uuid[MDP_UUID_STRING_MAX];
        char *parent;     /* parent name, from the link target (its directory's basename) */
        char *type_id;    /* basename of the mdev_type link; NULL when the link is missing */
        char *devpath;    /* relative to the sysfs root: "devices/virtual/mtty/mtty/<uuid>" */
        char *driver;     /* vendor mdev driver bound to it; NULL before bind */
        int iommu_group;  /* -1 when none */
        char *group_name; /* the group's name: "vfio-noiommu" for emulated groups (§1.4) */
        char *group_type; /* the group's default domain type: "unknown" for emulated groups */
        char *vfio_group; /* group node relative to /dev: "vfio/4", "vfio/noiommu-4"; NULL when none */
        char *vfio_dev;   /* vfio-dev device name: "vfio3"; NULL when none */
        bool vfio_cdev;   /* vfio-dev/<name>/dev exists: /dev/vfio/devices/<name> is a char device */
        enum mdp_mdev_class class;
        char *class_basis; /* "group vfio-noiommu", "no vendor profile declares ...", "profile X" */
        char *error;
        char *_pool;
};

/* A reserved region of an IOMMU group (§2.6): "0x%016llx 0x%016llx <type>". */
struct mdp_reserved_region {
        uint64_t start, end; /* inclusive */
        char type[24];       /* "direct", "direct-relaxable", "reserved", "msi", ... */
};

/* /sys/kernel/iommu_groups/<N> (§2.6). */
struct mdp_iommu_group {
        int number;
        char *type;     /* default domain type: "DMA", "DMA-FQ", "identity", "unknown"; NULL if missing */
        char *name;     /* "vfio-noiommu"; NULL when the group has no name (most groups) */
        char **devices; /* member device names (PCI addresses, mdev UUIDs), sorted */
        size_t n_devices;
        struct mdp_reserved_region *reserved_regions;
        size_t n_reserved_regions;
        char *error;
        char *_pool;
};

/* One IOMMU instance: /sys/class/iommu/<name> (§2.1). The family follows from the name;
 * regs holds the raw registers sysfs shows (VT-d intel-iommu/{cap,ecap,version}, AMD
 * amd-iommu/{cap,features}; SMMUv3 shows none, §2.4) for lib/iommu-decode.h. A register
 * set that could not be read leaves its *_valid false (and error says why, unless sysfs
 * simply has none). */
struct mdp_iommu {
        char *name; /* "dmar0", "ivhd0", "smmu3.0x0000000009050000" */
        enum mdp_iommu_family family;
        char *devpath; /* relative to the sysfs root; NULL for a plain directory */
        struct mdp_iommu_regs regs;
        char **devices; /* member devices (devices/), sorted */
        size_t n_devices;
        char *error;
        char *_pool;
};

/* One PCI function: /sys/bus/pci/devices/<address> (§2.1, §3). Links are read as text
 * (basenames of their targets), never resolved. */
struct mdp_pci_device {
        char *address; /* "0000:00:02.0" */
        char *devpath; /* relative to the sysfs root; NULL for a plain directory */
        uint16_t vendor, device, subsystem_vendor, subsystem_device; /* 0 when unreadable (see error) */
        uint32_t class;                                              /* 24-bit class code: 0x030000 */
        uint8_t revision;
        char *driver;    /* NULL when unbound */
        char *iommu;     /* IOMMU instance; NULL when none */
        int iommu_group; /* -1 when none: normal for unbound devices on arm64 DT (TESTING.md layer 7 §6) */
        int config_size; /* bytes of config read (64 unprivileged, 256, 4096); -1 when not read */
        struct mdp_pci_caps caps;         /* unknown unless config was read in full (§3.1) */
        int sriov_totalvfs, sriov_numvfs; /* -1 unless the device is an SR-IOV PF */
        char **virtfns;                   /* VF addresses, by virtfn index */
        size_t n_virtfns;
        char *physfn; /* the PF's address for a VF, else NULL */
        char *error;
        char *_pool;
};

/* Kernel features that decide the VFIO/iommufd paths (IOMMU-SPEC.md §7 step 6). yes/no
 * when the file system could tell, unknown when it could not (e.g. no /dev in a capture). */
struct mdp_kernel_features {
        enum mdp_tristate iommufd;        /* /dev/iommu */
        enum mdp_tristate vfio_cdev;      /* vfio-dev devices have char devices (VFIO_DEVICE_CDEV) */
        enum mdp_tristate vfio_container; /* /dev/vfio/vfio: legacy type1 container */
        char *cmdline;                    /* /proc/cmdline; NULL when unreadable */
        char *release;                    /* /proc/sys/kernel/osrelease; NULL when unreadable */
        char *_pool;
};

/* ---- per-object readers (daemon) ----
 * Each returns 0 and a new record, -EINVAL for a name that is not a valid sysfs entry name
 * (mdp_sysfs_name_is_valid(); for UUIDs: not canonical), -ENOENT when the object does not
 * exist, -ENOMEM. Problems inside an existing object are reported in its error field. */

/* One parent with all its types. */
int mdp_parent_read(struct mdp_ctx *ctx, const char *name, struct mdp_parent **ret);
struct mdp_parent *mdp_parent_free(struct mdp_parent *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_parent *, mdp_parent_free)

/* One type of one parent. */
int mdp_type_read(struct mdp_ctx *ctx, const char *parent, const char *type_id, struct mdp_type **ret);
struct mdp_type *mdp_type_free(struct mdp_type *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_type *, mdp_type_free)
/* Only available_instances: -EBADMSG when it is not a number, -ERANGE when too large. */
int mdp_type_read_available(struct mdp_ctx *ctx, const char *parent, const char *type_id, unsigned *ret);

/* One mdev by canonical UUID. */
int mdp_mdev_read(struct mdp_ctx *ctx, const char *uuid, struct mdp_mdev **ret);
struct mdp_mdev *mdp_mdev_free(struct mdp_mdev *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_mdev *, mdp_mdev_free)

/* One IOMMU group by number. */
int mdp_iommu_group_read(struct mdp_ctx *ctx, int number, struct mdp_iommu_group **ret);
struct mdp_iommu_group *mdp_iommu_group_free(struct mdp_iommu_group *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_iommu_group *, mdp_iommu_group_free)

/* One IOMMU instance by name. */
int mdp_iommu_read(struct mdp_ctx *ctx, const char *name, struct mdp_iommu **ret);
struct mdp_iommu *mdp_iommu_free(struct mdp_iommu *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_iommu *, mdp_iommu_free)

/* One PCI function by address. read_config reads and walks config (§3): reading it can
 * wake a runtime-suspended device, so callers that need only ids and links say false. */
int mdp_pci_device_read(struct mdp_ctx *ctx, const char *address, bool read_config,
                        struct mdp_pci_device **ret);
struct mdp_pci_device *mdp_pci_device_free(struct mdp_pci_device *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_pci_device *, mdp_pci_device_free)

int mdp_kernel_features_read(struct mdp_ctx *ctx, struct mdp_kernel_features **ret);
struct mdp_kernel_features *mdp_kernel_features_free(struct mdp_kernel_features *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_kernel_features *, mdp_kernel_features_free)

/* Names of the current parents (class/mdev_bus) and live mdevs (canonical UUIDs in
 * bus/mdev/devices), sorted; a NULL-terminated array freed with free(). An absent
 * directory is an empty list. */
int mdp_parent_list(struct mdp_ctx *ctx, char ***ret, size_t *ret_n);
int mdp_mdev_list(struct mdp_ctx *ctx, char ***ret, size_t *ret_n);

/* A sysfs entry name the library accepts from callers: one path component, not "." or
 * "..", no '/', no control characters, at most 255 bytes (NAME_MAX). */
bool mdp_sysfs_name_is_valid(const char *name);

/* ---- snapshot (CLI) ---- */
struct mdp_host;

enum mdp_scan_part {
        MDP_SCAN_PARENTS = 1 << 0, /* parents and their types */
        MDP_SCAN_MDEVS = 1 << 1,
        MDP_SCAN_GROUPS = 1 << 2,
        MDP_SCAN_KERNEL = 1 << 3,
        MDP_SCAN_IOMMUS = 1 << 4,
        MDP_SCAN_PCI = 1 << 5,        /* PCI functions: ids, links, SR-IOV */
        MDP_SCAN_PCI_CONFIG = 1 << 6, /* ... and their config space (with MDP_SCAN_PCI) */
        MDP_SCAN_ALL = (1 << 7) - 1,
        /* With MDP_SCAN_MDEVS: each mdev's parent and type only (what mdevctl's list shows),
         * not its driver, IOMMU group, VFIO nodes or class: 2 links a device instead of
         * about 12 file operations, which decides `list` at 1,000 mdevs (bench/). */
        MDP_SCAN_MDEVS_BRIEF = 1 << 7,
        /* With MDP_SCAN_PARENTS: the types without their live instances (what mdevctl's
         * types shows): no listing of each type's devices/. */
        MDP_SCAN_PARENTS_BRIEF = 1 << 8,
};

/* Reads everything (mdp_host_scan) or only the parts asked for; what was not asked for is
 * empty. Fails only when the sysfs root cannot be opened (-ENOENT: check MDEVPASID_ROOT)
 * or memory runs out; unreadable parts are reported by mdp_host_error(). */
int mdp_host_scan(struct mdp_ctx *ctx, struct mdp_host **ret);
int mdp_host_scan_parts(struct mdp_ctx *ctx, unsigned parts, struct mdp_host **ret);
/* Reads only what a plan of these units looks at (lib/plan-input.h), so that its cost does
 * not grow with the host: the named mdevs (canonical UUIDs) and PCI functions (sysfs
 * names), their parents with types, IOMMU groups and every group member that is a PCI
 * function, IOMMU instances, a parent's PCI function and a VF's PF, and kernel features.
 * others: mdevs other VMs hold; read (the records alone) only when one of the mdevs is
 * PASID-granular, whose sharing facts compare parents (§6.2). Names that do not exist are
 * simply absent from the snapshot, as in mdp_host_scan(); every record read is the one
 * mdp_host_scan() would hold. mdp_host_error() is always NULL: no directory is listed
 * (except bus/mdev/devices when kernel features need an mdev's vfio-dev to decide). */
int mdp_host_scan_units(struct mdp_ctx *ctx, const char *const *mdevs, size_t n_mdevs,
                        const char *const *pci, size_t n_pci, const char *const *others, size_t n_others,
                        struct mdp_host **ret);
struct mdp_host *mdp_host_ref(struct mdp_host *h);
struct mdp_host *mdp_host_unref(struct mdp_host *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_host *, mdp_host_unref)

/* Sorted arrays owned by the snapshot. */
const struct mdp_parent *mdp_host_parents(const struct mdp_host *h, size_t *ret_n);         /* by name */
const struct mdp_mdev *mdp_host_mdevs(const struct mdp_host *h, size_t *ret_n);             /* by UUID */
const struct mdp_iommu_group *mdp_host_groups(const struct mdp_host *h, size_t *ret_n);     /* by number */
const struct mdp_iommu *mdp_host_iommus(const struct mdp_host *h, size_t *ret_n);           /* by name */
const struct mdp_pci_device *mdp_host_pci_devices(const struct mdp_host *h, size_t *ret_n); /* by address */
/* NULL unless MDP_SCAN_KERNEL was asked for. */
const struct mdp_kernel_features *mdp_host_kernel(const struct mdp_host *h);
/* Problems with whole directories ("/sys/class/mdev_bus: Permission denied"), NULL if none. */
const char *mdp_host_error(const struct mdp_host *h);

/* Lookups (binary search); NULL when absent. */
const struct mdp_parent *mdp_host_find_parent(const struct mdp_host *h, const char *name);
const struct mdp_type *mdp_host_find_type(const struct mdp_host *h, const char *parent, const char *type_id);
const struct mdp_mdev *mdp_host_find_mdev(const struct mdp_host *h, const char *uuid);
const struct mdp_iommu_group *mdp_host_find_group(const struct mdp_host *h, int number);
const struct mdp_iommu *mdp_host_find_iommu(const struct mdp_host *h, const char *name);
const struct mdp_pci_device *mdp_host_find_pci_device(const struct mdp_host *h, const char *address);
