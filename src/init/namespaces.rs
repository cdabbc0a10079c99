//! Stage 1 of the init, in runc's order: open every namespace path (each
//! checked to be of the right type) before joining any, join them (the user
//! namespace first), then
//! create a user namespace (the parent writes its id maps while we wait),
//! become root in it, create the other namespaces, and write time offsets
//! before any process enters the new time namespace.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Spec};

use crate::error::{Error, Result};
use crate::process::protocol::{self, Message};

fn flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

/// Open a namespace file given by path and check its type.
fn open_ns(i: usize, ns: &LinuxNamespace, path: &std::path::Path) -> Result<OwnedFd> {
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
    Ok(fd)
}

fn become_root() -> Result<()> {
    let (u, g) = (Uid::from_raw(0), Gid::from_raw(0));
    nix::unistd::setresgid(g, g, g)
        .map_err(|e| Error::call("setresgid 0 in the user namespace", e))?;
    nix::unistd::setresuid(u, u, u).map_err(|e| Error::call("setresuid 0 in the user namespace", e))
}

/// Enter the namespaces; returns whether a fork is needed for a new or
/// joined pid or time namespace to take effect.
pub fn enter(spec: &Spec, sock: &mut UnixStream) -> Result<bool> {
    let linux = spec.linux().as_ref();
    let list = linux
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    // Time offsets go through a private procfs opened now, in the runtime's
    // view: a joined mount namespace may have anything at /proc, such as a
    // symlink from self/timens_offsets to a host file (CVE-2025-52881).
    let offsets = linux
        .and_then(|l| l.time_offsets().as_ref())
        .filter(|o| !o.is_empty());
    let proc = offsets.map(|_| super::procfs::ProcFs::open()).transpose()?;
    // Open every path first, as runc does: each resolves in the runtime's
    // mount namespace and with its privileges, before any join changes them.
    let mut joins: Vec<(usize, &LinuxNamespace, OwnedFd)> = Vec::new();
    for (i, ns) in list.iter().enumerate() {
        if let Some(p) = ns.path() {
            joins.push((i, ns, open_ns(i, ns, p)?));
        }
    }
    // The user namespace first: it grants the rights to join the others.
    joins.sort_by_key(|(_, ns, _)| ns.typ() != LinuxNamespaceType::User);
    for (i, ns, fd) in joins {
        nix::sched::setns(fd, flag(ns.typ())).map_err(|e| {
            let path = ns.path().as_deref().unwrap_or(std::path::Path::new(""));
            Error::sys("setns", path, e).context(format!("linux.namespaces[{i}].path"))
        })?;
    }
    let mut fork = false;
    let mut new = CloneFlags::empty();
    for ns in &list {
        if matches!(ns.typ(), LinuxNamespaceType::Pid | LinuxNamespaceType::Time) {
            fork = true;
        }
        if ns.path().is_none() && ns.typ() != LinuxNamespaceType::User {
            new |= flag(ns.typ());
        }
    }
    if let Some(user) = list.iter().find(|n| n.typ() == LinuxNamespaceType::User) {
        if user.path().is_none() {
            nix::sched::unshare(CloneFlags::CLONE_NEWUSER)
                .map_err(|e| Error::call("unshare user namespace", e))?;
            protocol::send(sock, &Message::IdMapRequest)?;
            match protocol::recv(sock)? {
                Some(Message::IdMapDone) => {}
                Some(Message::Error { message }) => return Err(Error::Msg(message)),
                other => return Err(Error::Msg(format!("init: expected id maps, got {other:?}"))),
            }
        }
        become_root()?;
    }
    if !new.is_empty() {
        nix::sched::unshare(new)
            .map_err(|e| Error::call(format!("unshare {new:?}"), e).context("create namespaces"))?;
    }
    if new.contains(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
        && let (Some(offsets), Some(proc)) = (offsets, &proc)
    {
        let mut text = String::new();
        let mut clocks: Vec<&String> = offsets.keys().collect();
        clocks.sort();
        for clock in clocks {
            let o = &offsets[clock];
            text.push_str(&format!(
                "{clock} {} {}\n",
                o.secs().unwrap_or(0),
                o.nanosecs().unwrap_or(0)
            ));
        }
        proc.write("self/timens_offsets", &text)
            .map_err(|e| e.context("linux.timeOffsets"))?;
    }
    Ok(fork)
}

/// The text of a uid_map or gid_map file for the given mappings.
pub fn id_map_text(maps: &[oci_spec::runtime::LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}
