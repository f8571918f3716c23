//! Group call keys (SPEC.md §25): sender keys over pairwise sessions,
//! ratcheted on join, replaced on leave, with SFrame frames end to end.

use chatcrypt::{
    media::{
        group_kid, CipherSuite, GroupCallReceiver, GroupCallSender, KeyDistribution, MediaKeyMessage,
        MAX_RETAINED_GENERATIONS,
    },
    Error,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

const CALL: [u8; 16] = [7; 16];
const SUITE: CipherSuite = CipherSuite::AesGcm128Sha256;

fn frame(sender: &mut GroupCallSender, now: u64, payload: &[u8]) -> Vec<u8> {
    let s = sender.sframe_sender(now).unwrap();
    let mut out = vec![0u8; s.ciphertext_len(payload.len())];
    let n = s.encrypt(b"meta", payload, &mut out).unwrap();
    out.truncate(n);
    out
}

fn open(receiver: &mut GroupCallReceiver, frame: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; frame.len()];
    let d = receiver.decrypt(b"meta", frame, &mut out)?;
    out.truncate(d.len);
    Ok(out)
}

/// The message as it travels: encoded, then decoded on the other side.
fn wire(m: &MediaKeyMessage) -> MediaKeyMessage {
    MediaKeyMessage::from_bytes(&m.to_bytes()).unwrap()
}

#[test]
fn join_ratchets_and_leave_replaces_the_key() {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let mut alice = GroupCallSender::new(CALL, SUITE, 1, &mut rng).unwrap();
    let mut bob = GroupCallReceiver::new(CALL, SUITE);
    let mut carol = GroupCallReceiver::new(CALL, SUITE);
    bob.add_key(1, &wire(&alice.current_key())).unwrap();
    carol.add_key(1, &wire(&alice.current_key())).unwrap();
    let before_join = frame(&mut alice, 0, b"before dave");
    assert_eq!(open(&mut bob, &before_join).unwrap(), b"before dave");

    // Dave joins: he gets only the ratcheted key.
    let mut dave = GroupCallReceiver::new(CALL, SUITE);
    let KeyDistribution::Joiner(msgs) = alice.member_joined(&mut rng).unwrap() else {
        panic!("a joiner's key")
    };
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].kid(), group_kid(1, 0, 1));
    dave.add_key(1, &wire(&msgs[0])).unwrap();
    let after_join = frame(&mut alice, 1, b"with dave");
    // Bob and Carol follow the ratchet from the key id alone.
    assert_eq!(open(&mut bob, &after_join).unwrap(), b"with dave");
    assert_eq!(open(&mut carol, &after_join).unwrap(), b"with dave");
    assert_eq!(open(&mut dave, &after_join).unwrap(), b"with dave");
    // Dave cannot read what was said before he joined.
    assert!(open(&mut dave, &before_join).is_err());
    // A replayed frame is refused.
    assert_eq!(open(&mut bob, &after_join), Err(Error::Duplicate));

    // Carol leaves: a new generation for Bob and Dave, active from t = 10.
    let KeyDistribution::Everyone(next) = alice.member_left(5, 5, &mut rng).unwrap() else {
        panic!("everyone")
    };
    assert_eq!((next.kid(), next.activate_at()), (group_kid(1, 1, 0), 10));
    bob.add_key(1, &wire(&next)).unwrap();
    dave.add_key(1, &wire(&next)).unwrap();
    // Until then the old key sends, and Carol still reads it.
    let still_old = frame(&mut alice, 9, b"still old");
    let in_flight = frame(&mut alice, 9, b"in flight");
    assert_eq!(open(&mut carol, &still_old).unwrap(), b"still old");
    assert_eq!(open(&mut bob, &still_old).unwrap(), b"still old");
    let new = frame(&mut alice, 10, b"without carol");
    assert_eq!(alice.kid(), group_kid(1, 1, 0));
    assert_eq!(open(&mut bob, &new).unwrap(), b"without carol");
    assert_eq!(open(&mut dave, &new).unwrap(), b"without carol");
    assert!(matches!(open(&mut carol, &new), Err(Error::UnknownKeyId { .. })));
    // A frame of the old generation still in flight decrypts for those who stay.
    assert_eq!(open(&mut bob, &in_flight).unwrap(), b"in flight");
}

#[test]
fn a_leave_before_activation_replaces_the_pending_key_and_a_joiner_gets_it() {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let mut alice = GroupCallSender::new(CALL, SUITE, 3, &mut rng).unwrap();
    let before = frame(&mut alice, 0, b"before erin");
    let KeyDistribution::Everyone(g1) = alice.member_left(0, 100, &mut rng).unwrap() else { panic!() };
    let KeyDistribution::Everyone(g2) = alice.member_left(1, 100, &mut rng).unwrap() else { panic!() };
    assert_eq!((g1.kid(), g2.kid()), (group_kid(3, 1, 0), group_kid(3, 2, 0)));
    // A joiner during the wait gets the ratcheted current key and the pending one.
    let KeyDistribution::Joiner(msgs) = alice.member_joined(&mut rng).unwrap() else { panic!() };
    assert_eq!(
        msgs.iter().map(MediaKeyMessage::kid).collect::<Vec<_>>(),
        vec![group_kid(3, 0, 1), group_kid(3, 2, 0)]
    );
    // In either order.
    let mut erin = GroupCallReceiver::new(CALL, SUITE);
    for m in msgs.iter().rev() {
        erin.add_key(3, &wire(m)).unwrap();
    }
    assert!(open(&mut erin, &before).is_err(), "the joiner cannot read the past");
    let now = frame(&mut alice, 50, b"current");
    assert_eq!(open(&mut erin, &now).unwrap(), b"current");
    let later = frame(&mut alice, 101, b"pending, now active");
    assert_eq!(alice.kid(), group_kid(3, 2, 0));
    assert_eq!(open(&mut erin, &later).unwrap(), b"pending, now active");
}

#[test]
fn two_leaves_within_the_delay_keep_the_generation_in_use() {
    let mut rng = ChaCha20Rng::from_seed([6; 32]);
    let mut alice = GroupCallSender::new(CALL, SUITE, 1, &mut rng).unwrap();
    let mut bob = GroupCallReceiver::new(CALL, SUITE);
    bob.add_key(1, &wire(&alice.current_key())).unwrap();
    for t in [1u64, 2] {
        let KeyDistribution::Everyone(m) = alice.member_left(t, 100, &mut rng).unwrap() else { panic!() };
        bob.add_key(1, &wire(&m)).unwrap();
    }
    // Generation 0 is still in use until t = 102, and Bob still has it.
    let f = frame(&mut alice, 50, b"still generation 0");
    assert_eq!(alice.kid(), group_kid(1, 0, 0));
    assert_eq!(open(&mut bob, &f).unwrap(), b"still generation 0");
    let f = frame(&mut alice, 102, b"generation 2");
    assert_eq!(open(&mut bob, &f).unwrap(), b"generation 2");
}

#[test]
fn joins_while_silent_do_not_ratchet_and_a_later_key_resynchronises() {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let mut alice = GroupCallSender::new(CALL, SUITE, 4, &mut rng).unwrap();
    let mut bob = GroupCallReceiver::new(CALL, SUITE);
    bob.add_key(4, &wire(&alice.current_key())).unwrap();
    let first = frame(&mut alice, 0, b"spoken");
    assert_eq!(open(&mut bob, &first).unwrap(), b"spoken");
    // 40 people join while Alice is muted: one ratchet step, not 40.
    for _ in 0..40 {
        alice.member_joined(&mut rng).unwrap();
    }
    assert_eq!(alice.kid(), group_kid(4, 0, 1));
    let f = frame(&mut alice, 0, b"unmuted");
    assert_eq!(open(&mut bob, &f).unwrap(), b"unmuted");
    // Carol misses 20 steps of frames (each step spoken in): too far to
    // catch up from a frame, but the sender's current key resynchronises her.
    let mut carol = GroupCallReceiver::new(CALL, SUITE);
    carol.add_key(4, &wire(&alice.current_key())).unwrap();
    for _ in 0..20 {
        alice.member_joined(&mut rng).unwrap();
        frame(&mut alice, 0, b"missed");
    }
    let f = frame(&mut alice, 0, b"far ahead");
    assert!(matches!(open(&mut carol, &f), Err(Error::TooFarAhead { .. })));
    carol.add_key(4, &wire(&alice.current_key())).unwrap();
    let f = frame(&mut alice, 0, b"back in sync");
    assert_eq!(open(&mut carol, &f).unwrap(), b"back in sync");
    // The same or an older step of a held generation is refused (it would
    // reset the replay window).
    assert_eq!(carol.add_key(4, &wire(&alice.current_key())), Err(Error::Duplicate));
}

#[test]
fn receivers_keep_three_generations_and_refuse_stale_or_foreign_keys() {
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let mut alice = GroupCallSender::new(CALL, SUITE, 1, &mut rng).unwrap();
    let mut bob = GroupCallReceiver::new(CALL, SUITE);
    let g0 = alice.current_key();
    bob.add_key(1, &wire(&g0)).unwrap();
    let f0 = frame(&mut alice, 0, b"g0");
    let mut gens = Vec::new();
    for t in 1..=3u64 {
        let KeyDistribution::Everyone(m) = alice.member_left(t, 0, &mut rng).unwrap() else { panic!() };
        bob.add_key(1, &wire(&m)).unwrap();
        gens.push(frame(&mut alice, t, b"g"));
    }
    assert_eq!(MAX_RETAINED_GENERATIONS, 3);
    // Generation 0 was dropped when generation 3 arrived; 1 to 3 remain.
    assert!(matches!(open(&mut bob, &f0), Err(Error::UnknownKeyId { .. })));
    for g in &gens {
        assert_eq!(open(&mut bob, g).unwrap(), b"g");
    }
    // A dropped generation's key again, or one from another sender or call, is refused.
    assert_eq!(bob.add_key(1, &wire(&g0)), Err(Error::Duplicate));
    assert_eq!(bob.add_key(2, &wire(&g0)), Err(Error::WrongIdentity));
    let mut other = GroupCallReceiver::new([8; 16], SUITE);
    assert_eq!(other.add_key(1, &wire(&g0)), Err(Error::HandshakeMismatch));
    let mut other_suite = GroupCallReceiver::new(CALL, CipherSuite::AesGcm256Sha512);
    assert_eq!(other_suite.add_key(1, &wire(&g0)), Err(Error::HandshakeMismatch));
}

#[test]
fn after_255_joins_the_sender_starts_a_new_generation_for_everyone() {
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    let mut alice = GroupCallSender::new(CALL, CipherSuite::AesGcm256Sha512, 9, &mut rng).unwrap();
    let mut bob = GroupCallReceiver::new(CALL, CipherSuite::AesGcm256Sha512);
    bob.add_key(9, &wire(&alice.current_key())).unwrap();
    for step in 1..=255u32 {
        // Each step is spoken in before the next join, so each join ratchets.
        let f = frame(&mut alice, 0, b"x");
        if step % 15 == 0 {
            // Bob keeps up from the key ids (at most 16 steps per frame).
            assert_eq!(open(&mut bob, &f).unwrap(), b"x");
        }
        let KeyDistribution::Joiner(m) = alice.member_joined(&mut rng).unwrap() else {
            panic!("step {step}")
        };
        assert_eq!(m[0].kid(), group_kid(9, 0, step));
    }
    frame(&mut alice, 0, b"x");
    let KeyDistribution::Everyone(m) = alice.member_joined(&mut rng).unwrap() else {
        panic!("a new generation")
    };
    assert_eq!(m.kid(), group_kid(9, 1, 0));
    bob.add_key(9, &wire(&m)).unwrap();
    let f = frame(&mut alice, 0, b"new generation");
    assert_eq!(open(&mut bob, &f).unwrap(), b"new generation");
}

#[test]
fn the_key_message_is_strict_and_hides_the_key() {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let alice = GroupCallSender::new(CALL, SUITE, 1, &mut rng).unwrap();
    let m = alice.current_key();
    let bytes = m.to_bytes();
    assert_eq!(bytes.len(), 2 + 16 + 2 + 8 + 8 + 1 + 32);
    for cut in 0..bytes.len() {
        assert!(matches!(MediaKeyMessage::from_bytes(&bytes[..cut]), Err(Error::Decode(_))), "cut {cut}");
    }
    let mut long = bytes.to_vec();
    long.push(0);
    assert!(matches!(
        MediaKeyMessage::from_bytes(&long),
        Err(Error::Decode(chatcrypt::DecodeError::TrailingBytes))
    ));
    let mut bad_len = bytes.to_vec();
    bad_len[36] = 31;
    assert!(matches!(MediaKeyMessage::from_bytes(&bad_len), Err(Error::Decode(_))));
    let mut bad_suite = bytes.to_vec();
    bad_suite[18..20].copy_from_slice(&[0, 9]);
    assert!(MediaKeyMessage::from_bytes(&bad_suite).is_err());
    let shown = format!("{m:?}");
    assert!(!shown.contains("key:") && shown.starts_with("MediaKeyMessage {"), "{shown}");
}
