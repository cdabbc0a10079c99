//! The command line's vocabulary: husk's global flags and its verbs, as
//! runc names them (parsed by `args`).

use super::args::Flag;

const fn flag(long: &'static str, short: Option<char>, help: &'static str) -> Flag {
    Flag {
        long,
        short,
        value: None,
        help,
    }
}

const fn opt(
    long: &'static str,
    short: Option<char>,
    value: &'static str,
    help: &'static str,
) -> Flag {
    Flag {
        long,
        short,
        value: Some(value),
        help,
    }
}

/// A verb: its flags and how many arguments it takes.
pub struct Verb {
    pub name: &'static str,
    pub about: &'static str,
    pub usage: &'static str,
    pub flags: &'static [Flag],
    /// More flags (`run`: those of `create` and its own).
    pub also: &'static [Flag],
    pub min: usize,
    pub max: Option<usize>,
    /// From this argument on, everything is an argument (exec's command,
    /// ps's options), flags included.
    pub rest_from: Option<usize>,
    pub hidden: bool,
}

pub const GLOBAL: &[Flag] = &[
    opt(
        "root",
        None,
        "DIR",
        "root directory for storage of container state (default: \"/run/husk\")",
    ),
    opt(
        "log",
        None,
        "FILE",
        "set the log file to write husk logs to (default is stderr)",
    ),
    opt(
        "log-format",
        None,
        "FORMAT",
        "set the log format ('text' (default), or 'json')",
    ),
    flag("debug", None, "enable debug logging"),
    flag(
        "systemd-cgroup",
        None,
        "enable systemd cgroup support (a slice:prefix:name cgroupsPath is refused: no systemd driver yet)",
    ),
    opt(
        "rootless",
        None,
        "VALUE",
        "ignore cgroup permission errors ('true', 'false', or 'auto')",
    ),
    opt(
        "criu",
        None,
        "PATH",
        "path to the criu binary (accepted; checkpoint/restore is not supported)",
    ),
    flag("version", Some('v'), "print the version"),
    flag("help", Some('h'), "show help"),
];

const CREATE_FLAGS: &[Flag] = &[
    opt(
        "bundle",
        Some('b'),
        "DIR",
        "path to the root of the bundle directory (default: \".\")",
    ),
    opt(
        "console-socket",
        None,
        "PATH",
        "path to a unix socket that receives the pty master",
    ),
    opt("pid-file", None, "FILE", "file to write the process id to"),
    flag(
        "no-pivot",
        None,
        "do not use pivot root to jail the process inside the rootfs",
    ),
    flag(
        "no-new-keyring",
        None,
        "do not create a new session keyring for the container",
    ),
    opt(
        "preserve-fds",
        None,
        "N",
        "pass N additional file descriptors (3..3+N) to the container",
    ),
];

/// What `run` takes besides `create`'s flags.
const RUN_ALSO: &[Flag] = &[
    flag("detach", Some('d'), "detach from the container's process"),
    flag("keep", None, "do not delete the container after it exits"),
];

const EXEC_FLAGS: &[Flag] = &[
    opt("process", Some('p'), "FILE", "path to the process.json"),
    flag("tty", Some('t'), "allocate a pseudo-TTY"),
    opt(
        "console-socket",
        None,
        "PATH",
        "path to a unix socket that receives the pty master",
    ),
    opt(
        "cwd",
        None,
        "DIR",
        "current working directory in the container",
    ),
    opt(
        "env",
        Some('e'),
        "K=V",
        "set an environment variable (repeatable)",
    ),
    opt("user", Some('u'), "UID[:GID]", "user and group to run as"),
    opt(
        "additional-gids",
        Some('g'),
        "GID",
        "an additional group (repeatable)",
    ),
    opt(
        "cap",
        Some('c'),
        "CAP",
        "add a capability to the bounding set for the process (repeatable)",
    ),
    flag(
        "no-new-privs",
        None,
        "set the no new privileges value for the process",
    ),
    opt(
        "apparmor",
        None,
        "PROFILE",
        "set the apparmor profile for the process",
    ),
    opt(
        "process-label",
        None,
        "LABEL",
        "set the asm process label for the process commonly used with selinux",
    ),
    flag("detach", Some('d'), "detach from the container's process"),
    opt(
        "pid-file",
        None,
        "FILE",
        "specify the file to write the process id to",
    ),
    opt(
        "preserve-fds",
        None,
        "N",
        "pass N additional file descriptors to the container",
    ),
    opt(
        "cgroup",
        None,
        "PATH",
        "run the process in an (existing) sub-cgroup",
    ),
    flag("ignore-paused", None, "allow exec in a paused container"),
    opt(
        "pidfd-socket",
        None,
        "PATH",
        "path to a unix socket that receives a pidfd of the process",
    ),
];

const UPDATE_FLAGS: &[Flag] = &[
    opt(
        "resources",
        Some('r'),
        "FILE",
        "path to a file with the resources to update, or '-' for stdin",
    ),
    opt(
        "memory",
        None,
        "BYTES",
        "memory limit (in bytes, or with a k, m, g suffix)",
    ),
    opt(
        "memory-swap",
        None,
        "BYTES",
        "total memory usage (memory + swap); -1 for unlimited swap",
    ),
    opt(
        "memory-reservation",
        None,
        "BYTES",
        "memory reservation or soft limit",
    ),
    opt(
        "kernel-memory",
        None,
        "BYTES",
        "kernel memory limit (deprecated, ignored)",
    ),
    opt(
        "kernel-memory-tcp",
        None,
        "BYTES",
        "kernel memory limit for tcp buffers (deprecated, ignored)",
    ),
    opt(
        "cpu-share",
        None,
        "N",
        "CPU shares (relative weight vs. other containers)",
    ),
    opt("cpu-shares", None, "N", "the same as --cpu-share"),
    opt("cpu-period", None, "US", "CPU CFS period in microseconds"),
    opt(
        "cpu-quota",
        None,
        "US",
        "CPU CFS hardcap limit in microseconds",
    ),
    opt(
        "cpu-burst",
        None,
        "US",
        "CPU CFS hardcap burst limit in microseconds",
    ),
    opt(
        "cpu-rt-period",
        None,
        "US",
        "CPU realtime period in microseconds",
    ),
    opt(
        "cpu-rt-runtime",
        None,
        "US",
        "CPU realtime hardcap limit in microseconds",
    ),
    opt(
        "cpu-idle",
        None,
        "0|1",
        "SCHED_IDLE for the cgroup (1) or not (0)",
    ),
    opt("cpuset-cpus", None, "CPUS", "CPU(s) to use"),
    opt("cpuset-mems", None, "NODES", "memory node(s) to use"),
    opt(
        "pids-limit",
        None,
        "N",
        "maximum number of pids allowed in the container (-1 for unlimited)",
    ),
    opt("blkio-weight", None, "N", "block IO weight (10 to 1000)"),
    opt(
        "l3-cache-schema",
        None,
        "SCHEMA",
        "the new l3 cache schema (intelRdt: not supported)",
    ),
    opt(
        "mem-bw-schema",
        None,
        "SCHEMA",
        "the new memory bandwidth schema (intelRdt: not supported)",
    ),
];

const FORMAT: Flag = opt(
    "format",
    Some('f'),
    "table|json",
    "output format (default: \"table\")",
);

const fn verb(
    name: &'static str,
    about: &'static str,
    usage: &'static str,
    flags: &'static [Flag],
) -> Verb {
    Verb {
        name,
        about,
        usage,
        flags,
        also: &[],
        min: 1,
        max: Some(1),
        rest_from: None,
        hidden: false,
    }
}

pub const VERBS: &[Verb] = &[
    verb(
        "create",
        "create a container",
        "<container-id>",
        CREATE_FLAGS,
    ),
    verb("start", "start a created container", "<container-id>", &[]),
    verb(
        "state",
        "output the state of a container",
        "<container-id>",
        &[],
    ),
    Verb {
        max: Some(2),
        ..verb(
            "kill",
            "send a signal to the container's init process",
            "<container-id> [signal]",
            &[flag(
                "all",
                Some('a'),
                "send the signal to all processes in the container",
            )],
        )
    },
    verb(
        "delete",
        "delete any resources held by the container",
        "<container-id>",
        &[flag(
            "force",
            Some('f'),
            "kill the container if it is still running",
        )],
    ),
    Verb {
        also: RUN_ALSO,
        ..verb(
            "run",
            "create and run a container",
            "<container-id>",
            CREATE_FLAGS,
        )
    },
    Verb {
        min: 0,
        max: Some(0),
        ..verb(
            "list",
            "list containers started by husk with the given root",
            "",
            &[
                FORMAT,
                flag("quiet", Some('q'), "display only container ids"),
            ],
        )
    },
    Verb {
        min: 0,
        max: Some(0),
        ..verb(
            "spec",
            "create a new specification file",
            "",
            &[
                opt(
                    "bundle",
                    Some('b'),
                    "DIR",
                    "path to the root of the bundle directory (default: \".\")",
                ),
                flag(
                    "rootless",
                    None,
                    "generate a configuration for a rootless container",
                ),
            ],
        )
    },
    Verb {
        min: 0,
        max: Some(0),
        ..verb("features", "show the enabled features", "", &[])
    },
    Verb {
        max: None,
        rest_from: Some(1),
        ..verb(
            "exec",
            "execute new process inside the container",
            "<container-id> <command> [command options]  ||  -p process.json <container-id>",
            EXEC_FLAGS,
        )
    },
    Verb {
        max: None,
        rest_from: Some(1),
        ..verb(
            "ps",
            "display the processes running inside a container",
            "<container-id> [ps options]",
            &[FORMAT],
        )
    },
    verb(
        "pause",
        "suspend all processes inside the container",
        "<container-id>",
        &[],
    ),
    verb(
        "resume",
        "resume all processes that have been previously paused",
        "<container-id>",
        &[],
    ),
    verb(
        "update",
        "update container resource constraints",
        "<container-id>",
        UPDATE_FLAGS,
    ),
    verb(
        "events",
        "display container events such as OOM notifications and usage statistics",
        "<container-id>",
        &[
            flag("stats", None, "display the container's stats then exit"),
            opt(
                "interval",
                None,
                "DURATION",
                "set the stats collection interval (default: 5s)",
            ),
        ],
    ),
    Verb {
        min: 0,
        max: None,
        rest_from: Some(0),
        hidden: true,
        ..verb("checkpoint", "", "", &[])
    },
    Verb {
        min: 0,
        max: None,
        rest_from: Some(0),
        hidden: true,
        ..verb("restore", "", "", &[])
    },
];
