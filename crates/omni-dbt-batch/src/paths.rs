//! Whether two paths name the same file, so that a command never writes over what it reads.

use std::path::{Path, PathBuf};

/// Whether `a` and `b` name the same file however spelled: through symbolic links and `..`, and
/// on Unix through hard links too (same device and inode). A file that does not exist yet is
/// compared by its directory's real path and its name.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    same_inode(a, b) || real(a) == real(b)
}

/// Whether both paths exist and are one inode (a hard link is another name for it).
#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

fn real(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_is_recognised_through_another_spelling_even_before_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.csv");
        let other = dir.path().join("sub").join("..").join("r.csv");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(same_file(&file, &other), "not yet created");
        std::fs::write(&file, "x").unwrap();
        assert!(same_file(&file, &other));
        assert!(!same_file(&file, &dir.path().join("s.csv")));
    }
}
