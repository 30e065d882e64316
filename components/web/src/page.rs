//! The console's HTML shell, served for every page path: the build's `index.html` with the
//! runtime configuration in its `chatcode-config` meta tag, the page's security headers, no
//! caching without revalidation, and `304` for a matching entity tag.

use serde_json::json;
use sha2::{Digest, Sha256};
use spin_sdk::http::Response;

use crate::{headers, negotiate};

/// The placeholder in `web/index.html` that becomes the configuration.
const PLACEHOLDER: &str = "%CHATCODE_CONFIG%";

/// What the pages need to know about this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `development` or `production`.
    pub environment: String,
    /// Whether GitHub sign-in is configured.
    pub github: bool,
    /// Whether DigitalOcean sign-in is configured.
    pub digitalocean: bool,
    /// The hub's WebSocket origin, which the page may connect to.
    pub hub_origin: Option<String>,
    /// Whether the page may load Stripe.js: production with a publishable key.
    pub stripe: bool,
}

impl Settings {
    /// The settings from the component's variables.
    pub fn load() -> Self {
        use chatcode_kit::config::optional;
        Self {
            environment: if chatcode_kit::config::is_development() {
                "development".to_owned()
            } else {
                "production".to_owned()
            },
            github: optional("github_client_id").is_some(),
            digitalocean: optional("do_client_id").is_some(),
            hub_origin: optional("hub_public_url")
                .as_deref()
                .and_then(headers::websocket_origin),
            stripe: !chatcode_kit::config::is_development()
                && optional("stripe_publishable_key").is_some(),
        }
    }

    fn config_json(&self) -> String {
        json!({
            "environment": self.environment,
            "providers": { "github": self.github, "digitalocean": self.digitalocean },
        })
        .to_string()
    }
}

/// `shell` with the configuration in place of its placeholder, escaped for an attribute.
pub fn render(shell: &str, settings: &Settings) -> String {
    shell.replacen(PLACEHOLDER, &escape_attribute(&settings.config_json()), 1)
}

/// The response to a `GET` (or `HEAD`) of a page.
pub fn serve(
    shell: &str,
    settings: &Settings,
    if_none_match: Option<&str>,
    head: bool,
) -> Response {
    let html = render(shell, settings);
    let digest = Sha256::digest(html.as_bytes());
    let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    let tag = format!("\"{tag}\"");
    let mut builder = Response::builder();
    headers::secure(&mut builder)
        .header(
            "content-security-policy",
            headers::content_security_policy(settings.hub_origin.as_deref(), settings.stripe),
        )
        .header("cache-control", "no-cache")
        .header("etag", tag.clone());
    if negotiate::none_match(if_none_match, &[&tag]) {
        return builder.status(304).body(Vec::new()).build();
    }
    builder
        .status(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("content-length", html.len().to_string())
        .body(if head { Vec::new() } else { html.into_bytes() })
        .build()
}

fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Settings, render, serve};

    const SHELL: &str =
        "<meta name=\"chatcode-config\" content=\"%CHATCODE_CONFIG%\"><p>%CHATCODE_CONFIG%</p>";

    fn settings() -> Settings {
        Settings {
            environment: "development".into(),
            github: false,
            digitalocean: true,
            hub_origin: Some("ws://127.0.0.1:3000".into()),
            stripe: false,
        }
    }

    fn header(response: &spin_sdk::http::Response, name: &str) -> String {
        response
            .header(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn the_configuration_is_escaped_into_the_meta_tag_once() {
        let html = render(SHELL, &settings());
        assert!(html.starts_with(
            "<meta name=\"chatcode-config\" content=\"{&quot;environment&quot;:&quot;development&quot;,"
        ));
        assert!(html.contains("&quot;digitalocean&quot;:true"));
        assert!(html.ends_with("<p>%CHATCODE_CONFIG%</p>"));
    }

    #[test]
    fn pages_carry_their_policy_and_revalidate() {
        let response = serve(SHELL, &settings(), None, false);
        assert_eq!(*response.status(), 200);
        assert_eq!(header(&response, "cache-control"), "no-cache");
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        let policy = header(&response, "content-security-policy");
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("ws://127.0.0.1:3000"), "{policy}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "same-origin");
        let tag = header(&response, "etag");
        let again = serve(SHELL, &settings(), Some(&tag), false);
        assert_eq!(*again.status(), 304);
        assert!(again.body().is_empty());
        let changed = Settings {
            github: true,
            ..settings()
        };
        assert_eq!(*serve(SHELL, &changed, Some(&tag), false).status(), 200);
    }
}
