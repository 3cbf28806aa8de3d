//! Harness for end-to-end tests on network namespaces.
