//! The house's shape, checked: imports point down, in the layers below, and
//! no file of `src/` reaches itself through its imports. `cargo test --test
//! it layers -- --nocapture` prints the graph's size and the longest files.
//!
//! A file's imports are every `crate::…` and `super::…` path it names, in
//! `use` lines and inline; each resolves to the deepest module file that
//! exists (`crate::data::source::Input` is `src/data/source.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo_root;

/// Top-level modules by layer, bottom first. A module may import its own
/// layer and those below; `main.rs` and `lib.rs` stand above all.
const LAYERS: [&[&str]; 4] = [
    // The domain and the ports: DSLP, data, models, GitHub, git, config.
    &[
        "lifecycle",
        "data",
        "model",
        "github",
        "config",
        "revision",
        "timestamp",
        "secret",
        "progress",
        "scaffold",
    ],
    // What decides and what renders.
    &[
        "event",
        "chatops",
        "evidence",
        "report",
        "engine",
        "automation",
    ],
    // What carries an event through.
    &["handler"],
    // The shells.
    &["action", "app", "cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// `src/a/b.rs` → `["a", "b"]`; `src/a/mod.rs` → `["a"]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module paths a file names: `crate::x::y` and `super::z`, with `use`
/// groups (`crate::a::{b, c::d}`) expanded one level.
fn named_paths(text: &str, own: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().last();
            rest = &rest[at..];
            let word_start = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '*'))
                .unwrap_or(rest.len());
            let path = &rest[..end];
            let group = rest[end..].starts_with('{');
            if word_start {
                let base: Vec<String> = resolve_prefix(path, own, is_mod_file);
                if group {
                    let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
                    for item in rest[end + 1..close].split(',') {
                        let mut full = base.clone();
                        full.extend(
                            item.trim()
                                .split("::")
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty() && s != "self"),
                        );
                        out.push(full);
                    }
                } else {
                    out.push(base);
                }
            }
            rest = &rest[end.max(1)..];
        }
    }
    out
}

fn resolve_prefix(path: &str, own: &[String], is_mod_file: bool) -> Vec<String> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut rest = parts.as_slice();
    match rest.first() {
        Some(&"crate") => rest = &rest[1..],
        Some(&"super") => {
            // A `mod.rs`'s `super` is its directory's parent; a file's, its directory.
            out = own.to_vec();
            if !is_mod_file || !out.is_empty() {
                out.pop();
            }
            rest = &rest[1..];
            while rest.first() == Some(&"super") {
                out.pop();
                rest = &rest[1..];
            }
        }
        _ => {}
    }
    out.extend(rest.iter().filter(|s| **s != "*").map(|s| s.to_string()));
    out
}

/// The paths a file names through its own child modules (`mod x;` then
/// `x::y` or `use x::{…}`), as module paths under the file's own.
fn child_paths(text: &str, own: &[String]) -> Vec<Vec<String>> {
    let children: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';')
        })
        .collect();
    children
        .iter()
        .filter(|child| text.contains(&format!("{child}::")))
        .map(|child| {
            let mut path = own.to_vec();
            path.push(child.to_string());
            path
        })
        .collect()
}

struct Graph {
    /// File (its module path joined by `::`) → the files it imports.
    edges: BTreeMap<String, BTreeSet<String>>,
    lines: BTreeMap<String, usize>,
}

fn graph() -> Graph {
    let src = repo_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_path(&src, f), f.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    let mut lines = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        // Tests may reach anywhere: they are not the house.
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        let name = module.join("::");
        lines.insert(name.clone(), text.lines().count());
        let is_mod_file = file.file_name().is_some_and(|n| n == "mod.rs");
        let mut targets = BTreeSet::new();
        let mut named = named_paths(text, module, is_mod_file);
        named.extend(child_paths(text, module));
        for path in named {
            // The deepest module file the path reaches.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains_key(p));
            if let Some(target) = target.filter(|t| t != module && !t.is_empty()) {
                targets.insert(target.join("::"));
            }
        }
        edges.insert(name, targets);
    }
    Graph { edges, lines }
}

/// Every cycle's files, found by Tarjan's strongly connected components.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, node: &'a str) {
        s.index.insert(node, s.next);
        s.low.insert(node, s.next);
        s.next += 1;
        s.stack.push(node);
        s.on_stack.insert(node);
        for next in s.edges.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !s.edges.contains_key(next) {
                continue;
            }
            if !s.index.contains_key(next) {
                visit(s, next);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = Vec::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(top);
                component.push(top.to_string());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for node in edges.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.out
}

#[test]
fn no_file_of_src_reaches_itself_through_its_imports() {
    let graph = graph();
    let found = cycles(&graph.edges);
    let edges: usize = graph.edges.values().map(BTreeSet::len).sum();
    println!("{} files, {edges} imports between them", graph.edges.len());
    let mut longest: Vec<(&String, &usize)> = graph.lines.iter().collect();
    longest.sort_by_key(|(_, n)| std::cmp::Reverse(**n));
    for (file, n) in longest.iter().take(8) {
        println!("{n:>5} lines  {file}");
    }
    assert!(
        found.is_empty(),
        "import cycles between files of src/:\n{}",
        found
            .iter()
            .map(|c| format!("  {}", c.join(" ↔ ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn imports_point_down_the_layers() {
    let graph = graph();
    let mut upward = Vec::new();
    for (file, targets) in &graph.edges {
        let top = file.split("::").next().unwrap_or_default();
        if matches!(file.as_str(), "lib" | "main") {
            continue; // the crate's root stands above every layer
        }
        let Some(own) = layer_of(top) else {
            panic!("`src/{top}` is in no layer: add it to LAYERS");
        };
        for target in targets {
            let their = target.split("::").next().unwrap_or_default();
            if layer_of(their).is_some_and(|layer| layer > own) {
                upward.push(format!("  {file} → {target}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up (lifecycle, data, model, github … → evidence, report, engine, automation → handler → action, app, cli):\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_resolver_reads_groups_super_and_inline_paths() {
    let own = vec!["handler".to_string(), "pull_request".to_string()];
    let named = named_paths(
        "use crate::github::{fetch::Fetch, GitHub};\nuse super::*;\nlet x = crate::app::store::now_ms();",
        &own,
        false,
    );
    assert!(named.contains(&vec!["github".into(), "fetch".into(), "Fetch".into()]));
    assert!(named.contains(&vec!["github".into(), "GitHub".into()]));
    assert!(named.contains(&vec!["handler".into()]));
    let children = child_paths(
        "mod commands;\npub mod sandbox;\nuse commands::command;",
        &own[..1],
    );
    assert_eq!(
        children,
        vec![vec!["handler".to_string(), "commands".to_string()]]
    );
    assert!(named.contains(&vec!["app".into(), "store".into(), "now_ms".into()]));
}
