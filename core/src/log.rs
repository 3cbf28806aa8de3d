//! Log macros: defmt on firmware (feature `defmt`), nothing elsewhere. Host and simulator log
//! from the [`Event`](crate::net::Event)s and [`Action`](crate::Action)s they drain instead, so
//! the core carries no logging dependency for them.

#[cfg(feature = "defmt")]
macro_rules! debug {
    ($($arg:tt)*) => { defmt::debug!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! debug {
    ($($arg:tt)*) => {{
        // Type-check nothing and evaluate nothing: arguments may be costly on the fast path.
    }};
}

#[cfg(feature = "defmt")]
macro_rules! warning {
    ($($arg:tt)*) => { defmt::warn!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! warning {
    ($($arg:tt)*) => {{}};
}

pub(crate) use {debug, warning};
