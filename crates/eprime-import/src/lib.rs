//! Reads the text of a partnership document (plain text extracted from a PDF or a web page) into a
//! structured programme: kind, partner, dates, sections, objectives, goals, areas, clauses, signatories.
//!
//! # Approach
//!
//! 1. **Normalise** ([`normalise`]): strip a BOM, unify line ends, drop PDF page headers and footers
//!    ("NATO UNCLASSIFIED", "Page 3 of 7", lone page numbers, running headers repeated on every page),
//!    join words hyphenated across lines, join wrapped lines into logical lines (keeping the number of
//!    the line each starts on) and split items run together on one line.
//! 2. **Classify lines** ([`numbering`], [`classify`]): each logical line is a heading, a numbered or
//!    bulleted item, or plain text, by its leading marker (`1.`, `1.1`, `3.1.10`, `a.`, `a)`, `(i)`,
//!    `Part 1`, `PART II`, `Section 3`, `Chapter 2`, `Area 4.`, bullets) and its shape.
//! 3. **Recognise structures** ([`recognise`]): metadata (title, kind, partner, dates, period, edition),
//!    sections and paragraphs, strategic objectives, priority issues and goals, priority areas,
//!    cooperation modalities, entry-into-force and review clauses, signatories. Each recogniser looks
//!    for the words documents of this family use ("priority areas", "Strategic Objective", "On CYBER
//!    DEFENCE, …", "enter into force") rather than for one document's layout.
//! 4. **Report**: anything that looks like structure but cannot be placed (numbering that skips, a goal
//!    outside any priority issue, a stated count that does not match) becomes a [`Warning`] with its
//!    line: the importer never guesses silently.
//!
//! Everything is line by line and linear in the size of the input; no input panics.
//!
//! # Limits
//!
//! - English only (dates also accept a few French month names). Tables and multi-column layouts
//!   extracted from PDFs are read as running text.
//! - A heading is recognised by its marker, by being upper case, or by being a short unpunctuated line
//!   between blank lines; a mixed-case heading glued to its paragraph with no blank line is read as text.
//! - Kinds are recognised from the title block (the first lines); a text that is none of the known
//!   kinds but is about NATO or a partner is imported as `OTHER` with what can be found (web pages,
//!   news reports); a text about neither is refused with [`ImportError::NotAPartnershipDocument`].
//! - Theme comparison ([`compare`]) is lexical: stems, a small synonym table and key terms.

pub mod classify;
pub mod compare;
pub mod dates;
mod model;
pub mod normalise;
pub mod numbering;
pub mod partners;
pub mod recognise;
pub mod record;
mod text;

use eprime_domain::PartnerCode;

pub use compare::{Comparison, Match, Theme, compare, themes};
pub use model::{Clause, ImportedDocument, Item, Paragraph, Period, PriorityIssue, Section, Signatory, Warning};

/// Hints for an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The partner to assume when the text does not name one. When given it wins over the text;
    /// a different partner named by the text is reported as a warning.
    pub partner: Option<PartnerCode>,
}

/// Why a text could not be imported. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the document is empty: paste or upload the text of a partnership document")]
    Empty,
    #[error(
        "the file is not plain text ({detail}); export the document as UTF-8 text (for a PDF, copy its text or use a PDF-to-text tool) and import that"
    )]
    Binary { detail: String },
    #[error("this does not look like a partnership document: {reason}")]
    NotAPartnershipDocument { reason: String },
}

/// Imports a document from its text.
pub fn import(text: &str, options: &ImportOptions) -> Result<ImportedDocument, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    if let Some(detail) = binary_detail(text.as_bytes()) {
        return Err(ImportError::Binary { detail });
    }
    let lines = normalise::normalise(text);
    let classified = classify::classify(&lines);
    recognise::recognise(&classified, options)
}

/// Imports a document from raw bytes: refuses binary data and invalid UTF-8 with a clear error,
/// strips a byte-order mark and normalises line ends.
pub fn import_bytes(bytes: &[u8], options: &ImportOptions) -> Result<ImportedDocument, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    if bytes.starts_with(b"%PDF") {
        return Err(ImportError::Binary { detail: "it is a PDF file, not its text".to_owned() });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(ImportError::Binary {
            detail: "it is a zip archive or an Office document (docx/xlsx), not plain text".to_owned(),
        });
    }
    if let Some(detail) = binary_detail(bytes) {
        return Err(ImportError::Binary { detail });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => import(text, options),
        Err(e) => Err(ImportError::Binary { detail: format!("invalid UTF-8 at byte {}", e.valid_up_to()) }),
    }
}

/// Text never holds NUL bytes, and holds few control characters; binary files do.
fn binary_detail(bytes: &[u8]) -> Option<String> {
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Some(format!("it contains a NUL byte at byte {pos}"));
    }
    let controls = bytes.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)).count();
    // A few stray control characters occur in extracted text; a tenth of the file does not.
    if bytes.len() >= 16 && controls * 10 > bytes.len() {
        return Some(format!("{controls} of its {} bytes are control characters", bytes.len()));
    }
    None
}
