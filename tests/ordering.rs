//! Delivery order: messages arriving out of order, across ratchet steps,
//! never, or in long bursts, all decrypt to what was sent, in both modes.
//!
//! The header fields (N, PN, ratchet key) are read with `sent_header`: from
//! the wire in plain mode, by decrypting the header under the sender's
//! header key with header encryption.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "common/headers.rs"]
mod headers;

use chatcrypt::{MessageType, Mode};
use common::{plaintext, Pair};
use headers::sent_header;

fn messages_out_of_order_within_a_chain_all_decrypt(mode: Mode) {
    let mut p = Pair::established(mode, 200);
    let ms: Vec<_> = (0..10).map(|i| p.send_a(&plaintext(i))).collect();
    let key = sent_header(&p.alice, &ms[0]).ratchet_key;
    let mut guards = Vec::new();
    for (i, m) in ms.iter().enumerate() {
        let h = sent_header(&p.alice, m);
        assert_eq!(h.n, i as u32);
        assert_eq!(h.ratchet_key, key, "one chain, one ratchet key");
        guards.push(h.guard);
    }
    guards.sort_unstable();
    guards.dedup();
    assert_eq!(guards.len(), ms.len(), "every message draws its own reuse guard");
    let order = [3, 0, 9, 1, 2, 8, 4, 7, 6, 5];
    // Skipped keys held after each delivery: the highest seen so far, plus one,
    // minus what has been delivered.
    let expected_skipped = [3, 2, 7, 6, 5, 4, 3, 2, 1, 0];
    for (&i, &skipped) in order.iter().zip(&expected_skipped) {
        assert_eq!(p.recv_b(&ms[i]).unwrap(), plaintext(i), "message {i}");
        assert_eq!(p.bob.skipped_key_count(), skipped, "after message {i}");
    }
}
both_modes!(messages_out_of_order_within_a_chain_all_decrypt);

fn messages_held_back_across_several_ratchet_steps_decrypt_afterwards(mode: Mode) {
    let mut p = Pair::established(mode, 201);
    // Chain 1: only the first message gets through for now.
    let chain1: Vec<_> = (0..5).map(|i| p.send_a(&plaintext(i))).collect();
    let key1 = sent_header(&p.alice, &chain1[0]).ratchet_key;
    assert_eq!(p.recv_b(&chain1[0]).unwrap(), plaintext(0));

    // Chain 2: Bob replies, Alice ratchets and sends four; only the last arrives.
    let r = p.send_b(b"r1");
    assert_eq!(p.recv_a(&r).unwrap(), b"r1");
    let chain2: Vec<_> = (10..14).map(|i| p.send_a(&plaintext(i))).collect();
    let h = sent_header(&p.alice, &chain2[0]);
    assert_ne!(h.ratchet_key, key1);
    assert_eq!(h.pn, 5, "PN is the length of the previous sending chain");
    assert_eq!(p.recv_b(&chain2[3]).unwrap(), plaintext(13));
    // The rest of chain 1 (4) and the start of chain 2 (3) are now skipped keys.
    assert_eq!(p.bob.skipped_key_count(), 7);

    // Chain 3.
    let r = p.send_b(b"r2");
    assert_eq!(p.recv_a(&r).unwrap(), b"r2");
    let chain3: Vec<_> = (20..23).map(|i| p.send_a(&plaintext(i))).collect();
    assert_eq!(sent_header(&p.alice, &chain3[0]).pn, 4);
    for (k, m) in chain3.iter().enumerate() {
        assert_eq!(p.recv_b(m).unwrap(), plaintext(20 + k));
    }
    assert_eq!(p.bob.skipped_key_count(), 7);

    // Now the held-back messages arrive, oldest chain last.
    for (k, m) in chain2.iter().enumerate().take(3) {
        assert_eq!(p.recv_b(m).unwrap(), plaintext(10 + k));
    }
    for (k, m) in chain1.iter().enumerate().skip(1).rev() {
        assert_eq!(p.recv_b(m).unwrap(), plaintext(k));
    }
    assert_eq!(p.bob.skipped_key_count(), 0);

    // And the conversation goes on.
    p.round_trip(100);
}
both_modes!(messages_held_back_across_several_ratchet_steps_decrypt_afterwards);

fn messages_held_back_on_both_sides_across_ratchet_steps_decrypt_afterwards(mode: Mode) {
    let mut p = Pair::established(mode, 202);
    let mut held_a = Vec::new();
    let mut held_b = Vec::new();
    for round in 0..6 {
        // Each side sends three; the last of each arrives, the first two are held.
        let a: Vec<_> = (0..3).map(|k| p.send_a(&plaintext(1000 * round + k))).collect();
        assert_eq!(p.recv_b(&a[2]).unwrap(), plaintext(1000 * round + 2));
        let b: Vec<_> = (0..3).map(|k| p.send_b(&plaintext(1000 * round + 500 + k))).collect();
        assert_eq!(p.recv_a(&b[2]).unwrap(), plaintext(1000 * round + 502));
        held_a.extend(a.into_iter().take(2).enumerate().map(|(k, m)| (m, 1000 * round + k)));
        held_b.extend(b.into_iter().take(2).enumerate().map(|(k, m)| (m, 1000 * round + 500 + k)));
    }
    assert_eq!(p.bob.skipped_key_count(), 12);
    assert_eq!(p.alice.skipped_key_count(), 12);
    for (m, i) in held_a.iter().rev() {
        assert_eq!(p.recv_b(m).unwrap(), plaintext(*i));
    }
    for (m, i) in &held_b {
        assert_eq!(p.recv_a(m).unwrap(), plaintext(*i));
    }
    assert_eq!(p.bob.skipped_key_count(), 0);
    assert_eq!(p.alice.skipped_key_count(), 0);
}
both_modes!(messages_held_back_on_both_sides_across_ratchet_steps_decrypt_afterwards);

fn lost_messages_do_not_stop_the_conversation(mode: Mode) {
    let mut p = Pair::established(mode, 203);
    let ms: Vec<_> = (0..20).map(|i| p.send_a(&plaintext(i))).collect();
    // Only the even ones arrive; the odd ones are lost for good.
    for (i, m) in ms.iter().enumerate().step_by(2) {
        assert_eq!(p.recv_b(m).unwrap(), plaintext(i));
    }
    assert_eq!(p.bob.skipped_key_count(), 9, "keys of 1, 3, .., 17 wait for their messages");
    for round in 0..5 {
        p.round_trip(100 + 2 * round);
    }
    // Alice's next chain told Bob that message 19 was sent too: its key is kept as well.
    assert_eq!(p.bob.skipped_key_count(), 10);
    // Bob's replies get lost too.
    for i in 0..5 {
        p.send_b(&plaintext(200 + i));
    }
    let later = p.send_b(b"after the losses");
    assert_eq!(p.recv_a(&later).unwrap(), b"after the losses");
    assert_eq!(p.alice.skipped_key_count(), 5);
    let last = p.send_a(b"still here");
    assert_eq!(p.recv_b(&last).unwrap(), b"still here");
    assert_eq!(p.bob.skipped_key_count(), 10);
}
both_modes!(lost_messages_do_not_stop_the_conversation);

fn a_burst_of_1000_messages_delivered_in_reverse_order_all_decrypt(mode: Mode) {
    let mut p = Pair::established(mode, 204);
    let ms: Vec<_> = (0..1000).map(|i| p.send_a(&plaintext(i))).collect();
    assert_eq!(sent_header(&p.alice, &ms[999]).n, 999);
    assert_eq!(p.recv_b(&ms[999]).unwrap(), plaintext(999));
    assert_eq!(p.bob.skipped_key_count(), 999);
    for i in (0..999).rev() {
        assert_eq!(p.recv_b(&ms[i]).unwrap(), plaintext(i), "message {i}");
    }
    assert_eq!(p.bob.skipped_key_count(), 0);
    p.round_trip(5000);
}
both_modes!(a_burst_of_1000_messages_delivered_in_reverse_order_all_decrypt);

fn ping_pong_for_50_rounds_ratchets_every_turn(mode: Mode) {
    let mut p = Pair::established(mode, 205);
    let mut last_a = [0u8; 32];
    let mut last_b = [0u8; 32];
    for round in 0..50 {
        let a = p.send_a(&plaintext(2 * round));
        assert_eq!(MessageType::of(&a), Ok(MessageType::Message));
        let h = sent_header(&p.alice, &a);
        assert_eq!(h.n, 0, "every turn starts a new chain");
        assert_ne!(h.ratchet_key, last_a, "round {round}: Alice's ratchet key did not change");
        last_a = h.ratchet_key;
        assert_eq!(p.recv_b(&a).unwrap(), plaintext(2 * round));

        let b = p.send_b(&plaintext(2 * round + 1));
        let h = sent_header(&p.bob, &b);
        assert_eq!((h.n, h.pn), (0, 1));
        assert_ne!(h.ratchet_key, last_b, "round {round}: Bob's ratchet key did not change");
        last_b = h.ratchet_key;
        assert_eq!(p.recv_a(&b).unwrap(), plaintext(2 * round + 1));

        assert_eq!(p.alice.skipped_key_count(), 0);
        assert_eq!(p.bob.skipped_key_count(), 0);
    }
}
both_modes!(ping_pong_for_50_rounds_ratchets_every_turn);

fn both_sides_sending_at_once_then_delivering_crosswise_works(mode: Mode) {
    let mut p = Pair::established(mode, 206);
    for round in 0..10 {
        let a: Vec<_> = (0..3).map(|k| p.send_a(&plaintext(10 * round + k))).collect();
        let b: Vec<_> = (0..3).map(|k| p.send_b(&plaintext(10 * round + 5 + k))).collect();
        for k in [1, 0, 2] {
            assert_eq!(p.recv_b(&a[k]).unwrap(), plaintext(10 * round + k));
            assert_eq!(p.recv_a(&b[k]).unwrap(), plaintext(10 * round + 5 + k));
        }
    }
    assert_eq!(p.alice.skipped_key_count(), 0);
    assert_eq!(p.bob.skipped_key_count(), 0);
}
both_modes!(both_sides_sending_at_once_then_delivering_crosswise_works);

fn late_messages_from_the_last_eight_chains_decrypt_in_any_order(mode: Mode) {
    // Across many ratchet steps, one message of each of Alice's chains is
    // held back; those of the newest MAX_PREVIOUS_RATCHET_KEYS chains (and the
    // current one) all decrypt afterwards, newest first.
    let mut p = Pair::established(mode, 207);
    let mut held = Vec::new();
    for round in 0..chatcrypt::MAX_PREVIOUS_RATCHET_KEYS + 1 {
        let ms: Vec<_> = (0..2).map(|k| p.send_a(&plaintext(100 * round + k))).collect();
        assert_eq!(p.recv_b(&ms[1]).unwrap(), plaintext(100 * round + 1));
        held.push((ms[0].clone(), 100 * round));
        let r = p.send_b(b"r");
        assert_eq!(p.recv_a(&r).unwrap(), b"r");
    }
    assert_eq!(p.bob.skipped_key_count(), held.len());
    for (m, i) in held.iter().rev() {
        assert_eq!(p.recv_b(m).unwrap(), plaintext(*i));
    }
    assert_eq!(p.bob.skipped_key_count(), 0);
}
both_modes!(late_messages_from_the_last_eight_chains_decrypt_in_any_order);
