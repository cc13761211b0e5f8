//! The five real source documents, read exactly.

use eprime_domain::{DocumentKind, PartnerCode};
use eprime_import::{ImportError, ImportOptions, ImportedDocument, compare, import, import_bytes, themes};
use time::macros::date;

const IPCP: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds/000_3b0b251586ad6093.txt"));
const ITPP: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds/001_569038fb7a03f57f.txt"));
const JPD: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds/002_00afff77f7d7b4ab.txt"));
const RELATIONS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds/003_82e5337bd389dbe6.txt"));
const NEWS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds/004_cf7b80114048b85a.txt"));

fn read(text: &str) -> ImportedDocument {
    match import(text, &ImportOptions::default()) {
        Ok(doc) => doc,
        Err(e) => panic!("import failed: {e}"),
    }
}

fn codes(items: &[eprime_import::Item]) -> Vec<&str> {
    items.iter().map(|i| i.code.as_str()).collect()
}

fn titles(items: &[eprime_import::Item]) -> Vec<&str> {
    items.iter().map(|i| i.title.as_str()).collect()
}

#[test]
fn ipcp_2014_metadata() {
    let doc = read(IPCP);
    assert_eq!(doc.kind, DocumentKind::Ipcp);
    assert_eq!(doc.title, "Individual Partnership and Cooperation Programme between Japan and NATO");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("JPN"));
    assert_eq!(doc.parties, vec!["Japan", "North Atlantic Treaty Organization"]);
    assert_eq!(doc.signed_on, Some(date!(2014 - 05 - 06)));
    assert_eq!(doc.signed_at.as_deref(), Some("Brussels"));
    assert_eq!(doc.published_on, None);
    assert_eq!(doc.period, None);
    assert_eq!(doc.edition, None);
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
}

#[test]
fn ipcp_2014_priority_areas() {
    let doc = read(IPCP);
    assert_eq!(
        codes(&doc.priority_areas),
        vec!["3.1.1", "3.1.2", "3.1.3", "3.1.4", "3.1.5", "3.1.6", "3.1.7", "3.1.8", "3.1.9", "3.1.10"]
    );
    assert_eq!(
        titles(&doc.priority_areas),
        vec![
            "Cooperation and sharing lessons learned from Cyber Defence",
            "Cooperation on humanitarian assistance and disaster relief",
            "Counter terrorism",
            "Disarmament, in particular related to small arms and light weapons, arms control, non-proliferation of weapons of mass destruction and their means of delivery",
            "Maritime security, especially counter piracy",
            "Comprehensive approach to conflict management",
            "Defence science and technology",
            "Public diplomacy initiatives",
            "Mainstreaming a women, peace and security perspective in peace missions",
            "Other defence and security cooperation in the areas of mutual interest between Japan and NATO",
        ]
    );
    let lines: Vec<u32> = doc.priority_areas.iter().map(|a| a.line).collect();
    assert_eq!(lines, vec![24, 25, 26, 27, 28, 29, 30, 31, 33, 34]);
    assert!(doc.partnership_goals.is_empty() && doc.strategic_objectives.is_empty() && doc.priority_issues.is_empty());
}

#[test]
fn ipcp_2014_modalities_clauses_signatories() {
    let doc = read(IPCP);
    assert_eq!(codes(&doc.cooperation_modalities), vec!["2.2.1", "2.2.2", "2.2.3"]);
    assert_eq!(doc.cooperation_modalities[0].title, "Strengthen high level dialogue between Japan and NATO");
    assert_eq!(doc.cooperation_modalities[1].title, "Promote defence exchanges");
    assert!(doc.cooperation_modalities[1].text.starts_with("To promote defence exchanges, including"));
    assert_eq!(doc.cooperation_modalities[2].line, 18);

    let eif = doc.entry_into_force.as_ref().expect("entry into force");
    assert_eq!(eif.line, 40);
    assert!(eif.text.contains("North Atlantic Council and Japan"));
    assert_eq!(doc.approvers, vec!["nac", "partner"]);
    let review = doc.review.as_ref().expect("review");
    assert_eq!(review.line, 41);
    assert!(review.text.contains("reviewed on a timely basis"));

    assert_eq!(doc.signatories.len(), 2);
    assert_eq!(doc.signatories[0].name, "Mr Shinzo Abe");
    assert_eq!(doc.signatories[0].office, "Prime Minister of Japan");
    assert_eq!(doc.signatories[1].name, "Mr Anders Fogh Rasmussen");
    assert_eq!(doc.signatories[1].office, "Secretary General, North Atlantic Treaty Organization");
    assert_eq!(doc.signatories[1].line, 45);
}

#[test]
fn ipcp_2014_sections_join_a_sentence_broken_by_a_blank_line() {
    let doc = read(IPCP);
    let numbers: Vec<Option<&str>> = doc.sections.iter().map(|s| s.number.as_deref()).collect();
    assert_eq!(numbers, vec![Some("1"), Some("2"), Some("3"), Some("4")]);
    assert_eq!(doc.sections[0].title, "Political context and principles");
    let p21 = &doc.sections[1].paragraphs[0];
    assert_eq!(p21.number.as_deref(), Some("2.1"));
    assert_eq!(p21.line, 11);
    assert!(p21.text.ends_with(
        "Declaration, signed by the Prime Minister of Japan and the NATO Secretary General in Tokyo on 15 April 2013."
    ));
    let numbered: Vec<&str> = doc.sections[2].paragraphs.iter().filter_map(|p| p.number.as_deref()).collect();
    assert_eq!(numbered.len(), 13);
}

#[test]
fn itpp_2023_metadata() {
    let doc = read(ITPP);
    assert_eq!(doc.kind, DocumentKind::Itpp);
    assert_eq!(doc.title, "Individually Tailored Partnership Programme between NATO and Japan for 2023 – 2026");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("JPN"));
    assert_eq!(doc.edition.as_deref(), Some("open"));
    let period = doc.period.expect("period");
    assert_eq!((period.from, period.to), (date!(2023 - 01 - 01), date!(2026 - 12 - 31)));
    assert_eq!(doc.signed_on, None);
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    let numbers: Vec<Option<&str>> = doc.sections.iter().map(|s| s.number.as_deref()).collect();
    assert_eq!(numbers, vec![Some("1"), Some("2"), Some("3")]);
    assert_eq!(doc.sections[2].title, "Partnership goals");
}

#[test]
fn itpp_2023_objectives() {
    let doc = read(ITPP);
    assert_eq!(codes(&doc.strategic_objectives), vec!["1", "2", "3"]);
    assert_eq!(doc.strategic_objectives[0].title, "Japan and NATO strengthen dialogue and consultations");
    assert_eq!(doc.strategic_objectives[2].line, 35);
}

#[test]
fn itpp_2023_goals_in_priority_issues() {
    let doc = read(ITPP);
    let issues: Vec<(&str, &str, usize)> =
        doc.priority_issues.iter().map(|i| (i.code.as_str(), i.title.as_str(), i.goals.len())).collect();
    assert_eq!(
        issues,
        vec![
            ("a", "Emerging security issues", 5),
            ("b", "Longstanding security issues", 3),
            ("c", "Expansion of cooperative activities", 6),
            ("d", "Promotion of fundamental values", 2),
        ]
    );
    assert_eq!(doc.partnership_goals.len(), 16);
    assert_eq!(
        codes(&doc.partnership_goals),
        vec![
            "a.1", "a.2", "a.3", "a.4", "a.5", "b.1", "b.2", "b.3", "c.1", "c.2", "c.3", "c.4", "c.5", "c.6", "d.1",
            "d.2"
        ]
    );
    assert_eq!(
        titles(&doc.partnership_goals),
        vec![
            "Cyber defence",
            "Strategic communication",
            "Emerging and disruptive technologies",
            "Space security",
            "Climate change and security",
            "Maritime security",
            "Arms control, disarmament and non-proliferation",
            "Dialogue and consultation",
            "Emergency management",
            "Science and technology",
            "Practical cooperation for interoperability",
            "Capability development and interoperability",
            "Resilience and civil preparedness",
            "Public diplomacy",
            "Women, peace and security",
            "Human security",
        ]
    );
    let first = &doc.partnership_goals[0];
    assert_eq!(first.text, "On CYBER DEFENCE, Japan and NATO enhance their cooperation in the area of cyber defence.");
    assert_eq!(first.line, 49);
    // The goal after the blank line in the middle of the list, and the one behind "- b.".
    assert_eq!(doc.partnership_goals[2].line, 52);
    assert_eq!(doc.priority_issues[1].line, 55);
    assert_eq!(doc.partnership_goals[12].line, 65);
}

#[test]
fn itpp_2023_activity_modes() {
    let doc = read(ITPP);
    assert_eq!(
        titles(&doc.cooperation_modalities),
        vec![
            "Policy consultations",
            "Joint training and exercises",
            "Personnel development and exchanges",
            "Research cooperation"
        ]
    );
    assert_eq!(codes(&doc.cooperation_modalities), vec!["6.1", "6.2", "6.3", "6.4"]);
    assert!(doc.cooperation_modalities.iter().all(|m| m.line == 23));
}

#[test]
fn jpd_2013_web_page() {
    let doc = read(JPD);
    assert_eq!(doc.kind, DocumentKind::Jpd);
    assert_eq!(doc.title, "Joint Political Declaration between Japan and the North Atlantic Treaty Organisation");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("JPN"));
    assert_eq!(doc.published_on, Some(date!(2013 - 04 - 13)));
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    assert!(doc.partnership_goals.is_empty() && doc.priority_areas.is_empty() && doc.strategic_objectives.is_empty());
    assert!(doc.cooperation_modalities.is_empty());
    let sections: Vec<(&str, u32, Vec<&str>)> = doc
        .sections
        .iter()
        .map(|s| (s.title.as_str(), s.line, s.paragraphs.iter().filter_map(|p| p.number.as_deref()).collect()))
        .collect();
    assert_eq!(
        sections,
        vec![
            ("Introduction", 8, vec!["1"]),
            ("Principles of cooperation", 10, vec!["1", "2"]),
            ("Outlines of future cooperation", 15, vec!["1", "2", "3", "4", "5", "6", "7"]),
        ]
    );
    assert_eq!(doc.sections[2].paragraphs[6].line, 23);
}

/// Decision: the relations page and the news report are not programmes, but they are about the
/// partnership and carry facts worth keeping, so they import as OTHER with what can be found
/// (title, partner, date, sections) and no programme elements.
#[test]
fn relations_page_is_other() {
    let doc = read(RELATIONS);
    assert_eq!(doc.kind, DocumentKind::Other);
    assert_eq!(doc.title, "Relations with Japan");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("JPN"));
    assert_eq!(doc.published_on, Some(date!(2018 - 09 - 12)));
    assert!(doc.parties.is_empty());
    assert!(doc.partnership_goals.is_empty() && doc.priority_areas.is_empty() && doc.cooperation_modalities.is_empty());
    assert!(doc.sections.iter().any(|s| s.title == "Wider cooperation" && s.paragraphs.len() == 4));
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
}

#[test]
fn news_report_is_other() {
    let doc = read(NEWS);
    assert_eq!(doc.kind, DocumentKind::Other);
    assert_eq!(doc.title, "Japan, NATO agree to work closer, sign partnership program");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("JPN"));
    assert_eq!(doc.published_on, Some(date!(2014 - 05 - 07)));
    assert!(doc.signatories.is_empty());
    assert!(doc.partnership_goals.is_empty() && doc.priority_areas.is_empty());
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
}

#[test]
fn json_shape() {
    let doc = read(IPCP);
    let json = serde_json::to_value(&doc).expect("serialises");
    assert_eq!(json["kind"], "IPCP");
    assert_eq!(json["partner"], "JPN");
    assert_eq!(json["signed_on"], "2014-05-06");
    assert_eq!(json["published_on"], serde_json::Value::Null);
    assert_eq!(json["priority_areas"][0]["code"], "3.1.1");
    for field in [
        "parties",
        "signed_at",
        "period",
        "edition",
        "entry_into_force",
        "review",
        "approvers",
        "signatories",
        "sections",
        "strategic_objectives",
        "priority_issues",
        "partnership_goals",
        "cooperation_modalities",
        "warnings",
        "title",
    ] {
        assert!(json.get(field).is_some(), "missing {field}");
    }
    let itpp = serde_json::to_value(read(ITPP)).expect("serialises");
    assert_eq!(itpp["period"]["from"], "2023-01-01");
    assert_eq!(itpp["period"]["to"], "2026-12-31");
    let back: ImportedDocument = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, doc);
}

#[test]
fn bytes_crlf_and_bom_read_the_same() {
    let crlf = format!("\u{feff}{}", IPCP.replace('\n', "\r\n"));
    let doc = import_bytes(crlf.as_bytes(), &ImportOptions::default()).expect("imports");
    assert_eq!(doc, read(IPCP));
}

#[test]
fn partner_option_wins_with_a_warning() {
    let options = ImportOptions { partner: Some(PartnerCode::parse("KOR").expect("code")) };
    let doc = import(IPCP, &options).expect("imports");
    assert_eq!(doc.partner.as_ref().map(PartnerCode::as_str), Some("KOR"));
    assert_eq!(doc.warnings.len(), 1);
    assert!(doc.warnings[0].message.contains("Japan"), "{:?}", doc.warnings);
    let same = ImportOptions { partner: Some(PartnerCode::parse("JPN").expect("code")) };
    assert!(import(IPCP, &same).expect("imports").warnings.is_empty());
}

#[test]
fn refuses_what_is_not_a_partnership_document() {
    assert!(matches!(import("", &ImportOptions::default()), Err(ImportError::Empty)));
    assert!(matches!(import(" \n\t\n", &ImportOptions::default()), Err(ImportError::Empty)));
    let recipe = "Pancakes\n\nMix flour, eggs and milk. Fry.";
    let err = import(recipe, &ImportOptions::default()).expect_err("refused");
    assert!(matches!(err, ImportError::NotAPartnershipDocument { .. }));
    assert!(err.to_string().contains("NATO"));
    let pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj";
    let err = import_bytes(pdf, &ImportOptions::default()).expect_err("refused");
    assert!(err.to_string().contains("PDF"), "{err}");
    let latin1 = b"Partnership programme between NATO and Espa\xF1a";
    assert!(matches!(import_bytes(latin1, &ImportOptions::default()), Err(ImportError::Binary { .. })));
    assert!(matches!(import_bytes(b"abc\0def", &ImportOptions::default()), Err(ImportError::Binary { .. })));
}

#[test]
fn ipcp_areas_against_itpp_goals() {
    let before = themes(&read(IPCP));
    let after = themes(&read(ITPP));
    assert_eq!(before.len(), 10);
    assert_eq!(after.len(), 16);
    let c = compare(&before, &after);
    let pairs: Vec<(&str, &str)> = c.carried_over.iter().map(|m| (m.from.code.as_str(), m.to.code.as_str())).collect();
    for expected in [
        ("3.1.1", "a.1"), // cyber defence
        ("3.1.5", "b.1"), // maritime security / counter piracy
        ("3.1.4", "b.2"), // disarmament / arms control
        ("3.1.2", "c.1"), // HADR → emergency management
        ("3.1.7", "c.2"), // science and technology
        ("3.1.8", "c.6"), // public diplomacy
        ("3.1.9", "d.1"), // women, peace and security
    ] {
        assert!(pairs.contains(&expected), "{expected:?} not in {pairs:?}");
    }
    let new: Vec<&str> = c.new.iter().map(|t| t.title.as_str()).collect();
    for title in [
        "Space security",
        "Climate change and security",
        "Emerging and disruptive technologies",
        "Strategic communication",
    ] {
        assert!(new.contains(&title), "{title} not new: {new:?}");
    }
    let dropped: Vec<&str> = c.dropped.iter().map(|t| t.code.as_str()).collect();
    assert!(dropped.contains(&"3.1.3"), "counter terrorism should be dropped: {dropped:?}");
    assert!(c.carried_over.iter().all(|m| m.score >= 0.5 && !m.shared_terms.is_empty()));
    let json = serde_json::to_value(&c).expect("serialises");
    assert!(json["carried_over"][0]["shared_terms"].is_array());
}
