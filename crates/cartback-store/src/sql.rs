//! The few places where the SQL text itself differs between backends.

use crate::connection::DbConn;

/// Raw SQL is written with PostgreSQL's `$n` placeholders; SQLite spells the same
/// numbered parameter `?n`.
pub(crate) fn dialect(conn: &DbConn, postgres_sql: &str) -> String {
    match conn {
        DbConn::Postgres(_) => postgres_sql.to_owned(),
        DbConn::Sqlite(_) => postgres_sql.replace('$', "?"),
    }
}

/// `rows` copies of a VALUES tuple written for the first row (`$1`…`$params`),
/// each later copy with its numbers shifted by `params`, joined by commas: the
/// VALUES list of a multi-row statement.
pub(crate) fn numbered_rows(first_row: &str, params: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(rows * (first_row.len() + params * 2 + 2));
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let base = row * params;
        let mut rest = first_row;
        while let Some(at) = rest.find('$') {
            sql.push_str(&rest[..at]);
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(rest.len() - at - 1, |end| end);
            let number: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
            sql.push('$');
            sql.push_str(&(base + number).to_string());
            rest = &rest[at + 1 + digits..];
        }
        sql.push_str(rest);
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_rows_shift_every_number() {
        assert_eq!(
            numbered_rows("($1, $2, 'x', $10, $2)", 10, 2),
            "($1, $2, 'x', $10, $2), ($11, $12, 'x', $20, $12)"
        );
    }
}
