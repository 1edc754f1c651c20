//! POSIX access control lists in the byte form of the
//! `system.posix_acl_access` / `system.posix_acl_default` extended
//! attributes (`posix_acl_xattr_header` version 2, then 8-byte entries
//! `{tag: u16, perm: u16, id: u32}`, little-endian), and the rules tying an
//! ACL to a file's mode (`posix_acl_valid`, `posix_acl_equiv_mode`,
//! `posix_acl_chmod`, `posix_acl_create` of Linux). Pure: no IO.

use super::types::FsError;

/// The attribute holding a file's access ACL.
pub const ACCESS: &str = "system.posix_acl_access";
/// The attribute holding a directory's default ACL (inherited by new entries).
pub const DEFAULT: &str = "system.posix_acl_default";

const VERSION: u32 = 2;
const UNDEFINED_ID: u32 = u32::MAX;

pub const USER_OBJ: u16 = 0x01;
pub const USER: u16 = 0x02;
pub const GROUP_OBJ: u16 = 0x04;
pub const GROUP: u16 = 0x08;
pub const MASK: u16 = 0x10;
pub const OTHER: u16 = 0x20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tag: u16,
    /// `rwx` bits (0..=7).
    pub perm: u16,
    /// The uid or gid of a `USER` or `GROUP` entry.
    pub id: u32,
}

/// A valid ACL: entries in ascending tag order (and id order within
/// `USER` and `GROUP`), one each of `USER_OBJ`, `GROUP_OBJ`, `OTHER`, and a
/// `MASK` whenever a `USER` or `GROUP` entry is present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    entries: Vec<Entry>,
}

impl Acl {
    /// Parses and validates the attribute value `bytes`: `Invalid` for a
    /// wrong version, a truncated entry, an unknown tag, bits beyond `rwx`,
    /// or entries that break the ordering and uniqueness rules.
    pub fn parse(bytes: &[u8]) -> Result<Acl, FsError> {
        let (head, body) = bytes.split_at_checked(4).ok_or(FsError::Invalid)?;
        if u32::from_le_bytes(head.try_into().map_err(|_| FsError::Invalid)?) != VERSION
            || body.len() % 8 != 0
        {
            return Err(FsError::Invalid);
        }
        let entries = body
            .chunks_exact(8)
            .map(|e| Entry {
                tag: u16::from_le_bytes([e[0], e[1]]),
                perm: u16::from_le_bytes([e[2], e[3]]),
                id: u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
            })
            .collect();
        let acl = Acl { entries };
        acl.check()?;
        Ok(acl)
    }

    /// The attribute value of this ACL (ids of `*_OBJ`, `MASK` and `OTHER`
    /// entries written as undefined, as Linux does).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 * self.entries.len());
        out.extend_from_slice(&VERSION.to_le_bytes());
        for e in &self.entries {
            let id = if matches!(e.tag, USER | GROUP) {
                e.id
            } else {
                UNDEFINED_ID
            };
            out.extend_from_slice(&e.tag.to_le_bytes());
            out.extend_from_slice(&e.perm.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        out
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The rules of Linux's `posix_acl_valid`.
    fn check(&self) -> Result<(), FsError> {
        let mut last: Option<(u16, u32)> = None;
        let (mut objs, mut named, mut mask) = (0, false, false);
        for e in &self.entries {
            if e.perm & !7 != 0 {
                return Err(FsError::Invalid);
            }
            let key = match e.tag {
                USER_OBJ | GROUP_OBJ | OTHER => {
                    objs += 1;
                    (e.tag, 0)
                }
                MASK => {
                    mask = true;
                    (e.tag, 0)
                }
                USER | GROUP => {
                    named = true;
                    (e.tag, e.id)
                }
                _ => return Err(FsError::Invalid),
            };
            if last.is_some_and(|l| l >= key) {
                return Err(FsError::Invalid);
            }
            last = Some(key);
        }
        let has = |t: u16| self.entries.iter().any(|e| e.tag == t);
        if objs != 3 || !(has(USER_OBJ) && has(GROUP_OBJ) && has(OTHER)) || (named && !mask) {
            return Err(FsError::Invalid);
        }
        Ok(())
    }

    /// The ACL a mode stands for (three entries).
    pub fn from_mode(perm: u16) -> Acl {
        let e = |tag, shift: u16| Entry {
            tag,
            perm: (perm >> shift) & 7,
            id: UNDEFINED_ID,
        };
        Acl {
            entries: vec![e(USER_OBJ, 6), e(GROUP_OBJ, 3), e(OTHER, 0)],
        }
    }

    /// Whether the mode alone says all this ACL says (no named entries, no
    /// mask).
    pub fn is_mode_only(&self) -> bool {
        self.entries.len() == 3
    }

    /// `perm` with its owner, group and other bits taken from this ACL (the
    /// group bits from the mask when there is one); setuid, setgid and
    /// sticky are kept.
    pub fn apply_to_mode(&self, perm: u16) -> u16 {
        let get = |t: u16| self.entries.iter().find(|e| e.tag == t).map(|e| e.perm);
        let user = get(USER_OBJ).unwrap_or(0);
        let group = get(MASK).or(get(GROUP_OBJ)).unwrap_or(0);
        let other = get(OTHER).unwrap_or(0);
        (perm & 0o7000) | (user << 6) | (group << 3) | other
    }

    /// `chmod`: the owner, mask (or group when no mask) and other entries
    /// take the bits of `perm`.
    pub fn chmod(&mut self, perm: u16) {
        let has_mask = self.entries.iter().any(|e| e.tag == MASK);
        for e in &mut self.entries {
            match e.tag {
                USER_OBJ => e.perm = (perm >> 6) & 7,
                MASK => e.perm = (perm >> 3) & 7,
                GROUP_OBJ if !has_mask => e.perm = (perm >> 3) & 7,
                OTHER => e.perm = perm & 7,
                _ => {}
            }
        }
    }

    /// Linux's `posix_acl_create_masq`: a new inode's access ACL is its
    /// parent's default ACL limited by the mode it was created with, and
    /// that mode is limited by the ACL. Returns the new mode.
    pub fn create_masq(&mut self, perm: u16) -> u16 {
        let mut mode = perm;
        let has_mask = self.entries.iter().any(|e| e.tag == MASK);
        for e in &mut self.entries {
            match e.tag {
                USER_OBJ => {
                    e.perm &= (mode >> 6) & 7;
                    mode &= (e.perm << 6) | !0o700;
                }
                OTHER => {
                    e.perm &= mode & 7;
                    mode &= e.perm | !0o007;
                }
                MASK | GROUP_OBJ if (e.tag == MASK) == has_mask => {
                    e.perm &= (mode >> 3) & 7;
                    mode &= (e.perm << 3) | !0o070;
                }
                _ => {}
            }
        }
        mode
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The xattr form of `(tag, perm, id)` entries, as given (valid or not).
    pub(crate) fn bytes(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut out = 2u32.to_le_bytes().to_vec();
        for &(tag, perm, id) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&perm.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        out
    }

    const U: u32 = UNDEFINED_ID;

    #[test]
    fn t10_a_mode_acl_round_trips_and_is_mode_only() {
        let b = bytes(&[(USER_OBJ, 6, U), (GROUP_OBJ, 4, U), (OTHER, 4, U)]);
        let acl = Acl::parse(&b).unwrap();
        assert!(acl.is_mode_only());
        assert_eq!(acl.apply_to_mode(0o4000), 0o4644);
        assert_eq!(acl.to_bytes(), b);
        assert_eq!(Acl::from_mode(0o644), acl);
    }

    #[test]
    fn t10_a_named_entry_needs_a_mask_which_gives_the_group_bits() {
        let no_mask = bytes(&[
            (USER_OBJ, 7, U),
            (USER, 6, 1000),
            (GROUP_OBJ, 5, U),
            (OTHER, 0, U),
        ]);
        assert_eq!(Acl::parse(&no_mask), Err(FsError::Invalid));
        let b = bytes(&[
            (USER_OBJ, 7, U),
            (USER, 6, 1000),
            (GROUP_OBJ, 5, U),
            (MASK, 6, U),
            (OTHER, 0, U),
        ]);
        let mut acl = Acl::parse(&b).unwrap();
        assert!(!acl.is_mode_only());
        assert_eq!(acl.apply_to_mode(0), 0o760);
        acl.chmod(0o751);
        assert_eq!(acl.apply_to_mode(0), 0o751);
        // chmod moves the mask, not the owning group's entry.
        assert!(acl.entries().contains(&Entry {
            tag: GROUP_OBJ,
            perm: 5,
            id: U
        }));
    }

    #[test]
    fn t20_malformed_values_are_invalid() {
        let good = [(USER_OBJ, 6, U), (GROUP_OBJ, 4, U), (OTHER, 4, U)];
        let mut bad_version = bytes(&good);
        bad_version[0] = 1;
        let mut truncated = bytes(&good);
        truncated.pop();
        for v in [
            vec![],
            vec![2, 0, 0],
            bad_version,
            truncated,
            bytes(&[(USER_OBJ, 6, U), (OTHER, 4, U)]),
            bytes(&[(GROUP_OBJ, 4, U), (USER_OBJ, 6, U), (OTHER, 4, U)]),
            bytes(&[(USER_OBJ, 8, U), (GROUP_OBJ, 4, U), (OTHER, 4, U)]),
            bytes(&[
                (USER_OBJ, 6, U),
                (0x40, 4, U),
                (GROUP_OBJ, 4, U),
                (OTHER, 4, U),
            ]),
            bytes(&[
                (USER_OBJ, 6, U),
                (USER, 4, 7),
                (USER, 4, 7),
                (GROUP_OBJ, 4, U),
                (MASK, 4, U),
                (OTHER, 4, U),
            ]),
        ] {
            assert_eq!(Acl::parse(&v), Err(FsError::Invalid), "{v:?}");
        }
    }

    #[test]
    fn t30_create_masks_the_default_acl_with_the_mode() {
        let b = bytes(&[
            (USER_OBJ, 7, U),
            (USER, 7, 1000),
            (GROUP_OBJ, 5, U),
            (MASK, 7, U),
            (OTHER, 5, U),
        ]);
        let mut acl = Acl::parse(&b).unwrap();
        assert_eq!(acl.create_masq(0o666), 0o664);
        assert_eq!(acl.apply_to_mode(0), 0o664);
        // Without a mask the owning group's entry is limited instead.
        let mut plain = Acl::from_mode(0o750);
        assert_eq!(plain.create_masq(0o777), 0o750);
        assert_eq!(plain.create_masq(0o644), 0o640);
    }
}
