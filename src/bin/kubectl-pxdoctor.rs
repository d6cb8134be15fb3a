//! `kubectl-pxdoctor`: the same program, found by kubectl as a plugin and
//! run as `kubectl pxdoctor ...`.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(pxdoctor::app::main("kubectl pxdoctor"))
}
