/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UUID parsing (lib/util/uuid.c). Properties: a normalized UUID is canonical, and a
 * canonical one normalizes to itself. */
#include <string.h>

#include "fuzz.h"
#include "util/uuid.h"

FUZZ_TARGET(uuid)
{
        _cleanup_free_ char *s = fuzz_strndup(data, size);
        char out[MDP_UUID_STRING_MAX], out2[MDP_UUID_STRING_MAX];
        bool canonical = mdp_uuid_is_canonical(s);

        if (mdp_uuid_normalize(s, out) < 0) {
                FUZZ_ASSERT(!canonical);
                return 0;
        }
        FUZZ_ASSERT(strlen(out) == MDP_UUID_STRING_MAX - 1);
        FUZZ_ASSERT(mdp_uuid_is_canonical(out));
        FUZZ_ASSERT(!canonical || strcmp(out, s) == 0);
        FUZZ_ASSERT(mdp_uuid_normalize(out, out2) == 0 && strcmp(out, out2) == 0);
        return 0;
}
