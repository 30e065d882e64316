//! Stripe's request encoding: `application/x-www-form-urlencoded` with bracket nesting
//! (`metadata[k]=v`, `invoice_settings[default_payment_method]=pm_…`,
//! `payment_method_types[]=card`).

/// A form body, built field by field in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// `path[0][path[1]]…=value`: a plain field for one name, a nested one for more.
    pub fn field(mut self, path: &[&str], value: impl Into<String>) -> Self {
        self.pairs.push((key(path), value.into()));
        self
    }

    /// `name[]=value` for each value, in order.
    pub fn list(mut self, name: &str, values: &[&str]) -> Self {
        for value in values {
            self.pairs
                .push((format!("{}[]", escape(name)), (*value).to_owned()));
        }
        self
    }

    /// `metadata[name]=value`.
    pub fn metadata(self, name: &str, value: impl Into<String>) -> Self {
        self.field(&["metadata", name], value)
    }

    /// The encoded body. Brackets stay as they are; everything else is escaped.
    pub fn encode(&self) -> String {
        self.pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", escape(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// `a`, `a[b]`, `a[b][c]`, each part escaped.
fn key(path: &[&str]) -> String {
    let mut parts = path.iter();
    let mut key = parts.next().map(|p| escape(p)).unwrap_or_default();
    for part in parts {
        key.push('[');
        key.push_str(&escape(part));
        key.push(']');
    }
    key
}

/// Form escaping: ASCII letters, digits and `*-._` as they are, space as `+`, the rest as
/// `%XX` of its UTF-8 bytes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_with_brackets_and_escapes_values() {
        let form = Form::new()
            .field(&["customer"], "cus_1")
            .field(&["invoice_settings", "default_payment_method"], "pm_1")
            .list("payment_method_types", &["card"])
            .metadata("user_id", "usr-a b&c=d/é")
            .field(&["usage"], "off_session");
        assert_eq!(
            form.encode(),
            "customer=cus_1&invoice_settings[default_payment_method]=pm_1&\
             payment_method_types[]=card&metadata[user_id]=usr-a+b%26c%3Dd%2F%C3%A9&usage=off_session"
        );
        assert_eq!(Form::new().encode(), "");
        assert_eq!(
            Form::new().field(&["a b", "c]"], "x").encode(),
            "a+b[c%5D]=x"
        );
    }
}
