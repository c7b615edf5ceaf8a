//! The shape of login-runtime, checked: reads `src/`, finds every path each file names in
//! the crate (`use crate::…`, `super::…`, `crate::…` in code and macro bodies; doc comments and
//! test modules do not count) and fails when
//!
//! - a module is in no layer (a new module must be placed in `LAYERS` and in `lib.rs`'s map),
//! - a file imports from a layer above its own, the core imports a feature, a feature imports
//!   another feature, or a leaf imports anything but leaves,
//! - anything imports the crate root (`crate::X` for a re-export: import it where it lives),
//! - the files import each other in a cycle,
//! - a source file is longer than 600 lines, or the per-request state's longer than 400.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// The layers, bottom first, and the top-level modules in each. A module may import from the
/// layers below its own; within "leaves", "model", "core" and "responses" from its own layer
/// too; a feature only from itself.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &[
            "next",
            "negotiate",
            "key",
            "remember",
            "events",
            "diagnostics",
            "throttle",
            "client",
        ],
    ),
    ("model", &["model"]),
    ("core", &["core"]),
    ("responses", &["responses"]),
    (
        "features",
        &["guard", "extract", "authz", "devices", "test_helpers"],
    ),
    ("top", &["manager"]),
];

const MAX_LINES: usize = 600;
const MAX_STATE_LINES: usize = 400;
const STATE_FILE: &str = "core/state.rs";

/// A module path inside the crate: `[]` is the root, `["core", "state"]` is `crate::core::state`.
type ModulePath = Vec<String>;

struct SourceFile {
    /// Relative to `src/`, with `/`.
    name: String,
    module: ModulePath,
    text: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn source_files() -> Vec<SourceFile> {
    let mut files = Vec::new();
    collect(&src_dir(), &mut files);
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

fn collect(dir: &Path, files: &mut Vec<SourceFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let name = path
                .strip_prefix(src_dir())
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("reading {name}: {error}"));
            files.push(SourceFile {
                module: module_of(&name),
                name,
                text,
            });
        }
    }
}

/// `lib.rs` → `[]`, `a.rs` and `a/mod.rs` → `[a]`, `a/b.rs` → `[a, b]`.
fn module_of(name: &str) -> ModulePath {
    let mut parts: Vec<String> = name
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        parts.pop();
    }
    parts
}

/// Test code is not part of the shape: `tests.rs` files, and `#[cfg(test)]` items.
fn is_test_file(file: &SourceFile) -> bool {
    file.name.ends_with("/tests.rs") || file.name == "tests.rs"
}

/// Every crate path a token stream names, as written (`crate`, `super` or `self` first).
fn named_paths(tokens: TokenStream) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    walk(tokens, &mut paths);
    paths
}

fn walk(tokens: TokenStream, paths: &mut Vec<Vec<String>>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        // `#[cfg(test)]` and the item after it: test code.
        if is_cfg_test(&tokens, i) {
            i = skip_item(&tokens, i + 2);
            continue;
        }
        match &tokens[i] {
            // `pub(crate)`, `pub(in crate::core)`: a visibility, not an import.
            TokenTree::Ident(ident) if ident == "pub" => {
                let restricted = matches!(tokens.get(i + 1),
                    Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis);
                i += if restricted { 2 } else { 1 };
            }
            TokenTree::Ident(ident)
                if matches!(ident.to_string().as_str(), "crate" | "super" | "self")
                    && !preceded_by_path_separator(&tokens, i) =>
            {
                i = path_at(&tokens, i, Vec::new(), paths);
            }
            TokenTree::Group(group) => {
                walk(group.stream(), paths);
                i += 1;
            }
            _ => i += 1,
        }
    }
}

fn is_cfg_test(tokens: &[TokenTree], i: usize) -> bool {
    let (Some(TokenTree::Punct(hash)), Some(TokenTree::Group(attr))) =
        (tokens.get(i), tokens.get(i + 1))
    else {
        return false;
    };
    hash.as_char() == '#'
        && attr.delimiter() == Delimiter::Bracket
        && attr.stream().to_string().replace(' ', "") == "cfg(test)"
}

/// The index after the item starting at `i`: up to its `;` or its body `{ … }`.
fn skip_item(tokens: &[TokenTree], mut i: usize) -> usize {
    while let Some(token) = tokens.get(i) {
        i += 1;
        match token {
            TokenTree::Punct(punct) if punct.as_char() == ';' => return i,
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => return i,
            _ => {}
        }
    }
    i
}

fn preceded_by_path_separator(tokens: &[TokenTree], i: usize) -> bool {
    i >= 2
        && matches!((&tokens[i - 2], &tokens[i - 1]),
            (TokenTree::Punct(a), TokenTree::Punct(b)) if a.as_char() == ':' && b.as_char() == ':')
}

/// Reads the path starting at `tokens[i]` (after `prefix`), including `{ … }` use trees;
/// returns the index after it.
fn path_at(
    tokens: &[TokenTree],
    mut i: usize,
    mut prefix: Vec<String>,
    paths: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match tokens.get(i) {
            Some(TokenTree::Ident(ident)) => {
                prefix.push(ident.to_string());
                i += 1;
            }
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                for item in split_commas(group.stream()) {
                    path_at(&item, 0, prefix.clone(), paths);
                }
                return i + 1;
            }
            _ => break,
        }
        let separator = matches!(
            (tokens.get(i), tokens.get(i + 1)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                if a.as_char() == ':' && b.as_char() == ':'
        );
        if !separator {
            break;
        }
        i += 2;
    }
    paths.push(prefix);
    i
}

fn split_commas(stream: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut items = vec![Vec::new()];
    for token in stream {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ',' => items.push(Vec::new()),
            _ => items.last_mut().map_or((), |item| item.push(token)),
        }
    }
    items.retain(|item| !item.is_empty());
    items
}

/// The module a path written in `from` names: its longest prefix that is a module file.
fn resolve(
    from: &ModulePath,
    path: &[String],
    modules: &BTreeSet<ModulePath>,
) -> Option<ModulePath> {
    let (first, rest) = path.split_first()?;
    let mut base: ModulePath = match first.as_str() {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => {
            let mut base = from.clone();
            base.pop()?;
            let mut rest = rest;
            while let Some((next, after)) = rest.split_first() {
                if next != "super" {
                    break;
                }
                base.pop()?;
                rest = after;
            }
            return deepest(base, rest, modules);
        }
        _ => return None,
    };
    base.truncate(base.len());
    deepest(base, rest, modules)
}

fn deepest(
    mut base: ModulePath,
    rest: &[String],
    modules: &BTreeSet<ModulePath>,
) -> Option<ModulePath> {
    for segment in rest {
        base.push(segment.clone());
        if !modules.contains(&base) {
            base.pop();
            break;
        }
    }
    Some(base)
}

fn layer_of(module: &ModulePath) -> Option<(usize, &'static str)> {
    let top = module.first()?;
    LAYERS
        .iter()
        .enumerate()
        .find(|(_, (_, members))| members.contains(&top.as_str()))
        .map(|(rank, (name, _))| (rank, *name))
}

/// The import graph: file → the files it imports from (by module path).
fn import_graph(files: &[SourceFile]) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let modules: BTreeSet<ModulePath> = files.iter().map(|file| file.module.clone()).collect();
    let mut graph = BTreeMap::new();
    for file in files.iter().filter(|file| !is_test_file(file)) {
        let tokens = TokenStream::from_str(&file.text)
            .unwrap_or_else(|error| panic!("{} does not tokenize: {error}", file.name));
        let edges: BTreeSet<ModulePath> = named_paths(tokens)
            .iter()
            .filter_map(|path| resolve(&file.module, path, &modules))
            // A file naming itself (`self::x` of an inline module) is no edge.
            .filter(|target| *target != file.module)
            .collect();
        graph.insert(file.module.clone(), edges);
    }
    graph
}

fn show(module: &ModulePath) -> String {
    if module.is_empty() {
        "lib.rs".to_owned()
    } else {
        module.join("::")
    }
}

fn layering_errors(graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<String> {
    let mut errors = Vec::new();
    for (from, targets) in graph {
        if from.is_empty() {
            continue; // lib.rs is the map: it re-exports from everywhere.
        }
        let Some((from_rank, from_layer)) = layer_of(from) else {
            errors.push(format!(
                "{} is in no layer: add it to LAYERS (and lib.rs's map)",
                show(from)
            ));
            continue;
        };
        for target in targets {
            if target.is_empty() {
                errors.push(format!(
                    "{} imports from the crate root (a re-export): import it from the module that defines it",
                    show(from)
                ));
                continue;
            }
            let Some((to_rank, to_layer)) = layer_of(target) else {
                continue; // reported as its own file
            };
            let allowed = match to_rank.cmp(&from_rank) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => match from_layer {
                    "features" => from.first() == target.first(),
                    _ => true,
                },
            };
            if !allowed {
                let what = match (from_layer, to_layer) {
                    ("core", "features") => "the core imports a feature",
                    ("features", "features") => "a feature imports another feature",
                    ("leaves", _) => "a leaf imports something that is not a leaf",
                    _ => "a layer imports from a layer above it",
                };
                errors.push(format!(
                    "{what}: {} ({from_layer}) imports {} ({to_layer})",
                    show(from),
                    show(target)
                ));
            }
        }
    }
    errors
}

/// The cycles of the graph (its strongly connected components of more than one file).
fn cycles(graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<ModulePath>> {
    struct Tarjan<'a> {
        graph: &'a BTreeMap<ModulePath, BTreeSet<ModulePath>>,
        index: BTreeMap<&'a ModulePath, usize>,
        low: BTreeMap<&'a ModulePath, usize>,
        stack: Vec<&'a ModulePath>,
        on_stack: BTreeSet<&'a ModulePath>,
        next: usize,
        found: Vec<Vec<ModulePath>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, node: &'a ModulePath) {
            self.index.insert(node, self.next);
            self.low.insert(node, self.next);
            self.next += 1;
            self.stack.push(node);
            self.on_stack.insert(node);
            for target in self.graph.get(node).into_iter().flatten() {
                if !self.graph.contains_key(target) {
                    continue;
                }
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[node].min(self.low[target]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(target) {
                    let low = self.low[node].min(self.index[target]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.clone());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node) {
            tarjan.visit(node);
        }
    }
    tarjan.found
}

#[test]
fn the_layers_hold() {
    let graph = import_graph(&source_files());
    let errors = layering_errors(&graph);
    assert!(
        errors.is_empty(),
        "login-runtime's layers are broken (see lib.rs, \"How the crate is built\"):\n  {}",
        errors.join("\n  ")
    );
}

#[test]
fn no_source_files_import_each_other_in_a_cycle() {
    let graph = import_graph(&source_files());
    let found: Vec<String> = cycles(&graph)
        .iter()
        .map(|cycle| cycle.iter().map(show).collect::<Vec<_>>().join(" <-> "))
        .collect();
    assert!(
        found.is_empty(),
        "files that import each other in a cycle:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn every_module_lib_rs_declares_is_in_a_layer() {
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).unwrap_or_default();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';')
        })
        .collect();
    assert!(
        declared.len() > 10,
        "lib.rs declares its modules: {declared:?}"
    );
    let unplaced: Vec<&&str> = declared
        .iter()
        .filter(|module| layer_of(&vec![(**module).to_owned()]).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS here and to lib.rs's map): {unplaced:?}"
    );
    for (_, members) in LAYERS {
        for member in *members {
            assert!(
                declared.contains(member),
                "LAYERS lists `{member}`, which lib.rs does not declare"
            );
            assert!(
                lib.contains(&format!("`{member}`")),
                "lib.rs's map does not name `{member}`"
            );
        }
    }
}

#[test]
fn no_source_file_is_longer_than_600_lines_and_the_request_state_than_400() {
    let files = source_files();
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = file.text.lines().count();
            let limit = if file.name == STATE_FILE {
                MAX_STATE_LINES
            } else {
                MAX_LINES
            };
            (lines > limit).then(|| format!("{}: {lines} lines (at most {limit})", file.name))
        })
        .collect();
    assert!(
        files.iter().any(|file| file.name == STATE_FILE),
        "{STATE_FILE} holds the per-request state"
    );
    assert!(long.is_empty(), "files too long:\n  {}", long.join("\n  "));
}

/// The checker itself: it finds what it must, in every way a path is written.
#[test]
fn the_checker_sees_paths_in_use_trees_code_and_macros_but_not_in_docs_or_tests() {
    let text = r#"
        //! Mentions crate::authz in a doc comment, which does not count.
        use crate::core::{state::RequestState, error::LoginError};
        use super::sibling;
        pub(crate) struct S; pub(in crate::core) fn g() {}
        fn f() { crate::devices::hook::x(); }
        thread_local! { static X: crate::key::DigestMemo = todo!(); }
        #[cfg(test)]
        mod tests { use crate::guard::y; }
    "#;
    let paths = named_paths(TokenStream::from_str(text).unwrap_or_default());
    let joined: Vec<String> = paths.iter().map(|path| path.join("::")).collect();
    assert_eq!(
        joined,
        [
            "crate::core::state::RequestState",
            "crate::core::error::LoginError",
            "super::sibling",
            "crate::devices::hook::x",
            "crate::key::DigestMemo",
        ]
    );

    let modules: BTreeSet<ModulePath> = [
        vec![],
        vec!["core".to_owned()],
        vec!["core".to_owned(), "state".to_owned()],
        vec!["guard".to_owned()],
    ]
    .into_iter()
    .collect();
    let from = vec!["core".to_owned(), "state".to_owned()];
    let path = |text: &str| text.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        resolve(&from, &path("crate::core::state::RequestState"), &modules),
        Some(from.clone())
    );
    assert_eq!(
        resolve(&from, &path("super::state::Slot"), &modules),
        Some(from.clone())
    );
    assert_eq!(
        resolve(&from, &path("crate::LoginError"), &modules),
        Some(vec![])
    );

    // A feature importing another feature, the core importing a feature, and a cycle.
    let graph: BTreeMap<ModulePath, BTreeSet<ModulePath>> = [
        (path("guard"), [path("authz::check")].into_iter().collect()),
        (
            path("core::state"),
            [path("devices::hook")].into_iter().collect(),
        ),
        (path("core::a"), [path("core::b")].into_iter().collect()),
        (path("core::b"), [path("core::a")].into_iter().collect()),
        (path("next"), [path("core::state")].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    let errors = layering_errors(&graph).join("\n");
    assert!(
        errors.contains("a feature imports another feature: guard"),
        "{errors}"
    );
    assert!(
        errors.contains("the core imports a feature: core::state"),
        "{errors}"
    );
    assert!(
        errors.contains("a leaf imports something that is not a leaf: next"),
        "{errors}"
    );
    assert_eq!(cycles(&graph), vec![vec![path("core::a"), path("core::b")]]);
}
