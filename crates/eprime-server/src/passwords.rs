//! Passwords: argon2id hashes, made and checked on threads of their own that keep their memory.
//!
//! Why threads of their own: argon2id (the crate's default parameters, the OWASP ones) works in
//! ≈ 19 MiB, and the crate allocates and frees that block for every hash. glibc serves so large a
//! block with `mmap`, and when one is freed it raises its `mmap` threshold to the block's size and
//! its trim threshold to twice that, for the rest of the process: from then on every allocation
//! below 19 MiB comes from its heaps, which keep up to 38 MiB free each. Measured on a demo server:
//! 79 MB resident after start (hashing the demo accounts' passwords), 233 MB after 90 sign-ins, and
//! still 233 MB idle; with the threshold fixed at glibc's default, 52 MB throughout.
//!
//! Here each password thread computes in memory of its own ([`Memory`]), reused from one hash to
//! the next during a burst and given back after [`KEEP_MEMORY_FOR`] without work. It is allocated
//! larger than glibc's largest dynamic threshold (32 MiB on 64-bit targets), so freeing it never
//! moves the thresholds; only the blocks a hash uses are touched, so only they are ever resident.
//!
//! Every argon2 computation of the process goes through these threads: sign-ins, accounts created
//! and passwords changed through the API, the web pages, the CLI and the demo's accounts. Async
//! callers wait their turn on a semaphore first ([`verify`], [`hash`]), so a burst of sign-ins
//! queues there (and a caller that goes away leaves the queue) and cannot take every core from the
//! requests being served.

use std::panic::AssertUnwindSafe;
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

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

/// How long a password thread keeps its memory after its last hash: a burst of sign-ins reuses it,
/// an idle server holds none.
const KEEP_MEMORY_FOR: Duration = Duration::from_secs(2);

/// Blocks are allocated at least this many at a time (33 MiB of address space): more than glibc's
/// largest dynamic `mmap` threshold (`DEFAULT_MMAP_THRESHOLD_MAX`, 32 MiB on 64-bit targets), so
/// freeing them leaves its thresholds where they were.
const ALLOCATED_AT_LEAST: usize = 33 * 1024 * 1024 / Block::SIZE;
const _: () = assert!(ALLOCATED_AT_LEAST * Block::SIZE > 32 * 1024 * 1024);

/// The memory one password thread computes in.
#[derive(Default)]
struct Memory {
    blocks: Vec<Block>,
}

impl Memory {
    /// `count` blocks of the kept memory, allocated at the first use (and again only for a stored
    /// hash that asks for more than was allocated).
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            if self.blocks.capacity() < count {
                self.blocks = Vec::with_capacity(count.max(ALLOCATED_AT_LEAST));
            }
            // Touches the blocks used, not the rest of the allocation.
            self.blocks.resize(count, Block::default());
        }
        &mut self.blocks[..count]
    }

    /// Gives the memory back.
    fn release(&mut self) {
        self.blocks = Vec::new();
    }

    fn holds_memory(&self) -> bool {
        self.blocks.capacity() > 0
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

/// The queue the password threads take their work from; they are started at its first use.
fn queue() -> &'static crossbeam_channel::Sender<Job> {
    static QUEUE: OnceLock<crossbeam_channel::Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = crossbeam_channel::unbounded::<Job>();
        for n in 0..threads() {
            let receiver = receiver.clone();
            let started = std::thread::Builder::new()
                .name(format!("eprime-password-{n}"))
                .spawn(move || password_thread(&receiver, KEEP_MEMORY_FOR));
            if let Err(error) = started {
                tracing::error!(%error, "a password thread could not be started");
            }
        }
        // Should no thread have started, the last receiver goes with this function's copy, sending
        // fails, and the work runs on the caller's thread instead (`submit`).
        sender
    })
}

/// Runs jobs until the queue closes, in one memory kept while jobs come at least every
/// `keep_memory_for`.
fn password_thread(jobs: &crossbeam_channel::Receiver<Job>, keep_memory_for: Duration) {
    let mut memory = Memory::default();
    loop {
        let next = if memory.holds_memory() {
            match jobs.recv_timeout(keep_memory_for) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    memory.release();
                    continue;
                }
                next => next.map_err(|_| ()),
            }
        } else {
            jobs.recv().map_err(|_| ())
        };
        let Ok(job) = next else { return };
        // A job that panics answers nobody (its caller sees the work as not run); the thread stays.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

/// One per core the process may run on (the server is often pinned to one), as before these
/// threads: more would only queue behind each other for the same cores.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Hands `job` to a password thread, or runs it here (with memory of its own) if none is running.
fn submit(job: Job) {
    if let Err(crossbeam_channel::SendError(job)) = queue().send(job) {
        job(&mut Memory::default());
    }
}

fn on_password_thread_blocking<T: Send + 'static>(work: impl FnOnce(&mut Memory) -> T + Send + 'static) -> T {
    let (reply, answer) = mpsc::sync_channel(1);
    submit(Box::new(move |memory| {
        let _ = reply.send(work(memory));
    }));
    answer.recv().expect("the password work panicked")
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
        let count = Params::default().block_count();
        assert_eq!(memory.blocks.len(), count);
        assert!(memory.blocks.capacity() >= ALLOCATED_AT_LEAST, "allocated past glibc's thresholds");
        // A mark left in the memory is still there when the next hash asks for it: nothing was
        // allocated (and zeroed) again, for as many blocks or for fewer.
        const MARK: u64 = 0x00E9_213E;
        memory.blocks[count - 1].as_mut()[0] = MARK;
        assert_eq!(memory.blocks(count)[count - 1].as_ref()[0], MARK);
        memory.blocks[0].as_mut()[0] = MARK;
        assert_eq!(memory.blocks(8 * 1024)[0].as_ref()[0], MARK);
        assert!(memory.verify(PASSWORD, &stored), "and it still computes right");
        assert!(!memory.verify("wrong password", &stored));
    }

    #[test]
    fn a_password_thread_keeps_its_memory_through_a_burst_and_gives_it_back_when_idle() {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        let thread = std::thread::spawn(move || password_thread(&queue, Duration::from_millis(200)));
        // Whether the thread holds memory when it runs a job (after hashing, if asked).
        let holds_memory = |then_hash: bool| {
            let (reply, answer) = mpsc::sync_channel(1);
            let job: Job = Box::new(move |memory| {
                if then_hash {
                    memory.hash(PASSWORD).unwrap();
                }
                let _ = reply.send(memory.holds_memory());
            });
            jobs.send(job).unwrap();
            answer.recv().unwrap()
        };
        assert!(!holds_memory(false), "nothing before the first hash");
        assert!(holds_memory(true));
        assert!(holds_memory(false), "kept for the next hash");
        std::thread::sleep(Duration::from_secs(1));
        assert!(!holds_memory(false), "given back after 200 ms without work");
        assert!(holds_memory(true), "and taken again for the next");
        drop(jobs);
        thread.join().expect("the thread ends when its queue closes");
    }

    #[tokio::test]
    async fn async_callers_get_the_same_answers() {
        let stored = hash(PASSWORD.to_owned()).await.unwrap().unwrap();
        assert_eq!(verify(PASSWORD.to_owned(), stored.clone()).await, Some(true));
        assert_eq!(verify("wrong".to_owned(), stored).await, Some(false));
    }
}
