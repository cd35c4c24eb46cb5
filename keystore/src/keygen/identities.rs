//! The identity steps of an `ntp-keygen` run (brief §6, §8.2): GQ, IFF and
//! MV keys generated (`-G`, `-I`, `-V N`) or loaded, and their `-e` / `-q`
//! exports on stdout. `-V N` also writes the MV client keys
//! `ntpkey_MVkeyJ_<host>.<fs>` (J = 1 … N−1, the enabled ones) that the
//! "Configuring Autokey" guide links on clients
//! (`ln -s ntpkey_MVkey1_server.<fs> ntpkey_mv_server`).

use super::{crypto, KeygenError, Options, Run, PRIVATE_MODE};
use crate::error::KeyError;
use crate::identity::gq::GqKey;
use crate::identity::iff::IffKey;
use crate::identity::mv::MvAuthority;

impl Run<'_> {
    /// GQ keys (`-G` or `ntpkey_gqkey_*`) and their exports.
    pub(super) fn gq(&mut self, opts: &Options) -> Result<Option<GqKey>, KeygenError> {
        let gq = if opts.gq {
            say!(self, "Generating GQ parameters ({} bits)...", opts.imbits);
            let key = GqKey::generate(opts.imbits)?;
            let ok = key.verify().map_err(crypto("GQ"))?;
            say!(
                self,
                "Confirm u^b (u^-1)^b = 1 mod n: {}",
                if ok { "yes" } else { "no" }
            );
            for (l, v) in [("n", &key.n), ("b", &key.b), ("u", &key.u), ("v", &key.v)] {
                self.dump(l, v);
            }
            let body = key.to_pem(self.prot())?;
            let (group, links) = (self.group.clone(), self.identity_links("gqkey"));
            self.write_file("GQkey", &group, &links, &body, PRIVATE_MODE)?;
            Some(key)
        } else {
            let names = self.identity_names("gqkey");
            match self.load(&names)? {
                Some(found) => {
                    say!(self, "Using GQ parameters {}", found.shown);
                    Some(GqKey::from_pkey(&found.path, &found.keys[0])?)
                }
                None => None,
            }
        };
        if let Some(key) = &gq {
            if key.public_octets().len() >= 128 {
                say!(self, "ntp-keygen: warning: the GQ public key is {} octets; 4.2.8 ntpd cannot read keys of 128 octets or more from the certificate (use -b 1016 or less)", key.public_octets().len());
            }
            if opts.export_params {
                let body = key.params_pem(self.e_prot())?;
                self.export("GQ parameters", "gqpar", &body)?;
            }
            if self.q_export.is_some() {
                let body = key.to_pem(self.q_prot())?;
                self.export("GQ keys", "gqkey", &body)?;
            }
        }
        Ok(gq)
    }

    /// IFF keys (`-I` or `ntpkey_iffkey_*`) and their exports.
    pub(super) fn iff(&mut self, opts: &Options) -> Result<Option<IffKey>, KeygenError> {
        let iff = if opts.iff {
            say!(self, "Generating IFF keys ({} bits)...", opts.imbits);
            let key = IffKey::generate(opts.imbits)?;
            let ok = key.verify()?;
            say!(
                self,
                "Confirm g^(q - b) g^b = 1 mod p: {}",
                if ok { "yes" } else { "no" }
            );
            for (l, v) in [
                ("p", &key.params.p),
                ("q", &key.params.q),
                ("g", &key.params.g),
                ("b", &key.b),
                ("v", &key.params.v),
            ] {
                self.dump(l, v);
            }
            let body = key.to_pem(self.prot())?;
            let (group, links) = (self.group.clone(), self.identity_links("iffkey"));
            self.write_file("IFFkey", &group, &links, &body, PRIVATE_MODE)?;
            Some(key)
        } else {
            let names = self.identity_names("iffkey");
            match self.load(&names)? {
                Some(found) => {
                    say!(self, "Using IFF keys {}", found.shown);
                    Some(IffKey::from_pkey(&found.path, &found.keys[0])?)
                }
                None => None,
            }
        };
        if let Some(key) = &iff {
            if opts.export_params {
                let body = key.params_pem(self.e_prot())?;
                self.export("IFF parameters", "iffpar", &body)?;
            }
            if self.q_export.is_some() {
                let body = key.to_pem(self.q_prot())?;
                self.export("IFF keys", "iffkey", &body)?;
            }
        }
        Ok(iff)
    }

    /// MV keys (`-V N` or `ntpkey_mvta_*`) and their exports.
    pub(super) fn mv(&mut self, opts: &Options) -> Result<Option<MvAuthority>, KeygenError> {
        let mv = match opts.mv {
            Some(n) => Some(self.generate_mv(opts, n)?),
            None => self.load_mv()?,
        };
        if let Some(ta) = &mv {
            if opts.export_params {
                let body = ta.clients[0].to_pem(self.e_prot())?;
                self.export("MV parameters", "mvpar", &body)?;
            }
            if self.q_export.is_some() {
                let body = ta.server.to_pem(self.q_prot())?;
                self.export("MV keys", "mvkey", &body)?;
            }
        }
        Ok(mv)
    }

    /// `-V N`: the MVta bundle, the server key and the N−1 enabled client
    /// keys as files of their own (unencrypted, like the `-e` export, so a
    /// client reads them with any `crypto pw`; mode 0600).
    fn generate_mv(&mut self, opts: &Options, n: usize) -> Result<MvAuthority, KeygenError> {
        say!(
            self,
            "Generating MV parameters for {n} keys ({} bits)...",
            opts.imbits as usize / n
        );
        let ta = MvAuthority::generate(opts.imbits, n)?;
        self.dump("p", &ta.p);
        self.dump("q", &ta.q);
        say!(self, "Revoke key {n}");
        let body = ta.to_pem(self.prot())?;
        let (group, links) = (self.group.clone(), self.identity_links("mvta"));
        self.write_file("MVta", &group, &links, &body, PRIVATE_MODE)?;
        let body = ta.server.to_pem(self.prot())?;
        let links = self.identity_links("mvkey");
        self.write_file("mvkey", &group, &links, &body, PRIVATE_MODE)?;
        let host = self.host.clone();
        for (j, client) in ta.clients.iter().enumerate().take(n - 1) {
            let body = client.to_pem(None)?;
            let file =
                self.write_file(&format!("MVkey{}", j + 1), &host, &[], &body, PRIVATE_MODE)?;
            say!(self, "Generating MV client key {file}");
        }
        Ok(ta)
    }

    fn load_mv(&mut self) -> Result<Option<MvAuthority>, KeygenError> {
        let names = self.identity_names("mvta");
        let Some(found) = self.load(&names)? else {
            return Ok(None);
        };
        say!(self, "Using MV keys {}", found.shown);
        match MvAuthority::from_pkeys(&found.path, &found.keys) {
            Ok(ta) => Ok(Some(ta)),
            // A stock 4.2.8 MVta file: say so, keep going without MV.
            Err(e @ KeyError::PublicValueLost { .. }) => {
                say!(self, "ntp-keygen: warning: {e}");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// An export was asked for but there is nothing to export.
    pub(super) fn nothing_to_export(&mut self, opts: &Options, have_identity: bool) {
        if (opts.export_params || self.q_export.is_some()) && !have_identity {
            say!(
                self,
                "ntp-keygen: no identity keys found to export (looked for ntpkey_gqkey_{g}, ntpkey_iffkey_{g}, ntpkey_mvta_{g}); generate them with -G, -I or -V, or use -i GROUP",
                g = self.group
            );
        }
    }
}
