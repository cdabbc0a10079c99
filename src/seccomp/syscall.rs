//! Every `unsafe` of the seccomp module: the seccomp(2) calls and taking
//! ownership of a descriptor received with SCM_RIGHTS.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use seccompiler::sock_filter;

// seccompiler's instruction type is the kernel's `struct sock_filter`.
const _: () = {
    assert!(std::mem::size_of::<sock_filter>() == std::mem::size_of::<libc::sock_filter>());
    assert!(std::mem::align_of::<sock_filter>() == std::mem::align_of::<libc::sock_filter>());
};

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). With
/// SECCOMP_FILTER_FLAG_NEW_LISTENER the kernel returns the listener fd.
pub(super) fn set_mode_filter(
    program: &[sock_filter],
    flags: u32,
) -> Result<Option<OwnedFd>, Errno> {
    let len = u16::try_from(program.len()).map_err(|_| Errno::E2BIG)?;
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let fprog = libc::sock_fprog {
        len,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `program`, `len` instructions of the kernel's
    // layout (checked above), alive for the whole call; the kernel only reads
    // (copies) it. No other memory is touched.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            libc::c_ulong::from(flags),
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        return Err(Errno::last());
    }
    if flags & super::profile::flag::NEW_LISTENER == 0 {
        return Ok(None);
    }
    let fd = RawFd::try_from(rc).map_err(|_| Errno::EBADF)?;
    // SAFETY: with NEW_LISTENER the kernel returned a new descriptor that
    // nothing else in this process owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Whether the kernel knows a SECCOMP_FILTER_FLAG_* bit: seccomp(2) with a
/// NULL program fails with EFAULT once the flags passed its check, with
/// EINVAL if they did not (libseccomp probes the same way). Installs nothing.
pub(super) fn flag_supported(flag: u32) -> bool {
    // SAFETY: a NULL program pointer is never dereferenced by us; the kernel
    // validates flags first and then fails to copy from NULL (EFAULT).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            libc::c_ulong::from(flag),
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    rc < 0 && Errno::last() == Errno::EFAULT
}

/// Own a descriptor that recvmsg(2) just delivered in SCM_RIGHTS.
pub(super) fn own_received_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the kernel installed this descriptor in our table for this
    // message only; nothing else refers to it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
