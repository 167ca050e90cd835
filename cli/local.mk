# cli: fragment included by the top-level Makefile.am
bin_PROGRAMS += cli/mdevpasidctl
cli_mdevpasidctl_SOURCES = \
	cli/mdevpasidctl.c \
	cli/verbs.h \
	cli/output.h \
	cli/output.c \
	cli/source.h \
	cli/source.c \
	cli/source-sysfs.c \
	cli/source-dbus.c \
	cli/mdevctl-format.h \
	cli/mdevctl-format.c \
	cli/verb-list.c \
	cli/verb-host.c
cli_mdevpasidctl_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS)
cli_mdevpasidctl_LDADD = $(MDP_LIB_LIBS)
