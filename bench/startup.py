#!/usr/bin/env python3
"""Start-up benchmark: how soon an NTP daemon answers, and how soon it has
chosen a system peer, after it is started with `iburst` to 4 sources.

Two network namespaces joined by a veth pair: `ntpstart-s-<pid>` holds four
chronyd servers (`local stratum 1`, 10.123.0.11-14), `ntpstart-c-<pid>` the
daemon under test (10.123.0.2) with `server 10.123.0.1N iburst` for the
four.  A probe in the client's namespace sends NTP mode 3 requests to
127.0.0.1:123, one per millisecond until the first reply, then one per
20 ms, and records from just before the daemon's exec:

  first reply   the first reply of any kind (unsynchronised or not)
  system peer   the first reply with leap != 3 and stratum 1-15, which a
                daemon sends only once it has chosen a system peer
                (RFC 5905 sec. 11.2.1 clock_update sets leap and stratum)

Every daemon runs without CAP_SYS_TIME (setpriv), so none can touch this
machine's clock: chronyd with -x; both ntpds without `disable ntp` (with
it neither ever leaves stratum 16, as the reference's loop returns early),
so their clock adjustments fail with EPERM and are logged.  The namespaces
are deleted at the end, on an error and on SIGINT/SIGTERM; only the
processes started here are killed.

usage: sudo bench/startup.py [--clients ours,ref,chronyd] [--runs N]
           [--ours PATH] [--ref PATH] [--ref-libs DIR] [--chronyd PATH]
           [--out FILE]
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

SERVERS = [f"10.123.0.{11 + i}" for i in range(4)]
CLIENT = "10.123.0.2"


def run(*args):
    """Run a command, raising with its error output if it fails."""
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")


class Namespaces:
    """The two namespaces and the veth pair between them."""

    def __init__(self):
        pid = os.getpid()
        self.server = f"ntpstart-s-{pid}"
        self.client = f"ntpstart-c-{pid}"
        self.made = []

    def __enter__(self):
        for ns in (self.server, self.client):
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.server, "link", "add", "vs", "type", "veth", "peer", "name", "vc",
            "netns", self.client)
        for a in SERVERS:
            run("ip", "-n", self.server, "addr", "add", f"{a}/24", "dev", "vs")
        run("ip", "-n", self.client, "addr", "add", f"{CLIENT}/24", "dev", "vc")
        run("ip", "-n", self.server, "link", "set", "vs", "up")
        run("ip", "-n", self.client, "link", "set", "vc", "up")
        return self

    def __exit__(self, *exc):
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def start_daemon(ns, argv, log, env=None):
    """Start a daemon in namespace `ns` without CAP_SYS_TIME."""
    cmd = ["ip", "netns", "exec", ns, "setpriv", "--bounding-set", "-sys_time",
           "--inh-caps", "-sys_time"] + argv
    e = dict(os.environ)
    e.pop("NTPD", None)
    e.update(env or {})
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            env=e, start_new_session=True)


def stop(procs):
    """Terminate the given processes (those started here), then reap them."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Probe:
    """Mode 3 requests from inside a namespace (a child process that opens
    its socket there and reports replies on a pipe)."""

    def __init__(self, ns, target):
        self.ns, self.target = ns, target

    def script(self, interval_first, interval_after, deadline):
        return f"""
import os, random, select, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
print('ready', flush=True)
start = float(sys.stdin.readline())
first = None
while time.monotonic() - start < {deadline}:
    xmt = random.getrandbits(64)
    req = bytes([0x23]) + bytes(39) + struct.pack('!Q', xmt)
    try:
        s.sendto(req, ('{self.target}', 123))
    except OSError:
        pass
    wait = {interval_first} if first is None else {interval_after}
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        try:
            data, _ = s.recvfrom(512)
        except OSError:
            continue
        if len(data) < 48 or struct.unpack('!Q', data[24:32])[0] != xmt:
            continue
        now = time.monotonic() - start
        li, stratum = data[0] >> 6, data[1]
        if first is None:
            first = now
            print('first', now, flush=True)
        if li != 3 and 1 <= stratum <= 15:
            print('synced', now, stratum, flush=True)
            sys.exit(0)
print('timeout', flush=True)
"""

    def run(self, deadline, interval_first=0.001, interval_after=0.02):
        """Start the probe; it sends nothing until `go` is called."""
        code = self.script(interval_first, interval_after, deadline)
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, "-c", code],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("the probe did not start")
        return p

    @staticmethod
    def go(p, start):
        """Let the probe send, timing replies from monotonic time `start`."""
        p.stdin.write(f"{start!r}\n")
        p.stdin.flush()


def wait_synced(ns, target, deadline=60.0):
    """Block until `target` answers as synchronised (the servers)."""
    p = Probe(ns, target).run(deadline, 0.05, 0.05)
    Probe.go(p, time.monotonic())
    out, _ = p.communicate()
    if "synced" not in out:
        raise RuntimeError(f"server {target} never answered as synchronised")


def client_config(kind, work):
    lines = [f"server {a} iburst" for a in SERVERS]
    if kind == "ours":
        return lines
    if kind == "ref":
        return lines
    return lines + ["allow", "cmdport 0", f"pidfile {work}/chronyd-client.pid"]


def client_argv(kind, conf, work, args):
    if kind == "ours":
        return [args.ours, "-n", "-c", conf], None
    if kind == "ref":
        return ([args.ref, "-n", "-c", conf, "-l", f"{work}/ref.log"],
                {"LD_LIBRARY_PATH": args.ref_libs})
    return [args.chronyd, "-d", "-x", "-u", "root", "-f", conf], None


def one_run(ns, kind, work, args):
    conf = os.path.join(work, f"{kind}.conf")
    with open(conf, "w") as f:
        f.write("\n".join(client_config(kind, work)) + "\n")
    argv, env = client_argv(kind, conf, work, args)
    with open(os.path.join(work, f"{kind}.out"), "a") as log:
        probe = Probe(ns.client, "127.0.0.1").run(args.deadline)
        start = time.monotonic()
        Probe.go(probe, start)
        daemon = start_daemon(ns.client, argv, log, env)
        out, _ = probe.communicate()
        stop([daemon])
    first = synced = None
    for line in out.splitlines():
        f = line.split()
        if f[0] == "first":
            first = float(f[1])
        elif f[0] == "synced":
            synced = float(f[1])
    return first, synced


def exec_overhead(ns):
    """Median time from here to the exec of a program through
    `ip netns exec` and `setpriv` (included in the first-reply figure)."""
    times = []
    for _ in range(5):
        t = time.monotonic()
        start_daemon(ns, ["/bin/true"], subprocess.DEVNULL).wait()
        times.append(time.monotonic() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default="ours,ref,chronyd")
    ap.add_argument("--runs", type=int, default=5)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--ours", default=os.path.join(here, "..", "target", "release", "ntpd"))
    ap.add_argument("--ref", default="/opt/ntp-ref/usr/sbin/ntpd")
    ap.add_argument("--ref-libs", default="/opt/ntp-ref/usr/lib/x86_64-linux-gnu")
    ap.add_argument("--chronyd", default="/usr/sbin/chronyd")
    ap.add_argument("--deadline", type=float, default=30.0)
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (logs)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("startup.py: run as root (it creates network namespaces)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    clients = args.clients.split(",")
    results = {c: [] for c in clients}
    work = tempfile.mkdtemp(prefix="ntpstart-")
    try:
        measure(args, clients, results, work)
    finally:
        if args.keep:
            print(f"logs in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(args, clients, results)


def measure(args, clients, results, work):
    """Start the servers, then run every client `args.runs` times."""
    with Namespaces() as ns:
        servers = []
        try:
            for i, a in enumerate(SERVERS):
                conf = os.path.join(work, f"server{i}.conf")
                with open(conf, "w") as f:
                    f.write(f"local stratum 1\nallow\nbindaddress {a}\ncmdport 0\n"
                            f"pidfile {work}/server{i}.pid\n")
                log = open(os.path.join(work, f"server{i}.out"), "w")
                servers.append(start_daemon(ns.server, [args.chronyd, "-d", "-x", "-u", "root", "-f", conf],
                                     log))
            for a in SERVERS:
                wait_synced(ns.client, a)
            overhead = exec_overhead(ns.client)
            # Interleaved, so that load on the machine hits every daemon alike.
            for _ in range(args.runs):
                for c in clients:
                    results[c].append(one_run(ns, c, work, args))
        finally:
            stop(servers)
    args.overhead = overhead


def p90(values):
    """The 90th percentile (nearest rank: the smallest value at or above
    which 90 % of the runs lie)."""
    v = sorted(values)
    return v[max(0, -(-9 * len(v) // 10) - 1)]


def report(args, clients, results):
    """Print (and with --out write) the table."""
    overhead = args.overhead
    lines = ["| daemon | first reply ms: median | p90 | min-max "
             "| system peer s: median | p90 | min-max | runs |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    names = {"ours": "our ntpd", "ref": "reference ntpd", "chronyd": "chronyd"}
    for c in clients:
        firsts = [f * 1e3 for f, _ in results[c] if f is not None]
        syncs = [s for _, s in results[c] if s is not None]
        fr = (f"{statistics.median(firsts):.1f} | {p90(firsts):.1f} | "
              f"{min(firsts):.1f}-{max(firsts):.1f}" if firsts else "no reply | | ")
        sp = (f"{statistics.median(syncs):.2f} | {p90(syncs):.2f} | "
              f"{min(syncs):.2f}-{max(syncs):.2f}" if syncs else "never | | ")
        lines.append(f"| {names.get(c, c)} | {fr} | {sp} | {len(results[c])} |")
    lines.append(f"\n(first reply includes `ip netns exec` + `setpriv` + the exec of a "
                 f"program: {overhead * 1e3:.1f} ms for /bin/true)")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
