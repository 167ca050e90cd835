/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading a domain through libvirt, for `mdevpasidctl plan --domain NAME [-c URI]`. This file
 * is the only one that calls libvirt, and it lives in its own convenience library
 * (lib/libmdevpasid-virt.la) so the libvirt hook cannot link it: a hook that calls libvirt
 * deadlocks, because libvirtd waits for the hook (ECOSYSTEM.md §1.4). The hook parses the
 * XML on its stdin with mdp_domain_parse() instead. */

#include "domain-xml.h"

/* Opens a read-only connection to uri (NULL: libvirt's default, LIBVIRT_DEFAULT_URI),
 * looks the domain up by name, reads its XML (virDomainGetXMLDesc(0): the live definition
 * of a running domain) and parses it. On failure *ret_error (optional) is one malloc'd
 * sentence with the URI, the domain and libvirt's message:
 *   -ECONNREFUSED  the connection failed
 *   -ENOENT        no domain of that name
 *   -EIO           libvirt could not produce the XML
 *   and mdp_domain_parse()'s errors for the XML itself.
 * Installs a silent libvirt error handler (process-wide), so libvirt prints nothing. */
int mdp_domain_read_libvirt(const char *uri, const char *name, struct mdp_domain **ret, char **ret_error);
/* The same, and *ret_xml (optional, malloc'd) is the XML text libvirt gave: what the CLI
 * sends to mdevpasidd as "DomainXml", so the daemon plans from the domain itself. */
int mdp_domain_read_libvirt_xml(const char *uri, const char *name, struct mdp_domain **ret, char **ret_xml,
                                char **ret_error);
