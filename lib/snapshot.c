/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot.h"
#include "util/macro.h"

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

unsigned mdp_snapshot_section_from_string(const char *s)
{
        static const struct {
                const char *name;
                unsigned section;
        } sections[] = {
                {"parents", MDP_SNAPSHOT_PARENTS},
                {"types", MDP_SNAPSHOT_TYPES},
                {"devices", MDP_SNAPSHOT_DEVICES},
                {"definitions", MDP_SNAPSHOT_DEFINITIONS},
        };

        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                if (streq(s, sections[i].name))
                        return sections[i].section;
        return 0;
}

void mdp_snapshot_begin(struct strbuf *sb)
{
        strbuf_append(sb, MDP_SNAPSHOT_MAGIC);
}

/* Decimal digits of v, NUL-terminated, ending at end[-1]; returns the first. snprintf()
 * was most of the cost of writing a snapshot. */
static char *format_u64(char *end, uint64_t v)
{
        char *p = end - 1;

        *p = '\0';
        do
                *--p = (char)('0' + v % 10);
        while ((v /= 10) > 0);
        return p;
}

void mdp_snapshot_record(struct strbuf *sb, char tag, unsigned n_fields)
{
        char num[24], *p = format_u64(num + sizeof(num), n_fields);

        *--p = '\0';
        *--p = tag;
        strbuf_appendn(sb, p, (size_t)(num + sizeof(num) - p));
}

void mdp_snapshot_field(struct strbuf *sb, const char *s)
{
        if (!s)
                s = "";
        strbuf_appendn(sb, s, strlen(s) + 1);
}

void mdp_snapshot_field_int(struct strbuf *sb, int64_t v)
{
        char num[24], *p = format_u64(num + sizeof(num), v < 0 ? -(uint64_t)v : (uint64_t)v);

        if (v < 0)
                *--p = '-';
        strbuf_appendn(sb, p, (size_t)(num + sizeof(num) - p));
}

int mdp_snapshot_to_memfd(const struct strbuf *sb)
{
        _cleanup_close_ int fd = -EBADF;
        size_t done = 0;

        if (sb->oom)
                return -ENOMEM;
        fd = memfd_create("mdevpasid-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        while (done < sb->len) {
                ssize_t k = write(fd, sb->buf + done, sb->len - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t)k;
        }
        if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int mdp_snapshot_reader_init(struct mdp_snapshot_reader *rd, const void *data, size_t size)
{
        size_t magic = strlen(MDP_SNAPSHOT_MAGIC);

        if (size < magic || memcmp(data, MDP_SNAPSHOT_MAGIC, magic) != 0)
                return -EBADMSG;
        rd->p = (const char *)data + magic;
        rd->end = (const char *)data + size;
        return 0;
}

/* The NUL-terminated string at rd->p, advancing past it; NULL when none is left. */
static const char *take(struct mdp_snapshot_reader *rd)
{
        const char *s = rd->p, *nul;

        if (s >= rd->end)
                return NULL;
        nul = memchr(s, '\0', (size_t)(rd->end - s));
        if (!nul)
                return NULL;
        rd->p = nul + 1;
        return s;
}

int mdp_snapshot_int(const char *field, int64_t *ret)
{
        const char *p = field + (*field == '-');
        uint64_t v = 0;

        /* By hand: strtoll() was a tenth of reading a snapshot. At most 19 digits, so no
         * overflow; "-0" and leading zeros are taken, as strtoll() would. */
        if (!*p || strlen(p) > 19)
                return -EBADMSG;
        for (; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EBADMSG;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (v > (uint64_t)INT64_MAX + (*field == '-'))
                return -EBADMSG;
        *ret = *field == '-' ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
}

int mdp_snapshot_next(struct mdp_snapshot_reader *rd, struct mdp_snapshot_record *rec)
{
        const char *tag, *count;
        int64_t n;

        if (rd->p == rd->end)
                return 0;
        tag = take(rd);
        count = take(rd);
        if (!tag || !count || strlen(tag) != 1 || mdp_snapshot_int(count, &n) < 0 || n < 0 ||
            n > rd->end - rd->p)
                return -EBADMSG;
        rec->tag = tag[0];
        for (int64_t i = 0; i < n; i++) {
                const char *f = take(rd);
                if (!f)
                        return -EBADMSG;
                if (i < (int64_t)ELEMENTSOF(rec->field))
                        rec->field[i] = f;
        }
        for (size_t i = (size_t)n; i < ELEMENTSOF(rec->field); i++)
                rec->field[i] = "";
        return 1;
}

int mdp_snapshot_map(int fd, const void **ret_map, size_t *ret_size)
{
        struct stat st;
        int seals;
        void *map;

        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0)
                return -errno;
        if ((seals & (F_SEAL_SHRINK | F_SEAL_WRITE)) != (F_SEAL_SHRINK | F_SEAL_WRITE))
                return -EPERM;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uintmax_t)st.st_size > SIZE_MAX)
                return -EBADMSG;
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
                return -errno;
        *ret_map = map;
        *ret_size = (size_t)st.st_size;
        return 0;
}
