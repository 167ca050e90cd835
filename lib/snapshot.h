/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The snapshot: Manager.Snapshot's answer (conf/org.mdevpasid1.xml), a sealed memfd holding
 * the records ListParents, ListTypes and ListDevices give, in a form a client reads without
 * decoding D-Bus containers. sd-bus spends about 40,000 instructions per ListDevices record
 * on its a{sv} extras, and a listing of 16,000 types is tens of milliseconds of marshalling on
 * each side; here a record is a run of NUL-terminated strings the client points into, and
 * the file never passes through the bus daemon.
 *
 * Format (version 1), documented for other clients in org.mdevpasid1(5):
 *   "mdevpasid-snapshot 1\n", then records. A record is NUL-terminated UTF-8 strings: its tag,
 *   the number of fields that follow (decimal), the fields. Integers are decimal; "" is "not
 *   known", as in the List methods. A reader takes the fields it knows and skips the rest
 *   and any tag it does not know, so later versions can add both.
 *   P parent:     name, devpath, driver, subsystem, pci_address, iommu, iommu_family, iommu_group
 *   T type:       parent, id, name, description, device_api, available_instances, class,
 *                 class_basis, error
 *   D device (an active mdev, as ListDevices(false)) and d definition (ListDevices(true)):
 *                 uuid, parent, type, active (0|1), defined (0|1), start, owner, state, class,
 *                 iommu_group, last_error
 *   A attribute of the D or d record before it: name, value (in order)
 * Records come in the List methods' order: parents by name, types by parent then id, devices
 * and definitions by parent then UUID. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define MDP_SNAPSHOT_MAGIC "mdevpasid-snapshot 1\n"

enum {
        MDP_SNAPSHOT_PARENTS = 1 << 0,
        MDP_SNAPSHOT_TYPES = 1 << 1,
        MDP_SNAPSHOT_DEVICES = 1 << 2,
        MDP_SNAPSHOT_DEFINITIONS = 1 << 3,
        MDP_SNAPSHOT_ALL = (1 << 4) - 1,
};

/* The section a name selects ("parents", "types", "devices", "definitions"), 0 when none. */
unsigned mdp_snapshot_section_from_string(const char *s);

#define MDP_SNAPSHOT_PARENT_FIELDS 8
#define MDP_SNAPSHOT_TYPE_FIELDS 9
#define MDP_SNAPSHOT_DEVICE_FIELDS 11
#define MDP_SNAPSHOT_ATTR_FIELDS 2

/* Writing: the magic, then each record's tag and field count, then its fields. NULL is "". */
void mdp_snapshot_begin(struct strbuf *sb);
void mdp_snapshot_record(struct strbuf *sb, char tag, unsigned n_fields);
void mdp_snapshot_field(struct strbuf *sb, const char *s);
void mdp_snapshot_field_int(struct strbuf *sb, int64_t v);

/* Writes the snapshot into a new memfd sealed against any change (so the reader can map it
 * without fearing a truncation under its feet); returns the fd. */
int mdp_snapshot_to_memfd(const struct strbuf *sb);

/* Reading: a mapping checked record by record. */
struct mdp_snapshot_reader {
        const char *p, *end;
};

struct mdp_snapshot_record {
        char tag;
        /* The first fields of the record; those it does not have are "" (not known), so an
         * older daemon's shorter record reads as such. */
        const char *field[MDP_SNAPSHOT_DEVICE_FIELDS];
};

/* Checks the magic; -EBADMSG when it is not a version-1 snapshot. */
int mdp_snapshot_reader_init(struct mdp_snapshot_reader *rd, const void *data, size_t size);
/* The next record: 1, 0 at the end, -EBADMSG when a record runs past the end, lacks its
 * terminating NUL or has a bad field count. */
int mdp_snapshot_next(struct mdp_snapshot_reader *rd, struct mdp_snapshot_record *rec);
/* A decimal integer field; -EBADMSG when it is not one. */
int mdp_snapshot_int(const char *field, int64_t *ret);

/* Maps a snapshot fd read-only after checking its seals (a writable or shrinkable file could
 * change under the reader). *ret_map and *ret_size are for munmap(). */
int mdp_snapshot_map(int fd, const void **ret_map, size_t *ret_size);
