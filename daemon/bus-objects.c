/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.mdevpasid1.Parent and org.mdevpasid1.Device: one object per registered parent and per
 * mdev UUID (conf/org.mdevpasid1.xml), served from the model by fallback vtables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager.h"
#include "mdp-names.h"
#include "snapshot.h"
#include "util/macro.h"

/* ---- records shared with the Manager methods ---- */

static int append_variant_string(sd_bus_message *reply, const char *key, const char *value)
{
        return sd_bus_message_append(reply, "{sv}", key, "s", value ? value : "");
}

int bus_append_type(sd_bus_message *reply, const struct mdp_type *t)
{
        int r;

        r = sd_bus_message_open_container(reply, 'r', "ssssxa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "ssssx", t->id, t->name ? t->name : "",
                                  t->description ? t->description : "", t->device_api ? t->device_api : "",
                                  (int64_t)t->available_instances);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_variant_string(reply, "class", mdp_mdev_class_to_string(t->class));
        if (r >= 0)
                r = append_variant_string(reply, "class_basis", t->class_basis);
        if (r >= 0 && t->error)
                r = append_variant_string(reply, "error", t->error);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int append_attrs(sd_bus_message *reply, const struct mdp_definition *def)
{
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; def && i < def->n_attrs; i++) {
                r = sd_bus_message_append(reply, "(ss)", def->attrs[i].name, def->attrs[i].value);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* What a device record says, for ListDevices and Snapshot alike. */
struct device_record {
        const char *parent, *type, *start, *owner, *state, *class, *last_error;
        int32_t iommu_group;
};

static struct device_record device_record(const struct device *d, const struct mdp_definition *def, bool active)
{
        return (struct device_record){
                .parent = def ? def->parent : device_parent(d),
                .type = active && d->mdev && d->mdev->type_id ? d->mdev->type_id
                        : def                                 ? def->type
                                                              : device_type(d),
                .start = def && def->autostart ? "auto" : "manual",
                .owner = device_owner_to_string(device_owner(d)),
                .state = device_state_to_string(d->state),
                .class = device_class(d),
                .last_error = d->last_error ? d->last_error : "",
                .iommu_group = active && d->mdev ? d->mdev->iommu_group : -1,
        };
}

int bus_append_device_record(sd_bus_message *reply, const struct device *d, const struct mdp_definition *def,
                             bool active)
{
        struct device_record rec = device_record(d, def, active);
        int r;

        r = sd_bus_message_open_container(reply, 'r', "sssbbsa(ss)a{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "sssbbs", d->uuid, rec.parent, rec.type, active, def != NULL, rec.start);
        if (r < 0)
                return r;
        r = append_attrs(reply, def);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}", "owner", "s", rec.owner, "state", "s", rec.state,
                                  "class", "s", rec.class, "iommu_group", "i", rec.iommu_group, "last_error",
                                  "s", rec.last_error);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

void snapshot_append_device(struct strbuf *sb, char tag, const struct device *d, const struct mdp_definition *def,
                            bool active)
{
        struct device_record rec = device_record(d, def, active);

        mdp_snapshot_record(sb, tag, MDP_SNAPSHOT_DEVICE_FIELDS);
        mdp_snapshot_field(sb, d->uuid);
        mdp_snapshot_field(sb, rec.parent);
        mdp_snapshot_field(sb, rec.type);
        mdp_snapshot_field(sb, active ? "1" : "0");
        mdp_snapshot_field(sb, def ? "1" : "0");
        mdp_snapshot_field(sb, rec.start);
        mdp_snapshot_field(sb, rec.owner);
        mdp_snapshot_field(sb, rec.state);
        mdp_snapshot_field(sb, rec.class);
        mdp_snapshot_field_int(sb, rec.iommu_group);
        mdp_snapshot_field(sb, rec.last_error);
        for (size_t i = 0; def && i < def->n_attrs; i++) {
                mdp_snapshot_record(sb, 'A', MDP_SNAPSHOT_ATTR_FIELDS);
                mdp_snapshot_field(sb, def->attrs[i].name);
                mdp_snapshot_field(sb, def->attrs[i].value);
        }
}

/* ---- Parent ---- */

int bus_parent_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error)
{
        struct manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        struct parent *p;
        int r;

        r = sd_bus_path_decode(path, MDP_OBJECT_PARENTS, &name);
        if (r <= 0)
                return 0;
        p = manager_get_parent(m, name);
        if (!p)
                return 0;
        *found = p;
        return 1;
}

int bus_parent_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error)
{
        struct manager *m = userdata;
        size_t n = hashmap_size(m->parents), i = 0;
        struct parent *p;
        char **l;

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        HASHMAP_FOREACH (p, m->parents, c) {
                l[i] = strdup(p->path);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                i++;
        }
        *nodes = l;
        return 0;
}

static int property_get_parent_string(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error)
{
        const struct parent *p = userdata;
        const struct mdp_parent *r = p->record;
        const char *v = NULL;

        if (streq(property, "Name"))
                v = p->name;
        else if (streq(property, "DevicePath"))
                v = r->devpath;
        else if (streq(property, "Driver"))
                v = r->driver;
        else if (streq(property, "Subsystem"))
                v = r->subsystem;
        else if (streq(property, "PciAddress"))
                v = r->pci_address;
        else if (streq(property, "Iommu"))
                v = r->iommu;
        else if (streq(property, "IommuFamily"))
                v = mdp_iommu_family_to_string(r->iommu ? mdp_iommu_family_from_name(r->iommu)
                                                        : MDP_IOMMU_NONE);
        else if (streq(property, "Physfn"))
                v = p->pci ? p->pci->physfn : NULL;
        return sd_bus_message_append(reply, "s", v ? v : "");
}

static int property_get_parent_group(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        const struct parent *p = userdata;

        return sd_bus_message_append(reply, "i", (int32_t)p->record->iommu_group);
}

static int property_get_parent_numvfs(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error)
{
        const struct parent *p = userdata;

        return sd_bus_message_append(reply, "i", (int32_t)(p->pci ? p->pci->sriov_numvfs : -1));
}

static int property_get_parent_vfs(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct parent *p = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && p->pci && i < p->pci->n_virtfns; i++)
                r = sd_bus_message_append(reply, "s", p->pci->virtfns[i]);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int property_get_parent_types(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        const struct parent *p = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssssxa{sv})");
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->record->n_types; i++) {
                r = bus_append_type(reply, &p->record->types[i]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

#define PROP_CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define PROP_CONST  SD_BUS_VTABLE_PROPERTY_CONST

const sd_bus_vtable parent_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_parent_string, 0, PROP_CONST),
        SD_BUS_PROPERTY("DevicePath", "s", property_get_parent_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Driver", "s", property_get_parent_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Subsystem", "s", property_get_parent_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("PciAddress", "s", property_get_parent_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Iommu", "s", property_get_parent_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("IommuFamily", "s", property_get_parent_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("IommuGroup", "i", property_get_parent_group, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Types", "a(ssssxa{sv})", property_get_parent_types, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("SriovNumVfs", "i", property_get_parent_numvfs, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Vfs", "as", property_get_parent_vfs, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Physfn", "s", property_get_parent_string, 0, PROP_CHANGE),
        SD_BUS_VTABLE_END,
};

/* ---- Device ---- */

int bus_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error)
{
        struct manager *m = userdata;
        _cleanup_free_ char *uuid = NULL;
        struct device *d;
        int r;

        r = sd_bus_path_decode(path, MDP_OBJECT_DEVICES, &uuid);
        if (r <= 0)
                return 0;
        d = manager_get_device(m, uuid);
        if (!d)
                return 0;
        if (d != bus_device_removing && !(d->exported && device_exists(d)))
                return 0;
        *found = d;
        return 1;
}

int bus_device_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error)
{
        struct manager *m = userdata;
        size_t n = hashmap_size(m->devices), i = 0;
        struct device *d;
        char **l;

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        HASHMAP_FOREACH (d, m->devices, c) {
                if (!d->exported || !device_exists(d))
                        continue;
                l[i] = strdup(d->path);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                i++;
        }
        *nodes = l;
        return 0;
}

static int property_get_device_string(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error)
{
        const struct device *d = userdata;
        const struct mdp_mdev *mdev = d->mdev;
        _cleanup_free_ char *node = NULL;
        const char *v = NULL;

        if (streq(property, "Uuid"))
                v = d->uuid;
        else if (streq(property, "Parent"))
                v = device_parent(d);
        else if (streq(property, "Type"))
                v = device_type(d);
        else if (streq(property, "State"))
                v = device_state_to_string(d->state);
        else if (streq(property, "Owner"))
                v = device_owner_to_string(device_owner(d));
        else if (streq(property, "Driver"))
                v = mdev ? mdev->driver : NULL;
        else if (streq(property, "GroupName"))
                v = mdev ? mdev->group_name : NULL;
        else if (streq(property, "GroupType"))
                v = mdev ? mdev->group_type : NULL;
        else if (streq(property, "VfioGroup")) {
                if (mdev && mdev->vfio_group && asprintf(&node, "/dev/%s", mdev->vfio_group) < 0)
                        return -ENOMEM;
                v = node;
        } else if (streq(property, "VfioDevice"))
                v = mdev && mdev->vfio_cdev ? mdev->vfio_dev : NULL;
        else if (streq(property, "Class"))
                v = device_class(d);
        else if (streq(property, "ClassBasis"))
                v = device_class_basis(d);
        else if (streq(property, "LastError"))
                v = d->last_error;
        return sd_bus_message_append(reply, "s", v ? v : "");
}

static int property_get_device_bool(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error)
{
        const struct device *d = userdata;
        const struct mdp_definition *def = device_definition(d);
        int v = 0;

        if (streq(property, "Active"))
                v = d->mdev != NULL;
        else if (streq(property, "Defined"))
                v = d->n_defs > 0;
        else if (streq(property, "Autostart"))
                v = def && def->autostart;
        return sd_bus_message_append(reply, "b", v);
}

static int property_get_device_group(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        const struct device *d = userdata;

        return sd_bus_message_append(reply, "i", (int32_t)(d->mdev ? d->mdev->iommu_group : -1));
}

static int property_get_device_defined_parents(sd_bus *bus, const char *path, const char *interface,
                                               const char *property, sd_bus_message *reply, void *userdata,
                                               sd_bus_error *error)
{
        const struct device *d = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->n_defs; i++) {
                r = sd_bus_message_append(reply, "s", d->defs[i]->parent);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_device_attrs(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        return append_attrs(reply, device_definition(userdata));
}

const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Uuid", "s", property_get_device_string, 0, PROP_CONST),
        SD_BUS_PROPERTY("Parent", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Type", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Active", "b", property_get_device_bool, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Defined", "b", property_get_device_bool, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("DefinedParents", "as", property_get_device_defined_parents, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Autostart", "b", property_get_device_bool, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Attrs", "a(ss)", property_get_device_attrs, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Owner", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Driver", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("IommuGroup", "i", property_get_device_group, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("GroupName", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("GroupType", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("VfioGroup", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("VfioDevice", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("Class", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("ClassBasis", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_device_string, 0, PROP_CHANGE),
        SD_BUS_VTABLE_END,
};
