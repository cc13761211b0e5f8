//! The programme: strategic objectives, priority issues and their goals, priority areas and
//! cooperation modalities. Elements are found by the words that introduce them (a section heading
//! "PARTNERSHIP GOALS", an introduction ending "the following priority areas:", "Strategic Objective 1:",
//! "On CYBER DEFENCE, …", "activities such as …") and by the lists that follow.

use eprime_domain::DocumentKind;

use crate::classify::{Block, BlockKind};
use crate::model::{Item, PriorityIssue, Warning};
use crate::numbering::{self, Keyword, Scheme};
use crate::text::{clean_title, is_upper, sentence_case, squash, truncate_words, words_lower};

#[derive(Default)]
pub struct Programme {
    pub objectives: Vec<Item>,
    pub issues: Vec<PriorityIssue>,
    pub goals: Vec<Item>,
    pub areas: Vec<Item>,
    pub modalities: Vec<Item>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    None,
    Objectives,
    Goals,
    Areas,
    Modalities,
}

/// A list announced by an introduction ending with ":".
struct List {
    kind: Ctx,
    /// The introduction's decimal number: items numbered below it belong to the list.
    intro: Option<Vec<u32>>,
    /// Code prefix for items without their own full number.
    prefix: Option<String>,
    count: usize,
}

fn ctx_of_heading(lower: &str) -> Ctx {
    if lower.contains("goal") {
        Ctx::Goals
    } else if lower.contains("objective") {
        Ctx::Objectives
    } else if lower.contains("priority area")
        || lower.contains("areas of cooperation")
        || lower.contains("areas for cooperation")
    {
        Ctx::Areas
    } else if lower.contains("modalit") {
        Ctx::Modalities
    } else {
        Ctx::None
    }
}

fn ctx_of_intro(lower: &str, ctx: Ctx) -> Ctx {
    if lower.contains("priority area") || lower.contains("areas of cooperation") || lower.contains("following areas") {
        Ctx::Areas
    } else if lower.contains("objective") {
        Ctx::Objectives
    } else if lower.contains("goal") || lower.contains("priority issue") {
        Ctx::Goals
    } else if lower.contains("modalit")
        || lower.contains("lines of cooperation")
        || lower.contains("forms of cooperation")
    {
        Ctx::Modalities
    } else {
        ctx
    }
}

/// "On CYBER DEFENCE, Japan and NATO …" → "CYBER DEFENCE".
fn on_phrase(rest: &str) -> Option<&str> {
    let after = rest.strip_prefix("On ")?;
    let comma = after.find(',')?;
    let mut phrase = after.get(..comma)?;
    // "On ARMS CONTROL, DISARMAMENT AND NON-PROLIFERATION, Japan …": the phrase runs while upper case.
    let mut end = comma;
    while let Some(next) = after.get(end + 1..).and_then(|t| t.find(',')) {
        let candidate = after.get(..end + 1 + next)?;
        let added = after.get(end + 1..end + 1 + next)?;
        if is_upper(added) {
            phrase = candidate;
            end += 1 + next;
        } else {
            break;
        }
    }
    is_upper(phrase).then_some(phrase)
}

/// A short title for an item: its label ("Cyber defence: …"), else its first clause when long.
fn item_title(rest: &str) -> String {
    if let Some(phrase) = on_phrase(rest) {
        return clean_title(&sentence_case(phrase));
    }
    for sep in [": ", " – ", " — ", " - "] {
        if let Some((head, _)) = rest.split_once(sep) {
            let words = head.split_whitespace().count();
            if (1..=10).contains(&words) && !head.contains('.') {
                return clean_title(&sentence_case(head));
            }
        }
    }
    short_title(rest)
}

fn short_title(text: &str) -> String {
    let t = clean_title(text);
    if t.chars().count() <= 120 {
        return t;
    }
    let mut cut = String::new();
    for piece in t.split(", ") {
        if !cut.is_empty() && cut.split_whitespace().count() >= 3 {
            break;
        }
        if !cut.is_empty() {
            cut.push_str(", ");
        }
        cut.push_str(piece);
    }
    clean_title(&truncate_words(&cut, 120))
}

fn capitalise_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn letter_code(n: usize) -> String {
    let n = u32::try_from(n).unwrap_or(26);
    if (1..=26).contains(&n) {
        char::from_u32(u32::from(b'a') + n - 1).map_or_else(|| n.to_string(), |c| c.to_string())
    } else {
        n.to_string()
    }
}

pub fn read(body: &[Block], kind: DocumentKind) -> Programme {
    let mut p = Programme::default();
    let mut ctx = Ctx::None;
    let mut list: Option<List> = None;
    let mut issue: Option<usize> = None;
    let mut section: Option<String> = None;
    let programme_kind = kind.is_programme() && kind != DocumentKind::Other;

    for b in body {
        let lower_rest = b.rest.to_lowercase();
        if b.kind == BlockKind::Heading {
            list = None;
            let heading_ctx = ctx_of_heading(&lower_rest);
            let names_issue = lower_rest.contains("issue") || b.keyword() == Some(Keyword::Issue);
            let unmarked_upper = b.marker.is_none() && is_upper(&b.text) && heading_ctx == Ctx::None;
            if ctx == Ctx::Goals && (names_issue || unmarked_upper) && heading_ctx != Ctx::Objectives {
                issue = Some(push_issue(&mut p, b, &b.rest));
                continue;
            }
            ctx = heading_ctx;
            issue = None;
            section = b.label().map(str::to_owned);
            continue;
        }

        // Elements named by their keyword: "Strategic Objective 1:", "Partnership Goal 3", "Area 4.".
        let inner = numbering::parse(&b.rest);
        let keyword = b.keyword().or_else(|| match inner.marker.as_ref().map(|m| m.scheme) {
            Some(Scheme::Keyword(k)) if !k.is_division() => Some(k),
            _ => None,
        });
        let (keyword_label, keyword_rest) = match (b.keyword(), &inner.marker) {
            (Some(_), _) => (b.label().unwrap_or("").to_owned(), b.rest.clone()),
            (None, Some(m)) => (m.label.clone(), inner.rest.trim().to_owned()),
            (None, None) => (String::new(), b.rest.clone()),
        };
        match keyword {
            Some(Keyword::Objective) => {
                p.objectives.push(Item {
                    code: keyword_label,
                    title: nonempty(item_title(&keyword_rest), &b.rest),
                    text: squash(&b.rest),
                    line: b.line,
                });
                continue;
            }
            Some(Keyword::Issue) => {
                ctx = Ctx::Goals;
                issue = Some(push_issue(&mut p, b, &keyword_rest));
                continue;
            }
            Some(Keyword::Goal) => {
                push_goal(&mut p, issue, b, Some(keyword_label), &keyword_rest);
                continue;
            }
            Some(Keyword::Area) => {
                p.areas.push(Item {
                    code: keyword_label,
                    title: nonempty(clean_title(&keyword_rest), &b.rest),
                    text: squash(&keyword_rest),
                    line: b.line,
                });
                continue;
            }
            _ => {}
        }

        let in_goals = ctx == Ctx::Goals || list.as_ref().is_some_and(|l| l.kind == Ctx::Goals);
        // A priority issue: an upper-case line in the goals part ("a. EMERGING SECURITY ISSUES:").
        let issue_text = b.rest.trim_end_matches(':').trim();
        if in_goals && is_upper(issue_text) && issue_text.chars().count() <= 200 && on_phrase(&b.rest).is_none() {
            ctx = Ctx::Goals;
            list = None;
            issue = Some(push_issue(&mut p, b, issue_text));
            continue;
        }
        // A goal: "On CYBER DEFENCE, …", or any item under a priority issue.
        let is_item = b.marker.is_some() || b.bullet;
        if (in_goals || issue.is_some()) && on_phrase(&b.rest).is_some()
            || ctx == Ctx::Goals && issue.is_some() && is_item && b.decimal().is_none_or(|d| d.len() > 1)
        {
            if issue.is_none() && !p.issues.is_empty() {
                p.warnings.push(Warning {
                    line: b.line,
                    message: "a partnership goal outside any priority issue".to_owned(),
                });
            }
            let own = b.marker.as_ref().map(|m| m.label.clone());
            push_goal(&mut p, issue, b, own, &b.rest);
            continue;
        }

        // Members of an announced list.
        if let Some(l) = list.as_mut() {
            if belongs(l, b) {
                l.count += 1;
                let code = list_code(l, b);
                let item = match l.kind {
                    Ctx::Modalities => {
                        let rest = b.rest.strip_prefix("To ").map(capitalise_first).unwrap_or_else(|| b.rest.clone());
                        Item { code, title: nonempty(short_title(&rest), &b.rest), text: squash(&b.rest), line: b.line }
                    }
                    Ctx::Objectives => Item {
                        code,
                        title: nonempty(item_title(&b.rest), &b.rest),
                        text: squash(&b.rest),
                        line: b.line,
                    },
                    _ => Item {
                        code,
                        title: nonempty(clean_title(&b.rest), &b.rest),
                        text: squash(&b.rest),
                        line: b.line,
                    },
                };
                match l.kind {
                    Ctx::Areas => p.areas.push(item),
                    Ctx::Objectives => p.objectives.push(item),
                    Ctx::Modalities => p.modalities.push(item),
                    Ctx::Goals => {
                        let own = b.marker.as_ref().map(|m| m.label.clone());
                        push_goal(&mut p, issue, b, own, &b.rest);
                    }
                    Ctx::None => {}
                }
                continue;
            }
            list = None;
        }

        if b.rest.ends_with(':') {
            let kind = ctx_of_intro(&lower_rest, ctx);
            if kind != Ctx::None {
                if kind == Ctx::Goals {
                    ctx = Ctx::Goals;
                }
                let prefix = b.label().map(str::to_owned).or_else(|| section.clone());
                list = Some(List { kind, intro: b.decimal().map(<[u32]>::to_vec), prefix, count: 0 });
                continue;
            }
        }

        if programme_kind {
            such_as(&mut p, b);
        }
    }

    for i in &p.issues {
        if i.goals.is_empty() {
            p.warnings.push(Warning { line: i.line, message: format!("priority issue `{}` has no goals", i.title) });
        }
    }
    if programme_kind {
        check_counts(&mut p, body);
    }
    p
}

fn nonempty(title: String, fallback: &str) -> String {
    if title.trim().is_empty() {
        let t = clean_title(fallback);
        if t.is_empty() { "Untitled".to_owned() } else { t }
    } else {
        title
    }
}

fn push_issue(p: &mut Programme, b: &Block, text: &str) -> usize {
    let mut title = text.trim().trim_end_matches(':').trim().to_owned();
    for prefix in ["Priority Issue", "PRIORITY ISSUE", "Priority issue"] {
        if let Some(t) = title.strip_prefix(prefix) {
            title = numbering::parse(t.trim_start_matches([':', ' ', '–', '-'])).rest.trim().to_owned();
            title = title.trim_start_matches([':', ' ', '–', '-']).to_owned();
        }
    }
    let code = b.label().map(str::to_owned).unwrap_or_else(|| letter_code(p.issues.len() + 1));
    p.issues.push(PriorityIssue {
        code,
        title: nonempty(clean_title(&sentence_case(&title)), &b.text),
        line: b.line,
        goals: Vec::new(),
    });
    p.issues.len() - 1
}

fn push_goal(p: &mut Programme, issue: Option<usize>, b: &Block, own: Option<String>, rest: &str) {
    let item = |code: String| Item { code, title: nonempty(item_title(rest), rest), text: squash(rest), line: b.line };
    match issue.and_then(|i| p.issues.get_mut(i)) {
        Some(iss) => {
            let local = own.unwrap_or_else(|| (iss.goals.len() + 1).to_string());
            let it = item(format!("{}.{}", iss.code, local));
            iss.goals.push(it.clone());
            p.goals.push(it);
        }
        None => {
            let code = own.unwrap_or_else(|| (p.goals.len() + 1).to_string());
            p.goals.push(item(code));
        }
    }
}

fn belongs(l: &List, b: &Block) -> bool {
    if b.kind != BlockKind::Item {
        return false;
    }
    match (b.decimal(), &l.intro) {
        (Some(d), Some(intro)) => d.len() > intro.len() && d.starts_with(intro),
        (Some(d), None) => !d.is_empty(),
        (None, _) => true,
    }
}

fn list_code(l: &List, b: &Block) -> String {
    match (b.decimal(), &b.marker) {
        (Some(d), Some(m)) if d.len() > 1 => m.label.clone(),
        (_, Some(m)) => match &l.prefix {
            Some(prefix) => format!("{prefix}.{}", m.label),
            None => m.label.clone(),
        },
        (_, None) => match &l.prefix {
            Some(prefix) => format!("{prefix}.{}", l.count),
            None => l.count.to_string(),
        },
    }
}

/// "… through activities such as policy consultations, joint training and exercises, and research
/// cooperation." → one modality per listed activity.
fn such_as(p: &mut Programme, b: &Block) {
    const PHRASES: [&str; 4] =
        ["activities such as ", "modalities such as ", "forms of cooperation such as ", "activities including "];
    // ASCII lower-casing keeps byte offsets, so positions found here are valid in `b.rest`.
    let lower = b.rest.to_ascii_lowercase();
    let Some(start) = PHRASES.iter().find_map(|ph| lower.find(ph).map(|i| i + ph.len())) else {
        return;
    };
    let Some(tail) = b.rest.get(start..) else { return };
    let sentence = tail.split(['.', ';']).next().unwrap_or("");
    let prefix = b.label().map(str::to_owned);
    let mut n = 0;
    for piece in sentence.split(',') {
        let piece = piece.trim();
        let piece = piece.strip_prefix("and ").or_else(|| piece.strip_prefix("or ")).unwrap_or(piece).trim();
        if piece.is_empty() || piece.split_whitespace().count() > 8 {
            continue;
        }
        n += 1;
        let code = match &prefix {
            Some(pre) => format!("{pre}.{n}"),
            None => format!("m{n}"),
        };
        p.modalities.push(Item {
            code,
            title: clean_title(&capitalise_first(piece)),
            text: piece.to_owned(),
            line: b.line,
        });
    }
}

fn number_value(word: &str) -> Option<usize> {
    const WORDS: [&str; 20] = [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    word.parse().ok().or_else(|| WORDS.iter().position(|w| *w == word).map(|i| i + 1))
}

/// The first count a text states for a noun: "16 Goals", "three Strategic Objectives", "4 priority issues".
fn stated(body: &[Block], noun: &str, qualifiers: &[&str]) -> Option<(usize, u32)> {
    for b in body.iter().filter(|b| b.kind != BlockKind::Heading) {
        let words = words_lower(&b.rest);
        for (i, w) in words.iter().enumerate() {
            if w != noun {
                continue;
            }
            let mut j = i;
            while j > 0 && words.get(j - 1).is_some_and(|q| qualifiers.contains(&q.as_str())) {
                j -= 1;
            }
            if let Some(n) = j.checked_sub(1).and_then(|k| words.get(k)).and_then(|w| number_value(w)) {
                return Some((n, b.line));
            }
        }
    }
    None
}

fn check_counts(p: &mut Programme, body: &[Block]) {
    let checks = [
        ("goals", &["partnership"][..], p.goals.len(), "partnership goals"),
        ("issues", &["priority"][..], p.issues.len(), "priority issues"),
        ("objectives", &["strategic"][..], p.objectives.len(), "strategic objectives"),
        ("areas", &["priority"][..], p.areas.len(), "priority areas"),
    ];
    for (noun, qualifiers, found, name) in checks {
        if let Some((n, line)) = stated(body, noun, qualifiers)
            && n != found
        {
            p.warnings.push(Warning {
                line,
                message: format!("the text states {n} {name}, but {found} were found; check the list"),
            });
        }
    }
}
