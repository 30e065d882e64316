//! Helpers of tests/deploy.rs: the manifests as JSON (PyYAML, which kubernetes-validate
//! brings, does the parsing), python3, the CRD's schema made strict, and small lookups.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{Value, json};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs python3 with `args`; a missing interpreter or module names `scripts/setup`.
pub fn python(args: &[&str]) -> String {
    let output = Command::new("python3")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed (run scripts/setup): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python3 {args:?} failed (run scripts/setup if a module is missing):\n{stdout}\n{stderr}"
    );
    stdout
}

/// Every YAML document of `files` (relative to the repository), parsed by PyYAML (which
/// kubernetes-validate brings) and handed over as JSON.
pub fn yaml_documents(files: &[PathBuf]) -> Vec<(PathBuf, Value)> {
    const SCRIPT: &str = "import json, sys, yaml\n\
        out = []\n\
        for path in sys.argv[1:]:\n\
        \x20   with open(path) as f:\n\
        \x20       out.append([d for d in yaml.safe_load_all(f) if d is not None])\n\
        json.dump(out, sys.stdout, default=str)\n";
    let mut args = vec!["-c", SCRIPT];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let parsed: Vec<Vec<Value>> = serde_json::from_str(&python(&args)).unwrap();
    files
        .iter()
        .zip(parsed)
        .flat_map(|(file, docs)| docs.into_iter().map(move |doc| (file.clone(), doc)))
        .collect()
}

/// The manifests: `deploy/*.yaml` (what `kubectl apply -f deploy/` applies),
/// `deploy/jobs/*.yaml` and `deploy/examples/*.yaml`.
pub fn manifest_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["deploy", "deploy/jobs", "deploy/examples"] {
        for entry in std::fs::read_dir(root().join(folder)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                files.push(Path::new(folder).join(name));
            }
        }
    }
    files.sort();
    files
}

/// All manifest documents.
pub fn manifests() -> Vec<(PathBuf, Value)> {
    yaml_documents(&manifest_files())
}

/// The one document of `kind` named `name`.
pub fn find<'a>(docs: &'a [(PathBuf, Value)], kind: &str, name: &str) -> &'a Value {
    let matching: Vec<&Value> = docs
        .iter()
        .map(|(_, doc)| doc)
        .filter(|doc| doc["kind"] == kind && doc["metadata"]["name"] == name)
        .collect();
    assert_eq!(matching.len(), 1, "one {kind} {name} in deploy/");
    matching[0]
}

pub fn spin_manifest() -> toml::Table {
    std::fs::read_to_string(root().join("spin.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

/// The CRD's schema for `version`, closed the way `kubectl apply` validates (strict field
/// validation, the default since Kubernetes 1.27): an object schema with properties and
/// nothing said about others rejects unknown fields.
pub fn crd_schema(version: &str) -> (Value, Value) {
    let crd_path = PathBuf::from("deploy/schemas/core.spinkube.dev_spinapps.yaml");
    let (_, crd) = yaml_documents(&[crd_path]).remove(0);
    let served = crd["spec"]["versions"].as_array().unwrap();
    let entry = served.iter().find(|v| v["name"] == version).unwrap();
    let mut schema = entry["schema"]["openAPIV3Schema"].clone();
    close(&mut schema);
    (crd, schema)
}

pub fn close(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.contains_key("properties")
        && !object.contains_key("additionalProperties")
        && object.get("x-kubernetes-preserve-unknown-fields") != Some(&json!(true))
    {
        object.insert("additionalProperties".into(), json!(false));
    }
    for (key, value) in object.iter_mut() {
        match key.as_str() {
            "properties" => value.as_object_mut().unwrap().values_mut().for_each(close),
            "items" | "additionalProperties" => close(value),
            "anyOf" | "allOf" | "oneOf" => value.as_array_mut().unwrap().iter_mut().for_each(close),
            _ => {}
        }
    }
}

pub fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(schema)
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// `(Secret, key)` pairs each `kubectl create secret generic` in deploy/README.md makes.
pub fn secrets_the_walkthrough_creates() -> BTreeSet<(String, String)> {
    let readme = std::fs::read_to_string(root().join("deploy/README.md")).unwrap();
    let joined = readme.replace("\\\n", " ");
    let mut created = BTreeSet::new();
    for line in joined
        .lines()
        .filter(|l| l.contains("create secret generic"))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "generic").unwrap();
        let secret = words[at + 1];
        for word in &words[at + 2..] {
            let option = word
                .strip_prefix("--from-literal=")
                .or_else(|| word.strip_prefix("--from-file="));
            if let Some((key, _)) = option.and_then(|o| o.split_once('=')) {
                created.insert((secret.to_owned(), key.to_owned()));
            }
        }
    }
    created
}

/// Every `(kind, name, key)` that some `valueFrom`/`secretKeyRef`/`configMapKeyRef` names.
pub fn references(value: &Value, found: &mut BTreeSet<(String, String, String)>) {
    match value {
        Value::Object(object) => {
            for (field, kind) in [("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")] {
                if let Some(reference) = object.get(field) {
                    found.insert((
                        kind.to_owned(),
                        reference["name"].as_str().unwrap().to_owned(),
                        reference["key"].as_str().unwrap().to_owned(),
                    ));
                }
            }
            object.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// A container port by number or by name.
pub fn port_number(container: &Value, port: &Value) -> u64 {
    port.as_u64().unwrap_or_else(|| {
        let ports = container["ports"].as_array().unwrap();
        ports.iter().find(|p| p["name"] == *port).unwrap()["containerPort"]
            .as_u64()
            .unwrap()
    })
}

/// The host of an http(s) URL.
pub fn host(url: &str) -> &str {
    let rest = url.split_once("://").unwrap().1;
    rest.split(['/', ':']).next().unwrap()
}

/// A stretch of text that looks like key material: a long run of letters and digits mixed
/// (base64, hex, JWT segments), or a well-known credential prefix.
pub fn looks_secret(text: &str) -> bool {
    const PREFIXES: [&str; 9] = [
        "-----BEGIN",
        "sk_live_",
        "sk_test_",
        "rk_live_",
        "whsec_",
        "ghp_",
        "gho_",
        "dop_v1_",
        "eyJ",
    ];
    if PREFIXES.iter().any(|p| text.contains(p)) {
        return true;
    }
    text.split(|c: char| !c.is_ascii_alphanumeric()).any(|run| {
        run.len() >= 16
            && run.bytes().any(|b| b.is_ascii_digit())
            && run.bytes().any(|b| b.is_ascii_alphabetic())
    })
}
