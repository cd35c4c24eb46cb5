//! Which of the parsed options this build can act on. Everything else is
//! refused by name, never silently accepted.

use super::options::Options;
use super::spec::{spec, OptId};

/// Options this build implements: `--saveconfigquit` and what it uses,
/// the daemon's sockets (`-4`, `-6`, `-I`, `-L`, `-U 0`), keys (`-k`,
/// `-t`), process handling (`-n`, `-p`, `-u`), the clock discipline
/// (`-g`, `-q`, `-x`, `-f`), broadcast clients (`-b`, `-r`), system
/// variables (`--var`, `--dvar`) and statistics (`-s`). Servers named
/// on the command line are accepted too.
pub const SUPPORTED: &[OptId] = &[
    OptId::AuthReq,
    OptId::BcastSync,
    OptId::UpdateInterval,
    OptId::Var,
    OptId::DVar,
    OptId::AuthNoReq,
    OptId::PropagationDelay,
    OptId::PanicGate,
    OptId::Quit,
    OptId::Slew,
    OptId::SyscallFilter,
    OptId::DriftFile,
    OptId::StatsDir,
    OptId::LogFile,
    OptId::Ipv4,
    OptId::Ipv6,
    OptId::Interface,
    OptId::NoVirtualIps,
    OptId::NoFork,
    OptId::PidFile,
    OptId::TrustedKey,
    OptId::User,
    OptId::ConfigFile,
    OptId::KeyFile,
    OptId::DebugLevel,
    OptId::SetDebugLevel,
    OptId::SaveConfigQuit,
    OptId::Metrics,
    OptId::Help,
    OptId::MoreHelp,
    OptId::Version,
    OptId::JailDir,
    OptId::Nice,
    OptId::Priority,
    OptId::WaitSync,
];

/// Why an option is refused, after its name.
fn reason(id: OptId) -> &'static str {
    match id {
        OptId::Mdns => " (mDNS registration needs a DNS-SD library this build does not use)",
        OptId::ForceStepOnce => " (the clock discipline has no forced first step yet)",
        _ => "",
    }
}

/// The options given in `opts` that this build does not implement yet, as
/// `-q/--quit` style names with the reason, in `--help` order. `-U` is
/// refused unless 0: interfaces are listed once, at start-up.
pub fn unsupported(opts: &Options) -> Vec<String> {
    let given = [
        (OptId::Ipv4, opts.ipv4_only),
        (OptId::Ipv6, opts.ipv6_only),
        (
            OptId::AuthReq,
            opts.auth == Some(super::AuthRequirement::Required),
        ),
        (
            OptId::AuthNoReq,
            opts.auth == Some(super::AuthRequirement::NotRequired),
        ),
        (OptId::BcastSync, opts.bcast_sync),
        (OptId::DriftFile, opts.drift_file.is_some()),
        (OptId::PanicGate, opts.panic_gate),
        (OptId::ForceStepOnce, opts.force_step_once),
        (OptId::JailDir, opts.jail_dir.is_some()),
        (OptId::Interface, !opts.interfaces.is_empty()),
        (OptId::LogFile, opts.log_file.is_some()),
        (OptId::NoVirtualIps, opts.no_virtual_ips),
        (OptId::Mdns, opts.mdns),
        (OptId::NoFork, opts.no_fork),
        (OptId::Nice, opts.nice),
        (OptId::PidFile, opts.pid_file.is_some()),
        (OptId::Priority, opts.priority.is_some()),
        (OptId::Quit, opts.quit),
        (OptId::PropagationDelay, opts.propagation_delay.is_some()),
        (OptId::StatsDir, opts.stats_dir.is_some()),
        (OptId::TrustedKey, !opts.trusted_keys.is_empty()),
        (OptId::User, opts.user.is_some()),
        (OptId::UpdateInterval, opts.update_interval.is_some()),
        (OptId::Var, !opts.vars.is_empty()),
        (OptId::DVar, !opts.dvars.is_empty()),
        (OptId::WaitSync, opts.wait_sync.is_some()),
        (OptId::Slew, opts.slew),
    ];
    given
        .iter()
        .filter(|(id, present)| *present && !SUPPORTED.contains(id))
        .map(|(id, _)| format!("{}{}", spec(*id).display_name(), reason(*id)))
        .chain(opts.update_interval.filter(|&n| n != 0).map(|n| {
            format!(
                "{} {n} (interfaces are scanned once, at start-up; use -U 0)",
                spec(OptId::UpdateInterval).display_name()
            )
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{parse, Command};
    use super::*;

    fn unsupported_of(args: &[&str]) -> Vec<String> {
        match parse(args.iter().copied()) {
            Ok(Command::Run(o)) => unsupported(&o),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn saveconfigquit_and_its_helpers_are_supported() {
        assert!(unsupported_of(&[
            "-c",
            "a",
            "-k",
            "b",
            "-dd",
            "-D2",
            "--saveconfigquit",
            "out"
        ])
        .is_empty());
    }

    #[test]
    fn daemon_options_built_so_far_are_supported() {
        assert!(unsupported_of(&[
            "-4",
            "-I",
            "lo",
            "-L",
            "-n",
            "-p",
            "/run/ntpd.pid",
            "-t",
            "1",
            "-k",
            "k",
            "-u",
            "ntp:ntp",
            "-c",
            "c"
        ])
        .is_empty());
        assert!(unsupported_of(&["-6", "-A", "-r", "0.01"]).is_empty());
        assert!(unsupported_of(&["-a"]).is_empty());
        assert!(unsupported_of(&[
            "-b",
            "-U",
            "0",
            "--var",
            "a=1",
            "--dvar",
            "b=2",
            "192.0.2.1",
            "pool.ntp.org"
        ])
        .is_empty());
    }

    #[test]
    fn every_other_option_is_refused_by_name() {
        let table: &[(&[&str], String)] = &[
            (
                &["-G"],
                "-G/--force-step-once (the clock discipline has no forced first step yet)".into(),
            ),
            (
                &["-m"],
                "-m/--mdns (mDNS registration needs a DNS-SD library this build does not use)"
                    .into(),
            ),
            (
                &["-U", "60"],
                "-U/--updateinterval 60 (interfaces are scanned once, at start-up; use -U 0)"
                    .into(),
            ),
        ];
        for (args, name) in table {
            assert_eq!(unsupported_of(args), vec![name.clone()], "{args:?}");
        }
    }
}
