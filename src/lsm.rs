//! Linux security modules: AppArmor profiles and SELinux labels.
//!
//! * What the host has: [`apparmor_enabled`] (runc's test: the module is
//!   loaded and its `enabled` parameter says `Y`) and [`selinux_enabled`]
//!   (selinuxfs is mounted and the task has a context). `features` reports
//!   these, and nothing else decides.
//! * Validation, in the parent, before anything is made: a profile or label
//!   that the host cannot apply is refused naming the field
//!   (`process.apparmorProfile: AppArmor is not enabled on this host`). An
//!   empty string means "none", as in runc; any other value, `unconfined`
//!   included, is a profile to apply (runc writes `exec unconfined` too and
//!   fails where AppArmor is absent).
//! * Application: the request is written to the calling thread's `attr`
//!   files through a verified private procfs handle ([`ProcFs`]), so nothing
//!   mounted in the container can redirect the write (CVE-2025-52881). The
//!   init writes just before execve (after the user switch, while `create`
//!   still listens for errors); an exec'd process writes right after its fork
//!   into the container's pid namespace, with a handle opened before it
//!   joined anything, and closes that handle before its working directory
//!   and program are looked up. AppArmor takes
//!   `exec <profile>` in `attr/apparmor/exec` (`attr/exec` on kernels before
//!   5.8, which have no per-LSM directory); SELinux takes the label in
//!   `attr/exec`, and in `attr/keycreate` while the session keyring is made.
//!   Both take effect at execve and only for this process.
//! * Mount labels: [`mount_data`] adds `context="<linux.mountLabel>"` to
//!   the data of the file systems runc labels (tmpfs, devpts and the other
//!   non-bind mounts; not proc, sysfs or cgroup). mqueue is mounted without
//!   it and its root labelled after ([`label_mount_root`]), as runc does:
//!   its superblock is the ipc namespace's, made at the namespace's birth
//!   without a context, and SELinux refuses other settings for it (EINVAL,
//!   "Same superblock, different security settings"). [`check_mount_label`]
//!   asks the kernel whether the loaded policy knows the label, so that an
//!   unknown one is refused naming the field, not as a mount's EINVAL.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use oci_spec::runtime::Process;

use crate::error::{Error, Result};
use crate::init::procfs::ProcFs;

const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
const SELINUXFS: &str = "/sys/fs/selinux";
/// statfs magic of selinuxfs.
const SELINUX_MAGIC: nix::sys::statfs::FsType = nix::sys::statfs::FsType(0xf97c_ff8c);

/// Whether AppArmor is enabled on this host (runc's test: the module is
/// there and its `enabled` parameter reads `Y`).
pub fn apparmor_enabled() -> bool {
    std::fs::read(APPARMOR_ENABLED).is_ok_and(|b| b.first() == Some(&b'Y'))
}

/// Whether SELinux is enabled on this host: selinuxfs is mounted and this
/// task has a context that is not the kernel's placeholder.
pub fn selinux_enabled() -> bool {
    let fs_ok =
        nix::sys::statfs::statfs(SELINUXFS).is_ok_and(|s| s.filesystem_type() == SELINUX_MAGIC);
    fs_ok
        && std::fs::read_to_string("/proc/self/attr/current")
            .is_ok_and(|c| !c.trim_end_matches(['\0', '\n']).is_empty() && c.trim() != "kernel")
}

/// The profile and label a process asks for ("" means none, as in runc).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Labels {
    pub apparmor: Option<String>,
    pub selinux: Option<String>,
}

impl Labels {
    pub fn of(p: &Process) -> Labels {
        let some = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        Labels {
            apparmor: some(p.apparmor_profile()),
            selinux: some(p.selinux_label()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.apparmor.is_none() && self.selinux.is_none()
    }

    /// Refuse what the host cannot apply, naming the field.
    pub fn check(&self) -> Result<()> {
        self.check_with(apparmor_enabled(), selinux_enabled())
    }

    fn check_with(&self, apparmor: bool, selinux: bool) -> Result<()> {
        if self.apparmor.is_some() && !apparmor {
            return Err(Error::config(
                "process.apparmorProfile",
                "AppArmor is not enabled on this host",
            ));
        }
        if self.selinux.is_some() && !selinux {
            return Err(Error::config(
                "process.selinuxLabel",
                "SELinux is not enabled on this host",
            ));
        }
        Ok(())
    }

    /// Ask for the profile and label to be applied at the next execve of
    /// this (single-threaded) process. Errors name the field.
    pub fn apply_on_exec(&self, proc: &ProcFs) -> Result<()> {
        if let Some(profile) = &self.apparmor {
            apparmor_exec(proc, profile).map_err(|e| e.context("process.apparmorProfile"))?;
        }
        if let Some(label) = &self.selinux {
            write_attr(proc, "thread-self/attr/exec", label)
                .map_err(|e| e.context("process.selinuxLabel"))?;
        }
        Ok(())
    }

    /// Label the keys this thread creates (the session keyring) with the
    /// process's SELinux label (`on`), or back to the default.
    pub fn set_keycreate(&self, proc: &ProcFs, on: bool) -> Result<()> {
        let Some(label) = &self.selinux else {
            return Ok(());
        };
        let value = if on { label.as_str() } else { "" };
        write_attr(proc, "thread-self/attr/keycreate", value)
            .map_err(|e| e.context("process.selinuxLabel"))
    }
}

/// `linux.mountLabel` is only given where SELinux can apply it, and must be
/// a context the loaded policy knows.
pub fn check_mount_label(label: Option<&str>) -> Result<()> {
    check_mount_label_with(label, selinux_enabled())?;
    match label.filter(|l| !l.is_empty()) {
        Some(l) => check_context(l).map_err(|e| e.context("linux.mountLabel")),
        None => Ok(()),
    }
}

/// libselinux's security_check_context: selinuxfs's `context` takes a
/// context and fails with EINVAL when the loaded policy does not know it.
/// Only that answer refuses the label: where the file cannot be written
/// (another error), the mount itself will tell.
fn check_context(label: &str) -> Result<()> {
    let path = Path::new(SELINUXFS).join("context");
    match std::fs::write(&path, label) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(Error::Msg(format!(
            "{label:?} is not a valid context in the loaded SELinux policy"
        ))),
        _ => Ok(()),
    }
}

/// Whether a file system of this type takes `linux.mountLabel` as its
/// root's label after the mount instead of in its data (mqueue: see the
/// module's documentation).
pub fn labels_root_after_mount(fstype: &str) -> bool {
    fstype == "mqueue"
}

/// Label the root of a just mounted file system with `linux.mountLabel`,
/// for the file systems that get it that way ([`labels_root_after_mount`]:
/// runc's label.SetFileLabel of /dev/mqueue). `dir` is the root, opened for
/// reading.
pub fn label_mount_root(dir: BorrowedFd<'_>, label: &str) -> Result<()> {
    // SAFETY: a valid descriptor, a NUL-terminated name, and a buffer of
    // the length given.
    let r = unsafe {
        libc::fsetxattr(
            dir.as_raw_fd(),
            c"security.selinux".as_ptr(),
            label.as_ptr().cast(),
            label.len(),
            0,
        )
    };
    if r != 0 {
        return Err(
            Error::call("fsetxattr security.selinux", Errno::last()).context("linux.mountLabel")
        );
    }
    Ok(())
}

fn check_mount_label_with(label: Option<&str>, selinux: bool) -> Result<()> {
    if label.is_some_and(|l| !l.is_empty()) && !selinux {
        return Err(Error::config(
            "linux.mountLabel",
            "SELinux is not enabled on this host",
        ));
    }
    Ok(())
}

/// aa_change_onexec: the profile this process takes at its next execve.
fn apparmor_exec(proc: &ProcFs, profile: &str) -> Result<()> {
    let rel = "thread-self/attr/apparmor/exec";
    let (fd, rel) = match open_attr(proc, rel) {
        // Kernels before 5.8 have no per-LSM directory.
        Err(e) if e.errno() == Some(Errno::ENOENT) => {
            let old = "thread-self/attr/exec";
            (open_attr(proc, old)?, old)
        }
        r => (r?, rel),
    };
    write_all_once(fd, rel, &format!("exec {profile}"))
}

fn open_attr(proc: &ProcFs, rel: &str) -> Result<OwnedFd> {
    proc.open_file(rel, libc::O_WRONLY | libc::O_CLOEXEC, false)
}

/// Write `value` to an attr file.
fn write_attr(proc: &ProcFs, rel: &str, value: &str) -> Result<()> {
    write_all_once(open_attr(proc, rel)?, rel, value)
}

/// One write(2) of the whole value (an empty value is still written: that
/// is how a label is reset).
fn write_all_once(fd: OwnedFd, rel: &str, value: &str) -> Result<()> {
    let path = Path::new("/proc").join(rel);
    let n = nix::unistd::write(fd.as_fd(), value.as_bytes())
        .map_err(|e| Error::sys("write", &path, e))?;
    if n != value.len() {
        return Err(Error::sys("write", &path, Errno::EIO));
    }
    Ok(())
}

/// The data of a mount with `linux.mountLabel` added where runc adds it:
/// every file system but bind mounts, proc, sysfs and cgroups (which do not
/// take a context, or get one from elsewhere) and mqueue (labelled by
/// [`label_mount_root`] instead).
pub fn mount_data(fstype: &str, bind: bool, data: &str, label: Option<&str>) -> String {
    let Some(label) = label.filter(|l| !l.is_empty()) else {
        return data.to_string();
    };
    if bind
        || labels_root_after_mount(fstype)
        || matches!(fstype, "proc" | "sysfs" | "cgroup" | "cgroup2" | "bind")
    {
        return data.to_string();
    }
    let ctx = format!("context=\"{label}\"");
    if data.is_empty() {
        ctx
    } else {
        format!("{data},{ctx}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(aa: Option<&str>, se: Option<&str>) -> Labels {
        let mut p = Process::default();
        p.set_apparmor_profile(aa.map(String::from));
        p.set_selinux_label(se.map(String::from));
        Labels::of(&p)
    }

    #[test]
    fn empty_means_none() {
        assert!(labels(Some(""), Some("")).is_empty());
        assert!(labels(None, None).is_empty());
        assert!(labels(Some(""), None).check_with(false, false).is_ok());
    }

    #[test]
    fn refused_naming_the_field_where_the_host_has_none() {
        let e = labels(Some("unconfined"), None)
            .check_with(false, true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "process.apparmorProfile: AppArmor is not enabled on this host"
        );
        assert!(labels(Some("p"), None).check_with(true, false).is_ok());
        let e = labels(None, Some("system_u:system_r:container_t:s0"))
            .check_with(true, false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "process.selinuxLabel: SELinux is not enabled on this host"
        );
        let e = check_mount_label_with(Some("system_u:object_r:container_file_t:s0"), false)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "linux.mountLabel: SELinux is not enabled on this host");
        assert!(check_mount_label_with(Some(""), false).is_ok());
        assert!(check_mount_label_with(Some("x"), true).is_ok());
    }

    #[test]
    fn only_the_policy_refuses_a_mount_label() {
        // Without selinuxfs the write fails otherwise: no verdict here.
        if !Path::new(SELINUXFS).join("context").exists() {
            assert!(check_context("system_u:object_r:container_file_t:s0").is_ok());
        }
    }

    #[test]
    fn mount_label_goes_where_runc_puts_it() {
        let l = Some("system_u:object_r:container_file_t:s0:c1,c2");
        assert_eq!(
            mount_data("tmpfs", false, "mode=755", l),
            "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(
            mount_data("devpts", false, "", l),
            "context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        // mqueue's root is labelled after the mount instead.
        assert_eq!(mount_data("mqueue", false, "", l), "");
        assert!(labels_root_after_mount("mqueue"));
        assert!(!labels_root_after_mount("tmpfs"));
        assert!(mount_data("devpts", false, "newinstance", l).contains("context="));
        for (t, bind) in [
            ("proc", false),
            ("sysfs", false),
            ("cgroup", false),
            ("bind", true),
            ("", true),
        ] {
            assert_eq!(mount_data(t, bind, "ro", l), "ro", "{t}");
        }
        assert_eq!(mount_data("tmpfs", false, "size=1m", None), "size=1m");
        assert_eq!(mount_data("tmpfs", false, "size=1m", Some("")), "size=1m");
    }
}
