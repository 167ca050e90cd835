/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's argument validation (bus-validate.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-validate.h"
#include "host.h"
#include "mdev-backend.h"
#include "mdp-names.h"
#include "util/macro.h"

#define EXPECT_UUID   "expected a UUID, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hexadecimal"
#define NAME_CHARS    "letters, digits and . _ : + @ -, not starting with . or -, at most 255 bytes"
#define EXPECT_PARENT "expected the name of one entry of /sys/class/mdev_bus (" NAME_CHARS ")"
#define EXPECT_TYPE   "expected the name of one entry of the parent's mdev_supported_types (" NAME_CHARS ")"
#define EXPECT_ATTR   "expected one file in the mdev's directory (" NAME_CHARS ")"

/* Names that become path components (/sys/class/mdev_bus/<parent>, .../<type>/create,
 * /etc/mdevctl.d/<parent>/<uuid>, <mdev>/<attribute>): stricter than what a file name may
 * be, because a definition may name a parent that is not registered (nothing to compare
 * with), and mdevctl's callout scripts get these names too. Kernel device and type names
 * (PCI addresses, "mtty", "0.0.0026", "nvidia-63", "i915-GVTg_V5_4", attribute files)
 * use only these characters; glob characters, whitespace, quotes and shell syntax never
 * appear there (issue 10, attack surface). */
static bool name_is_safe(const char *s)
{
        if (!mdp_sysfs_name_is_valid(s) || s[0] == '-' || s[0] == '.') /* no option, no hidden file */
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("._:+@-", *p)))
                        return false;
        return true;
}

/* "" gives "" when allowed. Upper case is accepted and normalized, as mdevctl does. */
int parse_uuid(const char *s, bool allow_empty, char ret[MDP_UUID_STRING_MAX], sd_bus_error *error)
{
        if (isempty(s) && allow_empty) {
                ret[0] = '\0';
                return 0;
        }
        if (mdp_uuid_normalize(s, ret) < 0)
                return mdp_bus_error_invalid_arg(error, "UUID", s, EXPECT_UUID);
        return 0;
}

int check_parent_name(const char *s, bool allow_empty, sd_bus_error *error)
{
        if (isempty(s) && allow_empty)
                return 0;
        if (!name_is_safe(s))
                return mdp_bus_error_invalid_arg(error, "parent name", s, EXPECT_PARENT);
        return 0;
}

int check_type_name(const char *s, bool allow_empty, sd_bus_error *error)
{
        if (isempty(s) && allow_empty)
                return 0;
        if (!name_is_safe(s))
                return mdp_bus_error_invalid_arg(error, "type name", s, EXPECT_TYPE);
        return 0;
}

int check_attr(const char *name, const char *value, sd_bus_error *error)
{
        if (!mdp_mdev_attr_name_is_valid(name) || !name_is_safe(name)) {
                if (name_is_safe(name))
                        return mdp_bus_error_invalid_arg(error, "attribute name", name,
                                                         "expected a device setting of the mdev; remove, "
                                                         "uevent, driver binding and the "
                                                         "device's links are managed by mdevpasid");
                return mdp_bus_error_invalid_arg(error, "attribute name", name, EXPECT_ATTR);
        }
        if (strlen(value) > MDP_ATTR_VALUE_MAX) {
                sd_bus_error_setf(
                        error, MDP_ERROR_INVALID_ARGS,
                        "Invalid value for attribute %s: %zu bytes; a sysfs attribute takes at most %d.",
                        name, strlen(value), MDP_ATTR_VALUE_MAX);
                return -EINVAL;
        }
        return 0;
}

void attr_list_done(struct attr_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->attrs[i].name);
                free(l->attrs[i].value);
        }
        free(l->attrs);
        *l = (struct attr_list){0};
}

int attr_list_add(struct attr_list *l, const char *name, const char *value)
{
        struct mdp_attr *na = realloc(l->attrs, (l->n + 1) * sizeof(*na));

        if (!na)
                return -ENOMEM;
        l->attrs = na;
        na[l->n].name = strdup(name);
        na[l->n].value = strdup(value);
        if (!na[l->n].name || !na[l->n].value) {
                free(na[l->n].name);
                free(na[l->n].value);
                return -ENOMEM;
        }
        l->n++;
        return 0;
}

/* a(ss), validated. */
int read_attrs(sd_bus_message *msg, struct attr_list *ret, sd_bus_error *error)
{
        const char *name, *value;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(msg, "(ss)", &name, &value)) > 0) {
                r = check_attr(name, value, error);
                if (r < 0)
                        return r;
                r = attr_list_add(ret, name, value);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

/* a{sv} of a method that takes no options yet: any key is refused. */
int read_no_options(sd_bus_message *msg, const char *method, sd_bus_error *error)
{
        const char *key;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'e', "sv");
        if (r < 0)
                return r;
        if (r > 0) {
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                sd_bus_error_setf(error, MDP_ERROR_INVALID_ARGS,
                                  "Unknown option \"%.80s\": %s takes no options yet.", key, method);
                return -EINVAL;
        }
        return sd_bus_message_exit_container(msg);
}

static const char *const change_names[_CHANGE_MAX] = {
        [CHANGE_TYPE] = "Type",        [CHANGE_START] = "Start",      [CHANGE_ATTRS] = "Attrs",
        [CHANGE_DEL_ATTR] = "DelAttr", [CHANGE_ADD_ATTR] = "AddAttr",
};

static const char *const change_signatures[_CHANGE_MAX] = {
        [CHANGE_TYPE] = "s",     [CHANGE_START] = "s",        [CHANGE_ATTRS] = "a(ss)",
        [CHANGE_DEL_ATTR] = "i", [CHANGE_ADD_ATTR] = "(ssi)",
};

void changes_done(struct changes *c)
{
        free(c->type);
        free(c->start);
        attr_list_done(&c->attrs);
        free(c->add_name);
        free(c->add_value);
}

int read_changes(sd_bus_message *msg, struct changes *c, sd_bus_error *error)
{
        const char *key, *contents, *s1, *s2;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                int k = -1;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                for (int i = 0; i < _CHANGE_MAX; i++)
                        if (streq(key, change_names[i]))
                                k = i;
                if (k < 0)
                        return mdp_bus_error_invalid_arg(error, "change", key,
                                                         "expected Type, Start, Attrs, DelAttr or AddAttr");
                if (c->set[k]) {
                        sd_bus_error_setf(error, MDP_ERROR_INVALID_ARGS, "Change \"%s\" is given twice.",
                                          key);
                        return -EINVAL;
                }
                r = sd_bus_message_peek_type(msg, NULL, &contents);
                if (r < 0)
                        return r;
                if (!streq(contents, change_signatures[k])) {
                        sd_bus_error_setf(error, MDP_ERROR_INVALID_ARGS,
                                          "Change \"%s\" must be of type \"%s\", not \"%.40s\".", key,
                                          change_signatures[k], contents);
                        return -EINVAL;
                }
                r = sd_bus_message_enter_container(msg, 'v', contents);
                if (r < 0)
                        return r;
                switch (k) {
                case CHANGE_TYPE:
                        r = sd_bus_message_read(msg, "s", &s1);
                        if (r < 0)
                                return r;
                        r = check_type_name(s1, false, error);
                        if (r < 0)
                                return r;
                        if (!(c->type = strdup(s1)))
                                return -ENOMEM;
                        break;
                case CHANGE_START:
                        r = sd_bus_message_read(msg, "s", &s1);
                        if (r < 0)
                                return r;
                        if (!streq(s1, "auto") && !streq(s1, "manual"))
                                return mdp_bus_error_invalid_arg(error, "start value", s1,
                                                                 "expected \"auto\" or \"manual\"");
                        if (!(c->start = strdup(s1)))
                                return -ENOMEM;
                        break;
                case CHANGE_ATTRS:
                        r = read_attrs(msg, &c->attrs, error);
                        if (r < 0)
                                return r;
                        break;
                case CHANGE_DEL_ATTR:
                        r = sd_bus_message_read(msg, "i", &c->del_index);
                        if (r < 0)
                                return r;
                        break;
                case CHANGE_ADD_ATTR:
                        r = sd_bus_message_read(msg, "(ssi)", &s1, &s2, &c->add_index);
                        if (r < 0)
                                return r;
                        r = check_attr(s1, s2, error);
                        if (r < 0)
                                return r;
                        if (!(c->add_name = strdup(s1)) || !(c->add_value = strdup(s2)))
                                return -ENOMEM;
                        break;
                }
                c->set[k] = true;
                r = sd_bus_message_exit_container(msg); /* v */
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg); /* e */
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

#define EXPECT_VM_NAME                                                                                      \
        "expected a VM name: 1 to 200 bytes, no '/' and no control characters (libvirt's domain name)"

int check_vm_name(const char *name, sd_bus_error *error)
{
        size_t l = strlen(name);

        if (l == 0 || l > MDP_VM_NAME_MAX || strchr(name, '/'))
                return mdp_bus_error_invalid_arg(error, "VM name", name, EXPECT_VM_NAME);
        for (const char *p = name; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return mdp_bus_error_invalid_arg(error, "VM name", name, EXPECT_VM_NAME);
        return 0;
}

/* "DDDD:BB:SS.F" or "BB:SS.F" with exactly those digit counts, to the canonical form. */
static bool normalize_pci(const char *s, char ret[MDP_UNIT_ID_MAX])
{
        unsigned d = 0, b, sl, f;
        size_t l = strlen(s);
        int n = -1;

        if (strspn(s, "0123456789abcdefABCDEF:.") != l)
                return false;
        if (l == 12 && sscanf(s, "%4x:%2x:%2x.%1x%n", &d, &b, &sl, &f, &n) == 4 && n == 12)
                ;
        else if (l == 7 && sscanf(s, "%2x:%2x.%1x%n", &b, &sl, &f, &n) == 3 && n == 7)
                d = 0;
        else
                return false;
        if (sl > 0x1f || f > 7)
                return false;
        snprintf(ret, MDP_UNIT_ID_MAX, "%04x:%02x:%02x.%x", d, b, sl, f);
        return true;
}

int parse_unit_id(const char *s, char ret[MDP_UNIT_ID_MAX], sd_bus_error *error)
{
        if (mdp_uuid_normalize(s, ret) >= 0 || normalize_pci(s, ret))
                return 0;
        return mdp_bus_error_invalid_arg(error, "unit", s,
                                         "expected an mdev UUID or a PCI address (0000:06:00.0)");
}
