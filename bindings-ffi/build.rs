//! Gives the shared library the SONAME it is installed under (`libtermauth.so.0`), so a
//! program linked against the installed `libtermauth.so` records the right name.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "freebsd" || os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtermauth.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
