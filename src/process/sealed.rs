//! A sealed view of husk's own binary to re-execute as the container's init
//! (CVE-2019-5736: a container must never be able to write the host's husk
//! through /proc/PID/exe).
//!
//! First choice, as runc's current approach, costs no copy: a detached,
//! read-only overlayfs whose lower layers are the binary's directory and an
//! empty detached tmpfs, made with fsopen/fsmount; the binary is opened
//! through it, so any open for writing fails with EROFS. Fallback (kernels
//! without the new mount API, or no overlayfs): a memfd holding a copy of
//! the binary, sealed against every change.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result, io_err};
use crate::sys;

/// Open a sealed, executable view of the running binary.
pub fn open() -> Result<OwnedFd> {
    let exe = std::fs::read_link("/proc/self/exe")
        .map_err(|e| io_err("readlink", "/proc/self/exe", e))?;
    match overlay_view(&exe) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            log::debug!(
                "overlayfs view of {} failed ({e}); using a sealed memfd",
                exe.display()
            );
            memfd_copy()
        }
    }
}

fn overlay_view(exe: &Path) -> std::result::Result<OwnedFd, Errno> {
    let dir = exe.parent().ok_or(Errno::EINVAL)?;
    let name = exe.file_name().ok_or(Errno::EINVAL)?;
    let tmpfs = sys::fsopen(c"tmpfs")?;
    sys::fsconfig_create(tmpfs.as_fd())?;
    let empty = sys::fsmount(tmpfs.as_fd(), sys::MOUNT_ATTR_RDONLY)?;
    let ovl = sys::fsopen(c"overlay")?;
    let dir_c = CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
    let empty_c =
        CString::new(format!("/proc/self/fd/{}", empty.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
    // "lowerdir+" (Linux 6.8) takes any path; older kernels take one
    // "lowerdir" string, where ':' ',' and '\\' must be escaped.
    let plus = sys::fsconfig_set_string(ovl.as_fd(), c"lowerdir+", &dir_c)
        .and_then(|()| sys::fsconfig_set_string(ovl.as_fd(), c"lowerdir+", &empty_c));
    if plus.is_err() {
        let ovl2 = sys::fsopen(c"overlay")?;
        let esc = |s: &str| {
            s.replace('\\', "\\\\")
                .replace(':', "\\:")
                .replace(',', "\\,")
        };
        let legacy = format!(
            "{}:{}",
            esc(&dir.to_string_lossy()),
            esc(&empty_c.to_string_lossy())
        );
        let legacy = CString::new(legacy).map_err(|_| Errno::EINVAL)?;
        sys::fsconfig_set_string(ovl2.as_fd(), c"lowerdir", &legacy)?;
        sys::fsconfig_create(ovl2.as_fd())?;
        let mnt = sys::fsmount(
            ovl2.as_fd(),
            sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOSUID,
        )?;
        return sys::openat2(
            mnt.as_fd(),
            Path::new(name),
            libc::O_PATH,
            0,
            sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
        );
    }
    sys::fsconfig_create(ovl.as_fd())?;
    let mnt = sys::fsmount(
        ovl.as_fd(),
        sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOSUID,
    )?;
    sys::openat2(
        mnt.as_fd(),
        Path::new(name),
        libc::O_PATH,
        0,
        sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
    )
}

fn memfd_copy() -> Result<OwnedFd> {
    let fd = sys::memfd_create(c"husk").map_err(|e| Error::call("memfd_create", e))?;
    let mut src = File::open("/proc/self/exe").map_err(|e| io_err("open", "/proc/self/exe", e))?;
    let mut dst = File::from(fd);
    std::io::copy(&mut src, &mut dst).map_err(|e| io_err("copy", "/proc/self/exe", e))?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    nix::fcntl::fcntl(
        &dst,
        nix::fcntl::FcntlArg::F_ADD_SEALS(nix::fcntl::SealFlag::from_bits_truncate(seals)),
    )
    .map_err(|e| Error::call("seal memfd", e))?;
    Ok(OwnedFd::from(dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_view_is_not_writable() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let fd = open().unwrap();
        let p = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let w = std::fs::OpenOptions::new().write(true).open(&p);
        assert!(w.is_err(), "sealed binary opened for writing");
        let m = memfd_copy().unwrap();
        let p = format!("/proc/self/fd/{}", m.as_raw_fd());
        let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        assert!(std::io::Write::write_all(&mut f, b"x").is_err());
    }
}
