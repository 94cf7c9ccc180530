//! The kinds of keyward code, named by the prefix (`KA1`, `KS1`, …).

/// The kinds of keyward code, named by the second character of the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Kind {
    /// `KA` — authorization code (授权码).
    AuthorizationCode,
    /// `KS` — system identification code (系统识别码).
    SystemId,
    /// `KR` — activation request (激活请求).
    ActivationRequest,
    /// `KC` — activation certificate (激活证书), usually inside an armour.
    ActivationCertificate,
    /// `KN` — signed update (续费/冻结/释放通知).
    SignedUpdate,
    /// `KD` — deactivation code (停用码): a machine gives its seat back.
    DeactivationCode,
}

impl Kind {
    /// All kinds, in a fixed order.
    pub const ALL: [Kind; 6] = [
        Kind::AuthorizationCode,
        Kind::SystemId,
        Kind::ActivationRequest,
        Kind::ActivationCertificate,
        Kind::SignedUpdate,
        Kind::DeactivationCode,
    ];

    /// The letter after `K` in the prefix.
    pub const fn letter(self) -> u8 {
        match self {
            Kind::AuthorizationCode => b'A',
            Kind::SystemId => b'S',
            Kind::ActivationRequest => b'R',
            Kind::ActivationCertificate => b'C',
            Kind::SignedUpdate => b'N',
            Kind::DeactivationCode => b'D',
        }
    }

    /// Stable machine name (`authorization_code`, …), the same in JSON, WIT and the page.
    pub const fn code(self) -> &'static str {
        match self {
            Kind::AuthorizationCode => "authorization_code",
            Kind::SystemId => "system_id",
            Kind::ActivationRequest => "activation_request",
            Kind::ActivationCertificate => "activation_certificate",
            Kind::SignedUpdate => "signed_update",
            Kind::DeactivationCode => "deactivation_code",
        }
    }

    /// English name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::AuthorizationCode => "authorization code",
            Kind::SystemId => "system identification code",
            Kind::ActivationRequest => "activation request",
            Kind::ActivationCertificate => "activation certificate",
            Kind::SignedUpdate => "signed update",
            Kind::DeactivationCode => "deactivation code",
        }
    }

    /// English name with its article ("an authorization code").
    pub const fn a_name(self) -> &'static str {
        match self {
            Kind::AuthorizationCode => "an authorization code",
            Kind::SystemId => "a system identification code",
            Kind::ActivationRequest => "an activation request",
            Kind::ActivationCertificate => "an activation certificate",
            Kind::SignedUpdate => "a signed update",
            Kind::DeactivationCode => "a deactivation code",
        }
    }

    pub(crate) fn from_letter(b: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.letter() == b)
    }

    /// Data symbols per group (the check symbol comes on top).
    pub const fn group_len(self) -> usize {
        match self {
            // 20 data symbols = 100 bits = five 20-bit fact hashes, in four groups, so the
            // whole code fits in 32 characters: `KS1-XXXXXX-XXXXXX-XXXXXX-XXXXXX`.
            Kind::SystemId => 5,
            // 18 bytes = 29 data symbols in six groups of at most five and a check: short
            // groups, like the system identification code's, to read out over the phone.
            Kind::DeactivationCode => 5,
            // Nine data symbols and a check: ten-character groups keep a typical
            // authorization code (12-character product, one feature, 30 days) near 210
            // characters.
            _ => 9,
        }
    }
}
