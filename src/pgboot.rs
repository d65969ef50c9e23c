//! Starting a private PostgreSQL from the programs installed on this machine.
//!
//! Used by `serve` when no `DATABASE_URL` is set, and by the test harness. The cluster
//! lives in a folder of its own, listens only on 127.0.0.1 on a port of its own, and has
//! no Unix socket. A cluster that is already running in that folder is reused; a file
//! lock keeps two processes from initialising or starting the same folder at once.
//! `initdb` refuses to run as root, so as root the programs run as the `postgres` user.

use anyhow::{Context, bail};
use std::fs::{self, File};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How the cluster is tuned: a development cluster keeps its data safe on disk, a test
/// cluster trades durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Throwaway,
}

#[derive(Debug)]
pub struct LocalPg {
    pub root: PathBuf,
    pub port: u16,
    password: String,
    bin: PathBuf,
    run_as_postgres: bool,
    /// True when this process started the server (rather than finding it running).
    pub started_here: bool,
}

const SUPERUSER: &str = "postgres";

impl LocalPg {
    /// URL of `database` on this cluster, as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// Stops the server (fast shutdown: open sessions are ended).
    pub fn stop(&self) -> anyhow::Result<()> {
        let data = self.root.join("data");
        run(self
            .command("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(&data))
    }

    fn command(&self, program: &str) -> Command {
        command_for(&self.bin, program, self.run_as_postgres)
    }
}

fn command_for(bin: &Path, program: &str, run_as_postgres: bool) -> Command {
    let exe = bin.join(program);
    if run_as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("could not run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}):\n{}{}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Whether this process runs as root (uid 0), read without unsafe code.
pub fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Finds the folder holding `initdb` and `pg_ctl`: `PG_BIN` if set, then `PATH`, then the
/// usual install folders (newest version first).
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(d) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        return has_tools(&d).then_some(d);
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(d) = std::env::split_paths(&path).find(|d| has_tools(d))
    {
        return Some(d);
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    for parent in ["/usr/lib/postgresql", "/usr/local/opt", "/opt/homebrew/opt"] {
        if let Ok(rd) = fs::read_dir(parent) {
            let mut versions: Vec<(u32, PathBuf)> = rd
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
                    let v = digits.parse().unwrap_or(0);
                    (parent == "/usr/lib/postgresql" || name.starts_with("postgresql"))
                        .then(|| (v, e.path().join("bin")))
                })
                .collect();
            versions.sort_by_key(|v| std::cmp::Reverse(v.0));
            candidates.extend(versions.into_iter().map(|(_, p)| p));
        }
    }
    candidates.extend(
        ["/usr/local/pgsql/bin", "/usr/pgsql/bin", "/usr/local/bin"]
            .iter()
            .map(PathBuf::from),
    );
    candidates.into_iter().find(|d| has_tools(d))
}

pub const INSTALL_HINT: &str = "No PostgreSQL programs (initdb, pg_ctl) were found on PATH or under \
/usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install -y postgresql`; \
macOS: `brew install postgresql@16`), set PG_BIN to their folder, or set DATABASE_URL to a \
server you already run.";

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn port_answers(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).is_ok()
}

fn random_password() -> anyhow::Result<String> {
    let mut b = [0u8; 18];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(b))
}

/// Ensures a cluster runs in `root` (created if missing) and returns how to reach it.
pub fn ensure(root: &Path, durability: Durability) -> anyhow::Result<LocalPg> {
    let bin = find_bin_dir().ok_or_else(|| anyhow::anyhow!(INSTALL_HINT))?;
    let run_as_postgres = running_as_root();
    fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    let lock = File::create(root.join("lock"))?;
    lock.lock().context("cannot lock the PostgreSQL folder")?;

    let data = root.join("data");
    let pw_file = root.join("password");
    let port_file = root.join("port");
    if run_as_postgres {
        run(Command::new("chown").args(["postgres:postgres"]).arg(root))?;
        let probe = command_for(Path::new("/usr/bin"), "test", true)
            .args(["-w"])
            .arg(root)
            .status();
        if !probe.is_ok_and(|s| s.success()) {
            bail!(
                "the `postgres` user cannot reach {}: a parent folder is closed to it. \
                 Set PGBOOT_DIR to a folder it can reach (for example under /var/tmp).",
                root.display()
            );
        }
    }

    if !data.join("PG_VERSION").is_file() {
        if data.exists() {
            fs::remove_dir_all(&data)?;
        }
        let password = random_password()?;
        fs::write(&pw_file, &password)?;
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&pw_file, fs::Permissions::from_mode(0o600))?;
        }
        if run_as_postgres {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&pw_file))?;
        }
        run(command_for(&bin, "initdb", run_as_postgres)
            .args([
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--no-locale",
                "--auth=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pw_file.display()))
            .arg("-D")
            .arg(&data))
        .context("initdb failed")?;
        let mut conf = String::from(
            "\n# moments-gate local cluster\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = ''\nmax_connections = 200\n",
        );
        if durability == Durability::Throwaway {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let conf_path = data.join("postgresql.conf");
        let mut existing = fs::read_to_string(&conf_path)?;
        existing.push_str(&conf);
        fs::write(&conf_path, existing)?;
    }
    let password = fs::read_to_string(&pw_file)
        .context("the cluster's password file is missing")?
        .trim()
        .to_owned();

    let stored_port = fs::read_to_string(&port_file)
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok());
    let mut pg = LocalPg {
        root: root.to_owned(),
        port: stored_port.unwrap_or(0),
        password,
        bin,
        run_as_postgres,
        started_here: false,
    };
    let running = pg
        .command("pg_ctl")
        .args(["status", "-D"])
        .arg(&data)
        .output()
        .is_ok_and(|o| o.status.success());
    if running && stored_port.is_some_and(port_answers) {
        return Ok(pg);
    }
    if running {
        // Running but not where we expect it: restart it cleanly on a fresh port.
        pg.stop()?;
    }
    pg.port = match stored_port {
        Some(p) if TcpListener::bind(("127.0.0.1", p)).is_ok() => p,
        _ => free_port()?,
    };
    fs::write(&port_file, pg.port.to_string())?;
    let log = root.join("server.log");
    if run_as_postgres && !log.exists() {
        File::create(&log)?;
        run(Command::new("chown").args(["postgres:postgres"]).arg(&log))?;
    }
    run(pg
        .command("pg_ctl")
        .args(["start", "-w", "-t", "60", "-D"])
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .arg("-o")
        .arg(format!("-p {}", pg.port)))
    .with_context(|| format!("PostgreSQL did not start; see {}", log.display()))?;
    pg.started_here = true;
    Ok(pg)
}

/// Where `serve` keeps its own cluster: `PGBOOT_DIR`, else `.pgdata` in the project folder.
pub fn default_dev_root() -> PathBuf {
    if let Some(d) = std::env::var_os("PGBOOT_DIR") {
        return PathBuf::from(d);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = if manifest.join("Cargo.toml").is_file() {
        manifest.to_owned()
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
    };
    base.join(".pgdata")
}
