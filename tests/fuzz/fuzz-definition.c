/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevctl definition files, /etc/mdevctl.d/<parent>/<uuid> (lib/definition.c). Property: what
 * parses formats to a file that parses again to the same file (the daemon rewrites
 * definitions it read, so a drift would change users' files). */
#include <string.h>

#include "definition.h"
#include "fuzz.h"

#define PARENT "0000:00:02.0"
#define UUID   "c9a8e0e4-5d57-4a1c-8d1e-3d5e6a1b2c3d"

FUZZ_TARGET(definition)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL, *d2 = NULL, *copy = NULL;
        _cleanup_free_ char *err = NULL, *err2 = NULL, *text = NULL, *text2 = NULL;

        if (mdp_definition_parse(PARENT, UUID, (const char *)data, size, &d, &err) < 0)
                return 0;
        text = mdp_definition_format(d);
        FUZZ_ASSERT(text);
        FUZZ_ASSERT(mdp_definition_parse(PARENT, UUID, text, strlen(text), &d2, &err2) == 0);
        text2 = mdp_definition_format(d2);
        FUZZ_ASSERT(text2 && strcmp(text, text2) == 0);
        /* The editing calls the CLI and Modify use on a parsed definition. */
        copy = mdp_definition_copy(d);
        FUZZ_ASSERT(copy);
        (void)mdp_definition_add_attr(copy, "fuzz", "1", (long)(d->n_attrs / 2));
        (void)mdp_definition_del_attr(copy, 0);
        (void)mdp_definition_del_attr(copy, -1);
        return 0;
}
