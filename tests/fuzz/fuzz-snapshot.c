/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The snapshot reader (lib/snapshot.c): what mdevpasidctl maps from the daemon's memfd.
 * Properties: every field the reader hands out lies inside the input (or is its own ""
 * for a missing field) and ends at a NUL there; writing the records back with the writer
 * and reading them again gives the same records. */
#include <string.h>

#include "fuzz.h"
#include "snapshot.h"

FUZZ_TARGET(snapshot)
{
        const char *begin = (const char *)data, *end = begin + size;
        struct mdp_snapshot_reader rd, rd2;
        struct mdp_snapshot_record rec, rec2;
        _cleanup_(strbuf_done) struct strbuf sb = {0};
        int r, r2;

        if (mdp_snapshot_reader_init(&rd, data, size) < 0)
                return 0;
        mdp_snapshot_begin(&sb);
        while ((r = mdp_snapshot_next(&rd, &rec)) > 0) {
                for (size_t i = 0; i < ELEMENTSOF(rec.field); i++) {
                        const char *f = rec.field[i];
                        int64_t v;

                        FUZZ_ASSERT(f);
                        if (f[0] == '\0' && (f < begin || f >= end))
                                continue; /* the reader's "" for a field the record lacks */
                        FUZZ_ASSERT(f >= begin && f < end);
                        FUZZ_ASSERT(memchr(f, '\0', (size_t)(end - f)));
                        (void)mdp_snapshot_int(f, &v);
                }
                mdp_snapshot_record(&sb, rec.tag, ELEMENTSOF(rec.field));
                for (size_t i = 0; i < ELEMENTSOF(rec.field); i++)
                        mdp_snapshot_field(&sb, rec.field[i]);
        }
        if (r < 0)
                return 0;
        FUZZ_ASSERT(!sb.oom);
        /* the records again, from what the writer made of them */
        FUZZ_ASSERT(mdp_snapshot_reader_init(&rd, data, size) == 0);
        FUZZ_ASSERT(mdp_snapshot_reader_init(&rd2, sb.buf, sb.len) == 0);
        while ((r = mdp_snapshot_next(&rd, &rec)) > 0) {
                r2 = mdp_snapshot_next(&rd2, &rec2);
                FUZZ_ASSERT(r2 == 1 && rec2.tag == rec.tag);
                for (size_t i = 0; i < ELEMENTSOF(rec.field); i++)
                        FUZZ_ASSERT(strcmp(rec.field[i], rec2.field[i]) == 0);
        }
        FUZZ_ASSERT(r == 0 && mdp_snapshot_next(&rd2, &rec2) == 0);
        return 0;
}
