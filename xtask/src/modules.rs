//! The module graph of each crate, read from its sources: which top-level module names
//! which (`crate::m::…`, `crate::{m, …}`, or an item the crate root re-exports from `m`).
//! A test fails when two modules depend on each other, directly or around a loop: the
//! layers stay one-way (utilities at the bottom, nothing below them calling up).
//!
//! keyward-core also has its own, stricter test (`crates/keyward-core/tests/layers.rs`: doc
//! links count, and the files inside `text/` are layered too); this one holds every crate
//! to the plain rule.
//!
//! Read from the text, without a Rust parser: doc and line comments are skipped, and so is
//! a file's `#[cfg(test)] mod tests` at its end (tests may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the modules it names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The graph of the crate whose sources are in `src`.
pub fn graph(src: &Path) -> Result<Graph, String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut files = Vec::new();
    collect(src, &mut files)?;
    let module_of = |path: &Path| -> Option<String> {
        let rel = path.strip_prefix(src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (name != "lib" && name != "main").then(|| name.to_string())
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f)).collect();
    // Items the crate root re-exports, by the module they come from.
    let mut owner = BTreeMap::new();
    for root in ["lib.rs", "main.rs"] {
        let path = src.join(root);
        if path.exists() {
            for (module, names) in reexports(&read(&path)?) {
                for name in names {
                    owner.insert(name, module.clone());
                }
            }
        }
    }
    let mut graph = Graph::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let edges = graph.entry(module.clone()).or_default();
        for name in named(&code_of(&read(file)?)) {
            let target = if modules.contains(&name) {
                Some(&name)
            } else {
                owner.get(&name)
            };
            if let Some(t) = target.filter(|t| **t != module) {
                edges.insert(t.clone());
            }
        }
    }
    Ok(graph)
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

/// The source without comment lines and without a trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `pub use m::{A, B};` and `pub use m::A;` (also `pub(crate)`): (m, [A, B]).
fn reexports(root: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for part in code_of(root).split(';') {
        let part = part.trim();
        let Some(rest) = part
            .strip_prefix("pub use ")
            .or_else(|| part.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        if let Some((module, items)) = rest.split_once("::") {
            out.push((module.trim().to_string(), identifiers(items)));
        }
    }
    out
}

/// Every identifier in `text`.
fn identifiers(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_alphabetic() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// What follows each `crate::`: the first name, or every name of a `{…}` group.
fn named(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Up to the matching brace (groups nest: `crate::{a::{B, C}, d}`).
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(group.len(), |(j, _)| j);
            out.extend(identifiers(&group[..end]));
        } else if let Some(first) = identifiers(rest.split("::").next().unwrap_or("")).first() {
            out.push(first.clone());
        }
    }
    out
}

/// The modules that depend on each other, each loop as one group (Tarjan's strongly
/// connected components of more than one module).
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.stack.contains(&w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self
                    .stack
                    .iter()
                    .rposition(|&x| x == v)
                    .expect("on the stack");
                let group: Vec<String> = self.stack.drain(at..).map(str::to_string).collect();
                if group.len() > 1 {
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<std::path::PathBuf> {
        let root = crate::root();
        let mut dirs: Vec<_> = std::fs::read_dir(root.join("crates"))
            .expect("crates/")
            .map(|e| e.expect("entry").path().join("src"))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs.extend([root.join("cli/src"), root.join("xtask/src")]);
        dirs
    }

    /// No crate has modules that depend on each other.
    #[test]
    fn no_module_depends_on_itself_through_others() {
        let mut checked = 0;
        for src in sources() {
            let graph = graph(&src).unwrap();
            let loops = cycles(&graph);
            assert!(
                loops.is_empty(),
                "{}: these modules depend on each other: {loops:?} (edges: {:?})",
                src.display(),
                loops
                    .iter()
                    .flatten()
                    .map(|m| (m, &graph[m]))
                    .collect::<Vec<_>>()
            );
            checked += graph.len();
        }
        assert!(checked > 60, "only {checked} modules read");
    }

    /// The reading finds a loop: a module naming another directly, one through an item the
    /// root re-exports, and one inside a nested `{…}` group.
    #[test]
    fn a_loop_is_found() {
        let dir = std::env::temp_dir().join(format!("keyward-modules-{}", std::process::id()));
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("c")).unwrap();
        std::fs::write(
            src.join("lib.rs"),
            "mod a;\nmod b;\nmod c;\npub use c::{Thing, Other};\n",
        )
        .unwrap();
        std::fs::write(
            src.join("a.rs"),
            "use crate::b::x;\n/// [`crate::c`]\nfn f() {}\n",
        )
        .unwrap();
        std::fs::write(src.join("b.rs"), "use crate::{other, inner::{Thing}};\n").unwrap();
        std::fs::write(src.join("c").join("mod.rs"), "fn g() { crate::a::f() }\n").unwrap();
        let graph = graph(&src).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            graph["a"],
            BTreeSet::from(["b".to_string()]),
            "a doc comment is not an edge"
        );
        assert_eq!(graph["b"], BTreeSet::from(["c".to_string()]));
        assert_eq!(graph["c"], BTreeSet::from(["a".to_string()]));
        let mut loops = cycles(&graph);
        loops.iter_mut().for_each(|l| l.sort());
        assert_eq!(
            loops,
            vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]
        );
    }
}
