//! The space left for the archive: recording stops before the disk is full, so that what was
//! recorded can still be finalised and nothing already written is damaged.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes an unprivileged writer may still use on the filesystem holding `path` (statvfs's
/// available blocks), or `None` when it cannot be told (the path is gone).
pub fn available_bytes(path: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// How a recording guards the disk: it stops once `free` says less than the reserve (bytes,
/// as it stands when looked at: the hub's setting) is left — checked when the recording
/// starts and about every second.
pub struct DiskGuard {
    pub reserve: Arc<AtomicU64>,
    pub free: Box<dyn Fn() -> Option<u64> + Send>,
}

impl DiskGuard {
    /// The guard of a recording into `dir` on a real disk.
    pub fn of(dir: &Path, reserve: Arc<AtomicU64>) -> DiskGuard {
        let dir = dir.to_path_buf();
        DiskGuard {
            reserve,
            free: Box::new(move || {
                // The session's directory once made, else the nearest parent that exists.
                dir.ancestors().find_map(available_bytes)
            }),
        }
    }

    pub fn reserve_bytes(&self) -> u64 {
        self.reserve.load(Ordering::Relaxed)
    }

    /// When the space left is below the reserve: how much is left.
    pub fn short(&self) -> Option<u64> {
        let reserve = self.reserve_bytes();
        (self.free)().filter(|free| *free < reserve)
    }
}

impl std::fmt::Debug for DiskGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskGuard")
            .field("reserve_bytes", &self.reserve_bytes())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_space_left_is_read_and_compared_with_the_reserve() {
        let here = available_bytes(&std::env::temp_dir()).expect("statvfs works here");
        assert!(here > 0);
        assert_eq!(available_bytes(Path::new("/no/such/place")), None);
        let nested = std::env::temp_dir().join("not-made-yet/a/b");
        let reserve = Arc::new(AtomicU64::new(0));
        let guard = DiskGuard::of(&nested, reserve.clone());
        assert_eq!(guard.short(), None);
        reserve.store(u64::MAX, Ordering::Relaxed);
        assert!(
            guard.short().is_some(),
            "nothing is above the largest reserve"
        );
    }
}
