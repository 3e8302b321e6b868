//! Compiles the small C shim behind INCRBYFLOAT (`src/ffi/longdouble.c`): Redis computes it in C's
//! `long double`, which Rust has no type for, and its replies depend on that precision.

fn main() {
    println!("cargo:rerun-if-changed=src/ffi/longdouble.c");
    cc::Build::new()
        .file("src/ffi/longdouble.c")
        .warnings(true)
        .compile("ferrokv_longdouble");
}
