/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Describe(): the whole state as one JSON document. Keys equal the D-Bus property names
 * (Manager's at the top, then "Parents", "Devices" and "Vms" with each object's properties);
 * records inside properties use the names of their fields; a value D-Bus shows as "" or -1
 * because it is absent is null here (STYLE.md "JSON"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu-decode.h"
#include "manager.h"
#include "util/json.h"
#include "vms.h"

static json_object *string_or_null(const char *s)
{
        return isempty(s) ? NULL : json_object_new_string(s);
}

static json_object *group_or_null(int g)
{
        return g >= 0 ? json_object_new_int(g) : NULL;
}

/* json_object_object_add() takes NULL as JSON null. */
static int add(json_object *o, const char *key, json_object *v, bool may_be_null)
{
        if (!v && !may_be_null)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int append(json_object *a, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *strv_json(char *const *l)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && l && l[i]; i++)
                if (append(a, json_object_new_string(l[i])) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

static json_object *type_json(const struct mdp_type *t)
{
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || add(o, "Id", json_object_new_string(t->id), false) < 0 ||
            add(o, "Name", string_or_null(t->name), true) < 0 ||
            add(o, "Description", string_or_null(t->description), true) < 0 ||
            add(o, "DeviceApi", string_or_null(t->device_api), true) < 0 ||
            add(o, "AvailableInstances",
                t->available_instances >= 0 ? json_object_new_int64(t->available_instances) : NULL,
                true) < 0 ||
            add(o, "Class", json_object_new_string(mdp_mdev_class_to_string(t->class)), false) < 0 ||
            add(o, "ClassBasis", string_or_null(t->class_basis), true) < 0 ||
            add(o, "Error", string_or_null(t->error), true) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_object *parent_json(const struct parent *p)
{
        const struct mdp_parent *r = p->record;
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *types;

        if (!o || add(o, "Name", json_object_new_string(p->name), false) < 0 ||
            add(o, "DevicePath", string_or_null(r->devpath), true) < 0 ||
            add(o, "Driver", string_or_null(r->driver), true) < 0 ||
            add(o, "Subsystem", string_or_null(r->subsystem), true) < 0 ||
            add(o, "PciAddress", string_or_null(r->pci_address), true) < 0 ||
            add(o, "Iommu", string_or_null(r->iommu), true) < 0 ||
            add(o, "IommuFamily",
                json_object_new_string(mdp_iommu_family_to_string(
                        r->iommu ? mdp_iommu_family_from_name(r->iommu) : MDP_IOMMU_NONE)),
                false) < 0 ||
            add(o, "IommuGroup", group_or_null(r->iommu_group), true) < 0)
                return NULL;
        types = json_object_new_array();
        if (add(o, "Types", types, false) < 0)
                return NULL;
        for (size_t i = 0; i < r->n_types; i++)
                if (append(types, type_json(&r->types[i])) < 0)
                        return NULL;
        {
                json_object *vfs = json_object_new_array();

                if (add(o, "SriovNumVfs",
                        p->pci && p->pci->sriov_numvfs >= 0 ? json_object_new_int(p->pci->sriov_numvfs) : NULL,
                        true) < 0 ||
                    add(o, "Vfs", vfs, false) < 0 ||
                    add(o, "Physfn", string_or_null(p->pci ? p->pci->physfn : NULL), true) < 0)
                        return NULL;
                for (size_t i = 0; p->pci && i < p->pci->n_virtfns; i++)
                        if (append(vfs, json_object_new_string(p->pci->virtfns[i])) < 0)
                                return NULL;
        }
        return TAKE_PTR(o);
}

static json_object *device_json(const struct device *d)
{
        const struct mdp_definition *def = device_definition(d);
        const struct mdp_mdev *mdev = d->mdev;
        _cleanup_json_ json_object *o = json_object_new_object();
        _cleanup_free_ char *node = NULL;
        json_object *parents, *attrs;

        if (mdev && mdev->vfio_group && asprintf(&node, "/dev/%s", mdev->vfio_group) < 0)
                return NULL;
        if (!o || add(o, "Uuid", json_object_new_string(d->uuid), false) < 0 ||
            add(o, "Parent", string_or_null(device_parent(d)), true) < 0 ||
            add(o, "Type", string_or_null(device_type(d)), true) < 0 ||
            add(o, "Active", json_object_new_boolean(mdev != NULL), false) < 0 ||
            add(o, "Defined", json_object_new_boolean(d->n_defs > 0), false) < 0)
                return NULL;
        parents = json_object_new_array();
        if (add(o, "DefinedParents", parents, false) < 0)
                return NULL;
        for (size_t i = 0; i < d->n_defs; i++)
                if (append(parents, json_object_new_string(d->defs[i]->parent)) < 0)
                        return NULL;
        if (add(o, "Autostart", json_object_new_boolean(def && def->autostart), false) < 0)
                return NULL;
        attrs = json_object_new_array();
        if (add(o, "Attrs", attrs, false) < 0)
                return NULL;
        for (size_t i = 0; def && i < def->n_attrs; i++) {
                json_object *a = json_object_new_object();
                if (append(attrs, a) < 0 ||
                    add(a, "Name", json_object_new_string(def->attrs[i].name), false) < 0 ||
                    add(a, "Value", json_object_new_string(def->attrs[i].value), false) < 0)
                        return NULL;
        }
        if (add(o, "State", json_object_new_string(device_state_to_string(d->state)), false) < 0 ||
            add(o, "Owner", json_object_new_string(device_owner_to_string(device_owner(d))), false) < 0 ||
            add(o, "Driver", string_or_null(mdev ? mdev->driver : NULL), true) < 0 ||
            add(o, "IommuGroup", group_or_null(mdev ? mdev->iommu_group : -1), true) < 0 ||
            add(o, "GroupName", string_or_null(mdev ? mdev->group_name : NULL), true) < 0 ||
            add(o, "GroupType", string_or_null(mdev ? mdev->group_type : NULL), true) < 0 ||
            add(o, "VfioGroup", string_or_null(node), true) < 0 ||
            add(o, "VfioDevice", string_or_null(mdev && mdev->vfio_cdev ? mdev->vfio_dev : NULL), true) <
                    0 ||
            add(o, "Class", json_object_new_string(device_class(d)), false) < 0 ||
            add(o, "ClassBasis", string_or_null(device_class_basis(d)), true) < 0 ||
            add(o, "LastError", string_or_null(d->last_error), true) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_object *iommu_json(const struct mdp_iommu *iommu)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        _cleanup_free_ struct mdp_reg_field *fields = NULL;
        json_object *caps;
        size_t n = 0;

        if (!o || mdp_iommu_decode_fields(&iommu->regs, &fields, &n) < 0 ||
            add(o, "Name", json_object_new_string(iommu->name), false) < 0 ||
            add(o, "Family", json_object_new_string(mdp_iommu_family_to_string(iommu->family)), false) < 0)
                return NULL;
        caps = json_object_new_object();
        if (add(o, "Capabilities", caps, false) < 0)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                char buf[32];
                const char *v;

                if (json_object_object_get_ex(caps, fields[i].name, NULL))
                        continue; /* the first field of that name, as Manager.Iommus */
                if (fields[i].present == MDP_UNKNOWN)
                        v = "unknown";
                else if (fields[i].width == 1)
                        v = fields[i].present == MDP_YES ? "yes" : "no";
                else {
                        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)fields[i].value);
                        v = buf;
                }
                if (add(caps, fields[i].name, json_object_new_string(v), false) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

int manager_describe(struct manager *m, char **ret)
{
        _cleanup_json_ json_object *root = json_object_new_object();
        _cleanup_free_ struct parent **parents = NULL;
        _cleanup_free_ struct device **devs = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        const struct mdp_kernel_features *k = m->kernel;
        json_object *kf, *pa, *da;
        size_t n_parents, n_devs;
        const char *s;
        char *out;

        if (!root || manager_sorted_parents(m, &parents, &n_parents) < 0 ||
            manager_sorted_devices(m, &devs, &n_devs) < 0)
                return -ENOMEM;
        warnings = manager_compute_warnings(m);
        if (add(root, "Version", json_object_new_string(PACKAGE_VERSION), false) < 0)
                return -ENOMEM;
        {
                json_object *ia = json_object_new_array();
                const struct mdp_iommu *iommus = NULL;
                size_t n_iommus = 0;

                if (add(root, "Iommus", ia, false) < 0)
                        return -ENOMEM;
                if (m->iommus)
                        iommus = mdp_host_iommus(m->iommus, &n_iommus);
                for (size_t i = 0; i < n_iommus; i++)
                        if (append(ia, iommu_json(&iommus[i])) < 0)
                                return -ENOMEM;
        }
        kf = json_object_new_object();
        if (add(root, "KernelFeatures", kf, false) < 0)
                return -ENOMEM;
        if (k &&
            (add(kf, "iommufd", json_object_new_string(mdp_tristate_to_string(k->iommufd)), false) < 0 ||
             add(kf, "vfio_cdev", json_object_new_string(mdp_tristate_to_string(k->vfio_cdev)), false) < 0 ||
             add(kf, "vfio_container", json_object_new_string(mdp_tristate_to_string(k->vfio_container)),
                 false) < 0 ||
             add(kf, "release", string_or_null(k->release), true) < 0 ||
             add(kf, "cmdline", string_or_null(k->cmdline), true) < 0))
                return -ENOMEM;
        if (add(root, "Warnings", strv_json(warnings), false) < 0)
                return -ENOMEM;
        {
                uint32_t done, failed, in_progress;
                json_object *ap = json_object_new_array();

                autostart_progress(m, &done, &failed, &in_progress);
                if (add(root, "AutostartProgress", ap, false) < 0 ||
                    append(ap, json_object_new_int64(done)) < 0 || append(ap, json_object_new_int64(failed)) < 0 ||
                    append(ap, json_object_new_int64(in_progress)) < 0)
                        return -ENOMEM;
        }
        pa = json_object_new_array();
        if (add(root, "Parents", pa, false) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n_parents; i++)
                if (append(pa, parent_json(parents[i])) < 0)
                        return -ENOMEM;
        da = json_object_new_array();
        if (add(root, "Devices", da, false) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n_devs; i++) {
                if (!devs[i]->exported || !device_exists(devs[i]))
                        continue;
                if (append(da, device_json(devs[i])) < 0)
                        return -ENOMEM;
        }
        if (add(root, "Vms", vms_describe(m), false) < 0)
                return -ENOMEM;
        s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        out = strdup(s);
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}
