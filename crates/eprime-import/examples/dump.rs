//! Prints the import of a text file as JSON: `cargo run -p eprime-import --example dump -- FILE`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump FILE");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    match eprime_import::import_bytes(&bytes, &eprime_import::ImportOptions::default()) {
        Ok(doc) => match serde_json::to_string_pretty(&doc) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("{e}"),
        },
        Err(e) => eprintln!("error: {e}"),
    }
}
