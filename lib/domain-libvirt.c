/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one caller of libvirt: a read-only lookup of a domain's XML (never from the hook). */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain-libvirt.h"

static void quiet_error(void *userdata, virErrorPtr error)
{
        /* The caller reports virGetLastErrorMessage() in its own words. */
}

static const char *libvirt_message(void)
{
        const char *m = virGetLastErrorMessage();
        return m ? m : "unknown libvirt error";
}

static void set_error(char **ret_error, char *take)
{
        if (ret_error)
                *ret_error = take;
        else
                free(take);
}

static char *format(const char *fmt, ...) _printf_(1, 2);
static char *format(const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

_public_ int mdp_domain_read_libvirt(const char *uri, const char *name, struct mdp_domain **ret, char **ret_error)
{
        const char *shown = uri ? uri : "the default URI";
        virConnectPtr conn = NULL;
        virDomainPtr dom = NULL;
        char *xml = NULL;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (isempty(name)) {
                if (ret_error)
                        *ret_error = strdup("no domain name given");
                return -EINVAL;
        }
        virSetErrorFunc(NULL, quiet_error);
        conn = virConnectOpenReadOnly(uri);
        if (!conn) {
                set_error(ret_error, format("cannot connect to libvirt at %s (read-only): %s: check that libvirtd "
                                            "(or virtqemud) runs, or pass the right URI with -c",
                                            shown, libvirt_message()));
                return -ECONNREFUSED;
        }
        dom = virDomainLookupByName(conn, name);
        if (!dom) {
                set_error(ret_error, format("no domain named '%s' at %s: %s", name, shown, libvirt_message()));
                r = -ENOENT;
                goto finish;
        }
        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml) {
                set_error(ret_error,
                          format("cannot read the XML of domain '%s' at %s: %s", name, shown, libvirt_message()));
                r = -EIO;
                goto finish;
        }
        r = mdp_domain_parse(xml, strlen(xml), ret, ret_error);
finish:
        free(xml);
        if (dom)
                virDomainFree(dom);
        virConnectClose(conn);
        return r;
}
