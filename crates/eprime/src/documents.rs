//! `eprime import-document` and `eprime compare-documents`.

use std::path::Path;

use anyhow::{Context, anyhow};
use eprime_domain::{PartnerCode, Principal, Role, RoleBinding, UserId};
use eprime_import::{ImportOptions, ImportedDocument, Item, compare, import_bytes, themes};
use eprime_server::importing::{ImportOutcome, ImportSettings, store_import};
use eprime_store::DynStore;

use crate::cli::{CompareArgs, Format, ImportArgs};

/// Reads and imports one file, with errors that name it.
fn read(path: &Path, partner: Option<PartnerCode>) -> anyhow::Result<(String, ImportedDocument)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let imported = import_bytes(&bytes, &ImportOptions { partner }).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    // import_bytes has checked the bytes are UTF-8 text.
    Ok((String::from_utf8_lossy(&bytes).into_owned(), imported))
}

/// Prints what was read; warnings go to standard error as `FILE:LINE: warning: …`.
fn print_imported(path: &Path, imported: &ImportedDocument, format: Format) -> anyhow::Result<()> {
    for warning in &imported.warnings {
        eprintln!("{}:{}: warning: {}", path.display(), warning.line, warning.message);
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(imported)?),
        Format::Text => print!("{}", summary(imported)),
    }
    Ok(())
}

fn summary(doc: &ImportedDocument) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", doc.kind.as_str(), doc.title);
    let _ = writeln!(out, "  partner: {}", doc.partner.as_ref().map_or("(not named)", |p| p.as_str()));
    if let Some(on) = doc.signed_on {
        let _ =
            writeln!(out, "  signed: {on}{}", doc.signed_at.as_ref().map(|a| format!(" in {a}")).unwrap_or_default());
    }
    if let Some(on) = doc.published_on {
        let _ = writeln!(out, "  published: {on}");
    }
    if let Some(period) = &doc.period {
        let _ = writeln!(out, "  period: {} – {}", period.from, period.to);
    }
    if let Some(edition) = &doc.edition {
        let _ = writeln!(out, "  edition: {edition}");
    }
    let list = |out: &mut String, heading: &str, items: &[Item]| {
        if !items.is_empty() {
            let _ = writeln!(out, "  {heading} ({}):", items.len());
            for item in items {
                let _ = writeln!(out, "    {:<8} {}  (line {})", item.code, item.title, item.line);
            }
        }
    };
    list(&mut out, "strategic objectives", &doc.strategic_objectives);
    for issue in &doc.priority_issues {
        list(&mut out, &format!("priority issue {} {}", issue.code, issue.title), &issue.goals);
    }
    if doc.priority_issues.is_empty() {
        list(&mut out, "partnership goals", &doc.partnership_goals);
    }
    list(&mut out, "priority areas", &doc.priority_areas);
    list(&mut out, "cooperation modalities", &doc.cooperation_modalities);
    if let Some(clause) = &doc.entry_into_force {
        let _ = writeln!(out, "  entry into force (line {}): {}", clause.line, clause.text);
    }
    for signatory in &doc.signatories {
        let _ = writeln!(out, "  signed by {}, {} (line {})", signatory.name, signatory.office, signatory.line);
    }
    let _ = writeln!(out, "  warnings: {}", doc.warnings.len());
    out
}

/// The principal the command line acts as: the operator at the machine, with NATO
/// administrator rights (whoever can run the binary on the database file has them anyway).
fn operator() -> anyhow::Result<Principal> {
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
    Ok(Principal {
        user_id: UserId::new(),
        username: format!("cli:{user}"),
        binding: RoleBinding::new(Role::NatoAdmin, None, None).map_err(|e| anyhow!("{e}"))?,
    })
}

pub async fn import_document(
    args: ImportArgs,
    open: impl AsyncFnOnce() -> anyhow::Result<DynStore>,
) -> anyhow::Result<()> {
    let partner =
        args.partner.as_deref().map(PartnerCode::parse).transpose().map_err(|e| anyhow!("--partner: {}", e.message))?;
    let (text, imported) = read(&args.file, partner)?;
    print_imported(&args.file, &imported, args.format)?;
    if args.dry_run {
        return Ok(());
    }
    let store = open().await?;
    let settings = ImportSettings { source: args.file.display().to_string(), ..Default::default() };
    let outcome = store_import(store.as_ref(), &operator()?, &text, &imported, settings)
        .await
        .map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    match outcome {
        ImportOutcome::Created { detail, superseded, new_partnership } => {
            if new_partnership {
                eprintln!("recorded the partnership {} the document belongs to", detail.document.partnership);
            }
            eprintln!("stored as document {}", detail.document.id);
            if let Some(old) = superseded {
                eprintln!("it supersedes document {old}, whose history is kept");
            }
        }
        ImportOutcome::Unchanged { document } => {
            eprintln!("unchanged: the same text is already document {}", document.id);
        }
    }
    Ok(())
}

pub fn compare_documents(args: CompareArgs) -> anyhow::Result<()> {
    let (_, a) = read(&args.a, None)?;
    let (_, b) = read(&args.b, None)?;
    let comparison = compare(&themes(&a), &themes(&b));
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&comparison)?),
        Format::Text => {
            println!("{} → {}", a.title, b.title);
            println!("carried over ({}):", comparison.carried_over.len());
            for m in &comparison.carried_over {
                println!(
                    "  {} {} → {} {}  [{}]",
                    m.from.code,
                    m.from.title,
                    m.to.code,
                    m.to.title,
                    m.shared_terms.join(", ")
                );
            }
            println!("new ({}):", comparison.new.len());
            for t in &comparison.new {
                println!("  {} {}", t.code, t.title);
            }
            println!("dropped ({}):", comparison.dropped.len());
            for t in &comparison.dropped {
                println!("  {} {}", t.code, t.title);
            }
        }
    }
    Ok(())
}
