//! The one shared in-memory to-do list (not per user).

use std::sync::Mutex;

use serde::Serialize;

/// One to-do item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Todo {
    pub(crate) id: String,
    pub(crate) title: String,
}

#[derive(Debug, Default)]
struct Inner {
    items: Vec<Todo>,
    next_id: u64,
}

/// The server's to-do list.
#[derive(Debug, Default)]
pub(crate) struct TodoList(Mutex<Inner>);

impl TodoList {
    pub(crate) fn list(&self) -> Vec<Todo> {
        self.lock().items.clone()
    }

    pub(crate) fn create(&self, title: String) -> Todo {
        let mut inner = self.lock();
        inner.next_id += 1;
        let todo = Todo {
            id: inner.next_id.to_string(),
            title,
        };
        inner.items.push(todo.clone());
        todo
    }

    pub(crate) fn delete(&self, id: &str) -> Option<Todo> {
        let mut inner = self.lock();
        let index = inner.items.iter().position(|t| t.id == id)?;
        Some(inner.items.remove(index))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
