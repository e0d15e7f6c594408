//! `tickwire-link-fake`: the scripted data plane of [`tickwire_link::fake`], for tests.
//!
//! Flags (all optional): `--prefix P --root DIR --file-prefix F --buffer N --ring N --count N
//! --rate N --start-seq N --stats-ms N --linger-ms N --log FILE`.

use std::process::ExitCode;
use std::time::Duration;

use tickwire_link::fake::{FakeOptions, run};

fn parse(options: &mut FakeOptions) -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|error| format!("{flag}: {error}"))
        };
        let size = || {
            value
                .parse::<usize>()
                .map_err(|error| format!("{flag}: {error}"))
        };
        match flag.as_str() {
            "--prefix" => options.link.service_prefix.clone_from(&value),
            "--root" => options.link.root_path = Some(value.clone()),
            "--file-prefix" => options.link.file_prefix = Some(value.clone()),
            "--buffer" => options.link.audit_buffer = size()?,
            "--ring" => options.ring = size()?,
            "--count" => options.count = number()?,
            "--rate" => options.rate = number()?,
            "--start-seq" => options.start_seq = number()?,
            "--stats-ms" => options.stats_period = Duration::from_millis(number()?),
            "--linger-ms" => options.linger = Some(Duration::from_millis(number()?)),
            "--log" => options.log = Some(value.clone().into()),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut options = FakeOptions::default();
    if let Err(error) = parse(&mut options) {
        eprintln!("tickwire-link-fake: {error}");
        return ExitCode::from(2);
    }
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tickwire-link-fake: {error}");
            ExitCode::FAILURE
        }
    }
}
