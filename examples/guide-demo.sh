#!/usr/bin/env bash
# "Configuring Autokey" (the reference's guide, 4.2.8 docs §6.7) run as printed
# on three simulated hosts: a trusted server `server` and the clients `client`
# (unicast, IFF) and `client2` (multicast 224.0.1.1, IFF). Run as root.
#
# Each host is a network namespace on a private bridge (192.0.2.0/24, no
# route out: nothing leaves this machine) plus, for every command run "on"
# it, a mount namespace with an overlay on /etc (so /etc/ntp and
# /etc/ntp.conf are the host's own, at the guide's literal paths) and a UTS
# namespace with the host's name (so ntp-keygen names files
# ntpkey_*_server, ntpkey_*_client). The guide's command blocks run in bash
# exactly as printed, the backquoted awk updates included; `mail` delivers
# to a mailbox the client reads. Every daemon runs with `disable ntp` and
# without CAP_SYS_TIME: the clock is never adjusted. Everything made here
# is removed on exit, on failure too.
#
# Prints, for each client, `ntpq -p`, `ntpq -c as`, `ntpq -c "rv 0 cert"`
# and the Autokey flags, once its server's identity is verified
# (WAIT seconds at most, 60 by default). Exit status 0 when both clients
# show `ok` in `ntpq -c as` with the identity proven.
set -euo pipefail
cd "$(dirname "$0")/.."
WAIT="${WAIT:-60}"

# GUIDE_DEMO_BIN: a directory with ntpd, ntpq and ntp-keygen already built
# (the test that runs this script); otherwise they are built here.
if [ -n "${GUIDE_DEMO_BIN:-}" ]; then
    bin="$GUIDE_DEMO_BIN"
else
    cargo build -q --bin ntpd --bin ntpq --bin ntp-keygen
    bin="$(pwd)/target/debug"
fi
work="$(mktemp -d /tmp/guide-demo.XXXXXX)"
tag="gd$$"
hosts=(server client client2)
declare -A addr=([server]=192.0.2.1 [client]=192.0.2.2 [client2]=192.0.2.3)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for h in lan "${hosts[@]}"; do ip netns del "$tag-$h" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The LAN: a bridge in its own namespace, one veth per host.
ip netns add "$tag-lan"
ip -n "$tag-lan" link add br0 type bridge mcast_snooping 0
ip -n "$tag-lan" link set br0 up
for h in "${hosts[@]}"; do
    ip netns add "$tag-$h"
    ip -n "$tag-lan" link add "v-$h" type veth peer name eth0 netns "$tag-$h"
    ip -n "$tag-lan" link set "v-$h" master br0 up
    ip -n "$tag-$h" link set lo up
    ip -n "$tag-$h" addr add "${addr[$h]}/24" dev eth0
    ip -n "$tag-$h" link set eth0 up
    ip -n "$tag-$h" route add 224.0.0.0/4 dev eth0
    # The host's /etc: an overlay whose upper layer holds what the guide
    # adds (/etc/ntp, /etc/ntp.conf) and the LAN's names in /etc/hosts.
    mkdir -p "$work/$h/upper" "$work/$h/ovl"
    # A fresh /etc/ntp.conf; a machine's own /etc/ntp hidden (a whiteout).
    : >"$work/$h/upper/ntp.conf"
    if [ -e /etc/ntp ]; then mknod "$work/$h/upper/ntp" c 0 0; fi
    { cat /etc/hosts; for o in "${hosts[@]}"; do echo "${addr[$o]} $o"; done; } >"$work/$h/upper/hosts"
done

# The guide's `| mail timelord@client.domain`: a mailbox per address.
mkdir -p "$work/bin" "$work/mail"
cat >"$work/bin/mail" <<MAIL
#!/bin/sh
cat >>"$work/mail/\$1"
MAIL
chmod +x "$work/bin/mail"

# on HOST CMD…: CMD on HOST (its network, its /etc, its name), with our
# ntp-keygen, ntpd and ntpq first on PATH. `argv_on` only sets ARGV to it,
# for a daemon started with `&` (each program execs the next: $! is ntpd).
argv_on() {
    local h="$1"
    shift
    ARGV=(env "PATH=$bin:$work/bin:$PATH" ip netns exec "$tag-$h" unshare --mount --uts --propagation private
        sh -c 'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/ovl" /etc &&
               hostname "$2" && shift 2 && exec "$@"' sh "$work/$h" "$h" "$@")
}
on() {
    argv_on "$@"
    "${ARGV[@]}"
}
# guide HOST SECTION BLOCK: runs the block's lines one by one on HOST, each
# printed as typed; a `cd` line applies to the lines after it.
guide() {
    local h="$1" dir=/ line
    printf '\n%s [%s]\n' "$h" "$2"
    while IFS= read -r line; do
        printf '%s# %s\n' "$h" "$line"
        case "$line" in
        "cd "*) dir="${line#cd }" ;;
        esac
        on "$h" bash -euo pipefail -c "cd $dir && $line"
    done <<<"$3"
}
# conf HOST TEXT: TEXT appended to HOST's /etc/ntp.conf, and shown.
conf() {
    printf '\n%s: /etc/ntp.conf\n' "$1"
    printf '%s\n' "$2" | sed 's/^/    /'
    on "$1" sh -c 'cat >>/etc/ntp.conf' <<<"$2"
}

echo "== 6.7.1 Server Set-Up on host server (${addr[server]})"
guide server 6.7.1.1 'mkdir /etc/ntp'
conf server 'crypto pw serverpassword
keysdir /etc/ntp'
conf server 'broadcast 224.0.1.1 autokey minpoll 3'
conf server '# not from the guide: the clock stays untouched, the server serves
# as an orphan (stratum 5) since it has no upstream, polls are quick
disable ntp
tos orphan 5 orphanwait 1'
guide server 6.7.1.3.1 'cd /etc/ntp
ntp-keygen -T -I -p serverpassword'
guide server 6.7.1.3.2 'cd /etc/ntp
ntp-keygen -T -G -p serverpassword'
# The guide prints `-V N -p serverpassword.`: N = 5, without the full stop
# that ends its sentence (it would become part of the password).
guide server 6.7.1.3.3 'cd /etc/ntp
ntp-keygen -V 5 -p serverpassword'
guide server 6.7.1.3.4 'cd /etc/ntp
ntp-keygen -T -I -q serverpassword
ntp-keygen -T -G -q serverpassword
ntp-keygen -V 5 -q serverpassword'
# Exported after 6.7.1.3.4, which made new IFF parameters.
guide server "6.7.1.3.1 export" 'cd /etc/ntp
ntp-keygen -e -q serverpassword -p clientpassword | mail timelord@client.domain'
guide server 6.7.1.5 "cd /etc/ntp
ntp-keygen -T -q \`awk '/crypto pw/ { print \$3 }' </etc/ntp.conf\`"

for c in client client2; do
    echo
    echo "== 6.7.2 Client Set-Up on host $c (${addr[$c]})"
    guide "$c" 6.7.2.1 'mkdir /etc/ntp'
    conf "$c" 'crypto pw clientpassword
keysdir /etc/ntp'
    if [ "$c" = client ]; then
        conf "$c" 'server server autokey minpoll 3 maxpoll 3 iburst'
    else
        conf "$c" 'multicastclient 224.0.1.1'
    fi
    conf "$c" '# not from the guide: the clock stays untouched
disable ntp'
    guide "$c" 6.7.2.3 'cd /etc/ntp
ntp-keygen -H -p clientpassword'
    # "copy the key file to the keysdir": each mailed file under its name.
    on "$c" awk '/^# ntpkey_/ { f = "/etc/ntp/" $2 } { print > f }' "$work/mail/timelord@client.domain"
    iffkey="$(sed -n 's/^# \(ntpkey_iffpar_server\..*\)/\1/p' "$work/mail/timelord@client.domain")"
    guide "$c" 6.7.2.4.1 "cd /etc/ntp
ln -s $iffkey ntpkey_iff_server"
    guide "$c" "6.7.2.4.1 (may be necessary)" "cd /etc/ntp
ln -s ntpkey_host_$c ntpkey_iff_$c"
    guide "$c" 6.7.2.6 "cd /etc/ntp
ntp-keygen -q \`awk '/crypto pw/ { print \$3 }' </etc/ntp.conf\`"
done

echo
echo "== 6.7.1.4 / 6.7.2.5 (Re)start ntpd on each host"
for h in "${hosts[@]}"; do
    argv_on "$h" setpriv --bounding-set -sys_time --inh-caps -sys_time \
        ntpd -n -c /etc/ntp.conf -l "$work/$h.log"
    "${ARGV[@]}" </dev/null >>"$work/$h.log" 2>&1 &
    pids+=($!)
    [ "$h" = server ] && sleep 1
done

# ntpq runs on the host's network; it needs nothing else of the host.
q() {
    local h="$1"
    shift
    ip netns exec "$tag-$h" "$bin/ntpq" "$@"
}
verified() { grep -q "identity verified" "$work/$1.log" 2>/dev/null && q "$1" -c as 2>/dev/null | grep -q ' ok '; }
for _ in $(seq "$((WAIT * 2))"); do
    verified client && verified client2 && break
    sleep 0.5
done

status=0
for c in client client2; do
    echo
    echo "== 6.7.3 Monitoring Authentication Status on host $c"
    for cmd in "-p" "-c as" "-c \"rv 0 cert\"" "-c \"rv &1 flags\""; do
        printf '%s$ ntpq %s\n' "$c" "$cmd"
        eval "q $c $cmd" || true
    done
    echo "$c: ntpd's log says:"
    grep -E "identity|Autokey|autokey|refused" "$work/$c.log" | sed 's/^/    /' || true
    if verified "$c"; then
        echo "$c: auth ok, server identity verified"
    else
        echo "$c: NOT verified within ${WAIT}s; its log:"
        sed 's/^/    /' "$work/$c.log"
        status=1
    fi
done
exit "$status"
