//! Logging in runc's formats: `--log-format text` writes logrus-style lines
//! (`time="..." level=info msg="..."`), `json` writes one JSON object a line
//! (`{"level":"info","msg":"...","time":"..."}`), to `--log FILE` or stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Output format of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

struct Logger {
    out: Mutex<Option<File>>,
    format: Format,
}

static LOGGER: std::sync::OnceLock<Logger> = std::sync::OnceLock::new();

/// Set up logging. Returns whether the log goes to a file (in which case
/// errors are also printed plainly on stderr, as runc does).
pub fn init(log: Option<&Path>, format: Format, debug: bool) -> std::io::Result<bool> {
    let file = match log {
        Some(p) if !p.as_os_str().is_empty() && p != Path::new("/dev/stderr") => {
            Some(OpenOptions::new().create(true).append(true).open(p)?)
        }
        _ => None,
    };
    let to_file = file.is_some();
    let logger = LOGGER.get_or_init(|| Logger {
        out: Mutex::new(file),
        format,
    });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(if debug {
            LevelFilter::Debug
        } else {
            LevelFilter::Info
        });
    }
    Ok(to_file)
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// Render one log line in the given format (without the newline).
pub fn render(format: Format, level: &str, msg: &str, time: &str) -> String {
    match format {
        Format::Json => serde_json::json!({"level": level, "msg": msg, "time": time}).to_string(),
        Format::Text => {
            // logrus quotes the message with Go's %q rules; JSON string escaping
            // is the same for everything a message holds in practice.
            let quoted = serde_json::Value::String(msg.to_string()).to_string();
            format!("time=\"{time}\" level={level} msg={quoted}")
        }
    }
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = render(
            self.format,
            level_name(r.level()),
            &r.args().to_string(),
            &rfc3339_now(),
        );
        let mut guard = match self.out.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match guard.as_mut() {
            Some(f) => {
                let _ = writeln!(f, "{line}");
            }
            None => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }

    fn flush(&self) {}
}

/// The current time as RFC 3339 in UTC with nanoseconds, as Go's RFC3339Nano.
pub fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

/// Format seconds since the epoch plus nanoseconds as RFC 3339 UTC.
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let frac = if nanos == 0 {
        String::new()
    } else {
        let s = format!(".{nanos:09}");
        s.trim_end_matches('0').to_string()
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400, 500_000_000), "2000-02-29T00:00:00.5Z");
        assert_eq!(
            rfc3339(1_795_000_000, 123),
            "2026-11-18T11:06:40.000000123Z"
        );
    }

    #[test]
    fn renders_like_logrus() {
        let j = render(Format::Json, "error", "container does not exist", "T");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap_or_default();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container does not exist");
        assert_eq!(v["time"], "T");
        assert_eq!(
            render(Format::Text, "info", "a \"b\"", "T"),
            "time=\"T\" level=info msg=\"a \\\"b\\\"\""
        );
    }
}
