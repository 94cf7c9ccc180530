//! `cargo xtask demo`: builds the CLI and runs README's walk-through on this machine, in
//! `target/demo/`. The steps are read from README.md itself (its ```sh blocks under
//! "A 5-minute walk-through"), so the README cannot drift from what works.

use std::process::Command;

use crate::{cargo, root, run};

/// The shell blocks of README's walk-through, in order.
fn walkthrough(readme: &str) -> Result<Vec<String>, String> {
    let start = readme
        .find("## A 5-minute walk-through")
        .ok_or("README.md has no \"## A 5-minute walk-through\" section")?;
    let section = &readme[start..];
    let section = section[3..]
        .find("\n## ")
        .map_or(section, |end| &section[..end + 3]);
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let close = body
            .find("```")
            .ok_or("an unclosed ```sh block in README.md")?;
        blocks.push(body[..close].to_string());
        rest = &body[close + 3..];
    }
    if blocks.is_empty() {
        return Err("README.md's walk-through has no ```sh blocks".into());
    }
    Ok(blocks)
}

pub fn run_demo() -> Result<(), String> {
    let readme =
        std::fs::read_to_string(root().join("README.md")).map_err(|e| format!("README.md: {e}"))?;
    let blocks = walkthrough(&readme)?;
    run(cargo().args(["build", "--release", "--bin", "keyward"]))?;
    let dir = root().join("target/demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // The first block builds and enters a scratch folder; here the build is done and the
    // folder is target/demo, so run the others there, as one shell session (variables such
    // as $CODE carry from block to block), stopping at the first failing command.
    let mut script = String::from("set -euo pipefail\nset -x\n");
    for b in blocks.iter().skip(1) {
        script.push_str(b);
        script.push('\n');
    }
    let path = format!(
        "{}:{}",
        root().join("target/release").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", path)
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    if !status.success() {
        return Err(format!(
            "README's walk-through failed ({status}): see the last command above"
        ));
    }
    println!("\ndemo finished: its files are in {}", dir.display());
    Ok(())
}
