//! Bounds: how far ahead a message may be, how many skipped keys are kept,
//! how many old chains are remembered, how large a plaintext may be, and
//! what happens with output buffers that are too small.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chatcrypt::{
    DecodeError, Error, MessageType, Session, MAX_MESSAGE_LEN, MAX_PLAINTEXT_LEN, MAX_PREVIOUS_RATCHET_KEYS,
    MAX_SKIP, MAX_SKIPPED_KEYS, SESSION_BYTES_PER_SKIPPED_KEY, SESSION_FIXED_LEN,
};
use common::{
    flip_bit, header_len, n_of, plaintext, pn_of, reject_unchanged, restore, snapshot, with_n, Pair, TAG_LEN,
};

const SKIP: usize = MAX_SKIP as usize;

/// Alice sends `count` messages on her current chain.
fn burst(p: &mut Pair, count: usize, tag: usize) -> Vec<Vec<u8>> {
    (0..count).map(|i| p.send_a(&plaintext(tag + i))).collect()
}

/// Bob replies and Alice reads it, so that Alice's next message starts a new chain.
fn bob_replies(p: &mut Pair) {
    let r = p.send_b(b"reply");
    assert_eq!(p.recv_a(&r).unwrap(), b"reply");
}

#[test]
fn a_message_exactly_max_skip_ahead_on_a_new_chain_decrypts() {
    let mut p = Pair::established(300);
    let ms = burst(&mut p, SKIP + 1, 0);
    assert_eq!(n_of(&ms[SKIP]), MAX_SKIP);
    assert_eq!(p.recv_b(&ms[SKIP]).unwrap(), plaintext(SKIP));
    assert_eq!(p.bob.skipped_key_count(), SKIP);
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    assert_eq!(p.recv_b(&ms[SKIP - 1]).unwrap(), plaintext(SKIP - 1));
    assert_eq!(p.bob.skipped_key_count(), SKIP - 2);
}

#[test]
fn a_message_exactly_max_skip_ahead_on_the_current_chain_decrypts() {
    let mut p = Pair::established(301);
    let ms = burst(&mut p, SKIP + 2, 0);
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    assert_eq!(p.recv_b(&ms[SKIP + 1]).unwrap(), plaintext(SKIP + 1));
    assert_eq!(p.bob.skipped_key_count(), SKIP);
}

#[test]
fn a_message_max_skip_plus_one_ahead_on_a_new_chain_is_too_far_ahead_and_changes_nothing() {
    let mut p = Pair::established(302);
    let ms = burst(&mut p, SKIP + 2, 0);
    let err = reject_unchanged(&mut p.bob, &ms[SKIP + 1], &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: 1001, max: 1000 });
    assert_eq!(p.bob.skipped_key_count(), 0);
    // Once an earlier message has arrived, it is within reach.
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    assert_eq!(p.recv_b(&ms[SKIP + 1]).unwrap(), plaintext(SKIP + 1));
}

#[test]
fn a_message_max_skip_plus_one_ahead_on_the_current_chain_is_too_far_ahead_and_changes_nothing() {
    let mut p = Pair::established(303);
    let ms = burst(&mut p, SKIP + 3, 0);
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    let err = reject_unchanged(&mut p.bob, &ms[SKIP + 2], &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: 1001, max: 1000 });
    assert_eq!(p.recv_b(&ms[1]).unwrap(), plaintext(1));
    assert_eq!(p.recv_b(&ms[SKIP + 2]).unwrap(), plaintext(SKIP + 2));
}

#[test]
fn a_previous_chain_more_than_max_skip_longer_than_received_is_too_far_ahead() {
    let mut p = Pair::established(304);
    let old = burst(&mut p, SKIP + 2, 0);
    assert_eq!(p.recv_b(&old[0]).unwrap(), plaintext(0));
    bob_replies(&mut p);
    let next = p.send_a(b"next chain");
    assert_eq!((pn_of(&next), n_of(&next)), (1002, 0));
    // Moving on would skip keys 1..1002 of the old chain: 1001 of them.
    let err = reject_unchanged(&mut p.bob, &next, &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: 1001, max: 1000 });
    assert_eq!(p.recv_b(&old[1]).unwrap(), plaintext(1));
    assert_eq!(p.recv_b(&next).unwrap(), b"next chain");
    assert_eq!(p.bob.skipped_key_count(), SKIP);
}

#[test]
fn a_forged_header_far_ahead_is_rejected_before_any_work() {
    let mut p = Pair::established(305);
    let m0 = p.send_a(b"m0");
    let m1 = p.send_a(b"m1");
    assert_eq!(p.recv_b(&m0).unwrap(), b"m0");
    let err = reject_unchanged(&mut p.bob, &with_n(&m1, u32::MAX - 1), &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: u32::MAX - 2, max: MAX_SKIP });
    // N = 2^32 - 1 is never sent and is malformed.
    let err = reject_unchanged(&mut p.bob, &with_n(&m1, u32::MAX), &mut p.rng);
    assert_eq!(err, Error::Decode(DecodeError::InvalidValue));
    assert_eq!(p.recv_b(&m1).unwrap(), b"m1");
}

#[test]
fn a_message_skipping_max_skip_in_both_the_old_and_the_new_chain_loses_no_key() {
    let mut p = Pair::established(306);
    let old = burst(&mut p, SKIP + 1, 0);
    assert_eq!(p.recv_b(&old[0]).unwrap(), plaintext(0));
    bob_replies(&mut p);
    let new = burst(&mut p, SKIP + 1, 5000);
    assert_eq!(p.recv_b(&new[SKIP]).unwrap(), plaintext(5000 + SKIP));
    assert_eq!(p.bob.skipped_key_count(), MAX_SKIPPED_KEYS);
    for i in [1, 2, SKIP - 1, SKIP] {
        assert_eq!(p.recv_b(&old[i]).unwrap(), plaintext(i), "old chain message {i}");
    }
    for i in [0, 1, SKIP - 1] {
        assert_eq!(p.recv_b(&new[i]).unwrap(), plaintext(5000 + i), "new chain message {i}");
    }
    assert_eq!(p.bob.skipped_key_count(), MAX_SKIPPED_KEYS - 7);
}

#[test]
fn the_skipped_key_store_never_exceeds_its_bound_and_evicts_the_oldest_first() {
    let mut p = Pair::established(307);
    let bound = SESSION_FIXED_LEN
        + 68
        + 32
        + 32 * MAX_PREVIOUS_RATCHET_KEYS
        + SESSION_BYTES_PER_SKIPPED_KEY * MAX_SKIPPED_KEYS;
    // Three chains of which only the last message arrives: 600 + 600 + 600 + 600 keys skipped.
    let mut chains = Vec::new();
    let mut total = 0;
    for c in 0..4 {
        if c > 0 {
            bob_replies(&mut p);
        }
        let ms = burst(&mut p, 601, 1000 * c);
        assert_eq!(p.recv_b(&ms[600]).unwrap(), plaintext(1000 * c + 600));
        total += 600;
        assert_eq!(p.bob.skipped_key_count(), total.min(MAX_SKIPPED_KEYS), "after chain {c}");
        assert!(p.bob.encoded_len() <= bound);
        assert_eq!(snapshot(&p.bob).len(), p.bob.encoded_len());
        chains.push(ms);
    }
    // 2400 keys were skipped; the 400 oldest (chain 0, messages 0..400) were evicted.
    let evicted = total - MAX_SKIPPED_KEYS;
    assert_eq!(evicted, 400);
    for i in [0, 1, evicted - 1] {
        assert_eq!(reject_unchanged(&mut p.bob, &chains[0][i], &mut p.rng), Error::Duplicate, "evicted {i}");
    }
    for i in [evicted, 599] {
        assert_eq!(p.recv_b(&chains[0][i]).unwrap(), plaintext(i), "kept {i}");
    }
    assert_eq!(p.recv_b(&chains[1][0]).unwrap(), plaintext(1000));
    assert_eq!(p.recv_b(&chains[3][599]).unwrap(), plaintext(3599));
    assert_eq!(p.bob.skipped_key_count(), MAX_SKIPPED_KEYS - 4);
}

#[test]
fn eviction_within_one_chain_drops_the_lowest_message_numbers() {
    let mut p = Pair::established(308);
    let a = burst(&mut p, 1001, 0);
    assert_eq!(p.recv_b(&a[1000]).unwrap(), plaintext(1000));
    bob_replies(&mut p);
    let b = burst(&mut p, 1001, 2000);
    assert_eq!(p.recv_b(&b[1000]).unwrap(), plaintext(3000));
    assert_eq!(p.bob.skipped_key_count(), MAX_SKIPPED_KEYS);
    bob_replies(&mut p);
    let c = burst(&mut p, 11, 4000);
    assert_eq!(p.recv_b(&c[10]).unwrap(), plaintext(4010));
    assert_eq!(p.bob.skipped_key_count(), MAX_SKIPPED_KEYS);
    // Chain a's keys 0..10 made room for chain c's 10.
    assert_eq!(reject_unchanged(&mut p.bob, &a[0], &mut p.rng), Error::Duplicate);
    assert_eq!(reject_unchanged(&mut p.bob, &a[9], &mut p.rng), Error::Duplicate);
    assert_eq!(p.recv_b(&a[10]).unwrap(), plaintext(10));
    assert_eq!(p.recv_b(&b[0]).unwrap(), plaintext(2000));
    assert_eq!(p.recv_b(&c[0]).unwrap(), plaintext(4000));
}

#[test]
fn replays_are_duplicates_for_max_previous_ratchet_keys_chains_then_fail_authentication() {
    let mut p = Pair::established(309);
    let m = p.send_a(b"remember me");
    assert_eq!(p.recv_b(&m).unwrap(), b"remember me");
    assert_eq!(reject_unchanged(&mut p.bob, &m, &mut p.rng), Error::Duplicate);
    for steps in 1..=MAX_PREVIOUS_RATCHET_KEYS + 2 {
        p.round_trip(10 * steps);
        let expected = if steps <= MAX_PREVIOUS_RATCHET_KEYS { Error::Duplicate } else { Error::Auth };
        assert_eq!(reject_unchanged(&mut p.bob, &m, &mut p.rng), expected, "{steps} chains later");
        // The remembered ratchet keys are bounded too: current chain + at most 8 previous.
        let remembered = (steps + 1).min(MAX_PREVIOUS_RATCHET_KEYS);
        assert_eq!(p.bob.encoded_len(), SESSION_FIXED_LEN + 68 + 32 + 32 * remembered);
    }
    // SPEC §10.4: a long-running responder session with no skipped keys is 530 bytes.
    assert_eq!(p.bob.encoded_len(), 530);
}

#[test]
fn the_limits_have_the_values_the_spec_gives() {
    assert_eq!(MAX_SKIP, 1000);
    assert_eq!(MAX_SKIPPED_KEYS, 2000);
    assert_eq!(MAX_PREVIOUS_RATCHET_KEYS, 8);
    assert_eq!(MAX_PLAINTEXT_LEN, 1_048_576);
    assert_eq!(MAX_MESSAGE_LEN, 1_048_723);
    // The longest PreKeyMessage prefix, an encrypted header (header
    // encryption is the longer mode), the plaintext and its tag.
    assert_eq!(MAX_MESSAGE_LEN, 75 + 56 + MAX_PLAINTEXT_LEN + TAG_LEN);
    assert_eq!(SESSION_FIXED_LEN, 174);
    assert_eq!(SESSION_BYTES_PER_SKIPPED_KEY, 68);
    assert_eq!(chatcrypt::SEALED_OVERHEAD, 31);
    assert_eq!((chatcrypt::BUNDLE_LEN, chatcrypt::BUNDLE_LEN_WITH_ONE_TIME), (134, 170));
}

#[test]
fn a_plaintext_over_max_plaintext_len_is_too_large_and_changes_nothing() {
    let mut p = Pair::handshake(310);
    let big = vec![0x5a; MAX_PLAINTEXT_LEN + 1];
    let before = snapshot(&p.alice);
    let too_large = Error::TooLarge { len: MAX_PLAINTEXT_LEN + 1, max: MAX_PLAINTEXT_LEN };
    assert_eq!(p.alice.encrypt(&big), Err(too_large));
    let mut out = vec![0u8; MAX_MESSAGE_LEN + 64];
    assert_eq!(p.alice.encrypt_into(&big, &mut out), Err(too_large));
    assert_eq!(snapshot(&p.alice), before);
    let m = p.send_a(b"small");
    assert_eq!(n_of(&m), 1, "the failed calls used no message number");
    assert_eq!(p.recv_b(&m).unwrap(), b"small");
}

#[test]
fn a_plaintext_of_exactly_max_plaintext_len_makes_a_max_message_len_prekey_message() {
    let mut p = Pair::handshake(311);
    let big: Vec<u8> = (0..MAX_PLAINTEXT_LEN).map(|i| (i % 251) as u8).collect();
    let m = p.send_a(&big);
    assert_eq!(MessageType::of(&m), Ok(MessageType::PreKey));
    // Plain headers are 16 bytes shorter than encrypted ones.
    assert_eq!(m.len(), MAX_MESSAGE_LEN - TAG_LEN);
    assert_eq!(p.recv_b(&m).unwrap(), big);
    let reply = p.send_b(&big);
    assert_eq!(reply.len(), header_len(&reply) + MAX_PLAINTEXT_LEN + TAG_LEN);
    assert_eq!(p.recv_a(&reply).unwrap(), big);
}

#[test]
fn encrypt_into_a_too_small_buffer_is_buffer_too_small_and_changes_nothing() {
    for established in [false, true] {
        let mut p = if established { Pair::established(312) } else { Pair::handshake(312) };
        let pt = b"into a buffer";
        let needed = p.alice.encrypted_len(pt.len());
        assert_eq!(needed, if established { 42 } else { 115 } + pt.len() + TAG_LEN);
        let before = snapshot(&p.alice);
        for len in [0, 1, needed / 2, needed - 1] {
            let mut out = vec![0u8; len];
            assert_eq!(p.alice.encrypt_into(pt, &mut out), Err(Error::BufferTooSmall { needed }));
            assert_eq!(snapshot(&p.alice), before);
        }
        // The exact size works and writes what `encrypt` would have written.
        let mut twin = restore(&before);
        let expected = twin.encrypt(pt).unwrap();
        let mut out = vec![0xEE; needed + 10];
        assert_eq!(p.alice.encrypt_into(pt, &mut out[..needed]), Ok(needed));
        assert_eq!(&out[..needed], &expected[..]);
        assert_eq!(&out[needed..], &[0xEE; 10], "nothing written past the message");
        assert_eq!(snapshot(&p.alice), snapshot(&twin));
        assert_eq!(p.recv_b(&out[..needed]).unwrap(), pt);
    }
}

#[test]
fn encrypt_into_a_larger_buffer_returns_the_message_length() {
    let mut p = Pair::established(313);
    let mut out = vec![0u8; 4096];
    let n = p.alice.encrypt_into(b"short", &mut out).unwrap();
    assert_eq!(n, 42 + 5 + TAG_LEN);
    assert_eq!(p.recv_b(&out[..n]).unwrap(), b"short");
}

#[test]
fn decrypt_into_a_too_small_buffer_is_buffer_too_small_and_changes_nothing() {
    let mut p = Pair::established(314);
    let ms: Vec<_> = (0..3).map(|i| p.send_a(&plaintext(i))).collect();
    for (i, m) in ms.iter().enumerate().rev() {
        let needed = m.len() - header_len(m) - TAG_LEN;
        assert_eq!(needed, plaintext(i).len());
        let before = snapshot(&p.bob);
        for len in [0, needed - 1] {
            let mut out = vec![0u8; len];
            assert_eq!(p.bob.decrypt_into(m, &mut out, &mut p.rng), Err(Error::BufferTooSmall { needed }));
            assert_eq!(snapshot(&p.bob), before);
        }
        let mut out = vec![0u8; needed + 3];
        assert_eq!(p.bob.decrypt_into(m, &mut out, &mut p.rng), Ok(needed));
        assert_eq!(&out[..needed], &plaintext(i)[..]);
        assert_ne!(snapshot(&p.bob), before);
    }
    // The buffer check comes first, even for a replay.
    let mut out = vec![0u8; 1];
    assert_eq!(
        p.bob.decrypt_into(&ms[0], &mut out, &mut p.rng),
        Err(Error::BufferTooSmall { needed: plaintext(0).len() })
    );
}

#[test]
fn decrypt_into_leaves_no_unauthenticated_plaintext_in_the_buffer() {
    let mut p = Pair::established(315);
    let m = p.send_a(b"secret words");
    let forged = flip_bit(&m, 8 * (m.len() - 1));
    let mut out = vec![0xAA; 64];
    let before = snapshot(&p.bob);
    assert_eq!(p.bob.decrypt_into(&forged, &mut out, &mut p.rng), Err(Error::Auth));
    assert_eq!(snapshot(&p.bob), before);
    assert_eq!(&out[..12], &[0u8; 12], "the part that held the candidate plaintext is zeroed");
    assert_eq!(p.bob.decrypt_into(&m, &mut out, &mut p.rng), Ok(12));
    assert_eq!(&out[..12], b"secret words");
}

/// Offset of the sending chain's N in an encoded session: tag, version,
/// flags, then five 32-byte fields (identities, root key, ratchet secret,
/// chain key).
const SENDING_N_OFFSET: usize = 3 + 5 * 32;

#[test]
fn the_sending_counter_is_exhausted_at_2_pow_32_minus_1_messages() {
    let mut p = Pair::established(316);
    for i in 0..3 {
        let m = p.send_a(&plaintext(i));
        p.recv_b(&m).unwrap();
    }
    let mut bytes = snapshot(&p.alice);
    assert_eq!(bytes[SENDING_N_OFFSET..SENDING_N_OFFSET + 4], 3u32.to_be_bytes());
    bytes[SENDING_N_OFFSET..SENDING_N_OFFSET + 4].copy_from_slice(&(u32::MAX - 1).to_be_bytes());
    let mut alice = Session::from_bytes(&bytes).unwrap();

    let last = alice.encrypt(b"last").unwrap();
    assert_eq!(n_of(&last), u32::MAX - 1);
    let before = snapshot(&alice);
    assert_eq!(alice.encrypt(b"one too many"), Err(Error::CounterExhausted));
    let mut out = vec![0u8; 256];
    assert_eq!(alice.encrypt_into(b"one too many", &mut out), Err(Error::CounterExhausted));
    // SPEC §6.3 order: TooLarge, then BufferTooSmall, then CounterExhausted.
    let needed = alice.encrypted_len(12);
    assert_eq!(
        alice.encrypt_into(b"one too many", &mut out[..needed - 1]),
        Err(Error::BufferTooSmall { needed })
    );
    let big = vec![0u8; MAX_PLAINTEXT_LEN + 1];
    let too_large = Error::TooLarge { len: MAX_PLAINTEXT_LEN + 1, max: MAX_PLAINTEXT_LEN };
    assert_eq!(alice.encrypt_into(&big, &mut out[..1]), Err(too_large));
    assert_eq!(alice.encrypt(&big), Err(too_large));
    assert_eq!(snapshot(&alice), before);

    // The peer refuses to skip that far.
    let err = reject_unchanged(&mut p.bob, &last, &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: u32::MAX - 1 - 3, max: MAX_SKIP });
    // A reply still resets the counter with a new chain.
    let r = p.send_b(b"new chain please");
    assert_eq!(alice.decrypt(&r, &mut p.rng).unwrap(), b"new chain please");
    let m = alice.encrypt(b"fresh").unwrap();
    assert_eq!((n_of(&m), pn_of(&m)), (0, u32::MAX));
}

#[test]
fn decrypt_into_zeroes_the_buffer_on_every_error_as_documented() {
    let mut p = Pair::established(317);
    let m = p.send_a(b"once");
    let mut out = vec![0u8; 4];
    assert_eq!(p.bob.decrypt_into(&m, &mut out, &mut p.rng), Ok(4));
    out.copy_from_slice(b"junk");
    assert_eq!(p.bob.decrypt_into(&m, &mut out, &mut p.rng), Err(Error::Duplicate));
    assert_eq!(out, [0u8; 4], "the buffer after a rejected replay");
}
