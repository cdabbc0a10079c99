//! The parent/init message decoding: arbitrary bytes written into one end
//! of a socketpair and read back with `husk::process::protocol::recv` until
//! end of stream or an error (the length prefix and the JSON both come from
//! the input), and the same bytes decoded directly as a `Message`.
//!
//! Checked besides "never panics": a message that decoded can be sent and
//! received again (what the parent sends, the init can read).
#![no_main]

use std::io::Write;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;

use husk::process::protocol::{self, Message};
use libfuzzer_sys::fuzz_target;

/// Well below a socketpair's buffer, so that writing it all before reading never blocks.
const MAX_INPUT: usize = 64 * 1024;

fn round_trip(msg: &Message) {
    let (mut a, mut b) = UnixStream::pair().expect("socketpair");
    let encoded = serde_json::to_vec(msg).expect("a Message serialises");
    if encoded.len() > MAX_INPUT {
        return;
    }
    protocol::send(&mut a, msg).expect("send");
    drop(a);
    match protocol::recv(&mut b) {
        Ok(Some(_)) => {}
        other => panic!(
            "a decoded message does not survive a resend: {other:?}\n{}",
            String::from_utf8_lossy(&encoded)
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    if let Ok(msg) = serde_json::from_slice::<Message>(data) {
        round_trip(&msg);
    }

    let (mut a, mut b) = UnixStream::pair().expect("socketpair");
    a.write_all(data).expect("write to socketpair");
    a.shutdown(Shutdown::Write).expect("shutdown");
    // At most one message per 4 bytes of input: the loop ends.
    while let Ok(Some(msg)) = protocol::recv(&mut b) {
        round_trip(&msg);
    }
});
