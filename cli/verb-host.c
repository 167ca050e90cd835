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

/* ---- iommu ---- */

static json_object *field_value_json(const struct mdp_reg_field *f)
{
        if (f->present == MDP_UNKNOWN)
                return NULL;
        if (f->width == 1)
                return json_object_new_boolean(f->present == MDP_YES);
        return json_object_new_int64((int64_t)f->value);
}

static void field_value_text(const struct mdp_reg_field *f, char *buf, size_t size, const char **color)
{
        *color = tristate_color(f->present);
        if (f->present == MDP_UNKNOWN || f->width == 1)
                snprintf(buf, size, "%s", mdp_tristate_to_string(f->present));
        else {
                snprintf(buf, size, "%" PRIu64, f->value);
                *color = NULL;
        }
}

static void field_bits(const struct mdp_reg_field *f, char *buf, size_t size)
{
        if (f->width == 1)
                snprintf(buf, size, "%u", f->lo);
        else
                snprintf(buf, size, "%u:%u", f->lo + f->width - 1, f->lo);
}

/* The registers as sysfs shows them, NULL when the family has none readable. */
static json_object *registers_json(const struct cli_iommu *m)
{
        const struct mdp_iommu_regs *r = m->regs;
        json_object *o;
        char buf[32];

        if (!r)
                return NULL;
        if (r->vtd_valid) {
                o = json_object_new_object();
                snprintf(buf, sizeof(buf), "%u.%u", r->vtd_version_major, r->vtd_version_minor);
                json_object_object_add(o, "version", json_object_new_string(buf));
                snprintf(buf, sizeof(buf), "0x%016" PRIx64, r->vtd_cap);
                json_object_object_add(o, "cap", json_object_new_string(buf));
                snprintf(buf, sizeof(buf), "0x%016" PRIx64, r->vtd_ecap);
                json_object_object_add(o, "ecap", json_object_new_string(buf));
                return o;
        }
        if (r->amd_valid) {
                o = json_object_new_object();
                snprintf(buf, sizeof(buf), "0x%08" PRIx32, r->amd_cap);
                json_object_object_add(o, "cap", json_object_new_string(buf));
                snprintf(buf, sizeof(buf), "0x%016" PRIx64, r->amd_efr);
                json_object_object_add(o, "efr", json_object_new_string(buf));
                if (r->amd_efr2_valid) {
                        snprintf(buf, sizeof(buf), "0x%016" PRIx64, r->amd_efr2);
                        json_object_object_add(o, "efr2", json_object_new_string(buf));
                } else
                        json_object_object_add(o, "efr2", NULL);
                return o;
        }
        return NULL;
}

/* What the strategy engine takes from this IOMMU (IOMMU-SPEC §6.2), with fixed keys for
 * every family: a capability that does not apply to the family is null. */
static json_object *caps_json(const struct mdp_iommu_caps *c)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "ScalableModeSupported", json_tristate(c->sm_hw));
        json_object_object_add(o, "ScalableMode", json_tristate(c->sm_on));
        json_object_object_add(o, "ScalableModeSource", json_str(c->sm_on_source));
        json_object_object_add(o, "Pasid", json_tristate(c->pasid));
        json_object_object_add(o, "PasidWidth", json_int_or_null(c->pasid_width, c->pasid == MDP_YES));
        json_object_object_add(o, "Nesting", json_tristate(c->nest));
        json_object_object_add(o, "NestingSupported", json_tristate(c->nest_hw));
        json_object_object_add(o, "FirstStage", json_tristate(c->fsts));
        json_object_object_add(o, "SecondStage", json_tristate(c->ssts));
        json_object_object_add(o, "PageRequests", json_tristate(c->prs));
        json_object_object_add(o, "SupervisorRequests", json_tristate(c->srs));
        json_object_object_add(o, "ExecuteRequests", json_tristate(c->ers));
        json_object_object_add(o, "CachingMode", json_tristate(c->caching_mode));
        json_object_object_add(o, "FirstStage1GPages", json_tristate(c->fl1gp));
        json_object_object_add(o, "AddressWidth", json_int_or_null(c->mgaw, c->mgaw > 0));
        json_object_object_add(o, "Stage1", json_tristate(c->s1p));
        json_object_object_add(o, "Stage2", json_tristate(c->s2p));
        json_object_object_add(o, "Ats", json_tristate(c->ats));
        json_object_object_add(o, "Pri", json_tristate(c->pri));
        json_object_object_add(o, "Stall", json_tristate(c->stall));
        json_object_object_add(o, "GuestTranslation", json_tristate(c->gt));
        json_object_object_add(o, "PeripheralPageRequests", json_tristate(c->ppr));
        json_object_object_add(o, "GuestIoProtection", json_tristate(c->giosup));
        json_object_object_add(o, "NonPresentCache", json_tristate(c->np_cache));
        json_object_object_add(o, "IoPageFaults", json_tristate(c->iopf));
        return o;
}

static json_object *iommu_json(const struct cli_iommu *m)
{
        json_object *o = json_object_new_object(), *fields = json_object_new_array();

        json_object_object_add(o, "Name", json_str(m->name));
        json_object_object_add(o, "Family", json_str(mdp_iommu_family_to_string(m->family)));
        json_object_object_add(o, "DevicePath", json_str(m->devpath));
        json_object_object_add(o, "Devices", json_strv(m->devices, m->n_devices));
        json_object_object_add(o, "Registers", registers_json(m));
        json_object_object_add(o, "Capabilities", caps_json(&m->caps));
        for (size_t i = 0; i < m->n_fields; i++) {
                const struct mdp_reg_field *f = &m->fields[i];
                json_object *fo = json_object_new_object();

                json_object_object_add(fo, "Register", json_str(f->reg));
                json_object_object_add(fo, "Name", json_str(f->name));
                json_object_object_add(fo, "Bit", json_object_new_int(f->lo));
                json_object_object_add(fo, "Width", json_object_new_int(f->width));
                json_object_object_add(fo, "Value", field_value_json(f));
                json_object_object_add(fo, "Raw", json_int_or_null((int64_t)f->raw, f->present != MDP_UNKNOWN));
                json_object_object_add(fo, "Meaning", json_str(f->meaning));
                json_object_array_add(fields, fo);
        }
        json_object_object_add(o, "Fields", fields);
        json_object_object_add(o, "Error", json_str(m->error));
        return o;
}

static json_object *kernel_json(const struct cli_kernel *k)
{
        json_object *o = json_object_new_object();

        /* The keys of the Manager's KernelFeatures property. */
        json_object_object_add(o, "iommufd", json_tristate(k->iommufd));
        json_object_object_add(o, "vfio_cdev", json_tristate(k->vfio_cdev));
        json_object_object_add(o, "vfio_container", json_tristate(k->vfio_container));
        json_object_object_add(o, "release", json_str(k->release));
        json_object_object_add(o, "cmdline", json_str(k->cmdline));
        return o;
}

struct summary_item {
        const char *label;
        enum mdp_tristate value;
};

/* One line per instance with what decides strategies; the field table has the rest. */
void cli_print_iommu_summary(const struct cli_iommu *m)
{
        const struct mdp_iommu_caps *c = &m->caps;
        struct summary_item vtd[] = {
                {"scalable mode", c->sm_hw}, {"scalable mode on", c->sm_on}, {"PASID", c->pasid},
                {"nesting", c->nest},        {"first stage", c->fsts},      {"second stage", c->ssts},
                {"page requests", c->prs},   {"caching mode", c->caching_mode},
        };
        struct summary_item smmu[] = {
                {"stage 1", c->s1p}, {"stage 2", c->s2p}, {"PASID", c->pasid},
                {"ATS", c->ats},     {"PRI", c->pri},     {"stall", c->stall},
                {"nesting", c->nest},
        };
        struct summary_item amd[] = {
                {"guest translation", c->gt}, {"PASID", c->pasid}, {"peripheral page requests", c->ppr},
                {"guest I/O protection", c->giosup}, {"non-present cache", c->np_cache},
                {"nesting", c->nest},
        };
        struct summary_item *items;
        size_t n;

        switch (m->family) {
        case MDP_IOMMU_VTD:
                items = vtd, n = ELEMENTSOF(vtd);
                break;
        case MDP_IOMMU_SMMUV3:
                items = smmu, n = ELEMENTSOF(smmu);
                break;
        case MDP_IOMMU_AMD:
                items = amd, n = ELEMENTSOF(amd);
                break;
        default:
                return;
        }
        printf("  ");
        for (size_t i = 0; i < n; i++) {
                const char *color = tristate_color(items[i].value);
                printf("%s%s %s%s%s", i ? ", " : "", items[i].label, color ? color : "",
                       mdp_tristate_to_string(items[i].value), color ? ansi_normal() : "");
                if (items[i].value == MDP_YES && streq(items[i].label, "PASID") && c->pasid_width)
                        printf(" (%u bits)", c->pasid_width);
        }
        printf("\n");
        if (m->family == MDP_IOMMU_VTD && c->sm_on_source)
                printf("  scalable mode on: %s\n", c->sm_on_source);
        if (m->family == MDP_IOMMU_SMMUV3 && !(m->regs && m->regs->smmu_valid))
                printf("  sysfs shows no SMMUv3 registers: every capability is unknown (IOMMU-SPEC §2.4)\n");
}

static int print_iommu_text(const struct cli_iommu *m)
{
        _cleanup_(table_freep) struct table *t = NULL;
        int r = 0;

        printf("%s%s%s  %s", ansi_bold(), m->name, ansi_normal(), mdp_iommu_family_to_string(m->family));
        if (m->devpath)
                printf("  /sys/%s", m->devpath);
        printf("  %zu device%s\n", m->n_devices, m->n_devices == 1 ? "" : "s");
        cli_print_iommu_summary(m);
        if (m->n_fields == 0)
                return 0;
        t = table_new("REGISTER", "FIELD", "BITS", "VALUE", "MEANING", NULL);
        if (!t)
                return -ENOMEM;
        table_set_indent(t, 2);
        for (size_t i = 0; i < m->n_fields && r >= 0; i++) {
                const struct mdp_reg_field *f = &m->fields[i];
                char value[32], bits[16];
                const char *color;

                field_value_text(f, value, sizeof(value), &color);
                field_bits(f, bits, sizeof(bits));
                r = table_add_cell(t, f->reg, NULL);
                r = r ?: table_add_cell(t, f->name, NULL);
                r = r ?: table_add_cell(t, bits, NULL);
                r = r ?: table_add_cell(t, value, color);
                r = r ?: table_add_cell(t, f->meaning, NULL);
        }
        if (r < 0)
                return r;
        return table_print(t, stdout);
}

int verb_iommu(int argc, char **argv)
{
        _cleanup_(cli_source_freep) struct cli_source *src = NULL;
        const struct cli_iommu *iommus;
        const struct cli_kernel *k;
        size_t n;
        int r;

        r = cli_source_open(0, &src);
        if (r < 0)
                return r;
        r = cli_source_iommus(src, &iommus, &n);
        if (r >= 0)
                r = cli_source_kernel(src, &k);
        if (r >= 0 && arg_json == JSON_OFF)
                for (size_t i = 0; i < n; i++)
                        if (iommus[i].error)
                                (void)cli_source_warn(src, "%s: %s", iommus[i].name, iommus[i].error);
        cli_source_flush_warnings(src);
        if (r < 0)
                return r;

        if (arg_json != JSON_OFF) {
                json_object *o = json_object_new_object(), *a = json_object_new_array();

                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, iommu_json(&iommus[i]));
                json_object_object_add(o, "Iommus", a);
                json_object_object_add(o, "KernelFeatures", kernel_json(k));
                return json_print(o);
        }

        if (n == 0)
                printf("No IOMMU instances (nothing in /sys/class/iommu): DMA is not translated.\n");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        printf("\n");
                r = print_iommu_text(&iommus[i]);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
        }
        printf("\n%sKernel features%s\n", ansi_bold(), ansi_normal());
        printf("  iommufd (/dev/iommu):                %s%s%s\n", strempty(tristate_color(k->iommufd)),
               mdp_tristate_to_string(k->iommufd), tristate_color(k->iommufd) ? ansi_normal() : "");
        printf("  VFIO device cdevs:                   %s%s%s\n", strempty(tristate_color(k->vfio_cdev)),
               mdp_tristate_to_string(k->vfio_cdev), tristate_color(k->vfio_cdev) ? ansi_normal() : "");
        printf("  VFIO container (/dev/vfio/vfio):     %s%s%s\n", strempty(tristate_color(k->vfio_container)),
               mdp_tristate_to_string(k->vfio_container), tristate_color(k->vfio_container) ? ansi_normal() : "");
        printf("  release:                             %s\n", k->release ? k->release : "unknown");
        printf("  command line:                        %s\n", k->cmdline ? k->cmdline : "unknown");
        return 0;
}
