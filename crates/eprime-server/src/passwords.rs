//! Passwords: argon2id hashes, made and checked on threads of their own that keep their memory.
//!
//! Why threads of their own: argon2id (the crate's default parameters, the OWASP ones) works in
//! ≈ 19 MiB, and the crate allocates and frees that block for every hash. glibc serves so large a
//! block with `mmap`, and when one is freed it raises its `mmap` threshold to the block's size and
//! its trim threshold to twice that, for the rest of the process: from then on every allocation
//! below 19 MiB comes from its heaps, which keep up to 38 MiB free each. Measured on a demo server:
//! 79 MB resident after start (hashing the demo accounts' passwords), 233 MB after 90 sign-ins, and
//! still 233 MB idle; with the threshold fixed at glibc's default, 52 MB throughout. Here each
//! password thread allocates its block once, the first time it needs it, and never frees it, so
//! the thresholds never move. The cost is that block, resident, per thread: one thread per core
//! the server may use.
//!
//! Every argon2 computation of the process goes through these threads: sign-ins, accounts created
//! and passwords changed through the API, the web pages, the CLI and the demo's accounts. Async
//! callers wait their turn on a semaphore first ([`verify`], [`hash`]), so a burst of sign-ins
//! queues there (and a caller that goes away leaves the queue) and cannot take every core from the
//! requests being served.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};

/// Hashes a password with argon2id (a fresh random salt each time) into a PHC string. Blocks the
/// calling thread until a password thread has done it; async code calls [`hash`].
pub fn hash_password(password: &str) -> Result<String, String> {
    let password = password.to_owned();
    on_password_thread_blocking(move |memory| memory.hash(&password))
}

/// Checks a password against a stored PHC string; a malformed stored hash never matches. Blocks the
/// calling thread until a password thread has done it; async code calls [`verify`].
pub fn verify_password(password: &str, stored: &str) -> bool {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    on_password_thread_blocking(move |memory| memory.verify(&password, &stored))
}

/// [`hash_password`] for async code: `None` if the work could not be run.
pub async fn hash(password: String) -> Option<Result<String, String>> {
    on_password_thread(move |memory| memory.hash(&password)).await
}

/// [`verify_password`] for async code: `None` if the work could not be run.
pub async fn verify(password: String, stored: String) -> Option<bool> {
    on_password_thread(move |memory| memory.verify(&password, &stored)).await
}

/// A hash to verify against when the username is unknown, so that case costs the same time as
/// a wrong password and does not reveal which accounts exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

/// The memory one password thread reuses for every hash it computes.
#[derive(Default)]
struct Memory {
    blocks: Vec<Block>,
}

impl Memory {
    /// `count` blocks, the kept ones. They grow (once) only for a stored hash whose parameters ask
    /// for more memory than any before it.
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            self.blocks.resize(count, Block::default());
        }
        &mut self.blocks[..count]
    }

    fn hash(&mut self, password: &str) -> Result<String, String> {
        let params = Params::default();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let salt = Salt::generate();
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, self.blocks(params.block_count()))
            .map_err(|e| e.to_string())?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
            salt: Some(salt),
            hash: Some(Output::new(&output).map_err(|e| e.to_string())?),
        };
        Ok(hash.to_string())
    }

    /// What `argon2`'s own `PasswordVerifier` does (the algorithm, version and parameters the stored
    /// string names, its salt, and a constant-time comparison of the outputs), in this memory.
    fn verify(&mut self, password: &str, stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else { return false };
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
        let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else { return false };
        let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
        let Ok(params) = Params::try_from(&hash) else { return false };
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut output = vec![0u8; expected.len()];
        let computed = argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut output,
            self.blocks(params.block_count()),
        );
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(&output).is_ok_and(|output| output == *expected)
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The queue the password threads take their work from, started at the first use.
fn queue() -> &'static Mutex<mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads() {
            let receiver = receiver.clone();
            let started = std::thread::Builder::new().name(format!("eprime-password-{n}")).spawn(move || {
                let mut memory = Memory::default();
                loop {
                    // The lock is held only while waiting for the next job, not while working.
                    let next = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = next else { return };
                    // A job that panics answers nobody (its caller sees the work as not run); the
                    // thread and its memory stay.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                }
            });
            if let Err(error) = started {
                tracing::error!(%error, "a password thread could not be started");
            }
        }
        // Should no thread have started, the receiver is gone with this function's copy, sending
        // fails, and the work runs on the caller's thread instead (`submit`).
        Mutex::new(sender)
    })
}

/// One per core the process may run on (the server is often pinned to one), as before these
/// threads: more would only queue behind each other for the same cores.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Hands `job` to a password thread, or runs it here (with memory of its own) if none is running.
fn submit(job: Job) {
    let sent = match queue().lock() {
        Ok(sender) => sender.send(job).map_err(|mpsc::SendError(job)| job),
        Err(_) => Err(job),
    };
    if let Err(job) = sent {
        job(&mut Memory::default());
    }
}

fn on_password_thread_blocking<T: Send + 'static>(work: impl FnOnce(&mut Memory) -> T + Send + 'static) -> T {
    let (reply, answer) = mpsc::sync_channel(1);
    submit(Box::new(move |memory| {
        let _ = reply.send(work(memory));
    }));
    answer.recv().expect("a password thread answers every job it takes")
}

async fn on_password_thread<T: Send + 'static>(work: impl FnOnce(&mut Memory) -> T + Send + 'static) -> Option<T> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let _permit = PERMITS.get_or_init(|| tokio::sync::Semaphore::new(threads())).acquire().await.ok()?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    submit(Box::new(move |memory| {
        let _ = reply.send(work(memory));
    }));
    answer.await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    const PASSWORD: &str = "correct horse battery staple";

    #[test]
    fn a_hash_made_here_is_one_argon2_itself_accepts_and_the_other_way_round() {
        let ours = hash_password(PASSWORD).unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        assert!(Argon2::default().verify_password(PASSWORD.as_bytes(), ours.as_str()).is_ok());
        assert!(Argon2::default().verify_password(b"wrong password", ours.as_str()).is_err());

        let theirs = Argon2::default().hash_password(PASSWORD.as_bytes()).unwrap().to_string();
        assert!(verify_password(PASSWORD, &theirs));
        assert!(!verify_password("wrong password", &theirs));
        assert!(verify_password(PASSWORD, &ours));
        assert_ne!(ours, hash_password(PASSWORD).unwrap(), "a fresh salt each time");
    }

    #[test]
    fn stored_hashes_are_checked_with_the_parameters_they_name() {
        // Other parameters, another algorithm and a longer output than ours: the memory grows for
        // the larger one and is still right for the smaller ones after it.
        for (algorithm, params) in [
            (Algorithm::Argon2id, Params::new(32 * 1024, 3, 2, Some(64)).unwrap()),
            (Algorithm::Argon2i, Params::new(8 * 1024, 2, 1, None).unwrap()),
            (Algorithm::Argon2d, Params::new(4 * 1024, 1, 1, Some(16)).unwrap()),
        ] {
            let stored = Argon2::new(algorithm, Version::V0x13, params).hash_password(PASSWORD.as_bytes()).unwrap();
            let stored = stored.to_string();
            assert!(verify_password(PASSWORD, &stored), "{stored}");
            assert!(!verify_password("Correct horse battery staple", &stored), "{stored}");
        }
        let old_version =
            Argon2::new(Algorithm::Argon2id, Version::V0x10, Params::default()).hash_password(b"old").unwrap();
        assert!(verify_password("old", &old_version.to_string()));
    }

    #[test]
    fn a_malformed_stored_hash_never_matches() {
        let good = hash_password(PASSWORD).unwrap();
        let without_salt = good.rsplitn(3, '$').last().unwrap().to_owned() + "$" + good.rsplit('$').next().unwrap();
        for stored in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$aGFzaA",
            &without_salt,
        ] {
            assert!(!verify_password(PASSWORD, stored), "{stored}");
            assert!(!verify_password("", stored), "{stored}");
        }
    }

    #[test]
    fn a_thread_computes_every_hash_in_the_same_memory() {
        let mut memory = Memory::default();
        let stored = memory.hash(PASSWORD).unwrap();
        let (kept, blocks) = (memory.blocks.as_ptr(), memory.blocks.len());
        assert_eq!(blocks, Params::default().block_count());
        for password in [PASSWORD, "wrong password"] {
            assert_eq!(memory.verify(password, &stored), password == PASSWORD);
            memory.hash(password).unwrap();
            assert_eq!(memory.blocks.as_ptr(), kept, "the blocks were allocated again");
        }
    }

    #[tokio::test]
    async fn async_callers_get_the_same_answers() {
        let stored = hash(PASSWORD.to_owned()).await.unwrap().unwrap();
        assert_eq!(verify(PASSWORD.to_owned(), stored.clone()).await, Some(true));
        assert_eq!(verify("wrong".to_owned(), stored).await, Some(false));
    }
}
