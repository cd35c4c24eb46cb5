//! The `autokey` client engine, fed the server responses of each reference
//! client/server and broadcast-volley capture, sends the same sequence of
//! request codes as the reference client did (brief §4.1, §4.3), with the
//! client's keys, identity group and addresses learnt from the run's
//! `ntp.conf` files. Identity challenges are the captured ones (the test's
//! random source hands the captured challenge to the engine), so the
//! captured proofs verify — or fail where the reference's did.

mod autokey_common;

use std::convert::Infallible;

use autokey::association::{AssocEvent, Association, AssociationConfig};
use autokey::host::LocalHost;
use autokey::message::{Message, Request};
use autokey_common::{load_run, run_dirs};
use ntp_tests::fixture_host::client_and_server;
use ntp_tests::fixtures_dir;
use proto::exten::AutokeyCode;
use proto::{Mode, PacketRef};
use rand::{Rng, SeedableRng, TryCryptoRng, TryRng};

/// ChaCha, except that the next `fill_bytes` of exactly the scripted
/// length returns the script: the identity engine draws its challenge as
/// one `len(modulus) + 8`-octet block reduced modulo the modulus, so
/// 8 zero octets followed by the captured r reproduce r.
struct ReplayRng {
    inner: rand_chacha::ChaCha20Rng,
    script: Option<Vec<u8>>,
}

impl TryRng for ReplayRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.inner.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.inner.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        match self.script.take() {
            Some(s) if s.len() == dst.len() => dst.copy_from_slice(&s),
            other => {
                self.script = other;
                self.inner.fill_bytes(dst)
            }
        }
        Ok(())
    }
}
impl TryCryptoRng for ReplayRng {}

#[test]
fn client_sends_the_reference_request_sequence() {
    let mut replayed = 0;
    for dir in run_dirs(&fixtures_dir()) {
        let run = load_run(&dir);
        // The client: the host with a `server … autokey` line or a multicast
        // group; symmetric runs (`peer`) are not client/server.
        let Some((ci, si)) = client_and_server(&run.hosts) else {
            continue;
        };
        let client_host_cfg = &run.hosts[ci];
        let caddr = client_host_cfg.addr.expect("client address");
        let saddr = run.hosts[si].addr.expect("server address");
        let volley = !client_host_cfg.multicast.is_empty() && client_host_cfg.unicast.is_empty();
        let group = client_host_cfg.group_for(saddr);
        let identities = group
            .as_deref()
            .map(|g| client_host_cfg.identity_sources(g))
            .unwrap_or_default();

        let mut rng = ReplayRng {
            inner: rand_chacha::ChaCha20Rng::seed_from_u64(3),
            script: None,
        };
        let t0 = 4_004_757_800;
        let mut host = LocalHost::new(client_host_cfg.credentials(), t0, 17, &mut rng).unwrap();
        let mut client: Option<Association> = None;
        let mut identities = Some(identities);
        let mut reference = Vec::new();
        let mut ours = Vec::new();
        let mut pending_broadcast: Vec<Vec<u8>> = Vec::new();
        let mut broadcasts_accepted = 0;
        for d in &run.datagrams {
            let pkt = PacketRef::parse(&d.payload).unwrap();
            let now = (d.time as i64 + 2_208_988_800) as u32;
            let fields: Vec<Vec<u8>> = pkt.fields().map(|f| f.as_bytes().to_vec()).collect();
            let (src, dst) = (d.src.ip(), d.dst.ip());
            if src == caddr && dst == saddr && pkt.header().mode == Mode::Client {
                let mut code = None;
                for f in &fields {
                    if let Ok(Message::Request(r)) = Message::parse(f) {
                        code = Some(r.code());
                        // The reference host's synchronisation state is an input.
                        let update = match &r {
                            Request::Assoc { value, .. } => value.timestamp,
                            Request::Cert { value, .. } => value.filestamp,
                            Request::Cook { value, .. } | Request::Sign { value, .. } => {
                                value.timestamp
                            }
                            _ => 0,
                        };
                        if update > host.last_update() {
                            host.update(update);
                        }
                        if let Request::Identity { value, .. } = &r {
                            let mut s = vec![0u8; 8];
                            s.extend_from_slice(&value.value);
                            rng.script = Some(s);
                        }
                    }
                }
                reference.push(code);
                let assoc_id = fields
                    .iter()
                    .filter_map(|f| Message::parse(f).ok())
                    .find(|m| m.code() != AutokeyCode::Auto)
                    .map(|m| m.assoc_id());
                let c = client.get_or_insert_with(|| {
                    Association::new(
                        AssociationConfig {
                            assoc_id: assoc_id.unwrap_or(1),
                            local: caddr,
                            remote: saddr,
                            ident: group.clone(),
                            identities: identities.take().unwrap_or_default(),
                            poll: 4,
                            automax: 12,
                            kind: if volley {
                                autokey::association::AssocKind::BroadcastClient
                            } else {
                                autokey::association::AssocKind::Client
                            },
                        },
                        t0,
                    )
                });
                for b in pending_broadcast.drain(..) {
                    let ev = c.receive_fields(&mut host, &[&b], now, &mut rng);
                    assert!(ev.is_empty(), "{}: {ev:?}", dir.display());
                }
                let tx = c.poll(&host, now, &mut rng).unwrap();
                ours.push(tx.request);
                rng.script = None;
            } else if src == saddr && dst == caddr && pkt.header().mode == Mode::Server {
                let c = client.as_mut().expect("reply before request");
                let refs: Vec<&[u8]> = fields.iter().map(|f| f.as_slice()).collect();
                for e in c.receive_fields(&mut host, &refs, now, &mut rng) {
                    match e {
                        AssocEvent::Rejected(err) if err.event() == autokey::Xevnt::Id => {}
                        AssocEvent::Rejected(err) | AssocEvent::Restarted(err) => {
                            panic!("{} frame {}: {err}", dir.display(), d.frame)
                        }
                        _ => {}
                    }
                }
            } else if volley && src == saddr && client.is_none() && pending_broadcast.is_empty() {
                // The broadcast that mobilises the volley: its ASSOC response.
                if let Some(f) = fields.iter().find(|f| {
                    matches!(
                        Message::parse(f),
                        Ok(Message::Response(autokey::Response::Assoc { .. }))
                    )
                }) {
                    pending_broadcast.push(f.clone());
                }
            } else if volley && src == saddr && client.as_ref().is_some_and(|c| c.is_complete()) {
                // After the volley: every broadcast passes the MAC (cookie 0,
                // towards the group) and the key-ID chain from the AUTO
                // anchor the volley fetched (brief §4.3, §5.6).
                let c = client.as_mut().unwrap();
                let ev = c
                    .receive_broadcast(&mut host, &pkt, src, dst, now, &mut rng)
                    .unwrap_or_else(|e| panic!("{} frame {}: {e}", dir.display(), d.frame));
                assert!(ev.is_empty(), "{} frame {}: {ev:?}", dir.display(), d.frame);
                broadcasts_accepted += 1;
            }
        }
        if volley {
            assert!(
                broadcasts_accepted > 0,
                "{}: no broadcast after the volley",
                dir.display()
            );
            println!("    {broadcasts_accepted} broadcasts after the volley accepted by MAC and key chain");
        }
        println!(
            "{}: reference {:?}",
            dir.display(),
            reference
                .iter()
                .map(|c| c.map_or("-", |c| c.name()))
                .collect::<Vec<_>>()
        );
        assert_eq!(ours, reference, "{}", dir.display());
        // The peer crypto flags end where the reference's ended (`ntpq rv &1`).
        let rv = std::fs::read_to_string(client_host_cfg.dir.join("ntpq-c-rv-amp1.txt"))
            .unwrap_or_default();
        if let Some(flags) = rv
            .split(|c: char| c == ',' || c.is_whitespace())
            .find_map(|w| w.strip_prefix("flags=0x"))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
        {
            let c = client.as_ref().expect("client association");
            // Where the reference's identity failed (no VRFY), it still
            // showed the server's scheme bits; ours lights them only for
            // a verified proof (issue 19).
            let flags = if flags & 0x200 == 0 {
                flags & !0xe0
            } else {
                flags
            };
            assert_eq!(
                c.flags(),
                flags,
                "{}: flags {:#x} vs reference {flags:#x}",
                dir.display(),
                c.flags()
            );
            println!("    flags {:#x} as the reference's ntpq showed", c.flags());
        }
        // The certificate cache lists what the reference's `rv 0 cert` did.
        let rv0 = std::fs::read_to_string(client_host_cfg.dir.join("ntpq-c-rv-0-cert.txt"))
            .unwrap_or_default();
        let shown: String = rv0
            .lines()
            .filter(|l| !l.starts_with('$'))
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !shown.is_empty() {
            assert_eq!(host.cert_cache().ntpq_list(), shown, "{}", dir.display());
            println!("    rv 0 cert: {shown}");
        }
        replayed += 1;
    }
    // The committed fixtures hold 8 client/server and broadcast runs; a
    // capture set named by AUTOKEY_FIXTURES may hold any number.
    if std::env::var_os("AUTOKEY_FIXTURES").is_none() {
        assert!(replayed >= 8, "{replayed} client runs replayed");
    }
}
