//! Helpers for the tests that run the `fragfs` binary.
#![allow(dead_code)]

pub mod cli;

#[allow(unused_imports)]
pub use fragfs::testing::random_bytes;
