//! The crate error: every variant carries enough context (operation, path,
//! field, container id) to be printed once, as one line, by the caller.

use std::path::{Path, PathBuf};

use nix::errno::Errno;

/// Result alias used across husk.
pub type Result<T> = std::result::Result<T, Error>;

/// Errors of husk. The `Display` text follows runc's wording where a client
/// (containerd's shim, podman's conmon) may match on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("container does not exist")]
    NotExist,
    #[error("container with given ID already exists")]
    Exist,
    #[error("container not running")]
    NotRunning,
    #[error("invalid container id format: {0}")]
    InvalidId(String),
    /// A field of config.json is invalid or not supported.
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
    /// A system call failed on a path (Go-like wording: `open /x: no such file or directory`).
    #[error("{op} {}: {}", path.display(), errno_text(*errno))]
    Sys {
        op: &'static str,
        path: PathBuf,
        errno: Errno,
    },
    /// A system call failed with no path to name.
    #[error("{op}: {}", errno_text(*errno))]
    Call { op: String, errno: Errno },
    /// Failure reported by the container's init.
    #[error("{0}")]
    Init(String),
    #[error("{0}")]
    Msg(String),
    /// Another error with the step or field it happened in.
    #[error("{ctx}: {source}")]
    Context { ctx: String, source: Box<Error> },
}

impl Error {
    /// A failed operation on a path.
    pub fn sys(op: &'static str, path: impl AsRef<Path>, errno: Errno) -> Self {
        Error::Sys {
            op,
            path: path.as_ref().to_path_buf(),
            errno,
        }
    }

    /// A failed operation without a path.
    pub fn call(op: impl Into<String>, errno: Errno) -> Self {
        Error::Call {
            op: op.into(),
            errno,
        }
    }

    /// A config error naming the field.
    pub fn config(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            msg: msg.into(),
        }
    }

    /// Prefix the message with context, keeping it on one line.
    pub fn context(self, ctx: impl std::fmt::Display) -> Self {
        Error::Context {
            ctx: ctx.to_string(),
            source: Box::new(self),
        }
    }

    /// The errno underneath, when there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Sys { errno, .. } | Error::Call { errno, .. } => Some(*errno),
            Error::Context { source, .. } => source.errno(),
            _ => None,
        }
    }
}

/// Add context to a `Result`.
pub trait Context<T> {
    fn context(self, ctx: impl std::fmt::Display) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, ctx: impl std::fmt::Display) -> Result<T> {
        self.map_err(|e| e.context(ctx))
    }
}

/// Turn a `std::io::Error` on a path into an `Error::Sys`.
pub fn io_err(op: &'static str, path: impl AsRef<Path>, e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(n) => Error::sys(op, path, Errno::from_raw(n)),
        None => Error::Msg(format!("{op} {}: {e}", path.as_ref().display())),
    }
}

/// The errno's text in the lower-case form Go (and so runc) prints:
/// "no such file or directory", "permission denied".
pub fn errno_text(e: Errno) -> String {
    let s = e.desc();
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_error_reads_like_go() {
        let e = Error::sys("open", "/x", Errno::ENOENT);
        assert_eq!(e.to_string(), "open /x: no such file or directory");
        let e = Error::call("setns", Errno::EPERM).context("join namespace");
        assert_eq!(
            e.to_string(),
            "join namespace: setns: operation not permitted"
        );
    }
}
