//! smoltcp binding (in progress).
