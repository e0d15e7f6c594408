//! Offline tools: `tickwire-dataplane decode` and `tickwire-dataplane book`.
//!
//! Output is one JSON object per line on stdout. Every failure — unknown format,
//! unreadable file, truncated or malformed data — is a [`ToolError`] whose message names
//! the file, the byte offset (binary formats) or line number (line formats) and the message
//! type where known; the binary prints it on one line and exits non-zero. Files are streamed (gzip detected by its magic bytes), so their
//! size is not limited by memory.

pub mod book;
pub mod decode;
pub mod pcap;

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::{Path, PathBuf},
};

use tickwire_protocol::itch::{BinaryFileError, BinaryFileReader};

/// Why a tool run failed. The `Display` text is the one-line message users see.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The `--format` value is not supported by this tool.
    #[error("unknown format {format:?} for {tool} (supported: {supported})")]
    UnknownFormat {
        /// Tool name.
        tool: &'static str,
        /// What was asked for.
        format: String,
        /// What is supported.
        supported: &'static str,
    },
    /// The file could not be opened or read.
    #[error("{}: {error}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Cause (not a `source`: the message already includes it, once).
        error: io::Error,
    },
    /// The data is malformed or truncated.
    #[error("{}: offset {offset}: {message}", path.display())]
    Data {
        /// File.
        path: PathBuf,
        /// Byte offset in the (decompressed) file.
        offset: u64,
        /// What is wrong, naming the message type where known.
        message: String,
    },
    /// A line of a line-oriented file is malformed, too long or unreadable.
    #[error("{}: line {line}: {message}", path.display())]
    Line {
        /// File.
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// What is wrong, naming the message type and field where known.
        message: String,
    },
    /// Writing the output failed (a closed pipe ends the run quietly, see `main`).
    #[error("writing output: {0}")]
    Output(io::Error),
    /// A required option is missing or invalid.
    #[error("{0}")]
    Usage(String),
}

impl ToolError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |error| Self::Io {
            path: path.to_owned(),
            error,
        }
    }

    fn data(path: &Path, offset: u64, message: impl Into<String>) -> Self {
        Self::Data {
            path: path.to_owned(),
            offset,
            message: message.into(),
        }
    }

    fn line(path: &Path, line: u64, message: impl Into<String>) -> Self {
        Self::Line {
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// Opens `path`, transparently gunzipping it when it starts with the gzip magic bytes.
///
/// # Errors
/// [`ToolError::Io`] if it cannot be opened or read.
pub fn open_input(path: &Path) -> Result<Box<dyn Read>, ToolError> {
    let file = File::open(path).map_err(ToolError::io(path))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let gzip = reader
        .fill_buf()
        .map_err(ToolError::io(path))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

/// Streams an ITCH 5.0 BinaryFILE, calling `each(offset, message)` for every framed
/// message. Reads in 1 MiB windows; a message cut by a window edge waits for the next read.
///
/// # Errors
/// [`ToolError`] for I/O failures, framing errors (with offset and type), or whatever
/// `each` returns.
pub fn for_each_binary_file_message(
    path: &Path,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), ToolError>,
) -> Result<(), ToolError> {
    const WINDOW: usize = 1 << 20;
    let mut input = open_input(path)?;
    let mut buffer = vec![0u8; WINDOW];
    let (mut filled, mut base) = (0usize, 0u64);
    let mut eof = false;
    loop {
        while !eof && filled < buffer.len() {
            let read = input
                .read(&mut buffer[filled..])
                .map_err(ToolError::io(path))?;
            if read == 0 {
                eof = true;
            }
            filled += read;
        }
        let mut consumed = 0;
        for frame in BinaryFileReader::new(&buffer[..filled]) {
            match frame {
                Ok((offset, message)) => {
                    each(base + offset as u64, message)?;
                    consumed = offset + 2 + message.len();
                }
                Err(
                    error @ (BinaryFileError::TruncatedLength { .. }
                    | BinaryFileError::MissingMessage { .. }
                    | BinaryFileError::TruncatedMessage { .. }),
                ) if !eof => {
                    consumed = error.offset();
                    break;
                }
                Err(error) => {
                    return Err(ToolError::data(
                        path,
                        base + error.offset() as u64,
                        error.to_string(),
                    ));
                }
            }
        }
        if eof && consumed >= filled {
            return Ok(());
        }
        if consumed == 0 && filled == buffer.len() {
            // Cannot happen with ITCH's 50-byte maximum; guards the loop's progress.
            return Err(ToolError::data(
                path,
                base,
                "frame larger than the read window",
            ));
        }
        buffer.copy_within(consumed..filled, 0);
        filled -= consumed;
        base += consumed as u64;
    }
}

/// Streams a line-oriented file (gzip or plain), calling `each(line_number, line)` for every
/// line without its `\n` (or `\r\n`); `line` is mutable so that in-place parsers (simd-json)
/// can use it. Lines longer than `max_line_len` bytes are an error, so a file without
/// newlines cannot make the buffer grow without bound. A last line without `\n` is a line.
///
/// # Errors
/// [`ToolError::Io`] if the file cannot be opened; [`ToolError::Line`] for a read failure
/// (including a truncated gzip stream) or an overlong line; whatever `each` returns.
pub fn for_each_line(
    path: &Path,
    max_line_len: usize,
    mut each: impl FnMut(u64, &mut [u8]) -> Result<(), ToolError>,
) -> Result<(), ToolError> {
    let mut input = BufReader::with_capacity(1 << 16, open_input(path)?);
    let mut buffer = Vec::with_capacity(max_line_len.min(1 << 20) + 1);
    let limit = u64::try_from(max_line_len)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    // Bounded by the file: every iteration consumes at least one byte or ends.
    for number in 1u64.. {
        buffer.clear();
        let read = (&mut input)
            .take(limit)
            .read_until(b'\n', &mut buffer)
            .map_err(|error| ToolError::line(path, number, format!("reading: {error}")))?;
        if read == 0 {
            break;
        }
        if buffer.last() == Some(&b'\n') {
            buffer.pop();
            if buffer.last() == Some(&b'\r') {
                buffer.pop();
            }
        } else if buffer.len() > max_line_len {
            return Err(ToolError::line(
                path,
                number,
                format!("line longer than {max_line_len} bytes"),
            ));
        }
        each(number, &mut buffer)?;
    }
    Ok(())
}

/// Appends `text` to `out` as a JSON string (quotes, escapes, invalid UTF-8 as U+FFFD).
pub fn push_json_string(out: &mut String, text: &[u8]) {
    use std::fmt::Write as _;
    out.push('"');
    for character in String::from_utf8_lossy(text).chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            control if u32::from(control) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}
