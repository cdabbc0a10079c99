//! The receiving end of `--console-socket`, as containerd and conmon have it:
//! a unix socket bound in a temporary directory; the runtime connects to it
//! and sends the pty master with SCM_RIGHTS (the pty's name as the data).
//! [`PtyMaster`] then talks to whatever runs on the slave.

use super::*;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A listening console socket at `/tmp/husk-test-console-XXXXXX/console.sock`;
/// the directory is removed on drop.
pub struct ConsoleSocket {
    dir: PathBuf,
    path: PathBuf,
    listener: UnixListener,
}

impl Default for ConsoleSocket {
    fn default() -> Self {
        ConsoleSocket::new()
    }
}

impl ConsoleSocket {
    pub fn new() -> ConsoleSocket {
        let dir = mkdtemp("/tmp/husk-test-console-");
        let path = dir.join("console.sock");
        let listener =
            UnixListener::bind(&path).unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("set_nonblocking: {e}"));
        ConsoleSocket {
            dir,
            path,
            listener,
        }
    }

    /// The socket's path, for `--console-socket`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path as a `&str` (it is always plain ASCII).
    pub fn path_str(&self) -> &str {
        self.path
            .to_str()
            .unwrap_or_else(|| panic!("non-UTF-8 path"))
    }

    /// Accept one connection and receive the pty master from it. A runtime
    /// connects during `create`, so calling this after `create` returned is
    /// fine (the connection waits in the backlog with the message queued).
    pub fn recv_master(&self, timeout: Duration) -> Result<PtyMaster, String> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "nobody connected to {} within {timeout:?}",
                            self.path.display()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(format!("accept: {e}")),
            }
        };
        if !poll_in(stream.as_fd(), deadline) {
            return Err(format!(
                "no message on the console socket within {timeout:?}"
            ));
        }
        recv_fd(stream.as_fd())
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        remove_tree(&self.dir);
    }
}

/// Wait until `fd` is readable (or hung up) or `deadline` passes.
fn poll_in(fd: BorrowedFd<'_>, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r > 0 {
            return true;
        }
        if r == 0 || left.is_zero() {
            return false;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return false;
        }
    }
}

/// recvmsg(2) one message with one SCM_RIGHTS descriptor.
fn recv_fd(sock: BorrowedFd<'_>) -> Result<PtyMaster, String> {
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // Room for a few descriptors, so that a runtime sending more is noticed.
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE((4 * std::mem::size_of::<i32>()) as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: msghdr is plain data; all-zero is a valid starting value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: msg points at buffers that live across the call.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(format!("recvmsg: {}", std::io::Error::last_os_error()));
    }
    let name = String::from_utf8_lossy(&data[..n as usize]).into_owned();
    let mut fds = Vec::new();
    // SAFETY: walking the control buffer recvmsg filled, with the libc macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let len = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let p = libc::CMSG_DATA(c).cast::<i32>();
                for i in 0..len / std::mem::size_of::<i32>() {
                    fds.push(OwnedFd::from_raw_fd(p.add(i).read_unaligned()));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(format!("control data truncated ({} fds)", fds.len()));
    }
    if fds.len() != 1 {
        return Err(format!(
            "expected exactly one descriptor, got {} (data {name:?})",
            fds.len()
        ));
    }
    let fd = fds.pop().unwrap_or_else(|| unreachable!());
    Ok(PtyMaster {
        fd,
        name,
        buf: std::cell::RefCell::new(Vec::new()),
    })
}

/// The master side of a container's pty, received over the console socket.
pub struct PtyMaster {
    fd: OwnedFd,
    /// The data sent along with the descriptor (runc sends the slave's name).
    pub name: String,
    /// Everything read so far.
    buf: std::cell::RefCell<Vec<u8>>,
}

impl PtyMaster {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Write all of `data` to the terminal (as typed input).
    #[track_caller]
    pub fn write_all(&self, data: &[u8]) {
        let mut off = 0;
        while off < data.len() {
            // SAFETY: writing from a valid buffer to an owned descriptor.
            let n = unsafe {
                libc::write(
                    self.fd.as_raw_fd(),
                    data[off..].as_ptr().cast(),
                    data.len() - off,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                panic!("write to pty master: {e}");
            }
            off += n as usize;
        }
    }

    /// Everything the terminal printed so far (lossy UTF-8).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.buf.borrow()).into_owned()
    }

    /// Read what is available within `wait`; false once the slave side is
    /// closed for good (EIO) or on another error.
    fn read_some(&self, wait: Duration) -> bool {
        if !poll_in(self.fd.as_fd(), Instant::now() + wait) {
            return true;
        }
        let mut chunk = [0u8; 4096];
        // SAFETY: reading into a valid buffer from an owned descriptor.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
        if n > 0 {
            self.buf
                .borrow_mut()
                .extend_from_slice(&chunk[..n as usize]);
            return true;
        }
        n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
    }

    /// Read until `pred` holds for everything read so far; `Err` with the
    /// output seen when the timeout passes or the slave is closed first.
    pub fn read_until(
        &self,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.output();
            if pred(&out) {
                return Ok(out);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("not seen within {timeout:?}; pty output: {out:?}"));
            }
            if !self.read_some(left.min(Duration::from_millis(100))) {
                let out = self.output();
                return if pred(&out) {
                    Ok(out)
                } else {
                    Err(format!("pty closed; output: {out:?}"))
                };
            }
        }
    }

    /// Read until the slave side is closed (every process holding it exited).
    pub fn read_to_end(&self, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "pty still open after {timeout:?}; output: {:?}",
                    self.output()
                ));
            }
            if !self.read_some(left.min(Duration::from_millis(100))) {
                return Ok(self.output());
            }
        }
    }

    /// The terminal's window size (rows, columns) as TIOCGWINSZ reports it.
    pub fn winsize(&self) -> (u16, u16) {
        // SAFETY: an all-zero winsize is valid; TIOCGWINSZ fills it.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor and out-pointer.
        if unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } != 0 {
            panic!("TIOCGWINSZ: {}", std::io::Error::last_os_error());
        }
        (ws.ws_row, ws.ws_col)
    }
}

/// `create --console-socket S` of `bundle` as `id`, with S a fresh
/// [`ConsoleSocket`]; panics unless create succeeded and sent a pty master
/// within `timeout`. Returns the container (started by the caller) and the
/// master, which talks to the container's terminal.
#[track_caller]
pub fn create_with_console<'a>(
    rt: &'a Runtime,
    id: &str,
    bundle: &Bundle,
    timeout: Duration,
) -> (Container<'a>, PtyMaster) {
    let sock = ConsoleSocket::new();
    let c = rt.create_with(id, bundle, &["--console-socket", sock.path_str()]);
    c.create_output.assert_success();
    let master = sock
        .recv_master(timeout)
        .unwrap_or_else(|e| panic!("pty master: {e}"));
    (c, master)
}

/// The first line of pty output that parses as a JSON object from its first
/// `{` on (terminals turn "\n" into "\r\n" and echo input, which may land
/// before the output, so [`probe_report`] may not apply as is).
pub fn pty_json(out: &str) -> Option<serde_json::Value> {
    out.split(['\r', '\n'])
        .filter_map(|l| l.find('{').map(|i| l[i..].trim()))
        .find_map(|l| serde_json::from_str(l).ok())
}

/// A pty pair made on the host (in the host's devpts), to stand in for a
/// user's terminal around a foreground `run`.
pub struct HostPty {
    /// The master: what the "user" types into and reads from.
    pub master: PtyMaster,
    slave: OwnedFd,
    /// The slave's path on the host (`/dev/pts/N`).
    pub slave_path: PathBuf,
}

impl HostPty {
    /// openpty(3) with the given window size.
    pub fn open(rows: u16, cols: u16) -> HostPty {
        let (mut m, mut s) = (-1, -1);
        let mut name = [0 as libc::c_char; 128];
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: valid out-pointers; name has room for any pts path.
        let r = unsafe { libc::openpty(&mut m, &mut s, name.as_mut_ptr(), std::ptr::null(), &ws) };
        if r != 0 {
            panic!("openpty: {}", std::io::Error::last_os_error());
        }
        // SAFETY: openpty returned two fresh descriptors we now own.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        for fd in [&master, &slave] {
            // SAFETY: fcntl on an owned descriptor.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: openpty NUL-terminated the name.
        let slave_path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
        HostPty {
            master: PtyMaster {
                fd: master,
                name: "/dev/ptmx".into(),
                buf: std::cell::RefCell::new(Vec::new()),
            },
            slave,
            slave_path: PathBuf::from(std::ffi::OsStr::from_bytes(slave_path.to_bytes())),
        }
    }

    /// Spawn `cmd` with the slave as its stdin, stdout, stderr and
    /// controlling terminal (in a new session, default signal dispositions).
    pub fn spawn(&self, mut cmd: std::process::Command) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        let dup = || {
            self.slave
                .try_clone()
                .unwrap_or_else(|e| panic!("dup pty slave: {e}"))
        };
        cmd.stdin(Stdio::from(dup()))
            .stdout(Stdio::from(dup()))
            .stderr(Stdio::from(dup()));
        // SAFETY: only async-signal-safe calls (signal, setsid, ioctl) in the child.
        unsafe {
            cmd.pre_exec(|| {
                reset_dispositions();
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()))
    }

    /// The slave's terminal attributes (to check raw mode was restored).
    pub fn termios(&self) -> libc::termios {
        // SAFETY: termios is plain data; tcgetattr fills it.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor and out-pointer.
        if unsafe { libc::tcgetattr(self.slave.as_raw_fd(), &mut t) } != 0 {
            panic!("tcgetattr: {}", std::io::Error::last_os_error());
        }
        t
    }

    /// Resize the terminal (the kernel sends SIGWINCH to its foreground group).
    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: valid descriptor and pointer.
        if unsafe { libc::ioctl(self.master.fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
            panic!("TIOCSWINSZ: {}", std::io::Error::last_os_error());
        }
    }

    /// Close our copy of the slave (so the master sees EOF once the child's
    /// copies are gone too).
    pub fn close_slave(self) -> PtyMaster {
        drop(self.slave);
        self.master
    }
}

/// The kernel's `struct sigaction` for rt_sigaction(2) on x86_64.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Set every signal (1..=64, glibc's reserved 32 and 33 included) to its
/// default disposition with raw rt_sigaction, which is async-signal-safe.
/// glibc's signal()/sigaction() refuse 32 and 33, so a caller that got
/// SIGCANCEL ignored from posix_spawn would otherwise pass that on.
pub fn reset_dispositions() {
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: a raw syscall with a valid pointer to a stack value.
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
    }
}

/// Ignore `sig` with raw rt_sigaction (works for glibc's reserved 32 and 33).
pub fn ignore_signal_raw(sig: i32) {
    let ign = KernelSigaction {
        handler: libc::SIG_IGN,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: a raw syscall with a valid pointer to a stack value.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &ign as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            8usize,
        )
    };
}

/// Wait for `child` up to `timeout`; SIGKILL its process group and fail after.
pub fn wait_child(child: &mut std::process::Child, timeout: Duration) -> Result<i32, String> {
    use std::os::unix::process::ExitStatusExt;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                return Ok(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)));
            }
            Ok(None) => {}
            Err(e) => return Err(format!("wait: {e}")),
        }
        if Instant::now() >= deadline {
            // SAFETY: kill(2) on the child's own session/process group.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {timeout:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
