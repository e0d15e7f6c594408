//! Test helper: the scripted data plane of `tickwire_link::fake` (the same as the link
//! crate's `tickwire-link-fake`), built with this package so the control plane's end-to-end
//! tests can run it as a separate process under the same unprivileged user.

fn main() -> std::process::ExitCode {
    tickwire_link::fake::main_with_args(std::env::args().skip(1))
}
