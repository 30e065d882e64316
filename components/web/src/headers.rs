//! The security headers every response of the console carries, and the page's
//! Content-Security-Policy.

use spin_sdk::http::ResponseBuilder;

/// Adds the headers every response carries: no MIME sniffing, no framing, no referrer to
/// other origins.
pub fn secure(builder: &mut ResponseBuilder) -> &mut ResponseBuilder {
    builder
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "same-origin")
        .header("x-frame-options", "DENY")
}

/// The page's policy: scripts only from this origin (no inline script), connections to this
/// origin and to the hub's WebSocket origin, never framed.
///
/// With `stripe` (production, with a publishable key), Stripe.js may load from
/// `js.stripe.com`, frame its card field and 3D Secure pages, and call `api.stripe.com`:
/// what Stripe documents for its CSP. Never in development, where Stripe.js is not loaded.
///
/// Styles allow `'unsafe-inline'` because xterm.js writes its own `<style>` elements (theme
/// and cell dimensions) at run time; no inline script is allowed anywhere.
pub fn content_security_policy(hub_origin: Option<&str>, stripe: bool) -> String {
    let mut connect = match hub_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let (script, frame) = if stripe {
        connect.push_str(" https://api.stripe.com");
        (
            "'self' https://js.stripe.com",
            "frame-src https://js.stripe.com https://hooks.stripe.com; ",
        )
    } else {
        ("'self'", "")
    };
    format!(
        "default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self'; connect-src {connect}; {frame}object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The WebSocket origin (`wss://host[:port]`) of the hub's public URL, for `connect-src`;
/// `None` when the URL is not http(s) or has characters no origin may hold.
pub fn websocket_origin(hub_public_url: &str) -> Option<String> {
    let (scheme, rest) = if let Some(rest) = hub_public_url.strip_prefix("https://") {
        ("wss", rest)
    } else if let Some(rest) = hub_public_url.strip_prefix("http://") {
        ("ws", rest)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let plausible = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    plausible.then(|| format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::{content_security_policy, websocket_origin};

    #[test]
    fn the_policy_has_no_inline_script_and_no_framing() {
        let policy = content_security_policy(Some("wss://hub.example.com"), false);
        assert!(policy.contains("script-src 'self';"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("connect-src 'self' wss://hub.example.com;"));
        assert!(!policy.contains("script-src 'self' 'unsafe-inline'"));
        assert!(!policy.contains("stripe"));
    }

    #[test]
    fn stripe_js_is_allowed_only_when_asked() {
        let policy = content_security_policy(None, true);
        assert!(policy.contains("script-src 'self' https://js.stripe.com;"));
        assert!(policy.contains("frame-src https://js.stripe.com https://hooks.stripe.com;"));
        assert!(policy.contains("connect-src 'self' https://api.stripe.com;"));
        assert!(policy.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn hub_urls_become_websocket_origins() {
        assert_eq!(
            websocket_origin("https://hub.example.com/").as_deref(),
            Some("wss://hub.example.com")
        );
        assert_eq!(
            websocket_origin("http://127.0.0.1:3000").as_deref(),
            Some("ws://127.0.0.1:3000")
        );
        assert_eq!(websocket_origin("ftp://x"), None);
        assert_eq!(websocket_origin("https://a b; script-src *"), None);
        assert_eq!(websocket_origin("https://"), None);
    }
}
