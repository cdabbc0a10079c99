//! The `report` subcommand: everything observable about the current process.
//!
//! Keys of the resulting object (each may instead be `{"error": "..."}`):
//!
//! | key | value |
//! |-----|-------|
//! | `argv` | array of strings |
//! | `pid`, `ppid` | numbers |
//! | `uid`, `euid`, `suid`, `gid`, `egid`, `sgid` | numbers (getresuid/getresgid) |
//! | `groups` | array of numbers (getgroups) |
//! | `caps` | `{CapInh: {hex, names}, CapPrm: .., CapEff: .., CapBnd: .., CapAmb: ..}` |
//! | `no_new_privs` | bool |
//! | `seccomp` | number (0 disabled, 1 strict, 2 filter) from `Seccomp:` |
//! | `sig_ign`, `sig_blk`, `sig_cgt`, `sig_pnd`, `shd_pnd` | hex strings as in /proc/self/status |
//! | `cwd` | string |
//! | `env` | object name → value |
//! | `hostname`, `domainname` | strings (uname) |
//! | `umask` | octal string, e.g. `"0022"` |
//! | `oom_score_adj` | number |
//! | `rlimits` | object `"RLIMIT_NOFILE"` → `[soft, hard]`; **RLIM_INFINITY is `null`** |
//! | `fds` | array of `{fd, target}` (the directory fd used for listing is excluded) |
//! | `tty` | `{stdin, stdout, stderr}` bools and `ttyname` (string, or null when fd 0 isn't a tty) |
//! | `namespaces` | object type → inode number (`cgroup ipc mnt net pid pid_for_children time time_for_children user uts`) |
//! | `cgroup` | array of lines of /proc/self/cgroup |
//! | `mounts` | array of mountinfo entries (see [`mounts`]) |
//! | `uid_map`, `gid_map`, `setgroups` | raw file contents |
//! | `apparmor`, `selinux` | current label string, or null when not readable/not in use |

use crate::util::{cbuf_to_string, err_value, io_err_string, last_err};
use serde_json::{Map, Value, json};
use std::ffi::CStr;

type Field = Result<Value, String>;

fn field(r: Field) -> Value {
    r.unwrap_or_else(err_value)
}

pub fn report() -> Value {
    let status = read_to_string("/proc/self/status");
    let status_field = |key: &str| -> Result<String, String> {
        let text = status.as_ref().map_err(Clone::clone)?;
        status_line(text, key).ok_or_else(|| format!("no {key}: line in /proc/self/status"))
    };

    let mut m = Map::new();
    m.insert(
        "argv".into(),
        json!(
            std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        ),
    );
    // SAFETY: getpid/getppid never fail.
    m.insert("pid".into(), json!(unsafe { libc::getpid() }));
    m.insert("ppid".into(), json!(unsafe { libc::getppid() }));
    ids(&mut m);
    m.insert("groups".into(), field(groups()));
    m.insert("caps".into(), field(caps(status_field)));
    m.insert("no_new_privs".into(), field(no_new_privs()));
    m.insert(
        "seccomp".into(),
        field(status_field("Seccomp").and_then(|s| {
            s.parse::<u64>()
                .map(|n| json!(n))
                .map_err(|e| format!("bad Seccomp value {s:?}: {e}"))
        })),
    );
    for (key, line) in [
        ("sig_ign", "SigIgn"),
        ("sig_blk", "SigBlk"),
        ("sig_cgt", "SigCgt"),
        ("sig_pnd", "SigPnd"),
        ("shd_pnd", "ShdPnd"),
    ] {
        m.insert(key.into(), field(status_field(line).map(Value::String)));
    }
    m.insert(
        "cwd".into(),
        field(
            std::env::current_dir()
                .map(|p| json!(p.to_string_lossy()))
                .map_err(|e| io_err_string(&e)),
        ),
    );
    m.insert("env".into(), env());
    uname(&mut m);
    m.insert(
        "umask".into(),
        field(status_field("Umask").map(Value::String)),
    );
    m.insert(
        "oom_score_adj".into(),
        field(read_to_string("/proc/self/oom_score_adj").and_then(|s| {
            s.trim()
                .parse::<i64>()
                .map(|n| json!(n))
                .map_err(|e| format!("bad oom_score_adj {s:?}: {e}"))
        })),
    );
    m.insert("rlimits".into(), rlimits());
    m.insert("fds".into(), field(fds()));
    m.insert("tty".into(), tty());
    m.insert("namespaces".into(), namespaces());
    m.insert(
        "cgroup".into(),
        field(read_to_string("/proc/self/cgroup").map(|s| json!(lines(&s)))),
    );
    m.insert("mounts".into(), field(mounts()));
    for (key, path) in [
        ("uid_map", "/proc/self/uid_map"),
        ("gid_map", "/proc/self/gid_map"),
        ("setgroups", "/proc/self/setgroups"),
    ] {
        m.insert(key.into(), field(read_to_string(path).map(Value::String)));
    }
    let (apparmor, selinux) = lsm_labels();
    m.insert("apparmor".into(), apparmor);
    m.insert("selinux".into(), selinux);
    Value::Object(m)
}

fn read_to_string(path: &str) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("{path}: {}", io_err_string(&e)))
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.is_empty()).collect()
}

/// Value of a `Key:\tvalue` line in /proc/self/status.
fn status_line(status: &str, key: &str) -> Option<String> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim().to_string())
    })
}

fn ids(m: &mut Map<String, Value>) {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: valid out-pointers.
    if unsafe { libc::getresuid(&mut r, &mut e, &mut s) } == 0 {
        m.insert("uid".into(), json!(r));
        m.insert("euid".into(), json!(e));
        m.insert("suid".into(), json!(s));
    } else {
        let err = err_value(io_err_string(&last_err()));
        for k in ["uid", "euid", "suid"] {
            m.insert(k.into(), err.clone());
        }
    }
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: valid out-pointers.
    if unsafe { libc::getresgid(&mut r, &mut e, &mut s) } == 0 {
        m.insert("gid".into(), json!(r));
        m.insert("egid".into(), json!(e));
        m.insert("sgid".into(), json!(s));
    } else {
        let err = err_value(io_err_string(&last_err()));
        for k in ["gid", "egid", "sgid"] {
            m.insert(k.into(), err.clone());
        }
    }
}

fn groups() -> Field {
    // SAFETY: a zero-size query is always valid.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n < 0 {
        return Err(io_err_string(&last_err()));
    }
    let mut buf: Vec<libc::gid_t> = vec![0; n as usize + 1];
    // SAFETY: buf has room for buf.len() gids.
    let n = unsafe { libc::getgroups(buf.len() as libc::c_int, buf.as_mut_ptr()) };
    if n < 0 {
        return Err(io_err_string(&last_err()));
    }
    buf.truncate(n as usize);
    Ok(json!(buf))
}

/// Capability names indexed by bit number (linux/capability.h).
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Decode a capability mask into names; unknown bits become "CAP_<bit>".
pub fn cap_names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| match CAP_NAMES.get(bit) {
            Some(n) => (*n).to_string(),
            None => format!("CAP_{bit}"),
        })
        .collect()
}

fn caps(status_field: impl Fn(&str) -> Result<String, String>) -> Field {
    let mut m = Map::new();
    for key in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let v = status_field(key).and_then(|hex| {
            let mask =
                u64::from_str_radix(&hex, 16).map_err(|e| format!("bad {key} {hex:?}: {e}"))?;
            Ok(json!({ "hex": hex, "names": cap_names(mask) }))
        });
        m.insert(key.into(), field(v));
    }
    Ok(Value::Object(m))
}

fn no_new_privs() -> Field {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointers.
    let r = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    if r < 0 {
        Err(io_err_string(&last_err()))
    } else {
        Ok(json!(r == 1))
    }
}

fn env() -> Value {
    let mut m = Map::new();
    for (k, v) in std::env::vars_os() {
        m.insert(k.to_string_lossy().into_owned(), json!(v.to_string_lossy()));
    }
    Value::Object(m)
}

fn uname(m: &mut Map<String, Value>) {
    // SAFETY: utsname is plain old data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    if unsafe { libc::uname(&mut u) } == 0 {
        m.insert("hostname".into(), json!(cbuf_to_string(&u.nodename)));
        m.insert("domainname".into(), json!(cbuf_to_string(&u.domainname)));
    } else {
        let err = err_value(io_err_string(&last_err()));
        m.insert("hostname".into(), err.clone());
        m.insert("domainname".into(), err);
    }
}

const RLIMITS: [(&str, libc::__rlimit_resource_t); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
];

/// `RLIM_INFINITY` is reported as JSON `null`.
fn rlimits() -> Value {
    let lim = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            Value::Null
        } else {
            json!(v)
        }
    };
    let mut m = Map::new();
    for (name, res) in RLIMITS {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid out-pointer.
        let v = if unsafe { libc::getrlimit(res, &mut rl) } == 0 {
            json!([lim(rl.rlim_cur), lim(rl.rlim_max)])
        } else {
            err_value(io_err_string(&last_err()))
        };
        m.insert(name.into(), v);
    }
    Value::Object(m)
}

fn readlink_string(path: &CStr) -> Result<String, String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::readlink(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io_err_string(&last_err()));
    }
    buf.truncate(n as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Open fds, read with opendir so that the listing's own fd can be excluded.
fn fds() -> Field {
    let dir_path = c"/proc/self/fd";
    // SAFETY: valid C string.
    let dir = unsafe { libc::opendir(dir_path.as_ptr()) };
    if dir.is_null() {
        return Err(format!("/proc/self/fd: {}", io_err_string(&last_err())));
    }
    // SAFETY: dir is a valid DIR*.
    let own_fd = unsafe { libc::dirfd(dir) };
    let mut nums = Vec::new();
    loop {
        // SAFETY: dir is valid; readdir returns NULL at end or on error.
        let ent = unsafe { libc::readdir(dir) };
        if ent.is_null() {
            break;
        }
        // SAFETY: d_name is NUL-terminated.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
        if let Ok(n) = name.to_string_lossy().parse::<i32>()
            && n != own_fd
        {
            nums.push(n);
        }
    }
    nums.sort_unstable();
    // Resolve targets while the dir is still open, so a freshly allocated fd
    // cannot be mistaken for one of ours.
    let out: Vec<Value> = nums
        .iter()
        .map(|&fd| {
            let p = std::ffi::CString::new(format!("/proc/self/fd/{fd}"));
            let target = match p {
                Ok(p) => field(readlink_string(&p).map(Value::String)),
                Err(e) => err_value(e.to_string()),
            };
            json!({ "fd": fd, "target": target })
        })
        .collect();
    // SAFETY: dir is valid and closed exactly once.
    unsafe { libc::closedir(dir) };
    Ok(json!(out))
}

fn tty() -> Value {
    // SAFETY: isatty is safe on any fd number.
    let is = |fd| unsafe { libc::isatty(fd) } == 1;
    let ttyname = if is(0) {
        let mut buf = [0 as libc::c_char; 256];
        // SAFETY: buf is valid for its length.
        let r = unsafe { libc::ttyname_r(0, buf.as_mut_ptr(), buf.len()) };
        if r == 0 {
            json!(cbuf_to_string(&buf))
        } else {
            err_value(io_err_string(&std::io::Error::from_raw_os_error(r)))
        }
    } else {
        Value::Null
    };
    json!({ "stdin": is(0), "stdout": is(1), "stderr": is(2), "ttyname": ttyname })
}

fn namespaces() -> Value {
    let mut m = Map::new();
    for ns in [
        "cgroup",
        "ipc",
        "mnt",
        "net",
        "pid",
        "pid_for_children",
        "time",
        "time_for_children",
        "user",
        "uts",
    ] {
        let path = format!("/proc/self/ns/{ns}");
        let v = std::fs::metadata(&path)
            .map(|md| json!(std::os::unix::fs::MetadataExt::ino(&md)))
            .map_err(|e| format!("{path}: {}", io_err_string(&e)));
        m.insert(ns.into(), field(v));
    }
    Value::Object(m)
}

/// Undo mountinfo's octal escapes (`\040` for space etc.).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse one mountinfo line into
/// `{mount_id, parent_id, major_minor, root, mount_point, options, optional,
///   fstype, source, super_options}` (`optional` is an array of tags).
pub fn parse_mountinfo_line(line: &str) -> Result<Value, String> {
    let (pre, post) = line
        .split_once(" - ")
        .ok_or_else(|| format!("no separator in mountinfo line {line:?}"))?;
    let pre: Vec<&str> = pre.split(' ').collect();
    let post: Vec<&str> = post.splitn(3, ' ').collect();
    if pre.len() < 6 || post.len() < 3 {
        return Err(format!("short mountinfo line {line:?}"));
    }
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|e| format!("bad number {s:?} in {line:?}: {e}"))
    };
    Ok(json!({
        "mount_id": num(pre[0])?,
        "parent_id": num(pre[1])?,
        "major_minor": pre[2],
        "root": unescape(pre[3]),
        "mount_point": unescape(pre[4]),
        "options": pre[5],
        "optional": pre[6..].iter().filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "fstype": post[0],
        "source": unescape(post[1]),
        "super_options": post[2],
    }))
}

fn mounts() -> Field {
    let text = read_to_string("/proc/self/mountinfo")?;
    let v: Vec<Value> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| field(parse_mountinfo_line(l)))
        .collect();
    Ok(json!(v))
}

/// Labels of the LSMs in use; null when the LSM isn't active or unreadable.
fn lsm_labels() -> (Value, Value) {
    let read = |p: &str| {
        std::fs::read(p).ok().and_then(|b| {
            let s = String::from_utf8_lossy(&b)
                .trim_end_matches(['\0', '\n'])
                .to_string();
            (!s.is_empty()).then_some(s)
        })
    };
    let lsms = read("/sys/kernel/security/lsm").unwrap_or_default();
    let apparmor = read("/proc/self/attr/apparmor/current")
        .or_else(|| {
            lsms.contains("apparmor")
                .then(|| read("/proc/self/attr/current"))
                .flatten()
        })
        .map_or(Value::Null, Value::String);
    // SELinux has no per-LSM attr subdirectory on older kernels; the generic
    // file belongs to it when it is the active major LSM. A SELinux context
    // always has at least three ':'-separated parts.
    let selinux = read("/proc/self/attr/selinux/current")
        .or_else(|| {
            read("/proc/self/attr/current").filter(|s| {
                !lsms.contains("apparmor") && s.split(':').count() >= 3 && s != "unconfined"
            })
        })
        .map_or(Value::Null, Value::String);
    (apparmor, selinux)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_parses() {
        let v = parse_mountinfo_line(
            "36 35 98:0 /mnt1 /mnt\\040x rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue",
        )
        .unwrap();
        assert_eq!(v["mount_id"], 36);
        assert_eq!(v["mount_point"], "/mnt x");
        assert_eq!(v["optional"], json!(["master:1", "shared:2"]));
        assert_eq!(v["super_options"], "rw,errors=continue");
        let v = parse_mountinfo_line("1 0 0:5 / / rw - tmpfs none rw").unwrap();
        assert_eq!(v["optional"], json!([]));
    }

    #[test]
    fn caps_decode() {
        assert_eq!(
            cap_names(0x20000420),
            vec!["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
        );
        assert_eq!(cap_names(1 << 45), vec!["CAP_45"]);
    }

    #[test]
    fn status_lines() {
        let s = "Name:\tprobe\nSigIgn:\t0000000000000000\n";
        assert_eq!(
            status_line(s, "SigIgn").as_deref(),
            Some("0000000000000000")
        );
        assert_eq!(status_line(s, "Sig"), None);
    }
}
