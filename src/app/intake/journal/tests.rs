use super::*;

fn delivery(id: &str, job: bool) -> NewDelivery {
    NewDelivery {
        id: id.into(),
        event: "pull_request".into(),
        action: (!job).then(|| "opened".to_string()),
        installation: job.then_some(u64::MAX - 1),
        job: job.then(|| NewJob {
            key: "o/r#1".into(),
            evaluates: true,
            payload: vec![7; 300],
        }),
    }
}

/// Opens the journal and collects what it replays.
fn open(path: &Path, capacity: u64) -> anyhow::Result<(Journal, Vec<NewDelivery>)> {
    let mut held = Vec::new();
    let (journal, count) = Journal::open(path, capacity, |batch| {
        held.extend_from_slice(batch);
        Ok(())
    })?;
    assert_eq!(count, held.len());
    Ok((journal, held))
}

/// Appends the deliveries as one group; answers its length in bytes.
fn append(journal: &mut Journal, deliveries: &[NewDelivery]) -> usize {
    let mut records = Vec::new();
    for d in deliveries {
        Journal::encode(d, &mut records);
    }
    assert!(journal.fits(records.len()));
    journal.append(&mut records, || ()).unwrap();
    records.len()
}

fn ids(deliveries: &[NewDelivery]) -> Vec<&str> {
    deliveries.iter().map(|d| d.id.as_str()).collect()
}

#[test]
fn a_new_journal_is_zero_filled_and_holds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let (journal, held) = open(&path, 1 << 16).unwrap();
    assert!(held.is_empty());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 16);
    assert_eq!(journal.generation, 1);
    assert!(std::fs::read(&path).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn appended_records_are_read_back_in_order_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let (mut journal, _) = open(&path, 1 << 16).unwrap();
    append(&mut journal, &[delivery("a", true), delivery("b", false)]);
    append(&mut journal, &[delivery("c", true)]);
    drop(journal);
    let (reopened, held) = open(&path, 1 << 16).unwrap();
    assert_eq!(ids(&held), ["a", "b", "c"]);
    let (a, b) = (&held[0], &held[1]);
    assert_eq!(
        (a.installation, a.action.as_deref(), b.action.as_deref()),
        (Some(u64::MAX - 1), None, Some("opened"))
    );
    let job = a.job.as_ref().unwrap();
    assert_eq!(
        (job.key.as_str(), job.evaluates, job.payload.len()),
        ("o/r#1", true, 300)
    );
    assert!(b.job.is_none());
    // The next run writes under a newer generation.
    assert_eq!(reopened.generation, 2);
}

#[test]
fn a_torn_record_ends_the_journal_and_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let (mut journal, _) = open(&path, 1 << 16).unwrap();
    let three = ["a", "b", "c"].map(|id| delivery(id, true));
    let written = append(&mut journal, &three);
    drop(journal);
    // The third record's last bytes never reached the disk.
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&[0; 20], written as u64 - 20).unwrap();
    let (_, held) = open(&path, 1 << 16).unwrap();
    assert_eq!(ids(&held), ["a", "b"]);
    // A flipped bit in the middle is caught by the checksum too.
    file.write_all_at(b"X", 30).unwrap();
    let (_, held) = open(&path, 1 << 16).unwrap();
    assert!(held.is_empty());
}

#[test]
fn after_a_restart_older_records_further_on_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let (mut journal, _) = open(&path, 4096).unwrap();
    let old = append(
        &mut journal,
        &["old-1", "old-2", "old-3"].map(|id| delivery(id, true)),
    );
    assert!(!journal.fits(old * 3));
    journal.restart().unwrap();
    let new = append(&mut journal, &[delivery("new", false)]);
    assert!(new < old / 3, "the new record is shorter than an old one");
    drop(journal);
    let (reopened, held) = open(&path, 4096).unwrap();
    assert_eq!(ids(&held), ["new"]);
    // 1 wrote the old records; the restart's empty marks are 2 and 3.
    assert_eq!(reopened.generation, 4);
}

#[test]
fn a_restarted_journal_holds_nothing_until_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let (mut journal, _) = open(&path, 1 << 16).unwrap();
    append(&mut journal, &[delivery("a", true)]);
    journal.restart().unwrap();
    drop(journal);
    let (reopened, held) = open(&path, 1 << 16).unwrap();
    assert!(held.is_empty());
    assert_eq!(reopened.generation, 4, "past the empty marks' generations");
}

/// A side is written again only once the database has what it held;
/// until then both sides are read, the older first, and what is left
/// of an older generation past the newer records is not.
#[test]
fn the_older_side_is_read_first_and_stale_records_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let (mut journal, _) = open(&path, 8192).unwrap();
    journal.restart().unwrap();
    append(&mut journal, &[delivery("a", true)]);
    append(&mut journal, &[delivery("b", true)]);
    journal.switch_sides();
    assert_eq!(journal.side(), 1);
    // Before the first append, side 1 still reads as empty.
    assert_eq!(ids(&open(&path, 8192).unwrap().1), ["a", "b"]);
    append(&mut journal, &[delivery("c", true)]);
    assert_eq!(ids(&open(&path, 8192).unwrap().1), ["a", "b", "c"]);
    journal.switch_sides();
    // Shorter than "a": "a"'s tail and "b" stay behind it in side 0.
    append(&mut journal, &[delivery("d", false)]);
    assert_eq!(ids(&open(&path, 8192).unwrap().1), ["c", "d"]);
    // A side torn at its first record holds nothing; the other stays.
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&[0; 8], 20).unwrap();
    assert_eq!(ids(&open(&path, 8192).unwrap().1), ["c"]);
}

#[test]
fn generations_compare_across_the_wrap() {
    assert!(newer(1, 2) && !newer(2, 1));
    assert!(newer(u32::MAX, 1), "1 follows u32::MAX (0 is skipped)");
    assert!(newer(0, 5) && !newer(5, 0) && !newer(0, 0));
    assert_eq!(next_generation(u32::MAX), 1);
}

#[test]
fn garbage_is_not_a_record() {
    assert!(decode(b"").is_none());
    assert!(decode(&[9, 0, 0, 0, b'x']).is_none());
    let mut body = Vec::new();
    put_bytes(&mut body, b"id");
    put_bytes(&mut body, b"push");
    body.extend_from_slice(&[0, 0, 0]);
    assert!(decode(&body).is_some());
    body.push(0);
    assert!(decode(&body).is_none(), "trailing bytes");
}
