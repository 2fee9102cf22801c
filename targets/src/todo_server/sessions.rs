//! MCP sessions (`Mcp-Session-Id`), bound to the user (`sub`) that created them.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rand::RngCore as _;

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The `sub` of the token that initialized the session.
    pub(crate) owner: Option<String>,
    /// The scopes granted at initialization (used only by the session-as-auth defect).
    pub(crate) scopes: BTreeSet<String>,
}

/// All live sessions.
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    counter: AtomicU64,
}

impl SessionStore {
    /// Creates a session; the id is 128 random bits in hex, or `session-N` when `sequential`.
    pub(crate) fn create(&self, session: Session, sequential: bool) -> String {
        let id = if sequential {
            format!(
                "session-{}",
                self.counter.fetch_add(1, Ordering::Relaxed) + 1
            )
        } else {
            let mut bytes = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        self.lock().insert(id.clone(), session);
        id
    }

    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        self.lock().get(id).cloned()
    }

    pub(crate) fn remove(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_128_bit_hex_and_unique() {
        let store = SessionStore::default();
        let s = Session {
            owner: None,
            scopes: BTreeSet::new(),
        };
        let a = store.create(s.clone(), false);
        let b = store.create(s.clone(), false);
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(store.create(s, true), "session-1");
    }
}
