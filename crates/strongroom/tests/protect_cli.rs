//! `strongroom protect | unprotect | sheet protect | workbook protect` end to end: the real
//! binary, real files, passwords on stdin. Content is checked, not just exit codes; where the
//! independent tools are installed (msoffcrypto-tool, qpdf, pdftotext, openpyxl) they verify
//! our output. A missing tool SKIPs loudly, or fails when `STRONGROOM_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use strongroom_docs::Format;

// ---------------------------------------------------------------- running the binary

struct Outcome {
    ok: bool,
    stderr: String,
}

/// Run `strongroom ARGS` with `stdin` written to its standard input.
fn strongroom(args: &[&str], stdin: &str) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(args)
        .env_remove("STRONGROOM_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The binary may exit before reading (argument errors): ignore a broken pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    Outcome {
        ok: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Assert failure with a one-line message containing `needle`, and that OUT was not created.
fn assert_fails(o: &Outcome, needle: &str, out: &Path) {
    assert!(!o.ok, "expected failure mentioning {needle:?}");
    assert!(
        o.stderr.to_lowercase().contains(&needle.to_lowercase()),
        "stderr should mention {needle:?}: {}",
        o.stderr
    );
    assert_eq!(o.stderr.trim_end().lines().count(), 1, "one-line message: {}", o.stderr);
    assert!(!out.exists(), "{} must not be created on failure", out.display());
    no_temp_left(out.parent().unwrap());
}

fn no_temp_left(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "temporary file left behind: {name}");
    }
}

// ---------------------------------------------------------------- fixtures

mod fixtures;
use fixtures::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn format_of(path: &Path) -> Format {
    strongroom_docs::detect_format(&std::fs::read(path).unwrap())
}

// ---------------------------------------------------------------- oracles

fn oracle_available(name: &str, probe: &mut Command) -> bool {
    let ok = probe
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    if std::env::var("STRONGROOM_REQUIRE_ORACLES").is_ok_and(|v| v == "1") {
        panic!("oracle {name} is required (STRONGROOM_REQUIRE_ORACLES=1) but is not installed");
    }
    let msg = format!(
        "\n*** SKIP: oracle `{name}` is not installed; this test checked nothing. \
         Install it with .ci/install.d/30-docs.sh ***\n"
    );
    let _ = std::io::stderr().write_all(msg.as_bytes());
    false
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run a Python snippet with `args` in `sys.argv[1:]`; returns its stdout.
fn python(code: &str, args: &[&str]) -> String {
    let (ok, out, err) = run(Command::new("python3").arg("-c").arg(code).args(args));
    assert!(ok, "python failed: {err}");
    out
}

// ---------------------------------------------------------------- Office

#[test]
fn office_round_trip_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let plain = docx("Quarterly figures");
    let src = write(dir.path(), "report.docx", &plain);
    let enc = dir.path().join("report.protected.docx");
    let dec = dir.path().join("report.plain.docx");

    let o = strongroom(
        &["protect", p(&src), "--password-stdin", "-o", p(&enc)],
        "S3cret pässword\n",
    );
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(format_of(&enc), Format::CompoundFile);
    let enc_bytes = std::fs::read(&enc).unwrap();
    assert!(
        !enc_bytes.windows(9).any(|w| w == b"Quarterly"),
        "content must not leak"
    );
    // The library agrees the password opens it, and gives back the exact package.
    assert_eq!(
        strongroom_docs::office::decrypt_bytes(&enc_bytes, "S3cret pässword").unwrap(),
        plain
    );

    // CRLF line endings are not part of the password.
    let o = strongroom(
        &["unprotect", p(&enc), "--password-stdin", "-o", p(&dec)],
        "S3cret pässword\r\n",
    );
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(std::fs::read(&dec).unwrap(), plain);
    no_temp_left(dir.path());
}

#[test]
fn format_comes_from_content_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    // A PDF named .docx is protected as a PDF; a .docx named .pdf as Office.
    let fake_docx = write(dir.path(), "really-a-pdf.docx", &pdf(&["named wrong"]));
    let fake_pdf = write(dir.path(), "really-a-docx.pdf", &docx("named wrong"));
    let out1 = dir.path().join("out1");
    let out2 = dir.path().join("out2");
    assert!(strongroom(&["protect", p(&fake_docx), "--password-stdin", "-o", p(&out1)], "pw\n").ok);
    assert!(strongroom(&["protect", p(&fake_pdf), "--password-stdin", "-o", p(&out2)], "pw\n").ok);
    let info = strongroom_docs::pdf::encryption_info(&std::fs::read(&out1).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(info.revision, 6);
    assert_eq!(format_of(&out2), Format::CompoundFile);
}

#[test]
fn wrong_password_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.docx", &docx("secret"));
    let enc = dir.path().join("a.enc.docx");
    assert!(strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "right\n").ok);
    let out = dir.path().join("out.docx");
    let o = strongroom(&["unprotect", p(&enc), "--password-stdin", "-o", p(&out)], "wrong\n");
    assert_fails(&o, "wrong password", &out);

    // Same for a PDF.
    let src = write(dir.path(), "a.pdf", &pdf(&["secret"]));
    let enc = dir.path().join("a.enc.pdf");
    assert!(strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "right\n").ok);
    let o = strongroom(&["unprotect", p(&enc), "--password-stdin", "-o", p(&out)], "wrong\n");
    assert_fails(&o, "wrong password", &out);
}

#[test]
fn a_failed_run_leaves_an_existing_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.docx", &docx("x"));
    let enc = dir.path().join("a.enc.docx");
    assert!(strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "right\n").ok);
    let out = write(dir.path(), "previous.docx", b"previous content");
    let o = strongroom(&["unprotect", p(&enc), "--password-stdin", "-o", p(&out)], "wrong\n");
    assert!(!o.ok);
    assert_eq!(std::fs::read(&out).unwrap(), b"previous content");
    no_temp_left(dir.path());
}

#[test]
fn bad_input_gets_a_clear_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");

    let garbage = write(dir.path(), "garbage.docx", b"this is not a document at all\n");
    let o = strongroom(&["protect", p(&garbage), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "not a supported format", &out);
    let o = strongroom(&["unprotect", p(&garbage), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "not a supported format", &out);

    let empty = write(dir.path(), "empty.pdf", b"");
    let o = strongroom(&["protect", p(&empty), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "not a supported format", &out);

    // A zip that is not OOXML.
    let zip = write(dir.path(), "photos.zip", &zip_stored(&[("a.txt", b"hello")]));
    let o = strongroom(&["protect", p(&zip), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "not a supported format", &out);

    // Truncated plain and encrypted files.
    let plain = docx("truncate me");
    let cut = write(dir.path(), "cut.docx", &plain[..plain.len() / 2]);
    let o = strongroom(&["protect", p(&cut), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "truncated", &out);
    let src = write(dir.path(), "whole.docx", &plain);
    let enc = dir.path().join("whole.enc");
    assert!(strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "pw\n").ok);
    let enc_bytes = std::fs::read(&enc).unwrap();
    let cut = write(dir.path(), "cut.enc", &enc_bytes[..enc_bytes.len() - 700]);
    let o = strongroom(&["unprotect", p(&cut), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "truncated", &out);

    // Already protected, and not protected.
    let o = strongroom(&["protect", p(&enc), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "already password-protected", &out);
    let o = strongroom(&["unprotect", p(&src), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "not password-protected", &out);
    let pdf_src = write(dir.path(), "plain.pdf", &pdf(&["plain"]));
    let o = strongroom(&["unprotect", p(&pdf_src), "--password-stdin", "-o", p(&out)], "pw\n");
    assert_fails(&o, "not password-protected", &out);

    // Missing input.
    let o = strongroom(
        &[
            "protect",
            p(&dir.path().join("nope.docx")),
            "--password-stdin",
            "-o",
            p(&out),
        ],
        "pw\n",
    );
    assert_fails(&o, "cannot open", &out);
}

#[test]
fn passwords_come_only_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.docx", &docx("x"));
    let out = dir.path().join("out.docx");
    // No --password-stdin: refused by the argument parser.
    let o = strongroom(&["protect", p(&src), "-o", p(&out)], "pw\n");
    assert!(!o.ok && o.stderr.contains("--password-stdin"), "{}", o.stderr);
    assert!(!out.exists());
    // There is no flag that takes a password value.
    let o = strongroom(&["protect", p(&src), "--password", "pw", "-o", p(&out)], "");
    assert!(!o.ok);
    assert!(!out.exists());
    // An empty first line is no password.
    let o = strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&out)], "\nsecond\n");
    assert_fails(&o, "no password", &out);
    let o = strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&out)], "");
    assert_fails(&o, "no password", &out);
}

#[test]
fn refuses_to_overwrite_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let plain = docx("only copy");
    let src = write(dir.path(), "a.docx", &plain);
    for out in [
        src.clone(),
        dir.path().join(".").join("a.docx"),
        dir.path().join("sub/../a.docx"),
    ] {
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        let o = strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&out)], "pw\n");
        assert!(!o.ok, "must refuse {}", out.display());
        assert!(o.stderr.contains("refusing to overwrite the input"), "{}", o.stderr);
    }
    // A hard link to the input is the input too.
    let link = dir.path().join("link.docx");
    std::fs::hard_link(&src, &link).unwrap();
    let o = strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&link)], "pw\n");
    assert!(
        !o.ok && o.stderr.contains("refusing to overwrite the input"),
        "{}",
        o.stderr
    );
    assert_eq!(std::fs::read(&src).unwrap(), plain);
    no_temp_left(dir.path());
}

#[test]
fn pdf_only_options_are_refused_for_office() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.docx", &docx("x"));
    let out = dir.path().join("out.docx");
    let o = strongroom(
        &["protect", p(&src), "--password-stdin", "--no-print", "-o", p(&out)],
        "pw\n",
    );
    assert_fails(&o, "only to PDF", &out);
    let o = strongroom(
        &[
            "protect",
            p(&src),
            "--password-stdin",
            "--owner-password-stdin-line2",
            "-o",
            p(&out),
        ],
        "pw\nowner\n",
    );
    assert_fails(&o, "only to PDF", &out);
}

// ---------------------------------------------------------------- PDF

#[test]
fn pdf_permissions_and_owner_password() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.pdf", &pdf(&["Board minutes"]));
    let enc = dir.path().join("a.enc.pdf");
    let o = strongroom(
        &[
            "protect",
            p(&src),
            "--password-stdin",
            "--owner-password-stdin-line2",
            "--no-print",
            "--no-copy",
            "-o",
            p(&enc),
        ],
        "user pw\nowner pw\n",
    );
    assert!(o.ok, "{}", o.stderr);
    let bytes = std::fs::read(&enc).unwrap();
    assert!(!bytes.windows(5).any(|w| w == b"Board"), "content must not leak");
    let info = strongroom_docs::pdf::encryption_info(&bytes).unwrap().unwrap();
    assert_eq!(info.revision, 6);
    assert!(!info.permissions.print && !info.permissions.copy && info.permissions.modify);

    // The user password opens it but cannot lift the restrictions.
    let out = dir.path().join("out.pdf");
    let o = strongroom(&["unprotect", p(&enc), "--password-stdin", "-o", p(&out)], "user pw\n");
    assert_fails(&o, "owner password is required", &out);
    let o = strongroom(&["unprotect", p(&enc), "--password-stdin", "-o", p(&out)], "owner pw\n");
    assert!(o.ok, "{}", o.stderr);
    let plain = std::fs::read(&out).unwrap();
    assert_eq!(strongroom_docs::pdf::encryption_info(&plain).unwrap(), None);
    assert!(plain.windows(13).any(|w| w == b"Board minutes"));
}

#[test]
fn pdf_owner_password_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.pdf", &pdf(&["x"]));
    let owner = write(dir.path(), "owner.txt", b"from a file\nignored\n");
    let enc = dir.path().join("a.enc.pdf");
    let o = strongroom(
        &[
            "protect",
            p(&src),
            "--password-stdin",
            "--owner-password-file",
            p(&owner),
            "--no-modify",
            "-o",
            p(&enc),
        ],
        "user\n",
    );
    assert!(o.ok, "{}", o.stderr);
    let out = dir.path().join("out.pdf");
    assert!(
        strongroom(
            &["unprotect", p(&enc), "--password-stdin", "-o", p(&out)],
            "from a file\n"
        )
        .ok
    );
    // Restrictions without an owner password: warned about, never liftable.
    let enc2 = dir.path().join("b.enc.pdf");
    let o = strongroom(
        &["protect", p(&src), "--password-stdin", "--no-print", "-o", p(&enc2)],
        "u\n",
    );
    assert!(o.ok && o.stderr.contains("never be lifted"), "{}", o.stderr);
}

// ---------------------------------------------------------------- spreadsheets

#[test]
fn sheet_and_workbook_protection_errors() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.xlsx", &xlsx("Budget"));
    let out = dir.path().join("out.xlsx");
    let o = strongroom(&["sheet", "protect", p(&src), "--sheet", "Nope", "-o", p(&out)], "");
    assert_fails(&o, "no sheet named \"Nope\"", &out);
    let o = strongroom(
        &[
            "sheet",
            "protect",
            p(&src),
            "--sheet",
            "Budget",
            "--allow",
            "juggle",
            "-o",
            p(&out),
        ],
        "",
    );
    assert!(!o.ok && !out.exists());
    let docx_src = write(dir.path(), "a.docx", &docx("x"));
    let o = strongroom(
        &["sheet", "protect", p(&docx_src), "--sheet", "Budget", "-o", p(&out)],
        "",
    );
    assert_fails(&o, "not a supported format", &out);

    // Protecting a protected sheet again is refused.
    let once = dir.path().join("once.xlsx");
    assert!(strongroom(&["sheet", "protect", p(&src), "--sheet", "Budget", "-o", p(&once)], "").ok);
    let o = strongroom(&["sheet", "protect", p(&once), "--sheet", "Budget", "-o", p(&out)], "");
    assert_fails(&o, "already protected", &out);
    let wb = dir.path().join("wb.xlsx");
    assert!(strongroom(&["workbook", "protect", p(&src), "-o", p(&wb)], "").ok);
    let o = strongroom(&["workbook", "protect", p(&wb), "-o", p(&out)], "");
    assert_fails(&o, "already protected", &out);

    // An encrypted workbook must be unprotected first.
    let enc = dir.path().join("enc.xlsx");
    assert!(strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "pw\n").ok);
    let o = strongroom(&["workbook", "protect", p(&enc), "-o", p(&out)], "");
    assert_fails(&o, "unprotect", &out);
}

const OPENPYXL_READ: &str = r#"
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["Budget"]
pr = ws.protection
print("sheet", pr.sheet, "hash", bool(pr.hashValue), pr.algorithmName, pr.spinCount)
print("selectLockedCells", pr.selectLockedCells, "selectUnlockedCells", pr.selectUnlockedCells,
      "sort", pr.sort, "autoFilter", pr.autoFilter, "formatCells", pr.formatCells)
s = wb.security
if s is not None:
    print("lockStructure", s.lockStructure, "lockWindows", s.lockWindows,
          "wbhash", bool(s.workbookHashValue), s.workbookAlgorithmName)
"#;

#[test]
fn openpyxl_reads_back_sheet_and_workbook_protection() {
    if !oracle_available("openpyxl", Command::new("python3").args(["-c", "import openpyxl"])) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.xlsx", &xlsx("Budget"));
    let sheet = dir.path().join("sheet.xlsx");
    let o = strongroom(
        &[
            "sheet",
            "protect",
            p(&src),
            "--sheet",
            "Budget",
            "--password-stdin",
            "--allow",
            "sort,auto-filter",
            "--allow",
            "select-unlocked-cells",
            "-o",
            p(&sheet),
        ],
        "sheet pw\n",
    );
    assert!(o.ok, "{}", o.stderr);
    let both = dir.path().join("both.xlsx");
    let o = strongroom(
        &[
            "workbook",
            "protect",
            p(&sheet),
            "--password-stdin",
            "--structure",
            "--windows",
            "-o",
            p(&both),
        ],
        "wb pw\n",
    );
    assert!(o.ok, "{}", o.stderr);
    let out = python(OPENPYXL_READ, &[p(&both)]);
    // openpyxl's flags mean "locked" (True = the action is forbidden).
    assert!(out.contains("sheet True hash True SHA-512 100000"), "{out}");
    assert!(
        out.contains("selectLockedCells True selectUnlockedCells False sort False autoFilter False formatCells True"),
        "{out}"
    );
    assert!(
        out.contains("lockStructure True lockWindows True wbhash True SHA-512"),
        "{out}"
    );
}

// ---------------------------------------------------------------- oracles on CLI output

fn msoffcrypto() -> bool {
    oracle_available("msoffcrypto-tool", Command::new("msoffcrypto-tool").arg("-h"))
}

#[test]
fn msoffcrypto_opens_our_cli_output_and_we_open_its() {
    if !msoffcrypto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Above 4 KiB: msoffcrypto-tool 6.x writes a broken container for smaller packages (the
    // encrypted stream lands in the mini stream and reads back wrong; its own
    // `verify_integrity=True` rejects it, and so do we, with "integrity check failed").
    let plain = docx_with_filler("checked by msoffcrypto", 8000);
    let src = write(dir.path(), "a.docx", &plain);
    let enc = dir.path().join("a.enc.docx");
    assert!(strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "Pa55 wörd\n").ok);
    let dec = dir.path().join("by-msoffcrypto.docx");
    let (ok, _, err) = run(Command::new("msoffcrypto-tool")
        .args(["-p", "Pa55 wörd"])
        .arg(&enc)
        .arg(&dec));
    assert!(ok, "msoffcrypto-tool must decrypt our output: {err}");
    assert_eq!(std::fs::read(&dec).unwrap(), plain);
    let (ok, _, _) = run(Command::new("msoffcrypto-tool")
        .args(["-p", "wrong"])
        .arg(&enc)
        .arg(dir.path().join("junk")));
    assert!(!ok, "msoffcrypto-tool must reject a wrong password");

    let theirs = dir.path().join("theirs.docx");
    let (ok, _, err) = run(Command::new("msoffcrypto-tool")
        .args(["-e", "-p", "their pw"])
        .arg(&src)
        .arg(&theirs));
    assert!(ok, "msoffcrypto-tool -e failed: {err}");
    let ours = dir.path().join("ours.docx");
    let o = strongroom(
        &["unprotect", p(&theirs), "--password-stdin", "-o", p(&ours)],
        "their pw\n",
    );
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(std::fs::read(&ours).unwrap(), plain);
}

fn qpdf() -> bool {
    oracle_available("qpdf", Command::new("qpdf").arg("--version"))
}

fn pdftotext() -> bool {
    oracle_available("pdftotext (poppler-utils)", Command::new("pdftotext").arg("-v"))
}

#[test]
fn qpdf_checks_our_cli_pdf_and_we_open_its() {
    if !qpdf() || !pdftotext() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.pdf", &pdf(&["Seen by qpdf", "Second page"]));
    let enc = dir.path().join("a.enc.pdf");
    let o = strongroom(
        &[
            "protect",
            p(&src),
            "--password-stdin",
            "--owner-password-stdin-line2",
            "--no-print",
            "-o",
            p(&enc),
        ],
        "u-pass\no-pass\n",
    );
    assert!(o.ok, "{}", o.stderr);
    let (ok, out, err) = run(Command::new("qpdf")
        .args(["--show-encryption", "--password=o-pass"])
        .arg(&enc));
    assert!(ok, "{err}");
    assert!(out.contains("R = 6"), "{out}");
    assert!(out.contains("AESv3"), "{out}");
    assert!(out.contains("print low resolution: not allowed"), "{out}");
    assert!(out.contains("extract for any purpose: allowed"), "{out}");
    // qpdf --requires-password: 0 = a password is needed.
    let code = Command::new("qpdf")
        .arg("--requires-password")
        .arg(&enc)
        .status()
        .unwrap()
        .code();
    assert_eq!(code, Some(0));
    let dec = dir.path().join("qpdf-dec.pdf");
    let (ok, _, err) = run(Command::new("qpdf")
        .args(["--decrypt", "--password=u-pass"])
        .arg(&enc)
        .arg(&dec));
    assert!(ok, "{err}");
    let (ok, text, err) = run(Command::new("pdftotext").arg(&dec).arg("-"));
    assert!(ok, "{err}");
    assert!(text.contains("Seen by qpdf") && text.contains("Second page"), "{text}");

    // We decrypt what qpdf encrypted.
    let theirs = dir.path().join("theirs.pdf");
    let (ok, _, err) = run(Command::new("qpdf")
        .args(["--encrypt", "tu", "to", "256", "--"])
        .arg(&src)
        .arg(&theirs));
    assert!(ok, "{err}");
    let ours = dir.path().join("ours.pdf");
    let o = strongroom(&["unprotect", p(&theirs), "--password-stdin", "-o", p(&ours)], "to\n");
    assert!(o.ok, "{}", o.stderr);
    let (ok, text, err) = run(Command::new("pdftotext").arg(&ours).arg("-"));
    assert!(ok, "{err}");
    assert!(text.contains("Seen by qpdf"), "{text}");
}

// ---------------------------------------------------------------- ODF

fn odt(text: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:body><office:text><text:p>{text}</text:p></office:text></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    zip_stored(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", content.as_bytes()),
        ("META-INF/manifest.xml", manifest.as_bytes()),
    ])
}

const PY_ENTRY: &str = "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())";

#[test]
fn odf_round_trip_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let plain = odt("Minutes of the ODF meeting");
    let src = write(dir.path(), "m.odt", &plain);
    let enc = dir.path().join("m.enc.odt");
    let o = strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "odf pw\n");
    assert!(o.ok, "{}", o.stderr);
    let enc_bytes = std::fs::read(&enc).unwrap();
    assert_eq!(strongroom_docs::detect_format(&enc_bytes), Format::Odf);
    assert!(strongroom_docs::odf::is_encrypted(std::io::Cursor::new(&enc_bytes)).unwrap());
    assert!(!enc_bytes.windows(8).any(|w| w == b"Minutes "), "content must not leak");

    let out = dir.path().join("out.odt");
    let o = strongroom(&["unprotect", p(&enc), "--password-stdin", "-o", p(&out)], "not it\n");
    assert_fails(&o, "wrong password", &out);
    let o = strongroom(&["protect", p(&enc), "--password-stdin", "-o", p(&out)], "odf pw\n");
    assert_fails(&o, "already password-protected", &out);
    let o = strongroom(&["unprotect", p(&src), "--password-stdin", "-o", p(&out)], "odf pw\n");
    assert_fails(&o, "not password-protected", &out);
    let o = strongroom(
        &["protect", p(&src), "--password-stdin", "--no-copy", "-o", p(&out)],
        "pw\n",
    );
    assert_fails(&o, "only to PDF", &out);

    let o = strongroom(&["unprotect", p(&enc), "--password-stdin", "-o", p(&out)], "odf pw\n");
    assert!(o.ok, "{}", o.stderr);
    let dec = std::fs::read(&out).unwrap();
    assert_eq!(strongroom_docs::detect_format(&dec), Format::Odf);
    assert!(!strongroom_docs::odf::is_encrypted(std::io::Cursor::new(&dec)).unwrap());
    // The decrypted streams are deflated; Python's zipfile reads them back.
    if oracle_available("python3", Command::new("python3").arg("-V")) {
        let content = python(PY_ENTRY, &[p(&out), "content.xml"]);
        assert!(content.contains("Minutes of the ODF meeting"), "{content}");
        // The fixture stores content.xml uncompressed, so its exact bytes are in `plain`.
        assert!(
            plain.windows(content.len()).any(|w| w == content.as_bytes()),
            "content.xml must be restored byte for byte"
        );
    }
}

// ---------------------------------------------------------------- watermark

#[test]
fn watermark_template_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(
        dir.path(),
        "board-pack.pdf",
        &pdf(&["First page", "Second page", "Third page"]),
    );
    let out = dir.path().join("stamped.pdf");
    let o = strongroom(
        &[
            "watermark",
            p(&src),
            "--text",
            "Copy of {file} on {date}",
            "--rotation",
            "0",
            "--color",
            "#cc0000",
            "--opacity",
            "0.5",
            "-o",
            p(&out),
        ],
        "",
    );
    assert!(o.ok, "{}", o.stderr);
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"%PDF-") && bytes.len() > std::fs::read(&src).unwrap().len());
    // The text is drawn in the embedded font (glyph ids, not characters, in the content), so
    // the oracle reads it back: the template expanded to the file name and an ISO date
    // (checked for shape, since the date is today's).
    if pdftotext() {
        for page in ["1", "2", "3"] {
            let (ok, text, err) = run(Command::new("pdftotext")
                .args(["-f", page, "-l", page])
                .arg(&out)
                .arg("-"));
            assert!(ok, "{err}");
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let at = flat
                .find("Copy of board-pack.pdf on ")
                .unwrap_or_else(|| panic!("page {page}: {text}"));
            let date = &flat[at + 26..at + 36];
            assert!(
                date.chars()
                    .enumerate()
                    .all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() }),
                "page {page}: {date}"
            );
        }
    }
    // The colour and opacity reach the page: half-transparent #cc0000 over white is pink.
    if pdftoppm() {
        let before = render_centre_band(&src, 1);
        let after = render_centre_band(&out, 1);
        let pink = |px: &[u8]| px[0] > 200 && px[1] < 200 && px[1] > 80 && px[1].abs_diff(px[2]) < 10;
        assert!(!before.chunks(3).any(pink));
        assert!(
            after.chunks(3).filter(|px| pink(px)).count() > 10,
            "no #cc0000 at 0.5 opacity"
        );
    }

    // Errors: not a PDF, a character the font lacks, bad colour, protected PDF.
    let bad = dir.path().join("bad.pdf");
    let xlsx_src = write(dir.path(), "a.xlsx", &xlsx("Sheet1"));
    let o = strongroom(&["watermark", p(&xlsx_src), "--text", "x", "-o", p(&bad)], "");
    assert_fails(&o, "expected a Word document (.docx)", &bad);
    let o = strongroom(&["watermark", p(&src), "--text", "Копия 機密", "-o", p(&bad)], "");
    assert_fails(&o, "'機' (U+6A5F) is not in the built-in font (DejaVu Sans)", &bad);
    let o = strongroom(&["watermark", p(&src), "--text", "שלום", "-o", p(&bad)], "");
    assert_fails(&o, "right-to-left", &bad);
    let o = strongroom(
        &["watermark", p(&src), "--text", "x", "--color", "red", "-o", p(&bad)],
        "",
    );
    assert!(!o.ok && !bad.exists());
    let enc = dir.path().join("enc.pdf");
    assert!(strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "pw\n").ok);
    let o = strongroom(&["watermark", p(&enc), "--text", "x", "-o", p(&bad)], "");
    assert_fails(&o, "before protecting", &bad);
    let o = strongroom(&["watermark", p(&src), "--text", "x", "-o", p(&src)], "");
    assert!(!o.ok && o.stderr.contains("refusing to overwrite the input"));
}

fn pdftoppm() -> bool {
    oracle_available("pdftoppm (poppler-utils)", Command::new("pdftoppm").arg("-v"))
}

/// The middle fifth (by height) of page `page` rendered at 20 dpi, as RGB bytes.
fn render_centre_band(pdf: &Path, page: u32) -> Vec<u8> {
    let prefix = pdf.with_extension(format!("render{page}"));
    let n = page.to_string();
    let (ok, _, err) = run(Command::new("pdftoppm")
        .args(["-r", "20", "-cropbox", "-singlefile", "-f", &n, "-l", &n])
        .arg(pdf)
        .arg(&prefix));
    assert!(ok, "{err}");
    let ppm = std::fs::read(prefix.with_extension(format!("render{page}.ppm"))).unwrap();
    // "P6\n<w> <h>\n255\n", then RGB rows.
    let header: Vec<&[u8]> = ppm.splitn(4, |b| b.is_ascii_whitespace()).collect();
    let (w, h): (usize, usize) = (
        std::str::from_utf8(header[1]).unwrap().parse().unwrap(),
        std::str::from_utf8(header[2]).unwrap().parse().unwrap(),
    );
    let pixels = &ppm[ppm.len() - w * h * 3..];
    pixels[w * 3 * (h * 2 / 5)..w * 3 * (h * 3 / 5)].to_vec()
}

/// A `w`×`h` RGBA PNG, every pixel `rgba`, written by hand (zlib with stored blocks) so the
/// tests need no image library. `claim` overrides the size written in the header, to make
/// the shape of a decompression bomb.
fn png(w: u32, h: u32, rgba: [u8; 4], claim: Option<(u32, u32)>) -> Vec<u8> {
    // Each row: filter type 0 (none), then the pixels.
    let row: Vec<u8> = std::iter::once(0).chain(rgba.repeat(w as usize)).collect();
    let raw = row.repeat(h as usize);
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        let len = block.len() as u16;
        z.push(u8::from(i + 1 == blocks.len()));
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let (cw, ch) = claim.unwrap_or((w, h));
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&cw.to_be_bytes());
    ihdr.extend_from_slice(&ch.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunks: [(&[u8], &[u8]); 3] = [(b"IHDR", &ihdr), (b"IDAT", &z), (b"IEND", &[])];
    for (kind, data) in chunks {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let typed = [kind, data].concat();
        out.extend_from_slice(&typed);
        out.extend_from_slice(&crc32(&typed).to_be_bytes());
    }
    out
}

#[test]
fn watermark_image_and_non_latin_text_together() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "отчёт.pdf", &pdf(&["First page", "Second page"]));
    let logo = write(dir.path(), "logo.png", &png(40, 20, [0, 0, 255, 255], None));
    let out = dir.path().join("stamped.pdf");
    let o = strongroom(
        &[
            "watermark",
            p(&src),
            "--text",
            "Конфиденциально — Εμπιστευτικό {file}",
            "--image",
            p(&logo),
            "--image-scale",
            "0.3",
            "--opacity",
            "1",
            "-o",
            p(&out),
        ],
        "",
    );
    assert!(o.ok, "{}", o.stderr);
    if qpdf() {
        let (ok, text, err) = run(Command::new("qpdf").arg("--check").arg(&out));
        assert!(ok, "{text}{err}");
    }
    if pdftotext() {
        for page in ["1", "2"] {
            let (ok, text, err) = run(Command::new("pdftotext")
                .args(["-raw", "-f", page, "-l", page])
                .arg(&out)
                .arg("-"));
            assert!(ok, "{err}");
            let glyphs: String = text.split_whitespace().collect();
            assert!(
                glyphs.contains("Конфиденциально—Εμπιστευτικόотчёт.pdf"),
                "page {page}: {text}"
            );
        }
        let (ok, fonts, err) = run(Command::new("pdffonts").arg(&out));
        assert!(ok, "{err}");
        let line = fonts
            .lines()
            .find(|l| l.contains("+DejaVuSans"))
            .unwrap_or_else(|| panic!("{fonts}"));
        assert!(
            line.contains("CID TrueType") && line.contains(" yes yes yes "),
            "{line}"
        );
        let (ok, list, err) = run(Command::new("pdfimages").arg("-list").arg(&out));
        assert!(ok, "{err}");
        for page in ["1", "2"] {
            assert!(
                list.lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>())
                    .any(|t| t.len() > 4 && t[0] == page && t[2..5] == ["image", "40", "20"]),
                "page {page}: {list}"
            );
        }
    }
    if pdftoppm() {
        // Opaque blue in the middle band, none before.
        let blue = |px: &[u8]| px[2] > 200 && px[0] < 60 && px[1] < 60;
        assert!(!render_centre_band(&src, 2).chunks(3).any(blue));
        assert!(render_centre_band(&out, 2).chunks(3).filter(|px| blue(px)).count() > 20);
    }

    // An image alone is enough; so is text alone; neither is an error.
    let img_only = dir.path().join("img-only.pdf");
    let o = strongroom(&["watermark", p(&src), "--image", p(&logo), "-o", p(&img_only)], "");
    assert!(o.ok && img_only.exists(), "{}", o.stderr);
    let bad = dir.path().join("bad.pdf");
    let o = strongroom(&["watermark", p(&src), "-o", p(&bad)], "");
    assert!(!o.ok && o.stderr.contains("--text") && !bad.exists(), "{}", o.stderr);
    let o = strongroom(
        &[
            "watermark",
            p(&src),
            "--text",
            "x",
            "--image-scale",
            "0.2",
            "-o",
            p(&bad),
        ],
        "",
    );
    assert!(!o.ok && o.stderr.contains("--image") && !bad.exists(), "{}", o.stderr);

    // Bad images: named in a one-line message; OUT never created.
    let not_png = write(dir.path(), "logo.gif", b"GIF89a not really");
    let o = strongroom(&["watermark", p(&src), "--image", p(&not_png), "-o", p(&bad)], "");
    assert_fails(&o, "logo.gif: the watermark image must be a PNG or JPEG file", &bad);
    let bomb = write(dir.path(), "bomb.png", &png(1, 1, [0; 4], Some((100_000, 100_000))));
    let o = strongroom(&["watermark", p(&src), "--image", p(&bomb), "-o", p(&bad)], "");
    assert_fails(&o, "bomb.png: the watermark image is too large", &bad);
    let mut truncated = png(40, 20, [0, 0, 255, 255], None);
    truncated.truncate(60);
    let cut = write(dir.path(), "cut.png", &truncated);
    let o = strongroom(&["watermark", p(&src), "--image", p(&cut), "-o", p(&bad)], "");
    assert_fails(&o, "cut.png: damaged or unreadable image", &bad);
    let o = strongroom(
        &[
            "watermark",
            p(&src),
            "--image",
            p(&dir.path().join("missing.png")),
            "-o",
            p(&bad),
        ],
        "",
    );
    assert_fails(&o, "missing.png: cannot open", &bad);
    let o = strongroom(
        &[
            "watermark",
            p(&src),
            "--image",
            p(&logo),
            "--image-scale",
            "2",
            "-o",
            p(&bad),
        ],
        "",
    );
    assert_fails(&o, "image scale must be between 0.01 and 1", &bad);
    // The image is an input too: never overwritten.
    let before = std::fs::read(&logo).unwrap();
    let o = strongroom(&["watermark", p(&src), "--image", p(&logo), "-o", p(&logo)], "");
    assert!(
        !o.ok && o.stderr.contains("refusing to overwrite the input"),
        "{}",
        o.stderr
    );
    assert_eq!(std::fs::read(&logo).unwrap(), before);
}

// ---------------------------------------------------------------- allow-edit ranges, cell
// protection by range, and removing sheet/workbook protection

/// A workbook with a styles part (cell protection lives there) and a sheet "Budget" holding
/// A1, B1 and a formula in C1.
fn styled_xlsx() -> Vec<u8> {
    let ct = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let wb = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let wb_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;
    let styles = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"#;
    let ws = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c><c r="C1"><f>A1+B1</f><v>3</v></c></row></sheetData></worksheet>"#;
    zip_stored(&[
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("xl/workbook.xml", wb.as_bytes()),
        ("xl/_rels/workbook.xml.rels", wb_rels.as_bytes()),
        ("xl/styles.xml", styles.as_bytes()),
        ("xl/worksheets/sheet1.xml", ws.as_bytes()),
    ])
}

#[test]
fn sheet_unprotect_and_workbook_unprotect_check_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.xlsx", &styled_xlsx());
    let sheet = dir.path().join("sheet.xlsx");
    let o = strongroom(
        &[
            "sheet",
            "protect",
            p(&src),
            "--sheet",
            "Budget",
            "--password-stdin",
            "-o",
            p(&sheet),
        ],
        "sheet pw\n",
    );
    assert!(o.ok, "{}", o.stderr);
    let both = dir.path().join("both.xlsx");
    let o = strongroom(
        &["workbook", "protect", p(&sheet), "--password-stdin", "-o", p(&both)],
        "wb pw\n",
    );
    assert!(o.ok, "{}", o.stderr);

    let out = dir.path().join("out.xlsx");
    let unprotect_sheet = |file: &Path, pw: Option<&str>, out: &Path| {
        let mut args = vec!["sheet", "unprotect", p(file), "--sheet", "Budget", "-o", p(out)];
        if pw.is_some() {
            args.push("--password-stdin");
        }
        strongroom(&args, &format!("{}\n", pw.unwrap_or_default()))
    };
    assert_fails(&unprotect_sheet(&both, Some("wrong"), &out), "wrong password", &out);
    assert_fails(&unprotect_sheet(&both, None, &out), "--password-stdin", &out);
    let o = strongroom(
        &["workbook", "unprotect", p(&both), "--password-stdin", "-o", p(&out)],
        "sheet pw\n",
    );
    assert_fails(&o, "wrong password", &out);

    let sheet_free = dir.path().join("sheet_free.xlsx");
    let o = unprotect_sheet(&both, Some("sheet pw"), &sheet_free);
    assert!(o.ok, "{}", o.stderr);
    assert_fails(
        &unprotect_sheet(&sheet_free, Some("sheet pw"), &out),
        "not protected",
        &out,
    );
    let free = dir.path().join("free.xlsx");
    let o = strongroom(
        &[
            "workbook",
            "unprotect",
            p(&sheet_free),
            "--password-stdin",
            "-o",
            p(&free),
        ],
        "wb pw\n",
    );
    assert!(o.ok, "{}", o.stderr);
    let o = strongroom(&["workbook", "unprotect", p(&free), "-o", p(&out)], "");
    assert_fails(&o, "not protected", &out);

    if !oracle_available("openpyxl", Command::new("python3").args(["-c", "import openpyxl"])) {
        return;
    }
    let read = r#"
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
s = wb.security
print("sheet", bool(wb["Budget"].protection.sheet), "workbook",
      s is not None and bool(s.lockStructure or s.lockWindows))
"#;
    assert_eq!(python(read, &[p(&both)]).trim(), "sheet True workbook True");
    assert_eq!(python(read, &[p(&free)]).trim(), "sheet False workbook False");
}

/// Per-range passwords come from standard input, after the sheet password: the hash stored
/// for each range must be that of its own line (read back with ElementTree), and an empty line
/// leaves its range open.
#[test]
fn edit_range_passwords_from_stdin() {
    if !oracle_available("openpyxl", Command::new("python3").args(["-c", "import openpyxl"])) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.xlsx", &styled_xlsx());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/docs_openpyxl_cells.py");
    let ranges = |out: &Path| -> Vec<serde_json::Value> {
        let (ok, json, err) = run(Command::new("python3").arg(&script).arg(out).arg("Budget"));
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["protected_ranges"].as_array().unwrap().clone()
    };
    let hash_matches = |range: &serde_json::Value, password: &str| {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(range["algorithmName"], "SHA-512", "{range}");
        let salt = b64.decode(range["saltValue"].as_str().unwrap()).unwrap();
        let spin: u32 = range["spinCount"].as_str().unwrap().parse().unwrap();
        b64.decode(range["hashValue"].as_str().unwrap()).unwrap()
            == strongroom_docs::xlsx::hash_password(password, &salt, spin)
    };
    let protect = |stdin: &str, with_sheet_pw: bool, out: &Path| {
        let mut args = vec!["sheet", "protect", p(&src), "--sheet", "Budget"];
        if with_sheet_pw {
            args.push("--password-stdin");
        }
        args.extend([
            "--edit-range",
            "A1:B9=Inputs",
            "--edit-range",
            "D1",
            "--edit-range-passwords-stdin",
            "-o",
            p(out),
        ]);
        strongroom(&args, stdin)
    };

    let out = dir.path().join("with-sheet-pw.xlsx");
    let o = protect("sheet pw\nränge one\n\n", true, &out);
    assert!(o.ok, "{}", o.stderr);
    let r = ranges(&out);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["name"], "Inputs");
    assert!(hash_matches(&r[0], "ränge one"), "{}", r[0]);
    assert!(!hash_matches(&r[0], "sheet pw"));
    assert!(
        r[1]["hashValue"].is_null(),
        "an empty line leaves the range open: {}",
        r[1]
    );

    // A missing line is refused, not taken as "no password": a trailing line break does not
    // count as an (empty) line.
    let out = dir.path().join("short.xlsx");
    let o = protect("sheet pw\nränge one\n", true, &out);
    assert_fails(&o, "needs 3", &out);

    let out = dir.path().join("ranges-only.xlsx");
    let o = protect("first\r\nsecond\n", false, &out);
    assert!(o.ok, "{}", o.stderr);
    let r = ranges(&out);
    assert!(hash_matches(&r[0], "first") && hash_matches(&r[1], "second"), "{r:?}");

    let out = dir.path().join("none.xlsx");
    let o = strongroom(
        &[
            "sheet",
            "protect",
            p(&src),
            "--sheet",
            "Budget",
            "--edit-range-passwords-stdin",
            "-o",
            p(&out),
        ],
        "x\n",
    );
    assert_fails(&o, "--edit-range", &out);
}

#[test]
fn edit_ranges_unlock_and_hidden_formulas_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "a.xlsx", &styled_xlsx());
    let out = dir.path().join("out.xlsx");
    let o = strongroom(
        &[
            "sheet",
            "protect",
            p(&src),
            "--sheet",
            "Budget",
            "--unlock",
            "A1:Z",
            "-o",
            p(&out),
        ],
        "",
    );
    assert_fails(&o, "invalid cell range", &out);
    let o = strongroom(
        &[
            "sheet",
            "protect",
            p(&src),
            "--sheet",
            "Budget",
            "--edit-range",
            "A1:B9=Inputs",
            "--edit-range",
            "D1",
            "--unlock",
            "A1:B1",
            "--hide-formulas",
            "C1",
            "-o",
            p(&out),
        ],
        "",
    );
    assert!(o.ok, "{}", o.stderr);
    if !oracle_available("openpyxl", Command::new("python3").args(["-c", "import openpyxl"])) {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/docs_openpyxl_cells.py");
    let (ok, json, err) = run(Command::new("python3")
        .arg(script)
        .arg(&out)
        .args(["Budget", "A1", "B1", "C1", "A2"]));
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["sheet_protected"], true, "{v}");
    assert_eq!(
        v["cells"]["A1"],
        serde_json::json!({"locked": false, "hidden": false}),
        "{v}"
    );
    assert_eq!(
        v["cells"]["B1"],
        serde_json::json!({"locked": false, "hidden": false}),
        "{v}"
    );
    assert_eq!(
        v["cells"]["C1"],
        serde_json::json!({"locked": true, "hidden": true}),
        "{v}"
    );
    assert_eq!(
        v["cells"]["A2"],
        serde_json::json!({"locked": true, "hidden": false}),
        "{v}"
    );
    let names: Vec<(String, String)> = v["protected_ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["sqref"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("Inputs".to_owned(), "A1:B9".to_owned()),
            ("Range2".to_owned(), "D1".to_owned())
        ]
    );
}

// ---------------------------------------------------------------- watermarks on pictures
// and Word documents

/// A PNG and a JPEG photo (made by Pillow) get the text; Pillow reads back the same size and
/// sees the centre darkened and the corners untouched (PNG). A Word document gets a header
/// watermark carrying the expanded template; `--image` on a Word document is refused.
#[test]
fn watermark_pictures_and_word_documents() {
    if !oracle_available("Pillow", Command::new("python3").args(["-c", "import PIL.Image"])) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("scan.png");
    let jpg = dir.path().join("photo.jpg");
    python(
        "import sys, PIL.Image\n\
         PIL.Image.new('RGB', (640, 480), (255, 255, 255)).save(sys.argv[1])\n\
         PIL.Image.new('RGB', (800, 600), (250, 250, 250)).save(sys.argv[2], quality=95)",
        &[p(&png), p(&jpg)],
    );
    for (src, name) in [(&png, "scan.out.png"), (&jpg, "photo.out.jpg")] {
        let out = dir.path().join(name);
        let o = strongroom(
            &[
                "watermark",
                p(src),
                "--text",
                "CONFIDENTIAL {file}",
                "--color",
                "000000",
                "--opacity",
                "0.8",
                "-o",
                p(&out),
            ],
            "",
        );
        assert!(o.ok, "{}", o.stderr);
        let report = python(
            "import sys, PIL.Image\n\
             a, b = PIL.Image.open(sys.argv[1]).convert('L'), PIL.Image.open(sys.argv[2])\n\
             w, h = a.size\n\
             centre = [b.convert('L').getpixel((x, h // 2)) for x in range(w // 4, 3 * w // 4)]\n\
             corner = b.convert('L').getpixel((2, 2))\n\
             print(a.size == b.size, a.format if hasattr(a, 'format') else '', b.format, min(centre) < 128, corner)",
            &[p(src), p(&out)],
        );
        let fields: Vec<&str> = report.split_whitespace().collect();
        assert_eq!(fields[0], "True", "size kept: {report}");
        assert_eq!(
            fields[fields.len() - 3],
            if src == &png { "PNG" } else { "JPEG" },
            "{report}"
        );
        assert_eq!(
            fields[fields.len() - 2],
            "True",
            "dark text across the centre: {report}"
        );
        let corner: u8 = fields[fields.len() - 1].parse().unwrap();
        assert!(corner >= 245, "corner untouched: {report}");
    }

    let word = write(dir.path(), "memo.docx", &docx("Board memo"));
    let out = dir.path().join("memo.out.docx");
    let o = strongroom(&["watermark", p(&word), "--text", "DRAFT {file}", "-o", p(&out)], "");
    assert!(o.ok, "{}", o.stderr);
    let headers = python(
        "import sys, zipfile\n\
         z = zipfile.ZipFile(sys.argv[1])\n\
         print(''.join(z.read(n).decode() for n in z.namelist() if n.startswith('word/header')))",
        &[p(&out)],
    );
    assert!(headers.contains("string=\"DRAFT memo.docx\""), "{headers}");
    let refused = dir.path().join("refused.docx");
    let o = strongroom(&["watermark", p(&word), "--image", p(&png), "-o", p(&refused)], "");
    assert_fails(&o, "text watermark only", &refused);
    let text_file = write(dir.path(), "notes.txt", b"plain text");
    let o = strongroom(&["watermark", p(&text_file), "--text", "x", "-o", p(&refused)], "");
    assert_fails(&o, "not a supported format", &refused);
}

// ---------------------------------------------------------------- where -o writes (issue 8)

/// Run `strongroom ARGS` in `cwd` with `$TMPDIR` set to `spool` (where streamed results wait
/// until they are complete); returns the outcome and the bytes written to standard output.
fn strongroom_at(cwd: &Path, spool: &Path, args: &[&str], stdin: &str) -> (Outcome, Vec<u8>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(args)
        .current_dir(cwd)
        .env("TMPDIR", spool)
        .env_remove("STRONGROOM_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    let outcome = Outcome {
        ok: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (outcome, out.stdout)
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn assert_empty_dir(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind in {}: {left:?}", dir.display());
}

/// An encrypted .docx and .pdf (password "pw") and what `unprotect` makes of each, written
/// once to a regular file: every other kind of OUT must receive exactly these bytes.
struct Protected {
    docx: PathBuf,
    docx_plain: Vec<u8>,
    pdf: PathBuf,
    pdf_plain: Vec<u8>,
}

fn protected(dir: &Path) -> Protected {
    let mut made = Vec::new();
    for (name, plain) in [("a.docx", docx("streamed")), ("a.pdf", pdf(&["in memory"]))] {
        let src = write(dir, name, &plain);
        let enc = dir.join(format!("{name}.enc"));
        let o = strongroom(&["protect", p(&src), "--password-stdin", "-o", p(&enc)], "pw\n");
        assert!(o.ok, "{}", o.stderr);
        let back = dir.join(format!("{name}.back"));
        let o = strongroom(&["unprotect", p(&enc), "--password-stdin", "-o", p(&back)], "pw\n");
        assert!(o.ok, "{}", o.stderr);
        made.push((enc, std::fs::read(&back).unwrap()));
    }
    let [(docx, docx_plain), (pdf, pdf_plain)]: [(PathBuf, Vec<u8>); 2] = made.try_into().unwrap();
    assert_eq!(docx_plain, self::docx("streamed"), "Office round trip is byte-exact");
    Protected {
        docx,
        docx_plain,
        pdf,
        pdf_plain,
    }
}

/// A thread that reads the FIFO to its end, through a second hard link: a run that replaces
/// the FIFO's name (the bug) cannot leave the reader waiting on a node nobody will open.
fn fifo_reader(link: &Path) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let link = link.to_owned();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::fs::File::open(&link).unwrap(), &mut bytes).unwrap();
        let _ = tx.send(bytes);
    });
    rx
}

/// What the reader got, once the binary has exited. A reader still waiting after `wait` was
/// never given a writer: then the test writes `marker` itself, so a run that wrote nothing
/// reads as `marker` (and a run that wrote something as more than that) instead of hanging.
fn fifo_collect(rx: &std::sync::mpsc::Receiver<Vec<u8>>, link: &Path, wait: u64, marker: &[u8]) -> Vec<u8> {
    match rx.recv_timeout(std::time::Duration::from_secs(wait)) {
        Ok(bytes) => bytes,
        Err(_) => {
            let mut w = std::fs::OpenOptions::new().write(true).open(link).unwrap();
            w.write_all(marker).unwrap();
            drop(w);
            rx.recv().unwrap()
        }
    }
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Regression (issue 8): `-o FIFO` used to rename a temporary file over the FIFO, leaving a
/// regular file in its place and its reader waiting forever. Now the FIFO stays a FIFO and
/// its reader gets exactly the bytes `-o FILE` gets, from the streamed (Office) and the
/// in-memory (PDF) paths; a failed run writes nothing into it; no spool file is left.
#[test]
fn output_into_a_fifo_is_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let docs = protected(dir.path());
    let fifo = dir.path().join("pipe");
    let (ok, _, err) = run(Command::new("mkfifo").arg(&fifo));
    assert!(ok, "mkfifo: {err}");
    let link = dir.path().join("pipe.link");
    std::fs::hard_link(&fifo, &link).unwrap();

    for (enc, expected) in [(&docs.docx, &docs.docx_plain), (&docs.pdf, &docs.pdf_plain)] {
        let reader = fifo_reader(&link);
        let (o, stdout) = strongroom_at(
            dir.path(),
            spool.path(),
            &["unprotect", p(enc), "--password-stdin", "-o", p(&fifo)],
            "pw\n",
        );
        let got = fifo_collect(&reader, &link, 10, b"the binary never opened the FIFO");
        assert!(o.ok, "{}", o.stderr);
        assert!(is_fifo(&fifo), "{} is no longer a FIFO", fifo.display());
        assert!(
            got == *expected,
            "the reader got {} bytes, not the {} of -o FILE",
            got.len(),
            expected.len()
        );
        assert!(stdout.is_empty());
    }

    let reader = fifo_reader(&link);
    let (o, _) = strongroom_at(
        dir.path(),
        spool.path(),
        &["unprotect", p(&docs.docx), "--password-stdin", "-o", p(&fifo)],
        "wrong\n",
    );
    let got = fifo_collect(&reader, &link, 2, b"only the marker");
    assert!(!o.ok && o.stderr.contains("wrong password"), "{}", o.stderr);
    assert!(is_fifo(&fifo));
    assert_eq!(
        String::from_utf8_lossy(&got),
        "only the marker",
        "a failed run writes nothing"
    );
    assert_empty_dir(spool.path());
    no_temp_left(dir.path());
}

/// Regression (issue 8, seen on a shared machine): `-o /dev/null` replaced /dev/null with a
/// root-owned 0600 regular file, and every service writing to /dev/null then failed. Each
/// output path (streamed, in memory, failed) must leave the very same character device, with
/// its mode (0666), owner and device number.
#[test]
fn output_to_dev_null_leaves_the_device() {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    let null = Path::new("/dev/null");
    let before = std::fs::symlink_metadata(null).unwrap();
    assert!(
        before.file_type().is_char_device(),
        "/dev/null is already damaged on this machine"
    );
    let dir = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let docs = protected(dir.path());
    let plain = write(dir.path(), "plain.docx", &docx("x"));
    let plain_pdf = write(dir.path(), "plain.pdf", &pdf(&["x"]));
    let runs: [(&[&str], &str, bool); 5] = [
        (
            &["unprotect", p(&docs.docx), "--password-stdin", "-o", "/dev/null"],
            "pw\n",
            true,
        ),
        (
            &["unprotect", p(&docs.pdf), "--password-stdin", "-o", "/dev/null"],
            "pw\n",
            true,
        ),
        (
            &["protect", p(&plain), "--password-stdin", "-o", "/dev/null"],
            "pw\n",
            true,
        ),
        (
            &["watermark", p(&plain_pdf), "--text", "x", "-o", "/dev/null"],
            "",
            true,
        ),
        (
            &["unprotect", p(&docs.docx), "--password-stdin", "-o", "/dev/null"],
            "wrong\n",
            false,
        ),
    ];
    for (args, stdin, succeeds) in runs {
        let (o, _) = strongroom_at(dir.path(), spool.path(), args, stdin);
        assert_eq!(o.ok, succeeds, "{args:?}: {}", o.stderr);
        let after = std::fs::symlink_metadata(null).unwrap();
        assert!(after.file_type().is_char_device(), "{args:?} replaced /dev/null");
        assert_eq!(
            (after.mode(), after.uid(), after.rdev(), after.ino()),
            (before.mode(), before.uid(), before.rdev(), before.ino()),
            "{args:?} changed /dev/null"
        );
        assert_eq!(after.mode() & 0o7777, 0o666);
    }
    assert_empty_dir(spool.path());
}

/// `-o -` writes the result to standard output (the same bytes as `-o FILE`) and creates no
/// file called `-`; a failed run writes nothing there. `./-` is a file called `-`.
#[test]
fn output_dash_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let docs = protected(dir.path());
    for (enc, expected) in [(&docs.docx, &docs.docx_plain), (&docs.pdf, &docs.pdf_plain)] {
        let (o, stdout) = strongroom_at(
            dir.path(),
            spool.path(),
            &["unprotect", p(enc), "--password-stdin", "-o", "-"],
            "pw\n",
        );
        assert!(o.ok, "{}", o.stderr);
        assert!(
            stdout == *expected,
            "stdout has {} bytes, -o FILE {}",
            stdout.len(),
            expected.len()
        );
        assert!(!dir.path().join("-").exists(), "no file called - is made");
    }
    let (o, stdout) = strongroom_at(
        dir.path(),
        spool.path(),
        &["unprotect", p(&docs.docx), "--password-stdin", "-o", "-"],
        "wrong\n",
    );
    assert!(!o.ok && o.stderr.contains("wrong password"), "{}", o.stderr);
    assert!(stdout.is_empty(), "a failed run writes nothing to stdout");
    let (o, stdout) = strongroom_at(
        dir.path(),
        spool.path(),
        &["unprotect", p(&docs.docx), "--password-stdin", "-o", "./-"],
        "pw\n",
    );
    assert!(o.ok && stdout.is_empty(), "{}", o.stderr);
    assert_eq!(std::fs::read(dir.path().join("-")).unwrap(), docs.docx_plain);
    assert_empty_dir(spool.path());
}

/// Every file the CLI writes is 0600: a new output, an output that replaces a 0644 file (the
/// plaintext of a protected document must not inherit a readable mode), and a new key file.
#[test]
fn output_files_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let docs = protected(dir.path());
    let new = dir.path().join("new.docx");
    let o = strongroom(&["unprotect", p(&docs.docx), "--password-stdin", "-o", p(&new)], "pw\n");
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(mode_of(&new), 0o600);
    let shared = write(dir.path(), "shared.pdf", b"old");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let o = strongroom(
        &["unprotect", p(&docs.pdf), "--password-stdin", "-o", p(&shared)],
        "pw\n",
    );
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(std::fs::read(&shared).unwrap(), docs.pdf_plain);
    assert_eq!(mode_of(&shared), 0o600, "a replaced file does not keep 0644");

    let key = dir.path().join("master.key");
    let o = strongroom(&["encryption", "keygen", "-o", p(&key)], "");
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(mode_of(&key), 0o600);
    let text = std::fs::read_to_string(&key).unwrap();
    // A key file is never replaced.
    let o = strongroom(&["encryption", "keygen", "-o", p(&key)], "");
    assert!(!o.ok && o.stderr.contains("never overwritten"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
    no_temp_left(dir.path());
}

/// A symbolic link as OUT is refused, whatever it points to: following it would let whoever
/// made the link (in a shared directory, say) choose which file we replace; replacing it
/// (the old behaviour) silently broke the link. The link and its target stay as they were.
#[test]
fn output_symlinks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let docs = protected(dir.path());
    let victim = write(dir.path(), "victim.txt", b"keep me");
    let link = dir.path().join("out.docx");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let dangling = dir.path().join("dangling.docx");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let to_null = dir.path().join("null");
    std::os::unix::fs::symlink("/dev/null", &to_null).unwrap();
    for out in [&link, &dangling, &to_null] {
        for args in [
            vec!["unprotect", p(&docs.docx), "--password-stdin", "-o", p(out)],
            vec!["unprotect", p(&docs.pdf), "--password-stdin", "-o", p(out)],
            vec!["encryption", "keygen", "-o", p(out)],
        ] {
            let o = strongroom(&args, "pw\n");
            assert!(!o.ok, "{args:?} must be refused");
            assert!(o.stderr.contains("is a symbolic link"), "{args:?}: {}", o.stderr);
            assert_eq!(o.stderr.trim_end().lines().count(), 1, "{}", o.stderr);
            assert!(std::fs::symlink_metadata(out).unwrap().file_type().is_symlink());
        }
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert!(!dir.path().join("nowhere").exists());
    no_temp_left(dir.path());
}

/// A directory or a socket as OUT is a one-line error naming it, exit non-zero, nothing made.
#[test]
fn output_directory_or_socket_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let docs = protected(dir.path());
    let plain_pdf = write(dir.path(), "plain.pdf", &pdf(&["x"]));
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let sock = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    for (out, needle) in [(&sub, "is a directory"), (&sock, "is a socket")] {
        for args in [
            vec!["unprotect", p(&docs.docx), "--password-stdin", "-o", p(out)],
            vec!["watermark", p(&plain_pdf), "--text", "x", "-o", p(out)],
            vec!["encryption", "keygen", "-o", p(out)],
        ] {
            let o = strongroom(&args, "pw\n");
            assert!(!o.ok, "{args:?} must fail");
            assert!(o.stderr.contains(needle), "{args:?}: {}", o.stderr);
            assert_eq!(o.stderr.trim_end().lines().count(), 1, "{}", o.stderr);
        }
    }
    assert_empty_dir(&sub);
    no_temp_left(dir.path());
}
