# conf: fragment included by the top-level Makefile.am
# The D-Bus contract (a test diffs the daemon's introspection against it).
dbusinterfacesdir = $(dbusdatadir)/interfaces
dist_dbusinterfaces_DATA = conf/org.mdevpasid1.xml

# Vendor profiles (lib/profile.h): shipped in $(pkgdatadir)/profiles, overridden by
# /etc/mdevpasid/profiles. Example profiles are documentation, never loaded.
profilesdir = $(pkgdatadir)/profiles
dist_profiles_DATA = \
	conf/profiles/50-i915-gvtg.json \
	conf/profiles/50-mdev-samples.json \
	conf/profiles/50-vfio-ap.json \
	conf/profiles/50-vfio-ccw.json
exampleprofilesdir = $(docdir)/examples/profiles
dist_exampleprofiles_DATA = \
	conf/profiles/examples/60-intel-dsa-siov.json \
	conf/profiles/examples/90-siov-template.json

# Daemon configuration (every value is the built-in default) and an example policy file:
# policy.d itself ships empty, a rule is always the operator's (docs/policy.md).
mdevpasidconfdir = $(sysconfdir)/mdevpasid
dist_mdevpasidconf_DATA = conf/mdevpasid.conf
examplepolicydir = $(docdir)/examples/policy.d
dist_examplepolicy_DATA = conf/policy.d/50-example.json

# Bus policy: only root owns org.mdevpasid1; everyone may call it (authorization per call).
dbuspolicydir = $(dbusdatadir)/system.d
dist_dbuspolicy_DATA = conf/org.mdevpasid1.conf

# Bash completion for mdevpasidctl (and lsmdev).
dist_bashcompletion_DATA = conf/completion/mdevpasidctl

# polkit actions (daemon/authz.c maps each mutating method to one).
dist_polkitaction_DATA = conf/org.mdevpasid1.policy
