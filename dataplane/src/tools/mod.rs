//! Offline tools: `tickwire-dataplane decode` and `tickwire-dataplane book`.
//!
//! Output is one JSON object per line on stdout. Every failure — unknown format,
//! unreadable file, truncated or malformed data — is a [`ToolError`] whose message names
//! the file, the byte offset and the message type where known; the binary prints it on one
//! line and exits non-zero. Files are streamed (gzip detected by its magic bytes), so their
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
