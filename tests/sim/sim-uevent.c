/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uevents for the udev monitors of processes running under libumockdev-preload: the preload
 * turns a NETLINK_KOBJECT_UEVENT socket into a unix datagram socket bound at
 * <testbed>/event<fd>[-<pid>] and reports whatever arrives as coming from udev (group 2).
 * umockdev's own sender cannot carry properties (no DRIVER=, no MDEV_STATE=) and drops events
 * when a receiver's queue is full (net.unix.max_dgram_qlen, 10 here), so this one speaks the
 * libudev wire format itself (systemd's device-monitor.c: "libudev" header, 0xfeedcafe, the
 * MurmurHash2 of the subsystem for the receiver's BPF filter, NUL-separated KEY=value) and
 * queues per receiver instead of dropping: events are never lost or reordered, and the sim
 * never blocks on a receiver that is busy (it may be the very process waiting for our
 * answer to its write). */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define UDEV_MONITOR_MAGIC 0xfeedcafeu

struct udev_wire_header {
        char prefix[8]; /* "libudev" */
        uint32_t magic; /* network order */
        uint32_t header_size;
        uint32_t properties_off;
        uint32_t properties_len;
        uint32_t filter_subsystem_hash; /* network order */
        uint32_t filter_devtype_hash;
        uint32_t filter_tag_bloom_hi;
        uint32_t filter_tag_bloom_lo;
};

struct sim_listener {
        struct sim *sim;
        char *path;
        int fd;
        GQueue pending; /* GBytes * not yet accepted by the receiver */
        guint watch;
};

/* MurmurHash2 (Austin Appleby, public domain), seed 0, as libudev hashes subsystem names. */
static uint32_t murmur2(const char *key)
{
        const uint32_t m = 0x5bd1e995;
        size_t len = strlen(key);
        const unsigned char *data = (const unsigned char *)key;
        uint32_t h = (uint32_t)len;

        while (len >= 4) {
                uint32_t k;
                memcpy(&k, data, 4);
                k *= m;
                k ^= k >> 24;
                k *= m;
                h *= m;
                h ^= k;
                data += 4;
                len -= 4;
        }
        switch (len) {
        case 3:
                h ^= (uint32_t)data[2] << 16;
                /* fall through */
        case 2:
                h ^= (uint32_t)data[1] << 8;
                /* fall through */
        case 1:
                h ^= data[0];
                h *= m;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return h;
}

static void listener_free(gpointer data)
{
        struct sim_listener *l = data;
        GBytes *b;

        if (l->watch)
                g_source_remove(l->watch);
        while ((b = g_queue_pop_head(&l->pending)))
                g_bytes_unref(b);
        if (l->fd >= 0)
                close(l->fd);
        g_free(l->path);
        g_free(l);
}

void sim_listeners_free(struct sim *s)
{
        if (s->listeners)
                g_hash_table_destroy(s->listeners);
        s->listeners = NULL;
}

static int listener_connect(struct sim_listener *l)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(l->path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, l->path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (l->fd >= 0)
                close(l->fd);
        l->fd = fd;
        return 0;
}

static gboolean listener_flush(gint fd, GIOCondition cond, gpointer data);

/* Sends what is queued; 0 when done or waiting for room, -errno when the receiver is gone. */
static int listener_push(struct sim_listener *l)
{
        GBytes *b;

        while ((b = g_queue_peek_head(&l->pending))) {
                gsize len;
                const void *p = g_bytes_get_data(b, &len);
                ssize_t n = send(l->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0 && errno == EAGAIN) {
                        if (!l->watch)
                                l->watch = g_unix_fd_add(l->fd, G_IO_OUT, listener_flush, l);
                        return 0;
                }
                if (n < 0 && errno == ECONNREFUSED && listener_connect(l) == 0)
                        continue; /* the name was bound again (a new monitor): retry there */
                if (n < 0)
                        return -errno;
                g_queue_pop_head(&l->pending);
                g_bytes_unref(b);
                l->sim->events_sent++;
        }
        if (l->watch) {
                g_source_remove(l->watch);
                l->watch = 0;
        }
        return 0;
}

static gboolean listener_flush(gint fd, GIOCondition cond, gpointer data)
{
        struct sim_listener *l = data;
        int r;

        l->watch = 0; /* returning G_SOURCE_REMOVE drops the source */
        r = listener_push(l);
        if (r < 0)
                g_hash_table_remove(l->sim->listeners, l->path);
        return G_SOURCE_REMOVE;
}

/* The receivers present now: <root>/event<digits>... sockets. */
static void refresh_listeners(struct sim *s)
{
        GDir *d = g_dir_open(s->root, 0, NULL);
        const char *e;
        GHashTableIter it;
        gpointer k, v;
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        if (!s->listeners)
                s->listeners = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, listener_free);
        if (!d)
                return;
        while ((e = g_dir_read_name(d))) {
                g_autofree char *path = NULL;
                struct sim_listener *l;
                int r;

                if (strncmp(e, "event", 5) != 0 || !g_ascii_isdigit(e[5]))
                        continue;
                path = g_build_filename(s->root, e, NULL);
                g_hash_table_add(seen, g_strdup(path));
                if (g_hash_table_contains(s->listeners, path))
                        continue;
                l = g_new0(struct sim_listener, 1);
                l->sim = s;
                l->fd = -1;
                l->path = g_steal_pointer(&path);
                g_queue_init(&l->pending);
                r = listener_connect(l);
                if (r == -ECONNREFUSED) {
                        unlink(l->path); /* its monitor was closed: clean up as umockdev does */
                        listener_free(l);
                        continue;
                }
                if (r < 0) {
                        listener_free(l);
                        continue;
                }
                g_hash_table_insert(s->listeners, l->path, l);
        }
        g_dir_close(d);
        g_hash_table_iter_init(&it, s->listeners);
        while (g_hash_table_iter_next(&it, &k, &v))
                if (!g_hash_table_contains(seen, k))
                        g_hash_table_iter_remove(&it);
}

void sim_uevent_props(struct sim *s, const char *action, const char *devpath, const char *subsystem,
                      char **props)
{
        GByteArray *buf = g_byte_array_new();
        struct udev_wire_header h = {.prefix = "libudev"};
        GString *logline = g_string_new(NULL);
        struct timespec ts;
        char tmp[64];
        GHashTableIter it;
        gpointer v;
        g_autoptr(GBytes) msg = NULL;

#define ADD(str) g_byte_array_append(buf, (const guint8 *)(str), strlen(str) + 1)
        {
                g_autofree char *a = g_strdup_printf("ACTION=%s", action);
                g_autofree char *p = g_strdup_printf("DEVPATH=/%s", devpath[0] == '/' ? devpath + 1 : devpath);
                g_autofree char *sub = g_strdup_printf("SUBSYSTEM=%s", subsystem);
                ADD(a);
                ADD(p);
                ADD(sub);
        }
        for (guint i = 0; props && props[i]; i++)
                ADD(props[i]);
        snprintf(tmp, sizeof(tmp), "SEQNUM=%" G_GUINT64_FORMAT, ++s->seqnum);
        ADD(tmp);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(tmp, sizeof(tmp), "USEC_INITIALIZED=%lld", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
        ADD(tmp);
#undef ADD
        h.magic = htonl(UDEV_MONITOR_MAGIC);
        h.header_size = sizeof(h);
        h.properties_off = sizeof(h);
        h.properties_len = buf->len;
        h.filter_subsystem_hash = htonl(murmur2(subsystem));
        g_byte_array_prepend(buf, (const guint8 *)&h, sizeof(h));
        msg = g_byte_array_free_to_bytes(buf);

        g_string_append_printf(logline, "%s /%s %s", action, devpath[0] == '/' ? devpath + 1 : devpath, subsystem);
        for (guint i = 0; props && props[i]; i++)
                g_string_append_printf(logline, " %s", props[i]);
        g_string_append_printf(s->event_log, "%" G_GUINT64_FORMAT " %s\n", s->seqnum, logline->str);
        if (s->verbose)
                g_message("uevent %s", logline->str);
        g_string_free(logline, TRUE);

        refresh_listeners(s);
        g_hash_table_iter_init(&it, s->listeners);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                struct sim_listener *l = v;
                g_queue_push_tail(&l->pending, g_bytes_ref(msg));
                if (g_queue_get_length(&l->pending) > 1)
                        s->events_queued++;
                if (!l->watch && listener_push(l) < 0)
                        g_hash_table_iter_remove(&it);
        }
}

void sim_uevent(struct sim *s, const char *action, const char *devpath, const char *subsystem, ...)
{
        g_autoptr(GPtrArray) props = g_ptr_array_new();
        va_list ap;
        const char *p;

        va_start(ap, subsystem);
        while ((p = va_arg(ap, const char *)))
                g_ptr_array_add(props, (gpointer)p);
        va_end(ap);
        g_ptr_array_add(props, NULL);
        sim_uevent_props(s, action, devpath, subsystem, (char **)props->pdata);
}
