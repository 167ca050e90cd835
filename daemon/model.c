/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's model: one object per registered parent and per mdev UUID that is active,
 * defined or busy, refreshed one object at a time from sysfs (what a uevent names) and from
 * /etc/mdevctl.d, with the D-Bus change signals each refresh implies. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manager.h"
#include "vms.h"
#include "mdp-names.h"
#include "ops.h"
#include "strv.h"
#include "util/log.h"
#include "util/strbuf.h"

static const char *const device_state_names[_DEVICE_STATE_MAX] = {
        [DEVICE_INACTIVE] = "inactive",
        [DEVICE_STARTING] = "starting",
        [DEVICE_ACTIVE] = "active",
        [DEVICE_STOPPING] = "stopping",
};

const char *device_state_to_string(enum device_state s)
{
        return (unsigned)s < _DEVICE_STATE_MAX ? device_state_names[s] : "inactive";
}

static const char *const owner_names[_OWNER_MAX] = {
        [OWNER_MDEVPASID] = "mdevpasid",
        [OWNER_MDEVCTL] = "mdevctl",
        [OWNER_FOREIGN] = "foreign",
};

const char *device_owner_to_string(enum device_owner o)
{
        return (unsigned)o < _OWNER_MAX ? owner_names[o] : "foreign";
}

/* ---- lookups ---- */

struct parent *manager_get_parent(struct manager *m, const char *name)
{
        return name ? hashmap_get(m->parents, name) : NULL;
}

struct device *manager_get_device(struct manager *m, const char *uuid)
{
        return uuid ? hashmap_get(m->devices, uuid) : NULL;
}

int manager_ensure_device(struct manager *m, const char *uuid, struct device **ret)
{
        _cleanup_free_ struct device *d = NULL;
        int r;

        d = manager_get_device(m, uuid);
        if (d) {
                *ret = TAKE_PTR(d);
                return 0;
        }
        if (!mdp_uuid_is_canonical(uuid))
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->manager = m;
        memcpy(d->uuid, uuid, MDP_UUID_STRING_MAX);
        r = sd_bus_path_encode(MDP_OBJECT_DEVICES, uuid, &d->path);
        if (r < 0)
                return r;
        r = hashmap_put(m->devices, d->uuid, d);
        if (r < 0) {
                free(d->path);
                return r;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

void device_free(struct device *d)
{
        if (!d)
                return;
        autostart_cancel_device(d);
        for (size_t i = 0; i < d->n_defs; i++)
                mdp_definition_free(d->defs[i]);
        free(d->defs);
        mdp_mdev_free(d->mdev_owned);
        free(d->last_error);
        free(d->autostart_parent);
        free(d->autostart_warning);
        free(d->path);
        free(d);
}

void parent_free(struct parent *p)
{
        if (!p)
                return;
        mdp_parent_free(p->record);
        mdp_pci_device_free(p->pci);
        free(p->name);
        free(p->path);
        free(p);
}

/* ---- device views ---- */

bool device_exists(const struct device *d)
{
        return d->mdev || d->n_defs > 0 || d->op || d->state != DEVICE_INACTIVE;
}

const struct mdp_definition *device_definition_on(const struct device *d, const char *parent)
{
        if (!parent)
                return NULL;
        for (size_t i = 0; i < d->n_defs; i++)
                if (streq(d->defs[i]->parent, parent))
                        return d->defs[i];
        return NULL;
}

const char *device_parent(const struct device *d)
{
        if (d->mdev && d->mdev->parent)
                return d->mdev->parent;
        if (d->op)
                return op_parent(d->op);
        if (d->n_defs == 1)
                return d->defs[0]->parent;
        return "";
}

const struct mdp_definition *device_definition(const struct device *d)
{
        return device_definition_on(d, device_parent(d));
}

const char *device_type(const struct device *d)
{
        const struct mdp_definition *def;

        if (d->mdev && d->mdev->type_id)
                return d->mdev->type_id;
        if (d->op)
                return op_type(d->op);
        def = device_definition(d);
        return def ? def->type : "";
}

enum device_owner device_owner(const struct device *d)
{
        const struct mdp_state_device *sd = mdp_state_device_get(d->manager->state, d->uuid);

        if ((d->mdev || d->state != DEVICE_INACTIVE) && sd)
                return OWNER_MDEVPASID;
        if (d->op && d->state == DEVICE_STARTING)
                return OWNER_MDEVPASID;
        if (d->n_defs > 0)
                return OWNER_MDEVCTL;
        return OWNER_FOREIGN;
}

static const struct mdp_type *device_type_record(const struct device *d)
{
        struct parent *p = manager_get_parent(d->manager, device_parent(d));

        return p ? mdp_parent_find_type(p->record, device_type(d)) : NULL;
}

const char *device_class(const struct device *d)
{
        const struct mdp_type *t;

        if (d->mdev)
                return mdp_mdev_class_to_string(d->mdev->class);
        t = device_type_record(d);
        return mdp_mdev_class_to_string(t ? t->class : MDP_MDEV_EMULATED);
}

const char *device_class_basis(const struct device *d)
{
        const struct mdp_type *t;

        if (d->mdev)
                return d->mdev->class_basis ? d->mdev->class_basis : "";
        t = device_type_record(d);
        if (t)
                return t->class_basis ? t->class_basis : "";
        return "the parent is not registered: the type is classified when it registers";
}

void device_set_last_error(struct device *d, const char *msg)
{
        char *s = NULL;

        if (streq_ptr(d->last_error, msg))
                return;
        if (msg && !(s = strdup(msg)))
                return;
        free(d->last_error);
        d->last_error = s;
}

/* ---- property fingerprints, for PropertiesChanged ---- */

static const char *const device_prop_names[] = {
        "Parent",    "Type",      "Active",     "Defined", "DefinedParents", "Autostart",
        "Attrs",     "State",     "Owner",      "Driver",  "IommuGroup",     "GroupName",
        "GroupType", "VfioGroup", "VfioDevice", "Class",   "ClassBasis",     "LastError",
};
#define N_DEVICE_PROPS ELEMENTSOF(device_prop_names)

static char *device_prop_string(const struct device *d, size_t i)
{
        const struct mdp_definition *def = device_definition(d);
        struct strbuf sb = {0};

        switch (i) {
        case 0:
                strbuf_append(&sb, device_parent(d));
                break;
        case 1:
                strbuf_append(&sb, device_type(d));
                break;
        case 2:
                strbuf_append(&sb, d->mdev ? "1" : "0");
                break;
        case 3:
                strbuf_append(&sb, d->n_defs ? "1" : "0");
                break;
        case 4:
                for (size_t k = 0; k < d->n_defs; k++) {
                        strbuf_append(&sb, d->defs[k]->parent);
                        strbuf_append(&sb, "\n");
                }
                break;
        case 5:
                strbuf_append(&sb, def && def->autostart ? "1" : "0");
                break;
        case 6:
                if (def)
                        for (size_t k = 0; k < def->n_attrs; k++) {
                                strbuf_append(&sb, def->attrs[k].name);
                                strbuf_append(&sb, "=");
                                strbuf_append(&sb, def->attrs[k].value);
                                strbuf_append(&sb, "\n");
                        }
                break;
        case 7:
                strbuf_append(&sb, device_state_to_string(d->state));
                break;
        case 8:
                strbuf_append(&sb, device_owner_to_string(device_owner(d)));
                break;
        case 9:
                strbuf_append(&sb, d->mdev && d->mdev->driver ? d->mdev->driver : "");
                break;
        case 10:
                strbuf_printf(&sb, "%d", d->mdev ? d->mdev->iommu_group : -1);
                break;
        case 11:
                strbuf_append(&sb, d->mdev && d->mdev->group_name ? d->mdev->group_name : "");
                break;
        case 12:
                strbuf_append(&sb, d->mdev && d->mdev->group_type ? d->mdev->group_type : "");
                break;
        case 13:
                strbuf_append(&sb, d->mdev && d->mdev->vfio_group ? d->mdev->vfio_group : "");
                break;
        case 14:
                strbuf_append(&sb,
                              d->mdev && d->mdev->vfio_cdev && d->mdev->vfio_dev ? d->mdev->vfio_dev : "");
                break;
        case 15:
                strbuf_append(&sb, device_class(d));
                break;
        case 16:
                strbuf_append(&sb, device_class_basis(d));
                break;
        case 17:
                strbuf_append(&sb, d->last_error ? d->last_error : "");
                break;
        }
        strbuf_append(&sb, "");
        return strbuf_steal(&sb);
}

void device_begin(struct device *d, struct device_snapshot *s)
{
        *s = (struct device_snapshot){.existed = d->exported && device_exists(d)};
        if (!s->existed)
                return;
        for (size_t i = 0; i < N_DEVICE_PROPS; i++)
                s->props[i] = device_prop_string(d, i);
}

static void snapshot_done(char **props, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(props[i]);
                props[i] = NULL;
        }
}

static bool device_is_foreign(const struct device *d)
{
        return device_exists(d) && d->mdev && device_owner(d) == OWNER_FOREIGN;
}

void device_commit(struct device *d, struct device_snapshot *s)
{
        struct manager *m = d->manager;
        bool now = device_exists(d);
        bool was_foreign =
                s->existed && s->props[8] && streq(s->props[8], "foreign") && streq(s->props[2], "1");
        bool is_foreign = device_is_foreign(d);
        int r;

        if (!s->existed && !d->exported) {
                /* A new object (or one that never was visible): counted as foreign before? */
                was_foreign = false;
        }
        if (was_foreign != is_foreign) {
                if (is_foreign)
                        m->n_foreign++;
                else if (m->n_foreign > 0)
                        m->n_foreign--;
                manager_warnings_dirty(m);
        }
        if (is_foreign && !d->foreign_logged) {
                d->foreign_logged = true;
                log_device(LOG_NOTICE, d->uuid,
                           "mdev %s (type %s on parent %s) was created by someone else and is not defined "
                           "in /etc/mdevctl.d: recorded as foreign and left alone.",
                           d->uuid, device_type(d), device_parent(d));
        }

        if (!s->existed && now) {
                d->exported = true;
                if (m->bus_ready) {
                        r = sd_bus_emit_object_added(m->bus, d->path);
                        if (r < 0)
                                log_device_errno(LOG_WARNING, r, d->uuid,
                                                 "Cannot send InterfacesAdded for %s: %m", d->path);
                }
        } else if (s->existed && !now) {
                if (m->bus_ready) {
                        /* The object must still be found while the signal is built. */
                        bus_device_removing = d;
                        r = sd_bus_emit_object_removed(m->bus, d->path);
                        bus_device_removing = NULL;
                        if (r < 0)
                                log_device_errno(LOG_WARNING, r, d->uuid,
                                                 "Cannot send InterfacesRemoved for %s: %m", d->path);
                }
        } else if (s->existed && now && m->bus_ready) {
                const char *changed[N_DEVICE_PROPS + 1];
                size_t n = 0;

                for (size_t i = 0; i < N_DEVICE_PROPS; i++) {
                        _cleanup_free_ char *v = device_prop_string(d, i);
                        if (!v || !s->props[i] || !streq(v, s->props[i]))
                                changed[n++] = device_prop_names[i];
                }
                changed[n] = NULL;
                if (n > 0) {
                        r = sd_bus_emit_properties_changed_strv(m->bus, d->path, MDP_IFACE_DEVICE,
                                                                (char **)changed);
                        if (r < 0)
                                log_device_errno(LOG_WARNING, r, d->uuid,
                                                 "Cannot send PropertiesChanged for %s: %m", d->path);
                }
        }
        snapshot_done(s->props, N_DEVICE_PROPS);
        vms_device_changed(m, d->uuid);
        if (!now) {
                hashmap_remove(m->devices, d->uuid);
                device_free(d);
        }
}

static const char *const parent_prop_names[] = {
        "DevicePath", "Driver", "Subsystem", "PciAddress", "Iommu",  "IommuFamily",
        "IommuGroup", "Types",  "SriovNumVfs", "Vfs",     "Physfn",
};
#define N_PARENT_PROPS ELEMENTSOF(parent_prop_names)
_Static_assert(N_PARENT_PROPS <= ELEMENTSOF(((struct parent_snapshot *)NULL)->props), "parent_snapshot too small");

static char *parent_prop_string(const struct parent *p, size_t i)
{
        const struct mdp_parent *r = p->record;
        struct strbuf sb = {0};

        switch (i) {
        case 0:
                strbuf_append(&sb, r->devpath ? r->devpath : "");
                break;
        case 1:
                strbuf_append(&sb, r->driver ? r->driver : "");
                break;
        case 2:
                strbuf_append(&sb, r->subsystem ? r->subsystem : "");
                break;
        case 3:
                strbuf_append(&sb, r->pci_address ? r->pci_address : "");
                break;
        case 4:
                strbuf_append(&sb, r->iommu ? r->iommu : "");
                break;
        case 5:
                strbuf_append(&sb, mdp_iommu_family_to_string(r->iommu ? mdp_iommu_family_from_name(r->iommu)
                                                                       : MDP_IOMMU_NONE));
                break;
        case 6:
                strbuf_printf(&sb, "%d", r->iommu_group);
                break;
        case 7:
                for (size_t k = 0; k < r->n_types; k++) {
                        const struct mdp_type *t = &r->types[k];
                        strbuf_printf(&sb, "%s\x1f%s\x1f%s\x1f%s\x1f%" PRId64 "\x1f%s\x1f%s\x1f%s\n", t->id,
                                      strna(t->name), strna(t->description), strna(t->device_api),
                                      t->available_instances, mdp_mdev_class_to_string(t->class),
                                      strna(t->class_basis), strna(t->error));
                }
                break;
        case 8:
                strbuf_printf(&sb, "%d", p->pci ? p->pci->sriov_numvfs : -1);
                break;
        case 9:
                for (size_t k = 0; p->pci && k < p->pci->n_virtfns; k++)
                        strbuf_printf(&sb, "%s\n", p->pci->virtfns[k]);
                break;
        case 10:
                strbuf_append(&sb, p->pci && p->pci->physfn ? p->pci->physfn : "");
                break;
        }
        strbuf_append(&sb, "");
        return strbuf_steal(&sb);
}

void parent_begin(struct parent *p, struct parent_snapshot *s)
{
        *s = (struct parent_snapshot){0};
        for (size_t i = 0; i < N_PARENT_PROPS; i++)
                s->props[i] = parent_prop_string(p, i);
}

void parent_commit(struct parent *p, struct parent_snapshot *s)
{
        struct manager *m = p->manager;
        const char *changed[N_PARENT_PROPS + 1];
        size_t n = 0;

        for (size_t i = 0; i < N_PARENT_PROPS; i++) {
                _cleanup_free_ char *v = parent_prop_string(p, i);
                if (!v || !s->props[i] || !streq(v, s->props[i]))
                        changed[n++] = parent_prop_names[i];
        }
        changed[n] = NULL;
        snapshot_done(s->props, N_PARENT_PROPS);
        if (n > 0 && m->bus_ready) {
                int r = sd_bus_emit_properties_changed_strv(m->bus, p->path, MDP_IFACE_PARENT,
                                                            (char **)changed);
                if (r < 0)
                        log_parent_errno(LOG_WARNING, r, p->name, "Cannot send PropertiesChanged for %s: %m",
                                         p->path);
        }
}

/* Devices whose views depend on a parent's record (class of inactive devices). */
static void refresh_devices_of_parent(struct manager *m, const char *name)
{
        _cleanup_free_ struct device **devs = NULL;
        size_t n = 0;

        if (manager_sorted_devices(m, &devs, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                struct device *d = devs[i];
                struct device_snapshot s;

                if (d->mdev || !device_definition_on(d, name))
                        continue;
                device_begin(d, &s);
                device_commit(d, &s);
        }
}

/* ---- parents ---- */

static int parent_new(struct manager *m, struct mdp_parent *record, struct parent **ret)
{
        struct parent *p;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->manager = m;
        p->name = strdup(record->name);
        if (!p->name) {
                free(p);
                return -ENOMEM;
        }
        r = sd_bus_path_encode(MDP_OBJECT_PARENTS, record->name, &p->path);
        if (r < 0) {
                parent_free(p);
                return r;
        }
        r = hashmap_put(m->parents, p->name, p);
        if (r < 0) {
                parent_free(p);
                return r;
        }
        p->record = record;
        *ret = p;
        return 0;
}

const struct device *bus_device_removing;
const struct parent *bus_parent_removing;

static void parent_remove(struct manager *m, struct parent *p)
{
        _cleanup_free_ struct device **devs = NULL;
        _cleanup_free_ char *name = strdup(p->name);
        size_t n = 0;
        int r;

        log_parent(LOG_INFO, p->name, "Parent %s unregistered.", p->name);
        autostart_cancel_parent(m, p->name);
        op_parent_gone(m, p);
        if (m->bus_ready) {
                bus_parent_removing = p;
                r = sd_bus_emit_object_removed(m->bus, p->path);
                bus_parent_removing = NULL;
                if (r < 0)
                        log_parent_errno(LOG_WARNING, r, p->name, "Cannot send InterfacesRemoved for %s: %m",
                                         p->path);
        }
        hashmap_remove(m->parents, p->name);
        parent_free(p);
        if (!name)
                return;
        /* The kernel removes a parent's mdevs before it unregisters (TESTING.md layer 7
         * §4.2); re-read any we still think are active there, in case an event was lost. */
        if (manager_sorted_devices(m, &devs, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (devs[i]->mdev && streq_ptr(devs[i]->mdev->parent, name))
                        (void)manager_refresh_mdev(m, devs[i]->uuid);
        refresh_devices_of_parent(m, name);
}

void manager_forget_parent(struct manager *m, const char *name)
{
        struct parent *p = manager_get_parent(m, name);

        if (p)
                parent_remove(m, p);
}

/* A PCI parent's function, for its SR-IOV state; NULL when not PCI or unreadable (the
 * record's own reading reports what is wrong with the device). */
static struct mdp_pci_device *read_parent_pci(struct manager *m, const struct mdp_parent *rec)
{
        struct mdp_pci_device *pci = NULL;

        if (!rec->pci_address || mdp_pci_device_read(m->ctx, rec->pci_address, false, &pci) < 0)
                return NULL;
        return pci;
}

int manager_refresh_parent(struct manager *m, const char *name, bool *ret_registered)
{
        _cleanup_(mdp_parent_freep) struct mdp_parent *rec = NULL;
        struct parent *p = manager_get_parent(m, name);
        int r;

        if (ret_registered)
                *ret_registered = false;
        r = mdp_parent_read(m->ctx, name, &rec);
        if (r == -ENOENT || r == -EINVAL) {
                if (p)
                        parent_remove(m, p);
                return 0;
        }
        if (r < 0)
                return log_parent_errno(LOG_WARNING, r, name, "Cannot read parent %s: %m", name);
        if (rec->error)
                log_parent(LOG_WARNING, name, "Parent %s: %s", name, rec->error);
        if (!p) {
                r = parent_new(m, rec, &p);
                if (r < 0)
                        return log_parent_errno(LOG_ERR, r, name, "Cannot add parent %s: %m", name);
                TAKE_PTR(rec);
                p->pci = read_parent_pci(m, p->record);
                /* Unique across parent objects: a parent that comes back gets a new one. */
                p->generation = ++m->generation;
                log_parent(LOG_INFO, name, "Parent %s registered (%s, %zu type%s).", name,
                           strna(mdp_parent_driver_string(p->record)), p->record->n_types,
                           p->record->n_types == 1 ? "" : "s");
                if (m->bus_ready) {
                        r = sd_bus_emit_object_added(m->bus, p->path);
                        if (r < 0)
                                log_parent_errno(LOG_WARNING, r, name,
                                                 "Cannot send InterfacesAdded for %s: %m", p->path);
                }
                refresh_devices_of_parent(m, name);
                if (ret_registered)
                        *ret_registered = true;
                return 1;
        }
        {
                struct parent_snapshot s;

                parent_begin(p, &s);
                mdp_parent_free(p->record);
                p->record = TAKE_PTR(rec);
                mdp_pci_device_free(p->pci);
                p->pci = read_parent_pci(m, p->record);
                parent_commit(p, &s);
        }
        refresh_devices_of_parent(m, name);
        return 0;
}

void manager_refresh_available(struct manager *m, const char *name)
{
        struct parent *p = manager_get_parent(m, name);
        struct parent_snapshot s;

        if (!p)
                return;
        parent_begin(p, &s);
        for (size_t i = 0; i < p->record->n_types; i++) {
                struct mdp_type *t = &p->record->types[i];
                unsigned avail;

                if (mdp_type_read_available(m->ctx, p->name, t->id, &avail) >= 0)
                        t->available_instances = avail;
                else
                        t->available_instances = -1;
        }
        parent_commit(p, &s);
}

/* ---- mdevs ---- */

int manager_refresh_mdev(struct manager *m, const char *uuid)
{
        _cleanup_(mdp_mdev_freep) struct mdp_mdev *rec = NULL;
        _cleanup_free_ char *old_parent = NULL;
        struct device_snapshot s;
        struct device *d;
        bool have_op;
        int r;

        r = mdp_mdev_read(m->ctx, uuid, &rec);
        if (r == -ENOENT)
                rec = NULL;
        else if (r < 0)
                return log_device_errno(LOG_WARNING, r, uuid, "Cannot read mdev %s: %m", uuid);
        d = manager_get_device(m, uuid);
        if (!d && !rec)
                return 0;
        if (!d) {
                r = manager_ensure_device(m, uuid, &d);
                if (r < 0)
                        return log_device_errno(LOG_ERR, r, uuid, "Cannot track mdev %s: %m", uuid);
        }
        if (rec && rec->error)
                log_device(LOG_WARNING, uuid, "mdev %s: %s", uuid, rec->error);
        if (d->mdev && d->mdev->parent)
                old_parent = strdup(d->mdev->parent);

        device_begin(d, &s);
        mdp_mdev_free(d->mdev_owned);
        d->mdev_owned = TAKE_PTR(rec);
        d->mdev = d->mdev_owned;
        if (!d->op)
                d->state = d->mdev ? DEVICE_ACTIVE : DEVICE_INACTIVE;
        if (!d->mdev && !d->op && mdp_state_device_remove(m->state, uuid) > 0) {
                log_device(LOG_DEBUG, uuid, "mdev %s is gone: ownership released.", uuid);
                (void)manager_save_state(m);
        }
        have_op = d->op != NULL;
        {
                _cleanup_free_ char *new_parent =
                        d->mdev && d->mdev->parent ? strdup(d->mdev->parent) : NULL;

                device_commit(d, &s); /* may free d when nothing is left of it */
                if (have_op)
                        op_device_changed(d);
                if (old_parent)
                        manager_refresh_available(m, old_parent);
                if (new_parent && !streq_ptr(new_parent, old_parent))
                        manager_refresh_available(m, new_parent);
        }
        return 0;
}

/* ---- definitions ---- */

static int compare_def_parent(const void *a, const void *b)
{
        const struct mdp_definition *x = *(const struct mdp_definition *const *)a;
        const struct mdp_definition *y = *(const struct mdp_definition *const *)b;
        return strcmp(x->parent, y->parent);
}

/* Replaces d's definitions with defs (ownership taken), emitting what changed. */
static void device_replace_defs(struct device *d, struct mdp_definition **defs, size_t n)
{
        struct device_snapshot s;

        if (n > 1)
                qsort(defs, n, sizeof(*defs), compare_def_parent);
        device_begin(d, &s);
        for (size_t i = 0; i < d->n_defs; i++)
                mdp_definition_free(d->defs[i]);
        free(d->defs);
        d->defs = defs;
        d->n_defs = n;
        device_commit(d, &s);
}

static void problems_remove_path(struct manager *m, const char *path)
{
        size_t j = 0, n = strv_length(m->definition_problems), l = strlen(path);

        for (size_t i = 0; i < n; i++) {
                char *e = m->definition_problems[i];
                if (strncmp(e, path, l) == 0 && e[l] == ':')
                        free(e);
                else
                        m->definition_problems[j++] = e;
        }
        if (m->definition_problems)
                m->definition_problems[j] = NULL;
}

static void problem_add(struct manager *m, const char *path, const char *problem)
{
        char *s;

        log_warning("Skipping definition file %s: %s", path, problem);
        if (asprintf(&s, "%s: %s", path, problem) < 0)
                return;
        (void)strv_consume(&m->definition_problems, s);
}

struct def_list {
        struct mdp_definition **defs;
        size_t n;
};

struct scan_data {
        struct manager *m;
        struct hashmap *by_uuid; /* uuid -> struct def_list */
        char **problems;
        int error;
};

static int scan_on_definition(void *userdata, struct mdp_definition *def)
{
        struct scan_data *sd = userdata;
        struct def_list *l = hashmap_get(sd->by_uuid, def->uuid);
        struct mdp_definition **nd;

        if (!l) {
                l = calloc(1, sizeof(*l));
                if (!l || hashmap_put(sd->by_uuid, def->uuid, l) < 0) {
                        free(l);
                        mdp_definition_free(def);
                        return -ENOMEM;
                }
        }
        nd = realloc(l->defs, (l->n + 1) * sizeof(*nd));
        if (!nd) {
                mdp_definition_free(def);
                return -ENOMEM;
        }
        l->defs = nd;
        l->defs[l->n++] = def;
        return 0;
}

static void scan_on_problem(void *userdata, const char *path, const char *problem)
{
        struct scan_data *sd = userdata;
        char *s;

        log_warning("Skipping definition file %s: %s", path, problem);
        if (asprintf(&s, "%s: %s", path, problem) >= 0)
                (void)strv_consume(&sd->problems, s);
}

int manager_load_definitions(struct manager *m)
{
        struct scan_data sd = {.m = m};
        _cleanup_free_ struct device **devs = NULL;
        struct def_list *l;
        size_t n = 0;
        int r;

        sd.by_uuid = hashmap_new();
        if (!sd.by_uuid)
                return -ENOMEM;
        r = mdp_definitions_scan(m->ctx, NULL, scan_on_definition, scan_on_problem, &sd);
        if (r < 0) {
                log_error_errno(r, "Cannot read /etc/mdevctl.d: %m");
                goto done;
        }
        /* Existing devices first (their definitions change or go), then new UUIDs. */
        r = manager_sorted_devices(m, &devs, &n);
        if (r < 0)
                goto done;
        for (size_t i = 0; i < n; i++) {
                l = hashmap_remove(sd.by_uuid, devs[i]->uuid);
                device_replace_defs(devs[i], l ? l->defs : NULL, l ? l->n : 0);
                free(l);
        }
        HASHMAP_FOREACH (l, sd.by_uuid, c) {
                struct device *d;
                const char *uuid = l->defs[0]->uuid;

                r = manager_ensure_device(m, uuid, &d);
                if (r < 0)
                        goto done;
                device_replace_defs(d, l->defs, l->n);
                l->defs = NULL;
                l->n = 0;
        }
        strv_free(m->definition_problems);
        m->definition_problems = TAKE_PTR(sd.problems);
        manager_warnings_dirty(m);
        r = 0;
done:
        HASHMAP_FOREACH (l, sd.by_uuid, c2) {
                for (size_t i = 0; i < l->n; i++)
                        mdp_definition_free(l->defs[i]);
                free(l->defs);
                free(l);
        }
        hashmap_free(sd.by_uuid);
        strv_free(sd.problems);
        return r;
}

int manager_refresh_definitions(struct manager *m, const char *uuid)
{
        _cleanup_free_ char *base = NULL;
        _cleanup_closedir_ DIR *dir = NULL;
        struct mdp_definition **defs = NULL;
        size_t n = 0;
        struct device *d;
        struct dirent *de;
        int r;

        base = mdp_path(m->ctx, MDP_PATH_MDEVCTL, NULL);
        if (!base)
                return -ENOMEM;
        dir = opendir(base);
        if (!dir && errno != ENOENT)
                return log_error_errno(errno, "Cannot read %s: %m", base);
        while (dir && (de = readdir(dir))) {
                _cleanup_(mdp_definition_freep) struct mdp_definition *def = NULL;
                _cleanup_free_ char *err = NULL, *path = NULL;
                struct mdp_definition **nd;
                struct stat st;

                if (de->d_name[0] == '.' || streq(de->d_name, "scripts.d") ||
                    !mdp_sysfs_name_is_valid(de->d_name))
                        continue;
                if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                path = mdp_path(m->ctx, MDP_PATH_MDEVCTL, "%s/%s", de->d_name, uuid);
                if (!path) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = mdp_definition_load(m->ctx, de->d_name, uuid, &def, &err);
                problems_remove_path(m, path);
                if (r == -ENOENT)
                        continue;
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0) {
                        problem_add(m, path, err ? err : strerror(-r));
                        continue;
                }
                nd = realloc(defs, (n + 1) * sizeof(*nd));
                if (!nd) {
                        r = -ENOMEM;
                        goto fail;
                }
                defs = nd;
                defs[n++] = TAKE_PTR(def);
        }
        manager_warnings_dirty(m);
        d = manager_get_device(m, uuid);
        if (!d && n == 0)
                return 0;
        if (!d) {
                r = manager_ensure_device(m, uuid, &d);
                if (r < 0)
                        goto fail;
        }
        device_replace_defs(d, defs, n);
        return 0;
fail:
        for (size_t i = 0; i < n; i++)
                mdp_definition_free(defs[i]);
        free(defs);
        return r;
}

int manager_set_definition(struct manager *m, const char *uuid, const char *parent,
                           struct mdp_definition *def)
{
        struct mdp_definition **defs;
        struct device *d;
        size_t n = 0;
        int r;

        r = manager_ensure_device(m, uuid, &d);
        if (r < 0) {
                mdp_definition_free(def);
                return r;
        }
        defs = calloc(d->n_defs + 1, sizeof(*defs));
        if (!defs) {
                mdp_definition_free(def);
                return -ENOMEM;
        }
        for (size_t i = 0; i < d->n_defs; i++) {
                if (streq(d->defs[i]->parent, parent))
                        continue;
                defs[n] = mdp_definition_copy(d->defs[i]);
                if (!defs[n]) {
                        for (size_t k = 0; k < n; k++)
                                mdp_definition_free(defs[k]);
                        free(defs);
                        mdp_definition_free(def);
                        return -ENOMEM;
                }
                n++;
        }
        if (def)
                defs[n++] = def;
        device_replace_defs(d, defs, n);
        return 0;
}

/* ---- sorted views ---- */

static int compare_parent_name(const void *a, const void *b)
{
        return strcmp((*(struct parent *const *)a)->name, (*(struct parent *const *)b)->name);
}

static int compare_device_uuid(const void *a, const void *b)
{
        return strcmp((*(struct device *const *)a)->uuid, (*(struct device *const *)b)->uuid);
}

int manager_sorted_parents(struct manager *m, struct parent ***ret, size_t *ret_n)
{
        size_t n = hashmap_size(m->parents), i = 0;
        struct parent **a, *p;

        a = calloc(n + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        HASHMAP_FOREACH (p, m->parents, c)
                a[i++] = p;
        qsort(a, n, sizeof(*a), compare_parent_name);
        *ret = a;
        *ret_n = n;
        return 0;
}

int manager_sorted_devices(struct manager *m, struct device ***ret, size_t *ret_n)
{
        size_t n = hashmap_size(m->devices), i = 0;
        struct device **a, *d;

        a = calloc(n + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        HASHMAP_FOREACH (d, m->devices, c)
                a[i++] = d;
        qsort(a, n, sizeof(*a), compare_device_uuid);
        *ret = a;
        *ret_n = n;
        return 0;
}
