// A second Rust static library for the fresh-module test (see other.go). It uses std (a
// String, formatting) so that its archive carries std's symbols like termauth's does.
#[no_mangle]
pub extern "C" fn other_answer() -> u32 {
    format!("{}", 40 + 2).parse().unwrap_or(0)
}
