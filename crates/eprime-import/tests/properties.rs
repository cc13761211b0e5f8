//! Any input gives a result or a clear error: never a panic, never a hang.

use eprime_import::{ImportOptions, compare, import, import_bytes, themes};
use proptest::prelude::*;

/// Fragments that look like structure, to build documents the parser finds hard.
const FRAGMENTS: &[&str] = &[
    "",
    " ",
    "1.",
    "1.1",
    "3.1.10",
    "a.",
    "a)",
    "(i)",
    "(ii)",
    "i.",
    "v)",
    "(x)",
    "Part 1",
    "PART II",
    "Section 3",
    "Chapter 2",
    "Area 4.",
    "Annex A",
    "Strategic Objective 1:",
    "Partnership Goal 2",
    "Priority Issue",
    "- ",
    "• ",
    "* ",
    "– ",
    "On CYBER DEFENCE,",
    "EMERGING SECURITY ISSUES:",
    "the following priority areas:",
    "as follows:",
    "activities such as a, b, and c.",
    "enter into force",
    "reviewed",
    "Signed in Brussels on 6 May 2014",
    "Mr Shinzo Abe Prime Minister of Japan",
    "Mr",
    "NATO UNCLASSIFIED",
    "Page 3 of 7",
    "- 3 -",
    "Open Edition",
    "2023 – 2026",
    "13 Apr. 2013",
    "Japan",
    "Republic of Korea",
    "North Korea",
    "coop-",
    "eration",
    ";",
    ":",
    ".",
    "; and",
    "INDIVIDUALLY TAILORED PARTNERSHIP PROGRAMME",
    "Joint Political Declaration",
    "İ",
    "ß",
    "é",
    "\u{feff}",
    "\t",
    "\r",
    "日本",
    "\u{f0b7}",
    "(",
    ")",
    "9999.9999.9999",
    "MMMMCMXCIX)",
    "z.",
];

fn line_soup() -> impl Strategy<Value = String> {
    let fragment = prop::sample::select(FRAGMENTS);
    let line = prop::collection::vec(fragment, 0..6).prop_map(|parts| parts.join(" "));
    prop::collection::vec(line, 0..40).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        let _ = import(&text, &ImportOptions::default());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = import_bytes(&bytes, &ImportOptions::default());
    }

    #[test]
    fn structural_soups_never_panic_and_keep_invariants(text in line_soup()) {
        if let Ok(doc) = import(&text, &ImportOptions::default()) {
            let lines = u32::try_from(text.split('\n').count()).unwrap_or(u32::MAX);
            let items = doc.strategic_objectives.iter()
                .chain(&doc.partnership_goals)
                .chain(&doc.priority_areas)
                .chain(&doc.cooperation_modalities);
            for item in items {
                prop_assert!(!item.title.trim().is_empty());
                prop_assert!(item.title.chars().count() <= 300);
                prop_assert!(!item.title.contains('\n'));
                prop_assert!(item.line >= 1 && item.line <= lines);
            }
            for issue in &doc.priority_issues {
                prop_assert!(!issue.title.trim().is_empty() && issue.title.chars().count() <= 300);
            }
            for w in &doc.warnings {
                prop_assert!(w.line >= 1 && w.line <= lines);
            }
            prop_assert!(!doc.title.is_empty() && doc.title.chars().count() <= 300);
            let _ = compare(&themes(&doc), &themes(&doc));
            let json = serde_json::to_string(&doc);
            prop_assert!(json.is_ok());
        }
    }
}

#[test]
fn huge_inputs_finish() {
    let line = "3.1.1 Cyber defence; 3.1.2 Counter terrorism; ";
    let text = format!("IPCP between Japan and NATO\n{}", line.repeat(20_000));
    let doc = import(&text, &ImportOptions::default()).expect("imports");
    assert!(doc.sections.iter().map(|s| s.paragraphs.len()).sum::<usize>() >= 2);
    let many_lines = "- On CYBER DEFENCE, Japan and NATO cooperate.\n".repeat(20_000);
    assert!(import(&many_lines, &ImportOptions::default()).is_ok());
    let one_word = "x".repeat(1_000_000);
    let _ = import(&one_word, &ImportOptions::default());
}
