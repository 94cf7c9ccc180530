//! The `state` target: the state blob a machine keeps, read from fuzzed bytes and then
//! changed by a fuzzed sequence of operations.
//!
//! Input: `[n (2 bytes, little endian), the blob without its checksum (n bytes), operations…]`.
//! The target appends the right checksum (the first 8 bytes of SHA-512 of the rest, as
//! `LicenseState::to_bytes` writes it), so mutations reach the reader instead of stopping at
//! the checksum. Each operation is two bytes, `[op, argument]`; `op` % 8 picks: install an
//! authorization code, install a certificate, apply a signed update, remove a license, ask
//! for the status at a later or earlier time, push an entry directly into the public
//! `entries` (as a caller of the library could), remember an activation request's secret,
//! or take a license out. The credentials come from a fixed pool signed with the test key,
//! for more licenses than a state may hold; the certificates answer requests whose secrets
//! the remember operation uses.
//!
//! Properties: a blob that reads re-encodes to exactly the same bytes; after every operation
//! the state written reads back equal; a refused install or update changes nothing; an
//! install never leaves more than `MAX_ENTRIES` licenses, nor two entries for one license,
//! and a secret it keeps gives a deactivation code its certificate accepts; an applied
//! update leaves its sequence number; a removed or taken license is gone; no more than
//! `MAX_PENDING` requests are remembered; `peek` right after `status` says the same.

use std::sync::OnceLock;

use keyward_core::{
    binding::Binding,
    eval::LicenseFlags,
    limits::{MAX_ENTRIES, MAX_PENDING, SECRET_LEN},
    state::{Applied, Credential, Entry},
    time::DAY,
    ActivationCertificate, AuthorizationCode, DeactivationCode, LicenseId, LicenseState,
    LicenseTerms, SignedUpdate, SystemIdCode, Timestamp, UpdateAction,
};
use sha2::{Digest, Sha512};

use crate::context::{context, facts, key, NOW};
use crate::limits::call;

/// Licenses in the pool: more than a state may hold.
pub const LICENSES: usize = MAX_ENTRIES + 6;
/// Licenses that also have certificates and updates in the pool.
const WITH_UPDATES: usize = 4;
/// Most operations one input runs.
pub const MAX_OPS: usize = 512;

struct Pool {
    codes: Vec<Credential>,
    certificates: Vec<Credential>,
    updates: Vec<SignedUpdate>,
}

fn license_id(i: usize) -> LicenseId {
    LicenseId([0xf0, 0x55, 0, 0, 0, 0, (i >> 8) as u8, i as u8])
}

/// The secret of the activation request that pool certificate `i` answers.
fn secret(i: usize) -> [u8; SECRET_LEN] {
    [i as u8; SECRET_LEN]
}

fn terms(i: usize) -> LicenseTerms {
    LicenseTerms {
        license_id: license_id(i),
        product: "acme-invoice".into(),
        sku: "pro".into(),
        seats: 1,
        not_before: Timestamp(NOW.0 - 10 * DAY),
        expires: Some(Timestamp(NOW.0 + 30 * DAY)),
        features: vec!["export".into()],
        trial: false,
        instance_id: None,
        order_id: None,
    }
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let codes = (0..LICENSES)
            .map(|i| AuthorizationCode::issue(key(), terms(i), None).map(Credential::Code))
            .collect::<Result<_, _>>();
        let here = Binding::system(SystemIdCode::compute("acme-invoice", facts()), None);
        let certificates = here.and_then(|binding| {
            (0..WITH_UPDATES)
                .map(|i| {
                    ActivationCertificate::issue(
                        key(),
                        terms(i),
                        binding.clone(),
                        [i as u8; 8],
                        NOW,
                    )
                    .map(Credential::Certificate)
                })
                .collect::<Result<_, _>>()
        });
        let actions = [
            UpdateAction::Renew {
                expires: Timestamp(NOW.0 + 90 * DAY),
            },
            UpdateAction::Freeze,
            UpdateAction::Unfreeze,
            UpdateAction::Release,
        ];
        let updates = (0..WITH_UPDATES * 4)
            .map(|j| {
                let (i, seq) = (j / 4, j % 4 + 1);
                SignedUpdate::issue(
                    key(),
                    license_id(i),
                    seq as u32,
                    actions[(i + seq) % 4],
                    NOW,
                )
            })
            .collect::<Result<_, _>>();
        match (codes, certificates, updates) {
            (Ok(codes), Ok(certificates), Ok(updates)) => Pool {
                codes,
                certificates,
                updates,
            },
            (c, k, u) => panic!("the fuzz pool cannot be issued: {c:?} {k:?} {u:?}"),
        }
    })
}

/// `body` followed by the checksum `LicenseState::to_bytes` writes.
pub fn with_checksum(body: &[u8]) -> Vec<u8> {
    let mut blob = body.to_vec();
    blob.extend_from_slice(&Sha512::digest(body)[..8]);
    blob
}

/// Checks that `state` written and read back is equal.
fn round_trip(state: &LicenseState, after: &str) {
    let Ok(blob) = state.to_bytes() else {
        // Only a state over the entry limit, or with a license recorded twice (pushed into
        // the public `entries`), may be refused by the encoder.
        let ids: Vec<_> = state
            .entries
            .iter()
            .map(|e| e.credential.license_id())
            .collect();
        let twice = ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id));
        assert!(
            state.entries.len() > keyward_core::limits::MAX_ENTRIES || twice,
            "after {after}, a state of {} entries cannot be written",
            state.entries.len()
        );
        return;
    };
    let back = call("LicenseState::from_bytes", blob.len(), || {
        LicenseState::from_bytes(&blob)
    });
    assert!(
        back.as_ref() == Ok(state),
        "after {after}, the state as written ({} entries, {} bytes) does not read back the \
         same: {}",
        state.entries.len(),
        blob.len(),
        match &back {
            Ok(b) => format!("it reads back with {} entries", b.entries.len()),
            Err(e) => format!("{e:?}"),
        }
    );
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let (n, rest) = match data.split_first_chunk::<2>() {
        Some((n, rest)) => (usize::from(u16::from_le_bytes(*n)), rest),
        None => (0, data),
    };
    let (body, ops) = rest.split_at(n.min(rest.len()));
    let mut state = LicenseState::default();
    if !body.is_empty() {
        let blob = with_checksum(body);
        let read = call("LicenseState::from_bytes", blob.len(), || {
            LicenseState::from_bytes(&blob)
        });
        if let Ok(s) = read {
            assert!(
                s.to_bytes().ok().as_ref() == Some(&blob),
                "a state blob that is not canonical was read ({} bytes; written back: {} bytes)",
                blob.len(),
                s.to_bytes().map_or(0, |b| b.len())
            );
            state = s;
        }
    }

    let pool = pool();
    for pair in ops.chunks(2).take(MAX_OPS) {
        let (op, arg) = (pair[0], usize::from(pair.get(1).copied().unwrap_or(0)));
        let before = state.clone();
        // The state's size, the input each call works on: its encoding, or, for a state the
        // encoder refuses (over the entry limit, or a license pushed twice), what its entries
        // would take.
        let size = before
            .to_bytes()
            .map_or_else(|_| encoded_size(&before), |b| b.len());
        let ctx = context(NOW);
        let name = match op % 8 {
            0 | 1 => {
                let credential = if op % 8 == 0 {
                    &pool.codes[arg % pool.codes.len()]
                } else {
                    &pool.certificates[arg % pool.certificates.len()]
                };
                let (after, result) = call("LicenseState::install", size, || {
                    let mut s = before.clone();
                    let r = s.install(credential.clone(), &ctx);
                    (s, r)
                });
                let id = credential.license_id();
                if result.is_ok() {
                    assert!(
                        after.entries.len() <= MAX_ENTRIES,
                        "install went past the limit"
                    );
                    let mine: Vec<&Entry> = after
                        .entries
                        .iter()
                        .filter(|e| e.credential.license_id() == id)
                        .collect();
                    assert!(
                        matches!(mine.as_slice(), [e] if e.credential == *credential),
                        "after an install, license {id} has {} entries",
                        mine.len()
                    );
                    assert!(
                        mine[0].secret.is_none() || mine[0].deactivation_code().is_some(),
                        "install kept a secret its certificate does not accept"
                    );
                } else {
                    assert!(after == before, "a refused install changed the state");
                }
                state = after;
                "install"
            }
            2 => {
                let update = &pool.updates[arg % pool.updates.len()];
                let (after, result) = call("LicenseState::apply", size, || {
                    let mut s = before.clone();
                    let r = s.apply(update, &ctx);
                    (s, r)
                });
                match result {
                    Ok(Applied::Applied) => assert!(
                        after
                            .entries
                            .iter()
                            .any(|e| e.credential.license_id() == update.license_id()
                                && e.sequence == update.sequence()),
                        "an applied update left no trace"
                    ),
                    Ok(Applied::AlreadyApplied) | Err(_) => {
                        assert!(after == before, "an update that changed nothing changed it")
                    }
                }
                state = after;
                "apply"
            }
            3 => {
                let id = license_id(arg % LICENSES);
                let had = before
                    .entries
                    .iter()
                    .any(|e| e.credential.license_id() == id);
                assert_eq!(state.remove(id), had, "remove misreported what it did");
                assert!(state
                    .entries
                    .iter()
                    .all(|e| e.credential.license_id() != id));
                "remove"
            }
            4 => {
                // Up to ~10 days later, or up to ~2 hours earlier (a clock turned back).
                let now = if arg < 224 {
                    Timestamp(NOW.0 + arg as u64 * 3600)
                } else {
                    Timestamp(NOW.0 - (arg as u64 - 223) * 240)
                };
                let ctx = context(now);
                let (after, status) = call("LicenseState::status", size, || {
                    let mut s = before.clone();
                    let status = s.status(&ctx);
                    (s, status)
                });
                assert!(after.peek(&ctx) == status, "peek after status differs");
                state = after;
                "status"
            }
            5 => {
                let credential = pool.codes[arg % pool.codes.len()].clone();
                state.entries.push(Entry {
                    credential,
                    sequence: arg as u32 * 1000,
                    flags: LicenseFlags {
                        frozen: arg & 1 != 0,
                        released: arg & 2 != 0,
                        renewed_expiry: (arg & 4 != 0).then_some(NOW),
                    },
                    // An expiry without its signed renewal, as a buyer could write it.
                    renewal: None,
                    secret: (arg & 8 != 0).then(|| secret(arg)),
                });
                "pushing an entry"
            }
            6 => {
                let i = arg % LICENSES;
                let nonce = state.remember_request(license_id(i), secret(i));
                assert_eq!(nonce, DeactivationCode::commitment(&secret(i)));
                assert!(
                    state.pending.len() <= MAX_PENDING,
                    "too many requests remembered"
                );
                "remembering a request"
            }
            _ => {
                let id = license_id(arg % LICENSES);
                let had = before
                    .entries
                    .iter()
                    .any(|e| e.credential.license_id() == id);
                assert_eq!(
                    state.take(id).is_some(),
                    had,
                    "take misreported what it did"
                );
                assert!(
                    state
                        .entries
                        .iter()
                        .all(|e| e.credential.license_id() != id),
                    "license {id} is still installed after take"
                );
                if had {
                    assert!(
                        state.pending.iter().all(|p| p.license_id != id),
                        "a request for license {id} is still pending after take"
                    );
                }
                "take"
            }
        };
        round_trip(&state, name);
    }
}

/// About what `state` would take encoded, for one the encoder refuses: each entry's
/// credential and renewal, plus a little for the rest of it.
fn encoded_size(state: &LicenseState) -> usize {
    let entries: usize = state
        .entries
        .iter()
        .map(|e| {
            let credential = match &e.credential {
                Credential::Code(c) => c.to_bytes().len(),
                Credential::Certificate(c) => c.to_bytes().len(),
            };
            credential + e.renewal.as_ref().map_or(0, |u| u.to_bytes().len()) + 32
        })
        .sum();
    entries + state.pending.len() * 18 + 32
}
