//! The redundancy scheme a handle writes with: the head's when it has
//! content (a version never mixes schemes), else the file's effective
//! `user.fragfs.redundancy`; and the client that stores with it.

use super::{writer::Content, Core, OpError};
use fragfs::{
    client::Client,
    meta::{Ino, Version},
    redundancy::Redundancy,
};
use std::sync::Arc;

/// The content a writer of `ino` starts from: the head version, if any.
/// Its fragments are written with the head's scheme when the head has
/// content (a version never mixes schemes), else with the file's effective
/// redundancy (`user.fragfs.redundancy`, looked up only then).
pub(super) async fn base_content(
    head: &Option<Version>,
    ino: Ino,
    core: &Core,
) -> Result<Content, OpError> {
    let scheme = match head_scheme(head) {
        Some(r) => r,
        None => core.volume.redundancy_of(ino).await?,
    };
    Ok(base_content_of(head, scheme, core))
}

/// The scheme of a head version with content.
fn head_scheme(head: &Option<Version>) -> Option<Redundancy> {
    head.as_ref()
        .map(|v| &v.manifest)
        .filter(|m| !m.fragments.is_empty())
        .map(|m| m.redundancy)
}

/// The content of `head`, written with `scheme`.
pub(super) fn base_content_of(head: &Option<Version>, scheme: Redundancy, core: &Core) -> Content {
    let cfg = core.volume.client().config();
    Content::new(
        head.as_ref()
            .map(|v| (Arc::new(v.manifest.clone()), v.id, v.hlc)),
        cfg.fragment_size.get(),
        cfg.hash,
        scheme,
    )
}

impl Core {
    /// The client storing fragments with `scheme`: the node's client when
    /// `durable`, else the mount's (see [`Core::client`]). The node's own
    /// scheme needs no new settings.
    pub(super) fn client_for(&self, scheme: Redundancy, durable: bool) -> Client {
        let base = match durable {
            true => self.volume.client(),
            false => &self.client,
        };
        if base.config().scheme() == scheme {
            return base.clone();
        }
        base.with_config(base.config().writing(scheme))
    }
}
