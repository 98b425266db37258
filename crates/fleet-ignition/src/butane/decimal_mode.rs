//! Butane's guess that a mode was written in decimal by mistake (base/util/file.go
//! CheckForDecimalMode): `644` is unusual as a mode but `0644` is typical.

/// True when `mode` looks like a decimal spelling of a typical octal mode.
pub(crate) fn check_decimal_mode(mode: i64, directory: bool) -> bool {
    let Some(corrected) = decimal_mode_to_octal(mode) else {
        return false;
    };
    !is_typical_mode(mode, directory) && is_typical_mode(corrected, directory)
}

fn is_typical_mode(mode: i64, directory: bool) -> bool {
    if mode == 0 {
        return true;
    }
    let perms = [mode & 0o007, (mode & 0o070) >> 3, (mode & 0o700) >> 6];
    let (mut had_r, mut had_w, mut had_x) = (false, false, false);
    for perm in perms {
        let r = perm & 4 != 0;
        let w = perm & 2 != 0;
        let x = perm & 1 != 0;
        // a more specific permission has all the bits of a less specific one
        if (!r && had_r) || (!w && had_w) || (!x && had_x) {
            return false;
        }
        // executable, yet a less specific permission reads without executing
        if x && had_r && !had_x {
            return false;
        }
        if (w || x) && !r {
            return false;
        }
        had_r |= r;
        had_w |= w;
        had_x |= x;
    }
    if !had_r {
        return false;
    }
    if directory {
        if !had_x || mode & 0o4000 != 0 {
            return false;
        }
        if mode & 0o3000 != 0 && !had_w {
            return false;
        }
    } else {
        if mode & 0o6000 != 0 && (!had_x || mode & 2 != 0) {
            return false;
        }
        if mode & 0o1000 != 0 {
            return false;
        }
    }
    true
}

fn decimal_mode_to_octal(mode: i64) -> Option<i64> {
    if !(0..=7777).contains(&mode) {
        return None;
    }
    let mut result = 0;
    let mut divisor = 1000;
    while divisor > 0 {
        let digit = (mode / divisor) % 10;
        if digit > 7 {
            return None;
        }
        result = (result << 3) | digit;
        divisor /= 10;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_modes() {
        assert!(check_decimal_mode(644, false));
        assert!(check_decimal_mode(755, true));
        assert!(check_decimal_mode(600, false));
        assert!(!check_decimal_mode(0o644, false));
        assert!(!check_decimal_mode(420, false));
        assert!(!check_decimal_mode(0o755, true));
        assert!(!check_decimal_mode(888, false));
        assert!(!check_decimal_mode(0, false));
    }
}
