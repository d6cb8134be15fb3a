//! `pxdoctor`: a thin binary over the library.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(pxdoctor::app::main("pxdoctor"))
}
