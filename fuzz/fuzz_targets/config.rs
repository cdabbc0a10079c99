//! config.json loading and validation: `husk::spec::parse` then
//! `husk::spec::validate` on arbitrary bytes, and `parse_process` (the JSON
//! of `exec --process`). Errors are fine; a panic is a bug.
//!
//! Besides "never panics" it checks one property `create` relies on: a
//! config that parsed and validated reaches the init as serde JSON inside
//! the Bootstrap message, so serialising the Spec and reading it back
//! must work.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::Spec;

fuzz_target!(|data: &[u8]| {
    let _ = husk::spec::parse_process(data);
    let Ok(spec) = husk::spec::parse(data) else {
        return;
    };
    if husk::spec::validate(&spec).is_err() {
        return;
    }
    let json = serde_json::to_vec(&spec).expect("a parsed Spec serialises");
    if let Err(e) = serde_json::from_slice::<Spec>(&json) {
        panic!(
            "a valid config does not survive the trip to the init: {e}\n{}",
            String::from_utf8_lossy(&json)
        );
    }
});
