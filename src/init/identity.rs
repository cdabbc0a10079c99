//! Who the container process is: rlimits, user and groups, capabilities in
//! runc's order around the uid switch, the working directory, and the
//! program and environment to exec.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{PosixRlimit, Process};

use crate::capabilities::CapSets;
use crate::error::{Error, Result};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Apply `process.rlimits`.
pub fn set_rlimits(limits: &[PosixRlimit]) -> Result<()> {
    for (i, l) in limits.iter().enumerate() {
        let res = l.typ() as i32;
        let lim = libc::rlimit64 {
            rlim_cur: l.soft(),
            rlim_max: l.hard(),
        };
        // SAFETY: `lim` is a valid rlimit64 read by the kernel during the call.
        let ret = unsafe { libc::setrlimit64(res as libc::__rlimit_resource_t, &lim) };
        if ret < 0 {
            return Err(Error::call(format!("setrlimit {}", l.typ()), Errno::last())
                .context(format!("process.rlimits[{i}]")));
        }
    }
    Ok(())
}

/// Switch user and groups and set capabilities, in runc's order: working
/// directory (as root), bounding set, keep caps, stdio ownership,
/// groups/gid/uid, working directory again if root could not enter it and
/// the check that it is inside the root, then the other four sets.
pub fn switch(process: &Process) -> Result<()> {
    let cwd = process.cwd();
    // As runc: first as root, who may reach directories the user cannot;
    // if root is refused (root-squashing NFS, an unmapped owner), try again as the user.
    let cwd_entered = match nix::unistd::chdir(cwd) {
        Ok(()) => true,
        Err(Errno::EACCES | Errno::EPERM) => false,
        Err(e) => return Err(Error::sys("chdir", cwd, e).context("process.cwd")),
    };
    let mut caps = CapSets::new(process.capabilities().as_ref());
    caps.drop_ungrantable();
    caps.apply_bounding()?;
    crate::sys::set_keepcaps(true).map_err(|e| Error::call("prctl PR_SET_KEEPCAPS", e))?;
    let u = process.user();
    give_stdio_to(u.uid())?;
    let groups: Vec<Gid> = u
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    // In a user namespace whose setgroups is "deny" (an unprivileged
    // parent's), the groups cannot change: skip, as runc does, unless asked for some.
    // Read through a private procfs: a mount over the container's /proc must
    // not be able to make husk skip setgroups.
    let deny = super::procfs::ProcFs::open()
        .and_then(|p| p.open_file("self/setgroups", libc::O_RDONLY, false))
        .ok()
        .and_then(|fd| std::io::read_to_string(std::fs::File::from(fd)).ok())
        .is_some_and(|s| s.trim() == "deny");
    if !deny {
        nix::unistd::setgroups(&groups).map_err(|e| Error::call("setgroups", e))?;
    } else if !groups.is_empty() {
        return Err(Error::config(
            "process.user.additionalGids",
            "cannot set additional groups: setgroups is denied in this user namespace",
        ));
    }
    let gid = Gid::from_raw(u.gid());
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| Error::call(format!("setgid {}", u.gid()), e))?;
    let uid = Uid::from_raw(u.uid());
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| Error::call(format!("setuid {}", u.uid()), e))?;
    if !cwd_entered {
        nix::unistd::chdir(cwd).map_err(|e| Error::sys("chdir", cwd, e).context("process.cwd"))?;
    }
    verify_cwd(cwd)?;
    crate::sys::set_keepcaps(false).map_err(|e| Error::call("prctl PR_SET_KEEPCAPS", e))?;
    caps.apply()
}

/// Make stdin, stdout and stderr belong to the container's user, as runc
/// does, so that a non-root process can reopen them (`/dev/stdout`,
/// `/proc/self/fd/1`): they were opened outside the container, usually by
/// root. Only the owner changes; descriptors on /dev/null are left alone,
/// and a descriptor the kernel will not let us chown (owner or group not
/// mapped in our user namespace, read-only file system) is skipped.
pub fn give_stdio_to(uid: u32) -> Result<()> {
    const DEV_NULL: libc::dev_t = libc::makedev(1, 3);
    for fd in 0..=2 {
        // SAFETY: stdio descriptors stay open for the life of the init.
        let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let st = match nix::sys::stat::fstat(bfd) {
            Ok(st) => st,
            // A closed stdio descriptor is the caller's choice; nothing to fix.
            Err(Errno::EBADF) => continue,
            Err(e) => return Err(Error::call(format!("fstat stdio fd {fd}"), e)),
        };
        let is_null = st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == DEV_NULL;
        if st.st_uid == uid || is_null {
            continue;
        }
        match nix::unistd::fchown(bfd, Some(Uid::from_raw(uid)), None) {
            Ok(()) | Err(Errno::EINVAL | Errno::EPERM | Errno::EROFS) => {}
            Err(e) => {
                return Err(Error::call(format!("fchown stdio fd {fd} to {uid}"), e)
                    .context("process.user.uid"));
            }
        }
    }
    Ok(())
}

/// Make sure the working directory is inside the container's root
/// (CVE-2024-21626: a directory reached through a leaked host descriptor
/// is not, and getcwd then fails with ENOENT instead of naming a path).
fn verify_cwd(cwd: &Path) -> Result<()> {
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => Err(Error::Msg(format!(
            "process.cwd: {} is not inside the container's root",
            cwd.display()
        ))),
    }
}

/// The container's environment, with HOME from /etc/passwd when not given.
pub fn environment(process: &Process) -> Vec<String> {
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let home = home_of(process.user().uid()).unwrap_or_else(|| "/".into());
        env.push(format!("HOME={home}"));
    }
    env
}

/// The home directory of a uid in the container's /etc/passwd.
fn home_of(uid: u32) -> Option<String> {
    let data = std::fs::read_to_string("/etc/passwd").ok()?;
    parse_home(&data, uid)
}

fn parse_home(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
    })
}

fn is_executable(p: &Path) -> std::io::Result<bool> {
    let md = std::fs::metadata(p)?;
    Ok(md.is_file() && md.permissions().mode() & 0o111 != 0)
}

/// Find the program as Go's exec.LookPath does, with runc's error wording.
pub fn look_path(arg0: &str, env: &[String]) -> Result<PathBuf> {
    if arg0.contains('/') {
        let p = Path::new(arg0);
        return match is_executable(p) {
            Ok(true) => Ok(p.to_path_buf()),
            Ok(false) => Err(Error::Msg(format!("exec: {arg0:?}: permission denied"))),
            Err(e) => Err(Error::Msg(format!(
                "exec: {arg0:?}: stat {arg0}: {}",
                crate::error::errno_text(Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))
            ))),
        };
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        if is_executable(&cand).unwrap_or(false) {
            return Ok(cand);
        }
    }
    Err(Error::Msg(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    )))
}

/// C strings for execve.
pub fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| Error::Msg(format!("{s:?} contains a NUL byte")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_from_passwd() {
        let p = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n";
        assert_eq!(parse_home(p, 1000).as_deref(), Some("/home/user"));
        assert_eq!(parse_home(p, 5), None);
    }

    #[test]
    fn look_path_wording() {
        let e = look_path("/nonexistent/nope", &[]).unwrap_err().to_string();
        assert_eq!(
            e,
            "exec: \"/nonexistent/nope\": stat /nonexistent/nope: no such file or directory"
        );
        let e = look_path("nope-husk", &["PATH=/nonexistent".into()])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "exec: \"nope-husk\": executable file not found in $PATH");
        assert_eq!(
            look_path("sh", &["PATH=/bin".into()]).unwrap(),
            PathBuf::from("/bin/sh")
        );
    }
}
