//! Bounds: how far ahead a message may be, how many skipped keys are kept,
//! how many old chains are remembered, how large a plaintext may be, and
//! what happens with output buffers that are too small, in both modes.
//!
//! With header encryption a chain's skipped keys can only be found through
//! its header key, so they are dropped when the chain falls out of the
//! MAX_PREVIOUS_RATCHET_KEYS remembered ones; and a header opens under at
//! most 2 + MAX_PREVIOUS_RATCHET_KEYS header keys, the bound on trial
//! decryptions per message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[allow(unused_imports)]
use common::TestSend;
#[path = "common/headers.rs"]
mod headers;

use chatcrypt::{
    DecodeError, Error, MessageType, Mode, Session, MAX_MESSAGE_LEN, MAX_PLAINTEXT_LEN,
    MAX_PREVIOUS_RATCHET_KEYS, MAX_SKIP, MAX_SKIPPED_KEYS, SESSION_BYTES_PER_SKIPPED_KEY, SESSION_FIXED_LEN,
};
use common::{
    flip_bit, header_len, header_range, header_wire_len, plaintext, reject_unchanged, restore, rng, snapshot,
    Pair, PREKEY_PREFIX_LEN, TAG_LEN,
};
use headers::{header_keys, sent_header, with_header, with_next_chain_header};

const SKIP: usize = MAX_SKIP as usize;

/// Alice sends `count` messages on her current chain.
fn burst(p: &mut Pair, count: usize, tag: usize) -> Vec<Vec<u8>> {
    (0..count).map(|i| p.send_a(&plaintext(tag + i))).collect()
}

/// Bytes a session's encoding holds beyond plain mode's (SPEC.md §10.4 with
/// flag 0x20): `HKs`, `NHKs`, `NHKr` (96), `HKr` with a receiving chain
/// (32), and a header key per remembered ratchet key (32 each).
fn header_key_bytes(mode: Mode, receiving: bool, remembered: usize) -> usize {
    match mode {
        Mode::Plain => 0,
        _ => 96 + if receiving { 32 } else { 0 } + 32 * remembered,
    }
}

/// Bob replies and Alice reads it, so that Alice's next message starts a new chain.
fn bob_replies(p: &mut Pair) {
    let r = p.send_b(b"reply");
    assert_eq!(p.recv_a(&r).unwrap(), b"reply");
}

fn a_message_exactly_max_skip_ahead_on_a_new_chain_decrypts(mode: Mode) {
    let mut p = Pair::established(mode, 300);
    let ms = burst(&mut p, SKIP + 1, 0);
    assert_eq!(sent_header(&p.alice, &ms[SKIP]).n, MAX_SKIP);
    assert_eq!(p.recv_b(&ms[SKIP]).unwrap(), plaintext(SKIP));
    assert_eq!(p.bob.skipped_key_count(), SKIP);
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    assert_eq!(p.recv_b(&ms[SKIP - 1]).unwrap(), plaintext(SKIP - 1));
    assert_eq!(p.bob.skipped_key_count(), SKIP - 2);
}
both_modes!(a_message_exactly_max_skip_ahead_on_a_new_chain_decrypts);

fn a_message_exactly_max_skip_ahead_on_the_current_chain_decrypts(mode: Mode) {
    let mut p = Pair::established(mode, 301);
    let ms = burst(&mut p, SKIP + 2, 0);
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    assert_eq!(p.recv_b(&ms[SKIP + 1]).unwrap(), plaintext(SKIP + 1));
    assert_eq!(p.bob.skipped_key_count(), SKIP);
}
both_modes!(a_message_exactly_max_skip_ahead_on_the_current_chain_decrypts);

fn a_message_max_skip_plus_one_ahead_on_a_new_chain_is_too_far_ahead_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 302);
    let ms = burst(&mut p, SKIP + 2, 0);
    let err = reject_unchanged(&mut p.bob, &ms[SKIP + 1], &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: 1001, max: 1000 });
    assert_eq!(p.bob.skipped_key_count(), 0);
    // Once an earlier message has arrived, it is within reach.
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    assert_eq!(p.recv_b(&ms[SKIP + 1]).unwrap(), plaintext(SKIP + 1));
}
both_modes!(a_message_max_skip_plus_one_ahead_on_a_new_chain_is_too_far_ahead_and_changes_nothing);

fn a_message_max_skip_plus_one_ahead_on_the_current_chain_is_too_far_ahead_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 303);
    let ms = burst(&mut p, SKIP + 3, 0);
    assert_eq!(p.recv_b(&ms[0]).unwrap(), plaintext(0));
    let err = reject_unchanged(&mut p.bob, &ms[SKIP + 2], &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: 1001, max: 1000 });
    assert_eq!(p.recv_b(&ms[1]).unwrap(), plaintext(1));
    assert_eq!(p.recv_b(&ms[SKIP + 2]).unwrap(), plaintext(SKIP + 2));
}
both_modes!(a_message_max_skip_plus_one_ahead_on_the_current_chain_is_too_far_ahead_and_changes_nothing);

fn a_previous_chain_more_than_max_skip_longer_than_received_is_too_far_ahead(mode: Mode) {
    let mut p = Pair::established(mode, 304);
    let old = burst(&mut p, SKIP + 2, 0);
    assert_eq!(p.recv_b(&old[0]).unwrap(), plaintext(0));
    bob_replies(&mut p);
    let next = p.send_a(b"next chain");
    let h = sent_header(&p.alice, &next);
    assert_eq!((h.pn, h.n), (1002, 0));
    // Moving on would skip keys 1..1002 of the old chain: 1001 of them.
    let err = reject_unchanged(&mut p.bob, &next, &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: 1001, max: 1000 });
    assert_eq!(p.recv_b(&old[1]).unwrap(), plaintext(1));
    assert_eq!(p.recv_b(&next).unwrap(), b"next chain");
    assert_eq!(p.bob.skipped_key_count(), SKIP);
}
both_modes!(a_previous_chain_more_than_max_skip_longer_than_received_is_too_far_ahead);

fn a_forged_header_far_ahead_is_rejected_before_any_work(mode: Mode) {
    // The header is rewritten by a forger who can: anyone in plain mode, a
    // holder of the sender's header key with header encryption. The limits
    // apply to the opened header before any key is derived.
    let mut p = Pair::established(mode, 305);
    let m0 = p.send_a(b"m0");
    let m1 = p.send_a(b"m1");
    assert_eq!(p.recv_b(&m0).unwrap(), b"m0");
    let far = with_header(&p.alice, &m1, |h| h.n = u32::MAX - 1);
    let err = reject_unchanged(&mut p.bob, &far, &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: u32::MAX - 2, max: MAX_SKIP });
    // The same for a header that starts a new chain, in its PN and in its N
    // (with header encryption, sealed under the next chain's header key).
    let far_pn = with_next_chain_header(&p.alice, &m1, |h| {
        h.ratchet_key = [0x55; 32];
        h.pn = u32::MAX - 1;
    });
    let err = reject_unchanged(&mut p.bob, &far_pn, &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: u32::MAX - 2, max: MAX_SKIP });
    let far_n = with_next_chain_header(&p.alice, &m1, |h| {
        h.ratchet_key = [0x55; 32];
        h.n = MAX_SKIP + 1;
    });
    let err = reject_unchanged(&mut p.bob, &far_n, &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: MAX_SKIP + 1, max: MAX_SKIP });
    // With header encryption, a new chain's header under the current chain's
    // header key is refused as inconsistent, before any limit is looked at.
    let err =
        reject_unchanged(&mut p.bob, &with_header(&p.alice, &m1, |h| h.ratchet_key = [0x55; 32]), &mut p.rng);
    assert_eq!(err, Error::Auth);
    // N = 2^32 - 1 is never sent and is malformed.
    let err = reject_unchanged(&mut p.bob, &with_header(&p.alice, &m1, |h| h.n = u32::MAX), &mut p.rng);
    assert_eq!(err, Error::Decode(DecodeError::InvalidValue));
    // A relay without the header key that writes N = 2^32 - 2 at N's plain-mode
    // offset: with header encryption those bytes are ciphertext.
    let mut relay = m1.clone();
    let at = header_range(&m1).start + 36;
    relay[at..at + 4].copy_from_slice(&(u32::MAX - 1).to_be_bytes());
    let err = reject_unchanged(&mut p.bob, &relay, &mut p.rng);
    match mode {
        Mode::HeaderEncryption => assert_eq!(err, Error::Auth),
        _ => assert_eq!(err, Error::TooFarAhead { got: u32::MAX - 2, max: MAX_SKIP }),
    }
    assert_eq!(p.recv_b(&m1).unwrap(), b"m1");
}
both_modes!(a_forged_header_far_ahead_is_rejected_before_any_work);

fn a_message_skipping_max_skip_in_both_the_old_and_the_new_chain_loses_no_key(mode: Mode) {
    let mut p = Pair::established(mode, 306);
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
both_modes!(a_message_skipping_max_skip_in_both_the_old_and_the_new_chain_loses_no_key);

fn the_skipped_key_store_never_exceeds_its_bound_and_evicts_the_oldest_first(mode: Mode) {
    let mut p = Pair::established(mode, 307);
    let bound = SESSION_FIXED_LEN
        + 68
        + 32
        + 32 * MAX_PREVIOUS_RATCHET_KEYS
        + header_key_bytes(mode, true, MAX_PREVIOUS_RATCHET_KEYS)
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
both_modes!(the_skipped_key_store_never_exceeds_its_bound_and_evicts_the_oldest_first);

fn eviction_within_one_chain_drops_the_lowest_message_numbers(mode: Mode) {
    let mut p = Pair::established(mode, 308);
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
both_modes!(eviction_within_one_chain_drops_the_lowest_message_numbers);

fn replays_are_duplicates_for_max_previous_ratchet_keys_chains_then_fail_authentication(mode: Mode) {
    let mut p = Pair::established(mode, 309);
    let m = p.send_a(b"remember me");
    assert_eq!(p.recv_b(&m).unwrap(), b"remember me");
    assert_eq!(reject_unchanged(&mut p.bob, &m, &mut p.rng), Error::Duplicate);
    for steps in 1..=MAX_PREVIOUS_RATCHET_KEYS + 2 {
        p.round_trip(10 * steps);
        let expected = if steps <= MAX_PREVIOUS_RATCHET_KEYS { Error::Duplicate } else { Error::Auth };
        assert_eq!(reject_unchanged(&mut p.bob, &m, &mut p.rng), expected, "{steps} chains later");
        // The remembered ratchet keys are bounded too: current chain + at most 8 previous.
        let remembered = (steps + 1).min(MAX_PREVIOUS_RATCHET_KEYS);
        assert_eq!(
            p.bob.encoded_len(),
            SESSION_FIXED_LEN + 68 + 32 + 32 * remembered + header_key_bytes(mode, true, remembered)
        );
        assert_eq!(snapshot(&p.bob).len(), p.bob.encoded_len());
    }
    // SPEC §10.4: a long-running responder session with no skipped keys is
    // 270 + 68 + 32 + 8 * 32 = 626 bytes, and 626 + 128 + 8 * 32 = 1010 with
    // header encryption.
    let long_running = match mode {
        Mode::Plain => 626,
        _ => 1010,
    };
    assert_eq!(p.bob.encoded_len(), long_running);
}
both_modes!(replays_are_duplicates_for_max_previous_ratchet_keys_chains_then_fail_authentication);

#[test]
fn the_limits_have_the_values_the_spec_gives() {
    assert_eq!(MAX_SKIP, 1000);
    assert_eq!(MAX_SKIPPED_KEYS, 2000);
    assert_eq!(MAX_PREVIOUS_RATCHET_KEYS, 8);
    assert_eq!(MAX_PLAINTEXT_LEN, 1_048_576);
    assert_eq!(MAX_MESSAGE_LEN, 1_050_312);
    // The longest PreKeyMessage prefix (a hybrid one with a one-time prekey
    // id: 75 bytes and a 1573-byte KEM part, SPEC §16.4), an encrypted
    // header (header encryption is the longer mode: 56 bytes of ratchet
    // header, reuse guard included, and a 16-byte tag), the plaintext and
    // its tag.
    assert_eq!(MAX_MESSAGE_LEN, 75 + (1 + 4 + 1568) + 72 + MAX_PLAINTEXT_LEN + TAG_LEN);
    assert_eq!(chatcrypt::ML_KEM_1024_CIPHERTEXT_LEN, 1568);
    assert_eq!(chatcrypt::ML_KEM_1024_PUBLIC_KEY_LEN, 1568);
    assert_eq!(chatcrypt::KEM_PREKEY_PUBLIC_LEN, 1 + 4 + 1568 + 64);
    assert_eq!(common::ENCRYPTED_HEADER_LEN, 72);
    // SPEC §8.1: a message id is DHs_pub || u32(N) || G.
    assert_eq!(chatcrypt::MESSAGE_ID_LEN, 32 + 4 + 16);
    // SPEC §10.4: 3 + 8 * 32 + 4 + 4 + 1 + 2 (versions 2 and 3 store the
    // identity keys' X25519 forms and DHs_pub).
    assert_eq!(SESSION_FIXED_LEN, 270);
    assert_eq!(SESSION_BYTES_PER_SKIPPED_KEY, 68);
    assert_eq!(chatcrypt::SEALED_OVERHEAD, 31);
    assert_eq!((chatcrypt::BUNDLE_LEN, chatcrypt::BUNDLE_LEN_WITH_ONE_TIME), (134, 170));
}

fn a_plaintext_over_max_plaintext_len_is_too_large_and_changes_nothing(mode: Mode) {
    let mut p = Pair::handshake(mode, 310);
    let big = vec![0x5a; MAX_PLAINTEXT_LEN + 1];
    let before = snapshot(&p.alice);
    let too_large = Error::TooLarge { len: MAX_PLAINTEXT_LEN + 1, max: MAX_PLAINTEXT_LEN };
    // The length is checked before the reuse guard is drawn (SPEC §6.3).
    let mut guard_rng = rng(3100);
    let untouched = guard_rng.clone();
    assert_eq!(p.alice.encrypt(&big, &mut guard_rng), Err(too_large));
    let mut out = vec![0u8; MAX_MESSAGE_LEN + 64];
    assert_eq!(p.alice.encrypt_into(&big, &mut out, &mut guard_rng), Err(too_large));
    assert_eq!(guard_rng, untouched, "a rejected plaintext draws nothing");
    assert_eq!(p.alice.encrypted_len(MAX_PLAINTEXT_LEN + 1), Err(too_large));
    assert_eq!(
        p.alice.encrypted_len(usize::MAX),
        Err(Error::TooLarge { len: usize::MAX, max: MAX_PLAINTEXT_LEN })
    );
    assert_eq!(snapshot(&p.alice), before);
    let m = p.send_a(b"small");
    assert_eq!(sent_header(&p.alice, &m).n, 1, "the failed calls used no message number");
    assert_eq!(p.recv_b(&m).unwrap(), b"small");
}
both_modes!(a_plaintext_over_max_plaintext_len_is_too_large_and_changes_nothing);

fn a_plaintext_of_exactly_max_plaintext_len_makes_a_max_message_len_prekey_message(mode: Mode) {
    // The longest PreKeyMessage is a hybrid one with a one-time prekey.
    let mut p = Pair::handshake_hybrid(mode, 311);
    let big: Vec<u8> = (0..MAX_PLAINTEXT_LEN).map(|i| (i % 251) as u8).collect();
    let m = p.send_a(&big);
    assert_eq!(MessageType::of(&m), Ok(MessageType::PreKey));
    // MAX_MESSAGE_LEN is this message with header encryption; plain headers are
    // 16 bytes shorter than encrypted ones.
    let expected = match mode {
        Mode::Plain => MAX_MESSAGE_LEN - TAG_LEN,
        _ => MAX_MESSAGE_LEN,
    };
    assert_eq!(m.len(), expected);
    assert_eq!(p.recv_b(&m).unwrap(), big);
    let reply = p.send_b(&big);
    assert_eq!(reply.len(), header_len(&reply) + MAX_PLAINTEXT_LEN + TAG_LEN);
    assert_eq!(p.recv_a(&reply).unwrap(), big);
}
both_modes!(a_plaintext_of_exactly_max_plaintext_len_makes_a_max_message_len_prekey_message);

fn encrypt_into_a_too_small_buffer_is_buffer_too_small_and_changes_nothing(mode: Mode) {
    for established in [false, true] {
        let mut p = if established { Pair::established(mode, 312) } else { Pair::handshake(mode, 312) };
        let pt = b"into a buffer";
        let needed = p.alice.encrypted_len(pt.len()).unwrap();
        let prefix = if established { 2 } else { PREKEY_PREFIX_LEN + 4 };
        assert_eq!(needed, prefix + header_wire_len(mode) + pt.len() + TAG_LEN);
        let before = snapshot(&p.alice);
        // The buffer is checked before the reuse guard is drawn (SPEC §6.3).
        let mut guard_rng = rng(3120);
        let untouched = guard_rng.clone();
        for len in [0, 1, needed / 2, needed - 1] {
            let mut out = vec![0u8; len];
            assert_eq!(
                p.alice.encrypt_into(pt, &mut out, &mut guard_rng),
                Err(Error::BufferTooSmall { needed })
            );
            assert_eq!(snapshot(&p.alice), before);
        }
        assert_eq!(guard_rng, untouched, "a rejected buffer draws nothing");
        // The exact size works and writes what `encrypt` would have written
        // with the same reuse guard (the same RNG state).
        let mut twin = restore(&before);
        let expected = twin.encrypt(pt, &mut guard_rng.clone()).unwrap();
        let mut out = vec![0xEE; needed + 10];
        assert_eq!(p.alice.encrypt_into(pt, &mut out[..needed], &mut guard_rng), Ok(needed));
        assert_eq!(&out[..needed], &expected[..]);
        assert_eq!(&out[needed..], &[0xEE; 10], "nothing written past the message");
        assert_eq!(snapshot(&p.alice), snapshot(&twin));
        assert_eq!(p.recv_b(&out[..needed]).unwrap(), pt);
    }
}
both_modes!(encrypt_into_a_too_small_buffer_is_buffer_too_small_and_changes_nothing);

fn encrypt_into_a_larger_buffer_returns_the_message_length(mode: Mode) {
    let mut p = Pair::established(mode, 313);
    let mut out = vec![0u8; 4096];
    let n = p.alice.encrypt_into_t(b"short", &mut out).unwrap();
    assert_eq!(n, 2 + header_wire_len(mode) + 5 + TAG_LEN);
    assert_eq!(p.recv_b(&out[..n]).unwrap(), b"short");
}
both_modes!(encrypt_into_a_larger_buffer_returns_the_message_length);

fn decrypt_into_a_too_small_buffer_is_buffer_too_small_and_changes_nothing(mode: Mode) {
    let mut p = Pair::established(mode, 314);
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
        assert_eq!(p.bob.decrypt_into(m, &mut out, &mut p.rng).map(|r| r.len), Ok(needed));
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
both_modes!(decrypt_into_a_too_small_buffer_is_buffer_too_small_and_changes_nothing);

fn decrypt_into_leaves_no_unauthenticated_plaintext_in_the_buffer(mode: Mode) {
    let mut p = Pair::established(mode, 315);
    let m = p.send_a(b"secret words");
    let forged = flip_bit(&m, 8 * (m.len() - 1));
    let mut out = vec![0xAA; 64];
    let before = snapshot(&p.bob);
    assert_eq!(p.bob.decrypt_into(&forged, &mut out, &mut p.rng), Err(Error::Auth));
    assert_eq!(snapshot(&p.bob), before);
    assert_eq!(&out[..12], &[0u8; 12], "the part that held the candidate plaintext is zeroed");
    assert_eq!(p.bob.decrypt_into(&m, &mut out, &mut p.rng).map(|r| r.len), Ok(12));
    assert_eq!(&out[..12], b"secret words");
}
both_modes!(decrypt_into_leaves_no_unauthenticated_plaintext_in_the_buffer);

/// Offset of the sending chain's N in a version-2 encoded session: tag,
/// version, flags, then eight 32-byte fields (the two identity keys, each
/// with its X25519 form, root key, ratchet secret and public key, chain key).
const SENDING_N_OFFSET: usize = 3 + 8 * 32;

fn the_sending_counter_is_exhausted_at_2_pow_32_minus_1_messages(mode: Mode) {
    let mut p = Pair::established(mode, 316);
    for i in 0..3 {
        let m = p.send_a(&plaintext(i));
        p.recv_b(&m).unwrap();
    }
    let mut bytes = snapshot(&p.alice);
    assert_eq!(bytes[SENDING_N_OFFSET..SENDING_N_OFFSET + 4], 3u32.to_be_bytes());
    bytes[SENDING_N_OFFSET..SENDING_N_OFFSET + 4].copy_from_slice(&(u32::MAX - 1).to_be_bytes());
    let mut alice = Session::from_bytes(&bytes).unwrap();

    let last = alice.encrypt_t(b"last").unwrap();
    assert_eq!(sent_header(&alice, &last).n, u32::MAX - 1);
    let before = snapshot(&alice);
    // Every check comes before the reuse guard is drawn (SPEC §6.3).
    let mut guard_rng = rng(3160);
    let untouched = guard_rng.clone();
    assert_eq!(alice.encrypt(b"one too many", &mut guard_rng), Err(Error::CounterExhausted));
    let mut out = vec![0u8; 256];
    assert_eq!(alice.encrypt_into(b"one too many", &mut out, &mut guard_rng), Err(Error::CounterExhausted));
    // SPEC §6.3 order: TooLarge, then BufferTooSmall, then CounterExhausted.
    let needed = alice.encrypted_len(12).unwrap();
    assert_eq!(
        alice.encrypt_into(b"one too many", &mut out[..needed - 1], &mut guard_rng),
        Err(Error::BufferTooSmall { needed })
    );
    let big = vec![0u8; MAX_PLAINTEXT_LEN + 1];
    let too_large = Error::TooLarge { len: MAX_PLAINTEXT_LEN + 1, max: MAX_PLAINTEXT_LEN };
    assert_eq!(alice.encrypt_into(&big, &mut out[..1], &mut guard_rng), Err(too_large));
    assert_eq!(alice.encrypt(&big, &mut guard_rng), Err(too_large));
    assert_eq!(guard_rng, untouched, "a rejected encryption draws nothing");
    assert_eq!(snapshot(&alice), before);

    // The peer refuses to skip that far.
    let err = reject_unchanged(&mut p.bob, &last, &mut p.rng);
    assert_eq!(err, Error::TooFarAhead { got: u32::MAX - 1 - 3, max: MAX_SKIP });
    // A reply still resets the counter with a new chain.
    let r = p.send_b(b"new chain please");
    assert_eq!(alice.decrypt(&r, &mut p.rng).unwrap(), b"new chain please");
    let m = alice.encrypt_t(b"fresh").unwrap();
    let h = sent_header(&alice, &m);
    assert_eq!((h.n, h.pn), (0, u32::MAX));
}
both_modes!(the_sending_counter_is_exhausted_at_2_pow_32_minus_1_messages);

fn decrypt_into_zeroes_the_buffer_on_every_error_as_documented(mode: Mode) {
    let mut p = Pair::established(mode, 317);
    let m = p.send_a(b"once");
    let mut out = vec![0u8; 4];
    assert_eq!(p.bob.decrypt_into(&m, &mut out, &mut p.rng).map(|r| r.len), Ok(4));
    out.copy_from_slice(b"junk");
    assert_eq!(p.bob.decrypt_into(&m, &mut out, &mut p.rng), Err(Error::Duplicate));
    assert_eq!(out, [0u8; 4], "the buffer after a rejected replay");
}
both_modes!(decrypt_into_zeroes_the_buffer_on_every_error_as_documented);

// ------------------------------------------------- header encryption bounds

/// Alice sends two messages on her current chain; Bob receives the second,
/// so the key of the first is stored. Returns the first.
fn hold_one(p: &mut Pair, tag: usize) -> Vec<u8> {
    let held = p.send_a(&plaintext(tag));
    let next = p.send_a(&plaintext(tag + 1));
    assert_eq!(p.recv_b(&next).unwrap(), plaintext(tag + 1));
    held
}

fn skipped_keys_of_a_chain_that_falls_out_of_memory_are_dropped_only_with_header_encryption(mode: Mode) {
    let mut p = Pair::established(mode, 320);
    // One held-back message on each of two consecutive chains of Alice's.
    let held_old = hold_one(&mut p, 0);
    p.round_trip(10);
    let held_newer = hold_one(&mut p, 20);
    assert_eq!(p.bob.skipped_key_count(), 2);
    // Seven more ratchet steps of Bob's: the older chain is then 8 steps back,
    // the most that is remembered, and both keys are still stored.
    for step in 0..MAX_PREVIOUS_RATCHET_KEYS - 1 {
        p.round_trip(100 + 10 * step);
    }
    assert_eq!(p.bob.skipped_key_count(), 2);
    let before = p.bob.encoded_len();
    // One more: the older chain is 9 steps back and forgotten. With header
    // encryption its header key goes, and with it its skipped keys, which
    // could no longer be found; in plain mode they stay until evicted by the
    // skipped-key bound.
    p.round_trip(1000);
    let kept = match mode {
        Mode::Plain => 2,
        _ => 1,
    };
    assert_eq!(p.bob.skipped_key_count(), kept);
    let per_previous_key = 32 + header_key_bytes(mode, true, 1) - header_key_bytes(mode, true, 0);
    assert_eq!(
        before - p.bob.encoded_len(),
        (2 - kept) * SESSION_BYTES_PER_SKIPPED_KEY,
        "the number of remembered chains stays at its bound ({per_previous_key} bytes each)"
    );
    assert_eq!(snapshot(&p.bob).len(), p.bob.encoded_len());
    match mode {
        Mode::Plain => assert_eq!(p.recv_b(&held_old).unwrap(), plaintext(0)),
        // No header key of Bob's opens its header any more.
        _ => assert_eq!(reject_unchanged(&mut p.bob, &held_old, &mut p.rng), Error::Auth),
    }
    // The chain 8 steps back is still remembered: its late message decrypts.
    assert_eq!(p.recv_b(&held_newer).unwrap(), plaintext(20));
    assert_eq!(p.bob.skipped_key_count(), 0);
    assert_eq!(reject_unchanged(&mut p.bob, &held_newer, &mut p.rng), Error::Duplicate);
    p.round_trip(2000);
}
both_modes!(skipped_keys_of_a_chain_that_falls_out_of_memory_are_dropped_only_with_header_encryption);

fn a_session_holds_at_most_two_plus_max_previous_ratchet_keys_header_keys(mode: Mode) {
    // The receiver tries HKr, NHKr, then the remembered chains' header keys:
    // the number of trial decryptions per message is bounded by the header
    // keys the state holds, which never exceeds 2 + MAX_PREVIOUS_RATCHET_KEYS.
    let mut p = Pair::established(mode, 321);
    for step in 0..MAX_PREVIOUS_RATCHET_KEYS + 4 {
        p.round_trip(10 * step);
        for s in [&p.alice, &p.bob] {
            match header_keys(s) {
                None => assert_eq!(mode, Mode::Plain),
                Some(keys) => {
                    assert!(keys.recv.is_some());
                    assert!(keys.previous.len() <= MAX_PREVIOUS_RATCHET_KEYS);
                    // Each remembered header key belongs to a distinct remembered chain.
                    let mut ratchet_keys: Vec<_> = keys.previous.iter().map(|(rk, _)| *rk).collect();
                    ratchet_keys.sort_unstable();
                    ratchet_keys.dedup();
                    assert_eq!(ratchet_keys.len(), keys.previous.len());
                }
            }
        }
    }
    if mode == Mode::HeaderEncryption {
        assert_eq!(header_keys(&p.bob).unwrap().previous.len(), MAX_PREVIOUS_RATCHET_KEYS);
    }
    // A message no header key opens costs those trials and is Auth, whatever
    // its contents; in plain mode it is read as a header instead.
    let m = p.send_a(b"x");
    let mut garbage = m.clone();
    for b in &mut garbage[header_range(&m).start..] {
        *b ^= 0xA5;
    }
    let err = reject_unchanged(&mut p.bob, &garbage, &mut p.rng);
    if mode == Mode::HeaderEncryption {
        assert_eq!(err, Error::Auth);
    }
    assert_eq!(p.recv_b(&m).unwrap(), b"x");
}
both_modes!(a_session_holds_at_most_two_plus_max_previous_ratchet_keys_header_keys);

fn encoded_len_is_the_length_of_to_bytes_in_every_state(mode: Mode) {
    // SPEC.md §10.4 sizes; with header encryption 96 more bytes, 32 more with
    // a receiving chain, and 32 more per remembered ratchet key.
    let check = |s: &Session, receiving: bool, pending: usize, base_key: bool, remembered: usize| {
        let expected = SESSION_FIXED_LEN
            + if receiving { 68 } else { 0 }
            + pending
            + if base_key { 32 } else { 0 }
            + 32 * remembered
            + header_key_bytes(mode, receiving, remembered)
            + SESSION_BYTES_PER_SKIPPED_KEY * s.skipped_key_count();
        assert_eq!(s.encoded_len(), expected);
        assert_eq!(snapshot(s).len(), expected);
        assert_eq!(restore(&snapshot(s)).encoded_len(), expected);
    };
    for with_one_time in [false, true] {
        let mut p = Pair::handshake_with(mode, 322, with_one_time);
        let pending = 36 + if with_one_time { 4 } else { 0 };
        check(&p.alice, false, pending, false, 0);
        check(&p.bob, true, 0, true, 0);
        // Skipped keys on both sides.
        let held = p.send_b(b"held");
        let reply = p.send_b(b"reply");
        assert_eq!(p.recv_a(&reply).unwrap(), b"reply");
        check(&p.alice, true, 0, false, 0);
        assert_eq!(p.alice.skipped_key_count(), 1);
        for step in 1..=MAX_PREVIOUS_RATCHET_KEYS + 2 {
            p.round_trip(10 * step);
            // Bob's reply chain was already Alice's receiving chain: she is a step behind.
            check(&p.alice, true, 0, false, (step - 1).min(MAX_PREVIOUS_RATCHET_KEYS));
            check(&p.bob, true, 0, true, step.min(MAX_PREVIOUS_RATCHET_KEYS));
        }
        match mode {
            Mode::Plain => assert_eq!(p.recv_a(&held).unwrap(), b"held"),
            _ => assert_eq!(p.alice.skipped_key_count(), 0, "dropped with its chain's header key"),
        }
    }
}
both_modes!(encoded_len_is_the_length_of_to_bytes_in_every_state);
