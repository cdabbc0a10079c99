//! OCI seccomp (`linux.seccomp`) in pure Rust: the profile becomes a
//! classic-BPF program in the parent, as plain data, and the init installs it
//! with seccomp(2). No libseccomp.
//!
//! - [`compile`] (parent): profile → [`Filter`] (program, seccomp(2) flags,
//!   NOTIFY listener). Every error names the field: `linux.seccomp.syscalls[3].errnoRet: ...`.
//!   Steps: [`profile`] decides what each ABI does (runc's and libseccomp's
//!   rules are listed there), [`emit`] writes the BPF.
//! - [`install`] (init): seccomp(SECCOMP_SET_MODE_FILTER, flags, prog);
//!   returns the listener fd when a rule uses SCMP_ACT_NOTIFY.
//! - [`notify`]: the listener fd's way from the init to the agent at
//!   `listenerPath`.
//! - [`features`]: what `husk features` reports.
//!
//! Where the init calls [`install`] (runc's order): with
//! `process.noNewPrivileges`, as late as possible before execve (after
//! capabilities and user are set, just before reporting ready); without it,
//! before capabilities are dropped (installing a filter then needs
//! CAP_SYS_ADMIN). Either way before `Ready`, so errors reach `create`.
//!
//! seccompiler provides the instruction type and the argument-condition
//! encoding; it has no NOTIFY, a single match action per filter, no i386
//! or x32 and no OCI flags, so the layout around them is husk's ([`emit`]).
//! Syscall tables: [`tables`] (generated, see tables/generate.sh).

pub mod arch;
pub mod emit;
pub mod notify;
pub mod profile;
mod syscall;
mod tables;

#[cfg(test)]
mod tests;

use std::os::fd::OwnedFd;

use oci_spec::runtime::LinuxSeccomp;
use seccompiler::sock_filter;
use serde::{Deserialize, Serialize};

pub use profile::Listener;

use crate::error::{Error, Result};

/// A compiled filter: made by [`compile`] in the parent, sent to the init
/// (it is serde data), installed there by [`install`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// The BPF program (at most 4096 instructions).
    #[serde(with = "program_serde")]
    pub program: Vec<sock_filter>,
    /// `SECCOMP_FILTER_FLAG_*` for seccomp(2) (NEW_LISTENER when a rule notifies).
    pub flags: u32,
    /// Set when a rule uses SCMP_ACT_NOTIFY: where the listener fd goes.
    pub listener: Option<Listener>,
}

/// Translate `linux.seccomp` into a filter. Pure: no syscalls.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Filter> {
    let plan = profile::plan(seccomp)?;
    let program = emit::emit(&plan)?;
    Ok(Filter {
        program,
        flags: plan.flags,
        listener: plan.listener,
    })
}

/// Install `filter` on the calling thread (the init, single-threaded).
/// Returns the listener fd when the filter has NOTIFY rules; the caller
/// passes it to the parent (see [`notify`]) and then closes it.
pub fn install(filter: &Filter) -> Result<Option<OwnedFd>> {
    syscall::set_mode_filter(&filter.program, filter.flags).map_err(|e| {
        let hint = match e {
            nix::errno::Errno::EACCES => {
                " (without noNewPrivileges the filter must be installed while the init has CAP_SYS_ADMIN)"
            }
            nix::errno::Errno::EINVAL if filter.flags != 0 => {
                " (is every one of linux.seccomp.flags supported by this kernel?)"
            }
            _ => "",
        };
        Error::call(
            format!(
                "seccomp(SECCOMP_SET_MODE_FILTER, flags {:#x}, {} instructions){hint}",
                filter.flags,
                filter.program.len()
            ),
            e,
        )
        .context("linux.seccomp")
    })
}

/// What `husk features` says about seccomp (runtime-spec features.md).
pub mod features {
    use super::profile::flag;

    /// `linux.seccomp.actions`.
    pub const ACTIONS: &[&str] = &[
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_TRAP",
    ];
    /// `linux.seccomp.operators`.
    pub const OPERATORS: &[&str] = &[
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_LE",
        "SCMP_CMP_LT",
        "SCMP_CMP_MASKED_EQ",
        "SCMP_CMP_NE",
    ];
    /// `linux.seccomp.archs`: the ABIs an x86_64 kernel runs and husk filters
    /// by their own numbers (others are accepted and never match).
    pub const ARCHS: &[&str] = &["SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"];
    /// `linux.seccomp.knownFlags`.
    pub const KNOWN_FLAGS: &[&str] = &[
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ];

    /// `linux.seccomp.supportedFlags`: the known flags this kernel accepts
    /// (probed with seccomp(2) without installing anything).
    pub fn supported_flags() -> Vec<&'static str> {
        let bits = [
            flag::TSYNC,
            flag::SPEC_ALLOW,
            flag::LOG,
            flag::WAIT_KILLABLE_RECV | flag::NEW_LISTENER,
        ];
        KNOWN_FLAGS
            .iter()
            .zip(bits)
            .filter(|(_, b)| super::syscall::flag_supported(*b))
            .map(|(n, _)| *n)
            .collect()
    }
}

/// The program as a list of `u64` (`code | jt << 16 | jf << 24 | k << 32`),
/// compact in the init's bootstrap JSON.
mod program_serde {
    use seccompiler::sock_filter;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(p: &[sock_filter], s: S) -> Result<S::Ok, S::Error> {
        let v: Vec<u64> = p
            .iter()
            .map(|i| {
                u64::from(i.code)
                    | u64::from(i.jt) << 16
                    | u64::from(i.jf) << 24
                    | u64::from(i.k) << 32
            })
            .collect();
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<sock_filter>, D::Error> {
        let v = Vec::<u64>::deserialize(d)?;
        Ok(v.into_iter()
            .map(|w| sock_filter {
                code: w as u16,
                jt: (w >> 16) as u8,
                jf: (w >> 24) as u8,
                k: (w >> 32) as u32,
            })
            .collect())
    }
}
