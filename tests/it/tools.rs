//! The real tools some tests drive: DVC, Git LFS, an S3 server (moto).
//! `.ci/run` installs them (DVC and moto in a virtual environment, not the
//! system's Python) and sets `DSLP_REQUIRE_TOOLS=1`, under which a missing
//! tool fails its tests; without it, those tests say they were skipped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The tool on `PATH`, or `None` (after saying so) when it is missing and
/// not required.
pub fn needs(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("DSLP_REQUIRE_TOOLS").is_none(),
            "`{tool}` is needed by this test and is not on PATH; .ci/run installs it"
        );
        eprintln!("SKIPPED: `{tool}` is not installed (.ci/run installs it)");
    }
    found
}

/// Runs `program` in `dir` with `env`; panics with its output on failure.
pub fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An S3 server on loopback: moto's, on a port it picks.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// The credentials moto takes, as the standard environment variables.
pub const AWS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

impl Moto {
    pub fn start(moto_server: &Path) -> Moto {
        let mut child = Command::new(moto_server)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let endpoint = loop {
            let line = lines
                .next()
                .expect("moto_server says where it listens")
                .unwrap();
            if let Some(at) = line.find("http://") {
                break line[at..].trim().to_string();
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Moto { child, endpoint }
    }

    /// Makes a bucket, and puts `objects` (key, file) in it, with boto3
    /// from moto's own Python.
    pub fn bucket(&self, moto_server: &Path, bucket: &str, objects: &[(&str, &Path)]) {
        let python = moto_server.with_file_name("python");
        let puts: String = objects
            .iter()
            .map(|(key, file)| {
                format!(
                    "s3.upload_file({:?}, {bucket:?}, {key:?})\n",
                    file.display().to_string()
                )
            })
            .collect();
        let script = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url={:?})\ns3.create_bucket(Bucket={bucket:?})\n{puts}",
            self.endpoint
        );
        run(
            Path::new("."),
            python.to_str().unwrap(),
            &["-c", &script],
            &AWS,
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
