//! The statement tree: blocks, brace styles, and `include`s resolved as keepalived resolves them.

use std::path::{Path, PathBuf};

use crate::config::Location;

use super::ImportError;
use super::glob::glob;
use super::lexer::{Pos, Tok, Word, lex};

/// One keyword with its arguments, and its `{ ... }` block if it has one.
#[derive(Debug, Clone)]
pub(super) struct Stmt {
    pub(super) words: Vec<Word>,
    pub(super) block: Option<Vec<Stmt>>,
}

impl Stmt {
    pub(super) fn key(&self) -> &str {
        &self.words[0].text
    }

    pub(super) fn pos(&self) -> Pos {
        self.words[0].pos
    }

    pub(super) fn args(&self) -> &[Word] {
        &self.words[1..]
    }

    /// The statement as written, for the untranslated list.
    pub(super) fn text(&self) -> String {
        let mut s = self
            .words
            .iter()
            .map(|w| {
                if w.text.is_empty() || w.text.contains(char::is_whitespace) {
                    format!("{:?}", w.text)
                } else {
                    w.text.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        if self.block.is_some() {
            s.push_str(" { ... }");
        }
        s
    }
}

/// Blocks that only exist at the top level: meeting one inside another block means a `}` is
/// missing, which is far more useful to say there than at the end of the file.
const TOP_LEVEL_BLOCKS: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "vrrp_track_process",
    "vrrp_track_file",
    "virtual_server",
    "virtual_server_group",
    "bfd_instance",
    "garp_group",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "linkbeat_interfaces",
];

const INCLUDE_KEYWORDS: &[&str] = &[
    "include", "includer", "includem", "includew", "includeb", "includea",
];

pub(super) struct SourceFile {
    pub(super) name: String,
    pub(super) lines: Vec<String>,
}

/// The files read so far, the main one first, and the statements met on the way that the
/// output does not reproduce.
#[derive(Default)]
pub(super) struct Sources {
    pub(super) files: Vec<SourceFile>,
    /// Where, the statement as written, and why.
    pub(super) untranslated: Vec<(Pos, String, String)>,
    /// Mistakes reading and converting met so far, in the order met: reading goes on after
    /// each, so that one run reports them all.
    pub(super) errors: Vec<ImportError>,
    /// Canonical paths of the files being read, to refuse include cycles.
    reading: Vec<PathBuf>,
}

impl Sources {
    pub(super) fn error(&self, pos: Pos, key: &str, message: impl Into<String>) -> ImportError {
        let f = &self.files[pos.file];
        // Every position comes from the lexer, which only ever points into a line of the file.
        let line = f.lines.get(pos.line - 1).cloned().unwrap_or_default();
        Location::new(
            PathBuf::from(&f.name),
            pos.line,
            pos.col,
            key.to_owned(),
            line,
        )
        .error(message)
    }

    /// Records a mistake and goes on; a second one at the same place (the same missing `}`
    /// seen from each enclosing block) is the same mistake.
    pub(super) fn record(&mut self, e: ImportError) {
        if !self
            .errors
            .iter()
            .any(|o| o.file == e.file && o.position == e.position)
        {
            self.errors.push(e);
        }
    }

    pub(super) fn list(&mut self, stmt: &Stmt, why: impl Into<String>) {
        self.untranslated
            .push((stmt.pos(), stmt.text(), why.into()));
    }

    pub(super) fn load(
        &mut self,
        path: &Path,
        text: Option<&str>,
    ) -> Result<Vec<Stmt>, ImportError> {
        let name = path.display().to_string();
        let owned;
        let text = match text {
            Some(t) => t,
            None => {
                owned = std::fs::read_to_string(path).map_err(|e| {
                    ImportError::whole_file(
                        path,
                        format!("cannot read the keepalived configuration: {e}"),
                    )
                })?;
                &owned
            }
        };
        let file = self.files.len();
        self.files.push(SourceFile {
            name,
            lines: text
                .split('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
                .collect(),
        });
        let toks = lex(text, file).map_err(|(pos, msg)| self.error(pos, "", msg))?;
        self.reading
            .push(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()));
        let mut i = 0;
        let stmts = self.block(&toks, &mut i, None, path)?;
        self.reading.pop();
        Ok(stmts)
    }

    /// Reads statements up to the `}` closing `open` (or the end of the file at the top level).
    pub(super) fn block(
        &mut self,
        toks: &[Tok],
        i: &mut usize,
        open: Option<&Stmt>,
        path: &Path,
    ) -> Result<Vec<Stmt>, ImportError> {
        let mut out: Vec<Stmt> = Vec::new();
        // Whether the last statement ended its line without a block, so that a `{` alone on the
        // next line opens its block (keepalived accepts both brace styles).
        let mut may_open = false;
        loop {
            match toks.get(*i) {
                None => {
                    // An unclosed block ends with the file: what it holds is still read.
                    if let Some(s) = open {
                        let e = self.error(
                            s.pos(),
                            &s.text().replace(" { ... }", ""),
                            "this block is never closed: a `}` is missing",
                        );
                        self.record(e);
                    }
                    return Ok(out);
                }
                Some(Tok::Eol) => *i += 1,
                Some(Tok::Close(pos)) => {
                    *i += 1;
                    match open {
                        Some(_) => return Ok(out),
                        None => {
                            let e = self.error(*pos, "", "`}` without a matching `{`");
                            self.record(e);
                        }
                    }
                }
                Some(Tok::Open(pos)) => {
                    let pos = *pos;
                    *i += 1;
                    match out.last() {
                        Some(last) if may_open => {
                            let last = last.clone();
                            let block = self.block(toks, i, Some(&last), path)?;
                            out.last_mut().expect("just seen").block = Some(block);
                            may_open = false;
                        }
                        _ => {
                            let e = self.error(pos, "", "`{` without a keyword before it");
                            self.record(e);
                            // Its block belongs to nothing: read past it.
                            let orphan = Stmt {
                                words: vec![Word {
                                    text: "{".into(),
                                    pos,
                                }],
                                block: None,
                            };
                            self.block(toks, i, Some(&orphan), path)?;
                        }
                    }
                }
                Some(Tok::Word(_)) => {
                    let start = *i;
                    let mut words = Vec::new();
                    while let Some(Tok::Word(w)) = toks.get(*i) {
                        words.push(w.clone());
                        *i += 1;
                    }
                    let mut stmt = Stmt { words, block: None };
                    if let Some(outer) = open
                        && TOP_LEVEL_BLOCKS.contains(&stmt.key())
                    {
                        // The open block ends here, as keepalived's own recovery has it; the
                        // keyword is read again at the top level.
                        let e = self.error(
                            stmt.pos(),
                            &outer.text().replace(" { ... }", ""),
                            format!(
                                "`{}` inside the block opened on line {}: a `}}` is missing before this line",
                                stmt.key(),
                                outer.pos().line
                            ),
                        );
                        self.record(e);
                        *i = start;
                        return Ok(out);
                    }
                    if let Some(Tok::Open(_)) = toks.get(*i) {
                        *i += 1;
                        stmt.block = Some(self.block(toks, i, Some(&stmt), path)?);
                        may_open = false;
                    } else {
                        may_open = matches!(toks.get(*i), Some(Tok::Eol));
                    }
                    if INCLUDE_KEYWORDS.contains(&stmt.key()) {
                        match self.include(&stmt, path) {
                            Ok(stmts) => out.extend(stmts),
                            Err(e) => self.record(e),
                        }
                        may_open = false;
                    } else {
                        out.push(stmt);
                    }
                }
            }
        }
    }

    pub(super) fn include(&mut self, stmt: &Stmt, from: &Path) -> Result<Vec<Stmt>, ImportError> {
        let [pattern] = stmt.args() else {
            return Err(self.error(
                stmt.pos(),
                stmt.key(),
                "expected one file name or glob pattern",
            ));
        };
        // keepalived.conf(5): relative paths are relative to the directory of the including file.
        let full = from.parent().unwrap_or(Path::new("")).join(&pattern.text);
        let files = glob(&full);
        if files.is_empty() {
            self.list(
                stmt,
                "matches no file (keepalived's `include` skips it too): nothing from it is in the output",
            );
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for f in files {
            let canon = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
            if self.reading.contains(&canon) {
                return Err(self.error(
                    pattern.pos,
                    stmt.key(),
                    format!("{} includes itself", f.display()),
                ));
            }
            out.extend(self.load(&f, None)?);
        }
        Ok(out)
    }
}
