//! A throw-away PostgreSQL for the tests and benchmarks: Debian's `postgresql` package
//! (installed with apt-get when missing), a cluster made by `initdb` in a temporary folder
//! (as the `postgres` user when xtask runs as root: initdb refuses root), listening on
//! 127.0.0.1 on a free port only. Stopped and deleted when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::node::apt_install;
use crate::run;

/// A running throw-away PostgreSQL.
pub struct TempPostgres {
    bin: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
}

/// The folder holding `initdb` and `pg_ctl`: on the PATH, or Debian's
/// `/usr/lib/postgresql/<newest version>/bin`.
fn find_bin() -> Option<PathBuf> {
    let on_path = Command::new("pg_ctl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        if let Ok(o) = Command::new("sh")
            .args(["-c", "command -v pg_ctl"])
            .output()
        {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if let Ok(real) = std::fs::canonicalize(&p) {
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl TempPostgres {
    /// Installs PostgreSQL if needed, makes a cluster and starts it.
    pub fn start() -> Result<TempPostgres, String> {
        let bin = match find_bin() {
            Some(b) => b,
            None => {
                apt_install(&["postgresql"])?;
                find_bin().ok_or("PostgreSQL was installed but initdb cannot be found")?
            }
        };
        let dir = std::env::temp_dir().join(format!("keyward-postgres-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").arg("postgres").arg(&dir))?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        let pg = TempPostgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            dir,
            as_postgres,
        };
        let data = pg.dir.join("data");
        run(&mut pg.tool(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        ))?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            pg.dir.display()
        );
        run(&mut pg.tool(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &pg.dir.join("log").display().to_string(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        ))?;
        eprintln!("xtask: PostgreSQL for the tests at {}", pg.url);
        Ok(pg)
    }

    /// A PostgreSQL tool, run as the `postgres` user when xtask is root.
    fn tool(&self, name: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe).args(args);
            c
        } else {
            let mut c = Command::new(exe);
            c.args(args);
            c
        }
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self
            .tool("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
