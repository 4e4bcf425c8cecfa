//! The one way this crate takes a lock. Every shared structure here is
//! updated so that a panic half-way cannot leave it inconsistent (values are
//! built first, then stored in one assignment), so a lock poisoned by a
//! panicking thread is still safe to use: recover it instead of spreading
//! the panic to every later caller.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks a mutex, recovering it if a panicking holder poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Read-locks a `RwLock`, recovering it if poisoned.
pub fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

/// Write-locks a `RwLock`, recovering it if poisoned.
pub fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
