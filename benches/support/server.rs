//! The real `verdict serve` binary for the benches that measure it over loopback: started on
//! a free port with its own data directory, stopped (SIGTERM) when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Starts the server with `concurrent` processing slots and `queued` places in line.
pub fn start_server(dir: &Path, concurrent: usize, queued: usize) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--max-concurrent-requests", &concurrent.to_string()])
        .args(["--max-queued-requests", &queued.to_string()])
        .arg("--data-dir")
        .arg(dir)
        // The sandbox's images and compiled modules are shared with the tests (fetched once).
        .arg("--sandbox-dir")
        .arg(std::env::var_os("VERDICT_SANDBOX_DIR").unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/verdict")
                .into()
        }))
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join("load.db").display()))
        .current_dir(dir)
        .env("VERDICT_LOG_JSON", "true")
        .env("RUST_LOG", "warn,verdict::app=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("verdict starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["fields"]["message"] == "verdict listening" {
            break event["fields"]["address"].as_str().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base: format!("http://{address}"),
    }
}
