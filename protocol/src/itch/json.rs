//! Hand-written JSON output for [`super::Message::write_json`] (no serde): integers and
//! escaped strings appended to a caller's `String`.

/// Appends `{"type":"A","stock_locate":…,"tracking_number":…,"timestamp":…` (no closing
/// brace: the message's own fields follow).
pub(super) fn push_header(
    out: &mut String,
    message_type: u8,
    stock_locate: u16,
    tracking_number: u16,
    timestamp: u64,
) {
    out.push_str("{\"type\":");
    push_alpha(out, &[message_type]);
    out.push_str(",\"stock_locate\":");
    push_u64(out, u64::from(stock_locate));
    out.push_str(",\"tracking_number\":");
    push_u64(out, u64::from(tracking_number));
    out.push_str(",\"timestamp\":");
    push_u64(out, timestamp);
}

/// Appends `value` in decimal.
pub(super) fn push_u64(out: &mut String, value: u64) {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut used = 0;
    let mut rest = value;
    for slot in digits.iter_mut().rev() {
        // `rest % 10` is below 10, so the narrowing is exact.
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
        used += 1;
        if rest == 0 {
            break;
        }
    }
    for &digit in digits.iter().skip(digits.len() - used) {
        out.push(char::from(digit));
    }
}

/// Appends an alpha field as a JSON string: trailing spaces trimmed, `"` and `\` escaped,
/// bytes outside printable ASCII as `\u00XX` (bytes 0x80..=0xFF read as Latin-1).
pub(super) fn push_alpha(out: &mut String, bytes: &[u8]) {
    let mut trimmed = bytes;
    while let [rest @ .., b' '] = trimmed {
        trimmed = rest;
    }
    out.push('"');
    for &byte in trimmed {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(char::from(byte)),
            _ => {
                out.push_str("\\u00");
                out.push(hex_digit(byte >> 4));
                out.push(hex_digit(byte & 0x0f));
            }
        }
    }
    out.push('"');
}

/// The lowercase hex digit for a value below 16.
fn hex_digit(nibble: u8) -> char {
    char::from(match nibble {
        0..=9 => b'0' + nibble,
        _ => b'a' + (nibble & 0x0f) - 10,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        for (value, text) in [
            (0, "0"),
            (7, "7"),
            (10, "10"),
            (53_167, "53167"),
            (u64::MAX, "18446744073709551615"),
        ] {
            let mut out = String::new();
            push_u64(&mut out, value);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn alpha_is_trimmed_and_escaped() {
        let cases: [(&[u8], &str); 7] = [
            (b"BOB     ", r#""BOB""#),
            (b" ", r#""""#),
            (b"A B ", r#""A B""#),
            (b"\"\\", r#""\"\\""#),
            (b"\n\x00\x1f\x7f", r#""\u000a\u0000\u001f\u007f""#),
            (b"\x80\xff", r#""\u0080\u00ff""#),
            (b"a \x00", r#""a \u0000""#),
        ];
        for (bytes, text) in cases {
            let mut out = String::new();
            push_alpha(&mut out, bytes);
            assert_eq!(out, text, "{bytes:?}");
        }
    }
}
