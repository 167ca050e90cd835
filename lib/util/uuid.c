/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util/macro.h"
#include "util/uuid.h"

static bool is_hyphen_position(size_t i)
{
        return i == 8 || i == 13 || i == 18 || i == 23;
}

static bool uuid_shape(const char *s, bool lowercase_only)
{
        if (!s || strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                char c = s[i];

                if (is_hyphen_position(i)) {
                        if (c != '-')
                                return false;
                } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                             (!lowercase_only && c >= 'A' && c <= 'F')))
                        return false;
        }
        return true;
}

_public_ bool mdp_uuid_is_canonical(const char *s)
{
        return uuid_shape(s, true);
}

_public_ int mdp_uuid_normalize(const char *s, char ret[MDP_UUID_STRING_MAX])
{
        if (!uuid_shape(s, false))
                return -EINVAL;
        for (size_t i = 0; i < 36; i++)
                ret[i] = (char)tolower((unsigned char)s[i]);
        ret[36] = '\0';
        return 0;
}

_public_ int mdp_uuid_generate(char ret[MDP_UUID_STRING_MAX])
{
        uint8_t b[16];
        size_t done = 0;

        while (done < sizeof(b)) {
                ssize_t n = getrandom(b + done, sizeof(b) - done, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t)n;
        }
        b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
        b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        snprintf(ret, MDP_UUID_STRING_MAX,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        return 0;
}
