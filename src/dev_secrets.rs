//! Development secrets: generated once, kept in the data folder.
//!
//! In development `chatcode up` needs no configuration: every secret variable
//! that nobody set gets a random value, stored (mode 0600) so a restart keeps
//! sessions, tokens and keys valid. Production never takes this path.

use std::{collections::BTreeMap, path::Path};

use anyhow::Context;
use base64::Engine as _;

/// File inside the data folder holding generated secrets.
pub const FILE: &str = "dev-secrets.json";

/// Returns a value for each name in `needed`, reusing stored ones and
/// generating (and storing) the rest.
pub fn load_or_generate(
    data_dir: &Path,
    needed: &[String],
) -> anyhow::Result<BTreeMap<String, String>> {
    let path = data_dir.join(FILE);
    let mut stored: BTreeMap<String, String> = match std::fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut changed = false;
    for name in needed {
        if !stored.contains_key(name) {
            stored.insert(name.clone(), random_secret()?);
            changed = true;
        }
    }
    if changed {
        write_private(&path, &serde_json::to_string_pretty(&stored)?)?;
        tracing::info!("generated development secrets in {}", path.display());
    }
    Ok(needed
        .iter()
        .filter_map(|n| stored.get(n).map(|v| (n.clone(), v.clone())))
        .collect())
}

/// 32 random bytes, base64 (usable as a key or as a bearer secret).
fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let first = load_or_generate(dir.path(), &names).unwrap();
        assert_eq!(first.len(), 2);
        assert_ne!(first["a"], first["b"]);
        let again = load_or_generate(dir.path(), &names[..1]).unwrap();
        assert_eq!(again["a"], first["a"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
