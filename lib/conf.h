/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What loading configuration (vendor profiles, policy, daemon config) tells its caller, and
 * the PASID vocabulary those files share. The library never prints: a loader fills a
 * struct mdp_conf_messages and the program decides what the user sees. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PCIe PASIDs are at most 20 bits wide (IOMMU-SPEC.md §3.3). */
#define MDP_PASID_MAX 0xfffffU
#define MDP_PASID_MAX_COUNT (MDP_PASID_MAX + 1U) /* 2^20 PASIDs */

/* An inclusive range of PASIDs. */
struct mdp_pasid_range {
        uint32_t first, last;
};

/* "N" or "N-M" (decimal, or hexadecimal with 0x), N <= M <= MDP_PASID_MAX. */
int mdp_pasid_range_parse(const char *s, struct mdp_pasid_range *ret);

/* Result of a load. On failure error holds one sentence naming the file, the key (a JSON
 * path such as "vms[1].prefer") and what was expected; error_file and error_key hold the
 * same two separately (NULL when the error is not about one file or one key). Warnings
 * (unknown keys, conflicting rules, ignored example profiles) are collected whether or not
 * the load succeeded. */
struct mdp_conf_messages {
        char *error;
        char *error_file;
        char *error_key;
        char **warnings; /* NULL-terminated, NULL when there are none */
        size_t n_warnings;
};
void mdp_conf_messages_done(struct mdp_conf_messages *m);
