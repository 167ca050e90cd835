/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* mdevctl 1.2.0's output, byte for byte (MDEVCTL.md §2.2-§2.3): `list` and `types` text
 * (one line or block per item, then one extra empty line) and --dumpjson (serde_json's
 * pretty layout: an array holding one object keyed by parent, or [] when empty). */

#include <stdbool.h>
#include <stdio.h>

#include "source.h"

/* devices sorted by parent, then UUID. defined selects the "(active)" marker (list -d)
 * instead of "(defined)"; verbose adds the "Attrs:" block. */
int mdevctl_list_text(FILE *f, const struct cli_device *devices, size_t n, bool defined, bool verbose);
/* bare: the single-device form of `list -u U --dumpjson` (the definition object alone). */
int mdevctl_list_json(FILE *f, const struct cli_device *devices, size_t n, bool bare);

/* Whether mdevctl would list this type, and what to say about one it would fail on. */
bool mdevctl_type_listable(const struct cli_type *t);
int mdevctl_types_text(FILE *f, const struct cli_parent *parents, size_t n);
int mdevctl_types_json(FILE *f, const struct cli_parent *parents, size_t n);
