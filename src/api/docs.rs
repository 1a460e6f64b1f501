//! `GET /docs`: the API reference as one self-contained HTML page, rendered from the same
//! OpenAPI document as `/openapi.json`, so the two never disagree. No scripts, fonts or other
//! requests leave the page: it works on an air-gapped cluster.

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::Html;
use serde_json::Value;

use super::AppState;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The human-readable API reference.
#[utoipa::path(get, tag = "docs", path = "/docs", responses((status = 200, content_type = "text/html")))]
pub async fn docs(State(state): State<AppState>) -> Html<String> {
    Html(render(&super::openapi_document(&state)))
}

fn render(document: &Value) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let title = text(&document["info"]["title"]);
    let _ = write!(
        page,
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>\
         <title>{title} API</title><style>{STYLE}</style><main><h1>{title} API <small>{}</small></h1><p>{}</p>\
         <p>Machine-readable: <a href=/openapi.json>/openapi.json</a>. Errors share one shape: \
         <code>{{\"error\": {{\"code\", \"message\", \"field\"}}}}</code>.</p><nav><ul>",
        text(&document["info"]["version"]),
        text(&document["info"]["description"]),
    );
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    for (path, item) in &paths {
        for method in METHODS.iter().filter(|method| item.get(**method).is_some()) {
            let _ = write!(
                page,
                "<li><a href='#{}'><b>{}</b> {}</a></li>",
                anchor(method, path),
                method.to_uppercase(),
                escape(path)
            );
        }
    }
    page.push_str("</ul></nav>");
    for (path, item) in &paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                render_operation(&mut page, method, path, operation);
            }
        }
    }
    page.push_str("<h2 id=schemas>Schemas</h2>");
    if let Some(schemas) = document["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                page,
                "<section id='schema-{}'><h3>{}</h3>{}<pre>{}</pre></section>",
                escape(name),
                escape(name),
                paragraph(&schema["description"]),
                link_refs(&escape(&pretty))
            );
        }
    }
    page.push_str("</main></html>");
    page
}

fn render_operation(page: &mut String, method: &str, path: &str, operation: &Value) {
    let _ = write!(
        page,
        "<section id='{}'><h2><span class='m {method}'>{}</span> {}</h2>{}{}",
        anchor(method, path),
        method.to_uppercase(),
        escape(path),
        paragraph(&operation["summary"]),
        paragraph(&operation["description"]),
    );
    if let Some(parameters) = operation["parameters"].as_array().filter(|p| !p.is_empty()) {
        page.push_str("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>description</th></tr>");
        for parameter in parameters {
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(&parameter["name"]),
                text(&parameter["in"]),
                if parameter["required"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                text(&parameter["description"]),
            );
        }
        page.push_str("</table>");
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        page.push_str("<h4>Request body</h4><ul>");
        for (media, body) in content {
            let _ = write!(
                page,
                "<li><code>{}</code>: {}</li>",
                escape(media),
                schema_link(&body["schema"])
            );
        }
        page.push_str("</ul>");
    }
    if let Some(responses) = operation["responses"].as_object() {
        page.push_str("<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>body</th></tr>");
        for (status, response) in responses {
            let body = response["content"]
                .as_object()
                .map(|content| {
                    content
                        .iter()
                        .map(|(media, body)| {
                            format!("<code>{}</code> {}", escape(media), schema_link(&body["schema"]))
                        })
                        .collect::<Vec<_>>()
                        .join("<br>")
                })
                .unwrap_or_default();
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{body}</td></tr>",
                escape(status),
                text(&response["description"])
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</section>");
}

/// A link to a named schema, or the inline schema's type.
fn schema_link(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href='#schema-{0}'>{0}</a>", escape(name));
    }
    if schema["type"] == "array" {
        return format!("array of {}", schema_link(&schema["items"]));
    }
    schema["type"].as_str().map(escape).unwrap_or_default()
}

/// Turns `"$ref": "#/components/schemas/Name"` inside pretty-printed (escaped) JSON into links.
fn link_refs(escaped_json: &str) -> String {
    const MARKER: &str = "&quot;#/components/schemas/";
    let mut out = String::with_capacity(escaped_json.len());
    let mut rest = escaped_json;
    while let Some(at) = rest.find(MARKER) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARKER.len()..];
        let end = after.find("&quot;").unwrap_or(after.len());
        let name = &after[..end];
        let _ = write!(
            out,
            "&quot;<a href='#schema-{name}'>#/components/schemas/{name}</a>"
        );
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn anchor(method: &str, path: &str) -> String {
    let slug: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{method}{slug}")
}

fn paragraph(value: &Value) -> String {
    value
        .as_str()
        .filter(|s| !s.is_empty())
        .map(|s| format!("<p>{}</p>", escape(s)))
        .unwrap_or_default()
}

fn text(value: &Value) -> String {
    value.as_str().map(escape).unwrap_or_default()
}

fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafafa}\
main{max-width:960px;margin:0 auto;padding:1rem 1.5rem}h1 small{font-size:.6em;color:#666}\
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:left;vertical-align:top}\
pre{background:#f4f4f4;padding:.5rem;overflow:auto;font-size:13px}code{font-size:13px}\
.m{font-size:.8em;padding:.1rem .4rem;border-radius:4px;color:#fff;background:#555}.m.get{background:#2f6f3e}\
.m.post{background:#1f5fa8}.m.put{background:#8a5a00}.m.delete{background:#a11}nav ul{columns:2}a{color:#1f5fa8}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_route_and_schema_is_on_the_page() {
        let document = super::super::static_document().clone();
        let page = render(&document);
        for path in document["paths"].as_object().unwrap().keys() {
            assert!(page.contains(&escape(path)), "{path} missing");
        }
        assert!(page.contains("id='schema-RewardRequest'"));
        assert!(page.contains("<a href='#schema-ErrorBody'>ErrorBody</a>"));
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no external requests"
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
