//! Several `keyward` processes changing one state directory at once: each change is made
//! under the directory's lock, so none is lost.

mod common;

use std::process::{Command, Stdio};

use common::*;

#[test]
fn concurrent_installs_all_survive() {
    const N: usize = 8;
    let s = Scratch::with_key();
    // Keys first, so every process below only adds its license.
    let codes: Vec<String> = (0..N)
        .map(|i| s.issue(&["--days", "30", "--sku", &format!("sku{i}")]))
        .collect();
    let children: Vec<_> = codes
        .iter()
        .map(|code| {
            Command::new(bin())
                .current_dir(s.dir.path())
                .args([
                    "--state-dir",
                    "state",
                    "--facts",
                    "A.json",
                    "--now",
                    NOW,
                    "install",
                    "--public-key",
                    "k.pem.pub",
                    code,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn keyward")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (exit, v, err) = s.status_json("A.json", NOW);
    assert_eq!(exit, 0, "{err}");
    let licenses = v["licenses"].as_array().expect("licenses");
    assert_eq!(licenses.len(), N, "every install kept: {v}");
}
