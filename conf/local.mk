# conf: fragment included by the top-level Makefile.am
# The D-Bus contract (a test diffs the daemon's introspection against it).
dbusinterfacesdir = $(dbusdatadir)/interfaces
dist_dbusinterfaces_DATA = conf/org.mdevpasid1.xml
