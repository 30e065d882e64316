//! One Hrana request on a stream's connection, and the JSON of values, results and errors.

use base64::Engine as _;
use rusqlite::{
    Connection,
    types::{Value as Sql, ValueRef},
};
use serde_json::{Value, json};

/// A `{"type": "ok", "response": …}` result.
pub(super) fn ok(response: Value) -> Value {
    json!({ "type": "ok", "response": response })
}

/// A `{"type": "error", "error": {"message", "code"}}` result.
pub(super) fn error(message: &str, code: &str) -> Value {
    json!({ "type": "error", "error": { "message": message, "code": code } })
}

fn sql_error(e: &rusqlite::Error) -> Value {
    let code = match e {
        rusqlite::Error::SqliteFailure(failure, _) => {
            format!("SQLITE_{:?}", failure.code).to_ascii_uppercase()
        }
        _ => "SQL_INPUT_ERROR".to_owned(),
    };
    error(&e.to_string(), &code)
}

/// Runs one request (anything but `close`, which the stream handles).
pub(super) fn handle(conn: &Connection, request: &Value) -> Value {
    match request.get("type").and_then(Value::as_str) {
        Some("execute") => match request.get("stmt").map(|stmt| execute(conn, stmt)) {
            Some(Ok(result)) => ok(json!({ "type": "execute", "result": result })),
            Some(Err(e)) => e,
            None => error("execute needs a `stmt`", "PROTOCOL_ERROR"),
        },
        Some("batch") => match request.pointer("/batch/steps").and_then(Value::as_array) {
            Some(steps) => ok(json!({ "type": "batch", "result": batch(conn, steps) })),
            None => error("batch needs `batch.steps`", "PROTOCOL_ERROR"),
        },
        Some("sequence") => match request.get("sql").and_then(Value::as_str) {
            Some(sql) => match conn.execute_batch(sql) {
                Ok(()) => ok(json!({ "type": "sequence" })),
                Err(e) => sql_error(&e),
            },
            None => error(
                "sequence needs `sql` (stored SQL is not kept)",
                "PROTOCOL_ERROR",
            ),
        },
        Some("get_autocommit") => ok(json!({
            "type": "get_autocommit",
            "is_autocommit": conn.is_autocommit(),
        })),
        Some(other) => error(
            &format!("this server does not support `{other}` requests"),
            "NOT_SUPPORTED",
        ),
        None => error("a request needs a `type`", "PROTOCOL_ERROR"),
    }
}

/// Runs a statement: its `StmtResult`, or an error result.
fn execute(conn: &Connection, stmt: &Value) -> Result<Value, Value> {
    let sql = stmt.get("sql").and_then(Value::as_str).ok_or_else(|| {
        error(
            "a statement needs `sql` (stored SQL is not kept)",
            "PROTOCOL_ERROR",
        )
    })?;
    let want_rows = stmt
        .get("want_rows")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut prepared = conn.prepare(sql).map_err(|e| sql_error(&e))?;
    let expected = prepared.parameter_count();
    let args: Vec<Sql> = stmt
        .get("args")
        .and_then(Value::as_array)
        .map(|args| args.iter().map(from_json).collect::<Option<Vec<_>>>())
        .unwrap_or(Some(Vec::new()))
        .ok_or_else(|| error("an argument is not a Hrana value", "PROTOCOL_ERROR"))?;
    let mut bound = args;
    if let Some(named) = stmt.get("named_args").and_then(Value::as_array) {
        bound.resize(expected, Sql::Null);
        for arg in named {
            let (Some(name), Some(value)) = (
                arg.get("name").and_then(Value::as_str),
                arg.get("value").and_then(from_json),
            ) else {
                return Err(error("a named argument is malformed", "PROTOCOL_ERROR"));
            };
            let index = [
                name.to_owned(),
                format!(":{name}"),
                format!("@{name}"),
                format!("${name}"),
            ]
            .iter()
            .find_map(|n| prepared.parameter_index(n).ok().flatten())
            .ok_or_else(|| error(&format!("no parameter is named {name}"), "ARGS_INVALID"))?;
            bound[index - 1] = value;
        }
    }
    if bound.len() != expected {
        return Err(error(
            &format!(
                "the statement takes {expected} arguments, {} were given",
                bound.len()
            ),
            "ARGS_INVALID",
        ));
    }
    let cols: Vec<Value> = prepared
        .column_names()
        .iter()
        .map(|name| json!({ "name": name, "decltype": null }))
        .collect();
    let width = cols.len();
    let mut rows = prepared
        .query(rusqlite::params_from_iter(bound.iter()))
        .map_err(|e| sql_error(&e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| sql_error(&e))? {
        if want_rows {
            let values = (0..width)
                .map(|i| row.get_ref(i).map(to_json))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| sql_error(&e))?;
            out.push(Value::Array(values));
        }
    }
    drop(rows);
    Ok(json!({
        "cols": cols,
        "rows": out,
        "affected_row_count": conn.changes(),
        "last_insert_rowid": conn.last_insert_rowid().to_string(),
    }))
}

/// Runs batch steps in order, each when its condition holds.
fn batch(conn: &Connection, steps: &[Value]) -> Value {
    let mut results: Vec<Value> = Vec::with_capacity(steps.len());
    let mut errors: Vec<Value> = Vec::with_capacity(steps.len());
    for step in steps {
        let run = step
            .get("condition")
            .filter(|c| !c.is_null())
            .is_none_or(|c| holds(conn, c, &results, &errors));
        let outcome = if run {
            step.get("stmt")
                .map(|stmt| execute(conn, stmt))
                .unwrap_or_else(|| Err(error("a step needs a `stmt`", "PROTOCOL_ERROR")))
        } else {
            Err(Value::Null)
        };
        match outcome {
            Ok(result) => {
                results.push(result);
                errors.push(Value::Null);
            }
            Err(Value::Null) => {
                results.push(Value::Null);
                errors.push(Value::Null);
            }
            Err(e) => {
                results.push(Value::Null);
                errors.push(e["error"].clone());
            }
        }
    }
    json!({ "step_results": results, "step_errors": errors })
}

/// Whether a batch condition holds after the steps run so far.
fn holds(conn: &Connection, cond: &Value, results: &[Value], errors: &[Value]) -> bool {
    let step = |c: &Value| {
        c.get("step")
            .and_then(Value::as_u64)
            .and_then(|s| usize::try_from(s).ok())
    };
    match cond.get("type").and_then(Value::as_str) {
        Some("ok") => step(cond).is_some_and(|s| results.get(s).is_some_and(|r| !r.is_null())),
        Some("error") => step(cond).is_some_and(|s| errors.get(s).is_some_and(|e| !e.is_null())),
        Some("not") => cond
            .get("cond")
            .is_some_and(|c| !holds(conn, c, results, errors)),
        Some("and") => cond
            .get("conds")
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().all(|c| holds(conn, c, results, errors))),
        Some("or") => cond
            .get("conds")
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().any(|c| holds(conn, c, results, errors))),
        Some("is_autocommit") => conn.is_autocommit(),
        _ => false,
    }
}

/// A Hrana JSON value as SQLite's; `None` for anything else.
fn from_json(value: &Value) -> Option<Sql> {
    Some(match value.get("type")?.as_str()? {
        "null" => Sql::Null,
        "integer" => Sql::Integer(match value.get("value")? {
            Value::String(s) => s.parse().ok()?,
            Value::Number(n) => n.as_i64()?,
            _ => return None,
        }),
        "float" => Sql::Real(value.get("value")?.as_f64()?),
        "text" => Sql::Text(value.get("value")?.as_str()?.to_owned()),
        "blob" => {
            let text = value.get("base64")?.as_str()?.trim_end_matches('=');
            Sql::Blob(
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text)
                    .ok()?,
            )
        }
        _ => return None,
    })
}

/// SQLite's value as Hrana JSON (integers as strings, blobs as padded base64).
fn to_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => json!({ "type": "null" }),
        ValueRef::Integer(i) => json!({ "type": "integer", "value": i.to_string() }),
        ValueRef::Real(f) => json!({ "type": "float", "value": f }),
        ValueRef::Text(t) => json!({ "type": "text", "value": String::from_utf8_lossy(t) }),
        ValueRef::Blob(b) => json!({
            "type": "blob",
            "base64": base64::engine::general_purpose::STANDARD.encode(b),
        }),
    }
}
