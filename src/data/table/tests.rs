use super::*;
use proptest::prelude::*;

/// Every cell as the reports show it, per column.
fn cells(table: &Table) -> Vec<(String, String, Vec<String>)> {
    table
        .columns
        .iter()
        .map(|c| {
            let values = (0..c.view.len()).map(|r| c.view.display(r)).collect();
            (c.name.clone(), c.dtype.to_string(), values)
        })
        .collect()
}

/// The first cell where two tables differ, if any.
fn difference(a: &Table, b: &Table) -> Option<String> {
    let (a, b) = (cells(a), cells(b));
    if a.len() != b.len() {
        return Some(format!("{} columns vs {}", a.len(), b.len()));
    }
    for ((name, dtype, values), (_, other_dtype, other)) in a.iter().zip(&b) {
        if dtype != other_dtype || values.len() != other.len() {
            return Some(format!(
                "{name}: {dtype}×{} vs {other_dtype}×{}",
                values.len(),
                other.len()
            ));
        }
        if let Some(row) = (0..values.len()).find(|r| values[*r] != other[*r]) {
            return Some(format!(
                "{name} row {row}: {:?} vs {:?}",
                values[row], other[row]
            ));
        }
    }
    None
}

fn read(
    bytes: &[u8],
    block_bytes: usize,
    declared: &[(&str, ColumnType)],
) -> Result<Table, DataError> {
    let declared = declared.iter().map(|(n, t)| (n.to_string(), *t)).collect();
    read_csv_columns(
        Input::Bytes(bytes.to_vec()),
        "t.csv",
        &declared,
        None,
        block_bytes,
    )
}

/// A CSV whose later rows hold what the first do not: quotes with commas
/// and line breaks, CRLF, blank lines, a wrong type in a declared column
/// and text in a column that began as numbers.
fn awkward_csv(rows: usize) -> String {
    let mut csv = String::from("id,amount,note,flag,late\r\n");
    for i in 0..rows {
        let amount = if i == rows - 3 {
            "lots".to_string()
        } else {
            format!("{}.5", i % 17)
        };
        let note = match i % 5 {
            0 => "\"a, b\"".to_string(),
            1 => "\"two\nlines\"".to_string(),
            2 => String::new(),
            3 => "\"say \"\"hi\"\"\"".to_string(),
            _ => format!("n{}", i % 3),
        };
        let late = if i == rows - 2 {
            "x".to_string()
        } else {
            (i % 4).to_string()
        };
        csv.push_str(&format!("{i},{amount},{note},{},{late}\r\n", i % 2 == 0));
        if i % 7 == 0 {
            csv.push_str("\r\n");
        }
    }
    csv
}

#[test]
fn blocks_of_any_size_read_the_same_table() {
    let csv = awkward_csv(400);
    let declared = [("amount", ColumnType::Float), ("flag", ColumnType::Bool)];
    let whole = read(csv.as_bytes(), 1 << 30, &declared).unwrap();
    assert_eq!(whole.rows, 400);
    let amount = &whole.type_violations["amount"];
    assert_eq!(
        (amount.count, amount.examples.clone()),
        (1, vec![(398, "lots".into())])
    );
    for block_bytes in [1, 7, 64, 300, 4096] {
        let blocks = read(csv.as_bytes(), block_bytes, &declared).unwrap();
        assert_eq!(blocks.rows, whole.rows, "{block_bytes}");
        assert_eq!(difference(&blocks, &whole), None, "{block_bytes}");
        assert_eq!(
            blocks.type_violations, whole.type_violations,
            "{block_bytes}"
        );
    }
    // The file is read a block at a time too, from disk.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, &csv).unwrap();
    let declared_map = declared.iter().map(|(n, t)| (n.to_string(), *t)).collect();
    let from_file = read_csv_columns(Input::File(path), "t.csv", &declared_map, None, 97).unwrap();
    assert_eq!(difference(&from_file, &whole), None);
}

#[test]
fn a_late_column_turns_to_text_and_errors_name_their_line_in_any_block() {
    let csv = awkward_csv(300);
    let table = read(csv.as_bytes(), 50, &[]).unwrap();
    let late = table.column("late").unwrap();
    assert_eq!(late.dtype, DataType::String);
    assert_eq!(late.view.display(298), "x");
    assert_eq!(late.view.display(3), "3");
    let ragged = "a,b\n1,2\n3,4\n5\n";
    for block_bytes in [1, 4, 1 << 20] {
        let error = read(ragged.as_bytes(), block_bytes, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.csv:4: the row has 1 fields but the header has 2"
        );
    }
    let unclosed = "a,b\n1,2\n\"3,4\n";
    let error = read(unclosed.as_bytes(), 3, &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("t.csv:3:1: a quoted field is never closed"),
        "{error}"
    );
}

#[test]
fn only_the_wanted_columns_are_kept_and_none_is_fine() {
    let csv = "a,b\n1,2\n3,4\n5,6\n";
    let declared = BTreeMap::new();
    let read_only = |only: &[String]| {
        read_csv_columns(
            csv.as_bytes().to_vec().into(),
            "t",
            &declared,
            Some(only),
            4,
        )
    };
    let none = read_only(&[]).unwrap();
    assert_eq!((none.rows, none.columns.len()), (3, 0));
    let b = read_only(&["b".into()]).unwrap();
    assert_eq!(b.columns.len(), 1);
    assert_eq!(b.columns[0].view.display(2), "6");
}

#[test]
fn quote_free_lines_are_checked_in_pieces_with_their_line_numbers() {
    let mut csv = String::from("a,b\n");
    for i in 0..2000 {
        csv.push_str(&format!("{i},{}\n", i % 3));
        if i % 100 == 0 {
            csv.push('\n');
        }
    }
    let whole = read(csv.as_bytes(), 1 << 30, &[]).unwrap();
    assert_eq!(whole.rows, 2000);
    for block_bytes in [512, 4096] {
        assert_eq!(
            difference(&read(csv.as_bytes(), block_bytes, &[]).unwrap(), &whole),
            None
        );
    }
    // Line 1 is the header; data row 1500 sits on line 1 + 1500 + 15 blank lines.
    let broken = csv.replacen("1499,2\n", "1499,2,9\n", 1);
    for block_bytes in [512, 4096, 1 << 30] {
        let error = read(broken.as_bytes(), block_bytes, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.csv:1516: the row has 3 fields but the header has 2"
        );
    }
    let latin = csv
        .replacen("1499,2\n", "1499,\u{f6}\n", 1)
        .replace('\u{f6}', "\u{1}");
    let mut bytes = latin.into_bytes();
    let at = bytes.iter().position(|b| *b == 1).unwrap();
    bytes[at] = 0xf6;
    let error = read(&bytes, 512, &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("t.csv:1516:6: the file is not UTF-8"),
        "{error}"
    );
}

proptest! {
    #[test]
    fn small_blocks_agree_with_one_block(
        cells_in in proptest::collection::vec(
            proptest::collection::vec("[a-c0-9,\"\n ]{0,4}", 3), 1..40),
        block_bytes in 1usize..200,
    ) {
        let mut csv = String::from("x,y,z\n");
        for row in &cells_in {
            let quoted: Vec<String> =
                row.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
            csv.push_str(&quoted.join(","));
            csv.push('\n');
        }
        // Declared as text: which types polars infers depends on the rows
        // it sees first, and that is the first block's business.
        let text = [("x", ColumnType::String), ("y", ColumnType::String), ("z", ColumnType::String)];
        let whole = read(csv.as_bytes(), 1 << 30, &text);
        let blocks = read(csv.as_bytes(), block_bytes, &text);
        match (whole, blocks) {
            (Ok(whole), Ok(blocks)) => prop_assert_eq!(difference(&blocks, &whole), None),
            (whole, blocks) => prop_assert_eq!(
                whole.map(|t| t.rows).map_err(|e| e.to_string()),
                blocks.map(|t| t.rows).map_err(|e| e.to_string())
            ),
        }
    }
}
