//! Who vouches for each version: a [`Proof`] per version of a regular
//! file, made by its writer and checked twice, by every replica when the
//! version is committed (`Command::SignedCommit`) and by the reader before
//! the version is served (`volume::proven`), so that neither a forged
//! commit nor a replica that alters a version's record can make a reader
//! take bytes nobody signed for.
//!
//! A proof is an ed25519 signature over [`signed_bytes`]: the author, the
//! writer's clock reading, the [`content`] digest of the manifest (its
//! name, size, fragment size, algorithm, redundancy and fragment ids and
//! lengths: not its holders, which repair changes, nor its whole-file
//! hash, which `RecordHash` may fill in later) and the wrapped content key
//! of an encrypted file. The signer is the user a mount acted for, or the
//! node itself for writes no user made (the `fragfs put` of a node, on an
//! open network). A conflict copy keeps the proof of the version it
//! copies; a version re-encoded under another redundancy
//! (`Command::Replace` with other fragment ids) keeps its proof marked
//! [`Proof::reencoded`]: its signature still holds, its content is the one
//! every replica checked to be the same bytes.

use super::accounts::{Accounts, WRAPPED_LEN};
use crate::fragment::Manifest;
use crate::meta::types::{FsError, Hlc, Ino};
use crate::meta::versions::Author;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who signed a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signer {
    /// The node named by the version's author (its peer key).
    Node,
    /// A registered user.
    User(String),
}

/// A file's content key wrapped for a group's key of one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedKey {
    pub group: String,
    pub epoch: u32,
    /// The wrapped key ([`WRAPPED_LEN`] bytes), then, for a version whose
    /// fragments are padded, the note of its exact lengths sealed under
    /// the content key (`trust::sizes`; at most [`MAX_SEALED_NOTE`]
    /// bytes). One field, so that the versions signed before notes existed
    /// read as they were written.
    pub wrapped: Vec<u8>,
}

/// The longest sealed note a [`SealedKey`] carries.
pub const MAX_SEALED_NOTE: usize = 64 * 1024;

impl SealedKey {
    /// The wrapped content key.
    pub fn wrapped_key(&self) -> &[u8] {
        &self.wrapped[..self.wrapped.len().min(WRAPPED_LEN)]
    }

    /// The sealed note of exact lengths, if the version has one.
    pub fn note(&self) -> Option<&[u8]> {
        self.wrapped.get(WRAPPED_LEN..).filter(|n| !n.is_empty())
    }

    /// This key with `note` in place of any note it had.
    pub fn with_note(&self, note: &[u8]) -> SealedKey {
        let mut wrapped = self.wrapped_key().to_vec();
        wrapped.extend_from_slice(note);
        SealedKey {
            wrapped,
            ..self.clone()
        }
    }
}

/// What vouches for one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub signer: Signer,
    /// The [`content`] digest of the manifest as it was signed.
    pub content: [u8; 32],
    /// The content key of an encrypted file.
    pub key: Option<SealedKey>,
    /// ed25519 over [`signed_bytes`].
    pub signature: Vec<u8>,
    /// Set when `Command::Replace` swapped in the same bytes under another
    /// redundancy (other fragment ids).
    pub reencoded: bool,
}

/// The longest signature field accepted (an ed25519 signature is 64 bytes;
/// a node's signature comes through libp2p's encoding, also 64).
const MAX_SIGNATURE: usize = 128;

/// The digest a proof covers: SHA3-256 over the manifest without its
/// holders and its whole-file hash.
pub fn content(m: &Manifest) -> [u8; 32] {
    let ids: Vec<(String, u32)> = m.fragments.iter().map(|f| (f.id.to_hex(), f.len)).collect();
    let form = (
        &m.name,
        m.size,
        m.fragment_size,
        m.hash_algo,
        &m.redundancy,
        ids,
    );
    let bytes = postcard::to_stdvec(&form).expect("serialising plain data cannot fail");
    fragfs_hash::sha3_256(&bytes)
}

/// What a version's signer signs.
pub fn signed_bytes(
    author: &Author,
    hlc: Hlc,
    content: &[u8; 32],
    signer: &Signer,
    key: Option<&SealedKey>,
) -> Vec<u8> {
    let mut m = b"fragfs version v1\0".to_vec();
    let form = (author, hlc, content, signer, key);
    m.extend(postcard::to_stdvec(&form).expect("serialising plain data cannot fail"));
    m
}

/// Why a proof does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("signed by unknown user {0}")]
    UnknownUser(String),
    #[error("the signature does not match")]
    BadSignature,
    #[error("the manifest is not the one signed")]
    OtherContent,
    #[error("the version is not signed")]
    Unsigned,
}

/// Checks `proof` of a version by `author` at `hlc` with `manifest`:
/// signed by its signer over the manifest it has now.
pub fn check(
    proof: &Proof,
    author: &Author,
    hlc: Hlc,
    manifest: &Manifest,
    accounts: &Accounts,
) -> Result<(), ProofError> {
    if !proof.reencoded && proof.content != content(manifest) {
        return Err(ProofError::OtherContent);
    }
    let msg = signed_bytes(
        author,
        hlc,
        &proof.content,
        &proof.signer,
        proof.key.as_ref(),
    );
    let ok = match &proof.signer {
        Signer::Node => match author.peer.parse() {
            Ok(peer) => crate::net::verify_peer_signature(&peer, &msg, &proof.signature),
            Err(_) => false,
        },
        Signer::User(name) => {
            let user = accounts
                .users()
                .get(name)
                .ok_or_else(|| ProofError::UnknownUser(name.clone()))?;
            verify_user(&user.sign, &msg, &proof.signature)
        }
    };
    ok.then_some(()).ok_or(ProofError::BadSignature)
}

fn verify_user(public: &[u8; 32], msg: &[u8], signature: &[u8]) -> bool {
    let (Ok(key), Ok(sig)) = (
        VerifyingKey::from_bytes(public),
        Signature::from_slice(signature),
    ) else {
        return false;
    };
    key.verify(msg, &sig).is_ok()
}

/// The proofs of every kept version, by file and version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proofs {
    files: BTreeMap<Ino, BTreeMap<u64, Proof>>,
}

impl Proofs {
    pub fn get(&self, ino: Ino, version: u64) -> Option<&Proof> {
        self.files.get(&ino)?.get(&version)
    }

    /// Every proof of file `ino`, by version.
    pub fn of(&self, ino: Ino) -> BTreeMap<u64, Proof> {
        self.files.get(&ino).cloned().unwrap_or_default()
    }

    pub(super) fn insert(&mut self, ino: Ino, version: u64, proof: Proof) {
        self.files.entry(ino).or_default().insert(version, proof);
    }

    /// Marks the proof of `ino`'s `version` re-encoded.
    pub(super) fn reencoded(&mut self, ino: Ino, version: u64) {
        if let Some(p) = self.files.get_mut(&ino).and_then(|f| f.get_mut(&version)) {
            p.reencoded = true;
        }
    }

    /// Keeps only the proofs for which `kept(ino, version)` holds.
    pub(super) fn retain(&mut self, mut kept: impl FnMut(Ino, u64) -> bool) {
        self.files.retain(|ino, versions| {
            versions.retain(|v, _| kept(*ino, *v));
            !versions.is_empty()
        });
    }

    /// Checks a proof's shape before it is recorded.
    pub(super) fn check_shape(proof: &Proof) -> Result<(), FsError> {
        let sig = !proof.signature.is_empty() && proof.signature.len() <= MAX_SIGNATURE;
        let key = proof.key.as_ref().is_none_or(|k| {
            let note = k.wrapped.len().saturating_sub(WRAPPED_LEN);
            super::accounts::valid_name(&k.group)
                && k.wrapped.len() >= WRAPPED_LEN
                && note <= MAX_SEALED_NOTE
        });
        let user = match &proof.signer {
            Signer::Node => true,
            Signer::User(name) => super::accounts::valid_name(name),
        };
        (sig && key && user && !proof.reencoded)
            .then_some(())
            .ok_or(FsError::Invalid)
    }
}

impl super::Namespace {
    /// Applies `Command::SignedCommit`: the proof must hold for the
    /// commit's author, clock and manifest before the commit is tried.
    pub(super) fn signed_commit(
        &mut self,
        c: crate::meta::versions::CommitCmd,
        proof: Proof,
    ) -> Result<crate::meta::types::Reply, FsError> {
        Proofs::check_shape(&proof)?;
        check(&proof, &c.author, c.hlc, &c.manifest, &self.accounts).map_err(|e| match e {
            ProofError::UnknownUser(_) => FsError::NotPermitted,
            _ => FsError::Access,
        })?;
        self.check_shared(c.ino, &proof)?;
        let ino = c.ino;
        let reply = self.commit(c)?;
        if let crate::meta::types::Reply::Committed { version, .. } = &reply {
            self.proofs.insert(ino, *version, proof);
        }
        Ok(reply)
    }

    /// On a private network, and in a shared directory, a commit must be
    /// signed.
    pub(super) fn check_unsigned(&self, ino: Ino) -> Result<(), FsError> {
        match self.members.is_private() || self.cover(ino).is_some() {
            true => Err(FsError::Access),
            false => Ok(()),
        }
    }

    /// In a shared directory a version is signed by a member of its group,
    /// and in an encrypted one its content is sealed under a key wrapped
    /// for that group.
    fn check_shared(&self, ino: Ino, proof: &Proof) -> Result<(), FsError> {
        let Some((_, share)) = self.cover(ino) else {
            return Ok(());
        };
        let member = match &proof.signer {
            Signer::User(u) => self.accounts.is_member(&share.group, u),
            Signer::Node => false,
        };
        let sealed = proof.key.as_ref().is_some_and(|k| k.group == share.group);
        match member && (sealed || !share.encrypted) {
            true => Ok(()),
            false => Err(FsError::Access),
        }
    }

    /// Drops the proofs of versions neither a file nor the trash keeps.
    pub(super) fn forget_proofs(&mut self) {
        let (inodes, trash) = (&self.inodes, &self.trash);
        let kept = |ino: Ino, v: u64| {
            let live = match inodes.get(&ino).map(|n| &n.body) {
                Some(super::Body::File { versions }) => Some(versions.as_slice()),
                _ => None,
            };
            let gone = trash.get(&ino).map(|d| d.versions.as_slice());
            live.or(gone)
                .is_some_and(|vs| crate::meta::versions::find(vs, v).is_some())
        };
        self.proofs.retain(kept);
    }
}
