//! The permission matrix: `tests/data/permissions.txt` (written by hand) against
//! `rights::effective`, and `docs/permissions.md` rendered from the same file.
//!
//! `STRONGROOM_BLESS=1 cargo test -p strongroom-core --test permissions` rewrites the generated
//! part of the document after the data changed; without it a drift fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

use std::collections::BTreeMap;
use strongroom_core::AccessLevel;
use strongroom_core::ids::{GroupId, UserId};
use strongroom_core::rights::{
    Capabilities, Capability, Grant, Holder, LinkGrant, Person, Restrictions, RoomPolicy, Subject, effective,
};

const DATA: &str = include_str!("data/permissions.txt");
const DOC: &str = "../../docs/permissions.md";
const BEGIN: &str = "<!-- generated from crates/strongroom-core/tests/data/permissions.txt: begin -->";
const END: &str = "<!-- generated: end -->";

struct Data {
    /// letter, name, description
    caps: Vec<(char, String, String)>,
    levels: Vec<(String, String)>,
    scenarios: Vec<Vec<String>>,
}

fn parse() -> Data {
    let mut d = Data {
        caps: vec![],
        levels: vec![],
        scenarios: vec![],
    };
    for line in DATA.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (kind, rest) = line.split_once(' ').unwrap();
        match kind {
            "cap" => {
                let mut it = rest.split_whitespace();
                let letter = it.next().unwrap().chars().next().unwrap();
                let name = it.next().unwrap().to_string();
                let desc = it.collect::<Vec<_>>().join(" ");
                d.caps.push((letter, name, desc));
            }
            "level" => {
                let (name, caps) = rest.trim().split_once(char::is_whitespace).unwrap();
                d.levels.push((name.to_string(), caps.trim().to_string()));
            }
            "scenario" => d
                .scenarios
                .push(rest.split('|').map(|c| c.trim().to_string()).collect()),
            other => panic!("unknown line kind {other}"),
        }
    }
    d
}

fn letters_to_caps(d: &Data, s: &str) -> Capabilities {
    if s == "-" {
        return Capabilities::NONE;
    }
    let mut caps = Capabilities::NONE;
    for ch in s.chars() {
        let (_, name, _) = d
            .caps
            .iter()
            .find(|(l, _, _)| *l == ch)
            .unwrap_or_else(|| panic!("letter {ch}"));
        caps = caps.with(Capability::parse(name).unwrap());
    }
    caps
}

fn caps_to_letters(d: &Data, caps: Capabilities) -> String {
    let s: String = d
        .caps
        .iter()
        .filter(|(_, name, _)| caps.contains(Capability::parse(name).unwrap()))
        .map(|(l, _, _)| *l)
        .collect();
    if s.is_empty() { "-".into() } else { s }
}

fn restrictions(flags: &[&str]) -> Restrictions {
    Restrictions {
        no_download: flags.contains(&"nd"),
        no_print: flags.contains(&"np"),
        no_copy: flags.contains(&"nc"),
    }
}

struct Names {
    users: BTreeMap<&'static str, UserId>,
    groups: BTreeMap<&'static str, GroupId>,
}

fn grants(names: &Names, cell: &str) -> Vec<Grant> {
    if cell == "-" {
        return vec![];
    }
    cell.split_whitespace()
        .map(|g| {
            let (who, rest) = g.split_once(':').unwrap();
            let mut parts = rest.split('/');
            let level = AccessLevel::parse(parts.next().unwrap()).unwrap();
            let flags: Vec<&str> = parts.collect();
            let subject = match names.users.get(who) {
                Some(u) => Subject::User(u.clone()),
                None => Subject::Group(names.groups[who].clone()),
            };
            Grant {
                subject,
                level,
                restrictions: restrictions(&flags),
            }
        })
        .collect()
}

#[test]
fn level_presets_match_the_table() {
    let d = parse();
    assert_eq!(d.caps.len(), Capability::ALL.len(), "every capability has a letter");
    assert_eq!(d.levels.len(), AccessLevel::ALL.len(), "every level has a row");
    for (name, letters) in &d.levels {
        let level = AccessLevel::parse(name).unwrap();
        assert_eq!(
            caps_to_letters(&d, level.capabilities()),
            *letters,
            "capabilities of level {name}"
        );
    }
}

#[test]
fn every_scenario_gives_the_written_rights() {
    let d = parse();
    let names = Names {
        users: [("u", UserId::generate()), ("x", UserId::generate())].into(),
        groups: [
            ("g1", GroupId::generate()),
            ("g2", GroupId::generate()),
            ("g3", GroupId::generate()),
        ]
        .into(),
    };
    assert!(d.scenarios.len() >= 40);
    for row in &d.scenarios {
        let [principal, room, folder, file, policy, want, admin, why] = row.as_slice() else {
            panic!("scenario needs 8 columns: {row:?}");
        };
        let flags: Vec<&str> = policy.split_whitespace().collect();
        let policy = RoomPolicy {
            restrictions: restrictions(&flags),
            sharing_admins_only: flags.contains(&"sa"),
        };
        let (room, folder, file) = (grants(&names, room), grants(&names, folder), grants(&names, file));
        let ancestry: [&[Grant]; 3] = [&room, &folder, &file];
        let person = Person {
            user: names.users["u"].clone(),
            groups: vec![names.groups["g1"].clone(), names.groups["g2"].clone()],
            guest: principal == "guest",
            documents_admin: principal == "docadmin",
        };
        let holder = match principal.split_once(':') {
            None => Holder::Person(&person),
            Some((kind, spec)) => {
                let mut parts = spec.split('/');
                let level = AccessLevel::parse(parts.next().unwrap()).unwrap();
                let flags: Vec<&str> = parts.collect();
                Holder::Link {
                    link: LinkGrant {
                        level,
                        restrictions: restrictions(&flags),
                    },
                    inside: kind == "link",
                }
            }
        };
        let got = effective(&holder, &ancestry, &policy);
        assert_eq!(caps_to_letters(&d, got.caps), *want, "{why}: {row:?}");
        assert_eq!(got.caps, letters_to_caps(&d, want), "{why}: {row:?}");
        assert_eq!(got.room_admin, admin == "yes", "room admin, {why}: {row:?}");
        assert_eq!(got.visible(), want != "-", "{why}");
    }
}

fn render(d: &Data) -> String {
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push_str("\n\n### Capabilities\n\n| letter | capability | what it allows |\n|---|---|---|\n");
    for (l, name, desc) in &d.caps {
        out.push_str(&format!("| {l} | `{name}` | {desc} |\n"));
    }
    out.push_str("\n### Access levels\n\n| level |");
    for (l, _, _) in &d.caps {
        out.push_str(&format!(" {l} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(d.caps.len()));
    out.push('\n');
    for (name, letters) in &d.levels {
        out.push_str(&format!("| `{name}` |"));
        for (l, _, _) in &d.caps {
            out.push_str(if letters.contains(*l) { " ✓ |" } else { "   |" });
        }
        out.push('\n');
    }
    out.push_str(
        "\n### Scenarios\n\nRights on a file at `/room/folder/file`. The person is user `u`, member of groups `g1` and \
         `g2`; `x` is another user, `g3` a group `u` is not in. Grants read `subject:level`, with `/nd` `/np` `/nc` \
         for no download, print, copy. Room policy: `nd` `np` `nc` (restrictions), `sa` (only room admins change \
         sharing). `link:` is an external link to the folder, `link-out:` one to a sibling folder.\n\n\
         | principal | room | folder | file | room policy | rights | room admin | case |\n|---|---|---|---|---|---|---|---|\n",
    );
    for row in &d.scenarios {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if (1..=5).contains(&i) && c != "-" {
                    format!("`{c}`")
                } else {
                    c.clone()
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
    out.push_str(END);
    out
}

#[test]
fn docs_permissions_md_is_generated_from_the_data() {
    let d = parse();
    let doc_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("docs/permissions.md has the begin marker");
    let (_, tail) = rest.split_once(END).expect("docs/permissions.md has the end marker");
    let fresh = format!("{head}{}{tail}", render(&d));
    if std::env::var_os("STRONGROOM_BLESS").is_some() {
        std::fs::write(&doc_path, &fresh).unwrap();
        return;
    }
    assert!(
        fresh == doc,
        "docs/permissions.md is out of date with tests/data/permissions.txt; \
         run STRONGROOM_BLESS=1 cargo test -p strongroom-core --test permissions"
    );
}
