#!/usr/bin/env bash
# Build the ntpd-autokey .deb into target/debian/: the three programs
# (PROFILE=release by default; PROFILE=dev for a quick test package), the
# man pages generated from the option and directive tables (ntpd-man),
# then cargo-deb with our assets and maintainer scripts.
# Usage: bash ntpd/packaging/build-deb.sh   (from anywhere; needs cargo-deb)
set -euo pipefail
cd "$(dirname "$0")/../.."
profile="${PROFILE:-release}"
# cargo-deb maps the assets' target/release/ to the profile's directory.
case "$profile" in dev) profile_dir=debug ;; *) profile_dir="$profile" ;; esac
man="target/$profile_dir/man"
cargo build --locked --profile "$profile" -p ntpd --bin ntpd -p ntpq --bin ntpq -p keystore --bin ntp-keygen
rm -rf "$man"
cargo run --locked -q -p ntpd-man -- "$man" >/dev/null
gzip -9n "$man"/*.[0-9]
cargo deb --locked -p ntpd --profile "$profile" --no-build -o target/debian/
