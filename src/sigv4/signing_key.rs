//! Derived signing keys, kept: deriving one takes four HMACs, and a key changes only with the
//! secret, the UTC date, the region or the service.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{OnceLock, PoisonError, RwLock};
use std::time::SystemTime;

use aws_sigv4::sign::v4::generate_signing_key;

/// Enough for every credential, region and service a process signs for in one day.
const SLOTS: usize = 64;

/// Whose key, for which day, region and service. `date` is `YYYYMMDD` of `time`.
pub(super) struct KeyScope<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub time: SystemTime,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl fmt::Debug for KeyScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyScope")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish()
    }
}

/// A fixed number of slots, each picked by a hash of the scope and holding one key; a new
/// scope takes over its slot. Each slot has its own lock, held only to compare and copy, so
/// threads signing at once rarely meet and readers never wait for one another.
pub(super) struct SigningKeyCache {
    slots: Box<[RwLock<Option<Entry>>]>,
    hasher: RandomState,
}

/// What a key was derived from, and the key.
struct Entry {
    access_key_id: Box<str>,
    secret_access_key: Box<str>,
    date: Box<str>,
    region: Box<str>,
    service: Box<str>,
    key: [u8; 32],
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Entry {
    fn is_for(&self, scope: &KeyScope<'_>) -> bool {
        *self.access_key_id == *scope.access_key_id
            && *self.date == *scope.date
            && *self.region == *scope.region
            && *self.service == *scope.service
            && *self.secret_access_key == *scope.secret_access_key
    }
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache").field("slots", &self.slots.len()).finish_non_exhaustive()
    }
}

impl SigningKeyCache {
    pub(super) fn new() -> Self {
        SigningKeyCache { slots: (0..SLOTS).map(|_| RwLock::new(None)).collect(), hasher: RandomState::new() }
    }

    /// The one cache every signer in the process shares.
    pub(super) fn shared() -> &'static SigningKeyCache {
        static SHARED: OnceLock<SigningKeyCache> = OnceLock::new();
        SHARED.get_or_init(SigningKeyCache::new)
    }

    /// The signing key of `scope`, derived by aws-sigv4 when not already here.
    pub(super) fn signing_key(&self, scope: &KeyScope<'_>) -> [u8; 32] {
        // The secret picks no slot: a rotated secret replaces its predecessor's key.
        let slot =
            &self.slots[self.hasher.hash_one((scope.access_key_id, scope.date, scope.region, scope.service))
                as usize
                % SLOTS];
        if let Some(entry) = slot.read().unwrap_or_else(PoisonError::into_inner).as_ref() {
            if entry.is_for(scope) {
                return entry.key;
            }
        }
        let key = derive(scope);
        *slot.write().unwrap_or_else(PoisonError::into_inner) = Some(Entry {
            access_key_id: scope.access_key_id.into(),
            secret_access_key: scope.secret_access_key.into(),
            date: scope.date.into(),
            region: scope.region.into(),
            service: scope.service.into(),
            key,
        });
        key
    }
}

fn derive(scope: &KeyScope<'_>) -> [u8; 32] {
    let key = generate_signing_key(scope.secret_access_key, scope.time, scope.region, scope.service);
    key.as_ref().try_into().expect("an HMAC-SHA256 tag is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::sign::v4::calculate_signature;
    use std::time::{Duration, UNIX_EPOCH};

    const DAY: Duration = Duration::from_secs(86_400);

    fn scope<'a>(
        secret: &'a str,
        time: SystemTime,
        date: &'a str,
        region: &'a str,
        service: &'a str,
    ) -> KeyScope<'a> {
        KeyScope { access_key_id: "AKIDEXAMPLE", secret_access_key: secret, time, date, region, service }
    }

    #[test]
    fn a_cached_key_signs_as_a_freshly_derived_one() {
        let cache = SigningKeyCache::new();
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let scope = scope("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", time, "20150830", "us-east-1", "iam");
        let fresh = generate_signing_key(scope.secret_access_key, time, "us-east-1", "iam");
        let first = cache.signing_key(&scope);
        let again = cache.signing_key(&scope);
        assert_eq!(first, again);
        assert_eq!(
            calculate_signature(again, b"string to sign"),
            calculate_signature(fresh, b"string to sign")
        );
    }

    #[test]
    fn another_secret_date_region_or_service_gets_another_key() {
        let cache = SigningKeyCache::new();
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let base = cache.signing_key(&scope("secret", time, "20150830", "us-east-1", "iam"));
        let others = [
            cache.signing_key(&scope("secret2", time, "20150830", "us-east-1", "iam")),
            cache.signing_key(&scope("secret", time + DAY, "20150831", "us-east-1", "iam")),
            cache.signing_key(&scope("secret", time, "20150830", "eu-west-1", "iam")),
            cache.signing_key(&scope("secret", time, "20150830", "us-east-1", "s3")),
        ];
        for other in others {
            assert_ne!(other, base);
        }
        // And the first scope still gets its own key back, whichever slots the others took.
        assert_eq!(cache.signing_key(&scope("secret", time, "20150830", "us-east-1", "iam")), base);
        assert_ne!(cache.signing_key(&scope("secret2", time, "20150830", "us-east-1", "iam")), base);
    }

    #[test]
    fn answers_correctly_when_scopes_outnumber_slots() {
        let cache = SigningKeyCache::new();
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let regions: Vec<String> = (0..SLOTS * 3).map(|i| format!("region-{i}")).collect();
        for region in &regions {
            let key = cache.signing_key(&scope("secret", time, "20150830", region, "iam"));
            let fresh = derive(&scope("secret", time, "20150830", region, "iam"));
            assert_eq!(key, fresh);
        }
    }

    #[test]
    fn threads_sharing_it_each_get_the_key_of_their_scope() {
        let cache = SigningKeyCache::new();
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let regions: Vec<String> = (0..SLOTS * 2).map(|i| format!("region-{i}")).collect();
        let expected: Vec<[u8; 32]> =
            regions.iter().map(|r| derive(&scope("secret", time, "20150830", r, "iam"))).collect();
        std::thread::scope(|threads| {
            for t in 0..4 {
                let (cache, regions, expected) = (&cache, &regions, &expected);
                threads.spawn(move || {
                    for i in 0..2000 {
                        let n = (i * 7 + t * 13) % regions.len();
                        let key = cache.signing_key(&scope("secret", time, "20150830", &regions[n], "iam"));
                        assert_eq!(key, expected[n]);
                    }
                });
            }
        });
    }

    #[test]
    fn never_shows_the_secret() {
        let cache = SigningKeyCache::new();
        let secret = "a-very-secret-value";
        let time = UNIX_EPOCH;
        let scope = scope(secret, time, "19700101", "us-east-1", "iam");
        cache.signing_key(&scope);
        let shown = format!(
            "{scope:?} {cache:?} {:?}",
            cache.slots.iter().map(|s| format!("{:?}", s.read().unwrap())).collect::<Vec<_>>()
        );
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
    }
}
