pub fn main() -> std::process::ExitCode {
    let c = crate::config::Config::parse("", std::path::Path::new("x"));
    println!("{c:?}");
    std::process::ExitCode::SUCCESS
}
