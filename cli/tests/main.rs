//! The integration tests of this crate, built as one binary: each
//! `tNN_*` module is a group of tests; `common` holds their helpers.

mod common;
mod t60_cli;
mod t61_erasure_cli;
mod t62_versions;
mod t63_versions_mount;
mod t64_redundancy;
mod t65_cli_errors;
mod t66_pin;
mod t67_sync;
mod t68_workers;
mod t69_scrub;
mod t70_members;
mod t71_accounts;
mod t72_shares;
mod t73_workflow;
mod t80_meta_processes;
