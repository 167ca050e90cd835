/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "vms" section of /var/lib/mdevpasid/state.json as the daemon loads it at start
 * (daemon/vms.c: vms_load() on a manager with no devices). Properties: every VM kept has a
 * name AttachVm would take, units that are canonical mdev UUIDs or PCI addresses (they reach
 * sysfs paths) with a valid parent or none, and PASIDs that belong to one of its units;
 * Describe's view of them is built without a fault. */
#include <string.h>
#include <syslog.h>

#include "bus-validate.h"
#include "fuzz.h"
#include "manager.h"
#include "util/hashmap.h"
#include "util/json.h"
#include "util/log.h"
#include "vms.h"

static struct mdp_ctx *ctx;

FUZZ_TARGET(vms)
{
        struct manager m = {0};
        struct vm *vm;

        if (!ctx) {
                log_set_max_level(LOG_EMERG); /* a skipped entry is logged: not news here */
                if (mdp_ctx_new_with_root(fuzz_tmpdir(), &ctx) < 0)
                        abort();
        }
        if (mdp_state_parse((const char *)data, size, &m.state, NULL) < 0)
                return 0;
        m.ctx = ctx;
        m.devices = hashmap_new();
        FUZZ_ASSERT(m.devices);
        vms_load(&m);
        if (m.vms)
                HASHMAP_FOREACH (vm, m.vms, c) {
                        FUZZ_ASSERT(check_vm_name(vm->name, NULL) == 0);
                        for (size_t i = 0; i < vm->n_units; i++) {
                                char canonical[MDP_UNIT_ID_MAX];

                                FUZZ_ASSERT(parse_unit_id(vm->units[i].id, canonical, NULL) == 0);
                                FUZZ_ASSERT(strcmp(canonical, vm->units[i].id) == 0);
                                FUZZ_ASSERT(!vm->units[i].parent || !*vm->units[i].parent ||
                                            mdp_sysfs_name_is_valid(vm->units[i].parent));
                        }
                        for (size_t i = 0; i < vm->n_pasids; i++) {
                                bool found = false;

                                for (size_t k = 0; k < vm->n_units; k++)
                                        found |= strcmp(vm->units[k].id, vm->pasids[i].unit) == 0;
                                FUZZ_ASSERT(found && mdp_sysfs_name_is_valid(vm->pasids[i].parent));
                        }
                }
        json_object_put(vms_describe(&m));
        vms_free_all(&m);
        hashmap_free(m.devices);
        strv_free(m.notices);
        mdp_state_free(m.state);
        return 0;
}
