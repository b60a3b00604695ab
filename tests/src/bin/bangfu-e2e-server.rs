//! The `bangfu` command, built inside the test package so that tests which need the server
//! as a process of its own (the kill test) find it built with them
//! (`CARGO_BIN_EXE_bangfu-e2e-server`), with the test package's features.

fn main() -> anyhow::Result<()> {
    bangfu::cli::main()
}
