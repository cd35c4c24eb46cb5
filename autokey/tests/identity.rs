//! IFF, GQ and MV as designed (brief §6) with the fixture group keys: our
//! responder's proofs verify, tampered or replayed proofs do not, and the
//! filestamp rules hold.

mod common;

use autokey::identity::{der, ClientIdentity, ServerIdentity};
use autokey::AutokeyError;
use common::{client_server, rng};
use keystore::Scheme;

fn pair(run: &str) -> (ServerIdentity, ClientIdentity) {
    let hosts = client_server(run);
    let creds = hosts.server.credentials();
    let server = creds
        .identities
        .into_iter()
        .next()
        .expect("server identity key");
    let group = hosts.client.client_group().expect("the client's ident");
    let client = match hosts
        .client
        .identity_sources(&group)
        .into_iter()
        .next()
        .expect("client parameters")
    {
        autokey::association::IdentitySource::Iff { params, filestamp } => {
            ClientIdentity::Iff { params, filestamp }
        }
        autokey::association::IdentitySource::Mv { key, filestamp } => {
            ClientIdentity::Mv { key, filestamp }
        }
        autokey::association::IdentitySource::Gq { params, filestamp } => {
            ClientIdentity::gq(params, &creds.cert, filestamp).unwrap()
        }
    };
    (server, client)
}

fn exercise(run: &str, scheme: Scheme, n_ints: usize) {
    let mut rng = rng(31);
    let (server, client) = pair(run);
    assert_eq!(server.scheme(), scheme);
    assert_eq!(client.scheme(), scheme);
    for _ in 0..20 {
        let ch = client.challenge(&mut rng).unwrap();
        // Right-aligned, zero-padded to the modulus length (brief §6.1).
        let octets = ch.octets.clone();
        let proof = server.respond(&octets, &mut rng).unwrap();
        assert_eq!(der::decode_integers(&proof, n_ints).unwrap().len(), n_ints);
        client.verify(ch, server.filestamp(), &proof).unwrap();
        // The same proof against a fresh challenge fails.
        let other = client.challenge(&mut rng).unwrap();
        assert!(matches!(
            client.verify(other, server.filestamp(), &proof),
            Err(AutokeyError::Identity { .. })
        ));
        // A flipped bit in y.
        let mut bad = proof.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let ch = client.challenge_from_octets(&octets).unwrap();
        let e = client.verify(ch, server.filestamp(), &bad).unwrap_err();
        assert_eq!(e.event(), autokey::Xevnt::Id, "{e}");
        // Trailing garbage.
        let mut trailing = proof.clone();
        trailing.push(0);
        let ch = client.challenge_from_octets(&octets).unwrap();
        assert!(matches!(
            client.verify(ch, server.filestamp(), &trailing),
            Err(AutokeyError::IdentityFormat { .. })
        ));
    }
    // Filestamp rules: IFF and MV need equality, GQ accepts a newer key.
    let ch = client.challenge(&mut rng).unwrap();
    let proof = server.respond(&ch.octets, &mut rng).unwrap();
    let newer = client.verify(ch, server.filestamp() + 1, &proof);
    match scheme {
        Scheme::Gq => newer.unwrap(),
        _ => assert!(matches!(newer, Err(AutokeyError::Filestamp { .. }))),
    }
    let ch = client.challenge(&mut rng).unwrap();
    let proof = server.respond(&ch.octets, &mut rng).unwrap();
    assert!(matches!(
        client.verify(ch, server.filestamp() - 1, &proof),
        Err(AutokeyError::Filestamp { .. })
    ));
    // Empty or oversized challenges are refused by the responder.
    assert!(server.respond(&[], &mut rng).is_err());
    assert!(server.respond(&vec![1u8; 4096], &mut rng).is_err());
}

#[test]
fn iff_as_designed() {
    exercise("iff", Scheme::Iff, 2);
}

#[test]
fn gq_as_designed() {
    exercise("gq", Scheme::Gq, 2);
}

#[test]
fn mv_as_designed() {
    exercise("mv", Scheme::Mv, 3);
}

#[test]
fn mv_revoked_client_key_fails() {
    // The last of the authority's client keys is revoked by construction
    // (brief §6.4); keystore generates a small authority for the check.
    let mut rng = rng(32);
    let auth = keystore::MvAuthority::generate(256, 3).unwrap();
    let server = ServerIdentity::Mv {
        key: auth.server,
        filestamp: 1,
    };
    let mut clients = auth.clients.into_iter();
    let good = ClientIdentity::Mv {
        key: clients.next().unwrap(),
        filestamp: 1,
    };
    let revoked = ClientIdentity::Mv {
        key: clients.last().unwrap(),
        filestamp: 1,
    };
    let ch = good.challenge(&mut rng).unwrap();
    let proof = server.respond(&ch.octets, &mut rng).unwrap();
    good.verify(ch, 1, &proof).unwrap();
    let ch = revoked.challenge(&mut rng).unwrap();
    let proof = server.respond(&ch.octets, &mut rng).unwrap();
    assert!(matches!(
        revoked.verify(ch, 1, &proof),
        Err(AutokeyError::Identity { .. })
    ));
}
