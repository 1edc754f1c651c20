//! Length-prefixed frames: the one framing of every fragfs protocol (the
//! fragment protocol, the metadata RPCs and the control socket).
//!
//! A frame is a 4-byte big-endian body length, then the body. Each protocol
//! has its own [`Framing`]: a name for its errors and its largest body. The
//! body is opaque here; each protocol starts it with its own version byte.
//!
//! Frames are split by tokio-util's `LengthDelimitedCodec`. That codec
//! reserves a frame's announced length as soon as it has read the prefix;
//! [`FrameDecoder`] checks the prefix and hands the codec a frame only once
//! all of its bytes are buffered, so a reader's buffer grows with the bytes
//! that arrived (it doubles at most), never with what a peer announced.
//!
//! **Architecture invariant:** knows no message; bodies are bytes.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Decoder, FramedRead, LengthDelimitedCodec};

/// Bytes of the length prefix.
pub const PREFIX_LEN: usize = 4;

/// One protocol's framing: its name (for errors) and its largest body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    name: &'static str,
    max: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{what} frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("empty {what} frame")]
    Empty { what: &'static str },
    #[error("truncated {what} frame: the stream ended after {got} of its bytes")]
    Truncated { what: &'static str, got: usize },
    #[error("the stream ended before a {what} frame")]
    Closed { what: &'static str },
    #[error("{extra} bytes follow a {what} frame")]
    Trailing { what: &'static str, extra: usize },
}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> io::Error {
        let kind = match e {
            FrameError::Truncated { .. } | FrameError::Closed { .. } => {
                io::ErrorKind::UnexpectedEof
            }
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

impl Framing {
    /// A framing named `name` (in errors) whose bodies hold 1 to `max` bytes.
    pub const fn new(name: &'static str, max: usize) -> Self {
        Framing { name, max }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Checks a body length: neither empty nor over the limit.
    pub fn check(&self, len: usize) -> Result<(), FrameError> {
        if len == 0 {
            Err(FrameError::Empty { what: self.name })
        } else if len > self.max {
            Err(FrameError::TooLarge {
                what: self.name,
                len,
                max: self.max,
            })
        } else {
            Ok(())
        }
    }

    /// The length prefix of a body of `len` bytes.
    pub fn prefix(&self, len: usize) -> Result<[u8; PREFIX_LEN], FrameError> {
        self.check(len)?;
        // `max` fits in u32 for every framing (checked by the tests below);
        // a larger `len` was refused above.
        let len = u32::try_from(len).map_err(|_| FrameError::TooLarge {
            what: self.name,
            len,
            max: self.max,
        })?;
        Ok(len.to_be_bytes())
    }

    /// The whole frame of a body given in parts (prefix included).
    pub fn encode(&self, parts: &[&[u8]]) -> Result<Vec<u8>, FrameError> {
        let len = parts.iter().map(|p| p.len()).sum();
        let mut out = Vec::with_capacity(PREFIX_LEN + len);
        out.extend_from_slice(&self.prefix(len)?);
        for p in parts {
            out.extend_from_slice(p);
        }
        Ok(out)
    }

    /// Writes one frame whose body is `parts` one after the other (a large
    /// payload is written from where it is, not copied), then flushes.
    pub async fn write<W: AsyncWrite + Unpin>(
        &self,
        io: &mut W,
        parts: &[&[u8]],
    ) -> io::Result<()> {
        let len = parts.iter().map(|p| p.len()).sum();
        let prefix = self
            .prefix(len)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        io.write_all(&prefix).await?;
        for p in parts {
            io.write_all(p).await?;
        }
        io.flush().await
    }

    /// The decoder of this framing's frames, for a `FramedRead`.
    pub fn decoder(&self) -> FrameDecoder {
        FrameDecoder {
            framing: *self,
            codec: LengthDelimitedCodec::builder()
                .length_field_length(PREFIX_LEN)
                .big_endian()
                .max_frame_length(self.max)
                .new_codec(),
        }
    }

    /// A stream of this framing's frames read from `io`.
    pub fn reader<R: AsyncRead>(&self, io: R) -> FramedRead<R, FrameDecoder> {
        FramedRead::new(io, self.decoder())
    }

    /// Reads one frame's body. Bytes that follow it on `io` may be read
    /// and are dropped: for streams that carry one message each way (read
    /// a stream of frames with [`Framing::reader`]).
    pub async fn read_one<R: AsyncRead + Unpin>(&self, io: R) -> io::Result<Bytes> {
        match self.reader(io).next().await {
            Some(r) => r,
            None => Err(FrameError::Closed { what: self.name }.into()),
        }
    }

    /// The body of a whole frame held in memory (prefix included).
    pub fn body_of(&self, frame: &[u8]) -> Result<Bytes, FrameError> {
        let mut buf = BytesMut::from(frame);
        let mut d = self.decoder();
        let body = match d.decode_eof(&mut buf) {
            Ok(Some(body)) => body,
            Ok(None) => return Err(FrameError::Closed { what: self.name }),
            Err(e) => return Err(frame_error(e, self.name)),
        };
        if !buf.is_empty() {
            return Err(FrameError::Trailing {
                what: self.name,
                extra: buf.len(),
            });
        }
        Ok(body)
    }
}

/// The [`FrameError`] inside an error of [`FrameDecoder`].
fn frame_error(e: io::Error, what: &'static str) -> FrameError {
    match e.into_inner().map(|i| i.downcast::<FrameError>()) {
        Some(Ok(f)) => *f,
        _ => FrameError::Closed { what },
    }
}

/// `LengthDelimitedCodec` with the framing's checks first, fed only whole
/// frames (see the module header).
#[derive(Debug)]
pub struct FrameDecoder {
    framing: Framing,
    codec: LengthDelimitedCodec,
}

impl Decoder for FrameDecoder {
    type Item = Bytes;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Bytes>> {
        let Some(head) = src.get(..PREFIX_LEN) else {
            return Ok(None);
        };
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(head);
        let len = u32::from_be_bytes(prefix) as usize;
        self.framing.check(len)?;
        if src.len() - PREFIX_LEN < len {
            // Not all here yet: the reader's buffer grows as bytes arrive.
            return Ok(None);
        }
        Ok(self.codec.decode(src)?.map(BytesMut::freeze))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<Bytes>> {
        match self.decode(src)? {
            Some(body) => Ok(Some(body)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::Truncated {
                what: self.framing.name,
                got: src.len(),
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests;
