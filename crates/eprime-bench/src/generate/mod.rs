//! The benchmark's data: generated once per scale and generator version, cached, and copied for
//! each run so that what one run writes (updates, sessions) never leaks into the next.
//!
//! Everything is written through the `Store` trait — the same writes the server makes — so the
//! data has exactly the shape the server produces (change log, releasability, child tables).

mod menu;
mod participants;
mod postgres;
mod progress;
mod volume;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use eprime_store::DynStore;
use serde::Serialize;

pub use volume::{Volumes, bench_username};

use self::participants::Planned;
use self::progress::Progress;
use crate::options::{DatabaseKind, Options, Scale};

/// Bump whenever the generated data changes shape or volume: cached databases of another version
/// are not reused.
pub const GENERATOR_VERSION: u32 = 4;

/// The seed of every random choice the generator makes.
pub const SEED: u64 = 0x00e9_41e0_2026;

/// The password of every account the benchmark makes (the demo's, so its accounts work too).
pub const PASSWORD: &str = eprime_demo::DEFAULT_PASSWORD;

/// What the generator wrote, and how fast.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Generated {
    pub partnerships: usize,
    pub allies: usize,
    pub activities: usize,
    pub users: usize,
    pub updates: usize,
    pub change_log: i64,
    pub menu_offerings: usize,
    /// People nominated to menu events.
    pub participants: usize,
    /// Seconds spent writing activities, users, the menu with its participants, and updates (the
    /// Store's write speed).
    pub activities_secs: f64,
    pub users_secs: f64,
    pub menu_secs: f64,
    pub updates_secs: f64,
    pub total_secs: f64,
}

/// The database a run serves, ready to start the server on.
pub struct Prepared {
    /// The URL the server is started with.
    pub url: String,
    /// Whether it came from the cache rather than being generated now.
    pub cached: bool,
    pub generated: Generated,
    /// Seconds spent copying the cached database for this run.
    pub copy_secs: f64,
    /// The SQLite copy this run serves (a whole database: 1.9 GB at M), removed when this is dropped.
    _copy: Option<RunCopy>,
}

/// A copy of the cached database made for one run, removed with its WAL files when dropped: what a
/// run writes is never reused, and a copy left behind per output directory filled the disk after a
/// day of runs. Dropping rather than an explicit call covers the runs that fail half-way (a server
/// that does not start, a scenario's error, Ctrl-C) as well as those that finish.
struct RunCopy(PathBuf);

impl Drop for RunCopy {
    fn drop(&mut self) {
        remove_database(&self.0);
    }
}

/// Generates the database for `options.scale` (or reuses the cached one) and gives a fresh copy
/// of it for this run.
pub async fn prepare(options: &Options) -> anyhow::Result<Prepared> {
    let cache_dir = options.out.join("cache");
    std::fs::create_dir_all(&cache_dir).with_context(|| format!("creating {}", cache_dir.display()))?;
    let (cached_db, cached) = sqlite_cache(options, &cache_dir).await?;
    let generated = read_marker(&cached_db)?;
    let started = Instant::now();
    let mut copy = None;
    let url = match options.database {
        DatabaseKind::Sqlite => {
            let run = options.out.join(format!("run-{}.db", options.scale.name()));
            // Owned from here, so that a failed copy or sync leaves nothing behind either.
            let guard = RunCopy(run.clone());
            remove_database(&run);
            std::fs::copy(&cached_db, &run).with_context(|| format!("copying {} for this run", cached_db.display()))?;
            // Written out before the server starts: otherwise the server's first checkpoint, whose
            // fsync waits for every dirty page of the file, pays for writing back the whole copy
            // (1.35 s at M, seen as a single commit in the middle of the update scenario).
            std::fs::File::open(&run)
                .and_then(|file| file.sync_all())
                .with_context(|| format!("writing {} out to disk", run.display()))?;
            let url = sqlite_url(&run);
            copy = Some(guard);
            url
        }
        DatabaseKind::Postgres => {
            postgres::prepare(&options.postgres_url, options.scale, &sqlite_url(&cached_db), options.regenerate).await?
        }
    };
    Ok(Prepared { url, cached, generated, copy_secs: started.elapsed().as_secs_f64(), _copy: copy })
}

fn sqlite_url(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    format!("sqlite://{}", absolute.display())
}

/// The cached SQLite database of this scale, generated first when missing (or incomplete: the
/// marker file is written only after generation finished).
async fn sqlite_cache(options: &Options, dir: &Path) -> anyhow::Result<(PathBuf, bool)> {
    let menu = options.menu_offerings.map(|n| format!("-menu{n}")).unwrap_or_default();
    let path = dir.join(format!("eprime-{}-g{GENERATOR_VERSION}{menu}.db", options.scale.name()));
    if !options.regenerate && marker(&path).exists() && path.exists() {
        // Brought up to this build's schema here, once, rather than by each run's server on its copy:
        // a migration at start is not what a run measures, and its memory would count as idle memory.
        eprime::database::open(&sqlite_url(&path)).await?.close().await;
        return Ok((path, true));
    }
    remove_database(&path);
    let _ = std::fs::remove_file(marker(&path));
    let url = sqlite_url(&path);
    eprintln!("generating scale {} into {} …", options.scale.name(), path.display());
    let database = eprime::database::open(&url).await?;
    let result = generate(&database.store, options.scale, options.menu_offerings).await;
    // Closing checkpoints the WAL into the main file, so copying that one file is enough.
    database.close().await;
    let generated = result?;
    std::fs::write(marker(&path), serde_json::to_vec_pretty(&generated)?)?;
    eprintln!(
        "generated in {:.1} s: {} activities ({:.1} s), {} users ({:.1} s), {} menu offerings and {} participants \
         ({:.1} s), {} updates ({:.1} s), change log {}",
        generated.total_secs,
        generated.activities,
        generated.activities_secs,
        generated.users,
        generated.users_secs,
        generated.menu_offerings,
        generated.participants,
        generated.menu_secs,
        generated.updates,
        generated.updates_secs,
        generated.change_log
    );
    Ok((path, false))
}

fn marker(db: &Path) -> PathBuf {
    db.with_extension("db.done.json")
}

fn read_marker(db: &Path) -> anyhow::Result<Generated> {
    let raw = std::fs::read(marker(db)).with_context(|| format!("reading {}", marker(db).display()))?;
    Ok(serde_json::from_slice(&raw)?)
}

fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Fills an empty store at `scale`, with the menu topped up to `menu_total` offerings when given.
pub async fn generate(store: &DynStore, scale: Scale, menu_total: Option<usize>) -> anyhow::Result<Generated> {
    let started = Instant::now();
    // Argon2 is deliberately slow: hash the one password once and give every account that hash.
    let hash = eprime_server::passwords::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let hash_for_demo = hash.clone();
    let summary = eprime_demo::load(store.as_ref(), PASSWORD, &move |_| hash_for_demo.clone())
        .await
        .context("loading the demo")?;
    let mut generated = Generated {
        partnerships: summary.partnerships,
        activities: summary.activities,
        users: summary.accounts,
        menu_offerings: summary.menu_offerings,
        participants: summary.nominations,
        ..Generated::default()
    };
    if let Some(volumes) = Volumes::of(scale) {
        volume::generate(store, &volumes, &hash, &mut generated).await?;
    }
    if let Some(total) = menu_total {
        // More offerings for the search alone, without participants.
        let today = time::OffsetDateTime::now_utc().date();
        let offerings = menu::years(total.saturating_sub(generated.menu_offerings), 'T', today)?;
        generated.menu_offerings += offerings.len();
        let plans = offerings.into_iter().map(|offering| Planned { offering, nominations: Vec::new() }).collect();
        menu::write(store, plans, volume::IN_FLIGHT, today).await?;
    }
    eprintln!("recording what a first start would find overdue …");
    record_overdue(store).await?;
    eprintln!("catching the notifier and the webhook queue up with the change log …");
    catch_up_followers(store).await?;
    generated.change_log = store.last_change_seq().await?;
    generated.total_secs = started.elapsed().as_secs_f64();
    Ok(generated)
}

/// Records what a server would find overdue at its first start (feedback and reports past their
/// due dates: thousands of offerings at M), before the followers are caught up. Left to the server,
/// every run's first scenario would pay for announcing them.
async fn record_overdue(store: &DynStore) -> anyhow::Result<()> {
    let rules = eprime_server::ServerConfig::default().overdue;
    let today = time::OffsetDateTime::now_utc().date();
    eprime_server::overdue::sweep(store, &rules, today).await.context("recording what is overdue")?;
    Ok(())
}

/// The server's notifier and webhook queue follow the change log from a cursor kept in the
/// database; left at 0 they would chew through the whole generated log while the benchmark
/// measures. Advance both to the end now, through the same store calls the server makes.
async fn catch_up_followers(store: &DynStore) -> anyhow::Result<()> {
    // Until a batch finds nothing left: a store may take fewer entries per batch than asked.
    const BATCH: u32 = 1000;
    let entries = usize::try_from(store.last_change_seq().await?).unwrap_or(0);
    let notified = Progress::new("change-log entries notified", entries);
    loop {
        let recorded = store.generate_notifications(BATCH).await?;
        if recorded == 0 {
            break;
        }
        notified.add(recorded);
    }
    let queued = Progress::new("change-log entries passed to the webhook queue", entries);
    loop {
        let passed = store.enqueue_deliveries(BATCH).await?.entries;
        if passed == 0 {
            break;
        }
        queued.add(passed);
    }
    // Give the SQLite writer a moment to settle before the file is closed and copied.
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_copy_takes_its_database_and_wal_files_with_it_however_the_run_ends() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run-S.db");
        let files = ["run-S.db", "run-S.db-wal", "run-S.db-shm"].map(|name| dir.path().join(name));
        for file in &files {
            std::fs::write(file, b"pages").unwrap();
        }
        let unrelated = dir.path().join("eprime-S-g4.db");
        std::fs::write(&unrelated, b"the cache").unwrap();

        let outcome: anyhow::Result<()> = (|| {
            let _copy = RunCopy(run.clone());
            anyhow::bail!("the server did not start")
        })();

        assert!(outcome.is_err());
        for file in &files {
            assert!(!file.exists(), "{} was left behind", file.display());
        }
        assert!(unrelated.exists(), "only the run's own files go");
    }
}
