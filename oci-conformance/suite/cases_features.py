"""features.md and features-linux.md: the `features` output, and that the
runtime accepts what it lists. "A runtime MAY provide a JSON structure about
its implemented features": a runtime without `features` skips these cases."""

import json
import re

from cases_hooks import KINDS, Hooks, sleeper_logging
from harness import case, wait_until

SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")

# every property runtime-spec 1.3 defines (features.md, features-linux.md)
TOP = {"ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "annotations", "potentiallyUnsafeConfigAnnotations"}
LINUX = {
    "namespaces": None,
    "capabilities": None,
    "cgroup": {"v1", "v2", "systemd", "systemdUser", "rdma"},
    "seccomp": {"enabled", "actions", "operators", "archs", "knownFlags", "supportedFlags"},
    "apparmor": {"enabled"},
    "selinux": {"enabled"},
    "intelRdt": {"enabled", "schemata", "monitoring"},
    "mountExtensions": {"idmap"},
    "netDevices": {"enabled"},
    "memoryPolicy": {"modes", "flags"},
}


def features(t):
    res = t.cmd("features")
    if not res.ok:
        t.skip(f"the runtime provides no features structure (features.md: a runtime MAY provide one): {res.why()}")
    try:
        return json.loads(res.out)
    except ValueError:
        t.fail(f"features printed something that is not JSON: {res.out[:200]!r}")


def semver_key(v):
    m = SEMVER.match(v)
    # a pre-release sorts before its release
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if m.group(4) else 1)


@case("features/versions", "MUST", "ociVersionMin (string, REQUIRED) ... ociVersionMax ... The value MUST NOT be less than the value of the ociVersionMin property")
def _(t):
    f = features(t)
    for k in ("ociVersionMin", "ociVersionMax"):
        t.check(isinstance(f.get(k), str) and SEMVER.match(f[k]), f"{k} is {f.get(k)!r}, not a SemVer string")
    t.check(semver_key(f["ociVersionMax"]) >= semver_key(f["ociVersionMin"]), f"ociVersionMax {f['ociVersionMax']} < ociVersionMin {f['ociVersionMin']}")


def accepts(t, key):
    f = features(t)
    v = f.get(key)
    t.check(isinstance(v, str), f"no {key}")
    b = t.bundle()
    b.config["ociVersion"] = v
    b.process["args"] = ["/probe", "exit", "0"]
    t.need(t.run(b), f"a config with ociVersion {v!r}")


@case("features/ociVersionMin-accepted", "MUST", "[ociVersionMin:] The runtime MUST accept this value as the ociVersion property of config.json")
def _(t):
    accepts(t, "ociVersionMin")


@case("features/ociVersionMax-accepted", "MUST", "[ociVersionMax:] The runtime MUST accept this value as the ociVersion property of config.json")
def _(t):
    accepts(t, "ociVersionMax")


@case("features/defined-properties", "MUST", "The Features structure MUST NOT contain properties that are not defined in this version of the Open Container Initiative Runtime Specification")
def _(t):
    f = features(t)
    extra = sorted(set(f) - TOP)
    linux = f.get("linux") or {}
    extra += [f"linux.{k}" for k in sorted(set(linux) - set(LINUX))]
    for k, sub in LINUX.items():
        if sub and isinstance(linux.get(k), dict):
            extra += [f"linux.{k}.{s}" for s in sorted(set(linux[k]) - sub)]
    t.check(not extra, f"properties runtime-spec does not define: {extra}")


@case("features/annotations", "MUST", "Annotations MUST be a key-value map that follows the same convention as the Key and Values of the annotations property of config.json")
def _(t):
    f = features(t)
    a = f.get("annotations")
    if a is None:
        return
    t.check(isinstance(a, dict), f"annotations is {type(a).__name__}")
    bad = {k: v for k, v in a.items() if not k or not isinstance(v, str)}
    t.check(not bad, f"keys must be non-empty, values strings: {bad}")


@case("features/hooks-supported", "MUST", "[hooks:] The runtime MUST support the elements in this array as the hooks property of config.json")
def _(t):
    listed = features(t).get("hooks") or []
    unknown = [h for h in listed if h not in KINDS]
    t.check(not unknown, f"hooks runtime-spec does not define: {unknown}")
    if not listed:
        return
    b = t.bundle()
    h = Hooks(t, b)
    for k in listed:
        h.add(k)
    sleeper_logging(b)
    res = t.need(t.create(b), "create with every listed hook")
    t.need(t.start(res.id), "start")
    wait_until(lambda: "process" in h.logged(), 3)
    t.kill(res.id, "KILL")
    t.wait_status(res.id, "stopped")
    t.need(t.delete(res.id), "delete")
    missing = [k for k in listed if k not in h.logged()]
    t.check(not missing, f"listed hooks that did not run: {missing}")


# options that change what kind of mount an entry is; the rest go on a tmpfs
NOT_ON_TMPFS = {"bind", "rbind", "remount", "idmap", "ridmap"}


@case("features/mountOptions-recognized", "MUST", "[mountOptions:] The runtime MUST recognize the elements in this array as the options of mounts objects in config.json")
def _(t):
    listed = features(t).get("mountOptions") or []
    b = t.bundle()
    for i, o in enumerate(x for x in listed if x not in NOT_ON_TMPFS):
        b.mount(f"/oc-opt/{i}", "tmpfs", "tmpfs", [o])
    b.process["args"] = ["/probe", "exit", "0"]
    t.need(t.run(b), f"a tmpfs mount for each of the {len(listed)} listed options (but {sorted(NOT_ON_TMPFS)})")


@case("features/capabilities-recognized", "MUST", "[capabilities:] The runtime MUST recognize the elements in this array in the process.capabilities object of config.json")
def _(t):
    listed = (features(t).get("linux") or {}).get("capabilities") or []
    # what the runtime could grant here: the suite's own bounding set (the
    # rest is config/process-capabilities-ungrantable)
    mine = set(own_caps())
    usable = [c for c in listed if c in mine]
    if not usable:
        return
    b = t.bundle()
    b.process["capabilities"] = {k: usable for k in ("bounding", "permitted", "effective")}
    r = t.probe(b)
    got = set(r["caps"]["CapBnd"]["names"])
    missing = [c for c in usable if c not in got]
    t.check(not missing, f"listed capabilities not in the bounding set: {missing}")


def own_caps():
    mask = int(open("/proc/self/status").read().split("CapBnd:")[1].split()[0], 16)
    return [n for i, n in enumerate(CAP_NAMES) if mask >> i & 1]


CAP_NAMES = (
    """CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP
    CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER
    CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE
    CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE CAP_AUDIT_CONTROL CAP_SETFCAP
    CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF
    CAP_CHECKPOINT_RESTORE""".split()
)  # in bit order


@case("features/seccomp-recognized", "MUST", "[seccomp actions, operators, archs:] The runtime MUST recognize the elements in this array in the ... linux.seccomp object of config.json")
def _(t):
    sc = (features(t).get("linux") or {}).get("seccomp") or {}
    if not sc.get("enabled"):
        t.skip("the runtime's features say seccomp is not enabled")
    actions = [a for a in sc.get("actions") or [] if a != "SCMP_ACT_NOTIFY"]  # NOTIFY needs a listener
    ops = sc.get("operators") or []
    # the ones a filter on this machine can hold (libseccomp refuses a
    # filter mixing byte orders)
    archs = [a for a in sc.get("archs") or [] if a in ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")]
    # rules on syscalls a busybox shell never makes
    rules = [{"names": ["acct"], "action": a} for a in actions if a != "SCMP_ACT_ALLOW"]
    rules += [{"names": ["swapon"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 1, "valueTwo": 1, "op": o}]} for o in ops]
    b = t.bundle()
    b.config["ociVersion"] = "1.1.0"
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": archs, "syscalls": rules}
    out = t.shell(b, "echo ok")
    t.check(out.strip() == "ok", f"output {out!r}")
