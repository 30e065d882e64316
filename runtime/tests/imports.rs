//! Every built component imports only WASI 0.2 and the Spin interfaces that
//! `wit/world.wit` names: the capabilities the runtime promises to provide.

use std::path::Path;

use chatcode_testkit::{ensure_components_built, workspace_root};
use wasmtime::{Config, Engine, component::Component};

/// Spin interfaces from `wit/world.wit`.
const SPIN_IMPORTS: [&str; 3] = [
    "fermyon:spin/key-value@2.0.0",
    "fermyon:spin/sqlite@2.0.0",
    "fermyon:spin/variables@2.0.0",
];

fn imports(path: &Path) -> Vec<String> {
    let engine = Engine::new(Config::new().wasm_component_model(true)).unwrap();
    let component = Component::from_file(&engine, path).unwrap();
    component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.to_string())
        .collect()
}

#[test]
fn components_import_only_what_the_world_allows() {
    ensure_components_built();
    let world = std::fs::read_to_string(workspace_root().join("wit/world.wit")).unwrap();
    for spin in SPIN_IMPORTS {
        assert!(
            world.contains(&format!("import {spin};")),
            "wit/world.wit lost {spin}"
        );
    }
    let release = workspace_root().join("target/wasm32-wasip2/release");
    // Every component of the app, as spin.toml names its source, and the probe fixture.
    let manifest: toml::Table = std::fs::read_to_string(workspace_root().join("spin.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut sources: Vec<(String, std::path::PathBuf)> = manifest["component"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(id, component)| {
            let source = component["source"].as_str().unwrap();
            (id.clone(), workspace_root().join(source))
        })
        .collect();
    assert!(sources.len() >= 6, "spin.toml lists its components");
    sources.push(("probe".into(), release.join("probe.wasm")));
    for (name, path) in sources {
        let found = imports(&path);
        assert!(!found.is_empty(), "{name} imports nothing?");
        for import in &found {
            let wasi_02 = import.starts_with("wasi:") && import.contains("@0.2.");
            assert!(
                wasi_02 || SPIN_IMPORTS.contains(&import.as_str()),
                "{name}.wasm imports {import}, which the runtime does not promise"
            );
        }
    }
    let platform = imports(&release.join("platform.wasm"));
    for spin in SPIN_IMPORTS {
        assert!(
            platform.contains(&spin.to_string()),
            "platform no longer imports {spin}"
        );
    }
}
