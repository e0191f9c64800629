//! The `leadline` binary: a thin shell over `leadline_api::cli`.

fn main() -> std::process::ExitCode {
    leadline_api::cli::main()
}
