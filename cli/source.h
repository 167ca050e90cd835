/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where the read verbs get their data. The records mirror the D-Bus contract
 * (conf/org.mdevpasid1.xml: ListParents, the type and device records, Iommus,
 * KernelFeatures), so the sysfs source (lib/ read directly, today and whenever the daemon
 * is not running) and the daemon source (phase B) fill the same structs, and the verbs and
 * their text/JSON output never know which one answered.
 *
 * Every string in a record is owned by the source and lives as long as it does. A NULL
 * string means the value is not known (printed as "-" in text and null in JSON). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "iommu-decode.h"
#include "types.h"
#include "util/macro.h"
#include "util/uuid.h"

struct cli_type {
        const char *parent;
        const char *id, *name, *description, *device_api;
        int64_t available_instances; /* -1 when not known */
        char *const *instances;      /* UUIDs of the live instances, sorted */
        size_t n_instances;
        const char *class, *class_basis; /* "emulated" | "pasid-granular", and why */
        const char *error;               /* what could not be read, naming the file */
};

struct cli_parent {
        const char *name, *devpath, *driver, *subsystem, *pci_address, *iommu;
        const char *iommu_family; /* "vtd", "amd", "smmuv3", "other", "none" */
        int iommu_group;          /* -1 when none */
        const struct cli_type *types;
        size_t n_types;
        const char *error;
};

struct cli_attr {
        const char *name, *value;
};

/* An active device, a definition, or both (Device interface of the contract). */
struct cli_device {
        char uuid[MDP_UUID_STRING_MAX];
        const char *parent; /* where it runs; for a definition, where it is defined */
        const char *type;
        bool active, defined;
        bool autostart;
        const struct cli_attr *attrs;
        size_t n_attrs;
        char *const *defined_parents; /* every parent with a definition of this UUID, sorted */
        size_t n_defined_parents;
        /* active devices only (NULL / -1 otherwise) */
        const char *driver;
        int iommu_group;
        const char *group_name, *group_type, *vfio_group, *vfio_device;
        const char *class, *class_basis;
        /* known only to the daemon (NULL from sysfs) */
        const char *state, *owner, *last_error;
        const char *error;
};

struct cli_iommu {
        const char *name;
        enum mdp_iommu_family family;
        const char *devpath;
        char *const *devices;
        size_t n_devices;
        const struct mdp_iommu_regs *regs; /* NULL when the source has no raw registers */
        const struct mdp_reg_field *fields; /* every decoded field, IOMMU-SPEC §2.2-§2.4 order */
        size_t n_fields;
        struct mdp_iommu_caps caps; /* what the strategy engine derives (§6.2) */
        const char *error;
};

struct cli_kernel {
        enum mdp_tristate iommufd, vfio_cdev, vfio_container;
        const char *release, *cmdline;
};

/* What the devices query asks for. parent and uuid (canonical) narrow the result and let
 * a source skip work; defined selects definitions instead of active devices. */
struct cli_device_query {
        bool defined;
        const char *parent;
        const char *uuid;
};

struct cli_source;

struct cli_source_ops {
        const char *name; /* "sysfs", "daemon" */
        /* Parents sorted by name with their types sorted by id; only_parent (may be NULL)
         * selects one (none when it does not exist). */
        int (*parents)(struct cli_source *s, const char *only_parent, const struct cli_parent **ret,
                       size_t *ret_n);
        /* Devices sorted by parent, then UUID. */
        int (*devices)(struct cli_source *s, const struct cli_device_query *q, const struct cli_device **ret,
                       size_t *ret_n);
        /* IOMMU instances sorted by name. */
        int (*iommus)(struct cli_source *s, const struct cli_iommu **ret, size_t *ret_n);
        int (*kernel)(struct cli_source *s, const struct cli_kernel **ret);
        void (*free)(struct cli_source *s);
};

struct cli_source {
        const struct cli_source_ops *ops;
        /* Problems the source met but went past (skipped definition files, unreadable
         * sysfs entries), one sentence each; the verb prints them on stderr. */
        char **warnings;
        size_t n_warnings;
        /* The daemon source's connection (borrowed: the source owns it), NULL for sysfs:
         * verbs that show what only the daemon knows (status) ask it directly. */
        sd_bus *bus;
        /* For the sysfs source: why the daemon was not asked (a sentence), NULL when it was
         * never considered (--source=sysfs). */
        const char *why_sysfs;
        /* Allocations the returned records point into, freed with the source. */
        void **allocs;
        size_t n_allocs;
};

/* Which source the read verbs use (global option --source). */
enum cli_source_pref {
        CLI_SOURCE_AUTO,   /* the daemon when it runs, else sysfs with a note on stderr */
        CLI_SOURCE_DAEMON, /* the daemon or fail */
        CLI_SOURCE_SYSFS,  /* sysfs through lib/, never the daemon */
};
extern enum cli_source_pref arg_source;
/* The verb says itself that it read sysfs (status): no note on stderr. */
extern bool arg_quiet_fallback;
int cli_source_pref_from_string(const char *s, enum cli_source_pref *ret);

enum {
        /* Load the vendor profiles so types and mdevs carry their class (IOMMU-SPEC §1.4).
         * mdevctl-compatible output does not need it and skips the cost. */
        CLI_SOURCE_CLASSIFY = 1 << 0,
};

/* Opens the source the read verbs use: mdevpasidd over D-Bus when it runs (the system bus,
 * or DBUS_SYSTEM_BUS_ADDRESS), else sysfs through lib/ (MDEVPASID_ROOT applies) with a note on
 * stderr saying so. With MDEVPASID_ROOT set and no DBUS_SYSTEM_BUS_ADDRESS the host's daemon
 * serves another tree than the one asked for: sysfs, silently. Errors are logged. */
int cli_source_open(unsigned flags, struct cli_source **ret);
struct cli_source *cli_source_free(struct cli_source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cli_source *, cli_source_free)

int cli_source_sysfs_new(unsigned flags, struct cli_source **ret);
/* Takes over bus. */
int cli_source_dbus_new(sd_bus *bus, unsigned flags, struct cli_source **ret);
/* A connection to mdevpasidd for the verbs that change something: running, or (activate)
 * startable by D-Bus activation. Otherwise logs why not and how to start it, -ENOTCONN. */
int cli_daemon_open(bool activate, sd_bus **ret);
/* A failed call to the daemon: logs one sentence naming what was done (printf format) from
 * the daemon's error (mdp_client_error_message()), frees e, returns r (-EIO if it was not
 * negative). stdout is flushed first so the sentence follows the output it concerns. */
int cli_call_failed(sd_bus_error *e, int r, const char *fmt, ...) _printf_(3, 4);
/* Whether a read asks the daemon (--source, MDEVPASID_ROOT and DBUS_SYSTEM_BUS_ADDRESS,
 * the daemon's state): 1 and a connection; 0 for sysfs (the note on stderr printed unless
 * arg_quiet_fallback; *ret_why the sentence, NULL for --source=sysfs); negative (logged)
 * for --source=daemon without the daemon. */
int cli_daemon_for_read(sd_bus **ret, const char **ret_why);
/* "mdevpasidctl VERB:"-style prefix for messages: the verb's name and a colon. */
const char *arg_verb_name(void);

/* Whether the records come from the daemon. */
static inline bool cli_source_is_daemon(const struct cli_source *s)
{
        return s->bus != NULL;
}

/* Frees p with the source; returns p, or NULL (p freed) when out of memory or p is NULL. */
void *cli_source_keep(struct cli_source *s, void *p);
/* Adds a warning (printf format); -ENOMEM only. */
int cli_source_warn(struct cli_source *s, const char *fmt, ...) _printf_(2, 3);
/* Prints the warnings collected so far on stderr ("warning: ...") and forgets them. */
void cli_source_flush_warnings(struct cli_source *s);
/* Forgets the warnings without printing them. */
void cli_source_flush_warnings_quiet(struct cli_source *s);

static inline int cli_source_parents(struct cli_source *s, const char *only_parent,
                                     const struct cli_parent **ret, size_t *ret_n)
{
        return s->ops->parents(s, only_parent, ret, ret_n);
}
static inline int cli_source_devices(struct cli_source *s, const struct cli_device_query *q,
                                     const struct cli_device **ret, size_t *ret_n)
{
        return s->ops->devices(s, q, ret, ret_n);
}
static inline int cli_source_iommus(struct cli_source *s, const struct cli_iommu **ret, size_t *ret_n)
{
        return s->ops->iommus(s, ret, ret_n);
}
static inline int cli_source_kernel(struct cli_source *s, const struct cli_kernel **ret)
{
        return s->ops->kernel(s, ret);
}
