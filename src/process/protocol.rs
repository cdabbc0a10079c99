//! The parent/init protocol. One stream socket (socketpair) joins `create`
//! (the parent, on the host) and the init; each message is a little-endian
//! u32 length followed by that many bytes of JSON.
//!
//! | # | from → to            | message      | when                                                    |
//! |---|----------------------|--------------|---------------------------------------------------------|
//! | 1 | parent → init        | `Bootstrap`  | after the parent placed the init in its cgroups         |
//! | 1a| init → parent       | `IdMapRequest` | a new user namespace exists: write its uid/gid maps |
//! | 1b| parent → init       | `IdMapDone`  | the maps are written; the init becomes root in it       |
//! | 2 | init (stage 1) → parent | `Pid`     | namespaces entered; the pid (host view) of the process  |
//! |   |                      |              | that will exec (after the fork for a pid namespace)     |
//! | 2'| container init → parent | `NetDevices` | only with linux.netDevices: move them into |
//! |   |                      |              | the init's network namespace (see `netdev`)             |
//! | 2''| parent → container init | `NetDevicesDone` | the devices are there; go on           |
//! | 2a| container init → parent | `RunHooks` | mounts done, before pivot_root: run prestart and  |
//! |   |                      |              | createRuntime hooks (only sent when the config has hooks) |
//! | 2b| parent → container init | `HooksDone` | with the state JSON; the init runs createContainer  |
//! | 3 | container init → parent | `Ready`   | every step that can fail is done; now waiting for start |
//! | 3'| any init → parent    | `Error`      | a step failed; the message names the step and path      |
//!
//! For `exec` the parent sends `Exec` instead of `Bootstrap`; the process
//! joins the container through a pidfd of its init, reports `Pid`, and the
//! socket's close on execve (it is close-on-exec) says the exec happened; an
//! `Error` says it did not.
//!
//! After `Ready` or `Error` the init closes its end. An end of stream
//! without either means the init died, and `create` fails.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What the init needs beyond config.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitConfig {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub spec: oci_spec::runtime::Spec,
    /// The container's cgroup path (for a `cgroup` mount).
    pub cgroup_path: String,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Descriptors 3..3+N passed through to the container process.
    pub preserve_fds: u32,
    /// Descriptor of the exec fifo (an O_PATH fd) in the init.
    pub fifo_fd: i32,
    /// Descriptor of the console socket in the init, for `process.terminal`.
    pub console_fd: Option<i32>,
    /// linux.seccomp compiled in the parent.
    pub seccomp: Option<crate::seccomp::Filter>,
}

/// What an `exec` init needs: the process, and how to join the container.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecConfig {
    pub id: String,
    pub process: oci_spec::runtime::Process,
    /// Descriptor of a pidfd of the container's init, to setns(2) through.
    pub pidfd_fd: i32,
    /// CLONE_NEW* flags of the namespaces to join.
    pub ns_flags: i32,
    pub console_fd: Option<i32>,
    pub preserve_fds: u32,
    /// The container's seccomp filter, compiled in the parent.
    pub seccomp: Option<crate::seccomp::Filter>,
    /// The container's linux.personality, which exec'd processes take too.
    #[serde(default)]
    pub personality: Option<oci_spec::runtime::LinuxPersonality>,
    /// The container's linux.memoryPolicy, which exec'd processes take too.
    #[serde(default)]
    pub memory_policy: Option<oci_spec::runtime::LinuxMemoryPolicy>,
}

/// A message of the protocol.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Message {
    Bootstrap(Box<InitConfig>),
    Exec(Box<ExecConfig>),
    IdMapRequest,
    IdMapDone,
    Pid {
        pid: i32,
    },
    /// init → parent: move linux.netDevices into my network namespace.
    NetDevices,
    /// parent → init: the devices are in place.
    NetDevicesDone,
    RunHooks,
    HooksDone {
        state: String,
    },
    Ready,
    /// init → parent: the seccomp listener fd follows (one byte, SCM_RIGHTS).
    SeccompListener,
    /// parent → init: the agent has the listener fd.
    SeccompDone,
    Error {
        message: String,
    },
}

const MAX_MESSAGE: u32 = 16 << 20;

/// Send one message.
pub fn send(sock: &mut UnixStream, msg: &Message) -> Result<()> {
    let data = serde_json::to_vec(msg).map_err(|e| Error::Msg(format!("encode message: {e}")))?;
    let len = u32::try_from(data.len()).map_err(|_| Error::Msg("message too large".into()))?;
    let mut buf = Vec::with_capacity(4 + data.len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&data);
    sock.write_all(&buf)
        .map_err(|e| Error::Msg(format!("send to init socket: {e}")))
}

/// Receive one message; `None` at end of stream.
pub fn recv(sock: &mut UnixStream) -> Result<Option<Message>> {
    let mut len = [0u8; 4];
    match sock.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
        Err(e) => return Err(Error::Msg(format!("read init socket: {e}"))),
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_MESSAGE {
        return Err(Error::Msg(format!(
            "init socket: message of {len} bytes refused"
        )));
    }
    let mut data = vec![0u8; len as usize];
    sock.read_exact(&mut data)
        .map_err(|e| Error::Msg(format!("read init socket: {e}")))?;
    serde_json::from_slice(&data)
        .map(Some)
        .map_err(|e| Error::Msg(format!("decode init message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        send(&mut a, &Message::Pid { pid: 42 }).unwrap();
        send(
            &mut a,
            &Message::Error {
                message: "boom".into(),
            },
        )
        .unwrap();
        drop(a);
        assert!(matches!(
            recv(&mut b).unwrap(),
            Some(Message::Pid { pid: 42 })
        ));
        assert!(
            matches!(recv(&mut b).unwrap(), Some(Message::Error { message }) if message == "boom")
        );
        assert!(recv(&mut b).unwrap().is_none());
    }
}
