//! SCMP_ACT_NOTIFY: getting the listener fd from the init to the seccomp
//! agent at `linux.seccomp.listenerPath`.
//!
//! As runc does: the init installs the filter (the kernel returns the
//! listener fd), passes the fd to the parent over the init socket
//! ([`send_fd`]), and the parent, which is on the host and knows the
//! container state, connects to the agent's socket and sends it one message:
//! the JSON of the runtime-spec `ContainerProcessState`
//! (`{"ociVersion","fds":["seccompFd"],"pid","metadata","state"}`) with the
//! fd in SCM_RIGHTS ([`send_to_agent`]). The init then closes its copy.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use oci_spec::runtime::{ContainerProcessState, SECCOMP_FD_NAME, State};

use super::profile::Listener;
use crate::error::{Error, Result};

/// The message for the agent: `state` is the container's state as `state`
/// would print it now (status `creating`), `pid` the container process as
/// the runtime sees it.
pub fn process_state(listener: &Listener, state: &State, pid: i32) -> ContainerProcessState {
    let mut s = ContainerProcessState::default();
    s.set_version(state.version().clone());
    s.set_fds(vec![SECCOMP_FD_NAME.to_string()]);
    s.set_pid(pid);
    s.set_metadata(listener.metadata.clone());
    s.set_state(state.clone());
    s
}

/// Connect to the agent at `listener.path` and send it the process state
/// with the listener fd (one sendmsg, the fd in SCM_RIGHTS). In the parent.
pub fn send_to_agent(
    listener: &Listener,
    msg: &ContainerProcessState,
    fd: BorrowedFd,
) -> Result<()> {
    let field = "linux.seccomp.listenerPath";
    let sock = UnixStream::connect(&listener.path)
        .map_err(|e| crate::error::io_err("connect", &listener.path, e).context(field))?;
    let data = serde_json::to_vec(msg)
        .map_err(|e| Error::Msg(format!("encode container process state: {e}")))?;
    let fds = [fd.as_raw_fd()];
    let mut sent = sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(&data)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| Error::sys("sendmsg", &listener.path, e).context(field))?;
    // A stream socket may take a long state in several pieces; the fd went with the first.
    while sent < data.len() {
        sent += sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(&data[sent..])],
            &[],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(|e| Error::sys("sendmsg", &listener.path, e).context(field))?;
    }
    Ok(())
}

/// Pass `fd` over a unix stream socket as one byte with SCM_RIGHTS (init →
/// parent). The peer must read that byte with [`recv_fd`], not buffered.
pub fn send_fd(sock: &UnixStream, fd: BorrowedFd) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(b"F")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map(|_| ())
    .map_err(|e| Error::call("sendmsg (seccomp listener fd)", e))
}

/// Receive one fd sent with [`send_fd`] (close-on-exec).
pub fn recv_fd(sock: &UnixStream) -> Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| Error::call("recvmsg (seccomp listener fd)", e))?;
    let mut got: Option<OwnedFd> = None;
    for cmsg in msg
        .cmsgs()
        .map_err(|e| Error::call("recvmsg (seccomp listener fd)", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                let owned = super::syscall::own_received_fd(fd);
                if got.is_none() {
                    got = Some(owned);
                }
            }
        }
    }
    got.ok_or_else(|| Error::Msg("seccomp listener fd: the message carried no descriptor".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;

    #[test]
    fn fd_round_trip() {
        let (a, b) = UnixStream::pair().unwrap();
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        send_fd(&a, file.as_fd()).unwrap();
        let got = recv_fd(&b).unwrap();
        let mut s = String::new();
        std::fs::File::from(got).read_to_string(&mut s).unwrap();
        assert!(s.starts_with(&std::process::id().to_string()));
    }

    #[test]
    fn agent_gets_state_and_fd() {
        let dir = std::env::temp_dir().join(format!("husk-seccomp-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.sock");
        let _ = std::fs::remove_file(&path);
        let server = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let listener = Listener {
            path: path.clone(),
            metadata: Some("meta".into()),
        };
        let mut state = State::default();
        state.set_version("1.2.1".into());
        state.set_id("c1".into());
        state.set_pid(Some(4242));
        let msg = process_state(&listener, &state, 4242);
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        send_to_agent(&listener, &msg, file.as_fd()).unwrap();

        let (conn, _) = server.accept().unwrap();
        let mut buf = vec![0u8; 64 << 10];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let r = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .unwrap();
        let fds: Vec<RawFd> = r
            .cmsgs()
            .unwrap()
            .filter_map(|c| match c {
                ControlMessageOwned::ScmRights(f) => Some(f),
                _ => None,
            })
            .flatten()
            .collect();
        let n = r.bytes;
        assert_eq!(fds.len(), 1);
        let _owned = super::super::syscall::own_received_fd(fds[0]);
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(v["ociVersion"], "1.2.1");
        assert_eq!(v["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(v["pid"], 4242);
        assert_eq!(v["metadata"], "meta");
        assert_eq!(v["state"]["id"], "c1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
