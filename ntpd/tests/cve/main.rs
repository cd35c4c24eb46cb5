//! Regression tests of the reference ntpd's vulnerability classes, one
//! module per class, each test named after its CVE (see README.md in
//! this directory for the table). Everything runs in memory through
//! `Core::handle_one` and `Core::tick` on a simulated clock: no socket,
//! no root, and the system clock is never touched.

#[path = "../hardening/support.rs"]
#[allow(dead_code)]
mod ak;
mod assoc_memory;
mod broadcast_dos;
mod key_binding;
mod mac_compare;
mod mode6_long;
mod spoofed_kod;
#[allow(dead_code)]
mod support;
mod zero_origin;
