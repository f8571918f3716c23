//! The multi-user messenger event model, shared by the proptest in
//! `tests/messenger_model.rs` and the fuzz target `messenger_model`.
//!
//! A [`World`] holds 2-3 users with 1-3 devices each. Every device has a
//! [`LocalDevice`], a [`PeerAccount`] for every user (its own included, for
//! its own other devices) and a [`SessionRecord`] per remote device. A
//! model server holds each user's newest [`DeviceList`] and each device's
//! uploaded prekeys (it hands out every one-time prekey once, then bundles
//! carry none and the last-resort KEM prekey). An abstract network holds the
//! envelopes in flight. [`Event`]s send (fanned out to the peer's devices
//! and the sender's own other devices), deliver, drop, reorder, duplicate
//! and tamper with envelopes, start sessions simultaneously, add, remove and
//! reinstall devices, re-register a whole account under a new account key,
//! decide on that change, rotate signed prekeys, exhaust and replenish
//! one-time prekeys, persist and restore a device's whole state, and let
//! days pass.
//!
//! The app around the library, as the model plays it: a device fetches a
//! user's device list whenever an event touches that user; it answers every
//! decryption failure with [`RetryMessage::for_failure`] (when that gives a
//! retry), and a device that gets a retry runs
//! [`SessionRecord::handle_retry`] and, on [`RetryOutcome::StartNewSession`],
//! starts a new session from a fresh bundle and resends every payload that
//! device has not decrypted yet (acknowledged = the receiver decrypted it).
//! Ids of decrypted messages and the displayed payloads are remembered
//! outside the persisted state, as SPEC.md §8.1 says apps must.
//!
//! The properties (the words), checked after every event and by
//! [`World::finish`]:
//!
//! * **(a)** every genuine message that is delivered is decrypted exactly
//!   once (a second delivery is [`Error::Duplicate`], or, after a restore,
//!   decrypts to the same id and is dropped by the remembered ids), or is
//!   reported through a typed recovery path (`NoSession`, `UnknownPreKey`,
//!   `Auth`, `HandshakeMismatch`, each answered by a [`RetryMessage`]), or
//!   is refused by a trust check the model predicts; the one documented
//!   loss is a message from a rolled-back sender that reuses a message
//!   number (`Duplicate`, SPEC.md §12). Every failure leaves the record and
//!   the local device byte for byte unchanged.
//! * **(b)** no session wedges for more than one round trip after
//!   recovery: [`World::finish`] delivers everything, answers every retry,
//!   has every pair of devices exchange one message each way, and then
//!   requires one more round trip through the records to decrypt at the
//!   first try with `new_session == false`, after which both ends of every
//!   pair send on the *same* current session (a copy of one end's session
//!   decrypts what a copy of the other's encrypts).
//! * **(c)** memory per record stays within its bound:
//!   `archived_count() <= MAX_ARCHIVED_SESSIONS`, and the encoded record is
//!   at most `1 + MAX_ARCHIVED_SESSIONS` entries of the largest session
//!   SPEC.md §10.4/§16.8 allows.
//! * **(d)** no identity change is accepted without the caller's decision:
//!   after a re-registration under a new account key, a peer's fetch gives
//!   [`DeviceListUpdate::AccountKeyChanged`], and until the model's explicit
//!   accept decision nothing is sent to that account (`AccountKeyChanged`
//!   from `encrypt` and `initiate`) or accepted from it; a tampered message
//!   never yields a plaintext other than the genuine one.

// Compiled into the fuzz crate, its corpus replay and the proptest; not
// every helper is used by each.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chatcrypt::{
    fan_out, AcceptPolicy, AccountKeyPair, DeviceId, DeviceList, DeviceListUpdate, Error, IdentityKey,
    IdentityKeyPair, KemPreKeyPublic, LocalDevice, MessageType, Mode, ModePolicy, OneTimePreKeyPublic,
    PeerAccount, PqPolicy, PreKeyBundle, PreKeyUpload, RetryMessage, RetryOutcome, Session, SessionPolicy,
    SessionRecord, SignedPreKeyPublic, MAX_ARCHIVED_SESSIONS, MAX_PREVIOUS_RATCHET_KEYS, MAX_SKIPPED_KEYS,
    MESSAGE_ID_LEN, ML_KEM_1024_CIPHERTEXT_LEN, SESSION_BYTES_PER_SKIPPED_KEY, SESSION_FIXED_LEN,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

const START: u64 = 1_800_000_000;
const DAY: u64 = 24 * 60 * 60;
/// Devices per user the model allows (initially and after additions).
pub const MAX_MODEL_DEVICES: usize = 3;
/// Envelopes kept for replays.
const HISTORY: usize = 32;
/// Snapshots kept per device.
const SNAPSHOTS: usize = 6;

/// The largest encoded session SPEC.md allows, recomputed from its layout
/// (§10.4, §16.8): the fixed part, the larger of a receiving chain (68) and
/// a pending hybrid handshake (32 + 4 + 4 + 4 + the ML-KEM-1024
/// ciphertext), the KEM type byte, a responder's base key, the header keys
/// (96 + 32), `MAX_PREVIOUS_RATCHET_KEYS` remembered keys of 64 bytes and
/// `MAX_SKIPPED_KEYS` skipped keys.
pub fn session_bound() -> usize {
    SESSION_FIXED_LEN
        + 68usize.max(32 + 4 + 4 + 4 + ML_KEM_1024_CIPHERTEXT_LEN)
        + 1
        + 32
        + 96
        + 32
        + MAX_PREVIOUS_RATCHET_KEYS * 64
        + MAX_SKIPPED_KEYS * SESSION_BYTES_PER_SKIPPED_KEY
}

/// The largest encoded record (SPEC.md §20.4 as `record.rs` writes it: tag,
/// version, device id, two counts, then per session a flag byte, the base
/// key, the creation time and a length).
pub fn record_bound() -> usize {
    2 + 4 + 1 + 1 + (1 + MAX_ARCHIVED_SESSIONS) * (1 + 32 + 8 + 4 + session_bound())
}

/// How a case starts.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Devices per user at the start, 1..=3 each; the length (2 or 3) is
    /// the number of users.
    pub devices: [u8; 3],
    /// Users (2 or 3).
    pub users: u8,
    /// The header mode every device starts sessions in.
    pub mode: Mode,
    /// The RNG seed.
    pub seed: u64,
    /// Whether bundles carry KEM prekeys (the hybrid handshake, required
    /// by every device) or not (classical handshakes, allowed).
    pub hybrid: bool,
    /// Bit `i`: the `i`-th device made at the start replenishes its
    /// one-time prekeys right away (others start with none).
    pub stocked: u8,
}

/// One step. Devices are picked by index among the live devices, users by
/// index among the users, envelopes by index in the network (all modulo).
#[derive(Clone, Debug)]
pub enum Event {
    /// A device sends a payload of `len` bytes to a user: fanned out to the
    /// user's devices and the sender's own other devices.
    Send { from: u8, to_user: u8, len: u8 },
    /// The network delivers in-flight envelope `i`.
    Deliver(u8),
    /// The network loses in-flight envelope `i`.
    Drop(u8),
    /// The network duplicates in-flight envelope `i`, or (for an index past
    /// the in-flight ones) replays an envelope it delivered earlier.
    Duplicate(u8),
    /// The network reverses the order of the envelopes in flight (later
    /// ones are delivered first).
    Reorder,
    /// The network delivers a copy of in-flight envelope `i` with bit `bit`
    /// flipped; the genuine envelope stays in flight.
    Tamper(u8, u16),
    /// Two devices start new sessions with each other and each sends one
    /// message before anything is delivered.
    SimultaneousStart(u8, u8),
    /// A user adds a device (new device list epoch).
    AddDevice(u8),
    /// A device's user removes it (if it has another).
    RemoveDevice(u8),
    /// A device is reinstalled: same device id, new identity key.
    Reinstall(u8),
    /// A user's account is re-registered under a new account key with new
    /// devices (the user after losing everything, or an attacker taking the
    /// account over: peers cannot tell).
    Reregister(u8),
    /// A device decides on a pending account key change of a user.
    Decide { device: u8, user: u8, accept: bool },
    /// A device rotates its signed prekey and uploads.
    Rotate(u8),
    /// The server runs out of a device's one-time prekeys.
    Exhaust(u8),
    /// A device asks the server how many one-time prekeys it has left,
    /// replenishes when low, persists and uploads.
    Replenish(u8),
    /// A device persists its whole state.
    Persist(u8),
    /// A device crashes and restores one of its snapshots taken since its
    /// last upload (the persist-before-upload gate keeps an upload's
    /// secrets in every such snapshot).
    Restore(u8, u8),
    /// Days pass.
    Tick(u8),
}

/// Decodes bytes into a configuration and events, for the fuzz target.
pub fn from_bytes(data: &[u8]) -> (Config, Vec<Event>) {
    let mut it = data.iter().copied();
    let mut next = || it.next().unwrap_or(0);
    let c = next();
    let seed = u64::from(next()) | u64::from(next()) << 8;
    let config = Config {
        users: 2 + (c & 1),
        devices: [1 + (c >> 1) % 3, 1 + (c >> 3) % 3, 1 + (c >> 5) % 3],
        mode: if c & 0x80 == 0 { Mode::Plain } else { Mode::HeaderEncryption },
        hybrid: c & 0x40 == 0,
        seed,
        stocked: next(),
    };
    let rest = &data[data.len().min(4)..];
    let mut events = Vec::new();
    let mut it = rest.iter().copied();
    while let Some(op) = it.next() {
        let mut arg = || it.next().unwrap_or(0);
        let ev = match op % 32 {
            0..=5 => Event::Send { from: arg(), to_user: arg(), len: op / 32 },
            6..=11 => Event::Deliver(arg()),
            12 => Event::Drop(arg()),
            13 | 14 => Event::Duplicate(arg()),
            15 => Event::Reorder,
            16 | 17 => {
                let i = arg();
                let bit = u16::from(arg()) << 8 | u16::from(arg());
                Event::Tamper(i, bit)
            }
            18 => Event::SimultaneousStart(arg(), arg()),
            19 => Event::AddDevice(arg()),
            20 => Event::RemoveDevice(arg()),
            21 => Event::Reinstall(arg()),
            22 => Event::Reregister(arg()),
            23 => Event::Decide { device: arg(), user: arg(), accept: op & 32 == 0 },
            24 => Event::Rotate(arg()),
            25 => Event::Exhaust(arg()),
            26 => Event::Replenish(arg()),
            27 | 28 => Event::Persist(arg()),
            29 | 30 => Event::Restore(arg(), arg()),
            _ => Event::Tick(arg()),
        };
        events.push(ev);
    }
    (config, events)
}

/// Runs decoded bytes (the fuzz target's body); at most 64 events.
pub fn run_bytes(data: &[u8]) -> Stats {
    let (config, mut events) = from_bytes(data);
    events.truncate(64);
    World::run(config, &events)
}

/// What happened in a case, to show that the runs exercise something.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub envelopes: usize,
    pub decrypted: usize,
    pub new_sessions: usize,
    pub replays_duplicate: usize,
    pub replays_dropped_by_id: usize,
    pub rollback_lost: usize,
    pub recovery_errors: usize,
    pub retries_sent: usize,
    pub retries_forged_rejected: usize,
    pub restarts: usize,
    pub retries_ignored: usize,
    pub resent: usize,
    pub resends_already_shown: usize,
    pub trust_refusals: usize,
    pub blocked_sends: usize,
    pub tampered_rejected: usize,
    pub to_dead_device: usize,
    pub restores: usize,
    pub simultaneous: usize,
    pub reregistered: usize,
    pub accepted_changes: usize,
    pub rejected_changes: usize,
    pub unknown_prekey: usize,
    pub expired_restarts: usize,
    pub max_archived: usize,
    pub max_record_len: usize,
    pub pairs_verified: usize,
}

impl Stats {
    /// Adds another case's counts (maxima for the `max_` fields).
    pub fn absorb(&mut self, other: &Stats) {
        self.envelopes += other.envelopes;
        self.decrypted += other.decrypted;
        self.new_sessions += other.new_sessions;
        self.replays_duplicate += other.replays_duplicate;
        self.replays_dropped_by_id += other.replays_dropped_by_id;
        self.rollback_lost += other.rollback_lost;
        self.recovery_errors += other.recovery_errors;
        self.retries_sent += other.retries_sent;
        self.retries_forged_rejected += other.retries_forged_rejected;
        self.restarts += other.restarts;
        self.retries_ignored += other.retries_ignored;
        self.resent += other.resent;
        self.resends_already_shown += other.resends_already_shown;
        self.trust_refusals += other.trust_refusals;
        self.blocked_sends += other.blocked_sends;
        self.tampered_rejected += other.tampered_rejected;
        self.to_dead_device += other.to_dead_device;
        self.restores += other.restores;
        self.simultaneous += other.simultaneous;
        self.reregistered += other.reregistered;
        self.accepted_changes += other.accepted_changes;
        self.rejected_changes += other.rejected_changes;
        self.unknown_prekey += other.unknown_prekey;
        self.expired_restarts += other.expired_restarts;
        self.max_archived = self.max_archived.max(other.max_archived);
        self.max_record_len = self.max_record_len.max(other.max_record_len);
        self.pairs_verified += other.pairs_verified;
    }
}

/// A record and the identity key the device list gave its device when it
/// was made.
struct Rec {
    record: SessionRecord,
    identity: IdentityKey,
}

#[derive(Clone)]
struct Snapshot {
    local: Vec<u8>,
    peers: Vec<Vec<u8>>,
    records: Vec<((usize, u32), Vec<u8>, IdentityKey)>,
    pinned: Vec<u32>,
}

struct Dev {
    user: usize,
    id: DeviceId,
    live: bool,
    identity: IdentityKey,
    local: LocalDevice,
    /// Per user (own included).
    peers: Vec<PeerAccount>,
    /// Per user: the account generation whose key the device has pinned
    /// (model bookkeeping, persisted and restored with the state).
    pinned: Vec<u32>,
    /// By (user, device id).
    records: BTreeMap<(usize, u32), Rec>,
    snapshots: Vec<Snapshot>,
    restores: u32,
    ever_restored: bool,
    // Outside the persisted state (the app's own memory, SPEC.md §8.1):
    seen_ids: HashSet<[u8; MESSAGE_ID_LEN]>,
    /// The model's oracle: envelope -> (its message id, restores then).
    decrypted: HashMap<u64, ([u8; MESSAGE_ID_LEN], u32)>,
    displayed: HashSet<u64>,
}

struct User {
    name: Vec<u8>,
    account: AccountKeyPair,
    /// Account generation: grows with each re-registration.
    generation: u32,
    epoch: u64,
    devices: Vec<usize>,
    next_device: u32,
    list: Option<DeviceList>,
}

struct ServerDevice {
    identity: IdentityKey,
    signed: SignedPreKeyPublic,
    last_resort: KemPreKeyPublic,
    one_time: VecDeque<OneTimePreKeyPublic>,
    kem: VecDeque<KemPreKeyPublic>,
    /// Every id ever uploaded: a re-upload after a restore adds nothing
    /// the server already handed out.
    ever: HashSet<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Genuine(u64),
    Retry,
}

#[derive(Clone)]
struct Envelope {
    id: u64,
    from: usize,
    to: usize,
    bytes: Vec<u8>,
    kind: Kind,
    /// The sender had restored a snapshot before it sent this.
    sender_restored: bool,
}

/// The users, their devices, the server and the network.
pub struct World {
    /// Devices whose records may have changed since the last bound check.
    dirty: HashSet<usize>,
    policy: SessionPolicy,
    hybrid: bool,
    rng: ChaCha20Rng,
    now: u64,
    users: Vec<User>,
    devs: Vec<Dev>,
    server: HashMap<usize, ServerDevice>,
    in_flight: Vec<Envelope>,
    history: VecDeque<Envelope>,
    payloads: HashMap<u64, Vec<u8>>,
    /// (sender, receiver) -> payloads the receiver has not decrypted yet.
    unacked: HashMap<(usize, usize), Vec<u64>>,
    next_envelope: u64,
    next_payload: u64,
    pub stats: Stats,
}

/// `MESSENGER_MODEL_TRACE=1` prints what the model does, to read a failing case.
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("MESSENGER_MODEL_TRACE").is_some())
}

macro_rules! trace {
    ($($t:tt)*) => {
        if tracing() {
            eprintln!($($t)*);
        }
    };
}

fn is_trust_error(e: &Error) -> bool {
    matches!(e, Error::AccountKeyChanged | Error::UnknownDevice { .. } | Error::WrongIdentity)
}

fn is_recovery_error(e: &Error) -> bool {
    matches!(e, Error::NoSession | Error::UnknownPreKey { .. } | Error::Auth | Error::HandshakeMismatch)
}

/// Whether [`RetryMessage::for_failure`] must answer `error` for `bytes`
/// (its documented cases).
fn retry_expected(bytes: &[u8], error: &Error) -> bool {
    match MessageType::of(bytes) {
        Ok(MessageType::PreKey) => matches!(error, Error::UnknownPreKey { .. } | Error::Auth),
        Ok(MessageType::Message) => matches!(error, Error::NoSession | Error::Auth),
        _ => false,
    }
}

fn flip_bit(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

impl World {
    /// A world of `config`: every device made, replenished, uploaded, and
    /// trusting every account on first use (its own account as verified).
    pub fn new(config: Config) -> World {
        let mut world = World {
            dirty: HashSet::new(),
            policy: if config.hybrid {
                SessionPolicy::new(config.mode, PqPolicy::Required, AcceptPolicy::default())
            } else {
                SessionPolicy::new(
                    config.mode,
                    PqPolicy::AllowClassical,
                    AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
                )
            },
            hybrid: config.hybrid,
            rng: ChaCha20Rng::seed_from_u64(config.seed),
            now: START,
            users: Vec::new(),
            devs: Vec::new(),
            server: HashMap::new(),
            in_flight: Vec::new(),
            history: VecDeque::new(),
            payloads: HashMap::new(),
            unacked: HashMap::new(),
            next_envelope: 0,
            next_payload: 0,
            stats: Stats::default(),
        };
        let users = usize::from(config.users.clamp(2, 3));
        for u in 0..users {
            let account = AccountKeyPair::generate(&mut world.rng);
            world.users.push(User {
                name: format!("user{u}").into_bytes(),
                account,
                generation: 0,
                epoch: 0,
                devices: Vec::new(),
                next_device: 1,
                list: None,
            });
            let n = usize::from(config.devices[u].clamp(1, MAX_MODEL_DEVICES as u8));
            for _ in 0..n {
                let id = world.users[u].next_device;
                world.users[u].next_device += 1;
                let stocked = config.stocked & (1 << (world.devs.len() % 8)) != 0;
                let g = world.make_device(u, DeviceId::new(id), stocked);
                world.users[u].devices.push(g);
            }
            world.sign_list(u);
        }
        for g in 0..world.devs.len() {
            world.init_peers(g);
        }
        world
    }

    /// Runs `events` and then [`finish`](Self::finish).
    pub fn run(config: Config, events: &[Event]) -> Stats {
        let mut world = World::new(config);
        for e in events {
            world.apply(e);
        }
        world.finish()
    }

    fn live(&self) -> Vec<usize> {
        (0..self.devs.len()).filter(|&g| self.devs[g].live).collect()
    }

    fn pick(&self, sel: u8) -> usize {
        let live = self.live();
        live[usize::from(sel) % live.len()]
    }

    fn incarnation(&self, user: usize, device: u32) -> Option<usize> {
        self.users[user].devices.iter().copied().find(|&g| self.devs[g].id.get() == device)
    }

    /// A new device: identity, certificate, prekeys, first upload. Its
    /// peer accounts come with [`init_peers`](Self::init_peers), once the
    /// lists are signed.
    fn make_device(&mut self, user: usize, id: DeviceId, stocked: bool) -> usize {
        let identity = IdentityKeyPair::generate(&mut self.rng);
        let public = identity.public_key().clone();
        let certificate = self.users[user].account.certify(id, &public);
        // No one-time prekeys yet (the first `Replenish` makes them; until
        // then bundles carry the last-resort KEM prekey): 20 ML-KEM key
        // generations per device would dominate the run time.
        let mut local = LocalDevice::new(identity, certificate, self.now, &mut self.rng).unwrap();
        if stocked {
            local.replenish(0, 0, &mut self.rng).unwrap();
        }
        let g = self.devs.len();
        self.devs.push(Dev {
            user,
            id,
            live: true,
            identity: public,
            local,
            peers: Vec::new(),
            pinned: Vec::new(),
            records: BTreeMap::new(),
            snapshots: Vec::new(),
            restores: 0,
            ever_restored: false,
            seen_ids: HashSet::new(),
            decrypted: HashMap::new(),
            displayed: HashSet::new(),
        });
        self.upload(g);
        g
    }

    /// The user signs a new device list (next epoch) naming its live devices.
    fn sign_list(&mut self, user: usize) {
        let u = &mut self.users[user];
        u.epoch += 1;
        let entries: Vec<_> = u.devices.iter().map(|&g| self.devs[g].local.link()).collect();
        u.list = Some(u.account.sign_device_list(u.epoch, &entries).unwrap());
    }

    fn list(&self, user: usize) -> DeviceList {
        self.users[user].list.clone().unwrap()
    }

    /// First contact with every account, from the server's lists: the own
    /// account verified (the device knows its key), the others on first use.
    fn init_peers(&mut self, g: usize) {
        let mut peers = Vec::new();
        let mut pinned = Vec::new();
        for w in 0..self.users.len() {
            let list = self.list(w);
            let name = &self.users[w].name;
            let peer = if w == self.devs[g].user {
                PeerAccount::verified(name, self.users[w].account.public_key(), list).unwrap()
            } else {
                PeerAccount::trust_on_first_use(name, list).unwrap()
            };
            peers.push(peer);
            pinned.push(self.users[w].generation);
        }
        self.devs[g].peers = peers;
        self.devs[g].pinned = pinned;
        for w in 0..self.users.len() {
            self.sync_records(g, w);
        }
        self.persist(g);
    }

    fn snapshot(&self, g: usize) -> Snapshot {
        let d = &self.devs[g];
        Snapshot {
            local: d.local.to_bytes().to_vec(),
            peers: d.peers.iter().map(|p| p.to_bytes().to_vec()).collect(),
            records: d
                .records
                .iter()
                .map(|(k, r)| (*k, r.record.to_bytes().to_vec(), r.identity.clone()))
                .collect(),
            pinned: d.pinned.clone(),
        }
    }

    fn persist(&mut self, g: usize) {
        let s = self.snapshot(g);
        let snaps = &mut self.devs[g].snapshots;
        snaps.push(s);
        if snaps.len() > SNAPSHOTS {
            snaps.remove(0);
        }
    }

    /// Persist, upload through the gate, the server checks and stores it,
    /// mark uploaded, persist again. Earlier snapshots are forgotten: a
    /// restore never goes back past an upload.
    fn upload(&mut self, g: usize) {
        let persisted = self.devs[g].local.to_bytes();
        self.devs[g].snapshots.clear();
        if !self.devs[g].peers.is_empty() {
            self.persist(g);
        }
        let up = self.devs[g].local.upload(&persisted).expect("the gate accepts the persisted state");
        let up = PreKeyUpload::from_bytes(&up.to_bytes()).expect("the server decodes an upload");
        let user = self.devs[g].user;
        up.certificate().verify(self.users[user].account.public_key()).expect("certified by the account");
        assert_eq!(up.identity(), &self.devs[g].identity);
        let entry = self.server.entry(g).or_insert_with(|| ServerDevice {
            identity: up.identity().clone(),
            signed: up.signed_prekey().clone(),
            last_resort: up.last_resort_prekey().clone(),
            one_time: VecDeque::new(),
            kem: VecDeque::new(),
            ever: HashSet::new(),
        });
        entry.signed = up.signed_prekey().clone();
        entry.last_resort = up.last_resort_prekey().clone();
        for k in up.one_time_prekeys() {
            if entry.ever.insert(k.id()) {
                entry.one_time.push_back(k.clone());
            }
        }
        for k in up.kem_prekeys() {
            if entry.ever.insert(k.id()) {
                entry.kem.push_back(k.clone());
            }
        }
        self.devs[g].local.mark_uploaded(&up);
        assert!(!self.devs[g].local.needs_upload());
        if !self.devs[g].peers.is_empty() {
            self.persist(g);
        }
    }

    /// A bundle for device `g`, as the server builds it: one-time prekeys
    /// handed out once (`take`), then none and the last-resort KEM prekey.
    fn bundle(&mut self, g: usize, take: bool) -> PreKeyBundle {
        let s = self.server.get_mut(&g).expect("a live device has uploaded");
        let (opk, kem) = if take { (s.one_time.pop_front(), s.kem.pop_front()) } else { (None, None) };
        let bundle = PreKeyBundle::new(s.identity.clone(), s.signed.clone(), opk);
        if self.hybrid {
            bundle.with_kem_prekey(kem.unwrap_or_else(|| s.last_resort.clone()))
        } else {
            bundle
        }
    }

    /// The app fetches `w`'s device list for device `g` and applies it.
    /// Returns whether an account key change is pending.
    fn fetch(&mut self, g: usize, w: usize) -> bool {
        // Every event that touches a device's records fetches first.
        self.dirty.insert(g);
        let list = self.list(w);
        let generation = self.users[w].generation;
        let d = &mut self.devs[g];
        let update =
            d.peers[w].update_device_list(list).expect("the server's list is never a rollback or conflict");
        let same_key = d.pinned[w] == generation;
        match update {
            DeviceListUpdate::Unchanged | DeviceListUpdate::Updated { .. } => {
                assert!(same_key, "a list under a new account key was applied without a decision")
            }
            DeviceListUpdate::AccountKeyChanged => {
                assert!(!same_key, "a list under the pinned key reported as a key change")
            }
            _ => panic!("unknown update {update:?}"),
        }
        // (d): the change waits for the caller, as the model predicts.
        assert_eq!(d.peers[w].pending_account_key().is_some(), !same_key);
        self.sync_records(g, w);
        !same_key
    }

    /// Records follow the pinned list: one per listed device (not the
    /// device itself), reset when the list gives the device another
    /// identity key, deleted when it no longer lists it.
    fn sync_records(&mut self, g: usize, w: usize) {
        let d = &mut self.devs[g];
        let entries: Vec<(u32, IdentityKey)> =
            d.peers[w].device_list().devices().map(|(id, k)| (id.get(), k.clone())).collect();
        d.records.retain(|&(user, dev), rec| {
            user != w || entries.iter().any(|(id, k)| *id == dev && *k == rec.identity)
        });
        for (id, k) in entries {
            if w == d.user && id == d.id.get() {
                continue;
            }
            d.records
                .entry((w, id))
                .or_insert_with(|| Rec { record: SessionRecord::new(DeviceId::new(id)), identity: k });
        }
    }

    fn new_envelope(&mut self, from: usize, to: usize, bytes: Vec<u8>, kind: Kind) {
        self.next_envelope += 1;
        trace!("send #{} {from}->{to} {kind:?} {:?}", self.next_envelope, MessageType::of(&bytes));
        let sender_restored = self.devs[from].ever_restored;
        self.in_flight.push(Envelope { id: self.next_envelope, from, to, bytes, kind, sender_restored });
        if let Kind::Genuine(_) = kind {
            self.stats.envelopes += 1;
        }
    }

    fn new_payload(&mut self, len: u8) -> u64 {
        self.next_payload += 1;
        let p = self.next_payload;
        let mut plaintext = p.to_be_bytes().to_vec();
        plaintext.extend((0..len).map(|i| i ^ p as u8));
        self.payloads.insert(p, plaintext);
        p
    }

    /// (d): with a change pending, nothing goes to the account: existing
    /// sessions refuse to encrypt and new ones to start.
    fn assert_blocked(&mut self, g: usize, w: usize) {
        let new_devices = self.users[w].devices.clone();
        let bundles: Vec<(DeviceId, PreKeyBundle)> =
            new_devices.iter().map(|&t| (self.devs[t].id, self.bundle(t, false))).collect();
        let World { devs, rng, now, policy, .. } = self;
        let d = &mut devs[g];
        for ((user, _), rec) in d.records.iter_mut() {
            if *user == w && !rec.record.needs_new_session(*now) {
                assert_eq!(
                    rec.record.encrypt(&d.peers[w], b"x", *now, rng).map(|_| ()),
                    Err(Error::AccountKeyChanged)
                );
            }
        }
        for (id, bundle) in bundles {
            let mut r = SessionRecord::new(id);
            assert_eq!(
                r.initiate(&d.local, &d.peers[w], &bundle, policy, *now, rng),
                Err(Error::AccountKeyChanged)
            );
        }
        self.stats.blocked_sends += 1;
    }

    /// Starts a session with device `t` (a live device) on `g`'s record
    /// for it, from a fresh bundle.
    fn initiate(&mut self, g: usize, t: usize) {
        let bundle = self.bundle(t, true);
        let key = (self.devs[t].user, self.devs[t].id.get());
        let World { devs, rng, now, policy, .. } = self;
        let d = &mut devs[g];
        let rec = d.records.get_mut(&key).expect("a record for every listed device");
        rec.record
            .initiate(&d.local, &d.peers[key.0], &bundle, policy, *now, rng)
            .expect("initiate from the server's bundle");
        trace!("initiate {g}->{t}");
    }

    /// Sends payload `p` from `g` to the listed devices of users `to`
    /// (only device `only` if given), starting sessions where needed.
    fn send_to(&mut self, g: usize, to: &[usize], only: Option<usize>, p: u64) {
        let mut users = Vec::new();
        for &w in to {
            if self.fetch(g, w) {
                self.assert_blocked(g, w);
            } else {
                users.push(w);
            }
        }
        let keys: Vec<(usize, u32)> = self.devs[g]
            .records
            .keys()
            .copied()
            .filter(|(w, _)| users.contains(w))
            .filter(|&(w, d)| only.is_none_or(|t| self.devs[t].user == w && self.devs[t].id.get() == d))
            .collect();
        for &(w, d) in &keys {
            let t = self.incarnation(w, d).expect("the list names live devices");
            let rec = &self.devs[g].records[&(w, d)].record;
            if rec.needs_new_session(self.now) {
                if rec.current_session().is_some() {
                    self.stats.expired_restarts += 1;
                }
                self.initiate(g, t);
            }
        }
        let plaintext = self.payloads[&p].clone();
        let World { devs, rng, now, .. } = self;
        let d = &mut devs[g];
        let peers = &d.peers;
        let targets = d
            .records
            .iter_mut()
            .filter(|(k, _)| keys.contains(k))
            .map(|(k, rec)| (*k, &mut rec.record, &peers[k.0]));
        let out = fan_out(targets, &plaintext, *now, rng);
        assert_eq!(out.len(), keys.len());
        for ((w, d), ct) in out {
            let ct = ct.expect("a current, authorized session encrypts");
            let t = self.incarnation(w, d).unwrap();
            self.new_envelope(g, t, ct, Kind::Genuine(p));
            self.unacked.entry((g, t)).or_default().push(p);
        }
    }

    fn send(&mut self, g: usize, w: usize, len: u8) {
        let p = self.new_payload(len);
        let own = self.devs[g].user;
        let to = if own == w { vec![w] } else { vec![w, own] };
        self.send_to(g, &to, None, p);
    }

    fn deliver(&mut self, e: Envelope, tampered: bool) {
        if !self.devs[e.to].live {
            self.stats.to_dead_device += 1;
            return;
        }
        match e.kind {
            Kind::Retry => self.receive_retry(&e, tampered),
            Kind::Genuine(p) => self.receive(&e, p, tampered),
        }
    }

    fn receive(&mut self, e: &Envelope, p: u64, tampered: bool) {
        let (r, s) = (e.to, e.from);
        let w = self.devs[s].user;
        let sender_device = self.devs[s].id;
        let pending = self.fetch(r, w);
        // The model's own view of trust: the receiver has just fetched the
        // newest list, so the sender is authorized iff no change is pending
        // and the sender is a live device (dead ones are off every list).
        let authorized = !pending && self.devs[s].live;
        let key = (w, sender_device.get());
        let World { devs, rng, now, policy, stats, payloads, unacked, .. } = self;
        let d = &mut devs[r];
        let mut temp = None;
        let rec = match d.records.get_mut(&key) {
            Some(rec) => &mut rec.record,
            None => temp.insert(SessionRecord::new(sender_device)),
        };
        let before = (rec.to_bytes(), d.local.to_bytes());
        let replay = d.decrypted.contains_key(&e.id);
        let mut answer = None;
        let result = rec.decrypt(&mut d.local, &d.peers[w], &e.bytes, policy, *now, rng);
        trace!(
            "deliver #{} {s}->{r} {:?}{}: {:?}",
            e.id,
            MessageType::of(&e.bytes),
            if tampered { " (tampered)" } else { "" },
            result.as_ref().map(|g| g.new_session)
        );
        match result {
            Ok(got) => {
                assert!(authorized, "accepted a message from a device the receiver does not authorize");
                // (d): nothing but the genuine plaintext, tampered or not.
                assert_eq!(&got.plaintext, &payloads[&p], "a message decrypted to another plaintext");
                let id = *got.id.as_bytes();
                if let Some((first_id, restores_then)) = d.decrypted.get(&e.id) {
                    // (a): a second decryption of one message only after a
                    // restore, with the same id, which the app drops.
                    assert_eq!(first_id, &id, "one message, two ids");
                    assert!(d.restores > *restores_then, "a message decrypted twice without a restore");
                    assert!(d.seen_ids.contains(&id));
                    stats.replays_dropped_by_id += 1;
                } else {
                    assert!(d.seen_ids.insert(id), "two messages with one id");
                    d.decrypted.insert(e.id, (id, d.restores));
                    stats.decrypted += 1;
                    stats.new_sessions += usize::from(got.new_session);
                    if let Some(list) = unacked.get_mut(&(s, r)) {
                        list.retain(|&q| q != p);
                    }
                    if !d.displayed.insert(p) {
                        stats.resends_already_shown += 1;
                    }
                }
            }
            Err(err) => {
                // Every failure changes nothing.
                assert_eq!(rec.to_bytes(), before.0, "a failed decrypt changed the record ({err:?})");
                assert_eq!(d.local.to_bytes(), before.1, "a failed decrypt changed the device ({err:?})");
                if tampered {
                    stats.tampered_rejected += 1;
                } else if !authorized {
                    // From a device the receiver does not (or no longer)
                    // trust: refused by the trust check, or earlier.
                    assert!(
                        is_trust_error(&err)
                            || is_recovery_error(&err)
                            || matches!(err, Error::Duplicate | Error::UsedKey),
                        "a message from an unauthorized device failed with {err:?}"
                    );
                    if pending && is_trust_error(&err) {
                        // (d): refused because the change waits for a decision.
                        assert_eq!(err, Error::AccountKeyChanged);
                    }
                    stats.trust_refusals += 1;
                } else if err == Error::Duplicate || err == Error::UsedKey {
                    // (a): a replay (`Duplicate` for a copy the record
                    // recently decrypted, `UsedKey` once it forgot it), or
                    // the documented loss of a message from a rolled-back
                    // sender that reuses a message number (SPEC.md §12).
                    assert!(replay || e.sender_restored, "a new message reported as {err:?}");
                    if replay {
                        stats.replays_duplicate += 1;
                    } else {
                        stats.rollback_lost += 1;
                    }
                } else if is_trust_error(&err) {
                    panic!("an authorized device refused: {err:?}");
                } else if is_recovery_error(&err) {
                    // A genuine PreKeyMessage fails only for a missing prekey.
                    if MessageType::of(&e.bytes) == Ok(MessageType::PreKey) {
                        assert!(
                            matches!(err, Error::UnknownPreKey { .. }),
                            "a genuine PreKeyMessage from a listed device failed with {err:?} (replay: {replay})"
                        );
                    }
                    if matches!(err, Error::UnknownPreKey { .. }) {
                        stats.unknown_prekey += 1;
                    }
                    stats.recovery_errors += 1;
                } else {
                    panic!("a genuine message failed with {err:?}");
                }
                // The recovery path: a signed retry to the sender, if the
                // receiver trusts the sender's device.
                if authorized {
                    let recipient = d.peers[w].device_identity(sender_device).unwrap().clone();
                    let retry =
                        RetryMessage::for_failure(d.local.identity(), &recipient, &e.bytes, err, *now);
                    assert_eq!(
                        retry.is_some(),
                        retry_expected(&e.bytes, &err),
                        "for_failure on {err:?}, type {:?}, tampered {tampered}",
                        MessageType::of(&e.bytes)
                    );
                    if let Some(retry) = retry {
                        assert!(!matches!(err, Error::Duplicate | Error::UsedKey) && !is_trust_error(&err));
                        stats.retries_sent += 1;
                        answer = Some(retry.to_bytes());
                    }
                }
            }
        }
        if let Some(retry) = answer {
            self.new_envelope(r, s, retry, Kind::Retry);
        }
    }

    fn receive_retry(&mut self, e: &Envelope, tampered: bool) {
        let (x, y) = (e.to, e.from);
        let retry = match RetryMessage::from_bytes(&e.bytes) {
            Ok(retry) => {
                assert!(!tampered, "a retry with a flipped bit verified");
                retry
            }
            Err(_) => {
                assert!(tampered, "a genuine retry did not verify");
                self.stats.retries_forged_rejected += 1;
                return;
            }
        };
        let w = self.devs[y].user;
        let pending = self.fetch(x, w);
        let authorized = !pending && self.devs[y].live;
        let key = (w, self.devs[y].id.get());
        let d = &mut self.devs[x];
        let Some(rec) = d.records.get_mut(&key) else {
            assert!(!authorized);
            return;
        };
        let before = rec.record.to_bytes();
        let outcome = rec.record.handle_retry(&d.local, &d.peers[w], &retry);
        trace!("retry #{} {y}->{x} {:?}: {outcome:?}", e.id, retry.reason());
        match outcome {
            Ok(RetryOutcome::StartNewSession) => {
                assert!(authorized);
                self.stats.restarts += 1;
                self.initiate(x, y);
                let list = self.unacked.get(&(x, y)).cloned().unwrap_or_default();
                for p in list {
                    let plaintext = self.payloads[&p].clone();
                    let World { devs, rng, now, .. } = self;
                    let d = &mut devs[x];
                    let rec = d.records.get_mut(&key).unwrap();
                    let ct = rec
                        .record
                        .encrypt(&d.peers[w], &plaintext, *now, rng)
                        .expect("resend on the new session");
                    self.new_envelope(x, y, ct, Kind::Genuine(p));
                    self.stats.resent += 1;
                }
            }
            Ok(RetryOutcome::Ignored) => {
                assert_eq!(rec.record.to_bytes(), before, "an ignored retry changed the record");
                self.stats.retries_ignored += 1;
            }
            Ok(other) => panic!("unknown outcome {other:?}"),
            Err(err) => {
                assert!(is_trust_error(&err), "handle_retry failed with {err:?}");
                assert!(!authorized, "a retry from an authorized device refused: {err:?}");
                assert_eq!(rec.record.to_bytes(), before, "a refused retry changed the record");
            }
        }
    }

    fn kill(&mut self, g: usize) {
        self.devs[g].live = false;
        self.server.remove(&g);
        let u = self.devs[g].user;
        self.users[u].devices.retain(|&x| x != g);
        self.unacked.retain(|&(a, b), _| a != g && b != g);
    }

    fn restore(&mut self, g: usize, k: u8) {
        let snaps = &self.devs[g].snapshots;
        let s = snaps[usize::from(k) % snaps.len()].clone();
        let d = &mut self.devs[g];
        d.local = LocalDevice::from_bytes(&s.local).expect("a persisted device decodes");
        assert_eq!(d.local.to_bytes()[..], s.local[..]);
        d.peers =
            s.peers.iter().map(|b| PeerAccount::from_bytes(b).expect("a persisted peer decodes")).collect();
        d.records = s
            .records
            .iter()
            .map(|(k, b, id)| {
                let record = SessionRecord::from_bytes(b).expect("a persisted record decodes");
                assert_eq!(record.to_bytes()[..], b[..], "record encoding is canonical");
                (*k, Rec { record, identity: id.clone() })
            })
            .collect();
        d.pinned = s.pinned;
        d.restores += 1;
        d.ever_restored = true;
        self.dirty.insert(g);
        self.stats.restores += 1;
    }

    /// Applies one event, then checks the record bounds.
    pub fn apply(&mut self, event: &Event) {
        self.now += 1;
        trace!("event {event:?}");
        let n_users = self.users.len();
        match *event {
            Event::Send { from, to_user, len } => {
                let g = self.pick(from);
                self.send(g, usize::from(to_user) % n_users, len);
            }
            Event::Deliver(i) => {
                if !self.in_flight.is_empty() {
                    let e = self.in_flight.remove(usize::from(i) % self.in_flight.len());
                    self.deliver(e.clone(), false);
                    if let Kind::Genuine(_) = e.kind {
                        self.history.push_back(e);
                        if self.history.len() > HISTORY {
                            self.history.pop_front();
                        }
                    }
                }
            }
            Event::Drop(i) => {
                if !self.in_flight.is_empty() {
                    self.in_flight.remove(usize::from(i) % self.in_flight.len());
                }
            }
            Event::Duplicate(i) => {
                let n = self.in_flight.len() + self.history.len();
                if n > 0 {
                    let k = usize::from(i) % n;
                    if k < self.in_flight.len() {
                        let e = self.in_flight[k].clone();
                        self.in_flight.push(e);
                    } else {
                        let e = self.history[k - self.in_flight.len()].clone();
                        self.deliver(e, false);
                    }
                }
            }
            Event::Reorder => self.in_flight.reverse(),
            Event::Tamper(i, bit) => {
                if !self.in_flight.is_empty() {
                    let mut e = self.in_flight[usize::from(i) % self.in_flight.len()].clone();
                    e.bytes = flip_bit(&e.bytes, usize::from(bit) % (e.bytes.len() * 8));
                    self.deliver(e, true);
                }
            }
            Event::SimultaneousStart(a, b) => {
                let (x, y) = (self.pick(a), self.pick(b));
                let (ux, uy) = (self.devs[x].user, self.devs[y].user);
                if x != y && !self.fetch(x, uy) && !self.fetch(y, ux) {
                    self.initiate(x, y);
                    self.initiate(y, x);
                    for (from, to) in [(x, y), (y, x)] {
                        let p = self.new_payload(4);
                        self.send_to(from, &[self.devs[to].user], Some(to), p);
                    }
                    self.stats.simultaneous += 1;
                }
            }
            Event::AddDevice(u) => {
                let u = usize::from(u) % n_users;
                if self.users[u].devices.len() < MAX_MODEL_DEVICES {
                    let id = self.users[u].next_device;
                    self.users[u].next_device += 1;
                    let g = self.make_device(u, DeviceId::new(id), false);
                    self.users[u].devices.push(g);
                    self.sign_list(u);
                    self.init_peers(g);
                }
            }
            Event::RemoveDevice(sel) => {
                let g = self.pick(sel);
                let u = self.devs[g].user;
                if self.users[u].devices.len() > 1 {
                    self.kill(g);
                    self.sign_list(u);
                }
            }
            Event::Reinstall(sel) => {
                let g = self.pick(sel);
                let (u, id) = (self.devs[g].user, self.devs[g].id);
                self.kill(g);
                let fresh = self.make_device(u, id, false);
                self.users[u].devices.push(fresh);
                self.sign_list(u);
                self.init_peers(fresh);
            }
            Event::Reregister(u) => {
                let u = usize::from(u) % n_users;
                let old = self.users[u].devices.clone();
                for &g in &old {
                    self.kill(g);
                }
                self.users[u].account = AccountKeyPair::generate(&mut self.rng);
                self.users[u].generation += 1;
                self.users[u].epoch = 0;
                self.users[u].next_device = 1;
                let mut fresh = Vec::new();
                for _ in 0..old.len() {
                    let id = self.users[u].next_device;
                    self.users[u].next_device += 1;
                    let g = self.make_device(u, DeviceId::new(id), false);
                    self.users[u].devices.push(g);
                    fresh.push(g);
                }
                self.sign_list(u);
                for g in fresh {
                    self.init_peers(g);
                }
                self.stats.reregistered += 1;
            }
            Event::Decide { device, user, accept } => {
                let g = self.pick(device);
                self.decide(g, usize::from(user) % n_users, accept);
            }
            Event::Rotate(sel) => {
                let g = self.pick(sel);
                self.devs[g].local.rotate_signed_prekey(self.now, &mut self.rng).unwrap();
                self.upload(g);
            }
            Event::Exhaust(sel) => {
                let g = self.pick(sel);
                let s = self.server.get_mut(&g).unwrap();
                s.one_time.clear();
                s.kem.clear();
            }
            Event::Replenish(sel) => {
                let g = self.pick(sel);
                let s = &self.server[&g];
                let (x, k) = (s.one_time.len(), s.kem.len());
                self.devs[g].local.replenish(x, k, &mut self.rng).unwrap();
                if self.devs[g].local.needs_upload() {
                    self.upload(g);
                }
            }
            Event::Persist(sel) => {
                let g = self.pick(sel);
                self.persist(g);
            }
            Event::Restore(sel, k) => {
                let g = self.pick(sel);
                self.restore(g, k);
            }
            Event::Tick(days) => self.now += u64::from(days % 40) * DAY,
        }
        self.check_bounds();
    }

    /// The caller's decision on a pending account key change.
    fn decide(&mut self, g: usize, w: usize, accept: bool) {
        let pending = self.fetch(g, w);
        let peer = &mut self.devs[g].peers[w];
        if !pending {
            let pinned = peer.account_key().clone();
            assert_eq!(peer.accept_account_key_change(&pinned), Err(Error::NoPendingChange));
            assert_eq!(peer.reject_account_key_change(), Err(Error::NoPendingChange));
        } else if accept {
            // The caller accepts the key it showed the user (the pending one);
            // any other is refused and changes nothing.
            let shown = peer.pending_account_key().unwrap().clone();
            let pinned = peer.account_key().clone();
            assert_eq!(peer.accept_account_key_change(&pinned), Err(Error::AccountKeyChanged));
            peer.accept_account_key_change(&shown).unwrap();
            self.devs[g].pinned[w] = self.users[w].generation;
            self.sync_records(g, w);
            self.stats.accepted_changes += 1;
            assert!(!self.fetch(g, w));
        } else {
            peer.reject_account_key_change().unwrap();
            self.stats.rejected_changes += 1;
            // The server still serves the new key: the next fetch raises it again.
            assert!(self.fetch(g, w));
        }
    }

    /// (c): every record within its bounds.
    fn check_bounds(&mut self) {
        let bound = record_bound();
        let dirty = std::mem::take(&mut self.dirty);
        for d in dirty.iter().map(|&g| &self.devs[g]).filter(|d| d.live) {
            for rec in d.records.values() {
                let archived = rec.record.archived_count();
                assert!(archived <= MAX_ARCHIVED_SESSIONS, "{archived} archived sessions");
                let len = rec.record.to_bytes().len();
                assert!(len <= bound, "a record of {len} bytes (bound {bound})");
                self.stats.max_archived = self.stats.max_archived.max(archived);
                self.stats.max_record_len = self.stats.max_record_len.max(len);
            }
        }
    }

    /// Delivers everything in flight, in order, with every retry and resend
    /// it causes.
    fn drain(&mut self) {
        let mut steps = 0;
        while !self.in_flight.is_empty() {
            steps += 1;
            assert!(steps < 100_000, "the network never drains: a retry storm");
            self.now += 1;
            let e = self.in_flight.remove(0);
            self.deliver(e, false);
        }
    }

    /// (b): the quiesce phase. Every device fetches every list and accepts
    /// pending changes (the caller's decision); the network drains; every
    /// pair exchanges one message each way (with whatever recovery that
    /// takes); then every pair must be on one session.
    pub fn finish(mut self) -> Stats {
        for g in self.live() {
            for w in 0..self.users.len() {
                if self.fetch(g, w) {
                    self.decide(g, w, true);
                }
            }
        }
        self.drain();
        self.check_bounds();
        let live = self.live();
        let pairs: Vec<(usize, usize)> =
            live.iter().flat_map(|&x| live.iter().filter(move |&&y| y > x).map(move |&y| (x, y))).collect();
        for &(x, y) in &pairs {
            for (from, to) in [(x, y), (y, x)] {
                let p = self.new_payload(2);
                self.send_to(from, &[self.devs[to].user], Some(to), p);
                self.drain();
            }
        }
        self.check_bounds();
        for &(x, y) in &pairs {
            self.verify_pair(x, y);
        }
        self.stats
    }

    fn current_copy(&self, g: usize, t: usize) -> Session {
        let key = (self.devs[t].user, self.devs[t].id.get());
        let rec = &self.devs[g].records[&key].record;
        let s = rec
            .current_session()
            .unwrap_or_else(|| panic!("device {g} has no session with {t} after quiesce"));
        assert_eq!(s.remote_identity(), &self.devs[t].identity, "the session is with another identity");
        Session::from_bytes(&s.to_bytes()).unwrap()
    }

    fn verify_pair(&mut self, x: usize, y: usize) {
        // One more round trip through the records: each message decrypts
        // at the first try, on a session the receiver already has.
        for (from, to) in [(x, y), (y, x)] {
            let (wf, wt) = (self.devs[from].user, self.devs[to].user);
            let (kt, kf) = ((wt, self.devs[to].id.get()), (wf, self.devs[from].id.get()));
            let World { devs, rng, now, policy, .. } = self;
            let d = &mut devs[from];
            let ct =
                d.records.get_mut(&kt).unwrap().record.encrypt(&d.peers[wt], b"final", *now, rng).unwrap();
            let d = &mut devs[to];
            let rec = &mut d.records.get_mut(&kf).unwrap().record;
            let got = rec.decrypt(&mut d.local, &d.peers[wf], &ct, policy, *now, rng);
            let got = got.unwrap_or_else(|e| panic!("{from} -> {to} after quiesce: {e:?}"));
            assert_eq!(got.plaintext, b"final");
            assert!(!got.new_session, "{from} -> {to}: a new session after quiesce");
        }
        // The same session at both ends: a copy of one end's current
        // session decrypts what a copy of the other's encrypts (a message
        // key is shared only within one session).
        let (mut sx, mut sy) = (self.current_copy(x, y), self.current_copy(y, x));
        let mut same = sx.is_initiator() != sy.is_initiator();
        if same {
            let m = sx.encrypt(b"same session?", &mut self.rng).unwrap();
            same = sy.decrypt(&m, &mut self.rng).as_deref() == Ok(&b"same session?"[..]);
        }
        assert!(same, "(b): devices {x} and {y} are not on one session after quiesce");
        self.stats.pairs_verified += 1;
    }
}
