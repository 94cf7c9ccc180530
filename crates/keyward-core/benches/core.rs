//! `cargo xtask bench` (or `cargo bench -p keyward-core`): issue and verify throughput on
//! one core. Goals: issuing ≥ 30,000 codes/s, verifying ≥ 20,000 codes/s. And the typo
//! search on a normal code and on the longest text accepted (64 KiB), to compare in one run.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use keyward_core::*;
use keyward_core::{binding::Binding, eval::Policy, state::Credential, time::DAY};
use std::hint::black_box;

fn terms(n: u64) -> LicenseTerms {
    LicenseTerms {
        license_id: LicenseId(n.to_be_bytes()),
        product: "acme-invoice".into(),
        sku: "pro".into(),
        seats: 1,
        not_before: Timestamp(1_795_000_000),
        expires: Some(Timestamp(1_795_000_000 + 30 * DAY)),
        features: vec!["export".into()],
        trial: false,
        instance_id: None,
        order_id: None,
    }
}

fn facts() -> MachineFacts {
    MachineFacts {
        machine_id: Some("8f3b1c2d4e5f60718293a4b5c6d7e8f9".into()),
        product_uuid: Some("4c4c4544-003d-4a10-804b-b4c04f4e3732".into()),
        board_serial: Some("CN7016351P00AF".into()),
        disk_serial: Some("S4EVNF0M712345X".into()),
        cpu: Some("GenuineIntel family 6 model 158 stepping 10".into()),
        macs: vec!["04:7c:16:5e:e3:5d".into()],
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let key = MerchantKey::from_seed(&[7; 32]);
    let trusted = TrustedKeys::from_keys([key.public()]);
    let f = facts();
    let sys = SystemIdCode::compute("acme-invoice", &f);
    let bound = AuthorizationCode::issue(&key, terms(1), Some(Binding::system(sys, None).unwrap()))
        .unwrap()
        .encode();
    let ctx = Context {
        trusted: &trusted,
        facts: &f,
        hardware_ids: &[],
        now: Timestamp(1_795_100_000),
        policy: Policy::default(),
    };

    let mut g = c.benchmark_group("codes");
    g.throughput(Throughput::Elements(1));
    g.bench_function("issue_one_code", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(
                AuthorizationCode::issue(&key, terms(n), None)
                    .unwrap()
                    .encode(),
            )
        })
    });
    g.bench_function("verify_one_code", |b| {
        b.iter(|| black_box(AuthorizationCode::decode(black_box(&bound), &trusted).unwrap()))
    });
    g.bench_function("evaluate_status_bound_code", |b| {
        b.iter(|| black_box(verdict(black_box(&bound), None, &ctx, Timestamp(0))))
    });
    let mut state = LicenseState::default();
    state
        .install(
            Credential::Code(AuthorizationCode::decode(&bound, &trusted).unwrap()),
            &ctx,
        )
        .unwrap();
    g.bench_function("state_status", |b| b.iter(|| black_box(state.peek(&ctx))));
    g.finish();

    // The typo-correction search (issue 13.1): a normal code with one wrong character, and
    // the longest text accepted (64 KiB) made of valid groups with one wrong character. The
    // search is bounded by the located group, so the two differ by the input's reading,
    // not by a search over all of it.
    let mut g = c.benchmark_group("typo");
    g.throughput(Throughput::Elements(1));
    // One code character at or after `at` replaced by another.
    let with_typo = |code: &str, at: usize| -> String {
        let mut chars: Vec<char> = code.chars().collect();
        let at = (at..chars.len())
            .find(|&i| chars[i].is_ascii_alphanumeric())
            .unwrap();
        chars[at] = if chars[at] == '7' { '8' } else { '7' };
        chars.into_iter().collect()
    };
    let normal = with_typo(&bound, 20);
    assert!(AuthorizationCode::decode(&normal, &trusted).is_err());
    g.bench_function("normal_code_one_typo", |b| {
        b.iter(|| black_box(AuthorizationCode::decode(black_box(&normal), &trusted).is_err()))
    });
    let chars_per_byte =
        keyward_core::raw::encode(Kind::AuthorizationCode, &[0x5a; 1000]).len() as f64 / 1000.0;
    let mut bytes = vec![0x5a; ((64 * 1024 - 16) as f64 / chars_per_byte) as usize];
    while keyward_core::raw::encode(Kind::AuthorizationCode, &bytes).len() > 64 * 1024 {
        bytes.truncate(bytes.len() - 8);
    }
    let long = keyward_core::raw::encode(Kind::AuthorizationCode, &bytes);
    let long = with_typo(&long, long.len() / 2);
    assert!(long.len() <= 64 * 1024, "{}", long.len());
    g.bench_function("64k_code_one_typo", |b| {
        b.iter(|| black_box(AuthorizationCode::decode(black_box(&long), &trusted).is_err()))
    });
    // The same code with one character dropped instead: the search tries insertions, each
    // a new packing of the whole code.
    let dropped = {
        let mut chars: Vec<char> = long.chars().collect();
        let at = (chars.len() / 3..chars.len())
            .find(|&i| chars[i].is_ascii_alphanumeric())
            .unwrap();
        chars.remove(at);
        chars.into_iter().collect::<String>()
    };
    g.bench_function("64k_code_one_dropped", |b| {
        b.iter(|| black_box(AuthorizationCode::decode(black_box(&dropped), &trusted).is_err()))
    });
    g.finish();

    let mut g = c.benchmark_group("batch");
    const BATCH: u64 = 1000;
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(20);
    g.bench_function("issue_1000_codes", |b| {
        b.iter_batched(
            || (0..BATCH).map(terms).collect::<Vec<_>>(),
            |all| {
                for t in all {
                    black_box(AuthorizationCode::issue(&key, t, None).unwrap().encode());
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
