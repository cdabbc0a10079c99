//! husk-probe: a tiny static binary that runs inside containers and reports
//! what it observes as JSON on stdout. Integration tests assert on these
//! facts rather than on what the runtime claims.
//!
//! Subcommands (argv[1]; `report` when absent):
//!
//! * `report`               one JSON object describing the process (see `report.rs`)
//! * `stat PATH...`         JSON array, one lstat result per path
//! * `write PATH [CONTENT]` open(O_WRONLY|O_CREAT|O_TRUNC, 0644) and write CONTENT
//!   (nothing when omitted); `{path, ok}` or `{path, ok:false, errno, error, message}`
//! * `read PATH`            `{path, ok, content, truncated}` (content capped at 64 KiB)
//! * `exit N`               exit with status N (no output)
//! * `sleep SECS`           sleep, then exit 0; `inf`/`forever`/`infinity` never returns
//! * `signals`              print `{"ready":true}`, then `{"signal":N}` per signal caught
//! * `kill-self SIG`        die from SIG with the default disposition
//!
//! Conventions:
//! * Every subcommand that prints emits exactly one JSON document followed by a
//!   newline (except `signals`, which streams one document per line) and flushes.
//! * A report field that cannot be collected is replaced by `{"error": "..."}`
//!   (an object, so it can never be mistaken for a legitimate string value).
//! * Errno-carrying errors look like `"ENOENT: No such file or directory"`.
//! * Usage errors print `{"error": ...}` and exit 2.
//!
//! The binary uses `#![no_main]` on purpose: Rust's normal start-up code sets
//! SIGPIPE to SIG_IGN and reopens closed fds 0-2 on /dev/null, both of which
//! would falsify what the probe reports (SigIgn, fds). With our own C `main`
//! the process state is exactly what the runtime exec'd us with. `std::env::args`
//! still works on glibc (std captures argv via `.init_array`).
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code))]

mod cmds;
mod report;
mod util;

#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let sub = args.get(1).map(String::as_str).unwrap_or("report");
    let rest: &[String] = if args.len() > 2 { &args[2..] } else { &[] };
    match sub {
        "report" => {
            util::emit(&report::report());
            0
        }
        "stat" => cmds::stat(rest),
        "write" => cmds::write(rest),
        "read" => cmds::read(rest),
        "exit" => cmds::exit(rest),
        "notify" => cmds::notify(rest),
        "sleep" => cmds::sleep(rest),
        "signals" => cmds::signals(),
        "kill-self" => cmds::kill_self(rest),
        other => util::usage(&format!("unknown subcommand {other:?}")),
    }
}
