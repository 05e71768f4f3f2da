//! Argon2id password hashing, run off the async runtime (each hash takes tens of ms on purpose).

use crate::AuthError;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, LazyLock, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Shortest and longest password we accept. The upper bound keeps hashing cost bounded.
pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1024;

fn hasher() -> Result<Argon2<'static>, AuthError> {
    // OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| AuthError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The password policy an administrator sets (`/api/v1/settings/security/password-policy`,
/// `strongroom admin settings password-policy`). It binds the passwords of accounts: at setup,
/// creation, reset and change. Every field has a default, so a stored policy written by an
/// older release still reads, and unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Fewest characters (at least [`MIN_LEN`]).
    pub min_length: usize,
    /// Most characters (at most [`MAX_LEN`]).
    pub max_length: usize,
    /// At least one capital letter.
    pub require_uppercase: bool,
    /// At least one small letter.
    pub require_lowercase: bool,
    /// At least one digit.
    pub require_digit: bool,
    /// At least one character that is neither a letter nor a digit (a space counts).
    pub require_special: bool,
    /// How hard to guess, as zxcvbn scores it: 0 (anything) to 4; 3 means more than about
    /// 10^10 guesses, against a dictionary of common passwords, names and words, keyboard
    /// patterns, dates, repeats and the person's own e-mail address and name.
    pub min_strength: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: MIN_LEN,
            max_length: MAX_LEN,
            require_uppercase: false,
            require_lowercase: false,
            require_digit: false,
            require_special: false,
            min_strength: 3,
        }
    }
}

/// zxcvbn looks at this many characters at most: its matching grows fast with length, and
/// a longer password is not weaker for what follows.
const STRENGTH_WINDOW: usize = 100;

/// The shortest maximum length a policy asking for zxcvbn score 4 may have (a random password
/// of 11 characters reaches it; one more for margin).
const STRONGEST_NEEDS: usize = 12;

impl PasswordPolicy {
    /// Whether the policy itself can be met and is not weaker than the floor every password
    /// keeps.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_length < MIN_LEN || self.min_length > MAX_LEN {
            return Err(format!("min_length must be between {MIN_LEN} and {MAX_LEN}"));
        }
        if self.max_length < self.min_length || self.max_length > MAX_LEN {
            return Err(format!("max_length must be between min_length and {MAX_LEN}"));
        }
        if self.min_strength > 4 {
            return Err("min_strength is a zxcvbn score: 0 to 4".into());
        }
        // zxcvbn rates even a random 10-character password about 10^10 guesses (score 3):
        // score 4 with a short maximum would refuse every password, locking everyone out.
        if self.min_strength == 4 && self.max_length < STRONGEST_NEEDS {
            return Err(format!(
                "min_strength 4 needs max_length of at least {STRONGEST_NEEDS}: shorter passwords cannot reach it"
            ));
        }
        Ok(())
    }

    /// Every rule `pw` does not meet, each as a person reads it; empty: it meets them all.
    /// `about` are words the password must not lean on: the person's e-mail address and name.
    pub fn unmet(&self, pw: &str, about: &[&str]) -> Vec<String> {
        let n = pw.chars().count();
        let mut out = vec![];
        if n < self.min_length {
            out.push(format!("at least {} characters", self.min_length));
        }
        if n > self.max_length {
            out.push(format!("at most {} characters", self.max_length));
        }
        let has = |f: fn(&char) -> bool| pw.chars().any(|c| f(&c));
        if self.require_uppercase && !has(|c| c.is_uppercase()) {
            out.push("a capital letter".into());
        }
        if self.require_lowercase && !has(|c| c.is_lowercase()) {
            out.push("a small letter".into());
        }
        if self.require_digit && !has(|c| c.is_numeric()) {
            out.push("a digit".into());
        }
        if self.require_special && !has(|c| !c.is_alphanumeric()) {
            out.push("a character that is neither a letter nor a digit".into());
        }
        if self.min_strength > 0 {
            let window: String = pw.chars().take(STRENGTH_WINDOW).collect();
            // zxcvbn matches its dictionaries in lower case: so must the person's words be.
            let about: Vec<String> = about.iter().map(|a| a.to_lowercase()).collect();
            let words: Vec<&str> = about
                .iter()
                .flat_map(|a| a.split(['@', '.', ' ', '-', '_']))
                .filter(|w| w.chars().count() > 2)
                .chain(about.iter().map(String::as_str))
                .collect();
            let e = zxcvbn::zxcvbn(&window, &words);
            if u8::from(e.score()) < self.min_strength {
                let why = e
                    .feedback()
                    .and_then(|f| f.warning())
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default();
                out.push(format!("harder to guess{}", why.to_lowercase()));
            }
        }
        out
    }

    /// Checks a new account password: one error naming every rule it does not meet.
    pub fn check(&self, pw: &SecretString, about: &[&str]) -> Result<(), AuthError> {
        // The floor (`check_policy`) is inside: a valid policy's lengths lie within it.
        let unmet = self.unmet(pw.expose_secret(), about);
        if unmet.is_empty() {
            return Ok(());
        }
        Err(AuthError::WeakPassword(format!(
            "the password does not meet the password policy; it needs {}",
            unmet.join("; ")
        )))
    }
}

/// Checks a new password against the floor every password keeps (links' too): its length.
pub fn check_policy(pw: &SecretString) -> Result<(), AuthError> {
    let n = pw.expose_secret().chars().count();
    if n < MIN_LEN {
        return Err(AuthError::WeakPassword(format!(
            "a password needs at least {MIN_LEN} characters"
        )));
    }
    if n > MAX_LEN {
        return Err(AuthError::WeakPassword(format!(
            "a password may have at most {MAX_LEN} characters"
        )));
    }
    Ok(())
}

/// How many Argon2 computations run at once: one per core. Each takes 19 MiB for tens of
/// milliseconds; without a cap, a flood of sign-in requests starts one blocking thread per
/// request (tokio allows 512) and the server grows by gigabytes.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).min(16)
}

/// How many more may wait for a worker before we answer 503: at ~20 hashes per second per
/// core, a request admitted last waits about two seconds.
const QUEUE_PER_WORKER: usize = 32;

type Job = Box<dyn FnOnce() + Send>;

/// Argon2 runs on a few threads of its own, not on tokio's blocking pool: the allocator keeps
/// a freed 19 MiB block in the arena of the thread that used it, so hashes spread over dozens
/// of blocking threads left the server hundreds of MiB larger after a flood (measured:
/// 17 → 437 MiB for 192 sign-ins). On `workers` threads it stays `workers` × 19 MiB.
struct Limiter {
    /// Running plus waiting: a request that finds none left is refused at once.
    admission: Arc<Semaphore>,
    /// The queue the worker threads take jobs from.
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Limiter {
    fn new(workers: usize, queue: usize) -> Limiter {
        let (jobs, next) = std::sync::mpsc::channel::<Job>();
        let next = Arc::new(Mutex::new(next));
        for i in 0..workers {
            let next = Arc::clone(&next);
            // A thread that cannot be started leaves fewer workers; with none, every hash
            // fails with an internal error (the queue has no reader) instead of hanging.
            let _ = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
                loop {
                    let job = match next.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        }
        Limiter {
            admission: Arc::new(Semaphore::new(workers + queue)),
            jobs,
        }
    }
}

static LIMITER: LazyLock<Limiter> = LazyLock::new(|| Limiter::new(workers(), workers() * QUEUE_PER_WORKER));

async fn limited<T: Send + 'static>(f: impl FnOnce() -> Result<T, AuthError> + Send + 'static) -> Result<T, AuthError> {
    limited_by(&LIMITER, f).await
}

/// Runs one Argon2 computation on a worker thread of `limiter`, or refuses it with `Busy`
/// when the queue is full. The admission permit moves into the job, so a client that
/// disconnects while its hash waits or runs does not free a slot before the work is done.
async fn limited_by<T: Send + 'static>(
    limiter: &Limiter,
    f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    let admitted: OwnedSemaphorePermit = Arc::clone(&limiter.admission)
        .try_acquire_owned()
        .map_err(|_| AuthError::Busy)?;
    let (done, result) = tokio::sync::oneshot::channel();
    limiter
        .jobs
        .send(Box::new(move || {
            let _held = admitted;
            let _ = done.send(f());
        }))
        .map_err(|_| AuthError::Internal("password hashing is not running".into()))?;
    result
        .await
        .map_err(|_| AuthError::Internal("password hashing stopped".into()))?
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=…`).
pub async fn hash(pw: SecretString) -> Result<String, AuthError> {
    check_policy(&pw)?;
    limited(move || {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let h = hasher()?
            .hash_password_with_salt(pw.expose_secret().as_bytes(), &salt)
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(h.to_string())
    })
    .await
}

/// A fixed hash verified when the account does not exist, so a login for an unknown e-mail
/// costs the same time as one for a known e-mail with a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3Ryb25ncm9vbWR1bW15$Wp2rBv0Z2oD4m9t3zH2c7yJmW0n9mQ5y0VnT0qk3F1g";

/// Whether `pw` matches `hash` (`None`: no password set; a dummy hash is checked for timing).
pub async fn verify(hash: Option<String>, pw: SecretString) -> Result<bool, AuthError> {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
    // A password longer than any we accept cannot match; refusing it here keeps a 1 MiB
    // "password" from costing a hash.
    if pw.expose_secret().chars().count() > MAX_LEN {
        return Ok(false);
    }
    limited(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return Ok(false);
        };
        let ok = hasher()?
            .verify_password(pw.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash(SecretString::from("correct horse battery")).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify(Some(h.clone()), SecretString::from("correct horse battery"))
                .await
                .unwrap()
        );
        assert!(
            !verify(Some(h), SecretString::from("correct horse batterY"))
                .await
                .unwrap()
        );
        assert!(!verify(None, SecretString::from("anything at all")).await.unwrap());
    }

    /// A flood larger than the workers plus their queue (one worker, two waiting, on a
    /// limiter of its own so other tests are not refused): the excess is refused with `Busy`
    /// at once instead of queueing without bound, every admitted one completes, and no more
    /// than one runs at a time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_beyond_the_queue_is_refused_busy() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let limiter = Arc::new(Limiter::new(1, 2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (limiter, running, most) = (limiter.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    limited_by(&limiter, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        let h = PasswordHash::new(DUMMY_HASH).map_err(|e| AuthError::Internal(e.to_string()))?;
                        let ok = hasher()?.verify_password(b"x", &h).is_ok();
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(ok)
                    })
                    .await
                })
            })
            .collect();
        let (mut busy, mut done) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(false) => done += 1,
                Err(AuthError::Busy) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(done >= 3, "the running one and the two waiting complete: {done}");
        assert!(busy >= 1, "the excess is refused: {busy}");
        assert_eq!(busy + done, 12);
        assert_eq!(most.load(Ordering::SeqCst), 1, "never more than one at a time");
        // Once the flood is over, the limiter admits again.
        assert_eq!(limited_by(&limiter, || Ok(7)).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn policy_rejects_short() {
        assert!(matches!(
            hash(SecretString::from("short")).await,
            Err(AuthError::WeakPassword(_))
        ));
    }
}

#[cfg(test)]
mod dummy {
    #[test]
    fn dummy_hash_parses_so_unknown_users_cost_a_full_verify() {
        assert!(argon2::password_hash::phc::PasswordHash::new(super::DUMMY_HASH).is_ok());
    }
}

#[cfg(test)]
mod policy_tests {
    use super::PasswordPolicy;

    /// Passwords against a strict policy and the rules each misses, written out by hand.
    #[test]
    fn unmet_rules_are_each_named() {
        let strict = PasswordPolicy {
            min_length: 14,
            max_length: 40,
            require_uppercase: true,
            require_lowercase: true,
            require_digit: true,
            require_special: true,
            min_strength: 3,
        };
        let about = ["ada.lovelace@example.org", "Ada Lovelace"];
        let table: &[(&str, &[&str])] = &[
            ("Tr0ub4dor&3-horse-Staple", &[]),
            ("tr0ub4dor&3-horse-staple", &["a capital letter"]),
            ("TR0UB4DOR&3-HORSE-STAPLE", &["a small letter"]),
            ("Troubador&x-horse-Staple", &["a digit"]),
            (
                "Tr0ub4dorX3horseStaple",
                &["a character that is neither a letter nor a digit"],
            ),
            ("Sh0rt&x", &["at least 14 characters", "harder to guess"]),
            ("Password1234!", &["at least 14 characters", "harder to guess"]),
            ("P@ssword12345678", &["harder to guess"]),
            (
                "Tr0ub4dor&3-horse-Staple-and-a-long-tail-beyond-forty",
                &["at most 40 characters"],
            ),
        ];
        for (pw, want) in table {
            let got = strict.unmet(pw, &about);
            let got: Vec<String> = got
                .into_iter()
                .map(|r| r.split(':').next().unwrap_or_default().to_string())
                .collect();
            assert_eq!(got, want.to_vec(), "{pw}");
        }
        // The person's own name and address count against the password.
        let four = PasswordPolicy {
            min_strength: 4,
            ..PasswordPolicy::default()
        };
        assert!(four.unmet("Lovelace#Ada#42", &[]).is_empty());
        let named = four.unmet("Lovelace#Ada#42", &about);
        assert_eq!(named.len(), 1, "{named:?}");
        assert!(named[0].starts_with("harder to guess"), "{named:?}");
        // The default asks for length and strength only.
        let default = PasswordPolicy::default();
        assert!(default.unmet("correct horse battery staple", &[]).is_empty());
        let weak = default.unmet("qwertyuiop12", &[]);
        assert_eq!(weak.len(), 1, "{weak:?}");
        assert!(weak[0].starts_with("harder to guess"), "{weak:?}");
    }

    #[test]
    fn a_policy_must_be_satisfiable_and_above_the_floor() {
        let ok = PasswordPolicy::default();
        assert!(ok.validate().is_ok());
        for bad in [
            PasswordPolicy {
                min_length: 4,
                ..ok.clone()
            },
            PasswordPolicy {
                max_length: 9,
                ..ok.clone()
            },
            PasswordPolicy {
                min_length: 20,
                max_length: 19,
                ..ok.clone()
            },
            PasswordPolicy {
                max_length: 5000,
                ..ok.clone()
            },
            PasswordPolicy {
                min_strength: 5,
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
