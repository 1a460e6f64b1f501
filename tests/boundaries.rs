//! The layers of ARCHITECTURE.md as a test: reads every path into the crate (`use crate::…`,
//! `crate::x::y` in code, `verdict::…` in the entry points) and fails when a module reaches a
//! layer it must not know. Comments are skipped; a path written in code counts whether it sits
//! in a `use` line or inline.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// For each top-level module, the crate modules it must not name. `math` is the innermost
/// layer and names nothing of the crate at all (checked separately).
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "code",
        &[
            "api", "store", "reward", "grading", "wire", "jobs", "check", "app", "config", "dataset", "eval",
        ],
    ),
    (
        "completion",
        &[
            "api", "store", "reward", "grading", "wire", "jobs", "check", "app",
        ],
    ),
    (
        "reward",
        &["api", "store", "grading", "wire", "jobs", "check", "app"],
    ),
    ("dataset", &["api", "store", "grading", "jobs", "check", "app"]),
    ("eval", &["api", "grading", "jobs", "check", "app"]),
    ("store", &["api", "grading", "wire", "jobs", "check", "app"]),
    ("wire", &["api", "store", "grading", "jobs", "check", "app"]),
    ("config", &["api", "grading", "jobs", "check", "app"]),
    ("auth", &["api", "grading", "jobs", "check", "app"]),
    ("telemetry", &["api", "grading", "jobs", "check", "app"]),
    ("grading", &["api", "jobs", "check", "app"]),
    ("jobs", &["api", "check", "app"]),
    ("check", &["api", "jobs", "app"]),
    // The command line is an entry point: it uses `App`, never the routes.
    ("cli", &["api"]),
];

/// What an entry point (main, fuzz targets, benches) may take from `api`: the router and the
/// state it is built from; everything else comes from the library layers.
const API_FOR_ENTRY_POINTS: &[&str] = &["router", "AppState"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// The code of a file without its comments (line comments, doc comments, block comments).
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.lines() {
        let mut rest = line;
        let mut kept = String::new();
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(end) => {
                        rest = &rest[end + 2..];
                        in_block = false;
                    }
                    None => break,
                }
            } else {
                let line_comment = rest.find("//");
                let block_comment = rest.find("/*");
                match (line_comment, block_comment) {
                    (Some(l), Some(b)) if b < l => {
                        kept.push_str(&rest[..b]);
                        rest = &rest[b + 2..];
                        in_block = true;
                    }
                    (Some(l), _) => {
                        kept.push_str(&rest[..l]);
                        break;
                    }
                    (None, Some(b)) => {
                        kept.push_str(&rest[..b]);
                        rest = &rest[b + 2..];
                        in_block = true;
                    }
                    (None, None) => {
                        kept.push_str(rest);
                        break;
                    }
                }
            }
        }
        code.push_str(&kept);
        code.push('\n');
    }
    code
}

/// The paths named after `root::` in `code`, as `first` or `first::second` segments. Grouped
/// imports (`use crate::{a, b::c}`) yield each member.
fn paths_after(code: &str, root: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let needle = format!("{root}::");
    let mut search = code;
    while let Some(at) = search.find(&needle) {
        let before = search[..at].chars().next_back();
        search = &search[at + needle.len()..];
        // `mycrate::` or `x.crate::` are not this root.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = search.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                let mut segments = member.trim().split("::").map(str::trim);
                if let Some(first) = segments.next().filter(|s| !s.is_empty()) {
                    found.push((first.to_owned(), segments.next().map(ident)));
                }
            }
            continue;
        }
        let first = ident(search);
        if first.is_empty() {
            continue;
        }
        let second = search[first.len()..]
            .strip_prefix("::")
            .map(ident)
            .filter(|s| !s.is_empty());
        found.push((first, second));
    }
    found
}

fn ident(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level module a file of `src/` belongs to.
fn module_of(relative: &Path) -> Option<String> {
    let mut parts = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let first = parts.next()?;
    Some(first.strip_suffix(".rs").unwrap_or(&first).to_owned())
}

/// Every violation of the layer rules in the library, as `file: module names crate::x`.
fn library_violations() -> Vec<String> {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 50,
        "expected the crate's sources under {}",
        src.display()
    );
    let mut violations = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap().to_path_buf();
        let Some(module) = module_of(&relative) else {
            continue;
        };
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let named: BTreeSet<String> = paths_after(&code, "crate")
            .into_iter()
            .map(|(first, _)| first)
            .collect();
        for target in named {
            let forbidden = if module == "math" {
                target != "math"
            } else {
                FORBIDDEN
                    .iter()
                    .find(|(name, _)| *name == module)
                    .is_some_and(|(_, banned)| banned.contains(&target.as_str()))
            };
            if forbidden {
                violations.push(format!(
                    "src/{}: `{module}` names crate::{target}",
                    relative.display()
                ));
            }
        }
    }
    violations
}

/// Entry points that take anything but the router from `api`.
fn entry_point_violations() -> Vec<String> {
    let root = repo();
    let mut files = vec![root.join("src/main.rs")];
    rust_files(&root.join("benches"), &mut files);
    rust_files(&root.join("fuzz/fuzz_targets"), &mut files);
    let mut violations = Vec::new();
    for file in files {
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for (first, second) in paths_after(&code, "verdict") {
            if first != "api" {
                continue;
            }
            let allowed = second
                .as_deref()
                .is_some_and(|item| API_FOR_ENTRY_POINTS.contains(&item));
            if !allowed {
                violations.push(format!(
                    "{}: reaches into verdict::api::{}",
                    file.strip_prefix(&root).unwrap().display(),
                    second.unwrap_or_default()
                ));
            }
        }
    }
    violations
}

#[test]
fn every_layer_names_only_the_layers_below_it() {
    let violations = library_violations();
    assert!(
        violations.is_empty(),
        "layer rules broken:\n{}",
        violations.join("\n")
    );
}

#[test]
fn entry_points_take_only_the_router_from_the_http_layer() {
    let violations = entry_point_violations();
    assert!(
        violations.is_empty(),
        "entry points reach into api:\n{}",
        violations.join("\n")
    );
}

/// The scanner itself: what it must see and what it must not, so a broken scanner cannot pass
/// the two tests above by finding nothing.
#[test]
fn the_scanner_sees_imports_in_every_form_and_skips_comments() {
    let code = code_of(
        "use crate::api::ApiError;\n\
         use crate::{store::Store, wire};\n\
         // use crate::jobs::JobRunner;\n\
         /* crate::check::run */ let x = crate::grading::Grader::new();\n\
         /// [`crate::app::App`]\n\
         let y = mycrate::config::Config;\n",
    );
    let found: BTreeSet<String> = paths_after(&code, "crate")
        .into_iter()
        .map(|(first, _)| first)
        .collect();
    let expected: BTreeSet<String> = ["api", "store", "wire", "grading"].map(str::to_owned).into();
    assert_eq!(found, expected);
    let entry = paths_after(
        "let r = verdict::api::router(state); verdict::api::parse_item(x);",
        "verdict",
    );
    assert_eq!(
        entry,
        vec![
            ("api".to_owned(), Some("router".to_owned())),
            ("api".to_owned(), Some("parse_item".to_owned())),
        ]
    );
}
