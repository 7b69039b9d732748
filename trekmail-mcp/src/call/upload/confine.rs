//! Which local files an upload may read: only regular files inside the directories the operator
//! named (`TREKMAIL_UPLOAD_DIR`), checked on what was actually opened.
//!
//! The path is resolved first (symlinks, `..`, relative paths against the first directory) and
//! must lie inside a directory and be a regular file; that check keeps a FIFO or a device from
//! being opened at all (opening a FIFO would wait for a writer). Then the file is opened and
//! what was opened is checked again: its real path, read back from `/proc/self/fd` (Linux),
//! must still lie inside a directory, and `fstat` on the open file must say it is a regular file
//! with the device and inode the resolved path had. A symlink or directory swapped in between
//! the check and the open is refused. Only `std`: no `O_NOFOLLOW` constant (its value differs
//! between architectures and `std` does not export it), the check after the open replaces it.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::catalog::map::GateName;

/// The directories uploads may read from, each resolved once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDirs(Vec<PathBuf>);

impl UploadDirs {
    /// `TREKMAIL_UPLOAD_DIR`: one directory or several separated by the path separator (`:`).
    /// `Err` names each entry that is not an existing directory.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut dirs = Vec::new();
        let mut problems = Vec::new();
        for d in std::env::split_paths(value.trim()) {
            if d.as_os_str().is_empty() {
                continue;
            }
            match std::fs::canonicalize(&d) {
                Ok(real) if real.is_dir() => dirs.push(real),
                Ok(_) => problems.push(format!("{} is not a directory", d.display())),
                Err(e) => problems.push(format!("{}: {e}", d.display())),
            }
        }
        if dirs.is_empty() && problems.is_empty() {
            problems.push("names no directory".into());
        }
        if problems.is_empty() {
            Ok(Self(dirs))
        } else {
            Err(format!(
                "{}: {}",
                GateName::UploadDir.env_var(),
                problems.join("; ")
            ))
        }
    }

    /// The directories, resolved.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.0
    }

    fn inside(&self, real: &Path) -> bool {
        self.0.iter().any(|d| real.starts_with(d) && real != d)
    }
}

/// A file opened for upload, and what is known of it.
#[derive(Debug)]
pub struct Opened {
    /// The open file.
    pub file: File,
    /// Its real path.
    pub path: PathBuf,
    /// Its size when opened.
    pub len: u64,
    /// Its modification time when opened (seconds, nanoseconds), to notice a change.
    pub mtime: (i64, i64),
}

impl Opened {
    /// Whether the file changed since it was opened (size or modification time).
    pub fn changed(&self) -> bool {
        match self.file.metadata() {
            Ok(m) => m.len() != self.len || (m.mtime(), m.mtime_nsec()) != self.mtime,
            Err(_) => true,
        }
    }
}

/// Opens `given` for upload if it lies inside `dirs` and is a regular file. `Err` says why not,
/// in words naming the path as given and the variable, never the file's contents.
pub fn open(dirs: &UploadDirs, given: &str) -> Result<Opened, String> {
    let refuse = |why: &str| {
        Err(format!(
            "{given:?} cannot be uploaded: {why}. Only regular files inside {} ({}) may be; nothing was sent.",
            GateName::UploadDir.env_var(),
            dirs.0
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    };
    if given.trim().is_empty() || given.contains('\0') {
        return refuse("the path is empty or holds a NUL");
    }
    let Some(first) = dirs.0.first() else {
        return refuse("no upload directory is configured");
    };
    let path = Path::new(given);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        first.join(path)
    };
    let Ok(real) = std::fs::canonicalize(&joined) else {
        return refuse("it does not exist or cannot be resolved");
    };
    if !dirs.inside(&real) {
        return refuse("it resolves outside the upload directories");
    }
    let Ok(before) = std::fs::metadata(&real) else {
        return refuse("it cannot be read");
    };
    if !before.is_file() {
        return refuse(&format!(
            "it is not a regular file (it is {})",
            kind(&before)
        ));
    }
    let Ok(file) = File::open(&real) else {
        return refuse("it cannot be opened");
    };
    // What was opened, not what the path names now.
    let Ok(opened) = file.metadata() else {
        return refuse("it cannot be read");
    };
    if !opened.is_file() {
        return refuse(&format!(
            "it is not a regular file (it is {})",
            kind(&opened)
        ));
    }
    if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
        return refuse("it was replaced while it was opened");
    }
    if let Some(opened_path) = fd_path(&file)
        && (!dirs.inside(&opened_path) || opened_path != real)
    {
        return refuse("what was opened is not the file that was checked");
    }
    Ok(Opened {
        len: opened.len(),
        mtime: (opened.mtime(), opened.mtime_nsec()),
        file,
        path: real,
    })
}

/// The real path of an open file, from `/proc/self/fd` (Linux); `None` where there is none.
fn fd_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd as _;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

fn kind(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::symlink;

    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tmp() -> Tmp {
        let p = std::env::temp_dir().join(format!("trekmail-upload-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(p.join("up/sub")).unwrap();
        std::fs::create_dir_all(p.join("out")).unwrap();
        std::fs::write(p.join("up/a.txt"), b"inside").unwrap();
        std::fs::write(p.join("up/sub/b.txt"), b"deeper").unwrap();
        std::fs::write(p.join("out/secret.txt"), b"TOP-SECRET-CONTENT").unwrap();
        Tmp(p)
    }

    fn dirs(t: &Tmp) -> UploadDirs {
        UploadDirs::parse(t.0.join("up").to_str().unwrap()).unwrap()
    }

    fn refused(d: &UploadDirs, p: &str, why: &str) {
        let e = open(d, p).unwrap_err();
        assert!(e.contains(why), "{p}: {e}");
        assert!(
            e.contains("TREKMAIL_UPLOAD_DIR") && e.contains("nothing was sent"),
            "{e}"
        );
        assert!(!e.contains("TOP-SECRET"), "{e}");
    }

    #[test]
    fn files_inside_pass_relative_or_absolute() {
        let t = tmp();
        let d = dirs(&t);
        assert_eq!(open(&d, "a.txt").unwrap().len, 6);
        assert_eq!(open(&d, "sub/b.txt").unwrap().len, 6);
        let abs = t.0.join("up/sub/b.txt");
        assert_eq!(open(&d, abs.to_str().unwrap()).unwrap().len, 6);
        assert_eq!(open(&d, "sub/../a.txt").unwrap().len, 6);
    }

    #[test]
    fn outside_dot_dot_absolute_and_symlinks_out_are_refused() {
        let t = tmp();
        let d = dirs(&t);
        refused(&d, "../out/secret.txt", "outside");
        refused(&d, t.0.join("out/secret.txt").to_str().unwrap(), "outside");
        refused(&d, "/etc/passwd", "outside");
        symlink(t.0.join("out/secret.txt"), t.0.join("up/link")).unwrap();
        refused(&d, "link", "outside");
        symlink(t.0.join("out"), t.0.join("up/dirlink")).unwrap();
        refused(&d, "dirlink/secret.txt", "outside");
        refused(&d, "missing.txt", "does not exist");
        refused(&d, "", "empty");
    }

    #[test]
    fn a_directory_and_a_fifo_are_refused_without_opening() {
        let t = tmp();
        let d = dirs(&t);
        refused(&d, "sub", "a directory");
        // The upload directory itself is not a file inside it.
        refused(&d, ".", "outside");
        let fifo = t.0.join("up/pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if made {
            // Opening a FIFO would block: the check before the open refuses it, at once.
            refused(&d, "pipe", "a FIFO");
        } else {
            eprintln!("mkfifo not available: FIFO case not run");
        }
    }

    #[test]
    fn a_symlink_swapped_in_after_the_check_is_refused() {
        let t = tmp();
        let d = dirs(&t);
        let target = t.0.join("up/a.txt");
        let before = std::fs::metadata(&target).unwrap();
        // The swap: the checked file is replaced by a symlink out before the open.
        std::fs::remove_file(&target).unwrap();
        symlink(t.0.join("out/secret.txt"), &target).unwrap();
        // What open() does after its check, on the swapped path: the file it opens is not the
        // one it checked (device and inode), and its real path is outside.
        let file = File::open(&target).unwrap();
        let m = file.metadata().unwrap();
        assert_ne!((m.dev(), m.ino()), (before.dev(), before.ino()));
        let real = fd_path(&file).unwrap();
        assert!(!d.inside(&real), "{}", real.display());
        // And open() as a whole refuses it.
        refused(&d, "a.txt", "outside");
    }

    #[test]
    fn a_file_that_grows_after_opening_is_noticed() {
        let t = tmp();
        let d = dirs(&t);
        let o = open(&d, "a.txt").unwrap();
        assert!(!o.changed());
        std::fs::OpenOptions::new()
            .append(true)
            .open(t.0.join("up/a.txt"))
            .unwrap();
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(t.0.join("up/a.txt"))
            .unwrap();
        f.write_all(b" more").unwrap();
        assert!(o.changed());
    }

    #[test]
    fn several_directories_and_bad_entries() {
        let t = tmp();
        let both = format!("{}:{}", t.0.join("up").display(), t.0.join("out").display());
        let d = UploadDirs::parse(&both).unwrap();
        assert_eq!(d.dirs().len(), 2);
        assert!(open(&d, t.0.join("out/secret.txt").to_str().unwrap()).is_ok());
        let e =
            UploadDirs::parse(&format!("{}:/no/such/dir", t.0.join("up").display())).unwrap_err();
        assert!(
            e.contains("TREKMAIL_UPLOAD_DIR") && e.contains("/no/such/dir"),
            "{e}"
        );
        let e = UploadDirs::parse(t.0.join("up/a.txt").to_str().unwrap()).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
    }
}
