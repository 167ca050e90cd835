/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libmdevpasid: everything that is not an I/O loop or a user interface (DESIGN.md §3).
 * The library is linked statically into the daemon, the CLI and the hook; it is not
 * installed while its ABI settles. Module headers are listed here as they land. */

#include "ctx.h"
#include "engine.h"
#include "host.h"
#include "iommu-decode.h"
#include "mdev-backend.h"
#include "mdp-names.h"
#include "pci-caps.h"
#include "plan-input.h"
#include "types.h"
#include "definition.h"
#include "bus-errors.h"
#include "state.h"
#include "vfio-holders.h"
#include "util/uuid.h"
