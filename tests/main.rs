//! The integration tests of this crate, built as one binary: each
//! `tNN_*` module is a group of tests; `common` holds their helpers.

mod common;
mod t10_replication;
mod t20_bad_peers;
mod t30_sizes_and_restart;
mod t40_malformed;
mod t50_quorum;
mod t55_erasure;
mod t70_meta_cluster;
mod t75_volume;
mod t80_gc;
mod t81_repair;
mod t82_reencode;
mod t83_members;
mod t84_proofs;
