//! `strongroom protect | unprotect | sheet protect | workbook protect`: password
//! protection of documents on the command line, a thin shell over
//! `strongroom-docs`.
//!
//! Three rules shape this module, because a protection tool that leaks or destroys data is
//! worse than none:
//! - Passwords are read only from standard input (first line, second line for an owner
//!   password) or from a file, never from argv, where `ps` and shell history would show them.
//! - The format is recognised from the content, never from the file name.
//! - Nothing reaches OUT unless the command succeeded, and the input file is never the
//!   output. How OUT is written (atomically, through a device or FIFO, to standard output for
//!   `-o -`) is decided in one place, [`crate::output`].

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use strongroom_docs::pdf::{PdfPermissions, PdfProtection};
use strongroom_docs::xlsx::{EditRange, SheetActions, SheetProtection, WorkbookProtection};
use strongroom_docs::{Error as DocError, Format, odf, office, pdf, xlsx};
use zeroize::Zeroizing;

use crate::output::{self, Existing};

/// Longest password input we accept on stdin or in a password file; anything longer is not
/// a password but a mistake (a document piped into the wrong place).
const MAX_PASSWORD_INPUT: u64 = 64 * 1024;

/// `strongroom protect`.
#[derive(Args)]
pub struct ProtectArgs {
    /// The document to protect (.docx/.xlsx/.pptx, .pdf, .odt/.ods/.odp; recognised by content).
    file: PathBuf,
    /// Read the password from the first line of standard input (required: passwords never go
    /// on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    /// PDF only: read the owner password (lifts the restrictions) from the second line of
    /// standard input.
    #[arg(long, conflicts_with = "owner_password_file")]
    owner_password_stdin_line2: bool,
    /// PDF only: read the owner password from the first line of this file.
    #[arg(long, value_name = "F")]
    owner_password_file: Option<PathBuf>,
    /// PDF only: forbid printing.
    #[arg(long)]
    no_print: bool,
    /// PDF only: forbid copying text and images.
    #[arg(long)]
    no_copy: bool,
    /// PDF only: forbid changing the document (contents, pages, annotations, forms).
    #[arg(long)]
    no_modify: bool,
    /// Where to write the protected document (must not be the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    out: PathBuf,
}

/// `strongroom unprotect`.
#[derive(Args)]
pub struct UnprotectArgs {
    /// The password-protected document.
    file: PathBuf,
    /// Read the password from the first line of standard input (required).
    #[arg(long, required = true)]
    password_stdin: bool,
    /// Where to write the unprotected document (must not be the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    out: PathBuf,
}

/// `strongroom sheet …`.
#[derive(Subcommand)]
pub enum SheetCommand {
    /// Protect one sheet of an .xlsx workbook against editing (a lock, not encryption).
    Protect(SheetProtectArgs),
    /// Remove the protection of one sheet, given its password.
    Unprotect(SheetUnprotectArgs),
}

/// `strongroom sheet unprotect`.
#[derive(Args)]
pub struct SheetUnprotectArgs {
    /// The .xlsx workbook.
    file: PathBuf,
    /// Name of the sheet to unprotect, as shown on its tab.
    #[arg(long, value_name = "NAME")]
    sheet: String,
    /// Read the sheet's password from the first line of standard input; needed unless the
    /// sheet was protected without a password.
    #[arg(long)]
    password_stdin: bool,
    /// Where to write the workbook (must not be the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    out: PathBuf,
}

/// `strongroom sheet protect`.
#[derive(Args)]
pub struct SheetProtectArgs {
    /// The .xlsx workbook.
    file: PathBuf,
    /// Name of the sheet to protect, as shown on its tab.
    #[arg(long, value_name = "NAME")]
    sheet: String,
    /// Read the unprotect password from the first line of standard input; without it the sheet
    /// is protected without a password.
    #[arg(long)]
    password_stdin: bool,
    /// Actions users may still perform (repeat or separate with commas). Without --allow,
    /// selecting locked and unlocked cells is allowed, as in Excel; with it, exactly the
    /// listed actions are.
    #[arg(long, value_name = "ACTION", value_delimiter = ',')]
    allow: Vec<SheetAction>,
    /// A range users may still edit, e.g. `A1:B9` or `A1:B9=Inputs` (repeatable). Without
    /// --edit-range-passwords-stdin anyone may edit it.
    #[arg(long, value_name = "RANGE[=NAME]")]
    edit_range: Vec<String>,
    /// Give each --edit-range its own password, read from the next lines of standard input
    /// (after the sheet password when --password-stdin is given), one line per range in the
    /// order of the options; an empty line leaves that range open to anyone.
    #[arg(long)]
    edit_range_passwords_stdin: bool,
    /// Unlock the cells of RANGE (e.g. `B2:D20`), so they stay editable (repeatable). Only
    /// cells already present in the sheet change; empty cells stay locked.
    #[arg(long, value_name = "RANGE")]
    unlock: Vec<String>,
    /// Lock the cells of RANGE again where the workbook had unlocked them (repeatable; must
    /// not overlap --unlock).
    #[arg(long, value_name = "RANGE")]
    lock: Vec<String>,
    /// Hide the formulas of the cells of RANGE; their values still show (repeatable).
    #[arg(long, value_name = "RANGE")]
    hide_formulas: Vec<String>,
    /// Lock every shape, text box, picture and chart on the sheet, and the text in shapes,
    /// including objects the workbook had left unlocked.
    #[arg(long)]
    lock_shapes: bool,
    /// Where to write the workbook (must not be the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    out: PathBuf,
}

/// An action that a protected sheet can still allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SheetAction {
    SelectLockedCells,
    SelectUnlockedCells,
    FormatCells,
    FormatColumns,
    FormatRows,
    InsertColumns,
    InsertRows,
    InsertHyperlinks,
    DeleteColumns,
    DeleteRows,
    Sort,
    AutoFilter,
    PivotTables,
    /// Edit shapes, charts and text boxes.
    Objects,
    Scenarios,
}

/// `strongroom workbook …`.
#[derive(Subcommand)]
pub enum WorkbookCommand {
    /// Protect the structure (and optionally the windows) of an .xlsx workbook.
    Protect(WorkbookProtectArgs),
    /// Remove the workbook's structure/windows protection, given its password.
    Unprotect(WorkbookUnprotectArgs),
}

/// `strongroom workbook unprotect`.
#[derive(Args)]
pub struct WorkbookUnprotectArgs {
    /// The .xlsx workbook.
    file: PathBuf,
    /// Read the workbook's password from the first line of standard input; needed unless the
    /// workbook was protected without a password.
    #[arg(long)]
    password_stdin: bool,
    /// Where to write the workbook (must not be the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    out: PathBuf,
}

/// `strongroom workbook protect`.
#[derive(Args)]
pub struct WorkbookProtectArgs {
    /// The .xlsx workbook.
    file: PathBuf,
    /// Read the unprotect password from the first line of standard input; without it the
    /// workbook is protected without a password.
    #[arg(long)]
    password_stdin: bool,
    /// Lock the structure: no adding, deleting, renaming, moving, hiding or unhiding sheets.
    /// This is the default when neither --structure nor --windows is given.
    #[arg(long)]
    structure: bool,
    /// Lock the window layout.
    #[arg(long)]
    windows: bool,
    /// Where to write the workbook (must not be the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    out: PathBuf,
}

/// Run `strongroom protect`.
pub fn protect(args: &ProtectArgs) -> Result<(), String> {
    quiet(|| protect_inner(args))
}

fn protect_inner(args: &ProtectArgs) -> Result<(), String> {
    let ctx = |e: DocError| describe(&args.file, e);
    check_paths(&args.file, &args.out)?;
    let lines = read_stdin_lines(if args.owner_password_stdin_line2 { 2 } else { 1 })?;
    let password = nonempty(lines.first(), "password (first line of standard input)")?;
    let owner = if args.owner_password_stdin_line2 {
        Some(nonempty(
            lines.get(1),
            "owner password (second line of standard input)",
        )?)
    } else if let Some(f) = &args.owner_password_file {
        Some(read_password_file(f)?)
    } else {
        None
    };
    let restricted = args.no_print || args.no_copy || args.no_modify;
    let format = detect(&args.file)?;
    match format {
        Format::Pdf => {
            let input = read_all(&args.file)?;
            let protection = PdfProtection {
                user_password: &password,
                owner_password: owner.as_deref().map(String::as_str),
                permissions: PdfPermissions {
                    print: !args.no_print,
                    copy: !args.no_copy,
                    modify: !args.no_modify,
                    annotate: !args.no_modify,
                },
            };
            let out = pdf::encrypt(&input, &protection).map_err(ctx)?;
            output::write_bytes(&args.out, Existing::Replace, &out)?;
            if restricted && owner.is_none() {
                eprintln!(
                    "note: no owner password was given, so the restrictions can never be lifted \
                     (a random owner password was used)"
                );
            }
            Ok(())
        }
        other => {
            if restricted || owner.is_some() {
                return Err(format!(
                    "{}: owner passwords and --no-print/--no-copy/--no-modify apply only to PDF documents, \
                     and this is {other}",
                    args.file.display()
                ));
            }
            match other {
                Format::Zip | Format::CompoundFile => {
                    let input = open(&args.file)?;
                    output::write(&args.out, |f| {
                        office::encrypt(input, f, &password, &office::Options::default()).map_err(ctx)
                    })
                }
                Format::Odf => {
                    let input = open(&args.file)?;
                    output::write(&args.out, |f| odf::encrypt(input, f, &password).map_err(ctx))
                }
                found => Err(unsupported(&args.file, found)),
            }
        }
    }
}

/// Run `strongroom unprotect`.
pub fn unprotect(args: &UnprotectArgs) -> Result<(), String> {
    quiet(|| unprotect_inner(args))
}

fn unprotect_inner(args: &UnprotectArgs) -> Result<(), String> {
    let ctx = |e: DocError| describe(&args.file, e);
    check_paths(&args.file, &args.out)?;
    let lines = read_stdin_lines(1)?;
    let password = nonempty(lines.first(), "password (first line of standard input)")?;
    match detect(&args.file)? {
        Format::Pdf => {
            let input = read_all(&args.file)?;
            let out = pdf::decrypt(&input, &password).map_err(ctx)?;
            Ok(output::write_bytes(&args.out, Existing::Replace, &out)?)
        }
        Format::CompoundFile => {
            let input = open(&args.file)?;
            output::write(&args.out, |f| office::decrypt(input, f, &password).map_err(ctx))
        }
        Format::Odf => {
            let input = open(&args.file)?;
            output::write(&args.out, |f| odf::decrypt(input, f, &password).map_err(ctx))
        }
        Format::Zip => Err(describe(&args.file, DocError::NotProtected)),
        found => Err(unsupported(&args.file, found)),
    }
}

/// Run `strongroom sheet …`.
pub fn sheet(command: &SheetCommand) -> Result<(), String> {
    quiet(|| sheet_inner(command))
}

fn sheet_inner(command: &SheetCommand) -> Result<(), String> {
    let args = match command {
        SheetCommand::Protect(args) => args,
        SheetCommand::Unprotect(args) => return sheet_unprotect(args),
    };
    check_paths(&args.file, &args.out)?;
    let (password, range_passwords) = sheet_passwords(args)?;
    require_plain_xlsx(&args.file)?;
    let allow = if args.allow.is_empty() {
        SheetActions::default()
    } else {
        actions(&args.allow)
    };
    let names: Vec<String> = (1..=args.edit_range.len()).map(|i| format!("Range{i}")).collect();
    let edit_ranges: Vec<EditRange<'_>> = args
        .edit_range
        .iter()
        .zip(&names)
        .zip(&range_passwords)
        .map(|((spec, default), password)| {
            let (sqref, name) = spec.split_once('=').unwrap_or((spec, default));
            EditRange {
                name,
                sqref,
                password: password.as_deref().map(String::as_str),
            }
        })
        .collect();
    let unlock: Vec<&str> = args.unlock.iter().map(String::as_str).collect();
    let lock: Vec<&str> = args.lock.iter().map(String::as_str).collect();
    let hide_formulas: Vec<&str> = args.hide_formulas.iter().map(String::as_str).collect();
    let protection = SheetProtection {
        password: password.as_deref().map(String::as_str),
        allow,
        edit_ranges: &edit_ranges,
        unlock: &unlock,
        lock: &lock,
        hide_formulas: &hide_formulas,
        lock_shapes: args.lock_shapes,
    };
    let input = open(&args.file)?;
    output::write(&args.out, |f| {
        xlsx::protect_sheet(input, f, &args.sheet, &protection).map_err(|e| match e {
            DocError::AlreadyProtected => {
                format!("{}: sheet {:?} is already protected", args.file.display(), args.sheet)
            }
            e => describe(&args.file, e),
        })
    })
}

/// Run `strongroom workbook …`.
pub fn workbook(command: &WorkbookCommand) -> Result<(), String> {
    quiet(|| workbook_inner(command))
}

fn sheet_unprotect(args: &SheetUnprotectArgs) -> Result<(), String> {
    check_paths(&args.file, &args.out)?;
    let password = optional_password(args.password_stdin)?;
    require_plain_xlsx(&args.file)?;
    let input = open(&args.file)?;
    output::write(&args.out, |f| {
        xlsx::unprotect_sheet(input, f, &args.sheet, password.as_deref().map(String::as_str)).map_err(|e| match e {
            DocError::NotProtected => {
                format!("{}: sheet {:?} is not protected", args.file.display(), args.sheet)
            }
            DocError::WrongPassword if password.is_none() => format!(
                "{}: sheet {:?} has a password: give it with --password-stdin",
                args.file.display(),
                args.sheet
            ),
            e => describe(&args.file, e),
        })
    })
}

fn workbook_unprotect(args: &WorkbookUnprotectArgs) -> Result<(), String> {
    check_paths(&args.file, &args.out)?;
    let password = optional_password(args.password_stdin)?;
    require_plain_xlsx(&args.file)?;
    let input = open(&args.file)?;
    output::write(&args.out, |f| {
        xlsx::unprotect_workbook(input, f, password.as_deref().map(String::as_str)).map_err(|e| match e {
            DocError::NotProtected => format!("{}: the workbook is not protected", args.file.display()),
            DocError::WrongPassword if password.is_none() => format!(
                "{}: the workbook has a password: give it with --password-stdin",
                args.file.display()
            ),
            e => describe(&args.file, e),
        })
    })
}

fn workbook_inner(command: &WorkbookCommand) -> Result<(), String> {
    let args = match command {
        WorkbookCommand::Protect(args) => args,
        WorkbookCommand::Unprotect(args) => return workbook_unprotect(args),
    };
    check_paths(&args.file, &args.out)?;
    let password = optional_password(args.password_stdin)?;
    require_plain_xlsx(&args.file)?;
    let protection = WorkbookProtection {
        password: password.as_deref().map(String::as_str),
        lock_structure: args.structure || !args.windows,
        lock_windows: args.windows,
    };
    let input = open(&args.file)?;
    output::write(&args.out, |f| {
        xlsx::protect_workbook(input, f, &protection).map_err(|e| match e {
            DocError::AlreadyProtected => format!("{}: the workbook is already protected", args.file.display()),
            e => describe(&args.file, e),
        })
    })
}

/// Run `f` with library log records below ERROR dropped, unless the user asked for logs with
/// `STRONGROOM_LOG`. A command's answer is its one-line error; the PDF library's own warnings
/// ("Invalid password provided …") only repeat it in other words, before it, on stderr.
pub(crate) fn quiet<T>(f: impl FnOnce() -> T) -> T {
    if std::env::var_os("STRONGROOM_LOG").is_some() {
        return f();
    }
    let errors_only = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::ERROR)
        .with_writer(std::io::stderr)
        .finish();
    tracing::subscriber::with_default(errors_only, f)
}

/// The library's flags from the CLI's list: exactly the listed actions are allowed.
fn actions(list: &[SheetAction]) -> SheetActions {
    let has = |a: SheetAction| list.contains(&a);
    SheetActions {
        select_locked_cells: has(SheetAction::SelectLockedCells),
        select_unlocked_cells: has(SheetAction::SelectUnlockedCells),
        format_cells: has(SheetAction::FormatCells),
        format_columns: has(SheetAction::FormatColumns),
        format_rows: has(SheetAction::FormatRows),
        insert_columns: has(SheetAction::InsertColumns),
        insert_rows: has(SheetAction::InsertRows),
        insert_hyperlinks: has(SheetAction::InsertHyperlinks),
        delete_columns: has(SheetAction::DeleteColumns),
        delete_rows: has(SheetAction::DeleteRows),
        sort: has(SheetAction::Sort),
        auto_filter: has(SheetAction::AutoFilter),
        pivot_tables: has(SheetAction::PivotTables),
        objects: has(SheetAction::Objects),
        scenarios: has(SheetAction::Scenarios),
    }
}

/// An encrypted workbook must be unprotected first: say so instead of "already protected".
fn require_plain_xlsx(file: &Path) -> Result<(), String> {
    match detect(file)? {
        Format::Zip => Ok(()),
        Format::CompoundFile => Err(format!(
            "{}: the workbook is password-encrypted; run `strongroom unprotect` first",
            file.display()
        )),
        found => Err(format!(
            "{}: not a supported format: expected an .xlsx workbook, found {found}",
            file.display()
        )),
    }
}

fn unsupported(file: &Path, found: Format) -> String {
    format!(
        "{}: not a supported format: expected .docx/.xlsx/.pptx, .pdf or .odt/.ods/.odp, found {found}",
        file.display()
    )
}

/// One line naming the file and the problem, in words a user can act on.
pub(crate) fn describe(file: &Path, e: DocError) -> String {
    let f = file.display();
    match e {
        DocError::WrongFormat { expected, found } => {
            format!("{f}: not a supported format: expected {expected}, found {found}")
        }
        DocError::Malformed { what, detail } => {
            format!("{f}: damaged or truncated file ({what}: {detail})")
        }
        DocError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("{f}: damaged or truncated file (unexpected end of data)")
        }
        DocError::WrongPassword => format!("{f}: wrong password"),
        other => format!("{f}: {other}"),
    }
}

fn detect(file: &Path) -> Result<Format, String> {
    let mut head = Vec::with_capacity(1024);
    open(file)?
        .take(1024)
        .read_to_end(&mut head)
        .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    Ok(strongroom_docs::detect_format(&head))
}

pub(crate) fn open(file: &Path) -> Result<BufReader<File>, String> {
    File::open(file)
        .map(BufReader::new)
        .map_err(|e| format!("{}: cannot open: {e}", file.display()))
}

pub(crate) fn read_all(file: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|e| format!("{}: cannot read: {e}", file.display()))
}

/// Check the input and OUT before any password is read or any work is done. OUT must be a
/// kind of file [`output`] writes, and never the input: writing a regular OUT renames onto it,
/// which would replace the only copy of the document with the result of an operation that
/// may be wrong.
pub(crate) fn check_paths(input: &Path, out: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(input).map_err(|e| format!("{}: cannot open: {e}", input.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", input.display()));
    }
    output::check(out, Existing::Replace)?;
    if output::is_stdout(out) {
        return Ok(());
    }
    let same = match (std::fs::canonicalize(input), std::fs::canonicalize(out)) {
        (Ok(a), Ok(b)) if a == b => true,
        _ => same_inode(input, out),
    };
    if same {
        return Err(format!(
            "refusing to overwrite the input file {}: choose another output with -o",
            input.display()
        ));
    }
    Ok(())
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

/// Read up to `n` lines of standard input (the rest is ignored), without their line endings.
fn read_stdin_lines(n: usize) -> Result<Vec<Zeroizing<String>>, String> {
    let mut raw = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(MAX_PASSWORD_INPUT)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let text = std::str::from_utf8(&raw).map_err(|_| "the password on standard input is not UTF-8".to_owned())?;
    Ok(text
        // `lines`: a final line break ends the last line, it does not start an empty one.
        .lines()
        .take(n)
        .map(|l| Zeroizing::new(l.strip_suffix('\r').unwrap_or(l).to_owned()))
        .collect())
}

fn nonempty(line: Option<&Zeroizing<String>>, what: &str) -> Result<Zeroizing<String>, String> {
    match line {
        Some(pw) if !pw.is_empty() => Ok(pw.clone()),
        _ => Err(format!("no {what}: write it on standard input")),
    }
}

/// The sheet password and one optional password per allow-edit range, all from standard
/// input as `sheet protect --help` describes.
#[allow(clippy::type_complexity)]
fn sheet_passwords(
    args: &SheetProtectArgs,
) -> Result<(Option<Zeroizing<String>>, Vec<Option<Zeroizing<String>>>), String> {
    if !args.edit_range_passwords_stdin {
        return Ok((
            optional_password(args.password_stdin)?,
            vec![None; args.edit_range.len()],
        ));
    }
    if args.edit_range.is_empty() {
        return Err("--edit-range-passwords-stdin needs at least one --edit-range".to_owned());
    }
    let first_range = usize::from(args.password_stdin);
    let lines = read_stdin_lines(first_range + args.edit_range.len())?;
    // A missing line is a mistake, not a wish to leave the range open (that is an empty line).
    if lines.len() < first_range + args.edit_range.len() {
        return Err(format!(
            "standard input has {} line(s); --edit-range-passwords-stdin needs {} (one per --edit-range{})",
            lines.len(),
            first_range + args.edit_range.len(),
            if args.password_stdin {
                ", after the sheet password"
            } else {
                ""
            }
        ));
    }
    let sheet = if args.password_stdin {
        Some(nonempty(
            lines.first(),
            "sheet password (first line of standard input)",
        )?)
    } else {
        None
    };
    let ranges = (0..args.edit_range.len())
        .map(|i| lines.get(first_range + i).filter(|l| !l.is_empty()).cloned())
        .collect();
    Ok((sheet, ranges))
}

fn optional_password(from_stdin: bool) -> Result<Option<Zeroizing<String>>, String> {
    if !from_stdin {
        return Ok(None);
    }
    let lines = read_stdin_lines(1)?;
    nonempty(lines.first(), "password (first line of standard input)").map(Some)
}

fn read_password_file(file: &Path) -> Result<Zeroizing<String>, String> {
    let mut raw = Zeroizing::new(Vec::new());
    File::open(file)
        .and_then(|f| f.take(MAX_PASSWORD_INPUT).read_to_end(&mut raw))
        .map_err(|e| format!("{}: cannot read the owner password: {e}", file.display()))?;
    let text = std::str::from_utf8(&raw).map_err(|_| format!("{}: the owner password is not UTF-8", file.display()))?;
    let line = text.split('\n').next().unwrap_or_default();
    let line = Zeroizing::new(line.strip_suffix('\r').unwrap_or(line).to_owned());
    nonempty(Some(&line), &format!("owner password in {}", file.display()))
}
