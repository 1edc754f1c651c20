//! How the command line reports failure: one line on stderr,
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

/// `e` and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn t10_argument_errors_are_one_line() {
        for argv in [
            &["fragfs"][..],
            &["fragfs", "frobnicate"],
            &["fragfs", "put"],
            &["fragfs", "put", "f", "--replicas", "many"],
            &["fragfs", "meta", "remove", "x"],
            &["fragfs", "ls", "--bogus"],
        ] {
            let e = crate::cli::Cli::try_parse_from(argv).expect_err("refused");
            assert!(e.use_stderr(), "{argv:?}");
            let line = clap_error_line(&e);
            assert!(!line.contains('\n') && !line.is_empty(), "{argv:?}: {line}");
            assert!(!line.starts_with("error"), "{argv:?}: {line}");
        }
        let e = crate::cli::Cli::try_parse_from(["fragfs", "put"]).expect_err("refused");
        let line = clap_error_line(&e);
        assert!(line.contains("<FILE>"), "{line}");
        assert!(line.contains("(usage: fragfs put"), "{line}");
    }

    #[test]
    fn t10_every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            for a in cmd.get_arguments() {
                let builtin = matches!(a.get_id().as_str(), "help" | "version");
                if !builtin && a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {}", a.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" && sub.get_about().is_none() {
                    missing.push(format!("{path} {} (no about)", sub.get_name()));
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&crate::cli::Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }
}
