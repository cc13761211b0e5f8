//! The real `eprime` binary: help, serving the demo, and a clean stop on SIGTERM. Every server a test
//! starts is killed when the test ends (`Server`), so a failed assertion leaves nothing running.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn eprime() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eprime"))
}

/// Starts `command` (one that runs a server) in `dir`, logging only warnings, with its standard output
/// piped for the lines the server prints.
fn start_in(mut command: Command, dir: &std::path::Path) -> Server {
    Server(
        command
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    )
}

/// A server the test started, killed when the test ends however it ends: a failed assertion must not
/// leave it running (it would hold the test's output open, and cargo would wait for it).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn help_explains_every_command() {
    let output = eprime().arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["serve", "user", "migrate", "--database"] {
        assert!(help.contains(command), "--help mentions {command}:\n{help}");
    }
    let serve = String::from_utf8(eprime().args(["serve", "--help"]).output().unwrap().stdout).unwrap();
    for flag in ["--addr", "--demo", "--database", "RUST_LOG"] {
        assert!(serve.contains(flag), "serve --help mentions {flag}");
    }
}

#[test]
fn bad_arguments_say_what_is_wrong() {
    let output = eprime().args(["serve", "--addr", "nowhere"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--addr"));
    let dir = tempfile::tempdir().unwrap();
    let output = eprime().args(["--database", "mysql://x", "migrate"]).current_dir(dir.path()).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sqlite://"));
    let output =
        eprime().args(["user", "add", "x.y", "--role", "partner_officer"]).current_dir(dir.path()).output().unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--partner"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn user_commands_manage_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = eprime()
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let added = run(
        &["user", "add", "jpn.desk", "--role", "partner_officer", "--partner", "JPN", "--password-stdin"],
        Some("a-long-enough-passphrase\n"),
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let weak = run(&["user", "add", "weak.one", "--role", "nato_staff", "--password-stdin"], Some("short\n"));
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12"));
    let generated = run(&["user", "add", "staff.one", "--role", "nato_staff"], None);
    assert!(String::from_utf8_lossy(&generated.stdout).contains("password: "));
    assert!(run(&["user", "disable", "jpn.desk"], None).status.success());
    let list = String::from_utf8(run(&["user", "list"], None).stdout).unwrap();
    assert!(
        list.lines().any(|l| l.starts_with("jpn.desk")
            && l.contains("partner_officer")
            && l.contains("JPN")
            && l.ends_with("disabled")),
        "{list}"
    );
    assert!(!run(&["user", "disable", "nobody"], None).status.success());
    assert!(run(&["user", "passwd", "staff.one"], None).status.success());
    assert!(dir.path().join("eprime.db").exists(), "the default database is eprime.db in the working directory");
}

#[test]
fn serve_demo_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = eprime();
    command.args(["serve", "--demo", "--addr", "127.0.0.1:0"]);
    let mut server = start_in(command, dir.path());
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut url = None;
    let mut printed = String::new();
    let started = Instant::now();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.strip_prefix("e-PRIME listening on ") {
            url = rest.split_whitespace().next().map(str::to_owned);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no listening line");
    }
    let url = url.expect("the server prints where it listens");
    // Keep reading whatever else it prints, as a terminal would.
    std::thread::spawn(move || for _ in lines {});
    assert!(
        printed.contains("jpn.officer") && printed.contains("demo-password"),
        "demo accounts are printed:\n{printed}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
        assert_eq!(health.text().await.unwrap(), "ok");
        let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
        assert_eq!(ready.status(), 200);
        let documents: serde_json::Value =
            reqwest::get(format!("{url}/api/v1/documents")).await.unwrap().json().await.unwrap();
        assert!(documents.as_array().unwrap().iter().any(|d| d["kind"] == "ITPP"));
    });
    let status = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = server.0.wait().unwrap();
    assert!(exit.success(), "a clean exit on SIGTERM: {exit:?}");
    assert!(dir.path().join("eprime.db").exists());
}

/// The binary allocates with jemalloc, as the process's `malloc` (so SQLite's allocations too), configured
/// at build time (`.cargo/config.toml`) to give freed memory back from its background thread a second
/// after a burst. jemalloc prints its options at exit when `MALLOC_CONF` asks it to; glibc's allocator
/// ignores the variable, and a jemalloc that is not the process's `malloc` reads `_RJEM_MALLOC_CONF`.
/// (jemalloc replaces `malloc` on Linux; elsewhere it is Rust's allocator alone.)
#[cfg(target_os = "linux")]
#[test]
fn the_server_allocates_with_jemalloc_configured_to_give_memory_back() {
    let output = eprime().arg("--version").env("MALLOC_CONF", "stats_print:true").output().unwrap();
    assert!(output.status.success());
    let stats = String::from_utf8_lossy(&output.stderr);
    for option in ["opt.background_thread: true", "opt.dirty_decay_ms: 1000", "opt.muzzy_decay_ms: 0"] {
        assert!(stats.contains(option), "jemalloc's statistics at exit show {option}:\n{stats}");
    }
}

/// The server raises its open-file limit to the hard limit and grows its descriptor table at start
/// (`src/descriptors.rs` says why: a table that grows under load stalls the thread that accepts). Read
/// from the running server's `/proc` entries: the soft limit of "Max open files" and `FDSize`. The server
/// is started by a shell that lowers its soft limit first, as a login's default of 1,024 would be.
#[cfg(target_os = "linux")]
#[test]
fn the_server_takes_its_whole_open_file_limit_and_sizes_its_descriptor_table_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new("sh");
    command.args(["-c", "ulimit -S -n 256 && exec \"$0\" serve --addr 127.0.0.1:0", env!("CARGO_BIN_EXE_eprime")]);
    let mut server = start_in(command, dir.path());
    let listening = BufReader::new(server.0.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find(|line| line.starts_with("e-PRIME listening on"));
    assert!(listening.is_some(), "the server started");
    let pid = server.0.id();
    let proc = |file: &str| std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    let limits = proc("limits");
    let open_files: Vec<u64> = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .expect("a Max open files line")
        .split_whitespace()
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    let (soft, hard) = (open_files[0], open_files[1]);
    assert_eq!(soft, hard, "the soft limit is raised to the hard one:\n{limits}");
    let table: u64 = proc("status")
        .lines()
        .find_map(|line| line.strip_prefix("FDSize:"))
        .expect("an FDSize line")
        .trim()
        .parse()
        .unwrap();
    let reserved = soft.min(eprime::descriptors::RESERVED);
    assert!(table >= reserved, "a descriptor table of {table} slots, {reserved} wanted");
}
