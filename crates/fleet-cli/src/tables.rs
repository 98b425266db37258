//! How every table of the CLI looks: no borders, two spaces between columns, at most 100 columns wide, bold headers on a terminal.

use tabled::Table;
use tabled::grid::util::string::get_text_width;
use tabled::settings::object::{Columns, Rows};
use tabled::settings::{Color, Padding, Style, Width};

/// Tables fit a terminal this wide, when their words do.
pub const TABLE_WIDTH: usize = 100;

/// The space after each column.
const COLUMN_GAP: usize = 2;

/// Columns two spaces apart, no borders, at most `TABLE_WIDTH` wide (wrapping columns at word
/// boundaries, see `column_widths`), with a bold header on a terminal.
pub fn finish_table(table: &mut Table, colour: bool) {
    let natural = ColumnWidths::of(table);
    let widths = column_widths(&natural, TABLE_WIDTH);
    table
        .with(Style::empty())
        .with(Padding::new(0, COLUMN_GAP, 0, 0));
    for (column, (&width, &wanted)) in widths.iter().zip(&natural.natural).enumerate() {
        if width < wanted {
            table.modify(Columns::one(column), Width::wrap(width).keep_words(true));
        }
    }
    if colour {
        table.modify(Rows::first(), Color::BOLD);
    }
}

/// What each column of a table needs: its widest line, and its widest word (the narrowest it can
/// wrap to without cutting one).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnWidths {
    natural: Vec<usize>,
    longest_word: Vec<usize>,
}

impl ColumnWidths {
    fn of(table: &Table) -> ColumnWidths {
        let columns = table.count_columns();
        let mut widths = ColumnWidths {
            natural: vec![0; columns],
            longest_word: vec![0; columns],
        };
        for row in table.get_records().iter() {
            for (column, cell) in row.iter().enumerate().take(columns) {
                let text: &str = cell.as_ref();
                for line in text.lines() {
                    widths.natural[column] = widths.natural[column].max(get_text_width(line));
                }
                for word in text.split_whitespace() {
                    widths.longest_word[column] =
                        widths.longest_word[column].max(get_text_width(word));
                }
            }
        }
        widths
    }
}

/// Each column's width: its natural one while the table fits `limit`; otherwise the widest column
/// that can still narrow without cutting a word gives up one character, again and again, until the
/// table fits. A table whose words alone are wider than `limit` stays wider: a word is never cut,
/// so an address, a name or a time can still be copied or found with grep.
fn column_widths(columns: &ColumnWidths, limit: usize) -> Vec<usize> {
    let mut widths = columns.natural.clone();
    let gaps = COLUMN_GAP * widths.len();
    while widths.iter().sum::<usize>() + gaps > limit {
        let narrowable = widths
            .iter()
            .zip(&columns.longest_word)
            .enumerate()
            .filter(|(_, (width, word))| width > word)
            .max_by_key(|(column, (width, _))| (**width, std::cmp::Reverse(*column)));
        let Some((column, _)) = narrowable else {
            break;
        };
        widths[column] -= 1;
    }
    widths
}

/// Whether tables on stdout are coloured (the rule is `colour`'s).
pub fn colours_wanted() -> bool {
    crate::colour::on_stdout()
}

/// A rendered table without the padding that trails each line.
pub fn trimmed(table: &Table) -> String {
    table
        .to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(natural: &[usize], longest_word: &[usize]) -> ColumnWidths {
        ColumnWidths {
            natural: natural.to_vec(),
            longest_word: longest_word.to_vec(),
        }
    }

    #[test]
    fn a_table_that_fits_keeps_its_natural_widths() {
        assert_eq!(column_widths(&widths(&[10, 20], &[5, 5]), 100), [10, 20]);
    }

    #[test]
    fn the_widest_column_that_can_wrap_narrows_first() {
        // 40 + 50 + 4 gaps = 94 > 80: the 50-wide column gives 14.
        assert_eq!(column_widths(&widths(&[40, 50], &[40, 5]), 80), [40, 36]);
    }

    #[test]
    fn no_column_narrows_below_its_longest_word() {
        // A column of single 30-character words (addresses, say) never wraps, even when another
        // column must then wrap further, or the table stays wider than the limit.
        assert_eq!(column_widths(&widths(&[30, 80], &[30, 6]), 60), [30, 26]);
        assert_eq!(column_widths(&widths(&[30, 40], &[30, 35]), 60), [30, 35]);
    }

    #[test]
    fn a_wide_table_wraps_only_at_spaces() {
        // fleet status's shape: an address among many columns of several words each.
        let address = "192.168.122.10/24";
        let mut rows = vec![vec!["NODE", "ADDRESS", "A", "B", "C", "D", "E", "F"]];
        rows.push(vec!["web-01", address]);
        rows[1].extend(["alpha beta gamma"; 6]);
        let mut table = tabled::builder::Builder::from_iter(rows).build();
        finish_table(&mut table, false);
        let text = trimmed(&table);
        assert!(text.contains(address), "{text}");
        assert!(text.lines().all(|line| line.len() <= TABLE_WIDTH), "{text}");
    }
}
