"""config-linux.md control groups: cgroupsPath and linux.resources.

Limits are read back from the cgroup files on the host, in the cgroup the
kernel says the container's process is in (/proc/PID/cgroup), right after
create: "the resources requested in config.json MUST be created" before
start. v1 cases need the controller mounted as cgroup v1; v2 cases need a
pure cgroup v2 host; each skips, saying so, where the host has neither.
"""

import glob
import os

from harness import case, cgroup_layout, read

V1_ONLY = "the host is cgroup v2: this is a cgroup v1 case"
V2_ONLY = "the host is not cgroup v2 ({}): this is a cgroup v2 case"


def proc_cgroups(pid):
    """{controller or '' (v2): path} from /proc/PID/cgroup."""
    out = {}
    for ln in read(f"/proc/{pid}/cgroup", "").splitlines():
        _, ctrls, path = ln.split(":", 2)
        for c in ctrls.split(",") if ctrls else [""]:
            out[c.replace("name=", "")] = path
    return out


def v1(t, controller):
    """The v1 mount point of a controller, or skip."""
    layout, ctrls, _ = cgroup_layout()
    if layout == "v2":
        t.skip(V1_ONLY)
    if controller not in ctrls:
        t.skip(f"the {controller} controller is not mounted as cgroup v1 on this host")
    return ctrls[controller]


def v2(t):
    layout, _, unified = cgroup_layout()
    if layout != "v2":
        t.skip(V2_ONLY.format(layout))
    return unified


def created(t, resources, version=None, **linux):
    """A created container with these linux.resources; returns its pid."""
    b = t.bundle()
    b.process["args"] = ["/probe", "sleep", "inf"]
    b.linux["resources"] = resources
    b.linux.update(linux)
    if version:
        b.config["ociVersion"] = version
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    return st["pid"], b


def v1_file(t, pid, controller, name):
    mp = v1(t, controller)
    path = proc_cgroups(pid).get(controller)
    t.check(path is not None, f"the container is in no {controller} cgroup")
    f = os.path.join(mp + path, name)
    t.check(os.path.exists(f), f"{f} does not exist")
    return read(f).strip()


def v2_file(t, pid, name):
    mp = v2(t)
    path = proc_cgroups(pid).get("")
    return read(os.path.join(mp + path, name)).strip()


def v1_case(cid, clause, controller, resources, checks, version=None, level="MUST", need_file=None, setup=None):
    """checks: [(file, expected string)]."""

    @case(f"config-linux/cgroup-v1-{cid}", level, clause)
    def _(t):
        mp = v1(t, controller)
        if need_file and not os.path.exists(os.path.join(mp, need_file)):
            t.skip(f"this kernel's {controller} controller has no {need_file}")
        if setup:
            setup(t, mp)
        pid, _ = created(t, resources, version)
        bad = []
        for name, want in checks:
            got = v1_file(t, pid, controller, name)
            if got != want:
                bad.append(f"{name} is {got!r}, want {want!r}")
        t.check(not bad, "; ".join(bad))


MiB = 1 << 20


@case("config-linux/cgroup-path", "MUST", "In the case of an absolute path (starting with /), the runtime MUST take the path to be relative to the cgroups mount point")
def _(t):
    layout, ctrls, _ = cgroup_layout()
    pid, b = created(t, {})
    got = proc_cgroups(pid)
    keys = [c for c in ("memory", "pids", "cpu", "devices") if c in ctrls] if layout != "v2" else [""]
    bad = {k: got.get(k) for k in keys if got.get(k) != b.cgroups_path}
    t.check(not bad, f"cgroupsPath {b.cgroups_path}, the process is in {bad}")


v1_case("memory-limit", "limit (int64, OPTIONAL) - sets limit of memory usage", "memory", {"memory": {"limit": 64 * MiB}}, [("memory.limit_in_bytes", str(64 * MiB))])
v1_case("memory-reservation", "reservation (int64, OPTIONAL) - sets soft limit of memory usage", "memory", {"memory": {"limit": 64 * MiB, "reservation": 32 * MiB}}, [("memory.soft_limit_in_bytes", str(32 * MiB))])
v1_case(
    "memory-swap",
    "swap (int64, OPTIONAL) - sets limit of memory+Swap usage",
    "memory",
    {"memory": {"limit": 64 * MiB, "swap": 128 * MiB}},
    [("memory.memsw.limit_in_bytes", str(128 * MiB))],
    need_file="memory.memsw.limit_in_bytes",
)
v1_case("memory-swappiness", "swappiness (uint64, OPTIONAL) - sets swappiness parameter of vmscan", "memory", {"memory": {"swappiness": 17}}, [("memory.swappiness", "17")])


@case("config-linux/cgroup-v1-memory-disableOOMKiller", "MUST", "disableOOMKiller (bool, OPTIONAL) - enables or disables the OOM killer")
def _(t):
    v1(t, "memory")
    pid, _ = created(t, {"memory": {"limit": 64 * MiB, "disableOOMKiller": True}})
    got = v1_file(t, pid, "memory", "memory.oom_control")
    t.check("oom_kill_disable 1" in got, f"memory.oom_control: {got!r}")


v1_case("cpu-shares", "shares (uint64, OPTIONAL) - specifies a relative share of CPU time", "cpu", {"cpu": {"shares": 512}}, [("cpu.shares", "512")])
v1_case(
    "cpu-quota-period",
    "quota (int64, OPTIONAL) ... period (uint64, OPTIONAL) - specifies a period of time in microseconds",
    "cpu",
    {"cpu": {"quota": 50000, "period": 200000}},
    [("cpu.cfs_quota_us", "50000"), ("cpu.cfs_period_us", "200000")],
)
v1_case(
    "cpu-burst",
    "burst (uint64, OPTIONAL) - specifies the maximum amount of accumulated time in microseconds",
    "cpu",
    {"cpu": {"quota": 50000, "period": 100000, "burst": 20000}},
    [("cpu.cfs_burst_us", "20000")],
    version="1.1.0",
    need_file="cpu.cfs_burst_us",
)
v1_case("cpu-idle", "idle (int64, OPTIONAL) - cgroups are configured with minimum weight, 0: default behavior, 1: SCHED_IDLE", "cpu", {"cpu": {"idle": 1}}, [("cpu.idle", "1")], version="1.1.0", need_file="cpu.idle")
def rt_budget(t, mp):
    """Give the cgroup parent the suite chose a real-time budget, as whoever
    picks a cgroupsPath under a parent must (the kernel refuses a child a
    budget its parent lacks)."""
    parent = mp + t.cg_parent
    os.makedirs(parent, exist_ok=True)
    with open(os.path.join(parent, "cpu.rt_runtime_us"), "w") as f:
        f.write("50000")


v1_case(
    "cpu-realtime",
    "realtimeRuntime (int64, OPTIONAL) ... realtimePeriod (uint64, OPTIONAL)",
    "cpu",
    {"cpu": {"realtimeRuntime": 10000, "realtimePeriod": 1000000}},
    [("cpu.rt_runtime_us", "10000"), ("cpu.rt_period_us", "1000000")],
    need_file="cpu.rt_runtime_us",
    setup=rt_budget,
)


@case("config-linux/cgroup-v1-cpuset", "MUST", "cpus (string, OPTIONAL) - list of CPUs the container will run on ... mems (string, OPTIONAL) - list of memory nodes")
def _(t):
    mp = v1(t, "cpuset")
    cpus = read(os.path.join(mp, "cpuset.effective_cpus"), "").strip()
    if cpus in ("", "0"):
        t.skip(f"the host has a single CPU ({cpus!r})")
    last = cpus.split(",")[-1].split("-")[-1]
    mems = read(os.path.join(mp, "cpuset.effective_mems"), "0").strip().split(",")[0].split("-")[0]
    pid, _ = created(t, {"cpu": {"cpus": last, "mems": mems}})
    got = (v1_file(t, pid, "cpuset", "cpuset.cpus"), v1_file(t, pid, "cpuset", "cpuset.mems"))
    t.check(got == (last, mems), f"cpuset.cpus/mems {got}, want {(last, mems)}")
    aff = [ln for ln in read(f"/proc/{pid}/status").splitlines() if ln.startswith("Cpus_allowed_list")]
    t.check(aff and aff[0].split()[-1] == last, f"the process may run on {aff}")


v1_case("pids-limit", "limit (int64, OPTIONAL) - specifies the maximum number of tasks in the cgroup", "pids", {"pids": {"limit": 77}}, [("pids.max", "77")])
v1_case("pids-limit-zero", "0 is a valid limit value for the pids cgroup controller ... and SHOULD be treated as such by runtimes", "pids", {"pids": {"limit": 0}}, [("pids.max", "0")], level="SHOULD")


@case("config-linux/cgroup-v1-blkio-weight", "MUST", "weight (uint16, OPTIONAL) - specifies per-cgroup weight")
def _(t):
    mp = v1(t, "blkio")
    files = [f for f in ("blkio.weight", "blkio.bfq.weight") if os.path.exists(os.path.join(mp, f))]
    if not files:
        t.skip("this kernel's blkio controller has no weight file (neither blkio.weight nor blkio.bfq.weight)")
    pid, _ = created(t, {"blockIO": {"weight": 333}})
    got = v1_file(t, pid, "blkio", files[0])
    t.check(got.split()[-1] == "333", f"{files[0]} is {got!r}")


def whole_disk():
    for d in sorted(glob.glob("/sys/block/*")):
        name = os.path.basename(d)
        if name.startswith(("loop", "ram", "zram", "nbd", "dm-", "md", "sr")):
            continue
        dev = read(os.path.join(d, "dev"), "").strip()
        if dev:
            return dev
    return None


@case("config-linux/cgroup-v1-blkio-throttle", "MUST", "throttleReadBpsDevice, throttleWriteBpsDevice ... throttleReadIOPSDevice, throttleWriteIOPSDevice")
def _(t):
    v1(t, "blkio")
    dev = whole_disk()
    if not dev:
        t.skip("no whole-disk block device on this host")
    major, minor = (int(x) for x in dev.split(":"))
    pid, _ = created(
        t,
        {
            "blockIO": {
                "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
                "throttleWriteBpsDevice": [{"major": major, "minor": minor, "rate": 2097152}],
                "throttleReadIOPSDevice": [{"major": major, "minor": minor, "rate": 300}],
                "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 400}],
            }
        },
    )
    bad = []
    for f, rate in (("read_bps_device", 1048576), ("write_bps_device", 2097152), ("read_iops_device", 300), ("write_iops_device", 400)):
        got = v1_file(t, pid, "blkio", "blkio.throttle." + f)
        if f"{dev} {rate}" not in got.splitlines():
            bad.append(f"blkio.throttle.{f} is {got!r}")
    t.check(not bad, "; ".join(bad))


@case("config-linux/cgroup-hugepageLimits", "MUST", "hugepageLimits ... [v1] or, the controller enabled on the cgroup v2 hierarchy, the runtime MAY attempt a conversion. If the conversion is not possible the runtime MUST generate an error")
def _(t):
    layout, ctrls, unified = cgroup_layout()
    sizes = [os.path.basename(p)[len("hugepages-") :] for p in glob.glob("/sys/kernel/mm/hugepages/hugepages-*")]
    if not sizes:
        t.skip("this kernel has no huge pages")
    kb = int(sizes[0].rstrip("kB"))
    size = f"{kb // 1024}MB" if kb < 1 << 20 else f"{kb >> 20}GB"
    in_v2 = bool(unified) and "hugetlb" in read(os.path.join(unified, "cgroup.controllers"), "").split()
    if "hugetlb" not in ctrls and not in_v2:
        t.skip("no hugetlb controller is mounted on this host")
    limit = 4 * kb * 1024
    b = t.bundle()
    b.process["args"] = ["/probe", "sleep", "inf"]
    b.linux["resources"] = {"hugepageLimits": [{"pageSize": size, "limit": limit}]}
    res = t.create(b)
    if not res.ok:
        t.check("hugetlb" not in ctrls, f"create failed although hugetlb is a v1 controller here: {res.why()}")
        return  # refused where it is only in the v2 tree: allowed
    pid = t.state(res.id)["pid"]
    cg = proc_cgroups(pid)
    if "hugetlb" in ctrls:
        d = ctrls["hugetlb"] + cg.get("hugetlb", "")
        names = [f"hugetlb.{size}.rsvd.limit_in_bytes", f"hugetlb.{size}.limit_in_bytes"]
    else:
        d = unified + cg.get("", "")
        names = [f"hugetlb.{size}.rsvd.max", f"hugetlb.{size}.max"]
    got = {n: read(os.path.join(d, n), "").strip() for n in names}
    t.check(str(limit) in got.values(), f"hugetlb limit {limit} not in {d}: {got}")


@case("config-linux/cgroup-v1-network", "MUST", "classID (uint32, OPTIONAL) - is the network class identifier ... priorities (array of objects, OPTIONAL)")
def _(t):
    v1(t, "net_cls")
    pid, _ = created(t, {"network": {"classID": 1048577}})
    got = v1_file(t, pid, "net_cls", "net_cls.classid")
    t.check(got == "1048577", f"net_cls.classid {got!r}")


@case("config-linux/cgroup-v1-rdma", "MUST", "rdma (object, OPTIONAL) represents the cgroup subsystem rdma")
def _(t):
    v1(t, "rdma")
    t.skip("no RDMA device is known to this suite")


@case("config-linux/cgroup-devices", "MUST", "devices (array of objects, OPTIONAL) configures the allowed device list. The runtime MUST apply entries in the listed order")
def _(t):
    layout, ctrls, _ = cgroup_layout()
    if layout != "v2" and "devices" not in ctrls:
        t.skip("no devices controller on this host")
    b = t.bundle()
    # a block device no runtime allows by default (loop0, unbound: opening
    # and reading it change nothing)
    b.linux["devices"] = [{"path": "/dev/oc-loop", "type": "b", "major": 7, "minor": 0, "fileMode": 0o666}]
    b.linux["resources"] = {
        "devices": [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "b", "major": 7, "minor": 0, "access": "rwm"},
            {"allow": False, "type": "b", "major": 7, "minor": 0, "access": "w"},
        ]
    }
    docs = t.probe(b, script="/probe read /dev/oc-loop; /probe write /dev/oc-loop")
    r, w = docs[0], docs[1]
    t.check(r["ok"], f"read of an allowed device failed: {r}")
    t.check(not w["ok"] and w.get("error") == "EPERM", f"open for writing after a later deny rule: {w}")


@case("config-linux/cgroup-unified", "MUST", "unified (object, OPTIONAL) allows cgroup v2 parameters to be set ... Each key in the map refers to a file in the cgroup unified hierarchy")
def _(t):
    v2(t)
    pid, _ = created(t, {"unified": {"pids.max": "42"}}, "1.1.0")
    got = v2_file(t, pid, "pids.max")
    t.check(got == "42", f"pids.max {got!r}")


def v2_case(cid, clause, resources, checks, version=None):
    @case(f"config-linux/cgroup-v2-{cid}", "MUST", clause)
    def _(t):
        v2(t)
        pid, _ = created(t, resources, version)
        bad = [f"{n} is {v2_file(t, pid, n)!r}, want {w!r}" for n, w in checks if v2_file(t, pid, n) != w]
        t.check(not bad, "; ".join(bad))


v2_case("memory-limit", "limit (int64, OPTIONAL) - sets limit of memory usage [cgroup v2: memory.max]", {"memory": {"limit": 64 * MiB}}, [("memory.max", str(64 * MiB))])
v2_case("cpu-quota-period", "quota ... period [cgroup v2: cpu.max]", {"cpu": {"quota": 50000, "period": 200000}}, [("cpu.max", "50000 200000")])
v2_case("pids-limit", "limit (int64, OPTIONAL) - specifies the maximum number of tasks in the cgroup [cgroup v2: pids.max]", {"pids": {"limit": 77}}, [("pids.max", "77")])
