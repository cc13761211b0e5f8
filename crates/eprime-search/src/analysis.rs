//! How text becomes terms: the analysers registered on the index and reused to parse queries.

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, BoxTokenStream, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    Token, TokenStream, Tokenizer,
};

/// Ranked text: words, lower-cased, accents folded, English stems ("exercises" finds "exercise").
pub(crate) const STEMMED: &str = "menu_stemmed";
/// Same without stemming, for prefixes: a stem can be shorter than what the user typed ("securit*").
pub(crate) const UNSTEMMED: &str = "menu_words";
/// Adjacent pairs of stemmed words, for phrases.
pub(crate) const PAIRS: &str = "menu_pairs";

pub(crate) fn register(index: &Index) {
    index.tokenizers().register(STEMMED, words(true));
    index.tokenizers().register(UNSTEMMED, words(false));
    index.tokenizers().register(PAIRS, TextAnalyzer::from(PairTokenizer { words: words(true) }));
}

pub(crate) fn words(stem: bool) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    if stem { base.filter(Stemmer::new(Language::English)).build() } else { base.build() }
}

/// The pair term for two adjacent words; a space cannot occur inside a word.
pub(crate) fn pair(a: &str, b: &str) -> String {
    format!("{a} {b}")
}

/// Emits "a b" for each two adjacent words of its inner analyser. A phrase then is a conjunction of pair
/// terms: a term lookup each instead of reading and aligning positions, which for common words
/// ("nato partners") is the difference between ~0.5 ms and ~8 ms at 100,000 entries.
#[derive(Clone)]
struct PairTokenizer {
    words: TextAnalyzer,
}

impl Tokenizer for PairTokenizer {
    type TokenStream<'a> = PairStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PairStream<'a> {
        PairStream { words: self.words.token_stream(text), previous: None, token: Token::default() }
    }
}

struct PairStream<'a> {
    words: BoxTokenStream<'a>,
    previous: Option<Token>,
    token: Token,
}

impl TokenStream for PairStream<'_> {
    fn advance(&mut self) -> bool {
        while self.words.advance() {
            let word = self.words.token().clone();
            if let Some(previous) = self.previous.replace(word) {
                let word = self.words.token();
                self.token = Token {
                    offset_from: previous.offset_from,
                    offset_to: word.offset_to,
                    position: previous.position,
                    text: pair(&previous.text, &word.text),
                    position_length: 2,
                };
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_of_stemmed_words() {
        let mut analyzer = TextAnalyzer::from(PairTokenizer { words: words(true) });
        let mut stream = analyzer.token_stream("Crisis Management, courses!");
        let mut pairs = Vec::new();
        while stream.advance() {
            pairs.push(stream.token().text.clone());
        }
        assert_eq!(pairs, ["crisi manag", "manag cours"]);
        drop(stream);
        assert!(!analyzer.token_stream("single").advance());
    }
}
