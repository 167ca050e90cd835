#!/bin/bash
# Bash completion for mdevpasidctl (conf/completion/mdevpasidctl): sourced into bash and
# asked, as readline would, for the completions of a few command lines, on the x86-6.12-sm
# capture without a daemon (the helpers then read sysfs and /etc/mdevctl.d; the daemon is
# made unreachable on purpose), then with the real daemon on a private bus over the
# simulated host (tests/sim-daemon.sh), where a device defined through the daemon is offered.
# Also: every verb and long option in --help is offered.
[ -n "${BASH_VERSION:-}" ] && [ -z "${LD_PRELOAD:-}" ] || exec env -u LD_PRELOAD bash "$0" "$@"
. "$top_srcdir/tests/cli-lib.sh"

R=$TMP/host
unpack_fixture x86-6.12-sm "$R"
mkdir -p "$R/etc/mdevctl.d/mtty"
printf '{"mdev_type":"mtty-1","start":"manual","attrs":[]}\n' \
        >"$R/etc/mdevctl.d/mtty/4b20d080-1b54-4048-85b3-a6a62d165c01"
export MDEVPASID_ROOT="$R" DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/no-bus
. "$top_srcdir/conf/completion/mdevpasidctl"
[ "$(complete -p mdevpasidctl)" = "complete -F _mdevpasidctl mdevpasidctl" ] || fail "not registered for mdevpasidctl"
complete -p lsmdev >/dev/null || fail "not registered for lsmdev"

# comp EXPECTED WORD...: the last WORD is completed; EXPECTED is the sorted, space-joined
# reply. The command word is the built binary, as `./build/cli/mdevpasidctl <TAB>` would be.
comp() {
        local want=$1 got
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _mdevpasidctl
        got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | xargs)
        [ "$got" = "$want" ] || fail "completing '${*}': got '$got', expected '$want'"
}
B=$CLI_BIN
comp "list" "$B" li
comp "parents pasid plan" "$B" p
comp "--defined --dumpjson" "$B" list --d
comp "mbochs mdpy mtty" "$B" types -p ""
comp "mtty" "$B" list --parent mt
comp "mtty-1 mtty-2" "$B" start -p mtty -t ""
comp "mbochs-large mbochs-medium mbochs-small" "$B" define --type mb
comp "29a5d629-5236-452f-9c1b-1e3b31a976cc" "$B" stop -u 29
comp "4b20d080-1b54-4048-85b3-a6a62d165c01" "$B" undefine --uuid 4b   # defined, not running
comp "auto daemon sysfs" "$B" --source ""
comp "list" "$B" --source sysfs li # the option's value is not the verb
comp "none nopasid pasid svsa" "$B" plan --viommu ""
comp "alloc free list" "$B" pasid ""
comp "--verbose --version" "$B" list --ver
comp "--dumpjson" lsmdev --du # lsmdev is list
# Nothing is offered for a free-form value.
comp "" "$B" modify --value ""

# Every verb and every long option --help shows is offered.
all_verbs=$(COMP_WORDS=("$B" ""); COMP_CWORD=1; _mdevpasidctl; echo "${COMPREPLY[*]}")
for v in $("$B" --help | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p'); do
        case " $all_verbs " in
        *" $v "*) ;;
        *) fail "verb '$v' from mdevpasidctl --help is not completed: add it to conf/completion/mdevpasidctl" ;;
        esac
        opts=$(COMP_WORDS=("$B" "$v" "--"); COMP_CWORD=2; _mdevpasidctl; echo "${COMPREPLY[*]}")
        for o in $("$B" "$v" --help | sed -n '/^Options:/,$p' | grep -oE '^ +(-[a-zA-Z] )?--[a-z][a-z-]*' |
                grep -oE -- '--[a-z-]+' | sort -u); do
                case " $opts " in
                *" $o "* | *" $o="*) ;;
                *) fail "option $o of '$v --help' is not completed after '$v'" ;;
                esac
        done
done

# With the daemon: the same helpers now ask it (mdevpasidctl --source=auto).
. "$top_srcdir/tests/sim-daemon.sh"
trap 'mdp_sim_daemon_stop; cleanup' EXIT
if mdp_sim_daemon_start "$top_builddir" "$top_srcdir" x86-6.12-sm; then
        mdp_sim_cli_env
        cli define --uuid 4b20d080-1b54-4048-85b3-a6a62d165c09 --parent mdpy --type mdpy-vga >/dev/null ||
                fail "define through the daemon failed"
        comp "mbochs mdpy mtty" "$B" types -p ""
        comp "mtty-1 mtty-2" "$B" start -p mtty -t ""
        comp "4b20d080-1b54-4048-85b3-a6a62d165c09" "$B" start -u 4b
        comp "29a5d629-5236-452f-9c1b-1e3b31a976cc" "$B" stop -u 29
else
        fail "the daemon did not start on the simulated host"
fi
finish
