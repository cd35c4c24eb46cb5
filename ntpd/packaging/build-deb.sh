#!/usr/bin/env bash
# Build the ntpd-autokey .deb into target/debian/: the three programs
# (PROFILE=release by default; PROFILE=dev for a quick test package), the
# man pages generated from the option and directive tables (ntpd-man),
# then cargo-deb with our assets and maintainer scripts.
# Usage: bash ntpd/packaging/build-deb.sh   (from anywhere; needs cargo-deb)
set -euo pipefail
cd "$(dirname "$0")/../.."
profile="${PROFILE:-release}"
cargo build --locked --profile "$profile" -p ntpd --bin ntpd -p ntpq --bin ntpq -p keystore --bin ntp-keygen
rm -rf target/man
cargo run --locked -q -p ntpd-man -- target/man >/dev/null
gzip -9n target/man/*.[0-9]
cargo deb --locked -p ntpd --profile "$profile" --no-build -o target/debian/
