//! Shared helpers for the cross-crate tests: where the reference fixtures
//! live and how to read NTP datagrams out of their captures.
