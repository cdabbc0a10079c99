//! Shared harness for husk's integration tests (`mod common;` in tests/*.rs).
//!
//! * [`runtime_bin`] / [`probe_bin`] locate the runtime under test and the
//!   in-container probe (built on demand, see tests/probe).
//! * [`Bundle`] is a throw-away OCI bundle under /tmp with a rootfs copied from
//!   a cached template (busybox + /probe + a few /etc files).
//! * [`host_mount`], [`snapshot_tree`], [`host_mount_table`] make host mounts
//!   and prove that nothing changed on the host (rootfs and security tests).
//! * [`Runtime`] drives the runtime CLI with a private `--root`; every command
//!   has a timeout, and everything it created is force-deleted on drop.
//!   [`run_probe_script`] runs a shell script of `/probe` calls and returns
//!   their JSON lines; [`mount_at`], [`assert_opt`], [`assert_write_fails`]
//!   and friends assert on what the probe saw.
//! * [`sleeper_with`], [`fork_loop`], [`memory_hog`], [`ticker`] and
//!   [`spawn_events`] are the workloads of the cgroup tests (v1 and v2).
//!
//! Environment:
//! * `HUSK_RUNTIME` — runtime binary to test (e.g. /usr/sbin/runc); default is
//!   the `husk` binary cargo built for this test run.
//! * `HUSK_PROBE` — prebuilt static probe; default: built once with
//!   `cargo build -p husk-probe --release --target x86_64-unknown-linux-gnu
//!   --target-dir target/probe` and `-C target-feature=+crt-static`.
//! * `HUSK_TEST_TIMEOUT` — seconds before a runtime command is killed (30).
//!
//! Config handling: a `Bundle` owns its config as a `serde_json::Value`.
//! [`Runtime::create`] and [`Runtime::run`] write it to `config.json` right
//! before invoking the runtime, so tests just edit [`Bundle::config_mut`].
//! Tests that need a broken bundle call [`Bundle::set_raw_config`] or
//! [`Bundle::remove_config`], after which config.json is left alone.
#![allow(dead_code)] // every test binary uses a different subset

mod artifacts;
mod bundle;
pub mod clients;
mod cmd;
pub mod console;
mod host;
mod observe;
mod probe_view;
mod runtime;
mod workloads;

// Not every test binary uses every module.
#[allow(unused_imports)]
pub use artifacts::*;
#[allow(unused_imports)]
pub use bundle::*;
#[allow(unused_imports)]
pub use cmd::*;
#[allow(unused_imports)]
pub use host::*;
#[allow(unused_imports)]
pub use observe::*;
#[allow(unused_imports)]
pub use probe_view::*;
#[allow(unused_imports)]
pub use runtime::*;
#[allow(unused_imports)]
pub use workloads::*;

// ---------------------------------------------------------------------------
// Skipping
// ---------------------------------------------------------------------------

/// Loudly skip the current test: prints `SKIP: <test path>: <reason>` to
/// stderr and returns from the enclosing function. Use as `common::skip!(..)`
/// or after `use common::skip;`.
#[allow(unused_macros)]
macro_rules! skip {
    ($($reason:tt)+) => {{
        fn __husk_skip_marker() {}
        let name = std::any::type_name_of_val(&__husk_skip_marker);
        let name = name.strip_suffix("::__husk_skip_marker").unwrap_or(name);
        eprintln!("SKIP: {}: {}", name, format!($($reason)+));
        return;
    }};
}
#[allow(unused_imports)]
pub(crate) use skip;
