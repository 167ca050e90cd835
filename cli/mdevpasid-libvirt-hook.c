/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevpasid-libvirt-hook: the libvirt qemu hook (issue 7, ECOSYSTEM.md §1). libvirt runs it
 * as `<domain> <operation> <sub-op> <extra>` with the domain XML on stdin and waits for it,
 * without a timeout (§1.4). So this program:
 *  - never calls libvirt (libvirtd is waiting on us: deadlock), it reads the XML itself
 *    (lib/domain-xml.h, which does not link libvirt);
 *  - never forks, so no child can keep libvirt's pipes open (§1.6);
 *  - bounds everything by hook.timeout_ms from mdevpasid.conf (default 30 s): the D-Bus
 *    call gets what is left of it, and a timer kills the hook with a clear message should
 *    anything else block (stdin never closed, a wedged bus);
 *  - prints nothing on stdout: for migrate and restore libvirt takes stdout as the new
 *    domain XML, and empty output means "unchanged" (§1.3).
 *
 * Operations (ECOSYSTEM.md §1.3):
 *   prepare begin    AttachVm, which starts the VM's defined mdevs that are not running: the
 *                    mdevs exist when we return 0 (libvirt looks for them right after,
 *                    §1.5); a refusal (the daemon stops again what it started) exits 1 with
 *                    one line on stderr, which libvirt shows the user.
 *   release end      DetachVm (NoSuchVm is fine); never fails.
 *   stopped end      nothing (libvirt ignores the status; nothing here can fail).
 *   reconnect begin  AttachVm again (libvirtd restarted); a failure would kill the running
 *                    QEMU, so it is logged, never a veto.
 *   migrate begin,   veto only when the VM's units cannot be prepared on this host: an mdev
 *   restore begin    neither running nor defined here, or a refused PlanVm (a dry run, asked
 *                    when every mdev runs); prepare follows and does the real work.
 *   anything else    exit 0.
 * A domain without mdev or PCI hostdevs exits 0 before contacting the daemon. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "conf.h"
#include "ctx.h"
#include "domain-xml.h"
#include "mdp-names.h"
#include "policy.h"
#include "util/log.h"
#include "util/strbuf.h"

#define PROGRAM   "mdevpasid-libvirt-hook"
#define CONF_HINT "/etc/mdevpasid/mdevpasid.conf"
/* The timer fires this long after the budget: the D-Bus call's own timeout comes first. */
#define BACKSTOP_SLACK_MS 1000

enum op_kind {
        OP_IGNORE,  /* start, started, stopped, attach, unknown ones: exit 0 at once */
        OP_PREPARE, /* may veto */
        OP_RELEASE, /* never fails */
        OP_RECONNECT,
        OP_CHECK, /* migrate, restore: a dry run that may veto */
};

static const char *arg_vm;
static enum op_kind arg_op;
static const char *arg_op_name;
static struct mdp_daemon_config config;
static uint64_t start_usec;

/* Prepared before the timer is armed: the handler may only write(2) and _exit(2). */
static char backstop_msg[512];
static size_t backstop_len;
static int backstop_status;

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

/* What is left of the budget, at least 1 ms (a zero timeout means "the default" to sd-bus). */
static uint64_t remaining_usec(void)
{
        uint64_t budget = (uint64_t)config.hook_timeout_ms * 1000ULL, spent = now_usec() - start_usec;

        return spent + 1000 >= budget ? 1000 : budget - spent;
}

/* A line on stderr (libvirt shows it when we fail; it drops it when we succeed) and the same
 * in the journal, where a pass or a reconnect failure stays visible. Control characters are
 * replaced so whatever the daemon or the XML says stays on one line. */
static void say(int priority, const char *fmt, ...) _printf_(2, 3);
static void say(int priority, const char *fmt, ...)
{
        char msg[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        for (char *p = msg; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
        fprintf(stderr, "%s: %s\n", PROGRAM, msg);
        /* No journald (a container, a test) is fine: the call fails and we go on. */
        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", priority, "SYSLOG_IDENTIFIER=%s", PROGRAM,
                        "MDEVPASID_VM=%s", arg_vm ? arg_vm : "", "MDEVPASID_HOOK_OP=%s", strna(arg_op_name),
                        NULL);
}

static bool may_veto(void)
{
        return arg_op == OP_PREPARE || arg_op == OP_CHECK;
}

/* Exit status for a failure of kind fallback (the config's veto/allow for the daemon being
 * absent or slow; MDP_HOOK_VETO for a refusal). Only prepare, migrate and restore veto. */
static int fail_status(enum mdp_hook_fallback fallback)
{
        return may_veto() && fallback == MDP_HOOK_VETO ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void backstop_handler(int sig)
{
        ssize_t _unused_ n = write(STDERR_FILENO, backstop_msg, backstop_len);
        _exit(backstop_status);
}

static void arm_backstop(void)
{
        uint64_t ms = (uint64_t)config.hook_timeout_ms + BACKSTOP_SLACK_MS;
        struct itimerval it = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
        struct sigaction sa = {.sa_handler = backstop_handler};
        int n;

        backstop_status = fail_status(config.hook_on_timeout);
        n = snprintf(backstop_msg, sizeof(backstop_msg),
                     "%s: %s: %s %s did not finish within %u ms (hook.timeout_ms): stdin or the system bus "
                     "is stuck; %s\n",
                     PROGRAM, strna(arg_vm), strna(arg_op_name),
                     backstop_status ? "vetoed:" : "passed:", config.hook_timeout_ms,
                     backstop_status ? "check 'systemctl status mdevpasidd dbus'"
                                     : "hook.on_timeout is \"allow\"");
        backstop_len = n < 0 ? 0 : MIN((size_t)n, sizeof(backstop_msg) - 1);
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        setitimer(ITIMER_REAL, &it, NULL);
}

static void load_config(void)
{
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        struct mdp_conf_messages msgs = {0};
        int r;

        /* Defaults first: a broken or unreadable config must not make the hook hang or let
         * a VM start unchecked, so it only costs the operator's own settings. */
        mdp_daemon_config_init(&config);
        r = mdp_ctx_new(&ctx);
        if (r >= 0)
                r = mdp_daemon_config_load(ctx, &config, &msgs);
        if (r < 0)
                sd_journal_send("MESSAGE=%s: %s; using the built-in defaults (timeout %u ms, veto)",
                                msgs.error_file ? msgs.error_file : CONF_HINT,
                                msgs.error ? msgs.error : strerror(-r), config.hook_timeout_ms,
                                "PRIORITY=%i", LOG_WARNING, "SYSLOG_IDENTIFIER=%s", PROGRAM, NULL);
        if (config.hook_timeout_ms == 0)
                config.hook_timeout_ms = 1; /* "0" would be "no timeout" */
        mdp_conf_messages_done(&msgs);
}

/* Reads stdin to EOF, at most MDP_DOMAIN_XML_MAX bytes (more is the reader's -EFBIG). */
static int read_stdin(char **ret, size_t *ret_len)
{
        size_t len = 0, cap = 64 * 1024;
        _cleanup_free_ char *buf = malloc(cap + 1);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        char *nb;
                        if (cap > MDP_DOMAIN_XML_MAX)
                                return -EFBIG;
                        cap *= 2;
                        nb = realloc(buf, cap + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                n = read(STDIN_FILENO, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* Only a call that failed without an error name (sd-bus's own failure) is judged by its
 * errno: a daemon's error maps to an errno too (NoSuchDevice is ENOENT, bus-errors.h). */
static bool is_unavailable(int r, const sd_bus_error *e)
{
        /* No bus at all, nobody owning the name, or a daemon that has no such method yet. */
        if (!sd_bus_error_is_set(e))
                return r == -ENOENT || r == -ECONNREFUSED || r == -EHOSTDOWN || r == -ENOTCONN ||
                       r == -ECONNRESET;
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_UNKNOWN_OBJECT,
                                      SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_DISCONNECTED,
                                      SD_BUS_ERROR_NO_SERVER);
}

static bool is_timeout(int r, const sd_bus_error *e)
{
        if (!sd_bus_error_is_set(e))
                return r == -ETIMEDOUT;
        return sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT);
}

/* How a failure ends: "; VM start vetoed" or, for a pass, which setting allowed it. */
static const char *outcome(int status, const char *allow_key)
{
        static char buf[128];

        if (status)
                return streq(arg_op_name, "migrate")   ? "; incoming migration vetoed"
                       : streq(arg_op_name, "restore") ? "; restore vetoed"
                                                       : "; VM start vetoed";
        if (!may_veto())
                return "";
        snprintf(buf, sizeof(buf), "; passed: %s is \"allow\"", allow_key);
        return buf;
}

/* Turns a failed call into the exit status and the one line the user sees. */
static int report_failure(const char *method, int r, const sd_bus_error *e)
{
        const char *detail = e && e->message ? e->message : strerror(-r);
        int st;

        if (is_timeout(r, e)) {
                st = fail_status(config.hook_on_timeout);
                say(st ? LOG_ERR : LOG_WARNING,
                    "%s: mdevpasidd did not answer %s within %u ms%s. Check 'systemctl status mdevpasidd' "
                    "(hook.timeout_ms, hook.on_timeout in " CONF_HINT ")",
                    arg_vm, method, config.hook_timeout_ms, outcome(st, "hook.on_timeout"));
                return st;
        }
        if (is_unavailable(r, e)) {
                st = fail_status(config.hook_on_unavailable);
                say(st ? LOG_ERR : LOG_WARNING,
                    "%s: cannot reach mdevpasidd for %s (%s)%s. Start it with 'systemctl start mdevpasidd' "
                    "(hook.on_daemon_unavailable in " CONF_HINT ")",
                    arg_vm, method, detail, outcome(st, "hook.on_daemon_unavailable"));
                return st;
        }
        /* A decision of the daemon: Refused carries "<vm>: <CODE> on <unit>: <why>; <fix>",
         * which is the line libvirt shows, as is any other message that starts with the
         * VM's name; anything else is named with its method. */
        st = may_veto() ? EXIT_FAILURE : EXIT_SUCCESS;
        if (e && e->message && startswith(e->message, arg_vm) &&
            startswith(e->message + strlen(arg_vm), ": "))
                say(st ? LOG_ERR : LOG_WARNING, "%s", e->message);
        else
                say(st ? LOG_ERR : LOG_WARNING, "%s: %s failed: %s", arg_vm, method, detail);
        return st;
}

/* One VM call (AttachVm, PlanVm with the domain XML; DetachVm). 0, or the call's negative
 * errno with *e set (nothing reported yet: the caller decides). */
static int vm_call(sd_bus *bus, const char *method, const char *xml, sd_bus_error *e)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = mdp_client_new_call(bus, NULL, NULL, method, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", arg_vm);
        if (r >= 0 && xml)
                r = sd_bus_message_append(m, "a{sv}", 1, "DomainXml", "s", xml);
        if (r < 0)
                return sd_bus_error_set_errnof(e, r, "cannot build the %s call: %s", method, strerror(-r));
        return mdp_client_send(bus, m, remaining_usec(), e, &reply);
}

/* prepare begin: AttachVm, which starts the VM's defined mdevs that are not running
 * (libvirt looks for them right after this hook, ECOSYSTEM.md §1.5) and stops them again
 * when it refuses. */
static int do_prepare(sd_bus *bus, const char *xml)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = vm_call(bus, "AttachVm", xml, &e);
        if (r < 0 && sd_bus_error_has_name(&e, MDP_ERROR_ALREADY_EXISTS)) {
                /* Recorded with other units: a stale record (the VM is not running at
                 * prepare; its last release never came, or its XML changed since). */
                _cleanup_(sd_bus_error_free) sd_bus_error e2 = SD_BUS_ERROR_NULL;
                sd_journal_send("MESSAGE=%s: replacing a stale assignment with other units", arg_vm,
                                "PRIORITY=%i", LOG_NOTICE, "SYSLOG_IDENTIFIER=%s", PROGRAM, NULL);
                if (vm_call(bus, "DetachVm", NULL, &e2) >= 0 ||
                    sd_bus_error_has_name(&e2, MDP_ERROR_NO_SUCH_VM)) {
                        sd_bus_error_free(&e);
                        r = vm_call(bus, "AttachVm", xml, &e);
                }
        }
        return r < 0 ? report_failure("AttachVm", r, &e) : EXIT_SUCCESS;
}

/* Reads ListDevices(defined) into "uuid active" pairs we care about. */
static int list_devices(sd_bus *bus, bool defined, char ***ret_uuids, sd_bus_error *e)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char **v = NULL;
        size_t n = 0;
        int r;

        r = mdp_client_call(bus, NULL, NULL, "ListDevices", remaining_usec(), e, &reply, "b", defined);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(sssbbsa(ss)a{sv})");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "sssbbsa(ss)a{sv}")) > 0) {
                const char *uuid, *parent, *type, *start;
                int active, def;
                char **nv;

                r = sd_bus_message_read(reply, "sssbbs", &uuid, &parent, &type, &active, &def, &start);
                if (r >= 0)
                        r = sd_bus_message_skip(reply, "a(ss)a{sv}");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                nv = realloc(v, (n + 2) * sizeof(char *));
                if (!nv || !(nv[n] = strdup(uuid))) {
                        v = nv ? nv : v;
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                v[++n] = NULL;
        }
        if (r < 0) {
                strv_free(v);
                return sd_bus_error_set_errnof(e, r, "cannot read ListDevices: %s", strerror(-r));
        }
        *ret_uuids = v;
        return 0;
}

static bool strv_contains(char **v, const char *s)
{
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

/* migrate begin, restore begin: can this host prepare the VM? Every mdev must be running or
 * defined here (prepare starts the defined ones); when all run, PlanVm also checks the
 * strategy. A plan needs the mdevs to exist, so with some only defined the strategy check
 * is left to prepare. */
static int do_check(sd_bus *bus, const struct mdp_domain *d, const char *xml)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **active = NULL, **defined = NULL;
        bool all_active = true;
        int r;

        if (d->n_mdevs > 0) {
                r = list_devices(bus, false, &active, &e);
                if (r >= 0)
                        r = list_devices(bus, true, &defined, &e);
                if (r < 0)
                        return report_failure("ListDevices", r, &e);
        }
        for (size_t i = 0; i < d->n_mdevs; i++) {
                if (strv_contains(active, d->mdevs[i].uuid))
                        continue;
                all_active = false;
                if (!strv_contains(defined, d->mdevs[i].uuid)) {
                        say(LOG_ERR,
                            "%s: unit %s: no mdev with this UUID running or defined on this host%s. "
                            "Define it here first (mdevpasidctl define --uuid %s --parent PARENT --type "
                            "TYPE)",
                            arg_vm, d->mdevs[i].uuid, outcome(EXIT_FAILURE, NULL), d->mdevs[i].uuid);
                        return EXIT_FAILURE;
                }
        }
        if (!all_active)
                return EXIT_SUCCESS;
        r = vm_call(bus, "PlanVm", xml, &e);
        return r < 0 ? report_failure("PlanVm", r, &e) : EXIT_SUCCESS;
}

static int run(void)
{
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *xml = NULL, *error = NULL;
        const char *method;
        size_t len = 0;
        int r;

        r = read_stdin(&xml, &len);
        if (r >= 0)
                r = mdp_domain_parse(xml, len, &d, &error);
        if (r < 0) {
                /* Only prepare (and the migrate/restore checks) may refuse; at release the VM
                 * is gone already, and its assignment is released by name all the same. */
                if (r == -EFBIG && !error)
                        error = strdup("the domain XML on stdin is larger than 4 MiB");
                if (may_veto()) {
                        say(LOG_ERR, "%s: cannot read the domain XML on stdin: %s", arg_vm,
                            error ? error : strerror(-r));
                        return EXIT_FAILURE;
                }
                if (arg_op == OP_RECONNECT)
                        say(LOG_WARNING,
                            "%s: cannot read the domain XML on stdin (%s); assignment not re-asserted",
                            arg_vm, error ? error : strerror(-r));
                if (arg_op != OP_RELEASE)
                        return EXIT_SUCCESS;
        } else if (!mdp_domain_has_units(d))
                return EXIT_SUCCESS; /* nothing of ours: do not even ask the daemon */

        method = arg_op == OP_RELEASE ? "DetachVm" : arg_op == OP_CHECK ? "PlanVm" : "AttachVm";
        r = mdp_client_open(&bus);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, remaining_usec());
        if (r < 0) {
                sd_bus_error_setf(&e, SD_BUS_ERROR_NO_SERVER, "cannot connect to the system bus: %s",
                                  strerror(-r));
                return report_failure(method, r, &e);
        }
        switch (arg_op) {
        case OP_PREPARE:
                return do_prepare(bus, xml);
        case OP_CHECK:
                return do_check(bus, d, xml);
        case OP_RECONNECT:
                /* The VM runs, so do its mdevs: only the record is re-asserted. */
                r = vm_call(bus, "AttachVm", xml, &e);
                if (r < 0)
                        return report_failure("AttachVm", r, &e);
                sd_journal_send("MESSAGE=%s: assignment re-asserted after libvirtd reconnected", arg_vm,
                                "PRIORITY=%i", LOG_INFO, "SYSLOG_IDENTIFIER=%s", PROGRAM, NULL);
                return EXIT_SUCCESS;
        case OP_RELEASE:
                r = vm_call(bus, "DetachVm", NULL, &e);
                /* NoSuchVm: never attached, or released already. */
                if (r < 0 && !sd_bus_error_has_name(&e, MDP_ERROR_NO_SUCH_VM))
                        return report_failure("DetachVm", r, &e);
                return EXIT_SUCCESS;
        default:
                return EXIT_SUCCESS;
        }
}

static void help(FILE *f)
{
        fprintf(f,
                "%s DOMAIN OPERATION SUB-OPERATION EXTRA < domain.xml\n\n"
                "The libvirt qemu hook of mdevpasid: on prepare it asks mdevpasidd to create and check\n"
                "the VM's mdevs (Manager.AttachVm) and vetoes a start that cannot be made safe; on\n"
                "release it releases them (Manager.DetachVm). libvirt runs it from\n"
                "/etc/libvirt/hooks/qemu.d/ with the domain XML on stdin; see mdevpasid-libvirt-hook(8).\n"
                "Configuration: hook.timeout_ms, hook.on_timeout, hook.on_daemon_unavailable in\n" CONF_HINT
                ".\n",
                PROGRAM);
}

int main(int argc, char **argv)
{
        static const struct {
                const char *op, *sub;
                enum op_kind kind;
        } ops[] = {
                {"prepare", "begin", OP_PREPARE},     {"release", "end", OP_RELEASE},
                {"reconnect", "begin", OP_RECONNECT}, {"migrate", "begin", OP_CHECK},
                {"restore", "begin", OP_CHECK},
        };

        start_usec = now_usec();
        log_setup(PROGRAM);
        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                help(stdout);
                return EXIT_SUCCESS;
        }
        if (argc == 2 && streq(argv[1], "--version")) {
                printf("%s %s\n", PROGRAM, PACKAGE_VERSION);
                return EXIT_SUCCESS;
        }
        /* libvirt always passes four arguments ("-" for a missing one). */
        if (argc < 4 || isempty(argv[1])) {
                fprintf(stderr,
                        "%s: expected DOMAIN OPERATION SUB-OPERATION [EXTRA] (as libvirt runs it); "
                        "see --help\n",
                        PROGRAM);
                return 2;
        }
        arg_vm = argv[1];
        arg_op_name = argv[2];
        arg_op = OP_IGNORE;
        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                if (streq(argv[2], ops[i].op) && streq(argv[3], ops[i].sub))
                        arg_op = ops[i].kind;
        /* start, started, stopped, attach and operations libvirt may add later: nothing to do,
         * and nothing that could fail or wait. */
        if (arg_op == OP_IGNORE)
                return EXIT_SUCCESS;

        load_config();
        arm_backstop();
        return run();
}
