//! The command line's grammar, as runc's: global flags, a verb, the verb's
//! flags and its arguments. Flags take `--name value`, `--name=value`,
//! `-name value` (Go's single dash) or a short `-x value`; a value flag
//! takes the next argument whatever it looks like (`--memory-swap -1`).
//! Table-driven and hand-written: a parser generator's code and start-up
//! cost more than the rest of `husk state` (see docs/performance.md).

use std::str::FromStr;

pub use super::verbs::{GLOBAL, VERBS, Verb};

/// One flag of a verb (or a global one).
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's name in the help, for a flag that takes one.
    pub value: Option<&'static str>,
    pub help: &'static str,
}

/// What a command line said: the flags given (by long name, in order) and
/// the arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    pub flags: Vec<(&'static str, Option<String>)>,
    pub args: Vec<String>,
}

impl Parsed {
    pub fn has(&self, long: &str) -> bool {
        self.flags.iter().any(|(l, _)| *l == long)
    }

    /// The last value given for a flag.
    pub fn value(&self, long: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Every value given for a repeatable flag, in order.
    pub fn values(&self, long: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(l, _)| *l == long)
            .filter_map(|(_, v)| v.clone())
            .collect()
    }

    /// A typed value, with Go's wording when it does not parse.
    pub fn num<T: FromStr>(&self, long: &str) -> Result<Option<T>, String> {
        self.value(long).map(|v| typed(long, v)).transpose()
    }

    pub fn nums<T: FromStr>(&self, long: &str) -> Result<Vec<T>, String> {
        self.values(long).iter().map(|v| typed(long, v)).collect()
    }
}

/// A flag's value as a `T`, with Go's wording when it does not parse.
fn typed<T: FromStr>(long: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("invalid value {v:?} for flag -{long}: parse error"))
}

/// Parse flags from `args` (after the program or the verb) into `out`.
/// Global flags stop at the first argument that is not a flag (the verb);
/// a verb's flags may come between its arguments until `rest_from`.
/// Returns the index where the global parse stopped.
pub fn parse(
    args: &[String],
    flags: &[&'static [Flag]],
    stop_at_arg: bool,
    rest_from: Option<usize>,
    out: &mut Parsed,
) -> Result<usize, String> {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let rest = rest_from.is_some_and(|r| out.args.len() >= r);
        if a == "--" && !stop_at_arg && !rest {
            out.args.extend(args[i + 1..].iter().cloned());
            return Ok(args.len());
        }
        if rest || !a.starts_with('-') || a == "-" {
            if stop_at_arg {
                return Ok(i);
            }
            out.args.push(a.clone());
            i += 1;
            continue;
        }
        let body = a.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let single = !a.starts_with("--");
        let found = flags
            .iter()
            .flat_map(|set| set.iter())
            .find(|f| f.long == name || (single && f.short.is_some_and(|c| name == c.to_string())));
        let Some(f) = found else {
            // Every verb takes -h/--help, as Go's flag package: what follows
            // it is not parsed.
            if name == "help" || (single && name == "h") {
                out.flags.push(("help", None));
                return Ok(args.len());
            }
            return Err(format!("flag provided but not defined: -{name}"));
        };
        let value = match (f.value, inline) {
            (None, None) => None,
            (None, Some(v)) => match v.as_str() {
                "true" | "1" => None,
                "false" | "0" => {
                    out.flags.retain(|(l, _)| *l != f.long);
                    i += 1;
                    continue;
                }
                _ => {
                    return Err(format!(
                        "invalid boolean value {v:?} for -{name}: parse error"
                    ));
                }
            },
            (Some(_), Some(v)) => Some(v),
            // runc's --rootless also stands alone (meaning "true").
            (Some(_), None)
                if f.long == "rootless"
                    && !args
                        .get(i + 1)
                        .is_some_and(|v| matches!(v.as_str(), "true" | "false" | "auto")) =>
            {
                Some("true".to_string())
            }
            (Some(_), None) => {
                i += 1;
                let v = args
                    .get(i)
                    .ok_or_else(|| format!("flag needs an argument: -{name}"))?;
                Some(v.clone())
            }
        };
        out.flags.push((f.long, value));
        i += 1;
    }
    Ok(i)
}

/// The help of husk, or of one verb.
pub fn help(verb: Option<&Verb>) -> String {
    let mut s = String::new();
    let list = |s: &mut String, flags: &[Flag]| {
        for f in flags {
            let mut name = format!("--{}", f.long);
            if let Some(c) = f.short {
                name = format!("-{c}, {name}");
            }
            if let Some(v) = f.value {
                name = format!("{name} {v}");
            }
            s.push_str(&format!("   {name:<34} {}\n", f.help));
        }
    };
    match verb {
        None => {
            s.push_str("husk: an OCI container runtime\n\nUSAGE:\n   husk [global options] command [command options] [arguments...]\n\nCOMMANDS:\n");
            for v in VERBS.iter().filter(|v| !v.hidden) {
                s.push_str(&format!("   {:<10} {}\n", v.name, v.about));
            }
            s.push_str("\nGLOBAL OPTIONS:\n");
            list(&mut s, GLOBAL);
        }
        Some(v) => {
            s.push_str(&format!(
                "husk {} - {}\n\nUSAGE:\n   husk {} [command options] {}\n",
                v.name, v.about, v.name, v.usage
            ));
            if !v.flags.is_empty() {
                s.push_str("\nOPTIONS:\n");
                list(&mut s, v.flags);
                list(&mut s, v.also);
            }
        }
    }
    s
}

/// Check the number of arguments a verb got, in runc's words.
pub fn check_count(v: &Verb, n: usize) -> Result<(), String> {
    let ok = n >= v.min && v.max.is_none_or(|m| n <= m);
    if ok {
        return Ok(());
    }
    Err(match v.max {
        Some(m) if m == v.min => format!("husk: {:?} requires exactly {m} argument(s)", v.name),
        Some(m) => format!(
            "husk: {:?} requires a minimum of {} and a maximum of {m} argument(s)",
            v.name, v.min
        ),
        None => format!(
            "husk: {:?} requires a minimum of {} argument(s)",
            v.name, v.min
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn verb(name: &str) -> &'static Verb {
        VERBS.iter().find(|v| v.name == name).unwrap()
    }

    #[test]
    fn global_flags_stop_at_the_verb() {
        let a = strings(&["--root", "/r", "--log-format=json", "-debug", "create", "x"]);
        let mut p = Parsed::default();
        let at = parse(&a, &[GLOBAL], true, None, &mut p).unwrap();
        assert_eq!(at, 4);
        assert_eq!(p.value("root"), Some("/r"));
        assert_eq!(p.value("log-format"), Some("json"));
        assert!(p.has("debug"));
    }

    #[test]
    fn verb_flags_values_and_arguments() {
        let a = strings(&[
            "--bundle",
            "/b",
            "--pid-file=/p",
            "c1",
            "--preserve-fds",
            "2",
        ]);
        let mut p = Parsed::default();
        parse(&a, &[verb("create").flags], false, None, &mut p).unwrap();
        assert_eq!(p.args, ["c1"]);
        assert_eq!(p.value("bundle"), Some("/b"));
        assert_eq!(p.value("pid-file"), Some("/p"));
        assert_eq!(p.num::<u32>("preserve-fds"), Ok(Some(2)));
        let a = strings(&["-b", "/b", "c1"]);
        let mut p = Parsed::default();
        parse(&a, &[verb("create").flags], false, None, &mut p).unwrap();
        assert_eq!(p.value("bundle"), Some("/b"));
    }

    #[test]
    fn values_may_look_like_flags() {
        let a = strings(&["--memory-swap", "-1", "--pids-limit", "-1", "-r", "-", "c1"]);
        let mut p = Parsed::default();
        parse(&a, &[verb("update").flags], false, None, &mut p).unwrap();
        assert_eq!(p.num::<i64>("pids-limit"), Ok(Some(-1)));
        assert_eq!(p.value("memory-swap"), Some("-1"));
        assert_eq!(p.value("resources"), Some("-"));
        assert_eq!(p.args, ["c1"]);
    }

    #[test]
    fn exec_command_keeps_its_own_flags() {
        let v = verb("exec");
        let a = strings(&[
            "-e", "A=1", "--env", "B=2", "-t", "c1", "sh", "-c", "--", "echo",
        ]);
        let mut p = Parsed::default();
        parse(&a, &[v.flags], false, v.rest_from, &mut p).unwrap();
        assert_eq!(p.values("env"), ["A=1", "B=2"]);
        assert!(p.has("tty"));
        assert_eq!(p.args, ["c1", "sh", "-c", "--", "echo"]);
    }

    #[test]
    fn errors_in_runc_words() {
        let mut p = Parsed::default();
        let e = parse(&strings(&["--nope"]), &[GLOBAL], true, None, &mut p).unwrap_err();
        assert_eq!(e, "flag provided but not defined: -nope");
        let e = parse(&strings(&["--root"]), &[GLOBAL], true, None, &mut p).unwrap_err();
        assert_eq!(e, "flag needs an argument: -root");
        assert_eq!(
            check_count(verb("start"), 0).unwrap_err(),
            "husk: \"start\" requires exactly 1 argument(s)"
        );
        assert!(check_count(verb("kill"), 2).is_ok());
        assert!(check_count(verb("kill"), 3).is_err());
        let mut p = Parsed::default();
        parse(
            &strings(&["--preserve-fds", "x", "c"]),
            &[verb("create").flags],
            false,
            None,
            &mut p,
        )
        .unwrap();
        assert!(
            p.num::<u32>("preserve-fds")
                .unwrap_err()
                .contains("-preserve-fds")
        );
    }

    #[test]
    fn booleans_take_go_style_values() {
        let mut p = Parsed::default();
        parse(
            &strings(&["--force=true", "c"]),
            &[verb("delete").flags],
            false,
            None,
            &mut p,
        )
        .unwrap();
        assert!(p.has("force"));
        let mut p = Parsed::default();
        parse(
            &strings(&["-f", "--force=false", "c"]),
            &[verb("delete").flags],
            false,
            None,
            &mut p,
        )
        .unwrap();
        assert!(!p.has("force"));
    }

    #[test]
    fn help_among_a_verbs_flags_but_not_in_execs_command() {
        let v = verb("exec");
        for a in [
            &["--help"][..],
            &["-e", "X=1", "-h"],
            &["-d", "--help", "--bogus"],
        ] {
            let mut p = Parsed::default();
            parse(&strings(a), &[v.flags], false, v.rest_from, &mut p).unwrap();
            assert!(p.has("help"), "{a:?}");
        }
        let mut p = Parsed::default();
        parse(
            &strings(&["c1", "ls", "--help"]),
            &[v.flags],
            false,
            v.rest_from,
            &mut p,
        )
        .unwrap();
        assert!(!p.has("help"));
        assert_eq!(p.args, ["c1", "ls", "--help"]);
        let mut p = Parsed::default();
        let e = parse(
            &strings(&["--bogus", "-h"]),
            &[v.flags],
            false,
            v.rest_from,
            &mut p,
        );
        assert_eq!(e.unwrap_err(), "flag provided but not defined: -bogus");
    }

    #[test]
    fn help_lists_every_visible_verb() {
        let h = help(None);
        for v in VERBS.iter().filter(|v| !v.hidden) {
            assert!(h.contains(v.name), "{}", v.name);
        }
        assert!(help(Some(verb("exec"))).contains("--console-socket"));
    }
}
