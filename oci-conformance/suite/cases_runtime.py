"""runtime.md: state, lifecycle, operations and their errors."""

import os
import re
import subprocess

from harness import case, cgroup_layout, mountinfo, proc_alive, read, wait_pid, wait_until

SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def sleeper(b, secs="inf"):
    b.process["args"] = ["/probe", "sleep", secs]


def created(t, b=None):
    """A created container running `probe sleep inf`; returns (bundle, id, state)."""
    b = b or t.bundle()
    sleeper(b)
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    t.check(st is not None, f"state after create failed: {t.last_state_res.why()}")
    return b, res.id, st


def running(t, b=None):
    b, cid, st = created(t, b)
    t.need(t.start(cid), "start")
    st = t.wait_status(cid, "running", 2)
    t.check(st and st.get("status") == "running", f"status after start is {st and st.get('status')!r}")
    return b, cid, st


def stopped(t):
    b = t.bundle()
    b.process["args"] = ["/probe", "exit", "0"]
    t.need(t.create(b), "create")
    cid = t.ids[-1]
    st = t.state(cid)
    t.need(t.start(cid), "start")
    if st and st.get("pid"):
        wait_pid(st["pid"], 5)
    st = t.wait_status(cid, "stopped")
    t.check(st and st.get("status") == "stopped", f"status after the process exited is {st and st.get('status')!r}")
    return b, cid, st


def leaked_mounts(t):
    """Mounts in the suite's namespace made from or onto the case's files."""
    return [m["mount_point"] for m in mountinfo() if m["mount_point"].startswith(t.dir) or m["root"].startswith(t.dir)]


def processes_in(b):
    """Live processes whose root or cgroup is the bundle's."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            root = os.readlink(f"/proc/{p}/root")
        except OSError:
            continue
        if (root.startswith(b.rootfs) or b.cgroups_path in read(f"/proc/{p}/cgroup", "")) and proc_alive(p):
            out.append(p)
    return out


# -- State ------------------------------------------------------------------


@case("runtime/state-fields", "MUST", "The state of a container includes the following properties: ociVersion, id, status, pid, bundle")
def _(t):
    b, cid, st = created(t)
    problems = []
    for k, typ in (("ociVersion", str), ("id", str), ("status", str), ("pid", int), ("bundle", str)):
        if k not in st:
            problems.append(f"no {k}")
        elif not isinstance(st[k], typ):
            problems.append(f"{k} is {type(st[k]).__name__}")
    t.check(not problems, f"state {st}: " + ", ".join(problems))
    t.check(SEMVER.match(st["ociVersion"]), f"ociVersion {st['ociVersion']!r} is not SemVer")
    t.check(st["id"] == cid, f"id {st['id']!r} is not {cid!r}")
    t.check(st["bundle"] == b.dir, f"bundle {st['bundle']!r} is not the absolute bundle path {b.dir!r}")


@case("runtime/state-pid", "MUST", "pid ... is the ID of the container process, as seen by the host")
def _(t):
    b, cid, st = running(t)
    pid = st["pid"]

    def cmd():
        return read(f"/proc/{pid}/cmdline", "").split("\0")[:3]

    # (how soon after start the exec lands is not this clause's business)
    wait_until(lambda: cmd() == ["/probe", "sleep", "inf"], 2)
    t.check(cmd() == ["/probe", "sleep", "inf"], f"/proc/{pid}/cmdline is {cmd()!r}, not the container process")


@case("runtime/state-created", "MUST", "Upon successful completion of [create] the status property of this container MUST be created")
def _(t):
    _, _, st = created(t)
    t.check(st["status"] == "created", f"status {st['status']!r}")


@case("runtime/state-running", "MUST", "Upon successful completion of [start] the status property of this container MUST be running")
def _(t):
    running(t)


@case("runtime/state-stopped", "MUST", "stopped: the container process has exited")
def _(t):
    stopped(t)


@case("runtime/state-annotations", "MUST", "annotations (map, OPTIONAL) contains the list of annotations associated with the container")
def _(t):
    b = t.bundle()
    ann = {"com.example.oc": "yes", "com.example.empty": ""}
    b.config["annotations"] = ann
    _, _, st = created(t, b)
    t.check(st.get("annotations") == ann, f"state annotations {st.get('annotations')!r}, config had {ann!r}")


@case("runtime/state-no-id", "MUST", "[state] MUST generate an error if it is not provided the ID of a container")
def _(t):
    res = t.cmd("state")
    t.check(not res.ok, "state without an id exited 0")


@case("runtime/state-unknown", "MUST", "Attempting to query a container that does not exist MUST generate an error")
def _(t):
    res = t.cmd("state", "oc-no-such-container")
    t.check(not res.ok, f"state of an unknown id exited 0: {res.out[:200]!r}")


# -- Create -----------------------------------------------------------------


@case("runtime/create-no-id", "MUST", "[create] MUST generate an error if it is not provided a path to the bundle and the container ID")
def _(t):
    b = t.bundle()
    b.write()
    res = t.cmd("create", "--bundle", b.dir)
    t.check(not res.ok, "create without an id exited 0")


@case("runtime/create-bad-bundle", "MUST", "[create] MUST generate an error if it is not provided a path to the bundle [one that does not exist]")
def _(t):
    cid = t.new_id()
    res = t.cmd("create", "--bundle", t.path("no-such-bundle"), cid)
    t.check(not res.ok, "create with a missing bundle exited 0")
    t.check(t.state(cid) is None, "a container exists after the failed create")


@case("runtime/create-duplicate-id", "MUST", "If the ID provided is not unique ... MUST generate an error and a new container MUST NOT be created")
def _(t):
    b, cid, st = created(t)
    b2 = t.bundle()
    sleeper(b2)
    res = t.create(b2, cid)
    t.check(not res.ok, "a second create with the same id exited 0")
    st2 = t.state(cid)
    t.check(st2 is not None, "the first container is gone after the duplicate create")
    t.check(st2.get("pid") == st["pid"] and st2.get("status") == "created" and st2.get("bundle") == b.dir, f"the first container changed: {st} -> {st2}")
    t.check(proc_alive(st["pid"]), "the first container's process died")


@case("runtime/create-invalid-id", "MUST", "If the ID provided ... is not valid in any other way, the implementation MUST generate an error")
def _(t):
    b = t.bundle()
    sleeper(b)
    bad = "../oc-escape"
    res = t.create(b, bad)
    t.ids.remove(bad)
    t.check(not res.ok, f"create with id {bad!r} exited 0")
    t.check(not os.path.exists(os.path.join(t.dir, "oc-escape")), f"create with id {bad!r} wrote outside --root")


@case("runtime/create-no-process-run", "MUST", "the user-specified program (from process) MUST NOT be run at this time")
def _(t):
    b = t.bundle()
    shared = b.shared_dir()
    b.process["args"] = ["/bin/sh", "-c", "echo ran > /oc-shared/ran; sleep 100"]
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    t.check(not os.path.exists(os.path.join(shared, "ran")), "the process ran during create")
    cmd = read(f"/proc/{st['pid']}/cmdline", "").split("\0")[0]
    t.check(cmd != "/bin/sh", f"pid {st['pid']} is already the user process {cmd!r}")
    t.need(t.start(res.id), "start")
    t.check(wait_until(lambda: os.path.exists(os.path.join(shared, "ran")), 5), "the process did not run after start")


@case("runtime/create-applies-config", "MUST", "All of the properties configured in config.json except for process MUST be applied [by create]")
def _(t):
    b = t.bundle()
    b.config["hostname"] = "oc-created"
    b.mount("/oc-tmpfs", "tmpfs", "tmpfs", ["size=1m"])
    _, cid, st = created(t, b)
    pid = st["pid"]
    out = subprocess.run(["nsenter", f"--uts=/proc/{pid}/ns/uts", "uname", "-n"], capture_output=True, text=True).stdout.strip()
    t.check(out == "oc-created", f"hostname in the created container is {out!r}")
    mp = [m for m in mountinfo(pid) if m["mount_point"] == "/oc-tmpfs"]
    t.check(mp and mp[-1]["fstype"] == "tmpfs", "the tmpfs mount is not in the created container's mount table")


@case("runtime/create-config-snapshot", "MUST", "Any updates to config.json after this step MUST NOT affect the container")
def _(t):
    b = t.bundle()
    b.process["args"] = ["/bin/sh", "-c", "echo original"]
    res = t.need(t.create(b), "create")
    b.process["args"] = ["/bin/sh", "-c", "echo changed"]
    b.config["hostname"] = "changed"
    b.write()
    st = t.state(res.id)
    t.need(t.start(res.id), "start")
    wait_pid(st["pid"], 5)
    t.wait_status(res.id, "stopped")
    out = read(b.out, "").strip()
    t.check(out == "original", f"the container printed {out!r}, not 'original'")


# -- Start ------------------------------------------------------------------


@case("runtime/start-runs-process", "MUST", "[start] MUST run the user-specified program as specified by process")
def _(t):
    b = t.bundle()
    r = t.probe(b, "report", "oc-arg")
    t.check(r["argv"] == ["/probe", "report", "oc-arg"], f"argv {r['argv']!r}")


@case("runtime/start-no-id", "MUST", "[start] MUST generate an error if it is not provided the container ID")
def _(t):
    t.check(not t.cmd("start").ok, "start without an id exited 0")


@case("runtime/start-unknown", "MUST", "Attempting to start a container that is not created MUST ... generate an error [no such container]")
def _(t):
    t.check(not t.cmd("start", "oc-no-such-container").ok, "start of an unknown id exited 0")


@case("runtime/start-running", "MUST", "Attempting to start a container that is not created MUST have no effect on the container and MUST generate an error [running]")
def _(t):
    b, cid, st = running(t)
    res = t.start(cid)
    t.check(not res.ok, "a second start exited 0")
    st2 = t.state(cid)
    t.check(st2 and st2["status"] == "running" and st2["pid"] == st["pid"], f"the container changed: {st2}")


@case("runtime/start-stopped", "MUST", "Attempting to start a container that is not created MUST have no effect on the container and MUST generate an error [stopped]")
def _(t):
    b, cid, st = stopped(t)
    res = t.start(cid)
    t.check(not res.ok, "start of a stopped container exited 0")
    st2 = t.state(cid)
    t.check(st2 and st2["status"] == "stopped", f"the container changed: {st2}")


@case("runtime/start-no-process", "MUST", "[start] MUST generate an error if process was not set")
def _(t):
    b = t.bundle()
    del b.config["process"]
    res = t.create(b)
    if res.ok:
        res = t.start(res.id)
        t.check(not res.ok, "create and start of a config without process both exited 0")


# -- Kill -------------------------------------------------------------------


@case("runtime/kill-signal", "MUST", "[kill] MUST send the specified signal to the container process")
def _(t):
    b = t.bundle()
    b.process["args"] = ["/probe", "signals"]
    res = t.need(t.create(b), "create")
    t.need(t.start(res.id), "start")
    t.check(wait_until(lambda: '"ready"' in read(b.out, ""), 5), "the probe never became ready")
    t.need(t.kill(res.id, "USR1"), "kill USR1")
    t.check(wait_until(lambda: '"signal":10' in read(b.out, "").replace(" ", ""), 5), f"the process did not see SIGUSR1: {read(b.out, '')!r}")


@case("runtime/kill-created", "MUST", "Attempting to send a signal to a container that is neither created nor running MUST ... generate an error [created: allowed]")
def _(t):
    b, cid, st = created(t)
    t.need(t.kill(cid, "KILL"), "kill of a created container")
    st2 = t.wait_status(cid, "stopped")
    t.check(st2 and st2["status"] == "stopped", f"status after SIGKILL is {st2 and st2['status']!r}")


@case("runtime/kill-stopped", "MUST", "Attempting to send a signal to a container that is neither created nor running MUST have no effect on the container and MUST generate an error")
def _(t):
    b, cid, st = stopped(t)
    res = t.kill(cid, "TERM")
    t.check(not res.ok, "kill of a stopped container exited 0")
    st2 = t.state(cid)
    t.check(st2 and st2["status"] == "stopped", f"the container changed: {st2}")


@case("runtime/kill-no-id", "MUST", "[kill] MUST generate an error if it is not provided the container ID")
def _(t):
    t.check(not t.cmd("kill").ok, "kill without an id exited 0")
    t.check(not t.cmd("kill", "oc-no-such-container", "KILL").ok, "kill of an unknown id exited 0")


# -- Delete -----------------------------------------------------------------


@case("runtime/delete-running", "MUST", "Attempting to delete a container that is not stopped MUST have no effect on the container and MUST generate an error [running]")
def _(t):
    b, cid, st = running(t)
    res = t.delete(cid)
    t.check(not res.ok, "delete of a running container exited 0")
    st2 = t.state(cid)
    t.check(st2 and st2["status"] == "running" and proc_alive(st["pid"]), f"the container changed: {st2}")


@case("runtime/delete-created", "MUST", "Attempting to delete a container that is not stopped MUST have no effect on the container and MUST generate an error [created]")
def _(t):
    b, cid, st = created(t)
    res = t.delete(cid)
    t.check(not res.ok, "delete of a created container exited 0 (and removed it)")
    st2 = t.state(cid)
    t.check(st2 and st2["status"] == "created" and proc_alive(st["pid"]), f"the container changed: {st2}")


@case("runtime/delete-unknown", "MUST", "[delete] MUST generate an error if it is not provided the container ID [or the container does not exist]")
def _(t):
    t.check(not t.cmd("delete").ok, "delete without an id exited 0")
    t.check(not t.cmd("delete", "oc-no-such-container").ok, "delete of an unknown id exited 0")


@case("runtime/delete-resources", "MUST", "Deleting a container MUST delete the resources that were created during the create step")
def _(t):
    b = t.bundle()
    b.mount("/oc-tmpfs", "tmpfs", "tmpfs", ["size=1m"])
    b.process["args"] = ["/probe", "exit", "0"]
    res = t.need(t.create(b), "create")
    st = t.state(res.id)
    pid = st["pid"]
    t.need(t.start(res.id), "start")
    wait_pid(pid, 5)
    t.wait_status(res.id, "stopped")
    t.need(t.delete(res.id), "delete")
    t.check(t.state(res.id) is None, "state still answers after delete")
    left = [mp + b.cgroups_path for mp in set(cgroup_layout()[1].values()) if os.path.isdir(mp + b.cgroups_path)]
    t.check(not left, f"cgroups left after delete: {left}")
    t.check(not proc_alive(pid), f"the container process {pid} is still there")
    t.check(not leaked_mounts(t), f"host mounts left after delete: {leaked_mounts(t)}")


@case("runtime/delete-keeps-foreign", "MUST", "resources associated with the container, but not created by this container, MUST NOT be deleted")
def _(t):
    name = f"{t.tag}-net"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        t.skip(f"ip netns add failed: {r.stderr.strip()}")
    t.cleanups.append(lambda: subprocess.run(["ip", "netns", "delete", name], capture_output=True))
    path = f"/run/netns/{name}"
    ino = os.stat(path).st_ino
    b = t.bundle()
    b.add_ns("network", path)
    src = t.path("volume")
    os.makedirs(src)
    with open(os.path.join(src, "keep"), "w") as f:
        f.write("keep")
    b.bind(src, "/oc-volume")
    b.process["args"] = ["/probe", "exit", "0"]
    t.run(b)
    t.check(os.path.exists(path) and os.stat(path).st_ino == ino, "the joined network namespace file is gone or changed")
    t.check(read(os.path.join(src, "keep"), "") == "keep", "the bind-mount source lost its content")


# -- Errors -----------------------------------------------------------------


@case("runtime/error-leaves-no-trace", "MUST", "generating an error MUST leave the state of the environment as if the operation were never attempted")
def _(t):
    b = t.bundle()
    b.bind(t.path("no-such-source"), "/oc-missing")
    sleeper(b)
    res = t.create(b)
    t.check(not res.ok, "create with a missing bind source exited 0")
    t.check(t.state(res.id) is None, "a container exists after the failed create")
    left = [mp + b.cgroups_path for mp in set(cgroup_layout()[1].values()) if os.path.isdir(mp + b.cgroups_path)]
    t.check(not left, f"cgroups left behind: {left}")
    t.check(not leaked_mounts(t), f"host mounts left behind: {leaked_mounts(t)}")
    t.check(not processes_in(b), f"processes left behind: {processes_in(b)}")
