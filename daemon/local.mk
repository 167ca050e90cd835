# daemon/: mdevpasidd. Everything but main.c is a convenience library so tests link it.
noinst_LTLIBRARIES += daemon/libmdevpasidd.la
daemon_libmdevpasidd_la_SOURCES = \
	daemon/manager.h \
	daemon/manager.c \
	daemon/model.c \
	daemon/ops.h \
	daemon/ops.c \
	daemon/autostart.c \
	daemon/authz.c \
	daemon/bus-manager.c \
	daemon/bus-validate.h \
	daemon/bus-validate.c \
	daemon/bus-objects.c \
	daemon/describe.c \
	daemon/vms.h \
	daemon/vms.c \
	daemon/udev.h \
	daemon/udev.c \
	daemon/worker.h \
	daemon/worker.c \
	daemon/strv.h
daemon_libmdevpasidd_la_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS) -pthread
daemon_libmdevpasidd_la_LIBADD = $(MDP_LIB_LIBS) -lpthread

sbin_PROGRAMS += daemon/mdevpasidd
daemon_mdevpasidd_SOURCES = daemon/main.c
daemon_mdevpasidd_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS)
daemon_mdevpasidd_LDADD = daemon/libmdevpasidd.la $(MDP_LIB_LIBS)
