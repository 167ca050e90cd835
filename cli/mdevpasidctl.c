/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevpasidctl: the administrator's CLI. A verb table {name, min_args, max_args, flags, fn,
 * help} drives option parsing and --help (STYLE.md "CLI"); each verb lives in its own file. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "source.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "verbs.h"

#define PROGRAM "mdevpasidctl"

const char *arg_verb;
bool arg_defined;
bool arg_dumpjson;
bool arg_verbose;
bool arg_wait;
const char *arg_parent;
char arg_uuid[MDP_UUID_STRING_MAX];
const char *arg_viommu;
const char *arg_vm;
const char *arg_domain;
const char *arg_connect;

/* Option ids: the short letter where there is one, else one of these. */
enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_NO_LEGEND,
        ARG_DUMPJSON,
        ARG_VIOMMU,
        ARG_VM,
        ARG_DOMAIN,
        ARG_SOURCE,
        ARG_JSONFILE,
        ARG_ADDATTR,
        ARG_DELATTR,
        ARG_VALUE,
        ARG_WAIT,
};

struct cli_option {
        int id;
        const char *long_name;
        int has_arg;
        const char *arg_name; /* for help: "UUID" */
        const char *help;
};

static const struct cli_option all_options[] = {
        {'h', "help", no_argument, NULL, "Show this help"},
        {ARG_VERSION, "version", no_argument, NULL, "Show the version"},
        {ARG_JSON, "json", optional_argument, "MODE", "JSON output: pretty (the default), short or off"},
        {'j', NULL, no_argument, NULL, "Same as --json=pretty"},
        {ARG_NO_LEGEND, "no-legend", no_argument, NULL, "Leave out column headers"},
        {ARG_SOURCE, "source", required_argument, "FROM",
         "Read from: auto (the daemon when it runs, else sysfs), daemon or sysfs"},
        {'d', "defined", no_argument, NULL, "List definitions (/etc/mdevctl.d) instead of active devices"},
        {ARG_DUMPJSON, "dumpjson", no_argument, NULL, "mdevctl's JSON (what libvirt's nodedev driver parses)"},
        {'v', "verbose", no_argument, NULL, "Also print each device's attributes"},
        {'p', "parent", required_argument, "PARENT", "Only this parent (its sysfs name, e.g. 0000:00:02.0)"},
        {'u', "uuid", required_argument, "UUID", "Only the device with this UUID"},
        {'t', "type", required_argument, "TYPE", "The mdev type (e.g. mtty-2)"},
        {ARG_JSONFILE, "jsonfile", required_argument, "FILE",
         "mdevctl's definition JSON (mdev_type, start, attrs); - or /dev/stdin reads stdin"},
        {'a', "auto", no_argument, NULL, "Start the device when its parent appears"},
        {'m', "manual", no_argument, NULL, "Start the device only when asked"},
        {ARG_ADDATTR, "addattr", required_argument, "NAME", "Add an attribute (with --value, at --index)"},
        {ARG_DELATTR, "delattr", no_argument, NULL, "Remove the attribute at --index (default: the last)"},
        {ARG_VALUE, "value", required_argument, "VALUE", "The value of --addattr"},
        {'i', "index", required_argument, "N", "Position for --addattr/--delattr (0 is the first)"},
        {'l', "live", no_argument, NULL, "Change the running device (not supported: fails saying so)"},
        {ARG_WAIT, "wait", no_argument, NULL,
         "Wait until mdevpasidd's autostart has nothing in progress (progress on a terminal)"},
        {ARG_VIOMMU, "viommu", required_argument, "MODE", "Guest vIOMMU: none, nopasid, pasid or svsa"},
        {ARG_VM, "vm", required_argument, "NAME", "The VM's name (for per-VM policy)"},
        {ARG_DOMAIN, "domain", required_argument, "NAME", "Read the VM from this libvirt domain"},
        {'c', "connect", required_argument, "URI", "libvirt connection URI (read-only)"},
};

/* Accepted by every verb (and before it). */
static const int common_options[] = {'h', ARG_VERSION, ARG_JSON, 'j', ARG_NO_LEGEND, ARG_SOURCE, 0};

enum {
        VERB_MDEVCTL = 1 << 0, /* same options, output and exit codes as mdevctl */
        VERB_JSON = 1 << 1,    /* has a --json form */
        VERB_HIDDEN = 1 << 2,  /* not in --help (mdevctl hides it too) */
};

struct verb {
        const char *name;
        unsigned min_args, max_args;
        unsigned flags;
        int (*fn)(int argc, char **argv);
        const char *args; /* positional arguments for the synopsis, NULL if none */
        const char *help; /* one line */
        const char *details; /* more, for VERB --help; may be NULL */
        const int *options;  /* verb options, 0-terminated */
};

static const struct verb verbs[] = {
        {"list", 0, 0, VERB_MDEVCTL | VERB_JSON, verb_list, NULL, "List active mediated devices, or with -d the defined ones",
         "Prints mdevctl's text (UUID, parent, type, start mode, \"(defined)\" or \"(active)\") or, with\n"
         "--dumpjson, mdevctl's JSON; with -u and exactly one match, --dumpjson prints the bare\n"
         "definition, which --jsonfile accepts. --json prints mdevpasid's records instead (keys are the\n"
         "org.mdevpasid1.Device property names).",
         (const int[]){'d', ARG_DUMPJSON, 'v', 'p', 'u', 0}},
        {"types", 0, 0, VERB_MDEVCTL | VERB_JSON, verb_types, NULL, "List the mdev types of each parent",
         "Prints mdevctl's text or, with --dumpjson, mdevctl's JSON; --json prints mdevpasid's records\n"
         "(with each type's live instances and its class: emulated or pasid-granular).",
         (const int[]){'p', ARG_DUMPJSON, 0}},
        {"parents", 0, 0, VERB_JSON, verb_parents, NULL, "List mdev parents: driver, PCI address, IOMMU, group, types",
         NULL, (const int[]){0}},
        {"iommu", 0, 0, VERB_JSON, verb_iommu, NULL,
         "Show each IOMMU instance's decoded capabilities and the kernel's VFIO/iommufd features",
         "Every register field IOMMU-SPEC §2.2-§2.4 lists, as yes, no or unknown (numbers for\n"
         "multi-bit fields). \"unknown\" means sysfs does not tell (SMMUv3 shows no registers); it is\n"
         "never taken as present. In JSON, yes/no/unknown are true/false/null.",
         (const int[]){0}},
        {"plan", 0, 1024, VERB_JSON, verb_plan, "[UNIT...]",
         "Decide how a VM's units get their DMA translated, say why and what to configure",
         "plan --viommu MODE [--vm NAME] UNIT...: UNIT is an mdev UUID or a PCI address\n"
         "(0000:01:00.1); MODE is the guest's vIOMMU: none, nopasid (a vIOMMU without PASIDs), pasid\n"
         "(PASIDs on pinned DMA domains) or svsa (shared virtual addressing, with I/O page faults).\n"
         "NAME selects per-VM policy rules (default: unnamed-vm); the guest's architecture is the\n"
         "host's.\n"
         "plan --domain NAME [-c URI]: the units are the domain's mdev and PCI hostdevs, read over a\n"
         "read-only libvirt connection; the mode comes from its <iommu> and <mdevpasid:policy\n"
         "guest-pasid=...> metadata, and the plan says how it was derived.\n"
         "The facts come from this host's sysfs (MDEVPASID_ROOT applies), the mdev classes from the\n"
         "vendor profiles, VMM capabilities and preferences from /etc/mdevpasid/mdevpasid.conf and\n"
         "policy.d (the plan lists the files it used; a file that does not load stops the plan).\n"
         "When mdevpasidd runs, it makes the plan (with --domain, from the domain's XML, which\n"
         "mdevpasidctl reads and sends), knowing what other VMs hold; without it the plan is made\n"
         "here, and what other VMs hold stays unknown, and is treated as such.\n"
         "Prints each unit's strategy (direct, shadow, nest, shadow+pv, nest+pv or refused), the\n"
         "reason code (IOMMU-SPEC.md §6.7), the rules that fired, and the kernel backend, QEMU options\n"
         "and libvirt XML to use. --json keys: vm, strategy, reason, units, kernel_backend, qemu,\n"
         "libvirt_xml, policy_files.\n"
         "Exit status: 0 when a plan was printed, also a refused one (a refusal is an answer: read\n"
         "\"strategy\" and \"reason\"); 1 when no plan could be made (unknown unit or domain, bad\n"
         "XML, a policy or profile file that does not load); 2 for a usage error.",
         (const int[]){ARG_VIOMMU, ARG_VM, ARG_DOMAIN, 'c', 0}},
        {"define", 0, 0, VERB_MDEVCTL, verb_define, NULL, "Store a definition in /etc/mdevctl.d (through mdevpasidd)",
         "Needs --uuid or --parent. Prints the UUID when it generated one. --uuid of a running device\n"
         "alone defines it as it runs. --jsonfile takes mdevctl's JSON instead of --type/--auto.",
         (const int[]){'u', 'p', 't', 'a', ARG_JSONFILE, 0}},
        {"undefine", 0, 0, VERB_MDEVCTL, verb_undefine, NULL, "Remove a definition (a running device keeps running)",
         "Without --parent, the definitions of the UUID on every parent go.", (const int[]){'u', 'p', 0}},
        {"modify", 0, 0, VERB_MDEVCTL, verb_modify, NULL, "Change a definition (not the running device)",
         "Changes: --type, --auto/--manual, --addattr NAME --value V [--index N], --delattr [--index N],\n"
         "or --jsonfile (replaces type, start mode and attributes). --live is refused: mdevpasidd does not\n"
         "change a running device; modify the definition, then stop and start it.",
         (const int[]){'u', 'p', 't', 'a', 'm', ARG_ADDATTR, ARG_DELATTR, ARG_VALUE, 'i', ARG_JSONFILE, 'd', 'l', 0}},
        {"start", 0, 0, VERB_MDEVCTL, verb_start, NULL, "Start a defined device, or a new transient one",
         "--uuid U [--parent P] starts a definition. --parent P --type T (or --jsonfile F) [--uuid U]\n"
         "creates a device without a definition and prints its UUID when it generated one.",
         (const int[]){'u', 'p', 't', ARG_JSONFILE, 0}},
        {"stop", 0, 0, VERB_MDEVCTL, verb_stop, NULL, "Remove a running device (its definition stays)",
         "Fails with the holder when a VFIO user keeps the device open past the daemon's timeout.",
         (const int[]){'u', 0}},
        {"status", 0, 0, VERB_JSON, verb_status, NULL,
         "The default verb: the daemon, the host's IOMMU, counts, warnings",
         "Without the daemon, what sysfs shows (and that the daemon is not running).\n"
         "--wait first waits until the daemon's autostart has nothing in progress, showing its progress\n"
         "on a terminal, and then exits 1 if an autostart failed.",
         (const int[]){ARG_WAIT, 0}},
        {"monitor", 0, 0, VERB_JSON, verb_monitor, NULL,
         "Follow parent, mdev and VM events live, a line each, until Ctrl-C",
         "Objects added and removed, property changes, the daemon starting and stopping, as mdevpasidd\n"
         "announces them. --json prints one JSON object per line.",
         (const int[]){0}},
        {"vms", 0, 0, VERB_JSON, verb_vms, NULL, "List the VMs mdevpasidd placed: strategy, units, reason", NULL,
         (const int[]){0}},
        {"attach", 0, 65, VERB_JSON, verb_attach, "VM [UUID...]",
         "Place a VM's mdevs through the daemon and print the plan (refused: exit 1)",
         "The daemon plans as \"plan\" does, records the placement and allocates what the strategy\n"
         "needs; a refusal names the rule and the fix.\n"
         "attach --domain NAME [-c URI]: the VM is a libvirt domain, read over a read-only\n"
         "connection; mdevpasidd gets its XML and takes the units and the guest mode from it.",
         (const int[]){ARG_VIOMMU, ARG_DOMAIN, 'c', 0}},
        {"detach", 1, 1, 0, verb_detach, "VM", "Forget a VM's placement and free its PASIDs", NULL,
         (const int[]){0}},
        {"pasid", 1, 258, VERB_JSON, verb_pasid, "list [VM] | alloc VM UUID [COUNT] | free VM PASID...",
         "List, allocate or free PASIDs of a placed VM's mdevs", NULL, (const int[]){0}},
        {"start-parent-mdevs", 1, 1, VERB_MDEVCTL | VERB_HIDDEN, verb_start_parent_mdevs, "PARENT",
         "Start every auto definition of PARENT that is not running (what mdevctl's udev rule runs)", NULL,
         (const int[]){0}},
};

static const struct verb *verb_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static const struct cli_option *option_find(int id)
{
        for (size_t i = 0; i < ELEMENTSOF(all_options); i++)
                if (all_options[i].id == id)
                        return &all_options[i];
        return NULL;
}

const char *arg_verb_name(void)
{
        static char buf[64];

        snprintf(buf, sizeof(buf), "%s:", arg_verb ? arg_verb : PROGRAM);
        return buf;
}

int usage_error(const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fflush(stdout);
        if (arg_verb)
                fprintf(stderr, "%s %s: %s\nTry '%s %s --help'.\n", PROGRAM, arg_verb, msg, PROGRAM, arg_verb);
        else
                fprintf(stderr, "%s: %s\nTry '%s --help'.\n", PROGRAM, msg, PROGRAM);
        return -EUSAGE;
}

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = tolower(c);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int cli_parse_uuid(const char *s, char ret[MDP_UUID_STRING_MAX])
{
        char hex[33], out[MDP_UUID_STRING_MAX];
        const char *p;
        size_t len, n = 0;

        if (!s)
                return -EINVAL;
        /* The forms mdevctl's parser (Rust uuid) takes: urn:uuid:..., {...}, plain. */
        if (strncasecmp(s, "urn:uuid:", 9) == 0)
                s += 9;
        len = strlen(s);
        if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
                s++;
                len -= 2;
        }
        if (len == 36) {
                for (size_t i = 0; i < 36; i++) {
                        bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
                        if (hyphen ? s[i] != '-' : hexval((unsigned char)s[i]) < 0)
                                return -EINVAL;
                        if (!hyphen)
                                hex[n++] = (char)tolower((unsigned char)s[i]);
                }
        } else if (len == 32) {
                for (p = s; p < s + 32; p++) {
                        if (hexval((unsigned char)*p) < 0)
                                return -EINVAL;
                        hex[n++] = (char)tolower((unsigned char)*p);
                }
        } else
                return -EINVAL;
        hex[32] = '\0';
        snprintf(out, sizeof(out), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
        memcpy(ret, out, MDP_UUID_STRING_MAX);
        return 0;
}

/* ---- help, generated from the tables ---- */

static void option_synopsis(struct strbuf *sb, const struct cli_option *o)
{
        if (o->id < 0x100 && o->long_name && o->arg_name && o->has_arg == required_argument)
                strbuf_printf(sb, "[-%c %s]", o->id, o->arg_name);
        else if (o->id < 0x100)
                strbuf_printf(sb, "[-%c]", o->id);
        else if (o->has_arg == required_argument)
                strbuf_printf(sb, "[--%s %s]", o->long_name, o->arg_name);
        else
                strbuf_printf(sb, "[--%s]", o->long_name);
}

static char *verb_synopsis(const struct verb *v)
{
        struct strbuf sb = {0};

        strbuf_append(&sb, v->name);
        for (const int *id = v->options; *id; id++) {
                strbuf_append(&sb, " ");
                option_synopsis(&sb, option_find(*id));
        }
        if (v->args)
                strbuf_printf(&sb, " %s", v->args);
        return strbuf_steal(&sb);
}

static void print_option(FILE *f, const struct cli_option *o)
{
        char left[64];

        if (o->id < 0x100 && o->long_name)
                snprintf(left, sizeof(left), "-%c --%s%s%s", o->id, o->long_name,
                         o->has_arg == required_argument ? " " : o->has_arg == optional_argument ? "[=" : "",
                         o->has_arg == no_argument ? "" : o->has_arg == optional_argument ? "MODE]" : o->arg_name);
        else if (o->id < 0x100)
                snprintf(left, sizeof(left), "-%c", o->id);
        else
                snprintf(left, sizeof(left), "   --%s%s%s", o->long_name,
                         o->has_arg == required_argument ? " " : o->has_arg == optional_argument ? "[=" : "",
                         o->has_arg == no_argument ? "" : o->has_arg == optional_argument ? "MODE]" : o->arg_name);
        fprintf(f, "  %-24s %s\n", left, o->help);
}

static void print_verb_line(FILE *f, const struct verb *v)
{
        _cleanup_free_ char *syn = verb_synopsis(v);

        fprintf(f, "  %s\n      %s\n", strna(syn), v->help);
}

static void help(FILE *f)
{
        fprintf(f,
                "%s [OPTIONS...] VERB [ARGS...]\n\n"
                "Manage VFIO mediated devices (mdevs) and explain how their DMA is translated.\n\n"
                "mdevctl-compatible verbs (mdevctl's options, text, --dumpjson and exit codes):\n",
                PROGRAM);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if ((verbs[i].flags & VERB_MDEVCTL) && !(verbs[i].flags & VERB_HIDDEN))
                        print_verb_line(f, &verbs[i]);
        fputs("\nHost verbs:\n", f);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (!(verbs[i].flags & VERB_MDEVCTL))
                        print_verb_line(f, &verbs[i]);
        fputs("\nOptions (before or after the verb):\n", f);
        for (const int *id = common_options; *id; id++)
                print_option(f, option_find(*id));
        fputs("\n"
              "mdevctl and mdevpasid share one verb namespace. For list and types, mdevctl wins:\n"
              "their text and --dumpjson output is mdevctl's, byte for byte, so scripts and libvirt\n"
              "keep working; mdevpasid's richer records are their --json form (keys equal to the\n"
              "org.mdevpasid1 D-Bus property names, null for what is not known) and the other verbs.\n"
              "Where mdevpasid differs from mdevctl 1.2.0: a malformed definition file is skipped with a\n"
              "warning naming it (mdevctl fails the whole listing), so is a type without\n"
              "available_instances or device_api; callout scripts are not run, so an active device\n"
              "without a definition lists no attributes; --uuid=U and abbreviated long options work.\n"
              "Invoked as lsmdev, it runs list.\n"
              "define, undefine, modify, start and stop go through mdevpasidd (which keeps\n"
              "/etc/mdevctl.d in mdevctl's format); without it they fail saying how to start it, and\n"
              "modify --live is refused. The read verbs ask mdevpasidd when it runs and otherwise read\n"
              "sysfs, saying so on stderr (--source chooses). Without a verb, status runs.\n\n"
              "Exit status: 0 ok, 1 failed, 2 usage error.\n"
              "Environment: MDEVPASID_ROOT=DIR reads DIR/sys and DIR/etc/mdevctl.d instead of the\n"
              "host's (the system bus's daemon is then not asked unless DBUS_SYSTEM_BUS_ADDRESS is set);\n"
              "DBUS_SYSTEM_BUS_ADDRESS names the bus mdevpasidd is on; NO_COLOR turns colour off.\n",
              f);
}

static void verb_help(FILE *f, const struct verb *v)
{
        _cleanup_free_ char *syn = verb_synopsis(v);

        fprintf(f, "%s %s\n\n%s.\n", PROGRAM, strna(syn), v->help);
        if (v->details)
                fprintf(f, "%s\n", v->details);
        fputs("\nOptions:\n", f);
        for (const int *id = v->options; *id; id++)
                print_option(f, option_find(*id));
        for (const int *id = common_options; *id; id++)
                if (*id != ARG_JSON || (v->flags & VERB_JSON))
                        print_option(f, option_find(*id));
}

/* ---- option parsing ---- */

static bool help_requested, version_requested;

static int build_getopt(const int *lists[], size_t n_lists, struct option **ret_long, char **ret_short)
{
        struct option *lo;
        struct strbuf sb = {0};
        size_t n = 0, total = 0;

        for (size_t l = 0; l < n_lists; l++)
                for (const int *id = lists[l]; *id; id++)
                        total++;
        lo = calloc(total + 1, sizeof(*lo));
        if (!lo)
                return -ENOMEM;
        strbuf_append(&sb, "+:"); /* stop at the verb; ':' reports a missing argument apart */
        for (size_t l = 0; l < n_lists; l++)
                for (const int *id = lists[l]; *id; id++) {
                        const struct cli_option *o = option_find(*id);
                        if (o->long_name)
                                lo[n++] = (struct option){o->long_name, o->has_arg, NULL, o->id};
                        if (o->id < 0x100)
                                strbuf_printf(&sb, "%c%s", o->id,
                                              o->has_arg == required_argument ? ":" : "");
                }
        *ret_short = strbuf_steal(&sb);
        if (!*ret_short) {
                free(lo);
                return -ENOMEM;
        }
        *ret_long = lo;
        return 0;
}

static int set_option(int c, const char *arg)
{
        int r;

        switch (c) {
        case 'h':
                help_requested = true;
                return 0;
        case ARG_VERSION:
                version_requested = true;
                return 0;
        case ARG_JSON:
                if (!arg) {
                        arg_json = JSON_PRETTY;
                        return 0;
                }
                if (json_mode_from_string(arg, &arg_json) < 0)
                        return usage_error("--json=%s: expected pretty, short or off", arg);
                return 0;
        case 'j':
                arg_json = JSON_PRETTY;
                return 0;
        case ARG_NO_LEGEND:
                arg_legend = false;
                return 0;
        case ARG_SOURCE:
                if (cli_source_pref_from_string(arg, &arg_source) < 0)
                        return usage_error("--source=%s: expected auto, daemon or sysfs", arg);
                return 0;
        case 'd':
                arg_defined = true;
                return 0;
        case ARG_DUMPJSON:
                arg_dumpjson = true;
                return 0;
        case 'v':
                arg_verbose = true;
                return 0;
        case ARG_WAIT:
                arg_wait = true;
                return 0;
        case 'p':
                if (isempty(arg))
                        return usage_error("--parent needs a parent name, e.g. 0000:00:02.0");
                arg_parent = arg;
                return 0;
        case 'u':
                r = cli_parse_uuid(arg, arg_uuid);
                if (r < 0)
                        return usage_error("--uuid %s: not a UUID; expected 8-4-4-4-12 hexadecimal digits "
                                           "such as 6d5b2c4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
                                           arg);
                return 0;
        case 't':
                if (isempty(arg))
                        return usage_error("--type needs a type name, e.g. mtty-2");
                arg_type = arg;
                return 0;
        case ARG_JSONFILE:
                arg_jsonfile = arg;
                return 0;
        case 'a':
                arg_auto = true;
                return 0;
        case 'm':
                arg_manual = true;
                return 0;
        case ARG_ADDATTR:
                if (isempty(arg))
                        return usage_error("--addattr needs an attribute name");
                arg_addattr = arg;
                return 0;
        case ARG_DELATTR:
                arg_delattr = true;
                return 0;
        case ARG_VALUE:
                arg_value = arg;
                return 0;
        case 'i': {
                char *end;
                errno = 0;
                arg_index = strtol(arg, &end, 10);
                if (errno || end == arg || *end || arg_index < 0 || arg_index > INT32_MAX)
                        return usage_error("--index %s: expected a number from 0", arg);
                arg_index_set = true;
                return 0;
        }
        case 'l':
                arg_live = true;
                return 0;
        case ARG_VIOMMU:
                arg_viommu = arg;
                return 0;
        case ARG_VM:
                arg_vm = arg;
                return 0;
        case ARG_DOMAIN:
                arg_domain = arg;
                return 0;
        case 'c':
                arg_connect = arg;
                return 0;
        }
        return usage_error("internal error: option %d has no handler", c);
}

/* The options before the verb; leaves optind at the verb. */
static int parse_global(int argc, char **argv)
{
        const int *lists[] = {common_options};
        _cleanup_free_ struct option *lo = NULL;
        _cleanup_free_ char *so = NULL;
        int c, r;

        r = build_getopt(lists, ELEMENTSOF(lists), &lo, &so);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, so, lo, NULL)) >= 0) {
                if (c == '?') {
                        if (optopt && optopt < 0x100)
                                return usage_error("unknown option -%c", optopt);
                        if (optopt)
                                return usage_error("option %.*s takes no value",
                                                   (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
                        return usage_error("unknown option %s (options of a verb go after it)", argv[optind - 1]);
                }
                r = set_option(c, optarg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Verb options and positional arguments in any order (GNU style; "--" ends options). */
static int parse_verb(int argc, char **argv, const struct verb *v, int *ret_argc, char ***ret_argv)
{
        const int *lists[] = {common_options, v->options};
        _cleanup_free_ struct option *lo = NULL;
        _cleanup_free_ char *so = NULL;
        char **args;
        int c, n = 0, r;

        r = build_getopt(lists, ELEMENTSOF(lists), &lo, &so);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        so[0] = '-'; /* options and arguments in order; arguments come back as 1 */
        args = calloc(argc + 1, sizeof(char *));
        if (!args)
                return log_error_errno(-ENOMEM, "out of memory");
        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, so, lo, NULL)) >= 0) {
                r = 0;
                switch (c) {
                case 1:
                        args[n++] = optarg;
                        break;
                case '?':
                        if (optopt && optopt < 0x100)
                                r = usage_error("unknown option -%c", optopt);
                        else if (optopt)
                                r = usage_error("option %.*s takes no value",
                                                (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
                        else
                                r = usage_error("unknown option %s", argv[optind - 1]);
                        break;
                case ':':
                        if (optopt && optopt < 0x100 && argv[optind - 1][1] != '-')
                                r = usage_error("option -%c needs a value", optopt);
                        else
                                r = usage_error("option %s needs a value", argv[optind - 1]);
                        break;
                default:
                        r = set_option(c, optarg);
                }
                if (r < 0) {
                        free(args);
                        return r;
                }
        }
        for (int i = optind; i < argc; i++) /* after "--" */
                args[n++] = argv[i];
        *ret_argc = n;
        *ret_argv = args;
        return 0;
}

static int run(int argc, char **argv)
{
        const char *base = strrchr(argv[0], '/');
        _cleanup_free_ char **args = NULL;
        const struct verb *v;
        int n_args = 0, r;

        base = base ? base + 1 : argv[0];
        if (streq(base, "lsmdev")) {
                /* mdevctl ships lsmdev -> mdevctl, which behaves as "mdevctl list". */
                v = verb_find("list");
                argv[0] = (char *)"list";
        } else {
                r = parse_global(argc, argv);
                if (r < 0)
                        return r;
                if (optind >= argc) {
                        if (help_requested) {
                                help(stdout);
                                return 0;
                        }
                        if (version_requested) {
                                printf("%s %s\n", PROGRAM, PACKAGE_VERSION);
                                return 0;
                        }
                        /* The default verb (issue 6): what an administrator wants first. */
                        static char *status_argv[] = {(char *)"status", NULL};
                        argc = 1;
                        argv = status_argv;
                } else {
                        argc -= optind;
                        argv += optind;
                }
                if (streq(argv[0], "help")) {
                        help(stdout);
                        return 0;
                }
                v = verb_find(argv[0]);
                if (!v)
                        return usage_error("unknown verb \"%s\"", argv[0]);
        }
        arg_verb = v->name;
        r = parse_verb(argc, argv, v, &n_args, &args);
        if (r < 0)
                return r;
        if (help_requested) {
                verb_help(stdout, v);
                return 0;
        }
        if (version_requested) {
                printf("%s %s\n", PROGRAM, PACKAGE_VERSION);
                return 0;
        }
        if (arg_json != JSON_OFF && !(v->flags & VERB_JSON))
                return usage_error("has no JSON output");
        if ((unsigned)n_args < v->min_args)
                return usage_error("needs %s", v->args ? v->args : "more arguments");
        if ((unsigned)n_args > v->max_args)
                return usage_error("unexpected argument \"%s\"%s", args[v->max_args],
                                   streq(args[v->max_args], "short") || streq(args[v->max_args], "pretty")
                                           ? " (write --json=MODE)"
                                           : "");
        return v->fn(n_args, args);
}

int main(int argc, char **argv)
{
        int r;

        log_setup(PROGRAM);
        output_setup();
        r = run(argc, argv);
        if (output_finish() < 0 && r >= 0)
                r = -EIO;
        if (r == -EUSAGE)
                return 2;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
