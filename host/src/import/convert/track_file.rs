//! `track_file` (and its deprecated synonym `vrrp_track_file`): a file holding a number that
//! keepalived multiplies by a weight. vrrpd's `kind = "file"` check reads it the same way.

use super::Converter;
use super::values::int_arg;
use crate::import::ImportError;
use crate::import::model::*;
use crate::import::parser::Stmt;

impl Converter {
    pub(super) fn track_file(&mut self, stmt: &Stmt) -> Result<TrackFile, ImportError> {
        let top = stmt.key();
        let Some(name) = stmt.args().first().filter(|n| !n.text.is_empty()) else {
            return Err(self.error(stmt.pos(), top, "the track_file needs a name"));
        };
        let path = format!("{top} {}", name.text);
        let mut f = TrackFile {
            name: name.text.clone(),
            pos: stmt.pos(),
            at: self.loc(stmt.pos()),
            path: String::new(),
            weight: 1,
            reverse: false,
            notes: Vec::new(),
            unusable: None,
            init: None,
        };
        let mut file: Option<&Stmt> = None;
        let mut weight_set = false;
        for st in stmt.block.iter().flatten() {
            let key = format!("{path}.{}", st.key());
            match st.key() {
                "file" => {
                    let w = self.one_arg(st, &key)?;
                    if file.is_some() {
                        // keepalived keeps the first and refuses this one.
                        return Err(self.error(w.pos, &key, "the file is already set"));
                    }
                    f.path = w.text.clone();
                    file = Some(st);
                }
                "weight" => {
                    if weight_set {
                        return Err(self.error(st.pos(), &key, "the weight is already set"));
                    }
                    weight_set = true;
                    (f.weight, f.reverse) = self.file_weight(st, &key)?;
                }
                "init_file" => self.init_file(st, &key, &mut f)?,
                _ => self.list(
                    st,
                    "unknown keyword (keepalived ignores it too, with a warning)",
                ),
            }
        }
        let Some(file) = file else {
            return Err(self.error(stmt.pos(), &path, "has no `file`"));
        };
        if f.path.is_empty() {
            return Err(self.error(file.pos(), &format!("{path}.file"), "the path is empty"));
        }
        if !f.path.starts_with('/') {
            let why = "has a relative path, which keepalived resolves against its working directory: vrrpd needs an absolute path";
            self.list(file, why);
            f.unusable = Some("has a relative path".into());
        }
        Ok(f)
    }

    /// `weight N [reverse]` of a `track_file`: keepalived takes -254..=254 and no `noreverse`
    /// here.
    fn file_weight(&self, st: &Stmt, key: &str) -> Result<(i32, bool), ImportError> {
        let (weight, rest) = self.weight_arg(st, key)?;
        match rest {
            [] => Ok((weight, false)),
            [r] if r.text == "reverse" => Ok((weight, true)),
            [other, ..] => Err(self.error(other.pos, key, "expected `reverse` or nothing")),
        }
    }

    /// `init_file [VALUE] [overwrite]`: keepalived writes VALUE (0 by default) to the file at
    /// start when it is missing, or always with `overwrite`; so does vrrpd's `init` /
    /// `overwrite`.
    fn init_file(&mut self, st: &Stmt, key: &str, f: &mut TrackFile) -> Result<(), ImportError> {
        let mut value = 0;
        let mut overwrite = false;
        for w in st.args() {
            if w.text == "overwrite" {
                overwrite = true;
            } else if w.text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                value = match int_arg(&w.text) {
                    Some(n) if (-254..=254).contains(&n) => n,
                    _ => {
                        return Err(self.error(
                            w.pos,
                            key,
                            format!("{:?}: an init value is -254..=254", w.text),
                        ));
                    }
                };
            } else {
                return Err(self.error(w.pos, key, "expected a value or `overwrite`"));
            }
        }
        if f.init.is_some() {
            return Err(self.error(st.pos(), key, "init_file is already set"));
        }
        f.init = Some((value, overwrite));
        Ok(())
    }
}
