//! When output is coloured: only on a terminal, and never when NO_COLOR is set to anything but
//! the empty string (https://no-color.org). Tables (stdout), diagnostics and `-v` logs (stderr)
//! all ask here.

use std::io::IsTerminal;

/// Colour for what goes to standard output.
pub fn on_stdout() -> bool {
    allowed_for(&std::io::stdout())
}

/// Colour for what goes to standard error (logs, diagnostics).
pub fn on_stderr() -> bool {
    allowed_for(&std::io::stderr())
}

fn allowed_for(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && !no_color_requested(std::env::var_os("NO_COLOR").as_deref())
}

/// NO_COLOR's rule: present and not empty.
fn no_color_requested(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_counts_when_present_and_not_empty() {
        assert!(!no_color_requested(None));
        assert!(!no_color_requested(Some("".as_ref())));
        assert!(no_color_requested(Some("1".as_ref())));
        assert!(no_color_requested(Some("0".as_ref())));
    }
}
