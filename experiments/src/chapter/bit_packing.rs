//! `bit-packing` (04-02): a million users' permission flags as a struct of `bool`s plus a
//! `Vec<bool>`, as hand-rolled bit columns (one per flag) queried in one pass, and as
//! `fixedbitset` columns queried with set operations.

use fixedbitset::FixedBitSet;

use crate::engine::data::SplitMix64;
use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

/// The experiment.
#[derive(Debug)]
pub struct BitPacking;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "bit-packing",
    section: Section::DataStructures,
    title: "Pack flags into bits",
    why: "A bool takes a whole byte, so a user's eight permission flags as a struct of bools take \
8 bytes and the 'active' flag kept beside them in a Vec<bool> takes one more: 9 bytes per user, of \
which 9 bits carry information. The optimized variant keeps one bit per flag per user and lays the \
bits out by flag, not by user: one bit column per flag, a Vec<u64> whose word i holds that flag \
for users 64i to 64i+63, eight columns plus one for 'active'. That is 1.125 bytes per user, 87% \
less heap for the same million users; the Flags type (the bitflags pattern, written out) is how \
one user's flags go in and come back out. The crate variant keeps the same columns as fixedbitset \
sets. Each operation toggles 64 users' 'active' bit and 16 users' 'archived' bit, then counts the \
active users who can read and write, are not archived, and are admins or verified. No variant \
allocates per operation, so there is no allocation target here: the target is peak heap. \
Throughput is not an allocation story either: it is how many users one instruction tests. The \
naive loop tests one user per step. Our first packed variant stored each user's flags as one u8 \
(packed by user) and still tested one user per step: 6.2 times faster than naive, but 31 times \
slower than fixedbitset (95% interval 27 to 39 over 10 runs), whose columns answer the query 64 \
users per word operation. Laid out by flag, ours does the same: per 64 users, four ANDs, an OR, a \
NOT and a popcount, in one pass over the six columns the query reads: 388 times faster than naive \
(95% interval 353 to 454 over 10 runs). fixedbitset's set operations take five passes through a \
scratch set (copy admin, union verified, intersect read, intersect write, subtract archived) \
before intersection_count with active, so ours is now 1.7 times faster than the crate (95% \
interval 1.6 to 2.0 over 10 runs: 20 µs against 33 µs per query), on the same columns, the same \
query and the same answer, and the difference is the single fused pass, which also needs no \
scratch set (1.125 bytes per user against the crate's 1.25).",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "struct of 8 bools per user + Vec<bool> active: 9 bytes per user",
        },
        VariantInfo {
            name: "optimized",
            summary: "a u64-word bit column per flag + one for active, one fused pass: 1.125 bytes",
        },
        VariantInfo {
            name: "crate",
            summary: "one fixedbitset column per flag, queried with set operations",
        },
    ],
    size_unit: "users held (one query over all per operation)",
    work_unit: WorkUnit::Items("users"),
    default_size: 1_000_000,
    targets: Targets {
        zero_allocs: false,
        peak_heap: true,
        speedup: false,
    },
    source: include_str!("bit_packing.rs"),
    source_file: file!(),
    size_range: (1, 100_000_000),
};

/// Users whose `active` bit each operation toggles.
const ACTIVE_TOGGLES: usize = 64;
/// Users whose `archived` bit each operation toggles.
const ARCHIVE_TOGGLES: usize = 16;

/// One user's permissions, one byte per flag.
// region:naive
// Clippy's struct_excessive_bools says what this experiment measures: it is the anti-pattern.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// May read.
    pub read: bool,
    /// May write.
    pub write: bool,
    /// May execute.
    pub execute: bool,
    /// May delete.
    pub delete: bool,
    /// May share.
    pub share: bool,
    /// Is an administrator.
    pub admin: bool,
    /// Account archived.
    pub archived: bool,
    /// Identity verified.
    pub verified: bool,
}

struct BoolUsers {
    permissions: Vec<Permissions>,
    active: Vec<bool>,
}

impl BoolUsers {
    fn count_matches(&self) -> u64 {
        let mut count = 0;
        for (p, &active) in self.permissions.iter().zip(&self.active) {
            if active && p.read && p.write && !p.archived && (p.admin || p.verified) {
                count += 1;
            }
        }
        count
    }
}
// endregion:naive

/// One user's permissions, one bit per flag.
// region:optimized
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(u8);

impl Flags {
    /// May read.
    pub const READ: u8 = 1 << 0;
    /// May write.
    pub const WRITE: u8 = 1 << 1;
    /// May execute.
    pub const EXECUTE: u8 = 1 << 2;
    /// May delete.
    pub const DELETE: u8 = 1 << 3;
    /// May share.
    pub const SHARE: u8 = 1 << 4;
    /// Is an administrator.
    pub const ADMIN: u8 = 1 << 5;
    /// Account archived.
    pub const ARCHIVED: u8 = 1 << 6;
    /// Identity verified.
    pub const VERIFIED: u8 = 1 << 7;

    /// Whether any bit of `mask` is set.
    #[must_use]
    pub fn any(self, mask: u8) -> bool {
        self.0 & mask != 0
    }
}

/// A fixed-size set of bits in `u64` words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// `len` bits, all clear.
    #[must_use]
    pub fn new(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// Sets bit `i` to `on`.
    pub fn set(&mut self, i: usize, on: bool) {
        let mask = 1 << (i % 64);
        if on {
            self.words[i / 64] |= mask;
        } else {
            self.words[i / 64] &= !mask;
        }
    }

    /// Flips bit `i`.
    pub fn toggle(&mut self, i: usize) {
        self.words[i / 64] ^= 1 << (i % 64);
    }

    /// Whether bit `i` is set (the query reads whole words instead).
    #[cfg(test)]
    #[must_use]
    pub fn contains(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// The words: bit `i` is bit `i % 64` of word `i / 64`; bits past the end are clear.
    #[must_use]
    pub fn words(&self) -> &[u64] {
        &self.words
    }
}

/// Users' flags bit-sliced: column `k` holds flag bit `k` of every user, 64 users per word,
/// so one `u64` operation tests one flag of 64 users.
struct PackedUsers {
    /// Indexed by the flag's bit position in [`Flags`].
    columns: [BitSet; 8],
    active: BitSet,
}

impl PackedUsers {
    fn new(count: usize) -> Self {
        Self {
            columns: std::array::from_fn(|_| BitSet::new(count)),
            active: BitSet::new(count),
        }
    }

    fn column(&self, flag: u8) -> &BitSet {
        &self.columns[flag.trailing_zeros() as usize]
    }

    fn set_user(&mut self, user: usize, flags: Flags, active: bool) {
        for (bit, column) in self.columns.iter_mut().enumerate() {
            column.set(user, flags.any(1 << bit));
        }
        self.active.set(user, active);
    }

    /// A user's flags, gathered back from the columns (the query never needs them whole).
    #[cfg(test)]
    fn flags(&self, user: usize) -> Flags {
        let bits = self.columns.iter().enumerate();
        Flags(bits.fold(0, |acc, (bit, column)| {
            acc | u8::from(column.contains(user)) << bit
        }))
    }

    /// The whole query in one pass, 64 users per step: each column is read once, and no
    /// intermediate set is written.
    fn count_matches(&self) -> u64 {
        let active = self.active.words();
        // Every column as long as `active`: the compiler then drops the bounds checks.
        let column = |flag| &self.column(flag).words()[..active.len()];
        let (read, write) = (column(Flags::READ), column(Flags::WRITE));
        let (admin, verified) = (column(Flags::ADMIN), column(Flags::VERIFIED));
        let archived = column(Flags::ARCHIVED);
        let mut count = 0;
        for i in 0..active.len() {
            let wanted = active[i] & read[i] & write[i] & !archived[i] & (admin[i] | verified[i]);
            count += u64::from(wanted.count_ones());
        }
        count
    }
}
// endregion:optimized

// region:crate
/// One `FixedBitSet` per flag, plus a scratch set for query results.
struct ColumnUsers {
    read: FixedBitSet,
    write: FixedBitSet,
    admin: FixedBitSet,
    archived: FixedBitSet,
    verified: FixedBitSet,
    /// Flags this query never reads, kept so that every variant holds the same information.
    others: [FixedBitSet; 3],
    active: FixedBitSet,
    scratch: FixedBitSet,
}

impl ColumnUsers {
    fn count_matches(&mut self) -> u64 {
        let scratch = &mut self.scratch;
        scratch
            .as_mut_slice()
            .copy_from_slice(self.admin.as_slice());
        scratch.union_with(&self.verified);
        scratch.intersect_with(&self.read);
        scratch.intersect_with(&self.write);
        scratch.difference_with(&self.archived);
        scratch.intersection_count(&self.active) as u64
    }
}
// endregion:crate

/// Calls `f(user, permissions, active)` for `count` users, deterministically for `seed`.
fn generate_users(seed: u64, count: usize, mut f: impl FnMut(usize, Permissions, bool)) {
    let mut rng = SplitMix64::new(seed);
    for user in 0..count {
        let bits = rng.next_u64();
        // Byte k of `bits` below `t` happens with probability t / 256.
        let flag = |k: u32, t: u64| (bits >> (8 * k)) & 0xff < t;
        let permissions = Permissions {
            read: flag(0, 230),
            write: flag(1, 128),
            execute: flag(2, 40),
            delete: flag(3, 30),
            share: flag(4, 100),
            admin: flag(5, 12),
            archived: flag(6, 20),
            verified: flag(7, 160),
        };
        f(user, permissions, rng.below(3) != 0);
    }
}

fn pack(p: Permissions) -> Flags {
    let bits = [
        (p.read, Flags::READ),
        (p.write, Flags::WRITE),
        (p.execute, Flags::EXECUTE),
        (p.delete, Flags::DELETE),
        (p.share, Flags::SHARE),
        (p.admin, Flags::ADMIN),
        (p.archived, Flags::ARCHIVED),
        (p.verified, Flags::VERIFIED),
    ];
    Flags(
        bits.iter()
            .filter(|(on, _)| *on)
            .fold(0, |acc, (_, bit)| acc | bit),
    )
}

const SEED: u64 = 0x04_02_02;

/// How a representation applies the per-operation updates and answers the query.
trait Users: Send + 'static {
    fn toggle_active(&mut self, user: usize);
    fn toggle_archived(&mut self, user: usize);
    fn count_matches(&mut self) -> u64;
    /// The representation's heap footprint (its tests check the sizes the why quotes).
    #[cfg(test)]
    fn heap_bytes(&self) -> u64;
}

impl Users for BoolUsers {
    fn toggle_active(&mut self, user: usize) {
        self.active[user] = !self.active[user];
    }
    fn toggle_archived(&mut self, user: usize) {
        let p = &mut self.permissions[user];
        p.archived = !p.archived;
    }
    fn count_matches(&mut self) -> u64 {
        BoolUsers::count_matches(self)
    }
    #[cfg(test)]
    fn heap_bytes(&self) -> u64 {
        (std::mem::size_of_val(self.permissions.as_slice()) + self.active.len()) as u64
    }
}

impl Users for PackedUsers {
    fn toggle_active(&mut self, user: usize) {
        self.active.toggle(user);
    }
    fn toggle_archived(&mut self, user: usize) {
        self.columns[Flags::ARCHIVED.trailing_zeros() as usize].toggle(user);
    }
    fn count_matches(&mut self) -> u64 {
        PackedUsers::count_matches(self)
    }
    #[cfg(test)]
    fn heap_bytes(&self) -> u64 {
        (self.active.words.len() * 9 * 8) as u64
    }
}

impl Users for ColumnUsers {
    fn toggle_active(&mut self, user: usize) {
        self.active.toggle(user);
    }
    fn toggle_archived(&mut self, user: usize) {
        self.archived.toggle(user);
    }
    fn count_matches(&mut self) -> u64 {
        ColumnUsers::count_matches(self)
    }
    #[cfg(test)]
    fn heap_bytes(&self) -> u64 {
        (self.active.as_slice().len() * 9 * std::mem::size_of::<usize>()) as u64
    }
}

fn bool_users(count: usize) -> BoolUsers {
    let mut users = BoolUsers {
        permissions: Vec::with_capacity(count),
        active: Vec::with_capacity(count),
    };
    generate_users(SEED, count, |_, p, active| {
        users.permissions.push(p);
        users.active.push(active);
    });
    users
}

fn packed_users(count: usize) -> PackedUsers {
    let mut users = PackedUsers::new(count);
    generate_users(SEED, count, |user, p, active| {
        users.set_user(user, pack(p), active);
    });
    users
}

fn column_users(count: usize) -> ColumnUsers {
    let column = || FixedBitSet::with_capacity(count);
    let mut users = ColumnUsers {
        read: column(),
        write: column(),
        admin: column(),
        archived: column(),
        verified: column(),
        others: [column(), column(), column()],
        active: column(),
        scratch: column(),
    };
    generate_users(SEED, count, |user, p, active| {
        users.read.set(user, p.read);
        users.write.set(user, p.write);
        users.admin.set(user, p.admin);
        users.archived.set(user, p.archived);
        users.verified.set(user, p.verified);
        users.others[0].set(user, p.execute);
        users.others[1].set(user, p.delete);
        users.others[2].set(user, p.share);
        users.active.set(user, active);
    });
    users
}

struct Queries<U> {
    users: U,
    count: usize,
    rng: SplitMix64,
}

impl<U: Users> Workload for Queries<U> {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        for _ in 0..ACTIVE_TOGGLES {
            let user = self.rng.below(self.count as u64) as usize;
            self.users.toggle_active(user);
        }
        for _ in 0..ARCHIVE_TOGGLES {
            let user = self.rng.below(self.count as u64) as usize;
            self.users.toggle_archived(user);
        }
        checksum.fold(self.users.count_matches());
        self.count as u64
    }
}

fn queries<U: Users>(users: U, count: usize) -> Box<dyn Workload> {
    Box::new(Queries {
        users,
        count,
        rng: SplitMix64::new(SEED + 1),
    })
}

impl Experiment for BitPacking {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn layouts(&self) -> Vec<crate::engine::layout::TypeLayout> {
        vec![
            crate::type_layout!(
                "naive",
                Permissions,
                "plus 1 byte per user for `active` in a Vec<bool>",
                [
                    read, write, execute, delete, share, admin, archived, verified
                ]
            ),
            crate::type_layout!(
                "optimized",
                Flags,
                "stored bit-sliced: bit k of every user in column k, a BitSet of u64 words \
                 (plus one for `active`): 9 bits per user",
                [0]
            ),
        ]
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        match variant {
            0 => queries(bool_users(size), size),
            1 => queries(packed_users(size), size),
            _ => queries(column_users(size), size),
        }
    }

    fn warmup_ops(&self, _size: usize) -> u64 {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_what_the_why_says() {
        assert_eq!(std::mem::size_of::<Permissions>(), 8);
        assert_eq!(std::mem::size_of::<Flags>(), 1);
        assert_eq!(bool_users(1000).heap_bytes(), 9_000);
        // Nine columns (eight flags and active) of 16 words.
        assert_eq!(packed_users(1000).heap_bytes(), 9 * 16 * 8);
    }

    #[test]
    fn bit_set_sets_toggles_and_reads_back() {
        let mut set = BitSet::new(130);
        set.set(0, true);
        set.set(129, true);
        set.toggle(64);
        assert_eq!(set.words, [1, 1, 2]);
        set.toggle(64);
        set.set(0, false);
        assert_eq!(set.words, [0, 0, 2]);
    }

    #[test]
    fn every_representation_counts_the_same_users() {
        for count in [1, 63, 64, 65, 1000] {
            let expected = bool_users(count).count_matches();
            assert_eq!(packed_users(count).count_matches(), expected, "{count}");
            assert_eq!(
                Users::count_matches(&mut column_users(count)),
                expected,
                "{count}"
            );
        }
        assert!(bool_users(1000).count_matches() > 50);
    }

    #[test]
    fn packing_keeps_every_flag() {
        let mut users = PackedUsers::new(200);
        generate_users(3, 200, |user, p, active| {
            users.set_user(user, pack(p), active);
            assert_eq!(users.flags(user), pack(p));
            assert_eq!(users.active.contains(user), active);
            let f = pack(p);
            assert_eq!(f.any(Flags::EXECUTE), p.execute);
            assert_eq!(f.any(Flags::DELETE), p.delete);
            assert_eq!(f.any(Flags::SHARE), p.share);
            assert_eq!(f.any(Flags::READ | Flags::VERIFIED), p.read || p.verified);
        });
    }
}

#[cfg(test)]
mod layout_tests {
    use std::mem::{offset_of, size_of};

    use super::*;

    #[test]
    fn the_inspector_shows_the_compilers_numbers() {
        let layouts = BitPacking.layouts();
        let [bools, flags] = &layouts[..] else {
            panic!("two layouts: {layouts:?}")
        };
        assert_eq!(bools.size, size_of::<Permissions>());
        assert_eq!(flags.size, size_of::<Flags>());
        let expected = [
            ("read", offset_of!(Permissions, read)),
            ("write", offset_of!(Permissions, write)),
            ("execute", offset_of!(Permissions, execute)),
            ("delete", offset_of!(Permissions, delete)),
            ("share", offset_of!(Permissions, share)),
            ("admin", offset_of!(Permissions, admin)),
            ("archived", offset_of!(Permissions, archived)),
            ("verified", offset_of!(Permissions, verified)),
        ];
        let mut got: Vec<(&str, usize)> = bools.fields.iter().map(|f| (f.name, f.offset)).collect();
        got.sort_unstable();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(got, expected);
        assert!(bools.fields.iter().all(|f| f.size == size_of::<bool>()));
        assert_eq!(flags.fields[0].offset, offset_of!(Flags, 0));
        assert_eq!((bools.size, flags.size), (8, 1));
    }
}
