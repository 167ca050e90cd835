/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* mdevpasidctl's verbs and the option values they share (arg_*, set by the one option
 * parser in mdevpasidctl.c from the verb table). */

#include <stdbool.h>

#include "util/macro.h"
#include "util/uuid.h"

/* A usage error: exit status 2 (mdevctl and STYLE.md: 0 ok, 1 failed, 2 usage). Not an
 * errno value, so it cannot be confused with one. */
#define EUSAGE 4096
/* Logs "mdevpasidctl VERB: <message>" and a hint to --help; returns -EUSAGE. */
int usage_error(const char *fmt, ...) _printf_(1, 2);

/* The verb being run ("list"), for messages. */
extern const char *arg_verb;

/* mdevctl's options (MDEVCTL.md §1.1) */
extern bool arg_defined;  /* -d, --defined */
extern bool arg_dumpjson; /* --dumpjson */
extern bool arg_verbose;  /* -v, --verbose */
extern bool arg_wait;     /* --wait (status: until autostart is done) */
extern const char *arg_parent;               /* -p, --parent */
extern char arg_uuid[MDP_UUID_STRING_MAX];   /* -u, --uuid: canonical; "" when not given */

/* define, undefine, modify, start, stop (MDEVCTL.md §1.1) */
extern const char *arg_type;     /* -t, --type */
extern const char *arg_jsonfile; /* --jsonfile */
extern bool arg_auto, arg_manual; /* -a, -m */
extern bool arg_live;             /* -l, --live (modify) */
extern bool arg_delattr;          /* --delattr */
extern const char *arg_addattr, *arg_value; /* --addattr NAME --value V */
extern long arg_index;                      /* -i, --index */
extern bool arg_index_set;

/* plan (issue 3) */
extern const char *arg_viommu; /* --viommu */
extern const char *arg_vm;     /* --vm */
extern const char *arg_domain; /* --domain */
extern const char *arg_connect; /* -c, --connect */

/* Accepts what mdevctl accepts for --uuid (hyphenated, 32 hex digits, {braced},
 * urn:uuid:, either case) and writes the canonical form; -EINVAL otherwise. */
int cli_parse_uuid(const char *s, char ret[MDP_UUID_STRING_MAX]);

int verb_list(int argc, char **argv);
int verb_types(int argc, char **argv);
int verb_parents(int argc, char **argv);
int verb_iommu(int argc, char **argv);
int verb_plan(int argc, char **argv);
struct cli_iommu;
/* "  scalable mode yes, PASID no, ..." for one IOMMU instance (verb-host.c). */
void cli_print_iommu_summary(const struct cli_iommu *m);
int verb_status(int argc, char **argv);
int verb_monitor(int argc, char **argv);
int verb_vms(int argc, char **argv);
int verb_attach(int argc, char **argv);
int verb_detach(int argc, char **argv);
int verb_pasid(int argc, char **argv);
int verb_define(int argc, char **argv);
int verb_undefine(int argc, char **argv);
int verb_modify(int argc, char **argv);
int verb_start(int argc, char **argv);
int verb_stop(int argc, char **argv);
int verb_start_parent_mdevs(int argc, char **argv);
