//! `openapi/openapi.json` against the code, both ways: every route in `spin.toml` and every
//! `(method, path)` of a component's `Routes` table is in the document, and every operation of
//! the document is served by the component `spin.toml` sends its path to (or by the hub, for
//! the WebSocket endpoints). Then the structure everything else relies on: resolvable `$ref`s,
//! declared path parameters, the one error body on every error answer, and JSON Schemas that
//! compile. (Full OpenAPI 3.1 validation is `openapi-spec-validator`'s, in
//! `tests/openapi_fuzz.rs`.)

use std::collections::{BTreeMap, BTreeSet};

use chatcode_core::{ApiError, ErrorKind};
use serde_json::{Value, json};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Routes the hub serves only on its own port (`hub-sidecar/src/lib.rs`): the document
/// describes the app's port, where `src/front.rs` hands the hub only its WebSocket endpoints.
const HUB_PORT_ONLY: [(&str, &str); 4] = [
    ("post", "/internal/gateways/{id}/commands"),
    ("post", "/internal/revoke"),
    ("get", "/healthz"),
    ("get", "/metrics"),
];

/// The component without a `Routes` table: `components/web/src/lib.rs` answers `GET` and
/// `HEAD` on every path its `spin.toml` routes send it, 405 for the rest.
const WEB: &str = "web";

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn document() -> Value {
    serde_json::from_str(&read("openapi/openapi.json")).expect("openapi.json is JSON")
}

/// `/vps/:id/sessions` → `/vps/{id}/sessions`.
fn templated(spin_path: &str) -> String {
    spin_path
        .split('/')
        .map(|s| match s.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `spin.toml`'s `[[trigger.http]]` routes: (route, component).
fn spin_routes() -> Vec<(String, String)> {
    let manifest: toml::Table =
        toml::from_str(&read("spin.toml")).unwrap_or_else(|e| panic!("spin.toml: {}", e.message()));
    manifest["trigger"]["http"]
        .as_array()
        .expect("[[trigger.http]]")
        .iter()
        .map(|t| {
            let field = |k: &str| t[k].as_str().expect("route and component").to_owned();
            (field("route"), field("component"))
        })
        .collect()
}

/// Every `.route(Method::X, "/path", …)` of `components/*/src/lib.rs`: component → (method,
/// OpenAPI path).
fn component_routes() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("components")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("src/lib.rs")) else {
            continue;
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let routes: BTreeSet<(String, String)> = text
            .split(".route(")
            .skip(1)
            .map(|call| {
                let rest = call
                    .trim_start()
                    .strip_prefix("Method::")
                    .unwrap_or_else(|| {
                        panic!("{name}: .route( without Method:: first: {call:.60}")
                    });
                let (method, rest) = rest.split_once(',').unwrap();
                let path = rest.trim_start().strip_prefix('"').unwrap();
                let path = &path[..path.find('"').unwrap()];
                (method.trim().to_lowercase(), templated(path))
            })
            .collect();
        if !routes.is_empty() {
            found.insert(name, routes);
        }
    }
    found
}

/// `hub-sidecar/src/lib.rs`'s axum routes: (method, path).
fn hub_routes() -> BTreeSet<(String, String)> {
    read("hub-sidecar/src/lib.rs")
        .split(".route(\"")
        .skip(1)
        .map(|call| {
            let (path, rest) = call.split_once('"').unwrap();
            let method = rest.trim_start_matches([',', ' ']);
            let method = &method[..method.find('(').unwrap()];
            (method.to_owned(), path.to_owned())
        })
        .collect()
}

/// The document's operations: (method, path) → operation.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (key, op) in item.as_object().unwrap() {
            if METHODS.contains(&key.as_str()) {
                ops.insert((key.clone(), path.clone()), op.clone());
            }
        }
    }
    ops
}

/// How well a `spin.toml` route matches an OpenAPI path, by Spin's precedence (segment by
/// segment: literal over parameter over wildcard); `None` when it does not match.
fn spin_match(route: &str, path: &str) -> Option<Vec<u8>> {
    let route: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut score = Vec::new();
    for (i, segment) in route.iter().enumerate() {
        if *segment == "..." {
            score.push(1);
            return Some(score);
        }
        let part = path.get(i)?;
        if segment.starts_with(':') {
            score.push(2);
        } else if segment == part {
            score.push(3);
        } else {
            return None;
        }
    }
    (route.len() == path.len()).then_some(score)
}

/// The component `spin.toml` sends `path` to.
fn component_for(routes: &[(String, String)], path: &str) -> Option<String> {
    routes
        .iter()
        .filter_map(|(route, component)| Some((spin_match(route, path)?, component)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, component)| component.clone())
}

#[test]
fn every_spin_route_is_described() {
    let doc = document();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for (route, component) in spin_routes() {
        match route.strip_suffix("/...") {
            Some(prefix) => {
                let prefix = format!("{}/", templated(prefix));
                assert!(
                    paths.iter().any(|p| p.starts_with(&prefix)),
                    "spin.toml routes {route} to {component}; openapi.json has no path under {prefix}"
                );
            }
            None => assert!(
                paths.contains(&&templated(&route)),
                "spin.toml routes {route} to {component}; openapi.json has no such path"
            ),
        }
    }
}

#[test]
fn every_component_route_is_an_operation_and_back() {
    let doc = document();
    let ops = operations(&doc);
    let spin = spin_routes();
    let tables = component_routes();
    for (component, routes) in &tables {
        for (method, path) in routes {
            assert!(
                ops.contains_key(&(method.clone(), path.clone())),
                "components/{component} serves {method} {path}; openapi.json does not describe it"
            );
        }
    }
    let hub = hub_routes();
    for ((method, path), op) in &ops {
        if op["tags"] == json!(["hub"]) {
            assert!(
                hub.contains(&(method.clone(), path.clone())),
                "openapi.json describes {method} {path} as the hub's; hub-sidecar/src/lib.rs has no such route"
            );
            continue;
        }
        let component = component_for(&spin, path).unwrap_or_else(|| {
            panic!("openapi.json describes {path}; no spin.toml route sends it anywhere")
        });
        if component == WEB {
            assert!(
                method == "get" || method == "head",
                "the web component answers only GET and HEAD, not {method} {path}"
            );
            continue;
        }
        let served = tables
            .get(&component)
            .is_some_and(|t| t.contains(&(method.clone(), path.clone())));
        assert!(
            served,
            "openapi.json describes {method} {path}; spin.toml sends it to {component}, whose Routes table lacks it"
        );
    }
    for (method, path) in hub {
        let path_only = HUB_PORT_ONLY.contains(&(method.as_str(), path.as_str()));
        assert!(
            path_only || ops.contains_key(&(method.clone(), path.clone())),
            "the hub serves {method} {path}; describe it in openapi.json (tag hub) or list it in HUB_PORT_ONLY"
        );
    }
}

/// Every `$ref` in `value`.
fn refs<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Follows `value` through `$ref`s within the document.
fn resolve<'d>(doc: &'d Value, value: &'d Value) -> &'d Value {
    match value["$ref"].as_str() {
        Some(target) => resolve(doc, doc.pointer(target.trim_start_matches('#')).unwrap()),
        None => value,
    }
}

#[test]
fn the_document_holds_together() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["jsonSchemaDialect"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for target in all {
        assert!(
            target.starts_with("#/") && doc.pointer(&target[1..]).is_some(),
            "$ref {target} does not resolve"
        );
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut ids = BTreeSet::new();
    for ((method, path), op) in operations(&doc) {
        let at = format!("{method} {path}");
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: operationId"));
        assert!(ids.insert(id.to_owned()), "{at}: operationId {id} twice");
        assert!(
            op["tags"].as_array().is_some_and(|t| t.len() == 1),
            "{at}: one tag"
        );
        for requirement in op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{at}: security"))
        {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(
                    schemes.contains_key(scheme),
                    "{at}: unknown scheme {scheme}"
                );
            }
        }
        // Path parameters: each template name declared once, on the path or the operation.
        let item = &doc["paths"][&path];
        let declared: BTreeSet<String> = [&item["parameters"], &op["parameters"]]
            .into_iter()
            .filter_map(Value::as_array)
            .flatten()
            .map(|p| resolve(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        let template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared, template, "{at}: path parameters");
        // Every error answer with a body is the one error body.
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{at}: responses"));
        assert!(!responses.is_empty(), "{at}: no responses");
        for (status, response) in responses {
            let response = resolve(&doc, response);
            assert!(
                response["description"].is_string(),
                "{at} {status}: description"
            );
            let status: u16 = status
                .parse()
                .unwrap_or_else(|_| panic!("{at}: status {status}"));
            // The one exception: the health report names the failed store with its 503.
            let health = path == "/healthz" && status == 503;
            if status >= 400 && response.get("content").is_some() && !health {
                assert_eq!(
                    response["content"],
                    json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}),
                    "{at} {status}: not the error body"
                );
            }
        }
    }
}

/// A validator for the document's schema `name`, resolving its `$ref`s within the document.
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema {name}: {e}"))
}

/// The string literals the components' code passes to `call(` (`.with_code("…")`,
/// `payment_required("…"`, `.with_detail("…"`) outside test modules.
fn literals_passed_to(call: &str) -> BTreeSet<String> {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("components"), &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Test modules sit at the end of a file; their literals are not what the API sends.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for call_site in code.split(call).skip(1) {
            let Some(rest) = call_site.trim_start().strip_prefix('"') else {
                continue;
            };
            found.insert(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    found
}

#[test]
fn schemas_compile_and_the_error_body_is_the_one_the_code_sends() {
    use chatcode_core::{
        billing::{ledger::Insufficient, purchase::PaymentError},
        stripe::failure::StripeFailure,
    };

    let doc = document();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        assert!(jsonschema::meta::validate(schema).is_ok(), "schema {name}");
        validator(&doc, name);
    }
    let error = validator(&doc, "Error");
    let fields = BTreeMap::from([("region".to_owned(), "unknown region".to_owned())]);
    let card = |code: &str, decline_code: Option<&str>| PaymentError::CardDeclined {
        code: code.to_owned(),
        decline_code: decline_code.map(str::to_owned),
        message: "Your card was declined.".to_owned(),
    };
    let purchase =
        |err: PaymentError| ApiError::from(err).with_detail("purchase_id", json!("pur-1"));
    for err in [
        ApiError::not_found("no such VPS"),
        ApiError::invalid_fields(fields),
        ApiError::internal(),
        ApiError::from(ErrorKind::PaymentRequired),
        PaymentError::InsufficientCredits(Insufficient {
            needed: 30,
            available: 10,
        })
        .into(),
        PaymentError::BudgetExhausted.into(),
        purchase(card("card_declined", Some("insufficient_funds"))),
        purchase(card("expired_card", None)),
        purchase(PaymentError::AuthenticationRequired {
            payment_intent: "pi_1".to_owned(),
            client_secret: "pi_1_secret_2".to_owned(),
            payment_method: None,
        }),
        StripeFailure::RateLimited.into(),
        StripeFailure::Idempotency { in_progress: true }.into(),
        StripeFailure::Server(500).into(),
        ApiError::bad_request("webhook refused").with_code("invalid_signature"),
        ApiError::service_unavailable().with_code("stripe_not_configured"),
        ApiError::conflict("add a card").with_code("no_payment_method"),
        ApiError::forbidden("frozen").with_code("purchases_frozen"),
    ] {
        let body: Value = serde_json::from_str(&err.to_json()).unwrap();
        assert!(error.is_valid(&body), "{body}");
    }
    // A code the document does not know, or a member it does not describe, is refused.
    for err in [
        ApiError::conflict("x").with_code("made_up"),
        ApiError::not_found("x").with_detail("secret", json!(1)),
    ] {
        let body: Value = serde_json::from_str(&err.to_json()).unwrap();
        assert!(!error.is_valid(&body), "{body}");
    }
    let schemas = &doc["components"]["schemas"];
    let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(schemas["ErrorCode"]["enum"], json!(codes));
    // Every precise code the components send is listed, and nothing else; likewise the
    // members `with_detail` adds.
    let mut precise = literals_passed_to(".with_code(");
    precise.extend(literals_passed_to("payment_required("));
    assert_eq!(schemas["PreciseErrorCode"]["enum"], json!(precise));
    let members: BTreeSet<&str> = schemas["Error"]["properties"]["error"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|m| !["code", "message", "fields"].contains(m))
        .collect();
    let details = literals_passed_to(".with_detail(");
    assert_eq!(
        members,
        details.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
}
