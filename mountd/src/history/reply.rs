//! Answers to the kernel for the tree's operations: the closures the
//! `fuser` callbacks in [`crate::fs`] hand to their spawned task.

use super::TTL;
use crate::attr::file_attr;
use fragfs::meta::Attr;
use fuser::{Errno, FileHandle, FopenFlags, Generation, ReplyAttr, ReplyEntry, ReplyOpen};

pub fn entry(reply: ReplyEntry) -> impl FnOnce(Result<Attr, Errno>) + Send + 'static {
    move |r| match r {
        Ok(a) => reply.entry(&TTL, &file_attr(&a), Generation(0)),
        Err(e) => reply.error(e),
    }
}

pub fn attr(reply: ReplyAttr) -> impl FnOnce(Result<Attr, Errno>) + Send + 'static {
    move |r| match r {
        Ok(a) => reply.attr(&TTL, &file_attr(&a)),
        Err(e) => reply.error(e),
    }
}

/// An opened version keeps the kernel's pages: a version never changes.
pub fn opened(reply: ReplyOpen) -> impl FnOnce(Result<u64, Errno>) + Send + 'static {
    move |r| match r {
        Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE),
        Err(e) => reply.error(e),
    }
}

pub fn opened_dir(reply: ReplyOpen) -> impl FnOnce(Result<u64, Errno>) + Send + 'static {
    move |r| match r {
        Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
        Err(e) => reply.error(e),
    }
}
