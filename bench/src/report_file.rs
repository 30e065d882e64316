//! `bench/report.md`: one section per suite, each under its own `## ` heading. A run replaces
//! the sections it measured and keeps the others from the file as it was.

/// The report's title line.
const TITLE: &str = "# chatcode benchmarks";

/// The report with `fresh` sections (each starting with its heading line) in place of the old
/// ones of the same heading; sections appear in the order of `order` (headings).
pub fn merge(old: &str, fresh: &[String], order: &[&str]) -> String {
    let kept = sections(old);
    let mut out = format!("{TITLE}\n");
    for heading in order {
        let section = fresh
            .iter()
            .find(|s| first_line(s) == *heading)
            .map(String::as_str)
            .or_else(|| kept.iter().find(|s| first_line(s) == *heading).copied());
        if let Some(section) = section {
            out.push('\n');
            out.push_str(section.trim_end());
            out.push('\n');
        }
    }
    out
}

/// The `## ` sections of a report, each from its heading to the next.
fn sections(report: &str) -> Vec<&str> {
    let starts: Vec<usize> = line_starts(report)
        .filter(|&at| report[at..].starts_with("## "))
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| &report[start..starts.get(i + 1).copied().unwrap_or(report.len())])
        .collect()
}

fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1))
}

fn first_line(section: &str) -> &str {
    section.lines().next().unwrap_or_default().trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: [&str; 3] = ["## a", "## b", "## c"];

    #[test]
    fn fresh_sections_replace_old_ones_and_the_rest_are_kept_in_order() {
        let old = "# chatcode benchmarks\n\n## c\nold c\n\n## a\nold a\n| x |\n";
        let merged = merge(old, &["## a\nnew a\n".to_owned()], &ORDER);
        assert_eq!(
            merged,
            "# chatcode benchmarks\n\n## a\nnew a\n\n## c\nold c\n"
        );
    }

    #[test]
    fn an_empty_or_foreign_file_keeps_nothing() {
        let merged = merge(
            "some notes\n# old title\n",
            &["## b\nb\n".to_owned()],
            &ORDER,
        );
        assert_eq!(merged, "# chatcode benchmarks\n\n## b\nb\n");
    }
}
