//! A directory whose disk a test can fill and free again.
//!
//! As root it is a small tmpfs of its own, filled with a ballast file: the
//! real "database or disk is full". Where mounting is not allowed, the
//! process's file-size limit (RLIMIT_FSIZE) stands in for the full disk:
//! writes past it fail as they would on a full one. (Each test runs in a
//! process of its own under nextest, so the limit touches nothing else.)

use std::io::Write;
use std::path::{Path, PathBuf};

pub struct DiskLimit {
    dir: tempfile::TempDir,
    mounted: bool,
}

const SIZE: &str = "8m";

impl DiskLimit {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = is_root()
            && std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={SIZE}"), "tmpfs"])
                .arg(dir.path())
                .status()
                .is_ok_and(|status| status.success());
        if !mounted {
            // Writing past the limit must fail, not kill the process.
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
        }
        Self { dir, mounted }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn ballast(&self) -> PathBuf {
        self.dir.path().join("ballast")
    }

    /// No more room: the next write that needs space fails.
    pub fn fill(&self) {
        if self.mounted {
            let mut file = std::fs::File::create(self.ballast()).expect("ballast");
            let block = vec![0u8; 64 * 1024];
            while file.write_all(&block).is_ok() {}
            let small = [0u8; 512];
            while file.write_all(&small).is_ok() {}
            let _ = file.sync_all();
        } else {
            let used = std::fs::read_dir(self.path())
                .map(|entries| {
                    entries
                        .flatten()
                        .filter_map(|entry| entry.metadata().ok())
                        .map(|meta| meta.len())
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            set_file_size_limit(used + 64 * 1024);
        }
    }

    /// Room again.
    pub fn free(&self) {
        if self.mounted {
            std::fs::remove_file(self.ballast()).expect("remove ballast");
        } else {
            set_file_size_limit(libc::RLIM_INFINITY);
        }
    }
}

impl Drop for DiskLimit {
    fn drop(&mut self) {
        if self.mounted {
            let _ = std::process::Command::new("umount")
                .args(["-l"])
                .arg(self.dir.path())
                .status();
        } else {
            set_file_size_limit(libc::RLIM_INFINITY);
        }
    }
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn set_file_size_limit(bytes: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit);
        limit.rlim_cur = bytes.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0, "setrlimit");
    }
}
