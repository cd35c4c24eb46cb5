#!/usr/bin/env bash
# Runs our ntpd, the reference ntpd and chronyd as clients of a chronyd
# server under clknetsim (chrony's LD_PRELOAD clock and network simulator)
# in the same scenarios and seeds, and prints one table.  Nothing of
# clknetsim is part of this repository: give a built or unbuilt checkout
# in CLKNETSIM_DIR, or let the script clone the public source into the
# work directory and build it there.
#
# usage: clock/sim/compare.sh [-s SEEDS] [-c CLIENTS] [-x SCENARIOS] [-j JOBS] [-w WORKDIR]
#   SEEDS      default "1 2 3 4 5 6 7 8"
#   CLIENTS    any of: ours ref chronyd (default all three)
#   SCENARIOS  any of (default all three):
#                anchor1  1 server, minpoll 6 maxpoll 6, 40 000 s
#                anchor3  3 servers, minpoll 6 maxpoll 6, 40 000 s
#                default  1 server, default poll (64-1024 s), 100 000 s
#              every scenario: network delay 1 ms + exp(1 ms) each way,
#              random-walk frequency wander (1e-9 per s), 10 ms initial
#              offset, statistics over the time after 2000 s
#   JOBS       simulations at a time (default 1; they are CPU-bound)
# environment:
#   OUR_NTPD     our daemon (default: target/release/ntpd, built if absent)
#   REF_NTPD     reference ntpd (default /opt/ntp-ref/usr/sbin/ntpd)
#   REF_LIBS     its LD_LIBRARY_PATH (default /opt/ntp-ref/usr/lib/x86_64-linux-gnu)
#   CHRONYD      chronyd, also the server (default /usr/sbin/chronyd)
#   OFFSET_LOG   if set, clknetsim logs every node's offset each second (log.offset)
#   OURS_EXTRA   lines appended to our client's configuration (experiments,
#                e.g. "disable kernel")
#   CLKNETSIM_DIR   clknetsim checkout (built here with make if needed)
#   TOKIO_SHIM   the epoll/eventfd shim our tokio daemon needs under
#                clknetsim, as a .so or its .c source (built into WORKDIR)
#
# Every daemon runs without CAP_SYS_TIME (setpriv); clknetsim intercepts
# adjtimex/clock_adjtime, so only the simulated clock is disciplined.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
seeds="1 2 3 4 5 6 7 8"
clients="ours ref chronyd"
scenarios="anchor1 anchor3 default"
jobs=1
work=${TMPDIR:-/tmp}/ntpd-compare
while getopts "s:c:x:j:w:h" o; do
    case $o in
    s) seeds=$OPTARG ;;
    c) clients=$OPTARG ;;
    x) scenarios=$OPTARG ;;
    j) jobs=$OPTARG ;;
    w) work=$OPTARG ;;
    *) sed -n '2,30s/^# \{0,1\}//p' "$0"; exit 2 ;;
    esac
done
mkdir -p "$work"
work=$(cd "$work" && pwd)

OUR_NTPD=${OUR_NTPD:-$repo/target/release/ntpd}
REF_NTPD=${REF_NTPD:-/opt/ntp-ref/usr/sbin/ntpd}
REF_LIBS=${REF_LIBS:-/opt/ntp-ref/usr/lib/x86_64-linux-gnu}
CHRONYD=${CHRONYD:-/usr/sbin/chronyd}

die() { echo "compare.sh: $*" >&2; exit 1; }

# --- prerequisites ---------------------------------------------------------
if [ -z "${CLKNETSIM_DIR:-}" ]; then
    CLKNETSIM_DIR=$work/clknetsim
    [ -d "$CLKNETSIM_DIR" ] ||
        git clone --depth 1 https://github.com/mlichvar/clknetsim "$CLKNETSIM_DIR" ||
        die "cannot clone clknetsim; set CLKNETSIM_DIR to a checkout"
fi
if [ ! -x "$CLKNETSIM_DIR/clknetsim" ] || [ ! -e "$CLKNETSIM_DIR/clknetsim.so" ]; then
    make -C "$CLKNETSIM_DIR" >"$work/clknetsim-make.log" 2>&1 ||
        die "building clknetsim failed, see $work/clknetsim-make.log"
fi
case " $clients " in *" ours "*)
    if [ ! -x "$OUR_NTPD" ]; then
        (cd "$repo" && cargo build --release -p ntpd --bin ntpd) || die "cannot build ntpd"
    fi
    shim=${TOKIO_SHIM:-}
    [ -n "$shim" ] || die "set TOKIO_SHIM to clknetsim_tokio_shim.c or .so (our daemon runs on tokio)"
    if [[ $shim == *.c ]]; then
        cc -O2 -shared -fPIC -o "$work/clknetsim_tokio_shim.so" "$shim" -ldl ||
            die "cannot build $shim"
        shim=$work/clknetsim_tokio_shim.so
    fi
    [ -e "$shim" ] || die "no shim at $shim"
    ;;
esac
case " $clients " in *" ref "*) [ -x "$REF_NTPD" ] || die "no reference ntpd at $REF_NTPD" ;; esac
[ -x "$CHRONYD" ] || die "no chronyd at $CHRONYD (it is also the server)"
command -v setpriv >/dev/null || die "setpriv (util-linux) is needed"

# --- one simulation --------------------------------------------------------
# start NODE PRELOAD LIBS PROGRAM ARGS...: run a daemon as clknetsim node
# NODE, without CAP_SYS_TIME, the preload on the daemon only.
start() {
    local node=$1 pre=$2 libs=$3
    shift 3
    setpriv --bounding-set -sys_time --inh-caps -sys_time \
        env -u NTPD ${libs:+LD_LIBRARY_PATH=$libs} LD_PRELOAD="$pre" CLKNETSIM_NODE=$node \
        CLKNETSIM_SOCKET="$CLKNETSIM_TMPDIR/sock" "$@" &>"$CLKNETSIM_TMPDIR/log.$node" &
    local pid=$!
    disown $pid
    client_pids="$client_pids $pid"
}

# run SCENARIO CLIENT SEED: prints "SCENARIO CLIENT SEED MEAN_ABS RMS POLL"
# (seconds; POLL is the mean interval between requests to one server).
run() {
    local scen=$1 client=$2 seed=$3 nservers limit poll_opts conf n i sim
    set +eu # clknetsim.bash is not written for -e/-u
    export CLKNETSIM_TMPDIR=$work/runs/$scen-$client-$seed
    rm -rf "$CLKNETSIM_TMPDIR"
    mkdir -p "$CLKNETSIM_TMPDIR"
    export CLKNETSIM_PATH=$CLKNETSIM_DIR CLKNETSIM_RANDOM_SEED=$seed
    client_pids=""
    # shellcheck source=/dev/null
    . "$CLKNETSIM_DIR/clknetsim.bash"
    case $scen in
    anchor1) nservers=1 limit=40000 poll_opts="minpoll 6 maxpoll 6" ;;
    anchor3) nservers=3 limit=40000 poll_opts="minpoll 6 maxpoll 6" ;;
    default) nservers=1 limit=100000 poll_opts="" ;;
    *) die "unknown scenario $scen" ;;
    esac
    n=$((nservers + 1))
    generate_config3 $nservers $n 0.01 "(sum (* 1e-9 (normal)))" "(+ 1e-3 (* 1e-3 (exponential)))"
    sim=$CLKNETSIM_DIR/clknetsim.so
    for i in $(seq 1 $nservers); do
        printf 'pidfile %s/pid.%s\nallow\nlocal stratum 1\n' "$CLKNETSIM_TMPDIR" $i >"$CLKNETSIM_TMPDIR/conf.$i"
        start $i "$sim" "" "$CHRONYD" -d -f "$CLKNETSIM_TMPDIR/conf.$i"
    done
    conf=$CLKNETSIM_TMPDIR/conf.$n
    : >"$conf"
    [ $client = chronyd ] && printf 'pidfile %s/pid.%s\n' "$CLKNETSIM_TMPDIR" $n >>"$conf"
    for i in $(seq 1 $nservers); do
        echo "server 192.168.123.$i $poll_opts" >>"$conf"
    done
    [ $client = ours ] && [ -n "${OURS_EXTRA:-}" ] && printf '%b\n' "$OURS_EXTRA" >>"$conf"
    case $client in
    ours) start $n "$shim:$sim" "" "$OUR_NTPD" -n -c "$conf" ;;
    ref) start $n "$sim" "$REF_LIBS" "$REF_NTPD" -n -c "$conf" ;;
    chronyd) start $n "$sim" "" "$CHRONYD" -d -f "$conf" ;;
    *) die "unknown client $client" ;;
    esac
    start_server $n -v 2 -r 2000 -l $limit ${OFFSET_LOG:+-o "$CLKNETSIM_TMPDIR/log.offset"} >&2 || echo "$scen $client $seed: clknetsim failed" >&2
    local mabs rms pint
    mabs=$(get_stat 'Mean absolute offset' $n)
    rms=$(get_stat 'RMS offset' $n)
    pint=$(get_stat 'Mean outgoing packet interval' $n)
    echo "$scen $client $seed $mabs $rms $(awk -v p="$pint" -v k=$nservers 'BEGIN { print p * k }')"
}

results=$work/results.txt
: >"$results"
for scen in $scenarios; do
    for client in $clients; do
        for seed in $seeds; do
            while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
            (run $scen $client $seed >>"$results") &
        done
    done
done
wait

# --- the table -------------------------------------------------------------
echo "clknetsim, server chronyd 'local stratum 1', seeds: $seeds; statistics after 2000 s"
echo "| scenario | client | mean abs offset µs | RMS offset µs | mean poll s | RMS per seed µs |"
echo "|---|---|---|---|---|---|"
for scen in $scenarios; do
    for client in $clients; do
        sort -k3n "$results" | awk -v s=$scen -v c=$client '
            $1 == s && $2 == c { n++; a += $4; r += $5; p += $6; per = per sprintf(" %.0f", $5 * 1e6) }
            END { if (n) printf "| %s | %s | %.0f | %.0f | %.0f |%s |\n", s, c, a / n * 1e6, r / n * 1e6, p / n, per }'
    done
done
