//! Embeds the console's build output (`web/dist`, made by `web/build.sh`) in the component:
//! writes `$OUT_DIR/assets.rs` with the HTML shell and one entry per hashed asset, each with
//! its content type, ETag and precompressed brotli and gzip variants.
//!
//! A `.wasm` build needs `web/dist`; a host build (lints, unit tests) without it embeds no
//! assets, since only the `.wasm` ever serves them.

use std::{
    env,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    let wasm = env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    let code = if dist.join("index.html").is_file() {
        println!(
            "cargo:rerun-if-changed={}",
            dist.join("index.html").display()
        );
        println!("cargo:rerun-if-changed={}", dist.join("assets").display());
        embed(&dist)
    } else if wasm {
        panic!(
            "{} has no index.html: build the console first (`sh web/build.sh`; `spin build` \
             and `chatcode up` run it)",
            dist.display()
        );
    } else {
        "pub static INDEX_HTML: &str = \"\";\npub static ASSETS: &[Asset] = &[];\n".to_owned()
    };
    fs::write(&out, code).expect("writing assets.rs");
}

/// The Rust source of the table for the build output in `dist`.
fn embed(dist: &Path) -> String {
    let mut code = format!(
        "pub static INDEX_HTML: &str = include_str!({:?});\npub static ASSETS: &[Asset] = &[\n",
        dist.join("index.html")
    );
    let mut names: Vec<(String, PathBuf)> = fs::read_dir(dist.join("assets"))
        .expect("reading web/dist/assets")
        .map(|entry| entry.expect("reading web/dist/assets").path())
        .filter(|path| path.is_file())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            (!name.ends_with(".br") && !name.ends_with(".gz")).then_some((name, path))
        })
        .collect();
    // Sorted, so lookups can binary-search by name.
    names.sort();
    for (name, path) in names {
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = fs::read(&path).expect("reading an asset");
        let digest = Sha256::digest(&bytes);
        let etag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let variant = |suffix: &str| {
            let file = path.with_file_name(format!("{name}.{suffix}"));
            if file.is_file() {
                format!("Some(include_bytes!({file:?}))")
            } else {
                "None".to_owned()
            }
        };
        let _ = writeln!(
            code,
            "    Asset {{ name: {name:?}, content_type: {:?}, etag: {etag:?}, identity: include_bytes!({path:?}), br: {}, gzip: {} }},",
            content_type(&name),
            variant("br"),
            variant("gz"),
        );
    }
    code.push_str("];\n");
    code
}

/// The `Content-Type` of an asset, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("json" | "map") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("wasm") => "application/wasm",
        _ => panic!("web/dist/assets/{name}: no content type is known for this extension"),
    }
}
