//! Running schemathesis (PyPI, installed by `scripts/setup`) as a subprocess: finding it,
//! insisting on the pinned version, one run's arguments, and reading its HAR report.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::Value;

/// The version `scripts/setup` installs; the flags below are this version's CLI.
pub const VERSION: &str = "4.32.5";

/// The checks every run makes: no 5xx, and every answer's status, content type, body and
/// headers as the document says.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,response_headers_conformance";

/// The schemathesis executable.
pub struct Schemathesis {
    program: PathBuf,
}

impl Schemathesis {
    /// The installed schemathesis of [`VERSION`]. Panics, naming `scripts/setup`, when it is
    /// missing or another version: this test must not pass by not running.
    pub fn find() -> Self {
        let user_bin = Command::new("python3")
            .args(["-m", "site", "--user-base"])
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("bin"));
        let candidates = std::iter::once(PathBuf::from("schemathesis"))
            .chain(user_bin.map(|bin| bin.join("schemathesis")));
        for program in candidates {
            let Ok(out) = Command::new(&program).arg("--version").output() else {
                continue;
            };
            let version = String::from_utf8_lossy(&out.stdout);
            assert!(
                version.trim().ends_with(VERSION),
                "{} is {}, not {VERSION}: run scripts/setup",
                program.display(),
                version.trim()
            );
            return Self { program };
        }
        panic!("schemathesis {VERSION} is not installed: run scripts/setup");
    }

    /// Validates the OpenAPI document at `path` with `openapi-spec-validator` (also from
    /// `scripts/setup`); panics with its complaint.
    pub fn validate_document(&self, path: &Path) {
        let out = Command::new("python3")
            .args([
                "-c",
                "import json, sys\n\
                 from openapi_spec_validator import validate\n\
                 validate(json.load(open(sys.argv[1])))",
            ])
            .arg(path)
            .output()
            .expect("running python3");
        assert!(
            out.status.success(),
            "openapi-spec-validator refuses the document (missing? run scripts/setup):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// One run of `schemathesis run`.
pub struct Run<'a> {
    name: &'a str,
    args: Vec<String>,
    config: Option<String>,
    har: Option<PathBuf>,
}

impl<'a> Run<'a> {
    /// A run called `name` of the document served at `app` + `/api/openapi.json`, bounded:
    /// one worker, a fixed seed, `max_examples` per operation, no redirects followed (the
    /// answer itself is what is checked), nothing remembered between runs.
    pub fn new(name: &'a str, app: &str, max_examples: u32) -> Self {
        let args = [
            "run".to_owned(),
            format!("{app}/api/openapi.json"),
            format!("--url={app}"),
            format!("--checks={CHECKS}"),
            "--workers=1".to_owned(),
            "--seed=15".to_owned(),
            format!("--max-examples={max_examples}"),
            "--phases=examples,coverage,fuzzing".to_owned(),
            "--max-redirects=0".to_owned(),
            "--request-timeout=30".to_owned(),
            "--generation-database=none".to_owned(),
            "--suppress-health-check=all".to_owned(),
            "--no-color".to_owned(),
        ];
        Self {
            name,
            args: args.into(),
            config: None,
            har: None,
        }
    }

    /// Sends `header` (`Name: value`) with every request, and generates no credentials of
    /// its own (they would replace the run's).
    pub fn header(mut self, header: &str) -> Self {
        self.args.push(format!("--header={header}"));
        self.args
            .push("--generation-with-security-parameters=false".to_owned());
        self
    }

    /// Adds a raw argument (`--exclude-operation-id=…`, `--include-tag=…`).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Leaves out the operations `ids` (each reason is at the call).
    pub fn exclude(mut self, ids: &[&str]) -> Self {
        for id in ids {
            self.args.push(format!("--exclude-operation-id={id}"));
        }
        self
    }

    /// Uses `toml` as `schemathesis.toml` (fixed path parameters).
    pub fn config(mut self, toml: String) -> Self {
        self.config = Some(toml);
        self
    }

    /// Records every request and answer in a HAR file.
    pub fn har(mut self, path: PathBuf) -> Self {
        self.args.push("--report=har".to_owned());
        self.args
            .push(format!("--report-har-path={}", path.display()));
        self.har = Some(path);
        self
    }

    /// Runs to the end in `dir`; panics with schemathesis's report when it finds anything.
    /// Returns how long it took.
    pub fn run(self, st: &Schemathesis, dir: &Path) -> Duration {
        let mut command = Command::new(&st.program);
        command.current_dir(dir);
        if let Some(config) = &self.config {
            let path = dir.join(format!("{}.toml", self.name));
            std::fs::write(&path, config).unwrap();
            command.arg(format!("--config-file={}", path.display()));
        }
        command.args(&self.args);
        let started = Instant::now();
        let out = command.output().expect("running schemathesis");
        let took = started.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary: Vec<&str> = stdout.lines().rev().take(12).collect();
        let summary: Vec<&str> = summary.into_iter().rev().collect();
        eprintln!(
            "schemathesis run {:?} took {took:?}:\n{}",
            self.name,
            summary.join("\n")
        );
        assert!(
            out.status.success(),
            "schemathesis run {:?} found problems ({}):\n{stdout}\n{}\nargs: {:?}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.args
        );
        took
    }
}

/// `(method, url, status)` of every exchange in a HAR file.
pub fn exchanges(har: &Path) -> Vec<(String, String, u64)> {
    let text = std::fs::read_to_string(har).unwrap_or_else(|e| panic!("{}: {e}", har.display()));
    let har: Value = serde_json::from_str(&text).expect("the HAR report is JSON");
    har["log"]["entries"]
        .as_array()
        .expect("HAR entries")
        .iter()
        .map(|e| {
            (
                e["request"]["method"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["request"]["url"].as_str().unwrap_or_default().to_owned(),
                e["response"]["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}
