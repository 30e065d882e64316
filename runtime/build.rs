//! Generates the host bindings for the Spin interfaces the components import.
//!
//! The WIT comes from the spin-sdk crate itself (found with `cargo metadata`),
//! so the project never carries a copy of Spin's interface files. The world in
//! `wit/world.wit` names the interfaces; this script assembles a WIT folder in
//! `OUT_DIR` from it and the three SDK interface files, and writes the
//! `bindgen!` invocation that `src/host/bindings.rs` includes.

use std::{env, fs, path::PathBuf};

use anyhow::{Context, Result, bail};

const SPIN_INTERFACES: [&str; 3] = ["key-value.wit", "sqlite.wit", "variables.wit"];

fn main() -> Result<()> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let world = manifest_dir.join("../wit/world.wit");
    println!("cargo:rerun-if-changed={}", world.display());
    println!("cargo:rerun-if-changed=build.rs");

    let sdk_wit = spin_sdk_wit_dir(&manifest_dir)?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let wit = out.join("wit");
    let deps = wit.join("deps").join("spin");
    fs::create_dir_all(&deps)?;
    fs::copy(&world, wit.join("world.wit")).context("copying wit/world.wit")?;
    fs::write(deps.join("package.wit"), "package fermyon:spin@2.0.0;\n")?;
    for file in SPIN_INTERFACES {
        let source = sdk_wit.join(file);
        fs::copy(&source, deps.join(file))
            .with_context(|| format!("copying {}", source.display()))?;
    }

    let bindings = format!(
        r#"wasmtime::component::bindgen!({{
    path: {wit:?},
    world: "chatcode:host/spin-host",
    imports: {{
        "fermyon:spin/sqlite.[method]connection.execute": async | trappable,
        "fermyon:spin/sqlite.[static]connection.open": async | trappable,
        "fermyon:spin/key-value.[method]store.get": async | trappable,
        "fermyon:spin/key-value.[method]store.set": async | trappable,
        "fermyon:spin/key-value.[method]store.delete": async | trappable,
        "fermyon:spin/key-value.[method]store.exists": async | trappable,
        "fermyon:spin/key-value.[method]store.get-keys": async | trappable,
        default: trappable,
    }},
    with: {{
        "fermyon:spin/key-value.store": crate::host::key_value::StoreHandle,
        "fermyon:spin/sqlite.connection": crate::host::sqlite::ConnectionHandle,
    }},
}});
"#,
        wit = wit.display().to_string()
    );
    fs::write(out.join("spin_bindings.rs"), bindings)?;
    Ok(())
}

/// Finds `wit/deps/spin@2.0.0` inside the spin-sdk 5.x package the workspace resolved.
fn spin_sdk_wit_dir(manifest_dir: &std::path::Path) -> Result<PathBuf> {
    // Offline first: the build has fetched spin-sdk already. Metadata also wants packages
    // the build never fetched (other platforms, other members' features); only then may it
    // reach the registry.
    let command = |offline: bool| {
        let mut command = cargo_metadata::MetadataCommand::new();
        command.manifest_path(manifest_dir.join("Cargo.toml"));
        if offline {
            command.other_options(vec!["--offline".to_string()]);
        }
        command.exec()
    };
    let metadata = command(true)
        .or_else(|_| command(false))
        .context("running cargo metadata to locate spin-sdk")?;
    let Some(sdk) = metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == "spin-sdk" && p.version.major == 5)
    else {
        bail!("spin-sdk 5.x is not in the dependency graph (runtime/Cargo.toml declares it)");
    };
    let package_dir = sdk
        .manifest_path
        .parent()
        .context("spin-sdk manifest has no parent directory")?;
    let dir = package_dir.join("wit").join("deps").join("spin@2.0.0");
    if !dir.as_std_path().is_dir() {
        bail!("{dir} is missing: has spin-sdk changed its layout?");
    }
    Ok(dir.into_std_path_buf())
}
