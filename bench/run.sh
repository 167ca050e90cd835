#!/bin/sh
# bench/run.sh: the product against Debian's mdevctl and against its own floors, on generated
# hosts (issue 9). "make bench" runs it from the build directory; by hand:
#   cd build && MDEVPASID_DATADIR=../conf sh ../bench/run.sh
# Needs root (mdevctl 1.2.0 has no root override: it runs in a private mount namespace with
# the generated tree bind-mounted over /sys and /etc/mdevctl.d, tests/tools/in-fake-root.sh).
# Environment:
#   MDP_BENCH_SIZES    mdevs per host (default "1 100 1000"; add 10000, ~4 more minutes)
#   MDP_BENCH_LAYOUTS  default "single sriov"
#   MDP_BENCH_RUNS     timed runs per command (default 15; fewer when a command is slow)
#   MDP_BENCH_EVENTS   sizes for the event latency (default "1 100 1000"); MDP_BENCH_REPS (50)
#   MDP_BENCH_AUTOSTART numbers of auto definitions (default "10 100")
#   MDP_BENCH_TREES    where generated hosts are kept between runs (default /tmp/mdp-bench-trees)
#   MDP_BENCH_JSON     the result file (default bench/results.json in the build directory)
# Prints a table as it goes and a summary at the end. Figures are medians over interleaved
# runs; ratios compare with a baseline measured in the same run. Nothing here fails on a
# number: targets are goals (bench/README.md), not assertions.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
B=$(pwd)
SIZES=${MDP_BENCH_SIZES:-"1 100 1000"}
LAYOUTS=${MDP_BENCH_LAYOUTS:-"single sriov"}
RUNS=${MDP_BENCH_RUNS:-15}
EVENTS=${MDP_BENCH_EVENTS:-"1 100 1000"}
REPS=${MDP_BENCH_REPS:-50}
AUTOSTART=${MDP_BENCH_AUTOSTART:-"10 100"}
TREES=${MDP_BENCH_TREES:-/tmp/mdp-bench-trees}
OUT=${MDP_BENCH_JSON:-$B/bench/results.json}
GEN=$top_srcdir/tests/tools/gen-fake-sysfs.py
INROOT=$top_srcdir/tests/tools/in-fake-root.sh
CLI=$B/cli/mdevpasidctl
export MDEVPASID_DATADIR=${MDEVPASID_DATADIR:-$top_srcdir/conf}
unset MDEVPASID_ROOT DBUS_SESSION_BUS_ADDRESS || true

for p in cli/mdevpasidctl daemon/mdevpasidd bench/cmdtime bench/daemon bench/events bench/engine; do
        [ -x "$B/$p" ] || { echo "bench: $B/$p is missing: run make check TESTS= (or make bench) first" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (mdevctl runs in a private mount namespace)" >&2; exit 1; }
command -v mdevctl >/dev/null || { echo "bench: mdevctl is not installed (tests/setup.sh installs it)" >&2; exit 1; }

RAW=$(mktemp /tmp/mdp-bench-raw.XXXXXX)
trap 'rm -f "$RAW"' EXIT
mkdir -p "$TREES" "$(dirname "$OUT")"

# gen NAME ARGS...: a generated host under $TREES/NAME, made again only when ARGS changed.
gen() {
        name=$1; shift
        d=$TREES/$name
        if [ "$(cat "$d/stamp" 2>/dev/null)" != "$*" ]; then
                rm -rf "$d"
                python3 "$GEN" "$d" "$@" >/dev/null
                echo "$*" > "$d/stamp"
        fi
        echo "$d"
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)," \
     "mdevctl $(dpkg-query -W -f='${Version}' mdevctl 2>/dev/null || echo '?')"

for layout in $LAYOUTS; do
        for n in $SIZES; do
                types=16
                # 10,000 VFs of 16 types are 1.1 million files: 4 types keep it to minutes.
                [ "$layout" = sriov ] && [ "$n" -ge 10000 ] && types=4
                root=$(gen "$layout-$n" --layout "$layout" --active "$n" --defined "$n" --attrs 2 \
                        --types-per-vf "$types" --kernel-like)
                lab="\"layout\":\"$layout\",\"size\":$n"
                echo "== $layout, $n mdevs ($([ "$layout" = sriov ] && echo "$n VFs x $types types" || echo "1 parent"))"
                budget=20
                [ "$n" -ge 10000 ] && budget=30
                # The CLI: mdevctl, ours reading sysfs (no daemon on the bus it is given),
                # ours with the daemon running; interleaved, inside the namespace (mdevctl
                # reads /sys; ours MDEVPASID_ROOT, the same tree).
                set --
                for verb in "list" "list --defined" "types" "list --dumpjson"; do
                        set -- "$@" "$verb"
                done
                "$B/bench/daemon" --root "$root" --daemon "$B/daemon/mdevpasidd" --starts 5 --calls-budget 3 \
                        --label "$lab" --json "$RAW" -- \
                        "$INROOT" "$root" sh -c '
                        B=$1 root=$2 runs=$3 budget=$4 lab=$5 raw=$6 cli=$7; shift 7
                        for verb in "$@"; do
                                echo "  -- $verb"
                                "$B/bench/cmdtime" -n "$runs" -t "$budget" -j "$raw" \
                                        -l "$lab,\"verb\":\"$verb\"" \
                                        -c "mdevctl=mdevctl $verb" \
                                        -c "ours-no-daemon=MDEVPASID_ROOT=$root DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent $cli $verb" \
                                        -c "ours-daemon=MDEVPASID_ROOT=$root $cli --source=daemon $verb"
                        done' bench "$B" "$root" "$RUNS" "$budget" "$lab" "$RAW" "$CLI" "$@" ||
                        echo "bench: $layout-$n: failed (see above); going on"
        done
done

# The testbed on the disk, as the product runs, and on tmpfs: state.json is written with
# fsync (file and directory) and the sim writes its tree; on a shared disk those dominate.
echo "== uevent to D-Bus signal (simulated host, sriov: N VFs with one mdev each + 8 spare VFs)"
for n in $EVENTS; do
        for fs in disk tmpfs; do
                echo "  -- $n mdevs, testbed on $fs"
                tmp=/tmp; [ $fs = tmpfs ] && tmp=/dev/shm
                TMPDIR=$tmp "$B/bench/events" --gen "$GEN" --size "$n" --reps "$REPS" \
                        --label "\"size\":$n,\"fs\":\"$fs\"" --json "$RAW" 2>/dev/null || echo "bench: events failed"
        done
done

echo "== autostart of N auto definitions when their parent registers"
for n in $AUTOSTART; do
        echo "  -- $n definitions: mdevctl start-parent-mdevs (writes create, does not wait) vs the daemon (waits for each device)"
        root=$(gen "auto-$n" --layout single --defined "$n" --start auto --kernel-like)
        "$INROOT" "$root" "$B/bench/cmdtime" -n 5 -w 1 -t 30 -j "$RAW" -l "\"size\":$n,\"verb\":\"start-parent-mdevs\"" \
                -c "mdevctl=mdevctl start-parent-mdevs 0000:00:02.0"
        for fs in disk tmpfs; do
                tmp=/tmp; [ $fs = tmpfs ] && tmp=/dev/shm
                printf "  (testbed on %s)" $fs
                TMPDIR=$tmp "$B/bench/events" --gen "$GEN" --autostart "$n" --label "\"size\":$n,\"fs\":\"$fs\"" \
                        --json "$RAW" 2>/dev/null || echo "bench: autostart failed"
        done
done

echo "== engine"
"$B/bench/engine" --json "$RAW.engine"
if [ -x "$B/bench/pasid" ]; then
        echo "== PASID allocator"
        "$B/bench/pasid" 100000 1000000 | tee "$RAW.pasid" || true
fi

python3 - "$RAW" "$OUT" <<'EOF'
import json, os, platform, subprocess, sys
raw, out = sys.argv[1], sys.argv[2]
recs = [json.loads(l) for l in open(raw) if l.strip()]
extra = {}
for k in ("engine", "pasid"):
    p = raw + "." + k
    if os.path.exists(p):
        try:
            extra[k] = json.load(open(p))
        except ValueError:
            extra[k] = open(p).read()
        os.unlink(p)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    mv = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "mdevctl"], capture_output=True, text=True).stdout
except OSError:
    mv = "?"
machine = {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "mdevctl": mv}
json.dump({"machine": machine, "results": recs, **extra}, open(out, "w"), indent=1)

def fmt(x, unit=""):
    return "-" if x is None else ("%.2f%s" % (x, unit) if x < 100 else "%.0f%s" % (x, unit))

print("\n=== summary (medians; speedup = mdevctl / ours, > 1 is faster; per-mdev = ours / size)")
cmd = [r for r in recs if r["bench"] == "cmd" and "layout" in r]
sizes = sorted({r["size"] for r in cmd})
print("%-7s %-16s %6s | %9s %9s %9s | %8s %8s | %9s %9s | %9s" % (
    "layout", "verb", "size", "mdevctl", "no-daemon", "daemon", "x nod", "x daemon", "RSS mdevctl", "RSS ours", "us/mdev d"))
for layout in ("single", "sriov"):
    for verb in ("list", "list --defined", "types", "list --dumpjson"):
        for n in sizes:
            g = {r["name"]: r for r in cmd if r["layout"] == layout and r["verb"] == verb and r["size"] == n}
            if not g:
                continue
            m, a, d = g.get("mdevctl"), g.get("ours-no-daemon"), g.get("ours-daemon")
            med = lambda r: r and r["wall_ms"]["median"]
            print("%-7s %-16s %6d | %8sms %8sms %8sms | %7sx %7sx | %8sK %8sK | %9s" % (
                layout, verb, n, fmt(med(m)), fmt(med(a)), fmt(med(d)),
                fmt(a and a["speedup"]), fmt(d and d["speedup"]),
                fmt(m and m["rss_kib"]["max"]), fmt(d and d["rss_kib"]["max"]),
                fmt(d and 1000 * med(d) / max(n, 1))))
print("\n%-7s %6s | %10s %10s %12s | %9s %9s %9s %9s %9s" % (
    "layout", "size", "ready ms", "VmHWM KiB", "ready us/mdev", "Ping ms", "ListDev", "Snapshot", "Describe", "ListTypes"))
for layout in ("single", "sriov"):
    for n in sizes:
        st = [r for r in recs if r["bench"] == "daemon-start" and r.get("layout") == layout and r["size"] == n]
        if not st:
            continue
        db = {r["method"]: r for r in recs if r["bench"] == "dbus" and r.get("layout") == layout and r["size"] == n}
        x = lambda k: db.get(k) and "%.3f/x%.1f" % (db[k]["ms"]["median"], db[k]["x_ping"])
        print("%-7s %6d | %10.1f %10.0f %12.1f | %9s %9s %9s %9s %9s" % (
            layout, n, st[0]["ready_ms"]["median"], st[0]["vmhwm_kib"]["max"],
            1000 * st[0]["ready_ms"]["median"] / max(n, 1),
            db.get("Peer.Ping") and "%.3f" % db["Peer.Ping"]["ms"]["median"],
            x("ListDevices"), x("Snapshot(devices)"), x("Describe"), x("ListTypes")))
ev = [r for r in recs if r["bench"] == "event"]
if ev:
    print("\n%-40s %6s %5s | %9s %9s" % ("uevent to signal", "size", "fs", "p50 ms", "p99 ms"))
    for r in ev:
        print("%-40s %6d %5s | %9.3f %9.3f" % (r["what"], r["size"], r.get("fs", "disk"), r["ms"]["median"], r["ms"]["p99"]))
au = [r for r in recs if r["bench"] == "autostart"]
for r in au:
    mc = next((c for c in recs if c["bench"] == "cmd" and c.get("verb") == "start-parent-mdevs" and c["size"] == r["size"]), None)
    print("autostart %5d definitions, testbed on %-5s: %.1f ms (%.2f ms/device)%s" % (
        r["devices"], r.get("fs", "disk"), r["ms"], r["ms_per_device"],
        mc and "; mdevctl start-parent-mdevs %.1f ms (writes only)" % mc["wall_ms"]["median"] or ""))
import re
if isinstance(extra.get("pasid"), str):
    m = re.search(r"(\d+) live: (\d+) ns/op", extra["pasid"])
    if m:
        print("PASID free+allocate at %s live: %s ns/op (%.2f M ops/s)" % (m.group(1), m.group(2), 1e3 / int(m.group(2))))
print("\nresults: %s" % out)
EOF
