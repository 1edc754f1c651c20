fn main() -> std::process::ExitCode {
    fragfs::cli::main()
}
