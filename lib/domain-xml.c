/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain-XML reader: a hardened libxml2 parse, then a walk over the few elements that
 * matter to mdevpasid (IOMMU-SPEC.md §5, ECOSYSTEM.md §2). Never calls libvirt. */
#include <dlfcn.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "domain-xml.h"
#include "util/strbuf.h"

/* libxml2 is loaded with dlopen() on first parse, not linked: it brings ICU and libstdc++,
 * about 3 ms of start-up for every mdevpasidctl run (bench/README.md), and only
 * `plan --domain`, the libvirt hook and the daemon's DomainXml read domain XML (as
 * lib/domain-libvirt.c does for libvirt). The headers give the types; the names below are
 * redirected to the loaded library's. */
#define LIBXML_SONAME "libxml2.so.2"

#define LIBXML_FUNCTIONS(X)                                                                                 \
        X(xmlCtxtGetLastError)                                                                              \
        X(xmlCtxtReadMemory)                                                                                \
        X(xmlDocGetRootElement)                                                                             \
        X(xmlFreeDoc)                                                                                       \
        X(xmlFreeParserCtxt)                                                                                \
        X(xmlGetLineNo)                                                                                     \
        X(xmlGetNoNsProp)                                                                                   \
        X(xmlHasNsProp)                                                                                     \
        X(xmlInitParser)                                                                                    \
        X(xmlNewParserCtxt)                                                                                 \
        X(xmlNodeGetContent)                                                                                \
        X(xmlNodeListGetString)                                                                             \
        X(xmlSAX2EndElementNs)                                                                              \
        X(xmlSAX2GetLineNumber)                                                                             \
        X(xmlSAX2StartElementNs)                                                                            \
        X(xmlStopParser)                                                                                    \
        X(xmlStrdup)

static struct {
        void *handle;
#define FIELD(name) typeof(name) *name;
        LIBXML_FUNCTIONS(FIELD)
#undef FIELD
        xmlFreeFunc *free; /* the library's xmlFree variable: strings it returns go back to it */
} lx;

/* 0, or -EOPNOTSUPP with the reason in *ret_error. Not thread-safe (the CLI, the hook and
 * the daemon parse from one thread); the library stays loaded until exit. */
static int load_libxml(char **ret_error)
{
        void *h;

        if (lx.handle)
                return 0;
        h = dlopen(LIBXML_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                const char *e = dlerror();
                if (ret_error && asprintf(ret_error,
                                          "cannot load libxml2 (%s): %s: install the libxml2 library "
                                          "(Debian: libxml2) to read domain XML",
                                          LIBXML_SONAME, e ? e : "not found") < 0)
                        *ret_error = NULL;
                return -EOPNOTSUPP;
        }
#define SYM(name)                                                                                           \
        if (!(*(void **)&lx.name = dlsym(h, #name))) {                                                      \
                if (ret_error &&                                                                            \
                    asprintf(ret_error, "cannot load libxml2: %s has no %s", LIBXML_SONAME, #name) < 0)     \
                        *ret_error = NULL;                                                                  \
                dlclose(h);                                                                                 \
                lx = (typeof(lx)){0};                                                                       \
                return -EOPNOTSUPP;                                                                         \
        }
        LIBXML_FUNCTIONS(SYM)
#undef SYM
        *(void **)&lx.free = dlsym(h, "xmlFree");
        if (!lx.free) {
                if (ret_error &&
                    asprintf(ret_error, "cannot load libxml2: %s has no xmlFree", LIBXML_SONAME) < 0)
                        *ret_error = NULL;
                dlclose(h);
                lx = (typeof(lx)){0};
                return -EOPNOTSUPP;
        }
        lx.handle = h;
        return 0;
}

/* From here on, libxml2's names are the loaded library's (defined after load_libxml():
 * its dlsym() calls name the real symbols). */
#define xmlCtxtGetLastError   lx.xmlCtxtGetLastError
#define xmlCtxtReadMemory     lx.xmlCtxtReadMemory
#define xmlDocGetRootElement  lx.xmlDocGetRootElement
#define xmlFreeDoc            lx.xmlFreeDoc
#define xmlFreeParserCtxt     lx.xmlFreeParserCtxt
#define xmlGetLineNo          lx.xmlGetLineNo
#define xmlGetNoNsProp        lx.xmlGetNoNsProp
#define xmlHasNsProp          lx.xmlHasNsProp
#define xmlInitParser         lx.xmlInitParser
#define xmlNewParserCtxt      lx.xmlNewParserCtxt
#define xmlNodeGetContent     lx.xmlNodeGetContent
#define xmlNodeListGetString  lx.xmlNodeListGetString
#define xmlSAX2EndElementNs   lx.xmlSAX2EndElementNs
#define xmlSAX2GetLineNumber  lx.xmlSAX2GetLineNumber
#define xmlSAX2StartElementNs lx.xmlSAX2StartElementNs
#define xmlStopParser         lx.xmlStopParser
#define xmlStrdup             lx.xmlStrdup
#undef xmlFree
#define xmlFree (*lx.free)

static const char *const iommu_models[_MDP_DOMAIN_IOMMU_MODEL_MAX] = {
        [MDP_DOMAIN_IOMMU_INTEL] = "intel",
        [MDP_DOMAIN_IOMMU_SMMUV3] = "smmuv3",
        [MDP_DOMAIN_IOMMU_VIRTIO] = "virtio",
        [MDP_DOMAIN_IOMMU_AMD] = "amd",
};

_public_ const char *mdp_domain_iommu_model_to_string(enum mdp_domain_iommu_model m)
{
        return (unsigned)m < _MDP_DOMAIN_IOMMU_MODEL_MAX ? iommu_models[m] : NULL;
}

/* ---- parse state ---- */

struct parse_state {
        xmlParserCtxtPtr ctxt;
        unsigned depth;
        char *refused; /* set by the SAX guards: why the parser was stopped */
        unsigned refused_line;
        char *xml_error; /* libxml2's first error (the later ones follow from it) */
        char *error;   /* first semantic error */
        bool oom;
        xmlChar **allocs; /* attribute values handed out by attr(), freed at the end */
        size_t n_allocs;
        struct mdp_domain *d;
};

static void set_error(struct parse_state *st, unsigned line, const char *fmt, ...) _printf_(3, 4);
static void set_error(struct parse_state *st, unsigned line, const char *fmt, ...)
{
        struct strbuf sb = { 0 };
        va_list ap;

        if (st->error)
                return;
        if (line)
                strbuf_printf(&sb, "domain XML line %u: ", line);
        else
                strbuf_append(&sb, "domain XML: ");
        va_start(ap, fmt);
        strbuf_vprintf(&sb, fmt, ap);
        va_end(ap);
        st->error = strbuf_steal(&sb);
        if (!st->error)
                st->oom = true;
}

static void add_warning(struct parse_state *st, unsigned line, const char *fmt, ...) _printf_(3, 4);
static void add_warning(struct parse_state *st, unsigned line, const char *fmt, ...)
{
        struct mdp_domain *d = st->d;
        struct strbuf sb = { 0 };
        va_list ap;
        char **l, *s;

        if (line)
                strbuf_printf(&sb, "domain XML line %u: ", line);
        va_start(ap, fmt);
        strbuf_vprintf(&sb, fmt, ap);
        va_end(ap);
        s = strbuf_steal(&sb);
        l = s ? realloc(d->warnings, (d->n_warnings + 2) * sizeof(char *)) : NULL;
        if (!l) {
                free(s);
                st->oom = true;
                return;
        }
        l[d->n_warnings++] = s;
        l[d->n_warnings] = NULL;
        d->warnings = l;
}

static unsigned line_of(xmlNode *n)
{
        long l = xmlGetLineNo(n);
        return l > 0 ? (unsigned)l : 0;
}

static bool keep_alloc(struct parse_state *st, xmlChar *s)
{
        xmlChar **l;

        if (!s)
                return false;
        l = realloc(st->allocs, (st->n_allocs + 1) * sizeof(*l));
        if (!l) {
                xmlFree(s);
                st->oom = true;
                return false;
        }
        l[st->n_allocs++] = s;
        st->allocs = l;
        return true;
}

/* An attribute without namespace; NULL when absent. Valid until the parse ends. */
static const char *attr(struct parse_state *st, xmlNode *n, const char *name)
{
        xmlChar *v;

        if (!xmlHasNsProp(n, (const xmlChar *)name, NULL))
                return NULL;
        v = xmlGetNoNsProp(n, (const xmlChar *)name);
        if (!v) {
                st->oom = true;
                return NULL;
        }
        return keep_alloc(st, v) ? (const char *)v : NULL;
}

static const char *attr_value(struct parse_state *st, xmlAttr *a)
{
        xmlChar *v = xmlNodeListGetString(a->doc, a->children, 1);

        if (!v)
                v = xmlStrdup((const xmlChar *)"");
        if (!v) {
                st->oom = true;
                return NULL;
        }
        return keep_alloc(st, v) ? (const char *)v : NULL;
}

/* An element of libvirt's schema (no namespace) named name. */
static bool is_el(xmlNode *n, const char *name)
{
        return n->type == XML_ELEMENT_NODE && !n->ns && streq((const char *)n->name, name);
}

static xmlNode *child(xmlNode *n, const char *name)
{
        for (xmlNode *c = n->children; c; c = c->next)
                if (is_el(c, name))
                        return c;
        return NULL;
}

static char *text_of(xmlNode *n)
{
        xmlChar *t = xmlNodeGetContent(n);
        char *s;
        size_t b, e;

        if (!t)
                return NULL;
        s = (char *)t;
        b = strspn(s, " \t\r\n");
        e = strlen(s);
        while (e > b && strchr(" \t\r\n", s[e - 1]))
                e--;
        s = strndup(s + b, e - b);
        xmlFree(t);
        return s;
}

/* ---- SAX guards: refuse DTDs and entity declarations, bound the depth ---- */

static void refuse(struct parse_state *st, const char *why)
{
        if (!st->refused) {
                st->refused = strdup(why);
                st->refused_line = (unsigned)xmlSAX2GetLineNumber(st->ctxt);
                if (!st->refused)
                        st->oom = true;
        }
        xmlStopParser(st->ctxt);
}

static void guard_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
        xmlParserCtxtPtr ctxt = ctx;
        refuse(ctxt->_private, "a DOCTYPE (DTD) declaration is not accepted in domain XML: libvirt never writes "
                               "one; remove it");
}

static void guard_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *publicId,
                              const xmlChar *systemId, xmlChar *content)
{
        xmlParserCtxtPtr ctxt = ctx;
        refuse(ctxt->_private, "entity declarations are not accepted in domain XML; remove them");
}

static void guard_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI,
                        int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
                        const xmlChar **attributes)
{
        xmlParserCtxtPtr ctxt = ctx;
        struct parse_state *st = ctxt->_private;

        if (++st->depth > MDP_DOMAIN_XML_MAX_DEPTH) {
                char why[128];
                snprintf(why, sizeof(why), "elements nested deeper than %d levels; domain XML is never this deep",
                         MDP_DOMAIN_XML_MAX_DEPTH);
                refuse(st, why);
                return;
        }
        xmlSAX2StartElementNs(ctx, localname, prefix, URI, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
                              attributes);
}

static void guard_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI)
{
        xmlParserCtxtPtr ctxt = ctx;
        struct parse_state *st = ctxt->_private;

        if (st->depth > 0)
                st->depth--;
        xmlSAX2EndElementNs(ctx, localname, prefix, URI);
}

/* libxml2 keeps parsing after an error; the first message is the one that names the cause. */
static void record_xml_error(void *userdata, xmlErrorPtr e)
{
        xmlParserCtxtPtr ctxt = userdata;
        struct parse_state *st = ctxt ? ctxt->_private : NULL;
        size_t n;

        if (!st || st->xml_error || !e || e->level < XML_ERR_ERROR || !e->message)
                return;
        n = strlen(e->message);
        while (n > 0 && e->message[n - 1] == '\n')
                n--;
        if (asprintf(&st->xml_error, "domain XML line %d: malformed XML: %.*s", e->line, (int)n, e->message) < 0) {
                st->xml_error = NULL;
                st->oom = true;
        }
}

/* ---- value parsers ---- */

static int parse_onoff(struct parse_state *st, unsigned line, const char *where, const char *value,
                       enum mdp_tristate *ret)
{
        if (streq(value, "on"))
                *ret = MDP_YES;
        else if (streq(value, "off"))
                *ret = MDP_NO;
        else {
                set_error(st, line, "%s='%s': expected 'on' or 'off'", where, value);
                return -EINVAL;
        }
        return 0;
}

static int parse_yesno(struct parse_state *st, unsigned line, const char *where, const char *value,
                       enum mdp_tristate *ret)
{
        if (streq(value, "yes"))
                *ret = MDP_YES;
        else if (streq(value, "no"))
                *ret = MDP_NO;
        else {
                set_error(st, line, "%s='%s': expected 'yes' or 'no'", where, value);
                return -EINVAL;
        }
        return 0;
}

/* Decimal, 0x-hex or 0-octal like libvirt's virStrToLong_uip(..., 0, ...). */
static int parse_number(const char *s, unsigned long max, unsigned long *ret)
{
        unsigned long v;
        char *end;

        if (isempty(s) || !strchr("0123456789", s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 0);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int parse_int_attr(struct parse_state *st, unsigned line, const char *where, const char *value, int max,
                          int *ret)
{
        unsigned long v;
        int r = parse_number(value, (unsigned long)max, &v);

        if (r < 0) {
                set_error(st, line, "%s='%s': expected a number from 0 to %d", where, value, max);
                return -EINVAL;
        }
        *ret = (int)v;
        return 0;
}

/* ---- <iommu> ---- */

enum attr_kind { ATTR_ONOFF, ATTR_INT };
#define MODEL(m) (1u << (m))
static const struct driver_attr {
        const char *name;
        enum attr_kind kind;
        size_t offset;
        unsigned models;
        int max;
} driver_attrs[] = {
#define ONOFF(n, field, m) { n, ATTR_ONOFF, offsetof(struct mdp_domain_iommu, field), m, 0 }
#define INT(n, field, m, mx) { n, ATTR_INT, offsetof(struct mdp_domain_iommu, field), m, mx }
        ONOFF("intremap", intremap, MODEL(MDP_DOMAIN_IOMMU_INTEL) | MODEL(MDP_DOMAIN_IOMMU_AMD)),
        ONOFF("caching_mode", caching_mode, MODEL(MDP_DOMAIN_IOMMU_INTEL)),
        ONOFF("eim", eim, MODEL(MDP_DOMAIN_IOMMU_INTEL)),
        ONOFF("iotlb", iotlb, MODEL(MDP_DOMAIN_IOMMU_INTEL) | MODEL(MDP_DOMAIN_IOMMU_AMD)),
        INT("aw_bits", aw_bits, MODEL(MDP_DOMAIN_IOMMU_INTEL) | MODEL(MDP_DOMAIN_IOMMU_VIRTIO), 64),
        ONOFF("dma_translation", dma_translation, MODEL(MDP_DOMAIN_IOMMU_INTEL)),
        ONOFF("scalable_mode", scalable_mode, MODEL(MDP_DOMAIN_IOMMU_INTEL)),
        ONOFF("fsts", fsts, MODEL(MDP_DOMAIN_IOMMU_INTEL)),
        ONOFF("svm", svm, MODEL(MDP_DOMAIN_IOMMU_INTEL)),
        INT("pasid_bits", pasid_bits, MODEL(MDP_DOMAIN_IOMMU_INTEL), 20),
        ONOFF("passthrough", passthrough, MODEL(MDP_DOMAIN_IOMMU_AMD)),
        ONOFF("xtsup", xtsup, MODEL(MDP_DOMAIN_IOMMU_AMD)),
        INT("pciBus", pci_bus, MODEL(MDP_DOMAIN_IOMMU_SMMUV3), 255),
        ONOFF("accel", accel, MODEL(MDP_DOMAIN_IOMMU_SMMUV3)),
        ONOFF("ats", ats, MODEL(MDP_DOMAIN_IOMMU_SMMUV3)),
        ONOFF("ril", ril, MODEL(MDP_DOMAIN_IOMMU_SMMUV3)),
        ONOFF("cmdqv", cmdqv, MODEL(MDP_DOMAIN_IOMMU_SMMUV3)),
        INT("ssidsize", ssidsize, MODEL(MDP_DOMAIN_IOMMU_SMMUV3), 20),
        INT("oas", oas, MODEL(MDP_DOMAIN_IOMMU_SMMUV3), 64),
#undef ONOFF
#undef INT
};

static void iommu_init(struct mdp_domain_iommu *io)
{
        *io = (struct mdp_domain_iommu){ 0 };
        for (size_t i = 0; i < ELEMENTSOF(driver_attrs); i++) {
                void *p = (char *)io + driver_attrs[i].offset;
                if (driver_attrs[i].kind == ATTR_ONOFF)
                        *(enum mdp_tristate *)p = MDP_UNKNOWN;
                else
                        *(int *)p = -1;
        }
}

static void iommu_done(struct mdp_domain_iommu *io)
{
        for (size_t i = 0; i < io->n_driver_attrs; i++) {
                free(io->driver_attrs[i].name);
                free(io->driver_attrs[i].value);
        }
        free(io->driver_attrs);
}

static int parse_driver(struct parse_state *st, xmlNode *drv, struct mdp_domain_iommu *io)
{
        const char *model = iommu_models[io->model];
        unsigned line = line_of(drv);
        size_t n = 0;

        for (xmlAttr *a = drv->properties; a; a = a->next)
                n++;
        io->driver_attrs = calloc(n ? n : 1, sizeof(*io->driver_attrs));
        if (!io->driver_attrs)
                return -ENOMEM;
        for (xmlAttr *a = drv->properties; a; a = a->next) {
                struct mdp_xml_attr *x = &io->driver_attrs[io->n_driver_attrs];
                const char *name = (const char *)a->name, *value = attr_value(st, a);
                const struct driver_attr *da = NULL;
                char where[96];

                if (!value)
                        return -ENOMEM;
                x->name = strdup(name);
                x->value = strdup(value);
                if (!x->name || !x->value) {
                        free(x->name);
                        free(x->value);
                        return -ENOMEM;
                }
                io->n_driver_attrs++;
                if (!a->ns)
                        for (size_t i = 0; i < ELEMENTSOF(driver_attrs); i++)
                                if (streq(driver_attrs[i].name, name))
                                        da = &driver_attrs[i];
                if (!da) {
                        add_warning(st, line,
                                    "<iommu model='%s'><driver %s='%s'>: attribute unknown to mdevpasid, kept but "
                                    "not used in decisions",
                                    model, name, value);
                        continue;
                }
                x->known = true;
                snprintf(where, sizeof(where), "<iommu model='%s'><driver %s", model, name);
                if (da->kind == ATTR_ONOFF) {
                        if (parse_onoff(st, line, where, value, (enum mdp_tristate *)((char *)io + da->offset)) < 0)
                                return -EINVAL;
                } else if (parse_int_attr(st, line, where, value, da->max, (int *)((char *)io + da->offset)) < 0)
                        return -EINVAL;
                if (!(da->models & MODEL(io->model)))
                        add_warning(st, line, "<iommu model='%s'><driver %s='%s'>: %s does not apply to model '%s'",
                                    model, name, value, name, model);
        }
        return 0;
}

static int parse_iommu(struct parse_state *st, xmlNode *n)
{
        struct mdp_domain *d = st->d;
        struct mdp_domain_iommu *io, *l;
        const char *model = attr(st, n, "model");
        unsigned line = line_of(n);
        int m = -1;
        xmlNode *drv;

        if (!model) {
                set_error(st, line,
                          "<iommu> has no model attribute: add model='intel', 'smmuv3', 'virtio' or 'amd'");
                return -EINVAL;
        }
        for (int i = 0; i < _MDP_DOMAIN_IOMMU_MODEL_MAX; i++)
                if (streq(model, iommu_models[i]))
                        m = i;
        if (m < 0) {
                set_error(st, line,
                          "<iommu model='%s'>: unknown vIOMMU model: expected 'intel', 'smmuv3', 'virtio' or 'amd' "
                          "(IOMMU-SPEC.md §5.1)",
                          model);
                return -EINVAL;
        }
        l = realloc(d->iommus, (d->n_iommus + 1) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        d->iommus = l;
        io = &l[d->n_iommus++];
        iommu_init(io);
        io->model = (enum mdp_domain_iommu_model)m;
        io->line = line;
        drv = child(n, "driver");
        return drv ? parse_driver(st, drv, io) : 0;
}

/* ---- hostdevs ---- */

static int parse_mdev(struct parse_state *st, xmlNode *n, unsigned index)
{
        struct mdp_domain *d = st->d;
        struct mdp_domain_mdev *l, m = { .line = line_of(n) };
        const char *model = attr(st, n, "model"), *uuid = NULL;
        xmlNode *src = child(n, "source"), *addr = src ? child(src, "address") : NULL;

        if (addr)
                uuid = attr(st, addr, "uuid");
        if (!uuid) {
                set_error(st, m.line,
                          "<hostdev type='mdev'> (hostdev #%u) has no <source><address uuid='...'/>: add the "
                          "mdev's UUID",
                          index);
                return -EINVAL;
        }
        if (mdp_uuid_normalize(uuid, m.uuid) < 0) {
                set_error(st, m.line,
                          "<hostdev type='mdev'> <address uuid='%s'>: not a UUID (expected "
                          "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                          uuid);
                return -EINVAL;
        }
        if (!model) {
                set_error(st, m.line,
                          "<hostdev type='mdev'> for %s has no model attribute: add model='vfio-pci', 'vfio-ccw' "
                          "or 'vfio-ap' (the type's device_api)",
                          m.uuid);
                return -EINVAL;
        }
        if (!streq(model, "vfio-pci") && !streq(model, "vfio-ccw") && !streq(model, "vfio-ap")) {
                set_error(st, m.line,
                          "<hostdev type='mdev' model='%s'> for %s: unknown model: expected 'vfio-pci', "
                          "'vfio-ccw' or 'vfio-ap' (IOMMU-SPEC.md §5.2)",
                          model, m.uuid);
                return -EINVAL;
        }
        for (size_t i = 0; i < d->n_mdevs; i++)
                if (streq(d->mdevs[i].uuid, m.uuid)) {
                        set_error(st, m.line, "mdev %s is listed twice (first at line %u): remove one", m.uuid,
                                  d->mdevs[i].line);
                        return -EINVAL;
                }
        m.model = strdup(model);
        l = m.model ? realloc(d->mdevs, (d->n_mdevs + 1) * sizeof(*l)) : NULL;
        if (!l) {
                free(m.model);
                return -ENOMEM;
        }
        d->mdevs = l;
        l[d->n_mdevs++] = m;
        return 0;
}

static int parse_pci(struct parse_state *st, xmlNode *n, const char *what, bool from_interface)
{
        static const struct {
                const char *name;
                unsigned long max;
                bool required;
        } fields[] = {
                { "domain", 0xffff, false },
                { "bus", 0xff, true },
                { "slot", 0x1f, true },
                { "function", 0x7, true },
        };
        struct mdp_domain *d = st->d;
        struct mdp_domain_pci *l, p = { .line = line_of(n), .from_interface = from_interface };
        xmlNode *src = child(n, "source"), *addr = src ? child(src, "address") : NULL;
        const char *managed = attr(st, n, "managed"), *type;
        unsigned long v[4] = { 0 };

        if (!addr) {
                set_error(st, p.line,
                          "%s has no <source><address domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>: "
                          "add the PCI address of the device",
                          what);
                return -EINVAL;
        }
        type = attr(st, addr, "type");
        if (type && !streq(type, "pci")) {
                set_error(st, p.line, "%s <source><address type='%s'>: expected type='pci'", what, type);
                return -EINVAL;
        }
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *s = attr(st, addr, fields[i].name);
                int r;

                if (!s) {
                        if (!fields[i].required)
                                continue;
                        set_error(st, p.line, "%s <source><address>: %s is missing: add %s='0x..'", what,
                                  fields[i].name, fields[i].name);
                        return -EINVAL;
                }
                r = parse_number(s, fields[i].max, &v[i]);
                if (r == -ERANGE) {
                        set_error(st, p.line, "%s <source><address %s='%s'>: out of range (0 to %#lx)", what,
                                  fields[i].name, s, fields[i].max);
                        return -EINVAL;
                }
                if (r < 0) {
                        set_error(st, p.line, "%s <source><address %s='%s'>: not a number (write %s='0x%s')",
                                  what, fields[i].name, s, fields[i].name, "..");
                        return -EINVAL;
                }
        }
        snprintf(p.address, sizeof(p.address), "%04lx:%02lx:%02lx.%lx", v[0], v[1], v[2], v[3]);
        if (managed) {
                enum mdp_tristate t;
                if (parse_yesno(st, p.line, "managed", managed, &t) < 0)
                        return -EINVAL;
                p.managed = t == MDP_YES;
        }
        for (size_t i = 0; i < d->n_pcis; i++)
                if (streq(d->pcis[i].address, p.address)) {
                        set_error(st, p.line, "PCI device %s is listed twice (first at line %u): remove one",
                                  p.address, d->pcis[i].line);
                        return -EINVAL;
                }
        l = realloc(d->pcis, (d->n_pcis + 1) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        d->pcis = l;
        l[d->n_pcis++] = p;
        return 0;
}

static int parse_devices(struct parse_state *st, xmlNode *devices)
{
        unsigned hostdev_index = 0;
        int r = 0;

        for (xmlNode *n = devices->children; n && r >= 0; n = n->next) {
                if (is_el(n, "hostdev")) {
                        const char *mode = attr(st, n, "mode"), *type = attr(st, n, "type");

                        hostdev_index++;
                        /* mode='capabilities' (containers) and USB/SCSI hostdevs are not ours. */
                        if (mode && !streq(mode, "subsystem"))
                                continue;
                        if (!type) {
                                set_error(st, line_of(n), "<hostdev> #%u has no type attribute: add type='mdev' or "
                                                          "type='pci'",
                                          hostdev_index);
                                return -EINVAL;
                        }
                        if (streq(type, "mdev"))
                                r = parse_mdev(st, n, hostdev_index);
                        else if (streq(type, "pci"))
                                r = parse_pci(st, n, "<hostdev type='pci'>", false);
                } else if (is_el(n, "interface")) {
                        const char *type = attr(st, n, "type");

                        if (type && streq(type, "hostdev"))
                                r = parse_pci(st, n, "<interface type='hostdev'>", true);
                } else if (is_el(n, "iommu"))
                        r = parse_iommu(st, n);
        }
        return r;
}

/* ---- <metadata><mdevpasid:policy/> ---- */

static int parse_policy(struct parse_state *st, xmlNode *n)
{
        struct mdp_domain_policy *p = &st->d->policy;
        unsigned line = line_of(n);

        if (p->present) {
                set_error(st, line, "a second <mdevpasid:policy> element (the first is at line %u): keep one",
                          p->line);
                return -EINVAL;
        }
        p->present = true;
        p->line = line;
        for (xmlAttr *a = n->properties; a; a = a->next) {
                const char *name = (const char *)a->name, *value = attr_value(st, a);
                char where[64];

                if (!value)
                        return -ENOMEM;
                snprintf(where, sizeof(where), "<mdevpasid:policy %s", name);
                if (a->ns) {
                        add_warning(st, line, "<mdevpasid:policy>: attribute %s:%s is unknown, ignored",
                                    a->ns->prefix ? (const char *)a->ns->prefix : "?", name);
                } else if (streq(name, "guest-pasid")) {
                        if (streq(value, "no"))
                                p->guest_pasid = MDP_DOMAIN_GUEST_PASID_NO;
                        else if (streq(value, "yes"))
                                p->guest_pasid = MDP_DOMAIN_GUEST_PASID_YES;
                        else if (streq(value, "svsa"))
                                p->guest_pasid = MDP_DOMAIN_GUEST_PASID_SVSA;
                        else {
                                set_error(st, line, "%s='%s': expected 'no', 'yes' or 'svsa'", where, value);
                                return -EINVAL;
                        }
                } else if (streq(name, "prefer")) {
                        p->prefer = mdp_prefer_from_string(value);
                        if (p->prefer < 0) {
                                set_error(st, line, "%s='%s': expected 'nest' or 'shadow'", where, value);
                                return -EINVAL;
                        }
                } else if (streq(name, "allow-experimental")) {
                        if (parse_yesno(st, line, where, value, &p->allow_experimental) < 0)
                                return -EINVAL;
                } else if (streq(name, "migration-required")) {
                        if (parse_yesno(st, line, where, value, &p->migration_required) < 0)
                                return -EINVAL;
                } else if (streq(name, "pasid-quota")) {
                        unsigned long v;
                        if (parse_number(value, MDP_PASID_MAX_COUNT, &v) < 0) {
                                set_error(st, line, "%s='%s': expected a number of PASIDs from 0 to %lu", where,
                                          value, (unsigned long)MDP_PASID_MAX_COUNT);
                                return -EINVAL;
                        }
                        p->pasid_quota = (int64_t)v;
                } else
                        add_warning(st, line,
                                    "<mdevpasid:policy %s='%s'>: unknown attribute, ignored (known: guest-pasid, "
                                    "prefer, allow-experimental, migration-required, pasid-quota)",
                                    name, value);
        }
        for (xmlNode *c = n->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE)
                        add_warning(st, line_of(c), "<mdevpasid:policy> has no child elements; <%s> ignored",
                                    (const char *)c->name);
        return 0;
}

static int parse_metadata(struct parse_state *st, xmlNode *md)
{
        for (xmlNode *c = md->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE || !c->ns || !c->ns->href ||
                    !streq((const char *)c->ns->href, MDP_POLICY_XMLNS))
                        continue;
                if (!streq((const char *)c->name, MDP_POLICY_XML_ELEMENT)) {
                        add_warning(st, line_of(c), "unknown element <%s> in the mdevpasid namespace, ignored "
                                                    "(expected <policy>)",
                                    (const char *)c->name);
                        continue;
                }
                if (parse_policy(st, c) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* ---- guest mode (IOMMU-SPEC.md §6.2 guest) ---- */

static const char *guest_pasid_attr(enum mdp_domain_guest_pasid g)
{
        switch (g) {
        case MDP_DOMAIN_GUEST_PASID_NO:
                return "no";
        case MDP_DOMAIN_GUEST_PASID_YES:
                return "yes";
        case MDP_DOMAIN_GUEST_PASID_SVSA:
                return "svsa";
        default:
                return NULL;
        }
}

static int derive_guest_mode(struct parse_state *st)
{
        struct mdp_domain *d = st->d;
        const struct mdp_domain_policy *p = &d->policy;
        const char *gp = guest_pasid_attr(p->guest_pasid);
        enum mdp_guest_mode xml_mode = MDP_GUEST_NOPASID, meta_mode = MDP_GUEST_NOPASID;
        struct strbuf sb = { 0 }, xml_why = { 0 };
        bool translating = false;

        if (d->n_iommus == 0) {
                d->guest_mode = MDP_GUEST_NONE;
                strbuf_append(&sb, "no <iommu> element ⇒ none");
                if (gp && p->guest_pasid != MDP_DOMAIN_GUEST_PASID_NO) {
                        strbuf_printf(&sb, " (metadata guest-pasid='%s' ignored: the guest has no vIOMMU)", gp);
                        add_warning(st, p->line,
                                    "<mdevpasid:policy guest-pasid='%s'> but the domain has no <iommu>: a guest "
                                    "without a vIOMMU has no PASIDs; add an <iommu> element or drop the attribute",
                                    gp);
                }
                d->guest_mode_basis = strbuf_steal(&sb);
                return d->guest_mode_basis ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < d->n_iommus; i++) {
                const struct mdp_domain_iommu *io = &d->iommus[i];
                const char *model = iommu_models[io->model];

                if (io->dma_translation == MDP_NO)
                        continue;
                translating = true;
                /* Attributes libvirt may grow (§5.1 [U]): what the vIOMMU exposes is what the
                 * guest can use, whatever the metadata says. */
                if (io->svm == MDP_YES && xml_mode < MDP_GUEST_SVSA) {
                        xml_mode = MDP_GUEST_SVSA;
                        strbuf_done(&xml_why);
                        strbuf_printf(&xml_why, "<iommu model='%s'> with <driver svm='on'>", model);
                } else if (io->pasid_bits > 0 && xml_mode < MDP_GUEST_PASID) {
                        xml_mode = MDP_GUEST_PASID;
                        strbuf_done(&xml_why);
                        strbuf_printf(&xml_why, "<iommu model='%s'> with <driver pasid_bits='%d'>", model,
                                      io->pasid_bits);
                }
        }
        if (!translating) {
                d->guest_mode = MDP_GUEST_NONE;
                strbuf_printf(&sb, "<iommu model='%s'> with <driver dma_translation='off'> remaps interrupts only ⇒ none",
                              iommu_models[d->iommus[0].model]);
                d->guest_mode_basis = strbuf_steal(&sb);
                return d->guest_mode_basis ? 0 : -ENOMEM;
        }
        if (p->guest_pasid == MDP_DOMAIN_GUEST_PASID_YES)
                meta_mode = MDP_GUEST_PASID;
        else if (p->guest_pasid == MDP_DOMAIN_GUEST_PASID_SVSA)
                meta_mode = MDP_GUEST_SVSA;
        d->guest_mode = MAX(xml_mode, meta_mode);

        if (xml_why.len == 0)
                strbuf_printf(&xml_why, "<iommu model='%s'>", iommu_models[d->iommus[0].model]);
        strbuf_append(&sb, xml_why.buf ? xml_why.buf : "<iommu>");
        if (gp)
                strbuf_printf(&sb, " and metadata guest-pasid='%s'", gp);
        else if (p->present)
                strbuf_append(&sb, " and metadata without guest-pasid");
        else
                strbuf_append(&sb, " and no mdevpasid metadata");
        strbuf_printf(&sb, " ⇒ %s", mdp_guest_mode_to_string(d->guest_mode));
        if (xml_mode > meta_mode && gp)
                strbuf_printf(&sb, " (the vIOMMU exposes more than guest-pasid='%s' says; the guest can use it)", gp);
        strbuf_done(&xml_why);
        d->guest_mode_basis = strbuf_steal(&sb);
        return d->guest_mode_basis ? 0 : -ENOMEM;
}

/* ---- the domain ---- */

static int parse_domain(struct parse_state *st, xmlNode *root)
{
        struct mdp_domain *d = st->d;
        xmlNode *n;
        int r;

        if (!root || root->type != XML_ELEMENT_NODE || !streq((const char *)root->name, "domain") || root->ns) {
                set_error(st, root ? line_of(root) : 0, "the root element is <%s>, expected <domain>",
                          root ? (const char *)root->name : "");
                return -EINVAL;
        }
        n = child(root, "name");
        if (n)
                d->name = text_of(n);
        if (isempty(d->name)) {
                set_error(st, n ? line_of(n) : line_of(root), "<domain> has no <name>: add the VM's name");
                return -EINVAL;
        }
        n = child(root, "uuid");
        if (n) {
                _cleanup_free_ char *u = text_of(n);
                if (!u || mdp_uuid_normalize(u, d->uuid) < 0) {
                        set_error(st, line_of(n), "<uuid>%s</uuid>: not a UUID", strna(u));
                        return -EINVAL;
                }
        }
        n = child(root, "os");
        if (n && (n = child(n, "type"))) {
                const char *a = attr(st, n, "arch"), *m = attr(st, n, "machine");
                if ((a && !(d->arch = strdup(a))) || (m && !(d->machine = strdup(m))))
                        return -ENOMEM;
        }
        n = child(root, "features");
        if (n && (n = child(n, "ioapic"))) {
                const char *drv = attr(st, n, "driver");
                if (drv && !(d->ioapic_driver = strdup(drv)))
                        return -ENOMEM;
        }
        n = child(root, "metadata");
        if (n && (r = parse_metadata(st, n)) < 0)
                return r;
        n = child(root, "devices");
        if (n && (r = parse_devices(st, n)) < 0)
                return r;
        for (size_t i = 0; i < d->n_iommus; i++)
                if (d->iommus[i].intremap == MDP_YES && !streq_ptr(d->ioapic_driver, "qemu"))
                        add_warning(st, d->iommus[i].line,
                                    "<iommu><driver intremap='on'> needs <features><ioapic driver='qemu'/></features>: "
                                    "add it (libvirt refuses the domain without it)");
        return derive_guest_mode(st);
}

_public_ struct mdp_domain *mdp_domain_free(struct mdp_domain *d)
{
        if (!d)
                return NULL;
        free(d->name);
        free(d->arch);
        free(d->machine);
        free(d->ioapic_driver);
        for (size_t i = 0; i < d->n_mdevs; i++)
                free(d->mdevs[i].model);
        free(d->mdevs);
        free(d->pcis);
        for (size_t i = 0; i < d->n_iommus; i++)
                iommu_done(&d->iommus[i]);
        free(d->iommus);
        free(d->guest_mode_basis);
        strv_free(d->warnings);
        free(d);
        return NULL;
}

static char *libxml_error(xmlParserCtxtPtr ctxt)
{
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char *s = NULL;

        if (e && e->message) {
                size_t n = strlen(e->message);
                while (n > 0 && e->message[n - 1] == '\n')
                        n--;
                if (asprintf(&s, "domain XML line %d: malformed XML: %.*s", e->line, (int)n, e->message) < 0)
                        s = NULL;
        } else
                s = strdup("domain XML: malformed XML");
        return s;
}

_public_ int mdp_domain_parse(const char *xml, size_t len, struct mdp_domain **ret, char **ret_error)
{
        struct parse_state st = { 0 };
        xmlParserCtxtPtr ctxt = NULL;
        xmlDocPtr doc = NULL;
        char *error = NULL;
        int r;

        if (len > MDP_DOMAIN_XML_MAX) {
                if (ret_error && asprintf(ret_error, "domain XML: larger than %d MiB, the limit for a domain",
                                          MDP_DOMAIN_XML_MAX / (1024 * 1024)) < 0)
                        *ret_error = NULL;
                return -EFBIG;
        }
        if (!xml || len == 0 || memchr(xml, '\0', len)) {
                if (ret_error)
                        *ret_error = strdup(!xml || len == 0 ? "domain XML: empty input"
                                                             : "domain XML: contains a NUL byte: not an XML text");
                return -EINVAL;
        }
        r = load_libxml(ret_error);
        if (r < 0)
                return r;
        xmlInitParser();
        st.d = calloc(1, sizeof(*st.d));
        ctxt = xmlNewParserCtxt();
        if (!st.d || !ctxt) {
                r = -ENOMEM;
                goto finish;
        }
        st.d->policy = (struct mdp_domain_policy){ .guest_pasid = MDP_DOMAIN_GUEST_PASID_UNSET,
                                                   .prefer = -1,
                                                   .allow_experimental = MDP_UNKNOWN,
                                                   .migration_required = MDP_UNKNOWN,
                                                   .pasid_quota = -1 };
        st.ctxt = ctxt;
        ctxt->_private = &st;
        ctxt->sax->internalSubset = guard_internal_subset;
        ctxt->sax->entityDecl = guard_entity_decl;
        ctxt->sax->startElementNs = guard_start;
        ctxt->sax->endElementNs = guard_end;
        ctxt->sax->serror = record_xml_error;
        /* No network, no DTD loading, no entity substitution (XML_PARSE_NOENT is the option
         * that would enable it), no messages on stderr: the error is returned. */
        doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
                                        XML_PARSE_BIG_LINES);
        if (st.oom) {
                r = -ENOMEM;
                goto finish;
        }
        if (st.refused) {
                if (asprintf(&error, "domain XML line %u: %s", st.refused_line, st.refused) < 0)
                        error = NULL;
                r = -EINVAL;
                goto finish;
        }
        if (!doc || !ctxt->wellFormed) {
                error = st.xml_error ? TAKE_PTR(st.xml_error) : libxml_error(ctxt);
                r = -EINVAL;
                goto finish;
        }
        if (doc->intSubset || doc->extSubset) {
                error = strdup("domain XML: a DOCTYPE (DTD) declaration is not accepted in domain XML; remove it");
                r = -EINVAL;
                goto finish;
        }
        r = parse_domain(&st, xmlDocGetRootElement(doc));
        if (st.oom)
                r = -ENOMEM;
        else if (r == -EINVAL || st.error) {
                error = TAKE_PTR(st.error);
                r = -EINVAL;
        }
finish:
        for (size_t i = 0; i < st.n_allocs; i++)
                xmlFree(st.allocs[i]);
        free(st.allocs);
        free(st.refused);
        free(st.xml_error);
        free(st.error);
        if (doc)
                xmlFreeDoc(doc);
        if (ctxt)
                xmlFreeParserCtxt(ctxt);
        if (r < 0) {
                mdp_domain_free(st.d);
                if (ret_error)
                        *ret_error = error;
                else
                        free(error);
                return r;
        }
        *ret = st.d;
        return 0;
}

_public_ enum mdp_arch mdp_domain_arch(const struct mdp_domain *d)
{
        if (!d->arch)
                return MDP_ARCH_UNKNOWN;
        if (streq(d->arch, "x86_64"))
                return MDP_ARCH_X86_64;
        if (streq(d->arch, "aarch64"))
                return MDP_ARCH_AARCH64;
        return MDP_ARCH_OTHER;
}

_public_ bool mdp_domain_has_units(const struct mdp_domain *d)
{
        return d->n_mdevs > 0 || d->n_pcis > 0;
}
