//! The messages peers exchange about fragments, and their byte form.
//!
//! A message on the wire is one [`crate::frame`] (a 4-byte big-endian body
//! length, then the body, at most [`MAX_FRAME`] bytes) whose body is one
//! format-version byte ([`WIRE_VERSION`]), the postcard encoding of a header
//! enum, and the raw payload bytes the header announces (fragment data
//! travels outside postcard so it is neither re-encoded nor copied element
//! by element).
//!
//! **Architecture invariant:** pure encoding. No IO here; `net` moves frames.

use crate::fragment::{FragmentId, FragmentSize};
use crate::frame::{FrameError, Framing};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Version byte that starts every frame body.
pub const WIRE_VERSION: u8 = 1;

/// Largest `Has` query, in ids.
pub const MAX_HAS_IDS: usize = 4096;

/// Largest frame body: the largest fragment plus room for a header.
pub const MAX_FRAME: usize = FragmentSize::MAX as usize + 64 * 1024;

/// The framing of fragment messages.
pub const FRAMING: Framing = Framing::new("fragment", MAX_FRAME);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Send me the bytes of this fragment.
    Get { id: FragmentId },
    /// Store these bytes; they must hash to `id`.
    Put { id: FragmentId, data: Bytes },
    /// Which of these do you hold?
    Has { ids: Vec<FragmentId> },
    /// How much does your store hold, and how much may it hold?
    Stat,
    /// Store these bytes (they must hash to `id`) without waiting for the
    /// disk: they are durable after the next `Sync`.
    PutBuffered { id: FragmentId, data: Bytes },
    /// Make everything stored so far durable (answered by `Synced`).
    Sync,
    /// Refresh these if you hold them: a writer is about to commit a
    /// version that refers to them, so the collector must keep them for
    /// another grace period (answered by `Has`: which are held).
    Touch { ids: Vec<FragmentId> },
    /// Send me bytes `start..start + len` of this fragment (BLAKE3 ids
    /// only) as a verified slice (`fragfs_hash::slices`): answered by
    /// `Data` holding the slice, which the asker opens against the id.
    GetSlice {
        id: FragmentId,
        start: u32,
        len: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Data {
        data: Bytes,
    },
    Stored,
    NotFound,
    Has {
        present: Vec<bool>,
    },
    /// The peer's store is at capacity.
    Full,
    /// The request was understood but refused (bad hash, too large, ...).
    Rejected {
        reason: String,
    },
    /// The peer's copy failed verification and was moved aside.
    Corrupt,
    /// The peer failed internally (disk error, shutting down).
    Failed {
        reason: String,
    },
    /// The answer to `Stat`: bytes of fragments held, and the most it keeps.
    Usage {
        used: u64,
        capacity: u64,
    },
    /// The answer to `Sync`: everything stored before it is on disk.
    Synced,
}

// New variants go at the end of these enums: postcard encodes a variant as
// its index, so bytes of older peers keep their meaning.
#[derive(Serialize, Deserialize)]
enum RequestHeader {
    Get {
        id: FragmentId,
    },
    Put {
        id: FragmentId,
        len: u32,
    },
    Has {
        ids: Vec<FragmentId>,
    },
    Stat,
    PutBuffered {
        id: FragmentId,
        len: u32,
    },
    Sync,
    Touch {
        ids: Vec<FragmentId>,
    },
    GetSlice {
        id: FragmentId,
        start: u32,
        len: u32,
    },
}

#[derive(Serialize, Deserialize)]
enum ResponseHeader {
    Data { len: u32 },
    Stored,
    NotFound,
    Has { present: Vec<bool> },
    Full,
    Rejected { reason: String },
    Corrupt,
    Failed { reason: String },
    Usage { used: u64, capacity: u64 },
    Synced,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("empty frame")]
    Empty,
    #[error("wire format version {0} is not supported (this build speaks {WIRE_VERSION})")]
    Version(u8),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A frame body as its head (version, header) and the payload that follows
/// it, so a writer can send the payload without copying it.
fn parts<'a>(header: &impl Serialize, payload: &'a [u8]) -> (Vec<u8>, &'a [u8]) {
    // Encoding plain data into a Vec cannot fail.
    let head = postcard::to_stdvec(header).expect("header serialisation");
    let mut out = Vec::with_capacity(1 + head.len());
    out.push(WIRE_VERSION);
    out.extend_from_slice(&head);
    (out, payload)
}

/// The whole frame (length prefix included) of a body in two parts.
fn framed((head, payload): (Vec<u8>, &[u8])) -> Result<Vec<u8>, WireError> {
    Ok(FRAMING.encode(&[&head, payload])?)
}

/// Splits a frame body into its header and the payload the header announces.
fn decode<'a, H: Deserialize<'a>>(
    body: &'a Bytes,
    payload_len: impl Fn(&H) -> usize,
) -> Result<(H, Bytes), WireError> {
    let (&version, rest) = body.split_first().ok_or(WireError::Empty)?;
    if version != WIRE_VERSION {
        return Err(WireError::Version(version));
    }
    let (header, tail) =
        postcard::take_from_bytes::<H>(rest).map_err(|e| WireError::Malformed(e.to_string()))?;
    let want = payload_len(&header);
    if tail.len() != want {
        return Err(WireError::Malformed(format!(
            "payload is {} bytes, header says {want}",
            tail.len()
        )));
    }
    let start = body.len() - tail.len();
    Ok((header, body.slice(start..)))
}

impl Request {
    /// The whole frame, length prefix included.
    pub fn to_frame(&self) -> Result<Vec<u8>, WireError> {
        framed(self.body_parts())
    }

    /// The frame body's head and its payload (fragment bytes), to be
    /// written one after the other after the length prefix.
    pub fn body_parts(&self) -> (Vec<u8>, &[u8]) {
        match self {
            Request::Get { id } => parts(&RequestHeader::Get { id: *id }, &[]),
            Request::Put { id, data } => parts(
                &RequestHeader::Put {
                    id: *id,
                    len: data.len() as u32,
                },
                data,
            ),
            Request::Has { ids } => parts(&RequestHeader::Has { ids: ids.clone() }, &[]),
            Request::Stat => parts(&RequestHeader::Stat, &[]),
            Request::PutBuffered { id, data } => parts(
                &RequestHeader::PutBuffered {
                    id: *id,
                    len: data.len() as u32,
                },
                data,
            ),
            Request::Sync => parts(&RequestHeader::Sync, &[]),
            Request::Touch { ids } => parts(&RequestHeader::Touch { ids: ids.clone() }, &[]),
            Request::GetSlice { id, start, len } => parts(
                &RequestHeader::GetSlice {
                    id: *id,
                    start: *start,
                    len: *len,
                },
                &[],
            ),
        }
    }

    /// Parses a frame body (without the length prefix).
    pub fn from_body(body: Bytes) -> Result<Self, WireError> {
        let (h, payload) = decode::<RequestHeader>(&body, |h| match h {
            RequestHeader::Put { len, .. } | RequestHeader::PutBuffered { len, .. } => {
                *len as usize
            }
            _ => 0,
        })?;
        Ok(match h {
            RequestHeader::Get { id } => Request::Get { id },
            RequestHeader::Put { id, .. } => {
                if payload.len() > FragmentSize::MAX as usize {
                    return Err(WireError::TooLarge(payload.len()));
                }
                Request::Put { id, data: payload }
            }
            RequestHeader::Has { ids } => Request::Has {
                ids: bounded_ids(ids)?,
            },
            RequestHeader::Touch { ids } => Request::Touch {
                ids: bounded_ids(ids)?,
            },
            RequestHeader::Stat => Request::Stat,
            RequestHeader::PutBuffered { id, .. } => {
                if payload.len() > FragmentSize::MAX as usize {
                    return Err(WireError::TooLarge(payload.len()));
                }
                Request::PutBuffered { id, data: payload }
            }
            RequestHeader::Sync => Request::Sync,
            RequestHeader::GetSlice { id, start, len } => Request::GetSlice { id, start, len },
        })
    }
}

impl Response {
    pub fn to_frame(&self) -> Result<Vec<u8>, WireError> {
        framed(self.body_parts())
    }

    pub fn body_parts(&self) -> (Vec<u8>, &[u8]) {
        match self {
            Response::Data { data } => parts(
                &ResponseHeader::Data {
                    len: data.len() as u32,
                },
                data,
            ),
            Response::Stored => parts(&ResponseHeader::Stored, &[]),
            Response::NotFound => parts(&ResponseHeader::NotFound, &[]),
            Response::Has { present } => parts(
                &ResponseHeader::Has {
                    present: present.clone(),
                },
                &[],
            ),
            Response::Full => parts(&ResponseHeader::Full, &[]),
            Response::Rejected { reason } => parts(
                &ResponseHeader::Rejected {
                    reason: reason.clone(),
                },
                &[],
            ),
            Response::Corrupt => parts(&ResponseHeader::Corrupt, &[]),
            Response::Failed { reason } => parts(
                &ResponseHeader::Failed {
                    reason: reason.clone(),
                },
                &[],
            ),
            Response::Usage { used, capacity } => parts(
                &ResponseHeader::Usage {
                    used: *used,
                    capacity: *capacity,
                },
                &[],
            ),
            Response::Synced => parts(&ResponseHeader::Synced, &[]),
        }
    }

    pub fn from_body(body: Bytes) -> Result<Self, WireError> {
        let (h, payload) = decode::<ResponseHeader>(&body, |h| match h {
            ResponseHeader::Data { len } => *len as usize,
            _ => 0,
        })?;
        Ok(match h {
            ResponseHeader::Data { .. } => Response::Data { data: payload },
            ResponseHeader::Stored => Response::Stored,
            ResponseHeader::NotFound => Response::NotFound,
            ResponseHeader::Has { present } => Response::Has { present },
            ResponseHeader::Full => Response::Full,
            ResponseHeader::Rejected { reason } => Response::Rejected { reason },
            ResponseHeader::Corrupt => Response::Corrupt,
            ResponseHeader::Failed { reason } => Response::Failed { reason },
            ResponseHeader::Usage { used, capacity } => Response::Usage { used, capacity },
            ResponseHeader::Synced => Response::Synced,
        })
    }
}

/// Splits a complete frame (prefix included) into its body; for tests and
/// for readers that already hold the whole frame.
pub fn body_of(frame: &[u8]) -> Result<Bytes, WireError> {
    Ok(FRAMING.body_of(frame)?)
}

/// The ids of a `Has` or `Touch`, at most [`MAX_HAS_IDS`].
fn bounded_ids(ids: Vec<FragmentId>) -> Result<Vec<FragmentId>, WireError> {
    if ids.len() > MAX_HAS_IDS {
        return Err(WireError::Malformed(format!(
            "query of {} ids (max {MAX_HAS_IDS})",
            ids.len()
        )));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fragment::HashAlgo;

    fn id() -> FragmentId {
        FragmentId::of(HashAlgo::Sha3_256, b"a")
    }

    fn all_requests() -> Vec<Request> {
        vec![
            Request::Get { id: id() },
            Request::Put {
                id: id(),
                data: Bytes::from_static(b"abc"),
            },
            Request::Has {
                ids: vec![id(), FragmentId::of(HashAlgo::Blake3, b"b")],
            },
            Request::Stat,
            Request::PutBuffered {
                id: id(),
                data: Bytes::from_static(b"abc"),
            },
            Request::Sync,
            Request::Touch { ids: vec![id()] },
            Request::GetSlice {
                id: id(),
                start: 4096,
                len: 8192,
            },
        ]
    }

    fn all_responses() -> Vec<Response> {
        vec![
            Response::Data {
                data: Bytes::from_static(b"xyz"),
            },
            Response::Stored,
            Response::NotFound,
            Response::Has {
                present: vec![true, false],
            },
            Response::Full,
            Response::Rejected {
                reason: "no".into(),
            },
            Response::Corrupt,
            Response::Failed {
                reason: "disk".into(),
            },
            Response::Usage {
                used: 300,
                capacity: 64 << 20,
            },
            Response::Synced,
        ]
    }

    #[test]
    fn t10_round_trip() {
        for r in all_requests() {
            assert_eq!(
                Request::from_body(body_of(&r.to_frame().unwrap()).unwrap()).unwrap(),
                r
            );
        }
        for r in all_responses() {
            assert_eq!(
                Response::from_body(body_of(&r.to_frame().unwrap()).unwrap()).unwrap(),
                r
            );
        }
    }

    /// Every message in the order of the pinned file: the first three
    /// requests and eight responses, then each later addition in the order
    /// it came (`Stat`, `Usage`; then `PutBuffered`, `Sync`, `Synced`; then
    /// `Touch`; then `GetSlice`), so lines once pinned never move.
    fn pinned_order() -> Vec<Result<Request, Response>> {
        let (req, resp) = (all_requests(), all_responses());
        let mut v: Vec<Result<Request, Response>> = Vec::new();
        v.extend(req[..3].iter().cloned().map(Ok));
        v.extend(resp[..8].iter().cloned().map(Err));
        v.push(Ok(req[3].clone()));
        v.push(Err(resp[8].clone()));
        v.extend(req[4..6].iter().cloned().map(Ok));
        v.extend(resp[9..].iter().cloned().map(Err));
        v.extend(req[6..].iter().cloned().map(Ok));
        v
    }

    /// Pins the byte form of every message against committed bytes, both
    /// ways: each message encodes to its line, and each line decodes to it.
    #[test]
    fn t10_encoding_is_pinned() {
        let pinned: Vec<&str> = include_str!("../tests/data/wire-v1.hex").lines().collect();
        let msgs = pinned_order();
        assert_eq!(msgs.len(), pinned.len(), "one pinned line per message");
        for (m, line) in msgs.iter().zip(&pinned) {
            let body = body_of(&hex::decode(line).unwrap()).unwrap();
            match m {
                Ok(r) => {
                    assert_eq!(hex::encode(r.to_frame().unwrap()), *line, "{r:?}");
                    assert_eq!(Request::from_body(body).unwrap(), *r);
                }
                Err(r) => {
                    assert_eq!(hex::encode(r.to_frame().unwrap()), *line, "{r:?}");
                    assert_eq!(Response::from_body(body).unwrap(), *r);
                }
            }
        }
    }

    #[test]
    fn t20_malformed_bodies_are_errors_not_panics() {
        let mut over = (MAX_FRAME as u32 + 1).to_be_bytes().to_vec();
        over.resize(4 + MAX_FRAME + 1, 0);
        assert_eq!(
            body_of(&over),
            Err(WireError::Frame(FrameError::TooLarge {
                what: "fragment",
                len: MAX_FRAME + 1,
                max: MAX_FRAME
            }))
        );
        assert_eq!(
            body_of(&[0; 4]),
            Err(WireError::Frame(FrameError::Empty { what: "fragment" }))
        );
        assert!(matches!(
            Request::from_body(Bytes::from_static(&[2, 0])),
            Err(WireError::Version(2))
        ));
        assert!(matches!(
            Request::from_body(Bytes::from_static(&[1, 9])),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            Request::from_body(Bytes::new()),
            Err(WireError::Empty)
        ));
        // A put whose header claims more payload than follows.
        let mut f = Request::Put {
            id: id(),
            data: Bytes::from_static(b"abc"),
        }
        .to_frame()
        .unwrap();
        f.pop();
        assert!(matches!(
            Request::from_body(Bytes::from(f[4..].to_vec())),
            Err(WireError::Malformed(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn t20_random_bytes_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = Request::from_body(Bytes::from(body.clone()));
            let _ = Response::from_body(Bytes::from(body));
        }
    }
}
