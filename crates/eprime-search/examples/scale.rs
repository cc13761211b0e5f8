//! Indexes N deterministic menu entries and measures search latency per query class with 8 client threads.
//!
//! `cargo run --release -p eprime-search --example scale -- 100000`

use std::sync::Arc;
use std::time::{Duration, Instant};

use eprime_search::{MenuEntry, MenuIndex, MenuQuery, TantivyMenuIndex, Visibility};

const THREADS: usize = 8;
const ROUNDS: usize = 300;

/// SplitMix64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
    /// Zipf-like: small indexes much more often than large ones.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
}

const AREAS: &[(&str, &str)] = &[
    ("CYB", "Cyber defence"),
    ("CRM", "Crisis management"),
    ("LOG", "Logistics"),
    ("MAR", "Maritime security"),
    ("CIED", "Counter improvised explosive devices"),
    ("GEN", "Gender perspectives"),
    ("STC", "Strategic communications"),
    ("ENS", "Energy security"),
    ("DIB", "Defence institution building"),
    ("ACD", "Arms control and disarmament"),
    ("CBRN", "Chemical biological radiological and nuclear defence"),
    ("LEG", "Legal advisers"),
    ("PA", "Public affairs"),
    ("CIMIC", "Civil-military cooperation"),
    ("OPL", "Operational planning"),
    ("EDU", "Education and training"),
    ("INT", "Intelligence"),
    ("MED", "Military medicine"),
    ("AIR", "Air and missile defence"),
    ("SPC", "Space"),
];
const PROVIDERS: &[(&str, &str, &str)] = &[
    ("NSO", "NATO School Oberammergau", "Oberammergau"),
    ("NDC", "NATO Defense College", "Rome"),
    ("CCDCOE", "Cooperative Cyber Defence Centre of Excellence", "Tallinn"),
    ("JFTC", "Joint Force Training Centre", "Bydgoszcz"),
    ("NMIOTC", "NATO Maritime Interdiction Operational Training Centre", "Souda Bay"),
    ("CMDR", "Crisis Management and Disaster Response Centre of Excellence", "Sofia"),
    ("PfPC", "Partnership for Peace Consortium", "Garmisch-Partenkirchen"),
    ("MILMED", "Military Medicine Centre of Excellence", "Budapest"),
    ("ENSEC", "Energy Security Centre of Excellence", "Vilnius"),
    ("StratCom", "Strategic Communications Centre of Excellence", "Riga"),
    ("CIED", "Counter-IED Centre of Excellence", "Madrid"),
    ("DEEP", "Defence Education Enhancement Programme", "online"),
];
const TYPES: &[&str] =
    &["course", "seminar", "workshop", "conference", "exercise", "expert_visit", "mobile_training_team", "e_learning"];
const STATUSES: &[&str] = &["published", "published", "published", "approved", "held", "reported", "closed", "draft"];
const NATIONS: &[&str] = &["JPN", "KOR", "AUS", "NZL", "UKR", "GEO", "MDA", "CHE", "AUT", "IRL", "SRB", "BIH"];
const LEVELS: &[&str] = &["Introduction to", "Advanced", "Senior leaders'", "Basic", "Intermediate", "Executive"];
const KINDS: &[&str] = &["course", "seminar", "workshop", "conference", "exercise", "orientation", "symposium"];
/// Frequent words, in rough order of frequency: every description has several.
const COMMON: &[&str] = &[
    "participants",
    "the",
    "and",
    "of",
    "nato",
    "partners",
    "training",
    "course",
    "will",
    "security",
    "defence",
    "operations",
    "planning",
    "understanding",
    "cooperation",
    "military",
    "international",
    "practical",
    "knowledge",
    "staff",
    "officers",
    "civilian",
    "procedures",
    "exercise",
    "policy",
    "management",
    "crisis",
    "cyber",
    "maritime",
    "legal",
    "communication",
    "interoperability",
    "capabilities",
    "doctrine",
    "lessons",
    "learned",
    "command",
    "control",
    "analysis",
    "threats",
    "resilience",
    "hybrid",
    "information",
    "environment",
    "leadership",
    "multinational",
    "framework",
    "assessment",
    "response",
    "strategic",
];

/// The long tail: made-up but word-like, so rare words really are rare.
fn tail_vocabulary() -> Vec<String> {
    let syl = ["ka", "ro", "mi", "tel", "san", "vor", "qui", "dex", "lum", "bra", "nix", "pho", "tur", "zel", "gan"];
    let mut words = Vec::new();
    for a in syl {
        for b in syl {
            for c in ["", "ion", "ics", "al", "ary"] {
                words.push(format!("{a}{b}{c}"));
            }
        }
    }
    words
}

fn generate(n: usize) -> Vec<MenuEntry> {
    let mut rng = Rng(2026);
    let tail = tail_vocabulary();
    (0..n)
        .map(|i| {
            let (area, area_title) = AREAS[rng.skewed(AREAS.len())];
            let (provider, provider_name, location) = PROVIDERS[rng.below(PROVIDERS.len())];
            let mut areas = vec![area.to_string()];
            let mut area_titles = vec![area_title.to_string()];
            if rng.below(3) == 0 {
                let (a2, t2) = AREAS[rng.below(AREAS.len())];
                if a2 != area {
                    areas.push(a2.into());
                    area_titles.push(t2.into());
                }
            }
            let year = 2017 + i * 10 / n.max(1);
            let month = 1 + rng.below(12);
            let day = 1 + rng.below(28);
            let mut months = vec![format!("{year}-{month:02}")];
            if rng.below(4) == 0 {
                months.push(format!("{year}-{:02}", month % 12 + 1));
            }
            let event_type = TYPES[rng.skewed(TYPES.len())];
            let title = format!("{} {} {}", rng.pick(LEVELS), area_title, rng.pick(KINDS));
            let mut desc = Vec::new();
            for _ in 0..40 {
                if rng.below(4) == 0 {
                    desc.push(tail[rng.skewed(tail.len())].clone());
                } else {
                    desc.push(COMMON[rng.skewed(COMMON.len())].to_string());
                }
            }
            let public = rng.below(10) < 7;
            let audiences = if public {
                vec!["ALLIES".to_string()]
            } else {
                vec![NATIONS[rng.below(NATIONS.len())].to_string(), provider.to_string()]
            };
            MenuEntry {
                id: format!("0190{i:028x}"),
                code: format!("{area}-{provider}-{year}-{:04}", i % 10_000),
                title,
                description: desc.join(" "),
                provider: provider.into(),
                provider_name: provider_name.into(),
                areas,
                area_titles,
                event_type: event_type.into(),
                status: rng.pick(STATUSES).into(),
                months,
                locations: vec![if event_type == "e_learning" { "online" } else { location }.into()],
                languages: if rng.below(5) == 0 { vec!["en".into(), "fr".into()] } else { vec!["en".into()] },
                open_seats: if rng.below(3) == 0 { 0 } else { 1 + rng.below(30) as u32 },
                first_day: time::Date::from_calendar_date(
                    year as i32,
                    time::Month::try_from(month as u8).ok()?,
                    day as u8,
                )
                .ok(),
                audiences,
                public,
            }
            .into()
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn classes() -> Vec<(&'static str, Vec<MenuQuery>)> {
    let text = |q: &str| MenuQuery { q: Some(q.into()), limit: 20, ..MenuQuery::default() };
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("rare word", vec![text("telnixary"), text("zelquiion"), text("phoganics"), text("brasanal")]),
        ("common word", vec![text("maritime"), text("logistics"), text("hybrid"), text("tallinn")]),
        ("very common word", vec![text("participants"), text("nato"), text("training"), text("security")]),
        ("two words", vec![text("crisis management"), text("cyber defence"), text("maritime training")]),
        ("phrase", vec![text("\"crisis management\""), text("\"cyber defence\""), text("\"nato partners\"")]),
        ("prefix", vec![text("co*"), text("secur*"), text("man*"), text("ka*")]),
        (
            "facet-only",
            vec![
                MenuQuery { areas: s(&["CYB"]), event_types: s(&["course"]), limit: 20, ..MenuQuery::default() },
                MenuQuery {
                    months: s(&["2026-03", "2026-04"]),
                    open_seats: Some(true),
                    limit: 20,
                    ..MenuQuery::default()
                },
                MenuQuery { limit: 20, ..MenuQuery::default() },
            ],
        ),
        (
            "word+facets",
            vec![
                MenuQuery { areas: s(&["CYB", "CRM"]), languages: s(&["en"]), ..text("training") },
                MenuQuery { providers: s(&["NSO"]), statuses: s(&["published"]), ..text("planning") },
                MenuQuery { event_types: s(&["course", "seminar"]), open_seats: Some(true), ..text("cyber defence") },
            ],
        ),
        ("wf1", vec![MenuQuery { areas: s(&["CYB", "CRM"]), languages: s(&["en"]), ..text("training") }]),
        ("wf2", vec![MenuQuery { providers: s(&["NSO"]), statuses: s(&["published"]), ..text("planning") }]),
        (
            "wf3",
            vec![MenuQuery { event_types: s(&["course", "seminar"]), open_seats: Some(true), ..text("cyber defence") }],
        ),
    ]
}

/// CPU time this thread has run, from the kernel's scheduler statistics (Linux); precise over many queries.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?))
}

/// CPU time of the whole process (all threads), in seconds, from /proc/self/stat (Linux, 100 ticks/s).
fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn run(index: &Arc<TantivyMenuIndex>, threads: usize) {
    let visibility = Visibility::of(["KOR", "PARTNERS"]);
    println!(
        "\n{threads} client thread(s), {ROUNDS} queries per thread per class, caller sees public + KOR (load average {}):",
        load_average()
    );
    println!("{:<18} {:>9} {:>9} {:>9} {:>12} {:>9}", "class", "p50 ms", "p99 ms", "max ms", "cpu ms/query", "hits");
    // SCALE_ONLY=<class> measures one class alone (for a profiler).
    let only = std::env::var("SCALE_ONLY").ok();
    for (name, queries) in classes().into_iter().filter(|(name, _)| only.as_deref().is_none_or(|o| o == *name)) {
        let total = index.search(&visibility, &queries[0]).map(|r| r.total).unwrap_or(0);
        let mut cpu = Duration::ZERO;
        let mut all: Vec<Duration> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (index, visibility, queries) = (index.clone(), visibility.clone(), queries.clone());
                    s.spawn(move || {
                        let cpu_start = thread_cpu();
                        let times = (0..ROUNDS)
                            .map(|r| {
                                let q = &queries[(r + t) % queries.len()];
                                let start = Instant::now();
                                let hits = index.search(&visibility, q).expect("search");
                                std::hint::black_box(hits);
                                start.elapsed()
                            })
                            .collect::<Vec<_>>();
                        let cpu = thread_cpu().zip(cpu_start).map_or(Duration::ZERO, |(end, start)| end - start);
                        (times, cpu)
                    })
                })
                .collect();
            let mut all = Vec::new();
            for h in handles {
                let (times, used) = h.join().expect("thread");
                all.extend(times);
                cpu += used;
            }
            all
        });
        all.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name:<18} {:>9.3} {:>9.3} {:>9.3} {:>12.3} {total:>9}",
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99)),
            ms(*all.last().unwrap_or(&Duration::ZERO)),
            ms(cpu) / all.len() as f64,
        );
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let entries = generate(n);
    let before = rss_mib();
    let index = Arc::new(TantivyMenuIndex::new().expect("index"));
    let (start, cpu_start) = (Instant::now(), process_cpu_s());
    index.upsert(entries).expect("upsert");
    let took = start.elapsed();
    let cpu = process_cpu_s().zip(cpu_start).map_or(0.0, |(end, start)| end - start);
    let after = rss_mib();
    println!(
        "indexed {} entries in {:.2} s ({cpu:.2} s CPU over all threads; load average {})",
        index.len(),
        took.as_secs_f64(),
        load_average()
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!("resident memory: {b:.0} MiB before indexing, {a:.0} MiB after ({:+.0} MiB)", a - b);
    }
    let start = Instant::now();
    let one: Vec<MenuEntry> = generate(1);
    index.upsert(one).expect("upsert one");
    println!(
        "upsert of one entry (commit + reload + column warm-up): {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    run(&index, 1);
    run(&index, THREADS);
}
