/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* mdp-kernel-sim internals: a model of the kernel's mdev core, VFIO and the sample drivers
 * over a umockdev testbed (TESTING.md layer 7 §4 is the reference for every behaviour). */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct sim;
struct sim_parent;

typedef void (*sim_done_fn)(struct sim *s, int error, void *userdata);

/* Capacity shared by types: the sample drivers share one pool per parent (mtty: 24 ports,
 * mtty-N takes N; mbochs: 256 MB, a type takes its video memory; mdpy: 4 devices); other
 * parents get one pool per type (cost 1). available_instances = (total - used) / cost. */
struct sim_pool {
        long total;
        long used;
};

struct sim_type {
        struct sim_parent *parent;
        char *id;          /* directory name, "mtty-2" */
        char *name;        /* contents of "name" (NULL when absent) */
        char *description; /* NULL when absent (mtty) */
        char *device_api;
        long cost;
        struct sim_pool *pool; /* the parent's shared pool or own_pool */
        struct sim_pool own_pool;
        char **mdev_attrs; /* writable attributes its new mdevs get ("attrs" command), or NULL */
};

struct sim_parent {
        struct sim *sim;
        char *name;      /* entry in class/mdev_bus: "mtty", "0000:00:02.0" */
        char *devpath;   /* relative to sys: "devices/virtual/mtty/mtty" */
        char *subsystem; /* "mtty" (class of a virtual device), "pci", ... */
        bool is_virtual; /* devices/virtual/<class>/<name>: the driver's own device */
        char *mdev_driver; /* bus/mdev/drivers/<x> the mdevs bind to */
        bool registered;
        bool unregistering;
        bool shared_pool;
        struct sim_pool pool;
        /* struct sim_type *, kept while unregistered for register; read from the tree on first
         * use (sim_parent_types()): 10,000 SR-IOV parents have 160,000 types */
        bool types_loaded;
        GPtrArray *types;
        GPtrArray *children; /* struct sim_mdev * on this parent */
};

struct sim_waiter {
        sim_done_fn fn;
        void *userdata;
};

struct sim_mdev {
        char *uuid;
        char *devpath;
        struct sim_parent *parent;
        char *type_id;          /* the mdev_type link's name */
        struct sim_type *type;  /* NULL until the parent's types are loaded */
        int group;        /* iommu group id, -1 if none */
        int vfio_minor;   /* minor of /dev/vfio/<group>, -1 if no vfio group device */
        int vfio_dev;     /* vfio-dev/vfio<N>, -1 if none */
        int hold;         /* VFIO users holding the device: remove blocks while > 0 */
        bool removing;
        bool delay_pending;
        guint delay_source;
        GArray *waiters; /* struct sim_waiter: told when the removal completed */
};

/* One-shot or repeated faults (count 0 = until cleared). */
enum sim_fault_kind {
        FAULT_FAIL_CREATE,   /* create fails with errno */
        FAULT_GHOST_CREATE,  /* create succeeds, nothing appears */
        FAULT_DELAY_REMOVE,  /* remove takes delay_ms */
        FAULT_VANISH_BEFORE, /* the parent unregisters as a create starts: ENODEV */
        FAULT_VANISH_AFTER,  /* the parent unregisters right after a create succeeded */
};

struct sim_fault {
        enum sim_fault_kind kind;
        char *match; /* "parent", "parent/type", a UUID or NULL for any */
        int error;
        long delay_ms;
        int remaining; /* 0 = unlimited */
};

struct sim_bitmap {
        GByteArray *bits;
};

struct sim {
        char *root; /* the testbed (UMOCKDEV_DIR = MDEVPASID_ROOT) */
        char *sys;  /* <root>/sys */
        char *capture_dir; /* the real-kernel capture the tree came from, or NULL */

        GHashTable *parents;         /* name -> struct sim_parent * (owned) */
        GHashTable *parent_by_path;  /* devpath -> struct sim_parent * */
        GHashTable *mdevs;           /* uuid -> struct sim_mdev * (owned) */
        GHashTable *mdev_by_path;    /* devpath -> struct sim_mdev * */
        GHashTable *pinned;          /* relpath -> TRUE: garbage the sim must not overwrite */
        GPtrArray *faults;           /* struct sim_fault * */

        struct sim_bitmap groups;     /* iommu group ids in use */
        struct sim_bitmap vfio_minors;
        struct sim_bitmap vfio_devs;
        unsigned vfio_major;
        bool vfio_cdev; /* IOMMUFD kernel: vfio-dev/vfioN is a char device too */
        unsigned vfio_cdev_major;

        uint64_t seqnum;
        GHashTable *listeners; /* socket path -> struct sim_listener * */
        GString *event_log;
        GString *write_log;
        unsigned long events_sent;
        unsigned long events_queued;
        bool verbose;
};

/* sim-tree.c: the testbed tree */
char *sim_path(struct sim *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
int sim_write(struct sim *s, const char *rel, const char *content, unsigned mode);
int sim_write_attr(struct sim *s, const char *rel, const char *content); /* respects pins */
char *sim_read(struct sim *s, const char *rel);
int sim_mkdir(struct sim *s, const char *rel);
int sim_link(struct sim *s, const char *link_rel, const char *target_rel);
int sim_unlink(struct sim *s, const char *rel);
int sim_rm_rf(struct sim *s, const char *rel);
bool sim_exists(struct sim *s, const char *rel);
char *sim_canonical(struct sim *s, const char *rel); /* realpath, relative to sys */
char *sim_link_basename(struct sim *s, const char *rel);
char *sim_kernfs_relpath(const char *link_dir, const char *target);
int sim_load(struct sim *s, GError **error);
int sim_dev_node(struct sim *s, const char *node, unsigned major, unsigned minor, unsigned mode);
void sim_dev_node_remove(struct sim *s, const char *node);
void sim_bitmap_set(struct sim_bitmap *b, unsigned i, bool on);
bool sim_bitmap_test(struct sim_bitmap *b, unsigned i);
unsigned sim_bitmap_lowest_free(struct sim_bitmap *b);
void sim_type_update_available(struct sim *s, struct sim_type *t);
void sim_pool_update_available(struct sim *s, struct sim_parent *p, struct sim_pool *pool);
long sim_type_available(struct sim_type *t);
GPtrArray *sim_parent_types(struct sim_parent *p); /* loads them on first use */
struct sim_type *sim_parent_type(struct sim_parent *p, const char *id);
void sim_parent_add_child(struct sim_parent *p, struct sim_mdev *m);
void sim_parent_remove_child(struct sim_parent *p, struct sim_mdev *m);
char *sim_resolve_link(struct sim *s, const char *rel); /* lexically: sysfs links are canonical */
void sim_parent_free(struct sim_parent *p);
void sim_mdev_free(struct sim_mdev *m);

/* sim-uevent.c: uevents to the monitors of processes under the umockdev preload */
void sim_uevent(struct sim *s, const char *action, const char *devpath, const char *subsystem, ...)
        G_GNUC_NULL_TERMINATED;
void sim_uevent_props(struct sim *s, const char *action, const char *devpath, const char *subsystem,
                      char **props);
void sim_listeners_free(struct sim *s);

/* sim-kernel.c: what the kernel does */
int sim_store(struct sim *s, const char *rel, const char *data, size_t len, sim_done_fn fn, void *userdata,
              long *ret_count);
int sim_create(struct sim *s, struct sim_parent *p, struct sim_type *t, const char *uuid);
void sim_mdev_remove(struct sim *s, struct sim_mdev *m, sim_done_fn fn, void *userdata);
int sim_hold(struct sim *s, const char *uuid, bool on);
void sim_parent_unregister(struct sim *s, struct sim_parent *p, sim_done_fn fn, void *userdata);
int sim_parent_register(struct sim *s, struct sim_parent *p);
int sim_sriov_link(struct sim *s, const char *pf, const char *vf);
bool sim_uuid_valid(const char *str, size_t len);
const struct sim_fault *sim_fault_take(struct sim *s, enum sim_fault_kind kind, const char *parent,
                                       const char *type, const char *uuid);
void sim_fault_free(struct sim_fault *f);
int sim_errno_from_name(const char *name);
const char *sim_errno_name(int e);
