//! Content operations on ranges of an open file beyond read and write:
//! `fallocate` (allocate, keep size, punch a hole, zero a range),
//! `lseek` with `SEEK_DATA`/`SEEK_HOLE`, and `copy_file_range`.
//!
//! Holes are whole fragments: never written, punched, or stored as the
//! fragment of zeros of their length (recognised by its id). A copy whose
//! source and destination line up on fragments of the same size shares the
//! source's stored fragments (nothing is stored again); other pieces are
//! copied as bytes through the handle's ordinary read and write paths.
//!
//! Must not: know fuser's request or reply types, or hold a source's and a
//! destination's content locks at once (one is released before the other
//! is taken, so copies in opposite directions cannot deadlock).

use super::{writer::Slot, Core, OpError, OpenFile};
use fragfs::{
    fragment::{FragmentEntry, FragmentId, HashAlgo, Manifest},
    redundancy::Redundancy,
};
use fuser::Errno;
use std::{collections::HashMap, sync::Mutex};

/// Bytes one `copy_file_range` call copies through read and write at
/// most (sharing stored fragments is not counted): the caller asks again
/// for the rest.
const COPY_BYTES: u64 = 16 << 20;
/// The most one call reports (a FUSE write reply holds 32 bits), in pages.
const COPY_MAX: u64 = u32::MAX as u64 & !0xfff;

/// `fallocate` modes, as the kernel passes them.
const KEEP_SIZE: i32 = libc::FALLOC_FL_KEEP_SIZE;
const PUNCH_HOLE: i32 = libc::FALLOC_FL_PUNCH_HOLE;
const ZERO_RANGE: i32 = libc::FALLOC_FL_ZERO_RANGE;

/// What a `fallocate` call asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Falloc {
    /// The size does not grow.
    keep_size: bool,
    /// The range becomes zeros (punched or zeroed).
    zero: bool,
}

impl Falloc {
    /// Mode 0, `KEEP_SIZE`, `PUNCH_HOLE | KEEP_SIZE`, `ZERO_RANGE` (with
    /// or without `KEEP_SIZE`); anything else is `EOPNOTSUPP`.
    fn of(mode: i32) -> Result<Falloc, OpError> {
        let unsupported = OpError::refused(Errno::EOPNOTSUPP, "unsupported fallocate mode");
        let keep_size = mode & KEEP_SIZE != 0;
        match mode & !KEEP_SIZE {
            0 => Ok(Falloc {
                keep_size,
                zero: false,
            }),
            PUNCH_HOLE if keep_size => Ok(Falloc {
                keep_size,
                zero: true,
            }),
            ZERO_RANGE => Ok(Falloc {
                keep_size,
                zero: true,
            }),
            _ => Err(unsupported),
        }
    }
}

/// The ids of the fragments of zeros, per algorithm and length (a file has
/// one or two lengths; the table is emptied if it ever holds many).
#[derive(Default)]
pub struct ZeroIds(Mutex<HashMap<(HashAlgo, u32), FragmentId>>);

impl ZeroIds {
    async fn get(&self, algo: HashAlgo, len: u32) -> Result<FragmentId, OpError> {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = lock().get(&(algo, len)) {
            return Ok(*id);
        }
        let id =
            tokio::task::spawn_blocking(move || FragmentId::of(algo, &vec![0u8; len as usize]))
                .await
                .map_err(|e| OpError::Bug(format!("hashing zeros failed: {e}")))?;
        let mut map = lock();
        if map.len() >= 64 {
            map.clear();
        }
        map.insert((algo, len), id);
        Ok(id)
    }

    async fn is_zeros(&self, algo: HashAlgo, e: &FragmentEntry) -> Result<bool, OpError> {
        Ok(e.id == self.get(algo, e.len).await?)
    }
}

/// What a seek or a copy reads from: the version a read-only handle
/// opened, or a writer's content.
enum Src<'a> {
    Version(&'a Manifest),
    Content(&'a super::writer::Content),
}

impl Src<'_> {
    fn size(&self) -> u64 {
        match self {
            Src::Version(m) => m.size,
            Src::Content(c) => c.size(),
        }
    }

    fn fsz(&self) -> u64 {
        match self {
            Src::Version(m) => u64::from(m.fragment_size.get()),
            Src::Content(c) => c.fragment_size(),
        }
    }

    fn algo(&self) -> HashAlgo {
        match self {
            Src::Version(m) => m.hash_algo,
            Src::Content(c) => c.algo(),
        }
    }

    fn scheme(&self) -> Redundancy {
        match self {
            Src::Version(m) => m.redundancy,
            Src::Content(c) => c.scheme,
        }
    }
}

/// One piece of a copy, as read from the source.
enum Piece {
    /// A whole stored fragment to share (`unsynced`: the source handle
    /// stored it and its holders may not have synced it yet).
    Share {
        entry: FragmentEntry,
        unsynced: bool,
    },
    /// This many zeros.
    Zeros(u64),
    Bytes(Vec<u8>),
}

impl Core {
    /// `fallocate(2)` on handle `fh` (open for writing): `len` bytes at
    /// `offset`, `mode` as the kernel passes it.
    pub async fn fallocate(
        &self,
        fh: u64,
        offset: u64,
        len: u64,
        mode: i32,
    ) -> Result<(), OpError> {
        let how = Falloc::of(mode)?;
        if len == 0 {
            return Err(OpError::refused(Errno::EINVAL, "empty fallocate range"));
        }
        let of = self.handle(fh)?;
        let w = of
            .writer
            .as_ref()
            .ok_or(OpError::refused(Errno::EBADF, "not open for writing"))?;
        let mut buf = w.buf.lock().await;
        let res = match buf.check_end(offset.checked_add(len)) {
            Ok(end) => self.fallocate_content(&mut buf, offset, end, how).await,
            Err(e) => Err(e),
        };
        w.mirror(&buf);
        res
    }

    async fn fallocate_content(
        &self,
        c: &mut super::writer::Content,
        offset: u64,
        end: u64,
        how: Falloc,
    ) -> Result<(), OpError> {
        // Nothing is reserved ahead: fragments take room when stored.
        if how.zero {
            self.zero_content(c, offset, end.min(c.size())).await?;
        }
        if !how.keep_size && end > c.size() {
            self.resize_content(c, end).await?;
        }
        Ok(())
    }

    /// Bytes `from..to` (within the size) of `c` become zeros: whole
    /// fragments become holes, the ends are written with zeros.
    async fn zero_content(
        &self,
        c: &mut super::writer::Content,
        from: u64,
        to: u64,
    ) -> Result<(), OpError> {
        let fsz = c.fragment_size();
        let mut pos = from;
        while pos < to {
            let i = pos / fsz;
            let start = i * fsz;
            let end = (start + c.frag_len(i) as u64).min(to);
            if pos == start && end == start + c.frag_len(i) as u64 {
                if !matches!(c.slot(i), Slot::Zeros) {
                    c.zero_fragment(i);
                }
            } else {
                let zeros = vec![0u8; (end - pos) as usize];
                self.write_content(c, pos, &zeros).await?;
            }
            pos = end;
        }
        Ok(())
    }

    /// `lseek(2)` with `SEEK_DATA` or `SEEK_HOLE` on handle `fh`: the
    /// first offset from `offset` in data (or in a hole; the end of the
    /// file is one), in whole fragments; `ENXIO` at or past the end.
    pub async fn seek(&self, fh: u64, offset: i64, whence: i32) -> Result<i64, OpError> {
        let want_data = match whence {
            libc::SEEK_DATA => true,
            libc::SEEK_HOLE => false,
            _ => return Err(OpError::refused(Errno::EINVAL, "unsupported lseek whence")),
        };
        let of = self.handle(fh)?;
        let found = match (&of.writer, &of.head) {
            (Some(w), _) => {
                let buf = w.buf.lock().await;
                self.seek_in(&Src::Content(&buf), offset, want_data).await?
            }
            (None, Some(v)) => {
                self.seek_in(&Src::Version(&v.manifest), offset, want_data)
                    .await?
            }
            (None, None) => None,
        };
        let found = found.ok_or(OpError::refused(Errno::ENXIO, "no data or hole there"))?;
        i64::try_from(found).map_err(|_| OpError::Bug("offset past i64".into()))
    }

    async fn seek_in(
        &self,
        src: &Src<'_>,
        offset: i64,
        want_data: bool,
    ) -> Result<Option<u64>, OpError> {
        let size = src.size();
        let Ok(offset) = u64::try_from(offset) else {
            return Ok(None);
        };
        if offset >= size {
            return Ok(None);
        }
        let fsz = src.fsz();
        for i in offset / fsz..size.div_ceil(fsz) {
            if self.is_hole(src, i).await? != want_data {
                return Ok(Some(offset.max(i * fsz)));
            }
        }
        // No data after `offset`; or the hole at the end of the file.
        Ok((!want_data).then_some(size))
    }

    /// Whether fragment `i` of `src` is known to be zeros without reading
    /// it from the network.
    async fn is_hole(&self, src: &Src<'_>, i: u64) -> Result<bool, OpError> {
        let algo = src.algo();
        match src {
            Src::Version(m) => match m.fragments.get(i as usize) {
                Some(e) => self.zero_ids.is_zeros(algo, e).await,
                None => Ok(true),
            },
            Src::Content(c) => match c.slot(i) {
                Slot::Bytes(b) => Ok(b.iter().all(|&x| x == 0)),
                Slot::Stored { entry, .. } | Slot::Cut(entry) => {
                    self.zero_ids.is_zeros(algo, entry).await
                }
                Slot::Zeros => Ok(true),
            },
        }
    }

    /// `copy_file_range(2)`: up to `len` bytes of handle `fh_in` at
    /// `off_in` to handle `fh_out` (open for writing) at `off_out`.
    /// Returns the bytes copied: short at the source's end, and after
    /// [`COPY_BYTES`] copied as bytes (the caller asks again).
    pub async fn copy_range(
        &self,
        fh_in: u64,
        off_in: u64,
        fh_out: u64,
        off_out: u64,
        len: u64,
    ) -> Result<u32, OpError> {
        let src = self.handle(fh_in)?;
        let dst = self.handle(fh_out)?;
        let w = dst
            .writer
            .as_ref()
            .ok_or(OpError::refused(Errno::EBADF, "not open for writing"))?;
        let (dst_fsz, dst_algo) = {
            let buf = w.buf.lock().await;
            (buf.fragment_size(), (buf.algo(), buf.scheme))
        };
        let len = len.min(COPY_MAX);
        let (mut done, mut bytes) = (0u64, 0u64);
        while done < len && bytes < COPY_BYTES {
            let (p, q) = (off_in.saturating_add(done), off_out.saturating_add(done));
            let Some(piece) = self
                .copy_piece(&src, p, q, len - done, (dst_fsz, dst_algo))
                .await?
            else {
                break;
            };
            let mut buf = w.buf.lock().await;
            let res = self.put_piece(&mut buf, q, piece).await;
            w.mirror(&buf);
            match res {
                Ok(n) => {
                    bytes += n.1;
                    done += n.0;
                }
                // What was copied stays; the error is for the next call.
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(done as u32)
    }

    /// The next piece of a copy: source bytes from `p` going to `q`, at most
    /// `n`, within one fragment of each side; `None` at the source's end.
    async fn copy_piece(
        &self,
        src: &OpenFile,
        p: u64,
        q: u64,
        n: u64,
        (dst_fsz, dst_algo): (u64, (HashAlgo, Redundancy)),
    ) -> Result<Option<Piece>, OpError> {
        match (&src.writer, &src.head) {
            (Some(w), _) => {
                let buf = w.buf.lock().await;
                let s = Src::Content(&buf);
                self.piece_of(&s, p, q, n, (dst_fsz, dst_algo)).await
            }
            (None, Some(v)) => {
                let s = Src::Version(&v.manifest);
                self.piece_of(&s, p, q, n, (dst_fsz, dst_algo)).await
            }
            (None, None) => Ok(None),
        }
    }

    async fn piece_of(
        &self,
        s: &Src<'_>,
        p: u64,
        q: u64,
        n: u64,
        (dst_fsz, dst_algo): (u64, (HashAlgo, Redundancy)),
    ) -> Result<Option<Piece>, OpError> {
        let (size, fsz) = (s.size(), s.fsz());
        if p >= size {
            return Ok(None);
        }
        let n = n
            .min(size - p)
            .min(fsz - p % fsz)
            .min(dst_fsz - q % dst_fsz);
        let i = p / fsz;
        let whole = p % fsz == 0 && n == fsz.min(size - p);
        // A fragment is shared only between files of one scheme: a version
        // never mixes them.
        if whole && q % dst_fsz == 0 && fsz == dst_fsz && (s.algo(), s.scheme()) == dst_algo {
            if let Some(piece) = self.whole_piece(s, i, n).await? {
                return Ok(Some(piece));
            }
        }
        let data = match s {
            Src::Version(m) => self.read_version(m, p, n as u32).await?,
            Src::Content(c) => self.read_content(c, p, n as u32).await?,
        };
        Ok(Some(Piece::Bytes(data)))
    }

    /// Whole fragment `i` (`n` bytes) of `s` as a piece to share, if it is
    /// stored or zeros.
    async fn whole_piece(&self, s: &Src<'_>, i: u64, n: u64) -> Result<Option<Piece>, OpError> {
        let stored = |e: &FragmentEntry, unsynced: bool| {
            (u64::from(e.len) == n).then(|| Piece::Share {
                entry: e.clone(),
                unsynced,
            })
        };
        Ok(match s {
            Src::Version(m) => m.fragments.get(i as usize).and_then(|e| stored(e, false)),
            Src::Content(c) => match c.slot(i) {
                Slot::Stored { entry, staged } => stored(entry, staged),
                Slot::Zeros => Some(Piece::Zeros(n)),
                Slot::Bytes(_) | Slot::Cut(_) => None,
            },
        })
    }

    /// Puts `piece` at `q` in `c`; returns (bytes copied, bytes of them
    /// copied as bytes).
    async fn put_piece(
        &self,
        c: &mut super::writer::Content,
        q: u64,
        piece: Piece,
    ) -> Result<(u64, u64), OpError> {
        match piece {
            Piece::Bytes(data) => {
                let n = data.len() as u64;
                self.write_content(c, q, &data).await?;
                Ok((n, n))
            }
            Piece::Zeros(n) => {
                let end = c.check_end(q.checked_add(n))?;
                let how = Falloc {
                    keep_size: false,
                    zero: true,
                };
                self.fallocate_content(c, q, end, how).await?;
                Ok((n, 0))
            }
            Piece::Share { entry, unsynced } => {
                let n = u64::from(entry.len);
                let end = c.check_end(q.checked_add(n))?;
                if end > c.size() {
                    self.resize_content(c, end).await?;
                }
                let j = q / c.fragment_size();
                // A fragment is shared only between plaintext files: one
                // sealed under another file's key (or one to be sealed)
                // is copied as bytes.
                let plain = c.seal.is_none() && self.key_of(&entry.id).is_none();
                if plain && c.frag_len(j) as u64 == n {
                    c.share_fragment(j, entry, unsynced);
                    return Ok((n, 0));
                }
                // The destination's fragment is longer (the file goes on
                // past the copy): its bytes change in place.
                let data = self.fragment_in(c.scheme, &entry, j).await?;
                self.write_content(c, q, &data).await?;
                Ok((n, n))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_fallocate_modes_are_the_supported_ones() {
        let ok = |keep_size, zero| Ok(Falloc { keep_size, zero });
        let cases = [
            (0, ok(false, false)),
            (KEEP_SIZE, ok(true, false)),
            (PUNCH_HOLE | KEEP_SIZE, ok(true, true)),
            (ZERO_RANGE, ok(false, true)),
            (ZERO_RANGE | KEEP_SIZE, ok(true, true)),
        ];
        for (mode, want) in cases {
            assert_eq!(
                Falloc::of(mode).map_err(|e| e.to_string()),
                want,
                "{mode:#x}"
            );
        }
        for mode in [
            PUNCH_HOLE,
            PUNCH_HOLE | ZERO_RANGE | KEEP_SIZE,
            libc::FALLOC_FL_COLLAPSE_RANGE,
            libc::FALLOC_FL_INSERT_RANGE,
            libc::FALLOC_FL_UNSHARE_RANGE,
            0x4,
        ] {
            let e = Falloc::of(mode).expect_err("unsupported");
            assert_eq!(crate::errno::errno(&e), Errno::EOPNOTSUPP, "{mode:#x}");
        }
    }
}
