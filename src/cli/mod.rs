//! The command line, as runc's: global flags before the verb, one small
//! function per verb calling the library.

mod args;
mod features;
mod spec_cmd;
mod verbs;

use std::io::Write;
use std::path::PathBuf;

use args::Parsed;

use crate::container::{self, CreateOpts};
use crate::error::{Error, Result};
use crate::logging;
use crate::state::Root;

/// husk's version line, `commit:` and `spec:` as runc prints them.
pub fn version_text() -> String {
    format!(
        "husk version {}\ncommit: {}\nspec: {}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("HUSK_COMMIT").unwrap_or("unknown"),
        SPEC_VERSION
    )
}

/// The runtime-spec version husk implements.
pub const SPEC_VERSION: &str = "1.3.0";

/// The resources patch `update`'s flags describe (over the -r file, if any).
fn update_patch(a: &Parsed) -> Result<serde_json::Value> {
    use crate::manage::parse_size;
    use serde_json::json;
    let mut v = match a.value("resources") {
        Some(p) => crate::manage::read_resources(p)?,
        None => json!({}),
    };
    if a.has("l3-cache-schema") || a.has("mem-bw-schema") {
        return Err(Error::Msg("intelRdt is not supported by husk".into()));
    }
    let mut set = |path: &[&str], val: serde_json::Value| {
        let mut cur = &mut v;
        for k in &path[..path.len() - 1] {
            cur = &mut cur[*k];
        }
        cur[path[path.len() - 1]] = val;
    };
    let sizes = [
        ("memory", ["memory", "limit"]),
        ("memory-swap", ["memory", "swap"]),
        ("memory-reservation", ["memory", "reservation"]),
        ("kernel-memory", ["memory", "kernel"]),
        ("kernel-memory-tcp", ["memory", "kernelTCP"]),
    ];
    for (flag, path) in sizes {
        if let Some(m) = a.value(flag) {
            set(&path, json!(parse_size(m)?));
        }
    }
    // --cpu-shares is an alias of --cpu-share.
    let share = a.num::<u64>("cpu-share").map_err(Error::Msg)?;
    if let Some(x) = share.or(a.num::<u64>("cpu-shares").map_err(Error::Msg)?) {
        set(&["cpu", "shares"], json!(x));
    }
    let unsigned = [
        ("cpu-period", ["cpu", "period"]),
        ("cpu-burst", ["cpu", "burst"]),
        ("cpu-rt-period", ["cpu", "realtimePeriod"]),
    ];
    for (flag, path) in unsigned {
        if let Some(x) = a.num::<u64>(flag).map_err(Error::Msg)? {
            set(&path, json!(x));
        }
    }
    let signed = [
        ("cpu-quota", ["cpu", "quota"]),
        ("cpu-rt-runtime", ["cpu", "realtimeRuntime"]),
        ("cpu-idle", ["cpu", "idle"]),
        ("pids-limit", ["pids", "limit"]),
    ];
    for (flag, path) in signed {
        if let Some(x) = a.num::<i64>(flag).map_err(Error::Msg)? {
            set(&path, json!(x));
        }
    }
    if let Some(x) = a.value("cpuset-cpus") {
        set(&["cpu", "cpus"], json!(x));
    }
    if let Some(x) = a.value("cpuset-mems") {
        set(&["cpu", "mems"], json!(x));
    }
    if let Some(x) = a.num::<u16>("blkio-weight").map_err(Error::Msg)? {
        set(&["blockIO", "weight"], json!(x));
    }
    Ok(v)
}

fn exec_cmd(root: &Root, a: &Parsed) -> Result<i32> {
    let id = a.args[0].clone();
    // `husk exec ID -- CMD...`: the separator is not part of the command.
    let mut command = a.args[1..].to_vec();
    if command.first().is_some_and(|c| c == "--") {
        command.remove(0);
    }
    let st = root.load(&id)?;
    let base = st
        .config
        .as_ref()
        .and_then(|c| c.process().clone())
        .unwrap_or_default();
    let process = match a.value("process") {
        Some(path) => {
            let data = std::fs::read(path).map_err(|e| crate::error::io_err("read", path, e))?;
            let p = crate::spec::parse_process(&data)?;
            crate::exec::complete_process(p, &base)
        }
        None => {
            if command.is_empty() {
                return Err(Error::Msg(
                    "exec: a command or --process is required".into(),
                ));
            }
            let gids = a.nums::<u32>("additional-gids").map_err(Error::Msg)?;
            let mut p = crate::exec::process_from_cmdline(
                &base,
                &crate::exec::CmdlineProcess {
                    args: command,
                    tty: a.has("tty"),
                    cwd: a.value("cwd"),
                    env: &a.values("env"),
                    user: a.value("user"),
                    additional_gids: &gids,
                    caps: &a.values("cap"),
                    no_new_privs: a.has("no-new-privs"),
                },
            )?;
            // As runc: a flag given (and not empty) replaces the container's value.
            if let Some(ap) = a.value("apparmor").filter(|s| !s.is_empty()) {
                if !crate::lsm::apparmor_enabled() {
                    return Err(Error::config(
                        "--apparmor",
                        "AppArmor is not enabled on this host",
                    ));
                }
                p.set_apparmor_profile(Some(ap.to_string()));
            }
            if let Some(l) = a.value("process-label").filter(|s| !s.is_empty()) {
                if !crate::lsm::selinux_enabled() {
                    return Err(Error::config(
                        "--process-label",
                        "SELinux is not enabled on this host",
                    ));
                }
                p.set_selinux_label(Some(l.to_string()));
            }
            p
        }
    };
    crate::lsm::Labels::of(&process).check()?;
    crate::exec::exec(
        root,
        crate::exec::ExecOpts {
            id,
            process: Some(process),
            detach: a.has("detach"),
            pid_file: a.value("pid-file").map(PathBuf::from),
            console_socket: a.value("console-socket").map(PathBuf::from),
            preserve_fds: a.num("preserve-fds").map_err(Error::Msg)?.unwrap_or(0),
            cgroup: a.value("cgroup").map(String::from),
            ignore_paused: a.has("ignore-paused"),
            pidfd_socket: a.value("pidfd-socket").map(PathBuf::from),
        },
    )
}

/// The options of `create` and `run`.
fn create_opts(a: &Parsed) -> Result<CreateOpts> {
    Ok(CreateOpts {
        id: a.args[0].clone(),
        bundle: PathBuf::from(a.value("bundle").unwrap_or(".")),
        pid_file: a.value("pid-file").map(PathBuf::from),
        console_socket: a.value("console-socket").map(PathBuf::from),
        no_pivot: a.has("no-pivot"),
        no_new_keyring: a.has("no-new-keyring"),
        preserve_fds: a.num("preserve-fds").map_err(Error::Msg)?.unwrap_or(0),
        foreground: false,
    })
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    let argv: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<std::result::Result<_, _>>()
    {
        Ok(v) => v,
        Err(a) => {
            eprintln!("husk: argument {a:?} is not UTF-8");
            return 1;
        }
    };
    let mut global = Parsed::default();
    let at = match args::parse(&argv, &[args::GLOBAL], true, None, &mut global) {
        Ok(at) => at,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if global.has("version") {
        print!("{}", version_text());
        return 0;
    }
    let verb_name = argv.get(at).map(String::as_str);
    if global.has("help") || verb_name.is_none() || verb_name == Some("help") {
        let topic = argv
            .get(at + 1)
            .filter(|_| verb_name == Some("help"))
            .and_then(|t| args::VERBS.iter().find(|v| v.name == *t));
        print!("{}", args::help(topic));
        return 0;
    }
    let verb_name = verb_name.unwrap_or_default();
    let Some(verb) = args::VERBS.iter().find(|v| v.name == verb_name) else {
        eprintln!("No help topic for '{verb_name}'");
        return 3;
    };
    let mut cmd = Parsed::default();
    if let Err(e) = args::parse(
        &argv[at + 1..],
        &[verb.flags, verb.also],
        false,
        verb.rest_from,
        &mut cmd,
    ) {
        eprintln!("{e}");
        return 1;
    }
    if cmd.has("help") {
        print!("{}", args::help(Some(verb)));
        return 0;
    }
    if let Err(e) = args::check_count(verb, cmd.args.len()) {
        eprintln!("{e}");
        return 1;
    }
    let format = match global.value("log-format").unwrap_or("text") {
        "json" => logging::Format::Json,
        "text" => logging::Format::Text,
        other => {
            eprintln!("invalid log format {other:?}: want text or json");
            return 1;
        }
    };
    let log = global.value("log").map(PathBuf::from);
    let to_file = match logging::init(log.as_deref(), format, global.has("debug")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("open log file {log:?}: {e}");
            return 1;
        }
    };
    match dispatch(&global, verb.name, &cmd) {
        Ok(code) => code,
        Err(e) => {
            // One error line: in the log (stderr in runc's text format when there is no
            // log file), and plainly on stderr when the log is a file.
            log::error!("{e}");
            if to_file {
                let _ = writeln!(std::io::stderr(), "{e}");
            }
            1
        }
    }
}

fn check_rootless(v: Option<&str>) -> Result<()> {
    let euid = nix::unistd::geteuid();
    match v {
        Some("true") => Err(Error::Msg(
            "rootless mode is not supported by this husk yet".into(),
        )),
        Some("false") | Some("auto") | None if euid.is_root() => Ok(()),
        Some("false") | Some("auto") | None => Err(Error::Msg(
            "husk must run as root: rootless mode is not supported yet".into(),
        )),
        Some(other) => Err(Error::Msg(format!(
            "invalid --rootless value {other:?}: want true, false or auto"
        ))),
    }
}

/// The `table` or `json` of list and ps.
fn format_of(a: &Parsed) -> Result<&str> {
    match a.value("format").unwrap_or("table") {
        f @ ("table" | "json") => Ok(f),
        other => Err(Error::Msg(format!(
            "invalid format {other:?}: want table or json"
        ))),
    }
}

fn dispatch(global: &Parsed, verb: &str, a: &Parsed) -> Result<i32> {
    let root = Root::new(std::path::Path::new(
        global.value("root").unwrap_or("/run/husk"),
    ));
    if global.has("systemd-cgroup") {
        log::debug!(
            "--systemd-cgroup given: cgroupsPath in slice:prefix:name form will be refused"
        );
    }
    let id = || a.args[0].as_str();
    match verb {
        "create" => {
            check_rootless(global.value("rootless"))?;
            container::create(&root, &create_opts(a)?).map(|_| 0)
        }
        "run" => {
            check_rootless(global.value("rootless"))?;
            crate::foreground::run(&root, &create_opts(a)?, a.has("detach"), a.has("keep"))
        }
        "start" => container::start(&root, id()).map(|_| 0),
        "state" => {
            let v = container::state(&root, id())?;
            print_json(&v);
            Ok(0)
        }
        "kill" => {
            let sig = container::parse_signal(a.args.get(1).map_or("SIGTERM", String::as_str))?;
            container::kill(&root, id(), sig, a.has("all")).map(|_| 0)
        }
        "delete" => container::delete(&root, id(), a.has("force")).map(|_| 0),
        "list" => list(&root, format_of(a)?, a.has("quiet")).map(|_| 0),
        "spec" => spec_cmd::write(
            std::path::Path::new(a.value("bundle").unwrap_or(".")),
            a.has("rootless"),
        )
        .map(|_| 0),
        "features" => {
            print_json(&features::features());
            Ok(0)
        }
        "exec" => exec_cmd(&root, a),
        "ps" => crate::manage::ps(&root, id(), format_of(a)?, &a.args[1..]).map(|_| 0),
        "pause" => crate::manage::pause(&root, id()).map(|_| 0),
        "resume" => crate::manage::resume(&root, id()).map(|_| 0),
        "update" => {
            let patch = update_patch(a)?;
            crate::manage::update(&root, id(), &patch).map(|_| 0)
        }
        "events" => {
            let iv = crate::manage::parse_duration(a.value("interval").unwrap_or("5s"))?;
            crate::manage::events(&root, id(), a.has("stats"), iv).map(|_| 0)
        }
        _ => Err(Error::Msg(
            "checkpoint and restore are not supported by husk".into(),
        )),
    }
}

fn print_json(v: &serde_json::Value) {
    let s = serde_json::to_string_pretty(v).unwrap_or_default();
    println!("{s}");
}

fn list(root: &Root, format: &str, quiet: bool) -> Result<()> {
    let states = container::list(root)?;
    let mut out = std::io::stdout().lock();
    if quiet {
        for s in &states {
            let _ = writeln!(out, "{}", s["id"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    if format == "json" {
        // runc encodes an empty list as null.
        let v = if states.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::Value::Array(states)
        };
        let _ = writeln!(out, "{v}");
        return Ok(());
    }
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for s in &states {
        let get = |k: &str| match &s[k] {
            serde_json::Value::String(v) => v.clone(),
            v => v.to_string(),
        };
        rows.push([
            get("id"),
            get("pid"),
            get("status"),
            get("bundle"),
            get("created"),
            get("owner"),
        ]);
    }
    let _ = write!(out, "{}", table(&rows));
    Ok(())
}

/// Align columns as Go's tabwriter with minwidth 12 and padding 3.
fn table(rows: &[[String; 6]]) -> String {
    let mut widths = [0usize; 6];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max((c.chars().count() + 3).max(12));
        }
    }
    let mut s = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}", w = widths[i]));
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_like_runc() {
        let rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
        assert_eq!(
            table(&rows),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }

    #[test]
    fn version_layout() {
        let v = version_text();
        let lines: Vec<&str> = v.lines().collect();
        assert!(lines[0].starts_with("husk version "));
        assert!(lines[1].starts_with("commit: "));
        assert_eq!(lines[2], format!("spec: {SPEC_VERSION}"));
    }
}
