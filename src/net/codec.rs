//! The request/response codec for fragment messages: length-prefixed frames
//! (see [`crate::wire`]) whose length is checked before any allocation.

use super::NetCounters;
use crate::wire::{check_frame_len, Request, Response, WireError};
use bytes::Bytes;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{request_response, StreamProtocol};
use std::{
    io,
    sync::{atomic::Ordering, Arc},
};

/// libp2p reports a request that fails to decode only at debug level and
/// without an event, so the codec itself logs and counts rejected requests.
#[derive(Clone, Default)]
pub struct FragmentCodec {
    counters: Arc<NetCounters>,
}

impl FragmentCodec {
    pub fn new(counters: Arc<NetCounters>) -> Self {
        FragmentCodec { counters }
    }
}

fn invalid(e: WireError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The first allocation for a frame body; it doubles (up to the announced
/// length) only as bytes arrive.
const FIRST_CHUNK: usize = 64 * 1024;

/// Reads exactly `len` bytes into `out`, growing it as they arrive: a peer
/// that announces a large frame and sends little costs what it sent, not
/// what it announced. `out` ends with a capacity of exactly `len` when it
/// started empty.
pub(crate) async fn read_growing<T: AsyncRead + Unpin>(
    io: &mut T,
    len: usize,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    while out.len() < len {
        if out.len() == out.capacity() {
            let more = (len - out.len()).min(out.len().max(FIRST_CHUNK));
            out.reserve_exact(more);
        }
        let have = out.len();
        let room = (out.capacity() - have).min(len - have);
        out.resize(have + room, 0);
        let got = match io.read(&mut out[have..]).await {
            Ok(n) => n,
            Err(e) => {
                out.truncate(have);
                return Err(e);
            }
        };
        out.truncate(have + got);
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

async fn read_body<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Bytes> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = check_frame_len(prefix).map_err(invalid)?;
    let mut body = Vec::new();
    read_growing(io, len, &mut body).await?;
    Ok(Bytes::from(body))
}

impl request_response::Codec for FragmentCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Request> {
        let res = match read_body(io).await {
            Ok(body) => Request::from_body(body).map_err(invalid),
            Err(e) => Err(e),
        };
        if let Err(e) = &res {
            self.counters.malformed_in.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "rejected a malformed fragment request");
        }
        res
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Response> {
        Response::from_body(read_body(io).await?).map_err(invalid)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Request,
    ) -> io::Result<()> {
        let (head, payload) = req.frame_parts();
        io.write_all(&head).await?;
        io.write_all(payload).await?;
        io.flush().await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> io::Result<()> {
        let (head, payload) = res.frame_parts();
        io.write_all(&head).await?;
        io.write_all(payload).await?;
        io.flush().await
    }
}

/// Largest metadata message: snapshots travel in chunks far below this.
pub const MAX_META_FRAME: usize = 64 << 20;

/// Opaque length-prefixed byte frames for the metadata protocol; the meta
/// layer encodes and decodes the bodies.
#[derive(Clone, Default)]
pub struct BytesCodec {
    counters: Arc<NetCounters>,
}

impl BytesCodec {
    pub fn new(counters: Arc<NetCounters>) -> Self {
        BytesCodec { counters }
    }
}

async fn read_bytes<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Bytes> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix) as usize;
    if len == 0 || len > MAX_META_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("metadata frame of {len} bytes"),
        ));
    }
    let mut body = Vec::new();
    read_growing(io, len, &mut body).await?;
    Ok(Bytes::from(body))
}

async fn write_bytes<T: AsyncWrite + Unpin + Send>(io: &mut T, b: &[u8]) -> io::Result<()> {
    if b.is_empty() || b.len() > MAX_META_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("metadata frame of {} bytes", b.len()),
        ));
    }
    io.write_all(&(b.len() as u32).to_be_bytes()).await?;
    io.write_all(b).await?;
    io.flush().await
}

impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Bytes;
    type Response = Bytes;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Bytes> {
        let r = read_bytes(io).await;
        if let Err(e) = &r {
            self.counters.malformed_in.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "rejected a malformed metadata request");
        }
        r
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Bytes> {
        read_bytes(io).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Bytes,
    ) -> io::Result<()> {
        write_bytes(io, &req).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Bytes,
    ) -> io::Result<()> {
        write_bytes(io, &res).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            std::task::Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn t40_a_lying_length_costs_only_what_arrived() {
        let sent = vec![7u8; 1000];
        let mut io = Trickle {
            data: &sent,
            step: 300,
        };
        let mut out = Vec::new();
        let r = futures::executor::block_on(read_growing(&mut io, 16 << 20, &mut out));
        assert_eq!(r.map_err(|e| e.kind()), Err(io::ErrorKind::UnexpectedEof));
        assert_eq!(out, sent, "what arrived is kept");
        assert!(out.capacity() <= FIRST_CHUNK, "capacity {}", out.capacity());
    }

    #[test]
    fn t40_a_whole_frame_is_read_exactly() {
        for len in [
            1,
            FIRST_CHUNK - 1,
            FIRST_CHUNK,
            FIRST_CHUNK + 1,
            3 * FIRST_CHUNK + 5,
        ] {
            let sent: Vec<u8> = (0..len + 10).map(|i| i as u8).collect();
            let mut io = Trickle {
                data: &sent,
                step: 4097,
            };
            let mut out = Vec::new();
            futures::executor::block_on(read_growing(&mut io, len, &mut out)).expect("read");
            assert_eq!(out, sent[..len], "{len} bytes");
            assert_eq!(out.capacity(), len, "no slack kept for {len} bytes");
            assert_eq!(io.data, &sent[len..], "nothing read past the frame");
        }
    }
}
