//! More thin system-call wrappers, for the runtime-spec 1.3 process and
//! mount extras (step 11): sched_setattr/sched_getattr, ioprio_set/get,
//! set_mempolicy/get_mempolicy, and mount_setattr with an id mapping. Kept
//! apart from `sys` so that file stays small; the same rule holds: each
//! `unsafe` block here carries its `// SAFETY:` argument, and nothing else
//! in these callers is unsafe.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

/// `struct sched_attr` (SCHED_ATTR_SIZE_VER1, Linux 5.3+).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
}

/// The size the kernel is told (VER1: with the utilisation clamps).
pub const SCHED_ATTR_SIZE: u32 = std::mem::size_of::<SchedAttr>() as u32;

/// sched_setattr(2) on `pid` (0: the caller).
pub fn sched_setattr(pid: i32, attr: &SchedAttr) -> Result<(), Errno> {
    let mut a = *attr;
    a.size = SCHED_ATTR_SIZE;
    // SAFETY: `a` is a valid sched_attr whose size field matches the struct;
    // the kernel only reads it during the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            pid,
            &a as *const SchedAttr,
            0 as libc::c_uint,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// sched_getattr(2) of `pid` (0: the caller).
pub fn sched_getattr(pid: i32) -> Result<SchedAttr, Errno> {
    let mut a = SchedAttr::default();
    // SAFETY: the kernel writes at most `SCHED_ATTR_SIZE` bytes into `a`,
    // which is exactly that large and lives across the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            pid,
            &mut a as *mut SchedAttr,
            SCHED_ATTR_SIZE,
            0 as libc::c_uint,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(a) }
}

/// `IOPRIO_WHO_PROCESS`.
pub const IOPRIO_WHO_PROCESS: i32 = 1;

/// ioprio_set(2) for a process (`pid` 0: the caller) with an encoded value.
pub fn ioprio_set(pid: i32, value: i32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, pid, value) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// ioprio_get(2) of a process (`pid` 0: the caller): the encoded value.
pub fn ioprio_get(pid: i32) -> Result<i32, Errno> {
    // SAFETY: plain integers.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, pid) };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret as i32)
    }
}

/// set_mempolicy(2): `mode` with its flags or'ed in, and a node mask given
/// as words (empty: no mask).
pub fn set_mempolicy(mode: i32, nodes: &[libc::c_ulong]) -> Result<(), Errno> {
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads maxnode - 1 bits (a historic off-by-one every
        // caller, numactl included, compensates for).
        (
            nodes.as_ptr(),
            (nodes.len() * libc::c_ulong::BITS as usize + 1) as libc::c_ulong,
        )
    };
    // SAFETY: `ptr` is null or points at `nodes`, which holds the bits the
    // kernel reads (maxnode - 1 of them) and outlives the call.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// get_mempolicy(2) of the caller: the mode (with its flags) and the first
/// word of the node mask (nodes 0..63).
pub fn get_mempolicy() -> Result<(i32, libc::c_ulong), Errno> {
    let mut mode: libc::c_int = 0;
    let mut mask: [libc::c_ulong; 16] = [0; 16];
    let maxnode = (mask.len() * libc::c_ulong::BITS as usize) as libc::c_ulong;
    // SAFETY: both out-pointers are valid for the sizes given (maxnode bits
    // fit in `mask`); no address is passed, flags are 0.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut mode as *mut libc::c_int,
            mask.as_mut_ptr(),
            maxnode,
            std::ptr::null_mut::<libc::c_void>(),
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok((mode, mask[0]))
    }
}

/// `MOUNT_ATTR_IDMAP`.
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct mount_attr` for mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) setting `MOUNT_ATTR_IDMAP` with the user namespace
/// `userns` on the detached mount `tree` (with `recursive`, its whole tree).
pub fn mount_setattr_idmap(
    tree: BorrowedFd<'_>,
    userns: BorrowedFd<'_>,
    recursive: bool,
) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= crate::sys::AT_RECURSIVE;
    }
    // SAFETY: `attr` is a valid mount_attr whose size we pass; the path is a
    // static empty string; both descriptors are open for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sched_attr_has_the_kernels_layout() {
        assert_eq!(SCHED_ATTR_SIZE, 56);
        let me = sched_getattr(0).unwrap();
        // The test runs under the normal policy (or batch/idle in some CIs).
        assert!([0, 3, 5].contains(&me.policy), "{me:?}");
    }

    #[test]
    fn io_priority_reads_back() {
        let v = ioprio_get(0).unwrap();
        assert!(v >= 0);
    }

    #[test]
    fn mempolicy_reads_back() {
        let (mode, _) = get_mempolicy().unwrap();
        assert!(mode >= 0);
    }
}
