#!/bin/sh
# mdevpasidctl's exit codes (0 ok, 1 failed, 2 usage), usage errors that name the problem,
# --help, option forms, output to a closed pipe or a full disk, colour only on a terminal,
# and issue 2's done-criterion on the x86-6.12-sm capture.
. "$top_srcdir/tests/cli-lib.sh"

R=$TMP/host
unpack_fixture x86-6.12-sm "$R"
export MDEVPASID_ROOT="$R"

# Usage errors: status 2, a message naming the problem and where to look.
# No verb: status, the default verb (issue 6); here read from the tree MDEVPASID_ROOT names.
expect 0 ""
grep -q "^mdevpasidd was not asked: MDEVPASID_ROOT" "$TMP/out" || fail "no verb: status does not say the daemon was not asked"
grep -q "parents: 3, types: 8" "$TMP/out" || fail "no verb: status does not count the capture's parents and types"
expect 2 'unknown verb "frobnicate"' frobnicate
expect 2 "list: unknown option --bogus" list --bogus
expect 2 "list: unknown option -x" list -x
expect 2 "Try 'mdevpasidctl list --help'" list -x
expect 2 "--uuid not-a-uuid: not a UUID" list -u not-a-uuid
expect 2 "option -p needs a value" list -p
expect 2 "option --parent needs a value" list --parent
expect 2 "--dumpjson .* and --json .* exclude each other" list --json --dumpjson
expect 2 'unexpected argument "extra"' list extra
expect 2 'write --json=MODE' list --json short
expect 2 "--json=bogus: expected pretty, short or off" --json=bogus list
expect 2 "parents: unknown option --dumpjson" parents --dumpjson
expect 2 "option --dumpjson takes no value" types --dumpjson=yes

# Help and version: status 0 on stdout.
expect 0 "" --help
for verb in list types parents iommu plan; do
        grep -q "^  $verb" "$TMP/out" || fail "--help does not list $verb"
done
grep -q "mdevctl wins" "$TMP/out" || fail "--help does not explain the mdevctl namespace"
expect 0 "" help
expect 0 "" list --help
grep -q -- "--dumpjson" "$TMP/out" || fail "list --help does not show --dumpjson"
grep -q -- "-u --uuid UUID" "$TMP/out" || fail "list --help does not show -u --uuid UUID"
expect 0 "" --version
grep -Eq '^mdevpasidctl [0-9]+\.[0-9]+' "$TMP/out" || fail "--version prints $(cat "$TMP/out")"

# Runtime failures: status 1, naming the object and the fix.
MDEVPASID_ROOT=relative/dir expect 1 "MDEVPASID_ROOT=relative/dir is not an absolute path" parents
MDEVPASID_ROOT=$TMP/nonexistent expect 1 "$TMP/nonexistent/sys does not exist; point MDEVPASID_ROOT" parents
if [ -w /dev/full ]; then
        rc=0
        cli types >/dev/full 2>"$TMP/err" || rc=$?
        [ "$rc" = 1 ] || fail "types >/dev/full: exit $rc, expected 1"
        grep -q "cannot write output" "$TMP/err" || fail "types >/dev/full: $(cat "$TMP/err")"
fi

# A reader that stops early (| head): no crash, no noise, status 0. The output must be
# larger than a pipe buffer for the write to fail.
python3 "$top_srcdir/tests/tools/gen-fake-sysfs.py" "$TMP/big" --layout single --active 400 --defined 400 --attrs 2 >/dev/null
( set +e; MDEVPASID_ROOT=$TMP/big cli list --json 2>"$TMP/err"; echo $? >"$TMP/rc" ) | head -n 1 >/dev/null
[ "$(cat "$TMP/rc")" = 0 ] || fail "list --json | head: exit $(cat "$TMP/rc")"
[ ! -s "$TMP/err" ] || fail "list --json | head: stderr: $(cat "$TMP/err")"
( set +e; MDEVPASID_ROOT=$TMP/big cli list -v 2>"$TMP/err"; echo $? >"$TMP/rc" ) | head -n 1 >/dev/null
[ "$(cat "$TMP/rc")" = 0 ] || fail "list -v | head: exit $(cat "$TMP/rc")"
[ ! -s "$TMP/err" ] || fail "list -v | head: stderr: $(cat "$TMP/err")"

# Option forms: global options before the verb, --opt=value, mdevctl's UUID spellings,
# lsmdev as list.
cli parents --json=short >"$TMP/a"
cli --json=short parents >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "--json=short before and after the verb differ"
cli -j parents >"$TMP/b"
cli parents --json >"$TMP/a"
cmp -s "$TMP/a" "$TMP/b" || fail "-j and --json differ"
cli list --uuid=29a5d629-5236-452f-9c1b-1e3b31a976cc >"$TMP/a"
grep -q "^29a5d629-5236-452f-9c1b-1e3b31a976cc mtty mtty-2 manual$" "$TMP/a" || fail "list --uuid=U: $(cat "$TMP/a")"
for form in 29A5D629-5236-452F-9C1B-1E3B31A976CC 29a5d6295236452f9c1b1e3b31a976cc \
        "{29a5d629-5236-452f-9c1b-1e3b31a976cc}" urn:uuid:29a5d629-5236-452f-9c1b-1e3b31a976cc; do
        cli list -u "$form" >"$TMP/b"
        cmp -s "$TMP/a" "$TMP/b" || fail "list -u $form differs from the canonical UUID"
done
ln -s "$CLI_BIN" "$TMP/lsmdev"
"$TMP/lsmdev" >"$TMP/a"
cli list >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "lsmdev differs from list"
cli parents --no-legend >"$TMP/a"
if grep -q PARENT "$TMP/a"; then fail "--no-legend still prints the header"; fi
[ "$(wc -l <"$TMP/a")" = 3 ] || fail "parents --no-legend: $(cat "$TMP/a")"

# Colour only on a terminal, and never with NO_COLOR.
ESC=$(printf '\033')
if command -v script >/dev/null; then
        script -qec "env -u NO_COLOR MDEVPASID_ROOT=$R $CLI_BIN parents" /dev/null >"$TMP/a" </dev/null
        grep -q "$ESC\[" "$TMP/a" || fail "no colour on a terminal"
        script -qec "env NO_COLOR=1 MDEVPASID_ROOT=$R $CLI_BIN parents" /dev/null >"$TMP/a" </dev/null
        if grep -q "$ESC\[" "$TMP/a"; then fail "colour despite NO_COLOR"; fi
fi
env -u NO_COLOR "$CLI_BIN" parents >"$TMP/a"
if grep -q "$ESC\[" "$TMP/a"; then fail "colour into a file"; fi

# Issue 2, done when: on the x86-6.12-sm capture, iommu --json reports dmar0 with scalable
# mode supported and PASID not supported.
cli iommu --json >"$TMP/iommu.json"
python3 - "$TMP/iommu.json" <<'PY' || fail "iommu --json on x86-6.12-sm: done-criterion not met"
import json, sys
doc = json.load(open(sys.argv[1]))
dmar0 = [i for i in doc["Iommus"] if i["Name"] == "dmar0"]
assert len(dmar0) == 1, "no dmar0"
d = dmar0[0]
assert d["Family"] == "vtd", d["Family"]
fields = {f["Name"]: f for f in d["Fields"]}
assert fields["SMTS"]["Value"] is True, fields["SMTS"]
assert fields["PASID"]["Value"] is False, fields["PASID"]
assert d["Capabilities"]["ScalableModeSupported"] is True
assert d["Capabilities"]["Pasid"] is False
assert set(doc["KernelFeatures"]) == {"iommufd", "vfio_cdev", "vfio_container", "release", "cmdline"}
PY

finish
