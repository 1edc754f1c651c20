//! The command line's arguments: every error is one line, every argument
//! has help.

use super::report::clap_error_line;
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
