//! Giving up root (ntpd(8) `-u USER[:GROUP]`, `-i DIR`) while keeping the
//! one Linux capability the daemon still needs after start-up:
//! `CAP_SYS_TIME`, to discipline the clock (RFC 5905 §12).
//!
//! The reference 4.2.8 also keeps `CAP_NET_BIND_SERVICE` so that interface
//! re-scans may bind port 123 on new addresses; this daemon lists the
//! interfaces once, at start-up (`-U` above 0 is refused), and binds every
//! socket before the drop, so it has no use for it and does not keep it.
//!
//! Order (the reference's): resolve the user, group and supplementary
//! groups while `/etc` is still visible → `prctl(PR_SET_KEEPCAPS)` →
//! chroot to the jail → groups, gid, uid → permitted and effective sets
//! reduced to exactly the kept capabilities, inheritable and ambient
//! emptied → `PR_SET_KEEPCAPS` off again → `PR_SET_NO_NEW_PRIVS`, so that
//! nothing the daemon might run can regain privileges (setuid or file
//! capabilities), and so that an unprivileged seccomp filter may follow.
//!
//! Capabilities are read and set with `capget(2)`/`capset(2)` and
//! `prctl(2)` through [`ntp_sys::caps`] (the workspace's one crate with
//! `unsafe`): two small, fixed-layout calls, so no extra crate (the `caps`
//! crate would bring a second `thiserror` major version for the same two
//! calls).
//!
//! A capability missing from the bounding or permitted set (a container,
//! `setpriv --bounding-set -sys_time`) cannot be kept: that is logged,
//! never fatal.

use std::ffi::CString;
use std::io;
use std::path::PathBuf;

use nix::unistd::{self, Gid, Group, Uid, User};
use ntp_sys::caps;

use super::process::ProcessError;
use crate::cli::{Options, UserSpec};

/// `CAP_NET_BIND_SERVICE` (linux/capability.h).
pub const CAP_NET_BIND_SERVICE: u8 = 10;
/// `CAP_SYS_TIME` (linux/capability.h).
pub const CAP_SYS_TIME: u8 = 25;

/// A set of Linux capabilities, bit `n` for capability `n` (the layout of
/// the `CapEff:` lines of /proc/PID/status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    /// The set holding `caps`.
    pub fn of(caps: &[u8]) -> CapSet {
        CapSet(
            caps.iter()
                .filter(|&&c| c < 64)
                .fold(0, |acc, &c| acc | 1u64 << c),
        )
    }

    /// Whether `cap` is in the set.
    pub fn contains(self, cap: u8) -> bool {
        cap < 64 && self.0 & (1u64 << cap) != 0
    }

    /// Members of both sets.
    pub fn intersect(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }

    /// Members of `self` not in `other`.
    pub fn without(self, other: CapSet) -> CapSet {
        CapSet(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `cap_sys_time cap_net_bind_service` style names, lowest bit first.
    pub fn names(self) -> String {
        (0..64u8)
            .filter(|&c| self.contains(c))
            .map(|c| match c {
                CAP_NET_BIND_SERVICE => "cap_net_bind_service".to_owned(),
                CAP_SYS_TIME => "cap_sys_time".to_owned(),
                n => format!("cap_{n}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The capabilities kept after dropping root: `cap_sys_time` alone.
/// Every socket is bound before the drop and interfaces are not
/// re-scanned, so `cap_net_bind_service` (which the reference keeps for
/// its re-scans) is not needed.
pub fn wanted() -> CapSet {
    CapSet::of(&[CAP_SYS_TIME])
}

/// What can be kept of `wanted` given the bounding and permitted sets:
/// `(kept, missing)`.
pub fn plan(wanted: CapSet, bounding: CapSet, permitted: CapSet) -> (CapSet, CapSet) {
    let kept = wanted.intersect(bounding).intersect(permitted);
    (kept, wanted.without(kept))
}

/// The identity to switch to, resolved before any chroot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `USER[:GROUP]` as given, for messages.
    pub who: String,
    /// The uid.
    pub uid: Uid,
    /// The gid: the group given, else the user's primary group.
    pub gid: Gid,
    /// Supplementary groups: the given group alone, else the user's
    /// groups from the group database (the reference's `initgroups`).
    pub groups: Vec<Gid>,
}

impl Target {
    /// Resolve `-u USER[:GROUP]` (names or numbers).
    pub fn resolve(spec: &UserSpec) -> Result<Target, ProcessError> {
        let who = match &spec.group {
            Some(g) => format!("{}:{g}", spec.user),
            None => spec.user.clone(),
        };
        let unknown = || ProcessError::UnknownUser(who.clone());
        let user = match spec.user.parse::<u32>() {
            Ok(n) => User::from_uid(n.into()).ok().flatten(),
            Err(_) => User::from_name(&spec.user).ok().flatten(),
        }
        .ok_or_else(unknown)?;
        let (gid, groups) = match &spec.group {
            Some(g) => {
                let gid = match g.parse::<u32>() {
                    Ok(n) => Gid::from_raw(n),
                    Err(_) => Group::from_name(g).ok().flatten().ok_or_else(unknown)?.gid,
                };
                (gid, vec![gid])
            }
            None => {
                let name = CString::new(user.name.as_bytes()).map_err(|_| unknown())?;
                let groups =
                    unistd::getgrouplist(&name, user.gid).unwrap_or_else(|_| vec![user.gid]);
                (user.gid, groups)
            }
        };
        Ok(Target {
            who,
            uid: user.uid,
            gid,
            groups,
        })
    }
}

/// Everything `-u`, `-i` and `-U` ask of the privilege drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeDrop {
    /// `-u`: the identity to switch to; `None` stays uid 0 (with `-i`
    /// alone the capabilities are still reduced, as in the reference).
    pub target: Option<Target>,
    /// `-i`: the directory to chroot to.
    pub jail: Option<PathBuf>,
    /// The capabilities to keep.
    pub wanted: CapSet,
}

/// What [`PrivilegeDrop::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Capabilities kept (permitted and effective).
    pub kept: CapSet,
    /// Capabilities wanted but not available (not in the bounding or
    /// permitted set before the drop).
    pub missing: CapSet,
}

impl PrivilegeDrop {
    /// The drop the command line asks for, or `None` without `-u` and
    /// `-i`. Names are resolved here, so call it before any chroot.
    pub fn from_options(opts: &Options) -> Result<Option<PrivilegeDrop>, ProcessError> {
        if opts.user.is_none() && opts.jail_dir.is_none() {
            return Ok(None);
        }
        let target = opts.user.as_ref().map(Target::resolve).transpose()?;
        Ok(Some(PrivilegeDrop {
            target,
            jail: opts.jail_dir.clone(),
            wanted: wanted(),
        }))
    }

    /// Chroot, switch ids and reduce the capabilities; logs what was kept
    /// and what could not be.
    pub fn apply(&self) -> Result<Dropped, ProcessError> {
        let who = self
            .target
            .as_ref()
            .map_or_else(|| "root".to_owned(), |t| t.who.clone());
        let fail = |what: &'static str, source: io::Error| ProcessError::Privileges {
            who: who.clone(),
            what,
            source,
        };
        let (_, permitted, _) = capget().map_err(|e| fail("capget", e))?;
        let (kept, missing) = plan(self.wanted, bounding_set(), CapSet(permitted));
        nix::sys::prctl::set_keepcaps(true)
            .map_err(|e| fail("prctl(PR_SET_KEEPCAPS)", e.into()))?;
        if let Some(dir) = &self.jail {
            let jail = |source: nix::Error| ProcessError::Jail {
                dir: dir.clone(),
                source,
            };
            unistd::chdir(dir).map_err(jail)?;
            unistd::chroot(dir).map_err(jail)?;
            unistd::chdir("/").map_err(jail)?;
        }
        if let Some(t) = &self.target {
            let sw = |source| ProcessError::Switch {
                who: t.who.clone(),
                source,
            };
            unistd::setgroups(&t.groups).map_err(sw)?;
            unistd::setgid(t.gid).map_err(sw)?;
            unistd::setuid(t.uid).map_err(sw)?;
        }
        capset(kept.0, kept.0, 0).map_err(|e| fail("capset", e))?;
        // Nothing is handed on to programs we might run.
        let _ = caps::clear_ambient();
        let _ = nix::sys::prctl::set_keepcaps(false);
        nix::sys::prctl::set_no_new_privs()
            .map_err(|e| fail("prctl(PR_SET_NO_NEW_PRIVS)", e.into()))?;
        if let Some(dir) = &self.jail {
            tracing::info!("chroot to {}", dir.display());
        }
        if !kept.is_empty() {
            tracing::info!("running as {who} with {}", kept.names());
        }
        if missing.contains(CAP_SYS_TIME) {
            tracing::warn!(
                "-u {who}: CAP_SYS_TIME is not in the bounding or permitted set, so the clock cannot be adjusted (use `disable ntp`, or grant it)"
            );
        }
        Ok(Dropped { kept, missing })
    }
}

/// The capability bounding set of this thread.
pub fn bounding_set() -> CapSet {
    CapSet(caps::bounding_set())
}

/// This thread's (effective, permitted, inheritable) sets.
pub fn capget() -> io::Result<(u64, u64, u64)> {
    let s = caps::get()?;
    Ok((s.effective, s.permitted, s.inheritable))
}

/// Set this thread's effective, permitted and inheritable sets.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    caps::set(caps::CapSets {
        effective,
        permitted,
        inheritable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_user_is_named_in_the_error() {
        let e = Target::resolve(&crate::cli::UserSpec {
            user: "no-such-user-ntpd-test".into(),
            group: None,
        })
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("-u no-such-user-ntpd-test: no such user"),
            "{e}"
        );
    }

    #[test]
    fn keeps_what_the_bounding_and_permitted_sets_allow() {
        let all = CapSet(u64::MAX);
        let no_time = all.without(CapSet::of(&[CAP_SYS_TIME]));
        // Full root: CAP_SYS_TIME alone (bit 25), never the port.
        assert_eq!(plan(wanted(), all, all), (wanted(), CapSet(0)));
        assert_eq!(wanted().0, 1 << 25);
        assert!(!wanted().contains(CAP_NET_BIND_SERVICE));
        // `setpriv --bounding-set -sys_time`: nothing kept, the clock
        // capability reported missing.
        let (kept, missing) = plan(wanted(), no_time, no_time);
        assert_eq!(kept, CapSet(0));
        assert_eq!(missing, CapSet::of(&[CAP_SYS_TIME]));
        // In the bounding set but not permitted (not root): nothing.
        assert_eq!(plan(wanted(), all, CapSet(0)).1, wanted());
    }

    #[test]
    fn names_follow_the_libcap_spelling() {
        assert_eq!(
            CapSet::of(&[CAP_SYS_TIME, CAP_NET_BIND_SERVICE]).names(),
            "cap_net_bind_service cap_sys_time"
        );
        assert_eq!(CapSet::of(&[0, 70]).names(), "cap_0");
        assert!(CapSet::of(&[CAP_SYS_TIME]).contains(25));
        assert!(!CapSet::of(&[CAP_SYS_TIME]).contains(99));
    }

    #[test]
    fn capget_agrees_with_proc_status() {
        let (eff, prm, _) = capget().unwrap();
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
        };
        assert_eq!(eff, field("CapEff:"));
        assert_eq!(prm, field("CapPrm:"));
        assert_eq!(bounding_set().0, field("CapBnd:"));
    }

    #[test]
    fn resolves_users_groups_and_numbers() {
        let root = Target::resolve(&UserSpec {
            user: "0".into(),
            group: None,
        })
        .unwrap();
        assert_eq!((root.uid.as_raw(), root.gid.as_raw()), (0, 0));
        assert!(root.groups.contains(&Gid::from_raw(0)));
        let with_group = Target::resolve(&UserSpec {
            user: "root".into(),
            group: Some("4242".into()),
        })
        .unwrap();
        assert_eq!(with_group.gid.as_raw(), 4242);
        assert_eq!(with_group.groups, vec![Gid::from_raw(4242)]);
        assert_eq!(with_group.who, "root:4242");
        let e = Target::resolve(&UserSpec {
            user: "root".into(),
            group: Some("no-such-group-ntpd-test".into()),
        })
        .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("-u root:no-such-group-ntpd-test: no such"));
    }

    #[test]
    fn nothing_to_drop_without_u_or_i() {
        assert_eq!(
            PrivilegeDrop::from_options(&Options::default()).unwrap(),
            None
        );
        let opts = Options {
            jail_dir: Some("/var/empty".into()),
            update_interval: Some(0),
            ..Options::default()
        };
        let d = PrivilegeDrop::from_options(&opts).unwrap().unwrap();
        assert_eq!(d.target, None);
        assert_eq!(d.wanted, CapSet::of(&[CAP_SYS_TIME]));
        let u0 = Options {
            jail_dir: Some("/var/empty".into()),
            ..Options::default()
        };
        assert_eq!(
            PrivilegeDrop::from_options(&u0).unwrap().unwrap().wanted,
            wanted()
        );
    }
}
