#!/usr/bin/env bash
# A real systemd run of the package (manual; not part of .ci/run, it needs
# ~210 MB and a minute): a minimal Debian 12 tree from mmdebstrap, the
# .deb installed with dpkg --root, booted with systemd-nspawn --boot
# --private-network. Inside, a oneshot unit checks that ntpd.service is
# active (READY=1 seen), shows its StatusText, uid, capabilities,
# NoNewPrivs and Seccomp, reloads it (SIGHUP), stops it, and powers off;
# the results are printed, the tree removed.
# systemd-nspawn drops CAP_SYS_TIME from the container, so the unit's
# ConditionCapability is reset by a drop-in and ntp.conf says
# `disable ntp`: the host clock is never touched.
# Needs root, mmdebstrap and systemd-container; run after build-deb.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
deb=$(ls target/debian/ntpd-autokey_*.deb | head -n1)
root=$(mktemp -d /tmp/ntpd-nspawn.XXXXXX)
trap 'rm -rf "$root"' EXIT
mmdebstrap --variant=minbase --include=systemd,systemd-sysv,libssl3,dbus,procps bookworm "$root" >/dev/null
dpkg --root="$root" --log=/dev/null -i "$deb" >/dev/null
mkdir -p "$root/etc/systemd/system/ntpd.service.d"
printf '[Unit]\nConditionCapability=\n' >"$root/etc/systemd/system/ntpd.service.d/nspawn.conf"
printf 'disable ntp\ntos orphan 5 orphanwait 1\ndriftfile /var/lib/ntp/ntp.drift\n' >"$root/etc/ntp.conf"
cat >"$root/usr/local/sbin/svc-check" <<'EOF'
#!/bin/sh
exec >/svc-results.txt 2>&1
sleep 8
echo "active: $(systemctl is-active ntpd.service)"
systemctl show ntpd.service -p Type -p StatusText -p MainPID -p WatchdogUSec -p NRestarts
grep -E '^(Uid|CapEff|CapPrm|NoNewPrivs|Seccomp):' "/proc/$(systemctl show -p MainPID --value ntpd.service)/status"
systemctl reload ntpd.service; echo "reload rc=$?"
sleep 3
echo "after reload: $(systemctl is-active ntpd.service), pid $(systemctl show -p MainPID --value ntpd.service)"
systemctl stop ntpd.service; echo "stop rc=$?"
systemctl show ntpd.service -p ActiveState -p Result -p ExecMainStatus
journalctl -u ntpd.service --no-pager -o cat
systemctl poweroff
EOF
chmod +x "$root/usr/local/sbin/svc-check"
printf '[Unit]\nAfter=ntpd.service\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/svc-check\n[Install]\nWantedBy=multi-user.target\n' \
    >"$root/etc/systemd/system/svc-check.service"
ln -s /etc/systemd/system/svc-check.service "$root/etc/systemd/system/multi-user.target.wants/svc-check.service"
timeout 180 systemd-nspawn -q -D "$root" --boot --private-network --register=no --keep-unit \
    --machine=ntpd-check >/dev/null 2>&1 || true
cat "$root/svc-results.txt"
grep -q '^active: active$' "$root/svc-results.txt"
grep -q '^Result=success$' "$root/svc-results.txt"
