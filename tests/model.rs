//! Property test: two parties after a handshake, and a network that
//! delivers, drops, duplicates, tampers with and reorders their messages.
//! The event model and its checks live in `common/model.rs`. Everything
//! runs in both modes (plain headers and header encryption).
//!
//! `PROPTEST_CASES` raises the number of cases (default 64) for a longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chatcrypt::Mode;
use common::model::{events_from_bytes, Event, Side, World};
use proptest::{collection::vec, prelude::*};

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Alice), Just(Side::Bob)]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (0u16..40).prop_map(Event::SendA),
        4 => (0u16..40).prop_map(Event::SendB),
        6 => any::<usize>().prop_map(Event::Deliver),
        1 => any::<usize>().prop_map(Event::Drop),
        2 => any::<usize>().prop_map(Event::Duplicate),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(i, b)| Event::Tamper(i, b)),
        1 => Just(Event::Reorder),
        1 => side().prop_map(Event::Persist),
    ]
}

/// Cases per mode.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)
}

mod every_genuine_message_decrypts_exactly_once_and_forgeries_change_nothing {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: cases(),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn plain(seed in any::<u64>(), events in vec(event(), 0..60)) {
            World::run_in(Mode::Plain, seed, &events);
        }

        #[test]
        fn header_encryption(seed in any::<u64>(), events in vec(event(), 0..60)) {
            World::run_in(Mode::HeaderEncryption, seed, &events);
        }
    }
}

fn a_scripted_run_exercises_every_kind_of_event(mode: Mode) {
    use Event::*;
    let mut events = vec![SendA(5), SendA(0), SendB(7), Deliver(2), Deliver(0), Duplicate(1), Tamper(0, 77)];
    events.extend([
        SendB(1),
        SendB(2),
        Reorder,
        Drop(0),
        Deliver(0),
        Persist(Side::Alice),
        Persist(Side::Bob),
    ]);
    events.extend([SendA(3), Tamper(0, 0), Deliver(0), Duplicate(3), Duplicate(0)]);
    let stats = World::run_in(mode, 1, &events);
    assert_eq!(stats.sent, 6 + 2);
    assert_eq!(stats.dropped, 1);
    assert_eq!(stats.tampered, 2);
    assert_eq!(stats.duplicates, 3);
    // Four delivered during the run, one still in flight at the end, then the final exchange.
    assert_eq!(stats.delivered, 4 + 1 + 2);
    assert_eq!(stats.forgotten_chain, 0);
}
both_modes!(a_scripted_run_exercises_every_kind_of_event);

fn replays_from_chains_the_receiver_has_forgotten_may_fail_authentication(mode: Mode) {
    use Event::*;
    // Alice's first Message is delivered, then 10 round trips push its chain out of
    // Bob's memory of previous ratchet keys, then it is replayed.
    let mut events = vec![SendB(1), Deliver(0), SendA(1), Deliver(0)];
    for _ in 0..10 {
        events.extend([SendB(1), Deliver(0), SendA(1), Deliver(0)]);
    }
    // Delivered so far: [first, B, A, B, A, ...]; index 2 is Alice's first Message.
    events.push(Duplicate(2));
    let stats = World::run_in(mode, 2, &events);
    assert_eq!(stats.duplicates, 1);
    // Plain mode: the crate documents Auth for chains it no longer remembers;
    // header encryption: no remembered header key opens the header.
    assert_eq!(stats.old_replays_auth, 1);
}
both_modes!(replays_from_chains_the_receiver_has_forgotten_may_fail_authentication);

fn a_late_message_from_a_forgotten_chain_is_lost_only_with_header_encryption(mode: Mode) {
    use Event::*;
    // Alice's first Message chain: two sent, the second held back (index 0
    // stays first in flight, as every later message is delivered at the end).
    let mut events = vec![SendB(1), Deliver(0), SendA(1), SendA(1), Deliver(1)];
    // Nine round trips: that chain is then nine chains behind Bob's current one.
    for _ in 0..9 {
        events.extend([SendB(1), Deliver(1), SendA(1), Deliver(1)]);
    }
    events.push(Deliver(0));
    let stats = World::run_in(mode, 3, &events);
    match mode {
        // The skipped key is still stored: the message decrypts.
        Mode::Plain => assert_eq!(stats.forgotten_chain, 0),
        // The chain's header key was forgotten, and its skipped keys with it.
        _ => assert_eq!(stats.forgotten_chain, 1),
    }
}
both_modes!(a_late_message_from_a_forgotten_chain_is_lost_only_with_header_encryption);

fn the_fuzz_decoder_produces_events_from_arbitrary_bytes(mode: Mode) {
    let events = events_from_bytes(&[0, 9, 2, 0, 5, 0, 1, 2, 4, 1, 6, 7, 15]);
    let kinds: Vec<_> = events.iter().map(|e| format!("{e:?}")).collect();
    assert_eq!(
        kinds,
        [
            "SendA(0)",
            "SendB(1)",
            "Deliver(0)",
            "Tamper(0, 258)",
            "Duplicate(1)",
            "Reorder",
            "Persist(Alice)",
            "Persist(Bob)"
        ]
    );
    World::run_in(mode, 3, &events);
    // Any byte string is a valid run.
    let mut rng = common::rng(4);
    for _ in 0..8 {
        let mut data = vec![0u8; 96];
        rand_chacha::rand_core::Rng::fill_bytes(&mut rng, &mut data);
        World::run_in(mode, 5, &events_from_bytes(&data));
    }
}
both_modes!(the_fuzz_decoder_produces_events_from_arbitrary_bytes);

#[test]
fn run_is_the_plain_mode_run_the_fuzz_target_uses() {
    let events = events_from_bytes(&[0, 1, 2, 0, 2, 0, 8, 2, 0]);
    let plain = World::run(6, &events);
    let explicit = World::run_in(Mode::Plain, 6, &events);
    assert_eq!(format!("{plain:?}"), format!("{explicit:?}"));
    assert_eq!(World::new(6).mode(), Mode::Plain);
}
