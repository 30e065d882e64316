//! Terminal session rules: what a `POST /vps/:id/sessions` body may ask for, and the
//! statuses a session goes through.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{
    protocol::{Agent, AgentConfig},
    vps::FieldErrors,
};

/// Longest session title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest working directory, in bytes.
pub const MAX_WORKDIR_BYTES: usize = 1024;
/// Most environment variables one session may set.
pub const MAX_ENV_VARS: usize = 64;
/// Longest environment value, in bytes.
pub const MAX_ENV_VALUE_BYTES: usize = 4096;
/// Longest instruction file (`CLAUDE.md`, `AGENTS.md`), in bytes.
pub const MAX_INSTRUCTIONS_BYTES: usize = 64 * 1024;
/// The working directory when none is given.
pub const DEFAULT_WORKDIR: &str = "/root";

/// Where a session is in its life; the `sessions.status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Created here; the gateway has not confirmed it yet.
    Starting,
    /// The gateway runs it.
    Running,
    /// It ended (ended by the user, or the program exited).
    Ended,
    /// The gateway could not start it, or it failed.
    Error,
    /// Its gateway has been gone longer than the grace.
    Disconnected,
}

impl SessionStatus {
    /// The column's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Starting => "starting",
            SessionStatus::Running => "running",
            SessionStatus::Ended => "ended",
            SessionStatus::Error => "error",
            SessionStatus::Disconnected => "disconnected",
        }
    }
}

/// The body of `POST /vps/:id/sessions`, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// Display name.
    pub title: Option<String>,
    /// Agent to start (`claude-code` when absent).
    pub agent_type: Option<String>,
    /// Absolute working directory ([`DEFAULT_WORKDIR`] when absent).
    pub workdir: Option<String>,
    /// Instruction files for the agent.
    pub agent_config: Option<AgentConfig>,
    /// Extra environment variables.
    pub env: Option<BTreeMap<String, String>>,
}

/// A validated `POST /vps/:id/sessions` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Display name.
    pub title: String,
    /// Agent to start.
    pub agent: Agent,
    /// Absolute working directory.
    pub workdir: String,
    /// Instruction files, if any.
    pub agent_config: Option<AgentConfig>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
}

impl CreateSessionRequest {
    /// Checks every field, reporting all problems at once.
    pub fn validate(self) -> Result<NewSession, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = self.title.unwrap_or_default();
        let title = title.trim();
        if title.is_empty() {
            errors.insert("title".into(), "is required".into());
        } else if title.chars().count() > MAX_TITLE_CHARS {
            errors.insert(
                "title".into(),
                format!("at most {MAX_TITLE_CHARS} characters"),
            );
        } else if title.chars().any(char::is_control) {
            errors.insert("title".into(), "may not contain control characters".into());
        }
        let agent = match self.agent_type.as_deref() {
            None => Agent::ClaudeCode,
            Some(name) => Agent::from_name(name).unwrap_or_else(|| {
                let known: Vec<&str> = Agent::ALL.iter().map(|a| a.as_str()).collect();
                errors.insert(
                    "agent_type".into(),
                    format!("must be one of {}", known.join(", ")),
                );
                Agent::ClaudeCode
            }),
        };
        let workdir = self.workdir.unwrap_or_else(|| DEFAULT_WORKDIR.to_owned());
        if let Err(why) = validate_workdir(&workdir) {
            errors.insert("workdir".into(), why.into());
        }
        if let Some(config) = &self.agent_config {
            let too_long = [&config.claude_md, &config.agents_md]
                .into_iter()
                .flatten()
                .any(|text| text.len() > MAX_INSTRUCTIONS_BYTES);
            if too_long {
                errors.insert(
                    "agent_config".into(),
                    format!("each file is at most {MAX_INSTRUCTIONS_BYTES} bytes"),
                );
            }
        }
        let env = self.env.unwrap_or_default();
        if let Err(why) = validate_env(&env) {
            errors.insert("env".into(), why);
        }
        if errors.is_empty() {
            Ok(NewSession {
                title: title.to_owned(),
                agent,
                workdir,
                agent_config: self.agent_config,
                env,
            })
        } else {
            Err(errors)
        }
    }
}

/// An absolute path without `..`, NUL or control characters.
fn validate_workdir(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("must be an absolute path");
    }
    if path.len() > MAX_WORKDIR_BYTES {
        return Err("is too long");
    }
    if path.split('/').any(|part| part == "..") {
        return Err("may not contain ..");
    }
    if path.chars().any(char::is_control) {
        return Err("may not contain control characters");
    }
    Ok(())
}

/// Names like `API_KEY` (letters, digits, `_`, not starting with a digit), bounded values.
fn validate_env(env: &BTreeMap<String, String>) -> Result<(), String> {
    if env.len() > MAX_ENV_VARS {
        return Err(format!("at most {MAX_ENV_VARS} variables"));
    }
    for (name, value) in env {
        let valid_name = name.len() <= 128
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            return Err(format!("{name:?} is not a valid variable name"));
        }
        if value.len() > MAX_ENV_VALUE_BYTES || value.contains('\0') {
            return Err(format!(
                "the value of {name} must be at most {MAX_ENV_VALUE_BYTES} bytes without NUL"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(title: &str) -> CreateSessionRequest {
        CreateSessionRequest {
            title: Some(title.into()),
            ..CreateSessionRequest::default()
        }
    }

    #[test]
    fn defaults_fill_a_minimal_request() {
        let session = request(" work ").validate().unwrap();
        assert_eq!(session.title, "work");
        assert_eq!(session.agent, Agent::ClaudeCode);
        assert_eq!(session.workdir, DEFAULT_WORKDIR);
        assert!(session.env.is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = CreateSessionRequest {
            title: Some(String::new()),
            agent_type: Some("clippy".into()),
            workdir: Some("/root/../etc".into()),
            agent_config: Some(AgentConfig {
                claude_md: Some("x".repeat(MAX_INSTRUCTIONS_BYTES + 1)),
                agents_md: None,
            }),
            env: Some(BTreeMap::from([("1BAD".into(), "v".into())])),
        }
        .validate()
        .unwrap_err();
        let named: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            named,
            ["agent_config", "agent_type", "env", "title", "workdir"]
        );
    }

    #[test]
    fn workdirs_are_absolute_without_parent_steps() {
        assert!(validate_workdir("/home/me/project").is_ok());
        assert!(validate_workdir("relative").is_err());
        assert!(validate_workdir("/a/../b").is_err());
        assert!(validate_workdir("/a/..").is_err());
        assert!(validate_workdir("/a/..b").is_ok());
        assert!(validate_workdir("/a\nb").is_err());
    }

    #[test]
    fn env_is_bounded() {
        let many: BTreeMap<String, String> = (0..=MAX_ENV_VARS)
            .map(|i| (format!("V{i}"), String::new()))
            .collect();
        assert!(validate_env(&many).is_err());
        let big = BTreeMap::from([("V".to_owned(), "x".repeat(MAX_ENV_VALUE_BYTES + 1))]);
        assert!(validate_env(&big).is_err());
        let ok = BTreeMap::from([("_API_KEY2".to_owned(), "secret".to_owned())]);
        assert!(validate_env(&ok).is_ok());
    }

    #[test]
    fn long_titles_are_refused() {
        assert!(request(&"é".repeat(MAX_TITLE_CHARS)).validate().is_ok());
        assert!(
            request(&"é".repeat(MAX_TITLE_CHARS + 1))
                .validate()
                .is_err()
        );
        assert!(request("a\u{7}b").validate().is_err());
    }
}
