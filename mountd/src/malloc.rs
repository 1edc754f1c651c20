//! The allocator's settings for the mount daemon. Its large buffers
//! (fragments of up to 16 MiB, write and read buffers of 1 MiB) come and go
//! at a high rate from many threads. glibc's default raises its mmap
//! threshold after the first such buffer is freed, so later ones come from
//! the heap arenas, which keep freed memory: measured here, 6 parallel
//! writers then readers of 48 MiB files with a 32 MiB cache left the daemon
//! at 127 MiB resident (peak 128); with the threshold fixed at 128 KiB,
//! 53 MiB (peak 73). A fixed threshold maps every large buffer on its own
//! and gives it back to the system when freed.
//!
//! Only the daemon's `main` calls [`tune`]; the library never does.

/// Buffers from this size up are mapped on their own.
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Sets the allocator up as described above, before any thread starts.
/// Returns whether the allocator took the setting (only glibc has it).
pub fn tune() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt takes two integers and only changes settings.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
