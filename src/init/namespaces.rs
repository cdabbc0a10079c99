//! Stage 1 of the init, in runc's order: join every namespace given by path
//! (the user namespace first; each checked to be of the right type), then
//! create a user namespace (the parent writes its id maps while we wait),
//! become root in it, create the other namespaces, and write time offsets
//! before any process enters the new time namespace.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Spec};

use crate::error::{Error, Result};
use crate::process::protocol::{self, Message};

fn flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

fn join(i: usize, ns: &LinuxNamespace, path: &std::path::Path) -> Result<()> {
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
    nix::sched::setns(fd, flag(ns.typ())).map_err(|e| Error::sys("setns", path, e).context(&field))
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
    let is_user = |n: &&(usize, &LinuxNamespace)| n.1.typ() == LinuxNamespaceType::User;
    let indexed: Vec<(usize, &LinuxNamespace)> = list.iter().enumerate().collect();
    let (users, others): (Vec<_>, Vec<_>) = indexed.iter().partition(|n| is_user(n));
    for (i, ns) in users.iter().chain(others.iter()) {
        if let Some(p) = ns.path() {
            join(*i, ns, p)?;
        }
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
        && let Some(offsets) = linux.and_then(|l| l.time_offsets().as_ref())
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
        std::fs::write("/proc/self/timens_offsets", text).map_err(|e| {
            crate::error::io_err("write", "/proc/self/timens_offsets", e)
                .context("linux.timeOffsets")
        })?;
    }
    Ok(fork)
}

/// The text of a uid_map or gid_map file for the given mappings.
pub fn id_map_text(maps: &[oci_spec::runtime::LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}
