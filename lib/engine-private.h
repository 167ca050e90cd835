/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of the strategy engine shared by engine.c (decisions), engine-config.c (§6.5
 * emitted configuration) and engine-render.c (JSON and text). */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "util/macro.h"

/* A bump allocator owned by one plan: every string and array of the plan lives in it, so
 * the plan is freed in one go and decisions allocate in large chunks only. An allocation
 * failure is sticky (oom), checked once at the end. */
struct arena_chunk {
        struct arena_chunk *next;
        size_t size, used;
        _Alignas(max_align_t) char data[];
};

struct arena {
        struct arena_chunk *head;
        bool oom;
};

void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) _printf_(2, 3);
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap) _printf_(2, 0);
void arena_done(struct arena *a);

/* A growable array of strings inside an arena. */
struct strvec {
        const char **v;
        size_t n, cap;
};
void strvec_push(struct arena *a, struct strvec *sv, const char *s);
bool strvec_contains(const struct strvec *sv, const char *s);

struct plan_impl {
        struct mdp_plan pub;
        struct arena arena;
};

static inline struct plan_impl *plan_impl_of(const struct mdp_plan *p)
{
        return (struct plan_impl *)p; /* pub is the first member */
}

#define VIOMMU_BIT(v) (1u << (v))

/* What engine-config.c needs to know about the VM beyond the public plan. */
struct config_input {
        const struct mdp_plan_request *req;
        bool iommufd_path; /* kernel iommufd + vfio cdev + vmm iommufd */
        bool intel_intremap;
};

/* Fills plan->qemu, plan->libvirt_xml and VM-level configuration notes (§6.5) for a
 * plan that is not refused. */
void engine_emit_config(struct plan_impl *p, const struct config_input *in, struct strvec *vm_expl);

/* "DDDD:BB:SS.F" or "BB:SS.F" (domain 0). */
bool engine_parse_pci_address(const char *s, unsigned *domain, unsigned *bus, unsigned *slot,
                              unsigned *function);
