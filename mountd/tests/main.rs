//! The integration tests of this crate, built as one binary: each
//! `tNN_*` module is a group of tests; `common` holds their helpers.

mod common;
mod t10_mount;
mod t20_system;
mod t30_invalidation;
mod t40_content;
mod t50_faults;
mod t60_limits;
mod t65_memory;
mod t70_fileops;
mod t75_locks;
mod t80_tools;
mod t90_conformance;
mod t94_holds;
mod t95_history;
mod t96_merge;
mod t97_space;
mod t98_coded;
mod t99_redundancy;
