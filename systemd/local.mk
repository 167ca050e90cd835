# systemd/: the service unit, D-Bus activation, tmpfiles and udev rules.
systemdsystemunit_DATA = systemd/mdevpasidd.service
dbussystemservicesdir = $(dbusdatadir)/system-services
dist_dbussystemservices_DATA = systemd/org.mdevpasid1.service
dist_udevrules_DATA = systemd/90-mdevpasid.rules
EXTRA_DIST += systemd/mdevpasidd.service.in systemd/mdevpasid.tmpfiles
CLEANFILES += systemd/mdevpasidd.service

systemd/mdevpasidd.service: $(srcdir)/systemd/mdevpasidd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && sed -e 's|@sbindir[@]|$(sbindir)|g' $< > $@

# tmpfiles.d wants <package>.conf; the source keeps a distinct name.
install-data-local: install-tmpfiles
install-tmpfiles:
	$(MKDIR_P) $(DESTDIR)$(tmpfilesdir)
	$(INSTALL_DATA) $(srcdir)/systemd/mdevpasid.tmpfiles $(DESTDIR)$(tmpfilesdir)/mdevpasid.conf
uninstall-local: uninstall-tmpfiles
uninstall-tmpfiles:
	rm -f $(DESTDIR)$(tmpfilesdir)/mdevpasid.conf
.PHONY: install-tmpfiles uninstall-tmpfiles
