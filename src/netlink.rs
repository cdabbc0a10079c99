//! A small rtnetlink client: just what moving a network device into a
//! container needs (look a link up, list its addresses, move and rename
//! it, add an address, set it up). Messages are built and parsed as plain
//! bytes (no unsafe code); the socket is nix's. A socket belongs to the
//! network namespace it was opened in; [`Netlink::open_in`] opens one in
//! another namespace from a short-lived thread (setns(CLONE_NEWNET) moves
//! only the calling thread).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, sendto,
    socket,
};

use crate::error::{Error, Result};

// The rtnetlink ABI (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
// linux/if_addr.h).
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFF_UP: u32 = 0x1;
/// `IFA_F_PERMANENT`: configured, not learnt (SLAAC, DHCP lifetimes).
pub const IFA_F_PERMANENT: u32 = 0x80;
/// `RT_SCOPE_UNIVERSE`: a global address.
pub const RT_SCOPE_UNIVERSE: u8 = 0;

/// One interface address, as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub family: u8,
    pub prefix_len: u8,
    /// The address flags (IFA_FLAGS when present, else the header's byte).
    pub flags: u32,
    pub scope: u8,
    pub index: u32,
    pub local: Option<Vec<u8>>,
    pub address: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
}

impl Address {
    /// Whether the runtime spec says it moves with its device: permanent
    /// and of global scope.
    pub fn moves(&self) -> bool {
        self.flags & IFA_F_PERMANENT != 0 && self.scope == RT_SCOPE_UNIVERSE
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A request being built: header, fixed part, attributes.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(typ: u16, flags: u16, fixed: &[u8]) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish
        buf.extend_from_slice(&typ.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set in finish
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
        buf.extend_from_slice(fixed);
        buf.resize(align4(buf.len()), 0);
        Msg { buf }
    }

    fn attr(mut self, typ: u16, data: &[u8]) -> Msg {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&typ.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    fn attr_str(self, typ: u16, s: &str) -> Msg {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.attr(typ, &d)
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// `struct ifinfomsg`.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    // family AF_UNSPEC (0), pad, type 0
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// `struct ifaddrmsg`.
fn ifaddrmsg(family: u8, prefix_len: u8, flags: u8, scope: u8, index: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = family;
    b[1] = prefix_len;
    b[2] = flags;
    b[3] = scope;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// One message of a reply: its type and its payload (after the header).
fn split_messages(buf: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + NLMSG_HDRLEN <= buf.len() {
        let (Some(len), Some(typ), Some(seq)) =
            (u32_at(buf, at), u16_at(buf, at + 4), u32_at(buf, at + 8))
        else {
            break;
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN || at + len > buf.len() {
            break;
        }
        out.push((typ, seq, &buf[at + NLMSG_HDRLEN..at + len]));
        at += align4(len);
    }
    out
}

/// The attributes after a fixed part of `fixed` bytes.
fn attributes(payload: &[u8], fixed: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = align4(fixed);
    while at + 4 <= payload.len() {
        let (Some(len), Some(typ)) = (u16_at(payload, at), u16_at(payload, at + 2)) else {
            break;
        };
        let len = len as usize;
        if len < 4 || at + len > payload.len() {
            break;
        }
        // The top bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER.
        out.push((typ & 0x3fff, &payload[at + 4..at + len]));
        at += align4(len);
    }
    out
}

/// Parse one RTM_NEWADDR payload.
fn parse_address(p: &[u8]) -> Option<Address> {
    if p.len() < 8 {
        return None;
    }
    let mut a = Address {
        family: p[0],
        prefix_len: p[1],
        flags: u32::from(p[2]),
        scope: p[3],
        index: u32_at(p, 4)?,
        local: None,
        address: None,
        broadcast: None,
    };
    for (t, d) in attributes(p, 8) {
        match t {
            IFA_LOCAL => a.local = Some(d.to_vec()),
            IFA_ADDRESS => a.address = Some(d.to_vec()),
            IFA_BROADCAST => a.broadcast = Some(d.to_vec()),
            IFA_FLAGS => a.flags = u32_at(d, 0).unwrap_or(a.flags),
            _ => {}
        }
    }
    Some(a)
}

/// A NETLINK_ROUTE socket.
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    /// A socket in the caller's network namespace.
    pub fn open() -> Result<Netlink> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .map_err(|e| Error::call("socket AF_NETLINK", e))?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))
            .map_err(|e| Error::call("bind netlink socket", e))?;
        Ok(Netlink { fd, seq: 0 })
    }

    /// A socket in the network namespace `netns` (a namespace descriptor).
    pub fn open_in(netns: BorrowedFd<'_>) -> Result<Netlink> {
        let ns = netns
            .try_clone_to_owned()
            .map_err(|e| crate::error::io_err("dup", "network namespace", e))?;
        std::thread::spawn(move || -> Result<Netlink> {
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::call("setns network namespace", e))?;
            Netlink::open()
        })
        .join()
        .map_err(|_| Error::Msg("netlink: the thread opening the socket panicked".into()))?
    }

    fn send(&mut self, m: Msg) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let data = m.finish(self.seq);
        sendto(
            self.fd.as_raw_fd(),
            &data,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .map_err(|e| Error::call("send netlink", e))?;
        Ok(self.seq)
    }

    fn recv_buf(&self) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::call("recv netlink", e)),
            }
        }
    }

    /// Send a request that wants an acknowledgement; the kernel's errno on failure.
    fn request(&mut self, m: Msg) -> std::result::Result<(), Errno> {
        let seq = self.send(m).map_err(|e| e.errno().unwrap_or(Errno::EIO))?;
        loop {
            let buf = self
                .recv_buf()
                .map_err(|e| e.errno().unwrap_or(Errno::EIO))?;
            for (typ, s, p) in split_messages(&buf) {
                if s != seq || typ != NLMSG_ERROR {
                    continue;
                }
                let code = u32_at(p, 0).map(|c| c as i32).unwrap_or(-libc::EIO);
                return if code == 0 {
                    Ok(())
                } else {
                    Err(Errno::from_raw(-code))
                };
            }
        }
    }

    /// Send a dump request; every payload of the reply's messages of `typ`.
    fn dump(&mut self, m: Msg, typ: u16) -> Result<Vec<Vec<u8>>> {
        let seq = self.send(m)?;
        let mut out = Vec::new();
        loop {
            let buf = self.recv_buf()?;
            for (t, s, p) in split_messages(&buf) {
                if s != seq {
                    continue;
                }
                match t {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = u32_at(p, 0).map(|c| c as i32).unwrap_or(-libc::EIO);
                        if code != 0 {
                            return Err(Error::call("netlink dump", Errno::from_raw(-code)));
                        }
                    }
                    t if t == typ => out.push(p.to_vec()),
                    _ => {}
                }
            }
        }
    }

    /// The index of the link named `name` (ENODEV when there is none).
    pub fn link_index(&mut self, name: &str) -> std::result::Result<u32, Errno> {
        let m =
            Msg::new(RTM_GETLINK, NLM_F_REQUEST, &ifinfomsg(0, 0, 0)).attr_str(IFLA_IFNAME, name);
        let seq = self.send(m).map_err(|e| e.errno().unwrap_or(Errno::EIO))?;
        loop {
            let buf = self
                .recv_buf()
                .map_err(|e| e.errno().unwrap_or(Errno::EIO))?;
            for (typ, s, p) in split_messages(&buf) {
                if s != seq {
                    continue;
                }
                match typ {
                    NLMSG_ERROR => {
                        let code = u32_at(p, 0).map(|c| c as i32).unwrap_or(-libc::EIO);
                        return Err(Errno::from_raw(if code == 0 { libc::EIO } else { -code }));
                    }
                    RTM_NEWLINK => return u32_at(p, 4).ok_or(Errno::EIO),
                    _ => {}
                }
            }
        }
    }

    /// Every address of the link `index`.
    pub fn addresses(&mut self, index: u32) -> Result<Vec<Address>> {
        let m = Msg::new(
            RTM_GETADDR,
            NLM_F_REQUEST | NLM_F_DUMP,
            &ifaddrmsg(0, 0, 0, 0, 0),
        );
        Ok(self
            .dump(m, RTM_NEWADDR)?
            .iter()
            .filter_map(|p| parse_address(p))
            .filter(|a| a.index == index)
            .collect())
    }

    /// Move the link `index` into the network namespace `netns`, renamed to
    /// `new_name` when given (a `%d` in it lets the kernel pick a free number).
    pub fn move_link(
        &mut self,
        index: u32,
        netns: BorrowedFd<'_>,
        new_name: Option<&str>,
    ) -> std::result::Result<(), Errno> {
        let mut m = Msg::new(
            RTM_NEWLINK,
            NLM_F_REQUEST | NLM_F_ACK,
            &ifinfomsg(index as i32, 0, 0),
        )
        .attr(IFLA_NET_NS_FD, &(netns.as_raw_fd() as u32).to_ne_bytes());
        if let Some(n) = new_name {
            m = m.attr_str(IFLA_IFNAME, n);
        }
        self.request(m)
    }

    /// Set the link `index` up.
    pub fn set_up(&mut self, index: u32) -> std::result::Result<(), Errno> {
        let m = Msg::new(
            RTM_NEWLINK,
            NLM_F_REQUEST | NLM_F_ACK,
            &ifinfomsg(index as i32, IFF_UP, IFF_UP),
        );
        self.request(m)
    }

    /// Add `a` to the link `index` (its own index is ignored).
    pub fn add_address(&mut self, index: u32, a: &Address) -> std::result::Result<(), Errno> {
        let mut m = Msg::new(
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &ifaddrmsg(
                a.family,
                a.prefix_len,
                (a.flags & 0xff) as u8,
                a.scope,
                index,
            ),
        );
        for (t, v) in [
            (IFA_LOCAL, &a.local),
            (IFA_ADDRESS, &a.address),
            (IFA_BROADCAST, &a.broadcast),
        ] {
            if let Some(v) = v {
                m = m.attr(t, v);
            }
        }
        m = m.attr(IFA_FLAGS, &a.flags.to_ne_bytes());
        self.request(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_laid_out_as_the_kernel_reads_them() {
        let m = Msg::new(RTM_GETLINK, NLM_F_REQUEST, &ifinfomsg(7, 0, 0))
            .attr_str(IFLA_IFNAME, "eth0")
            .finish(9);
        // header 16 + ifinfomsg 16 + attribute 4 + "eth0\0" padded to 8
        assert_eq!(m.len(), 44);
        assert_eq!(u32_at(&m, 0), Some(44));
        assert_eq!(u16_at(&m, 4), Some(RTM_GETLINK));
        assert_eq!(u32_at(&m, 8), Some(9));
        assert_eq!(u32_at(&m, 20), Some(7));
        let msgs = split_messages(&m);
        assert_eq!(msgs.len(), 1);
        let attrs = attributes(msgs[0].2, 16);
        assert_eq!(attrs, vec![(IFLA_IFNAME, &b"eth0\0"[..])]);
    }

    #[test]
    fn addresses_parse_and_only_permanent_global_ones_move() {
        let m = Msg::new(RTM_NEWADDR, 0, &ifaddrmsg(2, 24, 0x80, 0, 5))
            .attr(IFA_LOCAL, &[10, 0, 0, 1])
            .attr(IFA_ADDRESS, &[10, 0, 0, 1])
            .attr(IFA_FLAGS, &0x80u32.to_ne_bytes())
            .finish(1);
        let msgs = split_messages(&m);
        let a = parse_address(msgs[0].2).unwrap();
        assert_eq!((a.family, a.prefix_len, a.index), (2, 24, 5));
        assert_eq!(a.local.as_deref(), Some(&[10, 0, 0, 1][..]));
        assert!(a.moves());
        let link_local = Address {
            scope: 253,
            ..a.clone()
        };
        assert!(!link_local.moves());
        let dynamic = Address { flags: 0, ..a };
        assert!(!dynamic.moves());
    }

    #[test]
    fn the_loopback_is_found() {
        // Every network namespace has "lo" (index 1 in a fresh one).
        let mut nl = Netlink::open().unwrap();
        assert!(nl.link_index("lo").unwrap() >= 1);
        assert_eq!(nl.link_index("husk-no-such0").unwrap_err(), Errno::ENODEV);
    }
}
