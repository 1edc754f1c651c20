//! The request/response codecs of the fragment protocol ([`crate::wire`]
//! messages) and of the metadata RPCs (opaque bodies): [`crate::frame`]s
//! over libp2p streams, each protocol with its own limit.

use super::NetCounters;
use crate::{
    frame::Framing,
    wire::{self, Request, Response, WireError},
};
use bytes::Bytes;
use futures::{AsyncRead, AsyncWrite};
use libp2p::{request_response, StreamProtocol};
use std::{
    io,
    sync::{atomic::Ordering, Arc},
};
use tokio_util::compat::{FuturesAsyncReadCompatExt, FuturesAsyncWriteCompatExt};

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

/// Reads one frame of `framing` from a libp2p stream (one message per
/// stream and direction).
async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    framing: &Framing,
) -> io::Result<Bytes> {
    framing.read_one(io.compat()).await
}

/// Writes one frame of `framing` to a libp2p stream.
async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    framing: &Framing,
    parts: &[&[u8]],
) -> io::Result<()> {
    framing.write(&mut io.compat_write(), parts).await
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
        let res = match read_frame(io, &wire::FRAMING).await {
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
        Response::from_body(read_frame(io, &wire::FRAMING).await?).map_err(invalid)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Request,
    ) -> io::Result<()> {
        let (head, payload) = req.body_parts();
        write_frame(io, &wire::FRAMING, &[&head, payload]).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> io::Result<()> {
        let (head, payload) = res.body_parts();
        write_frame(io, &wire::FRAMING, &[&head, payload]).await
    }
}

/// Largest metadata message: snapshots travel in chunks far below this.
pub const MAX_META_FRAME: usize = 64 << 20;

/// The framing of metadata messages.
pub const META_FRAMING: Framing = Framing::new("metadata", MAX_META_FRAME);

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

impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Bytes;
    type Response = Bytes;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Bytes> {
        let r = read_frame(io, &META_FRAMING).await;
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
        read_frame(io, &META_FRAMING).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Bytes,
    ) -> io::Result<()> {
        write_frame(io, &META_FRAMING, &[&req]).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Bytes,
    ) -> io::Result<()> {
        write_frame(io, &META_FRAMING, &[&res]).await
    }
}
