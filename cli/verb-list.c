/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list and types: mdevctl's verbs. Text and --dumpjson are mdevctl's formats; --json is
 * mdevpasid's own records (keys = org.mdevpasid1 property names). */
#include <errno.h>
#include <stdio.h>

#include "mdevctl-format.h"
#include "output.h"
#include "source.h"
#include "util/json.h"
#include "util/log.h"
#include "verbs.h"

static int check_output_mode(void)
{
        if (arg_dumpjson && arg_json != JSON_OFF)
                return usage_error("--dumpjson (mdevctl's JSON) and --json (mdevpasid's) exclude each other");
        return 0;
}

static json_object *device_json(const struct cli_device *d)
{
        json_object *o = json_object_new_object(), *attrs = json_object_new_array();

        json_object_object_add(o, "Uuid", json_object_new_string(d->uuid));
        json_object_object_add(o, "Parent", json_str(d->parent));
        json_object_object_add(o, "Type", json_str(d->type));
        json_object_object_add(o, "Active", json_object_new_boolean(d->active));
        json_object_object_add(o, "Defined", json_object_new_boolean(d->defined));
        json_object_object_add(o, "DefinedParents", json_strv(d->defined_parents, d->n_defined_parents));
        json_object_object_add(o, "Autostart", json_object_new_boolean(d->autostart));
        for (size_t i = 0; i < d->n_attrs; i++) {
                json_object *a = json_object_new_object();
                json_object_object_add(a, "Name", json_object_new_string(d->attrs[i].name));
                json_object_object_add(a, "Value", json_object_new_string(d->attrs[i].value));
                json_object_array_add(attrs, a);
        }
        json_object_object_add(o, "Attrs", attrs);
        json_object_object_add(o, "State", json_str(d->state));
        json_object_object_add(o, "Owner", json_str(d->owner));
        json_object_object_add(o, "Driver", json_str(d->driver));
        json_object_object_add(o, "IommuGroup", json_int_or_null(d->iommu_group, d->iommu_group >= 0));
        json_object_object_add(o, "GroupName", json_str(d->group_name));
        json_object_object_add(o, "GroupType", json_str(d->group_type));
        json_object_object_add(o, "VfioGroup", json_str(d->vfio_group));
        json_object_object_add(o, "VfioDevice", json_str(d->vfio_device));
        json_object_object_add(o, "Class", json_str(d->class));
        json_object_object_add(o, "ClassBasis", json_str(d->class_basis));
        json_object_object_add(o, "LastError", json_str(d->last_error));
        json_object_object_add(o, "Error", json_str(d->error));
        return o;
}

int verb_list(int argc, char **argv)
{
        _cleanup_(cli_source_freep) struct cli_source *src = NULL;
        const struct cli_device *devices;
        struct cli_device_query q = {
                .defined = arg_defined,
                .parent = arg_parent,
                .uuid = arg_uuid[0] ? arg_uuid : NULL,
        };
        size_t n;
        int r;

        r = check_output_mode();
        if (r < 0)
                return r;
        r = cli_source_open(arg_json != JSON_OFF ? CLI_SOURCE_CLASSIFY : 0, &src);
        if (r < 0)
                return r;
        r = cli_source_devices(src, &q, &devices, &n);
        cli_source_flush_warnings(src);
        if (r < 0)
                return r;
        if (arg_json != JSON_OFF) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, device_json(&devices[i]));
                return json_print(a);
        }
        if (arg_dumpjson)
                return mdevctl_list_json(stdout, devices, n, q.uuid != NULL);
        return mdevctl_list_text(stdout, devices, n, arg_defined, arg_verbose);
}

static json_object *type_json(const struct cli_type *t)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "Parent", json_str(t->parent));
        json_object_object_add(o, "Id", json_str(t->id));
        json_object_object_add(o, "Name", json_str(t->name));
        json_object_object_add(o, "Description", json_str(t->description));
        json_object_object_add(o, "DeviceApi", json_str(t->device_api));
        json_object_object_add(o, "AvailableInstances",
                               json_int_or_null(t->available_instances, t->available_instances >= 0));
        json_object_object_add(o, "Instances", json_strv(t->instances, t->n_instances));
        json_object_object_add(o, "Class", json_str(t->class));
        json_object_object_add(o, "ClassBasis", json_str(t->class_basis));
        json_object_object_add(o, "Error", json_str(t->error));
        return o;
}

json_object *cli_types_json(const struct cli_parent *p);
json_object *cli_types_json(const struct cli_parent *p)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < p->n_types; i++)
                json_object_array_add(a, type_json(&p->types[i]));
        return a;
}

int verb_types(int argc, char **argv)
{
        _cleanup_(cli_source_freep) struct cli_source *src = NULL;
        const struct cli_parent *parents;
        size_t n;
        int r;

        r = check_output_mode();
        if (r < 0)
                return r;
        r = cli_source_open(arg_json != JSON_OFF ? CLI_SOURCE_CLASSIFY : 0, &src);
        if (r < 0)
                return r;
        r = cli_source_parents(src, arg_parent, &parents, &n);
        if (r < 0) {
                cli_source_flush_warnings(src);
                return r;
        }
        if (arg_json != JSON_OFF) {
                json_object *a = json_object_new_array();

                cli_source_flush_warnings(src);
                for (size_t i = 0; i < n; i++)
                        for (size_t j = 0; j < parents[i].n_types; j++)
                                json_object_array_add(a, type_json(&parents[i].types[j]));
                return json_print(a);
        }
        /* mdevctl fails the whole listing on a broken parent or type; we list the rest and
         * name what was left out. */
        for (size_t i = 0; i < n; i++) {
                if (parents[i].error)
                        (void)cli_source_warn(src, "parent %s: %s", parents[i].name, parents[i].error);
                for (size_t j = 0; j < parents[i].n_types; j++)
                        if (!mdevctl_type_listable(&parents[i].types[j]))
                                (void)cli_source_warn(src, "type %s of %s left out: %s", parents[i].types[j].id,
                                                      parents[i].name,
                                                      parents[i].types[j].error
                                                              ? parents[i].types[j].error
                                                              : "available_instances or device_api is missing");
        }
        cli_source_flush_warnings(src);
        if (arg_dumpjson)
                return mdevctl_types_json(stdout, parents, n);
        return mdevctl_types_text(stdout, parents, n);
}
