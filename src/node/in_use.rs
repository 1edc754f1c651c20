//! Whether a data directory is held by a running node, and by which
//! process: a node answers on its control socket, and the socket's peer
//! credentials name the process that listens on it.

use std::path::{Path, PathBuf};

/// A running node holding a data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub data_dir: PathBuf,
    /// The process listening on the control socket, when the kernel says.
    pub pid: Option<u32>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the data directory {} is in use: a fragfs node is already running on it",
            self.data_dir.display()
        )?;
        match self.pid {
            Some(pid) => write!(f, " (pid {pid})"),
            None => Ok(()),
        }
    }
}

/// The running node that holds `data_dir`, if one answers on its control
/// socket.
pub fn data_dir_holder(data_dir: &Path) -> Option<Holder> {
    let sock = crate::control::socket_path(data_dir);
    let stream = std::os::unix::net::UnixStream::connect(sock).ok()?;
    let pid = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
        .ok()
        .and_then(|c| u32::try_from(c.pid()).ok())
        .filter(|p| *p > 0);
    Some(Holder {
        data_dir: data_dir.to_path_buf(),
        pid,
    })
}
