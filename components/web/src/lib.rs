//! chatcode web component: the browser console. Every page path (`/`, `/dashboard`,
//! `/dashboard/...`) gets the one HTML shell of `web/dist`; `/assets/<hashed name>` gets an
//! embedded, precompressed asset. The assets are compiled into the `.wasm` (see `build.rs`), so
//! the same file runs on real Spin and on the embedded runtime with no `files` mapping.

mod assets;
mod headers;
mod negotiate;
mod page;

use chatcode_core::ApiError;
use chatcode_kit::respond;
use spin_sdk::http::{Method, Request, Response};

/// The component's entry point. Only wasm32 builds export it: the export's name is not a
/// valid symbol for host linkers, and host builds exist for tests and lints.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
fn handle(req: Request) -> Response {
    route(&req)
}

/// What a path names.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    /// A page: the HTML shell.
    Page,
    /// An asset by its file name.
    Asset(&'a str),
    /// Nothing this component serves.
    Unknown,
}

fn target(path: &str) -> Target<'_> {
    if let Some(name) = path.strip_prefix("/assets/") {
        return Target::Asset(name);
    }
    match path {
        "/" | "/dashboard" => Target::Page,
        p if p.starts_with("/dashboard/") => Target::Page,
        _ => Target::Unknown,
    }
}

/// Serves one request: `GET` and `HEAD` only.
pub fn route(req: &Request) -> Response {
    let head = match req.method() {
        Method::Get => false,
        Method::Head => true,
        _ => {
            let mut response = respond::error(&ApiError::method_not_allowed());
            response.set_header("allow", "GET, HEAD");
            return response;
        }
    };
    let header = |name: &str| req.header(name).and_then(|v| v.as_str());
    match target(req.path()) {
        Target::Page => page::serve(
            assets::INDEX_HTML,
            &page::Settings::load(),
            header("if-none-match"),
            head,
        ),
        Target::Asset(name) => match assets::find(assets::ASSETS, name) {
            Some(asset) => asset.serve(header("accept-encoding"), header("if-none-match"), head),
            None => respond::error(&ApiError::not_found("no such asset")),
        },
        Target::Unknown => respond::error(&ApiError::not_found("no such page")),
    }
}

#[cfg(test)]
mod tests {
    use super::{Target, target};

    #[test]
    fn page_paths_never_reach_the_api() {
        assert_eq!(target("/"), Target::Page);
        assert_eq!(target("/dashboard"), Target::Page);
        assert_eq!(target("/dashboard/vps/vps-1"), Target::Page);
        assert_eq!(target("/dashboardx"), Target::Unknown);
        assert_eq!(target("/vps/vps-1"), Target::Unknown);
        assert_eq!(target("/assets/app-1.js"), Target::Asset("app-1.js"));
    }
}
