//! Helpers shared by the integration tests and the `resolution_sweep` example.

use std::process::Command;

/// Character accuracy of `got` against `truth`: 1 - edit distance / truth length.
///
/// Whitespace is ignored on both sides. The result can be negative when `got`
/// holds much more text than `truth`.
pub fn char_accuracy(truth: &str, got: &str) -> f64 {
    let t: Vec<char> = truth.chars().filter(|c| !c.is_whitespace()).collect();
    let g: Vec<char> = got.chars().filter(|c| !c.is_whitespace()).collect();
    let mut prev: Vec<usize> = (0..=g.len()).collect();
    for (i, tc) in t.iter().enumerate() {
        let mut cur = vec![i + 1; g.len() + 1];
        for (j, gc) in g.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(tc != gc))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    1.0 - prev[g.len()] as f64 / t.len().max(1) as f64
}

/// Runs test `name` again in a child process with `OMP_THREAD_LIMIT=1`.
///
/// libgomp reads `OMP_THREAD_LIMIT` once, when it is loaded at process start,
/// so `std::env::set_var` inside the test is too late (measured: no effect).
/// Returns true when the child ran the test and passed; the caller then
/// returns. Returns false when the variable is already set: run the test body.
#[allow(dead_code)]
pub fn rerun_with_omp_limit(name: &str) -> bool {
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return false;
    }
    let exe = std::env::current_exe().expect("test executable path");
    let status = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("OMP_THREAD_LIMIT", "1")
        .status()
        .expect("rerun test");
    assert!(status.success(), "{name} failed with OMP_THREAD_LIMIT=1");
    true
}
