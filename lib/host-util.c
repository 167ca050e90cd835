/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers of the host model: string packing, error sentences, attribute and link
 * reading relative to directory fds, lexical link joining. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host-internal.h"
#include "mdp-names.h"
#include "util/fileio.h"
#include "util/hashmap.h"
#include "util/parse.h"

void strpack_add(struct strpack *p, char **dst, const char *src)
{
        assert(p->n < STRPACK_MAX);
        p->dst[p->n] = dst;
        p->src[p->n] = src;
        p->n++;
        if (src)
                p->len += strlen(src) + 1;
}

int strpack_commit(struct strpack *p, char **ret_pool)
{
        char *pool = NULL, *w;

        if (p->len > 0) {
                pool = malloc(p->len);
                if (!pool)
                        return -ENOMEM;
        }
        w = pool;
        for (size_t i = 0; i < p->n; i++) {
                if (!p->src[i]) {
                        *p->dst[i] = NULL;
                        continue;
                }
                size_t l = strlen(p->src[i]) + 1;
                memcpy(w, p->src[i], l);
                *p->dst[i] = w;
                w += l;
        }
        *ret_pool = pool;
        return 0;
}

void namelist_add(struct namelist *l, const char *name)
{
        strbuf_appendn(&l->sb, name, strlen(name) + 1);
        l->n++;
}

/* Natural order: runs of digits compare by value, so "virtfn2" < "virtfn10" and group
 * "9" < "10"; otherwise bytewise. Names equal by value ("01", "1") fall back to strcmp(),
 * so the order is total and a sorted listing the same on every run (found by fuzzing). */
int name_compare(const char *a, const char *b)
{
        const char *a0 = a, *b0 = b;

        while (*a && *b) {
                if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
                        const char *ea = a, *eb = b;
                        while (*a == '0' && isdigit((unsigned char)a[1]))
                                a++;
                        while (*b == '0' && isdigit((unsigned char)b[1]))
                                b++;
                        for (ea = a; isdigit((unsigned char)*ea); ea++)
                                ;
                        for (eb = b; isdigit((unsigned char)*eb); eb++)
                                ;
                        if (ea - a != eb - b)
                                return ea - a < eb - b ? -1 : 1;
                        int c = strncmp(a, b, (size_t)(ea - a));
                        if (c)
                                return c;
                        a = ea;
                        b = eb;
                        continue;
                }
                if (*a != *b)
                        return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
                a++;
                b++;
        }
        return *a ? 1 : *b ? -1 : strcmp(a0, b0);
}

int names_compare_natural(const void *x, const void *y)
{
        return name_compare(*(char *const *)x, *(char *const *)y);
}

int names_compare_plain(const void *x, const void *y)
{
        return strcmp(*(char *const *)x, *(char *const *)y);
}

int namelist_finish(struct namelist *l, int (*cmp)(const void *, const void *), char ***ret, size_t *ret_n)
{
        size_t ptrs = (l->n + 1) * sizeof(char *);
        char **v;
        char *w;

        if (l->sb.oom)
                return -ENOMEM;
        v = malloc(ptrs + l->sb.len + 1);
        if (!v)
                return -ENOMEM;
        w = (char *)v + ptrs;
        if (l->sb.len)
                memcpy(w, l->sb.buf, l->sb.len);
        for (size_t i = 0; i < l->n; i++) {
                v[i] = w;
                w += strlen(w) + 1;
        }
        v[l->n] = NULL;
        if (cmp && l->n > 1)
                qsort(v, l->n, sizeof(char *), cmp);
        *ret = v;
        if (ret_n)
                *ret_n = l->n;
        namelist_done(l);
        return 0;
}

void namelist_done(struct namelist *l)
{
        strbuf_done(&l->sb);
        l->n = 0;
}

void append_quoted(struct strbuf *sb, const char *s, size_t max)
{
        size_t i;

        strbuf_append(sb, "\"");
        for (i = 0; s[i] && i < max; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[8];

                if (c == '\n')
                        strbuf_append(sb, "\\n");
                else if (c == '"' || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)c;
                        strbuf_appendn(sb, esc, 2);
                } else if (c < 0x20 || c == 0x7f) {
                        snprintf(esc, sizeof(esc), "\\x%02x", c);
                        strbuf_append(sb, esc);
                } else
                        strbuf_appendn(sb, (const char *)&s[i], 1);
        }
        strbuf_append(sb, s[i] ? "\"..." : "\"");
}

static _printf_(4, 0) void record_errorv(struct record_errors *e, const char *dir, const char *name, const char *fmt,
                          va_list ap)
{
        if (e->sb.len > 0)
                strbuf_append(&e->sb, "; ");
        strbuf_printf(&e->sb, "%s%s/%s%s%s: ", e->ctx ? mdp_ctx_get_root(e->ctx) : "", MDP_HOST_SYSFS, dir,
                      name ? "/" : "", name ?: "");
        strbuf_vprintf(&e->sb, fmt, ap);
}

void record_error(struct record_errors *e, const char *relpath, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        record_errorv(e, relpath, NULL, fmt, ap);
        va_end(ap);
}

void record_error_at(struct record_errors *e, const char *dir, const char *name, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        record_errorv(e, dir, name, fmt, ap);
        va_end(ap);
}

int record_errors_finish(struct record_errors *e, char **ret)
{
        if (e->sb.oom) {
                strbuf_done(&e->sb);
                return -ENOMEM;
        }
        *ret = e->sb.len ? strbuf_steal(&e->sb) : NULL;
        strbuf_done(&e->sb);
        return 0;
}

void record_errors_done(struct record_errors *e)
{
        strbuf_done(&e->sb);
}

ssize_t sysfs_read_attr(int dfd, const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (size < 2)
                return -EINVAL;
        fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* One read: sysfs hands over the whole attribute at once and a regular file reads
         * short only at its end, so a short read is the end (saves the read that returns
         * 0). Filling the buffer means the file does not fit. */
        do
                n = read(fd, buf, size);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t)n >= size)
                return -E2BIG;
        while (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = '\0';
        if (memchr(buf, '\0', (size_t)n))
                return -EBADMSG;
        return n;
}

int dir_foreach(int dfd, const char *path, int (*cb)(const char *name, void *userdata), void *userdata)
{
        _cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* aligned for struct dirent64 */
        union {
                struct dirent64 de;
                char raw[8192];
        } buf;

        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n = getdents64(fd, buf.raw, sizeof(buf.raw));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *de = (struct dirent64 *)(buf.raw + off);
                        int r;

                        off += de->d_reclen;
                        if (dot_or_dotdot(de->d_name))
                                continue;
                        r = cb(de->d_name, userdata);
                        if (r != 0)
                                return r;
                }
        }
}

int attr_read(struct record_errors *e, int dfd, const char *dir, const char *name, bool required, char *buf,
              size_t size)
{
        ssize_t n = sysfs_read_attr(dfd, name, buf, size);

        /* Text from sysfs ends up on D-Bus and in JSON: bytes that are not UTF-8 make the
         * attribute unreadable, as a NUL byte does, rather than every reply holding it. */
        if (n >= 0 && !utf8_is_valid(buf))
                n = -EILSEQ;
        if (n >= 0)
                return (int)n;
        buf[0] = '\0';
        if (n == -ENOENT && !required)
                return -ENOENT;
        switch (n) {
        case -ENOENT:
                record_error_at(e, dir, name, "missing");
                break;
        case -E2BIG:
                record_error_at(e, dir, name, "longer than %zu bytes", size - 1);
                break;
        case -EBADMSG:
                record_error_at(e, dir, name, "contains a NUL byte");
                break;
        case -EILSEQ:
                record_error_at(e, dir, name, "is not valid UTF-8 text");
                break;
        case -EISDIR:
                record_error_at(e, dir, name, "a directory where an attribute file belongs");
                break;
        default:
                record_error_at(e, dir, name, "cannot read: %s", strerror((int)-n));
        }
        return (int)n;
}

int attr_read_unsigned(struct record_errors *e, int dfd, const char *dir, const char *name, unsigned *ret)
{
        char buf[64];
        int r;

        r = attr_read(e, dfd, dir, name, true, buf, sizeof(buf));
        if (r < 0)
                return r;
        r = safe_atou(buf, ret);
        if (r < 0) {
                struct strbuf q = {0};

                append_quoted(&q, buf, 32);
                record_error_at(e, dir, name, "%s: %s",
                                r == -ERANGE ? "number out of range" : "not a number", q.buf ?: "\"\"");
                strbuf_done(&q);
                return r;
        }
        return 0;
}

int attr_read_hex(struct record_errors *e, int dfd, const char *dir, const char *name, uint64_t *ret)
{
        char buf[64];
        int r;

        r = attr_read(e, dfd, dir, name, true, buf, sizeof(buf));
        if (r < 0)
                return r;
        r = safe_atox64(buf, ret);
        if (r < 0) {
                struct strbuf q = {0};

                append_quoted(&q, buf, 32);
                record_error_at(e, dir, name, "%s: %s",
                                r == -ERANGE ? "hex number out of range" : "not a hex number",
                                q.buf ?: "\"\"");
                strbuf_done(&q);
                return r;
        }
        return 0;
}

int link_read(int dfd, const char *name, char *buf, size_t size)
{
        ssize_t n = readlinkat(dfd, name, buf, size);

        if (n < 0) {
                buf[0] = '\0';
                return errno == ENOENT ? 0 : -errno;
        }
        if ((size_t)n >= size) {
                buf[0] = '\0';
                return -ENAMETOOLONG;
        }
        buf[n] = '\0';
        return 1;
}

int link_basename(int dfd, const char *name, char *buf, size_t size)
{
        char target[SYSFS_PATH_MAX];
        const char *base;
        size_t l;
        int r;

        r = link_read(dfd, name, target, sizeof(target));
        if (r <= 0) {
                buf[0] = '\0';
                return r;
        }
        l = strlen(target);
        while (l > 1 && target[l - 1] == '/')
                target[--l] = '\0';
        base = path_basename(target);
        if (isempty(base) || dot_or_dotdot(base) || strlen(base) >= size) {
                buf[0] = '\0';
                return -EINVAL;
        }
        strcpy(buf, base);
        return 1;
}

int parse_group_number(const char *s, int *ret)
{
        unsigned u;

        if (isempty(s) || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        if (safe_atou(s, &u) < 0 || u > INT_MAX)
                return -ERANGE;
        *ret = (int)u;
        return 0;
}

int sysfs_join_lexical(const char *dir, const char *target, char *buf, size_t size)
{
        char tmp[SYSFS_PATH_MAX * 2];
        char *comp[SYSFS_PATH_MAX / 2];
        size_t n = 0, len = 0;
        char *save = NULL, *tok;
        int w;

        if (isempty(target) || target[0] == '/')
                return -EINVAL;
        w = snprintf(tmp, sizeof(tmp), "%s/%s", dir, target);
        if (w < 0 || (size_t)w >= sizeof(tmp))
                return -ENAMETOOLONG;
        for (tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                if (streq(tok, "."))
                        continue;
                if (streq(tok, "..")) {
                        if (n == 0)
                                return -EINVAL; /* leaves the sysfs root */
                        n--;
                        continue;
                }
                if (n >= ELEMENTSOF(comp))
                        return -ENAMETOOLONG;
                comp[n++] = tok;
        }
        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(comp[i]);
                if (len + l + 2 > size)
                        return -ENAMETOOLONG;
                if (i > 0)
                        buf[len++] = '/';
                memcpy(buf + len, comp[i], l);
                len += l;
        }
        buf[len] = '\0';
        return 0;
}

int path_fmt(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= size) {
                buf[0] = '\0';
                return -ENAMETOOLONG;
        }
        return 0;
}

bool dot_or_dotdot(const char *name)
{
        return streq(name, ".") || streq(name, "..");
}

_public_ bool mdp_sysfs_name_is_valid(const char *name)
{
        if (isempty(name) || dot_or_dotdot(name) || strlen(name) > NAME_MAX)
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

bool pci_address_is_valid(const char *s)
{
        /* dddd:bb:dd.f; the domain may be longer on some platforms (VMD: 5 digits). */
        const char *p = s;
        size_t n;

        n = strspn(p, "0123456789abcdef");
        if (n < 4 || n > 8 || p[n] != ':')
                return false;
        p += n + 1;
        if (strspn(p, "0123456789abcdef") != 2 || p[2] != ':')
                return false;
        p += 3;
        if (strspn(p, "0123456789abcdef") != 2 || p[2] != '.')
                return false;
        p += 3;
        return p[0] >= '0' && p[0] <= '7' && p[1] == '\0';
}

void classify(const struct mdp_ctx *ctx, const char *parent_driver, const char *type_id,
              const char *group_name, enum mdp_mdev_class *ret_class, char *basis, size_t basis_size)
{
        enum mdp_mdev_class c = MDP_MDEV_EMULATED;
        char declared[256] = "";
        int r = 0;

        if (ctx->classify_fn && type_id) {
                r = ctx->classify_fn(ctx->classify_userdata, parent_driver, type_id, &c, declared,
                                     sizeof(declared));
                if (r <= 0)
                        c = MDP_MDEV_EMULATED;
        }
        /* IOMMU-SPEC.md §1.4: a vfio-noiommu group is the emulated-IOMMU group VFIO made for
         * the device; whatever a profile says, the kernel mediates its DMA in software. */
        if (streq_ptr(group_name, MDP_GROUP_NAME_NOIOMMU)) {
                if (r > 0 && c == MDP_MDEV_PASID_GRANULAR)
                        snprintf(basis, basis_size, "group %s (overrides %s)", MDP_GROUP_NAME_NOIOMMU,
                                 declared);
                else
                        snprintf(basis, basis_size, "group %s", MDP_GROUP_NAME_NOIOMMU);
                *ret_class = MDP_MDEV_EMULATED;
                return;
        }
        if (r > 0)
                snprintf(basis, basis_size, "%s", declared[0] ? declared : "vendor profile");
        else if (r < 0)
                snprintf(basis, basis_size, "vendor profile lookup failed: %s", strerror(-r));
        else
                snprintf(basis, basis_size, "no vendor profile declares type %s (driver %s)", strna(type_id),
                         parent_driver ?: "unknown");
        *ret_class = c;
}

struct list_state {
        struct mdp_ctx *ctx;
        const char *path;
        bool (*filter)(const char *name);
        struct namelist l;
};

static int list_one(const char *name, void *userdata)
{
        struct list_state *st = userdata;

        if (st->filter && !st->filter(name)) {
                mdp_dbg(st->ctx, "%s: skipping entry \"%s\"", st->path, name);
                return 0;
        }
        namelist_add(&st->l, name);
        return 0;
}

int list_dir_names(struct mdp_ctx *ctx, int dfd, const char *path, bool (*filter)(const char *name),
                   char ***ret, size_t *ret_n)
{
        struct list_state st = {.ctx = ctx, .path = path, .filter = filter};
        int r;

        r = dir_foreach(dfd, path, list_one, &st);
        if (r < 0) {
                namelist_done(&st.l);
                return r;
        }
        return namelist_finish(&st.l, names_compare_plain, ret, ret_n);
}
