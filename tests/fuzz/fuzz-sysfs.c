/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sysfs attribute readers and name checks (lib/host-util.c, lib/util/parse.c), fed what
 * a misbehaving kernel or a hostile fixture could put in an attribute, a name or a link.
 * Byte 0 picks the check; the rest is the attribute (written to a file and read back the
 * way the host model reads sysfs) or text split at '\n'. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "host-internal.h"
#include "host.h"
#include "mdev-backend.h"
#include "util/parse.h"
#include "util/strbuf.h"

static int dir_fd = -1;

static int setup(void)
{
        if (dir_fd < 0) {
                char dir[256];

                snprintf(dir, sizeof(dir), "%s/attr", fuzz_tmpdir());
                fuzz_write_file(dir, ".keep", "", 0);
                dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir_fd < 0)
                        abort();
        }
        return dir_fd;
}

static void read_attribute(const uint8_t *data, size_t size)
{
        struct record_errors e = {0};
        char buf[ATTR_SHORT_MAX + 1], page[ATTR_PAGE_MAX + 1];
        _cleanup_free_ char *errors = NULL;
        unsigned u;
        uint64_t x;
        int dfd = setup(), r;

        fuzz_write_file(fuzz_tmpdir(), "attr/value", data, size);
        r = attr_read(&e, dfd, "devices/fuzz", "value", true, buf, sizeof(buf));
        FUZZ_ASSERT(r < 0 ? buf[0] == '\0' : (size_t)r == strlen(buf));
        r = attr_read(&e, dfd, "devices/fuzz", "value", false, page, sizeof(page));
        FUZZ_ASSERT(r < 0 || (size_t)r == strlen(page));
        (void)attr_read_unsigned(&e, dfd, "devices/fuzz", "value", &u);
        (void)attr_read_hex(&e, dfd, "devices/fuzz", "value", &x);
        (void)attr_read(&e, dfd, "devices/fuzz", "absent", false, buf, sizeof(buf));
        (void)record_errors_finish(&e, &errors);
        record_errors_done(&e);
}

static void check_strings(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = NULL;
        char *lines[2] = {NULL, NULL}, joined[SYSFS_PATH_MAX];
        struct strbuf q = {0};
        uint64_t v64;
        unsigned u;
        int g, r;
        size_t n = fuzz_split(data, size, '\n', lines, 2, &s);

        /* Numbers: a value that parses prints back to a string that parses to it. */
        if (safe_atou64(lines[0], &v64) == 0) {
                char b[32];
                uint64_t w;

                snprintf(b, sizeof(b), "%llu", (unsigned long long)v64);
                FUZZ_ASSERT(safe_atou64(b, &w) == 0 && w == v64);
        }
        if (safe_atou(lines[0], &u) == 0)
                FUZZ_ASSERT(safe_atou64(lines[0], &v64) == 0 && v64 == u);
        if (safe_atox64(lines[0], &v64) == 0) {
                char b[32];
                uint64_t w;

                snprintf(b, sizeof(b), "%llx", (unsigned long long)v64);
                FUZZ_ASSERT(safe_atox64(b, &w) == 0 && w == v64);
        }
        if (parse_group_number(lines[0], &g) == 0)
                FUZZ_ASSERT(g >= 0);
        (void)pci_address_is_valid(lines[0]);
        if (mdp_mdev_attr_name_is_valid(lines[0]))
                FUZZ_ASSERT(mdp_sysfs_name_is_valid(lines[0]));
        if (mdp_sysfs_name_is_valid(lines[0]))
                FUZZ_ASSERT(!strchr(lines[0], '/') && strcmp(lines[0], "..") != 0);
        append_quoted(&q, lines[0], 32);
        strbuf_done(&q);

        if (n == 2) {
                r = sysfs_join_lexical(lines[0], lines[1], joined, sizeof(joined));
                /* A joined path never climbs out of the sysfs root. */
                if (r == 0)
                        FUZZ_ASSERT(joined[0] != '/' && strncmp(joined, "../", 3) != 0 &&
                                    strcmp(joined, "..") != 0 && !strstr(joined, "/../") &&
                                    !strstr(joined, "//"));
                /* name_compare is an order: antisymmetric, and equal only for equal names. */
                r = name_compare(lines[0], lines[1]);
                FUZZ_ASSERT((r > 0) == (name_compare(lines[1], lines[0]) < 0));
                if (r == 0)
                        FUZZ_ASSERT(strcmp(lines[0], lines[1]) == 0);
        }
}

static void read_link(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *target = fuzz_strndup(data, size);
        char path[512], buf[256];
        int dfd = setup(), r;

        snprintf(path, sizeof(path), "%s/attr/link", fuzz_tmpdir());
        (void)unlink(path);
        if (symlink(target, path) < 0)
                return; /* empty or too long for the file system */
        r = link_read(dfd, "link", buf, sizeof(buf));
        FUZZ_ASSERT(r != 1 || strlen(buf) < sizeof(buf));
        r = link_basename(dfd, "link", buf, sizeof(buf));
        if (r == 1)
                FUZZ_ASSERT(buf[0] && !strchr(buf, '/') && strcmp(buf, ".") != 0 && strcmp(buf, "..") != 0);
}

FUZZ_TARGET(sysfs)
{
        if (size < 1)
                return 0;
        switch (data[0] % 3) {
        case 0:
                read_attribute(data + 1, size - 1);
                break;
        case 1:
                check_strings(data + 1, size - 1);
                break;
        default:
                read_link(data + 1, size - 1);
        }
        return 0;
}
