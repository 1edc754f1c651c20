//! A user's key pair (ed25519, `ed25519-dalek`), kept in a key file in the
//! operating-system user's own configuration directory, so that every
//! mount and command that person starts on this machine finds it:
//! `$XDG_CONFIG_HOME/fragfs/users/NAME.key`, or `~/.config/fragfs/users/`.
//!
//! The file is `fragfs-user-key v1`, the name and the 32-byte secret in
//! hex, one per line, or instead of the secret `protected ` and the hex of
//! the secret sealed under a passphrase (`fragfs_seal::protect`, Argon2id); it is written once (never overwritten), with mode
//! 0600 in a directory of mode 0700, and a file that others may read is
//! refused when loaded.

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use std::{
    fs,
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

const MAGIC: &str = "fragfs-user-key v1";
/// The longest user name, in bytes.
pub use crate::meta::accounts::MAX_NAME;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "user name {0:?} is not 1 to 64 letters, digits, '.', '_' or '-' (not starting with '.')"
    )]
    BadName(String),
    #[error("a key for user {name} already exists at {path}")]
    Exists { name: String, path: PathBuf },
    #[error("no key for user {name} at {path}")]
    Missing { name: String, path: PathBuf },
    #[error("key file {path} is readable by others (mode {mode:o}); run chmod 600 on it")]
    Exposed { path: PathBuf, mode: u32 },
    #[error("key file {path} is not a fragfs user key: {why}")]
    Malformed { path: PathBuf, why: String },
    #[error("key file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("no configuration directory: neither XDG_CONFIG_HOME nor HOME is set")]
    NoHome,
    #[error("the key of user {0} is protected by a passphrase: set FRAGFS_PASSPHRASE")]
    NeedsPassphrase(String),
    #[error("wrong passphrase for the key of user {0}")]
    WrongPassphrase(String),
}

/// What the key file's secret line holds.
const PROTECTED: &str = "protected ";
/// The context of the wrapping key derived from a user's secret.
const WRAP_CONTEXT: &str = "fragfs user wrap v1";

/// One user's key pair.
pub struct UserKey {
    name: String,
    signing: SigningKey,
}

/// `$XDG_CONFIG_HOME/fragfs`, or `$HOME/.config/fragfs`.
pub fn config_dir() -> Result<PathBuf, KeyError> {
    let from = |v: &str| {
        std::env::var_os(v)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    };
    match (from("XDG_CONFIG_HOME"), from("HOME")) {
        (Some(x), _) => Ok(x.join("fragfs")),
        (None, Some(h)) => Ok(h.join(".config").join("fragfs")),
        (None, None) => Err(KeyError::NoHome),
    }
}

/// Whether `name` may name a user (and a key file).
pub fn check_name(name: &str) -> Result<(), KeyError> {
    crate::meta::accounts::valid_name(name)
        .then_some(())
        .ok_or_else(|| KeyError::BadName(name.into()))
}

/// The names of the user keys under the configuration directory `dir`,
/// sorted.
pub fn key_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("users"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()?
                        .strip_suffix(".key")
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Where the key of `name` lives under the configuration directory `dir`.
pub fn key_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("users").join(format!("{name}.key"))
}

impl UserKey {
    /// A new random key pair for `name`.
    pub fn generate(name: &str) -> Result<UserKey, KeyError> {
        check_name(name)?;
        Ok(UserKey {
            name: name.into(),
            signing: SigningKey::from_bytes(&rand::random::<[u8; 32]>()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key, as the namespace registers it.
    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The X25519 secret keys are wrapped for (derived from the signing
    /// secret: one key file holds both).
    pub fn wrap_secret(&self) -> fragfs_seal::WrapSecret {
        fragfs_seal::WrapSecret::derive(&self.signing.to_bytes(), WRAP_CONTEXT)
    }

    /// Its public half, as the namespace registers it.
    pub fn wrap_public(&self) -> [u8; 32] {
        self.wrap_secret().public().to_bytes()
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }

    /// Whether `sig` is `public`'s signature of `msg`.
    pub fn verify(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(public) else {
            return false;
        };
        key.verify(msg, &ed25519_dalek::Signature::from_bytes(sig))
            .is_ok()
    }

    /// Writes the key file under `dir` (0600, its directory 0700); an
    /// existing key is never overwritten.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, KeyError> {
        self.save_with(dir, None)
    }

    /// [`Self::save`], the secret sealed under `passphrase` when given.
    pub fn save_with(&self, dir: &Path, passphrase: Option<&str>) -> Result<PathBuf, KeyError> {
        let path = key_path(dir, &self.name);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        let users = path.parent().expect("a key path has a directory");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(users)
            .map_err(io)?;
        let mut f = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(KeyError::Exists {
                    name: self.name.clone(),
                    path,
                })
            }
            Err(e) => return Err(io(e)),
        };
        let secret = match passphrase {
            None => hex::encode(self.signing.to_bytes()),
            Some(p) => {
                let sealed = fragfs_seal::protect(&self.signing.to_bytes(), p).map_err(|e| {
                    KeyError::Malformed {
                        path: path.clone(),
                        why: e.to_string(),
                    }
                })?;
                format!("{PROTECTED}{}", hex::encode(sealed))
            }
        };
        let text = format!("{MAGIC}\n{}\n{secret}\n", self.name);
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(path)
    }

    /// Reads the key of `name` under `dir`.
    pub fn load(dir: &Path, name: &str) -> Result<UserKey, KeyError> {
        Self::load_with(dir, name, None)
    }

    /// [`Self::load`], opening a protected key with `passphrase`.
    pub fn load_with(
        dir: &Path,
        name: &str,
        passphrase: Option<&str>,
    ) -> Result<UserKey, KeyError> {
        check_name(name)?;
        let path = key_path(dir, name);
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(KeyError::Missing {
                    name: name.into(),
                    path,
                })
            }
            Err(source) => return Err(KeyError::Io { path, source }),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Exposed { path, mode });
        }
        let text = fs::read_to_string(&path).map_err(|source| KeyError::Io {
            path: path.clone(),
            source,
        })?;
        let secret = parse(&text, name).map_err(|why| KeyError::Malformed {
            path: path.clone(),
            why,
        })?;
        let bytes = match secret {
            Secret::Plain(b) => b,
            Secret::Protected(sealed) => {
                let p = passphrase.ok_or_else(|| KeyError::NeedsPassphrase(name.into()))?;
                let open = fragfs_seal::unprotect(&sealed, p).map_err(|e| match e {
                    fragfs_seal::SealError::WrongPassphrase => {
                        KeyError::WrongPassphrase(name.into())
                    }
                    e => KeyError::Malformed {
                        path: path.clone(),
                        why: e.to_string(),
                    },
                })?;
                open.as_slice()
                    .try_into()
                    .map_err(|_| KeyError::Malformed {
                        path: path.clone(),
                        why: "its protected secret is not 32 bytes".into(),
                    })?
            }
        };
        Ok(UserKey {
            name: name.into(),
            signing: SigningKey::from_bytes(&bytes),
        })
    }
}

/// A key file's secret line.
enum Secret {
    Plain([u8; 32]),
    Protected(Vec<u8>),
}

fn parse(text: &str, name: &str) -> Result<Secret, String> {
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(format!("its first line is not {MAGIC:?}"));
    }
    match lines.next() {
        Some(n) if n == name => {}
        Some(n) => return Err(format!("it names user {n:?}, not {name:?}")),
        None => return Err("it has no user name".into()),
    }
    let secret = lines.next().ok_or("it has no secret")?;
    if lines.next().is_some() {
        return Err("it has lines after the secret".into());
    }
    if let Some(sealed) = secret.strip_prefix(PROTECTED) {
        let sealed = hex::decode(sealed).map_err(|_| "its protected secret is not hex")?;
        return Ok(Secret::Protected(sealed));
    }
    let bytes: [u8; 32] = hex::decode(secret)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("its secret is not 32 bytes in hex")?;
    Ok(Secret::Plain(bytes))
}

#[cfg(test)]
mod tests;
