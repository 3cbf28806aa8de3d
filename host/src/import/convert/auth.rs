//! `authentication`: VRRPv2 simple passwords.

use super::Converter;
use crate::import::ImportError;
use crate::import::model::*;
use crate::import::parser::Stmt;

impl Converter {
    pub(super) fn auth(&mut self, s: &Stmt, r: &mut Router, path: &str) -> Result<(), ImportError> {
        let mut kind = None;
        let mut pass = None;
        for a in s.block.iter().flatten() {
            let key = format!("{path}.authentication.{}", a.key());
            match a.key() {
                "auth_type" => kind = Some((self.one_arg(a, &key)?.text.to_ascii_uppercase(), a)),
                "auth_pass" => pass = Some((self.one_arg(a, &key)?.clone(), a)),
                _ => self.list(
                    a,
                    "unknown keyword (keepalived ignores it too, with a warning)",
                ),
            }
        }
        match (kind, pass) {
            (Some((k, _)), Some((p, _))) if k == "PASS" => {
                if r.version == 3 {
                    self.list(
                        s,
                        "VRRPv3 has no authentication (RFC 9568), and keepalived ignores it with version 3 too",
                    );
                    return Ok(());
                }
                if p.text.is_empty() {
                    return Err(self.error(
                        p.pos,
                        &format!("{path}.authentication.auth_pass"),
                        "the password is empty",
                    ));
                }
                let mut pw = p.text.clone();
                if pw.len() > 8 {
                    // keepalived sends the first 8 bytes: cut the same way for interop.
                    let mut cut = 8;
                    while !pw.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    pw.truncate(cut);
                    r.comments.push(format!(
                        "auth_pass ({}) cut to its first 8 bytes, as keepalived sends it",
                        self.loc(p.pos)
                    ));
                }
                r.auth_pass = Some(pw);
            }
            (Some((k, a)), _) if k == "AH" => {
                self.list(a, "vrrpd supports only simple password authentication (PASS)");
            }
            (Some((k, a)), _) if k != "PASS" => {
                return Err(self.error(
                    a.args()[0].pos,
                    &format!("{path}.authentication.auth_type"),
                    format!("{k:?}: expected PASS or AH"),
                ));
            }
            _ => self.list(s, "needs both auth_type PASS and auth_pass: keepalived does not authenticate with it either"),
        }
        Ok(())
    }
}
