//! The thin layer of raw system calls that nix does not wrap (or wraps in a
//! way we cannot use). Every `unsafe` block of husk outside `init::exec`
//! lives here, each with its `// SAFETY:` argument.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;

/// `struct open_how` for openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

fn cstr(p: &Path) -> Result<CString, Errno> {
    CString::new(p.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)
}

fn fd_result(ret: libc::c_long) -> Result<OwnedFd, Errno> {
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// openat2(2). `O_CLOEXEC` is always added.
pub fn openat2(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> Result<OwnedFd, Errno> {
    let c = cstr(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    loop {
        // SAFETY: `c` is a valid NUL-terminated string and `how` a valid open_how
        // whose size we pass; both outlive the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match fd_result(ret) {
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// fsopen(2) with `FSOPEN_CLOEXEC`.
pub fn fsopen(fstype: &CStr) -> Result<OwnedFd, Errno> {
    // SAFETY: `fstype` is a valid C string; the flag is a plain integer.
    let ret = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), 1 as libc::c_uint) };
    fd_result(ret)
}

/// fsconfig(2) FSCONFIG_SET_STRING.
pub fn fsconfig_set_string(fs: BorrowedFd<'_>, key: &CStr, value: &CStr) -> Result<(), Errno> {
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    // SAFETY: key and value are valid C strings that outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// fsconfig(2) FSCONFIG_CMD_CREATE.
pub fn fsconfig_create(fs: BorrowedFd<'_>) -> Result<(), Errno> {
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    // SAFETY: no pointers are passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

pub const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
pub const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
pub const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;

/// fsmount(2) with `FSMOUNT_CLOEXEC`: a detached mount of the configured context.
pub fn fsmount(fs: BorrowedFd<'_>, attrs: libc::c_uint) -> Result<OwnedFd, Errno> {
    // SAFETY: no pointers are passed.
    let ret = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), 1 as libc::c_uint, attrs) };
    fd_result(ret)
}

/// memfd_create(2) with close-on-exec and sealing allowed.
pub fn memfd_create(name: &CStr) -> Result<OwnedFd, Errno> {
    // SAFETY: `name` is a valid C string.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_memfd_create,
            name.as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    fd_result(ret)
}

/// pidfd_open(2).
pub fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    fd_result(ret)
}

/// pidfd_send_signal(2).
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> Result<(), Errno> {
    // SAFETY: a null siginfo is allowed and means "as kill(2)".
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0 as libc::c_uint,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// close_range(first, ~0, CLOSE_RANGE_CLOEXEC): whether the kernel (5.11+)
/// marked every descriptor from `first` upwards close-on-exec. Allocates
/// nothing (safe in a forked child).
fn close_range_cloexec(first: u32) -> bool {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: plain integers; with CLOSE_RANGE_CLOEXEC nothing is closed now, so
    // no descriptor owned by Rust code becomes dangling.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    ret == 0
}

/// Mark every descriptor from `first` upwards close-on-exec.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    if close_range_cloexec(first) {
        return Ok(());
    }
    // Older kernels: walk /proc/self/fd.
    let dir = std::fs::read_dir("/proc/self/fd").map_err(|_| Errno::last())?;
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd: &RawFd| *fd >= first as RawFd)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD on a descriptor number only changes its flags; an
        // already-closed number just fails with EBADF, which we ignore.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

fn prctl(op: libc::c_int, arg: libc::c_ulong) -> Result<i32, Errno> {
    // SAFETY: every option we pass takes integer arguments only.
    let ret = unsafe {
        libc::prctl(
            op,
            arg,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(ret) }
}

pub fn set_child_subreaper() -> Result<(), Errno> {
    prctl(libc::PR_SET_CHILD_SUBREAPER, 1).map(drop)
}
pub fn set_pdeathsig(sig: i32) -> Result<(), Errno> {
    prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong).map(drop)
}
pub fn set_dumpable(on: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong).map(drop)
}
pub fn set_keepcaps(on: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_KEEPCAPS, on as libc::c_ulong).map(drop)
}
pub fn set_no_new_privs() -> Result<(), Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// Before the init blocks until `start`: unmap this process's pages of its
/// own executable's read-only segments (code and constants, never written:
/// Rust emits no text relocations, and RELRO data sits in a writable PT_LOAD,
/// which is left alone), and give free heap back. The pages stay in the page
/// cache, shared with every other husk; the few needed after `start` fault
/// back in. A container waiting to start then holds almost no memory of husk.
#[inline(never)] // its frame must be its own: the stack below it is dropped
pub fn release_own_text() {
    extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        _data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: glibc passes a valid dl_phdr_info for the duration of the
        // call; dlpi_phdr points at dlpi_phnum program headers.
        let (base, phdrs) = unsafe {
            let info = &*info;
            if info.dlpi_phdr.is_null() {
                return 1;
            }
            (
                info.dlpi_addr as usize,
                std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize),
            )
        };
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            n if n > 0 => n as usize,
            _ => return 1,
        };
        for ph in phdrs {
            if ph.p_type != libc::PT_LOAD || ph.p_flags & libc::PF_W != 0 {
                continue;
            }
            let start = base + ph.p_vaddr as usize;
            let end = start + ph.p_memsz as usize;
            let first = start.div_ceil(page) * page;
            let last = end / page * page;
            // A read-only, file-backed segment of our own executable that
            // nothing ever wrote: later accesses re-read it from the file.
            dont_need(first, last);
        }
        // The first object is the executable itself; libraries are shared anyway.
        1
    }
    // SAFETY: `each` only reads what glibc hands it and returns non-zero to stop.
    unsafe {
        libc::dl_iterate_phdr(Some(each), std::ptr::null_mut());
        libc::malloc_trim(0);
    }
    // The stack below this frame, as deep as set-up went, is dead: zero it
    // lazily. This function is never inlined, so every caller's frame lies
    // above `here`; the page below `here`'s page (4 to 8 KiB of margin)
    // keeps this frame's own locals and the frames of the two small calls
    // below it (dont_need, madvise's libc stub: no large locals); the 256
    // KiB below stay inside the stack's guard gap, where nothing else is
    // mapped (holes make madvise return ENOMEM after doing the rest, which
    // is fine).
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    let top = (sp / 4096).saturating_sub(1) * 4096;
    let bottom = top.saturating_sub(256 << 10);
    // Below the live stack: no live data is there, and anonymous pages
    // read back as zeros if touched again.
    dont_need(bottom, top);
}

/// madvise(MADV_DONTNEED) over [first, last), for `release_own_text` only:
/// its callers pass page-aligned ranges whose contents are not needed.
fn dont_need(first: usize, last: usize) {
    if last > first {
        // SAFETY: MADV_DONTNEED only drops pages; both callers pass ranges that
        // hold nothing live (see there), so no Rust value is invalidated.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_DONTNEED,
            )
        };
    }
}

/// The path through which a descriptor can be named to path-based calls such
/// as mount(2). The procfs at /proc is the one husk saw before pivot_root.
pub fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Reset every signal to its default disposition and clear the mask, so that
/// what Rust's runtime changed (SIGPIPE ignored) does not survive execve.
pub fn reset_signals() {
    // The kernel's struct sigaction (x86_64): handler, flags, restorer, mask.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // The raw call, not glibc's signal(): glibc refuses its reserved signals
    // 32 and 33, which an ignoring caller would otherwise pass on.
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `dfl` is a valid kernel sigaction for the duration of the
        // call; the old action is not asked for; errors are ignored.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8usize,
            )
        };
    }
    // SAFETY: an empty, initialised set is passed by pointer for the call only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// fork(2). Either the caller is single-threaded (the init), so the child may
/// run ordinary Rust code, or the child only runs `exec_init_child`, which
/// allocates nothing and takes no lock.
pub fn fork() -> Result<Option<i32>, Errno> {
    // SAFETY: see above: no lock another thread might hold is taken in the child.
    match unsafe { libc::fork() } {
        -1 => Err(Errno::last()),
        0 => Ok(None),
        pid => Ok(Some(pid)),
    }
}

pub const OPEN_TREE_CLONE: libc::c_uint = 1;
pub const AT_RECURSIVE: libc::c_uint = 0x8000;

/// open_tree(2) of an absolute host path or of a descriptor (empty path).
pub fn open_tree(dir: BorrowedFd<'_>, path: &Path, flags: libc::c_uint) -> Result<OwnedFd, Errno> {
    let c = cstr(path)?;
    let mut f = flags | libc::O_CLOEXEC as libc::c_uint;
    if path.as_os_str().is_empty() {
        f |= libc::AT_EMPTY_PATH as libc::c_uint;
    }
    // SAFETY: `c` is a valid C string for the duration of the call.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, dir.as_raw_fd(), c.as_ptr(), f) };
    fd_result(ret)
}

/// move_mount(2) of a detached tree (a descriptor) onto a target descriptor.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), Errno> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: both paths are static empty C strings.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// `struct mount_attr` for mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount a descriptor is on (optionally its whole tree).
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    set: u64,
    clear: u64,
    recursive: bool,
) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: `attr` is a valid mount_attr whose size we pass; the path is a static empty string.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// The CLONE_NEW* type of a namespace descriptor (ioctl NS_GET_NSTYPE).
pub fn ns_type(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: NS_GET_NSTYPE takes no argument and returns the type.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE) };
    if ret < 0 { Err(Errno::last()) } else { Ok(ret) }
}

/// Join a new session keyring named `name` (keyctl KEYCTL_JOIN_SESSION_KEYRING).
pub fn join_session_keyring(name: &CStr) -> Result<(), Errno> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
    const KEYCTL_SETPERM: libc::c_int = 5;
    const KEYCTL_DESCRIBE: libc::c_int = 6;
    // SAFETY: `name` is a valid C string for the duration of the call.
    let key =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if key < 0 {
        return Err(Errno::last());
    }
    // As runc: add "user search" to the keyring's permissions (perm | 0x00080000).
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are valid; the kernel writes at most that many bytes.
    let n = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            key,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if n > 0 {
        let text = String::from_utf8_lossy(&buf[..(n as usize).min(buf.len())]).into_owned();
        if let Some(perm) = text
            .split(';')
            .nth(3)
            .and_then(|p| u32::from_str_radix(p, 16).ok())
        {
            // SAFETY: plain integers.
            unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, key, perm | 0x0008_0000) };
        }
    }
    Ok(())
}

/// setdomainname(2).
pub fn set_domainname(name: &str) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// Duplicate a descriptor to the lowest free number at or above `min`, close-on-exec.
pub fn dup_above(fd: BorrowedFd<'_>, min: RawFd) -> Result<OwnedFd, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC only reads the descriptor number and the minimum.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    fd_result(ret as libc::c_long)
}

/// clone3(2) with CLONE_INTO_CGROUP: like fork, the child born in the cgroup
/// of `cgroup`. `Ok(None)` in the child.
pub fn clone3_into_cgroup(cgroup: BorrowedFd<'_>) -> Result<Option<i32>, Errno> {
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: fork-like clone3 (no stack, no CLONE_VM): the child gets a copy
    // of this single-threaded process; `args` is valid for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        r if r < 0 => Err(Errno::last()),
        0 => Ok(None),
        pid => Ok(Some(pid as i32)),
    }
}

/// Argument or environment vector for execveat, built before a fork: the
/// strings and the NULL-terminated pointer array the kernel reads.
pub struct ExecVec {
    _strings: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
}

impl ExecVec {
    pub fn new(strings: Vec<CString>) -> Self {
        let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        ExecVec {
            _strings: strings,
            ptrs,
        }
    }
}

/// The v1 cgroups a forked child enters itself (`tasks` files it writes "0"
/// into) and the pipe it reports a refusal on.
pub struct ChildJoin<'a> {
    pub tasks: &'a [RawFd],
    pub report: RawFd,
}

/// In the child of a fork of husk's create or exec: enter the container's
/// v1 cgroups, put the init's descriptors in place, mark the rest
/// close-on-exec, clear the signal mask and execveat the sealed binary.
/// Allocates nothing (everything was built before the fork). Never returns
/// (exit 127 on failure).
pub fn exec_init_child(
    join: ChildJoin<'_>,
    sealed: BorrowedFd<'_>,
    moves: &[Option<(RawFd, RawFd)>],
    first_stray: RawFd,
    argv: &ExecVec,
    envp: &ExecVec,
) -> ! {
    for (i, fd) in join.tasks.iter().enumerate() {
        // SAFETY: a one-byte write from a static buffer to a descriptor this
        // process owns; on failure an 8-byte report from a stack buffer to
        // the (non-blocking, empty) report pipe, then _exit.
        unsafe {
            if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                let errno = Errno::last_raw();
                let mut msg = [0u8; 8];
                msg[..4].copy_from_slice(&(i as u32).to_ne_bytes());
                msg[4..].copy_from_slice(&errno.to_ne_bytes());
                libc::write(join.report, msg.as_ptr().cast(), msg.len());
                libc::_exit(127);
            }
        }
    }
    for (from, to) in moves.iter().flatten() {
        // SAFETY: dup2 on descriptors this process owns.
        if unsafe { libc::dup2(*from, *to) } < 0 {
            // SAFETY: _exit is always safe to call.
            unsafe { libc::_exit(127) };
        }
    }
    if !close_range_cloexec(first_stray as u32) {
        // Kernels before 5.11: one by one, up to the descriptor limit (the
        // /proc/self/fd walk of `cloexec_from` would allocate).
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct we pass; fcntl F_SETFD on a
        // closed number just fails with EBADF.
        unsafe {
            let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur.min(1 << 20) as RawFd
            } else {
                1 << 16
            };
            for fd in first_stray..top {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
    // SAFETY: an empty, initialised set is passed by pointer for the call only;
    // argv and envp are NULL-terminated arrays of C strings that outlive the
    // call; the empty path with AT_EMPTY_PATH executes `sealed` itself.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::syscall(
            libc::SYS_execveat,
            sealed.as_raw_fd(),
            c"".as_ptr(),
            argv.ptrs.as_ptr(),
            envp.ptrs.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        libc::_exit(127)
    }
}
