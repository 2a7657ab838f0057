//! A base revision's file read from the object database: streamed where
//! git stores it whole, and byte for byte what libgit2 reads.

use std::io::Read;
use std::path::Path;

use dslp_bot::revision::{Blob, Revisions};

use crate::support::git;

/// A CSV of `rows` rows that does not compress to nothing.
fn table(rows: usize, salt: u64) -> String {
    let mut text = String::from("id,region,amount\n");
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ salt;
    for i in 0..rows {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push_str(&format!("{i},r{},{}\n", state % 50, state % 100_000));
    }
    text
}

fn contents(blob: Blob) -> (bool, Vec<u8>) {
    match blob {
        Blob::Whole(bytes) => (false, bytes),
        Blob::Streamed(mut stream) => {
            let mut bytes = Vec::new();
            stream
                .reader
                .read_to_end(&mut bytes)
                .expect("the stream reads");
            assert_eq!(bytes.len() as u64, stream.size, "the stated size");
            (true, bytes)
        }
    }
}

fn commit(dir: &Path, rows: usize, salt: u64, message: &str) {
    std::fs::write(dir.join("data.csv"), table(rows, salt)).unwrap();
    std::fs::write(dir.join("small.csv"), "a,b\n1,2\n").unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", message]);
}

#[test]
fn large_blobs_stream_from_loose_objects_and_packs_as_libgit2_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    commit(dir.path(), 20_000, 1, "first");
    let revisions = Revisions::discover(dir.path()).unwrap();
    let expected = revisions.read("HEAD", "data.csv").unwrap();

    // Loose.
    let (streamed, bytes) = contents(revisions.open("HEAD", "data.csv").unwrap());
    assert!(streamed, "a loose blob over 1 KiB streams");
    assert!(bytes == expected);
    // A small file (an LFS pointer's size) is read whole.
    let (streamed, bytes) = contents(revisions.open("HEAD", "small.csv").unwrap());
    assert!(!streamed);
    assert_eq!(bytes, b"a,b\n1,2\n");

    // Packed, and then one version a delta of the other.
    git(dir.path(), &["gc", "-q"]);
    let (streamed, bytes) = contents(revisions.open("HEAD", "data.csv").unwrap());
    assert!(streamed, "a blob stored whole in a pack streams");
    assert!(bytes == expected);
    let mut edited = table(20_000, 1);
    edited.push_str("20000,r1,5\n");
    std::fs::write(dir.path().join("data.csv"), edited.as_bytes()).unwrap();
    git(dir.path(), &["commit", "-q", "-am", "one more row"]);
    git(dir.path(), &["gc", "-q", "--aggressive"]);
    let revisions = Revisions::discover(dir.path()).unwrap();
    let mut kinds = Vec::new();
    for (rev, want) in [("HEAD", edited.as_bytes()), ("HEAD~1", &expected[..])] {
        let (streamed, bytes) = contents(revisions.open(rev, "data.csv").unwrap());
        assert!(bytes == want, "{rev} reads as libgit2 reads it");
        kinds.push(streamed);
    }
    // git keeps one version whole and the other as a delta against it: the
    // delta is left to libgit2.
    assert_eq!(kinds.iter().filter(|s| **s).count(), 1, "{kinds:?}");
}

#[test]
fn a_damaged_loose_object_is_an_error_not_a_short_file() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    commit(dir.path(), 20_000, 2, "first");
    let id = git(dir.path(), &["rev-parse", "HEAD:data.csv"]);
    let object = dir
        .path()
        .join(".git/objects")
        .join(&id[..2])
        .join(&id[2..]);
    let mut deflated = std::fs::read(&object).unwrap();
    let middle = deflated.len() / 2;
    for byte in &mut deflated[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    let mut permissions = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&object, permissions).unwrap();
    std::fs::write(&object, deflated).unwrap();

    let revisions = Revisions::discover(dir.path()).unwrap();
    let read = match revisions.open("HEAD", "data.csv") {
        Ok(Blob::Streamed(mut stream)) => stream.reader.read_to_end(&mut Vec::new()).map(|_| ()),
        Ok(Blob::Whole(_)) => panic!("a damaged blob was read whole as if it were fine"),
        Err(e) => panic!("the blob's header is intact, so it opens: {e}"),
    };
    assert!(read.is_err(), "the damage is reported");
}
