//! `deploy/`, the Kubernetes manifests, checked offline: the standard resources against
//! Kubernetes' own schemas (`kubernetes-validate` from PyPI, which `scripts/setup` installs),
//! the SpinApp against the spin-operator CRD vendored in `deploy/schemas/`, and the wiring
//! between the manifests, `spin.toml` and the walkthrough in `deploy/README.md`.

pub mod deploy_support;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use chatcode_runtime::runtime_config::{DatabaseBackend, KeyValueBackend, RuntimeConfig};
use deploy_support::{
    crd_schema, find, host, looks_secret, manifest_files, manifests, port_number, python,
    references, secrets_the_walkthrough_creates, spin_manifest, violations, yaml_documents,
};
use serde_json::json;

/// The kubernetes-validate release `scripts/setup` installs (keep the two in step).
const KUBERNETES_VALIDATE: &str = "1.37.0";
/// The Kubernetes versions whose schemas the standard resources must pass.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.33", "1.37"];

#[test]
fn the_standard_resources_pass_kubernetes_schemas() {
    let version = python(&["-m", "kubernetes_validate", "--version"]);
    assert_eq!(
        version.trim(),
        KUBERNETES_VALIDATE,
        "kubernetes-validate {KUBERNETES_VALIDATE} is needed: run scripts/setup"
    );
    let files = manifest_files();
    let docs = yaml_documents(&files);
    let spin_apps = docs.iter().filter(|(_, d)| d["kind"] == "SpinApp").count();
    let standard = docs.len() - spin_apps;
    assert!(standard >= 10, "{standard} standard resources");

    let mut args = vec!["-m", "kubernetes_validate", "--strict"];
    for version in KUBERNETES_VERSIONS {
        args.extend(["-k", version]);
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let report = python(&args);

    // Each standard resource passed for each version; kubernetes-validate only warns when it
    // has no schema (a typo in apiVersion or kind would pass silently), and that may happen
    // only for the SpinApp, which the next test checks against its CRD.
    let passed = report
        .lines()
        .filter(|l| l.contains(" passed for "))
        .count();
    assert_eq!(passed, standard * KUBERNETES_VERSIONS.len(), "{report}");
    let unchecked: Vec<&str> = report.lines().filter(|l| l.starts_with("WARN")).collect();
    assert_eq!(
        unchecked.len(),
        spin_apps * KUBERNETES_VERSIONS.len(),
        "{report}"
    );
    assert!(
        unchecked.iter().all(|l| l.contains("kind SpinApp ")),
        "{report}"
    );
}

#[test]
fn the_spinapp_follows_the_spin_operator_crd() {
    let (crd, schema) = crd_schema("v1alpha1");
    assert_eq!(crd["spec"]["names"]["kind"], "SpinApp");
    let docs = manifests();
    let app = find(&docs, "SpinApp", "chatcode");
    assert_eq!(
        app["apiVersion"],
        format!("{}/v1alpha1", crd["spec"]["group"].as_str().unwrap())
    );
    assert_eq!(violations(&schema, app), Vec::<String>::new());

    // What the walkthrough relies on.
    let spec = &app["spec"];
    assert_eq!(spec["executor"], "containerd-shim-spin");
    assert_eq!(
        spec["runtimeConfig"]["loadFromSecret"],
        "chatcode-runtime-config"
    );
    assert_eq!(spec["checks"]["readiness"]["httpGet"]["path"], "/healthz");

    // The check is strict: a misspelt field and a wrong type are caught.
    let mut typo = app.clone();
    typo["spec"]["runtimeconfig"] = json!({"loadFromSecret": "x"});
    assert_eq!(violations(&schema, &typo).len(), 1);
    let mut wrong = app.clone();
    wrong["spec"]["replicas"] = json!("two");
    assert_eq!(violations(&schema, &wrong).len(), 1);
}

#[test]
fn every_required_variable_is_set_and_every_reference_resolves() {
    let spin = spin_manifest();
    let variables = spin["variables"].as_table().unwrap();
    let docs = manifests();
    let app = find(&docs, "SpinApp", "chatcode");
    let set: BTreeSet<&str> = app["spec"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for (name, declared) in variables {
        let required = declared.get("required").and_then(|r| r.as_bool()) == Some(true);
        if required && declared.get("default").is_none() {
            assert!(
                set.contains(name.as_str()),
                "the SpinApp does not set {name}"
            );
        }
    }
    for name in &set {
        assert!(
            variables.contains_key(*name),
            "spin.toml declares no {name}"
        );
    }
    // Creating VPSes needs these too (503 naming them otherwise).
    for name in ["gateway_download_url", "gateway_sha256"] {
        assert!(set.contains(name), "the SpinApp does not set {name}");
    }

    // Every key a manifest reads exists: ConfigMap keys in deploy/, Secret keys both in the
    // example Secrets and in the walkthrough's `kubectl create secret` commands.
    let mut referenced = BTreeSet::new();
    docs.iter()
        .for_each(|(_, doc)| references(doc, &mut referenced));
    let created = secrets_the_walkthrough_creates();
    for (kind, name, key) in &referenced {
        let holder = find(&docs, kind, name);
        let data = if kind == "Secret" {
            "stringData"
        } else {
            "data"
        };
        assert!(
            holder[data].get(key).is_some(),
            "{kind} {name} has no key {key}"
        );
        if kind == "Secret" {
            assert!(
                created.contains(&(name.clone(), key.clone())),
                "deploy/README.md does not create {key} in Secret {name}"
            );
        }
    }
    // The runtime config is mounted by spin-operator, not referenced by key.
    assert!(created.contains(&(
        "chatcode-runtime-config".into(),
        "runtime-config.toml".into()
    )));
}

#[test]
fn stripe_and_what_billing_offers_are_wired_and_parse() {
    use chatcode_core::billing::catalog;

    let docs = manifests();
    let app = find(&docs, "SpinApp", "chatcode");
    let source = |name: &str| {
        let variable = app["spec"]["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("the SpinApp does not set {name}"));
        variable["valueFrom"].clone()
    };
    // Stripe's secrets from the Secret, optional as payments are (503 naming them without);
    // the rest are settings.
    for name in ["stripe_secret_key", "stripe_webhook_secret"] {
        assert_eq!(
            source(name)["secretKeyRef"],
            json!({"name": "chatcode-secrets", "key": name, "optional": true})
        );
    }
    let settings = [
        "stripe_publishable_key",
        "stripe_api_base",
        "signup_credits",
        "billing_plans",
        "credit_packages",
        "usage_prices",
    ];
    for name in settings {
        assert_eq!(
            source(name)["configMapKeyRef"],
            json!({"name": "chatcode-config", "key": name})
        );
    }

    // Each setting parses as the billing component parses it (a bad one is a 500 there).
    let config = &find(&docs, "ConfigMap", "chatcode-config")["data"];
    let value = |name: &str| config[name].as_str().unwrap();
    catalog::parse_signup_credits(value("signup_credits")).unwrap();
    catalog::parse_plans(value("billing_plans")).unwrap();
    let packages = catalog::parse_packages(value("credit_packages")).unwrap();
    assert!(!packages.is_empty(), "nothing to buy");
    catalog::parse_prices(value("usage_prices")).unwrap();
    assert!(value("stripe_api_base").starts_with("https://"));
}

#[test]
fn the_runtime_config_puts_every_store_on_redis_and_libsql() {
    let docs = manifests();
    let secret = find(&docs, "Secret", "chatcode-runtime-config");
    let text = secret["stringData"]["runtime-config.toml"]
        .as_str()
        .unwrap();
    let config: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
    let tables: BTreeSet<&str> = config.keys().map(String::as_str).collect();
    assert_eq!(
        tables,
        BTreeSet::from(["key_value_store", "sqlite_database"])
    );

    // Every label a component of spin.toml opens has a backend.
    let spin = spin_manifest();
    let mut labels: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for component in spin["component"].as_table().unwrap().values() {
        for (field, table) in [
            ("key_value_stores", "key_value_store"),
            ("sqlite_databases", "sqlite_database"),
        ] {
            for label in component
                .get(field)
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten()
            {
                labels
                    .entry(table)
                    .or_default()
                    .insert(label.as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(
        labels["key_value_store"],
        BTreeSet::from(["default".to_owned()])
    );
    for (table, wanted) in &labels {
        let configured: BTreeSet<String> =
            config[*table].as_table().unwrap().keys().cloned().collect();
        assert_eq!(&configured, wanted, "[{table}.*]");
    }

    let kv = &config["key_value_store"]["default"];
    assert_eq!(kv["type"].as_str(), Some("redis"));
    let url = kv["url"].as_str().unwrap();
    assert!(
        url.starts_with("redis://") || url.starts_with("rediss://"),
        "{url}"
    );
    let db = &config["sqlite_database"]["default"];
    assert_eq!(db["type"].as_str(), Some("libsql"));
    assert!(db["url"].as_str().unwrap().starts_with("https://"));
    assert!(db["token"].is_str());
    // The hub connects to the same Redis.
    assert_eq!(
        find(&docs, "Secret", "chatcode-redis")["stringData"]["url"].as_str(),
        Some(url)
    );

    // The embedded runtime reads the same file (`chatcode up --runtime-config-file`), and it
    // refuses unknown sections, fields and store types.
    let parsed = RuntimeConfig::parse(text, Path::new(".")).unwrap();
    assert!(matches!(parsed.key_value, KeyValueBackend::Redis(_)));
    assert!(matches!(parsed.database, DatabaseBackend::Libsql { .. }));
}

#[test]
fn the_hub_is_probed_on_healthz_at_its_port_and_wired_to_the_app() {
    let docs = manifests();
    let deployment = find(&docs, "Deployment", "chatcode-hub");
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    let hub = &containers[0];
    let args: Vec<&str> = hub["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let listen = args[args.iter().position(|a| *a == "--listen").unwrap() + 1];
    let port: u64 = listen.rsplit_once(':').unwrap().1.parse().unwrap();
    assert!(
        listen.starts_with("0.0.0.0:"),
        "reachable from other pods: {listen}"
    );
    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &hub[probe]["httpGet"];
        assert_eq!(get["path"], "/healthz", "{probe}");
        assert_eq!(port_number(hub, &get["port"]), port, "{probe}");
    }

    // The Service forwards to that port, and the app's hub_url names the Service.
    let service = find(&docs, "Service", "chatcode-hub");
    let service_port = &service["spec"]["ports"][0];
    assert_eq!(port_number(hub, &service_port["targetPort"]), port);
    let config = &find(&docs, "ConfigMap", "chatcode-config")["data"];
    assert_eq!(
        config["hub_url"],
        format!("http://chatcode-hub:{}", service_port["port"])
    );
    let env = hub["env"].as_array().unwrap();
    let app_url = env
        .iter()
        .find(|e| e["name"] == "CHATCODE_APP_URL")
        .unwrap();
    // spin-operator's Service for the SpinApp is named after it and listens on port 80.
    assert_eq!(app_url["value"], "http://chatcode");
    assert!(env.iter().any(|e| e["name"] == "HUB_SECRET"));
    assert!(env.iter().any(|e| e["name"] == "CHATCODE_HUB_REDIS_URL"));

    // Public routes: the app's host to the app, the hub's host to the hub's two WebSocket
    // endpoints only, on the hosts of public_url and hub_public_url.
    let app_ingress = find(&docs, "Ingress", "chatcode");
    let rule = &app_ingress["spec"]["rules"][0];
    assert_eq!(rule["host"], host(config["public_url"].as_str().unwrap()));
    assert_eq!(
        rule["http"]["paths"][0]["backend"]["service"],
        json!({"name": "chatcode", "port": {"number": 80}})
    );
    let hub_ingress = find(&docs, "Ingress", "chatcode-hub");
    let rule = &hub_ingress["spec"]["rules"][0];
    assert_eq!(
        rule["host"],
        host(config["hub_public_url"].as_str().unwrap())
    );
    let paths: Vec<(&str, &str)> = rule["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(
                p["backend"]["service"],
                json!({"name": "chatcode-hub", "port": {"number": service_port["port"]}})
            );
            (p["path"].as_str().unwrap(), p["pathType"].as_str().unwrap())
        })
        .collect();
    assert_eq!(paths, [("/gw/connect", "Exact"), ("/vps", "Prefix")]);

    // The migration Job calls the app's migrate route with the hub secret.
    let job = find(&docs, "Job", "chatcode-migrate");
    let script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap();
    assert!(
        script.contains("-X POST http://chatcode/internal/migrate"),
        "{script}"
    );
    assert!(script.contains("Authorization: Bearer %s"), "{script}");
}

#[test]
fn no_committed_secret_or_setting_holds_anything_like_a_real_secret() {
    // The detector itself: what `openssl rand`, Turso and GitHub hand out is caught.
    assert!(looks_secret("pN3x0Yq4ZVtq7W1rF8kq2yJ6bHc9dL5sA0mE3uT7wXo="));
    assert!(looks_secret(
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    ));
    assert!(looks_secret("eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9"));
    assert!(looks_secret("ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
    assert!(!looks_secret("CHANGE-ME-token-encryption-key"));

    let docs = manifests();
    let mut secrets = 0;
    for (file, doc) in &docs {
        let name = doc["metadata"]["name"].as_str().unwrap_or_default();
        match doc["kind"].as_str() {
            Some("Secret") => {
                secrets += 1;
                // Readable placeholders only: base64 `data` could hide anything.
                assert!(
                    doc.get("data").is_none(),
                    "{}: Secret {name} has data",
                    file.display()
                );
                for (key, value) in doc["stringData"].as_object().unwrap() {
                    let value = value.as_str().unwrap();
                    assert!(
                        value.contains("CHANGE-ME") && !looks_secret(value),
                        "{}: Secret {name} key {key} is not an obvious placeholder",
                        file.display()
                    );
                }
            }
            Some("ConfigMap") => {
                // A gateway binary's SHA-256 and Stripe's publishable key are public (the
                // console hands the key to browsers), and both look like key material.
                let public = ["gateway_sha256", "stripe_publishable_key"];
                let settings = doc["data"].as_object().unwrap();
                for (key, value) in settings
                    .iter()
                    .filter(|(k, _)| !public.contains(&k.as_str()))
                {
                    assert!(
                        !looks_secret(value.as_str().unwrap()),
                        "{}: {key}",
                        file.display()
                    );
                }
            }
            _ => {}
        }
    }
    assert_eq!(secrets, 3);
    // Secrets are never in what `kubectl apply -f deploy/` applies.
    for (file, doc) in &docs {
        if doc["kind"] == "Secret" {
            assert_eq!(file.parent(), Some(Path::new("deploy/examples")));
        }
    }
}
