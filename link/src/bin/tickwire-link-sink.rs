//! `tickwire-link-sink`: a minimal control-plane side for the link's process tests. It appends
//! every audit record the [`ControlPlaneLink`] passes on to `--out FILE` (resuming after the
//! last record already in it, as the control plane resumes after its last stored row), prints
//! `ready`, `gap FIRST-LAST` and `behind ...` lines, and stops cleanly when stdin closes.
//!
//! Flags: `--out FILE` (required), `--prefix P --root DIR --file-prefix F --buffer N`.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::mpsc;

use tickwire_link::fake::{encode_record, read_log};
use tickwire_link::transport::{ControlPlaneLink, LinkConfig, LinkEvent};

fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ignored = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

fn run() -> Result<(), String> {
    let mut config = LinkConfig::default();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--out" => out = Some(std::path::PathBuf::from(value)),
            "--prefix" => config.service_prefix = value,
            "--root" => config.root_path = Some(value),
            "--file-prefix" => config.file_prefix = Some(value),
            "--buffer" => config.audit_buffer = value.parse().map_err(|e| format!("{e}"))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let out = out.ok_or("--out is required")?;
    let stored = read_log(&out).map_err(|e| format!("reading {}: {e}", out.display()))?;
    let last_seq = stored.last().map_or(0, |record| record.seq);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out)
        .map_err(|e| format!("opening {}: {e}", out.display()))?;
    let (failed_tx, failed_rx) = mpsc::channel::<String>();
    let link = ControlPlaneLink::spawn(&config, last_seq, move |event| match event {
        LinkEvent::Audit(records) => {
            let mut bytes = Vec::with_capacity(records.len() * 128);
            for record in &records {
                bytes.extend_from_slice(&encode_record(record));
            }
            if let Err(error) = file.write_all(&bytes) {
                let _ignored = failed_tx.send(format!("write: {error}"));
            }
        }
        LinkEvent::AuditGap {
            first_missing,
            last_missing,
        } => say(&format!("gap {first_missing}-{last_missing}")),
        LinkEvent::SequenceBehind {
            control_plane_last,
            data_plane_last,
        } => say(&format!("behind {control_plane_last} {data_plane_last}")),
        LinkEvent::Stats(_) => {}
    })
    .map_err(|e| e.to_string())?;
    say(&format!("ready last_seq={last_seq}"));
    // Until stdin closes.
    let mut sink = Vec::new();
    let _ignored = std::io::stdin().read_to_end(&mut sink);
    let status = link.status();
    link.shutdown();
    if let Ok(error) = failed_rx.try_recv() {
        return Err(error);
    }
    say(&format!(
        "exit next_seq={} replay_requests={} gaps={} duplicates={}",
        status.next_seq, status.replay_requests, status.gaps, status.duplicates
    ));
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tickwire-link-sink: {error}");
            ExitCode::FAILURE
        }
    }
}
