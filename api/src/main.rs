//! The `bangfu` command (see `bangfu::cli`).

fn main() -> anyhow::Result<()> {
    bangfu::cli::main()
}
