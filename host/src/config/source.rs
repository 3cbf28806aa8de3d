//! Positions and key paths: from a byte span of the file to `vrrp[1].vips[0]` at LINE:COL.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Location};

pub(super) struct Source<'a> {
    pub(super) text: &'a str,
    pub(super) file: &'a Path,
}

impl Source<'_> {
    fn line_col(&self, pos: usize) -> (usize, usize, String) {
        let pos = pos.min(self.text.len());
        let before = &self.text[..pos];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[start..pos].chars().count() + 1;
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let source_line = self.text[start..end].trim_end_matches('\r').to_owned();
        (line, col, source_line)
    }

    pub(super) fn location(&self, span: Range<usize>, key: String) -> Location {
        let (line, col, source_line) = self.line_col(span.start);
        Location::new(self.file.to_owned(), line, col, key, source_line)
    }

    pub(super) fn toml_error(
        &self,
        e: &toml::de::Error,
        tree: Option<&Spanned<DeTable>>,
    ) -> ConfigError {
        let span = e.span().unwrap_or(0..0);
        // toml reports errors about the document itself (a missing top-level key) at 0..0.
        let key = match tree {
            Some(t) if span != (0..0) => key_path_at(t.get_ref(), &span),
            _ => String::new(),
        };
        self.location(span, key).error(e.message().trim_end())
    }
}

#[derive(Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The deepest key path whose key or value span contains `span`, e.g. `vrrp[1].vips[0]`.
pub(super) fn key_path_at(root: &DeTable, span: &Range<usize>) -> String {
    let mut best = Vec::new();
    let mut path = Vec::new();
    walk_table(root, span, &mut path, &mut best);
    let mut out = String::new();
    for seg in best {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push_str(&k);
                } else {
                    out.push_str(&format!("{k:?}"));
                }
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start
        && (inner.end <= outer.end || (inner.start == inner.end && inner.start < outer.end))
        && outer.start < outer.end
}

fn walk_table(t: &DeTable, span: &Range<usize>, path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
    for (k, v) in t.iter() {
        path.push(Seg::Key(k.get_ref().to_string()));
        if (covers(&k.span(), span) || covers(&v.span(), span)) && path.len() > best.len() {
            *best = path.clone();
        }
        walk_value(v.get_ref(), span, path, best);
        path.pop();
    }
}

fn walk_value(v: &DeValue, span: &Range<usize>, path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
    match v {
        DeValue::Table(t) => walk_table(t, span, path, best),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if covers(&item.span(), span) && path.len() > best.len() {
                    *best = path.clone();
                }
                walk_value(item.get_ref(), span, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}
