//! Stripe's form encoding: `a=1&b[c]=2&d[]=3&d[]=4` decoded into a nested value, the way
//! Stripe's Rack front end reads it (`[key]` nests a hash, `[]` appends to a list, the last
//! of two plain values wins).

use std::collections::BTreeMap;

/// Most parameters one request may carry.
const MAX_PAIRS: usize = 1000;
/// Deepest nesting accepted (`a[b][c][d][e]`).
const MAX_DEPTH: usize = 5;

/// A decoded parameter: a string, a hash, or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    /// `a=v`
    Text(String),
    /// `a[k]=v`, keys in order (so two requests compare equal whatever their order).
    Map(BTreeMap<String, Field>),
    /// `a[]=v`, in the order sent.
    List(Vec<Field>),
}

impl Field {
    /// The string, if this is one.
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a list: `a[]=x&a[]=y`, or `a[0]=x&a[1]=y` as the SDKs send it.
    pub(crate) fn items(&self) -> Option<Vec<&Field>> {
        match self {
            Self::List(items) => Some(items.iter().collect()),
            Self::Map(map) => {
                let mut indexed: Vec<(usize, &Field)> = map
                    .iter()
                    .map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v)))
                    .collect::<Option<_>>()?;
                indexed.sort_by_key(|(i, _)| *i);
                Some(indexed.into_iter().map(|(_, v)| v).collect())
            }
            Self::Text(_) => None,
        }
    }
}

/// The top-level parameters of a request.
pub(crate) type Form = BTreeMap<String, Field>;

/// Why a body could not be decoded; the message Stripe gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub String);

/// Decodes `application/x-www-form-urlencoded` with bracket nesting.
pub(crate) fn decode(input: &[u8]) -> Result<Form, DecodeError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(input)
        .map_err(|_| DecodeError("Invalid request: the body could not be decoded.".into()))?;
    if pairs.len() > MAX_PAIRS {
        return Err(DecodeError(format!(
            "Invalid request: too many parameters (at most {MAX_PAIRS})."
        )));
    }
    let mut form = Form::new();
    for (key, value) in pairs {
        let (name, path) = split_key(&key)?;
        insert(&mut form, &name, &path, value, &key)?;
    }
    Ok(form)
}

/// `a[b][]` → (`a`, [Some("b"), None]); `None` stands for `[]`.
fn split_key(key: &str) -> Result<(String, Vec<Option<String>>), DecodeError> {
    let bad = || {
        DecodeError(format!(
            "Invalid request: malformed parameter name {key:?}."
        ))
    };
    let (name, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if name.is_empty() {
        return Err(bad());
    }
    let mut path = Vec::new();
    while !rest.is_empty() {
        let close = rest.find(']').ok_or_else(bad)?;
        if !rest.starts_with('[') {
            return Err(bad());
        }
        let segment = &rest[1..close];
        path.push((!segment.is_empty()).then(|| segment.to_owned()));
        rest = &rest[close + 1..];
    }
    if path.len() >= MAX_DEPTH {
        return Err(DecodeError(format!(
            "Invalid request: {key:?} is nested too deeply."
        )));
    }
    Ok((name.to_owned(), path))
}

fn conflict(key: &str) -> DecodeError {
    DecodeError(format!(
        "Invalid request: {key:?} mixes a value, a hash and a list under one name."
    ))
}

fn insert(
    map: &mut Form,
    name: &str,
    path: &[Option<String>],
    value: String,
    key: &str,
) -> Result<(), DecodeError> {
    let Some((first, rest)) = path.split_first() else {
        // A plain value: the last one wins, but it may not replace a hash or a list.
        return match map.get(name) {
            Some(Field::Map(_) | Field::List(_)) => Err(conflict(key)),
            _ => {
                map.insert(name.to_owned(), Field::Text(value));
                Ok(())
            }
        };
    };
    match first {
        Some(segment) => {
            let entry = map
                .entry(name.to_owned())
                .or_insert_with(|| Field::Map(BTreeMap::new()));
            let Field::Map(inner) = entry else {
                return Err(conflict(key));
            };
            insert(inner, segment, rest, value, key)
        }
        None => {
            let entry = map
                .entry(name.to_owned())
                .or_insert_with(|| Field::List(Vec::new()));
            let Field::List(items) = entry else {
                return Err(conflict(key));
            };
            if rest.is_empty() {
                items.push(Field::Text(value));
                return Ok(());
            }
            // `a[][k]=v`: a list of hashes; a key already in the last hash starts a new one.
            let starts_new = match (items.last(), &rest[0]) {
                (Some(Field::Map(last)), Some(k)) => last.contains_key(k),
                _ => true,
            };
            if starts_new {
                items.push(Field::Map(BTreeMap::new()));
            }
            match items.last_mut() {
                Some(Field::Map(inner)) => match rest.split_first() {
                    Some((Some(k), deeper)) => insert(inner, k, deeper, value, key),
                    _ => Err(conflict(key)),
                },
                _ => Err(conflict(key)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Field {
        Field::Text(s.to_owned())
    }

    #[test]
    fn nests_hashes_and_lists() {
        let form = decode(
            b"email=a%40b.c&metadata[order_id]=x&metadata[n]=1&payment_method_types[]=card\
              &payment_method_types[]=link&invoice_settings[default_payment_method]=pm_1",
        )
        .expect("decodes");
        assert_eq!(form["email"], text("a@b.c"));
        let Field::Map(metadata) = &form["metadata"] else {
            panic!("metadata is a hash")
        };
        assert_eq!(metadata["order_id"], text("x"));
        assert_eq!(
            form["payment_method_types"],
            Field::List(vec![text("card"), text("link")])
        );
        let Field::Map(settings) = &form["invoice_settings"] else {
            panic!("a hash")
        };
        assert_eq!(settings["default_payment_method"], text("pm_1"));
    }

    #[test]
    fn indexed_lists_read_as_lists() {
        let form = decode(b"t[1]=b&t[0]=a").expect("decodes");
        let items: Vec<&str> = form["t"]
            .items()
            .expect("a list")
            .into_iter()
            .filter_map(Field::as_text)
            .collect();
        assert_eq!(items, vec!["a", "b"]);
        assert!(decode(b"m[k]=v").expect("decodes")["m"].items().is_none());
    }

    #[test]
    fn lists_of_hashes_and_last_value_wins() {
        let form = decode(b"a[][k]=1&a[][j]=2&a[][k]=3&b=1&b=2").expect("decodes");
        let Field::List(items) = &form["a"] else {
            panic!("a list")
        };
        assert_eq!(items.len(), 2);
        assert_eq!(form["b"], text("2"));
    }

    #[test]
    fn refuses_conflicts_and_malformed_names() {
        for bad in [
            &b"a=1&a[b]=2"[..],
            b"a[b]=1&a[]=2",
            b"a[b=1",
            b"[x]=1",
            b"a[b]c=1",
            b"a[1][2][3][4][5]=1",
        ] {
            assert!(decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn order_does_not_matter_for_equality() {
        assert_eq!(
            decode(b"a=1&m[x]=1&m[y]=2").expect("decodes"),
            decode(b"m[y]=2&a=1&m[x]=1").expect("decodes")
        );
    }
}
