/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "mdp-names.h"
#include "util/strbuf.h"

/* errno choices: the closest kernel meaning, so a client that only looks at the errno
 * still says something true. */
_public_ const sd_bus_error_map mdp_bus_error_map[] = {
        SD_BUS_ERROR_MAP(MDP_ERROR_NO_SUCH_PARENT, ENODEV),
        SD_BUS_ERROR_MAP(MDP_ERROR_NO_SUCH_TYPE, ENOENT),
        SD_BUS_ERROR_MAP(MDP_ERROR_NO_SUCH_DEVICE, ENOENT),
        SD_BUS_ERROR_MAP(MDP_ERROR_NO_SUCH_VM, ENOENT),
        SD_BUS_ERROR_MAP(MDP_ERROR_NO_CAPACITY, ENOSPC),
        SD_BUS_ERROR_MAP(MDP_ERROR_ALREADY_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(MDP_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(MDP_ERROR_REFUSED, EPERM),
        SD_BUS_ERROR_MAP(MDP_ERROR_INVALID_CONFIG, EBADMSG),
        SD_BUS_ERROR_MAP(MDP_ERROR_NOT_AUTHORIZED, EACCES),
        SD_BUS_ERROR_MAP(MDP_ERROR_TIMEOUT, ETIMEDOUT),
        SD_BUS_ERROR_MAP(MDP_ERROR_KERNEL, EIO),
        SD_BUS_ERROR_MAP_END,
};

_public_ int mdp_bus_errors_register(void)
{
        static int registered = 0;
        int r;

        if (registered)
                return 0;
        r = sd_bus_error_add_map(mdp_bus_error_map);
        if (r < 0)
                return r;
        registered = 1;
        return 0;
}

_public_ int mdp_bus_error_name_to_errno(const char *name)
{
        if (!name)
                return 0;
        for (const sd_bus_error_map *m = mdp_bus_error_map; m->name; m++)
                if (streq(m->name, name))
                        return m->code;
        return 0;
}

/* Quoted, bounded, control characters escaped: the value came from a caller. */
static void append_value(struct strbuf *sb, const char *s)
{
        size_t n = 0;

        if (!s) {
                strbuf_append(sb, "(none)");
                return;
        }
        strbuf_append(sb, "\"");
        for (; *s && n < 80; s++, n++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        strbuf_printf(sb, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        strbuf_printf(sb, "\\x%02x", c);
                else
                        strbuf_appendn(sb, (const char *)&c, 1);
        }
        strbuf_append(sb, *s ? "\"..." : "\"");
}

_public_ int mdp_bus_error_invalid_arg(sd_bus_error *error, const char *what, const char *value,
                                       const char *expected)
{
        _cleanup_free_ char *msg = NULL;
        struct strbuf sb = {0};

        strbuf_printf(&sb, "Invalid %s ", what);
        append_value(&sb, value);
        strbuf_printf(&sb, ": %s.", expected);
        msg = strbuf_steal(&sb);
        if (!msg)
                return -ENOMEM;
        sd_bus_error_set(error, MDP_ERROR_INVALID_ARGS, msg);
        return -EINVAL;
}

_public_ int mdp_bus_error_set_mdev(sd_bus_error *error, const struct mdp_mdev_error *e, const char *prefix)
{
        _cleanup_free_ char *sentence = NULL, *msg = NULL;
        const char *name = mdp_mdev_error_dbus_name(e);
        int code = mdp_bus_error_name_to_errno(name);

        sentence = mdp_mdev_error_message(e);
        if (!sentence)
                return -ENOMEM;
        if (prefix) {
                struct strbuf sb = {0};
                strbuf_append(&sb, prefix);
                strbuf_append(&sb, sentence);
                msg = strbuf_steal(&sb);
                if (!msg)
                        return -ENOMEM;
        }
        sd_bus_error_set(error, name, msg ? msg : sentence);
        return -(code ? code : EINVAL);
}
