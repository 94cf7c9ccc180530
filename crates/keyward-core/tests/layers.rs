//! The crate's modules form layers: no module reaches, through `crate::…` paths, a module
//! that reaches back to it. (A cycle makes a module impossible to read, test or move on its
//! own.) Inside `text/`, the same holds between its files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// `prefix` followed by a module name, for every occurrence in `source` (comments
/// included: a doc link to a module above is a dependency too).
fn references(source: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(i) = rest.find(prefix) {
        rest = &rest[i + prefix.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

/// A cycle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

fn read_tree(dir: &Path) -> String {
    let mut all = String::new();
    for entry in fs::read_dir(dir).expect("module directory") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            all.push_str(&fs::read_to_string(&path).expect("source"));
        }
    }
    all
}

/// Drops the `#[cfg(test)]` module at the end of a file: tests may use anything.
fn without_tests(source: &str) -> &str {
    source
        .find("#[cfg(test)]\nmod tests")
        .map_or(source, |i| &source[..i])
}

#[test]
fn core_modules_have_no_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        if name == "lib" {
            continue;
        }
        let source = if path.is_dir() {
            read_tree(&path)
        } else {
            fs::read_to_string(&path).expect("source")
        };
        let mut refs = references(without_tests(&source), "crate::");
        refs.remove(&name);
        graph.insert(name, refs);
    }
    assert!(graph.len() > 15, "{graph:?}");
    assert_eq!(find_cycle(&graph), None, "a cycle between modules");

    // And inside text/: gf32, normalize and find below the module, typo and armour beside
    // it.
    let text = src.join("text");
    let mut graph = BTreeMap::new();
    for file in ["gf32", "normalize", "find", "typo", "armour"] {
        let source = fs::read_to_string(text.join(format!("{file}.rs"))).expect("source");
        let mut refs = references(without_tests(&source), "super::");
        refs.remove(file);
        graph.insert(file.to_string(), refs);
    }
    for lower in ["gf32", "normalize"] {
        assert!(
            !graph[lower]
                .iter()
                .any(|r| r != "gf32" && r != "ALPHABET" && r != "MAX_TEXT_LEN" && r != "VERSION"),
            "text/{lower}.rs reaches up: {:?}",
            graph[lower]
        );
    }
    assert!(
        graph["find"].iter().all(|r| r == "normalize"),
        "text/find.rs reaches up: {:?}",
        graph["find"]
    );
    assert_eq!(find_cycle(&graph), None, "a cycle inside text/");
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert!(find_cycle(&g).is_some());
    g.get_mut("c").expect("c").clear();
    assert_eq!(find_cycle(&g), None);
    assert_eq!(
        references("use crate::text::Kind; crate::util::cat(", "crate::"),
        BTreeSet::from(["text".to_string(), "util".to_string()])
    );
}
