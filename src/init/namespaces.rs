//! Stage 1 of the init: join the namespaces given by path (checked to be of
//! the right type), then create the rest with unshare(2).

use std::os::fd::AsFd;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};

fn flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

/// Enter the namespaces; returns whether a fork is needed for the new or
/// joined pid namespace to take effect.
pub fn enter(spec: &Spec) -> Result<bool> {
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let mut new = CloneFlags::empty();
    let mut pid = false;
    // Joins first (in config order), so new namespaces are owned as expected.
    for (i, ns) in list.iter().enumerate() {
        if ns.typ() == LinuxNamespaceType::Pid {
            pid = true;
        }
        let Some(path) = ns.path() else {
            new |= flag(ns.typ());
            continue;
        };
        let field = format!("linux.namespaces[{i}].path");
        let fd = nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| Error::sys("open", path, e).context(&field))?;
        let t = crate::sys::ns_type(fd.as_fd()).map_err(|_| {
            Error::config(
                &field,
                format!("{} is not a namespace file", path.display()),
            )
        })?;
        if t != ns.typ() as i32 {
            return Err(Error::config(
                &field,
                format!("{} is not a {} namespace", path.display(), ns.typ()),
            ));
        }
        nix::sched::setns(fd, flag(ns.typ()))
            .map_err(|e| Error::sys("setns", path, e).context(&field))?;
    }
    if !new.is_empty() {
        nix::sched::unshare(new)
            .map_err(|e| Error::call(format!("unshare {new:?}"), e).context("create namespaces"))?;
    }
    Ok(pid)
}
