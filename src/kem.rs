//! The key-encapsulation seam of the hybrid handshake ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §16).
//!
//! Everything post-quantum goes through this module: which KEMs exist
//! ([`KemType`], whose byte prefixes every KEM encoding), how an
//! encapsulation key is validated, and the three operations the handshake
//! needs (key generation from a seed, encapsulation, decapsulation). Today
//! the one KEM is ML-KEM-1024 (FIPS 203, RustCrypto's `ml-kem`); a second
//! one (ML-KEM-768 for a ratchet, a Kyber-compatible type) is one more
//! [`KemType`] variant and one more arm in each function here, not a change
//! to the handshake.
//!
//! # Guarantees
//!
//! * **Validated keys.** An encapsulation key is accepted only after the
//!   FIPS 203 §7.2 checks (length and modulus check); otherwise
//!   [`DecodeError::InvalidPublicKey`].
//! * **Implicit rejection.** Decapsulating a ciphertext that was not made for
//!   the key gives a pseudorandom secret (FIPS 203 §6.3), in constant time;
//!   the handshake then fails at the first message's AEAD tag.
//! * **Secrets are zeroized:** seeds, expanded decapsulation keys (by the
//!   `ml-kem` crate's `Drop`) and the shared secrets this module handles.
//!   Temporaries inside `ml-kem`'s encapsulation and decapsulation (its
//!   `K`, `r`, `m'` on the stack) are outside this crate's reach.

use alloc::vec::Vec;
use core::fmt;

use ml_kem::{
    array::Array,
    kem::{Decapsulate, KeyExport},
    DecapsulationKey, EncapsulationKey, MlKem1024,
};
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::error::DecodeError;

/// Length of a KEM seed (`d || z`, FIPS 203 §7.1), the stored form of a
/// decapsulation key.
pub const KEM_SEED_LEN: usize = 64;
/// Length of a KEM shared secret.
pub(crate) const KEM_SHARED_SECRET_LEN: usize = 32;
/// Length of an ML-KEM-1024 encapsulation key.
pub const ML_KEM_1024_PUBLIC_KEY_LEN: usize = 1568;
/// Length of an ML-KEM-1024 ciphertext.
pub const ML_KEM_1024_CIPHERTEXT_LEN: usize = 1568;

/// A key-encapsulation mechanism the handshake can use. Its byte
/// ([`to_byte`](Self::to_byte)) is the first byte of every encoding of a
/// KEM key or ciphertext, so that a key of one type is never read as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KemType {
    /// ML-KEM-1024 (FIPS 203, security category 5), byte `0x01`.
    MlKem1024,
}

impl KemType {
    /// The type byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            KemType::MlKem1024 => 0x01,
        }
    }

    /// The type a byte names.
    ///
    /// # Errors
    /// [`DecodeError::UnknownKeyType`] for a byte no KEM has.
    pub const fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            0x01 => Ok(KemType::MlKem1024),
            _ => Err(DecodeError::UnknownKeyType(b)),
        }
    }

    /// Length of an encapsulation (public) key of this type.
    pub const fn public_key_len(self) -> usize {
        match self {
            KemType::MlKem1024 => ML_KEM_1024_PUBLIC_KEY_LEN,
        }
    }

    /// Length of a ciphertext of this type.
    pub const fn ciphertext_len(self) -> usize {
        match self {
            KemType::MlKem1024 => ML_KEM_1024_CIPHERTEXT_LEN,
        }
    }

    /// The KEM's name as it appears in the handshake's KDF label.
    pub(crate) const fn label_name(self) -> &'static [u8] {
        match self {
            KemType::MlKem1024 => b"ML-KEM-1024",
        }
    }
}

/// A KEM shared secret.
pub(crate) type SharedSecret = Zeroizing<[u8; KEM_SHARED_SECRET_LEN]>;

/// The FIPS 203 §7.2 encapsulation-key check (length, then modulus).
///
/// # Errors
/// [`DecodeError::InvalidPublicKey`] if the key fails it.
#[cfg(test)]
pub(crate) fn check_public_key(kind: KemType, key: &[u8]) -> Result<(), DecodeError> {
    EncapsulationKeyOf::parse(kind, key).map(|_| ())
}

/// A validated encapsulation key, ready to encapsulate to (parsed once,
/// when its encoding is decoded or generated).
#[derive(Clone)]
pub(crate) struct EncapsulationKeyOf {
    key: EncapsulationKey<MlKem1024>,
}

impl EncapsulationKeyOf {
    /// Parses and validates (FIPS 203 §7.2) an encapsulation key.
    ///
    /// # Errors
    /// [`DecodeError::InvalidPublicKey`] if the key fails the check.
    pub(crate) fn parse(kind: KemType, key: &[u8]) -> Result<Self, DecodeError> {
        match kind {
            KemType::MlKem1024 => {
                let bytes = Array::try_from(key).map_err(|_| DecodeError::InvalidPublicKey)?;
                let key =
                    EncapsulationKey::<MlKem1024>::new(&bytes).map_err(|_| DecodeError::InvalidPublicKey)?;
                Ok(EncapsulationKeyOf { key })
            }
        }
    }

    /// Encapsulates with the 32-byte message `m` (FIPS 203
    /// `ML-KEM.Encaps_internal`): the ciphertext and the shared secret.
    pub(crate) fn encapsulate_with(&self, m: &[u8; 32]) -> (Vec<u8>, SharedSecret) {
        let mut m_arr = Array::default();
        m_arr.copy_from_slice(m);
        let (ct, mut k) = self.key.encapsulate_deterministic(&m_arr);
        m_arr.zeroize();
        let mut ss = Zeroizing::new([0u8; KEM_SHARED_SECRET_LEN]);
        ss.copy_from_slice(&k);
        k.zeroize();
        (ct.to_vec(), ss)
    }

    /// Encapsulates, drawing the 32-byte message from `rng`.
    pub(crate) fn encapsulate<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> (Vec<u8>, SharedSecret) {
        let mut m = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut m[..]);
        self.encapsulate_with(&m)
    }
}

/// A KEM decapsulation key, held expanded in memory and stored as its
/// 64-byte seed.
///
/// Zeroized on drop (by `ml-kem`); not `Clone`; `Debug` shows nothing of
/// the key.
pub(crate) struct DecapsulationKeyPair {
    /// Holds its seed `d || z` itself (behind `ml-kem`'s boxes), so moving
    /// this struct copies no secret bytes.
    key: DecapsulationKey<MlKem1024>,
}

impl DecapsulationKeyPair {
    /// The key pair of a seed (FIPS 203 `ML-KEM.KeyGen_internal(d, z)` with
    /// `seed = d || z`).
    pub(crate) fn from_seed(kind: KemType, seed: &[u8; KEM_SEED_LEN]) -> Self {
        match kind {
            KemType::MlKem1024 => {
                let mut s = Array::default();
                s.copy_from_slice(seed);
                let key = DecapsulationKey::<MlKem1024>::from_seed(s);
                s.zeroize();
                DecapsulationKeyPair { key }
            }
        }
    }

    /// A fresh key pair: 64 bytes from `rng` as the seed.
    pub(crate) fn generate<R: CryptoRng + ?Sized>(kind: KemType, rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; KEM_SEED_LEN]);
        rng.fill_bytes(&mut seed[..]);
        Self::from_seed(kind, &seed)
    }

    /// The seed `d || z` (always present: every key here is made from one).
    pub(crate) fn seed(&self) -> Zeroizing<[u8; KEM_SEED_LEN]> {
        let mut out = Zeroizing::new([0u8; KEM_SEED_LEN]);
        if let Some(mut s) = self.key.to_seed() {
            out.copy_from_slice(&s);
            s.zeroize();
        }
        out
    }

    /// The encapsulation key's encoding.
    pub(crate) fn public_key(&self) -> Vec<u8> {
        self.key.encapsulation_key().to_bytes().to_vec()
    }

    /// The encapsulation key, parsed.
    pub(crate) fn encapsulation_key(&self) -> EncapsulationKeyOf {
        EncapsulationKeyOf { key: self.key.encapsulation_key().clone() }
    }

    /// Decapsulates `ciphertext` (FIPS 203 `ML-KEM.Decaps`, with implicit
    /// rejection).
    ///
    /// # Errors
    /// [`DecodeError::InvalidValue`] if `ciphertext` has the wrong length for
    /// the type (decoders have already rejected that).
    pub(crate) fn decapsulate(&self, ciphertext: &[u8]) -> Result<SharedSecret, DecodeError> {
        let ct = Array::try_from(ciphertext).map_err(|_| DecodeError::InvalidValue)?;
        let mut k = self.key.decapsulate(&ct);
        let mut ss = Zeroizing::new([0u8; KEM_SHARED_SECRET_LEN]);
        ss.copy_from_slice(&k);
        k.zeroize();
        Ok(ss)
    }
}

impl fmt::Debug for DecapsulationKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecapsulationKeyPair").finish_non_exhaustive()
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    //! Every Wycheproof ML-KEM-1024 case through the functions above.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use wycheproof::{mlkem, TestResult};

    fn seed(bytes: &[u8]) -> [u8; KEM_SEED_LEN] {
        bytes.try_into().unwrap()
    }

    /// `mlkem_1024_test.json`: key generation from a seed, then
    /// decapsulation of valid and invalid ciphertexts. The invalid cases are
    /// seeds of a wrong length (which the stored KEM prekey decoder, the one
    /// way a seed enters the library, rejects) and ciphertexts of a wrong
    /// length (rejected by decapsulation, and by the PreKeyMessage decoder's
    /// fixed length).
    #[test]
    fn wycheproof_mlkem_1024_decaps() {
        let set = mlkem::TestSet::load(mlkem::TestName::MlKem1024).unwrap();
        let (mut valid, mut bad_seed, mut bad_ct) = (0, 0, 0);
        for group in &set.test_groups {
            for t in &group.tests {
                let raw_seed = t.seed.as_ref().unwrap();
                let ct = t.ct.as_ref().unwrap();
                if raw_seed.len() != KEM_SEED_LEN {
                    assert!(matches!(t.result, TestResult::Invalid), "tc {}", t.tc_id);
                    // The stored form: tag, version, type, id, seed, signature.
                    let mut stored = alloc::vec![crate::TAG_KEM_PREKEY, 0x01, 0x01, 0, 0, 0, 1];
                    stored.extend_from_slice(raw_seed);
                    stored.extend_from_slice(&[0; 64]);
                    assert!(crate::KemPreKey::from_bytes(&stored).is_err(), "tc {}", t.tc_id);
                    bad_seed += 1;
                    continue;
                }
                let pair = DecapsulationKeyPair::from_seed(KemType::MlKem1024, &seed(raw_seed));
                let ek = t.encaps_key.as_ref().unwrap();
                assert_eq!(pair.public_key(), ek.as_ref(), "tc {}", t.tc_id);
                check_public_key(KemType::MlKem1024, ek).unwrap();
                match t.result {
                    TestResult::Valid | TestResult::Acceptable => {
                        let k = pair.decapsulate(ct).unwrap();
                        assert_eq!(&k[..], t.shared_secret.as_ref().unwrap().as_ref(), "tc {}", t.tc_id);
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        assert_ne!(ct.len(), ML_KEM_1024_CIPHERTEXT_LEN, "tc {}", t.tc_id);
                        assert_eq!(pair.decapsulate(ct).map(|_| ()), Err(DecodeError::InvalidValue));
                        bad_ct += 1;
                    }
                }
            }
        }
        assert_eq!(valid + bad_seed + bad_ct, set.number_of_tests);
        assert!(valid > 0 && bad_seed > 0 && bad_ct > 0);
        std::println!(
            "wycheproof mlkem_1024_test: {valid} valid, {bad_seed} invalid seeds, {bad_ct} invalid ciphertexts"
        );
    }

    /// `mlkem_1024_encaps_test.json`: deterministic encapsulation, and
    /// encapsulation keys that fail the FIPS 203 modulus check.
    #[test]
    fn wycheproof_mlkem_1024_encaps() {
        let set = mlkem::TestSet::load(mlkem::TestName::MlKem1024Encaps).unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for group in &set.test_groups {
            for t in &group.tests {
                let ek = t.encaps_key.as_ref().unwrap();
                let m: [u8; 32] = t.msg.as_ref().unwrap().as_ref().try_into().unwrap();
                match t.result {
                    TestResult::Valid | TestResult::Acceptable => {
                        let (ct, k) =
                            EncapsulationKeyOf::parse(KemType::MlKem1024, ek).unwrap().encapsulate_with(&m);
                        assert_eq!(ct, t.ct.as_ref().unwrap().as_ref(), "tc {}", t.tc_id);
                        assert_eq!(&k[..], t.shared_secret.as_ref().unwrap().as_ref(), "tc {}", t.tc_id);
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        assert_eq!(
                            EncapsulationKeyOf::parse(KemType::MlKem1024, ek).map(|_| ()),
                            Err(DecodeError::InvalidPublicKey),
                            "tc {}",
                            t.tc_id
                        );
                        invalid += 1;
                    }
                }
            }
        }
        assert_eq!(valid + invalid, set.number_of_tests);
        assert!(valid > 0 && invalid > 0);
        std::println!("wycheproof mlkem_1024_encaps_test: {valid} valid, {invalid} invalid");
    }

    /// `mlkem_1024_keygen_seed_test.json`: the encapsulation key derived from
    /// each seed (the expanded decapsulation key is `ml-kem`'s internal form;
    /// we store seeds, FIPS 203 §7.1's recommended form).
    #[test]
    fn wycheproof_mlkem_1024_keygen() {
        let set = mlkem::TestSet::load(mlkem::TestName::MlKem1024KeyGenSeed).unwrap();
        let mut n = 0;
        for group in &set.test_groups {
            for t in &group.tests {
                assert!(matches!(t.result, TestResult::Valid), "tc {}", t.tc_id);
                let pair =
                    DecapsulationKeyPair::from_seed(KemType::MlKem1024, &seed(t.seed.as_ref().unwrap()));
                assert_eq!(pair.public_key(), t.encaps_key.as_ref().unwrap().as_ref(), "tc {}", t.tc_id);
                assert_eq!(pair.seed()[..], t.seed.as_ref().unwrap()[..]);
                n += 1;
            }
        }
        assert_eq!(n, set.number_of_tests);
        std::println!("wycheproof mlkem_1024_keygen_seed_test: {n} valid");
    }

    #[test]
    fn unknown_type_byte_is_typed() {
        assert_eq!(KemType::from_byte(0x01), Ok(KemType::MlKem1024));
        for b in [0x00, 0x02, 0xFF] {
            assert_eq!(KemType::from_byte(b), Err(DecodeError::UnknownKeyType(b)));
        }
    }

    #[test]
    fn wrong_length_key_and_ciphertext_are_rejected() {
        let pair = DecapsulationKeyPair::from_seed(KemType::MlKem1024, &[7; 64]);
        let ek = pair.public_key();
        assert_eq!(check_public_key(KemType::MlKem1024, &ek[..1567]), Err(DecodeError::InvalidPublicKey));
        assert_eq!(pair.decapsulate(&[0; 1567]).map(|_| ()), Err(DecodeError::InvalidValue));
        let (ct, k) = EncapsulationKeyOf::parse(KemType::MlKem1024, &ek).unwrap().encapsulate_with(&[9; 32]);
        assert_eq!(pair.decapsulate(&ct).unwrap()[..], k[..]);
        // Implicit rejection: a changed ciphertext gives another secret, no error.
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert_ne!(pair.decapsulate(&bad).unwrap()[..], k[..]);
    }
}
