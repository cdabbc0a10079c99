"""config.md hooks, and runtime.md's lifecycle steps that call them.

Hooks are /bin/sh scripts that append their name to a log in the case's
scratch directory (for hooks that run before pivot_root or in the runtime
namespace, the host path is visible) or in a directory bind-mounted at
/oc-shared (startContainer, which resolves and runs in the container).
"""

import json
import os
import time

from harness import case, proc_alive, read, wait_pid, wait_until

KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


class Hooks:
    def __init__(self, t, b):
        self.t, self.b = t, b
        self.dir = t.path("hooks")
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, "log")
        self.shared = b.shared_dir()  # /oc-shared in the container
        b.config.setdefault("hooks", {})

    def add(self, kind, name=None, fail=False, extra="", timeout=None, env=None, argv0=None):
        """A hook that logs its name, its mount namespace and its stdin (and,
        with argv0 or env given, its argv and environment)."""
        name = name or kind
        if kind == "startContainer":
            d, log = "/oc-shared", "/oc-shared/log"
        else:
            d, log = self.dir, self.log
        script = f"echo {name} >> {log}; readlink /proc/self/ns/mnt > {d}/{name}.mnt; cat > {d}/{name}.state"
        if argv0 or env is not None:
            # /proc/$$ names the shell only where /proc is of its pid namespace
            script += f"; tr '\\0' ' ' < /proc/$$/cmdline > {d}/{name}.argv; cp /proc/$$/environ {d}/{name}.env"
        if extra:
            script += "; " + extra
        if fail:
            script += "; exit 3"
        h = {"path": "/bin/sh", "args": [argv0 or "sh", "-c", script]}
        if timeout:
            h["timeout"] = timeout
        if env is not None:
            h["env"] = env
        self.b.config["hooks"].setdefault(kind, []).append(h)
        return h

    def file(self, kind_or_name, ext):
        d = self.shared if kind_or_name.startswith("startContainer") else self.dir
        return read(os.path.join(d, f"{kind_or_name}.{ext}"), "")

    def logged(self):
        return read(self.log, "").split() + read(os.path.join(self.shared, "log"), "").split()


def sleeper_logging(b):
    """The process logs 'process' to /oc-shared/log, then sleeps."""
    b.process["args"] = ["/bin/sh", "-c", "echo process >> /oc-shared/log; exec /probe sleep inf"]


def host_mnt():
    return os.readlink("/proc/self/ns/mnt")


# -- when and where each kind runs ------------------------------------------


@case("config/hooks-prestart", "MUST", "The prestart hooks MUST be called as part of the create operation ... executed in the runtime namespace")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("prestart")
    sleeper_logging(b)
    t.need(t.create(b), "create")
    t.check("prestart" in h.logged(), "no prestart hook ran during create")
    t.check("process" not in h.logged(), "the process ran during create")
    t.check(h.file("prestart", "mnt").strip() == host_mnt(), f"prestart ran in mount namespace {h.file('prestart', 'mnt').strip()}, not the runtime's {host_mnt()}")


@case("config/hooks-createRuntime", "MUST", "The createRuntime hooks MUST be called as part of the create operation ... executed in the runtime namespace")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("createRuntime")
    sleeper_logging(b)
    t.need(t.create(b), "create")
    t.check("createRuntime" in h.logged(), "no createRuntime hook ran during create")
    t.check(h.file("createRuntime", "mnt").strip() == host_mnt(), f"createRuntime ran in mount namespace {h.file('createRuntime', 'mnt').strip()}, not the runtime's {host_mnt()}")


@case("config/hooks-createContainer", "MUST", "The createContainer hooks MUST be called as part of the create operation ... executed in the container namespace")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("createContainer")
    sleeper_logging(b)
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    t.check("createContainer" in h.logged(), "no createContainer hook ran during create")
    want = os.readlink(f"/proc/{st['pid']}/ns/mnt")
    got = h.file("createContainer", "mnt").strip()
    t.check(got == want, f"createContainer ran in mount namespace {got}, not the container's {want}")


@case("config/hooks-startContainer", "MUST", "The startContainer hooks MUST be called before the user-specified process is executed ... executed in the container namespace")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("startContainer")
    sleeper_logging(b)
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    t.check("startContainer" not in h.logged(), "startContainer ran during create")
    t.need(t.start(res.id), "start")
    wait_until(lambda: "process" in h.logged(), 3)
    log = h.logged()
    t.check("startContainer" in log, f"no startContainer hook ran (log {log})")
    t.check("process" in log and log.index("startContainer") < log.index("process"), f"order was {log}")
    want = os.readlink(f"/proc/{st['pid']}/ns/mnt")
    got = h.file("startContainer", "mnt").strip()
    t.check(got == want, f"startContainer ran in mount namespace {got}, not the container's {want}")


@case("config/hooks-startContainer-path", "MUST", "The startContainer hooks' path MUST resolve in the container namespace")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    # a program that exists only inside the rootfs
    b.file("/oc-hook", "#!/bin/sh\necho startContainer >> /oc-shared/log\n", 0o755)
    b.config["hooks"]["startContainer"] = [{"path": "/oc-hook"}]
    sleeper_logging(b)
    res = t.need(t.create(b), "create")
    t.need(t.start(res.id), "start")
    t.check(wait_until(lambda: "startContainer" in h.logged(), 3), "the hook at a path that exists only in the container did not run")


@case("config/hooks-poststart", "MUST", "The poststart hooks MUST be called after the user-specified process is executed but before the start operation returns")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("poststart", extra="pid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' " + h.dir + "/poststart.state); tr '\\0' ' ' < /proc/$pid/cmdline > " + h.dir + "/poststart.cmdline")
    b.process["args"] = ["/probe", "sleep", "inf"]
    res = t.need(t.create(b), "create")
    t.check("poststart" not in h.logged(), "poststart ran during create")
    t.need(t.start(res.id), "start")
    t.check("poststart" in h.logged(), "no poststart hook had run when start returned")
    t.check(h.file("poststart", "mnt").strip() == host_mnt(), "poststart did not run in the runtime namespace")
    cmd = h.file("poststart", "cmdline").strip()
    t.check(cmd == "/probe sleep inf", f"when poststart ran the container process was {cmd!r}, not yet the user program")


@case("config/hooks-poststop", "MUST", "The poststop hooks MUST be called after the container is deleted but before the delete operation returns")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("poststop")
    b.process["args"] = ["/probe", "exit", "0"]
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    t.need(t.start(res.id), "start")
    wait_pid(st["pid"], 5)
    t.wait_status(res.id, "stopped")
    t.check("poststop" not in h.logged(), "poststop ran before delete")
    t.need(t.delete(res.id), "delete")
    t.check("poststop" in h.logged(), "no poststop hook had run when delete returned")
    t.check(h.file("poststop", "mnt").strip() == host_mnt(), "poststop did not run in the runtime namespace")


@case("config/hooks-order-kinds", "MUST", "The prestart hooks MUST be called before the createRuntime hooks ... createContainer hooks MUST be called after the createRuntime hooks")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    for k in KINDS:
        h.add(k)
    sleeper_logging(b)
    res = t.need(t.create(b), "create")
    t.need(t.start(res.id), "start")
    wait_until(lambda: "process" in h.logged(), 3)
    t.kill(res.id, "KILL")
    t.wait_status(res.id, "stopped")
    t.need(t.delete(res.id), "delete")
    # the two logs are separate files: order within the host log, and
    # startContainer/process within the shared one
    host = read(h.log, "").split()
    want = ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    t.check(host == want, f"host-side hooks ran as {host}, want {want}")
    shared = read(os.path.join(h.shared, "log"), "").split()
    t.check(shared == ["startContainer", "process"], f"container-side log {shared}")


@case("config/hooks-order-listed", "MUST", "Hooks MUST be called in the listed order")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("createRuntime", "first", extra="sleep 0.2")
    h.add("createRuntime", "second")
    h.add("createRuntime", "third")
    sleeper_logging(b)
    t.need(t.create(b), "create")
    log = read(h.log, "").split()
    t.check(log == ["first", "second", "third"], f"createRuntime hooks ran as {log}")


@case("config/hooks-state-stdin", "MUST", "The state of the container MUST be passed to hooks over stdin")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("createRuntime")
    h.add("poststart")
    sleeper_logging(b)
    res = t.need(t.create(b), "create")
    t.need(t.start(res.id), "start")
    st = t.state(res.id)
    for kind in ("createRuntime", "poststart"):
        raw = h.file(kind, "state")
        try:
            s = json.loads(raw)
        except ValueError:
            t.fail(f"{kind} read {raw[:200]!r} on stdin, not JSON")
        t.check(s.get("id") == res.id and s.get("bundle") == b.dir and s.get("ociVersion"), f"{kind} stdin state {s}")
        t.check(s.get("pid") == st["pid"], f"{kind} stdin pid {s.get('pid')} is not the container's {st['pid']}")
        t.check(s.get("status") in ("creating", "created", "running"), f"{kind} stdin status {s.get('status')!r}")


@case("config/hooks-args-env", "MUST", "args ... with the same semantics as IEEE Std 1003.1-2008 execv's argv; env ... with the same semantics as environ")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("createRuntime", argv0="oc-argv0", env=["OC_HOOK=1", "OC_OTHER=two words"])
    sleeper_logging(b)
    t.need(t.create(b), "create")
    argv = h.file("createRuntime", "argv")
    t.check(argv.startswith("oc-argv0 -c "), f"the hook's argv is {argv[:80]!r}, argv[0] should be 'oc-argv0'")
    env = sorted(x for x in h.file("createRuntime", "env").split("\0") if x)
    t.check(env == ["OC_HOOK=1", "OC_OTHER=two words"], f"the hook's environment is {env}")


# -- failures ---------------------------------------------------------------


def failing_create(t, kind):
    b = t.bundle()
    h = Hooks(t, b)
    # the pid in the state a hook reads is the host's in the runtime namespace
    src = kind
    if kind not in ("prestart", "createRuntime"):
        h.add("createRuntime", "pidsrc")
        src = "pidsrc"
    h.add(kind, fail=True)
    h.add("poststop")
    sleeper_logging(b)
    res = t.create(b)
    t.check(not res.ok, f"create exited 0 although a {kind} hook failed")
    try:
        pid = json.loads(h.file(src, "state") or "{}").get("pid")
    except ValueError:
        pid = None
    t.check(not pid or wait_until(lambda: not proc_alive(pid), 3), f"the container process {pid} is still alive")
    st = t.state(res.id)
    t.check(st is None or st.get("status") == "stopped", f"the container is {st and st.get('status')!r} after the failed hook")
    t.check("process" not in h.logged(), "the user process ran")
    return h


@case("config/hooks-prestart-fails", "MUST", "If any prestart hook fails, the runtime MUST generate an error, stop the container")
def _(t):
    failing_create(t, "prestart")


@case("config/hooks-createRuntime-fails", "MUST", "If any createRuntime hook fails, the runtime MUST generate an error, stop the container")
def _(t):
    failing_create(t, "createRuntime")


@case("config/hooks-createContainer-fails", "MUST", "If any createContainer hook fails, the runtime MUST generate an error, stop the container")
def _(t):
    failing_create(t, "createContainer")


@case("config/hooks-fail-runs-poststop", "MUST", "[a failed hook:] continue the lifecycle at step 12 ... The poststop hooks MUST be invoked by the runtime")
def _(t):
    h = failing_create(t, "createRuntime")
    wait_until(lambda: "poststop" in h.logged(), 1)
    t.check("poststop" in h.logged(), "poststop hooks did not run after the failed createRuntime hook")


@case("config/hooks-startContainer-fails", "MUST", "If any startContainer hook fails, the runtime MUST generate an error, stop the container")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("startContainer", fail=True)
    sleeper_logging(b)
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    r = t.start(res.id)
    t.check(not r.ok, "start exited 0 although the startContainer hook failed")
    time.sleep(0.2)
    t.check("process" not in h.logged(), "the user process ran")
    t.check(wait_until(lambda: not proc_alive(st["pid"]), 3), "the container process is still alive")


@case("config/hooks-poststart-fails", "MUST", "If any poststart hook fails, the runtime MUST generate an error, stop the container")
def _(t):
    b = t.bundle()
    b.config["ociVersion"] = "1.3.0"  # "runtime: fail when a poststart hook fails (#1262)"
    h = Hooks(t, b)
    h.add("poststart", fail=True)
    b.process["args"] = ["/probe", "sleep", "inf"]
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    r = t.start(res.id)
    t.check(not r.ok, "start exited 0 although the poststart hook failed")
    t.check(wait_until(lambda: not proc_alive(st["pid"]), 3), "the container process is still running")


@case("config/hooks-poststop-fails", "MUST", "If any poststop hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("poststop", "stop1", fail=True)
    h.add("poststop", "stop2")
    b.process["args"] = ["/probe", "exit", "0"]
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    t.need(t.start(res.id), "start")
    wait_pid(st["pid"], 5)
    t.wait_status(res.id, "stopped")
    r = t.delete(res.id)
    t.check(r.ok, f"delete failed because a poststop hook failed: {r.why()}")
    t.check(h.logged()[-2:] == ["stop1", "stop2"], f"poststop hooks ran as {h.logged()}")
    t.check(t.state(res.id) is None, "the container still exists")


@case("config/hooks-timeout", "MUST", "timeout (int, OPTIONAL) is the number of seconds before aborting the hook")
def _(t):
    b = t.bundle()
    h = Hooks(t, b)
    h.add("createRuntime", extra="exec sleep 20", timeout=1)
    sleeper_logging(b)
    t0 = time.monotonic()
    res = t.create(b, timeout=25)
    secs = time.monotonic() - t0
    t.check(not res.ok, f"create exited 0 after {secs:.1f}s although the hook outlived its 1s timeout")
    t.check(secs < 10, f"create took {secs:.1f}s with a hook timeout of 1s")
