/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state file, /var/lib/mdevpasid/state.json (lib/state.c). Property: what
 * parses formats to text that parses again to the same text. */
#include <string.h>

#include "fuzz.h"
#include "state.h"

FUZZ_TARGET(state)
{
        _cleanup_(mdp_state_freep) struct mdp_state *s = NULL, *s2 = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL, *text2 = NULL;
        _cleanup_free_ const struct mdp_state_device **devs = NULL;
        _cleanup_free_ const struct mdp_state_op **ops = NULL;
        size_t n_devs = 0, n_ops = 0;

        if (mdp_state_parse((const char *)data, size, &s, &err) < 0)
                return 0;
        text = mdp_state_format(s);
        FUZZ_ASSERT(text);
        FUZZ_ASSERT(mdp_state_parse(text, strlen(text), &s2, NULL) == 0);
        text2 = mdp_state_format(s2);
        FUZZ_ASSERT(text2 && strcmp(text, text2) == 0);
        FUZZ_ASSERT(mdp_state_device_list(s, &devs, &n_devs) >= 0);
        FUZZ_ASSERT(mdp_state_op_list(s, &ops, &n_ops) >= 0);
        for (size_t i = 0; i < n_devs; i++) {
                FUZZ_ASSERT(mdp_uuid_is_canonical(devs[i]->uuid));
                FUZZ_ASSERT(mdp_state_device_get(s, devs[i]->uuid) == devs[i]);
        }
        for (size_t i = 0; i < n_ops; i++)
                FUZZ_ASSERT(mdp_state_op_get(s, ops[i]->uuid) == ops[i]);
        return 0;
}
