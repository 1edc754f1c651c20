//! Sealed fragments: a client given a file's content key
//! ([`Client::sealed`]) seals each fragment it stores with `fragfs-seal`
//! (AES-256-GCM-SIV, deterministic per key) before hashing and placing it,
//! and opens each fragment it fetches after checking it against its id.
//! So a fragment's id is the hash of its ciphertext (storage peers verify
//! what they hold without any key), an unchanged fragment keeps its id
//! from version to version, and the manifest's lengths stay those of the
//! plaintext (a sealed fragment is [`SEALED_OVERHEAD`] bytes longer).

use super::{blocking, Client, ClientError};
use crate::fragment::FragmentEntry;
use bytes::Bytes;
use fragfs_seal::{open_fragment, seal_fragment, ContentKey, SEALED_OVERHEAD};
use std::sync::Arc;

impl Client {
    /// This client sealing with `key` (None: storing plaintext).
    pub fn sealed(&self, key: Option<Arc<ContentKey>>) -> Client {
        Client {
            seal: key,
            ..self.clone()
        }
    }

    /// Whether this client seals what it stores.
    pub fn is_sealed(&self) -> bool {
        self.seal.is_some()
    }

    /// `data` as it is stored: sealed under the client's key, if any.
    pub(super) async fn seal_bytes(&self, data: Bytes) -> Result<Bytes, ClientError> {
        let Some(key) = self.seal.clone() else {
            return Ok(data);
        };
        let sealed = blocking(move || seal_fragment(&key, &data)).await?;
        sealed
            .map(Bytes::from)
            .map_err(|e| ClientError::Sealed(e.to_string()))
    }

    /// The plaintext of entry `f` from its stored bytes `data` (already
    /// checked against `f.id`), of the length the manifest says.
    pub(super) async fn open_bytes(
        &self,
        f: &FragmentEntry,
        data: Bytes,
    ) -> Result<Bytes, ClientError> {
        let Some(key) = self.seal.clone() else {
            return Ok(data);
        };
        let plain = blocking(move || open_fragment(&key, &data)).await?;
        let plain = plain.map_err(|e| ClientError::Sealed(format!("fragment {}: {e}", f.id)))?;
        if plain.len() != f.len as usize {
            return Err(ClientError::Sealed(format!(
                "fragment {} opens to {} bytes, the manifest says {}",
                f.id,
                plain.len(),
                f.len
            )));
        }
        Ok(Bytes::from(plain))
    }

    /// The stored length of entry `f`.
    pub(super) fn stored_len(&self, f: &FragmentEntry) -> u32 {
        match self.seal {
            Some(_) => f.len.saturating_add(SEALED_OVERHEAD as u32),
            None => f.len,
        }
    }
}
