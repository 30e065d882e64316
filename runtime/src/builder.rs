//! Building components the way `spin build` does: each component's
//! `[component.<id>.build] command`, run in its `workdir`.
//!
//! Cargo decides what is stale, so running the commands is cheap when nothing
//! changed. The `wasm32-wasip2` target is installed with rustup when missing.

use std::{
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context, bail};

use crate::manifest::LoadedManifest;

/// The Rust target the components are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Runs the build command of every component in the manifest at `manifest_path`.
pub fn build_components(manifest_path: &Path) -> anyhow::Result<()> {
    let manifest = LoadedManifest::load(manifest_path)?;
    let builds: Vec<_> = manifest
        .manifest
        .component
        .iter()
        .filter_map(|(id, c)| c.build.as_ref().map(|b| (id.get_ref(), b)))
        .collect();
    if builds.iter().any(|(_, b)| b.command.contains(WASM_TARGET)) {
        ensure_wasm_target()?;
    }
    for (id, build) in builds {
        let dir = match &build.workdir {
            Some(w) => manifest.dir().join(w),
            None => manifest.dir().to_path_buf(),
        };
        tracing::info!(component = %id, "building: {}", build.command);
        let status = Command::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("running the build command of component '{id}'"))?;
        if !status.success() {
            bail!(
                "building component '{id}' failed ({status}): {}",
                build.command
            );
        }
    }
    Ok(())
}

/// Installs the `wasm32-wasip2` target with rustup unless it is there.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .stderr(Stdio::null())
        .output();
    match installed {
        Ok(out) if out.status.success() => {
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == WASM_TARGET)
            {
                return Ok(());
            }
        }
        // No rustup: the toolchain may still have the target; let cargo say.
        _ => return Ok(()),
    }
    tracing::info!("installing the {WASM_TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .stdin(Stdio::null())
        .status()
        .context("running rustup target add")?;
    if !status.success() {
        bail!("`rustup target add {WASM_TARGET}` failed ({status})");
    }
    Ok(())
}
