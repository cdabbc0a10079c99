"""config-linux.md: namespaces, user namespace mappings, time offsets,
devices, sysctl, seccomp, rootfs propagation, masked and read-only paths,
mountLabel, personality. (Control groups are in cases_cgroups.py.)"""

import os
import subprocess

from cases_config import json_lines, opts, refused, tty_run
from harness import case, lsm_enabled, mountinfo, ns_inode, read

# spec type -> /proc/PID/ns file
NS = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts", "user": "user", "cgroup": "cgroup", "time": "time"}
# util-linux unshare flag, and whether the namespace is the forked child's
UNSHARE = {"pid": ("--pid", True), "network": ("--net", False), "mount": ("--mount", False), "ipc": ("--ipc", False), "uts": ("--uts", False), "user": ("--user", False), "cgroup": ("--cgroup", False), "time": ("--time", True)}
MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def userns(b):
    b.add_ns("user")
    b.linux["uidMappings"] = MAP
    b.linux["gidMappings"] = MAP


def needs_kernel_ns(t, kind):
    if not os.path.exists(f"/proc/self/ns/{NS[kind]}"):
        t.skip(f"this kernel has no {kind} namespaces")


def holder(t, kind):
    """A host process in a fresh namespace of `kind`; returns its ns path."""
    flag, child = UNSHARE[kind]
    pid = t.holder(flag, "--fork", child=True) if child else t.holder(flag)
    if kind == "user":
        for f in ("uid_map", "gid_map"):
            with open(f"/proc/{pid}/{f}", "w") as fh:
                fh.write("0 100000 65536\n")
    return f"/proc/{pid}/ns/{NS[kind]}"


def add_new(b, kind):
    if kind == "user":
        userns(b)
    else:
        b.add_ns(kind)
    if kind == "time":
        b.config["ociVersion"] = "1.1.0"


def new_ns_case(kind):
    @case(f"config-linux/ns-new-{kind}", "MUST", f"If path is not specified, the runtime MUST create a new container namespace of type type [{kind}]")
    def _(t):
        needs_kernel_ns(t, kind)
        b = t.bundle()
        add_new(b, kind)
        r = t.probe(b)
        got, host = r["namespaces"].get(NS[kind]), ns_inode("self", NS[kind])
        t.check(isinstance(got, int) and got != host, f"{NS[kind]} namespace {got}, the host's is {host}")
        if kind == "pid":
            t.check(r["pid"] == 1, f"pid {r['pid']} in a new pid namespace")
        if kind == "cgroup":
            own = [ln for ln in r["cgroup"] if ln.split(":", 2)[2] != "/"]
            t.check(not own, f"/proc/self/cgroup in a new cgroup namespace: {own}")


def path_ns_case(kind):
    @case(f"config-linux/ns-path-{kind}", "MUST", f"The runtime MUST place the container process in the namespace associated with that path [{kind}]")
    def _(t):
        needs_kernel_ns(t, kind)
        path = holder(t, kind)
        want = os.stat(path).st_ino
        b = t.bundle()
        if kind == "time":
            b.config["ociVersion"] = "1.1.0"
        b.add_ns(kind, path)
        r = t.probe(b)
        got = r["namespaces"].get(NS[kind])
        t.check(got == want, f"{NS[kind]} namespace {got}, {path} is {want}")


for _k in NS:
    new_ns_case(_k)
for _k in NS:
    path_ns_case(_k)


@case("config-linux/ns-path-wrong-type", "MUST", "The runtime MUST generate an error if path is not associated with a namespace of type type")
def _(t):
    path = holder(t, "uts")
    b = t.bundle()
    b.add_ns("network", path)
    refused(t, b, f"a network namespace path that is a uts namespace ({path})")


@case("config-linux/ns-path-not-ns", "MUST", "The runtime MUST generate an error if path is not associated with a namespace [a regular file]")
def _(t):
    f = t.path("not-a-namespace")
    open(f, "w").close()
    b = t.bundle()
    b.add_ns("network", f)
    refused(t, b, "a network namespace path that is a regular file")


@case("config-linux/ns-inherit", "MUST", "If a namespace type is not specified in the namespaces array, the container MUST inherit the runtime namespace of that type")
def _(t):
    b = t.bundle()
    b.set_ns(["mount"])
    r = t.probe(b)
    diff = {k: (r["namespaces"].get(v), ns_inode("self", v)) for k, v in NS.items() if k != "mount" and os.path.exists(f"/proc/self/ns/{v}")}
    diff = {k: v for k, v in diff.items() if v[0] != v[1]}
    t.check(not diff, f"namespaces not inherited (container, runtime): {diff}")


@case("config-linux/ns-duplicate", "MUST", "If a namespaces field contains duplicated namespaces with same type, the runtime MUST generate an error")
def _(t):
    b = t.bundle()
    b.linux["namespaces"].append({"type": "ipc"})
    refused(t, b, "two ipc namespaces")


# -- user namespace mappings, time offsets -------------------------------------


@case("config-linux/user-mappings", "MUST", "uidMappings ... gidMappings (array of objects, OPTIONAL) describes the user namespace uid [gid] mappings from the host to the container")
def _(t):
    b = t.bundle()
    userns(b)
    r = t.probe(b)
    for k in ("uid_map", "gid_map"):
        got = r[k].split() if isinstance(r[k], str) else r[k]
        t.check(got == ["0", "100000", "65536"], f"{k} {r[k]!r}")
    t.check(r["uid"] == 0 and r["gid"] == 0, f"uid {r['uid']} gid {r['gid']}")


@case("config-linux/user-mappings-no-chown", "SHOULD", "The runtime SHOULD NOT modify the ownership of referenced filesystems to realize the mapping")
def _(t):
    b = t.bundle()
    userns(b)
    t.probe(b)
    owners = {(st.st_uid, st.st_gid) for p in ("", "bin", "bin/busybox", "etc/passwd", "probe") for st in [os.lstat(os.path.join(b.rootfs, p))]}
    t.check(owners == {(0, 0)}, f"rootfs owners after the run: {owners}")


@case("config-linux/time-offsets", "MUST", "timeOffsets (object, OPTIONAL) sets the offset for Time Namespace")
def _(t):
    needs_kernel_ns(t, "time")
    b = t.bundle()
    add_new(b, "time")
    b.linux["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 864000, "nanosecs": 0}}
    r = t.probe(b, "read", "/proc/self/timens_offsets")
    got = sorted(tuple(ln.split()) for ln in r.get("content", "").splitlines())
    t.check(got == [("boottime", "864000", "0"), ("monotonic", "86400", "0")], f"timens_offsets {r}")


# -- devices ------------------------------------------------------------------


def stat1(t, b, path):
    docs = t.probe(b, "stat", path)
    return docs[0]


@case("config-linux/devices-char", "MUST", "devices (array of objects, OPTIONAL) lists devices that MUST be available in the container [c, fileMode, uid, gid]")
def _(t):
    b = t.bundle()
    b.linux["devices"] = [{"path": "/dev/oc-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1001}]
    s = stat1(t, b, "/dev/oc-null")
    got = (s.get("type"), s.get("rdev_major"), s.get("rdev_minor"), s.get("mode"), s.get("uid"), s.get("gid"))
    t.check(got == ("char", 1, 3, "0640", 1000, 1001), f"/dev/oc-null: {s}")


@case("config-linux/devices-block", "MUST", "type (string, REQUIRED) - type of device: c, b, u or p [b]")
def _(t):
    b = t.bundle()
    b.linux["devices"] = [{"path": "/dev/oc-loop", "type": "b", "major": 7, "minor": 0}]
    s = stat1(t, b, "/dev/oc-loop")
    t.check((s.get("type"), s.get("rdev_major"), s.get("rdev_minor")) == ("block", 7, 0), f"/dev/oc-loop: {s}")


@case("config-linux/devices-fifo", "MUST", "type (string, REQUIRED) - type of device: c, b, u or p [p]")
def _(t):
    b = t.bundle()
    b.linux["devices"] = [{"path": "/dev/oc-fifo", "type": "p"}]
    s = stat1(t, b, "/dev/oc-fifo")
    t.check(s.get("type") == "fifo", f"/dev/oc-fifo: {s}")


@case("config-linux/devices-outside-dev", "MUST", "The path MAY be anywhere in the container filesystem, notably outside of /dev")
def _(t):
    b = t.bundle()
    b.linux["devices"] = [{"path": "/oc-dev/null2", "type": "c", "major": 1, "minor": 3}]
    s = stat1(t, b, "/oc-dev/null2")
    t.check((s.get("type"), s.get("rdev_major"), s.get("rdev_minor")) == ("char", 1, 3), f"/oc-dev/null2: {s}")


@case("config-linux/devices-mismatch", "MUST", "If a file already exists at path that does not match the requested device, the runtime MUST generate an error")
def _(t):
    b = t.bundle()
    b.config["mounts"] = [m for m in b.config["mounts"] if not m["destination"].startswith("/dev")]
    b.file("/dev/oc-dev", "not a device")
    b.linux["devices"] = [{"path": "/dev/oc-dev", "type": "c", "major": 1, "minor": 3}]
    refused(t, b, "a device whose path is an existing regular file")


@case("config-linux/devices-default", "MUST", "the runtime MUST also supply: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty, /dev/ptmx")
def _(t):
    b = t.bundle()
    want = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7), "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}
    docs = t.probe(b, "stat", *want, "/dev/ptmx")
    bad = []
    for s in docs:
        p = s["path"]
        if p == "/dev/ptmx":
            ok = (s.get("type") == "symlink" and s.get("target") in ("pts/ptmx", "/dev/pts/ptmx")) or (s.get("type") == "char" and (s["rdev_major"], s["rdev_minor"]) == (5, 2))
        else:
            ok = s.get("type") == "char" and (s["rdev_major"], s["rdev_minor"]) == want[p]
        if not ok:
            bad.append(s)
    t.check(not bad, f"wrong or missing: {bad}")


@case("config-linux/devices-console", "MUST", "/dev/console is set up if terminal is enabled in the config by bind mounting the pseudoterminal pty to /dev/console")
def _(t):
    b = t.bundle()
    docs = json_lines(tty_run(t, b, "/probe stat /dev/console; /probe report"))
    t.check(len(docs) == 2, f"probe output through the pty: {docs}")
    s, r = docs[0][0], docs[1]
    t.check(s.get("type") == "char" and s.get("rdev_major") == 136, f"/dev/console: {s}")
    t.check(r["tty"]["ttyname"] == f"/dev/pts/{s['rdev_minor']}", f"/dev/console is pts {s['rdev_minor']}, the process's tty is {r['tty']['ttyname']}")


# -- sysctl -------------------------------------------------------------------


@case("config-linux/sysctl", "MUST", "sysctl (object, OPTIONAL) allows kernel parameters to be modified at runtime for the container")
def _(t):
    host = (read("/proc/sys/net/ipv4/ip_unprivileged_port_start").strip(), read("/proc/sys/kernel/msgmax").strip())
    b = t.bundle()
    b.linux["sysctl"] = {"net.ipv4.ip_unprivileged_port_start": "81", "kernel.msgmax": "16385"}
    docs = t.probe(b, script="/probe read /proc/sys/net/ipv4/ip_unprivileged_port_start; /probe read /proc/sys/kernel/msgmax")
    got = [d.get("content", "").strip() for d in docs]
    t.check(got == ["81", "16385"], f"in the container: {got}")
    after = (read("/proc/sys/net/ipv4/ip_unprivileged_port_start").strip(), read("/proc/sys/kernel/msgmax").strip())
    t.check(after == host, f"the host's values changed: {host} -> {after}")


# -- seccomp ------------------------------------------------------------------


def seccomp_run(t, rule, script, default="SCMP_ACT_ALLOW"):
    b = t.bundle()
    if any("errnoRet" in r for r in rule):
        b.config["ociVersion"] = "1.1.0"
    b.linux["seccomp"] = {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": rule}
    return t.shell(b, script + "; grep Seccomp: /proc/self/status")


@case("config-linux/seccomp-errno", "MUST", "seccomp ... SCMP_ACT_ERRNO ... errnoRet ... The default is EPERM")
def _(t):
    out = seccomp_run(t, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}], "mkdir /tmp/oc 2>&1; echo rc=$?")
    t.check("Operation not permitted" in out and "rc=1" in out, f"mkdir printed {out!r}")
    t.check("Seccomp:\t2" in out, f"no filter mode in /proc/self/status: {out!r}")


@case("config-linux/seccomp-errnoRet", "MUST", "errnoRet (uint, OPTIONAL) - the errno return code to use")
def _(t):
    out = seccomp_run(t, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}], "mkdir /tmp/oc 2>&1; echo rc=$?")
    t.check("No space left on device" in out, f"mkdir printed {out!r}, want ENOSPC")


@case("config-linux/seccomp-kill", "MUST", "action (string, REQUIRED) - the action for seccomp rules [SCMP_ACT_KILL]")
def _(t):
    out = seccomp_run(t, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}], "(mkdir /tmp/oc); echo rc=$?")
    t.check("rc=159" in out, f"the subshell's mkdir did not die of SIGSYS: {out!r}")


@case("config-linux/seccomp-args", "MUST", "args (array of objects, OPTIONAL) - the specific syscall in seccomp [index, value, op]")
def _(t):
    # kill(2) with signal 0 is refused, with SIGCONT allowed (ash's kill is a builtin)
    rule = [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]
    out = seccomp_run(t, rule, "kill -0 $$ 2>&1; echo a=$?; kill -CONT $$; echo b=$?")
    t.check("a=1" in out and "b=0" in out, f"kill(pid, 0) should be refused and kill(pid, SIGCONT) allowed: {out!r}")


@case("config-linux/seccomp-default-action", "MUST", "defaultAction (string, REQUIRED) - the default action for seccomp")
def _(t):
    # allow only what is not mkdir: the default action must apply to mkdir
    b = t.bundle()
    b.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 28,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}, {"names": ALLOW, "action": "SCMP_ACT_ALLOW"}],
    }
    b.config["ociVersion"] = "1.1.0"  # defaultErrnoRet
    out = t.shell(b, "mkdir /tmp/oc 2>&1; echo rc=$?; rmdir /tmp 2>&1; echo rc=$?")
    t.check("Operation not permitted" in out, f"mkdir (rule ERRNO 1): {out!r}")
    t.check("No space left on device" in out, f"rmdir (not listed: defaultAction with defaultErrnoRet 28): {out!r}")


# every x86_64 system call of linux 6.1 but rmdir
ALLOW = """
    read write open close stat fstat lstat poll lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask
    rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select sched_yield mremap msync mincore
    madvise shmget shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer getpid sendfile socket
    connect accept sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername socketpair
    setsockopt getsockopt clone fork vfork execve exit wait4 kill uname semget semop semctl shmdt msgget
    msgsnd msgrcv msgctl fcntl flock fsync fdatasync truncate ftruncate getdents getcwd chdir fchdir rename
    mkdir creat link unlink symlink readlink chmod fchmod chown fchown lchown umask gettimeofday getrlimit
    getrusage sysinfo times ptrace getuid syslog getgid setuid setgid geteuid getegid setpgid getppid getpgrp
    setsid setreuid setregid getgroups setgroups setresuid getresuid setresgid getresgid getpgid setfsuid
    setfsgid getsid capget capset rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack
    utime mknod uselib personality ustat statfs fstatfs sysfs getpriority setpriority sched_setparam
    sched_getparam sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min
    sched_rr_get_interval mlock munlock mlockall munlockall vhangup modify_ldt pivot_root _sysctl prctl
    arch_prctl adjtimex setrlimit chroot sync acct settimeofday mount umount2 swapon swapoff reboot
    sethostname setdomainname iopl ioperm create_module init_module delete_module get_kernel_syms query_module
    quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead setxattr lsetxattr
    fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr
    fremovexattr tkill time futex sched_setaffinity sched_getaffinity set_thread_area io_setup io_destroy
    io_getevents io_submit io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old epoll_wait_old
    remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64 timer_create
    timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime clock_getres
    clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy
    mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key
    request_key keyctl ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages
    openat mkdirat mknodat fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat
    fchmodat faccessat pselect6 ppoll unshare set_robust_list get_robust_list splice tee sync_file_range
    vmsplice move_pages utimensat epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime
    timerfd_gettime accept4 signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev
    rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init fanotify_mark prlimit64 name_to_handle_at
    open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu process_vm_readv process_vm_writev kcmp
    finit_module sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create kexec_file_load bpf
    execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc pkey_free
    statx io_pgetevents rseq pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree
    move_mount fsopen fsconfig fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2
    process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule
    landlock_restrict_self memfd_secret process_mrelease futex_waitv set_mempolicy_home_node
""".split()


# -- rootfs propagation ---------------------------------------------------------


def root_mount(pid):
    ms = [m for m in mountinfo(pid) if m["mount_point"] == "/"]
    return ms[-1] if ms else None


def propagation(t, mode, host_event=False):
    """A created container with rootfsPropagation `mode`, made by a runtime
    started in a mount namespace whose / is shared (as on a systemd host; a
    holder process keeps that namespace, so the host's own mounts stay as
    they are). Returns (the container's / mount, whether a mount made in
    the runtime's namespace after create shows inside)."""
    hp = t.holder("--mount", "--propagation", "shared")
    enter = ["nsenter", "-t", str(hp), "-m", "--"]
    b = t.bundle()
    os.makedirs(os.path.join(b.rootfs, "oc-prop"), exist_ok=True)
    b.linux["rootfsPropagation"] = mode
    b.process["args"] = ["/probe", "sleep", "inf"]
    res = t.need(t.create(b, wrap=enter), "create")
    st = t.state(res.id)
    pid = st["pid"]
    seen = None
    if host_event:
        target = os.path.join(b.rootfs, "oc-prop")
        subprocess.run([*enter, "mount", "-t", "tmpfs", "tmpfs", target], check=True)
        subprocess.run([*enter, "touch", os.path.join(target, "marker")], check=True)
        seen = os.path.exists(f"/proc/{pid}/root/oc-prop/marker")
    return root_mount(pid), seen


@case("config-linux/rootfsPropagation-slave", "MUST", "slave: the rootfs mount receives propagation events from the host (e.g. if something is mounted on the host it will also appear in the container)")
def _(t):
    m, seen = propagation(t, "slave", host_event=True)
    t.check(m and any(o.startswith("master:") for o in m["optional"]), f"/ in the container: {m and m['optional']}")
    t.check(seen, "a mount made in the runtime namespace after create is not visible in the container")


@case("config-linux/rootfsPropagation-private", "MUST", "private: the rootfs mount doesn't receive mount propagation events from the host")
def _(t):
    m, seen = propagation(t, "private", host_event=True)
    t.check(m and not any(o.startswith(("master:", "shared:")) for o in m["optional"]), f"/ in the container: {m and m['optional']}")
    t.check(not seen, "a mount made in the runtime namespace after create is visible in the container")


@case("config-linux/rootfsPropagation-shared", "MUST", "shared: the rootfs mount belongs to a new peer group")
def _(t):
    m, _ = propagation(t, "shared")
    t.check(m and any(o.startswith("shared:") for o in m["optional"]), f"/ in the container: {m and m['optional']}")


@case("config-linux/rootfsPropagation-unbindable", "MUST", "unbindable: the rootfs mount is a private mount that cannot be bind-mounted")
def _(t):
    m, _ = propagation(t, "unbindable")
    t.check(m and "unbindable" in m["optional"], f"/ in the container: {m and m['optional']}")


# -- masked and read-only paths ---------------------------------------------------


@case("config-linux/maskedPaths-file", "MUST", "maskedPaths ... will mask over the provided paths inside the container so that they cannot be read [a file]")
def _(t):
    b = t.bundle()
    b.file("/etc/oc-secret", "secret")
    b.linux["maskedPaths"] = ["/etc/oc-secret", "/oc-no-such-path"]
    r = t.probe(b, "read", "/etc/oc-secret")
    t.check(not (r["ok"] and "secret" in r.get("content", "")), f"read of a masked file: {r}")


@case("config-linux/maskedPaths-dir", "MUST", "maskedPaths ... will mask over the provided paths inside the container so that they cannot be read [a directory]")
def _(t):
    b = t.bundle()
    b.file("/oc-secret-dir/f", "secret")
    b.linux["maskedPaths"] = ["/oc-secret-dir"]
    r = t.probe(b, "read", "/oc-secret-dir/f")
    t.check(not (r["ok"] and "secret" in r.get("content", "")), f"read under a masked directory: {r}")


@case("config-linux/readonlyPaths", "MUST", "readonlyPaths ... will set the provided paths as readonly inside the container")
def _(t):
    b = t.bundle()
    b.file("/oc-ro-dir/f", "x")
    b.linux["readonlyPaths"] = ["/oc-ro-dir", "/proc/sys", "/oc-no-such-path"]
    docs = t.probe(b, script="/probe write /oc-ro-dir/new x; /probe write /oc-rw x; /probe report")
    t.check(not docs[0]["ok"] and docs[0].get("error") == "EROFS", f"write under a read-only path: {docs[0]}")
    t.check(docs[1]["ok"], f"a write outside the read-only paths failed: {docs[1]}")
    m = [x for x in docs[2]["mounts"] if x["mount_point"] == "/proc/sys"]
    t.check(m and "ro" in opts(m[-1])[0], f"/proc/sys mount options {m and m[-1]['options']}")


# -- mountLabel, personality -------------------------------------------------------


@case("config-linux/mountLabel", "MUST", "mountLabel (string, OPTIONAL) will set the Selinux context for the mounts in the container")
def _(t):
    if not lsm_enabled("selinux"):
        t.skip("SELinux is not enabled on this host")
    t.skip("no SELinux policy is known to this suite")


@case("config-linux/personality", "MUST", "LINUX32 will set the uname system call to show a 32 bit CPU type, such as i686")
def _(t):
    b = t.bundle()
    b.linux["personality"] = {"domain": "LINUX32"}
    out = t.shell(b, "uname -m")
    t.check(out.strip() in ("i686", "i386"), f"uname -m printed {out.strip()!r}")
