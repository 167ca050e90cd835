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
 *   prepare begin    AttachVm: the VM's mdevs exist when we return 0 (libvirt looks for them
 *                    right after, §1.5); a refusal exits 1 with one line on stderr, which
 *                    libvirt shows the user.
 *   release end      DetachVm (NoSuchVm is fine); never fails.
 *   stopped end      nothing (libvirt ignores the status; nothing here can fail).
 *   reconnect begin  AttachVm again (libvirtd restarted); a failure would kill the running
 *                    QEMU, so it is logged, never a veto.
 *   migrate begin,   PlanVm (a dry run): veto only when the VM's units cannot be prepared on
 *   restore begin    this host; prepare follows and does the real work.
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

static bool is_unavailable(int r, const sd_bus_error *e)
{
        /* No bus at all, nobody owning the name, or a daemon that has no such method yet. */
        return r == -ENOENT || r == -ECONNREFUSED || r == -EHOSTDOWN ||
               sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_UNKNOWN_OBJECT,
                                      SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_DISCONNECTED,
                                      SD_BUS_ERROR_NO_SERVER);
}

static bool is_timeout(int r, const sd_bus_error *e)
{
        return r == -ETIMEDOUT || sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT);
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
         * which is the line libvirt shows; anything else is named with its method. */
        st = may_veto() ? EXIT_FAILURE : EXIT_SUCCESS;
        if (sd_bus_error_has_name(e, MDP_ERROR_REFUSED) && e->message)
                say(st ? LOG_ERR : LOG_WARNING, "%s", e->message);
        else
                say(st ? LOG_ERR : LOG_WARNING, "%s: %s failed: %s", arg_vm, method, detail);
        return st;
}

static int call(sd_bus *bus, const char *method, const char *xml, int *ret_status)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = mdp_client_new_call(bus, NULL, NULL, method, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", arg_vm);
        if (r >= 0 && xml)
                r = sd_bus_message_append(m, "a{sv}", 1, "DomainXml", "s", xml);
        if (r < 0) {
                say(LOG_ERR, "%s: cannot build the %s call: %s", arg_vm, method, strerror(-r));
                *ret_status = fail_status(MDP_HOOK_VETO);
                return r;
        }
        r = mdp_client_send(bus, m, remaining_usec(), &e, &reply);
        if (r < 0) {
                if (streq(method, "DetachVm") && sd_bus_error_has_name(&e, MDP_ERROR_NO_SUCH_VM))
                        return 0; /* never attached (or already released): nothing to do */
                *ret_status = report_failure(method, r, &e);
                return r;
        }
        return 0;
}

static int run(void)
{
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = NULL;
        _cleanup_free_ char *xml = NULL, *error = NULL;
        const char *method;
        size_t len = 0;
        int r, status = EXIT_SUCCESS;

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
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_error_setf(&e, SD_BUS_ERROR_NO_SERVER, "cannot connect to the system bus: %s",
                                  strerror(-r));
                return report_failure(method, r, &e);
        }
        r = call(bus, method, arg_op == OP_RELEASE ? NULL : xml, &status);
        if (r >= 0 && arg_op == OP_RECONNECT)
                log_debug("%s: assignment re-asserted after libvirtd reconnected", arg_vm);
        return status;
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
