/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager's argument validation (bus-manager.c): every string a caller sends is checked
 * here before anything is touched. Kept apart from the method handlers so the fuzz target
 * (tests/fuzz/fuzz-dbus-args.c) runs exactly the code the daemon runs. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "definition.h"
#include "util/uuid.h"

struct attr_list {
        struct mdp_attr *attrs;
        size_t n;
};

/* "" gives "" when allowed. Upper case is accepted and normalized, as mdevctl does. */
int parse_uuid(const char *s, bool allow_empty, char ret[MDP_UUID_STRING_MAX], sd_bus_error *error);
int check_parent_name(const char *s, bool allow_empty, sd_bus_error *error);
int check_type_name(const char *s, bool allow_empty, sd_bus_error *error);
int check_attr(const char *name, const char *value, sd_bus_error *error);

/* VM names (PlanVm, AttachVm, ...): 1 to 200 bytes, no '/' and no control characters. */
#define MDP_VM_NAME_MAX 200
int check_vm_name(const char *name, sd_bus_error *error);
/* A unit of a VM: an mdev UUID (any case) or a PCI address ("0000:06:00.0" or "06:00.0"),
 * to the canonical form (lowercase UUID, "dddd:bb:ss.f"). */
#define MDP_UNIT_ID_MAX MDP_UUID_STRING_MAX
int parse_unit_id(const char *s, char ret[MDP_UNIT_ID_MAX], sd_bus_error *error);
/* PlanVm/AttachVm's (s name, a{sv} request) read and checked as the methods do (vms.c). */
int vms_check_request(sd_bus_message *msg, sd_bus_error *error);

void attr_list_done(struct attr_list *l);
int attr_list_add(struct attr_list *l, const char *name, const char *value);
/* a(ss), validated. */
int read_attrs(sd_bus_message *msg, struct attr_list *ret, sd_bus_error *error);
/* a{sv} of a method that takes no options yet: any key is refused. */
int read_no_options(sd_bus_message *msg, const char *method, sd_bus_error *error);

/* Modify's a{sv} of changes. */
enum {
        CHANGE_TYPE,
        CHANGE_START,
        CHANGE_ATTRS,
        CHANGE_DEL_ATTR,
        CHANGE_ADD_ATTR,
        _CHANGE_MAX,
};

struct changes {
        bool set[_CHANGE_MAX];
        char *type, *start;
        struct attr_list attrs;
        int32_t del_index;
        char *add_name, *add_value;
        int32_t add_index;
};

void changes_done(struct changes *c);
int read_changes(sd_bus_message *msg, struct changes *c, sd_bus_error *error);
