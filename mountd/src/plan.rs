//! Which bytes of which fragments a read needs. Pure: no IO, no runtime.

/// Bytes `start..end` of fragment `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub index: u64,
    pub start: usize,
    pub end: usize,
}

/// The pieces that make up bytes `offset..offset + len` of a file of
/// `file_size` bytes cut into fragments of `fragment_size` bytes, in file
/// order. A read past the end is cut short at the end of the file.
pub fn plan_read(file_size: u64, fragment_size: u32, offset: u64, len: u32) -> Vec<Piece> {
    let fsz = u64::from(fragment_size.max(1));
    let end = offset.saturating_add(u64::from(len)).min(file_size);
    let mut out = Vec::new();
    let mut pos = offset;
    while pos < end {
        let index = pos / fsz;
        let frag_start = index * fsz;
        let frag_end = (frag_start + fsz).min(end);
        out.push(Piece {
            index,
            start: (pos - frag_start) as usize,
            end: (frag_end - frag_start) as usize,
        });
        pos = frag_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: u32 = 1024;

    fn total(p: &[Piece]) -> usize {
        p.iter().map(|p| p.end - p.start).sum()
    }

    #[test]
    fn t10_reads_inside_one_fragment() {
        assert_eq!(
            plan_read(4000, F, 10, 100),
            vec![Piece {
                index: 0,
                start: 10,
                end: 110
            }]
        );
        assert_eq!(
            plan_read(4000, F, 1024, 1024),
            vec![Piece {
                index: 1,
                start: 0,
                end: 1024
            }]
        );
    }

    #[test]
    fn t10_reads_across_fragment_boundaries() {
        let p = plan_read(4000, F, 1000, 2000);
        assert_eq!(
            p,
            vec![
                Piece {
                    index: 0,
                    start: 1000,
                    end: 1024
                },
                Piece {
                    index: 1,
                    start: 0,
                    end: 1024
                },
                Piece {
                    index: 2,
                    start: 0,
                    end: 952
                },
            ]
        );
        assert_eq!(total(&p), 2000);
    }

    #[test]
    fn t20_reads_at_and_past_the_end_are_cut_short() {
        assert_eq!(plan_read(0, F, 0, 4096), vec![]);
        assert_eq!(
            plan_read(1, F, 0, 4096),
            vec![Piece {
                index: 0,
                start: 0,
                end: 1
            }]
        );
        assert_eq!(plan_read(1024, F, 1024, 10), vec![]);
        assert_eq!(
            plan_read(1025, F, 1000, 4096),
            vec![
                Piece {
                    index: 0,
                    start: 1000,
                    end: 1024
                },
                Piece {
                    index: 1,
                    start: 0,
                    end: 1
                }
            ]
        );
        assert_eq!(plan_read(100, F, u64::MAX - 1, 10), vec![]);
    }

    #[test]
    fn t20_boundary_sizes_read_whole_cover_every_byte_once() {
        for size in [0u64, 1, 1023, 1024, 1025, 3 * 1024 + 5] {
            let p = plan_read(size, F, 0, u32::MAX);
            assert_eq!(total(&p) as u64, size, "size {size}");
            for (i, piece) in p.iter().enumerate() {
                assert_eq!(piece.index, i as u64);
            }
        }
    }
}
