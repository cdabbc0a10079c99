//! Fault injection for the crash-safety tests: when the environment variable
//! `HUSK_FAULT` names a point, husk kills itself with SIGKILL there, as a
//! crash or an OOM kill would. Off (one environment lookup) otherwise.

/// Every point, for the tests to iterate over.
pub const POINTS: &[&str] = &[
    "create:after-state",
    "create:after-cgroup",
    "create:after-spawn",
    "create:after-bootstrap",
    "create:after-save",
    "start:after-release",
    "delete:after-kill",
    "delete:after-cgroup",
    "exec:after-spawn",
    "exec:after-pid",
];

/// Die here if the tests asked for it.
pub fn point(name: &str) {
    if std::env::var_os("HUSK_FAULT").is_some_and(|v| v == name) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
