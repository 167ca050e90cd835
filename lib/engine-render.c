/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One rendering of a plan for the CLI and the daemon: JSON with fixed keys, and text for
 * people (a table, the explanations, the configuration). */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "engine-private.h"
#include "util/strbuf.h"

static int add(struct json_object *o, const char *key, struct json_object *v, bool nullable)
{
        if (!v && !nullable)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static struct json_object *string_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

static struct json_object *string_array(const char *const *v, size_t n, const char *const *more,
                                        size_t n_more)
{
        struct json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < n + n_more; i++) {
                struct json_object *s = json_object_new_string(i < n ? v[i] : more[i - n]);
                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}

static const char *reason_or_null(enum mdp_reason r)
{
        return r == MDP_REASON_NONE ? NULL : mdp_reason_to_string(r);
}

static int unit_to_json(const struct mdp_unit_plan *u, struct json_object **ret)
{
        struct json_object *o = json_object_new_object();
        const char *reason = reason_or_null(u->reason);

        if (!o)
                return -ENOMEM;
        if (add(o, "unit", json_object_new_string(u->unit), false) < 0 ||
            add(o, "kind", json_object_new_string(mdp_unit_kind_to_string(u->kind)), false) < 0 ||
            add(o, "strategy", json_object_new_string(mdp_strategy_to_string(u->strategy)), false) < 0 ||
            add(o, "reason", string_or_null(reason), !reason) < 0 ||
            add(o, "explanation", string_array(u->explanation, u->n_explanation, u->unknowns, u->n_unknowns),
                false) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

_public_ int mdp_plan_to_json(const struct mdp_plan *plan, struct json_object **ret)
{
        struct json_object *o, *units;
        const char *reason;
        bool refused;
        int r;

        if (!plan || !ret)
                return -EINVAL;
        refused = plan->strategy == MDP_STRATEGY_REFUSED;
        reason = reason_or_null(plan->reason);
        o = json_object_new_object();
        units = json_object_new_array();
        if (!o || !units)
                goto oom;
        for (size_t i = 0; i < plan->n_units; i++) {
                struct json_object *u;
                r = unit_to_json(&plan->units[i], &u);
                if (r < 0)
                        goto oom;
                if (json_object_array_add(units, u) < 0) {
                        json_object_put(u);
                        goto oom;
                }
        }
        if (add(o, "vm", json_object_new_string(plan->vm), false) < 0 ||
            add(o, "strategy", json_object_new_string(mdp_strategy_to_string(plan->strategy)), false) < 0 ||
            add(o, "reason", string_or_null(reason), !reason) < 0)
                goto oom;
        r = add(o, "units", units, false);
        units = NULL;
        if (r < 0)
                goto oom;
        if (add(o, "kernel_backend",
                refused ? NULL : json_object_new_string(mdp_kernel_backend_to_string(plan->backend)),
                refused) < 0 ||
            add(o, "qemu", string_array(plan->qemu, plan->n_qemu, NULL, 0), false) < 0 ||
            add(o, "libvirt_xml", string_or_null(plan->libvirt_xml), !plan->libvirt_xml) < 0 ||
            add(o, "policy_files", string_array(plan->policy_files, plan->n_policy_files, NULL, 0), false) <
                    0)
                goto oom;
        *ret = o;
        return 0;
oom:
        json_object_put(units);
        json_object_put(o);
        return -ENOMEM;
}

static void pad(struct strbuf *sb, const char *s, size_t width)
{
        size_t l = strlen(s);

        strbuf_append(sb, s);
        for (; l < width; l++)
                strbuf_append(sb, " ");
}

/* Each line of text indented. */
static void indent_lines(struct strbuf *sb, const char *text, const char *prefix)
{
        while (*text) {
                const char *nl = strchr(text, '\n');
                size_t l = nl ? (size_t)(nl - text) : strlen(text);

                strbuf_append(sb, prefix);
                strbuf_appendn(sb, text, l);
                strbuf_append(sb, "\n");
                text += l + (nl ? 1 : 0);
        }
}

_public_ int mdp_plan_format_text(const struct mdp_plan *plan, char **ret)
{
        struct strbuf sb = {};
        size_t wu = strlen("UNIT"), wk = strlen("KIND"), ws = strlen("STRATEGY");
        char *s;

        if (!plan || !ret)
                return -EINVAL;

        strbuf_printf(&sb, "VM %s: %s", plan->vm, mdp_strategy_to_string(plan->strategy));
        if (plan->reason != MDP_REASON_NONE)
                strbuf_printf(&sb, " (%s: %s)", mdp_reason_to_string(plan->reason),
                              mdp_reason_meaning(plan->reason));
        if (plan->refused_by)
                strbuf_printf(&sb, ", refused by unit %s", plan->refused_by);
        strbuf_printf(&sb, "\nGuest vIOMMU: %s (%s)\n\n", mdp_guest_mode_to_string(plan->guest),
                      plan->guest_basis ? plan->guest_basis : "as requested");

        for (size_t i = 0; i < plan->n_units; i++) {
                const struct mdp_unit_plan *u = &plan->units[i];
                wu = MAX(wu, strlen(u->unit));
                wk = MAX(wk, strlen(mdp_unit_kind_to_string(u->kind)));
                ws = MAX(ws, strlen(mdp_strategy_to_string(u->strategy)));
        }
        pad(&sb, "UNIT", wu + 2);
        pad(&sb, "KIND", wk + 2);
        pad(&sb, "STRATEGY", ws + 2);
        strbuf_append(&sb, "REASON\n");
        for (size_t i = 0; i < plan->n_units; i++) {
                const struct mdp_unit_plan *u = &plan->units[i];
                pad(&sb, u->unit, wu + 2);
                pad(&sb, mdp_unit_kind_to_string(u->kind), wk + 2);
                pad(&sb, mdp_strategy_to_string(u->strategy), ws + 2);
                strbuf_printf(&sb, "%s\n",
                              u->reason == MDP_REASON_NONE ? "-" : mdp_reason_to_string(u->reason));
        }

        for (size_t i = 0; i < plan->n_units; i++) {
                const struct mdp_unit_plan *u = &plan->units[i];
                size_t n = 0;

                strbuf_printf(&sb, "\nUnit %s (%s): %s\n", u->unit, mdp_unit_kind_to_string(u->kind),
                              mdp_strategy_to_string(u->strategy));
                /* The first line repeats the guest mode shown above. */
                for (size_t j = 1; j < u->n_explanation; j++)
                        strbuf_printf(&sb, "  %zu. %s\n", ++n, u->explanation[j]);
                for (size_t j = 0; j < u->n_unknowns; j++)
                        strbuf_printf(&sb, "  unknown: %s\n", u->unknowns[j]);
        }

        if (plan->n_explanation) {
                strbuf_append(&sb, "\nVM:\n");
                for (size_t i = 0; i < plan->n_explanation; i++)
                        strbuf_printf(&sb, "  - %s\n", plan->explanation[i]);
        }
        if (plan->strategy == MDP_STRATEGY_REFUSED)
                strbuf_append(&sb, "\nConfiguration: none (refused)\n");
        else {
                strbuf_printf(&sb, "\nKernel backend: %s\n", mdp_kernel_backend_to_string(plan->backend));
                strbuf_append(&sb, "QEMU:\n");
                for (size_t i = 0; i < plan->n_qemu; i++)
                        strbuf_printf(&sb, "  %s\n", plan->qemu[i]);
                if (plan->libvirt_xml) {
                        strbuf_append(&sb, "libvirt XML:\n");
                        indent_lines(&sb, plan->libvirt_xml, "  ");
                }
        }
        strbuf_append(&sb, "Policy files:");
        if (!plan->n_policy_files)
                strbuf_append(&sb, " none");
        for (size_t i = 0; i < plan->n_policy_files; i++)
                strbuf_printf(&sb, "%s %s", i ? "," : "", plan->policy_files[i]);
        strbuf_append(&sb, "\n");

        s = strbuf_steal(&sb);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
