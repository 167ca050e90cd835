/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The strict JSON reader and serde-style writers (lib/util/json.c). Property: what parses,
 * written compact and pretty, parses again to the same compact text. */
#include <string.h>

#include "fuzz.h"
#include "util/json.h"

FUZZ_TARGET(json)
{
        _cleanup_json_ json_object *o = NULL, *o2 = NULL, *o3 = NULL;
        _cleanup_free_ char *err = NULL, *compact = NULL, *pretty = NULL, *compact2 = NULL;
        struct strbuf sb = {0};
        size_t compact_len, pretty_len, compact2_len;

        if (mdp_json_parse((const char *)data, size, MDP_JSON_MAX_DEPTH, &o, &err) < 0)
                return 0;
        /* JSON has no raw NUL, in a string or outside one. */
        FUZZ_ASSERT(!memchr(data, 0, size));
        mdp_json_write_compact(&sb, o);
        compact_len = sb.len;
        compact = strbuf_steal(&sb);
        mdp_json_write_pretty(&sb, o);
        pretty_len = sb.len;
        pretty = strbuf_steal(&sb);
        FUZZ_ASSERT(compact && pretty);
        FUZZ_ASSERT(mdp_json_parse(compact, compact_len, MDP_JSON_MAX_DEPTH, &o2, NULL) == 0);
        FUZZ_ASSERT(mdp_json_parse(pretty, pretty_len, MDP_JSON_MAX_DEPTH, &o3, NULL) == 0);
        mdp_json_write_compact(&sb, o2);
        compact2_len = sb.len;
        compact2 = strbuf_steal(&sb);
        FUZZ_ASSERT(compact2 && compact_len == compact2_len && memcmp(compact, compact2, compact_len) == 0);
        return 0;
}
