//! `docs/audit.md` lists every audit action, rendered from `AuditAction::ALL`; a drift fails.
//! `STRONGROOM_BLESS=1 cargo test -p strongroom-core --test audit_doc` rewrites the list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use strongroom_core::audit::AuditAction;

const DOC: &str = "../../docs/audit.md";
const BEGIN: &str = "<!-- generated from strongroom_core::audit::AuditAction: begin -->";
const END: &str = "<!-- generated: end -->";

fn render() -> String {
    let mut out = String::from("\n| action | product | module | what it records |\n|---|---|---|---|\n");
    for a in AuditAction::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            a.name(),
            a.product(),
            a.module(),
            a.description()
        ));
    }
    out
}

#[test]
fn docs_audit_md_lists_every_action() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    let doc = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("docs/audit.md has the begin marker");
    let (_, tail) = rest.split_once(END).expect("docs/audit.md has the end marker");
    let fresh = format!("{head}{BEGIN}{}{END}{tail}", render());
    if std::env::var_os("STRONGROOM_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        fresh == doc,
        "docs/audit.md is out of date; run STRONGROOM_BLESS=1 cargo test -p strongroom-core --test audit_doc"
    );
}
