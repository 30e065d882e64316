//! Cookie headers: one value out of a `Cookie` header, and `Set-Cookie` values with the
//! attributes every chatcode cookie has (HttpOnly, SameSite=Lax, Secure outside development).

/// The value of cookie `name` in a `Cookie` header.
pub fn value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure unless `insecure`.
pub fn set(name: &str, value: &str, max_age_secs: i64, insecure: bool) -> String {
    set_at(name, value, "/", max_age_secs, insecure)
}

/// A `Set-Cookie` value sent back only to requests below `path`.
pub fn set_at(name: &str, value: &str, path: &str, max_age_secs: i64, insecure: bool) -> String {
    let secure = if insecure { "" } else { "; Secure" };
    format!("{name}={value}; HttpOnly; SameSite=Lax; Path={path}; Max-Age={max_age_secs}{secure}")
}

/// A `Set-Cookie` value that removes cookie `name` (set with `Path=/`).
pub fn clear(name: &str, insecure: bool) -> String {
    set(name, "", 0, insecure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_by_name() {
        assert_eq!(value("a=1;b=2", "b"), Some("2"));
        assert_eq!(value("a=1; b = \"2\" ", "b"), Some("2"));
        assert_eq!(value("a=1", "b"), None);
    }

    #[test]
    fn attributes() {
        assert_eq!(
            set_at("n", "v", "/auth/do/callback", 600, false),
            "n=v; HttpOnly; SameSite=Lax; Path=/auth/do/callback; Max-Age=600; Secure"
        );
        assert_eq!(
            clear("n", true),
            "n=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }
}
