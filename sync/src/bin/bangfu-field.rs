//! `bangfu-field`: a bangfu field device in a terminal (see `bangfu_sync::client::cli`).

use bangfu_sync::client::ClientError;

fn main() {
    let stdin = std::io::stdin();
    let result = bangfu_sync::client::cli::run(
        std::env::args_os(),
        &mut stdin.lock(),
        &mut std::io::stdout(),
    );
    if let Err(e) = result {
        match e {
            ClientError::Usage(text) => {
                eprint!("{text}");
                std::process::exit(2);
            }
            ClientError::Offline(_) => {
                eprintln!("bangfu-field: {e}");
                std::process::exit(3);
            }
            _ => {
                eprintln!("bangfu-field: {e}");
                std::process::exit(1);
            }
        }
    }
}
