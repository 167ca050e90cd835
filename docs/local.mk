# docs: fragment included by the top-level Makefile.am
dist_doc_DATA = docs/policy.md

# Man pages. org.mdevpasid1(5) is generated from the D-Bus contract's comments at build
# time, so it always matches conf/org.mdevpasid1.xml.
dist_man_MANS = docs/mdevpasidctl.8 docs/mdevpasidd.8 docs/mdevpasid-libvirt-hook.8
man_MANS += docs/org.mdevpasid1.5
CLEANFILES += docs/org.mdevpasid1.5
EXTRA_DIST += docs/dbus-to-man.py
docs/org.mdevpasid1.5: $(srcdir)/conf/org.mdevpasid1.xml $(srcdir)/docs/dbus-to-man.py
	$(MKDIR_P) docs
	python3 $(srcdir)/docs/dbus-to-man.py $(srcdir)/conf/org.mdevpasid1.xml >$@.tmp && mv $@.tmp $@
