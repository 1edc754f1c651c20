//! How every fragfs program (`fragfs`, `fragfs-mountd`, `mount.fragfs`)
//! reports failure: one line on stderr,
//! `PROGRAM: error: …`, and a non-zero exit. Argument errors found by clap
//! are folded into that line too; `--help` and `--version` print as usual
//! and exit 0.

use std::process::ExitCode;

/// Exit code of an argument error (clap's).
pub const USAGE_EXIT: u8 = 2;

/// Lets a one-shot command whose output is cut short (`fragfs tree | head`)
/// end quietly, as other Unix tools do, instead of panicking in `println!`.
/// Not for a long-running node, which must outlive whatever reads it.
pub fn die_quietly_on_closed_stdout() {
    // SAFETY: signal(2) with SIG_DFL installs no handler; it is called
    // before any thread of this process is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `e` and its causes on one line. The alternate form (`{:#}`) is used,
/// which is how `anyhow::Error` prints its chain of causes.
pub fn one_line(e: &(impl std::fmt::Display + ?Sized)) -> String {
    flatten(&format!("{e:#}"))
}

fn flatten(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints what clap had to say: help and version as they are (exit 0), an
/// argument error as one line (exit [`USAGE_EXIT`]).
pub fn exit_on_clap_error(program: &str, e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    eprintln!("{program}: error: {}", clap_error_line(e));
    ExitCode::from(USAGE_EXIT)
}

/// A clap error as one line: its message (without the `error:` label,
/// tips and the pointer to `--help`) and the usage of the command.
pub fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut message = Vec::new();
    let mut usage = None;
    for line in text.lines().map(str::trim) {
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u.to_string());
        } else if usage.is_none()
            && !line.is_empty()
            && !line.starts_with("tip:")
            && !line.starts_with("For more information")
        {
            message.push(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    let mut out = message.join(" ");
    if let Some(u) = usage {
        out.push_str(&format!(" (usage: {u})"));
    }
    out
}
