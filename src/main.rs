//! The `husk` binary. When started as the container's init (`husk init`,
//! re-executed by `create` from the sealed binary) it hands over to the init
//! before anything else runs; otherwise it is the command line.

fn main() {
    let mut args = std::env::args_os();
    if args.nth(1).is_some_and(|a| a == husk::process::INIT_ARG)
        && std::env::var_os(husk::process::INIT_SOCK_ENV).is_some()
    {
        husk::init::main();
    }
    std::process::exit(husk::cli::main());
}
