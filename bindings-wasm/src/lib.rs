//! WebAssembly bindings of termauth-core (work in progress).
