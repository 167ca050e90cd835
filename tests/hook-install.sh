#!/bin/sh
# `make install` of the libvirt hook (issue 7): a real binary in $(pkglibexecdir), and a
# link to it in libvirt's qemu.d that `make uninstall` removes; the binary never links
# libvirt (libvirtd waits on its hooks: a hook calling it deadlocks, ECOSYSTEM.md §1.4).
# Installs into a DESTDIR under a temporary directory; nothing outside it is touched.
. "$top_srcdir/tests/cli-lib.sh"

D=$TMP/inst
make -s -C "$top_builddir" install-pkglibexecPROGRAMS install-libvirt-hook-link DESTDIR="$D" >"$TMP/log" 2>&1 ||
        fail "make install of the hook failed: $(cat "$TMP/log")"
bin=$(find "$D" -type f -name mdevpasid-libvirt-hook)
link=$(find "$D" -type l -path '*/libvirt/hooks/qemu.d/mdevpasid')
case "$bin" in
*/libexec/mdevpasid/mdevpasid-libvirt-hook) ;;
*) fail "hook binary not in \$(libexecdir)/mdevpasid: '$bin'" ;;
esac
[ -x "$bin" ] || fail "hook binary '$bin' is not executable"
[ -n "$link" ] || fail "no qemu.d/mdevpasid link under $D"
# The link points at the installed path (without DESTDIR), as libvirt will follow it.
[ -n "$link" ] && [ "$D$(readlink "$link")" = "$bin" ] ||
        fail "qemu.d/mdevpasid points at '$(readlink "$link" 2>/dev/null)', expected ${bin#"$D"}"
if ldd "$bin" 2>/dev/null | grep -q libvirt; then
        fail "the hook links libvirt: $(ldd "$bin" | grep libvirt)"
fi
# --help names the configuration and exits 0.
"$bin" --help | grep -q "hook.timeout_ms" || fail "--help does not mention hook.timeout_ms"
make -s -C "$top_builddir" uninstall-libvirt-hook-link DESTDIR="$D" >"$TMP/log" 2>&1 ||
        fail "make uninstall-libvirt-hook-link failed: $(cat "$TMP/log")"
[ -z "$(find "$D" -type l -name mdevpasid)" ] || fail "the qemu.d link survived uninstall"
finish
