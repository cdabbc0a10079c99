"""config.md: ociVersion, root, mounts, process, hostname, domainname,
annotations and unknown properties (hooks are in cases_hooks.py)."""

import json
import os

from harness import DEFAULT_PATH, case, lsm_enabled, mount_at


def opts(m):
    """A probe mountinfo entry's per-mount and superblock options as sets."""
    return set(m["options"].split(",")), set(m["super_options"].split(","))


def refused(t, b, what):
    """The runtime must refuse the config at create (or at start, at the latest)."""
    b.process["args"] = ["/probe", "exit", "0"]
    res = t.create(b)
    if res.ok:
        r2 = t.start(res.id)
        t.check(not r2.ok, f"create and start both exited 0 with {what}")


# -- ociVersion, root ---------------------------------------------------------


@case("config/ociVersion-invalid", "MUST", "ociVersion (string, REQUIRED) MUST be in SemVer v2.0.0 format ... Runtimes MUST generate an error when invalid ... values are encountered")
def _(t):
    b = t.bundle()
    b.config["ociVersion"] = "not-a-version"
    refused(t, b, 'ociVersion "not-a-version"')


@case("config/ociVersion-unsupported", "MUST", "Runtimes MUST generate an error when invalid or unsupported values are encountered [ociVersion 2.0.0]")
def _(t):
    b = t.bundle()
    b.config["ociVersion"] = "2.0.0"
    refused(t, b, 'ociVersion "2.0.0" (a major version no runtime of 1.x supports)')


@case("config/root-absolute", "MUST", "path is either an absolute path or a relative path to the bundle")
def _(t):
    b = t.bundle()
    b.config["root"]["path"] = b.rootfs
    b.file("/oc-marker", "absolute root")
    r = t.probe(b, "read", "/oc-marker")
    t.check(r.get("content") == "absolute root", f"/oc-marker: {r}")


@case("config/root-missing", "MUST", "A directory MUST exist at the path declared by the field [otherwise an error]")
def _(t):
    b = t.bundle()
    b.config["root"]["path"] = "no-such-rootfs"
    refused(t, b, "a root.path that does not exist")


@case("config/root-readonly", "MUST", "If true then the root filesystem MUST be read-only inside the container")
def _(t):
    b = t.bundle()
    b.config["root"]["readonly"] = True
    r = t.probe(b, "write", "/oc-file", "x")
    t.check(not r["ok"] and r.get("error") == "EROFS", f"writing /oc-file: {r}")


@case("config/root-readonly-default", "MUST", "readonly (bool, OPTIONAL) ... defaults to false")
def _(t):
    b = t.bundle()
    r = t.probe(b, "write", "/oc-file", "x")
    t.check(r["ok"], f"writing /oc-file: {r}")


# -- mounts -------------------------------------------------------------------


@case("config/mounts-order", "MUST", "The runtime MUST mount entries in the listed order")
def _(t):
    b = t.bundle()
    src = t.path("vol")
    os.makedirs(src)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("bound")
    b.mount("/oc-m", "tmpfs", "tmpfs", ["size=1m"])
    b.bind(src, "/oc-m/sub")
    r = t.probe(b, "read", "/oc-m/sub/f")
    t.check(r.get("content") == "bound", f"the bind under the tmpfs is hidden (mounted out of order?): {r}")


@case("config/mounts-bind-relative-source", "MUST", "Path values for bind mounts are either absolute or relative to the bundle")
def _(t):
    b = t.bundle()
    os.makedirs(os.path.join(b.dir, "relvol"))
    with open(os.path.join(b.dir, "relvol", "f"), "w") as f:
        f.write("relative")
    b.bind("relvol", "/oc-rel")
    r = t.probe(b, "read", "/oc-rel/f")
    t.check(r.get("content") == "relative", f"/oc-rel/f: {r}")


@case("config/mounts-relative-destination", "MUST", "[destination] MAY be a relative path, in which case it MUST be interpreted as relative to \"/\"")
def _(t):
    b = t.bundle()
    b.config["ociVersion"] = "1.2.0"  # "Allow relative mount destinations on Linux (#1225)"
    b.mount("oc-reldest", "tmpfs", "tmpfs", ["size=1m"])
    b.process["cwd"] = "/tmp"
    r = t.probe(b)
    m = mount_at(r, "/oc-reldest")
    t.check(m and m["fstype"] == "tmpfs", "no tmpfs at /oc-reldest")


@case("config/mounts-bind-ro", "MUST", "Runtimes MUST/SHOULD/MAY implement the following option strings: bind, ro (MUST)")
def _(t):
    b = t.bundle()
    src = t.path("vol")
    os.makedirs(src)
    b.bind(src, "/oc-ro", ["bind", "ro"])
    r = t.probe(b, "write", "/oc-ro/f", "x")
    t.check(not r["ok"] and r.get("error") == "EROFS", f"writing into a ro bind mount: {r}")
    t.check(not os.path.exists(os.path.join(src, "f")), "the file appeared on the host")


@case("config/mounts-flags", "MUST", "Runtimes MUST ... implement: nosuid, nodev, noexec, noatime, nodiratime (MUST)")
def _(t):
    b = t.bundle()
    b.mount("/oc-flags", "tmpfs", "tmpfs", ["nosuid", "nodev", "noexec", "noatime", "nodiratime"])
    b.mount("/oc-strict", "tmpfs", "tmpfs", ["strictatime"])
    r = t.probe(b)
    m = mount_at(r, "/oc-flags")
    t.check(m, "no mount at /oc-flags")
    per, _ = opts(m)
    missing = {"nosuid", "nodev", "noexec", "noatime", "nodiratime"} - per
    t.check(not missing, f"/oc-flags lacks {sorted(missing)}: {m['options']}")
    m = mount_at(r, "/oc-strict")
    per, _ = opts(m)
    t.check(not per & {"relatime", "noatime"}, f"strictatime mount shows {m['options']}")


@case("config/mounts-rro", "SHOULD", "rro (SHOULD): Recursive ro")
def _(t):
    b = t.bundle()
    src = t.path("vol")
    os.makedirs(os.path.join(src, "sub"))
    t.host_mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", os.path.join(src, "sub"))
    b.bind(src, "/oc-rro", ["rbind", "rro"])
    docs = t.probe(b, script="/probe write /oc-rro/f x; /probe write /oc-rro/sub/f x")
    t.check(all(not d["ok"] and d.get("error") == "EROFS" for d in docs), f"writes under an rro mount: {docs}")


@case("config/mounts-nosymfollow", "SHOULD", "nosymfollow (SHOULD)")
def _(t):
    b = t.bundle()
    b.mount("/oc-nosym", "tmpfs", "tmpfs", ["nosymfollow"])
    r = t.probe(b)
    m = mount_at(r, "/oc-nosym")
    t.check(m and "nosymfollow" in opts(m)[0], f"/oc-nosym options {m and m['options']}")


@case("config/mounts-propagation-flags", "MUST", "rshared, rslave, rprivate, runbindable (MUST): Bind mount propagation")
def _(t):
    b = t.bundle()
    src = t.path("vol")
    os.makedirs(src)
    b.bind(src, "/oc-shared-mnt", ["rbind", "rshared"])
    b.bind(src, "/oc-unbindable-mnt", ["rbind", "runbindable"])
    r = t.probe(b)
    m = mount_at(r, "/oc-shared-mnt")
    t.check(m and any(o.startswith("shared:") for o in m["optional"]), f"rshared bind shows {m and m['optional']}")
    m = mount_at(r, "/oc-unbindable-mnt")
    t.check(m and "unbindable" in m["optional"], f"runbindable bind shows {m and m['optional']}")


@case("config/mounts-data-options", "SHOULD", "Runtimes SHOULD treat unknown options as filesystem-specific ones and pass those as a comma-separated string to ... mount(2)")
def _(t):
    b = t.bundle()
    b.mount("/oc-data", "tmpfs", "tmpfs", ["size=1m", "mode=0701", "nr_inodes=100"])
    r = t.probe(b)
    m = mount_at(r, "/oc-data")
    t.check(m, "no mount at /oc-data")
    sup = opts(m)[1]
    t.check({"size=1024k", "mode=701", "nr_inodes=100"} <= sup, f"tmpfs superblock options {m['super_options']}")


# -- process ------------------------------------------------------------------


@case("config/process-args-execvp", "MUST", "[args] at least one entry is REQUIRED ... used with the same semantics as execvp's file")
def _(t):
    b = t.bundle()
    b.process["env"] = ["PATH=/oc-nothing:/"]
    b.process["args"] = ["probe", "report", "two words"]
    b.process["cwd"] = "/tmp"
    res = t.need(t.run(b), "run")
    r = json.loads(res.out)
    t.check(r["argv"] == ["probe", "report", "two words"], f"argv {r['argv']}")


@case("config/process-args-empty", "MUST", "This specification extends the IEEE standard in that at least one entry is REQUIRED [empty args: an error]")
def _(t):
    b = t.bundle()
    b.process["args"] = []
    res = t.create(b)
    if res.ok:
        t.check(not t.start(res.id).ok, "create and start both exited 0 with empty args")


@case("config/process-env", "MUST", "env (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008's environ")
def _(t):
    b = t.bundle()
    b.process["env"] = [DEFAULT_PATH, "OC_A=1", "OC_SPACE=two words", "OC_EMPTY=", "OC_EQ=a=b"]
    r = t.probe(b)
    env = r["env"]
    want = {"OC_A": "1", "OC_SPACE": "two words", "OC_EMPTY": "", "OC_EQ": "a=b"}
    for k, v in want.items():
        t.check(env.get(k) == v, f"{k}={env.get(k)!r}, want {v!r}")


@case("config/process-cwd", "MUST", "cwd (string, REQUIRED) is the working directory that will be set for the executable")
def _(t):
    b = t.bundle()
    b.process["cwd"] = "/home/user"
    r = t.probe(b)
    t.check(r["cwd"] == "/home/user", f"cwd {r['cwd']!r}")


@case("config/process-cwd-relative", "MUST", "[cwd] This value MUST be an absolute path [a relative one is an invalid value: an error]")
def _(t):
    b = t.bundle()
    b.process["cwd"] = "tmp"
    refused(t, b, 'cwd "tmp"')


@case("config/process-user", "MUST", "uid (int, REQUIRED) specifies the user ID ... gid (int, REQUIRED) specifies the group ID in the container namespace")
def _(t):
    b = t.bundle()
    b.process["user"] = {"uid": 1000, "gid": 1001}
    r = t.probe(b)
    ids = [r[k] for k in ("uid", "euid", "suid", "gid", "egid", "sgid")]
    t.check(ids == [1000, 1000, 1000, 1001, 1001, 1001], f"uid/euid/suid/gid/egid/sgid {ids}")


@case("config/process-additionalGids", "MUST", "additionalGids (array of ints, OPTIONAL) specifies additional group IDs ... to be added to the process")
def _(t):
    b = t.bundle()
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 1234]}
    r = t.probe(b)
    t.check({5, 1234} <= set(r["groups"]), f"groups {r['groups']}")


@case("config/process-umask", "MUST", "umask (int, OPTIONAL) specifies the umask of the user")
def _(t):
    b = t.bundle()
    b.process["user"] = {"uid": 0, "gid": 0, "umask": 0o27}
    r = t.probe(b)
    t.check(r["umask"] == "0027", f"umask {r['umask']}")


@case("config/process-rlimits", "MUST", "rlim.rlim_cur MUST match the configured value ... rlim.rlim_max MUST match the configured value")
def _(t):
    b = t.bundle()
    b.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
        {"type": "RLIMIT_CORE", "soft": 1024, "hard": 4096},
        {"type": "RLIMIT_MSGQUEUE", "soft": 8192, "hard": 8192},
    ]
    r = t.probe(b)
    got = {k: r["rlimits"].get(k) for k in ("RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_MSGQUEUE")}
    want = {"RLIMIT_NOFILE": [321, 654], "RLIMIT_CORE": [1024, 4096], "RLIMIT_MSGQUEUE": [8192, 8192]}
    t.check(got == want, f"rlimits {got}, want {want}")


@case("config/process-rlimits-unknown", "MUST", "The runtime MUST generate an error for any values which cannot be mapped to a relevant kernel interface")
def _(t):
    b = t.bundle()
    b.process["rlimits"] = [{"type": "RLIMIT_OC_NO_SUCH", "soft": 1, "hard": 1}]
    refused(t, b, "rlimit RLIMIT_OC_NO_SUCH")


@case("config/process-rlimits-duplicate", "MUST", "If rlimits contains duplicated entries with same type, the runtime MUST generate an error")
def _(t):
    b = t.bundle()
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100}, {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200}]
    refused(t, b, "two RLIMIT_NOFILE entries")


@case("config/process-capabilities", "MUST", "capabilities ... bounding, inheritable, ambient ... capabilities that are kept for the process [root]")
def _(t):
    b = t.bundle()
    b.process["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "inheritable": ["CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    }
    r = t.probe(b)
    c = {k: sorted(r["caps"][k]["names"]) for k in ("CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb")}
    want = {
        "CapBnd": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"],
        "CapInh": ["CAP_NET_BIND_SERVICE"],
        "CapAmb": ["CAP_NET_BIND_SERVICE"],
    }
    for k, v in want.items():
        t.check(c[k] == v, f"{k} {c[k]}, want {v}")
    # uid 0 exec'ing a file: the kernel fills permitted and effective from
    # the bounding set (capabilities(7)), so those can only be bounded here
    for k in ("CapPrm", "CapEff"):
        t.check(set(c[k]) <= set(want["CapBnd"]) and {"CAP_CHOWN", "CAP_KILL"} <= set(c[k]), f"{k} {c[k]}")


@case("config/process-capabilities-nonroot", "MUST", "ambient (array of strings, OPTIONAL) ... capabilities that are kept for the process [a non-root user]")
def _(t):
    b = t.bundle()
    b.process["user"] = {"uid": 1000, "gid": 1000}
    caps = ["CAP_NET_BIND_SERVICE"]
    b.process["capabilities"] = {k: caps for k in ("bounding", "permitted", "effective", "inheritable", "ambient")}
    r = t.probe(b)
    for k in ("CapAmb", "CapPrm", "CapEff"):
        t.check(r["caps"][k]["names"] == caps, f"{k} {r['caps'][k]['names']} for uid 1000, want {caps}")


@case("config/process-capabilities-unknown", "SHOULD", "Any value which cannot be mapped ... MUST be logged as a warning ... Runtimes SHOULD NOT fail")
def _(t):
    b = t.bundle()
    caps = ["CAP_KILL", "CAP_OC_NO_SUCH_CAP"]
    b.process["capabilities"] = {k: caps for k in ("bounding", "permitted", "effective")}
    r = t.probe(b)
    t.check("CAP_KILL" in r["caps"]["CapEff"]["names"], f"CapEff {r['caps']['CapEff']['names']}")


@case("config/process-capabilities-ungrantable", "SHOULD", "Runtimes SHOULD NOT fail if the container configuration requests capabilities that cannot be granted")
def _(t):
    from cases_features import own_caps

    missing = [c for c in ("CAP_SYS_RESOURCE", "CAP_SYS_MODULE", "CAP_SYS_TIME") if c not in own_caps()]
    if not missing:
        t.skip("the suite runs with every capability, so none is ungrantable here")
    b = t.bundle()
    caps = ["CAP_KILL", missing[0]]
    b.process["capabilities"] = {k: caps for k in ("bounding", "permitted", "effective")}
    r = t.probe(b)
    t.check("CAP_KILL" in r["caps"]["CapEff"]["names"], f"CapEff {r['caps']['CapEff']['names']}")


def tty_run(t, b, script):
    """Run `sh -c script` with terminal: true; return its output (the pty's)."""
    b.process["terminal"] = True
    b.process["args"] = ["/bin/sh", "-c", script]
    sock, recv = t.console_socket()
    res = t.need(t.create(b, console_socket=sock), "create with --console-socket")
    fd = recv()
    st = t.state(res.id)
    t.need(t.start(res.id), "start")
    return read_pty(fd, st["pid"]).replace("\r", "")


def read_pty(fd, pid, timeout=5):
    import select
    import time

    from harness import proc_alive

    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every slave fd is closed
                break
            if not chunk:
                break
            data += chunk
        elif not proc_alive(pid):
            break
    return data.decode(errors="replace")


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") or line.startswith("["):
            out.append(json.loads(line))
    return out


@case("config/process-terminal", "MUST", "terminal ... if set to true on Linux a pseudoterminal pair is allocated for the process and the pseudoterminal pty is duplicated on the process's standard streams")
def _(t):
    b = t.bundle()
    out = tty_run(t, b, "/probe report")
    docs = json_lines(out)
    t.check(docs, f"no report came through the pty: {out[:300]!r}")
    tty = docs[0]["tty"]
    t.check(tty["stdin"] and tty["stdout"] and tty["stderr"], f"tty {tty}")
    t.check(str(tty["ttyname"]).startswith("/dev/pts/"), f"ttyname {tty['ttyname']}")


@case("config/process-consoleSize", "MUST", "consoleSize (object, OPTIONAL) specifies the console size in characters of the terminal")
def _(t):
    b = t.bundle()
    b.process["consoleSize"] = {"height": 41, "width": 113}
    out = tty_run(t, b, "stty size")
    t.check(out.strip() == "41 113", f"stty size printed {out.strip()!r}")


@case("config/process-consoleSize-ignored", "MUST", "Runtimes MUST ignore consoleSize if terminal is false or unset")
def _(t):
    b = t.bundle()
    b.process["consoleSize"] = {"height": 41, "width": 113}
    r = t.probe(b)
    t.check(not r["tty"]["stdout"], "stdout is a tty without terminal: true")


@case("config/process-oomScoreAdj", "MUST", "If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value")
def _(t):
    b = t.bundle()
    b.process["oomScoreAdj"] = 123
    r = t.probe(b)
    t.check(r["oom_score_adj"] == 123, f"oom_score_adj {r['oom_score_adj']}")


def _oom7():
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("7")


@case("config/process-oomScoreAdj-unset", "MUST", "If oomScoreAdj is not set, the runtime MUST NOT change the value of oom_score_adj")
def _(t):
    b = t.bundle()
    r = t.probe(b, preexec=_oom7)
    t.check(r["oom_score_adj"] == 7, f"oom_score_adj {r['oom_score_adj']}, the runtime was started with 7")


@case("config/process-noNewPrivileges", "MUST", "setting noNewPrivileges to true prevents the process from gaining additional privileges")
def _(t):
    b = t.bundle()
    b.process["noNewPrivileges"] = True
    r = t.probe(b)
    t.check(r["no_new_privs"] is True, f"no_new_privs {r['no_new_privs']}")


@case("config/process-apparmorProfile", "MUST", "apparmorProfile (string, OPTIONAL) specifies the name of the AppArmor profile for the process")
def _(t):
    if not lsm_enabled("apparmor"):
        t.skip("AppArmor is not enabled on this host")
    b = t.bundle()
    b.process["apparmorProfile"] = "unconfined"
    r = t.probe(b)
    t.check(r["apparmor"] in ("unconfined", None), f"apparmor label {r['apparmor']}")


@case("config/process-selinuxLabel", "MUST", "selinuxLabel (string, OPTIONAL) specifies the SELinux label for the process")
def _(t):
    if not lsm_enabled("selinux"):
        t.skip("SELinux is not enabled on this host")
    t.skip("no SELinux policy is known to this suite")


@case("config/process-scheduler", "MUST", "scheduler (object, OPTIONAL) is an object describing the scheduler properties for the process")
def _(t):
    b = t.bundle()
    b.config["ociVersion"] = "1.1.0"
    b.process["scheduler"] = {"policy": "SCHED_BATCH", "nice": 7}
    docs = t.probe(b, script="/probe read /proc/self/sched; /probe read /proc/self/stat")
    sched, stat = docs[0].get("content", ""), docs[1].get("content", "")
    policy = [ln.split(":")[1].strip() for ln in sched.splitlines() if ln.startswith("policy")]
    t.check(policy == ["3"], f"policy {policy} (SCHED_BATCH is 3)")
    nice = stat.rsplit(")", 1)[1].split()[16] if ")" in stat else None
    t.check(nice == "7", f"nice {nice}")


@case("config/process-ioPriority", "MUST", "ioPriority (object, OPTIONAL) configures the I/O priority settings for the container's processes")
def _(t):
    b = t.bundle()
    b.config["ociVersion"] = "1.1.0"
    b.process["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
    out = t.shell(b, "ionice")
    t.check(out.strip() == "best-effort: prio 6", f"ionice printed {out.strip()!r}")


# -- hostname, domainname, annotations, extensibility --------------------------


@case("config/hostname", "MUST", "hostname (string, OPTIONAL) specifies the container's hostname as seen by processes running inside the container")
def _(t):
    b = t.bundle()
    b.config["hostname"] = "oc-host"
    r = t.probe(b)
    t.check(r["hostname"] == "oc-host", f"hostname {r['hostname']!r}")
    t.check(os.uname().nodename != "oc-host", "the host's hostname changed")


@case("config/domainname", "MUST", "domainname (string, OPTIONAL) specifies the container's domainname as seen by processes running inside the container")
def _(t):
    b = t.bundle()
    b.config["ociVersion"] = "1.1.0"
    b.config["domainname"] = "oc.example"
    r = t.probe(b)
    t.check(r["domainname"] == "oc.example", f"domainname {r['domainname']!r}")


@case("config/unknown-properties", "MUST", "Runtimes MAY log unknown properties but MUST otherwise ignore them")
def _(t):
    b = t.bundle()
    b.config["com.example.oc"] = {"nested": [1, 2]}
    b.config["process"]["com.example.oc"] = True
    b.config["linux"]["com.example.oc"] = "x"
    b.config["root"]["com.example.oc"] = 1
    b.config["mounts"][0]["com.example.oc"] = None
    r = t.probe(b)
    t.check(r["argv"] == ["/probe"], f"argv {r['argv']}")


@case("config/annotations-unknown", "MUST", "Runtimes MUST handle unknown annotation keys like any other unknown property")
def _(t):
    b = t.bundle()
    b.config["annotations"] = {"com.example.oc.unknown": "value", "org.example.other": ""}
    t.probe(b)
