//! Compares the themes of two documents: `cargo run -p eprime-import --example cmp -- OLD NEW`.

fn load(path: &str) -> Option<eprime_import::ImportedDocument> {
    let text = std::fs::read_to_string(path).map_err(|e| eprintln!("{path}: {e}")).ok()?;
    eprime_import::import(&text, &eprime_import::ImportOptions::default()).map_err(|e| eprintln!("{path}: {e}")).ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(a), Some(b)) = (args.get(1).and_then(|p| load(p)), args.get(2).and_then(|p| load(p))) else {
        eprintln!("usage: cmp OLD NEW");
        std::process::exit(2);
    };
    let c = eprime_import::compare(&eprime_import::themes(&a), &eprime_import::themes(&b));
    match serde_json::to_string_pretty(&c) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("{e}"),
    }
}
