//! Encrypted attachments (SPEC.md §22): round trips at the chunk
//! boundaries, every tampering of the blob and the pointer refused with a
//! typed error, failed calls that change nothing, strict pointer decoding,
//! and one attachment recomputed from the SPEC text with aes-gcm and sha2.

use aes_gcm::{aead::inout::InOutBuf, AeadInOut, Aes256Gcm, KeyInit};
use chatcrypt::{
    media::{
        decrypt_attachment, encrypt_attachment, AttachmentDecryptor, AttachmentEncryptor, AttachmentPointer,
        ATTACHMENT_CHUNK_LEN, ATTACHMENT_POINTER_LEN, MAX_ATTACHMENT_LEN,
    },
    DecodeError, Error,
};
use rand_chacha::{
    rand_core::{Rng, SeedableRng},
    ChaCha20Rng,
};
use sha2::{Digest, Sha256};

const C: usize = ATTACHMENT_CHUNK_LEN;

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn file(size: usize, seed: u8) -> Vec<u8> {
    let mut f = vec![0u8; size];
    rng(seed.wrapping_add(100)).fill_bytes(&mut f);
    f
}

/// Encrypts through the chunk API with `encrypt_chunk_into`; returns the
/// encrypted chunks separately.
fn encrypt_chunks(plaintext: &[u8], seed: u8) -> (Vec<Vec<u8>>, AttachmentPointer) {
    let mut enc = AttachmentEncryptor::new(plaintext.len() as u64, &mut rng(seed)).unwrap();
    let mut out = vec![0u8; C + 16];
    let mut chunks = Vec::new();
    let mut rest = plaintext;
    while let Some(len) = enc.next_chunk_len() {
        let (chunk, tail) = rest.split_at(len);
        let n = enc.encrypt_chunk_into(chunk, &mut out).unwrap();
        assert_eq!(n, len + 16);
        chunks.push(out[..n].to_vec());
        rest = tail;
    }
    assert!(rest.is_empty());
    (chunks, enc.finish().unwrap())
}

/// Decrypts chunk by chunk; the first error is returned with the index of
/// the chunk (or `chunks.len()` for `finish`).
fn decrypt_chunks(pointer: &AttachmentPointer, chunks: &[Vec<u8>]) -> Result<Vec<u8>, (usize, Error)> {
    let mut dec = AttachmentDecryptor::new(pointer);
    let mut out = vec![0u8; C];
    let mut plain = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let n = dec.decrypt_chunk(c, &mut out).map_err(|e| (i, e))?;
        plain.extend_from_slice(&out[..n]);
    }
    dec.finish().map_err(|e| (chunks.len(), e))?;
    Ok(plain)
}

/// A pointer with another size field (same key and digest).
fn with_size(pointer: &AttachmentPointer, size: u64) -> AttachmentPointer {
    let mut b = *pointer.to_bytes();
    b[34..42].copy_from_slice(&size.to_be_bytes());
    AttachmentPointer::from_bytes(&b).unwrap()
}

#[test]
fn files_round_trip_at_every_chunk_boundary_and_at_random_sizes() {
    let mut sizes = vec![0, 1, C - 1, C, C + 1, 3 * C];
    let mut r = rng(9);
    for _ in 0..4 {
        sizes.push((r.next_u32() as usize) % (5 * C));
    }
    for (i, &size) in sizes.iter().enumerate() {
        let seed = i as u8;
        let f = file(size, seed);
        let (chunks, pointer) = encrypt_chunks(&f, seed);
        // Chunk count and lengths as the SPEC defines them.
        let count = size.div_ceil(C).max(1);
        assert_eq!(chunks.len(), count, "size {size}");
        for c in &chunks[..count - 1] {
            assert_eq!(c.len(), C + 16);
        }
        assert_eq!(chunks[count - 1].len(), size - (count - 1) * C + 16);
        assert_eq!(pointer.size(), size as u64);
        let blob = chunks.concat();
        assert_eq!(AttachmentEncryptor::encrypted_len(size as u64), Ok(blob.len() as u64));
        assert_eq!(pointer.encrypted_len(), blob.len() as u64);

        // The one-shot helper with the same RNG gives the same blob and pointer.
        let (blob2, pointer2) = encrypt_attachment(&f, &mut rng(seed)).unwrap();
        assert_eq!(blob2, blob, "size {size}");
        assert_eq!(*pointer2.to_bytes(), *pointer.to_bytes());

        // Through the wire encoding of the pointer, three ways back.
        let received = AttachmentPointer::from_bytes(&pointer.to_bytes()[..]).unwrap();
        assert_eq!(decrypt_chunks(&received, &chunks).unwrap(), f, "size {size}");
        assert_eq!(decrypt_attachment(&received, &blob).unwrap(), f);
        let mut dec = AttachmentDecryptor::new(&received);
        let mut in_place = Vec::new();
        for c in &chunks {
            let mut buf = c.clone();
            let n = dec.decrypt_chunk_in_place(&mut buf).unwrap();
            in_place.extend_from_slice(&buf[..n]);
        }
        dec.finish().unwrap();
        assert_eq!(in_place, f);
    }
}

#[test]
fn in_place_encryption_gives_the_same_blob() {
    let f = file(2 * C + 7, 1);
    let (chunks, pointer) = encrypt_chunks(&f, 1);
    let mut enc = AttachmentEncryptor::new(f.len() as u64, &mut rng(1)).unwrap();
    let mut blob = Vec::new();
    for piece in f.chunks(C) {
        let mut buf = piece.to_vec();
        let tag = enc.encrypt_chunk(&mut buf).unwrap();
        blob.extend_from_slice(&buf);
        blob.extend_from_slice(&tag);
    }
    assert_eq!(blob, chunks.concat());
    assert_eq!(*enc.finish().unwrap().to_bytes(), *pointer.to_bytes());
}

#[test]
fn encrypted_len_is_size_plus_a_tag_per_chunk() {
    assert_eq!(AttachmentEncryptor::encrypted_len(0), Ok(16));
    assert_eq!(AttachmentEncryptor::encrypted_len(1), Ok(17));
    assert_eq!(AttachmentEncryptor::encrypted_len(65536), Ok(65552));
    assert_eq!(AttachmentEncryptor::encrypted_len(65537), Ok(65569));
    assert_eq!(AttachmentEncryptor::encrypted_len(1 << 48), Ok((1 << 48) + (1 << 36)));
    let too_large = Error::TooLarge { len: (1 << 48) + 1, max: 1 << 48 };
    assert_eq!(AttachmentEncryptor::encrypted_len((1 << 48) + 1), Err(too_large));
    assert_eq!(AttachmentEncryptor::new((1 << 48) + 1, &mut rng(1)).map(|_| ()), Err(too_large));
    assert_eq!(MAX_ATTACHMENT_LEN, 1 << 48);
    // The largest size is accepted (2^32 chunks).
    let enc = AttachmentEncryptor::new(1 << 48, &mut rng(1)).unwrap();
    assert_eq!(enc.next_chunk_len(), Some(C));
}

/// A four-chunk file (three full chunks and 10 bytes) and its pointer.
fn four_chunks() -> (Vec<u8>, Vec<Vec<u8>>, AttachmentPointer) {
    let f = file(3 * C + 10, 4);
    let (chunks, pointer) = encrypt_chunks(&f, 4);
    assert_eq!(chunks.len(), 4);
    (f, chunks, pointer)
}

#[test]
fn reordered_duplicated_dropped_and_altered_chunks_are_refused() {
    let (_, chunks, pointer) = four_chunks();
    let c = |order: &[usize]| order.iter().map(|&i| chunks[i].clone()).collect::<Vec<_>>();
    // Reordered: chunk 1 where chunk 0 belongs.
    assert_eq!(decrypt_chunks(&pointer, &c(&[1, 0, 2, 3])), Err((0, Error::Auth)));
    assert_eq!(decrypt_chunks(&pointer, &c(&[0, 2, 1, 3])), Err((1, Error::Auth)));
    // Duplicated.
    assert_eq!(decrypt_chunks(&pointer, &c(&[0, 0, 1, 2, 3])), Err((1, Error::Auth)));
    // Dropped from the middle.
    assert_eq!(decrypt_chunks(&pointer, &c(&[0, 2, 3])), Err((1, Error::Auth)));
    // The short final chunk where a full one belongs: a length error.
    assert_eq!(
        decrypt_chunks(&pointer, &c(&[0, 1, 3])),
        Err((2, Error::ChunkLength { len: 26, expected: C + 16 }))
    );
    // A flipped bit anywhere in a chunk (ciphertext or tag).
    for pos in [0, 1000, C - 1, C, C + 15] {
        let mut bad = c(&[0, 1, 2, 3]);
        bad[1][pos] ^= 0x01;
        assert_eq!(decrypt_chunks(&pointer, &bad), Err((1, Error::Auth)), "byte {pos}");
    }
    let mut bad = c(&[0, 1, 2, 3]);
    bad[3][0] ^= 0x80;
    assert_eq!(decrypt_chunks(&pointer, &bad), Err((3, Error::Auth)));
    // The genuine order works.
    assert!(decrypt_chunks(&pointer, &c(&[0, 1, 2, 3])).is_ok());
}

#[test]
fn truncated_and_extended_blobs_are_refused() {
    let (_, chunks, pointer) = four_chunks();
    let blob = chunks.concat();
    // Streaming: cut at a chunk boundary, the final chunk never came.
    assert_eq!(decrypt_chunks(&pointer, &chunks[..3]), Err((3, Error::StreamIncomplete)));
    assert_eq!(decrypt_chunks(&pointer, &[]), Err((0, Error::StreamIncomplete)));
    // Streaming: anything after the final chunk.
    let mut extended = chunks.clone();
    extended.push(chunks[3].clone());
    assert_eq!(decrypt_chunks(&pointer, &extended), Err((4, Error::StreamFinished)));
    let mut extended = chunks.clone();
    extended.push(Vec::new());
    assert_eq!(decrypt_chunks(&pointer, &extended), Err((4, Error::StreamFinished)));
    // Streaming: a final chunk cut short or made longer.
    let mut cut = chunks.clone();
    cut[3].pop();
    assert_eq!(decrypt_chunks(&pointer, &cut), Err((3, Error::ChunkLength { len: 25, expected: 26 })));
    let mut longer = chunks.clone();
    longer[3].push(0);
    assert_eq!(decrypt_chunks(&pointer, &longer), Err((3, Error::ChunkLength { len: 27, expected: 26 })));
    // One-shot: the length is checked before anything is decrypted.
    let truncated = Err(Error::Decode(DecodeError::Truncated));
    let trailing = Err(Error::Decode(DecodeError::TrailingBytes));
    assert_eq!(decrypt_attachment(&pointer, &blob[..blob.len() - 1]), truncated);
    assert_eq!(decrypt_attachment(&pointer, &blob[..3 * (C + 16)]), truncated);
    assert_eq!(decrypt_attachment(&pointer, &[]), truncated);
    let mut longer = blob.clone();
    longer.push(0);
    assert_eq!(decrypt_attachment(&pointer, &longer), trailing);
    longer.extend_from_slice(&chunks[3]);
    assert_eq!(decrypt_attachment(&pointer, &longer), trailing);
}

#[test]
fn a_chunk_spliced_from_another_file_is_refused() {
    // Two files of the same size under different keys.
    let f = file(2 * C + 100, 5);
    let (a, pa) = encrypt_chunks(&f, 5);
    let (b, pb) = encrypt_chunks(&f, 6);
    assert_ne!(pa.to_bytes()[2..34], pb.to_bytes()[2..34]);
    for i in 0..3 {
        let mut spliced = a.clone();
        spliced[i] = b[i].clone();
        assert_eq!(decrypt_chunks(&pa, &spliced), Err((i, Error::Auth)));
        assert_eq!(decrypt_attachment(&pa, &spliced.concat()), Err(Error::Auth));
    }
    // The whole other blob under this pointer.
    assert_eq!(decrypt_attachment(&pa, &b.concat()), Err(Error::Auth));
}

#[test]
fn a_pointer_with_another_size_or_digest_opens_nothing() {
    let (_, chunks, pointer) = four_chunks();
    let blob = chunks.concat();
    let size = pointer.size();
    // Another size with the same chunk count and a blob of matching length:
    // the size is in every chunk's associated data.
    let shorter = with_size(&pointer, size - 1);
    assert_eq!(decrypt_attachment(&shorter, &blob[..blob.len() - 1]), Err(Error::Auth));
    let mut first_three = chunks.clone();
    first_three[3].pop();
    assert_eq!(decrypt_chunks(&shorter, &first_three), Err((0, Error::Auth)));
    // Sizes whose blobs are of another length.
    let longer = with_size(&pointer, size + 1);
    assert_eq!(decrypt_attachment(&longer, &blob), Err(Error::Decode(DecodeError::Truncated)));
    let fewer = with_size(&pointer, 3 * C as u64);
    assert_eq!(decrypt_attachment(&fewer, &blob), Err(Error::Decode(DecodeError::TrailingBytes)));
    // A wrong digest: every chunk verifies, finish refuses the file.
    let mut b = *pointer.to_bytes();
    b[73] ^= 0x01;
    let wrong_digest = AttachmentPointer::from_bytes(&b).unwrap();
    assert_eq!(decrypt_chunks(&wrong_digest, &chunks), Err((4, Error::Auth)));
    assert_eq!(decrypt_attachment(&wrong_digest, &blob), Err(Error::Auth));
    // A wrong key.
    let mut b = *pointer.to_bytes();
    b[2] ^= 0x01;
    let wrong_key = AttachmentPointer::from_bytes(&b).unwrap();
    assert_eq!(decrypt_chunks(&wrong_key, &chunks), Err((0, Error::Auth)));
}

/// Seals `body` as chunk `index` of a file of `size` bytes with the given
/// final flag, with aes-gcm directly (SPEC.md §22.2).
fn seal_raw(key: &[u8; 32], size: u64, index: u32, flag: u8, body: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    nonce[7..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = flag;
    let mut ad = b"chatcrypt v3 attachment".to_vec();
    ad.extend_from_slice(&size.to_be_bytes());
    let mut buf = body.to_vec();
    let tag = Aes256Gcm::new(key.into())
        .encrypt_inout_detached(&nonce.into(), &ad, InOutBuf::from(&mut buf[..]))
        .unwrap();
    buf.extend_from_slice(&tag);
    buf
}

#[test]
fn a_wrong_final_flag_is_refused() {
    let f = file(2 * C, 7);
    let (chunks, pointer) = encrypt_chunks(&f, 7);
    let key: [u8; 32] = pointer.to_bytes()[2..34].try_into().unwrap();
    let size = f.len() as u64;
    // The honest chunks recomputed, to show seal_raw follows the format.
    assert_eq!(seal_raw(&key, size, 0, 0, &f[..C]), chunks[0]);
    assert_eq!(seal_raw(&key, size, 1, 1, &f[C..]), chunks[1]);
    // Chunk 0 marked final (a truncation attempt by a key holder) and the
    // last chunk marked non-final.
    let early_final = vec![seal_raw(&key, size, 0, 1, &f[..C]), chunks[1].clone()];
    assert_eq!(decrypt_chunks(&pointer, &early_final), Err((0, Error::Auth)));
    let not_final = vec![chunks[0].clone(), seal_raw(&key, size, 1, 0, &f[C..])];
    assert_eq!(decrypt_chunks(&pointer, &not_final), Err((1, Error::Auth)));
    // A one-chunk file of size C whose chunk is chunk 0 of the two-chunk
    // file: the size in the associated data differs.
    let one = with_size(&pointer, C as u64);
    assert_eq!(decrypt_chunks(&one, &chunks[..1]), Err((0, Error::Auth)));
}

#[test]
fn a_failed_chunk_changes_nothing_and_can_be_retried() {
    let (f, chunks, pointer) = four_chunks();
    let mut dec = AttachmentDecryptor::new(&pointer);
    let mut out = vec![0xAAu8; C];
    assert_eq!(dec.decrypt_chunk(&chunks[0], &mut out), Ok(C));
    assert_eq!(out, f[..C]);
    let before = format!("{dec:?}");
    let mut out = vec![0xAAu8; C];
    // Every kind of failure at position 1.
    let mut tampered = chunks[1].clone();
    tampered[5] ^= 0x10;
    assert_eq!(dec.decrypt_chunk(&tampered, &mut out), Err(Error::Auth));
    assert_eq!(dec.decrypt_chunk(&chunks[0], &mut out), Err(Error::Auth));
    assert_eq!(dec.decrypt_chunk(&chunks[2], &mut out), Err(Error::Auth));
    assert_eq!(
        dec.decrypt_chunk(&chunks[3], &mut out),
        Err(Error::ChunkLength { len: 26, expected: C + 16 })
    );
    assert_eq!(dec.decrypt_chunk(&chunks[1], &mut out[..C - 1]), Err(Error::BufferTooSmall { needed: C }));
    let mut in_place = tampered.clone();
    assert_eq!(dec.decrypt_chunk_in_place(&mut in_place), Err(Error::Auth));
    assert_eq!(in_place, tampered, "a failed in-place chunk is left as it was");
    assert!(out.iter().all(|&b| b == 0xAA), "nothing unverified was released");
    assert_eq!(format!("{dec:?}"), before);
    assert_eq!(dec.next_chunk_len(), Some(C + 16));
    // The genuine chunks still work, and the file completes.
    assert_eq!(dec.decrypt_chunk(&chunks[1], &mut out), Ok(C));
    assert_eq!(out, f[C..2 * C]);
    assert_eq!(dec.decrypt_chunk(&chunks[2], &mut out), Ok(C));
    assert_eq!(dec.decrypt_chunk(&chunks[3], &mut out), Ok(10));
    assert_eq!(out[..10], f[3 * C..]);
    assert_eq!(dec.next_chunk_len(), None);
    assert_eq!(dec.decrypt_chunk(&chunks[3], &mut out), Err(Error::StreamFinished));
    assert_eq!(dec.finish(), Ok(()));
}

#[test]
fn the_encryptor_enforces_lengths_and_order_without_changing_state() {
    let f = file(C + 3, 8);
    let (chunks, pointer) = encrypt_chunks(&f, 8);
    let mut enc = AttachmentEncryptor::new(f.len() as u64, &mut rng(8)).unwrap();
    let mut out = vec![0u8; C + 16];
    // Wrong lengths, a small buffer: refused, nothing consumed.
    assert_eq!(enc.encrypt_chunk_into(&f[..3], &mut out), Err(Error::ChunkLength { len: 3, expected: C }));
    assert_eq!(enc.encrypt_chunk_into(&f, &mut out), Err(Error::ChunkLength { len: C + 3, expected: C }));
    assert_eq!(
        enc.encrypt_chunk_into(&f[..C], &mut out[..C + 15]),
        Err(Error::BufferTooSmall { needed: C + 16 })
    );
    let mut short = f[..C - 1].to_vec();
    assert_eq!(enc.encrypt_chunk(&mut short), Err(Error::ChunkLength { len: C - 1, expected: C }));
    assert_eq!(short, f[..C - 1], "a refused in-place chunk is untouched");
    assert_eq!(enc.next_chunk_len(), Some(C));
    // The chunks are those of an encryptor that saw no failure.
    assert_eq!(enc.encrypt_chunk_into(&f[..C], &mut out), Ok(C + 16));
    assert_eq!(out[..C + 16], chunks[0]);
    assert_eq!(enc.next_chunk_len(), Some(3));
    assert_eq!(enc.encrypt_chunk_into(&f[C..], &mut out), Ok(19));
    assert_eq!(out[..19], chunks[1]);
    assert_eq!(enc.next_chunk_len(), None);
    assert_eq!(enc.encrypt_chunk_into(&[], &mut out), Err(Error::StreamFinished));
    assert_eq!(*enc.finish().unwrap().to_bytes(), *pointer.to_bytes());
    // finish before the last chunk.
    let enc = AttachmentEncryptor::new(f.len() as u64, &mut rng(8)).unwrap();
    assert_eq!(enc.finish().map(|_| ()), Err(Error::StreamIncomplete));
    let mut enc = AttachmentEncryptor::new(f.len() as u64, &mut rng(8)).unwrap();
    enc.encrypt_chunk_into(&f[..C], &mut out).unwrap();
    assert_eq!(enc.finish().map(|_| ()), Err(Error::StreamIncomplete));
    // An empty file is one empty final chunk.
    let mut enc = AttachmentEncryptor::new(0, &mut rng(8)).unwrap();
    assert_eq!(enc.next_chunk_len(), Some(0));
    assert_eq!(enc.encrypt_chunk_into(&[], &mut out), Ok(16));
    assert_eq!(enc.encrypt_chunk_into(&[], &mut out), Err(Error::StreamFinished));
    assert!(enc.finish().is_ok());
}

#[test]
fn pointer_decoding_is_strict() {
    let (_, chunks, pointer) = four_chunks();
    let bytes = *pointer.to_bytes();
    assert_eq!(bytes.len(), ATTACHMENT_POINTER_LEN);
    assert_eq!(ATTACHMENT_POINTER_LEN, 74);
    assert_eq!(bytes[..2], [0x46, 0x01]);
    assert_eq!(bytes[34..42], (3 * C as u64 + 10).to_be_bytes());
    assert_eq!(*AttachmentPointer::from_bytes(&bytes).unwrap().to_bytes(), bytes);
    // Every truncation, and trailing bytes.
    for len in 0..bytes.len() {
        assert_eq!(
            AttachmentPointer::from_bytes(&bytes[..len]).map(|_| ()),
            Err(Error::Decode(DecodeError::Truncated)),
            "length {len}"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert_eq!(
        AttachmentPointer::from_bytes(&longer).map(|_| ()),
        Err(Error::Decode(DecodeError::TrailingBytes))
    );
    // Every single bit flip: a typed error, or a different pointer that
    // opens nothing.
    let blob = chunks.concat();
    for bit in 0..bytes.len() * 8 {
        let mut b = bytes;
        b[bit / 8] ^= 1 << (bit % 8);
        match AttachmentPointer::from_bytes(&b) {
            Err(e) => {
                let expected = match bit / 8 {
                    0 => Error::Decode(DecodeError::UnexpectedType(b[0])),
                    1 => Error::Decode(DecodeError::UnsupportedVersion(b[1])),
                    34 | 35 => Error::Decode(DecodeError::InvalidValue),
                    _ => panic!("bit {bit}: unexpected {e:?}"),
                };
                assert_eq!(e, expected, "bit {bit}");
            }
            Ok(p) => {
                assert!((2..74).contains(&(bit / 8)), "bit {bit}");
                assert_eq!(*p.to_bytes(), b);
                assert!(decrypt_attachment(&p, &blob).is_err(), "bit {bit}");
            }
        }
    }
    // The size limit: 2^48 is accepted, 2^48 + 1 is not.
    let mut b = bytes;
    b[34..42].copy_from_slice(&(1u64 << 48).to_be_bytes());
    assert_eq!(AttachmentPointer::from_bytes(&b).map(|p| p.size()), Ok(1 << 48));
    b[34..42].copy_from_slice(&((1u64 << 48) + 1).to_be_bytes());
    assert_eq!(AttachmentPointer::from_bytes(&b).map(|_| ()), Err(Error::Decode(DecodeError::InvalidValue)));
    // Checks apply in layout order: a bad tag wins over a bad version.
    assert_eq!(
        AttachmentPointer::from_bytes(&[0x47, 0x02]).map(|_| ()),
        Err(Error::Decode(DecodeError::UnexpectedType(0x47)))
    );
    assert_eq!(
        AttachmentPointer::from_bytes(&[0x46, 0x02]).map(|_| ()),
        Err(Error::Decode(DecodeError::UnsupportedVersion(0x02)))
    );
}

#[test]
fn debug_hides_the_key() {
    let (_, _, pointer) = four_chunks();
    let bytes = pointer.to_bytes();
    let key_hex: String = bytes[2..34].iter().map(|b| format!("{b:02x}")).collect();
    let digest_hex: String = bytes[42..].iter().map(|b| format!("{b:02x}")).collect();
    let shown = format!("{pointer:?}");
    assert_eq!(shown, format!("AttachmentPointer {{ size: 196618, digest: {digest_hex}, .. }}"));
    assert!(!shown.contains(&key_hex[..8]));
    let enc = AttachmentEncryptor::new(5, &mut rng(1)).unwrap();
    assert_eq!(format!("{enc:?}"), "AttachmentEncryptor { size: 5, next_chunk: 0, chunks: 1, .. }");
    let dec = AttachmentDecryptor::new(&pointer);
    assert_eq!(format!("{dec:?}"), "AttachmentDecryptor { size: 196618, next_chunk: 0, chunks: 4, .. }");
}

/// A two-chunk attachment recomputed from SPEC.md §22 alone, with aes-gcm
/// and sha2 called directly: the key is the first 32 bytes the RNG gives,
/// the chunks, the digest and the pointer bytes follow the text.
#[test]
fn an_attachment_recomputed_from_the_spec_matches_byte_for_byte() {
    let size = C + 33;
    let f = file(size, 11);
    let (blob, pointer) = encrypt_attachment(&f, &mut rng(11)).unwrap();

    let mut key = [0u8; 32];
    rng(11).fill_bytes(&mut key);
    let cipher = Aes256Gcm::new(&key.into());
    let mut ad = Vec::new();
    ad.extend_from_slice(b"chatcrypt v3 attachment");
    ad.extend_from_slice(&(size as u64).to_be_bytes());
    assert_eq!(ad.len(), 31);
    let mut expected_blob = Vec::new();
    let mut digest = Sha256::new();
    digest.update(b"chatcrypt v3 attachment digest");
    digest.update((size as u64).to_be_bytes());
    for (i, (body, last)) in [(&f[..C], 0u8), (&f[C..], 1u8)].into_iter().enumerate() {
        let nonce = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i as u8, last];
        let mut buf = body.to_vec();
        let tag = cipher.encrypt_inout_detached(&nonce.into(), &ad, InOutBuf::from(&mut buf[..])).unwrap();
        expected_blob.extend_from_slice(&buf);
        expected_blob.extend_from_slice(&tag);
        digest.update(tag);
    }
    assert_eq!(blob.len(), C + 33 + 32);
    assert_eq!(blob, expected_blob);
    let digest: [u8; 32] = digest.finalize().into();
    let mut expected_pointer = vec![0x46, 0x01];
    expected_pointer.extend_from_slice(&key);
    expected_pointer.extend_from_slice(&(size as u64).to_be_bytes());
    expected_pointer.extend_from_slice(&digest);
    assert_eq!(pointer.to_bytes()[..], expected_pointer[..]);
    assert_eq!(pointer.digest(), &digest);
}
