//! `docs/protocol-coverage.md` tells users which versions of which APIs
//! Sluice serves; this test holds its table to [`API_TABLE`].

use std::collections::BTreeMap;

use super::table::API_TABLE;

const DOC: &str = include_str!("../../docs/protocol-coverage.md");

/// One row of the doc's table: the API's name, key and version range.
#[derive(Debug, PartialEq)]
struct DocRow {
    name: String,
    key: i16,
    versions: (i16, i16),
}

/// The rows of the first markdown table: `| Name (key) | min–max | notes |`
/// (or a single version), header and separator rows skipped.
fn doc_rows(doc: &str) -> Result<Vec<DocRow>, String> {
    let mut rows = Vec::new();
    let lines = doc
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'));
    for line in lines.skip(2) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(api), Some(versions)) = (cells.get(1), cells.get(2)) else {
            return Err(format!("not a table row: {line}"));
        };
        let (name, key) = api
            .strip_suffix(')')
            .and_then(|a| a.split_once(" ("))
            .ok_or_else(|| format!("API cell is not `Name (key)`: {api}"))?;
        let key = key.parse().map_err(|_| format!("bad api key in {api}"))?;
        let version = |v: &str| {
            v.trim()
                .parse::<i16>()
                .map_err(|_| format!("bad versions for {api}: {versions}"))
        };
        let versions = match versions.split_once(['–', '-']) {
            Some((min, max)) => (version(min)?, version(max)?),
            None => (version(versions)?, version(versions)?),
        };
        rows.push(DocRow {
            name: name.to_string(),
            key,
            versions,
        });
    }
    Ok(rows)
}

fn range((min, max): (i16, i16)) -> String {
    if min == max {
        format!("v{min}")
    } else {
        format!("v{min}–v{max}")
    }
}

/// Every way the doc's rows and the table disagree.
fn mismatches(rows: &[DocRow]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut documented: BTreeMap<i16, &DocRow> = BTreeMap::new();
    for row in rows {
        if documented.insert(row.key, row).is_some() {
            problems.push(format!(
                "{} ({}) has two rows in the doc",
                row.name, row.key
            ));
        }
    }
    for api in API_TABLE {
        let served = (api.min_version, api.max_version);
        match documented.remove(&(api.key as i16)) {
            None => problems.push(format!(
                "{} ({}) is served ({}) but has no row in the doc",
                api.name,
                api.key as i16,
                range(served)
            )),
            Some(row) => {
                if row.versions != served {
                    problems.push(format!(
                        "{} ({}): the doc says {}, the table serves {}",
                        api.name,
                        api.key as i16,
                        range(row.versions),
                        range(served)
                    ));
                }
                if row.name != api.name {
                    problems.push(format!(
                        "key {}: the doc names it {}, the table {}",
                        row.key, row.name, api.name
                    ));
                }
            }
        }
    }
    for row in documented.values() {
        problems.push(format!(
            "{} ({}): the doc lists {}, the table does not serve it",
            row.name,
            row.key,
            range(row.versions)
        ));
    }
    problems
}

#[test]
fn the_coverage_doc_lists_exactly_the_served_versions() {
    let rows = doc_rows(DOC).unwrap();
    let problems = mismatches(&rows);
    assert!(
        problems.is_empty(),
        "docs/protocol-coverage.md disagrees with dispatch::API_TABLE:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_wrong_range_is_named_with_both_ranges() {
    let doc = "intro\n\n| API (key) | versions | notes |\n|---|---|---|\n\
               | Produce (0) | 3–12 | x |\n| Fetch (1) | 4-18 | y |\n| Bogus (999) | 0 | z |\n";
    let rows = doc_rows(doc).unwrap();
    assert_eq!(
        rows[1].versions,
        (4, 18),
        "a hyphen works as well as an en dash"
    );
    let problems = mismatches(&rows);
    assert!(
        problems.contains(&"Produce (0): the doc says v3–v12, the table serves v3–v13".to_string()),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("Metadata (3) is served")),
        "{problems:?}"
    );
    assert!(
        problems
            .contains(&"Bogus (999): the doc lists v0, the table does not serve it".to_string()),
        "{problems:?}"
    );
}
