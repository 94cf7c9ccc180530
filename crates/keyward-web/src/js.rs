//! Plain JS objects from the reports (no serde_json in the page's wasm: it would cost more
//! than everything else here).

use js_sys::{Array, Object, Reflect};
use keyward_core::{MachineFacts, Timestamp};
use wasm_bindgen::JsValue;

use crate::check::{Args, BoundTo, Details, License, Machine, MachineMatch, Report, Update};

/// A JS object under construction.
struct Obj(Object);

impl Obj {
    fn new() -> Obj {
        Obj(Object::new())
    }

    fn set(self, key: &str, value: impl Into<JsValue>) -> Obj {
        // Setting a property of a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    fn set_some(self, key: &str, value: Option<impl Into<JsValue>>) -> Obj {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }
}

impl From<Obj> for JsValue {
    fn from(o: Obj) -> JsValue {
        o.0.into()
    }
}

fn null_or<T: Into<JsValue>>(v: Option<T>) -> JsValue {
    v.map_or(JsValue::NULL, Into::into)
}

fn secs(t: Timestamp) -> JsValue {
    JsValue::from_f64(t.0 as f64)
}

fn strings<S: AsRef<str>>(items: &[S]) -> JsValue {
    items
        .iter()
        .map(|s| JsValue::from_str(s.as_ref()))
        .collect::<Array>()
        .into()
}

/// `{kind, verdict, message, suggestion, reason, typos: [{group, first, last}], args,
/// details, binding_unchecked}`.
pub(crate) fn report(r: &Report) -> JsValue {
    let typos: Array = r
        .typos
        .iter()
        .map(|t| -> JsValue {
            Obj::new()
                .set("group", t.group as f64)
                .set("first", t.first_position as f64)
                .set("last", t.last_position as f64)
                .into()
        })
        .collect();
    Obj::new()
        .set("kind", null_or(r.kind))
        .set("verdict", r.verdict)
        .set("message", r.message.as_str())
        .set("suggestion", null_or(r.suggestion.as_deref()))
        .set("reason", null_or(r.reason))
        .set("typos", typos)
        .set("args", args(&r.args))
        .set("details", r.details.as_ref().map_or(JsValue::NULL, details))
        .set("binding_unchecked", r.binding_unchecked)
        .into()
}

fn args(a: &Args) -> JsValue {
    let mut o = Obj::new()
        .set_some("expected", a.expected)
        .set_some("found", a.found)
        .set_some("character", a.character.map(String::from))
        .set_some("position", a.position.map(|p| p as f64))
        .set_some("symbols", a.symbols.map(|p| p as f64))
        .set_some("version", a.version.map(f64::from))
        .set_some("key_id", a.key_id.as_deref())
        .set_some("days_left", a.days_left.map(|d| d as f64))
        .set_some("grace_ends", a.grace_ends.map(secs))
        .set_some("hardware_kind", a.hardware_kind);
    if let Some((len, max)) = a.length {
        o = o.set("length", len as f64).set("max", max as f64);
    }
    if let Some((matched, required, differing)) = &a.mismatch {
        o = o
            .set("matched", f64::from(*matched))
            .set("required", f64::from(*required))
            .set("differing", strings(differing));
    }
    if let Some((now, high_water)) = a.clock {
        o = o.set("now", secs(now)).set("high_water", secs(high_water));
    }
    o.into()
}

/// Flat: the license fields (`product`, `sku`, `seats`, `not_before`, `expires`,
/// `features`, `trial`, `bound_to`, `license_id`, …) at the top, then `machine`, `update`,
/// `key_id`, `nonce`, `issued`.
fn details(d: &Details) -> JsValue {
    let mut o = Obj::new();
    if let Some(l) = &d.license {
        o = license(o, l);
    }
    o.set_some("machine", d.machine.as_ref().map(machine))
        .set_some("update", d.update.as_ref().map(update))
        .set_some("key_id", d.key_id.as_deref())
        .set_some("nonce", d.nonce.as_deref())
        .set_some("issued", d.issued.map(secs))
        .into()
}

fn license(o: Obj, l: &License) -> Obj {
    o.set("license_id", l.license_id.as_str())
        .set("product", l.product.as_str())
        .set("sku", l.sku.as_str())
        .set("seats", f64::from(l.seats))
        .set("not_before", secs(l.not_before))
        .set("expires", l.expires.map_or(JsValue::NULL, secs))
        .set("features", strings(&l.features))
        .set("trial", l.trial)
        .set("instance_id", null_or(l.instance_id.as_deref()))
        .set("order_id", null_or(l.order_id.as_deref()))
        .set(
            "bound_to",
            l.bound_to.as_ref().map_or(JsValue::NULL, bound_to),
        )
}

fn bound_to(b: &BoundTo) -> JsValue {
    match b {
        BoundTo::System {
            code,
            tolerance,
            facts,
        } => Obj::new()
            .set("type", "system")
            .set("code", code.as_str())
            .set("required", f64::from(*tolerance))
            .set("of", *facts as f64),
        BoundTo::Hardware {
            kind,
            tolerance,
            parts,
        } => Obj::new()
            .set("type", "hardware")
            .set("hardware_kind", *kind)
            .set("required", f64::from(*tolerance))
            .set("of", *parts as f64),
    }
    .into()
}

fn machine(m: &Machine) -> JsValue {
    Obj::new()
        .set("kind", m.kind)
        .set("text", m.text.as_str())
        .set_some("hardware_kind", m.hardware_kind)
        .set_some("facts", m.facts.map(|n| n as f64))
        .into()
}

fn update(u: &Update) -> JsValue {
    Obj::new()
        .set("license_id", u.license_id.as_str())
        .set("sequence", f64::from(u.sequence))
        .set("action", u.action)
        .set("expires", u.expires.map_or(JsValue::NULL, secs))
        .into()
}

/// `{state, bound, matched, required, differing}`.
pub(crate) fn machine_match(m: &MachineMatch) -> JsValue {
    Obj::new()
        .set("state", m.state)
        .set("bound", null_or(m.bound))
        .set("matched", f64::from(m.matched))
        .set("required", f64::from(m.required))
        .set("differing", strings(&m.differing))
        .into()
}

/// Machine facts from `{machine_id, product_uuid, board_serial, disk_serial, cpu, macs}`
/// (the shape of `facts` in tests/vectors/vectors.json); `None` for `undefined`/`null`.
pub(crate) fn facts(v: &JsValue) -> Option<MachineFacts> {
    if v.is_undefined() || v.is_null() {
        return None;
    }
    let get = |k: &str| Reflect::get(v, &JsValue::from_str(k)).ok();
    let s = |k: &str| get(k).and_then(|x| x.as_string());
    let macs = get("macs")
        .filter(Array::is_array)
        .map(|a| {
            Array::from(&a)
                .iter()
                .filter_map(|m| m.as_string())
                .collect()
        })
        .unwrap_or_default();
    Some(MachineFacts {
        machine_id: s("machine_id"),
        product_uuid: s("product_uuid"),
        board_serial: s("board_serial"),
        disk_serial: s("disk_serial"),
        cpu: s("cpu"),
        macs,
    })
}
