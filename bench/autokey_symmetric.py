#!/usr/bin/env python3
"""Autokey speed benchmark: seconds from start until every Autokey bit of
the association is lit (RFC 5906 sec. 10 peer status word: CERT, VRFY,
COOK, AUTO, SIGN, LEAP, PROV, i.e. `flags & 0x7f00 == 0x7f00` in
`ntpq -c "rv &1 flags"`), on both sides of a symmetric active/active pair
(`peer X autokey`, sec. 4.2) and on the client of a client/server pair
(`server X autokey`, sec. 4.1), for the TC and IFF identity schemes, with
this project's ntpd and with the reference ntpd 4.2.8p15.

Each cell runs in two network namespaces of its own (`aksym-a-<pid>-N`,
`aksym-b-<pid>-N`, a veth pair 10.124.N.1 = alice, 10.124.N.2 = bob);
cells run concurrently.  Both daemons start at the same moment with
`minpoll 4 maxpoll 4` (the p10-sym-tc fixture's 16-s polls) and
`tos orphan`, so that each is synchronised after about a second (COOK,
SIGN and LEAP need that, sec. 4.2 rows 4, 7, 8).  Every daemon runs with
`disable ntp` and without CAP_SYS_TIME (setpriv), so none can touch this
machine's clock.  The namespaces are deleted at the end, on an error and
on SIGINT/SIGTERM; only the processes started here are killed.

Keys are made fresh for each run by this project's ntp-keygen (whose
files both daemons read): alice `-T -I` (trusted certificate, IFF group
key of group alice), bob `-T` (trusted certificate), and for IFF bob also
gets alice's group key (`-q`, as a trusted host of the group) and both the
client parameters (`-e`).  The reference's own pair in symmetric mode is
measured as well; docs/interop-reference.md records that two 4.2.8p15
daemons never complete it, so the anchor for the symmetric cells is the
reference's client/server time of the same run.

usage: sudo bench/autokey_symmetric.py [--runs N] [--limit S]
           [--cells sym-tc-ours,...] [--ours PATH] [--keygen PATH]
           [--ntpq PATH] [--ref-root DIR]

Prints one table: mode x scheme x pair -> seconds to proventic per run,
the median, and "-" for a run that did not complete within --limit.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FULL = 0x7F00


def run(*args, **kw):
    """Run a command, raising with its error output if it fails."""
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


class Tools:
    """Where the programs are: ours (debug build by default) and the
    reference unpacked under --ref-root (as .ci/run does)."""

    def __init__(self, a):
        self.ours = a.ours
        self.keygen = a.keygen
        self.ntpq = a.ntpq
        ref = a.ref_root
        self.ref_ntpd = os.path.join(ref, "usr/sbin/ntpd")
        self.ref_ntpq = os.path.join(ref, "usr/bin/ntpq")
        self.ref_env = {"LD_LIBRARY_PATH": os.path.join(ref, "usr/lib/x86_64-linux-gnu")}
        for p in (self.ours, self.keygen, self.ntpq):
            if not os.access(p, os.X_OK):
                sys.exit(f"{p}: not found (cargo build -p ntpd --bins)")
        self.have_ref = os.access(self.ref_ntpd, os.X_OK)


def keygen(tools, host, d, *args):
    """Our ntp-keygen in `d` on a host named `host` (a private UTS
    namespace: ntp-keygen names its files after the host name)."""
    return run("unshare", "--uts", "sh", "-c",
               'hostname "$1" && cd "$2" && shift 2 && exec "$@"', "sh", host, d,
               tools.keygen, *args)


def install_export(stream, d):
    """Writes each `# ntpkey_...` block of an export stream into `d`, with
    the link without the filestamp, as the guide installs them."""
    blocks = []
    for line in stream.splitlines():
        if line.startswith("# ntpkey_"):
            blocks.append([line[2:].strip(), ""])
        if blocks:
            blocks[-1][1] += line + "\n"
    for name, text in blocks:
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        link = os.path.join(d, name.rsplit(".", 1)[0])
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(name, link)


def make_keys(tools, top, scheme):
    """alice's and bob's key directories for `scheme` (tc or iff)."""
    a, b = os.path.join(top, "alice-keys"), os.path.join(top, "bob-keys")
    os.makedirs(a)
    os.makedirs(b)
    if scheme == "iff":
        keygen(tools, "alice", a, "-T", "-I", "-p", "serverpassword")
        # Client parameters for both (each verifies the other's identity),
        # and alice's group key for bob, who answers IFF challenges too.
        params = keygen(tools, "alice", a, "-e", "-p", "serverpassword")
        install_export(params, a)
        install_export(params, b)
        install_export(keygen(tools, "alice", a, "-p", "serverpassword", "-q",
                              "clientpassword"), b)
    else:
        keygen(tools, "alice", a, "-T", "-p", "serverpassword")
    keygen(tools, "bob", b, "-T", "-p", "clientpassword")
    return a, b


class Cell:
    """One measurement: mode (sym, cs), scheme (tc, iff), who runs alice
    and bob (ours, ref), run index."""

    def __init__(self, n, mode, scheme, alice, bob, top):
        self.n, self.mode, self.scheme, self.alice, self.bob = n, mode, scheme, alice, bob
        pid = os.getpid()
        self.ns = {"alice": f"aksym-a-{pid}-{n}", "bob": f"aksym-b-{pid}-{n}"}
        self.addr = {"alice": f"10.124.{n}.1", "bob": f"10.124.{n}.2"}
        self.top = os.path.join(top, f"cell{n}")
        self.procs, self.made = [], []
        self.result = None
        self.note = ""

    def label(self):
        pair = f"{self.alice}<->{self.bob}" if self.mode == "sym" else \
            f"{self.bob} client of {self.alice}"
        return f"{'symmetric' if self.mode == 'sym' else 'client/server'} {self.scheme.upper()} {pair}"

    def namespaces(self):
        for ns in self.ns.values():
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        na, nb = self.ns["alice"], self.ns["bob"]
        run("ip", "-n", na, "link", "add", "va", "type", "veth", "peer", "name", "vb",
            "netns", nb)
        run("ip", "-n", na, "addr", "add", f"{self.addr['alice']}/24", "dev", "va")
        run("ip", "-n", nb, "addr", "add", f"{self.addr['bob']}/24", "dev", "vb")
        run("ip", "-n", na, "link", "set", "va", "up")
        run("ip", "-n", nb, "link", "set", "vb", "up")

    def conf(self, host, keys):
        other = self.addr["bob" if host == "alice" else "alice"]
        pw = "serverpassword" if host == "alice" else "clientpassword"
        orphan = 5 if host == "alice" else 10
        ident = " ident alice" if self.scheme == "iff" else ""
        lines = [
            "disable ntp", "disable kernel", f"tos orphan {orphan} orphanwait 1",
            "restrict default nomodify notrap",
            f"logfile {self.top}/{host}.log", f"keysdir {keys}",
            f"statsdir {self.top}/", "statistics cryptostats",
            f"filegen cryptostats file {host}-cryptostats type none enable",
            f"crypto host {host} pw {pw}" + (" ident alice" if self.scheme == "iff" else ""),
        ]
        if self.mode == "sym":
            lines.append(f"peer {other} autokey{ident} minpoll 4 maxpoll 4")
        elif host == "bob":
            lines.append(f"server {other} autokey{ident} minpoll 4 maxpoll 4")
        path = os.path.join(self.top, f"{host}.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def spawn(self, tools, host, who, conf):
        argv = ["ip", "netns", "exec", self.ns[host], "setpriv", "--bounding-set", "-sys_time",
                "--inh-caps", "-sys_time"]
        env = dict(os.environ)
        if who == "ours":
            argv += [tools.ours, "-n", "-c", conf]
        else:
            argv += [tools.ref_ntpd, "-n", "-x", "-c", conf]
            env.update(tools.ref_env)
        out = open(os.path.join(self.top, f"{host}.out"), "w")
        self.procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                           stderr=subprocess.STDOUT, env=env,
                                           start_new_session=True))

    def flags(self, tools, host, who):
        """The association's flags of `host`, or None."""
        if who == "ours":
            argv, env = [tools.ntpq], None
        else:
            argv, env = [tools.ref_ntpq], dict(os.environ, **tools.ref_env)
        r = subprocess.run(["ip", "netns", "exec", self.ns[host], "timeout", "5"] + argv +
                           ["-c", "rv &1 flags", "127.0.0.1"], capture_output=True, text=True,
                           env=env, stdin=subprocess.DEVNULL)
        # `flags=0x87f03` (ours adds the decoded bits in parentheses).
        m = re.search(r"flags=0x([0-9a-fA-F]+)", r.stdout)
        return int(m.group(1), 16) if m else None

    def measure(self, tools, limit):
        try:
            os.makedirs(self.top)
            self.namespaces()
            ka, kb = make_keys(tools, self.top, self.scheme)
            confs = {"alice": self.conf("alice", ka), "bob": self.conf("bob", kb)}
            who = {"alice": self.alice, "bob": self.bob}
            watch = ["alice", "bob"] if self.mode == "sym" else ["bob"]
            t0 = time.monotonic()
            for h in ("alice", "bob"):
                self.spawn(tools, h, who[h], confs[h])
            done = {}
            while time.monotonic() - t0 < limit and len(done) < len(watch):
                for h in watch:
                    if h not in done:
                        f = self.flags(tools, h, who[h])
                        if f is not None and f & FULL == FULL:
                            done[h] = time.monotonic() - t0
                time.sleep(0.5)
            if len(done) == len(watch):
                self.result = max(done.values())
            else:
                last = {h: self.flags(tools, h, who[h]) for h in watch}
                self.note = " ".join(f"{h}:{'-' if f is None else hex(f)}"
                                     for h, f in last.items())
        except Exception as e:  # reported in the table, other cells go on
            self.note = f"error: {e}"
        finally:
            self.stop()

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []


CELLS = {
    # name: (mode, scheme, alice, bob)
    "sym-tc-ours": ("sym", "tc", "ours", "ours"),
    "sym-iff-ours": ("sym", "iff", "ours", "ours"),
    "sym-tc-ref": ("sym", "tc", "ref", "ref"),
    "sym-tc-ours-ref": ("sym", "tc", "ref", "ours"),
    "cs-tc-ours": ("cs", "tc", "ours", "ours"),
    "cs-iff-ours": ("cs", "iff", "ours", "ours"),
    "cs-tc-ref": ("cs", "tc", "ref", "ref"),
    "cs-iff-ref": ("cs", "iff", "ref", "ref"),
}


def main():
    target = os.path.join(ROOT, "target", "debug")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--limit", type=float, default=150.0, help="seconds a cell may take")
    p.add_argument("--cells", default=",".join(CELLS))
    p.add_argument("--ours", default=os.path.join(target, "ntpd"))
    p.add_argument("--keygen", default=os.path.join(target, "ntp-keygen"))
    p.add_argument("--ntpq", default=os.path.join(target, "ntpq"))
    p.add_argument("--keep", action="store_true", help="keep the logs and keys (printed path)")
    p.add_argument("--ref-root", default=os.environ.get("NTP_REF_ROOT", "/opt/ntp-ref"))
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    tools = Tools(a)
    names = a.cells.split(",")
    for name in names:
        if name not in CELLS:
            sys.exit(f"unknown cell {name}; cells: {', '.join(CELLS)}")
        if "ref" in CELLS[name][2:] and not tools.have_ref:
            sys.exit(f"{tools.ref_ntpd}: the reference ntpd is not there (see .ci/run)")
    top = tempfile.mkdtemp(prefix="aksym-")
    cells = []

    def interrupted(signum, _frame):
        for c in cells:
            c.stop()
        shutil.rmtree(top, ignore_errors=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        n = 0
        results = {name: [] for name in names}
        for r in range(a.runs):
            batch = []
            for name in names:
                n += 1
                c = Cell(n, *CELLS[name], top)
                c.name = name
                batch.append(c)
            cells[:] = batch
            threads = [threading.Thread(target=c.measure, args=(tools, a.limit)) for c in batch]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for c in batch:
                results[c.name].append(c)
                shown = "-" if c.result is None else f"{c.result:.1f} s"
                print(f"run {r + 1}: {c.label()}: {shown} {c.note}", file=sys.stderr, flush=True)
        print(f"\nseconds from start to proventic (flags & 0x7f00, both sides in symmetric "
              f"mode), 16-s polls, {a.runs} run(s), limit {a.limit:.0f} s\n")
        print(f"| {'cell':44} | {'runs':24} | median |")
        print(f"|{'-' * 46}|{'-' * 26}|--------|")
        for name in names:
            cs = results[name]
            vals = [c.result for c in cs if c.result is not None]
            runs = " ".join("-" if c.result is None else f"{c.result:.0f}" for c in cs)
            med = f"{statistics.median(vals):.0f}" if len(vals) == len(cs) else "-"
            print(f"| {cs[0].label():44} | {runs:24} | {med:>6} |")
    finally:
        for c in cells:
            c.stop()
        if a.keep:
            print(f"logs and keys kept in {top}", file=sys.stderr)
        else:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
