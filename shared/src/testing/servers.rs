//! Servers of a test's own, for tests that stop the broker or the database.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_for};

/// Waits until something listens on `port` of the loopback.
async fn wait_for_port(port: u16, timeout: Duration, what: &str) {
    wait_for(timeout, what, || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
}

/// A `nats-server` of this test's own, on a free port with JetStream in a temporary folder;
/// killed when dropped. For tests that stop the broker.
pub struct PrivateNats {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl PrivateNats {
    pub async fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("relance-nats-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("nats dir");
        let mut nats = Self {
            child: None,
            port,
            dir,
        };
        nats.restart().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server again (same port, same storage) after [`Self::stop`].
    pub async fn restart(&mut self) {
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("nats-server");
        let child = Command::new(binary)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed for the tests (see README)");
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(10), "private nats-server").await;
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers, as a broker
    /// stalled on its disk would. [`PrivateNats::resume`] thaws it.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL server of this test's own (`initdb` in a temporary folder, a free port, trust
/// auth, fsync off), stopped when dropped. For tests that restart the database. As root, the
/// server runs as the `postgres` system user (PostgreSQL refuses to run as root).
pub struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
    running: bool,
}

impl PrivatePostgres {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    pub async fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql (see README)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|p| p.join("initdb").exists())
            .expect("initdb");
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let dir =
            std::env::temp_dir().join(format!("relance-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("pg dir");
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "chown the private PostgreSQL folder");
        }
        let mut pg = Self {
            dir,
            port: free_port(),
            bin,
            as_postgres,
            running: false,
        };
        let status = pg
            .command("initdb")
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(pg.dir.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb");
        assert!(status.success(), "initdb failed");
        pg.restart().await;
        pg
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts (again) on the same port and data folder, and waits until it accepts connections.
    pub async fn restart(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-o", &options, "-l"])
            .arg(self.dir.join("log"))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(status.success(), "pg_ctl start failed");
        self.running = true;
    }

    /// Fast shutdown: open connections are cut, as in a crash of the clients' point of view.
    pub fn stop(&mut self) {
        if self.running {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "fast", "-w", "stop"])
                .stdout(Stdio::null())
                .status();
            self.running = false;
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real SMTP server of this test's own (`tools/smtp-sink/smtp_sink.py`, aiosmtpd) on a free
/// port; what it accepted is read back with [`SmtpSink::received`]. It can be stopped and
/// started again on the same port, as an outage would. The Python it runs is
/// `RELANCE_TEST_SMTP_PYTHON` (the venv `scripts/test.sh` installs aiosmtpd into), else
/// `python3`.
pub struct SmtpSink {
    child: Option<Child>,
    pub port: u16,
    out: PathBuf,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let out = std::env::temp_dir().join(format!("relance-smtp-{}.jsonl", uuid::Uuid::new_v4()));
        let mut sink = Self {
            child: None,
            port: free_port(),
            out,
        };
        sink.restart().await;
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub async fn restart(&mut self) {
        let python = std::env::var("RELANCE_TEST_SMTP_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tools/smtp-sink/smtp_sink.py");
        let child = Command::new(&python)
            .arg(&script)
            .args(["--port", &self.port.to_string()])
            .arg("--out")
            .arg(&self.out)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{python} {}: {e}", script.display()));
        self.child = Some(child);
        wait_for_port(
            self.port,
            Duration::from_secs(20),
            "the SMTP sink (aiosmtpd: scripts/test.sh installs it)",
        )
        .await;
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message accepted so far, in order.
    pub fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.out);
    }
}
