//! Splitting a SQL script into single statements, for hosts that execute one statement per
//! call (Spin's `sqlite` `execute`).

/// Splits a SQL script into single statements (without their `;`), for APIs that execute one
/// statement per call.
///
/// A `;` ends a statement except inside `'…'`, `"…"`, `` `…` `` (doubled quotes escape) and
/// `[…]`, inside `--` and `/* */` comments, and inside a `CREATE [TEMP] TRIGGER … BEGIN … END`
/// body (`CASE … END` inside the body is tracked). Comments are removed; statements that are
/// empty once trimmed are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut trigger = TriggerScan::default();
    // `sql[verbatim..i]` is text of the current statement not yet copied into `current`.
    let mut verbatim = 0;
    let mut word_start = None;
    let mut i = 0;

    while i < bytes.len() {
        let b = bytes[i];
        if is_word_byte(b) {
            word_start.get_or_insert(i);
            i += 1;
            continue;
        }
        if let Some(start) = word_start.take() {
            trigger.word(&sql[start..i]);
        }
        let next = bytes.get(i + 1).copied();
        match b {
            b'\'' | b'"' | b'`' => i = skip_quoted(bytes, i, b),
            b'[' => i = find_byte(bytes, i + 1, b']').map_or(bytes.len(), |end| end + 1),
            b'-' if next == Some(b'-') => {
                current.push_str(&sql[verbatim..i]);
                // Keep the newline itself: it separates tokens.
                i = find_byte(bytes, i, b'\n').unwrap_or(bytes.len());
                verbatim = i;
            }
            b'/' if next == Some(b'*') => {
                current.push_str(&sql[verbatim..i]);
                current.push(' ');
                i = find_block_comment_end(bytes, i + 2);
                verbatim = i;
            }
            b';' if trigger.may_end() => {
                current.push_str(&sql[verbatim..i]);
                push_statement(&mut statements, &mut current);
                trigger = TriggerScan::default();
                i += 1;
                verbatim = i;
            }
            _ => i += 1,
        }
    }
    current.push_str(&sql[verbatim..]);
    push_statement(&mut statements, &mut current);
    statements
}

fn push_statement(statements: &mut Vec<String>, current: &mut String) {
    let trimmed = current.trim();
    if !trimmed.is_empty() {
        statements.push(trimmed.to_owned());
    }
    current.clear();
}

/// Identifier and keyword bytes; non-ASCII bytes belong to identifiers too.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn find_byte(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|at| from + at)
}

/// Index just past the quote closing the one at `open`; a doubled quote is an escaped quote.
/// An unterminated quote runs to the end.
fn skip_quoted(bytes: &[u8], open: usize, quote: u8) -> usize {
    let mut from = open + 1;
    while let Some(close) = find_byte(bytes, from, quote) {
        if bytes.get(close + 1) == Some(&quote) {
            from = close + 2;
        } else {
            return close + 1;
        }
    }
    bytes.len()
}

/// Index just past the `*/` at or after `from`, or the end for an unterminated comment.
fn find_block_comment_end(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.windows(2).position(|w| w == b"*/"))
        .map_or(bytes.len(), |at| from + at + 2)
}

/// Tracks whether the statement being scanned is a trigger whose body is still open.
#[derive(Default)]
struct TriggerScan {
    /// Leading words seen (only the first three matter).
    leading: u8,
    /// First word was `CREATE`.
    create: bool,
    /// `CREATE TEMP|TEMPORARY`.
    temp: bool,
    /// The statement is `CREATE [TEMP] TRIGGER`.
    is_trigger: bool,
    /// The body's `BEGIN` was seen.
    begun: bool,
    /// Open `BEGIN`/`CASE` blocks awaiting their `END`.
    depth: u32,
}

impl TriggerScan {
    fn word(&mut self, word: &str) {
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        match self.leading {
            0 => self.create = is("CREATE"),
            1 if self.create => {
                self.is_trigger = is("TRIGGER");
                self.temp = is("TEMP") || is("TEMPORARY");
            }
            2 if self.temp => self.is_trigger = is("TRIGGER"),
            _ => {}
        }
        self.leading = self.leading.saturating_add(1);

        if !self.is_trigger {
            return;
        }
        if !self.begun {
            if is("BEGIN") {
                self.begun = true;
                self.depth = 1;
            }
        } else if self.depth > 0 {
            if is("CASE") {
                self.depth += 1;
            } else if is("END") {
                self.depth -= 1;
            }
        }
    }

    /// Whether a `;` here ends the statement.
    fn may_end(&self) -> bool {
        !self.is_trigger || !self.begun || self.depth == 0
    }
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    fn split(sql: &str) -> Vec<String> {
        split_statements(sql)
    }

    #[test]
    fn splits_on_semicolons_and_trims() {
        assert_eq!(
            split("CREATE TABLE a(x);\n  INSERT INTO a VALUES (1) ;\nSELECT 1"),
            ["CREATE TABLE a(x)", "INSERT INTO a VALUES (1)", "SELECT 1"]
        );
    }

    #[test]
    fn drops_empty_statements() {
        assert!(split("").is_empty());
        assert!(split("  \n\t ").is_empty());
        assert!(split(";;; ;\n;").is_empty());
        assert_eq!(split(";SELECT 1;;SELECT 2;;"), ["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn semicolons_inside_strings_and_identifiers() {
        assert_eq!(
            split("INSERT INTO t VALUES ('a;b', 'it''s; ok');SELECT 2"),
            ["INSERT INTO t VALUES ('a;b', 'it''s; ok')", "SELECT 2"]
        );
        assert_eq!(
            split(r#"CREATE TABLE "we;ird""name" (x);SELECT 1"#),
            [r#"CREATE TABLE "we;ird""name" (x)"#, "SELECT 1"]
        );
        assert_eq!(
            split("SELECT `a;b`, [c;d] FROM t;SELECT 3"),
            ["SELECT `a;b`, [c;d] FROM t", "SELECT 3"]
        );
        assert_eq!(split("SELECT '';SELECT ''''"), ["SELECT ''", "SELECT ''''"]);
    }

    #[test]
    fn comment_markers_inside_strings_are_text() {
        assert_eq!(
            split("SELECT '-- not a comment;', '/* nor; this */';SELECT 2"),
            ["SELECT '-- not a comment;', '/* nor; this */'", "SELECT 2"]
        );
    }

    #[test]
    fn line_comments_are_removed() {
        assert_eq!(
            split("-- header; with 'quote\nSELECT 1; -- trailing; comment\nSELECT 2 -- end"),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(split("SELECT 1--c\nFROM t"), ["SELECT 1\nFROM t"]);
    }

    #[test]
    fn block_comments_are_removed() {
        assert_eq!(
            split("/* a; 'b */ SELECT 1 /* ; */ + 2; /* only a comment; */ ;SELECT/**/3"),
            ["SELECT 1   + 2", "SELECT 3"]
        );
        assert_eq!(split("SELECT 1; /* unterminated ; 'x"), ["SELECT 1"]);
    }

    #[test]
    fn comment_only_script_is_empty() {
        assert!(split("-- a\n/* b */\n-- c;").is_empty());
    }

    #[test]
    fn minus_and_slash_are_operators() {
        assert_eq!(
            split("SELECT 4-1, 4/2;SELECT -1"),
            ["SELECT 4-1, 4/2", "SELECT -1"]
        );
    }

    #[test]
    fn unterminated_string_runs_to_end() {
        assert_eq!(split("SELECT 'abc; def"), ["SELECT 'abc; def"]);
    }

    #[test]
    fn non_ascii_text_survives() {
        assert_eq!(
            split("INSERT INTO t VALUES ('héllo; wörld', \"ñ\");SELECT 'ok'"),
            [
                "INSERT INTO t VALUES ('héllo; wörld', \"ñ\")",
                "SELECT 'ok'"
            ]
        );
    }

    #[test]
    fn trigger_body_is_one_statement() {
        let sql = "CREATE TABLE t(a, b);
CREATE TRIGGER t_touch AFTER UPDATE ON t
BEGIN
  UPDATE t SET b = 1 WHERE a = new.a;
  INSERT INTO log VALUES ('x;y');
END;
INSERT INTO t VALUES (1, 2);";
        let statements = split(sql);
        assert_eq!(statements.len(), 3, "{statements:#?}");
        assert!(statements[1].starts_with("CREATE TRIGGER"));
        assert!(statements[1].ends_with("END"));
        assert!(statements[1].contains("INSERT INTO log VALUES ('x;y');"));
        assert_eq!(statements[2], "INSERT INTO t VALUES (1, 2)");
    }

    #[test]
    fn trigger_body_with_case_end() {
        let sql = "create temp trigger if not exists trg before insert on t
when case when new.a > 0 then 1 else 0 end
begin
  update t set b = case when new.a > 1 then 'big;' else 'small' end;
  select case new.a when 1 then raise(abort, 'one;') end;
end; select 1";
        let statements = split(sql);
        assert_eq!(statements.len(), 2, "{statements:#?}");
        assert!(statements[0].ends_with("end"));
        assert_eq!(statements[1], "select 1");
    }

    #[test]
    fn temporary_trigger_keyword() {
        let statements =
            split("CREATE TEMPORARY TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;");
        assert_eq!(statements.len(), 1, "{statements:#?}");
    }

    #[test]
    fn transaction_statements_split_normally() {
        assert_eq!(
            split("BEGIN; CREATE TABLE t(x); END; BEGIN TRANSACTION; COMMIT;"),
            [
                "BEGIN",
                "CREATE TABLE t(x)",
                "END",
                "BEGIN TRANSACTION",
                "COMMIT"
            ]
        );
    }

    #[test]
    fn end_in_a_comment_or_string_does_not_close_a_trigger() {
        let statements = split(
            "CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 'end'; -- end;\n /* end; */ SELECT 2; END; SELECT 3",
        );
        assert_eq!(statements.len(), 2, "{statements:#?}");
        assert_eq!(statements[1], "SELECT 3");
    }

    #[test]
    fn words_that_contain_keywords_are_not_keywords() {
        // `ended_at` and `backend` contain END but are not the keyword.
        let statements = split(
            "CREATE TRIGGER x AFTER INSERT ON t BEGIN UPDATE t SET ended_at = 1, backend = 2; SELECT 2; END; SELECT 3",
        );
        assert_eq!(statements.len(), 2, "{statements:#?}");
    }

    #[test]
    fn create_table_named_like_trigger_is_not_a_trigger() {
        assert_eq!(
            split("CREATE TABLE trigger_log(x); SELECT 1"),
            ["CREATE TABLE trigger_log(x)", "SELECT 1"]
        );
    }
}
