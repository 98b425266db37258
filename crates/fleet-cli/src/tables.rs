//! How every table of the CLI looks: no borders, two spaces between columns, at most 100 columns wide, bold headers on a terminal.

use tabled::Table;
use tabled::settings::object::Rows;
use tabled::settings::peaker::Priority;
use tabled::settings::{Color, Padding, Style, Width};

/// Tables fit a terminal this wide.
pub const TABLE_WIDTH: usize = 100;

/// Columns two spaces apart, no borders, at most `TABLE_WIDTH` wide (wrapping the widest column at
/// word boundaries), with a bold header on a terminal.
pub fn finish_table(table: &mut Table, colour: bool) {
    table
        .with(Style::empty())
        .with(Padding::new(0, 2, 0, 0))
        .with(
            Width::wrap(TABLE_WIDTH)
                .keep_words(true)
                .priority(Priority::max(true)),
        );
    if colour {
        table.modify(Rows::first(), Color::BOLD);
    }
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
