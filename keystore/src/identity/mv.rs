//! MV (Mu-Varadharajan) identity scheme, RFC 5906 §6.4, brief §6.4.
//!
//! The trusted authority's file `ntpkey_MVta_<group>` holds N+2 DSA
//! structures in a row:
//!
//! | block | p | q | g | private | public |
//! |---|---|---|---|---|---|
//! | 0, authority | p | q | g | A | b |
//! | 1, server key (`ntpkey_mvkey_`) | p | q | E | ḡ | ĝ |
//! | 2.., client j (`ntpkey_mvpar_`) | p | 1 | 1 | x̄ⱼ | x̂ⱼ |
//!
//! A client key j works iff ḡ^x̂ⱼ · ĝ^x̄ⱼ · E ≡ 1 (mod p); the last client
//! key is revoked by construction. The stock 4.2.8 files are PKCS#8, which
//! drops every public value (b, ĝ, x̂ⱼ); they are reported as
//! [`KeyError::PublicValueLost`].

use std::path::Path;

use openssl::bn::BigNum;
use openssl::pkey::{PKey, Private};

use super::{dsa_parts, dsa_traditional_pem, DsaParts, Protection, Scheme};
use crate::bn::{self, Arith};
use crate::error::{KeyError, Result};

const REGEN: &str = "ntp-keygen -V N -p PW on the trusted host, then ntp-keygen -q PW / -e for the server and client files";

/// The MV server key (`ntpkey_mvkey_<group>`).
#[derive(Debug)]
pub struct MvServerKey {
    /// Prime modulus p = 2q + 1 (brief §6.4).
    pub p: BigNum,
    /// q = ∏ sⱼ, the product of the N small primes.
    pub q: BigNum,
    /// E = A^s mod p.
    pub e: BigNum,
    /// ḡ = g^s mod p (private slot).
    pub gbar: BigNum,
    /// ĝ = g^(s·b) mod p (public slot).
    pub ghat: BigNum,
}

/// One MV client key (`ntpkey_mvpar_<group>`).
#[derive(Debug)]
pub struct MvClientKey {
    /// Prime modulus p.
    pub p: BigNum,
    /// x̄ⱼ (private slot).
    pub xbar: BigNum,
    /// x̂ⱼ (public slot).
    pub xhat: BigNum,
}

impl MvClientKey {
    /// A copy, e.g. for each association that verifies with it.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(MvClientKey {
            p: bn::dup_param(&self.p)?,
            xbar: bn::dup_param(&self.xbar)?,
            xhat: bn::dup_param(&self.xhat)?,
        })
    }
}

/// The trusted authority's parameters and all keys derived from them.
#[derive(Debug)]
pub struct MvAuthority {
    /// Prime modulus p = 2q + 1 (brief §6.4).
    pub p: BigNum,
    /// q = ∏ sⱼ, the product of the N small primes.
    pub q: BigNum,
    /// Generator g, with g^q ≡ 1 (mod p).
    pub g: BigNum,
    /// A = g^(−Σ xⱼ^N) mod p (private slot).
    pub a: BigNum,
    /// Group key b (public slot).
    pub b: BigNum,
    /// The server key, with enabling key s = q / s_N (revokes client N).
    pub server: MvServerKey,
    /// Client keys 1..=N; key N is revoked.
    pub clients: Vec<MvClientKey>,
}

fn c(path: &Path) -> impl Fn(openssl::error::ErrorStack) -> KeyError + '_ {
    move |e| KeyError::crypto(format!("{}", path.display()), e)
}

fn lost(path: &Path) -> KeyError {
    KeyError::PublicValueLost {
        path: path.to_path_buf(),
        scheme: Scheme::Mv,
        regen: REGEN,
    }
}

fn algebra(path: &Path, what: &'static str) -> KeyError {
    KeyError::Algebra {
        path: path.to_path_buf(),
        scheme: Scheme::Mv,
        what,
    }
}

impl MvServerKey {
    /// Reads the server key; a stock file (ĝ recomputed as E^ḡ) is
    /// reported as lost.
    pub fn from_pkey(path: &Path, pkey: &PKey<Private>) -> Result<MvServerKey> {
        let d = dsa_parts(path, pkey)?;
        if bn::is_one(&d.q) || bn::is_one(&d.g) {
            return Err(KeyError::corrupt(
                path,
                "this is an MV client key, not the server's MV key",
            ));
        }
        if d.p.num_bits() < 64 || d.e_like_out_of_range() {
            return Err(algebra(path, "values out of range"));
        }
        let mut a = Arith::new().map_err(c(path))?;
        if d.public == a.exp(&d.g, &d.private, &d.p).map_err(c(path))? {
            return Err(lost(path));
        }
        Ok(MvServerKey {
            p: d.p,
            q: d.q,
            e: d.g,
            gbar: d.private,
            ghat: d.public,
        })
    }

    /// True if `client` is an enabled (not revoked) key of this server:
    /// ḡ^x̂ · ĝ^x̄ · E ≡ 1 (mod p).
    pub fn accepts(&self, client: &MvClientKey) -> Result<bool> {
        let e = c(Path::new("MV"));
        if client.p != self.p {
            return Ok(false);
        }
        let mut a = Arith::new().map_err(&e)?;
        let t1 = a.exp(&self.gbar, &client.xhat, &self.p).map_err(&e)?;
        let t2 = a.exp(&self.ghat, &client.xbar, &self.p).map_err(&e)?;
        let t = a.mul(&t1, &t2, &self.p).map_err(&e)?;
        Ok(bn::is_one(&a.mul(&t, &self.e, &self.p).map_err(&e)?))
    }

    /// Traditional DSA PEM keeping ĝ.
    pub fn to_pem(&self, prot: Option<Protection<'_>>) -> Result<String> {
        let e = c(Path::new("MV"));
        dsa_traditional_pem(
            &DsaParts {
                p: bn::dup(&self.p).map_err(&e)?,
                q: bn::dup(&self.q).map_err(&e)?,
                g: bn::dup(&self.e).map_err(&e)?,
                private: bn::dup(&self.gbar).map_err(&e)?,
                public: bn::dup(&self.ghat).map_err(&e)?,
            },
            prot,
        )
    }
}

impl DsaParts {
    fn e_like_out_of_range(&self) -> bool {
        self.g >= self.p || self.private >= self.p || self.public >= self.p
    }
}

impl MvClientKey {
    /// Reads a client key; a stock file (x̂ recomputed as 1^x̄ = 1) is
    /// reported as lost.
    pub fn from_pkey(path: &Path, pkey: &PKey<Private>) -> Result<MvClientKey> {
        let d = dsa_parts(path, pkey)?;
        if !bn::is_one(&d.q) || !bn::is_one(&d.g) {
            return Err(KeyError::corrupt(
                path,
                "not an MV client key (the q and g slots must be 1)",
            ));
        }
        if bn::is_one(&d.public) {
            return Err(lost(path));
        }
        if d.p.num_bits() < 64 || d.private >= d.p || d.public >= d.p {
            return Err(algebra(path, "values out of range"));
        }
        Ok(MvClientKey {
            p: d.p,
            xbar: d.private,
            xhat: d.public,
        })
    }

    /// Traditional DSA PEM keeping x̂.
    pub fn to_pem(&self, prot: Option<Protection<'_>>) -> Result<String> {
        let e = c(Path::new("MV"));
        dsa_traditional_pem(
            &DsaParts {
                p: bn::dup(&self.p).map_err(&e)?,
                q: bn::one().map_err(&e)?,
                g: bn::one().map_err(&e)?,
                private: bn::dup(&self.xbar).map_err(&e)?,
                public: bn::dup(&self.xhat).map_err(&e)?,
            },
            prot,
        )
    }
}

impl MvAuthority {
    /// Reads the N+2 keys of an `MVta` file. Stock files lose b, ĝ and
    /// every x̂ⱼ and are reported as lost.
    pub fn from_pkeys(path: &Path, keys: &[PKey<Private>]) -> Result<MvAuthority> {
        let [ta, server, clients @ ..] = keys else {
            return Err(KeyError::corrupt(
                path,
                "an MVta file needs at least 3 keys",
            ));
        };
        if clients.is_empty() {
            return Err(KeyError::corrupt(
                path,
                "an MVta file needs at least 3 keys",
            ));
        }
        let d = dsa_parts(path, ta)?;
        let mut a = Arith::new().map_err(c(path))?;
        if d.public == a.exp(&d.g, &d.private, &d.p).map_err(c(path))? {
            return Err(lost(path));
        }
        let server = MvServerKey::from_pkey(path, server)?;
        let clients = clients
            .iter()
            .map(|k| MvClientKey::from_pkey(path, k))
            .collect::<Result<Vec<_>>>()?;
        if server.p != d.p || server.q != d.q {
            return Err(algebra(path, "server key uses another p or q"));
        }
        let auth = MvAuthority {
            p: d.p,
            q: d.q,
            g: d.g,
            a: d.private,
            b: d.public,
            server,
            clients,
        };
        auth.verify(path)?;
        Ok(auth)
    }

    /// Checks every client key but the last is accepted and the last is
    /// revoked.
    pub fn verify(&self, path: &Path) -> Result<()> {
        let n = self.clients.len();
        for (j, client) in self.clients.iter().enumerate() {
            let ok = self.server.accepts(client)?;
            if j + 1 < n && !ok {
                return Err(algebra(path, "a client key does not verify"));
            }
            if j + 1 == n && ok {
                return Err(algebra(path, "the last client key is not revoked"));
            }
        }
        Ok(())
    }

    /// Generates MV parameters for `n` client keys from `bits` identity
    /// bits (`ntp-keygen -V n -b bits`). Client key `n` is revoked.
    pub fn generate(bits: u32, n: usize) -> Result<MvAuthority> {
        let e = c(Path::new("MV generation"));
        if n < 2 {
            return Err(KeyError::corrupt(
                "MV generation",
                "need at least 2 client keys",
            ));
        }
        let prime_bits = (bits as usize / n) as i32;
        if prime_bits < 16 {
            return Err(KeyError::corrupt(
                "MV generation",
                "too many keys for the modulus size",
            ));
        }
        let mut a = Arith::new().map_err(&e)?;
        let one = bn::one().map_err(&e)?;
        let two = BigNum::from_u32(2).map_err(&e)?;
        // 1. N distinct primes s_j, q = ∏ s_j, p = 2q + 1 prime.
        let mut s: Vec<BigNum> = Vec::with_capacity(n);
        while s.len() < n {
            let mut prime = BigNum::new().map_err(&e)?;
            prime
                .generate_prime(prime_bits, false, None, None)
                .map_err(&e)?;
            if !s.contains(&prime) {
                s.push(prime);
            }
        }
        let mut turn = 0;
        let (q, p) = loop {
            let mut q = bn::one().map_err(&e)?;
            for sj in &s {
                q = a.product(&q, sj).map_err(&e)?;
            }
            let mut p = a.product(&q, &two).map_err(&e)?;
            p.add_word(1).map_err(&e)?;
            if a.is_prime(&p).map_err(&e)? {
                break (q, p);
            }
            // Replace one prime, round robin, keeping them distinct.
            loop {
                let mut prime = BigNum::new().map_err(&e)?;
                prime
                    .generate_prime(prime_bits, false, None, None)
                    .map_err(&e)?;
                if !s.contains(&prime) {
                    s[turn % n] = prime;
                    break;
                }
            }
            turn += 1;
        };
        let mut pm1 = BigNum::new().map_err(&e)?;
        pm1.checked_sub(&p, &one).map_err(&e)?;
        // 2. g of order q: a square, coprime to p − 1.
        let g = loop {
            let h = a.random_below(&p).map_err(&e)?;
            let g = a.mul(&h, &h, &p).map_err(&e)?;
            if g.num_bits() > 1
                && bn::is_one(&a.gcd(&g, &pm1).map_err(&e)?)
                && bn::is_one(&a.exp(&g, &q, &p).map_err(&e)?)
            {
                break g;
            }
        };
        // 3. Roots x_j and the coefficients of ∏ (X − x_j) mod q.
        let x: Vec<BigNum> = (0..n)
            .map(|_| a.random_unit(&q))
            .collect::<std::result::Result<_, _>>()
            .map_err(&e)?;
        let mut coef: Vec<BigNum> = vec![bn::one().map_err(&e)?];
        for xj in &x {
            // multiply by (X − x_j)
            let mut next: Vec<BigNum> = Vec::with_capacity(coef.len() + 1);
            for i in 0..=coef.len() {
                let hi = if i >= 1 {
                    bn::dup(&coef[i - 1]).map_err(&e)?
                } else {
                    BigNum::new().map_err(&e)?
                };
                let lo = if i < coef.len() {
                    a.mul(&coef[i], xj, &q).map_err(&e)?
                } else {
                    BigNum::new().map_err(&e)?
                };
                next.push(a.sub(&hi, &lo, &q).map_err(&e)?);
            }
            coef = next;
        }
        let gs: Vec<BigNum> = coef
            .iter()
            .map(|ai| a.exp(&g, ai, &p))
            .collect::<std::result::Result<_, _>>()
            .map_err(&e)?;
        // 4. A = ∏_j ∏_{i<N} gs_i^(x_j^i).
        let nbn = BigNum::from_u32(n as u32).map_err(&e)?;
        let mut big_a = bn::one().map_err(&e)?;
        for xj in &x {
            let mut xi = bn::one().map_err(&e)?;
            for gsi in gs.iter().take(n) {
                let t = a.exp(gsi, &xi, &p).map_err(&e)?;
                big_a = a.mul(&big_a, &t, &p).map_err(&e)?;
                xi = a.mul(&xi, xj, &q).map_err(&e)?;
            }
        }
        // 5. Group key b and its inverse mod q.
        let b = a.random_unit(&q).map_err(&e)?;
        let binv = a.inv(&b, &q).map_err(&e)?;
        // 6. Client keys.
        let xn: Vec<BigNum> = x
            .iter()
            .map(|xj| a.exp(xj, &nbn, &q))
            .collect::<std::result::Result<_, _>>()
            .map_err(&e)?;
        let mut clients = Vec::with_capacity(n);
        for j in 0..n {
            let mut sum = BigNum::new().map_err(&e)?;
            for (i, xi) in xn.iter().enumerate() {
                if i != j {
                    sum = a.add(&sum, xi, &q).map_err(&e)?;
                }
            }
            let xbar = a.mul(&binv, &sum, &q).map_err(&e)?;
            let mut factor = a.quotient(&q, &s[j]).map_err(&e)?;
            factor.add_word(1).map_err(&e)?;
            let xhat = a.mul(&xn[j], &factor, &q).map_err(&e)?;
            clients.push(MvClientKey {
                p: bn::dup(&p).map_err(&e)?,
                xbar,
                xhat,
            });
        }
        // 7. Enabling key s = q / s_N revokes client N.
        let sn = a.quotient(&q, &s[n - 1]).map_err(&e)?;
        let big_e = a.exp(&big_a, &sn, &p).map_err(&e)?;
        let gbar = a.exp(&g, &sn, &p).map_err(&e)?;
        let sb = a.mul(&sn, &b, &q).map_err(&e)?;
        let ghat = a.exp(&g, &sb, &p).map_err(&e)?;
        let server = MvServerKey {
            p: bn::dup(&p).map_err(&e)?,
            q: bn::dup(&q).map_err(&e)?,
            e: big_e,
            gbar,
            ghat,
        };
        let auth = MvAuthority {
            p,
            q,
            g,
            a: big_a,
            b,
            server,
            clients,
        };
        auth.verify(Path::new("MV generation"))?;
        Ok(auth)
    }

    /// The `MVta` file: N+2 traditional DSA keys, each encrypted with `prot`.
    pub fn to_pem(&self, prot: Option<Protection<'_>>) -> Result<String> {
        let e = c(Path::new("MV"));
        let mut out = dsa_traditional_pem(
            &DsaParts {
                p: bn::dup(&self.p).map_err(&e)?,
                q: bn::dup(&self.q).map_err(&e)?,
                g: bn::dup(&self.g).map_err(&e)?,
                private: bn::dup(&self.a).map_err(&e)?,
                public: bn::dup(&self.b).map_err(&e)?,
            },
            prot,
        )?;
        out.push_str(&self.server.to_pem(prot)?);
        for client in &self.clients {
            out.push_str(&client.to_pem(prot)?);
        }
        Ok(out)
    }
}
