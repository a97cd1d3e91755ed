//! IPv4 CIDR blocks and Terraform's `cidrsubnet` arithmetic, on [`ipnet`].
//!
//! The Terraform module derives every subnet from the VPC block with
//! `cidrsubnet(var.cidr_block, 8, i)`; this type reproduces that arithmetic
//! exactly so a port computes the same addresses as the module it replaces.
//! `ipnet` does the masks and containment; parsing stays stricter than its
//! parser (which reads `010.0.0.0/16` as `10.0.0.0/16`), and host bits are
//! refused rather than kept.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An IPv4 CIDR block such as `10.0.0.0/16`.
///
/// Host bits are never set: AWS rejects such blocks, so a value of this type
/// is always one that the EC2 API would accept as a VPC or subnet block.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr(Ipv4Net);

/// Why a CIDR block could not be parsed, built or subdivided.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// The text is not of the form `a.b.c.d/n`.
    #[error("\"{input}\" is not an IPv4 CIDR block (expected a.b.c.d/n)")]
    Malformed {
        /// The rejected text.
        input: String,
    },
    /// The prefix length is above 32.
    #[error("\"{input}\" has a prefix length out of range (expected 0..=32)")]
    PrefixOutOfRange {
        /// The rejected text.
        input: String,
    },
    /// The address has bits set beyond the prefix, which AWS rejects.
    #[error("\"{input}\" has host bits set (did you mean {network}?)")]
    HostBitsSet {
        /// The rejected text.
        input: String,
        /// The block with host bits cleared, offered as the likely intent.
        network: Ipv4Cidr,
    },
    /// `prefix + newbits` exceeds 32, so the block has no room for the subnets.
    #[error(
        "cannot extend {cidr} by {newbits} bits: the new prefix /{new_prefix} is longer than /32"
    )]
    PrefixOverflow {
        /// The block being subdivided.
        cidr: Ipv4Cidr,
        /// The requested number of extra prefix bits.
        newbits: u8,
        /// `cidr.prefix() + newbits`, kept wide so it cannot overflow.
        new_prefix: u16,
    },
    /// `netnum` does not fit in `newbits` bits.
    #[error(
        "netnum {netnum} is out of range for {cidr} extended by {newbits} bits (must be less than {limit})"
    )]
    NetnumOutOfRange {
        /// The block being subdivided.
        cidr: Ipv4Cidr,
        /// The requested number of extra prefix bits.
        newbits: u8,
        /// The rejected subnet number.
        netnum: u32,
        /// `2^newbits`; a `u64` because it reaches `2^32`.
        limit: u64,
    },
}

impl Ipv4Cidr {
    /// Builds a block from parts, enforcing the same rules as parsing.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, CidrError> {
        Self::checked(addr, prefix, || format!("{addr}/{prefix}"))
    }

    /// Shared validation; `input` is lazy so the happy path never allocates.
    fn checked(
        addr: Ipv4Addr,
        prefix: u8,
        input: impl FnOnce() -> String,
    ) -> Result<Self, CidrError> {
        match Ipv4Net::new(addr, prefix) {
            Err(_) => Err(CidrError::PrefixOutOfRange { input: input() }),
            Ok(net) if net.trunc() != net => Err(CidrError::HostBitsSet {
                input: input(),
                network: Ipv4Cidr(net.trunc()),
            }),
            Ok(net) => Ok(Ipv4Cidr(net)),
        }
    }

    /// The base address of the block.
    pub fn addr(&self) -> Ipv4Addr {
        self.0.addr()
    }

    /// The prefix length, `0..=32`.
    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// The address with host bits cleared.
    ///
    /// Equal to [`addr`](Self::addr) because construction rejects host bits;
    /// kept so callers need not rely on that invariant.
    pub fn network(&self) -> Ipv4Addr {
        self.0.network()
    }

    /// Terraform's `cidrsubnet(self, newbits, netnum)`.
    ///
    /// The result has prefix `self.prefix() + newbits`, and `netnum` (which
    /// must be below `2^newbits`) selects which of those subnets is returned.
    pub fn subnet(&self, newbits: u8, netnum: u32) -> Result<Ipv4Cidr, CidrError> {
        let new_prefix = u16::from(self.prefix()) + u16::from(newbits);
        if new_prefix > 32 {
            return Err(CidrError::PrefixOverflow {
                cidr: *self,
                newbits,
                new_prefix,
            });
        }
        // newbits <= 32 here, so the limit fits in a u64 and the shift is valid.
        let limit = 1u64 << newbits;
        if u64::from(netnum) >= limit {
            return Err(CidrError::NetnumOutOfRange {
                cidr: *self,
                newbits,
                netnum,
                limit,
            });
        }
        // ipnet's subnet iterator has no O(1) nth: place the subnet directly. Widened so
        // that a shift of 32 (a /0 result) is well defined; the value fits in the host
        // bits because netnum < 2^newbits.
        let offset = (u64::from(netnum) << (32 - new_prefix)) as u32;
        let addr = Ipv4Addr::from(u32::from(self.network()) | offset);
        Ok(Ipv4Cidr(
            Ipv4Net::new(addr, new_prefix as u8).expect("new_prefix <= 32 was checked"),
        ))
    }

    /// Whether every address of `other` lies within `self`.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        self.0.contains(&other.0)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || CidrError::Malformed {
            input: s.to_owned(),
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(malformed)?;
        // Ipv4Addr's parser is strict: exactly four decimal octets, no leading zeros
        // (which some tools would read as octal; ipnet's parser accepts them).
        let addr: Ipv4Addr = addr.parse().map_err(|_| malformed())?;
        // u8's parser accepts a leading '+', and leading zeros are ambiguous
        // in the same way as in octets, so insist on plain decimal digits.
        if prefix.is_empty()
            || !prefix.bytes().all(|b| b.is_ascii_digit())
            || (prefix.len() > 1 && prefix.starts_with('0'))
        {
            return Err(malformed());
        }
        // Any digit string that does not fit in a u8 is certainly above 32.
        let prefix: u8 = prefix.parse().unwrap_or(u8::MAX);
        Self::checked(addr, prefix, || s.to_owned())
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Ipv4Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than `String::deserialize` avoids an allocation
        // for borrowed input.
        struct CidrVisitor;

        impl Visitor<'_> for CidrVisitor {
            type Value = Ipv4Cidr;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an IPv4 CIDR block such as \"10.0.0.0/16\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ipv4Cidr, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(CidrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn module_addressing_for_three_azs() {
        let vpc = cidr("10.0.0.0/16");
        let azs = 3u32;
        let public: Vec<String> = (0..azs)
            .map(|i| vpc.subnet(8, i).unwrap().to_string())
            .collect();
        let private: Vec<String> = (0..azs)
            .map(|i| vpc.subnet(8, azs + i).unwrap().to_string())
            .collect();
        assert_eq!(public, ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]);
        assert_eq!(private, ["10.0.3.0/24", "10.0.4.0/24", "10.0.5.0/24"]);
        for s in public.iter().chain(&private) {
            assert!(vpc.contains(&cidr(s)));
        }
    }

    #[test]
    fn subnet_matches_terraform_examples() {
        // Examples from Terraform's cidrsubnet documentation.
        assert_eq!(
            cidr("172.16.0.0/12").subnet(4, 2).unwrap(),
            cidr("172.18.0.0/16")
        );
        assert_eq!(
            cidr("10.1.2.0/24").subnet(4, 15).unwrap(),
            cidr("10.1.2.240/28")
        );
        // Edge cases: no new bits, the whole address space, single hosts.
        assert_eq!(
            cidr("10.0.0.0/16").subnet(0, 0).unwrap(),
            cidr("10.0.0.0/16")
        );
        assert_eq!(cidr("0.0.0.0/0").subnet(0, 0).unwrap(), cidr("0.0.0.0/0"));
        assert_eq!(
            cidr("0.0.0.0/0").subnet(32, u32::MAX).unwrap(),
            cidr("255.255.255.255/32")
        );
        assert_eq!(
            cidr("10.0.0.0/24").subnet(8, 255).unwrap(),
            cidr("10.0.0.255/32")
        );
    }

    #[test]
    fn accessors() {
        let c = cidr("192.168.4.0/22");
        assert_eq!(c.addr(), Ipv4Addr::new(192, 168, 4, 0));
        assert_eq!(c.prefix(), 22);
        assert_eq!(c.network(), c.addr());
        assert_eq!(Ipv4Cidr::new(Ipv4Addr::new(192, 168, 4, 0), 22).unwrap(), c);
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0/16",
            "10.0.0.0.0/16",
            "10.0.0.0/",
            "/16",
            "10.0.0.0/+16",
            "10.0.0.0/-1",
            "10.0.0.0/016",
            "10.0.0.0/16/1",
            "10.0.0.0 /16",
            "10.0.0.0/16 ",
            "010.0.0.0/16",
            "256.0.0.0/16",
            "10.0.0.0/x",
            "::/0",
        ] {
            assert_eq!(
                bad.parse::<Ipv4Cidr>(),
                Err(CidrError::Malformed {
                    input: bad.to_owned()
                }),
                "{bad:?}"
            );
        }
        assert_eq!(
            "10.0.0/16".parse::<Ipv4Cidr>().unwrap_err().to_string(),
            r#""10.0.0/16" is not an IPv4 CIDR block (expected a.b.c.d/n)"#
        );
    }

    #[test]
    fn prefix_out_of_range() {
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/255",
            "10.0.0.0/256",
            "0.0.0.0/99999999999",
        ] {
            assert_eq!(
                bad.parse::<Ipv4Cidr>(),
                Err(CidrError::PrefixOutOfRange {
                    input: bad.to_owned()
                }),
                "{bad:?}"
            );
        }
        assert_eq!(
            "10.0.0.0/33".parse::<Ipv4Cidr>().unwrap_err().to_string(),
            r#""10.0.0.0/33" has a prefix length out of range (expected 0..=32)"#
        );
        assert!(Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 33).is_err());
        assert_eq!(cidr("0.0.0.0/0").prefix(), 0);
        assert_eq!(cidr("10.0.0.1/32").prefix(), 32);
    }

    #[test]
    fn host_bits_rejected() {
        let err = "10.0.0.1/16".parse::<Ipv4Cidr>().unwrap_err();
        assert_eq!(
            err,
            CidrError::HostBitsSet {
                input: "10.0.0.1/16".to_owned(),
                network: cidr("10.0.0.0/16"),
            }
        );
        assert_eq!(
            err.to_string(),
            r#""10.0.0.1/16" has host bits set (did you mean 10.0.0.0/16?)"#
        );
        assert!("10.0.0.0/0".parse::<Ipv4Cidr>().is_err());
        assert!(Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 1), 16).is_err());
    }

    #[test]
    fn prefix_overflow() {
        let small = cidr("10.0.0.0/28");
        let err = small.subnet(8, 0).unwrap_err();
        assert_eq!(
            err,
            CidrError::PrefixOverflow {
                cidr: small,
                newbits: 8,
                new_prefix: 36,
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot extend 10.0.0.0/28 by 8 bits: the new prefix /36 is longer than /32"
        );
        // Must not wrap around in u8 arithmetic.
        assert!(cidr("10.0.0.0/32").subnet(u8::MAX, 0).is_err());
        assert!(small.subnet(4, 0).is_ok());
    }

    #[test]
    fn netnum_overflow() {
        let vpc = cidr("10.0.0.0/16");
        let err = vpc.subnet(8, 256).unwrap_err();
        assert_eq!(
            err,
            CidrError::NetnumOutOfRange {
                cidr: vpc,
                newbits: 8,
                netnum: 256,
                limit: 256,
            }
        );
        assert_eq!(
            err.to_string(),
            "netnum 256 is out of range for 10.0.0.0/16 extended by 8 bits (must be less than 256)"
        );
        assert!(vpc.subnet(0, 1).is_err());
        assert_eq!(vpc.subnet(8, 255).unwrap(), cidr("10.0.255.0/24"));
    }

    #[test]
    fn contains() {
        let vpc = cidr("10.0.0.0/16");
        assert!(vpc.contains(&vpc));
        assert!(vpc.contains(&cidr("10.0.255.255/32")));
        assert!(!vpc.contains(&cidr("10.1.0.0/24")));
        assert!(!vpc.contains(&cidr("10.0.0.0/8")));
        assert!(cidr("0.0.0.0/0").contains(&vpc));
        assert!(!cidr("10.0.1.0/24").contains(&cidr("10.0.0.0/24")));
    }

    #[test]
    fn display_round_trip() {
        for s in [
            "0.0.0.0/0",
            "10.0.0.0/16",
            "172.16.0.0/12",
            "192.168.1.7/32",
        ] {
            assert_eq!(cidr(s).to_string(), s);
            assert_eq!(cidr(&cidr(s).to_string()), cidr(s));
        }
    }

    #[test]
    fn serde_round_trip() {
        let vpc = cidr("10.0.0.0/16");
        let json = serde_json::to_string(&vpc).unwrap();
        assert_eq!(json, r#""10.0.0.0/16""#);
        assert_eq!(serde_json::from_str::<Ipv4Cidr>(&json).unwrap(), vpc);
        // Owned strings (e.g. from serde_json::Value) also deserialize.
        let value = serde_json::Value::String("10.0.3.0/24".to_owned());
        assert_eq!(
            serde_json::from_value::<Ipv4Cidr>(value).unwrap(),
            cidr("10.0.3.0/24")
        );

        let err = serde_json::from_str::<Ipv4Cidr>(r#""10.0.0.1/16""#).unwrap_err();
        assert!(err.to_string().contains("host bits set"), "{err}");
        assert!(serde_json::from_str::<Ipv4Cidr>("16").is_err());
    }
}
