//! Unit tests of the seccomp compiler: profiles are compiled and the program
//! is run on a BPF interpreter ([`interp`]) with synthetic `seccomp_data`;
//! the result is compared with what runc/libseccomp would return (written
//! out by hand in the tests) and with the plan's meaning ([`model`]).

mod actions;
mod arches;
mod args;
mod interp;
mod kernel;
mod model;
mod real;

use oci_spec::runtime::LinuxSeccomp;
use serde_json::Value;

use super::arch::Arch;
use super::profile::{self, Plan};
use super::{Filter, compile};
use interp::Data;

// Return values (SECCOMP_RET_*).
pub const ALLOW: u32 = 0x7fff_0000;
pub const LOG: u32 = 0x7ffc_0000;
pub const NOTIFY: u32 = 0x7fc0_0000;
pub const TRAP: u32 = 0x0003_0000;
pub const KILL_THREAD: u32 = 0;
pub const KILL_PROCESS: u32 = 0x8000_0000;
pub const fn errno(e: i32) -> u32 {
    0x0005_0000 | e as u32
}
pub const fn trace(v: u32) -> u32 {
    0x7ff0_0000 | v
}
pub const EPERM: u32 = errno(libc::EPERM);
pub const ENOSYS: u32 = errno(libc::ENOSYS);

/// `linux.seccomp` from JSON.
pub fn profile(v: Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("profile JSON")
}

/// A compiled profile with its plan, checked as the kernel would check it.
pub struct Compiled {
    pub plan: Plan,
    pub filter: Filter,
}

impl Compiled {
    pub fn new(v: Value) -> Compiled {
        let p = profile(v);
        let plan = profile::plan(&p).expect("plan");
        let filter = compile(&p).expect("compile");
        interp::check(&filter.program).expect("kernel checks");
        Compiled { plan, filter }
    }

    /// What the filter returns for `d`; also asserts that the plan's
    /// meaning agrees.
    pub fn on(&self, d: Data) -> u32 {
        let (got, _) = interp::run(&self.filter.program, &d);
        assert_eq!(
            got,
            model::expect(&self.plan, &d),
            "program and plan disagree on {d:x?}"
        );
        got
    }

    /// `name` with `args` in `arch` (first number the ABI has for it).
    pub fn call(&self, arch: Arch, name: &str, args: &[u64]) -> u32 {
        let nr =
            super::tables::lookup(arch, name).unwrap_or_else(|| panic!("{arch:?} has no {name}"));
        self.on(Data::new(arch, nr).args(args))
    }

    pub fn x64(&self, name: &str, args: &[u64]) -> u32 {
        self.call(Arch::X86_64, name, args)
    }

    /// Instructions run for `d`.
    pub fn steps(&self, d: Data) -> usize {
        interp::run(&self.filter.program, &d).1
    }
}

/// The error message of compiling `v`.
pub fn compile_err(v: Value) -> String {
    match serde_json::from_value::<LinuxSeccomp>(v) {
        Ok(p) => compile(&p).expect_err("should not compile").to_string(),
        Err(e) => format!("(spec) {e}"),
    }
}

/// A small deterministic generator (xorshift64*), for the randomised tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[test]
fn filter_serde_round_trip() {
    let c = Compiled::new(serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 1, "value": 0x1_0000_0001u64, "op": "SCMP_CMP_GT"}]}]
    }));
    let json = serde_json::to_string(&c.filter).unwrap();
    let back: Filter = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c.filter);
}
