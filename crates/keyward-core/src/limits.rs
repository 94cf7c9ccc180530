//! Every size and count keyward-core bounds, in one place: what a reader refuses before doing
//! work, and what an issuer cannot sign.

/// Most seats one license may carry.
pub const MAX_SEATS: u32 = 1_000_000;

/// Most parts a hardware binding holds (a fingerprint with many MACs and disks).
pub const MAX_PARTS: usize = 16;

/// Most bytes a fingerprint's normal form may hold (the marketplace's limit).
pub const MAX_FINGERPRINT_LEN: usize = 5 * 1024;

/// Most keys [`TrustedKeys::from_pem`](crate::TrustedKeys::from_pem) reads: a product trusts
/// its current key and the few it rotated from.
pub const MAX_TRUSTED_KEYS: usize = 64;

/// Most bytes of text [`TrustedKeys::from_pem`](crate::TrustedKeys::from_pem) reads: 64 keys
/// of 113 bytes each, with room for comments and Windows line ends.
pub const MAX_TRUSTED_PEM: usize = 16 * 1024;

/// Most licenses one machine holds.
pub const MAX_ENTRIES: usize = 64;

/// Most unanswered activation requests a machine remembers (the oldest is forgotten first).
pub const MAX_PENDING: usize = 16;

/// Longest text accepted before any work is done (an armoured certificate is a few hundred
/// characters; 64 KiB leaves generous room for pasted surroundings).
pub const MAX_TEXT_LEN: usize = 64 * 1024;

/// Bytes of the secret a machine keeps per license, behind its deactivation code.
pub const SECRET_LEN: usize = 10;
