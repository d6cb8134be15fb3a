//! A `pxdoctor serve` process for tests: started on a loopback port it
//! announces on stderr, asked over plain HTTP/1.1, killed when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const NOW: &str = "2026-11-28T10:42:30Z";

/// A running `pxdoctor serve`; killed when dropped.
pub struct Served {
    child: Child,
    pub url: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// `pxdoctor serve` on a free loopback port, without the store and API
    /// probes, with `extra` flags.
    pub fn start(kubeconfig: &Path, extra: &[&str]) -> Served {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--no-s3", "--no-api"];
        args.extend_from_slice(extra);
        Served::spawn(kubeconfig, &args)
    }

    /// `pxdoctor` with exactly `args` (which start with `serve`).
    pub fn spawn(kubeconfig: &Path, args: &[&str]) -> Served {
        let mut child = super::isolated_pxdoctor()
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("PXDOCTOR_NOW", NOW)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pxdoctor serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().expect("stderr is piped");
        let kept = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("pxdoctor: serving on ") {
                    let _ = address_tx.send(url.to_string());
                }
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let url = address_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve said no address: {}", stderr.lock().unwrap()));
        Served { child, url, stderr }
    }

    /// GET `path`: the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let address = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("serve accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("an answer");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// Polls `path` until `done` holds of its body; panics after `limit`.
    pub fn wait_for(
        &self,
        path: &str,
        limit: Duration,
        done: impl Fn(u16, &str) -> bool,
    ) -> String {
        let started = Instant::now();
        loop {
            let (status, body) = self.get(path);
            if done(status, &body) {
                return body;
            }
            if started.elapsed() > limit {
                panic!(
                    "{path} did not get there in {limit:?}: {status} {body}\nserve's stderr:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn ready(&self) {
        self.wait_for("/readyz", Duration::from_secs(60), |status, _| {
            status == 200
        });
    }
}
