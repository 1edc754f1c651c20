//! The redundancy spec, `user.fragfs.redundancy`: full replicas or
//! Reed–Solomon shards.

use super::{number, trimmed};
use crate::redundancy::{self, Redundancy};
use std::fmt;

/// How a file's fragments are kept redundant: `replicas:N` full copies, or
/// `rs:K+M` Reed–Solomon with K data and M parity shards, each shard on a
/// distinct peer (any K of the K+M rebuild the fragment).
///
/// Values made by [`RedundancySpec::parse`] are within the limits; one
/// built by hand can be checked with [`RedundancySpec::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RedundancySpec {
    Replicas(u8),
    Rs { data: u8, parity: u8 },
}

impl RedundancySpec {
    /// The extended attribute that holds the spec.
    pub const XATTR: &'static str = "user.fragfs.redundancy";
    /// The most full replicas.
    pub const MAX_REPLICAS: u8 = 16;
    /// The most data shards, and the most parity shards.
    pub const MAX_SHARDS: u8 = 32;
    /// The most shards in all (data + parity).
    pub const MAX_TOTAL: u8 = 64;
    /// The spec where none is set: three full copies, as before specs.
    pub const DEFAULT: RedundancySpec = RedundancySpec::Replicas(3);

    /// Parses `replicas:N` (N 1..=16) or `rs:K+M` (K and M 1..=32,
    /// K+M at most 64). ASCII whitespace around the value is ignored.
    pub fn parse(raw: &[u8]) -> Result<RedundancySpec, SpecError> {
        let s = trimmed(raw).ok_or(SpecError::NotUtf8)?;
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| SpecError::Syntax(s.to_owned()))?;
        let spec = match kind {
            "replicas" => RedundancySpec::Replicas(small(rest)?),
            "rs" => {
                let (k, m) = rest
                    .split_once('+')
                    .ok_or_else(|| SpecError::Syntax(s.to_owned()))?;
                RedundancySpec::Rs {
                    data: small(k)?,
                    parity: small(m)?,
                }
            }
            _ => return Err(SpecError::UnknownKind(kind.to_owned())),
        };
        spec.check()?;
        Ok(spec)
    }

    /// Whether the spec is within the limits [`Self::parse`] enforces.
    pub fn check(&self) -> Result<(), SpecError> {
        match *self {
            Self::Replicas(n) if n == 0 || n > Self::MAX_REPLICAS => Err(SpecError::Replicas(n)),
            Self::Rs { data, .. } if data == 0 || data > Self::MAX_SHARDS => {
                Err(SpecError::Data(data))
            }
            Self::Rs { parity, .. } if parity == 0 || parity > Self::MAX_SHARDS => {
                Err(SpecError::Parity(parity))
            }
            Self::Rs { data, parity }
                if u16::from(data) + u16::from(parity) > u16::from(Self::MAX_TOTAL) =>
            {
                Err(SpecError::Total(u16::from(data) + u16::from(parity)))
            }
            _ => Ok(()),
        }
    }

    /// Bytes stored per byte of data: N for replicas, (K+M)/K for shards
    /// (infinite for an unchecked spec with no data shards).
    pub fn overhead(&self) -> f64 {
        match *self {
            Self::Replicas(n) => f64::from(n),
            Self::Rs { data, parity } => (f64::from(data) + f64::from(parity)) / f64::from(data),
        }
    }

    /// The [`Redundancy`] a client writes with for this spec.
    pub fn redundancy(&self) -> Result<Redundancy, SpecError> {
        self.check()?;
        Ok(match *self {
            Self::Replicas(n) => Redundancy::Replicas(
                redundancy::Replicas::new(n).map_err(|_| SpecError::Replicas(n))?,
            ),
            Self::Rs { data, parity } => Redundancy::ReedSolomon { data, parity },
        })
    }

    /// The distinct peers the spec needs to reach full redundancy: N, or K+M.
    pub fn peers_needed(&self) -> usize {
        match *self {
            Self::Replicas(n) => usize::from(n),
            Self::Rs { data, parity } => usize::from(data) + usize::from(parity),
        }
    }
}

impl Default for RedundancySpec {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Writes the spec back as [`RedundancySpec::parse`] reads it.
impl fmt::Display for RedundancySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Replicas(n) => write!(f, "replicas:{n}"),
            Self::Rs { data, parity } => write!(f, "rs:{data}+{parity}"),
        }
    }
}

/// A count in a spec: ASCII digits that fit a byte (the limits are checked
/// afterwards, by [`RedundancySpec::check`]).
fn small(s: &str) -> Result<u8, SpecError> {
    number(s)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| SpecError::BadNumber(s.to_owned()))
}

/// Why a `user.fragfs.redundancy` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("redundancy spec is not UTF-8 text (expected replicas:N or rs:K+M)")]
    NotUtf8,
    #[error("redundancy spec {0:?} is not replicas:N or rs:K+M")]
    Syntax(String),
    #[error("redundancy spec kind {0:?} is unknown (expected replicas:N or rs:K+M)")]
    UnknownKind(String),
    #[error("redundancy spec count {0:?} is not a whole number from 0 to 255")]
    BadNumber(String),
    #[error("replicas:{0} is out of range (1 to 16 copies)")]
    Replicas(u8),
    #[error("rs: {0} data shards is out of range (1 to 32)")]
    Data(u8),
    #[error("rs: {0} parity shards is out of range (1 to 32)")]
    Parity(u8),
    #[error("rs: {0} shards in all is too many (at most 64)")]
    Total(u16),
}

#[cfg(test)]
mod tests {
    use super::*;
    use RedundancySpec::*;

    fn p(s: &str) -> Result<RedundancySpec, SpecError> {
        RedundancySpec::parse(s.as_bytes())
    }

    #[test]
    fn parses_replicas_and_shards_at_their_limits() {
        assert_eq!(p("replicas:1"), Ok(Replicas(1)));
        assert_eq!(p(" replicas:16\n"), Ok(Replicas(16)));
        assert_eq!(p("rs:1+1"), Ok(Rs { data: 1, parity: 1 }));
        assert_eq!(p("rs:4+2"), Ok(Rs { data: 4, parity: 2 }));
        assert_eq!(
            p("rs:32+32"),
            Ok(Rs {
                data: 32,
                parity: 32
            })
        );
    }

    #[test]
    fn refuses_bad_specs_with_clear_errors() {
        assert_eq!(p("replicas:0"), Err(SpecError::Replicas(0)));
        assert_eq!(p("replicas:17"), Err(SpecError::Replicas(17)));
        assert_eq!(p("rs:0+2"), Err(SpecError::Data(0)));
        assert_eq!(p("rs:33+2"), Err(SpecError::Data(33)));
        assert_eq!(p("rs:4+0"), Err(SpecError::Parity(0)));
        assert_eq!(p("rs:4+33"), Err(SpecError::Parity(33)));
        assert_eq!(
            RedundancySpec::Rs {
                data: 40,
                parity: 30
            }
            .check(),
            Err(SpecError::Data(40))
        );
        assert_eq!(p("mirror:2"), Err(SpecError::UnknownKind("mirror".into())));
        assert_eq!(p("RS:4+2"), Err(SpecError::UnknownKind("RS".into())));
        assert_eq!(p(""), Err(SpecError::Syntax("".into())));
        assert_eq!(p("replicas"), Err(SpecError::Syntax("replicas".into())));
        assert_eq!(p("rs:4"), Err(SpecError::Syntax("rs:4".into())));
        assert_eq!(RedundancySpec::parse(&[0xc3]), Err(SpecError::NotUtf8));
        for bad in [
            "replicas:",
            "replicas:-1",
            "replicas:+3",
            "replicas:256",
            "rs:4+2+1",
            "rs: 4+2",
        ] {
            assert!(matches!(p(bad), Err(SpecError::BadNumber(_))), "{bad}");
        }
        let msg = p("replicas:17").unwrap_err().to_string();
        assert!(msg.contains("1 to 16") && !msg.contains('\n'), "{msg}");
    }

    #[test]
    fn total_is_checked_for_specs_built_by_hand() {
        // K and M each within 1..=32 always sum to at most 64 through parse;
        // the total limit guards specs built by hand against future limits.
        assert_eq!(
            Rs {
                data: 32,
                parity: 32
            }
            .check(),
            Ok(())
        );
        assert_eq!(Replicas(0).check(), Err(SpecError::Replicas(0)));
    }

    #[test]
    fn specs_become_the_redundancy_clients_write_with() {
        assert_eq!(
            p("rs:3+2").unwrap().redundancy().unwrap().to_string(),
            "rs:3+2"
        );
        assert_eq!(
            p("replicas:2").unwrap().redundancy().unwrap(),
            Redundancy::Replicas(redundancy::Replicas::new(2).unwrap())
        );
        assert_eq!(Replicas(0).redundancy(), Err(SpecError::Replicas(0)));
    }

    #[test]
    fn display_writes_what_parse_reads() {
        for s in ["replicas:3", "rs:4+2", "rs:32+32"] {
            assert_eq!(p(s).unwrap().to_string(), s);
        }
        assert_eq!(RedundancySpec::default(), Replicas(3));
    }

    #[test]
    fn overhead_and_peers() {
        assert_eq!(Replicas(3).overhead(), 3.0);
        assert_eq!(Rs { data: 4, parity: 2 }.overhead(), 1.5);
        assert_eq!(
            Rs {
                data: 10,
                parity: 4
            }
            .overhead(),
            1.4
        );
        assert_eq!(Replicas(3).peers_needed(), 3);
        assert_eq!(Rs { data: 4, parity: 2 }.peers_needed(), 6);
        assert!(Rs { data: 0, parity: 2 }.overhead().is_infinite());
        assert_eq!(
            Rs {
                data: 255,
                parity: 255
            }
            .peers_needed(),
            510
        );
    }
}
