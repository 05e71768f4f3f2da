//! The world the loaded events happen in: people, places, files, addresses, words, and the
//! events they make.

use crate::vocab::{API_AGENTS, BROWSERS, DOMAINS, EXTS, FIRST, LAST, SYLLABLES, WORDS};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use strongroom_core::audit::{AuditAction, AuditEvent, Initiator, Outcome, RequestOrigin};

pub(crate) const DAY: i64 = 86_400_000;
/// How far back the loaded history reaches.
pub(crate) const SPAN: i64 = 3 * 365 * DAY;

/// A sampler over `0..n` by cumulative weights.
pub(crate) struct Cdf(Vec<f64>);

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
    pub(crate) fn sample(&self, rng: &mut StdRng) -> usize {
        let total = self.0.last().copied().unwrap_or(0.0);
        let u = rng.random::<f64>() * total;
        self.0.partition_point(|&c| c <= u).min(self.0.len() - 1)
    }
    /// Weighted half the time, uniform over the values the other half: popular and rare
    /// values both get asked about.
    pub(crate) fn mixed(&self, rng: &mut StdRng) -> usize {
        if rng.random_bool(0.5) {
            self.sample(rng)
        } else {
            rng.random_range(0..self.0.len())
        }
    }
}

pub(crate) fn pick<'a, T>(rng: &mut StdRng, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

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

pub(crate) struct Person {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) last: String,
    pub(crate) email: String,
    pub(crate) home_ip: usize,
    pub(crate) agent: usize,
}

#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) kind: &'static str,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) path: Option<String>,
}

pub(crate) struct World {
    pub(crate) people: Vec<Person>,
    pub(crate) people_cdf: Cdf,
    pub(crate) rooms: Vec<Target>,
    pub(crate) folders: Vec<Target>,
    pub(crate) folders_cdf: Cdf,
    pub(crate) files: Vec<Target>,
    pub(crate) files_cdf: Cdf,
    pub(crate) links: Vec<Target>,
    pub(crate) links_cdf: Cdf,
    pub(crate) groups: Vec<Target>,
    pub(crate) tokens: Vec<Target>,
    pub(crate) ips: Vec<String>,
    pub(crate) ips_cdf: Cdf,
    pub(crate) actions: Vec<AuditAction>,
    pub(crate) actions_cdf: Cdf,
    pub(crate) routes: Vec<String>,
    pub(crate) modules: Vec<&'static str>,
    pub(crate) products: Vec<&'static str>,
    /// Every word names and notes are made of: [`WORDS`] then made-up ones (the long tail).
    pub(crate) words: Vec<String>,
    pub(crate) words_cdf: Cdf,
}

pub(crate) fn uuid7(rng: &mut StdRng, ms: i64) -> String {
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
    pub(crate) fn new(seed: u64, start_ms: i64) -> World {
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

    pub(crate) fn targets(&self) -> usize {
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
    pub(crate) fn event(&self, rng: &mut StdRng) -> AuditEvent {
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
