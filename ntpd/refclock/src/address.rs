//! The reference clock pseudo-address `127.127.t.u` (reference
//! `refclock.html`: "the clock address is 127.127.t.u, where t is the
//! driver type and u the unit number").

use std::net::Ipv4Addr;

/// A reference clock's type and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefclockAddress {
    /// Driver type `t` (1 = LOCAL, 28 = SHM, …).
    pub driver_type: u8,
    /// Unit `u`.
    pub unit: u8,
}

impl RefclockAddress {
    /// The clock address of an IPv4 address in 127.127.0.0/16.
    pub fn from_ipv4(a: Ipv4Addr) -> Option<RefclockAddress> {
        match a.octets() {
            [127, 127, t, u] => Some(RefclockAddress {
                driver_type: t,
                unit: u,
            }),
            _ => None,
        }
    }

    /// Back to the pseudo-address.
    pub fn to_ipv4(self) -> Ipv4Addr {
        Ipv4Addr::new(127, 127, self.driver_type, self.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let a = RefclockAddress::from_ipv4(Ipv4Addr::new(127, 127, 28, 1)).unwrap();
        assert_eq!((a.driver_type, a.unit), (28, 1));
        assert_eq!(a.to_ipv4(), Ipv4Addr::new(127, 127, 28, 1));
        assert!(RefclockAddress::from_ipv4(Ipv4Addr::new(127, 0, 0, 1)).is_none());
    }
}
