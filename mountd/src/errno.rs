//! The error of one FUSE operation, and the one place fragfs errors become
//! errno values.

use fragfs::{
    client::ClientError,
    meta::{FsError, MetaError},
    volume::VolumeError,
};
use fuser::Errno;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The namespace refused, or the metadata service failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// Storing or fetching bytes failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The operation's deadline passed.
    #[error("deadline of {0:?} passed")]
    Timeout(Duration),
    /// A request the mount itself refuses (bad handle, buffer too small…).
    #[error("{what}")]
    Refused { errno: Errno, what: &'static str },
    /// An answer of the wrong shape: a broken invariant.
    #[error("bug: {0}")]
    Bug(String),
    /// Background work the operation waited for was cancelled (unmount).
    #[error("{0} was cancelled")]
    Cancelled(&'static str),
}

/// The volume's errors as they were before the volume existed: the
/// namespace's and the client's keep their own errno, a reply of the
/// wrong kind is a bug.
impl From<VolumeError> for OpError {
    fn from(e: VolumeError) -> Self {
        match e {
            VolumeError::Fs(f) => OpError::Meta(MetaError::Fs(f)),
            VolumeError::Meta(m) => OpError::Meta(m),
            VolumeError::Client(c) => OpError::Client(c),
            VolumeError::Protocol(p) => OpError::Bug(p),
            // Already logged where it was refused.
            VolumeError::Forged { .. } => OpError::Refused {
                errno: Errno::EIO,
                what: "a version whose signature does not hold",
            },
        }
    }
}

impl OpError {
    pub fn refused(errno: Errno, what: &'static str) -> Self {
        OpError::Refused { errno, what }
    }
}

/// The errno a local filesystem would give for `e`.
pub fn errno(e: &OpError) -> Errno {
    match e {
        OpError::Meta(MetaError::Fs(f)) => fs_errno(f),
        OpError::Meta(MetaError::NoQuorum(_)) => Errno::ETIMEDOUT,
        OpError::Meta(MetaError::NoVoter | MetaError::Store(_) | MetaError::Other(_)) => Errno::EIO,
        OpError::Client(_) => Errno::EIO,
        OpError::Timeout(_) => Errno::EIO,
        OpError::Refused { errno, .. } => *errno,
        OpError::Bug(_) => Errno::EIO,
        OpError::Cancelled(_) => Errno::EIO,
    }
}

fn fs_errno(e: &FsError) -> Errno {
    match e {
        FsError::NotFound => Errno::ENOENT,
        FsError::Exists => Errno::EEXIST,
        FsError::NotEmpty => Errno::ENOTEMPTY,
        FsError::NotDir => Errno::ENOTDIR,
        FsError::IsDir => Errno::EISDIR,
        FsError::Invalid => Errno::EINVAL,
        FsError::NameTooLong => Errno::ENAMETOOLONG,
        FsError::TooManyLinks => Errno::EMLINK,
        FsError::Loop => Errno::ELOOP,
        FsError::NoData => Errno::ENODATA,
        FsError::TooBig => Errno::E2BIG,
        FsError::NotPermitted => Errno::EPERM,
        FsError::Conflict { .. } => Errno::EIO,
        FsError::WouldBlock => Errno::EAGAIN,
        FsError::NoLocks => Errno::ENOLCK,
        FsError::Access => Errno::EACCES,
        FsError::CrossShare => Errno::EXDEV,
    }
}

/// Whether an error is the caller's (ENOENT and friends: expected, logged
/// quietly) rather than the system's (EIO, timeouts: logged as warnings).
pub fn is_system_error(e: &OpError) -> bool {
    matches!(errno(e), Errno::EIO | Errno::ETIMEDOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_every_fs_error_has_its_posix_errno() {
        let cases = [
            (FsError::NotFound, libc::ENOENT),
            (FsError::Exists, libc::EEXIST),
            (FsError::NotEmpty, libc::ENOTEMPTY),
            (FsError::NotDir, libc::ENOTDIR),
            (FsError::IsDir, libc::EISDIR),
            (FsError::Invalid, libc::EINVAL),
            (FsError::NameTooLong, libc::ENAMETOOLONG),
            (FsError::TooManyLinks, libc::EMLINK),
            (FsError::Loop, libc::ELOOP),
            (FsError::NoData, libc::ENODATA),
            (FsError::TooBig, libc::E2BIG),
            (FsError::NotPermitted, libc::EPERM),
            (FsError::Conflict { head: Some(3) }, libc::EIO),
            (FsError::WouldBlock, libc::EAGAIN),
            (FsError::NoLocks, libc::ENOLCK),
            (FsError::Access, libc::EACCES),
            (FsError::CrossShare, libc::EXDEV),
        ];
        for (fs, want) in cases {
            assert_eq!(
                errno(&OpError::Meta(MetaError::Fs(fs.clone()))),
                Errno::from_i32(want),
                "{fs:?}"
            );
        }
        assert_eq!(
            errno(&OpError::Meta(MetaError::NoQuorum(Duration::from_secs(5)))),
            Errno::ETIMEDOUT
        );
        assert_eq!(errno(&OpError::Meta(MetaError::NoVoter)), Errno::EIO);
        assert_eq!(
            errno(&OpError::Timeout(Duration::from_secs(30))),
            Errno::EIO
        );
    }

    #[test]
    fn t10_volume_errors_keep_their_errno() {
        let v = |e: VolumeError| errno(&OpError::from(e));
        assert_eq!(v(VolumeError::Fs(FsError::NotFound)), Errno::ENOENT);
        assert_eq!(v(VolumeError::Fs(FsError::WouldBlock)), Errno::EAGAIN);
        assert_eq!(
            v(VolumeError::Meta(MetaError::NoQuorum(Duration::from_secs(
                1
            )))),
            Errno::ETIMEDOUT
        );
        assert_eq!(v(VolumeError::Meta(MetaError::NoVoter)), Errno::EIO);
        assert_eq!(v(VolumeError::Protocol("x".into())), Errno::EIO);
        assert!(matches!(
            OpError::from(VolumeError::Fs(FsError::Exists)),
            OpError::Meta(MetaError::Fs(FsError::Exists))
        ));
    }
}
