#!/bin/sh
# The man pages (docs/*.8, and org.mdevpasid1(5) generated from the D-Bus contract):
#  - each renders without a single warning (groff -ww, and man --warnings when man-db is
#    there);
#  - mdevpasidctl(8) documents every verb and long option that mdevpasidctl --help shows,
#    and marks "planned" (with "Not in this build yet.") exactly the verbs --help lacks;
#  - org.mdevpasid1(5) has an entry for every method and property in the contract.
. "$top_srcdir/tests/cli-lib.sh"

make -s -C "$top_builddir" docs/org.mdevpasid1.5 >"$TMP/log" 2>&1 || fail "cannot generate org.mdevpasid1.5: $(cat "$TMP/log")"
pages="$top_srcdir/docs/mdevpasidctl.8 $top_srcdir/docs/mdevpasidd.8 $top_srcdir/docs/mdevpasid-libvirt-hook.8
$top_builddir/docs/org.mdevpasid1.5"
for p in $pages; do
        [ -s "$p" ] || {
                fail "$p is missing"
                continue
        }
        out=$(groff -man -ww -z -Tutf8 "$p" 2>&1) || fail "groff failed on $p"
        [ -z "$out" ] || fail "groff -ww warns about $p: $out"
        if command -v man >/dev/null; then
                out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$p" 2>&1 >/dev/null)
                [ -z "$out" ] || fail "man --warnings about $p: $out"
        fi
done

# mdevpasidctl(8) against the binary's own --help.
man8=$top_srcdir/docs/mdevpasidctl.8
help_verbs=$(cli --help | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p')
for v in $help_verbs; do
        if grep -qx ".\\\\\" verb: $v planned" "$man8"; then
                fail "mdevpasidctl.8 marks verb '$v' planned, but mdevpasidctl --help has it: delete \" planned\" from its marker and its \"Not in this build yet.\" line"
        elif ! grep -qx ".\\\\\" verb: $v" "$man8"; then
                fail "verb '$v' from mdevpasidctl --help is not documented in docs/mdevpasidctl.8"
        fi
        for o in $(cli "$v" --help | sed -n '/^Options:/,$p' | grep -oE '^ +(-[a-zA-Z] )?--[a-z][a-z-]*' |
                grep -oE -- '--[a-z-]+' | sort -u); do
                esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
                grep -q -- "$esc" "$man8" || fail "option $o of '$v --help' is not documented in docs/mdevpasidctl.8"
        done
done
for v in $(sed -n 's/^\.\\" verb: \([a-z-]*\) planned$/\1/p' "$man8"); do
        # The entry of a planned verb (up to the next marker or section) says so.
        sed -n "/^\\.\\\\\" verb: $v planned\$/,/^\\.\\(\\\\\" verb:\\|SS\\|SH\\)/p" "$man8" |
                grep -q "Not in this build yet\." || fail "planned verb '$v' lacks \"Not in this build yet.\""
done

# org.mdevpasid1(5) against the contract.
man5=$top_builddir/docs/org.mdevpasid1.5
for m in $(sed -n 's/.*<\(method\|property\|signal\) name="\([A-Za-z]*\)".*/\2/p' "$top_srcdir/conf/org.mdevpasid1.xml"); do
        grep -q "^\\\\fB$m\\\\fR" "$man5" || fail "org.mdevpasid1.5 has no entry for $m"
done
finish
