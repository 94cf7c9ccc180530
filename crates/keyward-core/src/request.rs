//! The activation request (激活请求): unsigned; carried by the buyer from an offline machine
//! to the merchant (paste, file, QR).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::authcode::AuthorizationCode;
pub use crate::binding::MachineRef;
use crate::error::Error;
use crate::hwid::HardwareId;
use crate::limits::MAX_FINGERPRINT_LEN;
use crate::sysid::{SystemIdCode, PACKED_LEN};
use crate::text::{self, Kind};
use crate::time::{Timestamp, MINUTE};
use crate::wire::{Reader, Writer};

/// An activation request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivationRequest {
    /// The authorization code being activated (its signature is checked by the merchant).
    pub code: AuthorizationCode,
    /// The machine to bind.
    pub machine: MachineRef,
    /// Random, echoed in the certificate so a reply can be matched to its request.
    pub nonce: [u8; 8],
    /// When the request was made (whole minutes).
    pub created: Timestamp,
}

const MAX_CODE_BYTES: u64 = 2048;

impl ActivationRequest {
    /// A request; `created` is rounded down to the minute.
    pub fn new(
        code: AuthorizationCode,
        machine: MachineRef,
        nonce: [u8; 8],
        created: Timestamp,
    ) -> Self {
        ActivationRequest {
            code,
            machine,
            nonce,
            created: created.floor_minute(),
        }
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        let code = self.code.to_bytes();
        w.varint(code.len() as u64);
        w.bytes(&code);
        match &self.machine {
            MachineRef::System(s) => {
                w.u8(1);
                w.bytes(&s.to_packed());
            }
            MachineRef::Hardware(h) => {
                w.u8(2);
                let t = h.to_string();
                w.varint(t.len() as u64);
                w.bytes(t.as_bytes());
            }
        }
        w.bytes(&self.nonce);
        w.varint(self.created.0 / MINUTE);
        w.buf
    }

    /// Parses canonical bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(Kind::ActivationRequest, bytes);
        let n = r.varint_max(MAX_CODE_BYTES)? as usize;
        let code = AuthorizationCode::from_bytes(r.take(n)?)?;
        let machine = match r.u8()? {
            1 => {
                let p: [u8; PACKED_LEN] = r.array()?;
                MachineRef::System(
                    SystemIdCode::from_packed(&p).ok_or(r.err(said!("invalid system id")))?,
                )
            }
            2 => {
                let n = r.varint_max(MAX_FINGERPRINT_LEN as u64 + 16)? as usize;
                let s = core::str::from_utf8(r.take(n)?)
                    .map_err(|_| r.err(said!("hardware id is not UTF-8")))?;
                let h = HardwareId::parse(s).map_err(|_| r.err(said!("invalid hardware id")))?;
                if h.to_string() != s {
                    return Err(r.err(said!("hardware id not in normal form")));
                }
                MachineRef::Hardware(h)
            }
            _ => return Err(r.err(said!("unknown machine kind"))),
        };
        let nonce = r.array()?;
        let created = Timestamp(r.varint_max(u64::MAX / MINUTE / 4)? * MINUTE);
        r.finish()?;
        Ok(ActivationRequest {
            code,
            machine,
            nonce,
            created,
        })
    }

    /// Text form, `KR1-…`.
    pub fn encode(&self) -> String {
        text::encode(Kind::ActivationRequest, &self.to_bytes())
    }

    /// Parses the text form. The embedded authorization code is not verified here: the
    /// merchant does that with `request.code.verify(&keys)`.
    pub fn decode(input: &str) -> Result<Self, Error> {
        let sym = text::read_kind(input, Kind::ActivationRequest)?;
        Self::from_bytes(&text::decode_symbols(&sym)?)
    }
}
