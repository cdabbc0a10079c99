//! The command line, as runc's: global flags before the verb, one small
//! function per verb calling the library.

mod features;
mod spec_cmd;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

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

#[derive(Parser, Debug)]
#[command(
    name = "husk",
    about = "an OCI container runtime",
    disable_version_flag = true
)]
pub struct Cli {
    /// root directory for storage of container state
    #[arg(long, default_value = "/run/husk", value_name = "DIR")]
    root: PathBuf,
    /// set the log file to write husk logs to (default is stderr)
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// set the log format ('text' (default), or 'json')
    #[arg(long = "log-format", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// enable debug logging
    #[arg(long)]
    debug: bool,
    /// enable systemd cgroup support (a slice:prefix:name cgroupsPath is refused: no systemd driver yet)
    #[arg(long = "systemd-cgroup")]
    systemd_cgroup: bool,
    /// ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long, value_name = "VALUE", num_args = 0..=1, default_missing_value = "true")]
    rootless: Option<String>,
    /// path to the criu binary (accepted for compatibility; checkpoint/restore is not supported)
    #[arg(long, hide = true)]
    criu: Option<String>,
    /// print the version
    #[arg(short = 'v', long = "version")]
    version: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(clap::Args, Debug, Clone)]
struct CreateArgs {
    /// path to the root of the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    bundle: PathBuf,
    /// path to a unix socket that receives the pty master
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// file to write the process id to
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// do not use pivot root to jail the process inside the rootfs
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// pass N additional file descriptors (3..3+N) to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// container id
    id: String,
}

#[derive(clap::Args, Debug)]
struct UpdateArgs {
    /// path to a file with the resources to update, or '-' for stdin
    #[arg(short = 'r', long)]
    resources: Option<String>,
    /// memory limit (in bytes, or with a k, m, g suffix)
    #[arg(long)]
    memory: Option<String>,
    /// total memory usage (memory + swap); -1 for unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// memory reservation or soft limit
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    /// kernel memory limit (deprecated, ignored)
    #[arg(long = "kernel-memory")]
    kernel_memory: Option<String>,
    /// kernel memory limit for tcp buffers (deprecated, ignored)
    #[arg(long = "kernel-memory-tcp")]
    kernel_memory_tcp: Option<String>,
    /// CPU shares (relative weight vs. other containers)
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    cpu_share: Option<u64>,
    /// CPU CFS period in microseconds
    #[arg(long = "cpu-period")]
    cpu_period: Option<u64>,
    /// CPU CFS hardcap limit in microseconds
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    /// CPU CFS hardcap burst limit in microseconds
    #[arg(long = "cpu-burst")]
    cpu_burst: Option<u64>,
    /// CPU realtime period in microseconds
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<u64>,
    /// CPU realtime hardcap limit in microseconds
    #[arg(long = "cpu-rt-runtime")]
    cpu_rt_runtime: Option<i64>,
    /// SCHED_IDLE for the cgroup (1) or not (0)
    #[arg(long = "cpu-idle")]
    cpu_idle: Option<i64>,
    /// CPU(s) to use
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    /// memory node(s) to use
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    /// maximum number of pids allowed in the container (-1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// block IO weight (10 to 1000)
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
    /// the new l3 cache schema (intelRdt: not supported)
    #[arg(long = "l3-cache-schema")]
    l3_cache_schema: Option<String>,
    /// the new memory bandwidth schema (intelRdt: not supported)
    #[arg(long = "mem-bw-schema")]
    mem_bw_schema: Option<String>,
    id: String,
}

impl UpdateArgs {
    /// The resources patch these flags describe (over the -r file, if any).
    fn patch(&self) -> Result<serde_json::Value> {
        use crate::manage::parse_size;
        let mut v = match &self.resources {
            Some(p) => crate::manage::read_resources(p)?,
            None => serde_json::json!({}),
        };
        if self.l3_cache_schema.is_some() || self.mem_bw_schema.is_some() {
            return Err(Error::Msg("intelRdt is not supported by husk".into()));
        }
        let mut set = |path: &[&str], val: serde_json::Value| {
            let mut cur = &mut v;
            for k in &path[..path.len() - 1] {
                cur = &mut cur[*k];
            }
            cur[path[path.len() - 1]] = val;
        };
        use serde_json::json;
        if let Some(m) = &self.memory {
            set(&["memory", "limit"], json!(parse_size(m)?));
        }
        if let Some(m) = &self.memory_swap {
            set(&["memory", "swap"], json!(parse_size(m)?));
        }
        if let Some(m) = &self.memory_reservation {
            set(&["memory", "reservation"], json!(parse_size(m)?));
        }
        if let Some(m) = &self.kernel_memory {
            set(&["memory", "kernel"], json!(parse_size(m)?));
        }
        if let Some(m) = &self.kernel_memory_tcp {
            set(&["memory", "kernelTCP"], json!(parse_size(m)?));
        }
        if let Some(x) = self.cpu_share {
            set(&["cpu", "shares"], json!(x));
        }
        if let Some(x) = self.cpu_period {
            set(&["cpu", "period"], json!(x));
        }
        if let Some(x) = self.cpu_quota {
            set(&["cpu", "quota"], json!(x));
        }
        if let Some(x) = self.cpu_burst {
            set(&["cpu", "burst"], json!(x));
        }
        if let Some(x) = self.cpu_rt_period {
            set(&["cpu", "realtimePeriod"], json!(x));
        }
        if let Some(x) = self.cpu_rt_runtime {
            set(&["cpu", "realtimeRuntime"], json!(x));
        }
        if let Some(x) = self.cpu_idle {
            set(&["cpu", "idle"], json!(x));
        }
        if let Some(x) = &self.cpuset_cpus {
            set(&["cpu", "cpus"], json!(x));
        }
        if let Some(x) = &self.cpuset_mems {
            set(&["cpu", "mems"], json!(x));
        }
        if let Some(x) = self.pids_limit {
            set(&["pids", "limit"], json!(x));
        }
        if let Some(x) = self.blkio_weight {
            set(&["blockIO", "weight"], json!(x));
        }
        Ok(v)
    }
}

#[derive(clap::Args, Debug)]
struct ExecArgs {
    /// path to the process.json
    #[arg(short = 'p', long)]
    process: Option<PathBuf>,
    /// allocate a pseudo-TTY
    #[arg(short = 't', long)]
    tty: bool,
    /// path to a unix socket that receives the pty master
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// current working directory in the container
    #[arg(long)]
    cwd: Option<String>,
    /// set environment variables
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// UID (format: <uid>[:<gid>])
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// additional gids
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    /// add a capability to the bounding set for the process
    #[arg(short = 'c', long = "cap")]
    cap: Vec<String>,
    /// set the no new privileges value for the process
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    /// set the apparmor profile for the process
    #[arg(long)]
    apparmor: Option<String>,
    /// set the asm process label for the process commonly used with selinux
    #[arg(long = "process-label")]
    process_label: Option<String>,
    /// detach from the container's process
    #[arg(short = 'd', long)]
    detach: bool,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// pass N additional file descriptors to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// run the process in an (existing) sub-cgroup
    #[arg(long)]
    cgroup: Option<String>,
    /// allow exec in a paused container
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    /// path to a unix socket that receives a pidfd of the process
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    id: String,
    /// the command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn exec_cmd(root: &Root, a: ExecArgs) -> Result<i32> {
    let st = root.load(&a.id)?;
    let base = st
        .config
        .as_ref()
        .and_then(|c| c.process().clone())
        .unwrap_or_default();
    let process = match &a.process {
        Some(path) => {
            let data = std::fs::read(path).map_err(|e| crate::error::io_err("read", path, e))?;
            let p = crate::spec::parse_process(&data)?;
            crate::exec::complete_process(p, &base)
        }
        None => {
            if a.command.is_empty() {
                return Err(Error::Msg(
                    "exec: a command or --process is required".into(),
                ));
            }
            let mut p = crate::exec::process_from_cmdline(
                &base,
                &crate::exec::CmdlineProcess {
                    args: a.command.clone(),
                    tty: a.tty,
                    cwd: a.cwd.as_deref(),
                    env: &a.env,
                    user: a.user.as_deref(),
                    additional_gids: &a.additional_gids,
                    caps: &a.cap,
                    no_new_privs: a.no_new_privs,
                },
            )?;
            // As runc: a flag given (and not empty) replaces the container's value.
            if let Some(ap) = a.apparmor.filter(|s| !s.is_empty()) {
                if !crate::lsm::apparmor_enabled() {
                    return Err(Error::config(
                        "--apparmor",
                        "AppArmor is not enabled on this host",
                    ));
                }
                p.set_apparmor_profile(Some(ap));
            }
            if let Some(l) = a.process_label.filter(|s| !s.is_empty()) {
                if !crate::lsm::selinux_enabled() {
                    return Err(Error::config(
                        "--process-label",
                        "SELinux is not enabled on this host",
                    ));
                }
                p.set_selinux_label(Some(l));
            }
            p
        }
    };
    crate::lsm::Labels::of(&process).check()?;
    crate::exec::exec(
        root,
        crate::exec::ExecOpts {
            id: a.id,
            process: Some(process),
            detach: a.detach,
            pid_file: a.pid_file,
            console_socket: a.console_socket,
            preserve_fds: a.preserve_fds,
            cgroup: a.cgroup,
            ignore_paused: a.ignore_paused,
            pidfd_socket: a.pidfd_socket,
        },
    )
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// create a container
    Create(CreateArgs),
    /// start a created container
    Start { id: String },
    /// output the state of a container
    State { id: String },
    /// send a signal to the container's init process
    Kill {
        /// send the signal to all processes in the container
        #[arg(short = 'a', long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// delete any resources held by the container
    Delete {
        /// kill the container if it is still running
        #[arg(short = 'f', long)]
        force: bool,
        id: String,
    },
    /// create and run a container
    Run {
        /// detach from the container's process
        #[arg(short = 'd', long)]
        detach: bool,
        /// do not delete the container after it exits
        #[arg(long)]
        keep: bool,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// list containers started by husk with the given root
    List {
        /// table or json
        #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// display only container ids
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// create a new specification file
    Spec {
        /// path to the root of the bundle directory
        #[arg(short = 'b', long, default_value = ".")]
        bundle: PathBuf,
        /// generate a configuration for a rootless container
        #[arg(long)]
        rootless: bool,
    },
    /// show the enabled features
    Features,
    /// execute new process inside the container
    Exec(Box<ExecArgs>),
    /// display the processes running inside a container
    Ps {
        /// table or json
        #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        id: String,
        /// options passed to ps (default -ef)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// suspend all processes inside the container
    Pause { id: String },
    /// resume all processes that have been previously paused
    Resume { id: String },
    /// update container resource constraints
    Update(Box<UpdateArgs>),
    /// display container events such as OOM notifications and usage statistics
    Events {
        /// display the container's stats then exit
        #[arg(long)]
        stats: bool,
        /// set the stats collection interval
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    #[command(hide = true)]
    Checkpoint {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
    #[command(hide = true)]
    Restore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
}

impl From<CreateArgs> for CreateOpts {
    fn from(a: CreateArgs) -> Self {
        CreateOpts {
            id: a.id,
            bundle: a.bundle,
            pid_file: a.pid_file,
            console_socket: a.console_socket,
            no_pivot: a.no_pivot,
            no_new_keyring: a.no_new_keyring,
            preserve_fds: a.preserve_fds,
            foreground: false,
        }
    }
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 1,
            };
            let _ = e.print();
            return code;
        }
    };
    if cli.version {
        print!("{}", version_text());
        return 0;
    }
    let format = if cli.log_format == "json" {
        logging::Format::Json
    } else {
        logging::Format::Text
    };
    let to_file = match logging::init(cli.log.as_deref(), format, cli.debug) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("open log file {:?}: {e}", cli.log);
            return 1;
        }
    };
    match dispatch(cli) {
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

fn check_rootless(v: &Option<String>) -> Result<()> {
    let euid = nix::unistd::geteuid();
    match v.as_deref() {
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

fn dispatch(cli: Cli) -> Result<i32> {
    let root = Root::new(&cli.root);
    let Some(cmd) = cli.cmd else {
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        return Ok(0);
    };
    let _ = cli.criu;
    if cli.systemd_cgroup {
        log::debug!(
            "--systemd-cgroup given: cgroupsPath in slice:prefix:name form will be refused"
        );
    }
    match cmd {
        Cmd::Create(a) => {
            check_rootless(&cli.rootless)?;
            container::create(&root, &a.into()).map(|_| 0)
        }
        Cmd::Run {
            detach,
            keep,
            create,
        } => {
            check_rootless(&cli.rootless)?;
            crate::foreground::run(&root, &create.into(), detach, keep)
        }
        Cmd::Start { id } => container::start(&root, &id).map(|_| 0),
        Cmd::State { id } => {
            let v = container::state(&root, &id)?;
            print_json(&v);
            Ok(0)
        }
        Cmd::Kill { all, id, signal } => {
            let sig = container::parse_signal(&signal)?;
            container::kill(&root, &id, sig, all).map(|_| 0)
        }
        Cmd::Delete { force, id } => container::delete(&root, &id, force).map(|_| 0),
        Cmd::List { format, quiet } => list(&root, &format, quiet).map(|_| 0),
        Cmd::Spec { bundle, rootless } => spec_cmd::write(&bundle, rootless).map(|_| 0),
        Cmd::Features => {
            print_json(&features::features());
            Ok(0)
        }
        Cmd::Exec(a) => exec_cmd(&root, *a),
        Cmd::Ps {
            format,
            id,
            ps_args,
        } => crate::manage::ps(&root, &id, &format, &ps_args).map(|_| 0),
        Cmd::Pause { id } => crate::manage::pause(&root, &id).map(|_| 0),
        Cmd::Resume { id } => crate::manage::resume(&root, &id).map(|_| 0),
        Cmd::Update(a) => {
            let patch = a.patch()?;
            crate::manage::update(&root, &a.id, &patch).map(|_| 0)
        }
        Cmd::Events {
            stats,
            interval,
            id,
        } => {
            let iv = crate::manage::parse_duration(&interval)?;
            crate::manage::events(&root, &id, stats, iv).map(|_| 0)
        }
        Cmd::Checkpoint { .. } | Cmd::Restore { .. } => Err(Error::Msg(
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

    #[test]
    fn parses_runc_style_lines() {
        let c = Cli::try_parse_from([
            "husk",
            "--root",
            "/r",
            "--log",
            "/l",
            "--log-format",
            "json",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "c1",
        ])
        .unwrap();
        assert_eq!(c.root, PathBuf::from("/r"));
        assert!(matches!(c.cmd, Some(Cmd::Create(CreateArgs { ref id, .. })) if id == "c1"));
        let c = Cli::try_parse_from(["husk", "kill", "c1", "9"]).unwrap();
        assert!(matches!(c.cmd, Some(Cmd::Kill { ref signal, .. }) if signal == "9"));
        let c = Cli::try_parse_from([
            "husk",
            "--rootless",
            "false",
            "--systemd-cgroup",
            "delete",
            "-f",
            "c1",
        ])
        .unwrap();
        assert!(matches!(c.cmd, Some(Cmd::Delete { force: true, .. })));
    }
}
