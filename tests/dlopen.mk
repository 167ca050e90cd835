# tests/dlopen.mk: mdevpasidctl without a linked libsystemd (cli/sd-dlopen.c), and reads that
# decide without the bus (lib/client.c: mdp_client_daemon_state_offline()).
TESTS += tests/cli-dlopen.sh
EXTRA_DIST += tests/cli-dlopen.sh
