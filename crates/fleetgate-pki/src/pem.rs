//! PEM armour: the `-----BEGIN ...-----` text form of DER objects.
//!
//! Decoding is tolerant of what partners' tools and mail clients do to the text: leading
//! prose, indentation, CRLF line ends, a UTF-8 byte order mark, RFC 1421 header lines.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Why a text is not usable PEM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// No `-----BEGIN <label>-----` line was found.
    #[error("no '-----BEGIN ...-----' line found")]
    NoBeginLine,
    /// The block was opened but never closed.
    #[error("no '-----END {label}-----' line after the BEGIN line")]
    NoEndLine {
        /// The label of the BEGIN line.
        label: String,
    },
    /// The lines between BEGIN and END are not base64.
    #[error("the content of the '{label}' block is not valid base64")]
    Base64 {
        /// The label of the block.
        label: String,
        /// The decoder's complaint.
        #[source]
        source: base64::DecodeError,
    },
    /// A block with another label than the one expected.
    #[error("found a '{found}' block where a '{expected}' block was expected")]
    UnexpectedLabel {
        /// The label found.
        found: String,
        /// The label expected.
        expected: &'static str,
    },
}

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PemBlock {
    /// The label, e.g. `CERTIFICATE REQUEST`.
    pub(crate) label: String,
    /// The DER bytes.
    pub(crate) contents: Vec<u8>,
}

/// Decodes the first PEM block of `text`, whatever its label.
pub(crate) fn decode_first(text: &str) -> Result<PemBlock, PemError> {
    let mut lines = text.lines().map(str::trim);

    let label = lines
        .by_ref()
        .find_map(begin_label)
        .ok_or(PemError::NoBeginLine)?
        .to_owned();

    let end_line = format!("-----END {label}-----");
    let mut base64_text = String::new();
    let mut closed = false;
    for line in lines {
        if line == end_line {
            closed = true;
            break;
        }
        if !line.contains(':') {
            base64_text.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    if !closed {
        return Err(PemError::NoEndLine { label });
    }

    match STANDARD.decode(base64_text.as_bytes()) {
        Ok(contents) => Ok(PemBlock { label, contents }),
        Err(source) => Err(PemError::Base64 { label, source }),
    }
}

/// Decodes the first PEM block of `text` and checks its label.
pub(crate) fn decode_labelled(text: &str, expected: &'static str) -> Result<Vec<u8>, PemError> {
    let block = decode_first(text)?;
    if block.label != expected {
        return Err(PemError::UnexpectedLabel {
            found: block.label,
            expected,
        });
    }
    Ok(block.contents)
}

/// Encodes DER bytes as a PEM block with 64-character lines and `\n` line ends.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");

    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        text.push_str(line);
        text.push('\n');
        rest = tail;
    }

    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// The label of a BEGIN line, if `line` is one.
fn begin_label(line: &str) -> Option<&str> {
    let line = line.trim_start_matches('\u{feff}');
    line.strip_prefix("-----BEGIN ")?.strip_suffix("-----")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_gives_the_bytes_back() {
        let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();

        let text = encode("CERTIFICATE", &der);

        assert!(text.lines().all(|line| line.len() <= 64));
        assert_eq!(decode_labelled(&text, "CERTIFICATE"), Ok(der));
    }

    #[test]
    fn decode_tolerates_prose_crlf_indentation_and_bom() {
        let text = "\u{feff}Here is my CSR:\r\n  -----BEGIN NEW CERTIFICATE REQUEST-----\r\n  \
                    AAEC\r\n  AwQ=\r\n  -----END NEW CERTIFICATE REQUEST-----\r\nRegards\r\n";

        let block = decode_first(text).expect("decodes");

        assert_eq!(block.label, "NEW CERTIFICATE REQUEST");
        assert_eq!(block.contents, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn decode_refuses_missing_end_bad_base64_and_other_labels() {
        let unclosed = "-----BEGIN CERTIFICATE-----\nAAEC\n";
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n";

        assert!(matches!(
            decode_first(unclosed),
            Err(PemError::NoEndLine { .. })
        ));
        assert!(matches!(decode_first(bad), Err(PemError::Base64 { .. })));
        assert!(matches!(
            decode_labelled(key, "CERTIFICATE"),
            Err(PemError::UnexpectedLabel { .. })
        ));
        assert_eq!(decode_first("hello"), Err(PemError::NoBeginLine));
    }
}
