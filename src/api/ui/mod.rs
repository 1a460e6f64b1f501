//! The audit web UI: one HTML page and its scripts and styles, embedded in the binary (no
//! front-end build step, no separate server) and served at `/` and under `/ui/`. The page
//! reads the same JSON API as scripts do; every one of its data requests goes through one
//! function (`assets/api.js`) that adds an API key when the user has given one.
//!
//! Every response carries a Content-Security-Policy that allows only this origin: no inline
//! scripts or styles, no other hosts, so a completion that smuggles markup cannot run
//! anything, and the page makes no request that leaves the server (air-gapped clusters).

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::api::ApiError;

/// Only this origin; nothing inline; no framing, no plugins, no `<base>` rewriting.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// An embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

/// The page's files. The page itself is served for every UI path, so that links into the UI
/// (`/ui/submissions?verdict=wrong_answer`) can be shared and reloaded.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("assets/index.html"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/app.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("assets/favicon.svg"),
    },
    Asset {
        name: "app.js",
        content_type: JS,
        body: include_bytes!("assets/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JS,
        body: include_bytes!("assets/api.js"),
    },
    Asset {
        name: "dom.js",
        content_type: JS,
        body: include_bytes!("assets/dom.js"),
    },
    Asset {
        name: "chart.js",
        content_type: JS,
        body: include_bytes!("assets/chart.js"),
    },
    Asset {
        name: "highlight.js",
        content_type: JS,
        body: include_bytes!("assets/highlight.js"),
    },
    Asset {
        name: "runs.js",
        content_type: JS,
        body: include_bytes!("assets/runs.js"),
    },
    Asset {
        name: "submissions.js",
        content_type: JS,
        body: include_bytes!("assets/submissions.js"),
    },
    Asset {
        name: "submission.js",
        content_type: JS,
        body: include_bytes!("assets/submission.js"),
    },
];

/// The UI's routes, merged into the API router (so they pass the same layers).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(page))
        .route("/ui", get(page))
        .route("/ui/", get(page))
        .route("/ui/assets/{name}", get(asset))
        .route("/ui/{*view}", get(page))
}

async fn page(headers: HeaderMap) -> Response {
    serve(0, &headers)
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|asset| asset.name == name) {
        Some(index) => serve(index, &headers),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no UI asset `{name}`"),
        )
        .into_response(),
    }
}

/// A strong ETag per asset, computed once: the content is fixed for the life of the binary.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let digest = Sha256::digest(asset.body);
                let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

/// The asset with its headers. `no-cache` makes the browser revalidate each time (a 304 when
/// unchanged), so a server upgrade is never hidden behind a stale cached script; the files
/// are small and the round trip is local.
fn serve(index: usize, request: &HeaderMap) -> Response {
    let asset = &ASSETS[index];
    let etag = &etags()[index];
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_name_no_other_host() {
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).expect("assets are text");
            // The SVG namespace is an identifier, not a request.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
                "{} refers to another host",
                asset.name
            );
        }
    }

    #[test]
    fn every_script_the_page_imports_is_embedded() {
        for asset in ASSETS
            .iter()
            .filter(|asset| asset.content_type == JS || asset.name == "index.html")
        {
            let text = std::str::from_utf8(asset.body).unwrap();
            for part in text
                .split("from './")
                .skip(1)
                .chain(text.split("/ui/assets/").skip(1))
            {
                let name = part.split(['\'', '"']).next().unwrap();
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "{} refers to `{name}`, which is not embedded",
                    asset.name
                );
            }
        }
    }
}
