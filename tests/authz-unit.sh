#!/bin/sh
# The service unit's hardening does not regress: systemd-analyze's offline exposure score of
# systemd/mdevpasidd.service stays at 2.0 or below (the unit's comment says what keeps it
# from going lower), and /sys stays writable. Skips (77) without a systemd-analyze that
# knows --offline (systemd >= 250).
build="${top_builddir:-.}"
unit="$build/systemd/mdevpasidd.service"
command -v systemd-analyze >/dev/null || { echo "skipped: no systemd-analyze"; exit 77; }
make -C "$build" systemd/mdevpasidd.service >/dev/null 2>&1
[ -f "$unit" ] || { echo "FAIL: $unit not built"; exit 1; }
if ! systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
        echo "skipped: systemd-analyze security has no --offline"
        exit 77
fi
out=$(systemd-analyze security --offline=yes --threshold=20 "$unit" 2>&1)
rc=$?
echo "$out" | grep -E '✗|Overall'
if [ $rc -ne 0 ]; then
        echo "FAIL: mdevpasidd.service exposure is above 2.0 (rc $rc)"
        exit 1
fi
if grep -q '^ProtectKernelTunables=' "$unit"; then
        echo "FAIL: the unit makes /sys read-only"
        exit 1
fi
echo "ok: mdevpasidd.service exposure at most 2.0"
