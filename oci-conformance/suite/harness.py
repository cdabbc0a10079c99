"""The machinery every case uses: the runtime driver, bundles, host views.

A case is a function ``fn(t)`` registered with :func:`case`; ``t`` is a
:class:`T`, which owns a private ``--root``, a scratch directory and
everything the case starts, and cleans all of it up afterwards. A case
raises :class:`Fail` (through ``t.check``/``t.fail``) or :class:`Skip`
(through ``t.skip``), or returns normally to pass.

Everything the suite knows about a container comes from the kernel (the
probe inside, ``/proc/<pid>/...`` and cgroup files outside), never from the
runtime's own word, except where the spec is about that word (``state``,
``features``, exit statuses).
"""

import copy
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
CMD_TIMEOUT = 10  # seconds for any one runtime command

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


class Fail(Exception):
    """The runtime did not do what the clause says."""


class Skip(Exception):
    """The host cannot show the clause (a kernel feature, an LSM, the cgroup version)."""


# ---------------------------------------------------------------------------
# Case registry
# ---------------------------------------------------------------------------

CASES = []


class Case:
    def __init__(self, cid, level, clause, fn):
        self.id = cid  # "config-linux/personality"
        self.level = level  # "MUST" or "SHOULD"
        self.clause = clause  # a few words of the spec text
        self.fn = fn

    @property
    def section(self):
        return self.id.split("/", 1)[0]

    def title(self):
        return f'{self.id}: "{self.clause}" ({self.level})'


def case(cid, level, clause):
    """Register a case: ``@case("runtime/state-created", "MUST", "...")``."""
    assert level in ("MUST", "SHOULD"), level

    def deco(fn):
        assert all(c.id != cid for c in CASES), f"duplicate case id {cid}"
        CASES.append(Case(cid, level, clause, fn))
        return fn

    return deco


# ---------------------------------------------------------------------------
# Host facts
# ---------------------------------------------------------------------------


def read(path, default=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        if default is None:
            raise
        return default


def ns_inode(pid, kind):
    """The inode of /proc/PID/ns/KIND ('self' allowed), or None."""
    try:
        return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
    except OSError:
        return None


def mountinfo(pid="self"):
    """Parsed /proc/PID/mountinfo: list of dicts."""
    out = []
    for line in read(f"/proc/{pid}/mountinfo", "").splitlines():
        left, _, right = line.partition(" - ")
        f = left.split()
        r = right.split()
        out.append(
            {
                "id": int(f[0]),
                "parent": int(f[1]),
                "root": unescape(f[3]),
                "mount_point": unescape(f[4]),
                "options": f[5].split(","),
                "optional": f[6:],
                "fstype": r[0] if r else "",
                "source": unescape(r[1]) if len(r) > 1 else "",
                "super_options": r[2].split(",") if len(r) > 2 else [],
            }
        )
    return out


def unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def cgroup_layout():
    """('v2'|'hybrid'|'v1', {controller: mountpoint}, unified mountpoint or None)."""
    v1, unified = {}, None
    for m in mountinfo():
        if m["fstype"] == "cgroup2":
            unified = m["mount_point"]
        elif m["fstype"] == "cgroup":
            for opt in m["super_options"]:
                if opt in ("rw", "ro") or opt.startswith("release_agent"):
                    continue
                v1[opt] = m["mount_point"]
    if not v1 and unified:
        return "v2", v1, unified
    return ("hybrid" if unified else "v1"), v1, unified


def lsm_enabled(name):
    if name == "apparmor":
        return read("/sys/module/apparmor/parameters/enabled", "N").strip() == "Y"
    if name == "selinux":
        return os.path.exists("/sys/fs/selinux/enforce")
    return False


def proc_alive(pid):
    try:
        st = read(f"/proc/{pid}/stat")
    except OSError:
        return False
    return st.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(pred, timeout=5.0, step=0.01):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            return v
        time.sleep(step)


# ---------------------------------------------------------------------------
# The runtime
# ---------------------------------------------------------------------------


class Res:
    """What one runtime command did."""

    def __init__(self, argv, rc, out, err, secs):
        self.argv, self.rc, self.out, self.err, self.secs = argv, rc, out, err, secs

    @property
    def ok(self):
        return self.rc == 0

    def why(self):
        """A short description for diagnostics."""
        msg = (self.err or self.out or "").strip().splitlines()
        last = msg[-1] if msg else ""
        args = self.argv[self.argv.index("--root") + 2 :] if "--root" in self.argv else self.argv
        return f"`{' '.join(args)}` exited {self.rc}" + (f": {last[:300]}" if last else "")


class Runtime:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        lines = out.strip().splitlines()
        # "runc version 1.1.5", "commit: ..." (runc, crun and husk print both)
        self.version = ", ".join(lines[:2]) if lines else "unknown"


# ---------------------------------------------------------------------------
# Per-case context
# ---------------------------------------------------------------------------


class T:
    """One case's world: a private --root, a scratch dir, and cleanup."""

    def __init__(self, suite, index, case_):
        self.suite = suite
        self.rt = suite.runtime
        self.case = case_
        self.dir = os.path.join(suite.tmp, f"{index:03d}")
        os.makedirs(self.dir)
        self.root = os.path.join(self.dir, "root")
        self.ids = []
        self.procs = []  # helper processes we started (holders)
        self.cleanups = []  # callables run at the end, last first
        self._n = 0
        self.cg_parent = suite.cg_parent
        self.tag = f"oc{os.getpid()}-{index}"

    # -- results -----------------------------------------------------------

    def fail(self, msg):
        raise Fail(msg)

    def check(self, cond, msg):
        if not cond:
            raise Fail(msg)

    def skip(self, reason):
        raise Skip(reason)

    def need(self, res, what=None):
        """Fail unless a runtime command succeeded."""
        if not res.ok:
            raise Fail((what + ": " if what else "") + res.why())
        return res

    # -- ids and files -----------------------------------------------------

    def new_id(self):
        self._n += 1
        cid = f"{self.tag}-{self._n}"
        self.ids.append(cid)
        return cid

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def bundle(self, name=None):
        self._n += 1
        return Bundle(self, os.path.join(self.dir, name or f"b{self._n}"))

    # -- the runtime CLI ---------------------------------------------------

    def cmd(self, *args, stdin=None, stdout=None, stderr=None, timeout=CMD_TIMEOUT, env=None, preexec=None, wrap=()):
        """Run `runtime --root ROOT ARGS...` (behind `wrap`, e.g. nsenter).
        stdout/stderr: a path, or None to capture."""
        argv = [*wrap, self.rt.path, "--root", self.root, *args]
        outf = open(stdout, "wb") if stdout else None
        errf = open(stderr, "wb") if stderr else None
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(
                argv,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=outf or subprocess.PIPE,
                stderr=errf or subprocess.PIPE,
                env=env,
                preexec_fn=preexec,
                start_new_session=True,
            )
            try:
                out, err = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                out, err = p.communicate()
                raise Fail(f"`{' '.join(args)}` did not finish within {timeout}s")
        finally:
            for f in (outf, errf):
                if f:
                    f.close()
        dec = lambda b: b.decode(errors="replace") if b else ""  # noqa: E731
        if stdout:
            out = read(stdout, "").encode()
        if stderr:
            err = read(stderr, "").encode()
        return Res(argv, p.returncode, dec(out), dec(err), time.monotonic() - t0)

    def create(self, b, cid=None, console_socket=None, out=None, extra=(), **kw):
        """create; the container's stdout/stderr go to files (out, out+'.err')."""
        cid = cid or self.new_id()
        if cid not in self.ids:
            self.ids.append(cid)
        b.write()
        args = ["create", "--bundle", b.dir]
        if console_socket:
            args += ["--console-socket", console_socket]
        out = out or b.out
        res = self.cmd(*args, *extra, cid, stdout=out, stderr=out + ".err", **kw)
        res.id = cid
        return res

    def start(self, cid, **kw):
        return self.cmd("start", cid, **kw)

    def state(self, cid):
        """The state JSON as a dict, or None (with .last_state_res set) on error."""
        res = self.cmd("state", cid)
        self.last_state_res = res
        if not res.ok:
            return None
        try:
            return json.loads(res.out)
        except ValueError:
            raise Fail(f"state printed something that is not JSON: {res.out[:200]!r}")

    def kill(self, cid, sig="KILL"):
        return self.cmd("kill", cid, sig)

    def delete(self, cid, force=False):
        return self.cmd("delete", *(["--force"] if force else []), cid)

    def wait_status(self, cid, want, timeout=5.0):
        """Poll state until status == want; return the last state (or None)."""
        last = [None]

        def ok():
            last[0] = self.state(cid)
            return last[0] is not None and last[0].get("status") == want

        wait_until(ok, timeout, 0.02)
        return last[0]

    def run(self, b, cid=None, timeout=CMD_TIMEOUT, **kw):
        """create + start + wait for the process to exit + delete, through the
        runtime's own verbs. Returns the create/start failure Res if one failed,
        else a Res whose .out is the container's stdout and .exit its status."""
        res = self.create(b, cid, **kw)
        if not res.ok:
            return res
        cid = res.id
        st = self.state(cid)
        pid = st.get("pid") if st else None
        r2 = self.start(cid)
        if not r2.ok:
            return r2
        if pid:
            wait_pid(pid, timeout)
        st = self.wait_status(cid, "stopped", timeout)
        if not st or st.get("status") != "stopped":
            raise Fail(f"container still {st and st.get('status')} after {timeout}s")
        self.delete(cid)
        res.out = read(b.out, "")
        res.err = read(b.out + ".err", "")
        res.exit = None
        return res

    def probe(self, b, *args, script=None, **kw):
        """Run the probe (or a shell script of probe calls) as the container's
        process; return the parsed JSON (a list of documents for a script)."""
        if script is not None:
            b.process["args"] = ["/bin/sh", "-c", script]
        else:
            b.process["args"] = ["/probe", *args]
        res = self.run(b, **kw)
        if not res.ok:
            raise Fail(res.why())
        docs = []
        for line in res.out.splitlines():
            line = line.strip()
            if line.startswith("{") or line.startswith("["):
                try:
                    docs.append(json.loads(line))
                except ValueError:
                    raise Fail(f"probe output is not JSON: {line[:200]!r}")
        if script is None:
            if len(docs) != 1:
                raise Fail(f"expected one JSON document from the probe, got {res.out[:300]!r} (stderr {res.err[:200]!r})")
            return docs[0]
        return docs

    def shell(self, b, script, **kw):
        """Run a busybox shell script as the process; return its stdout."""
        b.process["args"] = ["/bin/sh", "-c", script]
        res = self.run(b, **kw)
        if not res.ok:
            raise Fail(res.why())
        return res.out

    # -- host helpers ------------------------------------------------------

    def holder(self, *unshare_flags, child=False):
        """A host process in fresh namespaces (util-linux unshare); returns the
        pid whose /proc/PID/ns/* are those namespaces (the forked child with
        --fork, needed for pid namespaces)."""
        argv = ["unshare", *unshare_flags, "sleep", "120"]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(p)
        target = p.pid
        if child:

            def kid():
                try:
                    return int(read(f"/proc/{p.pid}/task/{p.pid}/children").split()[0])
                except (OSError, IndexError, ValueError):
                    return None

            target = wait_until(kid, 5)
            if not target:
                raise Fail(f"unshare {' '.join(unshare_flags)} did not fork")
        else:
            # wait until unshare has exec'd sleep (namespaces in place)
            wait_until(lambda: read(f"/proc/{p.pid}/comm", "").strip() == "sleep", 5)
        if p.poll() is not None:
            raise Skip(f"this host cannot make the namespaces ({' '.join(unshare_flags)}): {p.stderr.read().decode().strip()}")
        return target

    def host_mount(self, *args):
        subprocess.run(["mount", *args], check=True, capture_output=True)
        target = args[-1]
        self.cleanups.append(lambda: subprocess.run(["umount", "-l", target], capture_output=True))

    def console_socket(self):
        """A listening unix socket for --console-socket; returns (path, recv) where
        recv(timeout) returns the pty master fd the runtime sends."""
        path = self.path(f"console-{self._n}.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        self.cleanups.append(s.close)
        box = {}

        def recv(timeout=5):
            if "fd" in box:
                return box["fd"]
            r, _, _ = select.select([s], [], [], timeout)
            if not r:
                raise Fail("the runtime never connected to the console socket")
            conn, _ = s.accept()
            with conn:
                msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
            if not fds:
                raise Fail("the runtime sent no fd over the console socket")
            box["fd"] = fds[0]
            self.cleanups.append(lambda: os.close(fds[0]))
            return fds[0]

        return path, recv

    # -- cleanup -----------------------------------------------------------

    def cleanup(self):
        for cid in reversed(self.ids):
            try:
                self.cmd("delete", "--force", cid, timeout=10)
            except Fail:
                pass
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
            if p.stderr:
                p.stderr.close()
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:  # noqa: BLE001 - cleanup must go on
                pass
        # never recurse into something still mounted
        mine = [m["mount_point"] for m in mountinfo() if m["mount_point"].startswith(self.dir + "/")]
        for mp in sorted(mine, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        if not self.suite.keep and not any(m["mount_point"].startswith(self.dir + "/") for m in mountinfo()):
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_pid(pid, timeout):
    """Wait for a process that is not our child to exit (pidfd)."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# Bundles
# ---------------------------------------------------------------------------


def base_config(cgroups_path):
    """The equivalent of `runc spec` trimmed to what every case needs: the
    probe as the process, root user, runc's three default capabilities, the
    usual mounts, new pid/network/ipc/uts/mount namespaces."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["/probe", "report"],
            "env": [DEFAULT_PATH],
            "cwd": "/",
            "capabilities": {k: list(DEFAULT_CAPS) for k in ("bounding", "effective", "permitted")},
        },
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        },
    }


class Bundle:
    def __init__(self, t, d):
        self.t = t
        self.dir = d
        os.makedirs(d)
        self.rootfs = os.path.join(d, "rootfs")
        # hard links: cheap, and nothing in a case writes to a shared inode
        # (files a case changes are replaced, never written in place)
        subprocess.run(["cp", "-al", t.suite.rootfs, self.rootfs], check=True)
        self.cgroups_path = f"{t.cg_parent}/{os.path.basename(t.dir)}-{os.path.basename(d)}"
        self.config = base_config(self.cgroups_path)
        self.out = os.path.join(d, "out")
        self.raw = None  # when set, written verbatim as config.json

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    def ns(self, kind):
        """The namespace entry of type kind (None when absent)."""
        for n in self.linux.get("namespaces", []):
            if n["type"] == kind:
                return n
        return None

    def set_ns(self, kinds):
        self.linux["namespaces"] = [{"type": k} for k in kinds]

    def add_ns(self, kind, path=None):
        n = self.ns(kind)
        if n is None:
            n = {"type": kind}
            self.linux["namespaces"].append(n)
        if path:
            n["path"] = path
        return n

    def drop_ns(self, kind):
        self.linux["namespaces"] = [n for n in self.linux["namespaces"] if n["type"] != kind]

    def mount(self, dest, typ, source, options=None):
        m = {"destination": dest, "type": typ, "source": source}
        if options is not None:
            m["options"] = options
        self.config["mounts"].append(m)
        return m

    def bind(self, host_dir, dest, options=("rbind",)):
        return self.mount(dest, "bind", host_dir, list(options))

    def shared_dir(self, dest="/oc-shared"):
        """A host directory bind-mounted read-write into the container."""
        d = os.path.join(self.dir, "shared")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o777)
        self.bind(d, dest)
        return d

    def file(self, rel, content, mode=0o644):
        """Create (replace) a file inside the rootfs."""
        p = os.path.join(self.rootfs, rel.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.lexists(p):
            os.unlink(p)
        with open(p, "w") as f:
            f.write(content)
        os.chmod(p, mode)
        return p

    def write(self):
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            if self.raw is not None:
                f.write(self.raw)
            else:
                json.dump(self.config, f, indent=1)

    def copy_config(self):
        return copy.deepcopy(self.config)


# ---------------------------------------------------------------------------
# Probe views
# ---------------------------------------------------------------------------


def mount_at(report_or_list, point):
    """The last (topmost) mount at `point` in a probe report's mounts."""
    mounts = report_or_list["mounts"] if isinstance(report_or_list, dict) else report_or_list
    found = [m for m in mounts if m.get("mount_point") == point]
    return found[-1] if found else None
