/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* mdevpasidd's manager: owns the event loop, the bus connection, the udev monitor and the
 * model of parents and devices (STYLE.md "Layout": a manager owning sd-event, sd-bus and
 * udev; bus vtables, udev handling and operations in their own files).
 *
 * Threads: everything here runs on the event loop thread. Blocking sysfs writes (create,
 * remove, attributes) run in worker threads (worker.h) that touch only their own job. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "ctx.h"
#include "definition.h"
#include "host.h"
#include "policy.h"
#include "profile.h"
#include "state.h"
#include "util/hashmap.h"
#include "util/strbuf.h"

struct authz_query;
struct manager;
struct op;
struct udev_watch;
struct worker;

enum device_state {
        DEVICE_INACTIVE,
        DEVICE_STARTING,
        DEVICE_ACTIVE,
        DEVICE_STOPPING,
        _DEVICE_STATE_MAX,
};
const char *device_state_to_string(enum device_state s);

enum device_owner {
        OWNER_MDEVPASID, /* started or created through this daemon (state.json) */
        OWNER_MDEVCTL,   /* defined in /etc/mdevctl.d, started by someone else (or not running) */
        OWNER_FOREIGN,   /* active and defined by nobody: left alone */
        _OWNER_MAX,
};
const char *device_owner_to_string(enum device_owner o);

struct parent {
        struct manager *manager;
        char *name;
        char *path; /* D-Bus object path */
        struct mdp_parent *record;
        /* The PCI function of a PCI parent (NULL otherwise, or when it does not read): its
         * SR-IOV state (sriov_numvfs, virtfnN, physfn), re-read with the record, so a PF's
         * "change" uevent (VFs enabled or disabled) shows in Vfs/SriovNumVfs (issue 4). */
        struct mdp_pci_device *pci;
        /* Capacity: create writes on one parent run one at a time, so each sees the
         * available_instances the previous one left (mtty's types share one pool). */
        struct op *create_running;
        struct op *create_queue_head, *create_queue_tail;
        unsigned generation; /* bumped at each registration: autostart runs once per generation */
};

struct device {
        struct manager *manager;
        char uuid[MDP_UUID_STRING_MAX];
        char *path;
        /* Live mdev, NULL when not active. Points to mdev_owned or into manager->snapshot. */
        const struct mdp_mdev *mdev;
        struct mdp_mdev *mdev_owned;
        struct mdp_definition **defs; /* sorted by parent */
        size_t n_defs;
        enum device_state state;
        struct op *op; /* the operation in progress, at most one per device */
        char *last_error;
        bool exported; /* InterfacesAdded was sent (or the object existed at start-up) */
        bool foreign_logged;
        /* autostart (autostart.c) */
        unsigned autostart_generation; /* parent generation this device was autostarted for */
        unsigned autostart_attempts;
        char *autostart_parent;
        sd_event_source *autostart_timer;
        char *autostart_warning; /* the final failure, shown in Warnings until it starts */
        bool autostart_running;  /* an autostart's start operation is in flight */
};

/* The effective settings: mdevpasid.conf (lib/policy.h), each overridden by the command
 * line when given there (the bit in `set`). */
enum {
        OPT_START_TIMEOUT = 1 << 0,
        OPT_STOP_TIMEOUT = 1 << 1,
        OPT_AUTOSTART_ATTEMPTS = 1 << 2,
        OPT_AUTOSTART_DELAY = 1 << 3,
        OPT_LOG_LEVEL = 1 << 4,
};
struct manager_options {
        unsigned set;                /* OPT_* given on the command line */
        unsigned start_timeout_ms;   /* create until the device is present and bound */
        unsigned stop_timeout_ms;    /* remove until Busy is reported */
        bool autostart;              /* autostart.enabled */
        unsigned autostart_attempts; /* tries per device and parent registration, first included */
        unsigned autostart_delay_ms; /* first retry delay; doubles each time */
        unsigned autostart_delay_max_ms;
        int log_level;
};
void manager_options_default(struct manager_options *o);
/* o's values not set on the command line, from the configuration. */
void manager_options_apply_config(struct manager_options *o, const struct mdp_daemon_config *c);

struct manager {
        sd_event *event;
        sd_bus *bus;
        bool bus_ready; /* objects registered and name requested: signals are sent */
        struct mdp_ctx *ctx;
        int lock_fd; /* <runtime dir>/mdevpasidd.lock, flock()ed while we run; -1 if not */
        /* Snapshot answers by section set, kept while only read-only calls are dispatched
         * (bus-manager.c, "snapshot cache"). */
        struct strbuf snapshot_cache[16]; /* by section mask; buf NULL: not cached */
        bool dispatch_read_only; /* the event just dispatched was a read-only method call */
        sd_event_source *snapshot_post;
        sd_event_source *autostart_defer; /* AutostartProgress changed: PropertiesChanged soon */
        struct manager_options options;
        struct mdp_policy *policy; /* mdevpasid.conf and policy.d */
        struct udev_watch *udev;
        struct worker *worker;

        struct hashmap *parents;   /* name -> struct parent */
        struct hashmap *devices;   /* uuid -> struct device */
        struct mdp_host *snapshot; /* coldplug records that devices still point into */

        struct mdp_state *state;
        struct hashmap *vms;           /* name -> struct vm (vms.c) */
        struct hashmap *pasid_parents; /* parent -> struct pasid_parent (vms.c) */
        bool state_readonly; /* state.json is from a newer version: never overwritten */
        struct mdp_profiles *profiles;
        struct mdp_kernel_features *kernel;
        struct mdp_host *iommus; /* IOMMU instances (Manager.Iommus), read at start and reload */

        /* Warnings (Manager.Warnings) come from these lists and the devices. */
        char **definition_problems; /* "path: reason" of skipped definition files */
        char **notices;             /* one-time events: recovered operations, state problems */
        char **warnings;            /* the last value sent, to emit only changes */
        unsigned n_foreign;
        unsigned generation; /* last parent registration number handed out */

        /* start-up */
        unsigned initial_autostarts; /* first attempts still running before READY=1 */
        bool startup_done;
        bool ready_sent;
        bool reloading;
        sd_event_source *warnings_defer;

        struct authz_query *authz_queries; /* calls parked while polkit decides (authz.c) */
};

/* manager.c */
int manager_new(const struct manager_options *options, struct manager **ret);
struct manager *manager_free(struct manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manager *, manager_free)
/* Coldplug, reconcile, bus, autostart; READY=1 follows once the first autostarts finish. */
int manager_startup(struct manager *m);
int manager_run(struct manager *m);
/* Reload (SIGHUP and the Reload method): configuration and policy, vendor profiles,
 * definitions, and a resync with sysfs. A bad configuration, policy or profile file changes
 * nothing (the previous ones stay) and *ret_error names the file. */
int manager_reload(struct manager *m, char **ret_error);
/* Persists the state file; logs failures. */
int manager_save_state(struct manager *m);
void manager_add_notice(struct manager *m, char *sentence); /* takes ownership */
/* Recomputes Warnings soon (once per loop iteration) and emits it when it changed. */
void manager_warnings_dirty(struct manager *m);
char **manager_compute_warnings(struct manager *m);
/* Called when an initial autostart attempt ended. */
void manager_initial_autostart_done(struct manager *m);
uint64_t now_realtime_usec(void);

/* model.c: the objects and their change signals */
struct parent *manager_get_parent(struct manager *m, const char *name);
struct device *manager_get_device(struct manager *m, const char *uuid);
/* A device object for uuid, created (not yet exported) when missing. */
int manager_ensure_device(struct manager *m, const char *uuid, struct device **ret);
/* Re-reads one parent (registration, unregistration, change). */
int manager_refresh_parent(struct manager *m, const char *name, bool *ret_registered);
/* Re-reads one mdev (add, bind, unbind, remove) and its parent's available instances. */
int manager_refresh_mdev(struct manager *m, const char *uuid);
/* Drops a parent from the model (it unregistered), whatever sysfs shows now. */
void manager_forget_parent(struct manager *m, const char *name);
/* Re-reads available_instances of every type of a parent. */
void manager_refresh_available(struct manager *m, const char *parent);
/* Re-reads the definitions of one UUID from /etc/mdevctl.d (mdevctl may have changed
 * them behind our back). */
int manager_refresh_definitions(struct manager *m, const char *uuid);
/* Full scan of /etc/mdevctl.d. */
int manager_load_definitions(struct manager *m);
/* Replaces the definition of (uuid, parent) in the model (d NULL: removes it); the caller
 * has written or removed the file already. */
int manager_set_definition(struct manager *m, const char *uuid, const char *parent,
                           struct mdp_definition *d);

/* Change tracking: take a snapshot, change the object, commit: the commit emits
 * InterfacesAdded/Removed when the object appears or goes and PropertiesChanged for the
 * properties that changed, and frees a device object that is neither active, defined nor
 * busy. */
struct device_snapshot {
        bool existed;
        char *props[20];
};
void device_begin(struct device *d, struct device_snapshot *s);
void device_commit(struct device *d, struct device_snapshot *s);
struct parent_snapshot {
        char *props[12];
};
void parent_begin(struct parent *p, struct parent_snapshot *s);
void parent_commit(struct parent *p, struct parent_snapshot *s);

/* Device views (what the Device properties show). */
bool device_exists(const struct device *d); /* active, defined or busy */
const char *device_parent(const struct device *d);
const char *device_type(const struct device *d);
const struct mdp_definition *device_definition(const struct device *d); /* on device_parent() */
const struct mdp_definition *device_definition_on(const struct device *d, const char *parent);
enum device_owner device_owner(const struct device *d);
const char *device_class(const struct device *d);
const char *device_class_basis(const struct device *d);
void device_set_last_error(struct device *d, const char *msg);
void device_free(struct device *d);
void parent_free(struct parent *p);
/* Sorted arrays of the objects (malloc'd; NULL-free). */
int manager_sorted_parents(struct manager *m, struct parent ***ret, size_t *ret_n);
int manager_sorted_devices(struct manager *m, struct device ***ret, size_t *ret_n);

/* While InterfacesRemoved is built for an object that is going, the bus find functions
 * must still find it. */
extern const struct device *bus_device_removing;
extern const struct parent *bus_parent_removing;

/* bus-manager.c, bus-objects.c */
int manager_connect_bus(struct manager *m);
/* Drops the cached Snapshot answers. */
void manager_snapshot_cache_clear(struct manager *m);
extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable parent_vtable[];
extern const sd_bus_vtable device_vtable[];
int bus_parent_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error);
int bus_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error);
int bus_parent_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                         sd_bus_error *error);
int bus_device_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                         sd_bus_error *error);
/* Appends one type record (ssssxa{sv}) / device record (sssbbsa(ss)a{sv}). */
int bus_append_type(sd_bus_message *reply, const struct mdp_type *t);
int bus_append_device_record(sd_bus_message *reply, const struct device *d, const struct mdp_definition *def,
                             bool active);
/* The same record in a snapshot (lib/snapshot.h): tag 'D' for an active mdev, 'd' for a
 * definition, then its attributes as 'A' records. */
void snapshot_append_device(struct strbuf *sb, char tag, const struct device *d, const struct mdp_definition *def,
                            bool active);

/* describe.c */
int manager_describe(struct manager *m, char **ret);

/* authz.c: the central table of which method needs which action. Returns 1 when the
 * caller may proceed, 0 when the answer is pending (the handler returns 1; the call is
 * dispatched again once it is known), a negative errno with error set when denied. */
int authz_check(struct manager *m, sd_bus_message *message, sd_bus_error *error);
/* 1 and the action (NULL: open to everyone) when member is in the table, 0 when not. */
int authz_lookup(const char *member, const char **ret_action);
/* The bus filter that refuses methods of our interfaces that are not in the table. */
int authz_install(struct manager *m);
/* Drops the parked calls (unanswered: the daemon is going away). */
void authz_free_all(struct manager *m);

/* autostart.c */
/* Runs each auto definition of a newly registered parent once (retries transient errors). */
void autostart_parent(struct manager *m, struct parent *p, bool initial);
/* Start-up: parents sorted by name (manager_sorted_parents()); skips parents that were
 * autostarted before since they registered (a restarted daemon). */
void autostart_parents(struct manager *m, struct parent **parents, size_t n_parents, bool initial);
/* The parent went away: cancels pending retries of the devices defined on it and forgets
 * that it was autostarted (a new registration autostarts again). */
void autostart_cancel_parent(struct manager *m, const char *parent);
void autostart_cancel_device(struct device *d);
/* The autostart of the current registration of every parent, over its devices: started (or
 * found running), failed for good, and still in progress (running or waiting to retry). */
void autostart_progress(struct manager *m, uint32_t *ret_done, uint32_t *ret_failed, uint32_t *ret_in_progress);
/* Announces a change of Manager.AutostartProgress (at most every 100 ms). */
void autostart_progress_dirty(struct manager *m);
