//! Versions signed when they are written and checked before they are
//! served (`meta::proofs`). A commit carries a proof signed by the user
//! the caller acts as (`trust::Acting`), or by the node for a caller
//! acting for nobody; a head read from the namespace is served only when
//! its proof holds against the author's registered key and the manifest
//! it has now. A version that fails is refused ([`VolumeError::Forged`])
//! and logged; on a private network an unsigned version fails too.

use super::{Volume, VolumeError};
use crate::meta::accounts::Accounts;
use crate::meta::proofs::{self, Proof, ProofError, SealedKey, Signer};
use crate::meta::{CommitCmd, Ino, Query, QueryReply, Version};
use std::collections::BTreeMap;
use std::sync::Arc;

impl Volume {
    /// The proof of commit `c`, signed for the user `c.caller` acts as.
    pub(super) fn prove(&self, c: &CommitCmd, key: Option<SealedKey>) -> Proof {
        let content = proofs::content(&c.manifest);
        let user = self.acting.user_of(c.caller.uid);
        let signer = match user {
            Some(u) => Signer::User(u.name().to_owned()),
            None => Signer::Node,
        };
        let msg = proofs::signed_bytes(&c.author, c.hlc, &content, &signer, key.as_ref());
        let signature = match user {
            Some(u) => u.sign(&msg).to_vec(),
            None => self.inner.net.sign(&msg),
        };
        Proof {
            signer,
            content,
            key,
            signature,
            reencoded: false,
        }
    }

    /// Checks version `v` of file `ino` against `proof` before it is
    /// served.
    pub(super) async fn check_proof(
        &self,
        ino: Ino,
        v: &Version,
        proof: Option<&Proof>,
    ) -> Result<(), VolumeError> {
        let Some(proof) = proof else {
            return match self.is_private() {
                true => Err(self.forged(ino, v, ProofError::Unsigned)),
                false => Ok(()),
            };
        };
        let accounts = self.accounts(false).await?;
        let mut r = proofs::check(proof, &v.author, v.hlc, &v.manifest, &accounts);
        if let Err(ProofError::UnknownUser(_)) = r {
            // A user registered since the accounts were read.
            let accounts = self.accounts(true).await?;
            r = proofs::check(proof, &v.author, v.hlc, &v.manifest, &accounts);
        }
        r.map_err(|e| self.forged(ino, v, e))
    }

    fn forged(&self, ino: Ino, v: &Version, why: ProofError) -> VolumeError {
        tracing::error!(ino, version = v.id, author = %v.author, "refused a version: {why}");
        VolumeError::Forged {
            ino,
            version: v.id,
            why,
        }
    }

    /// The proofs of every version of file `ino` that has one.
    pub async fn proofs(&self, ino: Ino) -> Result<BTreeMap<u64, Proof>, VolumeError> {
        match self.read(Query::Proofs { ino }).await?.reply {
            QueryReply::Proofs(p) => Ok(p),
            other => Err(super::reply::wrong("proofs", other)),
        }
    }

    /// Checks version `v` of file `ino` (any version, not only the head)
    /// against its proof before it is served, and returns the wrapped
    /// content key it was sealed under, if it is sealed.
    pub async fn version_key(
        &self,
        ino: Ino,
        v: &Version,
    ) -> Result<Option<SealedKey>, VolumeError> {
        let proofs = self.proofs(ino).await?;
        let proof = proofs.get(&v.id);
        self.check_proof(ino, v, proof).await?;
        Ok(proof.and_then(|p| p.key.clone()))
    }

    /// The namespace's users and groups, as last read (again when `fresh`).
    pub async fn accounts(&self, fresh: bool) -> Result<Arc<Accounts>, VolumeError> {
        if !fresh {
            if let Some(a) = self
                .inner
                .accounts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                return Ok(a);
            }
        }
        let a = match self.read(Query::Accounts).await?.reply {
            QueryReply::Accounts(a) => Arc::new(a),
            other => return Err(super::reply::wrong("accounts", other)),
        };
        *self
            .inner
            .accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(a.clone());
        Ok(a)
    }

    fn is_private(&self) -> bool {
        self.inner
            .private
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Marks this volume's network private: unsigned versions are refused.
    pub fn set_private(&self, private: bool) {
        self.inner
            .private
            .store(private, std::sync::atomic::Ordering::Relaxed);
    }
}
