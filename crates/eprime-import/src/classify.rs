//! Classifies logical lines into headings, items (numbered or bulleted) and plain text.

use crate::normalise::Line;
use crate::numbering::{self, Keyword, Marker, Scheme};
use crate::text::is_upper;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Heading,
    Item,
    Text,
}

/// A classified logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub line: u32,
    /// The whole logical line.
    pub text: String,
    pub bullet: bool,
    pub marker: Option<Marker>,
    /// The text after the bullet and the marker.
    pub rest: String,
    pub kind: BlockKind,
    pub blank_before: bool,
    pub blank_after: bool,
}

impl Block {
    pub fn keyword(&self) -> Option<Keyword> {
        match self.marker.as_ref()?.scheme {
            Scheme::Keyword(k) => Some(k),
            _ => None,
        }
    }

    pub fn decimal(&self) -> Option<&[u32]> {
        self.marker.as_ref().filter(|m| m.scheme == Scheme::Decimal).map(|m| m.parts.as_slice())
    }

    pub fn label(&self) -> Option<&str> {
        self.marker.as_ref().map(|m| m.label.as_str())
    }

    pub fn lower(&self) -> String {
        self.text.to_lowercase()
    }
}

fn ends_with_punctuation(text: &str) -> bool {
    text.ends_with(['.', ';', ':', ',', '!', '?'])
}

/// Classifies every logical line.
pub fn classify(lines: &[Line]) -> Vec<Block> {
    let mut blocks: Vec<Block> = lines
        .iter()
        .map(|l| {
            let parsed = numbering::parse(&l.text);
            Block {
                line: l.no,
                text: l.text.clone(),
                bullet: parsed.bullet,
                marker: parsed.marker,
                rest: parsed.rest.trim().to_owned(),
                kind: BlockKind::Text,
                blank_before: l.blank_before,
                blank_after: l.blank_after,
            }
        })
        .collect();
    resolve_ambiguous(&mut blocks);
    // The next decimal marker after each block, for headings recognised by their children.
    let mut next_decimal: Vec<Option<Vec<u32>>> = vec![None; blocks.len()];
    let mut seen: Option<Vec<u32>> = None;
    for i in (0..blocks.len()).rev() {
        next_decimal[i] = seen.clone();
        if let Some(d) = blocks[i].decimal() {
            seen = Some(d.to_vec());
        }
    }
    for (i, block) in blocks.iter_mut().enumerate() {
        block.kind = kind_of(block, next_decimal[i].as_deref());
    }
    blocks
}

fn kind_of(b: &Block, next_decimal: Option<&[u32]>) -> BlockKind {
    let rest_len = b.rest.chars().count();
    if let Some(marker) = &b.marker {
        if let Scheme::Keyword(k) = marker.scheme {
            if k.is_division() && rest_len <= 200 && !b.bullet {
                return BlockKind::Heading;
            }
            return BlockKind::Item;
        }
        if marker.scheme == Scheme::Decimal && marker.parts.len() == 1 && !b.bullet {
            if is_upper(&b.rest) && rest_len <= 200 && !b.rest.ends_with(':') {
                return BlockKind::Heading;
            }
            let words = b.rest.split_whitespace().count();
            let child_follows = next_decimal.is_some_and(|n| n.len() == 2 && n.first() == marker.parts.first());
            if words <= 10 && !ends_with_punctuation(&b.rest) && child_follows {
                return BlockKind::Heading;
            }
        }
        return BlockKind::Item;
    }
    if b.bullet {
        return BlockKind::Item;
    }
    if is_upper(&b.text) && b.text.chars().count() <= 200 && !b.text.ends_with(':') {
        return BlockKind::Heading;
    }
    let words = b.text.split_whitespace().count();
    let starts_upper = b.text.chars().next().is_some_and(char::is_uppercase);
    if b.blank_before
        && b.blank_after
        && words <= 12
        && b.text.chars().count() <= 100
        && starts_upper
        && !ends_with_punctuation(&b.text)
        && !crate::dates::is_dateline(&b.text)
    {
        return BlockKind::Heading;
    }
    BlockKind::Text
}

/// A lone `i`, `v` or `x` is a roman numeral unless it continues a list of letters (`h` → `i`).
fn resolve_ambiguous(blocks: &mut [Block]) {
    let mut last: Vec<Marker> = Vec::new();
    for block in blocks.iter_mut() {
        let Some(marker) = block.marker.clone() else { continue };
        if marker.ambiguous {
            let continues_letters = last
                .iter()
                .rev()
                .find(|m| m.style == marker.style && m.scheme == marker.scheme)
                .is_some_and(|m| m.value() + 1 == marker.value());
            let continues_roman = last.iter().rev().any(|m| {
                m.style == marker.style
                    && matches!(m.scheme, Scheme::LowerRoman | Scheme::UpperRoman)
                    && numbering::parse_roman(&marker.label).is_some_and(|v| v == m.value() + 1)
            });
            let lone_i = marker.label.eq_ignore_ascii_case("i");
            if !continues_letters && (continues_roman || lone_i) {
                block.marker = Some(numbering::as_roman(&marker));
            }
        }
        if let Some(m) = block.marker.clone() {
            last.retain(|x| !(x.scheme == m.scheme && x.style == m.style));
            last.push(m);
        }
    }
}
