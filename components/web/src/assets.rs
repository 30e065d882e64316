//! The hashed assets embedded at build time (see `build.rs`) and how one is served: immutable
//! caching, an entity tag per encoding, `304` on a match, brotli or gzip as the client allows.

use spin_sdk::http::Response;

use crate::negotiate::{self, Encoding};

/// One file of `web/dist/assets`, with its precompressed variants.
#[derive(Debug)]
pub struct Asset {
    /// File name, content hash included (`app-3f9a1c2b.js`).
    pub name: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Hex of the content's SHA-256 prefix; the entity tag's opaque part.
    pub etag: &'static str,
    /// The bytes as they are.
    pub identity: &'static [u8],
    /// Brotli-compressed, if the build made it.
    pub br: Option<&'static [u8]>,
    /// Gzip-compressed, if the build made it.
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Assets never change under one name: a year, and no revalidation.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The asset called `name` in `table` (sorted by name).
pub fn find<'t>(table: &'t [Asset], name: &str) -> Option<&'t Asset> {
    table
        .binary_search_by(|asset| asset.name.cmp(name))
        .ok()
        .map(|index| &table[index])
}

impl Asset {
    fn bytes(&self, encoding: Encoding) -> Option<&'static [u8]> {
        match encoding {
            Encoding::Brotli => self.br,
            Encoding::Gzip => self.gzip,
            Encoding::Identity => Some(self.identity),
        }
    }

    fn tag(&self, encoding: Encoding) -> String {
        match encoding {
            Encoding::Brotli => format!("\"{}-br\"", self.etag),
            Encoding::Gzip => format!("\"{}-gz\"", self.etag),
            Encoding::Identity => format!("\"{}\"", self.etag),
        }
    }

    /// The response to a `GET` (or, without a body, `HEAD`) of this asset.
    pub fn serve(
        &self,
        accept_encoding: Option<&str>,
        if_none_match: Option<&str>,
        head: bool,
    ) -> Response {
        let available: Vec<Encoding> = [Encoding::Brotli, Encoding::Gzip, Encoding::Identity]
            .into_iter()
            .filter(|e| self.bytes(*e).is_some())
            .collect();
        let Some(encoding) = negotiate::choose(accept_encoding, &available) else {
            return crate::headers::secure(Response::builder().status(406))
                .header("vary", "accept-encoding")
                .body(Vec::new())
                .build();
        };
        let bytes = self.bytes(encoding).unwrap_or(self.identity);
        let tag = self.tag(encoding);
        let tags: Vec<String> = available.iter().map(|e| self.tag(*e)).collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let mut builder = Response::builder();
        crate::headers::secure(&mut builder)
            .header("cache-control", IMMUTABLE)
            .header("etag", tag)
            .header("vary", "accept-encoding");
        if negotiate::none_match(if_none_match, &tags) {
            return builder.status(304).body(Vec::new()).build();
        }
        builder
            .status(200)
            .header("content-type", self.content_type)
            .header("content-length", bytes.len().to_string());
        if encoding != Encoding::Identity {
            builder.header("content-encoding", encoding.token());
        }
        builder
            .body(if head { Vec::new() } else { bytes.to_vec() })
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::{Asset, find};

    static TABLE: &[Asset] = &[
        Asset {
            name: "app-1234.js",
            content_type: "text/javascript; charset=utf-8",
            etag: "1234",
            identity: b"console.log(1)",
            br: Some(b"BR"),
            gzip: Some(b"GZIP"),
        },
        Asset {
            name: "app-5678.css",
            content_type: "text/css; charset=utf-8",
            etag: "5678",
            identity: b"body{}",
            br: None,
            gzip: Some(b"GZ"),
        },
    ];

    fn header(response: &spin_sdk::http::Response, name: &str) -> Option<String> {
        response
            .header(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    #[test]
    fn lookups_by_exact_name() {
        assert!(find(TABLE, "app-1234.js").is_some());
        assert!(find(TABLE, "app-5678.css").is_some());
        assert!(find(TABLE, "app-1234").is_none());
        assert!(find(TABLE, "../app-1234.js").is_none());
    }

    #[test]
    fn brotli_when_allowed_with_its_own_tag() {
        let asset = find(TABLE, "app-1234.js").unwrap();
        let response = asset.serve(Some("gzip, br"), None, false);
        assert_eq!(*response.status(), 200);
        assert_eq!(response.body(), b"BR");
        assert_eq!(header(&response, "content-encoding").as_deref(), Some("br"));
        assert_eq!(header(&response, "etag").as_deref(), Some("\"1234-br\""));
        assert_eq!(header(&response, "content-length").as_deref(), Some("2"));
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(
            header(&response, "content-type").as_deref(),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            header(&response, "vary").as_deref(),
            Some("accept-encoding")
        );
        assert_eq!(
            header(&response, "x-content-type-options").as_deref(),
            Some("nosniff")
        );
    }

    #[test]
    fn gzip_or_identity_otherwise() {
        let css = find(TABLE, "app-5678.css").unwrap();
        let response = css.serve(Some("br, gzip"), None, false);
        assert_eq!(response.body(), b"GZ");
        assert_eq!(
            header(&response, "content-encoding").as_deref(),
            Some("gzip")
        );
        let plain = css.serve(None, None, false);
        assert_eq!(plain.body(), b"body{}");
        assert_eq!(header(&plain, "content-encoding"), None);
        assert_eq!(header(&plain, "etag").as_deref(), Some("\"5678\""));
    }

    #[test]
    fn a_known_tag_answers_304_without_a_body() {
        let asset = find(TABLE, "app-1234.js").unwrap();
        let response = asset.serve(Some("br"), Some("\"1234-gz\""), false);
        assert_eq!(*response.status(), 304);
        assert!(response.body().is_empty());
        assert_eq!(header(&response, "etag").as_deref(), Some("\"1234-br\""));
        let miss = asset.serve(Some("br"), Some("\"9999\""), false);
        assert_eq!(*miss.status(), 200);
    }

    #[test]
    fn head_sends_headers_only() {
        let asset = find(TABLE, "app-1234.js").unwrap();
        let response = asset.serve(None, None, true);
        assert_eq!(*response.status(), 200);
        assert!(response.body().is_empty());
        assert_eq!(header(&response, "content-length").as_deref(), Some("14"));
    }

    #[test]
    fn nothing_acceptable_is_406() {
        let asset = find(TABLE, "app-1234.js").unwrap();
        assert_eq!(*asset.serve(Some("*;q=0"), None, false).status(), 406);
    }
}
