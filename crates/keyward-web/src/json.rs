//! The reports as JSON text (the page does `JSON.parse`), written by hand: no serde and no
//! `js_sys` objects in the page's wasm, which would each cost more than everything here.
//! Plain Rust, so the output is tested natively.

use alloc::string::String;

use keyward_core::{MachineFacts, Timestamp};

use crate::check::{Args, BoundTo, Details, License, Machine, MachineMatch, Report, Update};

/// A JSON text under construction. Keys are this file's own ASCII literals, so only string
/// values are escaped.
pub(crate) struct Json {
    out: String,
    /// No comma before the next value: just after `{`, `[` or a key.
    fresh: bool,
}

impl Json {
    pub(crate) fn new() -> Json {
        Json {
            out: String::new(),
            fresh: true,
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }

    /// Starts a value: a comma unless it is the first in its object or array, or follows
    /// its key.
    fn value(&mut self) -> &mut String {
        if !self.fresh {
            self.out.push(',');
        }
        self.fresh = false;
        &mut self.out
    }

    pub(crate) fn open(&mut self, bracket: char) -> &mut Json {
        self.value().push(bracket);
        self.fresh = true;
        self
    }

    pub(crate) fn close(&mut self, bracket: char) -> &mut Json {
        self.out.push(bracket);
        self.fresh = false;
        self
    }

    /// `"key":`, ready for its value.
    pub(crate) fn key(&mut self, key: &str) -> &mut Json {
        let out = self.value();
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        self.fresh = true;
        self
    }

    /// A string, escaped per RFC 8259 (`"`, `\` and the control characters; everything
    /// else as is, in UTF-8).
    pub(crate) fn str(&mut self, s: &str) -> &mut Json {
        let out = self.value();
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\0'..='\x1f' => {
                    out.push_str("\\u00");
                    out.push(HEX[c as usize >> 4] as char);
                    out.push(HEX[c as usize & 15] as char);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        self
    }

    /// A whole number, in decimal.
    pub(crate) fn num(&mut self, n: u64) -> &mut Json {
        keyward_core::time::push_digits(self.value(), n, 1);
        self
    }

    fn raw(&mut self, literal: &str) -> &mut Json {
        self.value().push_str(literal);
        self
    }

    pub(crate) fn bool(&mut self, b: bool) -> &mut Json {
        self.raw(if b { "true" } else { "false" })
    }

    pub(crate) fn null(&mut self) -> &mut Json {
        self.raw("null")
    }

    /// A string or `null`.
    fn str_or_null(&mut self, s: Option<&str>) -> &mut Json {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    /// A time (seconds since the epoch) or `null`.
    fn time_or_null(&mut self, t: Option<Timestamp>) -> &mut Json {
        match t {
            Some(t) => self.num(t.0),
            None => self.null(),
        }
    }

    /// `"key":"value"` when there is a value; nothing otherwise (the property is then
    /// `undefined` in JS, which the page tells from `null`).
    fn str_if(&mut self, key: &str, s: Option<&str>) -> &mut Json {
        if let Some(s) = s {
            self.key(key).str(s);
        }
        self
    }

    /// `"key":n` when there is a number; nothing otherwise.
    fn num_if(&mut self, key: &str, n: Option<u64>) -> &mut Json {
        if let Some(n) = n {
            self.key(key).num(n);
        }
        self
    }

    /// An array of strings.
    pub(crate) fn strs<S: AsRef<str>>(&mut self, items: &[S]) -> &mut Json {
        self.open('[');
        for s in items {
            self.str(s.as_ref());
        }
        self.close(']')
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `{kind, verdict, message, suggestion, reason, typos: [{group, first, last}], args,
/// details, binding_unchecked}`.
pub(crate) fn report(r: &Report) -> String {
    let mut j = Json::new();
    write_report(&mut j, r);
    j.finish()
}

pub(crate) fn write_report(j: &mut Json, r: &Report) {
    j.open('{')
        .key("kind")
        .str_or_null(r.kind)
        .key("verdict")
        .str(r.verdict.as_str())
        .key("message")
        .str(&r.message)
        .key("suggestion")
        .str_or_null(r.suggestion.as_deref())
        .key("pasted_as")
        .str_or_null(r.pasted_as.as_deref())
        .key("reason")
        .str_or_null(r.reason)
        .key("typos")
        .open('[');
    for t in &r.typos {
        j.open('{')
            .key("group")
            .num(t.group as u64)
            .key("first")
            .num(t.first_position as u64)
            .key("last")
            .num(t.last_position as u64)
            .close('}');
    }
    j.close(']').key("args");
    args(j, &r.args);
    j.key("details");
    match &r.details {
        Some(d) => details(j, d),
        None => {
            j.null();
        }
    }
    j.key("binding_unchecked")
        .bool(r.binding_unchecked)
        .close('}');
}

fn args(j: &mut Json, a: &Args) {
    let mut character = [0; 4];
    j.open('{')
        .str_if("expected", a.expected)
        .str_if("found", a.found)
        .str_if(
            "character",
            a.character.map(|c| &*c.encode_utf8(&mut character)),
        )
        .num_if("position", a.position.map(|p| p as u64))
        .num_if("symbols", a.symbols.map(|s| s as u64))
        .num_if("version", a.version.map(u64::from))
        .str_if("key_id", a.key_id.as_deref())
        .num_if("days_left", a.days_left)
        .num_if("grace_ends", a.grace_ends.map(|t| t.0))
        .str_if("hardware_kind", a.hardware_kind);
    if let Some((missing, at_least)) = a.missing {
        j.key("missing")
            .num(missing as u64)
            .key("at_least")
            .bool(at_least);
    }
    if let Some((len, max)) = a.length {
        j.key("length").num(len as u64).key("max").num(max as u64);
    }
    if let Some((matched, required, differing)) = &a.mismatch {
        j.key("matched")
            .num(u64::from(*matched))
            .key("required")
            .num(u64::from(*required))
            .key("differing")
            .strs(differing);
    }
    if let Some((now, high_water)) = a.clock {
        j.key("now").num(now.0).key("high_water").num(high_water.0);
    }
    j.close('}');
}

/// Flat: the license fields (`product`, `sku`, `seats`, `not_before`, `expires`,
/// `features`, `trial`, `bound_to`, `license_id`, …) at the top, then `machine`, `update`,
/// `key_id`, `nonce`, `issued`.
fn details(j: &mut Json, d: &Details) {
    j.open('{');
    if let Some(l) = &d.license {
        license(j, l);
    }
    if let Some(m) = &d.machine {
        machine(j.key("machine"), m);
    }
    if let Some(u) = &d.update {
        update(j.key("update"), u);
    }
    j.str_if("key_id", d.key_id.as_deref())
        .str_if("nonce", d.nonce.as_deref())
        .num_if("issued", d.issued.map(|t| t.0))
        .close('}');
}

fn license(j: &mut Json, l: &License) {
    j.key("license_id")
        .str(&l.license_id)
        .key("product")
        .str(&l.product)
        .key("sku")
        .str(&l.sku)
        .key("seats")
        .num(u64::from(l.seats))
        .key("not_before")
        .num(l.not_before.0)
        .key("expires")
        .time_or_null(l.expires)
        .key("features")
        .strs(&l.features)
        .key("trial")
        .bool(l.trial)
        .key("instance_id")
        .str_or_null(l.instance_id.as_deref())
        .key("order_id")
        .str_or_null(l.order_id.as_deref())
        .key("bound_to");
    let (kind, tolerance, of) = match &l.bound_to {
        None => {
            j.null();
            return;
        }
        Some(BoundTo::System {
            code,
            tolerance,
            facts,
        }) => {
            j.open('{').key("type").str("system").key("code").str(code);
            (None, tolerance, facts)
        }
        Some(BoundTo::Hardware {
            kind,
            tolerance,
            parts,
        }) => {
            j.open('{').key("type").str("hardware");
            (Some(*kind), tolerance, parts)
        }
    };
    j.str_if("hardware_kind", kind)
        .key("required")
        .num(u64::from(*tolerance))
        .key("of")
        .num(*of as u64)
        .close('}');
}

fn machine(j: &mut Json, m: &Machine) {
    j.open('{')
        .key("kind")
        .str(m.kind)
        .key("text")
        .str(&m.text)
        .str_if("hardware_kind", m.hardware_kind)
        .num_if("facts", m.facts.map(|n| n as u64))
        .close('}');
}

fn update(j: &mut Json, u: &Update) {
    j.open('{')
        .key("license_id")
        .str(&u.license_id)
        .key("sequence")
        .num(u64::from(u.sequence))
        .key("action")
        .str(u.action)
        .key("expires")
        .time_or_null(u.expires)
        .close('}');
}

/// `{state, bound, matched, required, differing}`.
pub(crate) fn machine_match(m: &MachineMatch) -> String {
    let mut j = Json::new();
    j.open('{')
        .key("state")
        .str(m.state)
        .key("bound")
        .str_or_null(m.bound)
        .key("matched")
        .num(u64::from(m.matched))
        .key("required")
        .num(u64::from(m.required))
        .key("differing")
        .strs(&m.differing)
        .close('}');
    j.finish()
}

/// Machine facts from lines of `name=value`: `machine_id`, `product_uuid`,
/// `board_serial`, `disk_serial`, `cpu`, `cpu_id` once each, `macs` once per MAC address and
/// `custom` once per identifier (the facts
/// of tests/vectors/vectors.json, as the page's test hook writes them). Other lines are
/// ignored; an empty text is a machine with no facts. A value cannot hold a line break.
pub(crate) fn facts(text: &str) -> MachineFacts {
    let mut f = MachineFacts::default();
    for line in text.split('\n') {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = String::from(value);
        match name {
            "machine_id" => f.machine_id = Some(value),
            "product_uuid" => f.product_uuid = Some(value),
            "board_serial" => f.board_serial = Some(value),
            "disk_serial" => f.disk_serial = Some(value),
            "cpu" => f.cpu = Some(value),
            "cpu_id" => f.cpu_id = Some(value),
            "macs" => f.macs.push(value),
            "custom" => f.custom.push(value),
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn strings_are_escaped_per_rfc_8259() {
        let all: String = (0u32..0x80)
            .filter_map(char::from_u32)
            .chain("é中😀\u{2028}\u{7f}".chars())
            .collect();
        let mut j = Json::new();
        j.open('[')
            .str(&all)
            .str("")
            .str("\"\\/")
            .num(0)
            .num(u64::MAX)
            .bool(true)
            .null()
            .strs(&["a", "b"])
            .close(']');
        let text = j.finish();
        assert!(!text.chars().any(|c| c < ' '), "{text}");
        assert_eq!(
            parse(&text),
            json!([all, "", "\"\\/", 0, u64::MAX, true, null, ["a", "b"]])
        );
        assert!(text.contains(r#""\"\\/""#));
        assert!(text.contains(r"\u001f"));
        assert!(text.contains(r"\n"));
    }

    #[test]
    fn objects_nest_with_commas_in_place() {
        let mut j = Json::new();
        j.open('{')
            .key("a")
            .open('{')
            .close('}')
            .key("b")
            .open('[')
            .open('[')
            .close(']')
            .num(12)
            .open('{')
            .key("c")
            .num(3)
            .close('}')
            .close(']')
            .str_if("d", None)
            .str_if("e", Some("x"))
            .num_if("f", Some(7))
            .close('}');
        assert_eq!(j.finish(), r#"{"a":{},"b":[[],12,{"c":3}],"e":"x","f":7}"#);
    }

    #[test]
    fn facts_from_lines() {
        let f = facts("machine_id=abc\ncpu=Intel = 6\nmacs=01:02\nmacs=03:04\nnoise\nx=y\ncpu_id=BFEBFBFF000906EA\ncustom=a\ncustom=b");
        assert_eq!(f.machine_id.as_deref(), Some("abc"));
        assert_eq!(f.cpu_id.as_deref(), Some("BFEBFBFF000906EA"));
        assert_eq!(f.custom, ["a", "b"]);
        assert_eq!(f.cpu.as_deref(), Some("Intel = 6"));
        assert_eq!(f.macs, ["01:02", "03:04"]);
        assert_eq!(f.product_uuid, None);
        assert_eq!(facts(""), MachineFacts::default());
    }
}
