/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one caller of libvirt: a read-only lookup of a domain's XML (never from the hook).
 *
 * libvirt is loaded with dlopen() on first use, not linked: linking it made every CLI
 * invocation load ~60 libraries (about 25 ms and 11 MiB of RSS on a 2-core machine,
 * bench/README.md), for a lookup only "plan --domain" makes. The headers give the types. */
#include <dlfcn.h>
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain-libvirt.h"

#define LIBVIRT_SONAME "libvirt.so.0"

static struct {
        void *handle;
        void (*set_error_func)(void *userdata, virErrorFunc handler);
        const char *(*get_last_error_message)(void);
        virConnectPtr (*connect_open_read_only)(const char *name);
        int (*connect_close)(virConnectPtr conn);
        virDomainPtr (*domain_lookup_by_name)(virConnectPtr conn, const char *name);
        char *(*domain_get_xml_desc)(virDomainPtr domain, unsigned int flags);
        int (*domain_free)(virDomainPtr domain);
} virt;

/* 0, or -EOPNOTSUPP with the reason in *ret_error. Not thread-safe (the CLI and tests call
 * it from one thread); the library stays loaded until exit. */
static int load_libvirt(char **ret_error)
{
        void *h;

        if (virt.handle)
                return 0;
        h = dlopen(LIBVIRT_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                const char *e = dlerror();
                if (ret_error && asprintf(ret_error,
                                          "cannot load libvirt (%s): %s: install the libvirt client library "
                                          "(Debian: libvirt0) or pass the domain XML as a file",
                                          LIBVIRT_SONAME, e ? e : "not found") < 0)
                        *ret_error = NULL;
                return -EOPNOTSUPP;
        }
#define SYM(field, name)                                                                                    \
        if (!(*(void **)&virt.field = dlsym(h, name))) {                                                    \
                if (ret_error &&                                                                            \
                    asprintf(ret_error, "cannot load libvirt: %s has no %s", LIBVIRT_SONAME, name) < 0)     \
                        *ret_error = NULL;                                                                  \
                dlclose(h);                                                                                 \
                virt = (typeof(virt)){0};                                                                   \
                return -EOPNOTSUPP;                                                                         \
        }
        SYM(set_error_func, "virSetErrorFunc");
        SYM(get_last_error_message, "virGetLastErrorMessage");
        SYM(connect_open_read_only, "virConnectOpenReadOnly");
        SYM(connect_close, "virConnectClose");
        SYM(domain_lookup_by_name, "virDomainLookupByName");
        SYM(domain_get_xml_desc, "virDomainGetXMLDesc");
        SYM(domain_free, "virDomainFree");
#undef SYM
        virt.handle = h;
        return 0;
}

static void quiet_error(void *userdata, virErrorPtr error)
{
        /* The caller reports virt.get_last_error_message() in its own words. */
}

static const char *libvirt_message(void)
{
        const char *m = virt.get_last_error_message();
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

_public_ int mdp_domain_read_libvirt(const char *uri, const char *name, struct mdp_domain **ret,
                                     char **ret_error)
{
        return mdp_domain_read_libvirt_xml(uri, name, ret, NULL, ret_error);
}

_public_ int mdp_domain_read_libvirt_xml(const char *uri, const char *name, struct mdp_domain **ret,
                                         char **ret_xml, char **ret_error)
{
        const char *shown = uri ? uri : "the default URI";
        virConnectPtr conn = NULL;
        virDomainPtr dom = NULL;
        char *xml = NULL;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (ret_xml)
                *ret_xml = NULL;
        if (isempty(name)) {
                if (ret_error)
                        *ret_error = strdup("no domain name given");
                return -EINVAL;
        }
        r = load_libvirt(ret_error);
        if (r < 0)
                return r;
        virt.set_error_func(NULL, quiet_error);
        conn = virt.connect_open_read_only(uri);
        if (!conn) {
                set_error(ret_error,
                          format("cannot connect to libvirt at %s (read-only): %s: check that libvirtd "
                                 "(or virtqemud) runs, or pass the right URI with -c",
                                 shown, libvirt_message()));
                return -ECONNREFUSED;
        }
        dom = virt.domain_lookup_by_name(conn, name);
        if (!dom) {
                set_error(ret_error,
                          format("no domain named '%s' at %s: %s", name, shown, libvirt_message()));
                r = -ENOENT;
                goto finish;
        }
        xml = virt.domain_get_xml_desc(dom, 0);
        if (!xml) {
                set_error(ret_error, format("cannot read the XML of domain '%s' at %s: %s", name, shown,
                                            libvirt_message()));
                r = -EIO;
                goto finish;
        }
        r = mdp_domain_parse(xml, strlen(xml), ret, ret_error);
        if (r >= 0 && ret_xml)
                *ret_xml = TAKE_PTR(xml);
finish:
        free(xml);
        if (dom)
                virt.domain_free(dom);
        virt.connect_close(conn);
        return r;
}
