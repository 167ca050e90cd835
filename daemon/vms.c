/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VM assignments and PASIDs (vms.h): PlanVm, AttachVm, DetachVm, ListVms, AllocatePasids,
 * FreePasids, the org.mdevpasid1.Vm objects and the "vms" section of state.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-errors.h"
#include "bus-validate.h"
#include "domain-xml.h"
#include "manager.h"
#include "mdp-names.h"
#include "ops.h"
#include "plan-bus.h"
#include "plan-input.h"
#include "strv.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "vms.h"

#define STATE_SECTION       "vms"
#define VM_NAME_MAX         200
#define PASIDS_PER_CALL_MAX 4096
#define EXPECT_VM_NAME                                                                                      \
        "expected a VM name: 1 to 200 bytes, no '/' and no control characters (libvirt's domain name)"

static const struct vm *bus_vm_removing;

/* ---- objects ---- */

static void vm_unit_done(struct vm_unit *u)
{
        free(u->id);
        free(u->parent);
}

static void vm_pasid_done(struct vm_pasid *p)
{
        free(p->unit);
        free(p->parent);
}

static struct vm *vm_free(struct vm *vm)
{
        if (!vm)
                return NULL;
        for (size_t i = 0; i < vm->n_units; i++)
                vm_unit_done(&vm->units[i]);
        free(vm->units);
        for (size_t i = 0; i < vm->n_pasids; i++)
                vm_pasid_done(&vm->pasids[i]);
        free(vm->pasids);
        strv_free(vm->missing_last);
        free(vm->name);
        free(vm->path);
        free(vm);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vm *, vm_free)

static int vm_new(struct manager *m, const char *name, struct vm **ret)
{
        _cleanup_(vm_freep) struct vm *vm = calloc(1, sizeof(*vm));
        int r;

        if (!vm)
                return -ENOMEM;
        vm->manager = m;
        vm->name = strdup(name);
        if (!vm->name)
                return -ENOMEM;
        r = sd_bus_path_encode(MDP_OBJECT_VMS, name, &vm->path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(vm);
        return 0;
}

static int vm_add_unit(struct vm *vm, const char *id, const char *parent, enum mdp_unit_kind kind)
{
        struct vm_unit *n = realloc(vm->units, (vm->n_units + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        vm->units = n;
        n[vm->n_units] =
                (struct vm_unit){.id = strdup(id), .parent = parent ? strdup(parent) : NULL, .kind = kind};
        vm->n_units++;
        if (!n[vm->n_units - 1].id || (parent && !n[vm->n_units - 1].parent))
                return -ENOMEM;
        return 0;
}

static int vm_add_pasid(struct vm *vm, const char *unit, const char *parent, bool guest, uint32_t pasid)
{
        struct vm_pasid *n = realloc(vm->pasids, (vm->n_pasids + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        vm->pasids = n;
        n[vm->n_pasids] = (struct vm_pasid){
                .unit = strdup(unit), .parent = strdup(parent), .guest = guest, .pasid = pasid};
        vm->n_pasids++;
        if (!n[vm->n_pasids - 1].unit || !n[vm->n_pasids - 1].parent)
                return -ENOMEM;
        return 0;
}

static void vm_remove_pasid_at(struct vm *vm, size_t i)
{
        vm_pasid_done(&vm->pasids[i]);
        memmove(&vm->pasids[i], &vm->pasids[i + 1], (vm->n_pasids - i - 1) * sizeof(*vm->pasids));
        vm->n_pasids--;
}

static const struct vm_unit *vm_find_unit(const struct vm *vm, const char *id)
{
        for (size_t i = 0; i < vm->n_units; i++)
                if (streq(vm->units[i].id, id))
                        return &vm->units[i];
        return NULL;
}

static struct vm *find_vm(struct manager *m, const char *name)
{
        return m->vms ? hashmap_get(m->vms, name) : NULL;
}

/* The VM other than `except` that holds unit id, or NULL. */
static struct vm *unit_holder(struct manager *m, const char *id, const char *except)
{
        struct vm *vm;

        if (!m->vms)
                return NULL;
        HASHMAP_FOREACH (vm, m->vms, c)
                if (!streq_ptr(vm->name, except) && vm_find_unit(vm, id))
                        return vm;
        return NULL;
}

static int compare_vm(const void *a, const void *b)
{
        return strcmp((*(struct vm *const *)a)->name, (*(struct vm *const *)b)->name);
}

static int sorted_vms(struct manager *m, struct vm ***ret, size_t *ret_n)
{
        size_t n = m->vms ? hashmap_size(m->vms) : 0, i = 0;
        struct vm **l = calloc(n + 1, sizeof(*l));
        struct vm *vm;

        if (!l)
                return -ENOMEM;
        if (m->vms)
                HASHMAP_FOREACH (vm, m->vms, c)
                        l[i++] = vm;
        qsort(l, n, sizeof(*l), compare_vm);
        *ret = l;
        *ret_n = n;
        return 0;
}

/* A unit is gone when the host no longer has it: an mdev that is not active, a PCI
 * function whose sysfs directory went away. */
static bool unit_missing(struct manager *m, const struct vm_unit *u)
{
        _cleanup_free_ char *p = NULL;

        if (u->kind == MDP_UNIT_PF || u->kind == MDP_UNIT_VF) {
                p = mdp_path(m->ctx, MDP_PATH_SYSFS, MDP_SYSFS_PCI_DEVICES "/%s", u->id);
                return p && access(p, F_OK) < 0;
        }
        {
                struct device *d = manager_get_device(m, u->id);
                return !d || !d->mdev;
        }
}

static char **vm_missing(struct vm *vm)
{
        char **l = calloc(1, sizeof(char *));

        for (size_t i = 0; l && i < vm->n_units; i++)
                if (unit_missing(vm->manager, &vm->units[i]) && strv_push_dup(&l, vm->units[i].id) < 0)
                        return strv_free(l);
        return l;
}

/* ---- pasid spaces ---- */

static struct pasid_parent *pasid_parent_get(struct manager *m, const char *parent)
{
        return m->pasid_parents ? hashmap_get(m->pasid_parents, parent) : NULL;
}

static void pasid_parent_free(struct pasid_parent *pp)
{
        if (!pp)
                return;
        mdp_pasid_space_free(pp->space);
        free(pp->name);
        free(pp);
}

/* Every PASID some VM records on parent is taken in its new space: a restart (or a parent
 * that came back) never hands one out twice. */
static void take_recorded(struct manager *m, struct pasid_parent *pp)
{
        struct vm *vm;

        HASHMAP_FOREACH (vm, m->vms, c)
                for (size_t i = 0; i < vm->n_pasids; i++) {
                        const struct vm_pasid *p = &vm->pasids[i];
                        int r;

                        if (!streq(p->parent, pp->name))
                                continue;
                        r = mdp_pasid_take(pp->space, p->pasid);
                        if (r < 0)
                                log_warning("VM %s: recorded PASID %u of %s on parent %s cannot be taken "
                                            "in its space (%s); it stays recorded until freed.",
                                            vm->name, p->pasid, p->unit, p->parent, strerror(-r));
                }
}

/* The space of a PASID-granular parent: bounded by the device's PASID width and the IOMMU's
 * PASID size (IOMMU-SPEC.md §3.3, both from the unit's facts: an mdev's are its parent's),
 * minus PASID 0 on VT-d and the reserved ranges of policy and profile. */
static int pasid_parent_ensure(struct manager *m, const struct mdp_unit_input *u,
                               const struct mdp_profile_rule *rule, struct pasid_parent **ret,
                               sd_bus_error *error)
{
        _cleanup_(mdp_parent_policy_done) struct mdp_parent_policy pol = {};
        struct pasid_parent *pp = pasid_parent_get(m, u->parent);
        unsigned dw, iw;
        int r;

        if (pp) {
                *ret = pp;
                return 0;
        }
        dw = u->pci.pasid == MDP_YES ? u->pci.pasid_width : 0;
        iw = u->iommu.pasid == MDP_YES ? u->iommu.pasid_width : 0;
        if (!dw && !iw)
                return sd_bus_error_setf(
                        error, MDP_ERROR_REFUSED,
                        "Cannot hand out PASIDs on parent %s: its PASID width is unknown (no "
                        "PASID capability read from its config space, and IOMMU %s does not "
                        "say its PASID size). Make the parent's config space readable.",
                        u->parent, strna(u->iommu_name));
        if (m->policy) {
                r = mdp_policy_resolve_parent(m->policy, u->parent, rule, &pol);
                if (r < 0)
                        return r;
        } else
                pol.pasid_quota = MDP_QUOTA_UNLIMITED;
        pp = calloc(1, sizeof(*pp));
        if (!pp)
                return -ENOMEM;
        pp->name = strdup(u->parent);
        r = pp->name ? mdp_pasid_space_new(dw, iw, u->iommu.family, pol.reserved, pol.n_reserved,
                                           pol.pasid_quota, &pp->space)
                     : -ENOMEM;
        if (r >= 0 && !m->pasid_parents && !(m->pasid_parents = hashmap_new()))
                r = -ENOMEM;
        if (r >= 0)
                r = hashmap_put(m->pasid_parents, pp->name, pp);
        if (r < 0) {
                pasid_parent_free(pp);
                return r;
        }
        log_info("PASID space of parent %s: %u bits (device %u, IOMMU %u), quota %u.", pp->name,
                 mdp_pasid_space_width(pp->space), dw, iw, pol.pasid_quota);
        take_recorded(m, pp);
        *ret = pp;
        return 0;
}

static void release_recorded(struct manager *m, const struct vm_pasid *p)
{
        struct pasid_parent *pp = pasid_parent_get(m, p->parent);
        int r;

        if (!pp)
                return; /* not taken anywhere in memory yet */
        r = mdp_pasid_release(pp->space, p->pasid);
        if (r < 0)
                log_warning("PASID %u of %s on parent %s was not taken in its space (%s).", p->pasid,
                            p->unit, p->parent, strerror(-r));
}

/* ---- state.json ---- */

static json_object *vm_to_json(const struct vm *vm)
{
        json_object *o = json_object_new_object(), *units = json_object_new_array(),
                    *pasids = json_object_new_array();

        if (!o || !units || !pasids) {
                json_object_put(o);
                json_object_put(units);
                json_object_put(pasids);
                return NULL;
        }
        json_object_object_add(o, "name", json_object_new_string(vm->name));
        json_object_object_add(o, "strategy", json_object_new_string(mdp_strategy_to_string(vm->strategy)));
        json_object_object_add(o, "reason",
                               vm->reason == MDP_REASON_NONE
                                       ? NULL
                                       : json_object_new_string(mdp_reason_to_string(vm->reason)));
        json_object_object_add(o, "guest_mode", json_object_new_string(mdp_guest_mode_to_string(vm->guest)));
        json_object_object_add(o, "guest_pasid_quota", json_object_new_int64(vm->guest_quota));
        json_object_object_add(o, "attached_usec", json_object_new_int64((int64_t)vm->attached_usec));
        for (size_t i = 0; i < vm->n_units; i++) {
                json_object *u = json_object_new_object();
                if (!u)
                        continue;
                json_object_object_add(u, "unit", json_object_new_string(vm->units[i].id));
                json_object_object_add(u, "kind",
                                       json_object_new_string(mdp_unit_kind_to_string(vm->units[i].kind)));
                json_object_object_add(u, "parent",
                                       vm->units[i].parent ? json_object_new_string(vm->units[i].parent)
                                                           : NULL);
                json_object_array_add(units, u);
        }
        json_object_object_add(o, "units", units);
        for (size_t i = 0; i < vm->n_pasids; i++) {
                json_object *p = json_object_new_object();
                if (!p)
                        continue;
                json_object_object_add(p, "unit", json_object_new_string(vm->pasids[i].unit));
                json_object_object_add(p, "parent", json_object_new_string(vm->pasids[i].parent));
                json_object_object_add(p, "kind",
                                       json_object_new_string(vm->pasids[i].guest ? "guest" : "instance"));
                json_object_object_add(p, "pasid", json_object_new_int64(vm->pasids[i].pasid));
                json_object_array_add(pasids, p);
        }
        json_object_object_add(o, "pasids", pasids);
        return o;
}

/* Writes the whole section and the file (atomic replace, lib/state.c). */
static int vms_save(struct manager *m)
{
        _cleanup_free_ struct vm **vms = NULL;
        json_object *a;
        size_t n;
        int r;

        if (m->state_readonly)
                return -EROFS;
        r = sorted_vms(m, &vms, &n);
        if (r < 0)
                return r;
        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *o = vm_to_json(vms[i]);
                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        r = mdp_state_set_section(m->state, STATE_SECTION, n ? a : NULL);
        if (!n)
                json_object_put(a);
        if (r < 0)
                return r;
        return manager_save_state(m);
}

static int save_error(sd_bus_error *error, int r, const char *vm)
{
        if (r == -EROFS)
                return sd_bus_error_setf(error, MDP_ERROR_INVALID_CONFIG,
                                         "%s: nothing changed: %s/%s is from a newer mdevpasid and is not "
                                         "overwritten. Upgrade mdevpasidd.",
                                         vm, MDP_HOST_STATE_DIR, MDP_STATE_FILE);
        return sd_bus_error_setf(
                error, MDP_ERROR_KERNEL,
                "%s: nothing changed: cannot write %s/%s: %s. Make it writable for mdevpasidd.", vm,
                MDP_HOST_STATE_DIR, MDP_STATE_FILE, strerror(-r));
}

static int vm_from_json(struct manager *m, json_object *o, struct vm **ret, char **ret_problem)
{
        _cleanup_(vm_freep) struct vm *vm = NULL;
        const char *name = mdp_json_get_string(o, "name"), *s;
        json_object *units, *pasids, *v;
        int r;

        if (!name || !*name) {
                *ret_problem = strdup("an entry without a name");
                return -EINVAL;
        }
        /* The file is root's, but a damaged one must not reach a sysfs path or an object
         * path any more than a D-Bus argument could: the same checks (bus-validate.c). */
        if (check_vm_name(name, NULL) < 0) {
                if (asprintf(ret_problem, "the VM name \"%.64s\" is not one AttachVm would take", name) < 0)
                        *ret_problem = NULL;
                return -EINVAL;
        }
        r = vm_new(m, name, &vm);
        if (r < 0)
                return r;
        s = mdp_json_get_string(o, "strategy");
        r = s ? mdp_strategy_from_string(s) : -EINVAL;
        vm->strategy = r < 0 ? MDP_STRATEGY_REFUSED : r;
        s = mdp_json_get_string(o, "reason");
        r = s ? mdp_reason_from_string(s) : MDP_REASON_NONE;
        vm->reason = r < 0 ? MDP_REASON_NONE : r;
        s = mdp_json_get_string(o, "guest_mode");
        r = s ? mdp_guest_mode_from_string(s) : MDP_GUEST_NONE;
        vm->guest = r < 0 ? MDP_GUEST_NONE : r;
        vm->guest_quota = MDP_POLICY_DEFAULT_VM_PASID_QUOTA;
        if (json_object_object_get_ex(o, "guest_pasid_quota", &v)) {
                int64_t q = json_object_get_int64(v);

                if (!json_object_is_type(v, json_type_int) || q < 0 || q > UINT32_MAX) {
                        if (asprintf(ret_problem, "VM %s: guest_pasid_quota is not a number from 0 to %u", name,
                                     UINT32_MAX) < 0)
                                *ret_problem = NULL;
                        return -EINVAL;
                }
                vm->guest_quota = (uint32_t)q;
        }
        if (json_object_object_get_ex(o, "attached_usec", &v))
                vm->attached_usec = (uint64_t)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "units", &units) && json_object_is_type(units, json_type_array))
                for (size_t i = 0; i < json_object_array_length(units); i++) {
                        json_object *u = json_object_array_get_idx(units, i);
                        const char *id = mdp_json_get_string(u, "unit"),
                                   *kind = mdp_json_get_string(u, "kind");
                        int k = kind ? mdp_unit_kind_from_string(kind) : -EINVAL;

                        const char *parent = mdp_json_get_string(u, "parent");
                        char canonical[MDP_UNIT_ID_MAX];

                        if (!id || k < 0) {
                                if (asprintf(ret_problem, "VM %s: units[%zu] has no unit or kind", name, i) <
                                    0)
                                        *ret_problem = NULL;
                                return -EINVAL;
                        }
                        if (parse_unit_id(id, canonical, NULL) < 0 || !streq(canonical, id) ||
                            (parent && *parent && !mdp_sysfs_name_is_valid(parent))) {
                                if (asprintf(ret_problem,
                                             "VM %s: units[%zu] (\"%.64s\") is not a canonical mdev UUID or PCI "
                                             "address with a valid parent",
                                             name, i, id) < 0)
                                        *ret_problem = NULL;
                                return -EINVAL;
                        }
                        r = vm_add_unit(vm, id, parent, k);
                        if (r < 0)
                                return r;
                }
        if (json_object_object_get_ex(o, "pasids", &pasids) && json_object_is_type(pasids, json_type_array))
                for (size_t i = 0; i < json_object_array_length(pasids); i++) {
                        json_object *p = json_object_array_get_idx(pasids, i), *pv;
                        const char *unit = mdp_json_get_string(p, "unit"),
                                   *parent = mdp_json_get_string(p, "parent"),
                                   *kind = mdp_json_get_string(p, "kind");
                        int64_t pasid;

                        if (!unit || !parent || !kind || !json_object_object_get_ex(p, "pasid", &pv) ||
                            (pasid = json_object_get_int64(pv)) < 0 || pasid >= (1 << MDP_PASID_WIDTH_MAX) ||
                            !vm_find_unit(vm, unit) || !mdp_sysfs_name_is_valid(parent) ||
                            (!streq(kind, "guest") && !streq(kind, "instance"))) {
                                if (asprintf(ret_problem, "VM %s: pasids[%zu] is incomplete", name, i) < 0)
                                        *ret_problem = NULL;
                                return -EINVAL;
                        }
                        r = vm_add_pasid(vm, unit, parent, streq(kind, "guest"), (uint32_t)pasid);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(vm);
        return 0;
}

void vms_load(struct manager *m)
{
        json_object *a = mdp_state_section(m->state, STATE_SECTION);

        if (!m->vms && !(m->vms = hashmap_new())) {
                log_error("Out of memory loading the VM assignments.");
                return;
        }
        if (!a)
                return;
        if (!json_object_is_type(a, json_type_array)) {
                manager_add_notice(m, strdup("state.json: \"vms\" is not an array; the VM assignments in it "
                                             "are ignored (the file keeps them until a VM is attached)."));
                return;
        }
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                _cleanup_free_ char *problem = NULL;
                struct vm *vm = NULL;
                int r = vm_from_json(m, json_object_array_get_idx(a, i), &vm, &problem);

                if (r < 0) {
                        char *notice = NULL;
                        if (asprintf(&notice, "state.json: vms[%zu] skipped: %s.", i,
                                     problem ? problem : strerror(-r)) >= 0)
                                manager_add_notice(m, notice);
                        continue;
                }
                if (hashmap_put(m->vms, vm->name, vm) < 0) {
                        vm_free(vm);
                        continue;
                }
                vm->exported = true;
                vm->missing_last = vm_missing(vm);
                for (size_t k = 0; vm->missing_last && vm->missing_last[k]; k++)
                        log_warning("VM %s: unit %s is gone; the assignment is kept until DetachVm.",
                                    vm->name, vm->missing_last[k]);
        }
}

void vms_free_all(struct manager *m)
{
        struct vm *vm;
        struct pasid_parent *pp;

        if (m->vms) {
                HASHMAP_FOREACH (vm, m->vms, c)
                        vm_free(vm);
                m->vms = hashmap_free(m->vms);
        }
        if (m->pasid_parents) {
                HASHMAP_FOREACH (pp, m->pasid_parents, c2)
                        pasid_parent_free(pp);
                m->pasid_parents = hashmap_free(m->pasid_parents);
        }
}

void vms_reload(struct manager *m)
{
        struct pasid_parent *pp;

        if (!m->pasid_parents)
                return;
        HASHMAP_FOREACH (pp, m->pasid_parents, c)
                pasid_parent_free(pp);
        m->pasid_parents = hashmap_free(m->pasid_parents);
}

void vms_append_warnings(struct manager *m, char ***w)
{
        _cleanup_free_ struct vm **vms = NULL;
        size_t n;

        if (sorted_vms(m, &vms, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < vms[i]->n_units; k++) {
                        char *s;
                        if (!unit_missing(m, &vms[i]->units[k]))
                                continue;
                        if (asprintf(&s,
                                     "VM %s: unit %s is gone; the assignment is kept until \"DetachVm %s\".",
                                     vms[i]->name, vms[i]->units[k].id, vms[i]->name) >= 0)
                                (void)strv_consume(w, s);
                }
}

static void vm_emit(struct vm *vm, const char *const *props)
{
        struct manager *m = vm->manager;
        int r;

        if (!m->bus_ready || !vm->exported)
                return;
        r = sd_bus_emit_properties_changed_strv(m->bus, vm->path, MDP_IFACE_VM, (char **)props);
        if (r < 0)
                log_warning_errno(r, "Cannot send PropertiesChanged for %s: %m", vm->path);
}

void vms_device_changed(struct manager *m, const char *uuid)
{
        struct vm *vm;

        if (!m->vms)
                return;
        HASHMAP_FOREACH (vm, m->vms, c) {
                char **now;

                if (!vm_find_unit(vm, uuid))
                        continue;
                now = vm_missing(vm);
                if (now && vm->missing_last && strv_equal(now, vm->missing_last)) {
                        strv_free(now);
                        continue;
                }
                strv_free(vm->missing_last);
                vm->missing_last = now;
                vm_emit(vm, (const char *const[]){"Missing", NULL});
                manager_warnings_dirty(m);
        }
}

/* ---- requests ---- */

struct vm_request {
        char **units; /* canonical */
        int guest;    /* enum mdp_guest_mode, -1 when not given */
        char *domain_xml;
        struct mdp_domain *domain;
};

static void vm_request_done(struct vm_request *r)
{
        strv_free(r->units);
        free(r->domain_xml);
        mdp_domain_free(r->domain);
}

static int key_type_error(sd_bus_error *error, const char *key, const char *expected)
{
        char what[64];

        snprintf(what, sizeof(what), "type of request key %s", key);
        return mdp_bus_error_invalid_arg(error, what, expected, "a{sv} values have fixed types");
}

/* A request key may be given once, and its value has a fixed type. */
static int check_key(bool *seen, const char *key, const char *contents, const char *type,
                     sd_bus_error *error)
{
        if (*seen)
                return mdp_bus_error_invalid_arg(error, "request key", key, "each key may be given once");
        *seen = true;
        if (!streq_ptr(contents, type))
                return key_type_error(error, key, strna(contents));
        return 0;
}

static int add_unit(struct vm_request *req, const char *s, sd_bus_error *error)
{
        char id[MDP_UNIT_ID_MAX];
        int r = parse_unit_id(s, id, error);

        if (r < 0)
                return r;
        if (strv_contains(req->units, id))
                return mdp_bus_error_invalid_arg(error, "unit", s, "each unit may be listed once");
        return strv_push_dup(&req->units, id);
}

static int read_request(sd_bus_message *msg, const char *name, struct vm_request *req, sd_bus_error *error)
{
        bool seen_units = false, seen_viommu = false, seen_xml = false;
        int r;

        req->guest = -1;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *contents = NULL;
                char type;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(msg, &type, &contents);
                if (r < 0)
                        return r;
                if (streq(key, "Units")) {
                        _cleanup_strv_free_ char **l = NULL;
                        r = check_key(&seen_units, key, contents, "as", error);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_enter_container(msg, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_read_strv(msg, &l);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(msg);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; l && l[i]; i++) {
                                r = add_unit(req, l[i], error);
                                if (r < 0)
                                        return r;
                        }
                } else if (streq(key, "Viommu")) {
                        const char *s;
                        r = check_key(&seen_viommu, key, contents, "s", error);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r < 0)
                                return r;
                        req->guest = mdp_guest_mode_from_string(s);
                        if (req->guest < 0)
                                return mdp_bus_error_invalid_arg(
                                        error, "Viommu", s,
                                        "expected \"none\", \"nopasid\", \"pasid\" or \"svsa\"");
                } else if (streq(key, "DomainXml")) {
                        const char *s;
                        r = check_key(&seen_xml, key, contents, "s", error);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r < 0)
                                return r;
                        req->domain_xml = strdup(s);
                        if (!req->domain_xml)
                                return -ENOMEM;
                } else
                        return mdp_bus_error_invalid_arg(
                                error, "request key", key,
                                "expected \"Units\" (as), \"Viommu\" (s) or \"DomainXml\" (s)");
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        if (seen_xml) {
                _cleanup_free_ char *err = NULL;

                if (seen_units || seen_viommu)
                        return mdp_bus_error_invalid_arg(
                                error, "request key", seen_units ? "Units" : "Viommu",
                                "with \"DomainXml\" the units and the vIOMMU mode come from "
                                "the domain: leave \"Units\" and \"Viommu\" out");
                r = mdp_domain_parse(req->domain_xml, strlen(req->domain_xml), &req->domain, &err);
                if (r < 0)
                        return sd_bus_error_setf(error, MDP_ERROR_INVALID_ARGS,
                                                 "Invalid DomainXml of VM %s: %s", name,
                                                 err ? err : strerror(-r));
                if (!streq_ptr(req->domain->name, name))
                        return sd_bus_error_setf(
                                error, MDP_ERROR_INVALID_ARGS,
                                "Invalid DomainXml: it describes VM \"%s\", the call names VM "
                                "\"%s\". Pass the domain's own name.",
                                strna(req->domain->name), name);
                for (size_t i = 0; i < req->domain->n_mdevs; i++) {
                        r = add_unit(req, req->domain->mdevs[i].uuid, error);
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; i < req->domain->n_pcis; i++) {
                        r = add_unit(req, req->domain->pcis[i].address, error);
                        if (r < 0)
                                return r;
                }
        }
        if (!req->units)
                return sd_bus_error_setf(
                        error, MDP_ERROR_INVALID_ARGS,
                        seen_xml ? "Invalid DomainXml of VM %s: it has no mdev or PCI hostdev; "
                                   "there is nothing to plan."
                                 : "Invalid request for VM %s: no units. Give \"Units\" (mdev "
                                   "UUIDs or PCI addresses) or \"DomainXml\".",
                        name);
        return 0;
}

/* ---- planning ---- */

struct planning {
        struct mdp_host *host;
        struct mdp_plan_input *input;
        struct mdp_vm_policy vp;
        bool vp_set;
        struct mdp_assignment *held;
        size_t n_held;
        struct mdp_plan *plan;
        char *basis;
};

static void planning_done(struct planning *p)
{
        mdp_plan_free(p->plan);
        mdp_plan_input_free(p->input);
        mdp_host_unref(p->host);
        if (p->vp_set)
                mdp_vm_policy_done(&p->vp);
        free(p->held);
        free(p->basis);
}

static int held_error(sd_bus_error *error, const char *vm, const char *unit, const char *other)
{
        return sd_bus_error_setf(error, MDP_ERROR_REFUSED,
                                 "%s: UNIT_HELD on %s: it is assigned to VM %s; detach it there first "
                                 "(DetachVm \"%s\").",
                                 vm, unit, other, other);
}

/* Runs the engine over the request's units with the host-wide state: every unit other VMs
 * hold (the SMMUv3/AMD rule that mdevs of one parent in different VMs cannot nest, §6.4
 * step 9; per-parent exclusivity) and the vendor profiles. */
static int plan_vm(struct manager *m, const char *name, struct vm_request *req, struct planning *p,
                   sd_bus_error *error)
{
        _cleanup_free_ char *err = NULL;
        struct mdp_plan_host_context hc = {};
        struct mdp_plan_request *pr;
        size_t n = 0, cap = 0;
        struct vm *vm;
        int r;

        for (size_t i = 0; req->units[i]; i++) {
                struct vm *other = unit_holder(m, req->units[i], name);
                if (other)
                        return held_error(error, name, req->units[i], other->name);
        }
        if (m->vms)
                HASHMAP_FOREACH (vm, m->vms, c)
                        cap += vm->n_units;
        p->held = calloc(cap + 1, sizeof(*p->held));
        if (!p->held)
                return -ENOMEM;
        if (m->vms)
                HASHMAP_FOREACH (vm, m->vms, c2)
                        for (size_t i = 0; i < vm->n_units; i++)
                                if (!streq(vm->name, name))
                                        p->held[n++] = (struct mdp_assignment){vm->units[i].id, vm->name};
        p->n_held = n;
        hc.assignments = p->held;
        hc.n_assignments = n;
        hc.assignments_known = true;
        hc.profiles = m->profiles;

        /* Only what these units touch: a full scan grows with the host (49 ms at 1,000
         * mdevs, seconds at 10,000 VFs; bench/README.md). */
        r = mdp_plan_input_scan(m->ctx, (const char *const *)req->units, strv_length(req->units), &hc,
                                &p->host);
        if (r < 0)
                return sd_bus_error_setf(error, MDP_ERROR_KERNEL, "%s: cannot read the host from sysfs: %s",
                                         name, strerror(-r));
        r = mdp_plan_input_new(p->host, name, (const char *const *)req->units, strv_length(req->units), &hc,
                               &p->input, &err);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_DEVICE, "%s: %s", name,
                                         err ? err : "a unit does not exist");
        if (r == -EINVAL)
                return sd_bus_error_setf(error, MDP_ERROR_INVALID_ARGS, "%s: %s", name,
                                         err ? err : "invalid unit");
        if (r < 0)
                return r;
        pr = mdp_plan_input_request(p->input);
        if (m->policy) {
                r = mdp_policy_resolve_vm(m->policy, name, req->domain ? &req->domain->policy : NULL,
                                          &p->vp);
                if (r < 0)
                        return r;
                p->vp_set = true;
                mdp_policy_fill_request(m->policy, &p->vp, req->domain, pr);
        }
        if (!req->domain) {
                pr->guest = req->guest < 0 ? MDP_GUEST_NONE : req->guest;
                if (asprintf(&p->basis,
                             req->guest < 0 ? "no Viommu in the request ⇒ %s"
                                            : "Viommu \"%s\" in the request",
                             mdp_guest_mode_to_string(pr->guest)) < 0)
                        return -ENOMEM;
                pr->guest_basis = p->basis;
        }
        pr->vm = name;
        r = mdp_engine_plan(pr, &p->plan);
        if (r == -EINVAL) {
                char buf[256] = "";
                (void)mdp_plan_request_validate(pr, buf, sizeof(buf));
                return sd_bus_error_setf(error, MDP_ERROR_INVALID_ARGS, "%s: %s", name, buf);
        }
        return r;
}

static const char *reason_fix(enum mdp_reason r)
{
        switch (r) {
        case MDP_REASON_NO_HOST_IOMMU:
                return "enable the host IOMMU (intel_iommu=on, amd_iommu=on, or the SMMU in firmware) and "
                       "reboot";
        case MDP_REASON_GROUP_NOT_VIABLE:
                return "give every device of the IOMMU group to this VM, or bind the others to vfio-pci";
        case MDP_REASON_NO_PMDEV_PATH:
                return "use a kernel with a PASID-granular assignment path and set kernel_path in the "
                       "vendor "
                       "profile";
        case MDP_REASON_EMULATED_NO_PASID:
                return "give the guest a vIOMMU without PASIDs (Viommu \"nopasid\")";
        case MDP_REASON_NO_VIOMMU_PATH:
                return "run the VM without a vIOMMU (Viommu \"none\"), or assert the VMM's vIOMMU in policy";
        case MDP_REASON_NO_PASID_NEST:
                return "use Viommu \"nopasid\", or a host and VMM that nest with PASIDs";
        case MDP_REASON_NO_PV_PASID:
                return "use Viommu \"nopasid\"; PV PASID allocation needs vmm pv-pasid-alloc in policy "
                       "(IOMMU-SPEC §6.6)";
        case MDP_REASON_SHADOW_STAGE1_FOR_VSVA:
                return "use Viommu \"pasid\" instead of \"svsa\", or a host that nests";
        case MDP_REASON_VSVA_UNSUPPORTED:
                return "use Viommu \"pasid\" or \"nopasid\": shared virtual addressing needs I/O page fault "
                       "forwarding";
        case MDP_REASON_MIXED_MODES:
                return "assign units that can share one vIOMMU, or split them across VMs";
        default:
                return "see the plan (PlanVm) for the rules that fired";
        }
}

static int refused_error(sd_bus_error *error, const struct mdp_plan *plan)
{
        return sd_bus_error_setf(error, MDP_ERROR_REFUSED, "%s: %s on %s: %s; %s.", plan->vm,
                                 mdp_reason_to_string(plan->reason),
                                 plan->refused_by ? plan->refused_by : "the VM",
                                 mdp_reason_meaning(plan->reason), reason_fix(plan->reason));
}

static int reply_plan(sd_bus_message *msg, const struct planning *p, const struct vm *vm)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ const char **parents = NULL;
        _cleanup_free_ struct mdp_plan_pasid *pasids = NULL;
        struct mdp_plan_bus_extra extra = {};
        const struct mdp_plan_request *pr = mdp_plan_input_request(p->input);
        int r;

        parents = calloc(pr->n_units + 1, sizeof(*parents));
        if (!parents)
                return -ENOMEM;
        for (size_t i = 0; i < pr->n_units; i++)
                parents[i] = pr->units[i].parent;
        extra.parents = parents;
        if (vm && vm->n_pasids) {
                pasids = calloc(vm->n_pasids, sizeof(*pasids));
                if (!pasids)
                        return -ENOMEM;
                for (size_t i = 0; i < vm->n_pasids; i++)
                        pasids[i] = (struct mdp_plan_pasid){vm->pasids[i].unit, vm->pasids[i].pasid};
                extra.pasids = pasids;
                extra.n_pasids = vm->n_pasids;
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = mdp_plan_bus_append_full(reply, p->plan, &extra);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* PlanVm and AttachVm: the VM name and the request, checked, then authorization. 1: go
 * on; 0: polkit decides later (the call is dispatched again); negative: an error. */
static int vm_call_begin(struct manager *m, sd_bus_message *msg, const char **ret_name,
                         struct vm_request *req, sd_bus_error *error)
{
        int r;

        r = sd_bus_message_read(msg, "s", ret_name);
        if (r < 0)
                return r;
        r = check_vm_name(*ret_name, error);
        if (r < 0)
                return r;
        r = read_request(msg, *ret_name, req, error);
        if (r < 0)
                return r;
        return authz_check(m, msg, error);
}

int method_plan_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(vm_request_done) struct vm_request req = {};
        _cleanup_(planning_done) struct planning p = {};
        struct manager *m = userdata;
        const char *name;
        int r;

        r = vm_call_begin(m, msg, &name, &req, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */
        r = plan_vm(m, name, &req, &p, error);
        if (r < 0)
                return r;
        return reply_plan(msg, &p, NULL);
}

/* ---- attach ---- */

struct taken {
        struct mdp_pasid_space *space;
        uint32_t pasid;
};

/* The vendor attribute's PASID (the profile names it), or -ENOENT. */
static int read_pasid_attribute(struct manager *m, const struct mdp_mdev *mdev, const char *attr,
                                uint32_t *ret)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        char *end;
        unsigned long v;
        int r;

        if (!mdev->devpath)
                return -ENOENT;
        path = mdp_path(m->ctx, MDP_PATH_SYSFS, "%s/%s", mdev->devpath, attr);
        if (!path)
                return -ENOMEM;
        r = read_full_file(AT_FDCWD, path, 64, &text, NULL);
        if (r < 0)
                return r;
        errno = 0;
        v = strtoul(text, &end, 0);
        if (errno || end == text || (*end && *end != '\n') || v >= (1UL << MDP_PASID_WIDTH_MAX))
                return -EBADMSG;
        *ret = (uint32_t)v;
        return 0;
}

/* Gives each PASID-granular instance of the plan its PASID: the vendor attribute's when the
 * profile names one (taken, so nobody else gets it), else per_instance allocated ones. */
static int instance_pasids(struct manager *m, struct vm *vm, struct planning *p, struct taken **taken,
                           size_t *n_taken, sd_bus_error *error)
{
        const struct mdp_plan_request *pr = mdp_plan_input_request(p->input);
        int r;

        for (size_t i = 0; i < pr->n_units; i++) {
                const struct mdp_unit_input *u = &pr->units[i];
                const struct mdp_mdev *mdev;
                const struct mdp_parent *parent;
                const struct mdp_profile_rule *rule = NULL;
                struct pasid_parent *pp;
                unsigned count;
                uint32_t pasid;

                if (u->kind != MDP_UNIT_PMDEV || !u->parent)
                        continue;
                mdev = mdp_host_find_mdev(p->host, u->id);
                parent = mdp_host_find_parent(p->host, u->parent);
                if (m->profiles && mdev && parent)
                        rule = mdp_profiles_match(m->profiles, mdp_parent_driver_string(parent),
                                                  mdev->type_id);
                r = pasid_parent_ensure(m, u, rule, &pp, error);
                if (r < 0)
                        return r;
                count = rule && rule->pasids_per_instance ? rule->pasids_per_instance : 1;
                if (rule && rule->pasid_attribute && mdev &&
                    read_pasid_attribute(m, mdev, rule->pasid_attribute, &pasid) >= 0) {
                        r = mdp_pasid_take(pp->space, pasid);
                        if (r == -EEXIST)
                                return sd_bus_error_setf(
                                        error, MDP_ERROR_BUSY,
                                        "%s: mdev %s reports PASID %u (attribute %s), which is "
                                        "already handed out on parent %s. Stop the mdev that "
                                        "holds it.",
                                        vm->name, u->id, pasid, rule->pasid_attribute, u->parent);
                        if (r < 0)
                                return sd_bus_error_setf(
                                        error, MDP_ERROR_KERNEL,
                                        "%s: mdev %s reports PASID %u (attribute %s), outside "
                                        "the PASID space of parent %s or reserved (%s).",
                                        vm->name, u->id, pasid, rule->pasid_attribute, u->parent,
                                        strerror(-r));
                        (*taken)[(*n_taken)++] = (struct taken){pp->space, pasid};
                        r = vm_add_pasid(vm, u->id, u->parent, false, pasid);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (unsigned k = 0; k < count; k++) {
                        struct taken *nt = realloc(*taken, (*n_taken + 1) * sizeof(**taken));
                        if (!nt)
                                return -ENOMEM;
                        *taken = nt;
                        r = mdp_pasid_alloc(pp->space, &pasid);
                        if (r == -ENOSPC || r == -EDQUOT)
                                return sd_bus_error_setf(error, MDP_ERROR_NO_CAPACITY,
                                                         "%s: no PASID left for mdev %s on parent %s (%u of "
                                                         "%u in use%s). Detach a "
                                                         "VM that uses the parent, or raise the parent's "
                                                         "pasid_quota in policy.",
                                                         vm->name, u->id, u->parent,
                                                         mdp_pasid_space_used(pp->space),
                                                         r == -EDQUOT ? mdp_pasid_space_quota(pp->space)
                                                                      : mdp_pasid_space_size(pp->space),
                                                         r == -EDQUOT ? ", the parent's quota" : "");
                        if (r < 0)
                                return r;
                        (*taken)[(*n_taken)++] = (struct taken){pp->space, pasid};
                        r = vm_add_pasid(vm, u->id, u->parent, false, pasid);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static bool same_units(const struct vm *vm, char **units)
{
        if (vm->n_units != strv_length(units))
                return false;
        for (size_t i = 0; units[i]; i++)
                if (!vm_find_unit(vm, units[i]))
                        return false;
        return true;
}

/* Plans, records and replies; the units are running. On failure the mdevs this attach
 * started are stopped again: a refused or failed attach changes nothing. */
static int attach_do(struct manager *m, sd_bus_message *msg, const char *name, struct vm_request *req,
                     sd_bus_error *error)
{
        _cleanup_(planning_done) struct planning p = {};
        _cleanup_(vm_freep) struct vm *vm = NULL;
        _cleanup_free_ struct taken *taken = NULL;
        const struct mdp_plan_request *pr;
        struct vm *existing;
        size_t n_taken = 0;
        int r;

        existing = find_vm(m, name);
        if (existing && !same_units(existing, req->units)) /* attached meanwhile, while mdevs started */
                return sd_bus_error_setf(error, MDP_ERROR_ALREADY_EXISTS,
                                         "%s: the VM is attached with other units. DetachVm \"%s\" first.",
                                         name, name);
        r = plan_vm(m, name, req, &p, error);
        if (r < 0)
                return r;
        if (p.plan->strategy == MDP_STRATEGY_REFUSED)
                return refused_error(error, p.plan);
        if (existing) {
                /* Attached already with these units (a libvirtd reconnect): the record and its
                 * PASIDs stand; the plan is today's. */
                return reply_plan(msg, &p, existing);
        }

        r = vm_new(m, name, &vm);
        if (r < 0)
                return r;
        pr = mdp_plan_input_request(p.input);
        vm->strategy = p.plan->strategy;
        vm->reason = p.plan->reason;
        vm->guest = p.plan->guest;
        vm->attached_usec = now_realtime_usec();
        vm->guest_quota = p.vp_set ? p.vp.pasid_quota : MDP_POLICY_DEFAULT_VM_PASID_QUOTA;
        for (size_t i = 0; i < pr->n_units; i++) {
                r = vm_add_unit(vm, pr->units[i].id, pr->units[i].parent, pr->units[i].kind);
                if (r < 0)
                        return r;
        }
        taken = calloc(pr->n_units + 1, sizeof(*taken));
        if (!taken)
                return -ENOMEM;
        r = instance_pasids(m, vm, &p, &taken, &n_taken, error);
        if (r >= 0 && !m->vms && !(m->vms = hashmap_new()))
                r = -ENOMEM;
        if (r >= 0)
                r = hashmap_put(m->vms, vm->name, vm);
        if (r >= 0) {
                r = vms_save(m);
                if (r < 0) {
                        hashmap_remove(m->vms, vm->name);
                        (void)save_error(error, r, name);
                }
        }
        if (r < 0) {
                for (size_t i = 0; i < n_taken; i++)
                        (void)mdp_pasid_release(taken[i].space, taken[i].pasid);
                return r;
        }
        log_info("VM %s attached: %s, %zu unit%s, %zu PASID%s.", vm->name,
                 mdp_strategy_to_string(vm->strategy), vm->n_units, vm->n_units == 1 ? "" : "s",
                 vm->n_pasids, vm->n_pasids == 1 ? "" : "s");
        vm->missing_last = vm_missing(vm);
        vm->exported = true;
        existing = TAKE_PTR(vm);
        if (m->bus_ready) {
                r = sd_bus_emit_object_added(m->bus, existing->path);
                if (r < 0)
                        log_warning_errno(r, "Cannot send InterfacesAdded for %s: %m", existing->path);
        }
        return reply_plan(msg, &p, existing);
}

static void stop_started(struct manager *m, char **started)
{
        for (size_t i = 0; started && started[i]; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                struct device *d = manager_get_device(m, started[i]);

                if (!d || !d->mdev || d->op)
                        continue;
                log_device(LOG_INFO, d->uuid, "Stopping mdev %s again: the attach that started it failed.",
                           d->uuid);
                if (op_stop(m, d, OP_ORIGIN_RECOVERY, NULL, &e) < 0)
                        log_device(LOG_WARNING, d->uuid, "Cannot stop mdev %s: %s", d->uuid,
                                   strna(e.message));
        }
}

/* AttachVm waiting for the VM's defined mdevs to start. */
struct attach_job {
        struct manager *m;
        sd_bus_message *msg;
        char *name;
        struct vm_request req;
        char **started;
        unsigned pending;
        char *fail_unit, *fail_name, *fail_message;
};

static void attach_job_free(struct attach_job *j)
{
        sd_bus_message_unref(j->msg);
        free(j->name);
        vm_request_done(&j->req);
        strv_free(j->started);
        free(j->fail_unit);
        free(j->fail_name);
        free(j->fail_message);
        free(j);
}

static void attach_start_done(struct manager *m, const char *uuid, int r, const char *error_name,
                              const char *message, void *userdata)
{
        struct attach_job *j = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        if (r < 0 && !j->fail_unit) {
                j->fail_unit = strdup(uuid);
                j->fail_name = error_name ? strdup(error_name) : NULL;
                j->fail_message = message ? strdup(message) : NULL;
        } else if (r >= 0)
                (void)strv_push_dup(&j->started, uuid);
        if (--j->pending > 0)
                return;
        if (j->fail_unit) {
                sd_bus_error_setf(&e, j->fail_name ? j->fail_name : MDP_ERROR_KERNEL,
                                  "%s: cannot start mdev %s: %s Nothing was attached.", j->name,
                                  j->fail_unit, j->fail_message ? j->fail_message : strerror(-r));
                r = -EIO;
        } else
                r = attach_do(m, j->msg, j->name, &j->req, &e);
        if (r < 0) {
                stop_started(m, j->started);
                if (sd_bus_error_is_set(&e))
                        (void)sd_bus_reply_method_error(j->msg, &e);
                else
                        (void)sd_bus_reply_method_errno(j->msg, r, NULL);
        }
        attach_job_free(j);
}

/* Starts the VM's mdevs that are defined and not running. 0: none needed; 1: started, the
 * job replies; negative with error set. */
static int start_defined(struct manager *m, sd_bus_message *msg, const char *name, struct vm_request *req,
                         sd_bus_error *error)
{
        struct attach_job *j = NULL;
        int r;

        for (size_t i = 0; req->units[i]; i++) {
                struct device *d;

                if (!strchr(req->units[i], '-'))
                        continue; /* a PCI address */
                (void)manager_refresh_definitions(m, req->units[i]);
                d = manager_get_device(m, req->units[i]);
                if (!d || d->mdev || d->n_defs == 0)
                        continue;
                if (d->op)
                        return sd_bus_error_setf(
                                error, MDP_ERROR_BUSY,
                                "%s: mdev %s is being started or stopped. Retry when that has "
                                "finished.",
                                name, d->uuid);
                if (d->n_defs > 1)
                        return sd_bus_error_setf(
                                error, MDP_ERROR_INVALID_ARGS,
                                "%s: mdev %s is defined on several parents and not running. Start "
                                "it on one (Start \"%s\" PARENT) first.",
                                name, d->uuid, d->uuid);
                if (!j) {
                        j = calloc(1, sizeof(*j));
                        if (!j)
                                return -ENOMEM;
                        j->m = m;
                        j->msg = sd_bus_message_ref(msg);
                        j->name = strdup(name);
                        if (!j->name) {
                                attach_job_free(j);
                                return -ENOMEM;
                        }
                }
                log_device(LOG_INFO, d->uuid, "Starting mdev %s for VM %s.", d->uuid, name);
                j->pending++;
                r = op_start(m, d, d->defs[0], OP_ORIGIN_ATTACH, NULL, attach_start_done, j, error);
                if (r < 0) {
                        j->pending--;
                        if (j->pending == 0) {
                                stop_started(m, j->started);
                                attach_job_free(j);
                        } else {
                                /* the ones running finish, then the job replies this error */
                                j->fail_unit = strdup(d->uuid);
                                j->fail_name = strdup(error->name ? error->name : MDP_ERROR_KERNEL);
                                j->fail_message = strdup(error->message ? error->message : strerror(-r));
                                sd_bus_error_free(error);
                                return 1;
                        }
                        return r;
                }
        }
        if (!j)
                return 0;
        j->req = *req;
        *req = (struct vm_request){};
        return 1;
}

int method_attach_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(vm_request_done) struct vm_request req = {};
        struct manager *m = userdata;
        struct vm *existing;
        const char *name;
        int r;

        r = vm_call_begin(m, msg, &name, &req, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */

        existing = find_vm(m, name);
        if (existing && !same_units(existing, req.units))
                return sd_bus_error_setf(error, MDP_ERROR_ALREADY_EXISTS,
                                         "%s: the VM is attached with other units. DetachVm \"%s\" first.",
                                         name, name);
        /* Units another VM holds are refused before anything is started. */
        for (size_t i = 0; req.units[i]; i++) {
                struct vm *other = unit_holder(m, req.units[i], name);
                if (other)
                        return held_error(error, name, req.units[i], other->name);
        }
        r = start_defined(m, msg, name, &req, error);
        if (r != 0)
                return r < 0 ? r : 1; /* 1: the reply comes when the starts have finished */
        return attach_do(m, msg, name, &req, error);
}

static void vm_release_all(struct manager *m, struct vm *vm)
{
        for (size_t i = 0; i < vm->n_pasids; i++)
                release_recorded(m, &vm->pasids[i]);
}

static int no_such_vm(sd_bus_error *error, const char *name)
{
        return sd_bus_error_setf(
                error, MDP_ERROR_NO_SUCH_VM,
                "VM %s is not attached. List attached VMs with ListVms (\"mdevpasidctl vms\").", name);
}

int method_detach_vm(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        const char *name;
        struct vm *vm;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = check_vm_name(name, error);
        if (r < 0)
                return r;
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */
        vm = find_vm(m, name);
        if (!vm)
                return no_such_vm(error, name);
        hashmap_remove(m->vms, vm->name);
        r = vms_save(m);
        if (r < 0) {
                (void)hashmap_put(m->vms, vm->name, vm);
                return save_error(error, r, name);
        }
        vm_release_all(m, vm);
        log_info("VM %s detached: %zu unit%s and %zu PASID%s released.", vm->name, vm->n_units,
                 vm->n_units == 1 ? "" : "s", vm->n_pasids, vm->n_pasids == 1 ? "" : "s");
        if (m->bus_ready) {
                bus_vm_removing = vm;
                r = sd_bus_emit_object_removed(m->bus, vm->path);
                bus_vm_removing = NULL;
                if (r < 0)
                        log_warning_errno(r, "Cannot send InterfacesRemoved for %s: %m", vm->path);
        }
        vm_free(vm);
        manager_warnings_dirty(m);
        return sd_bus_reply_method_return(msg, NULL);
}

int method_list_vms(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ struct vm **vms = NULL;
        struct manager *m = userdata;
        size_t n;
        int r;

        r = sorted_vms(m, &vms, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssas)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "sssas");
                if (r >= 0)
                        r = sd_bus_message_append(
                                reply, "sss", vms[i]->name, mdp_strategy_to_string(vms[i]->strategy),
                                vms[i]->reason == MDP_REASON_NONE ? ""
                                                                  : mdp_reason_to_string(vms[i]->reason));
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "s");
                for (size_t k = 0; r >= 0 && k < vms[i]->n_units; k++)
                        r = sd_bus_message_append_basic(reply, 's', vms[i]->units[k].id);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ---- guest PASIDs (+pv, experimental: IOMMU-SPEC.md §6.6) ---- */

/* The space of a unit's parent; after a restart it is made again from the host's facts. */
static int unit_space(struct manager *m, struct vm *vm, const struct vm_unit *u, struct pasid_parent **ret,
                      const struct mdp_profile_rule **ret_rule, sd_bus_error *error)
{
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_(mdp_plan_input_freep) struct mdp_plan_input *in = NULL;
        _cleanup_free_ char *err = NULL;
        const char *ids[] = {u->id};
        const struct mdp_mdev *mdev;
        const struct mdp_parent *parent;
        int r;

        *ret_rule = NULL;
        r = mdp_plan_input_scan(m->ctx, ids, 1, NULL, &host);
        if (r < 0)
                return sd_bus_error_setf(error, MDP_ERROR_KERNEL, "%s: cannot read the host from sysfs: %s",
                                         vm->name, strerror(-r));
        mdev = mdp_host_find_mdev(host, u->id);
        parent = u->parent ? mdp_host_find_parent(host, u->parent) : NULL;
        if (!mdev || !parent)
                return sd_bus_error_setf(
                        error, MDP_ERROR_NO_SUCH_DEVICE,
                        "%s: mdev %s is gone (or its parent %s); no PASIDs can be given to it.", vm->name,
                        u->id, strna(u->parent));
        if (m->profiles)
                *ret_rule = mdp_profiles_match(m->profiles, mdp_parent_driver_string(parent), mdev->type_id);
        *ret = pasid_parent_get(m, u->parent);
        if (*ret)
                return 0;
        r = mdp_plan_input_new(host, vm->name, ids, 1, NULL, &in, &err);
        if (r < 0)
                return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_DEVICE, "%s: %s", vm->name,
                                         err ? err : strerror(-r));
        return pasid_parent_ensure(m, &mdp_plan_input_request(in)->units[0], *ret_rule, ret, error);
}

static size_t count_guest(const struct vm *vm, const char *unit)
{
        size_t n = 0;

        for (size_t i = 0; i < vm->n_pasids; i++)
                if (vm->pasids[i].guest && (!unit || streq(vm->pasids[i].unit, unit)))
                        n++;
        return n;
}

int method_allocate_pasids(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ uint32_t *got = NULL;
        struct manager *m = userdata;
        const struct mdp_profile_rule *rule;
        const char *name, *uuid_arg;
        char uuid[MDP_UUID_STRING_MAX];
        const struct vm_unit *u;
        struct pasid_parent *pp;
        size_t n_before, n_got = 0;
        uint32_t count;
        struct vm *vm;
        int r;

        r = sd_bus_message_read(msg, "ssu", &name, &uuid_arg, &count);
        if (r < 0)
                return r;
        r = check_vm_name(name, error);
        if (r < 0)
                return r;
        r = parse_uuid(uuid_arg, false, uuid, error);
        if (r < 0)
                return r;
        if (count == 0 || count > PASIDS_PER_CALL_MAX) {
                char v[16];
                snprintf(v, sizeof(v), "%u", count);
                return mdp_bus_error_invalid_arg(error, "PASID count", v, "expected 1 to 4096");
        }
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */

        vm = find_vm(m, name);
        if (!vm)
                return no_such_vm(error, name);
        u = vm_find_unit(vm, uuid);
        if (!u || u->kind != MDP_UNIT_PMDEV)
                return sd_bus_error_setf(
                        error, MDP_ERROR_INVALID_ARGS,
                        "%s: mdev %s is not a PASID-granular unit of this VM; guest PASIDs are "
                        "given per PASID-granular mdev.",
                        name, uuid);
        if (vm->strategy != MDP_STRATEGY_SHADOW_PV && vm->strategy != MDP_STRATEGY_NEST_PV)
                return sd_bus_error_setf(
                        error, MDP_ERROR_REFUSED,
                        "%s: strategy %s has no PV PASID channel; guest PASIDs are allocated "
                        "for shadow+pv and nest+pv only (experimental, IOMMU-SPEC §6.6).",
                        name, mdp_strategy_to_string(vm->strategy));
        if (count_guest(vm, NULL) + count > vm->guest_quota)
                return sd_bus_error_setf(
                        error, MDP_ERROR_NO_CAPACITY,
                        "%s: %u more guest PASIDs would exceed the VM's quota (%zu of %u in use). "
                        "Free some, or raise pasid_quota for this VM in policy.",
                        name, count, count_guest(vm, NULL), vm->guest_quota);
        r = unit_space(m, vm, u, &pp, &rule, error);
        if (r < 0)
                return r;
        if (rule && count_guest(vm, uuid) + count > rule->max_guest_pasids)
                return sd_bus_error_setf(
                        error, MDP_ERROR_NO_CAPACITY,
                        "%s: mdev %s may have %u guest PASIDs (max_guest_pasids of its vendor "
                        "profile); %zu are in use, %u more were asked for.",
                        name, uuid, rule->max_guest_pasids, count_guest(vm, uuid), count);
        got = calloc(count, sizeof(*got));
        if (!got)
                return -ENOMEM;
        n_before = vm->n_pasids;
        for (uint32_t i = 0; i < count; i++) {
                r = mdp_pasid_alloc(pp->space, &got[i]);
                if (r >= 0) {
                        n_got++;
                        r = vm_add_pasid(vm, uuid, u->parent, true, got[i]);
                }
                if (r < 0) {
                        for (size_t k = 0; k < n_got; k++)
                                (void)mdp_pasid_release(pp->space, got[k]);
                        while (vm->n_pasids > n_before)
                                vm_remove_pasid_at(vm, vm->n_pasids - 1);
                        if (r == -ENOSPC || r == -EDQUOT)
                                return sd_bus_error_setf(error, MDP_ERROR_NO_CAPACITY,
                                                         "%s: parent %s has no %u PASIDs left (%u in use, "
                                                         "%s %u). Nothing was "
                                                         "allocated.",
                                                         name, u->parent, count,
                                                         mdp_pasid_space_used(pp->space),
                                                         r == -EDQUOT ? "parent quota" : "space of",
                                                         r == -EDQUOT ? mdp_pasid_space_quota(pp->space)
                                                                      : mdp_pasid_space_size(pp->space));
                        return r;
                }
        }
        r = vms_save(m);
        if (r < 0) {
                for (uint32_t k = 0; k < count; k++)
                        (void)mdp_pasid_release(pp->space, got[k]);
                while (vm->n_pasids > n_before)
                        vm_remove_pasid_at(vm, vm->n_pasids - 1);
                return save_error(error, r, name);
        }
        vm_emit(vm, (const char *const[]){"Pasids", NULL});
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'u', got, count * sizeof(uint32_t));
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int method_free_pasids(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        const uint32_t *pasids;
        size_t size, n;
        _cleanup_free_ size_t *idx = NULL;
        const char *name;
        struct vm *vm;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(msg, 'u', (const void **)&pasids, &size);
        if (r < 0)
                return r;
        n = size / sizeof(uint32_t);
        r = check_vm_name(name, error);
        if (r < 0)
                return r;
        if (n == 0)
                return mdp_bus_error_invalid_arg(error, "PASID list", "", "expected at least one PASID");
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */
        vm = find_vm(m, name);
        if (!vm)
                return no_such_vm(error, name);
        /* All or nothing: every PASID must be a guest PASID of this VM, listed once. */
        idx = calloc(n, sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool found = false;
                for (size_t k = 0; k < i; k++)
                        if (pasids[k] == pasids[i])
                                return sd_bus_error_setf(error, MDP_ERROR_INVALID_ARGS,
                                                         "%s: PASID %u is listed twice. Nothing was freed.",
                                                         name, pasids[i]);
                for (size_t k = 0; k < vm->n_pasids && !found; k++)
                        if (vm->pasids[k].guest && vm->pasids[k].pasid == pasids[i]) {
                                idx[i] = k;
                                found = true;
                        }
                if (!found)
                        return sd_bus_error_setf(
                                error, MDP_ERROR_INVALID_ARGS,
                                "%s: PASID %u is not a guest PASID of this VM (freed already, or "
                                "never allocated). Nothing was freed.",
                                name, pasids[i]);
        }
        {
                /* Save first without them; release in the spaces only once that stuck. */
                _cleanup_free_ struct vm_pasid *removed = calloc(n, sizeof(*removed));
                size_t n_removed = 0;

                if (!removed)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        for (size_t k = 0; k < vm->n_pasids; k++)
                                if (vm->pasids[k].guest && vm->pasids[k].pasid == pasids[i]) {
                                        removed[n_removed++] = vm->pasids[k];
                                        memmove(&vm->pasids[k], &vm->pasids[k + 1],
                                                (vm->n_pasids - k - 1) * sizeof(*vm->pasids));
                                        vm->n_pasids--;
                                        break;
                                }
                r = vms_save(m);
                if (r < 0) {
                        for (size_t i = 0; i < n_removed; i++) {
                                struct vm_pasid *np = realloc(vm->pasids, (vm->n_pasids + 1) * sizeof(*np));
                                if (!np) {
                                        vm_pasid_done(&removed[i]);
                                        continue;
                                }
                                vm->pasids = np;
                                vm->pasids[vm->n_pasids++] = removed[i];
                        }
                        return save_error(error, r, name);
                }
                for (size_t i = 0; i < n_removed; i++) {
                        release_recorded(m, &removed[i]);
                        vm_pasid_done(&removed[i]);
                }
        }
        vm_emit(vm, (const char *const[]){"Pasids", NULL});
        return sd_bus_reply_method_return(msg, NULL);
}

/* ---- Describe ---- */

json_object *vms_describe(struct manager *m)
{
        _cleanup_free_ struct vm **vms = NULL;
        json_object *a = json_object_new_array();
        size_t n;

        if (!a || sorted_vms(m, &vms, &n) < 0) {
                json_object_put(a);
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                struct vm *vm = vms[i];
                _cleanup_strv_free_ char **missing = vm_missing(vm);
                json_object *o = json_object_new_object(), *units = json_object_new_array(),
                            *miss = json_object_new_array(), *pasids = json_object_new_array();

                if (!o || !units || !miss || !pasids || !missing) {
                        json_object_put(o);
                        json_object_put(units);
                        json_object_put(miss);
                        json_object_put(pasids);
                        json_object_put(a);
                        return NULL;
                }
                json_object_object_add(o, "Name", json_object_new_string(vm->name));
                json_object_object_add(o, "Strategy",
                                       json_object_new_string(mdp_strategy_to_string(vm->strategy)));
                json_object_object_add(o, "Reason",
                                       vm->reason == MDP_REASON_NONE
                                               ? NULL
                                               : json_object_new_string(mdp_reason_to_string(vm->reason)));
                json_object_object_add(o, "GuestMode",
                                       json_object_new_string(mdp_guest_mode_to_string(vm->guest)));
                for (size_t k = 0; k < vm->n_units; k++)
                        json_object_array_add(units, json_object_new_string(vm->units[k].id));
                json_object_object_add(o, "Units", units);
                for (size_t k = 0; missing[k]; k++)
                        json_object_array_add(miss, json_object_new_string(missing[k]));
                json_object_object_add(o, "Missing", miss);
                for (size_t k = 0; k < vm->n_pasids; k++) {
                        json_object *p = json_object_new_object();
                        if (!p)
                                continue;
                        json_object_object_add(p, "unit", json_object_new_string(vm->pasids[k].unit));
                        json_object_object_add(
                                p, "kind",
                                json_object_new_string(vm->pasids[k].guest ? "guest" : "instance"));
                        json_object_object_add(p, "pasid", json_object_new_int64(vm->pasids[k].pasid));
                        json_object_array_add(pasids, p);
                }
                json_object_object_add(o, "Pasids", pasids);
                json_object_array_add(a, o);
        }
        return a;
}

/* ---- org.mdevpasid1.Vm ---- */

int bus_vm_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error)
{
        struct manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        struct vm *vm;
        int r;

        r = sd_bus_path_decode(path, MDP_OBJECT_VMS, &name);
        if (r <= 0)
                return 0;
        if (bus_vm_removing && streq(bus_vm_removing->name, name)) {
                *found = (void *)bus_vm_removing;
                return 1;
        }
        vm = find_vm(m, name);
        if (!vm || !vm->exported)
                return 0;
        *found = vm;
        return 1;
}

int bus_vm_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error)
{
        _cleanup_free_ struct vm **vms = NULL;
        struct manager *m = userdata;
        char **l;
        size_t n;
        int r;

        r = sorted_vms(m, &vms, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i] = strdup(vms[i]->path);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *nodes = l;
        return 0;
}

static int property_get_vm_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct vm *vm = userdata;
        const char *v = "";

        if (streq(property, "Name"))
                v = vm->name;
        else if (streq(property, "Strategy"))
                v = mdp_strategy_to_string(vm->strategy);
        else if (streq(property, "Reason"))
                v = vm->reason == MDP_REASON_NONE ? "" : mdp_reason_to_string(vm->reason);
        else if (streq(property, "GuestMode"))
                v = mdp_guest_mode_to_string(vm->guest);
        return sd_bus_message_append(reply, "s", v);
}

static int property_get_vm_units(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct vm *vm = userdata;
        int r;

        if (streq(property, "Missing")) {
                _cleanup_strv_free_ char **l = vm_missing(vm);
                if (!l)
                        return -ENOMEM;
                return sd_bus_message_append_strv(reply, l);
        }
        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < vm->n_units; i++)
                r = sd_bus_message_append_basic(reply, 's', vm->units[i].id);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int property_get_vm_pasids(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct vm *vm = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssu)");
        for (size_t i = 0; r >= 0 && i < vm->n_pasids; i++)
                r = sd_bus_message_append(reply, "(ssu)", vm->pasids[i].unit,
                                          vm->pasids[i].guest ? "guest" : "instance", vm->pasids[i].pasid);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

const sd_bus_vtable vm_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_vm_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Strategy", "s", property_get_vm_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Reason", "s", property_get_vm_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("GuestMode", "s", property_get_vm_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Units", "as", property_get_vm_units, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Missing", "as", property_get_vm_units, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pasids", "a(ssu)", property_get_vm_pasids, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

/* For tests/fuzz (bus-validate.h): a PlanVm/AttachVm call's arguments read and checked as
 * the methods do before anything else, and nothing more. */
int vms_check_request(sd_bus_message *msg, sd_bus_error *error)
{
        _cleanup_(vm_request_done) struct vm_request req = {};
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = check_vm_name(name, error);
        if (r < 0)
                return r;
        return read_request(msg, name, &req, error);
}
