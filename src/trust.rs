//! Identity trust: what this device believes about one peer account
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §18).
//!
//! A [`PeerAccount`] pins a peer's [`AccountKey`] and holds the newest
//! [`DeviceList`] signed by it. Every decision that changes what is trusted
//! is the caller's, made through an explicit call:
//!
//! * **First contact** is [`PeerAccount::trust_on_first_use`] (pin whatever
//!   account key the server's list carries) or [`PeerAccount::verified`]
//!   (pin the key the user checked out of band). Nothing is pinned
//!   implicitly, and never from a handshake message: a PreKeyMessage is
//!   unauthenticated until accept succeeds, and even then only the device
//!   list decides which identity key a device may have.
//! * **A new device list** under the pinned key is applied with
//!   [`update_device_list`](PeerAccount::update_device_list): an older epoch
//!   (rollback) or a different list for the same epoch is refused.
//!   Devices added, removed or reinstalled under the same account key need
//!   no decision: that is the point of an account key.
//! * **A changed account key** (the peer re-registered, or someone claims to
//!   be them) is an event, [`DeviceListUpdate::AccountKeyChanged`]: from then
//!   on [`authorize`](PeerAccount::authorize) refuses every device of the
//!   account with [`Error::AccountKeyChanged`], so no session sends to or
//!   accepts from it, until the caller calls
//!   [`accept_account_key_change`](PeerAccount::accept_account_key_change)
//!   (after showing the user the new safety number).
//!
//! [`SessionRecord`](crate::SessionRecord) calls `authorize` on every send,
//! and on every receive after the message authenticated.

use alloc::vec::Vec;
use core::fmt;

use crate::{
    account::{AccountKey, DeviceId, DeviceList},
    identity::IdentityKey,
    primitives::ct_eq,
    Error, SafetyNumber, MAX_STABLE_ID_LEN,
};

/// What [`PeerAccount::update_device_list`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceListUpdate {
    /// The list is the one already held: nothing changed.
    Unchanged,
    /// A newer list under the pinned account key replaced the old one.
    Updated {
        /// Devices on the new list but not the old.
        added: Vec<DeviceId>,
        /// Devices on the old list but not the new: their sessions should
        /// be deleted.
        removed: Vec<DeviceId>,
        /// Devices on both lists with a new identity key (reinstalled):
        /// their old sessions no longer pass [`PeerAccount::authorize`].
        reinstalled: Vec<DeviceId>,
    },
    /// The list is signed by another account key than the pinned one. It is
    /// held as pending, and every device of the account is refused with
    /// [`Error::AccountKeyChanged`] until the caller decides with
    /// [`PeerAccount::accept_account_key_change`].
    AccountKeyChanged,
}

/// How the account key was pinned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustLevel {
    /// Pinned on first use, not (yet) compared out of band.
    TrustedOnFirstUse,
    /// The user compared safety numbers (or scanned the code).
    Verified,
}

/// What this device knows and trusts about one peer account: its stable
/// user id, pinned account key, newest device list, and a pending account
/// key change, if any. Persist it with [`to_bytes`](Self::to_bytes) after
/// every change (SPEC.md §18.3).
#[derive(Clone, PartialEq, Eq)]
pub struct PeerAccount {
    pub(crate) user_id: Vec<u8>,
    pub(crate) level: TrustLevel,
    pub(crate) list: DeviceList,
    pub(crate) pending: Option<DeviceList>,
}

fn check_user_id(user_id: &[u8]) -> Result<(), Error> {
    if user_id.len() > MAX_STABLE_ID_LEN {
        return Err(Error::TooLarge { len: user_id.len(), max: MAX_STABLE_ID_LEN });
    }
    Ok(())
}

impl PeerAccount {
    /// First contact, trusting on first use: pins the account key that
    /// signed `list` (which decoding already verified). An explicit choice:
    /// the app should show the safety number and let the user verify later.
    ///
    /// # Errors
    /// [`Error::TooLarge`] if `user_id` is longer than [`MAX_STABLE_ID_LEN`].
    pub fn trust_on_first_use(user_id: &[u8], list: DeviceList) -> Result<Self, Error> {
        check_user_id(user_id)?;
        Ok(PeerAccount {
            user_id: user_id.to_vec(),
            level: TrustLevel::TrustedOnFirstUse,
            list,
            pending: None,
        })
    }

    /// First contact with an account key the user verified out of band
    /// (for example by scanning the peer's code before the first message).
    ///
    /// # Errors
    /// [`Error::TooLarge`] as for [`trust_on_first_use`](Self::trust_on_first_use);
    /// [`Error::AccountKeyChanged`] if `list` is signed by another key than
    /// `account_key`.
    pub fn verified(user_id: &[u8], account_key: &AccountKey, list: DeviceList) -> Result<Self, Error> {
        check_user_id(user_id)?;
        if !ct_eq(list.account_key().as_bytes(), account_key.as_bytes()) {
            return Err(Error::AccountKeyChanged);
        }
        Ok(PeerAccount { user_id: user_id.to_vec(), level: TrustLevel::Verified, list, pending: None })
    }

    /// The peer's stable user id.
    pub fn user_id(&self) -> &[u8] {
        &self.user_id
    }

    /// The pinned account key.
    pub fn account_key(&self) -> &AccountKey {
        self.list.account_key()
    }

    /// How the pinned key was trusted.
    pub fn trust_level(&self) -> TrustLevel {
        self.level
    }

    /// The newest device list under the pinned key.
    pub fn device_list(&self) -> &DeviceList {
        &self.list
    }

    /// The account key of a pending change, if one waits for a decision.
    pub fn pending_account_key(&self) -> Option<&AccountKey> {
        self.pending.as_ref().map(DeviceList::account_key)
    }

    /// Records that the user compared safety numbers and they matched.
    ///
    /// # Errors
    /// [`Error::AccountKeyChanged`] while a change is pending: the user
    /// must first decide on the new key.
    pub fn mark_verified(&mut self) -> Result<(), Error> {
        if self.pending.is_some() {
            return Err(Error::AccountKeyChanged);
        }
        self.level = TrustLevel::Verified;
        Ok(())
    }

    /// Applies a device list fetched for this account.
    ///
    /// # Errors
    /// Under the pinned key: [`Error::DeviceListRollback`] if its epoch is
    /// older than the held list's, [`Error::DeviceListConflict`] if it has
    /// the same epoch but other contents. The same two checks apply
    /// against a pending list signed by the same key. Nothing changes on
    /// error.
    pub fn update_device_list(&mut self, list: DeviceList) -> Result<DeviceListUpdate, Error> {
        if list.account_key() == self.list.account_key() {
            match compare(&self.list, &list)? {
                Ordering::Same => return Ok(DeviceListUpdate::Unchanged),
                Ordering::Newer => {}
            }
            let update = diff(&self.list, &list);
            self.list = list;
            return Ok(update);
        }
        if let Some(p) = &self.pending {
            if p.account_key() == list.account_key() && compare(p, &list)? == Ordering::Same {
                return Ok(DeviceListUpdate::AccountKeyChanged);
            }
        }
        self.pending = Some(list);
        Ok(DeviceListUpdate::AccountKeyChanged)
    }

    /// The caller's decision to trust the pending account key `expected`
    /// (the one the user was shown, from
    /// [`pending_account_key`](Self::pending_account_key) and its safety
    /// number): it becomes the pinned key (trusted on first use again, not
    /// verified), with its device list. Sessions with the old devices stop
    /// passing [`authorize`](Self::authorize) unless the new list names them
    /// with the same identity keys.
    ///
    /// # Errors
    /// [`Error::NoPendingChange`] if no change is pending;
    /// [`Error::AccountKeyChanged`] if the pending key is not `expected`
    /// (another list arrived since the user was asked: ask again). Compared
    /// in constant time; nothing changes on error.
    pub fn accept_account_key_change(&mut self, expected: &AccountKey) -> Result<(), Error> {
        let pending = self.pending.as_ref().ok_or(Error::NoPendingChange)?;
        if !ct_eq(pending.account_key().as_bytes(), expected.as_bytes()) {
            return Err(Error::AccountKeyChanged);
        }
        let list = self.pending.take().ok_or(Error::NoPendingChange)?;
        self.list = list;
        self.level = TrustLevel::TrustedOnFirstUse;
        Ok(())
    }

    /// The caller's decision to keep the pinned key: drops the pending list.
    ///
    /// # Errors
    /// [`Error::NoPendingChange`] if no change is pending.
    pub fn reject_account_key_change(&mut self) -> Result<(), Error> {
        self.pending.take().map(|_| ()).ok_or(Error::NoPendingChange)
    }

    /// The identity key device `device` must have.
    ///
    /// # Errors
    /// As [`authorize`](Self::authorize), without the key comparison.
    pub fn device_identity(&self, device: DeviceId) -> Result<&IdentityKey, Error> {
        if self.pending.is_some() {
            return Err(Error::AccountKeyChanged);
        }
        self.list.identity_of(device).ok_or(Error::UnknownDevice { device: device.get() })
    }

    /// Whether a session with device `device` whose (authenticated) remote
    /// identity is `identity` may send and receive.
    ///
    /// # Errors
    /// In this order: [`Error::AccountKeyChanged`] while an account key
    /// change waits for the caller's decision; [`Error::UnknownDevice`] if
    /// the newest list does not name the device; [`Error::WrongIdentity`] if
    /// it names it with another identity key (compared in constant time).
    pub fn authorize(&self, device: DeviceId, identity: &IdentityKey) -> Result<(), Error> {
        let expected = self.device_identity(device)?;
        if ct_eq(expected.as_bytes(), identity.as_bytes()) {
            Ok(())
        } else {
            Err(Error::WrongIdentity)
        }
    }

    /// The safety number between the local user (`local_user_id`,
    /// `local_account`) and this peer's pinned account key: what the two
    /// users compare to move from [`TrustLevel::TrustedOnFirstUse`] to
    /// [`TrustLevel::Verified`].
    ///
    /// # Errors
    /// As [`SafetyNumber::for_accounts`].
    pub fn safety_number(
        &self,
        local_user_id: &[u8],
        local_account: &AccountKey,
    ) -> Result<SafetyNumber, Error> {
        SafetyNumber::for_accounts(local_user_id, local_account, &self.user_id, self.account_key())
    }
}

impl fmt::Debug for PeerAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerAccount")
            .field("user_id_len", &self.user_id.len())
            .field("level", &self.level)
            .field("account_key", self.account_key())
            .field("epoch", &self.list.epoch())
            .field("devices", &self.list.len())
            .field("pending_change", &self.pending.is_some())
            .finish()
    }
}

#[derive(PartialEq, Eq)]
enum Ordering {
    Same,
    Newer,
}

/// Compares a candidate list with the held one, under the same key.
fn compare(held: &DeviceList, candidate: &DeviceList) -> Result<Ordering, Error> {
    use core::cmp::Ordering as O;
    match candidate.epoch().cmp(&held.epoch()) {
        O::Less => Err(Error::DeviceListRollback { held: held.epoch(), got: candidate.epoch() }),
        O::Equal if candidate == held => Ok(Ordering::Same),
        O::Equal => Err(Error::DeviceListConflict { epoch: held.epoch() }),
        O::Greater => Ok(Ordering::Newer),
    }
}

fn diff(old: &DeviceList, new: &DeviceList) -> DeviceListUpdate {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut reinstalled = Vec::new();
    for (d, k) in new.devices() {
        match old.identity_of(d) {
            None => added.push(d),
            Some(old_k) if old_k != k => reinstalled.push(d),
            Some(_) => {}
        }
    }
    for (d, _) in old.devices() {
        if new.identity_of(d).is_none() {
            removed.push(d);
        }
    }
    DeviceListUpdate::Updated { added, removed, reinstalled }
}
