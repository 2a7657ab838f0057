//! What the benches measure about their own process.

/// The process's peak resident memory so far (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// How a size bench was invoked: as the parent, with the sizes to run (the
/// defaults when none are given), or as the child measuring one directory.
pub enum Invocation {
    Sizes(Vec<u64>),
    Child(std::path::PathBuf),
}

pub fn invocation(default_sizes: &[u64]) -> Invocation {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [flag, dir] = args.as_slice()
        && flag == "--run"
    {
        return Invocation::Child(dir.into());
    }
    let given: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    Invocation::Sizes(if given.is_empty() {
        default_sizes.to_vec()
    } else {
        given
    })
}

/// Where the benches keep their generated data.
pub fn data_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}
