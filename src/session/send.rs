//! Sending ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6.3, §14.3): one `KDF_CK` step of the sending chain,
//! a fresh reuse guard, and the message laid out in the caller's buffer.

use alloc::{vec, vec::Vec};

use rand_core::CryptoRng;

use super::Session;
use crate::{
    keys::GUARD_LEN,
    message::{Header, ENCRYPTED_HEADER_LEN, RATCHET_HEADER_LEN},
    primitives::{aead_seal, TAG_LEN},
    Error, MAX_PLAINTEXT_LEN, VERSION,
};

impl Session {
    /// The length of the message that encrypting `plaintext_len` bytes
    /// gives now.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a length over
    /// [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN) (so the sum never
    /// overflows).
    pub fn encrypted_len(&self, plaintext_len: usize) -> Result<usize, Error> {
        if plaintext_len > MAX_PLAINTEXT_LEN {
            return Err(Error::TooLarge { len: plaintext_len, max: MAX_PLAINTEXT_LEN });
        }
        Ok(self.prefix_len() + self.header_wire_len() + plaintext_len + TAG_LEN)
    }

    /// Version, type and (while awaiting a reply) the handshake fields.
    pub(super) fn prefix_len(&self) -> usize {
        2 + self.pending.as_ref().map_or(0, |p| p.encoded_len())
    }

    fn header_wire_len(&self) -> usize {
        match self.header_keys {
            None => RATCHET_HEADER_LEN,
            Some(_) => ENCRYPTED_HEADER_LEN,
        }
    }

    /// Encrypts a message to the peer.
    ///
    /// Draws 16 bytes from `rng`: the message's reuse guard, which makes its
    /// AES-GCM key and nonce unique even if this session was restored from
    /// an older snapshot and reuses a message number ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §6.3).
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a plaintext over
    /// [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN),
    /// [`Error::CounterExhausted`] after 2^32 - 1 messages in one chain.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        let mut out = vec![0u8; self.encrypted_len(plaintext.len())?];
        let n = self.encrypt_into(plaintext, &mut out, rng)?;
        out.truncate(n);
        Ok(out)
    }

    /// Encrypts into `out` without allocating (except while a hybrid
    /// handshake awaits its reply: the 1.8 KB associated data of a hybrid
    /// PreKeyMessage is built on the heap); returns the message length
    /// ([`encrypted_len`](Self::encrypted_len)). Draws 16 bytes from `rng`
    /// as [`encrypt`](Self::encrypt) does.
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt), and [`Error::BufferTooSmall`].
    pub fn encrypt_into<R: CryptoRng + ?Sized>(
        &mut self,
        plaintext: &[u8],
        out: &mut [u8],
        rng: &mut R,
    ) -> Result<usize, Error> {
        let needed = self.encrypted_len(plaintext.len())?;
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        // N = 0xFFFFFFFF is never sent, so that PN always fits in a u32.
        if self.sending.n == u32::MAX {
            return Err(Error::CounterExhausted);
        }
        let mut guard = [0u8; GUARD_LEN];
        rng.fill_bytes(&mut guard);

        let (out, _) = out.split_at_mut(needed);
        let plen = self.prefix_len();
        let (prefix, rest) = out.split_at_mut(plen);
        let (header, body) = rest.split_at_mut(self.header_wire_len());
        let (type_prekey, type_message) = self.mode().types();
        prefix[0] = VERSION;
        match &self.pending {
            Some(part) => {
                prefix[1] = type_prekey;
                part.write_into(&mut prefix[2..]);
            }
            None => prefix[1] = type_message,
        }
        let mut h = [0u8; RATCHET_HEADER_LEN];
        Header {
            ratchet_key: self.sending.ratchet_key,
            pn: self.previous_counter,
            n: self.sending.n,
            guard: Some(guard),
        }
        .write(&mut h);

        // The body's associated data: AD || prefix || plaintext header.
        let (mut ad, prefix_end) = self.ad_with_prefix(prefix);
        let ad_end = prefix_end + RATCHET_HEADER_LEN;
        ad[prefix_end..ad_end].copy_from_slice(&h);

        let (key, next) = self.sending.chain.peek();
        let secrets = key.expand(&guard)?;
        let (ct, tag) = body.split_at_mut(plaintext.len());
        ct.copy_from_slice(plaintext);
        let t = aead_seal(&secrets.key, &secrets.nonce, &ad[..ad_end], ct)?;
        tag.copy_from_slice(&t);

        match &self.header_keys {
            None => header.copy_from_slice(&h),
            Some(keys) => {
                // The header is encrypted under a key and nonce derived from
                // HKs and the first 16 bytes of the body, with AD || prefix
                // as associated data.
                let mut sample = [0u8; TAG_LEN];
                sample.copy_from_slice(&body[..TAG_LEN]);
                let hs = keys.send.expand(&sample)?;
                let (hct, htag) = header.split_at_mut(RATCHET_HEADER_LEN);
                hct.copy_from_slice(&h);
                let t = aead_seal(&hs.key, &hs.nonce, &ad[..prefix_end], hct)?;
                htag.copy_from_slice(&t);
            }
        }

        self.sending.chain = next;
        self.sending.n += 1;
        Ok(needed)
    }
}
