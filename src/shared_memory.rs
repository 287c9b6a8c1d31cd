//! Shared memory for the parts that need it, sized and attached through PostgreSQL's
//! hooks when vibecraft is in shared_preload_libraries: the rate-limit table
//! (rate_limit.rs) and the API key uses waiting to be counted (api_keys.rs).
//! Each part names its block and its LWLock tranche, says how many bytes it needs and
//! fills the block the first time any process attaches it.

use pgrx::pg_sys;
use std::ffi::CStr;

static mut PREV_REQUEST_HOOK: pg_sys::shmem_request_hook_type = None;
static mut PREV_STARTUP_HOOK: pg_sys::shmem_startup_hook_type = None;

/// Called from _PG_init when loaded through shared_preload_libraries.
pub fn register() {
    // SAFETY: _PG_init runs once in the postmaster, before any hook is called.
    unsafe {
        PREV_REQUEST_HOOK = pg_sys::shmem_request_hook;
        pg_sys::shmem_request_hook = Some(request);
        PREV_STARTUP_HOOK = pg_sys::shmem_startup_hook;
        pg_sys::shmem_startup_hook = Some(attach);
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn request() {
    // SAFETY: called by PostgreSQL in the postmaster while shared memory is sized.
    unsafe {
        if let Some(previous) = PREV_REQUEST_HOOK {
            previous();
        }
        for (name, bytes) in [crate::rate_limit::shared_block(), crate::api_keys::shared_block()] {
            pg_sys::RequestAddinShmemSpace(bytes);
            pg_sys::RequestNamedLWLockTranche(name.as_ptr(), 1);
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn attach() {
    // SAFETY: called by PostgreSQL once shared memory exists; AddinShmemInitLock
    // serialises the first initialisation, as PostgreSQL's own modules do.
    unsafe {
        if let Some(previous) = PREV_STARTUP_HOOK {
            previous();
        }
        let init_lock = &raw mut (*pg_sys::MainLWLockArray.add(21)).lock;
        pg_sys::LWLockAcquire(init_lock, pg_sys::LWLockMode::LW_EXCLUSIVE);
        crate::rate_limit::attach(block);
        crate::api_keys::attach(block);
        pg_sys::LWLockRelease(init_lock);
    }
}

/// The block `name` of `bytes` bytes and its lock; `fresh` tells whether this process is
/// the first to attach it (then it is zeroed, and the caller fills it in).
/// Only called from the startup hook, under AddinShmemInitLock.
pub unsafe fn block(name: &CStr, bytes: usize) -> (*mut u8, *mut pg_sys::LWLock, bool) {
    // SAFETY: as documented: inside the startup hook, under AddinShmemInitLock.
    unsafe {
        let mut found = false;
        let at = pg_sys::ShmemInitStruct(name.as_ptr(), bytes, &mut found).cast::<u8>();
        if !found {
            std::ptr::write_bytes(at, 0, bytes);
        }
        let lock = &raw mut (*pg_sys::GetNamedLWLockTranche(name.as_ptr())).lock;
        (at, lock, !found)
    }
}
