//! `tickwire-link-fake`: the scripted data plane of [`tickwire_link::fake`], for tests.
//!
//! Flags (all optional): `--prefix P --root DIR --file-prefix F --buffer N --ring N --count N
//! --rate N --start-seq N --stats-ms N --linger-ms N --log FILE`.

fn main() -> std::process::ExitCode {
    tickwire_link::fake::main_with_args(std::env::args().skip(1))
}
