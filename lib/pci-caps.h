/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PCI extended capability walk over a config-space image (IOMMU-SPEC.md §3): pure. */

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* config is what reading the device's sysfs "config" returned, size its length (config may be
 * NULL when size is 0):
 *   ≥ 4096 (PCIe): walk from 0x100 (only the first 4096 bytes) with the guards of §3.2;
 *   256 (conventional PCI): no extended space, every extended capability "no";
 *   < 256 (64 for unprivileged readers, §3.1): every extended capability unknown;
 *   257..4095 (a short read): walked as far as the bytes go, reads past the end truncate.
 * A header of 0 ends the list; next = 0 ends it cleanly. 0xffffffff (device gone), next below
 * 0x100, a loop, more than 480 entries or a read past the end stop the walk with
 * walk_truncated set, and what was not found by then is unknown. The first instance of a
 * capability wins, as in the kernel's pci_find_ext_capability(). */
void mdp_pci_caps_parse(const uint8_t *config, size_t size, struct mdp_pci_caps *ret);
