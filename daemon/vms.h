/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* VM assignments and PASIDs (issue 5, DESIGN.md §5-§7): which VM holds which units, the
 * strategy the engine chose for it with the host-wide state (other VMs on the same parent),
 * and the PASIDs handed out on PASID-granular parents: one per instance when the VM is
 * attached, and guest PASIDs through AllocatePasids (+pv strategies, experimental:
 * IOMMU-SPEC.md §6.6). Kept in state.json (section "vms"), so they survive restarts; an
 * assignment whose units are gone is reported (Warnings, the Vm's Missing) and kept until
 * DetachVm.
 *
 * state.json "vms": [
 *   { "name": "web1", "strategy": "shadow", "reason": null, "guest_mode": "nopasid",
 *     "attached_usec": 1700000000000000,
 *     "units": [ { "unit": "<uuid or PCI address>", "kind": "pmdev", "parent": "<parent>"|null } ],
 *     "pasids": [ { "unit": "<uuid>", "parent": "<parent>", "kind": "instance"|"guest",
 *                   "pasid": 5 } ] } ] */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "engine.h"
#include "pasid.h"

struct manager;

struct vm_unit {
        char *id;     /* canonical mdev UUID or PCI address */
        char *parent; /* mdevs: the parent; NULL for PCI functions */
        enum mdp_unit_kind kind;
};

struct vm_pasid {
        char *unit;
        char *parent;
        bool guest; /* AllocatePasids; else the instance's own */
        uint32_t pasid;
};

struct vm {
        struct manager *manager;
        char *name;
        char *path;
        enum mdp_strategy strategy;
        enum mdp_reason reason;
        enum mdp_guest_mode guest;
        uint64_t attached_usec;
        struct vm_unit *units;
        size_t n_units;
        struct vm_pasid *pasids;
        size_t n_pasids;
        uint32_t guest_quota; /* guest PASIDs the VM may hold (policy pasid_quota at attach) */
        char **missing_last;  /* Missing as last sent */
        bool exported;
};

/* One PASID-granular parent's space, made when a PASID is first needed there; every PASID
 * the VMs record on that parent is taken in it then, so none is handed out twice. */
struct pasid_parent {
        char *name;
        struct mdp_pasid_space *space;
};

/* Start-up: the assignments in state.json (after coldplug: Missing needs the devices). */
void vms_load(struct manager *m);
void vms_free_all(struct manager *m);
/* Reload: the PASID spaces are dropped and made again on next use with the new policy
 * (quotas, reserved ranges) and profiles, taking every recorded PASID again. */
void vms_reload(struct manager *m);
/* Warnings lines: units of attached VMs that are gone. */
void vms_append_warnings(struct manager *m, char ***w);
/* A device changed (model.c): a VM holding it re-evaluates Missing. */
void vms_device_changed(struct manager *m, const char *uuid);

/* Describe's "Vms": each attached VM with its Vm properties (Reason null when none). NULL
 * only when out of memory. */
struct json_object *vms_describe(struct manager *m);

/* Manager methods (manager_vtable). */
int method_plan_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_attach_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_detach_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_vms(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_allocate_pasids(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_free_pasids(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* org.mdevpasid1.Vm objects at /org/mdevpasid1/vm/<sd_bus_path_encode(name)>. */
extern const sd_bus_vtable vm_vtable[];
int bus_vm_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error);
int bus_vm_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error);
