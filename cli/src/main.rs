//! The `fragfs` binary: the command line over the `fragfs` library, in a
//! crate of its own so that the library never depends on clap, indicatif
//! or anyhow.
//!
//! The library's modules are imported at this crate's root, so the
//! command-line code names them as `crate::node`, `crate::meta`, … as it
//! did when it lived inside the library.

mod cli;

#[allow(unused_imports)]
use fragfs::*;

fn main() -> std::process::ExitCode {
    cli::main()
}
