//! Behaviour of [`TantivyMenuIndex`] through the [`MenuIndex`] trait.

use proptest::prelude::*;
use time::macros::date;

use crate::index::Change;
use crate::{FacetCount, MenuEntry, MenuIndex, MenuQuery, SearchError, TantivyMenuIndex, Visibility};

fn entry(id: &str, code: &str, title: &str) -> MenuEntry {
    MenuEntry {
        id: id.into(),
        code: code.into(),
        title: title.into(),
        description: String::new(),
        provider: "NSO".into(),
        provider_name: "NATO School Oberammergau".into(),
        areas: vec!["EDU".into()],
        area_titles: vec!["Education and training".into()],
        event_type: "course".into(),
        status: "published".into(),
        months: vec!["2026-03".into()],
        locations: vec!["Oberammergau".into()],
        languages: vec!["en".into()],
        open_seats: 5,
        first_day: Some(date!(2026 - 03 - 10)),
        audiences: Vec::new(),
        public: true,
    }
}

fn index(entries: Vec<MenuEntry>) -> TantivyMenuIndex {
    let index = TantivyMenuIndex::new().unwrap();
    index.upsert(entries).unwrap();
    index
}

fn text(q: &str) -> MenuQuery {
    MenuQuery { q: Some(q.into()), limit: 100, ..MenuQuery::default() }
}

fn all() -> MenuQuery {
    MenuQuery { limit: 100, ..MenuQuery::default() }
}

fn ids(index: &TantivyMenuIndex, v: &Visibility, q: &MenuQuery) -> Vec<String> {
    index.search(v, q).unwrap().hits.into_iter().map(|h| h.id).collect()
}

fn everyone() -> Visibility {
    Visibility::everything()
}

/// An entry `jpn` released to Japan alone, a seminar.
fn japan_only_seminar(title: &str) -> MenuEntry {
    let mut hidden = entry("jpn", "J", title);
    hidden.public = false;
    hidden.audiences = vec!["JPN".into()];
    hidden.event_type = "seminar".into();
    hidden
}

fn counts(list: &[FacetCount]) -> Vec<(&str, u64)> {
    list.iter().map(|c| (c.value.as_str(), c.count)).collect()
}

#[test]
fn title_matches_rank_above_description_matches() {
    let mut in_desc = entry("a", "A-1", "Maritime security");
    in_desc.description = "Includes a module on cyber defence.".into();
    let in_title = entry("b", "B-1", "Cyber defence fundamentals");
    let idx = index(vec![in_desc, in_title]);
    assert_eq!(ids(&idx, &everyone(), &text("cyber")), ["b", "a"]);
    let hits = idx.search(&everyone(), &text("cyber")).unwrap().hits;
    assert!(hits[0].score > hits[1].score && hits[1].score > 0.0);
}

#[test]
fn all_words_must_match_case_insensitively_with_stemming() {
    let idx = index(vec![
        entry("a", "A", "Cyber Defence Exercises"),
        entry("b", "B", "Cyber awareness"),
        entry("c", "C", "Defence planning"),
    ]);
    assert_eq!(ids(&idx, &everyone(), &text("CYBER defence")), ["a"]);
    assert_eq!(ids(&idx, &everyone(), &text("exercise")), ["a"]);
    assert!(ids(&idx, &everyone(), &text("cyber planning")).is_empty());
}

#[test]
fn searches_provider_areas_and_code_too() {
    let mut e = entry("a", "CYB-NS-2026-014", "Something");
    e.provider = "NSO".into();
    e.areas = vec!["CYB".into()];
    e.area_titles = vec!["Cyber defence".into()];
    let mut other = entry("b", "EDU-2026-001", "Other");
    other.provider = "JFC".into();
    other.provider_name = "Joint Force Command".into();
    let idx = index(vec![e, other]);
    assert_eq!(ids(&idx, &everyone(), &text("oberammergau")), ["a"]);
    assert_eq!(ids(&idx, &everyone(), &text("nso")), ["a"]);
    assert_eq!(ids(&idx, &everyone(), &text("cyber")), ["a"]);
    assert_eq!(ids(&idx, &everyone(), &text("CYB-NS-2026-014")), ["a"]);
    assert_eq!(ids(&idx, &everyone(), &text("joint force")), ["b"]);
}

#[test]
fn ties_and_browsing_order_by_first_day_then_code() {
    let mut late = entry("a", "Z-1", "Cyber course");
    late.first_day = Some(date!(2026 - 06 - 01));
    let mut early = entry("b", "Y-1", "Cyber course");
    early.first_day = Some(date!(2026 - 02 - 01));
    let mut undated = entry("c", "A-1", "Cyber course");
    undated.first_day = None;
    let mut same_day = entry("d", "B-1", "Cyber course");
    same_day.first_day = Some(date!(2026 - 06 - 01));
    let idx = index(vec![late, early, undated, same_day]);
    // Equal scores: first day, then id.
    assert_eq!(ids(&idx, &everyone(), &text("cyber")), ["b", "a", "d", "c"]);
    // No text: first day (undated last), then code.
    assert_eq!(ids(&idx, &everyone(), &all()), ["b", "d", "a", "c"]);
}

#[test]
fn browsing_from_a_day_lists_what_is_coming_first_then_the_past_latest_first() {
    let day = |d: time::Date, id: &str, code: &str| MenuEntry { first_day: Some(d), ..entry(id, code, "Course") };
    let mut undated = entry("u", "U", "Course");
    undated.first_day = None;
    let idx = index(vec![
        day(date!(2026 - 01 - 10), "old", "A"),
        day(date!(2026 - 11 - 30), "recent", "B"),
        day(date!(2026 - 12 - 05), "today", "C"),
        day(date!(2027 - 02 - 01), "soon", "D"),
        day(date!(2027 - 02 - 01), "soon-too", "E"),
        undated,
    ]);
    let from = MenuQuery { upcoming_from: Some(date!(2026 - 12 - 05)), ..all() };
    assert_eq!(ids(&idx, &everyone(), &from), ["today", "soon", "soon-too", "u", "recent", "old"]);
    assert_eq!(ids(&idx, &everyone(), &all())[0], "old", "without a day, oldest first");
    // Pages follow the same order.
    let second = MenuQuery { offset: 2, limit: 2, ..from.clone() };
    assert_eq!(ids(&idx, &everyone(), &second), ["soon-too", "u"]);
    // Words rank by relevance whatever the day.
    let text = MenuQuery { q: Some("course".into()), ..from };
    assert_eq!(ids(&idx, &everyone(), &text).len(), 6);
}

#[test]
fn phrases_need_the_words_in_order() {
    let idx = index(vec![entry("a", "A", "Crisis management course"), entry("b", "B", "Management of a crisis")]);
    assert_eq!(ids(&idx, &everyone(), &text("\"crisis management\"")), ["a"]);
    let mut both = ids(&idx, &everyone(), &text("crisis management"));
    both.sort();
    assert_eq!(both, ["a", "b"]);
    assert_eq!(ids(&idx, &everyone(), &text("\"Crisis\"")).len(), 2);
}

#[test]
fn longer_phrases_need_every_adjacent_pair() {
    let idx = index(vec![
        entry("a", "A", "Senior crisis management course"),
        entry("b", "B", "Crisis response and management course"),
    ]);
    assert_eq!(ids(&idx, &everyone(), &text("\"crisis management course\"")), ["a"]);
    assert_eq!(ids(&idx, &everyone(), &text("\"Crisis-Management\"")), ["a"]);
    assert!(ids(&idx, &everyone(), &text("\"course management\"")).is_empty());
}

#[test]
fn prefixes_match_word_beginnings() {
    let idx = index(vec![
        entry("a", "A", "Cybersecurity basics"),
        entry("b", "B", "Cyber defence"),
        entry("c", "C", "Security sector reform"),
    ]);
    let mut found = ids(&idx, &everyone(), &text("cyb*"));
    found.sort();
    assert_eq!(found, ["a", "b"]);
    // Longer than the stem ("secur"): still found, prefixes look at unstemmed words.
    assert_eq!(ids(&idx, &everyone(), &text("securit*")), ["c"]);
    assert_eq!(ids(&idx, &everyone(), &text("cyb* defen*")), ["b"]);
}

#[test]
fn malformed_queries_are_query_errors_and_blank_means_no_text() {
    let idx = index(vec![entry("a", "A", "Cyber")]);
    for q in ["\"cyber", "*", "cy*ber", "\"\"", "!!! ---"] {
        match idx.search(&everyone(), &text(q)) {
            Err(SearchError::Query(msg)) => assert!(!msg.is_empty()),
            other => panic!("{q:?} gave {other:?}"),
        }
    }
    assert_eq!(idx.search(&everyone(), &text("   ")).unwrap().total, 1);
    assert_eq!(idx.search(&everyone(), &text("")).unwrap().total, 1);
}

fn facet_fixture() -> TantivyMenuIndex {
    let mut a = entry("a", "A", "Cyber course");
    a.areas = vec!["CYB".into(), "EDU".into()];
    a.event_type = "course".into();
    a.months = vec!["2026-03".into(), "2026-05".into()];
    a.languages = vec!["en".into(), "fr".into()];
    let mut b = entry("b", "B", "Cyber seminar");
    b.areas = vec!["CYB".into()];
    b.event_type = "seminar".into();
    b.provider = "JFC".into();
    b.locations = vec!["online".into()];
    b.open_seats = 0;
    let mut c = entry("c", "C", "Logistics course");
    c.areas = vec!["LOG".into()];
    c.event_type = "course".into();
    c.months = vec!["2026-01".into()];
    c.status = "draft".into();
    index(vec![a, b, c])
}

#[test]
fn facet_counts_cover_the_matching_set() {
    let idx = facet_fixture();
    let r = idx.search(&everyone(), &all()).unwrap();
    assert_eq!(r.total, 3);
    assert_eq!(counts(&r.facets.area), [("CYB", 2), ("EDU", 1), ("LOG", 1)]);
    assert_eq!(counts(&r.facets.event_type), [("course", 2), ("seminar", 1)]);
    assert_eq!(counts(&r.facets.provider), [("NSO", 2), ("JFC", 1)]);
    assert_eq!(counts(&r.facets.month), [("2026-01", 1), ("2026-03", 2), ("2026-05", 1)]);
    assert_eq!(counts(&r.facets.location), [("Oberammergau", 2), ("online", 1)]);
    assert_eq!(counts(&r.facets.language), [("en", 3), ("fr", 1)]);
    assert_eq!(counts(&r.facets.open_seats), [("yes", 2), ("no", 1)]);
    let r = idx.search(&everyone(), &text("cyber")).unwrap();
    assert_eq!(counts(&r.facets.area), [("CYB", 2), ("EDU", 1)]);
}

#[test]
fn each_facet_filters() {
    let idx = facet_fixture();
    let sorted = |q: MenuQuery| {
        let mut v = ids(&idx, &everyone(), &q);
        v.sort();
        v
    };
    let q = all;
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(sorted(MenuQuery { areas: s(&["EDU", "LOG"]), ..q() }), ["a", "c"]);
    assert_eq!(sorted(MenuQuery { event_types: s(&["seminar"]), ..q() }), ["b"]);
    assert_eq!(sorted(MenuQuery { providers: s(&["JFC"]), ..q() }), ["b"]);
    assert_eq!(sorted(MenuQuery { months: s(&["2026-05", "2026-01"]), ..q() }), ["a", "c"]);
    assert_eq!(sorted(MenuQuery { locations: s(&["online"]), ..q() }), ["b"]);
    assert_eq!(sorted(MenuQuery { languages: s(&["fr"]), ..q() }), ["a"]);
    assert_eq!(sorted(MenuQuery { statuses: s(&["draft"]), ..q() }), ["c"]);
    assert_eq!(sorted(MenuQuery { open_seats: Some(true), ..q() }), ["a", "c"]);
    assert_eq!(sorted(MenuQuery { open_seats: Some(false), ..q() }), ["b"]);
    assert_eq!(sorted(MenuQuery { areas: s(&["CYB"]), event_types: s(&["course"]), ..q() }), ["a"]);
    assert!(sorted(MenuQuery { areas: s(&["NOPE"]), ..q() }).is_empty());
}

#[test]
fn facet_counts_drill_sideways() {
    let idx = facet_fixture();
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let r = idx.search(&everyone(), &MenuQuery { event_types: s(&["course"]), ..all() }).unwrap();
    assert_eq!(r.total, 2);
    // The selected facet still shows its alternatives...
    assert_eq!(counts(&r.facets.event_type), [("course", 2), ("seminar", 1)]);
    // ...while the others count only courses.
    assert_eq!(counts(&r.facets.area), [("CYB", 1), ("EDU", 1), ("LOG", 1)]);
    assert_eq!(counts(&r.facets.open_seats), [("yes", 2)]);

    let r = idx.search(&everyone(), &MenuQuery { event_types: s(&["course"]), areas: s(&["CYB"]), ..all() }).unwrap();
    assert_eq!(r.total, 1);
    // Event types among CYB entries, areas among courses.
    assert_eq!(counts(&r.facets.event_type), [("course", 1), ("seminar", 1)]);
    assert_eq!(counts(&r.facets.area), [("CYB", 1), ("EDU", 1), ("LOG", 1)]);
    assert_eq!(counts(&r.facets.provider), [("NSO", 1)]);

    // Status filters everything but has no counts of its own.
    let r = idx.search(&everyone(), &MenuQuery { statuses: s(&["published"]), ..all() }).unwrap();
    assert_eq!(counts(&r.facets.event_type), [("course", 1), ("seminar", 1)]);
    let r = idx.search(&everyone(), &MenuQuery { open_seats: Some(true), ..all() }).unwrap();
    assert_eq!(counts(&r.facets.open_seats), [("yes", 2), ("no", 1)]);
}

#[test]
fn facets_are_capped_at_fifty_values_and_months_sorted_by_value() {
    let entries = (0..60)
        .map(|i| {
            let mut e = entry(&format!("id{i:02}"), &format!("C{i:02}"), "Course");
            e.locations = vec![format!("loc{i:02}")];
            e.months = vec![format!("2030-{:02}", i % 12 + 1), format!("{}-01", 1900 + i)];
            e
        })
        .collect();
    let r = index(entries).search(&everyone(), &all()).unwrap();
    assert_eq!(r.facets.location.len(), 50);
    assert_eq!(r.facets.month.len(), 50);
    let months: Vec<&str> = r.facets.month.iter().map(|c| c.value.as_str()).collect();
    let mut sorted = months.clone();
    sorted.sort();
    assert_eq!(months, sorted);
    // The twelve frequent months (5 each) are kept over single ones.
    assert_eq!(r.facets.month.iter().filter(|c| c.count == 5).count(), 12);
}

#[test]
fn visibility_is_enforced_in_hits_and_counts() {
    let mut jpn = japan_only_seminar("Cyber course for Japan");
    jpn.areas = vec!["SECRET".into()];
    let mut partners = entry("partners", "P", "Cyber course for partners");
    partners.public = false;
    partners.audiences = vec!["PARTNERS".into(), "NSO".into()];
    let open = entry("open", "O", "Cyber course for all");
    let idx = index(vec![jpn, partners, open]);

    let kor = Visibility::of(["KOR"]);
    for q in [all(), text("cyber"), text("japan"), MenuQuery { event_types: vec!["seminar".into()], ..all() }] {
        let r = idx.search(&kor, &q).unwrap();
        assert!(r.hits.iter().all(|h| h.id == "open"), "{q:?}: {r:?}");
        assert!(r.facets.area.iter().all(|c| c.value != "SECRET"));
        assert!(r.facets.event_type.iter().all(|c| c.value != "seminar"));
    }
    assert_eq!(idx.search(&kor, &all()).unwrap().total, 1);
    // Drill-sideways counts must not leak either: with a filter that excludes everything visible, the
    // hidden seminar is still not counted as an alternative.
    let r = idx.search(&kor, &MenuQuery { event_types: vec!["seminar".into()], ..all() }).unwrap();
    assert_eq!((r.total, counts(&r.facets.event_type)), (0, vec![("course", 1)]));
    assert_eq!(idx.search(&Visibility::default(), &all()).unwrap().total, 1);

    let mut jp = ids(&idx, &Visibility::of(["JPN"]), &all());
    jp.sort();
    assert_eq!(jp, ["jpn", "open"]);
    let mut kor_partner = ids(&idx, &Visibility::of(["KOR", "PARTNERS"]), &text("cyber"));
    kor_partner.sort();
    assert_eq!(kor_partner, ["open", "partners"]);
    let r = idx.search(&everyone(), &all()).unwrap();
    assert_eq!(r.total, 3);
    assert_eq!(counts(&r.facets.event_type), [("course", 2), ("seminar", 1)]);
    // Visibility adds nothing to relevance.
    let s1 = idx.search(&everyone(), &text("cyber")).unwrap().hits;
    let s2 = idx.search(&Visibility::of(["JPN"]), &text("cyber")).unwrap().hits;
    assert_eq!(s1.iter().find(|h| h.id == "open").unwrap().score, s2.iter().find(|h| h.id == "open").unwrap().score);
}

#[test]
fn upsert_replaces_and_remove_removes() {
    let idx = index(vec![entry("a", "A", "Cyber course"), entry("b", "B", "Logistics")]);
    assert_eq!(idx.len(), 2);
    idx.upsert(vec![entry("a", "A", "Maritime course")]).unwrap();
    assert_eq!(idx.len(), 2);
    assert!(ids(&idx, &everyone(), &text("cyber")).is_empty());
    assert_eq!(ids(&idx, &everyone(), &text("maritime")), ["a"]);
    // Within one batch the last version of an id wins.
    idx.upsert(vec![entry("c", "C", "First"), entry("c", "C", "Second")]).unwrap();
    assert_eq!(idx.len(), 3);
    assert_eq!(ids(&idx, &everyone(), &text("second")), ["c"]);
    assert!(ids(&idx, &everyone(), &text("first")).is_empty());

    // Hiding an entry by re-releasing it takes effect at once.
    let mut hidden = entry("a", "A", "Maritime course");
    hidden.public = false;
    hidden.audiences = vec!["JPN".into()];
    idx.upsert(vec![hidden]).unwrap();
    assert!(ids(&idx, &Visibility::of(["KOR"]), &text("maritime")).is_empty());

    idx.remove(&["a".into(), "unknown".into()]).unwrap();
    assert_eq!(idx.len(), 2);
    assert!(ids(&idx, &everyone(), &text("maritime")).is_empty());
    let r = idx.search(&everyone(), &all()).unwrap();
    assert_eq!(r.total, 2);
    assert_eq!(counts(&r.facets.event_type), [("course", 2)]);
    idx.remove(&[]).unwrap();
    idx.upsert(Vec::new()).unwrap();
}

#[test]
fn pages_through_hits() {
    let idx = index((0..25).map(|i| entry(&format!("id{i:02}"), &format!("C{i:02}"), "Course")).collect());
    let page = |offset, limit| {
        let r = idx.search(&everyone(), &MenuQuery { offset, limit, ..MenuQuery::default() }).unwrap();
        assert_eq!(r.total, 25);
        r.hits.into_iter().map(|h| h.id).collect::<Vec<_>>()
    };
    assert_eq!(page(0, 3), ["id00", "id01", "id02"]);
    assert_eq!(page(10, 2), ["id10", "id11"]);
    assert_eq!(page(24, 10), ["id24"]);
    assert!(page(30, 10).is_empty());
    assert!(page(0, 0).is_empty());
}

#[test]
fn search_from_many_threads_while_updating() {
    let idx = std::sync::Arc::new(index((0..50).map(|i| entry(&format!("{i}"), "C", "Cyber course")).collect()));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let idx = idx.clone();
            s.spawn(move || {
                for _ in 0..50 {
                    let r = idx.search(&everyone(), &text("cyber")).unwrap();
                    assert!(r.total >= 50);
                }
            });
        }
        for i in 50..60 {
            idx.upsert(vec![entry(&format!("{i}"), "C", "Cyber course")]).unwrap();
        }
    });
    assert_eq!(idx.search(&everyone(), &text("cyber")).unwrap().total, 60);
}

#[test]
fn writes_queued_behind_a_commit_share_the_next_one_and_each_sees_its_own() {
    let idx = index(vec![entry("0", "C", "Course")]);
    let before = idx.commits();
    std::thread::scope(|s| {
        // Hold the writer, as a long commit would, while eight writers queue behind it.
        let writer = idx.writer.lock().unwrap();
        const WORDS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
        let writers: Vec<_> = WORDS
            .iter()
            .enumerate()
            .map(|(i, word)| {
                let idx = &idx;
                s.spawn(move || {
                    // Two of them change the same entry; the other six add their own.
                    let id = if i < 2 { "0".to_owned() } else { i.to_string() };
                    idx.upsert(vec![entry(&id, "C", &format!("Course {word}"))]).unwrap();
                    if i >= 2 {
                        assert_eq!(ids(idx, &everyone(), &text(word)), [id], "visible on return");
                    }
                })
            })
            .collect();
        while idx.queue.lock().unwrap().len() < 8 {
            std::thread::yield_now();
        }
        drop(writer);
        for w in writers {
            w.join().unwrap();
        }
    });
    assert_eq!(idx.commits() - before, 1, "the eight queued writes are one commit");
    assert_eq!(idx.len(), 7);
    // Whichever of the two same-id writes went last, exactly one version of the entry is left.
    let versions: Vec<_> = ["alpha", "bravo"].iter().flat_map(|w| ids(&idx, &everyone(), &text(w))).collect();
    assert_eq!(versions, ["0"]);
}

#[test]
fn a_batch_applies_its_changes_in_order() {
    let idx = index(vec![entry("a", "A", "Cyber course")]);
    let changes = [
        Change::Remove(vec!["a".into()]),
        Change::Upsert(vec![entry("a", "A", "Maritime course"), entry("b", "B", "Logistics")]),
        Change::Upsert(vec![entry("b", "B", "Medical")]),
        Change::Remove(vec!["b".into()]),
        Change::Upsert(vec![entry("c", "C", "Logistics")]),
    ];
    idx.commit(&mut idx.writer.lock().unwrap(), changes.iter()).unwrap();
    assert_eq!(ids(&idx, &everyone(), &all()), ["a", "c"]);
    assert_eq!(ids(&idx, &everyone(), &text("maritime")), ["a"]);
    assert!(ids(&idx, &everyone(), &text("cyber")).is_empty());
    assert!(ids(&idx, &everyone(), &text("medical")).is_empty());
}

/// One change to a tiny menu: ids `a`–`d`, titles of one word each.
fn tiny_change() -> impl Strategy<Value = Change> {
    let id = prop::sample::select(vec!["a", "b", "c", "d"]);
    let word = prop::sample::select(vec!["alpha", "bravo", "charlie", "delta"]);
    prop_oneof![
        prop::collection::vec((id.clone(), word), 1..3).prop_map(|entries| Change::Upsert(
            entries.into_iter().map(|(id, word)| entry(id, "C", &format!("Course {word}"))).collect()
        )),
        prop::collection::vec(id, 1..3).prop_map(|ids| Change::Remove(ids.into_iter().map(str::to_owned).collect())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// However the queued changes are grouped into commits, the index ends as if each had been
    /// committed alone, in order: the last version of an entry wins, a removal removes what came
    /// before it in the same commit and nothing after it.
    #[test]
    fn changes_grouped_into_commits_end_as_if_made_one_by_one(
        changes in prop::collection::vec(tiny_change(), 1..12),
        cuts in prop::collection::vec(any::<bool>(), 12),
    ) {
        let idx = index(vec![entry("a", "C", "Course alpha"), entry("b", "C", "Course bravo")]);
        let mut model: std::collections::BTreeMap<String, String> =
            [("a", "alpha"), ("b", "bravo")].into_iter().map(|(i, w)| (i.to_owned(), w.to_owned())).collect();
        for change in &changes {
            match change {
                Change::Upsert(entries) => {
                    for e in entries {
                        model.insert(e.id.clone(), e.title.trim_start_matches("Course ").to_owned());
                    }
                }
                Change::Remove(ids) => {
                    for id in ids {
                        model.remove(id);
                    }
                }
            }
        }
        let mut batch = Vec::new();
        for (i, change) in changes.iter().enumerate() {
            batch.push(change);
            if cuts[i] || i + 1 == changes.len() {
                idx.commit(&mut idx.writer.lock().unwrap(), batch.drain(..)).unwrap();
            }
        }
        let mut listed = ids(&idx, &everyone(), &all());
        listed.sort();
        prop_assert_eq!(listed, model.keys().cloned().collect::<Vec<_>>());
        for word in ["alpha", "bravo", "charlie", "delta"] {
            let mut found = ids(&idx, &everyone(), &text(word));
            found.sort();
            let expected: Vec<String> = model.iter().filter(|(_, w)| *w == word).map(|(id, _)| id.clone()).collect();
            prop_assert_eq!(found, expected, "entries titled {}", word);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_queries_never_panic(q in any::<String>(), typed in "[a-z\"* ()+:~^\\-]{0,30}", area in any::<String>()) {
        let idx = shared_index();
        for q in [q, typed] {
            let query = MenuQuery { q: Some(q), areas: vec![area.clone()], limit: 10, ..MenuQuery::default() };
            match idx.search(&Visibility::of([area.clone()]), &query) {
                Ok(_) | Err(SearchError::Query(_)) => {}
                Err(e) => prop_assert!(false, "{e:?}"),
            }
        }
    }
}

fn shared_index() -> &'static TantivyMenuIndex {
    static INDEX: std::sync::OnceLock<TantivyMenuIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| index(vec![entry("a", "A", "Cyber defence course"), entry("b", "B", "Crisis management")]))
}

#[test]
fn counts_agree_document_by_document_and_by_bitmap() {
    // 300 locations: too many for per-value bitmaps, so locations are counted document by document while
    // the other facets use bitmaps; both must give the same numbers.
    let entries = (0..300)
        .map(|i| {
            let mut e = entry(&format!("id{i:03}"), &format!("C{i:03}"), if i % 3 == 0 { "Cyber" } else { "Other" });
            e.locations = vec![format!("loc{:03}", i % 150)];
            e.event_type = if i % 2 == 0 { "course" } else { "seminar" }.into();
            e
        })
        .collect();
    let idx = index(entries);
    let r = idx.search(&everyone(), &text("cyber")).unwrap();
    assert_eq!(r.total, 100);
    assert_eq!(counts(&r.facets.event_type), [("course", 50), ("seminar", 50)]);
    assert_eq!(r.facets.location.iter().map(|c| c.count).sum::<u64>(), 100);
    assert_eq!(r.facets.location[0], FacetCount { value: "loc000".into(), count: 2 });
    let r = idx.search(&everyone(), &MenuQuery { locations: vec!["loc003".into()], ..text("cyber") }).unwrap();
    assert_eq!(r.total, 2);
    assert_eq!(counts(&r.facets.event_type), [("seminar", 2)]);
    assert_eq!(r.facets.location.len(), 50);
}

/// Words the generated entries are made of: a few very common, some common, some rare.
const VOCABULARY: [&str; 12] = [
    "training",
    "security",
    "cyber",
    "defence",
    "maritime",
    "crisis",
    "logistics",
    "planning",
    "legal",
    "space",
    "medical",
    "energy",
];

prop_compose! {
    fn generated_entry(i: usize)(
        title in proptest::collection::vec(0..VOCABULARY.len(), 1..4),
        body in proptest::collection::vec(0..VOCABULARY.len(), 0..12),
        area in 0..3usize,
        kind in 0..2usize,
        month in 1..4u8,
        public in proptest::bool::ANY,
        audience in 0..3usize,
        open in proptest::bool::ANY,
    ) -> MenuEntry {
        let words = |v: &[usize]| v.iter().map(|w| VOCABULARY[*w]).collect::<Vec<_>>().join(" ");
        let mut e = entry(&format!("e{i:03}"), &format!("C-{i:03}"), &words(&title));
        e.description = words(&body);
        e.areas = vec![["CYB", "LOG", "MAR"][area].into()];
        e.event_type = ["course", "seminar"][kind].into();
        e.months = vec![format!("2026-{month:02}")];
        e.first_day = time::Date::from_calendar_date(2026, time::Month::try_from(month).unwrap(), 1 + (i % 28) as u8).ok();
        e.public = public;
        e.audiences = vec![["JPN", "KOR", "AUS"][audience].into()];
        e.open_seats = if open { 3 } else { 0 };
        e
    }
}

fn generated_entries() -> impl Strategy<Value = Vec<MenuEntry>> {
    (10..80usize).prop_flat_map(|n| (0..n).map(generated_entry).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Against a model evaluated entry by entry (the text matches are the index's own answer to the text alone,
    /// seen by everyone): the total, the hits and every facet count agree for any caller and filters; a short
    /// page is the start of the long one, asked cold or again (from the ranked lists kept per segment); and
    /// after a write elsewhere in the index the hits are the same and a short page is still the start of
    /// the (re-scored) long one.
    #[test]
    fn searches_agree_with_a_model_of_visibility_filters_and_facets(
        entries in generated_entries(),
        words in proptest::collection::vec(0..VOCABULARY.len(), 0..3),
        prefix in proptest::bool::ANY,
        audience in proptest::option::of(0..3usize),
        areas in proptest::collection::vec(0..3usize, 0..2),
        open in proptest::option::of(proptest::bool::ANY),
        from_month in proptest::option::of(1..5u8),
        limit in 1..8usize,
    ) {
        let index = index(entries.clone());
        let mut q: Vec<String> = words.iter().map(|w| VOCABULARY[*w].to_owned()).collect();
        if prefix && !q.is_empty() {
            let last = q.pop().unwrap();
            q.push(format!("{}*", &last[..3]));
        }
        let q = (!q.is_empty()).then(|| q.join(" "));
        let visibility = match audience {
            None => Visibility::everything(),
            Some(a) => Visibility::of([["JPN", "KOR", "AUS"][a]]),
        };
        let areas: Vec<String> = areas.iter().map(|a| ["CYB", "LOG", "MAR"][*a].to_owned()).collect();
        let upcoming_from = from_month.map(|m| time::Date::from_calendar_date(2026, time::Month::try_from(m).unwrap(), 10).unwrap());
        let query =
            MenuQuery { q: q.clone(), areas: areas.clone(), open_seats: open, upcoming_from, limit: 1000, ..MenuQuery::default() };

        let text_matches: Vec<String> = ids(&index, &everyone(), &MenuQuery { q: q.clone(), limit: 1000, ..MenuQuery::default() });
        let visible = |e: &MenuEntry| visibility.everything || e.public || e.audiences.iter().any(|a| visibility.audiences.contains(a));
        let by_area = |e: &MenuEntry| areas.is_empty() || e.areas.iter().any(|a| areas.contains(a));
        let by_seats = |e: &MenuEntry| open.is_none_or(|o| (e.open_seats > 0) == o);
        let candidates: Vec<&MenuEntry> = entries.iter().filter(|e| text_matches.contains(&e.id) && visible(e)).collect();
        let mut expected: Vec<&str> = candidates.iter().filter(|e| by_area(e) && by_seats(e)).map(|e| e.id.as_str()).collect();
        expected.sort();

        let answer = index.search(&visibility, &query).unwrap();
        let mut got: Vec<&str> = answer.hits.iter().map(|h| h.id.as_str()).collect();
        got.sort();
        prop_assert_eq!(answer.total as usize, expected.len());
        prop_assert_eq!(&got, &expected);

        // Drill-sideways: areas are counted without the area filter, open seats without theirs.
        let mut area_counts: Vec<(String, u64)> = Vec::new();
        for area in ["CYB", "LOG", "MAR"] {
            let n = candidates.iter().filter(|e| by_seats(e) && e.areas.iter().any(|a| a == area)).count() as u64;
            if n > 0 {
                area_counts.push((area.to_owned(), n));
            }
        }
        let mut got_areas: Vec<(String, u64)> = answer.facets.area.iter().map(|c| (c.value.clone(), c.count)).collect();
        got_areas.sort();
        prop_assert_eq!(got_areas, area_counts);
        let mut type_counts: Vec<(String, u64)> = Vec::new();
        for kind in ["course", "seminar"] {
            let n = candidates.iter().filter(|e| by_area(e) && by_seats(e) && e.event_type == kind).count() as u64;
            if n > 0 {
                type_counts.push((kind.to_owned(), n));
            }
        }
        let mut got_types: Vec<(String, u64)> = answer.facets.event_type.iter().map(|c| (c.value.clone(), c.count)).collect();
        got_types.sort();
        prop_assert_eq!(got_types, type_counts);

        // A short page is the start of the full ranking, cold and again.
        let full: Vec<String> = answer.hits.iter().map(|h| h.id.clone()).collect();
        let short = MenuQuery { limit, ..query.clone() };
        for _ in 0..2 {
            let page = ids(&index, &visibility, &short);
            prop_assert_eq!(&page[..], &full[..limit.min(full.len())]);
        }
        // A write elsewhere (a new generation) changes nothing of this answer.
        let mut other = entry("zz-unrelated", "Z-999", "Unrelated entry");
        other.public = false;
        other.audiences = vec!["NZL".into()];
        other.areas = vec!["ZZZ".into()];
        other.area_titles = Vec::new();
        index.upsert(vec![other]).unwrap();
        if visibility.everything {
            // Everyone sees the new entry, which matches only an empty text: skip the comparison then.
            prop_assume!(q.is_some());
        }
        // The same hits; their order may move, since the new entry changes the BM25 statistics, and the
        // kept ranked lists (of the old generation) must not be used for it.
        let again = index.search(&visibility, &query).unwrap();
        let again: Vec<String> = again.hits.iter().map(|h| h.id.clone()).collect();
        let (mut sorted_again, mut sorted_full) = (again.clone(), full.clone());
        sorted_again.sort();
        sorted_full.sort();
        prop_assert_eq!(sorted_again, sorted_full);
        let page = ids(&index, &visibility, &short);
        prop_assert_eq!(&page[..], &again[..limit.min(again.len())]);
    }
}

fn event_types(idx: &TantivyMenuIndex, v: &Visibility, q: &MenuQuery) -> Vec<(String, u64)> {
    idx.search(v, q).unwrap().facets.event_type.into_iter().map(|c| (c.value, c.count)).collect()
}

fn owned(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

#[test]
fn kept_facet_counts_are_never_another_audiences_nor_out_of_date() {
    let hidden = japan_only_seminar("Cyber seminar for Japan");
    let idx = index(vec![hidden, entry("open", "O", "Cyber course")]);
    let both = owned(&[("course", 1), ("seminar", 1)]);
    let course = owned(&[("course", 1)]);
    let (kor, jpn) = (Visibility::of(["KOR"]), Visibility::of(["JPN"]));
    for _ in 0..2 {
        assert_eq!(event_types(&idx, &everyone(), &all()), both);
        assert_eq!(event_types(&idx, &kor, &all()), course, "not the counts kept for those who see everything");
        assert_eq!(event_types(&idx, &jpn, &all()), both);
        assert_eq!(event_types(&idx, &Visibility::default(), &all()), course);
        assert_eq!(event_types(&idx, &kor, &text("cyber")), course);
        assert_eq!(event_types(&idx, &jpn, &text("cyber")), both);
    }
    let mut workshop = entry("w", "W", "Cyber workshop");
    workshop.event_type = "workshop".into();
    idx.upsert(vec![workshop]).unwrap();
    assert_eq!(
        event_types(&idx, &kor, &text("cyber")),
        owned(&[("course", 1), ("workshop", 1)]),
        "a write counts again"
    );
    idx.remove(&["jpn".into()]).unwrap();
    assert_eq!(event_types(&idx, &jpn, &all()), owned(&[("course", 1), ("workshop", 1)]));
}

#[test]
fn kept_facet_counts_equal_counting_afresh_for_every_audience_and_query() {
    let entries = || {
        let hidden = japan_only_seminar("Cyber seminar for Japan");
        let mut partners = entry("p", "P", "Maritime course for partners");
        partners.public = false;
        partners.audiences = vec!["PARTNERS".into()];
        partners.areas = vec!["MS".into()];
        let mut french = entry("f", "F", "Cyber course in French");
        french.languages = vec!["fr".into()];
        vec![hidden, partners, french, entry("o", "O", "Cyber course")]
    };
    let visibilities =
        [everyone(), Visibility::default(), Visibility::of(["JPN"]), Visibility::of(["KOR", "PARTNERS"])];
    let queries = [
        all(),
        text("cyber"),
        text("course"),
        MenuQuery { languages: vec!["fr".into()], ..all() },
        MenuQuery { event_types: vec!["seminar".into()], ..text("cyber") },
    ];
    let kept = index(entries());
    // Every search twice, in an order that interleaves audiences, so each is asked once counted and once kept.
    for round in 0..2 {
        for (q, query) in queries.iter().enumerate() {
            for v in &visibilities {
                let afresh = index(entries()).search(v, query).unwrap().facets;
                assert_eq!(kept.search(v, query).unwrap().facets, afresh, "round {round}, query {q}, {v:?}");
            }
        }
    }
}
