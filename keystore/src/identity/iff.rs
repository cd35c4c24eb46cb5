//! IFF (Schnorr) identity scheme, RFC 5906 §6.2, brief §6.2.
//!
//! Parameters p, q, g (DSA), group key b, public key v = g^(q−b) mod p.
//! The server file (`ntpkey_IFFkey_<group>`) holds b; the client file
//! (`ntpkey_iffpar_<group>`) holds v with the private slot set to 1.

use std::path::Path;

use openssl::bn::BigNum;
use openssl::dsa::Dsa;
use openssl::pkey::{PKey, Private};

use super::{dsa_parts, dsa_traditional_pem, DsaParts, Protection, Scheme};
use crate::bn::{self, Arith};
use crate::error::{KeyError, Result};

/// How to regenerate IFF files, quoted in error messages.
const REGEN: &str =
    "ntp-keygen -T -I -p PW on the trusted host, then ntp-keygen -e -p PW for the clients";

/// Client-side IFF parameters: what `ntpkey_iffpar_<group>` holds.
#[derive(Debug)]
pub struct IffParams {
    /// Prime modulus p (512 bits by default, `-b`; brief §6.2).
    pub p: BigNum,
    /// Prime q dividing p − 1 (160 bits), the order of g.
    pub q: BigNum,
    /// Generator g of the order-q subgroup mod p.
    pub g: BigNum,
    /// Public key v = g^(q−b) mod p.
    pub v: BigNum,
}

impl IffParams {
    /// A copy, e.g. for each association that verifies with them.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(IffParams {
            p: bn::dup_param(&self.p)?,
            q: bn::dup_param(&self.q)?,
            g: bn::dup_param(&self.g)?,
            v: bn::dup_param(&self.v)?,
        })
    }
}

/// Server-side IFF key: the parameters plus the group key b.
#[derive(Debug)]
pub struct IffKey {
    /// The public parameters p, q, g, v.
    pub params: IffParams,
    /// Group key b, 0 < b < q.
    pub b: BigNum,
}

fn c(path: &Path) -> impl Fn(openssl::error::ErrorStack) -> KeyError + '_ {
    move |e| KeyError::crypto(format!("{}", path.display()), e)
}

fn algebra(path: &Path, what: &'static str) -> KeyError {
    KeyError::Algebra {
        path: path.to_path_buf(),
        scheme: Scheme::Iff,
        what,
    }
}

/// Checks the group: q | p−1, 1 < g < p, g^q ≡ 1 (mod p).
fn check_group(path: &Path, a: &mut Arith, p: &BigNum, q: &BigNum, g: &BigNum) -> Result<()> {
    let one = bn::one().map_err(c(path))?;
    if p.num_bits() < 64 || q.num_bits() < 32 || bn::is_one(g) || g >= p {
        return Err(algebra(path, "p, q or g out of range"));
    }
    let pm1 = {
        let mut t = BigNum::new().map_err(c(path))?;
        t.checked_sub(p, &one).map_err(c(path))?;
        t
    };
    if a.rem(&pm1, q).map_err(c(path))?.num_bits() != 0 {
        return Err(algebra(path, "q does not divide p-1"));
    }
    if !bn::is_one(&a.exp(g, q, p).map_err(c(path))?) {
        return Err(algebra(path, "g^q != 1 mod p"));
    }
    Ok(())
}

impl IffKey {
    /// Generates new IFF parameters with a `bits`-bit p (`ntp-keygen -I -b`).
    pub fn generate(bits: u32) -> Result<IffKey> {
        let path = Path::new("IFF generation");
        let dsa = Dsa::generate_params(bits).map_err(c(path))?;
        let mut a = Arith::new().map_err(c(path))?;
        let (p, q, g) = (
            bn::dup(dsa.p()).map_err(c(path))?,
            bn::dup(dsa.q()).map_err(c(path))?,
            bn::dup(dsa.g()).map_err(c(path))?,
        );
        let b = a.random_unit(&q).map_err(c(path))?;
        let v = public_value(&mut a, &p, &q, &g, &b).map_err(c(path))?;
        Ok(IffKey {
            params: IffParams { p, q, g, v },
            b,
        })
    }

    /// Reads the server key from a decoded private key. Accepts the stock
    /// PKCS#8 file (public value recomputed by OpenSSL as g^b) and the
    /// traditional form that stores v.
    pub fn from_pkey(path: &Path, pkey: &PKey<Private>) -> Result<IffKey> {
        let d = dsa_parts(path, pkey)?;
        let mut a = Arith::new().map_err(c(path))?;
        check_group(path, &mut a, &d.p, &d.q, &d.g)?;
        if bn::is_one(&d.private) {
            return Err(KeyError::corrupt(
                path,
                "this is an IFF client parameter file (group key removed), not the server's IFF key",
            ));
        }
        if d.private.num_bits() == 0 || d.private >= d.q {
            return Err(algebra(path, "group key b not in (0, q)"));
        }
        let v = public_value(&mut a, &d.p, &d.q, &d.g, &d.private).map_err(c(path))?;
        let gb = a.exp(&d.g, &d.private, &d.p).map_err(c(path))?;
        if d.public != v && d.public != gb {
            return Err(algebra(path, "public value is neither g^(q-b) nor g^b"));
        }
        Ok(IffKey {
            params: IffParams {
                p: d.p,
                q: d.q,
                g: d.g,
                v,
            },
            b: d.private,
        })
    }

    /// Checks v·g^b ≡ 1 (mod p).
    pub fn verify(&self) -> Result<bool> {
        let path = Path::new("IFF key");
        let mut a = Arith::new().map_err(c(path))?;
        let gb = a
            .exp(&self.params.g, &self.b, &self.params.p)
            .map_err(c(path))?;
        Ok(bn::is_one(
            &a.mul(&gb, &self.params.v, &self.params.p)
                .map_err(c(path))?,
        ))
    }

    /// The server file in the form both the reference and we read with the
    /// public value intact: traditional `DSA PRIVATE KEY`, pub = v, priv = b.
    pub fn to_pem(&self, prot: Option<Protection<'_>>) -> Result<String> {
        dsa_traditional_pem(&self.parts(&self.b)?, prot)
    }

    /// The client parameter file (`-e`): traditional DSA, pub = v, priv = 1;
    /// unencrypted as 4.2.8 writes it, or encrypted (the old guide's form).
    pub fn params_pem(&self, prot: Option<Protection<'_>>) -> Result<String> {
        let one = bn::one().map_err(c(Path::new("IFF")))?;
        dsa_traditional_pem(&self.parts(&one)?, prot)
    }

    fn parts(&self, private: &BigNum) -> Result<DsaParts> {
        let e = c(Path::new("IFF"));
        Ok(DsaParts {
            p: bn::dup(&self.params.p).map_err(&e)?,
            q: bn::dup(&self.params.q).map_err(&e)?,
            g: bn::dup(&self.params.g).map_err(&e)?,
            private: bn::dup(private).map_err(&e)?,
            public: bn::dup(&self.params.v).map_err(&e)?,
        })
    }
}

fn public_value(
    a: &mut Arith,
    p: &BigNum,
    q: &BigNum,
    g: &BigNum,
    b: &BigNum,
) -> std::result::Result<BigNum, openssl::error::ErrorStack> {
    let zero = BigNum::new()?;
    let qmb = a.sub(&zero, b, q)?; // q − b
    a.exp(g, &qmb, p)
}

impl IffParams {
    /// Reads client parameters. A file holding the group key (the old
    /// guide's exported `ntpkey_IFFkey_<server>`, or a `-q` export) is
    /// accepted too; v is then derived from b. A stock 4.2.8 `-e` file,
    /// whose v was replaced by g on loading, is reported as
    /// [`KeyError::PublicValueLost`].
    pub fn from_pkey(path: &Path, pkey: &PKey<Private>) -> Result<IffParams> {
        let d = dsa_parts(path, pkey)?;
        if !bn::is_one(&d.private) {
            return Ok(IffKey::from_pkey(path, pkey)?.params);
        }
        let mut a = Arith::new().map_err(c(path))?;
        check_group(path, &mut a, &d.p, &d.q, &d.g)?;
        if d.public == d.g {
            return Err(KeyError::PublicValueLost {
                path: path.to_path_buf(),
                scheme: Scheme::Iff,
                regen: REGEN,
            });
        }
        if !bn::is_one(&a.exp(&d.public, &d.q, &d.p).map_err(c(path))?) {
            return Err(algebra(path, "v^q != 1 mod p"));
        }
        Ok(IffParams {
            p: d.p,
            q: d.q,
            g: d.g,
            v: d.public,
        })
    }
}
