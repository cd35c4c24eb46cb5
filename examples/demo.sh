#!/usr/bin/env bash
# Self-contained demo (run as root): two of our daemons in a private network
# namespace that this script creates and removes, so nothing leaves this
# machine. A server on 127.0.0.1 (orphan mode, stratum 5) and a client of it
# on 127.0.0.2, both with `disable ntp` and without CAP_SYS_TIME: the clock
# is never adjusted. Prints what `ntpq -p`, `ntpq -c as` and `ntpq -c rv`
# show once the client has chosen its server, then stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
WAIT="${WAIT:-60}"

cargo build -q --bin ntpd --bin ntpq
bin="$(pwd)/target/debug"
work="$(mktemp -d)"
ns="ntpd-demo-$$"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 127.0.0.2/8 dev lo
in_ns=(ip netns exec "$ns" setpriv --bounding-set -sys_time --inh-caps -sys_time)

cat >"$work/server.conf" <<CONF
disable ntp
tos orphan 5 orphanwait 1
restrict default nomodify notrap
CONF
cat >"$work/client.conf" <<CONF
disable ntp
restrict default nomodify notrap
server 127.0.0.1 minpoll 4 maxpoll 4 iburst
CONF

"${in_ns[@]}" "$bin/ntpd" -n -x -I 127.0.0.1 -c "$work/server.conf" -l "$work/server.log" &
pids+=($!)
sleep 2
"${in_ns[@]}" "$bin/ntpd" -n -x -I 127.0.0.2 -c "$work/client.conf" -l "$work/client.log" &
pids+=($!)

q() { ip netns exec "$ns" "$bin/ntpq" "$@"; }
echo "server 127.0.0.1 and client 127.0.0.2 started in namespace $ns; waiting for the client to select its server"
for _ in $(seq "$WAIT"); do
    sleep 1
    if q -n -p 127.0.0.2 2>/dev/null | grep -q '^\*127.0.0.1'; then
        break
    fi
done
for cmd in "-n -p" "-c as" "-c rv"; do
    echo "\$ ntpq $cmd 127.0.0.2"
    # shellcheck disable=SC2086
    q $cmd 127.0.0.2
done
q -n -p 127.0.0.2 | grep -q '^\*127.0.0.1'
