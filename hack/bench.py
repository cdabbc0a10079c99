#!/usr/bin/env python3
"""Side-by-side benchmarks of husk, crun and runc (step 13).

Run through hack/bench, which builds husk in release mode and enters a
private mount namespace without /sys/fs/cgroup/unified (Debian's crun
refuses this hybrid layout otherwise), so every runtime runs in the same
conditions. Each runtime gets its own --root; the bundle and its config are
identical: busybox rootfs, new pid/net/ipc/uts/mount namespaces, the default
cgroup path, no seccomp, no terminal. Reports medians of several runs after
a warm-up, and the husk/crun and husk/runc ratios from the same run.
"""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(os.environ.get("BENCH_RUNS", "20"))
WARMUP = 3


SPAWN = os.environ.get("SPAWN_BIN")


def measure(argv, **kw):
    """Run a command; return (wall seconds, cpu seconds, peak rss KiB).

    Through a tiny static spawner (hack/bench-tools/spawn.c), so that the
    peak RSS is the command's and not the forked Python interpreter's."""
    result = os.path.join(tempfile.gettempdir(), f"husk-bench-result-{os.getpid()}")
    t0 = time.perf_counter()
    # No pipes: a container keeps the stdio of create open after husk exits.
    subprocess.run([SPAWN, result, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kw)
    wall = time.perf_counter() - t0
    with open(result) as f:
        last = f.read().split()
    os.unlink(result)
    code, rss, cpu_us = (int(x) for x in last[1:4])
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({code})")
    return wall, cpu_us / 1e6, rss


class Runtime:
    def __init__(self, name, path, work):
        self.name, self.path = name, path
        self.root = os.path.join(work, f"root-{name}")
        os.makedirs(self.root, exist_ok=True)
        self.n = 0

    def cmd(self, *args):
        return [self.path, "--root", self.root, *args]

    def new_id(self):
        self.n += 1
        return f"b{os.getpid()}-{self.n}"

    def version(self):
        out = subprocess.run([self.path, "--version"], capture_output=True, text=True)
        return out.stdout.splitlines()[0] if out.stdout else "?"

    def cleanup(self):
        ids = subprocess.run(self.cmd("list", "-q"), capture_output=True, text=True).stdout.split()
        for i in ids:
            subprocess.run(self.cmd("delete", "-f", i), capture_output=True)


def make_bundle(work, husk, args):
    b = os.path.join(work, "bundle-" + "-".join(a.strip("/").replace("/", "_") for a in args))
    if os.path.exists(b):
        return b
    os.makedirs(b)
    subprocess.run(["bash", "-c", f'source "{os.environ["HUSK_TOP"]}/hack/lib.sh"; make_rootfs "{b}/rootfs"'], check=True)
    subprocess.run([husk, "spec", "--bundle", b], check=True)
    with open(os.path.join(b, "config.json")) as f:
        c = json.load(f)
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    c["hostname"] = "bench"
    # Debian's crun 1.8.1 knows runtime-spec versions up to 1.1.
    c["ociVersion"] = "1.0.2"
    c["linux"]["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
    c["mounts"] = [m for m in c["mounts"] if m["type"] != "cgroup"]
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(c, f)
    return b


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def bench_runtime(rt, true_bundle, sleep_bundle):
    r = {}
    # 1. run /bin/true
    walls, cpus, rss = [], [], []
    for i in range(WARMUP + RUNS):
        w, c, m = measure(rt.cmd("run", "--bundle", true_bundle, rt.new_id()))
        if i >= WARMUP:
            walls.append(w); cpus.append(c); rss.append(m)
    r["run wall ms"] = median(walls) * 1e3
    r["run cpu ms"] = median(cpus) * 1e3
    r["run peak RSS KiB"] = max(rss)
    # 2. create / state / start / delete, separately
    steps = {"create": [], "state": [], "start": [], "delete": []}
    peaks = {k: 0 for k in steps}
    init_rss, init_anon = [], []
    for i in range(WARMUP + RUNS):
        cid = rt.new_id()
        res = {}
        res["create"] = measure(rt.cmd("create", "--bundle", sleep_bundle, cid))
        st = json.loads(subprocess.run(rt.cmd("state", cid), capture_output=True, text=True).stdout)
        status = open(f"/proc/{st['pid']}/status").read()
        vals = {l.split(":")[0]: int(l.split()[1]) for l in status.splitlines() if l.startswith(("VmRSS", "RssAnon"))}
        res["state"] = measure(rt.cmd("state", cid))
        res["start"] = measure(rt.cmd("start", cid))
        res["delete"] = measure(rt.cmd("delete", "-f", cid))
        if i >= WARMUP:
            init_rss.append(vals.get("VmRSS", 0)); init_anon.append(vals.get("RssAnon", 0))
            for k, v in res.items():
                steps[k].append(v[0]); peaks[k] = max(peaks[k], v[2])
    for k, v in steps.items():
        r[f"{k} ms"] = median(v) * 1e3
        r[f"{k} peak RSS KiB"] = peaks[k]
    r["waiting init VmRSS KiB"] = median(init_rss)
    r["waiting init RssAnon KiB"] = median(init_anon)
    # exec /bin/true into a running container
    cid = rt.new_id()
    subprocess.run(rt.cmd("run", "-d", "--bundle", sleep_bundle, cid), check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ex, expk = [], 0
    for i in range(WARMUP + RUNS):
        w, c, m = measure(rt.cmd("exec", cid, "/bin/true"))
        if i >= WARMUP:
            ex.append(w); expk = max(expk, m)
    subprocess.run(rt.cmd("delete", "-f", cid), capture_output=True)
    r["exec ms"] = median(ex) * 1e3
    r["exec peak RSS KiB"] = expk
    # 4. list with 100 created containers; 32 parallel creates
    ids = [rt.new_id() for _ in range(100)]
    for cid in ids:
        subprocess.run(rt.cmd("create", "--bundle", sleep_bundle, cid), check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    free_kib = [int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemAvailable")][0]
    lw = [measure(rt.cmd("list"))[0] for _ in range(5)]
    r["list (100) ms"] = median(lw) * 1e3
    for cid in ids:
        subprocess.run(rt.cmd("delete", "-f", cid), capture_output=True)
    after_kib = [int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemAvailable")][0]
    r["host KiB per created container"] = max(0, (after_kib - free_kib) / 100)
    par = [rt.new_id() for _ in range(32)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(rt.cmd("create", "--bundle", sleep_bundle, cid), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for cid in par]
    for p in procs:
        p.wait()
    r["32 parallel creates ms"] = (time.perf_counter() - t0) * 1e3
    for cid in par:
        subprocess.run(rt.cmd("delete", "-f", cid), capture_output=True)
    return r


def main():
    husk = os.environ["HUSK_BIN"]
    work = tempfile.mkdtemp(prefix="husk-bench-")
    runtimes = [Runtime("husk", husk, work)]
    for name in ("crun", "runc"):
        p = shutil.which(name)
        if p:
            runtimes.append(Runtime(name, p, work))
    true_b = make_bundle(work, husk, ["/bin/true"])
    sleep_b = make_bundle(work, husk, ["/bin/sleep", "100000"])
    floor = os.environ.get("FLOOR_BIN")
    results = {}
    try:
        for rt in runtimes:
            print(f"# {rt.version()} ...", file=sys.stderr, flush=True)
            try:
                results[rt.name] = bench_runtime(rt, true_b, sleep_b)
            except Exception as e:  # a runtime that cannot run here is reported, not fatal
                print(f"# {rt.name} failed: {e}", file=sys.stderr)
            finally:
                rt.cleanup()
        if floor:
            walls = [measure([floor, os.path.join(true_b, "rootfs", "bin", "true")])[0] for _ in range(RUNS)]
            # /bin/true there is busybox: a static binary, so the floor is clone3 + execve alone.
            results["floor"] = {"run wall ms": median(walls) * 1e3}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    names = [rt.name for rt in runtimes if rt.name in results]
    keys = list(results[names[0]].keys()) if names else []
    print(f"Benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {RUNS} runs after {WARMUP} warm-up; medians.")
    print("Runtimes: " + "; ".join(rt.version() for rt in runtimes if rt.name in results))
    print()
    head = "| measure | " + " | ".join(names) + " | husk/crun | husk/runc |"
    print(head)
    print("|" + "---|" * (len(names) + 3))
    for k in keys:
        row = [results[n].get(k, float("nan")) for n in names]
        h = results["husk"].get(k, float("nan")) if "husk" in results else float("nan")
        def ratio(other):
            v = results.get(other, {}).get(k)
            return f"{h / v:.2f}" if v else "-"
        print(f"| {k} | " + " | ".join(f"{v:.1f}" for v in row) + f" | {ratio('crun')} | {ratio('runc')} |")
    if "floor" in results:
        print(f"\nFloor (clone3 with the same namespaces + execve of /bin/true): {results['floor']['run wall ms']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
