/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp-kernel-sim: the built-in simulated host. A umockdev testbed populated from a real-kernel
 * capture (tests/fixtures/real-kernel/<variant>) or any sysfs tree, and a process that plays
 * the kernel for it: writes to create/remove reach it through the shim (sim-shim.c), it
 * changes the tree and sends the uevents as the kernel does, then answers the write.
 * Usage and commands: tests/sim/README.md, or "mdp-kernel-sim --help". */

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <umockdev.h>
#include <unistd.h>

#include "sim-client.h"
#include "sim-proto.h"
#include "sim.h"

#ifndef MDP_SIM_SHIM
#define MDP_SIM_SHIM "libmdpsimshim.so"
#endif
#ifndef MDP_FIXTURES_DIR
#define MDP_FIXTURES_DIR "tests/fixtures/real-kernel"
#endif
#ifndef MDP_ASAN_LIB
#define MDP_ASAN_LIB ""
#endif
#define DEFAULT_FIXTURE "x86-6.12-sm"

struct app {
        struct sim sim;
        UMockdevTestbed *testbed;
        GMainLoop *loop;
        int kernel_fd, ctl_fd;
        guint kernel_watch, ctl_watch;
        char *env_text;
        bool keep;
        int exit_code;
};

static struct app *the_app;

/* ----- answering the shim ------------------------------------------------------------------ */

struct write_req {
        struct app *app;
        int fd;
        long count;
        char *path;
        char *data;
        guint32 pid;
        guint watch;
};

static void write_req_free(struct write_req *w)
{
        if (w->watch)
                g_source_remove(w->watch);
        if (w->fd >= 0)
                close(w->fd);
        g_free(w->path);
        g_free(w->data);
        g_free(w);
}

static void write_reply(struct write_req *w, int error, long count)
{
        struct sim_write_reply rep = {.magic = SIM_REPLY_MAGIC, .error = error, .result = error ? -1 : count};
        struct sim *s = &w->app->sim;

        g_string_append_printf(s->write_log, "%u %s %s -> %s\n", w->pid, w->path, w->data,
                               error ? sim_errno_name(error) : "ok");
        if (s->verbose)
                g_message("write %s %s -> %s", w->path, w->data, error ? sim_errno_name(error) : "ok");
        (void)send(w->fd, &rep, sizeof(rep), MSG_NOSIGNAL); /* the writer may be gone: fine */
        write_req_free(w);
}

static void write_req_done(struct sim *s, int error, void *userdata)
{
        struct write_req *w = userdata;
        write_reply(w, error < 0 ? -error : error, w->count);
}

static gboolean on_write_req(gint fd, GIOCondition cond, gpointer data)
{
        struct write_req *w = data;
        char buf[sizeof(struct sim_write_request) + PATH_MAX + SIM_MAX_STORE + 1];
        struct sim_write_request *req = (struct sim_write_request *)buf;
        ssize_t n;
        long count = 0;
        int r;

        w->watch = 0;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < (ssize_t)sizeof(*req) || req->magic != SIM_WRITE_MAGIC || req->path_len >= PATH_MAX ||
            req->data_len > SIM_MAX_STORE || (size_t)n != sizeof(*req) + req->path_len + req->data_len) {
                write_req_free(w);
                return G_SOURCE_REMOVE;
        }
        w->pid = req->pid;
        w->path = g_strndup(buf + sizeof(*req), req->path_len);
        w->count = req->data_len;
        {
                g_autofree char *raw = g_strndup(buf + sizeof(*req) + req->path_len, req->data_len);
                w->data = g_strescape(raw, NULL);
        }
        r = sim_store(&w->app->sim, w->path, buf + sizeof(*req) + req->path_len, req->data_len, write_req_done,
                      w, &count);
        if (r == 1)
                return G_SOURCE_REMOVE; /* write_req_done answers, maybe already did */
        write_reply(w, r < 0 ? -r : 0, count);
        return G_SOURCE_REMOVE;
}

static gboolean on_kernel_accept(gint fd, GIOCondition cond, gpointer data)
{
        struct app *app = data;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        struct write_req *w;

        if (c < 0)
                return G_SOURCE_CONTINUE;
        w = g_new0(struct write_req, 1);
        w->app = app;
        w->fd = c;
        w->watch = g_unix_fd_add(c, G_IO_IN | G_IO_HUP | G_IO_ERR, on_write_req, w);
        return G_SOURCE_CONTINUE;
}

/* ----- control --------------------------------------------------------------------------------- */

struct ctl_req {
        struct app *app;
        int fd;
        guint watch;
        char *command;
};

static void ctl_reply(struct ctl_req *c, int error, const char *text)
{
        g_autofree char *msg = NULL;

        if (error)
                msg = g_strdup_printf("ERR %d %s %s\n", error, sim_errno_name(error), text ? text : "");
        else
                msg = g_strdup_printf("OK\n%s", text ? text : "");
        if (strlen(msg) > SIM_CTL_MAX)
                msg[SIM_CTL_MAX] = '\0';
        (void)send(c->fd, msg, strlen(msg), MSG_NOSIGNAL);
        if (c->watch)
                g_source_remove(c->watch);
        close(c->fd);
        g_free(c->command);
        g_free(c);
}

static void ctl_done(struct sim *s, int error, void *userdata)
{
        struct ctl_req *c = userdata;
        ctl_reply(c, error < 0 ? -error : error, error ? "the operation failed" : NULL);
}

static struct sim_parent *find_parent(struct sim *s, const char *name, GString *err)
{
        struct sim_parent *p = g_hash_table_lookup(s->parents, name);
        if (!p)
                g_string_printf(err, "no parent \"%s\" (see \"parents\")", name);
        return p;
}

static gint str_cmp(gconstpointer a, gconstpointer b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *list_parents(struct sim *s)
{
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        GString *out = g_string_new(NULL);
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, s->parents);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct sim_parent *p = v;
                g_ptr_array_add(lines, g_strdup_printf("%s %s subsystem=%s driver=%s %s", p->name, p->devpath,
                                                       p->subsystem, p->mdev_driver,
                                                       p->registered ? "registered" : "unregistered"));
        }
        g_ptr_array_sort(lines, str_cmp);
        for (guint i = 0; i < lines->len; i++)
                g_string_append_printf(out, "%s\n", (char *)lines->pdata[i]);
        return g_string_free(out, FALSE);
}

static char *list_types(struct sim *s, const char *only)
{
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        GString *out = g_string_new(NULL);
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, s->parents);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct sim_parent *p = v;
                if (only && strcmp(only, p->name) != 0)
                        continue;
                GPtrArray *types = sim_parent_types(p);
                for (guint i = 0; i < types->len; i++) {
                        struct sim_type *t = g_ptr_array_index(types, i);
                        g_ptr_array_add(lines, g_strdup_printf("%s %s available=%ld cost=%ld pool=%s:%ld/%ld", p->name,
                                                               t->id, sim_type_available(t), t->cost,
                                                               p->shared_pool ? "shared" : "own", t->pool->used,
                                                               t->pool->total));
                }
        }
        g_ptr_array_sort(lines, str_cmp);
        for (guint i = 0; i < lines->len; i++)
                g_string_append_printf(out, "%s\n", (char *)lines->pdata[i]);
        return g_string_free(out, FALSE);
}

static char *list_mdevs(struct sim *s)
{
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        GString *out = g_string_new(NULL);
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, s->mdevs);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct sim_mdev *m = v;
                g_ptr_array_add(lines, g_strdup_printf("%s %s %s group=%d vfio-dev=%d hold=%d%s", m->uuid, m->parent->name,
                                                       m->type_id ? m->type_id : "-", m->group, m->vfio_dev, m->hold,
                                                       m->removing ? " removing" : ""));
        }
        g_ptr_array_sort(lines, str_cmp);
        for (guint i = 0; i < lines->len; i++)
                g_string_append_printf(out, "%s\n", (char *)lines->pdata[i]);
        return g_string_free(out, FALSE);
}

static const char *const fault_names[] = {
        [FAULT_FAIL_CREATE] = "fail-create",     [FAULT_GHOST_CREATE] = "ghost-create",
        [FAULT_DELAY_REMOVE] = "delay-remove",   [FAULT_VANISH_BEFORE] = "vanish-parent-before-create",
        [FAULT_VANISH_AFTER] = "vanish-parent-after-create",
};

/* fault <kind> ...: see README.md. Returns 0 or -errno with err filled. */
static int ctl_fault(struct sim *s, char **argv, int argc, GString *out, GString *err)
{
        struct sim_fault *f;
        int i = 2;

        if (argc < 2) {
                g_string_assign(err, "usage: fault fail-create|ghost-create|delay-remove|vanish-parent|garbage|unpin|clear|list ...");
                return -EINVAL;
        }
        if (strcmp(argv[1], "clear") == 0) {
                g_ptr_array_set_size(s->faults, 0);
                g_hash_table_remove_all(s->pinned);
                return 0;
        }
        if (strcmp(argv[1], "list") == 0) {
                for (guint k = 0; k < s->faults->len; k++) {
                        f = g_ptr_array_index(s->faults, k);
                        g_string_append_printf(out, "%s match=%s error=%s delay=%ld remaining=%d\n", fault_names[f->kind],
                                               f->match ? f->match : "*", f->error ? sim_errno_name(f->error) : "-",
                                               f->delay_ms, f->remaining);
                }
                {
                        GHashTableIter it;
                        gpointer k;
                        g_hash_table_iter_init(&it, s->pinned);
                        while (g_hash_table_iter_next(&it, &k, NULL))
                                g_string_append_printf(out, "garbage %s\n", (char *)k);
                }
                return 0;
        }
        if (strcmp(argv[1], "garbage") == 0 || strcmp(argv[1], "unpin") == 0) {
                g_autofree char *rel = NULL;
                if (argc < 3 || (strcmp(argv[1], "garbage") == 0 && argc < 4)) {
                        g_string_assign(err, "usage: fault garbage <path below sys/> <text...> | fault unpin <path>");
                        return -EINVAL;
                }
                rel = sim_canonical(s, argv[2]);
                if (!rel) {
                        g_string_printf(err, "sys/%s does not exist", argv[2]);
                        return -ENOENT;
                }
                if (strcmp(argv[1], "unpin") == 0) {
                        g_hash_table_remove(s->pinned, rel);
                        return 0;
                }
                {
                        g_autofree char *joined = g_strjoinv(" ", argv + 3);
                        g_autofree char *text = g_strcompress(joined); /* \n and friends */
                        g_hash_table_remove(s->pinned, rel);
                        sim_write_attr(s, rel, text);
                        g_hash_table_add(s->pinned, g_steal_pointer(&rel));
                }
                return 0;
        }
        f = g_new0(struct sim_fault, 1);
        f->remaining = 1;
        if (strcmp(argv[1], "fail-create") == 0) {
                f->kind = FAULT_FAIL_CREATE;
                if (argc < 3 || (f->error = sim_errno_from_name(argv[2])) <= 0) {
                        g_string_assign(err, "usage: fault fail-create <errno name or number> [count] [parent[/type]|uuid]");
                        sim_fault_free(f);
                        return -EINVAL;
                }
                i = 3;
        } else if (strcmp(argv[1], "ghost-create") == 0) {
                f->kind = FAULT_GHOST_CREATE;
        } else if (strcmp(argv[1], "delay-remove") == 0) {
                f->kind = FAULT_DELAY_REMOVE;
                if (argc < 3 || (f->delay_ms = strtol(argv[2], NULL, 10)) <= 0) {
                        g_string_assign(err, "usage: fault delay-remove <milliseconds> [count] [parent[/type]|uuid]");
                        sim_fault_free(f);
                        return -EINVAL;
                }
                i = 3;
        } else if (strcmp(argv[1], "vanish-parent") == 0) {
                if (argc < 4 || (strcmp(argv[3], "before-create") != 0 && strcmp(argv[3], "after-create") != 0) ||
                    !g_hash_table_contains(s->parents, argv[2])) {
                        g_string_assign(err, "usage: fault vanish-parent <parent> before-create|after-create");
                        sim_fault_free(f);
                        return -EINVAL;
                }
                f->kind = strcmp(argv[3], "before-create") == 0 ? FAULT_VANISH_BEFORE : FAULT_VANISH_AFTER;
                f->match = g_strdup(argv[2]);
                g_ptr_array_add(s->faults, f);
                return 0;
        } else {
                g_string_printf(err, "unknown fault \"%s\"", argv[1]);
                sim_fault_free(f);
                return -EINVAL;
        }
        if (i < argc && g_ascii_isdigit(argv[i][0]))
                f->remaining = atoi(argv[i++]);
        if (i < argc)
                f->match = g_strdup(argv[i++]);
        g_ptr_array_add(s->faults, f);
        return 0;
}

static int ctl_capacity(struct sim *s, char **argv, int argc, GString *err)
{
        struct sim_parent *p;
        struct sim_type *t;
        long n;

        if (argc != 4 || (n = strtol(argv[3], NULL, 10)) < 0) {
                g_string_assign(err, "usage: capacity <parent> <type> <available instances>");
                return -EINVAL;
        }
        if (!(p = find_parent(s, argv[1], err)))
                return -ENOENT;
        if (!(t = sim_parent_type(p, argv[2]))) {
                g_string_printf(err, "parent %s has no type \"%s\"", p->name, argv[2]);
                return -ENOENT;
        }
        t->pool->total = t->pool->used + n * t->cost;
        sim_pool_update_available(s, p, t->pool);
        return 0;
}

/* attrs PARENT TYPE [NAME...]: the type's mdevs created from now on get these writable
 * attributes (none: no more). The sample drivers have none; vfio_ap's have assign_adapter
 * and friends, which mdevctl definitions set in order. */
static int ctl_attrs(struct sim *s, char **argv, int argc, GString *err)
{
        struct sim_parent *p;
        struct sim_type *t;

        if (argc < 3) {
                g_string_assign(err, "usage: attrs <parent> <type> [name...]");
                return -EINVAL;
        }
        if (!(p = find_parent(s, argv[1], err)))
                return -ENOENT;
        if (!(t = sim_parent_type(p, argv[2]))) {
                g_string_printf(err, "parent %s has no type \"%s\"", p->name, argv[2]);
                return -ENOENT;
        }
        for (int i = 3; i < argc; i++)
                if (!argv[i][0] || strchr(argv[i], '/') || strcmp(argv[i], ".") == 0 || strcmp(argv[i], "..") == 0) {
                        g_string_printf(err, "invalid attribute name \"%s\"", argv[i]);
                        return -EINVAL;
                }
        g_strfreev(t->mdev_attrs);
        t->mdev_attrs = argc > 3 ? g_strdupv(argv + 3) : NULL;
        return 0;
}

static void ctl_dispatch(struct ctl_req *c, char **argv, int argc)
{
        struct app *app = c->app;
        struct sim *s = &app->sim;
        g_autoptr(GString) out = g_string_new(NULL);
        g_autoptr(GString) err = g_string_new(NULL);
        const char *cmd = argv[0];
        struct sim_parent *p;
        int r = 0;

        if (strcmp(cmd, "ping") == 0) {
        } else if (strcmp(cmd, "env") == 0) {
                g_string_assign(out, app->env_text);
        } else if (strcmp(cmd, "status") == 0) {
                g_string_printf(out, "root %s\nparents %u\nmdevs %u\nevents %" G_GUINT64_FORMAT
                                     "\nevents_delivered %lu\nevents_waited %lu\nlisteners %u\nfaults %u\n",
                                s->root, g_hash_table_size(s->parents), g_hash_table_size(s->mdevs), s->seqnum,
                                s->events_sent, s->events_queued, s->listeners ? g_hash_table_size(s->listeners) : 0,
                                s->faults->len);
        } else if (strcmp(cmd, "parents") == 0) {
                g_autofree char *t = list_parents(s);
                g_string_assign(out, t);
        } else if (strcmp(cmd, "types") == 0) {
                g_autofree char *t = list_types(s, argc > 1 ? argv[1] : NULL);
                g_string_assign(out, t);
        } else if (strcmp(cmd, "list") == 0) {
                g_autofree char *t = list_mdevs(s);
                g_string_assign(out, t);
        } else if (strcmp(cmd, "create") == 0) {
                struct sim_type *t;
                if (argc != 4) {
                        g_string_assign(err, "usage: create <parent> <type> <uuid>");
                        r = -EINVAL;
                } else if (!(p = find_parent(s, argv[1], err))) {
                        r = -ENOENT;
                } else if (!(t = sim_parent_type(p, argv[2]))) {
                        g_string_printf(err, "parent %s has no type \"%s\"", p->name, argv[2]);
                        r = -ENOENT;
                } else if (strlen(argv[3]) != 36 || !sim_uuid_valid(argv[3], 36)) {
                        g_string_printf(err, "\"%s\" is not a UUID", argv[3]);
                        r = -EINVAL;
                } else if ((r = sim_create(s, p, t, argv[3])) < 0) {
                        g_string_printf(err, "create %s on %s/%s failed", argv[3], p->name, t->id);
                }
        } else if (strcmp(cmd, "remove") == 0 || strcmp(cmd, "hold") == 0 || strcmp(cmd, "release") == 0) {
                g_autofree char *lower = argc == 2 ? g_ascii_strdown(argv[1], -1) : NULL;
                struct sim_mdev *m = lower ? g_hash_table_lookup(s->mdevs, lower) : NULL;
                if (argc != 2) {
                        g_string_printf(err, "usage: %s <uuid>", cmd);
                        r = -EINVAL;
                } else if (!m) {
                        g_string_printf(err, "no mdev %s", argv[1]);
                        r = -ENOENT;
                } else if (strcmp(cmd, "remove") == 0) {
                        sim_mdev_remove(s, m, ctl_done, c);
                        return;
                } else if ((r = sim_hold(s, argv[1], strcmp(cmd, "hold") == 0)) < 0) {
                        g_string_printf(err, "%s is not held", argv[1]);
                }
        } else if (strcmp(cmd, "unregister") == 0 || strcmp(cmd, "register") == 0) {
                if (argc != 2) {
                        g_string_printf(err, "usage: %s <parent>", cmd);
                        r = -EINVAL;
                } else if (!(p = find_parent(s, argv[1], err))) {
                        r = -ENOENT;
                } else if (strcmp(cmd, "unregister") == 0) {
                        sim_parent_unregister(s, p, ctl_done, c);
                        return;
                } else if ((r = sim_parent_register(s, p)) < 0) {
                        g_string_printf(err, "parent %s is %s", p->name, r == -EBUSY ? "unregistering" : "registered");
                }
        } else if (strcmp(cmd, "capacity") == 0) {
                r = ctl_capacity(s, argv, argc, err);
        } else if (strcmp(cmd, "attrs") == 0) {
                r = ctl_attrs(s, argv, argc, err);
        } else if (strcmp(cmd, "fault") == 0) {
                r = ctl_fault(s, argv, argc, out, err);
        } else if (strcmp(cmd, "uevent") == 0) {
                if (argc < 3) {
                        g_string_assign(err, "usage: uevent <action> <devpath> [SUBSYSTEM=x] [KEY=value...]");
                        r = -EINVAL;
                } else {
                        g_autofree char *sub = NULL;
                        g_autoptr(GPtrArray) props = g_ptr_array_new();
                        const char *dp = argv[2][0] == '/' ? argv[2] + 1 : argv[2];
                        for (int k = 3; k < argc; k++) {
                                if (g_str_has_prefix(argv[k], "SUBSYSTEM="))
                                        sub = g_strdup(argv[k] + 10);
                                else
                                        g_ptr_array_add(props, argv[k]);
                        }
                        if (!sub) {
                                g_autofree char *l = g_strdup_printf("%s/subsystem", dp);
                                sub = sim_link_basename(s, l);
                        }
                        if (!sub) {
                                g_string_printf(err, "%s has no subsystem link: give SUBSYSTEM=", argv[2]);
                                r = -EINVAL;
                        } else {
                                g_ptr_array_add(props, NULL);
                                sim_uevent_props(s, argv[1], dp, sub, (char **)props->pdata);
                        }
                }
        } else if (strcmp(cmd, "sriov") == 0) {
                if (argc != 3) {
                        g_string_assign(err, "usage: sriov <pf bdf> <vf bdf>");
                        r = -EINVAL;
                } else if ((r = sim_sriov_link(s, argv[1], argv[2])) < 0) {
                        g_string_printf(err, "bus/pci/devices/%s or %s does not exist", argv[1], argv[2]);
                }
        } else if (strcmp(cmd, "events") == 0 || strcmp(cmd, "writes") == 0) {
                GString *log = strcmp(cmd, "events") == 0 ? s->event_log : s->write_log;
                if (argc > 1 && strcmp(argv[1], "clear") == 0)
                        g_string_truncate(log, 0);
                else
                        g_string_assign(out, log->len > SIM_CTL_MAX - 64 ? log->str + log->len - (SIM_CTL_MAX - 64)
                                                                        : log->str);
        } else if (strcmp(cmd, "stop") == 0) {
                g_string_printf(out, "%d\n", (int)getpid());
                g_main_loop_quit(app->loop);
        } else {
                g_string_printf(err, "unknown command \"%s\"", cmd);
                r = -EINVAL;
        }
        ctl_reply(c, r < 0 ? -r : 0, r < 0 ? err->str : out->str);
}

static gboolean on_ctl_req(gint fd, GIOCondition cond, gpointer data)
{
        struct ctl_req *c = data;
        g_autofree char *buf = g_malloc(SIM_CTL_MAX + 1);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        ssize_t n;
        size_t off = 0;

        c->watch = 0;
        n = recv(fd, buf, SIM_CTL_MAX, 0);
        if (n <= 0) {
                ctl_reply(c, EINVAL, "empty request");
                return G_SOURCE_REMOVE;
        }
        buf[n] = '\0';
        c->command = g_memdup2(buf, (gsize)n + 1);
        while (off < (size_t)n) {
                g_ptr_array_add(argv, c->command + off);
                off += strlen(c->command + off) + 1;
        }
        g_ptr_array_add(argv, NULL);
        ctl_dispatch(c, (char **)argv->pdata, (int)argv->len - 1);
        return G_SOURCE_REMOVE;
}

static gboolean on_ctl_accept(gint fd, GIOCondition cond, gpointer data)
{
        struct app *app = data;
        int fdc = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        struct ctl_req *c;

        if (fdc < 0)
                return G_SOURCE_CONTINUE;
        c = g_new0(struct ctl_req, 1);
        c->app = app;
        c->fd = fdc;
        c->watch = g_unix_fd_add(fdc, G_IO_IN | G_IO_HUP | G_IO_ERR, on_ctl_req, c);
        return G_SOURCE_CONTINUE;
}

/* ----- start-up ------------------------------------------------------------------------------------ */

static int listen_at(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static gboolean on_signal(gpointer data)
{
        struct app *app = data;
        g_main_loop_quit(app->loop);
        return G_SOURCE_CONTINUE;
}

/* Runs argv with no preload in the environment; false with a message on failure. */
static bool run_tool(char **argv, GError **error)
{
        g_auto(GStrv) env = g_get_environ();
        g_autofree char *err = NULL;
        int status = 0;

        env = g_environ_unsetenv(env, "LD_PRELOAD");
        if (!g_spawn_sync(NULL, argv, env, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                          &err, &status, error))
                return false;
        if (!g_spawn_check_wait_status(status, NULL)) {
                g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "%s failed: %s", argv[0],
                            err && *err ? err : "no message");
                return false;
        }
        return true;
}

/* --fixture: a variant name under the fixtures directory, a capture directory, or a tarball. */
static bool populate_fixture(struct app *app, const char *fixture, GError **error)
{
        g_autofree char *tarball = NULL;
        const char *fixtures = g_getenv("MDP_FIXTURES_DIR");

        if (g_str_has_suffix(fixture, ".tar.gz")) {
                tarball = g_strdup(fixture);
                app->sim.capture_dir = g_path_get_dirname(fixture);
        } else if (strchr(fixture, '/')) {
                app->sim.capture_dir = g_strdup(fixture);
                tarball = g_build_filename(fixture, "sysfs-fixture.tar.gz", NULL);
        } else {
                app->sim.capture_dir = g_build_filename(fixtures ? fixtures : MDP_FIXTURES_DIR, fixture, NULL);
                tarball = g_build_filename(app->sim.capture_dir, "sysfs-fixture.tar.gz", NULL);
        }
        if (!g_file_test(tarball, G_FILE_TEST_IS_REGULAR)) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                            "no capture at %s (variants are the directories of %s; or give --sysfs DIR)", tarball,
                            fixtures ? fixtures : MDP_FIXTURES_DIR);
                return false;
        }
        {
                char *argv[] = {"tar", "-xzf", tarball, "-C", app->sim.root, NULL};
                return run_tool(argv, error);
        }
}

/* --sysfs: a root holding sys/ (and maybe etc/mdevctl.d, proc), or a sys directory itself.
 * move: rename instead of copying (same file system; the source is used up): a generated
 * host of 10,000 mdevs is ~10^5 entries, minutes to copy on a loaded disk. */
static bool populate_sysfs(struct app *app, const char *dir, bool move, GError **error)
{
        g_autofree char *sys = g_build_filename(dir, "sys", NULL);
        g_autofree char *src = NULL;
        static const char *const extra[] = {"etc/mdevctl.d", "proc"};

        if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s is not a directory", dir);
                return false;
        }
        if (move) {
                static const char *const parts[] = {"sys", "etc/mdevctl.d", "proc"};
                const char *from_sys = g_file_test(sys, G_FILE_TEST_IS_DIR) ? sys : dir;
                for (guint i = 0; i < G_N_ELEMENTS(parts); i++) {
                        g_autofree char *from = i == 0 ? g_strdup(from_sys) : g_build_filename(dir, parts[i], NULL);
                        g_autofree char *to = g_build_filename(app->sim.root, parts[i], NULL);
                        g_autofree char *todir = g_path_get_dirname(to);
                        if (i > 0 && (from_sys != sys || !g_file_test(from, G_FILE_TEST_IS_DIR)))
                                continue;
                        g_mkdir_with_parents(todir, 0755);
                        if (i == 0) {
                                /* umockdev made sys/ with empty bus/ and class/ */
                                g_autofree char *b = g_build_filename(to, "bus", NULL);
                                g_autofree char *c = g_build_filename(to, "class", NULL);
                                (void)rmdir(b);
                                (void)rmdir(c);
                        }
                        (void)rmdir(to);
                        if (rename(from, to) < 0) {
                                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                                            "cannot move %s to %s: %s (--move needs the same file system)", from, to,
                                            g_strerror(errno));
                                return false;
                        }
                }
                return true;
        }
        src = g_strdup_printf("%s/.", g_file_test(sys, G_FILE_TEST_IS_DIR) ? sys : dir);
        {
                char *argv[] = {"cp", "-a", src, app->sim.sys, NULL};
                if (!run_tool(argv, error))
                        return false;
        }
        for (guint i = 0; g_file_test(sys, G_FILE_TEST_IS_DIR) && i < G_N_ELEMENTS(extra); i++) {
                g_autofree char *from = g_build_filename(dir, extra[i], NULL);
                g_autofree char *to = g_build_filename(app->sim.root, extra[i], NULL);
                g_autofree char *from_dot = g_strdup_printf("%s/.", from);
                if (!g_file_test(from, G_FILE_TEST_IS_DIR))
                        continue;
                g_mkdir_with_parents(to, 0755);
                {
                        char *argv[] = {"cp", "-a", from_dot, to, NULL};
                        if (!run_tool(argv, error))
                                return false;
                }
        }
        return true;
}

static char *shell_quote_env(const char *k, const char *v)
{
        g_autofree char *q = g_shell_quote(v);
        return g_strdup_printf("%s=%s\n", k, q);
}

static char *make_env_text(struct app *app, const char *shim)
{
        GString *e = g_string_new(NULL);
        g_autofree char *preload = NULL, *pid = g_strdup_printf("%d", (int)getpid());
        const char *asan = g_getenv("MDP_SIM_ASAN_LIB") ? g_getenv("MDP_SIM_ASAN_LIB") : MDP_ASAN_LIB;
        char *l;

        /* ASan's runtime first (TESTING.md §B pitfall 6), then the shim, which must come before
         * umockdev's preload (that one calls libc directly, see sim-shim.c). */
        preload = g_strdup_printf("%s%s%s:libumockdev-preload.so.0", asan, *asan ? ":" : "", shim);
#define ADD(k, v)                                                                                         \
        l = shell_quote_env(k, v);                                                                        \
        g_string_append(e, l);                                                                            \
        g_free(l)
        ADD("UMOCKDEV_DIR", app->sim.root);
        ADD("MDEVPASID_ROOT", app->sim.root);
        ADD("LD_PRELOAD", preload);
        ADD("MDP_SIM_PID", pid);
#undef ADD
        g_string_append(e, "export UMOCKDEV_DIR MDEVPASID_ROOT LD_PRELOAD MDP_SIM_PID\n");
        return g_string_free(e, FALSE);
}

static void usage(FILE *f)
{
        fputs("Usage:\n"
              "  mdp-kernel-sim start [--fixture VARIANT|DIR|TARBALL] [--sysfs DIR [--move]] [--env-file FILE]\n"
              "                       [--daemon] [--keep] [--die-with-parent] [--verbose]\n"
              "      Make a testbed, play the kernel for it until stopped; print the environment\n"
              "      (UMOCKDEV_DIR, MDEVPASID_ROOT, LD_PRELOAD) in shell syntax when ready.\n"
              "      Default fixture: " DEFAULT_FIXTURE ". --daemon returns once ready.\n"
              "  mdp-kernel-sim ctl DIR COMMAND [ARG...]\n"
              "      Send a command to the sim of testbed DIR: ping env status parents types list\n"
              "      create remove hold release register unregister capacity fault uevent sriov\n"
              "      events writes stop (see tests/sim/README.md).\n",
              f);
}

/* Alive and not a zombie (a daemonized sim is reaped by whoever adopted it, maybe late). */
static bool pid_alive(pid_t pid)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
        g_autofree char *stat = NULL;
        const char *paren;

        if (kill(pid, 0) < 0 && errno != EPERM)
                return false;
        if (!g_file_get_contents(path, &stat, NULL, NULL) || !(paren = strrchr(stat, ')')))
                return false;
        return paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int wait_gone(pid_t pid, const char *root, bool keep, int timeout_ms)
{
        for (int waited = 0; waited < timeout_ms; waited += 10) { /* removing a big tree takes a while */
                bool alive = pid_alive(pid);
                if (!alive && (keep || access(root, F_OK) < 0))
                        return 0;
                usleep(10000);
        }
        return -ETIMEDOUT;
}

static int cmd_ctl(int argc, char **argv)
{
        g_autofree char *out = NULL;
        int r;

        if (argc < 4) {
                usage(stderr);
                return 2;
        }
        r = sim_client_call(argv[2], -1, argv + 3, &out);
        if (!out && (r == -ENOENT || r == -ECONNREFUSED)) { /* no answer: no sim */
                fprintf(stderr, "mdp-kernel-sim: no simulated host runs in %s (%s)\n", argv[2], strerror(-r));
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "mdp-kernel-sim: %s: %s", argv[3], out && *out ? out : strerror(-r));
                if (!out || !*out || out[strlen(out) - 1] != '\n')
                        fputc('\n', stderr);
                return 1;
        }
        fputs(out, stdout);
        if (strcmp(argv[3], "stop") == 0) {
                pid_t pid = (pid_t)atoi(out);
                if (pid > 0 && wait_gone(pid, argv[2], true, 120000) < 0) {
                        fprintf(stderr, "mdp-kernel-sim: the sim (pid %d) did not exit\n", (int)pid);
                        return 1;
                }
        }
        return 0;
}

static int cmd_start(int argc, char **argv)
{
        g_autofree char *fixture = NULL, *sysfs = NULL, *env_file = NULL, *shim = NULL;
        gboolean daemonize = FALSE, keep = FALSE, die_with_parent = FALSE, verbose = FALSE, move = FALSE;
        GOptionEntry entries[] = {
                {"fixture", 0, 0, G_OPTION_ARG_STRING, &fixture, "Real-kernel capture", "VARIANT|DIR|TARBALL"},
                {"sysfs", 0, 0, G_OPTION_ARG_FILENAME, &sysfs, "Any sysfs tree (a root with sys/, or sys/)", "DIR"},
                {"move", 0, 0, G_OPTION_ARG_NONE, &move, "Move the --sysfs tree in instead of copying it", NULL},
                {"env-file", 0, 0, G_OPTION_ARG_FILENAME, &env_file, "Also write the environment here", "FILE"},
                {"shim", 0, 0, G_OPTION_ARG_FILENAME, &shim, "The write shim to preload", "PATH"},
                {"daemon", 0, 0, G_OPTION_ARG_NONE, &daemonize, "Detach once ready", NULL},
                {"keep", 0, 0, G_OPTION_ARG_NONE, &keep, "Keep the testbed when stopping", NULL},
                {"die-with-parent", 0, 0, G_OPTION_ARG_NONE, &die_with_parent, "Stop when the parent dies", NULL},
                {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log writes and uevents", NULL},
                {NULL},
        };
        g_autoptr(GOptionContext) oc = g_option_context_new("- the simulated host");
        g_autoptr(GError) error = NULL;
        struct app app = {.kernel_fd = -1, .ctl_fd = -1};
        struct sim *s = &app.sim;
        g_autofree char *simdir = NULL, *path = NULL;
        int ready_pipe[2] = {-1, -1};
        pid_t parent = getppid();
        gint64 t0, t1;
        int r;

        g_option_context_add_main_entries(oc, entries, NULL);
        if (!g_option_context_parse(oc, &argc, &argv, &error)) {
                fprintf(stderr, "mdp-kernel-sim: %s\n", error->message);
                return 2;
        }
        if (move && !sysfs) {
                fprintf(stderr, "mdp-kernel-sim: --move goes with --sysfs\n");
                return 2;
        }
        if (fixture && sysfs) {
                fprintf(stderr, "mdp-kernel-sim: give --fixture or --sysfs, not both\n");
                return 2;
        }
        if (!shim)
                shim = g_strdup(g_getenv("MDP_SIM_SHIM") ? g_getenv("MDP_SIM_SHIM") : MDP_SIM_SHIM);
        if (!g_file_test(shim, G_FILE_TEST_IS_REGULAR)) {
                fprintf(stderr, "mdp-kernel-sim: the write shim %s is missing (run make, or give --shim)\n", shim);
                return 1;
        }

        if (daemonize) {
                pid_t pid;
                if (pipe2(ready_pipe, O_CLOEXEC) < 0)
                        return 1;
                pid = fork();
                if (pid < 0)
                        return 1;
                if (pid > 0) {
                        /* wait for the environment (ready) or an error, then leave */
                        GString *got = g_string_new(NULL);
                        char buf[4096];
                        ssize_t n;
                        close(ready_pipe[1]);
                        while ((n = read(ready_pipe[0], buf, sizeof(buf))) > 0)
                                g_string_append_len(got, buf, n);
                        if (g_str_has_prefix(got->str, "UMOCKDEV_DIR=")) {
                                fputs(got->str, stdout);
                                g_string_free(got, TRUE);
                                return 0;
                        }
                        fprintf(stderr, "%s", got->len ? got->str : "mdp-kernel-sim: failed to start\n");
                        g_string_free(got, TRUE);
                        waitpid(pid, NULL, 0);
                        return 1;
                }
                close(ready_pipe[0]);
                setsid();
                /* keep nothing of the caller's but stdio: a pipe it reads to EOF must close */
                {
                        g_autoptr(GDir) fds = g_dir_open("/proc/self/fd", 0, NULL);
                        g_autoptr(GArray) toclose = g_array_new(FALSE, FALSE, sizeof(int));
                        const char *e;
                        while (fds && (e = g_dir_read_name(fds))) {
                                int fd = atoi(e);
                                if (fd > 2 && fd != ready_pipe[1])
                                        g_array_append_val(toclose, fd);
                        }
                        for (guint i = 0; i < toclose->len; i++)
                                close(g_array_index(toclose, int, i)); /* (the dir's own fd fails: fine) */
                }
                if (freopen("/dev/null", "r", stdin) == NULL)
                        return 1;
        }
        if (die_with_parent) {
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        return 1;
        }
        signal(SIGPIPE, SIG_IGN);

        s->verbose = verbose;
        s->parents = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)sim_parent_free);
        s->parent_by_path = g_hash_table_new(g_str_hash, g_str_equal);
        s->mdevs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)sim_mdev_free);
        s->mdev_by_path = g_hash_table_new(g_str_hash, g_str_equal);
        s->pinned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        s->faults = g_ptr_array_new_with_free_func((GDestroyNotify)sim_fault_free);
        s->event_log = g_string_new(NULL);
        s->write_log = g_string_new(NULL);
        s->seqnum = 1000;
        app.keep = keep;

        app.testbed = umockdev_testbed_new();
        s->root = umockdev_testbed_get_root_dir(app.testbed);
        s->sys = umockdev_testbed_get_sys_dir(app.testbed);

        t0 = g_get_monotonic_time();
        if (sysfs ? !populate_sysfs(&app, sysfs, move, &error)
                  : !populate_fixture(&app, fixture ? fixture : DEFAULT_FIXTURE, &error))
                goto fail;
        t1 = g_get_monotonic_time();
        if (sim_load(s, &error) < 0)
                goto fail;
        if (verbose)
                g_message("testbed %s: populated in %" G_GINT64_FORMAT " ms, %u parents and %u mdevs loaded in %" G_GINT64_FORMAT
                          " ms",
                          s->root, (t1 - t0) / 1000, g_hash_table_size(s->parents), g_hash_table_size(s->mdevs),
                          (g_get_monotonic_time() - t1) / 1000);

        simdir = g_build_filename(s->root, SIM_SUBDIR, NULL);
        g_mkdir_with_parents(simdir, 0755);
        if (daemonize) {
                g_autofree char *log = g_build_filename(simdir, SIM_LOG_FILE, NULL);
                if (!freopen(log, "a", stderr))
                        goto fail;
        }
        path = g_build_filename(simdir, SIM_KERNEL_SOCKET, NULL);
        if ((app.kernel_fd = listen_at(path)) < 0) {
                g_set_error(&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot listen on %s: %s", path,
                            strerror(-app.kernel_fd));
                goto fail;
        }
        g_free(path);
        path = g_build_filename(simdir, SIM_CTL_SOCKET, NULL);
        if ((app.ctl_fd = listen_at(path)) < 0) {
                g_set_error(&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot listen on %s: %s", path,
                            strerror(-app.ctl_fd));
                goto fail;
        }
        app.env_text = make_env_text(&app, shim);
        g_free(path);
        path = g_build_filename(simdir, SIM_ENV_FILE, NULL);
        g_file_set_contents(path, app.env_text, -1, NULL);
        g_free(path);
        path = g_build_filename(simdir, SIM_PID_FILE, NULL);
        {
                g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());
                g_file_set_contents(path, pid, -1, NULL);
        }
        if (env_file && !g_file_set_contents(env_file, app.env_text, -1, &error))
                goto fail;

        app.loop = g_main_loop_new(NULL, FALSE);
        app.kernel_watch = g_unix_fd_add(app.kernel_fd, G_IO_IN, on_kernel_accept, &app);
        app.ctl_watch = g_unix_fd_add(app.ctl_fd, G_IO_IN, on_ctl_accept, &app);
        g_unix_signal_add(SIGTERM, on_signal, &app);
        g_unix_signal_add(SIGINT, on_signal, &app);
        g_unix_signal_add(SIGHUP, on_signal, &app);
        the_app = &app;

        /* ready */
        if (daemonize) {
                (void)!write(ready_pipe[1], app.env_text, strlen(app.env_text));
                close(ready_pipe[1]);
                if (!freopen("/dev/null", "w", stdout))
                        goto fail;
        } else {
                fputs(app.env_text, stdout);
                fflush(stdout);
        }
        g_main_loop_run(app.loop);
        r = 0;
        goto cleanup;

fail:
        if (daemonize && ready_pipe[1] >= 0) {
                g_autofree char *msg = g_strdup_printf("mdp-kernel-sim: %s\n", error ? error->message : "failed");
                (void)!write(ready_pipe[1], msg, strlen(msg));
        } else {
                fprintf(stderr, "mdp-kernel-sim: %s\n", error ? error->message : "failed");
        }
        r = 1;
cleanup:
        if (app.kernel_fd >= 0) {
                g_autofree char *p = g_build_filename(simdir, SIM_KERNEL_SOCKET, NULL);
                unlink(p);
                close(app.kernel_fd);
        }
        if (app.ctl_fd >= 0) {
                g_autofree char *p = g_build_filename(simdir, SIM_CTL_SOCKET, NULL);
                unlink(p);
                close(app.ctl_fd);
        }
        sim_listeners_free(s);
        g_hash_table_destroy(s->mdev_by_path);
        g_hash_table_destroy(s->mdevs);
        g_hash_table_destroy(s->parent_by_path);
        g_hash_table_destroy(s->parents);
        g_hash_table_destroy(s->pinned);
        g_ptr_array_unref(s->faults);
        g_string_free(s->event_log, TRUE);
        g_string_free(s->write_log, TRUE);
        g_free(s->capture_dir);
        g_free(app.env_text);
        if (app.loop)
                g_main_loop_unref(app.loop);
        if (!keep)
                g_object_unref(app.testbed); /* removes the testbed directory */
        else
                fprintf(stderr, "mdp-kernel-sim: testbed kept in %s\n", s->root);
        g_free(s->root);
        g_free(s->sys);
        return r;
}

int main(int argc, char **argv)
{
        const char *preload = getenv("LD_PRELOAD");

        /* The sim writes its own sysfs files: never with the shim (or umockdev) loaded. */
        if (preload && *preload && !getenv("MDP_SIM_REEXEC")) {
                char self[4096];
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

                setenv("MDP_SIM_REEXEC", "1", 1);
                unsetenv("LD_PRELOAD");
                /* The path, not /proc/self/exe: under valgrind that is valgrind's own tool
                 * (readlink() is answered with the program's path). */
                self[n > 0 ? n : 0] = '\0';
                execv(n > 0 ? self : "/proc/self/exe", argv);
                perror("mdp-kernel-sim: re-exec without LD_PRELOAD");
                return 1;
        }
        unsetenv("MDP_SIM_REEXEC");
        if (argc >= 2 && strcmp(argv[1], "start") == 0)
                return cmd_start(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
                return cmd_ctl(argc, argv);
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                usage(stdout);
                return 0;
        }
        usage(stderr);
        return 2;
}
