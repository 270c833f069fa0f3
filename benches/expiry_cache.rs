//! The expiry cache holding 1,000,000 pending tasks: add, update, remove,
//! take-due and an idle tick (criterion), plus its memory per pending task,
//! measured once with a counting allocator and held to the target of the
//! issue (< 150 bytes; the binary fails if it is missed).
//!
//! `cargo bench --bench expiry_cache` (or `make bench`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use taskman::domain::{TaskId, Timestamp};
use taskman::expiry::ExpiryCache;

/// Pending tasks in the cache under test.
const PENDING: i64 = 1_000_000;
/// The target for the cache's memory per pending task.
const TARGET_BYTES_PER_TASK: f64 = 150.0;
/// Due entries per `take_due` call.
const DUE: i64 = 100;
/// Operations timed per round in `add` and `remove`, each round undone
/// (untimed) afterwards so that the cache stays at ~1,000,000 entries.
const ROUND: u64 = 1_000;

/// 2099-01-01T00:00:00Z in microseconds: every pending expiry is later.
const EXPIRY_BASE: i64 = 4_070_908_800_000_000;
/// Pending expiries are spread over a year after `EXPIRY_BASE`.
const EXPIRY_SPAN: u64 = 365 * 24 * 3_600 * 1_000_000;
/// 2026-01-01T00:00:00Z: the `update_dt` the tasks were loaded with.
const LOADED_VERSION: i64 = 1_767_225_600_000_000;
/// Ids of the entries `take_due` finds due: above every pending id.
const DUE_ID_BASE: i64 = 2 * PENDING;

// ---------------------------------------------------------------------------
// Counting allocator (this bench binary only): live bytes and their peak.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(by: usize) {
    LIVE.fetch_sub(by, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------
// Workload.

/// splitmix64: deterministic, spread-out pseudo-random numbers without a
/// dependency.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn at(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros).expect("a valid instant")
}

/// A pending expiry, unrelated to the id's order (as real expiries are).
fn pending_expiry(seed: u64) -> Timestamp {
    at(EXPIRY_BASE + (mix(seed) % EXPIRY_SPAN) as i64)
}

/// Ids 1..=n in order, as the server loads them, each with a pseudo-random
/// expiry.
fn filled(n: i64) -> ExpiryCache {
    let mut cache = ExpiryCache::new();
    let version = Some(at(LOADED_VERSION));
    for id in 1..=n {
        cache.upsert(
            TaskId::from_db(id),
            Some(pending_expiry(id as u64)),
            version,
        );
    }
    assert_eq!(cache.len(), n as usize);
    cache
}

/// A small xorshift generator for the ids and expiries the benchmarks touch.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// An id of a pending task, 1..=PENDING.
    fn pending_id(&mut self) -> i64 {
        (self.next() % PENDING as u64) as i64 + 1
    }
}

// ---------------------------------------------------------------------------
// Memory per pending task.

struct Memory {
    bytes_per_task: f64,
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Live bytes a structure built by `build` holds, and the peak above the
/// starting point while building it.
fn measure<T>(build: impl FnOnce() -> T) -> (T, usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let built = build();
    let live = LIVE.load(Ordering::Relaxed) - before;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    (built, live, peak)
}

fn measure_memory() -> Memory {
    let n = PENDING as usize;
    let (cache, live, peak) = measure(|| filled(PENDING));
    drop(cache);
    let bytes_per_task = live as f64 / n as f64;

    // For reading the figure: the same inserts into plain std collections
    // shaped like the cache's map and ordered set.
    let (map, map_live, _) = measure(|| {
        let mut map = std::collections::HashMap::<i64, (i64, i64)>::new();
        for id in 1..=PENDING {
            map.insert(id, (pending_expiry(id as u64).micros(), LOADED_VERSION));
        }
        map
    });
    drop(map);
    let (set, set_live, _) = measure(|| {
        let mut set = std::collections::BTreeSet::<(i64, i64)>::new();
        for id in 1..=PENDING {
            set.insert((pending_expiry(id as u64).micros(), id));
        }
        set
    });
    drop(set);

    println!();
    println!(
        "expiry cache: {bytes_per_task:.1} bytes per pending task (target < {TARGET_BYTES_PER_TASK:.0}) \
         — {:.1} MiB live for {n} pending tasks, {:.1} MiB peak while filling",
        mib(live),
        mib(peak),
    );
    println!(
        "  for reference, the same inserts into HashMap<i64, (i64, i64)>: {:.1} bytes per entry; \
         into BTreeSet<(i64, i64)>: {:.1} bytes per entry",
        map_live as f64 / n as f64,
        set_live as f64 / n as f64,
    );
    println!(
        "  (bytes requested from the allocator; malloc's own per-block overhead is not included)"
    );
    println!();
    Memory { bytes_per_task }
}

// ---------------------------------------------------------------------------
// Benchmarks.

fn bench_cache(c: &mut Criterion) {
    // Built on first use, so that benchmarks filtered out (or listed) cost
    // nothing; every benchmark leaves it holding ids 1..=PENDING again.
    let mut shared: Option<ExpiryCache> = None;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut next_new_id = PENDING + 1;
    let mut next_version = LOADED_VERSION;

    let mut group = c.benchmark_group("expiry_cache_1M");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // A new task: upsert of an id the cache does not hold.
    group.bench_function("add", |b| {
        let cache = shared.get_or_insert_with(|| filled(PENDING));
        let version = Some(at(LOADED_VERSION));
        let mut round = Vec::with_capacity(ROUND as usize);
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let count = (iters - done).min(ROUND);
                round.clear();
                round.extend((0..count).map(|i| {
                    let id = next_new_id + i as i64;
                    (TaskId::from_db(id), pending_expiry(id as u64))
                }));
                next_new_id += count as i64;
                let start = Instant::now();
                for &(id, expiry) in &round {
                    cache.upsert(black_box(id), black_box(Some(expiry)), version);
                }
                timed += start.elapsed();
                for &(id, _) in &round {
                    cache.remove(id);
                }
                done += count;
            }
            timed
        });
        assert_eq!(cache.len(), PENDING as usize);
    });

    // A task's expiry changed: upsert of a held id with a new expiry.
    group.bench_function("update", |b| {
        let cache = shared.get_or_insert_with(|| filled(PENDING));
        let mut round = Vec::with_capacity(ROUND as usize);
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let count = (iters - done).min(ROUND);
                round.clear();
                round.extend((0..count).map(|_| {
                    next_version += 1;
                    (
                        TaskId::from_db(rng.pending_id()),
                        pending_expiry(rng.next()),
                        Some(at(next_version)),
                    )
                }));
                let start = Instant::now();
                for &(id, expiry, version) in &round {
                    cache.upsert(black_box(id), black_box(Some(expiry)), version);
                }
                timed += start.elapsed();
                done += count;
            }
            timed
        });
        assert_eq!(cache.len(), PENDING as usize);
    });

    // A task deleted (or its expiry cleared): remove of a held id.
    group.bench_function("remove", |b| {
        let cache = shared.get_or_insert_with(|| filled(PENDING));
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let count = (iters - done).min(ROUND);
                // A run of distinct held ids; their expiries are scattered.
                let first = (rng.next() % (PENDING as u64 - count)) as i64 + 1;
                let start = Instant::now();
                for id in first..first + count as i64 {
                    cache.remove(black_box(TaskId::from_db(id)));
                }
                timed += start.elapsed();
                next_version += 1;
                for id in first..first + count as i64 {
                    cache.upsert(
                        TaskId::from_db(id),
                        Some(pending_expiry(id as u64)),
                        Some(at(next_version)),
                    );
                }
                done += count;
            }
            timed
        });
        assert_eq!(cache.len(), PENDING as usize);
    });

    // The common tick: nothing due (target O(1)).
    group.bench_function("tick_nothing_due", |b| {
        let cache = shared.get_or_insert_with(|| filled(PENDING));
        let until = at(EXPIRY_BASE - 1);
        b.iter(|| cache.take_due(black_box(until)));
        assert_eq!(cache.len(), PENDING as usize);
    });
    // A tick that finds DUE entries due among the 1,000,000 pending ones;
    // refilling them is not timed.
    group.throughput(Throughput::Elements(DUE as u64));
    group.bench_function("take_due_100", |b| {
        let cache = shared.get_or_insert_with(|| filled(PENDING));
        let version = Some(at(LOADED_VERSION));
        let until = at(EXPIRY_BASE - 1);
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                for i in 0..DUE {
                    cache.upsert(
                        TaskId::from_db(DUE_ID_BASE + i),
                        Some(at(EXPIRY_BASE - 1_000 + i)),
                        version,
                    );
                }
                let start = Instant::now();
                let due = cache.take_due(black_box(until));
                timed += start.elapsed();
                assert_eq!(due.len(), DUE as usize);
            }
            timed
        });
        assert_eq!(cache.len(), PENDING as usize);
    });

    group.finish();
    drop(shared);

    // The same idle tick on a small cache: O(1) means the same cost.
    let mut group = c.benchmark_group("expiry_cache_1k");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("tick_nothing_due", |b| {
        let mut cache = filled(1_000);
        let until = at(EXPIRY_BASE - 1);
        b.iter(|| cache.take_due(black_box(until)));
    });
    group.finish();
}

criterion_group!(benches, bench_cache);

fn main() {
    // Only when benchmarking: `cargo test`/nextest run this binary with
    // `--list` or in test mode, and must neither wait for nor see this.
    let args: Vec<String> = std::env::args().collect();
    let benchmarking =
        args.iter().any(|arg| arg == "--bench") && !args.iter().any(|arg| arg == "--list");
    let memory = benchmarking.then(measure_memory);

    benches();
    Criterion::default().configure_from_args().final_summary();

    if let Some(memory) = memory {
        assert!(
            memory.bytes_per_task < TARGET_BYTES_PER_TASK,
            "expiry cache: {:.1} bytes per pending task misses the target of < {TARGET_BYTES_PER_TASK:.0}",
            memory.bytes_per_task,
        );
    }
}
