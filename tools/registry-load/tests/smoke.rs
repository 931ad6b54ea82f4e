//! The load generator's quick mode, for CI: a few terminals for a few
//! seconds against the `registry` binary on SQLite and on PostgreSQL; every
//! request must succeed.

use std::time::Duration;

use registry_load::{Backend, Options};

/// The `registry` binary of this target directory and profile, built if missing.
fn registry_binary() -> std::path::PathBuf {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_registry-load"));
    let path = exe.with_file_name("registry");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-p", "registry", "--bin", "registry"]);
        if exe.parent().and_then(|d| d.file_name()) == Some("release".as_ref()) {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cannot run cargo");
        assert!(status.success(), "cannot build the registry binary");
    }
    path
}

#[test]
#[allow(clippy::print_stderr)]
fn quick_load_on_both_databases_completes_without_errors() {
    let opts = Options {
        registry: registry_binary(),
        backends: vec![Backend::Sqlite, Backend::Postgres],
        terminals: 10,
        multipliers: vec![200.0],
        duration: Duration::from_secs(4),
        find_limit: 0,
    };
    let rows = registry_load::run(&opts).expect("load run");
    eprintln!("{}", registry_load::table(&rows));
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.errors, 0, "{:?}", row.first_error);
        assert!(row.registrations > 0 && row.heartbeats > 0, "{row:?}");
        assert!(row.vm_hwm_mib > 0.0 && row.cpu_percent > 0.0, "{row:?}");
    }
}
