fn main() {
    std::process::exit(dslp_bot::cli::run());
}
