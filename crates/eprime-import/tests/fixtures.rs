//! Invented documents in shapes the seeds do not have: other partners, kinds and numbering schemes,
//! PDF page furniture, hyphenation across lines, items run together on one line.

use eprime_domain::{DocumentKind, PartnerCode};
use eprime_import::{ImportOptions, ImportedDocument, Item, import};
use time::macros::date;

fn read(name: &str) -> ImportedDocument {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    import(&text, &ImportOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn summary(items: &[Item]) -> Vec<(&str, &str, u32)> {
    items.iter().map(|i| (i.code.as_str(), i.title.as_str(), i.line)).collect()
}

#[test]
fn korea_ipcp_with_area_numbering_and_page_furniture() {
    let doc = read("korea_ipcp.txt");
    assert_eq!(doc.kind, DocumentKind::Ipcp);
    assert_eq!(doc.title, "Individual Partnership and Cooperation Programme between the Republic of Korea and NATO");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("KOR"));
    assert_eq!(doc.parties, vec!["Republic of Korea", "North Atlantic Treaty Organization"]);
    assert_eq!(doc.signed_on, Some(date!(2012 - 09 - 20)));
    assert_eq!(doc.signed_at.as_deref(), Some("Brussels"));
    assert_eq!(
        summary(&doc.priority_areas),
        vec![
            ("1", "Cyber defence and information sharing", 16),
            ("2", "Counter-piracy and maritime security", 17),
            ("3", "Non-proliferation of weapons of mass destruction", 17),
            ("4", "Humanitarian assistance and disaster relief", 22),
            ("5", "Science and technology, including interoperability of research networks", 23),
        ]
    );
    // "practi-" / "cal" joined; the page footer did not end up in any text.
    let p12 = &doc.sections[0].paragraphs[1];
    assert!(p12.text.contains("practical cooperation developed in Afghanistan."), "{}", p12.text);
    assert!(doc.sections.iter().flat_map(|s| &s.paragraphs).all(|p| !p.text.contains("UNCLASSIFIED")));
    assert_eq!(doc.approvers, vec!["nac", "partner"]);
    assert_eq!(doc.entry_into_force.as_ref().map(|c| c.line), Some(28));
    assert_eq!(doc.review.as_ref().map(|c| c.line), Some(29));
    let signatories: Vec<(&str, &str)> = doc.signatories.iter().map(|s| (s.name.as_str(), s.office.as_str())).collect();
    assert_eq!(
        signatories,
        vec![
            ("Mr Kim Sung-hwan", "Minister of Foreign Affairs and Trade"),
            ("Mr Anders Fogh Rasmussen", "Secretary General")
        ]
    );
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
}

#[test]
fn australia_itpp_with_parts_sections_and_roman_goals() {
    let doc = read("australia_itpp.txt");
    assert_eq!(doc.kind, DocumentKind::Itpp);
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("AUS"));
    assert_eq!(doc.edition.as_deref(), Some("open"));
    let period = doc.period.expect("period");
    assert_eq!((period.from, period.to), (date!(2024 - 01 - 01), date!(2027 - 12 - 31)));
    let parts: Vec<Option<&str>> = doc.sections.iter().map(|s| s.number.as_deref()).collect();
    assert_eq!(parts, vec![Some("I"), Some("II"), Some("2"), Some("III"), Some("3"), Some("4")]);
    assert_eq!(
        summary(&doc.strategic_objectives),
        vec![
            ("2.a", "Deepen political dialogue on shared security challenges", 16),
            ("2.b", "Strengthen interoperability of armed forces", 17),
            ("2.c", "Build resilience against hybrid threats", 18),
        ]
    );
    let issues: Vec<(&str, &str, usize)> =
        doc.priority_issues.iter().map(|i| (i.code.as_str(), i.title.as_str(), i.goals.len())).collect();
    assert_eq!(issues, vec![("3", "Emerging Security Challenges", 3), ("4", "Maritime and Regional Security", 2)]);
    assert_eq!(
        summary(&doc.partnership_goals),
        vec![
            ("3.i", "Cyber defence", 25),
            ("3.ii", "Space security", 26),
            ("3.iii", "Emerging and disruptive technologies", 27),
            ("4.i", "Maritime security", 30),
            ("4.ii", "Women, peace and security", 30),
        ]
    );
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
}

#[test]
fn mongolia_ipap_with_chapters_and_letter_items() {
    let doc = read("mongolia_ipap.txt");
    assert_eq!(doc.kind, DocumentKind::Ipap);
    assert_eq!(doc.title, "Individual Partnership Action Plan Mongolia");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("MNG"));
    let chapters: Vec<(Option<&str>, &str)> =
        doc.sections.iter().map(|s| (s.number.as_deref(), s.title.as_str())).collect();
    assert_eq!(
        chapters,
        vec![
            (Some("1"), "Political and security issues"),
            (Some("2"), "Defence and military issues"),
            (Some("3"), "Implementation")
        ]
    );
    assert_eq!(
        summary(&doc.priority_areas),
        vec![
            ("1.1.a", "Political dialogue with NATO on regional security", 8),
            ("1.1.b", "Participation in peace support operations", 9),
            ("1.1.c", "Democratic control of the armed forces", 9),
            ("2.1.a", "Defence reform and professional military education", 17),
            (
                "2.1.b",
                "Interoperability with NATO forces through the Partnership for Peace Planning and Review Process",
                19
            ),
        ]
    );
    assert_eq!(doc.approvers, vec!["nac", "partner"]);
    assert_eq!(doc.review.as_ref().map(|c| c.line), Some(27));
    // The running header "Mongolia – NATO IPAP" is page furniture, not a paragraph.
    assert!(doc.sections.iter().flat_map(|s| &s.paragraphs).all(|p| !p.text.contains("NATO IPAP")));
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
}

#[test]
fn skipped_numbering_and_misplaced_goals_are_warnings() {
    let text = "INDIVIDUAL PARTNERSHIP AND COOPERATION PROGRAMME BETWEEN GEORGIA AND NATO\n\n\
                1. PRIORITY AREAS\n\n\
                1.1 The following priority areas:\n\
                1.1.1 Cyber defence;\n\
                1.1.3 Energy security.\n";
    let doc = import(text, &ImportOptions::default()).expect("imports");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("GEO"));
    assert_eq!(doc.priority_areas.len(), 2);
    assert_eq!(doc.warnings.len(), 1, "{:?}", doc.warnings);
    assert_eq!(doc.warnings[0].line, 7);
    assert!(doc.warnings[0].message.contains("1.1.3"));

    let text = "INDIVIDUALLY TAILORED PARTNERSHIP PROGRAMME FOR JORDAN\n\n\
                PART 3 – PARTNERSHIP GOALS\n\n\
                2 priority issues:\n\n\
                a. BORDER SECURITY:\n\
                - On BORDER SECURITY, Jordan and NATO cooperate.\n\
                b. EMPTY ISSUE:\n";
    let doc = import(text, &ImportOptions::default()).expect("imports");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("JOR"));
    assert_eq!(doc.partnership_goals.len(), 1);
    assert_eq!(doc.priority_issues.len(), 2);
    assert!(doc.warnings.iter().any(|w| w.line == 9 && w.message.contains("no goals")), "{:?}", doc.warnings);
}

#[test]
fn titles_are_single_short_lines() {
    let long = "word ".repeat(200);
    let text = format!(
        "INDIVIDUAL PARTNERSHIP AND COOPERATION PROGRAMME WITH SERBIA\n\n1. PRIORITY AREAS\n\n1.1 The following priority areas:\n1.1.1 {long};\n"
    );
    let doc = import(&text, &ImportOptions::default()).expect("imports");
    let area = &doc.priority_areas[0];
    assert!(area.title.chars().count() <= 300 && !area.title.contains('\n') && !area.title.is_empty());
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("SRB"));
}
