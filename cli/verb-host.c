/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parents and iommu: mdevpasid's host views. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "output.h"
#include "source.h"
#include "util/json.h"
#include "util/log.h"
#include "verbs.h"

json_object *cli_types_json(const struct cli_parent *p);

static json_object *parent_json(const struct cli_parent *p)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "Name", json_str(p->name));
        json_object_object_add(o, "DevicePath", json_str(p->devpath));
        json_object_object_add(o, "Driver", json_str(p->driver));
        json_object_object_add(o, "Subsystem", json_str(p->subsystem));
        json_object_object_add(o, "PciAddress", json_str(p->pci_address));
        json_object_object_add(o, "Iommu", json_str(p->iommu));
        json_object_object_add(o, "IommuFamily", json_str(p->iommu_family));
        json_object_object_add(o, "IommuGroup", json_int_or_null(p->iommu_group, p->iommu_group >= 0));
        json_object_object_add(o, "Types", cli_types_json(p));
        json_object_object_add(o, "Error", json_str(p->error));
        return o;
}

int verb_parents(int argc, char **argv)
{
        _cleanup_(cli_source_freep) struct cli_source *src = NULL;
        _cleanup_(table_freep) struct table *t = NULL;
        const struct cli_parent *parents;
        size_t n;
        int r;

        r = cli_source_open(CLI_SOURCE_CLASSIFY, &src);
        if (r < 0)
                return r;
        r = cli_source_parents(src, NULL, &parents, &n);
        if (r >= 0 && arg_json == JSON_OFF)
                for (size_t i = 0; i < n; i++)
                        if (parents[i].error)
                                (void)cli_source_warn(src, "parent %s: %s", parents[i].name, parents[i].error);
        cli_source_flush_warnings(src);
        if (r < 0)
                return r;
        if (arg_json != JSON_OFF) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, parent_json(&parents[i]));
                return json_print(a);
        }

        t = table_new("PARENT", "DRIVER", "PCI", "IOMMU", "FAMILY", "GROUP", "TYPES", "MDEVS", "PASID-GRANULAR",
                      NULL);
        if (!t)
                return log_error_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const struct cli_parent *p = &parents[i];
                size_t mdevs = 0, pasid_types = 0;

                for (size_t j = 0; j < p->n_types; j++) {
                        mdevs += p->types[j].n_instances;
                        if (streq_ptr(p->types[j].class, "pasid-granular"))
                                pasid_types++;
                }
                r = table_add_cell(t, p->name, ansi_bold());
                r = r ?: table_add_cell(t, p->driver ? p->driver : p->subsystem, NULL);
                r = r ?: table_add_cell(t, p->pci_address, NULL);
                r = r ?: table_add_cell(t, p->iommu, NULL);
                r = r ?: table_add_cell(t, p->iommu_family, NULL);
                r = r ?: (p->iommu_group >= 0 ? table_add_cellf(t, NULL, "%d", p->iommu_group)
                                              : table_add_cell(t, NULL, NULL));
                r = r ?: table_add_cellf(t, NULL, "%zu", p->n_types);
                r = r ?: table_add_cellf(t, NULL, "%zu", mdevs);
                r = r ?: table_add_cellf(t, pasid_types ? ansi_green() : NULL, "%zu of %zu types", pasid_types,
                                         p->n_types);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
        }
        if (n == 0) {
                if (arg_legend)
                        printf("No mdev parents (nothing in /sys/class/mdev_bus).\n");
                return 0;
        }
        return table_print(t, stdout);
}

int verb_iommu(int argc, char **argv)
{
        return log_error_errno(-EOPNOTSUPP, "iommu: not implemented yet");
}
