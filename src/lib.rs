//! husk: an OCI container runtime.
//!
//! `husk` is called exactly as runc is (by containerd's shim, podman's
//! conmon, or a person) to turn an OCI bundle into a running container.
//! The library holds everything; `main.rs` only dispatches.
#![deny(clippy::unwrap_used)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod capabilities;
pub mod cgroups;
pub mod cli;
pub mod container;
pub mod error;
pub mod exec;
pub mod fault;
pub mod foreground;
pub mod hooks;
pub mod init;
pub mod logging;
pub mod lsm;
pub mod manage;
pub mod netdev;
pub mod netlink;
pub mod process;
pub mod rdt;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod sys;
pub mod sysx;
pub mod tty;
