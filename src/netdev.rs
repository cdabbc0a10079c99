//! `linux.netDevices` (runtime-spec 1.3): named host interfaces moved into
//! the container's network namespace before the container starts, renamed
//! when asked, with their permanent global addresses, and set up.
//!
//! The move is made by `create` on the host (a device can only leave the
//! host's namespace by the hand of a process privileged there, which the
//! init no longer is inside a user namespace): once the init has entered
//! its namespaces it sends `NetDevices` and waits; `create` moves every
//! device into `/proc/<pid>/ns/net` with one RTM_NEWLINK each
//! (IFLA_NET_NS_FD, and IFLA_IFNAME for the new name, so the move and the
//! rename are one step), restores the addresses the move flushed and sets
//! the link up through a netlink socket opened in that namespace, then
//! answers `NetDevicesDone`. Devices stay there for the container's life:
//! when the namespace goes, the kernel returns physical devices to the host
//! and destroys virtual ones; husk does not move anything back.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};
use crate::netlink::Netlink;
use crate::process::protocol::{self, Message};

/// The kernel's rule for an interface name (dev_valid_name): 1 to 15
/// bytes, not "." or "..", no '/', ':' or white space.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() < 16
        && n != "."
        && n != ".."
        && !n
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
}

/// Validation: names are valid, and the container has a network namespace
/// of its own (`own`: the namespaces that are not husk's).
pub fn check(linux: &oci_spec::runtime::Linux, own: &[LinuxNamespaceType]) -> Result<()> {
    let Some(devs) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    if !own.contains(&LinuxNamespaceType::Network) {
        return Err(Error::config(
            "linux.netDevices",
            "unable to move network devices without a private network namespace in linux.namespaces",
        ));
    }
    let mut targets: Vec<&str> = Vec::new();
    for (host, d) in devs {
        let field = format!("linux.netDevices.{host}");
        if !valid_name(host) {
            return Err(Error::config(
                &field,
                format!("{host:?} is not a valid interface name"),
            ));
        }
        let target = d
            .name()
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(host);
        if !valid_name(target) || target.matches("%d").count() > 1 {
            return Err(Error::config(
                format!("{field}.name"),
                format!("{target:?} is not a valid interface name"),
            ));
        }
        if !target.contains("%d") && targets.contains(&target) {
            return Err(Error::config(
                format!("{field}.name"),
                format!("two devices would be named {target:?} in the container"),
            ));
        }
        targets.push(target);
    }
    Ok(())
}

fn wanted(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .is_some_and(|d| !d.is_empty())
}

/// The init's side: ask `create` to move the devices, and wait until it has.
pub fn request(sock: &mut UnixStream, spec: &Spec) -> Result<()> {
    if !wanted(spec) {
        return Ok(());
    }
    protocol::send(sock, &Message::NetDevices)?;
    match protocol::recv(sock)? {
        Some(Message::NetDevicesDone) => Ok(()),
        Some(Message::Error { message }) => Err(Error::Msg(message)),
        other => Err(Error::Msg(format!(
            "init: expected the network devices, got {other:?}"
        ))),
    }
}

/// The host's side: move every device into the network namespace of `pid`.
pub fn move_all(spec: &Spec, pid: i32) -> Result<()> {
    let Some(devs) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .filter(|d| !d.is_empty())
    else {
        return Ok(());
    };
    let ns_path = format!("/proc/{pid}/ns/net");
    let netns = nix::fcntl::open(
        ns_path.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", &ns_path, e).context("linux.netDevices"))?;
    let mut host = Netlink::open().map_err(|e| e.context("linux.netDevices"))?;
    let mut ctr = Netlink::open_in(netns.as_fd()).map_err(|e| e.context("linux.netDevices"))?;
    let mut names: Vec<&String> = devs.keys().collect();
    names.sort();
    for host_name in names {
        let field = format!("linux.netDevices.{host_name}");
        let new_name = devs[host_name].name().as_deref().filter(|n| !n.is_empty());
        let call = |op: &str, e: nix::errno::Errno| Error::call(op.to_string(), e).context(&field);
        let index = host.link_index(host_name).map_err(|e| match e {
            nix::errno::Errno::ENODEV => {
                Error::config(&field, "no such network device on the host")
            }
            e => call("look up the device", e),
        })?;
        let addrs: Vec<_> = host
            .addresses(index)
            .map_err(|e| e.context(&field))?
            .into_iter()
            .filter(|a| a.moves())
            .collect();
        host.move_link(index, netns.as_fd(), new_name)
            .map_err(|e| match e {
                nix::errno::Errno::EEXIST => Error::config(
                    format!("{field}.name"),
                    format!(
                        "a device named {:?} already exists in the container's network namespace",
                        new_name.unwrap_or(host_name)
                    ),
                ),
                e => call("move the device into the container's network namespace", e),
            })?;
        // The index survives the move unless it is taken there; the name is
        // known unless the kernel picked the number of a "%d" template.
        let target = new_name.unwrap_or(host_name);
        let ctr_index = if target.contains("%d") {
            index
        } else {
            ctr.link_index(target)
                .map_err(|e| call("find the moved device", e))?
        };
        for a in &addrs {
            match ctr.add_address(ctr_index, a) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(call("restore an address", e)),
            }
        }
        ctr.set_up(ctr_index)
            .map_err(|e| call("set the device up", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(v: serde_json::Value) -> oci_spec::runtime::Linux {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn names_follow_the_kernels_rule() {
        for ok in ["eth0", "veth-a1", "ctr%d", "a"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "abcdefghijklmnop"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_private_network_namespace_is_required() {
        let l = linux(serde_json::json!({"netDevices": {"eth1": {"name": "ctr0"}}}));
        let e = check(&l, &[LinuxNamespaceType::Mount])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("linux.netDevices: unable to move"), "{e}");
        check(&l, &[LinuxNamespaceType::Network]).unwrap();
        let l = linux(serde_json::json!({"netDevices": {"eth1": {"name": "a/b"}}}));
        let e = check(&l, &[LinuxNamespaceType::Network])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("linux.netDevices.eth1.name: "), "{e}");
        let l = linux(
            serde_json::json!({"netDevices": {"eth1": {"name": "x"}, "eth2": {"name": "x"}}}),
        );
        assert!(check(&l, &[LinuxNamespaceType::Network]).is_err());
    }
}
