//! The audit trail at scale (`bench/audit/run.sh`): bulk-loads N realistic, validly
//! hash-chained events into a fresh database, then measures appends through
//! [`audit::record`] and the filtered searches of `GET /api/v1/audit` through
//! [`audit::query::search`] at that size.
//!
//! Loading goes around `record()` (one transaction per event would take hours at 10 million)
//! but writes exactly the rows it would: every column as `StoredEvent::new` fills it, each
//! event linked with `chain::personal_digest` and `chain::event_hash` after the one before,
//! and the `audit_chain` head row left where `record()` continues from. The audit indexes the
//! migrations created are dropped for the load and re-created afterwards from their own
//! definitions (read back from the database), then the tables are analysed.
//!
//! Usage: audit_bench --url URL [--events N] [--appends 2000] [--runs 100] [--cap-secs 60]
//!        [--page 50] [--seed 1] [--reuse] [--no-append] [--verify] [--explain] [--only NAME,…]
//!        [--experiment module,actor_action,action_outcome,dates,text]
//!
//! `--experiment` (on a loaded database, with --reuse) adds by hand what would fix a query
//! kind that misses its target, then measures again: `module` an index on (module, seq);
//! `actor_action` an index on (actor_id, action, seq); `action_outcome` one on (action,
//! outcome, seq); `dates` date ranges turned into a range of places (valid where time only
//! grows along the chain, as here: see bench/audit/RESULTS.md); `text` a trigram index for
//! the free text (PostgreSQL: pg_trgm GIN over the searched columns; SQLite: an FTS5 trigram
//! table kept by triggers) and the query shape that uses it. Experiments change the database
//! they are given: use them on a copy made for the purpose (`KEEP=1 bench/audit/run.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark code

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, Row};
use std::time::{Duration, Instant};
use strongroom_core::audit::{AuditAction, AuditEvent, Initiator, Outcome, RequestOrigin};
use strongroom_core::clock::{Clock, SystemClock};
use strongroom_store::audit::{self, AuditFilter, COLUMNS, StoredEvent, chain};
use strongroom_store::{Backend, Db};

const DAY: i64 = 86_400_000;
/// How far back the loaded history reaches.
const SPAN: i64 = 3 * 365 * DAY;
/// Rows per multi-row INSERT (25 columns: 25,000 parameters, under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 1000;
/// Rows per load transaction.
const ROWS_PER_TX: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// Arguments

struct Args {
    url: String,
    events: i64,
    appends: usize,
    runs: usize,
    cap: Duration,
    page: i64,
    seed: u64,
    reuse: bool,
    append: bool,
    verify: bool,
    explain: bool,
    only: Option<Vec<String>>,
    experiment: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        events: 10_000_000,
        appends: 2000,
        runs: 100,
        cap: Duration::from_secs(60),
        page: 50,
        seed: 1,
        reuse: false,
        append: true,
        verify: false,
        explain: false,
        only: None,
        experiment: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--url" => a.url = v(),
            "--events" => a.events = v().replace('_', "").parse().expect("--events"),
            "--appends" => a.appends = v().parse().expect("--appends"),
            "--runs" => a.runs = v().parse().expect("--runs"),
            "--cap-secs" => a.cap = Duration::from_secs(v().parse().expect("--cap-secs")),
            "--page" => a.page = v().parse().expect("--page"),
            "--seed" => a.seed = v().parse().expect("--seed"),
            "--only" => a.only = Some(v().split(',').map(str::to_string).collect()),
            "--reuse" => a.reuse = true,
            "--no-append" => a.append = false,
            "--verify" => a.verify = true,
            "--explain" => a.explain = true,
            "--experiment" => a.experiment = Some(v()),
            _ => panic!("unknown argument {k}; see the header of examples/audit_bench.rs"),
        }
    }
    assert!(!a.url.is_empty(), "--url sqlite://PATH or postgres://… is required");
    assert!(a.events >= 1000, "--events must be at least 1000");
    a
}

// ---------------------------------------------------------------------------------------------
// The world the events happen in: people, places, files, addresses, words.

/// A sampler over `0..n` by cumulative weights.
struct Cdf(Vec<f64>);

impl Cdf {
    fn zipf(n: usize, s: f64) -> Cdf {
        Cdf::weights((0..n).map(|k| 1.0 / ((k + 1) as f64).powf(s)))
    }
    fn weights(w: impl IntoIterator<Item = f64>) -> Cdf {
        let mut acc = 0.0;
        Cdf(w
            .into_iter()
            .map(|x| {
                acc += x;
                acc
            })
            .collect())
    }
    fn sample(&self, rng: &mut StdRng) -> usize {
        let total = self.0.last().copied().unwrap_or(0.0);
        let u = rng.random::<f64>() * total;
        self.0.partition_point(|&c| c <= u).min(self.0.len() - 1)
    }
    /// Weighted half the time, uniform over the values the other half: popular and rare
    /// values both get asked about.
    fn mixed(&self, rng: &mut StdRng) -> usize {
        if rng.random_bool(0.5) {
            self.sample(rng)
        } else {
            rng.random_range(0..self.0.len())
        }
    }
}

fn pick<'a, T>(rng: &mut StdRng, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

const FIRST: &[&str] = &[
    "Zoë",
    "Adam",
    "Amira",
    "Anna",
    "Arjun",
    "Astrid",
    "Ben",
    "Bianca",
    "Carlos",
    "Chen",
    "Chloé",
    "Daniel",
    "Dmitri",
    "Elena",
    "Emil",
    "Emma",
    "Fatima",
    "Felix",
    "Freya",
    "Gabriel",
    "Greta",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jakob",
    "Jana",
    "Jonas",
    "José",
    "Julia",
    "Karim",
    "Katarzyna",
    "Lars",
    "Laura",
    "Leon",
    "Lena",
    "Liam",
    "Lucía",
    "Łukasz",
    "Maja",
    "Marco",
    "Maria",
    "Mateo",
    "Mia",
    "Mohammed",
    "Nadia",
    "Nils",
    "Noah",
    "Olga",
    "Omar",
    "Paula",
    "Pedro",
    "Priya",
    "Rafael",
    "Rosa",
    "Sara",
    "Sofia",
    "Søren",
    "Tomás",
    "Yuki",
];
const LAST: &[&str] = &[
    "Adams",
    "Andersen",
    "Baker",
    "Bauer",
    "Becker",
    "Bianchi",
    "Brown",
    "Castro",
    "Chowdhury",
    "Costa",
    "Dąbrowski",
    "Diaz",
    "Dubois",
    "Eriksson",
    "Fernández",
    "Fischer",
    "Fontaine",
    "García",
    "Gonzalez",
    "Gruber",
    "Hansen",
    "Hoffmann",
    "Horvat",
    "Ivanova",
    "Jansen",
    "Jensen",
    "Johansson",
    "Kaya",
    "Keller",
    "Kim",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Laurent",
    "Lee",
    "Lindqvist",
    "López",
    "Martin",
    "Meyer",
    "Moreau",
    "Müller",
    "Nakamura",
    "Nguyen",
    "Nielsen",
    "Novak",
    "O'Brien",
    "Okafor",
    "Olsen",
    "Papadopoulos",
    "Patel",
    "Pereira",
    "Petrov",
    "Popescu",
    "Richter",
    "Rossi",
    "Ruiz",
    "Santos",
    "Schmidt",
    "Schneider",
    "Silva",
    "Singh",
    "Smith",
    "Sousa",
    "Suzuki",
    "Svensson",
    "Tanaka",
    "Taylor",
    "Thomas",
    "Varga",
    "Vogel",
    "Wagner",
    "Walsh",
    "Weber",
    "Wilson",
    "Wójcik",
    "Yilmaz",
    "Young",
    "Zhang",
    "Ziegler",
    "Zimmermann",
];
const DOMAINS: &[&str] = &[
    "example.org",
    "example.com",
    "corp.example",
    "partner.example.net",
    "mail.example",
];
/// Ordinary words of documents, folders and notes.
const WORDS: &[&str] = &[
    "annual",
    "report",
    "budget",
    "forecast",
    "quarterly",
    "review",
    "contract",
    "draft",
    "final",
    "signed",
    "invoice",
    "receipt",
    "payroll",
    "salary",
    "minutes",
    "meeting",
    "board",
    "agenda",
    "proposal",
    "offer",
    "tender",
    "audit",
    "compliance",
    "policy",
    "procedure",
    "handbook",
    "onboarding",
    "training",
    "safety",
    "incident",
    "claim",
    "insurance",
    "lease",
    "property",
    "deed",
    "valuation",
    "merger",
    "acquisition",
    "diligence",
    "term",
    "sheet",
    "shareholder",
    "agreement",
    "amendment",
    "addendum",
    "schedule",
    "appendix",
    "exhibit",
    "memo",
    "letter",
    "notice",
    "statement",
    "balance",
    "ledger",
    "tax",
    "return",
    "filing",
    "vat",
    "customs",
    "export",
    "import",
    "shipping",
    "logistics",
    "supplier",
    "vendor",
    "customer",
    "client",
    "patient",
    "consent",
    "privacy",
    "data",
    "protection",
    "impact",
    "assessment",
    "risk",
    "register",
    "matrix",
    "plan",
    "roadmap",
    "strategy",
    "marketing",
    "campaign",
    "brand",
    "design",
    "mockup",
    "wireframe",
    "specification",
    "requirements",
    "architecture",
    "diagram",
    "network",
    "server",
    "backup",
    "recovery",
    "continuity",
    "evacuation",
    "floor",
    "map",
    "photo",
    "scan",
    "passport",
    "identity",
    "licence",
    "permit",
    "certificate",
    "diploma",
    "transcript",
    "application",
    "resume",
    "reference",
    "interview",
    "evaluation",
    "appraisal",
    "performance",
    "bonus",
    "pension",
    "benefits",
    "expenses",
    "travel",
    "booking",
    "itinerary",
    "visa",
    "conference",
    "presentation",
    "slides",
    "keynote",
    "workshop",
    "notes",
    "research",
    "study",
    "survey",
    "results",
    "analysis",
    "dataset",
    "model",
    "simulation",
    "prototype",
    "test",
    "protocol",
    "lab",
    "sample",
    "batch",
    "quality",
    "inspection",
    "maintenance",
    "repair",
    "warranty",
    "manual",
    "guide",
    "faq",
    "checklist",
    "template",
    "form",
    "request",
    "approval",
    "rejection",
    "appeal",
    "complaint",
    "settlement",
    "litigation",
    "court",
    "hearing",
    "evidence",
    "witness",
    "affidavit",
    "patent",
    "trademark",
    "copyright",
    "royalty",
    "licensing",
    "partnership",
    "joint",
    "venture",
    "investment",
    "portfolio",
    "fund",
    "loan",
    "mortgage",
    "credit",
    "debit",
    "bank",
    "account",
    "transfer",
    "payment",
    "refund",
    "pricing",
    "quote",
    "estimate",
    "order",
    "purchase",
    "delivery",
    "stock",
    "inventory",
    "warehouse",
    "fleet",
    "vehicle",
    "energy",
    "carbon",
    "emissions",
    "sustainability",
    "grant",
    "subsidy",
    "donation",
    "sponsor",
    "newsletter",
    "press",
    "release",
    "interview",
    "archive",
    "legacy",
    "migration",
    "cutover",
    "rollout",
    "pilot",
    "phase",
    "milestone",
    "north",
    "south",
    "east",
    "west",
    "central",
    "regional",
    "global",
    "local",
    "internal",
    "external",
    "confidential",
    "restricted",
    "public",
    "summary",
    "overview",
    "detailed",
    "revised",
    "updated",
    "original",
    "copy",
    "old",
];
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bra", "dre", "gal", "mon", "per", "quin", "sto", "tur",
    "val", "wen", "xan", "yor", "fi", "hu", "jo",
];
const EXTS: &[&str] = &[
    "pdf", "pdf", "pdf", "docx", "docx", "xlsx", "xlsx", "pptx", "txt", "csv", "png", "jpg", "zip", "odt",
];
const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];
const API_AGENTS: &[&str] = &[
    "strongroom-cli/0.1.0",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "rclone/v1.68.2",
];

fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'à'..='å' | 'ą' => Some('a'),
            'ç' => Some('c'),
            'è'..='ë' => Some('e'),
            'í' | 'ì' | 'î' | 'ï' => Some('i'),
            'ł' => Some('l'),
            'ñ' => Some('n'),
            'ò'..='ö' | 'ø' => Some('o'),
            'ù'..='ü' => Some('u'),
            'Ł' => Some('l'),
            '\'' | ' ' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}

struct Person {
    id: String,
    name: String,
    last: String,
    email: String,
    home_ip: usize,
    agent: usize,
}

#[derive(Clone)]
struct Target {
    kind: &'static str,
    id: String,
    name: String,
    path: Option<String>,
}

struct World {
    people: Vec<Person>,
    people_cdf: Cdf,
    rooms: Vec<Target>,
    folders: Vec<Target>,
    folders_cdf: Cdf,
    files: Vec<Target>,
    files_cdf: Cdf,
    links: Vec<Target>,
    links_cdf: Cdf,
    groups: Vec<Target>,
    tokens: Vec<Target>,
    ips: Vec<String>,
    ips_cdf: Cdf,
    actions: Vec<AuditAction>,
    actions_cdf: Cdf,
    routes: Vec<String>,
    modules: Vec<&'static str>,
    products: Vec<&'static str>,
    /// Every word names and notes are made of: [`WORDS`] then made-up ones (the long tail).
    words: Vec<String>,
    words_cdf: Cdf,
}

fn uuid7(rng: &mut StdRng, ms: i64) -> String {
    let mut b = [0u8; 10];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_unix_timestamp_millis(ms.max(0) as u64, &b)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// How often each action happens, relative to one another; the rest are rare.
fn action_weight(a: AuditAction) -> f64 {
    match a.name() {
        "file.download" => 300.0,
        "auth.login" => 110.0,
        "link.file.view" => 60.0,
        "link.open" => 45.0,
        "file.upload" => 70.0,
        "auth.logout" => 40.0,
        "auth.session.end" => 25.0,
        "file.version.upload" => 25.0,
        "file.update" => 25.0,
        "link.folder.view" => 20.0,
        "folder.create" => 15.0,
        "file.copy" => 10.0,
        "file.trash" => 12.0,
        "auth.step_up" => 8.0,
        "link.create" => 8.0,
        "folder.update" => 6.0,
        "link.unlock" => 6.0,
        "file.watermark" => 4.0,
        "file.restore" => 2.0,
        "folder.trash" => 2.0,
        "link.revoke" => 3.0,
        "grant.set" => 3.0,
        "file.purge" => 2.0,
        "auth.backup_code.use" => 0.5,
        "auth.second_factor.add" | "auth.second_factor.confirm" => 0.8,
        "user.update" | "user.create" | "user.password.change" => 0.8,
        "file.protect" | "file.watermark_image" | "grant.remove" | "room.create" | "folder.restore" => 1.0,
        "setup.owner" => 0.0001,
        n if n.starts_with("settings.") || n.starts_with("audit.") || n.starts_with("storage.") => 0.02,
        _ => 0.3,
    }
}

fn route(a: AuditAction) -> String {
    let name = a.name();
    let parts: Vec<&str> = name.split('.').collect();
    let verb = parts.last().copied().unwrap_or("");
    let method = match verb {
        "download" | "view" | "open" | "export" | "verify" => "GET",
        "update" | "rename" | "set" | "policy" => "PATCH",
        "delete" | "trash" | "purge" | "revoke" | "remove" | "withdraw" | "logout" | "end" => "DELETE",
        _ => "POST",
    };
    let mut path = format!("/api/v1/{}s/{{id}}", parts[0]);
    for p in &parts[1..parts.len().saturating_sub(1)] {
        path.push('/');
        path.push_str(p);
    }
    if name == "file.download" {
        path = "/api/v1/files/{id}/content".into();
    }
    format!("{method} {path}")
}

impl World {
    fn new(seed: u64, start_ms: i64) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut words: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < WORDS.len() + 6000 {
            let n = rng.random_range(2..=4);
            let w: String = (0..n).map(|_| *pick(&mut rng, SYLLABLES)).collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        // The common words first, then the made-up ones, each rarer than the last.
        let words_cdf = Cdf::zipf(words.len(), 0.9);
        let word = |rng: &mut StdRng| words[words_cdf.sample(rng)].clone();
        let title = |rng: &mut StdRng, n: usize| {
            let mut s: String = (0..n).map(|_| word(rng)).collect::<Vec<_>>().join(" ");
            if let Some(c) = s.get(..1) {
                s = c.to_uppercase() + &s[1..];
            }
            s
        };

        let mut ips = Vec::new();
        for i in 0..260u32 {
            ips.push(match i % 4 {
                0 => format!("10.{}.{}.{}", i % 7, i / 7, 10 + i % 200),
                1 => format!("192.0.2.{}", i % 250 + 1),
                2 => format!("198.51.100.{}", i % 250 + 1),
                _ => format!("203.0.113.{}", i % 250 + 1),
            });
        }
        for i in 0..90u32 {
            ips.push(format!("2001:db8:{:x}:{:x}::{:x}", i % 5, i * 7 % 97, 1 + i * 13));
        }
        ips.sort();
        ips.dedup();
        let ips_cdf = Cdf::zipf(ips.len(), 0.6);

        let mut people = Vec::new();
        let mut names = std::collections::HashSet::new();
        while people.len() < 2000 {
            let (f, l) = (*pick(&mut rng, FIRST), *pick(&mut rng, LAST));
            let n = names.len();
            let name = format!("{f} {l}");
            let local = if names.insert(name.clone()) {
                format!("{}.{}", ascii_fold(f), ascii_fold(l))
            } else {
                format!("{}.{}{}", ascii_fold(f), ascii_fold(l), n % 97)
            };
            let joined = start_ms - rng.random_range(0..400) * DAY;
            people.push(Person {
                id: uuid7(&mut rng, joined),
                email: format!("{local}@{}", pick(&mut rng, DOMAINS)),
                last: l.to_string(),
                name,
                home_ip: ips_cdf.sample(&mut rng),
                agent: rng.random_range(0..BROWSERS.len()),
            });
        }
        let people_cdf = Cdf::zipf(people.len(), 0.7);

        let t0 = start_ms - 30 * DAY;
        let rooms: Vec<Target> = (0..200)
            .map(|i| {
                let name = if i < WORDS.len() / 2 && i % 3 == 0 {
                    title(&mut rng, 1)
                } else {
                    format!("{} {}", title(&mut rng, 1), word(&mut rng))
                };
                Target {
                    kind: "room",
                    id: uuid7(&mut rng, t0),
                    path: Some(name.clone()),
                    name,
                }
            })
            .collect();
        let mut folders: Vec<Target> = Vec::new();
        for _ in 0..6000 {
            let parent = if folders.is_empty() || rng.random_bool(0.4) {
                pick(&mut rng, &rooms).path.clone().unwrap_or_default()
            } else {
                pick(&mut rng, &folders).path.clone().unwrap_or_default()
            };
            let name = if rng.random_bool(0.3) {
                format!("{} {}", title(&mut rng, 1), rng.random_range(2019..=2026))
            } else {
                let n = rng.random_range(1..=3);
                title(&mut rng, n)
            };
            folders.push(Target {
                kind: "folder",
                id: uuid7(&mut rng, t0),
                path: Some(format!("{parent}/{name}")),
                name,
            });
        }
        let folders_cdf = Cdf::zipf(folders.len(), 0.8);
        let files: Vec<Target> = (0..40_000)
            .map(|_| {
                let folder = &folders[folders_cdf.sample(&mut rng)];
                let n = rng.random_range(1..=4);
                let mut name = title(&mut rng, n);
                match rng.random_range(0..4) {
                    0 => name.push_str(&format!(" {}", rng.random_range(2019..=2026))),
                    1 => name.push_str(&format!(" v{}", rng.random_range(1..9))),
                    _ => {}
                }
                name.push('.');
                let ext = *pick(&mut rng, EXTS);
                name.push_str(ext);
                Target {
                    kind: "file",
                    id: uuid7(&mut rng, t0),
                    path: Some(format!("{}/{name}", folder.path.as_deref().unwrap_or(""))),
                    name,
                }
            })
            .collect();
        let files_cdf = Cdf::zipf(files.len(), 0.9);
        let links: Vec<Target> = (0..3000)
            .map(|_| {
                let on = if rng.random_bool(0.8) {
                    &files[files_cdf.sample(&mut rng)]
                } else {
                    &folders[folders_cdf.sample(&mut rng)]
                };
                Target {
                    kind: "link",
                    id: uuid7(&mut rng, t0),
                    name: on.name.clone(),
                    path: on.path.clone(),
                }
            })
            .collect();
        let links_cdf = Cdf::zipf(links.len(), 0.8);
        let groups: Vec<Target> = (0..100)
            .map(|_| {
                let name = format!("{} team", title(&mut rng, 1));
                Target {
                    kind: "group",
                    id: uuid7(&mut rng, t0),
                    name,
                    path: None,
                }
            })
            .collect();
        let tokens: Vec<Target> = (0..700)
            .map(|_| {
                let name = format!("{} sync", word(&mut rng));
                Target {
                    kind: "token",
                    id: uuid7(&mut rng, t0),
                    name,
                    path: None,
                }
            })
            .collect();

        let actions: Vec<AuditAction> = AuditAction::ALL.to_vec();
        let actions_cdf = Cdf::weights(actions.iter().map(|a| action_weight(*a)));
        let routes = actions.iter().map(|a| route(*a)).collect();
        let mut modules: Vec<&'static str> = actions.iter().map(|a| a.module()).collect();
        modules.sort_unstable();
        modules.dedup();
        let mut products: Vec<&'static str> = actions.iter().map(|a| a.product()).collect();
        products.sort_unstable();
        products.dedup();
        World {
            people,
            people_cdf,
            rooms,
            folders,
            folders_cdf,
            files,
            files_cdf,
            links,
            links_cdf,
            groups,
            tokens,
            ips,
            ips_cdf,
            actions,
            actions_cdf,
            routes,
            modules,
            products,
            words,
            words_cdf,
        }
    }

    fn targets(&self) -> usize {
        self.rooms.len()
            + self.folders.len()
            + self.files.len()
            + self.links.len()
            + self.groups.len()
            + self.tokens.len()
    }

    fn note(&self, rng: &mut StdRng) -> String {
        let n = rng.random_range(2..=6);
        (0..n)
            .map(|_| self.words[self.words_cdf.sample(rng)].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One event as the server would record it.
    fn event(&self, rng: &mut StdRng) -> AuditEvent {
        let ai = self.actions_cdf.sample(rng);
        let action = self.actions[ai];
        let name = action.name();
        let mut e = AuditEvent::new(action);
        let module = name.split('.').next().unwrap_or("");
        let person = &self.people[self.people_cdf.sample(rng)];
        let by_link = module == "link" && !matches!(name, "link.create" | "link.revoke");
        let by_system = matches!(
            name,
            "storage.orphans.remove" | "audit.prune" | "file.integrity_failure" | "auth.session.end"
        ) && rng.random_bool(0.7);

        // Who, and from where.
        let mut origin = RequestOrigin::default();
        if by_link {
            let link = &self.links[self.links_cdf.sample(rng)];
            e = e.by_link(&link.id);
        } else if by_system {
            e = e.initiated_by(Initiator::System);
        } else if rng.random_bool(0.01) {
            e = e.by_console();
        } else {
            e.actor_id = Some(person.id.clone());
            e.actor_email = Some(person.email.clone());
            e.actor_name = Some(person.name.clone());
            if rng.random_bool(0.15) {
                e = e.initiated_by(Initiator::Api);
            }
        }
        if !by_system && e.initiator != Some(Initiator::Cli) {
            let ip = if by_link || rng.random_bool(0.2) {
                self.ips_cdf.sample(rng)
            } else {
                person.home_ip
            };
            let mut req = [0u8; 16];
            rng.fill_bytes(&mut req);
            origin = RequestOrigin {
                ip: Some(self.ips[ip].clone()),
                user_agent: Some(if e.initiator == Some(Initiator::Api) {
                    pick(rng, API_AGENTS).to_string()
                } else if rng.random_bool(0.9) {
                    BROWSERS[person.agent].to_string()
                } else {
                    pick(rng, BROWSERS).to_string()
                }),
                request_id: Some(
                    uuid::Builder::from_random_bytes(req)
                        .into_uuid()
                        .hyphenated()
                        .to_string(),
                ),
                route: Some(self.routes[ai].clone()),
            };
        }
        e = e.from_origin(&origin);

        // How it went.
        let u = rng.random::<f64>();
        let (fail, deny) = match name {
            "auth.login" => (0.10, 0.03),
            "auth.step_up" | "link.unlock" => (0.12, 0.02),
            "file.download" | "link.file.view" => (0.005, 0.02),
            _ => (0.01, 0.015),
        };
        let outcome = if u < fail {
            Outcome::Failure
        } else if u < fail + deny {
            Outcome::Denied
        } else {
            Outcome::Success
        };
        e = e.outcome(outcome);

        // On what, and the details.
        let file = &self.files[self.files_cdf.sample(rng)];
        let folder = &self.folders[self.folders_cdf.sample(rng)];
        let on = |e: AuditEvent, t: &Target| e.target(t.kind, &t.id).named(&t.name, t.path.clone());
        let size = rng.random_range(2_000..40_000_000u64);
        let version = rng.random_range(1..12);
        e = match module {
            "file" => {
                let d = match name {
                    "file.download" => serde_json::json!({"deliver": "download", "version": version}),
                    "file.update" => {
                        serde_json::json!({"changed": {"name": {"from": file.name, "to": format!("{} {}.{}", self.note(rng), version, pick(rng, EXTS))}}})
                    }
                    "file.copy" => {
                        serde_json::json!({"from": file.id, "version": version, "name": file.name, "folder_id": folder.id})
                    }
                    "file.watermark" | "file.watermark_image" => {
                        serde_json::json!({"text": format!("CONFIDENTIAL {}", self.note(rng)), "version": version})
                    }
                    "file.integrity_failure" => {
                        serde_json::json!({"version": version, "problem": "the stored bytes do not match their digest"})
                    }
                    _ => {
                        serde_json::json!({"name": file.name, "folder_id": folder.id, "size": size, "sha256": hex::encode(size.to_be_bytes()), "version": version})
                    }
                };
                on(e, file).details(d)
            }
            "folder" => {
                let d = if name == "folder.update" {
                    serde_json::json!({"changed": {"name": {"from": folder.name, "to": self.note(rng)}}})
                } else {
                    serde_json::json!({"name": folder.name, "files": rng.random_range(0..300)})
                };
                on(e, folder).details(d)
            }
            "room" | "grant" => {
                let room = pick(rng, &self.rooms);
                let d = if module == "grant" {
                    let g = pick(rng, &self.groups);
                    serde_json::json!({"group": g.name, "role": pick(rng, &["viewer", "editor", "manager"])})
                } else {
                    serde_json::json!({"name": room.name})
                };
                on(e, room).details(d)
            }
            "link" => {
                let link = &self.links[self.links_cdf.sample(rng)];
                let d = match name {
                    "link.create" => {
                        serde_json::json!({"name": link.name, "read_only": rng.random_bool(0.8), "expires_at": null, "note": self.note(rng)})
                    }
                    "link.unlock" if outcome != Outcome::Success => serde_json::json!({"reason": "wrong password"}),
                    _ => serde_json::json!({"link": link.id}),
                };
                on(e, link).details(d)
            }
            "group" => {
                let g = pick(rng, &self.groups);
                let d = serde_json::json!({"name": g.name});
                on(e, g).details(d)
            }
            "token" => {
                let t = pick(rng, &self.tokens);
                let d = serde_json::json!({"name": t.name, "scopes": ["read", "write"]});
                on(e, t).details(d)
            }
            "auth" | "user" | "setup" => {
                let who = &self.people[self.people_cdf.sample(rng)];
                match name {
                    "auth.login" if outcome == Outcome::Failure => {
                        let reason = *pick(
                            rng,
                            &[
                                "wrong password",
                                "unknown account",
                                "second factor failed",
                                "account locked",
                            ],
                        );
                        if rng.random_bool(0.3) {
                            // Someone typing an address that has no account.
                            e.actor_id = None;
                            e.actor_name = None;
                            e.actor_email =
                                Some(format!("{}@{}", self.note(rng).replace(' ', "."), pick(rng, DOMAINS)));
                        }
                        e.details(serde_json::json!({"reason": reason}))
                    }
                    "auth.login" => {
                        e.details(serde_json::json!({"method": pick(rng, &["password", "passkey", "password+totp"])}))
                    }
                    "auth.logout" | "auth.session.end" | "auth.step_up" => e,
                    n if n.starts_with("auth.") => e.details(
                        serde_json::json!({"second_factor": pick(rng, &["totp", "sms", "passkey", "backup codes"])}),
                    ),
                    _ => e.target("user", &who.id).named(&who.email, None).details(
                        serde_json::json!({"email": who.email, "role": pick(rng, &["member", "admin", "guest"])}),
                    ),
                }
            }
            "settings" => e.details(serde_json::json!({"changed": [self.note(rng)]})),
            _ => e.details(serde_json::json!({"note": self.note(rng)})),
        };
        e
    }
}

// ---------------------------------------------------------------------------------------------
// Rows, exactly as the store writes them.

/// The row `StoredEvent::new` makes of `e`, with a historical id and time.
fn stored(e: &AuditEvent, id: String, at: i64) -> StoredEvent {
    StoredEvent {
        seq: 0,
        id,
        at,
        action: e.action.name().into(),
        product: e.action.product().into(),
        module: e.action.module().into(),
        outcome: e.outcome.as_str().into(),
        initiator: Some(e.initiator().as_str().into()),
        actor_id: e.actor_id.clone(),
        actor_name: e.actor_name.clone(),
        actor_email: e.actor_email.clone(),
        target_kind: e.target_kind.map(str::to_string),
        target_id: e.target_id.clone(),
        target_name: e.target_name.clone(),
        target_path: e.target_path.clone(),
        ip: e.origin.ip.clone(),
        user_agent: e.origin.user_agent.clone(),
        route: e.origin.route.clone(),
        request_id: e.origin.request_id.clone(),
        details: e.details.to_string(),
        ..StoredEvent::default()
    }
}

/// What `StoredEvent::link` does: a fresh salt, the personal digest, the place after `prev`
/// and the hash.
fn link(row: &mut StoredEvent, seq: i64, prev: &[u8; 32], rng: &mut StdRng) -> [u8; 32] {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let digest = chain::personal_digest(&salt, &row.personal());
    let hash = chain::event_hash(prev, &row.frame(&digest));
    row.seq = seq;
    row.personal_salt = Some(hex::encode(salt));
    row.personal_digest = hex::encode(digest);
    row.prev_hash = hex::encode(prev);
    row.hash = hex::encode(hash);
    hash
}

/// Whether a row read back is intact: its digest, its hash, and (given the row before it)
/// its link.
fn check_row(r: &StoredEvent, before: Option<&StoredEvent>) -> Result<(), String> {
    let salt: [u8; 16] = hex::decode(r.personal_salt.as_deref().unwrap_or(""))
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| format!("seq {}: bad salt", r.seq))?;
    let digest = chain::personal_digest(&salt, &r.personal());
    if hex::encode(digest) != r.personal_digest {
        return Err(format!("seq {}: personal digest differs", r.seq));
    }
    let prev = chain::parse_hash(&r.prev_hash).ok_or_else(|| format!("seq {}: bad prev_hash", r.seq))?;
    if hex::encode(chain::event_hash(&prev, &r.frame(&digest))) != r.hash {
        return Err(format!("seq {}: hash differs", r.seq));
    }
    if let Some(b) = before
        && (b.seq + 1 != r.seq || b.hash != r.prev_hash)
    {
        return Err(format!("seq {}: does not follow seq {}", r.seq, b.seq));
    }
    Ok(())
}

async fn exec(conn: &mut AnyConnection, sql: &str) {
    // The simple protocol: VACUUM may not run in the extended one's implicit transaction.
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A multi-row INSERT. On SQLite with anonymous `?` placeholders: sqlx looks each numbered
/// one up by name, and SQLite finds a name by walking the list of them, which is quadratic
/// in a statement of 25,000 parameters.
fn insert_sql(n: usize, backend: Backend) -> String {
    let mut sql = format!("INSERT INTO audit_events ({COLUMNS}) VALUES ");
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..25 {
            if c > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", i * 25 + c + 1)),
            }
        }
        sql.push(')');
    }
    sql
}

async fn insert_rows(conn: &mut AnyConnection, sql: &str, rows: &[StoredEvent]) {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
    for r in rows {
        q = q
            .bind(r.seq)
            .bind(&r.id)
            .bind(r.at)
            .bind(&r.action)
            .bind(&r.product)
            .bind(&r.module)
            .bind(&r.outcome)
            .bind(&r.initiator)
            .bind(&r.actor_id)
            .bind(&r.actor_name)
            .bind(&r.actor_email)
            .bind(&r.target_kind)
            .bind(&r.target_id)
            .bind(&r.target_name)
            .bind(&r.target_path)
            .bind(&r.ip)
            .bind(&r.user_agent)
            .bind(&r.route)
            .bind(&r.request_id)
            .bind(&r.details)
            .bind(&r.prev_hash)
            .bind(&r.hash)
            .bind(&r.personal_salt)
            .bind(&r.personal_digest)
            .bind(&r.erased_by);
    }
    q.execute(&mut *conn).await.expect("bulk insert");
}

/// The secondary indexes of `audit_events` as the migrations made them: (name, definition).
async fn audit_indexes(conn: &mut AnyConnection, backend: Backend) -> Vec<(String, String)> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND sql IS NOT NULL ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(i.relname AS TEXT) AS name, pg_get_indexdef(i.oid) AS sql FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = 'audit_events' AND NOT x.indisprimary ORDER BY i.relname"
        }
    };
    sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await
        .expect("index definitions")
        .iter()
        .map(|r| (r.get::<String, _>("name"), r.get::<String, _>("sql")))
        .collect()
}

async fn one_i64(conn: &mut AnyConnection, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>(0)
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Loads `n` events ending just before `end_ms`; returns the time it took.
async fn load(db: &Db, world: &'static World, n: i64, end_ms: i64, seed: u64) -> Duration {
    let started = Instant::now();
    let mut conn = db.pool.acquire().await.expect("connection");
    let head = one_i64(&mut conn, "SELECT head_seq FROM audit_chain WHERE id = 1").await;
    let rows = one_i64(&mut conn, "SELECT COUNT(*) FROM audit_events").await;
    assert!(
        head == 0 && rows == 0,
        "the database already holds audit events: give a fresh one (or --reuse)"
    );
    match db.backend {
        Backend::Sqlite => {
            // For the load only (this connection is closed before measuring): a big page
            // cache and sorter threads for the index builds.
            exec(&mut conn, "PRAGMA cache_size = -1048576").await;
            exec(&mut conn, "PRAGMA threads = 2").await;
        }
        Backend::Postgres => {
            exec(&mut conn, "SET maintenance_work_mem = '1GB'").await;
        }
    }
    let indexes = audit_indexes(&mut conn, db.backend).await;
    for (name, _) in &indexes {
        exec(&mut conn, &format!("DROP INDEX {name}")).await;
    }

    // Rows are made and chained on a thread of their own while this one writes.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<StoredEvent>>(8);
    let start_ms = end_ms - SPAN;
    let step = SPAN as f64 / n as f64;
    let maker = std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        let mut prev = chain::GENESIS;
        let mut seq = 1i64;
        while seq <= n {
            let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
            while batch.len() < ROWS_PER_INSERT && seq <= n {
                let e = world.event(&mut rng);
                // Spread over the span, in order, a little jitter within each event's slot.
                let at = start_ms + ((seq - 1) as f64 * step + rng.random::<f64>() * step * 0.9) as i64;
                let mut row = stored(&e, uuid7(&mut rng, at), at);
                prev = link(&mut row, seq, &prev, &mut rng);
                batch.push(row);
                seq += 1;
            }
            if tx.blocking_send(batch).is_err() {
                return;
            }
        }
    });

    let full = insert_sql(ROWS_PER_INSERT, db.backend);
    let mut done = 0usize;
    let mut last_hash = hex::encode(chain::GENESIS);
    let mut t = sqlx::Connection::begin(&mut *conn).await.expect("begin");
    let mut in_tx = 0usize;
    let mut report = Instant::now();
    while let Some(batch) = rx.recv().await {
        let sql = if batch.len() == ROWS_PER_INSERT {
            full.clone()
        } else {
            insert_sql(batch.len(), db.backend)
        };
        insert_rows(&mut t, &sql, &batch).await;
        done += batch.len();
        in_tx += batch.len();
        last_hash = batch.last().map(|r| r.hash.clone()).unwrap_or(last_hash);
        if in_tx >= ROWS_PER_TX {
            t.commit().await.expect("commit");
            t = sqlx::Connection::begin(&mut *conn).await.expect("begin");
            in_tx = 0;
        }
        if report.elapsed() > Duration::from_secs(30) {
            let s = started.elapsed().as_secs_f64();
            eprintln!("  {done} rows in {s:.0} s ({:.0} rows/s)", done as f64 / s);
            report = Instant::now();
        }
    }
    maker.join().expect("generator");
    // The head, where `record()` continues from (what `claim` and `set_head_hash` keep).
    sqlx::query("UPDATE audit_chain SET head_seq = $1, head_hash = $2 WHERE id = 1")
        .bind(n)
        .bind(&last_hash)
        .execute(&mut *t)
        .await
        .expect("head");
    t.commit().await.expect("commit");
    let rows_done = started.elapsed();
    println!(
        "- rows: {done} in {} ({:.0} rows/s, {ROWS_PER_INSERT} rows per INSERT, {ROWS_PER_TX} per transaction)",
        secs(rows_done),
        done as f64 / rows_done.as_secs_f64()
    );

    for (name, def) in &indexes {
        let t0 = Instant::now();
        exec(&mut conn, def).await;
        println!("- index {name}: {}", secs(t0.elapsed()));
    }
    let t0 = Instant::now();
    match db.backend {
        Backend::Sqlite => {
            exec(&mut conn, "ANALYZE").await;
            println!("- ANALYZE: {}", secs(t0.elapsed()));
            let t0 = Instant::now();
            exec(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)").await;
            println!("- WAL checkpoint: {}", secs(t0.elapsed()));
        }
        Backend::Postgres => {
            // VACUUM as well: autovacuum would do it to an insert-only table soon anyway
            // (and in the middle of the measurements); it sets the visibility map.
            exec(&mut conn, "VACUUM (ANALYZE) audit_events").await;
            exec(&mut conn, "ANALYZE").await;
            println!("- VACUUM (ANALYZE): {}", secs(t0.elapsed()));
            let t0 = Instant::now();
            exec(&mut conn, "CHECKPOINT").await;
            println!("- CHECKPOINT: {}", secs(t0.elapsed()));
        }
    }
    started.elapsed()
}

// ---------------------------------------------------------------------------------------------
// Measuring

#[derive(Default)]
struct Stats(Vec<f64>);

impl Stats {
    fn add(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64() * 1000.0);
    }
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }
    fn max(&self) -> f64 {
        self.0.iter().copied().fold(f64::NAN, f64::max)
    }
    fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len() as f64
    }
}

fn ms(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Makes one random filter of a kind.
type MakeFilter = Box<dyn Fn(&World, &mut StdRng, &Span) -> AuditFilter>;

/// A kind of search, making a random filter each time.
struct Case {
    name: &'static str,
    /// Pages followed through the cursor (1: the first page only).
    pages: usize,
    make: MakeFilter,
}

struct Span {
    start: i64,
    end: i64,
}

impl Span {
    /// A window of an hour to a year somewhere in the history.
    fn window(&self, rng: &mut StdRng) -> (i64, i64) {
        let len = *pick(rng, &[3_600_000, DAY, 7 * DAY, 30 * DAY, 365 * DAY]);
        let from = rng.random_range(self.start..(self.end - len).max(self.start + 1));
        (from, from + len)
    }
}

fn text_in_data(w: &World, rng: &mut StdRng) -> String {
    match rng.random_range(0..5) {
        // A person's surname or the start of their address.
        0 => w.people[w.people_cdf.mixed(rng)].last.to_lowercase(),
        1 => {
            let p = &w.people[w.people_cdf.mixed(rng)];
            p.email.split('@').next().unwrap_or("").to_string()
        }
        // A word of a file's name, a folder's name.
        2 => {
            let f = &w.files[w.files_cdf.mixed(rng)];
            f.name.split([' ', '.']).next().unwrap_or("").to_string()
        }
        3 => w.folders[w.folders_cdf.mixed(rng)].name.clone(),
        // Any word of the vocabulary, common or rare.
        _ => w.words[w.words_cdf.mixed(rng)].clone(),
    }
}

fn cases() -> Vec<Case> {
    fn c(name: &'static str, pages: usize, make: impl Fn(&World, &mut StdRng, &Span) -> AuditFilter + 'static) -> Case {
        Case {
            name,
            pages,
            make: Box::new(make),
        }
    }
    fn actor(w: &World, rng: &mut StdRng) -> Option<String> {
        Some(w.people[w.people_cdf.mixed(rng)].id.clone())
    }
    fn action(w: &World, rng: &mut StdRng) -> String {
        w.actions[w.actions_cdf.mixed(rng)].name().to_string()
    }
    fn outcome(rng: &mut StdRng) -> Option<String> {
        Some(pick(rng, &["failure", "denied", "success"]).to_string())
    }
    vec![
        c("newest (no filter)", 1, |_, _, _| AuditFilter::default()),
        c("actor", 1, |w, r, _| AuditFilter {
            actor: actor(w, r),
            ..Default::default()
        }),
        c("action", 1, |w, r, _| AuditFilter {
            actions: vec![action(w, r)],
            ..Default::default()
        }),
        c("actions (3 at once)", 1, |w, r, _| AuditFilter {
            actions: (0..3).map(|_| action(w, r)).collect(),
            ..Default::default()
        }),
        c("product", 1, |w, r, _| AuditFilter {
            product: Some(pick(r, &w.products).to_string()),
            ..Default::default()
        }),
        c("product + module", 1, |w, r, _| {
            let a = w.actions[w.actions_cdf.mixed(r)];
            AuditFilter {
                product: Some(a.product().into()),
                module: Some(a.module().into()),
                ..Default::default()
            }
        }),
        c("module", 1, |w, r, _| AuditFilter {
            module: Some(pick(r, &w.modules).to_string()),
            ..Default::default()
        }),
        c("target", 1, |w, r, _| {
            let t = if r.random_bool(0.8) {
                &w.files[w.files_cdf.mixed(r)]
            } else {
                &w.folders[w.folders_cdf.mixed(r)]
            };
            AuditFilter {
                target: Some(t.id.clone()),
                ..Default::default()
            }
        }),
        c("ip", 1, |w, r, _| AuditFilter {
            ip: Some(w.ips[w.ips_cdf.mixed(r)].clone()),
            ..Default::default()
        }),
        c("outcome", 1, |_, r, _| AuditFilter {
            outcome: outcome(r),
            ..Default::default()
        }),
        c("initiator", 1, |_, r, _| AuditFilter {
            initiator: Some(pick(r, &["web", "api", "cli", "link", "system"]).to_string()),
            ..Default::default()
        }),
        c("date range", 1, |_, r, s| {
            let (from, to) = s.window(r);
            AuditFilter {
                from: Some(from),
                to: Some(to),
                ..Default::default()
            }
        }),
        c("q: text in the data", 1, |w, r, _| AuditFilter {
            text: Some(text_in_data(w, r)),
            ..Default::default()
        }),
        c("q: no match", 1, |_, r, _| AuditFilter {
            text: Some(format!("zq{}x", r.random_range(1000..9999))),
            ..Default::default()
        }),
        c("actor + action", 1, |w, r, _| AuditFilter {
            actor: actor(w, r),
            actions: vec![action(w, r)],
            ..Default::default()
        }),
        c("actor + date range", 1, |w, r, s| {
            let (from, to) = s.window(r);
            AuditFilter {
                actor: actor(w, r),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            }
        }),
        c("action + outcome + date range", 1, |w, r, s| {
            let (from, to) = s.window(r);
            AuditFilter {
                actions: vec![action(w, r)],
                outcome: outcome(r),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            }
        }),
        c("ip + outcome", 1, |w, r, _| AuditFilter {
            ip: Some(w.ips[w.ips_cdf.mixed(r)].clone()),
            outcome: outcome(r),
            ..Default::default()
        }),
        c("actor + q", 1, |w, r, _| AuditFilter {
            actor: actor(w, r),
            text: Some(text_in_data(w, r)),
            ..Default::default()
        }),
        c("paging ×5: no filter", 5, |_, _, _| AuditFilter::default()),
        c("paging ×5: actor", 5, |w, r, _| AuditFilter {
            actor: actor(w, r),
            ..Default::default()
        }),
        c("paging ×5: action + outcome", 5, |w, r, _| AuditFilter {
            actions: vec![action(w, r)],
            outcome: outcome(r),
            ..Default::default()
        }),
        c("paging ×5: actor, oldest first", 5, |w, r, _| AuditFilter {
            actor: actor(w, r),
            oldest_first: true,
            ..Default::default()
        }),
    ]
}

/// The statement `AuditFilter::sql` (crates/strongroom-store/src/audit/query.rs, private)
/// builds, written out again for EXPLAIN only: the measurements go through `search`.
fn filter_sql(f: &AuditFilter, limit: i64) -> (String, Vec<Result<String, i64>>) {
    let mut conds = vec!["seq IS NOT NULL".to_string()];
    let mut binds: Vec<Result<String, i64>> = Vec::new();
    for (column, value) in [
        ("actor_id", &f.actor),
        ("product", &f.product),
        ("module", &f.module),
        ("target_id", &f.target),
        ("ip", &f.ip),
        ("outcome", &f.outcome),
        ("initiator", &f.initiator),
    ] {
        if let Some(v) = value {
            binds.push(Ok(v.clone()));
            conds.push(format!("{column} = ${}", binds.len()));
        }
    }
    if !f.actions.is_empty() {
        let mut marks = Vec::new();
        for a in &f.actions {
            binds.push(Ok(a.clone()));
            marks.push(format!("${}", binds.len()));
        }
        conds.push(format!("action IN ({})", marks.join(", ")));
    }
    for (value, cond) in [(f.from, "at >="), (f.to, "at <")] {
        if let Some(v) = value {
            binds.push(Err(v));
            conds.push(format!("{cond} ${}", binds.len()));
        }
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.is_empty()) {
        let mut p = String::from("%");
        for c in text.to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        p.push('%');
        binds.push(Ok(p));
        let n = binds.len();
        let any: Vec<String> = [
            "actor_name",
            "actor_email",
            "target_name",
            "target_path",
            "ip",
            "details",
        ]
        .iter()
        .map(|c| format!("LOWER(COALESCE({c}, '')) LIKE ${n} ESCAPE '\\'"))
        .collect();
        conds.push(format!("({})", any.join(" OR ")));
    }
    if let Some(c) = f.cursor {
        binds.push(Err(c));
        conds.push(format!(
            "seq {} ${}",
            if f.oldest_first { ">" } else { "<" },
            binds.len()
        ));
    }
    binds.push(Err(limit));
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events WHERE {} ORDER BY seq {} LIMIT ${}",
        conds.join(" AND "),
        if f.oldest_first { "ASC" } else { "DESC" },
        binds.len()
    );
    (sql, binds)
}

async fn explain(db: &Db, f: &AuditFilter, limit: i64) -> Vec<String> {
    let (sql, binds) = filter_sql(f, limit);
    let prefix = match db.backend {
        Backend::Sqlite => "EXPLAIN QUERY PLAN ",
        Backend::Postgres => "EXPLAIN (ANALYZE, BUFFERS) ",
    };
    let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("{prefix}{sql}")));
    for b in binds {
        q = match b {
            Ok(s) => q.bind(s),
            Err(n) => q.bind(n),
        };
    }
    let rows = q.fetch_all(&db.read).await.expect("explain");
    rows.iter()
        .map(|r| match db.backend {
            Backend::Sqlite => r.get::<String, _>("detail"),
            Backend::Postgres => r.get::<String, _>(0),
        })
        .collect()
}

fn describe(f: &AuditFilter) -> String {
    let mut parts = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    };
    add("actor", &f.actor);
    add("product", &f.product);
    add("module", &f.module);
    add("target", &f.target);
    add("ip", &f.ip);
    add("outcome", &f.outcome);
    add("initiator", &f.initiator);
    add("q", &f.text);
    if !f.actions.is_empty() {
        parts.push(format!("action={}", f.actions.join(",")));
    }
    if let (Some(a), Some(b)) = (f.from, f.to) {
        parts.push(format!("from..to={} days", (b - a) / DAY));
    }
    if f.oldest_first {
        parts.push("order=oldest".into());
    }
    parts.join(" ")
}

// ---------------------------------------------------------------------------------------------
// Experiments: what would fix the kinds that miss (not part of the schema; see RESULTS.md)

/// The columns free text searches, in the order of `query.rs`.
const TEXT_COLUMNS: [&str; 6] = [
    "actor_name",
    "actor_email",
    "target_name",
    "target_path",
    "ip",
    "details",
];

/// PostgreSQL: the searched columns as one lower-cased text, a line feed between them (what
/// the trigram index covers and the query must repeat word for word).
fn pg_text_expr(prefix: &str) -> String {
    let parts: Vec<String> = TEXT_COLUMNS
        .iter()
        .map(|c| format!("COALESCE({prefix}{c}, '')"))
        .collect();
    format!("LOWER({})", parts.join(" || chr(10) || "))
}

fn experiment_ddl(name: &str, backend: Backend) -> Vec<String> {
    let cols = TEXT_COLUMNS.join(", ");
    let news: Vec<String> = TEXT_COLUMNS.iter().map(|c| format!("new.{c}")).collect();
    let olds: Vec<String> = TEXT_COLUMNS.iter().map(|c| format!("old.{c}")).collect();
    let (news, olds) = (news.join(", "), olds.join(", "));
    match (name, backend) {
        ("module", _) => vec!["CREATE INDEX IF NOT EXISTS audit_events_module ON audit_events (module, seq)".into()],
        ("actor_action", _) => {
            vec!["CREATE INDEX IF NOT EXISTS audit_events_actor_action ON audit_events (actor_id, action, seq)".into()]
        }
        ("action_outcome", _) => {
            vec!["CREATE INDEX IF NOT EXISTS audit_events_action_outcome ON audit_events (action, outcome, seq)".into()]
        }
        // A query shape only: see `seq_bounds`.
        ("dates", _) => vec![],
        ("text", Backend::Postgres) => vec![
            "SET maintenance_work_mem = '1GB'".into(),
            "CREATE EXTENSION IF NOT EXISTS pg_trgm".into(),
            format!(
                "CREATE INDEX IF NOT EXISTS audit_events_text ON audit_events USING gin (({}) gin_trgm_ops)",
                pg_text_expr("")
            ),
        ],
        ("text", Backend::Sqlite) => vec![
            "PRAGMA cache_size = -1048576".into(),
            format!(
                "CREATE VIRTUAL TABLE IF NOT EXISTS audit_text USING fts5({cols}, content='audit_events', content_rowid='seq', tokenize='trigram')"
            ),
            // Erased personal data must not linger in the index's pages either.
            "INSERT INTO audit_text(audit_text, rank) VALUES ('secure-delete', 1)".into(),
            "INSERT INTO audit_text(audit_text) VALUES ('rebuild')".into(),
            format!(
                "CREATE TRIGGER IF NOT EXISTS audit_text_insert AFTER INSERT ON audit_events WHEN new.seq IS NOT NULL BEGIN \
                 INSERT INTO audit_text(rowid, {cols}) VALUES (new.seq, {news}); END"
            ),
            format!(
                "CREATE TRIGGER IF NOT EXISTS audit_text_delete AFTER DELETE ON audit_events WHEN old.seq IS NOT NULL BEGIN \
                 INSERT INTO audit_text(audit_text, rowid, {cols}) VALUES ('delete', old.seq, {olds}); END"
            ),
            format!(
                "CREATE TRIGGER IF NOT EXISTS audit_text_update AFTER UPDATE OF seq, {cols} ON audit_events BEGIN \
                 INSERT INTO audit_text(audit_text, rowid, {cols}) SELECT 'delete', old.seq, {olds} WHERE old.seq IS NOT NULL; \
                 INSERT INTO audit_text(rowid, {cols}) SELECT new.seq, {news} WHERE new.seq IS NOT NULL; END"
            ),
        ],
        _ => panic!("unknown experiment {name}: module, actor_action, action_outcome, dates or text"),
    }
}

async fn apply_experiment(db: &Db, name: &str, url: &str) {
    if name == "text" && db.backend == Backend::Sqlite {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_text'")
            .fetch_one(&db.pool)
            .await
            .expect("exists")
            .get(0);
        if n > 0 {
            println!("- (audit_text exists already: built by an earlier run)\n");
            return;
        }
    }
    let before = disk_size(db, url).await;
    let t = Instant::now();
    {
        // A connection of its own, closed after: the pool's keep the server's settings.
        let mut conn = <AnyConnection as sqlx::Connection>::connect(url)
            .await
            .expect("connect");
        for sql in experiment_ddl(name, db.backend) {
            let t = Instant::now();
            exec(&mut conn, &sql).await;
            println!(
                "- `{}…`: {}",
                sql.chars().take(100).collect::<String>(),
                secs(t.elapsed())
            );
        }
        let t1 = Instant::now();
        exec(&mut conn, "ANALYZE").await;
        if db.backend == Backend::Sqlite {
            exec(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)").await;
        }
        println!("- ANALYZE: {}", secs(t1.elapsed()));
        sqlx::Connection::close(conn).await.expect("close");
    }
    let after = disk_size(db, url).await;
    println!(
        "- **experiment `{name}`: {} to build, +{:.2} GB on disk**\n",
        secs(t.elapsed()),
        (after - before) as f64 / 1e9
    );
}

async fn disk_size(db: &Db, url: &str) -> i64 {
    match db.backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://").split('?').next().unwrap_or("");
            let size = |p: &str| std::fs::metadata(p).map(|m| m.len() as i64).unwrap_or(0);
            size(path) + size(&format!("{path}-wal"))
        }
        Backend::Postgres => sqlx::query("SELECT pg_database_size(current_database())")
            .fetch_one(&db.pool)
            .await
            .expect("size")
            .get::<i64, _>(0),
    }
}

/// The statement of [`filter_sql`] with its free text through the experiment's index:
/// SQLite joins the FTS5 table and walks its matches newest first; PostgreSQL searches the
/// one indexed expression. Texts under three characters keep the LIKE shape (a trigram index
/// cannot serve them).
fn text_sql(
    f: &AuditFilter,
    limit: i64,
    backend: Backend,
    text_index: bool,
    bounds: Option<(i64, i64)>,
) -> (String, Vec<Result<String, i64>>) {
    let text = f.text.clone().unwrap_or_default();
    let short = text.chars().count() < 3 || !text_index;
    let cols: Vec<String> = COLUMNS.split(", ").map(|c| format!("e.{}", c.trim())).collect();
    let mut conds = vec!["e.seq IS NOT NULL".to_string()];
    let mut binds: Vec<Result<String, i64>> = Vec::new();
    for (column, value) in [
        ("actor_id", &f.actor),
        ("product", &f.product),
        ("module", &f.module),
        ("target_id", &f.target),
        ("ip", &f.ip),
        ("outcome", &f.outcome),
        ("initiator", &f.initiator),
    ] {
        if let Some(v) = value {
            binds.push(Ok(v.clone()));
            conds.push(format!("e.{column} = ${}", binds.len()));
        }
    }
    if !f.actions.is_empty() {
        let mut marks = Vec::new();
        for a in &f.actions {
            binds.push(Ok(a.clone()));
            marks.push(format!("${}", binds.len()));
        }
        conds.push(format!("e.action IN ({})", marks.join(", ")));
    }
    for (value, cond) in [(f.from, "e.at >="), (f.to, "e.at <")] {
        if let Some(v) = value {
            binds.push(Err(v));
            conds.push(format!("{cond} ${}", binds.len()));
        }
    }
    if let Some((lo, hi)) = bounds {
        binds.push(Err(lo));
        conds.push(format!("e.seq >= ${}", binds.len()));
        binds.push(Err(hi));
        conds.push(format!("e.seq <= ${}", binds.len()));
    }
    let mut like = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            like.push('\\');
        }
        like.push(c);
    }
    like.push('%');
    let fts = backend == Backend::Sqlite && !short;
    if f.text.as_deref().is_none_or(str::is_empty) {
        // No free text.
    } else if fts {
        binds.push(Ok(format!("\"{}\"", text.replace('"', "\"\""))));
        conds.push(format!("audit_text MATCH ${}", binds.len()));
    } else if backend == Backend::Postgres && !short {
        binds.push(Ok(like));
        conds.push(format!("{} LIKE ${} ESCAPE '\\'", pg_text_expr("e."), binds.len()));
    } else {
        binds.push(Ok(like));
        let n = binds.len();
        let any: Vec<String> = TEXT_COLUMNS
            .iter()
            .map(|c| format!("LOWER(COALESCE(e.{c}, '')) LIKE ${n} ESCAPE '\\'"))
            .collect();
        conds.push(format!("({})", any.join(" OR ")));
    }
    let order_col = if fts { "audit_text.rowid" } else { "e.seq" };
    if let Some(c) = f.cursor {
        binds.push(Err(c));
        conds.push(format!(
            "{order_col} {} ${}",
            if f.oldest_first { ">" } else { "<" },
            binds.len()
        ));
    }
    binds.push(Err(limit));
    let from = if fts {
        "audit_text JOIN audit_events e ON e.seq = audit_text.rowid"
    } else {
        "audit_events e"
    };
    let sql = format!(
        "SELECT {} FROM {from} WHERE {} ORDER BY {order_col} {} LIMIT ${}",
        cols.join(", "),
        conds.join(" AND "),
        if f.oldest_first { "ASC" } else { "DESC" },
        binds.len()
    );
    (sql, binds)
}

/// Where a date range starts and ends in the chain: the first place at or after `from` and
/// the last before `to`, each one probe of the `at` index. Exact only while `at` never
/// decreases along the chain (true of this loaded history; a server would keep a small table
/// of the first and last place per hour instead, exact whatever the clocks did).
async fn seq_bounds(db: &Db, f: &AuditFilter) -> Option<(i64, i64)> {
    let lo = match f.from {
        Some(from) => sqlx::query(
            "SELECT MIN(seq) FROM audit_events WHERE at = (SELECT MIN(at) FROM audit_events WHERE at >= $1)",
        )
        .bind(from)
        .fetch_one(&db.read)
        .await
        .expect("bound")
        .get::<Option<i64>, _>(0)?,
        None => 0,
    };
    let hi = match f.to {
        Some(to) => {
            sqlx::query("SELECT MAX(seq) FROM audit_events WHERE at = (SELECT MAX(at) FROM audit_events WHERE at < $1)")
                .bind(to)
                .fetch_one(&db.read)
                .await
                .expect("bound")
                .get::<Option<i64>, _>(0)?
        }
        None => i64::MAX,
    };
    Some((lo, hi))
}

async fn search_text(db: &Db, f: &AuditFilter, limit: i64, x: &Experiments) -> Vec<audit::AuditEntry> {
    let bounds = if x.dates && (f.from.is_some() || f.to.is_some()) {
        match seq_bounds(db, f).await {
            Some(b) => Some(b),
            None => return Vec::new(),
        }
    } else {
        None
    };
    let (sql, binds) = text_sql(f, limit, db.backend, x.text, bounds);
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = match b {
            Ok(s) => q.bind(s),
            Err(n) => q.bind(n),
        };
    }
    q.fetch_all(&db.read)
        .await
        .expect("search")
        .iter()
        .map(|r| audit::AuditEntry::from(StoredEvent::from_row(r).expect("row")))
        .collect()
}

/// Which experiments are on.
struct Experiments {
    text: bool,
    dates: bool,
}

impl Experiments {
    /// Whether `f` goes through the experiment's query shape rather than `search`.
    fn applies(&self, f: &AuditFilter) -> bool {
        (self.text && f.text.is_some()) || (self.dates && (f.from.is_some() || f.to.is_some()))
    }
}

async fn explain_text(db: &Db, f: &AuditFilter, limit: i64, x: &Experiments) -> Vec<String> {
    let bounds = if x.dates && (f.from.is_some() || f.to.is_some()) {
        seq_bounds(db, f).await
    } else {
        None
    };
    let (sql, binds) = text_sql(f, limit, db.backend, x.text, bounds);
    let prefix = match db.backend {
        Backend::Sqlite => "EXPLAIN QUERY PLAN ",
        Backend::Postgres => "EXPLAIN (ANALYZE, BUFFERS) ",
    };
    let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("{prefix}{sql}")));
    for b in binds {
        q = match b {
            Ok(s) => q.bind(s),
            Err(n) => q.bind(n),
        };
    }
    let rows = q.fetch_all(&db.read).await.expect("explain");
    rows.iter()
        .map(|r| match db.backend {
            Backend::Sqlite => r.get::<String, _>("detail"),
            Backend::Postgres => r.get::<String, _>(0),
        })
        .collect()
}

/// `n` appends through `record()`, one after the other, after 100 not counted.
async fn appends(db: &Db, world: &World, rng: &mut StdRng, n: usize) -> Stats {
    let warm = 100;
    let mut st = Stats::default();
    for i in 0..warm + n {
        let e = world.event(rng);
        let t = Instant::now();
        audit::record(db, &e, SystemClock.now_ms()).await.expect("record");
        if i >= warm {
            st.add(t.elapsed());
        }
    }
    st
}

fn append_row(name: &str, st: &Stats) {
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} |",
        st.0.len(),
        ms(st.pct(50.0)),
        ms(st.pct(95.0)),
        ms(st.pct(99.0)),
        ms(st.max()),
        ms(st.mean()),
        if st.pct(95.0) < 1.0 { "yes" } else { "**no**" }
    );
}

/// A handle on the same database whose commits do not wait for the disk (diagnostic only).
async fn no_flush(url: &str, backend: Backend) -> Db {
    let pool = match backend {
        Backend::Sqlite => AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA secure_delete = ON",
                        "PRAGMA busy_timeout = 10000",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .expect("connect"),
        Backend::Postgres => AnyPoolOptions::new()
            .max_connections(2)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("SET synchronous_commit = off").execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .expect("connect"),
    };
    Db {
        read: pool.clone(),
        pool,
        backend,
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let label = if a.url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let t0 = Instant::now();
    let db = Db::connect(&a.url).await.expect("connect");
    let connected = t0.elapsed();
    let mut conn = db.pool.acquire().await.expect("connection");
    let head = one_i64(&mut conn, "SELECT head_seq FROM audit_chain WHERE id = 1").await;
    drop(conn);
    let now = SystemClock.now_ms();
    println!("## {label}: {} events\n", a.events);
    println!("Connected and migrated in {}.\n", secs(connected));

    // The history ends a minute before now, so that appends continue it.
    let end_ms = if a.reuse && head >= a.events {
        let mut conn = db.pool.acquire().await.expect("connection");
        one_i64(
            &mut conn,
            &format!("SELECT at FROM audit_events WHERE seq = {}", a.events),
        )
        .await
            + 1
    } else {
        now - 60_000
    };
    let span = Span {
        start: end_ms - SPAN,
        end: end_ms,
    };
    let world: &'static World = Box::leak(Box::new(World::new(a.seed, span.start)));
    println!(
        "World: {} people, {} actions, {} modules, {} addresses, {} targets, {} words; {} days of history.\n",
        world.people.len(),
        world.actions.len(),
        world.modules.len(),
        world.ips.len(),
        world.targets() + world.people.len(),
        world.words.len(),
        SPAN / DAY
    );

    let db = if a.reuse && head >= a.events {
        println!("Reusing the loaded database (head at {head}).\n");
        db
    } else {
        println!("### Load\n");
        let took = load(&db, world, a.events, end_ms, a.seed).await;
        println!("- **load total: {}** (rows, indexes, statistics)\n", secs(took));
        // Measured on fresh connections with the server's own settings.
        db.pool.close().await;
        db.read.close().await;
        Db::connect(&a.url).await.expect("reconnect")
    };

    // Size on disk.
    match db.backend {
        Backend::Sqlite => {
            let path = a.url.trim_start_matches("sqlite://").split('?').next().unwrap_or("");
            let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let (main, wal) = (size(path), size(&format!("{path}-wal")));
            println!(
                "Size: database file {:.2} GB, WAL {:.2} GB.\n",
                main as f64 / 1e9,
                wal as f64 / 1e9
            );
        }
        Backend::Postgres => {
            let row = sqlx::query(
                "SELECT pg_database_size(current_database()) AS db, pg_relation_size('audit_events') AS heap, \
                 pg_total_relation_size('audit_events') - pg_relation_size('audit_events') - pg_indexes_size('audit_events') AS toast, \
                 pg_indexes_size('audit_events') AS idx",
            )
            .fetch_one(&db.pool)
            .await
            .expect("sizes");
            let gb = |k: &str| row.get::<i64, _>(k) as f64 / 1e9;
            println!(
                "Size: database {:.2} GB (audit_events: table {:.2} GB, TOAST/FSM/VM {:.2} GB, indexes {:.2} GB).\n",
                gb("db"),
                gb("heap"),
                gb("toast"),
                gb("idx")
            );
            let rows = sqlx::query(
                "SELECT CAST(c.relname AS TEXT) AS name, pg_relation_size(c.oid) AS size FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
                 JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = 'audit_events' ORDER BY c.relname",
            )
            .fetch_all(&db.pool)
            .await
            .expect("index sizes");
            let list: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "{} {:.2} GB",
                        r.get::<String, _>("name"),
                        r.get::<i64, _>("size") as f64 / 1e9
                    )
                })
                .collect();
            println!("Indexes: {}.\n", list.join(", "));
        }
    }

    let names: Vec<&str> = a
        .experiment
        .as_deref()
        .map(|x| x.split(',').collect())
        .unwrap_or_default();
    for x in &names {
        println!("### Experiment `{x}` (built by hand on this database)\n");
        apply_experiment(&db, x, &a.url).await;
    }
    let exp = Experiments {
        text: names.contains(&"text"),
        dates: names.contains(&"dates"),
    };

    let mut rng = StdRng::seed_from_u64(a.seed ^ 0xbe9c);
    if a.append {
        println!("### Append (`audit::record`, one event per transaction, one after the other)\n");
        println!("| connection settings | appends | p50 ms | p95 ms | p99 ms | max ms | mean ms | p95 < 1 ms |");
        println!("|---|---:|---:|---:|---:|---:|---:|---|");
        let st = appends(&db, world, &mut rng, a.appends).await;
        append_row("the server's (durable commit)", &st);
        // Diagnostic: the same appends without waiting for the disk at each commit, to tell
        // the cost of the flush from the cost of the work.
        let fast = no_flush(&a.url, db.backend).await;
        let st = appends(&fast, world, &mut rng, a.appends).await;
        append_row(
            match db.backend {
                Backend::Sqlite => "diagnostic: synchronous = NORMAL (no flush per commit)",
                Backend::Postgres => "diagnostic: synchronous_commit = off (no flush per commit)",
            },
            &st,
        );
        fast.pool.close().await;
        println!("\n(each after 100 appends not counted, to warm the connection and caches)\n");
    }

    // The chain is valid: spot checks of loaded rows, the seam between the load and the first
    // append, and the head.
    {
        let mut conn = db.pool.acquire().await.expect("connection");
        let head = one_i64(&mut conn, "SELECT head_seq FROM audit_chain WHERE id = 1").await;
        let mut seqs: Vec<i64> = (0..500).map(|_| rng.random_range(2..=head)).collect();
        seqs.extend([2, a.events, a.events + 1, a.events + 2, head]);
        seqs.retain(|s| *s >= 2 && *s <= head);
        let mut checked = 0;
        for s in &seqs {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_events WHERE seq IN ($1, $2) ORDER BY seq"
            )))
            .bind(s - 1)
            .bind(*s)
            .fetch_all(&mut *conn)
            .await
            .expect("rows");
            let rows: Vec<StoredEvent> = rows.iter().map(|r| StoredEvent::from_row(r).expect("row")).collect();
            assert_eq!(rows.len(), 2, "seq {s}: missing");
            check_row(&rows[0], None).expect("chain");
            check_row(&rows[1], Some(&rows[0])).expect("chain");
            checked += 2;
        }
        let head_hash: String = sqlx::query("SELECT head_hash FROM audit_chain WHERE id = 1")
            .fetch_one(&mut *conn)
            .await
            .expect("head")
            .get(0);
        let last: String = sqlx::query("SELECT hash FROM audit_events WHERE seq = $1")
            .bind(head)
            .fetch_one(&mut *conn)
            .await
            .expect("last")
            .get(0);
        assert_eq!(head_hash, last, "the head does not match the last event");
        println!(
            "Chain spot check: {checked} rows re-hashed and linked (incl. the seam at {}), head matches.\n",
            a.events
        );
    }
    if a.verify {
        let t = Instant::now();
        let r = audit::verify::verify(&db, &[]).await.expect("verify");
        println!(
            "Full `audit::verify::verify`: {} events in {}, {} findings{}.\n",
            r.events,
            secs(t.elapsed()),
            r.findings.len(),
            r.findings
                .first()
                .map(|f| format!(" (first: {})", f.message))
                .unwrap_or_default()
        );
        assert!(r.ok(), "the chain does not verify");
    }

    println!(
        "### Search (`audit::query::search`, pages of {}; values drawn half by frequency, half uniformly)\n",
        a.page
    );
    println!("| query | runs | rows/page | p50 ms | p95 ms | max ms | p95 < 100 ms |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    let mut plans = Vec::new();
    // The slowest searches of each kind, with their filters: what a miss is made of.
    let mut slowest: Vec<(&str, Vec<(f64, String)>)> = Vec::new();
    for case in cases() {
        if let Some(only) = &a.only
            && !only.iter().any(|o| case.name.contains(o.as_str()))
        {
            continue;
        }
        let mut first = Stats::default();
        let mut later = Stats::default();
        let mut rows = 0usize;
        let mut pages = 0usize;
        let started = Instant::now();
        let mut runs = 0;
        let mut sample = None;
        let mut slow: Vec<(f64, String)> = Vec::new();
        while runs < a.runs && (started.elapsed() < a.cap || runs < 3) {
            let mut f = (case.make)(world, &mut rng, &span);
            sample.get_or_insert_with(|| f.clone());
            for p in 0..case.pages {
                let t = Instant::now();
                let got = if exp.applies(&f) {
                    search_text(&db, &f, a.page, &exp).await
                } else {
                    audit::query::search(&db, &f, a.page).await.expect("search").events
                };
                let took = t.elapsed();
                let st = if p == 0 { &mut first } else { &mut later };
                st.add(took);
                slow.push((
                    took.as_secs_f64() * 1000.0,
                    format!("{} (page {})", describe(&f), p + 1),
                ));
                rows += got.len();
                pages += 1;
                match got.last() {
                    Some(e) if got.len() as i64 == a.page => f.cursor = Some(e.seq),
                    _ => break,
                }
            }
            runs += 1;
        }
        let capped = if runs < a.runs { " (time cap)" } else { "" };
        slow.sort_by(|x, y| y.0.total_cmp(&x.0));
        slow.truncate(3);
        if slow.first().is_some_and(|s| s.0 >= 100.0) {
            slowest.push((case.name, slow));
        }
        let row = |name: String, st: &Stats| {
            println!(
                "| {name} | {}{capped} | {:.0} | {} | {} | {} | {} |",
                st.0.len(),
                rows as f64 / pages.max(1) as f64,
                ms(st.pct(50.0)),
                ms(st.pct(95.0)),
                ms(st.max()),
                if st.0.is_empty() {
                    "–"
                } else if st.pct(95.0) < 100.0 {
                    "yes"
                } else {
                    "**no**"
                }
            );
        };
        if case.pages > 1 {
            row(format!("{}: page 1", case.name), &first);
            row(format!("{}: pages 2–{}", case.name, case.pages), &later);
        } else {
            row(case.name.to_string(), &first);
        }
        if a.explain
            && let Some(f) = sample
        {
            let plan = if exp.applies(&f) {
                explain_text(&db, &f, a.page, &exp).await
            } else {
                explain(&db, &f, a.page).await
            };
            plans.push((case.name, describe(&f), plan));
        }
    }
    println!();
    if !slowest.is_empty() {
        println!("Slowest searches of the kinds with one of 100 ms or more:\n");
        for (name, slow) in &slowest {
            let list: Vec<String> = slow.iter().map(|(t, f)| format!("{} ms `{f}`", ms(*t))).collect();
            println!("- {name}: {}", list.join("; "));
        }
        println!();
    }
    if a.explain {
        println!("### Plans (one sample filter per query)\n");
        for (name, f, plan) in plans {
            println!("{name} — `{f}`:\n```\n{}\n```", plan.join("\n"));
        }
        println!();
    }
    println!("Total wall time: {}.", secs(t0.elapsed()));
}
