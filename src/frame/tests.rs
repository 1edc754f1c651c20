use super::*;
use std::{
    pin::Pin,
    task::{Context, Poll},
};
use tokio::io::ReadBuf;
use tokio_util::codec::Encoder;

const SMALL: Framing = Framing::new("test", 100);
const BIG: Framing = Framing::new("big", 16 << 20);

/// A reader that hands out at most `step` bytes per read, then ends.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Trickle {
    fn new(data: Vec<u8>, step: usize) -> Self {
        Trickle { data, at: 0, step }
    }
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf
            .remaining()
            .min(self.step)
            .min(self.data.len() - self.at);
        let at = self.at;
        buf.put_slice(&self.data[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

fn kind_and_error(e: io::Error) -> (io::ErrorKind, Option<FrameError>) {
    let kind = e.kind();
    let inner = e
        .into_inner()
        .and_then(|i| i.downcast::<FrameError>().ok())
        .map(|b| *b);
    (kind, inner)
}

#[test]
fn t10_frames_are_byte_identical_to_the_codec_and_the_old_form() {
    for body in [vec![1u8], vec![7u8; 100], (0..=255u8).collect::<Vec<_>>()] {
        let framing = Framing::new("any", 1 << 10);
        let ours = framing.encode(&[&body[..1], &body[1..]]).unwrap();
        let mut codec = LengthDelimitedCodec::builder()
            .length_field_length(4)
            .big_endian()
            .new_codec();
        let mut theirs = BytesMut::new();
        codec.encode(&body[..], &mut theirs).unwrap();
        assert_eq!(ours, theirs[..], "the codec's bytes");
        let mut old = (body.len() as u32).to_be_bytes().to_vec();
        old.extend_from_slice(&body);
        assert_eq!(ours, old, "4-byte big-endian length, then the body");
        assert_eq!(framing.body_of(&ours).unwrap(), body[..]);
    }
}

#[test]
fn t10_every_limit_fits_the_prefix() {
    for f in [SMALL, BIG, crate::wire::FRAMING, crate::net::META_FRAMING] {
        assert!(u32::try_from(f.max()).is_ok(), "{f:?}");
    }
}

#[tokio::test]
async fn t10_a_stream_of_frames_reads_back_in_order() {
    let bodies: Vec<Vec<u8>> = (1..=5).map(|n| vec![n as u8; n * 19 + 5]).collect();
    let mut stream = Vec::new();
    for b in &bodies {
        SMALL.write(&mut stream, &[b]).await.unwrap();
    }
    let mut r = SMALL.reader(Trickle::new(stream, 7));
    for b in &bodies {
        assert_eq!(r.next().await.unwrap().unwrap(), b[..]);
    }
    assert!(
        r.next().await.is_none(),
        "the stream ends after the last frame"
    );
}

#[tokio::test]
async fn t40_a_lying_length_costs_only_what_arrived() {
    let mut sent = (16u32 << 20).to_be_bytes().to_vec();
    sent.extend_from_slice(&[7u8; 1000]);
    let mut r = BIG.reader(Trickle::new(sent, 300));
    let e = r.next().await.unwrap().unwrap_err();
    assert_eq!(
        kind_and_error(e),
        (
            io::ErrorKind::UnexpectedEof,
            Some(FrameError::Truncated {
                what: "big",
                got: 1004
            })
        )
    );
    let cap = r.read_buffer().capacity();
    assert!(cap <= 64 * 1024, "a 16 MiB announcement cost {cap} bytes");
}

#[tokio::test]
async fn t40_whole_frames_of_boundary_sizes_are_read_exactly() {
    for len in [1, 8191, 8192, 8193, 64 * 1024 + 1, 3 * 64 * 1024 + 5] {
        let body: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut sent = BIG.encode(&[&body]).unwrap();
        sent.extend_from_slice(b"next");
        let mut r = BIG.reader(Trickle::new(sent, 4097));
        assert_eq!(r.next().await.unwrap().unwrap(), body[..], "{len} bytes");
        let cap = r.read_buffer().capacity();
        assert!(cap <= 2 * len + 16 * 1024, "{len} bytes kept {cap}");
    }
}

#[tokio::test]
async fn t20_bad_frames_are_clear_errors() {
    let read = |bytes: Vec<u8>| async move { SMALL.read_one(Trickle::new(bytes, 3)).await };
    let over = read(101u32.to_be_bytes().to_vec()).await.unwrap_err();
    assert_eq!(
        kind_and_error(over),
        (
            io::ErrorKind::InvalidData,
            Some(FrameError::TooLarge {
                what: "test",
                len: 101,
                max: 100
            })
        )
    );
    let empty = read(0u32.to_be_bytes().to_vec()).await.unwrap_err();
    assert_eq!(
        kind_and_error(empty),
        (
            io::ErrorKind::InvalidData,
            Some(FrameError::Empty { what: "test" })
        )
    );
    let short_prefix = read(vec![0, 0]).await.unwrap_err();
    assert_eq!(
        kind_and_error(short_prefix).1,
        Some(FrameError::Truncated {
            what: "test",
            got: 2
        })
    );
    let closed = read(Vec::new()).await.unwrap_err();
    assert_eq!(
        kind_and_error(closed),
        (
            io::ErrorKind::UnexpectedEof,
            Some(FrameError::Closed { what: "test" })
        )
    );
    assert_eq!(
        read(SMALL.encode(&[b"ok"]).unwrap()).await.unwrap(),
        b"ok"[..]
    );
}

#[tokio::test]
async fn t20_a_body_over_the_limit_is_not_written() {
    let mut out = Vec::new();
    let e = SMALL
        .write(&mut out, &[&[1u8; 60], &[2u8; 41]])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(out.is_empty(), "nothing of it was written");
    assert!(SMALL.encode(&[]).is_err(), "an empty body has no frame");
}

#[test]
fn t20_a_frame_in_memory_must_match_its_prefix() {
    let mut f = SMALL.encode(&[b"abc"]).unwrap();
    f.push(0);
    assert_eq!(
        SMALL.body_of(&f),
        Err(FrameError::Trailing {
            what: "test",
            extra: 1
        })
    );
    f.truncate(5);
    assert_eq!(
        SMALL.body_of(&f),
        Err(FrameError::Truncated {
            what: "test",
            got: 5
        })
    );
}
