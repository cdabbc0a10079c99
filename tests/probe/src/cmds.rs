//! The small subcommands: stat, write, read, exit, sleep, signals, kill-self.

use crate::util::{emit, errno_message, errno_name, io_err_string, last_err, parse_signal, usage};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::sync::atomic::{AtomicI32, Ordering};

/// `{errno, error: "ENOENT", message: "No such file or directory"}` fields.
fn errno_fields(e: &std::io::Error) -> Value {
    match e.raw_os_error() {
        Some(n) => json!({ "errno": n, "error": errno_name(n), "message": errno_message(n) }),
        None => json!({ "errno": null, "error": e.to_string(), "message": e.to_string() }),
    }
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// `stat PATH...` → array of `{path, type, mode, uid, gid, rdev_major,
/// rdev_minor, size, ino, nlink, target}` or `{path, errno, error}` where
/// `error` is e.g. "ENOENT: No such file or directory". `target` is the
/// symlink target (null for non-symlinks); `mode` is the octal permission
/// bits including setuid/setgid/sticky, e.g. "0755" or "1777".
pub fn stat(paths: &[String]) -> i32 {
    if paths.is_empty() {
        return usage("stat PATH...");
    }
    let out: Vec<Value> = paths.iter().map(|p| stat_one(p)).collect();
    emit(&json!(out));
    0
}

fn stat_one(path: &str) -> Value {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) => {
            return json!({
                "path": path,
                "errno": e.raw_os_error(),
                "error": io_err_string(&e),
            });
        }
    };
    let ft = md.file_type();
    let kind = if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else {
        "unknown"
    };
    let target = if ft.is_symlink() {
        match std::fs::read_link(path) {
            Ok(t) => json!(t.to_string_lossy()),
            Err(e) => json!({ "error": io_err_string(&e) }),
        }
    } else {
        Value::Null
    };
    let rdev = md.rdev();
    json!({
        "path": path,
        "type": kind,
        "mode": format!("{:04o}", md.mode() & 0o7777),
        "uid": md.uid(),
        "gid": md.gid(),
        "rdev_major": libc::major(rdev),
        "rdev_minor": libc::minor(rdev),
        "size": md.size(),
        "ino": md.ino(),
        "nlink": md.nlink(),
        "target": target,
    })
}

/// `write PATH [CONTENT]`: open(O_WRONLY|O_CREAT|O_TRUNC, 0644), write CONTENT
/// (nothing if omitted — opening is then the whole test, which keeps writes to
/// files such as /proc/sysrq-trigger harmless). Always exits 0.
pub fn write(args: &[String]) -> i32 {
    let Some(path) = args.first() else {
        return usage("write PATH [CONTENT]");
    };
    let content = args.get(1).map(String::as_str).unwrap_or("");
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .and_then(|mut f| {
            f.write_all(content.as_bytes())?;
            f.flush()
        });
    let base = json!({ "path": path, "ok": res.is_ok() });
    match res {
        Ok(()) => emit(&base),
        Err(e) => emit(&merge(base, errno_fields(&e))),
    }
    0
}

const READ_CAP: u64 = 64 * 1024;

/// `read PATH` → `{path, ok:true, content, truncated}` or
/// `{path, ok:false, errno, error, message}`. Always exits 0.
pub fn read(args: &[String]) -> i32 {
    let Some(path) = args.first() else {
        return usage("read PATH");
    };
    let res = std::fs::File::open(path).and_then(|f| {
        let mut buf = Vec::new();
        f.take(READ_CAP + 1).read_to_end(&mut buf)?;
        Ok(buf)
    });
    match res {
        Ok(mut buf) => {
            let truncated = buf.len() as u64 > READ_CAP;
            buf.truncate(READ_CAP as usize);
            emit(&json!({
                "path": path,
                "ok": true,
                "content": String::from_utf8_lossy(&buf),
                "truncated": truncated,
            }));
        }
        Err(e) => emit(&merge(
            json!({ "path": path, "ok": false }),
            errno_fields(&e),
        )),
    }
    0
}

/// `exit N`: exit with status N, printing nothing.
/// `notify MSG`: send MSG (e.g. READY=1) to $NOTIFY_SOCKET as sd_notify does.
pub fn notify(args: &[String]) -> i32 {
    let msg = args.first().map(String::as_str).unwrap_or("READY=1");
    let out = match std::env::var("NOTIFY_SOCKET") {
        Err(_) => serde_json::json!({"sent": false, "error": "NOTIFY_SOCKET not set"}),
        Ok(path) => match std::os::unix::net::UnixDatagram::unbound()
            .and_then(|s| s.send_to(msg.as_bytes(), &path))
        {
            Ok(_) => serde_json::json!({"sent": true, "socket": path}),
            Err(e) => serde_json::json!({"sent": false, "socket": path, "error": e.to_string()}),
        },
    };
    crate::util::emit(&out);
    0
}

pub fn exit(args: &[String]) -> i32 {
    match args.first().map(|s| s.parse::<i32>()) {
        Some(Ok(n)) => n,
        _ => usage("exit N"),
    }
}

fn install_handler(sig: i32, handler: extern "C" fn(libc::c_int)) -> std::io::Result<()> {
    // SAFETY: sigaction is plain data; the handler only calls async-signal-safe functions.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
            return Err(last_err());
        }
    }
    Ok(())
}

fn unblock(sigs: &[i32]) {
    // SAFETY: plain sigset manipulation.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in sigs {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) };
}

/// `sleep SECS` (fractional allowed) or `sleep inf|infinity|forever`.
///
/// SIGTERM and SIGINT get a handler that exits with 128+sig. This matters
/// because the probe usually runs as PID 1 of a PID namespace, and the kernel
/// never delivers a signal whose disposition is SIG_DFL to a namespace init
/// (SIGNAL_UNKILLABLE), so without a handler `kill ID` (SIGTERM) would be a
/// no-op. SIGKILL from the runtime (parent namespace) still works as usual.
pub fn sleep(args: &[String]) -> i32 {
    let Some(arg) = args.first() else {
        return usage("sleep SECS|inf");
    };
    for sig in [libc::SIGTERM, libc::SIGINT] {
        if let Err(e) = install_handler(sig, exit_on_signal) {
            emit(&json!({ "error": format!("sigaction({sig}): {}", io_err_string(&e)) }));
            return 1;
        }
    }
    unblock(&[libc::SIGTERM, libc::SIGINT]);
    match arg.as_str() {
        "inf" | "infinity" | "forever" => loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        },
        s => match s.parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs >= 0.0 => {
                // std's sleep resumes after EINTR until the full time has passed.
                std::thread::sleep(std::time::Duration::from_secs_f64(secs));
                0
            }
            _ => usage("sleep SECS|inf"),
        },
    }
}

static SIGNAL_PIPE_WR: AtomicI32 = AtomicI32::new(-1);

extern "C" fn forward_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE_WR.load(Ordering::Relaxed);
    let b = sig as u8;
    // SAFETY: write on a pipe is async-signal-safe; errno is saved/restored.
    unsafe {
        let saved = *libc::__errno_location();
        libc::write(fd, (&b as *const u8).cast(), 1);
        *libc::__errno_location() = saved;
    }
}

/// `signals`: catch SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2, print
/// `{"ready":true}`, then `{"signal":N}` for every signal caught, in order.
/// Exits 0 after reporting SIGTERM.
pub fn signals() -> i32 {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        emit(&json!({ "error": format!("pipe2: {}", io_err_string(&last_err())) }));
        return 1;
    }
    SIGNAL_PIPE_WR.store(fds[1], Ordering::Relaxed);
    let sigs = [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ];
    for &sig in &sigs {
        if let Err(e) = install_handler(sig, forward_signal) {
            emit(&json!({ "error": format!("sigaction({sig}): {}", io_err_string(&e)) }));
            return 1;
        }
    }
    unblock(&sigs);
    emit(&json!({ "ready": true }));
    loop {
        let mut b = 0u8;
        // SAFETY: reading one byte into a valid buffer.
        let n = unsafe { libc::read(fds[0], (&mut b as *mut u8).cast(), 1) };
        if n == 1 {
            let sig = i32::from(b);
            emit(&json!({ "signal": sig }));
            if sig == libc::SIGTERM {
                return 0;
            }
        } else if n < 0 && last_err().raw_os_error() == Some(libc::EINTR) {
            continue;
        } else {
            emit(&json!({ "error": format!("read(signal pipe): {}", io_err_string(&last_err())) }));
            return 1;
        }
    }
}

/// Exit status used by `kill-self` when the signal could not kill us.
pub const KILL_SELF_FAILED: i32 = 99;

/// `kill-self SIG`: reset SIG to its default disposition, unblock it and raise it.
///
/// As PID 1 of a PID namespace this cannot work for most signals: the kernel
/// drops default-disposition signals sent to a namespace init from inside the
/// namespace, itself included. For SIGILL, SIGTRAP, SIGSEGV and SIGFPE the
/// probe then provokes the matching CPU fault instead — kernel-forced signals
/// do kill a namespace init. For any other signal it prints
/// `{"error": ..., "signal": N, "pid": P}` and exits 99.
pub fn kill_self(args: &[String]) -> i32 {
    let Some(sig) = args.first().and_then(|s| parse_signal(s)) else {
        return usage("kill-self SIG (number or name)");
    };
    // SAFETY: resetting a disposition and raising a signal are always sound.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
    unblock(&[sig]);
    let _ = std::io::stdout().flush();
    // SAFETY: see above.
    unsafe {
        libc::raise(sig);
    }
    // A deliverable signal is handled before raise returns; give an
    // asynchronously delivered one a moment anyway.
    std::thread::sleep(std::time::Duration::from_millis(50));
    provoke_fault(sig);
    emit(&json!({
        "error": "signal did not terminate the process (a PID-namespace init ignores \
                  signals with default disposition that are sent from inside its namespace)",
        "signal": sig,
        // SAFETY: getpid never fails.
        "pid": unsafe { libc::getpid() },
    }));
    KILL_SELF_FAILED
}

#[cfg(target_arch = "x86_64")]
fn provoke_fault(sig: i32) {
    // SAFETY: each instruction deliberately faults; the kernel then kills the
    // process with `sig` (default disposition was restored above), so control
    // never continues past the asm block in practice.
    unsafe {
        match sig {
            libc::SIGILL => std::arch::asm!("ud2"),
            libc::SIGTRAP => std::arch::asm!("int3"),
            libc::SIGSEGV => std::arch::asm!(
                "mov {tmp}, qword ptr [{addr}]",
                addr = in(reg) 8usize,
                tmp = out(reg) _,
            ),
            libc::SIGFPE => std::arch::asm!(
                "xor edx, edx",
                "mov eax, 1",
                "div ecx",
                in("ecx") 0u32,
                out("eax") _,
                out("edx") _,
            ),
            _ => {}
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn provoke_fault(_sig: i32) {}
