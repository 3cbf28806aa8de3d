//! `vrrpd import-keepalived FILE [-o OUT]`: converts the keepalived.conf subset that nginx HA
//! setups use into a vrrpd configuration.
//!
//! Whatever the output does not reproduce of keepalived's behaviour is listed by FILE:LINE, as
//! `# not translated:` comments at the top of the output and on stderr; nothing is dropped
//! silently. Exit status: 0 everything translated, 3 something listed, 2 the file cannot be
//! converted (a syntax error, or a value keepalived itself refuses or replaces with a default,
//! reported as `FILE:LINE:COL: key path: why`), 1 the output could not be written.
//!
//! The parser is hand-written: no maintained crate reads keepalived.conf, whose grammar is
//! keepalived's own (words on a line, brace blocks, `!`/`#` comments anywhere outside quotes,
//! `"`/`'` quotes that join words, `include` with globs relative to the including file).

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{Config, format_duration, parse_duration};

/// Exit status when the output was written but lists settings it does not reproduce.
pub const EXIT_UNTRANSLATED: u8 = 3;

// ---------------------------------------------------------------------------------------------
// Results.

/// A keepalived.conf that cannot be converted. `Display` gives `FILE:LINE:COL: KEY: why`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    /// 1-based line and column; `None` when the file could not be read.
    pub position: Option<(usize, usize)>,
    /// keepalived key path such as `vrrp_instance VI_1.priority`; may be empty.
    pub key: String,
    pub message: String,
    source_line: Option<String>,
}

impl ImportError {
    /// The error followed by the source line and a caret under the column.
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        if let (Some(line), Some((_, col))) = (&self.source_line, self.position) {
            let pad: String = line
                .chars()
                .take(col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = write!(out, "\n    {line}\n    {pad}^");
        }
        out
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ImportError {}

/// A keepalived setting whose behaviour the output does not reproduce (fully).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslated {
    pub file: String,
    pub line: usize,
    /// The setting as written (words joined by single spaces).
    pub what: String,
    pub why: String,
}

impl fmt::Display for Untranslated {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.what, self.why
        )
    }
}

/// A converted configuration.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The vrrpd TOML, with the untranslated list at the top.
    pub toml: String,
    /// In file order (the main file's lines interleaved with those of included files as
    /// keepalived reads them).
    pub untranslated: Vec<Untranslated>,
}

/// Converts the keepalived configuration at `path`.
pub fn import_file(path: &Path) -> Result<Imported, ImportError> {
    let mut conv = Converter::default();
    let stmts = conv.load(path, None)?;
    conv.translate(&stmts)
}

/// Converts `text` as if it were the file `path`: `include`s are resolved against its directory.
#[cfg(test)]
pub fn import_str(text: &str, path: &Path) -> Result<Imported, ImportError> {
    let mut conv = Converter::default();
    let stmts = conv.load(path, Some(text))?;
    conv.translate(&stmts)
}

/// `vrrpd import-keepalived`.
pub fn run(file: &Path, output: Option<&Path>) -> ExitCode {
    let imported = match import_file(file) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("vrrpd: {}", e.render());
            return ExitCode::from(2);
        }
    };
    // The converter checks every value itself; this guards against its own bugs, so that it
    // never hands out a file that `vrrpd run` would refuse.
    let out_name = output.map_or_else(|| PathBuf::from("<stdout>"), Path::to_path_buf);
    if let Err(e) = Config::parse(&imported.toml, &out_name) {
        eprintln!(
            "vrrpd: bug: the converted configuration does not validate:\n{}",
            e.render()
        );
        return ExitCode::FAILURE;
    }
    match output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &imported.toml) {
                eprintln!("vrrpd: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
        None => print!("{}", imported.toml),
    }
    for u in &imported.untranslated {
        eprintln!("vrrpd: not translated: {u}");
    }
    if imported.untranslated.is_empty() {
        if let Some(path) = output {
            eprintln!(
                "vrrpd: wrote {}; validate it with: vrrpd check --config {}",
                path.display(),
                path.display()
            );
        }
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "vrrpd: {} keepalived setting(s) not translated (also listed at the top of {})",
            imported.untranslated.len(),
            out_name.display()
        );
        ExitCode::from(EXIT_UNTRANSLATED)
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens and statements.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    file: usize,
    line: usize,
    col: usize,
}

#[derive(Debug, Clone)]
struct Word {
    text: String,
    pos: Pos,
}

#[derive(Debug)]
enum Tok {
    Word(Word),
    Open(Pos),
    Close(Pos),
    Eol,
}

/// One keyword with its arguments, and its `{ ... }` block if it has one.
#[derive(Debug, Clone)]
struct Stmt {
    words: Vec<Word>,
    block: Option<Vec<Stmt>>,
}

impl Stmt {
    fn key(&self) -> &str {
        &self.words[0].text
    }

    fn pos(&self) -> Pos {
        self.words[0].pos
    }

    fn args(&self) -> &[Word] {
        &self.words[1..]
    }

    /// The statement as written, for the untranslated list.
    fn text(&self) -> String {
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

/// Splits one file into tokens, line by line.
fn lex(text: &str, file: usize) -> Result<Vec<Tok>, (Pos, String)> {
    let mut toks = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let lineno = n + 1;
        let pos = |col| Pos {
            file,
            line: lineno,
            col,
        };
        let mut cur: Option<Word> = None;
        let mut quote: Option<(char, usize)> = None;
        let mut chars = line.chars().enumerate();
        fn flush(cur: &mut Option<Word>, toks: &mut Vec<Tok>) {
            if let Some(w) = cur.take() {
                toks.push(Tok::Word(w));
            }
        }
        while let Some((i, c)) = chars.next() {
            let col = i + 1;
            if let Some((q, _)) = quote {
                let w = cur.as_mut().expect("a quote starts a word");
                if c == q {
                    quote = None;
                } else if c == '\\' {
                    match chars.next() {
                        Some((_, 'n')) => w.text.push('\n'),
                        Some((_, 't')) => w.text.push('\t'),
                        Some((_, 'r')) => w.text.push('\r'),
                        Some((_, other)) => w.text.push(other),
                        None => w.text.push('\\'),
                    }
                } else {
                    w.text.push(c);
                }
                continue;
            }
            match c {
                '"' | '\'' => {
                    cur.get_or_insert_with(|| Word {
                        text: String::new(),
                        pos: pos(col),
                    });
                    quote = Some((c, col));
                }
                c if c.is_whitespace() => flush(&mut cur, &mut toks),
                // keepalived.conf(5): comments "can start anywhere in a line".
                '#' | '!' => break,
                '{' => {
                    flush(&mut cur, &mut toks);
                    toks.push(Tok::Open(pos(col)));
                }
                '}' => {
                    flush(&mut cur, &mut toks);
                    toks.push(Tok::Close(pos(col)));
                }
                c => cur
                    .get_or_insert_with(|| Word {
                        text: String::new(),
                        pos: pos(col),
                    })
                    .text
                    .push(c),
            }
        }
        if let Some((q, col)) = quote {
            return Err((
                pos(col),
                format!("this {q} quote is never closed on its line"),
            ));
        }
        flush(&mut cur, &mut toks);
        toks.push(Tok::Eol);
    }
    Ok(toks)
}

/// `*`, `?` and `[...]` (with `!`/`^` negation and ranges), as glob(3) matches one name.
fn glob_match(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| glob_match(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && glob_match(&pattern[1..], &name[1..]),
        Some('[') => {
            let Some(close) = pattern
                .iter()
                .skip(2)
                .position(|&c| c == ']')
                .map(|i| i + 2)
            else {
                return name.first() == Some(&'[') && glob_match(&pattern[1..], &name[1..]);
            };
            let Some(&c) = name.first() else {
                return false;
            };
            let mut set = &pattern[1..close];
            let negate = matches!(set.first(), Some('!' | '^'));
            if negate {
                set = &set[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_match(&pattern[close + 1..], &name[1..])
        }
        Some(&p) => name.first() == Some(&p) && glob_match(&pattern[1..], &name[1..]),
    }
}

/// The files matching `pattern`, sorted as glob(3) sorts them. Wildcards may appear in any
/// component; like glob(3), they do not match a leading dot.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy();
        if !part.contains(['*', '?', '[']) {
            for f in &mut found {
                f.push(comp.as_os_str());
            }
            continue;
        }
        let pat: Vec<char> = part.chars().collect();
        let mut next = Vec::new();
        for dir in &found {
            let read = if dir.as_os_str().is_empty() {
                std::fs::read_dir(".")
            } else {
                std::fs::read_dir(dir)
            };
            let Ok(entries) = read else { continue };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') || part.starts_with('.'))
                .filter(|n| glob_match(&pat, &n.chars().collect::<Vec<_>>()))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| dir.join(n)));
        }
        found = next;
    }
    found.retain(|f| f.is_file());
    found
}

// ---------------------------------------------------------------------------------------------
// Loading: files, includes, the statement tree.

struct SourceFile {
    name: String,
    lines: Vec<String>,
}

#[derive(Default)]
struct Converter {
    files: Vec<SourceFile>,
    untranslated: Vec<(Pos, String, String)>,
    /// Canonical paths of the files being read, to refuse include cycles.
    reading: Vec<PathBuf>,
}

impl Converter {
    fn error(&self, pos: Pos, key: &str, message: impl Into<String>) -> ImportError {
        let f = &self.files[pos.file];
        ImportError {
            file: f.name.clone(),
            position: Some((pos.line, pos.col)),
            key: key.to_owned(),
            message: message.into(),
            source_line: f.lines.get(pos.line - 1).cloned(),
        }
    }

    /// Where a statement is, for comments: the line in the main file, FILE:LINE in an included one.
    fn loc(&self, pos: Pos) -> String {
        if pos.file == 0 {
            format!("line {}", pos.line)
        } else {
            format!("{}:{}", self.files[pos.file].name, pos.line)
        }
    }

    fn list(&mut self, stmt: &Stmt, why: impl Into<String>) {
        self.untranslated
            .push((stmt.pos(), stmt.text(), why.into()));
    }

    /// Lists every entry of a block (or the statement itself when it has none): each tracked
    /// interface gets its own line number.
    fn list_entries(&mut self, stmt: &Stmt, why: &str) {
        match &stmt.block {
            Some(b) if !b.is_empty() => {
                for s in b {
                    let mut s = s.clone();
                    s.words.insert(
                        0,
                        Word {
                            text: format!("{}:", stmt.key()),
                            pos: s.pos(),
                        },
                    );
                    self.list(&s, why);
                }
            }
            _ => self.list(stmt, why),
        }
    }

    fn load(&mut self, path: &Path, text: Option<&str>) -> Result<Vec<Stmt>, ImportError> {
        let name = path.display().to_string();
        let owned;
        let text = match text {
            Some(t) => t,
            None => {
                owned = std::fs::read_to_string(path).map_err(|e| ImportError {
                    file: name.clone(),
                    position: None,
                    key: String::new(),
                    message: format!("cannot read the keepalived configuration: {e}"),
                    source_line: None,
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
    fn block(
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
                    return match open {
                        None => Ok(out),
                        Some(s) => Err(self.error(
                            s.pos(),
                            &s.text().replace(" { ... }", ""),
                            "this block is never closed: a `}` is missing",
                        )),
                    };
                }
                Some(Tok::Eol) => *i += 1,
                Some(Tok::Close(pos)) => {
                    *i += 1;
                    return match open {
                        Some(_) => Ok(out),
                        None => Err(self.error(*pos, "", "`}` without a matching `{`")),
                    };
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
                        _ => return Err(self.error(pos, "", "`{` without a keyword before it")),
                    }
                }
                Some(Tok::Word(_)) => {
                    let mut words = Vec::new();
                    while let Some(Tok::Word(w)) = toks.get(*i) {
                        words.push(w.clone());
                        *i += 1;
                    }
                    let mut stmt = Stmt { words, block: None };
                    if let Some(outer) = open
                        && TOP_LEVEL_BLOCKS.contains(&stmt.key())
                    {
                        return Err(self.error(
                            stmt.pos(),
                            &outer.text().replace(" { ... }", ""),
                            format!(
                                "`{}` inside the block opened on line {}: a `}}` is missing before this line",
                                stmt.key(),
                                outer.pos().line
                            ),
                        ));
                    }
                    if let Some(Tok::Open(_)) = toks.get(*i) {
                        *i += 1;
                        stmt.block = Some(self.block(toks, i, Some(&stmt), path)?);
                        may_open = false;
                    } else {
                        may_open = matches!(toks.get(*i), Some(Tok::Eol));
                    }
                    if INCLUDE_KEYWORDS.contains(&stmt.key()) {
                        out.extend(self.include(&stmt, path)?);
                        may_open = false;
                    } else {
                        out.push(stmt);
                    }
                }
            }
        }
    }

    fn include(&mut self, stmt: &Stmt, from: &Path) -> Result<Vec<Stmt>, ImportError> {
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

// ---------------------------------------------------------------------------------------------
// The translated model.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    Process(String),
    Http(String),
    Tcp(String),
    Command(Vec<String>),
}

#[derive(Debug, Clone)]
struct Script {
    name: String,
    pos: Pos,
    at: String,
    script: String,
    probe: Probe,
    /// Why the probe is what it is, as TOML comments.
    notes: Vec<String>,
    interval: Duration,
    timeout: Option<Duration>,
    weight: i32,
    rise: u32,
    fall: u32,
}

/// What a check probes.
#[derive(Debug, Clone)]
enum Origin {
    Script(Script),
    /// A network interface's carrier; `notes` say where keepalived tracks it, as TOML comments.
    Interface {
        name: String,
        notes: Vec<String>,
    },
}

impl Origin {
    fn same_source(&self, other: &Origin) -> bool {
        match (self, other) {
            (Origin::Script(a), Origin::Script(b)) => a.name == b.name,
            (Origin::Interface { name: a, .. }, Origin::Interface { name: b, .. }) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
struct Check {
    name: String,
    origin: Origin,
    weight: i32,
}

/// What a tracker (`track_script` or `track_interface` entry) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackKind {
    Script,
    Interface,
}

/// The sync group an instance is a member of, known before the instances are translated.
#[derive(Debug, Clone)]
struct Membership {
    group: String,
    at: String,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`): keepalived keeps the
    /// weights of the members' trackers, which it otherwise ignores.
    weights: bool,
}

/// A translated `vrrp_sync_group`.
#[derive(Debug, Clone)]
struct Group {
    name: String,
    at: String,
    vrids: Vec<u8>,
    comments: Vec<String>,
    /// The hook standing for the group's notify scripts, with the VRID it follows.
    notify: Option<(u8, String)>,
}

impl Router {
    fn is_v6(&self) -> bool {
        self.v6.as_ref().is_some_and(|(v6, _)| *v6)
    }
}

#[derive(Debug, Clone)]
struct Router {
    name: String,
    at: String,
    interface: String,
    vrid: u8,
    version: u8,
    priority: u8,
    interval: Duration,
    /// keepalived's addresses in keepalived's order: one family, the IPv6 link-local one first.
    vips: Vec<IpAddr>,
    prefix: u8,
    /// The family, once the first address or `native_ipv6` has set it, with what set it.
    v6: Option<(bool, String)>,
    /// The entry of the first VIP, to point at when an IPv6 router's is not link-local.
    first_vip: Option<Stmt>,
    preempt: bool,
    preempt_delay: Option<Duration>,
    accept: bool,
    message_only: bool,
    auth_pass: Option<String>,
    garp: (u8, u8, Duration),
    peers: Vec<IpAddr>,
    primary: Option<IpAddr>,
    track: Vec<String>,
    notify: Option<String>,
    comments: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Globals {
    version: u8,
    /// Where `vrrp_version` sets `version`.
    version_at: Option<Pos>,
    strict: bool,
    garp_repeat: Option<u8>,
    garp_delay: Option<Duration>,
    min_garp: bool,
    checksum_as_v2: bool,
}

/// keepalived's gratuitous ARP defaults: 5 at once, 5 more 5 s later.
const KEEPALIVED_GARP_REPEAT: u8 = 5;
const KEEPALIVED_GARP_DELAY: Duration = Duration::from_secs(5);

/// Keywords vrrpd has no equivalent for (yet), with the reason given in the listing.
fn unsupported(key: &str) -> Option<&'static str> {
    Some(match key {
        "track_file" | "track_process" | "track_bfd" | "track_src_ip" => {
            "vrrpd tracks only its [check.NAME] health checks"
        }
        "virtual_ipaddress_excluded" => {
            "vrrpd installs only the VIPs it advertises: add these to another router or configure them otherwise"
        }
        "virtual_routes" | "virtual_rules" => {
            "vrrpd does not install routes or rules on becoming Active: use a notify hook"
        }
        "smtp_alert"
        | "notification_email"
        | "notification_email_from"
        | "smtp_server"
        | "smtp_connect_timeout"
        | "smtp_helo_name" => "vrrpd sends no e-mail: use a notify hook",
        "garp_master_refresh"
        | "garp_master_refresh_repeat"
        | "vrrp_garp_master_refresh"
        | "vrrp_garp_master_refresh_repeat" => {
            "vrrpd sends no periodic gratuitous ARP while Active"
        }
        "garp_lower_prio_delay"
        | "garp_lower_prio_repeat"
        | "vrrp_garp_lower_prio_delay"
        | "vrrp_garp_lower_prio_repeat" => "vrrpd sends gratuitous ARP only on becoming Active",
        "vrrp_garp_interval" | "garp_interval" => {
            "vrrpd sends each burst of gratuitous ARP without a delay between messages"
        }
        "use_ipvlan" | "vmac_xmit_base" | "use_vmac_addr" => {
            "vrrpd serves the VIPs from its own TAP device with the virtual MAC"
        }
        "lvs_sync_daemon" | "lvs_sync_daemon_interface" => "vrrpd does not drive IPVS",
        "unicast_ttl" | "mcast_dst_ip" | "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
            "vrrpd always advertises to 224.0.0.18 (ff02::12 for IPv6) with TTL (hop limit) 255"
        }
        "down_timer_adverts" | "vrrp_down_timer_adverts" => {
            "vrrpd uses RFC 9568's Active_Down_Interval (3 intervals + Skew_Time)"
        }
        "higher_prio_send_advert"
        | "vrrp_higher_prio_send_advert"
        | "lower_prio_no_advert"
        | "vrrp_lower_prio_no_advert" => {
            "vrrpd follows RFC 9568 on lower and higher priority adverts"
        }
        "script_user" | "enable_script_security" => {
            "vrrpd runs checks and hooks as its own user, without keepalived's path checks"
        }
        "vrrp_startup_delay" | "vrrp_delay_after_boot" => "vrrpd starts its routers at once",
        "vrrp_iptables" | "vrrp_nftables" | "nftables" | "vrrp_ipsets" => {
            "vrrpd does not use a firewall: accept = false is enforced on its TAP"
        }
        "vrrp_notify_fifo" | "vrrp_notify_fifo_script" | "notify_fifo" | "notify_fifo_script" => {
            "vrrpd has no notify FIFO: use a notify hook"
        }
        "notify_master_rx_lower_pri"
        | "notify_deleted"
        | "notify_priority_changes"
        | "vrrp_notify_priority_changes" => "vrrpd runs hooks on state changes only",
        "virtual_server" | "virtual_server_group" | "real_server" => {
            "LVS configuration: vrrpd does not drive IPVS"
        }
        "vrrp_track_process" | "vrrp_track_file" | "bfd_instance" | "garp_group" => {
            "vrrpd has no equivalent yet"
        }
        "static_ipaddress" | "static_routes" | "static_rules" | "linkbeat_interfaces" => {
            "vrrpd does not configure static addresses, routes or rules"
        }
        "debug"
        | "kernel_rx_buf_size"
        | "linkbeat_use_polling"
        | "skip_check_adv_addr"
        | "vrrp_skip_check_adv_addr"
        | "old_unicast_checksum" => "vrrpd has no such option",
        _ => return None,
    })
}

/// Keywords of global_defs that change nothing vrrpd does; each still gets a comment.
fn inert_global(key: &str) -> Option<&'static str> {
    Some(match key {
        "router_id" => {
            "names this host in keepalived's e-mails and SNMP; vrrpd's status names VRIDs"
        }
        "vrrp_check_unicast_src" => "vrrpd always drops adverts from sources outside `peers`",
        "max_auto_priority"
        | "vrrp_priority"
        | "vrrp_no_swap"
        | "vrrp_rt_priority"
        | "vrrp_rlimit_rttime"
        | "vrrp_cpu_affinity"
        | "checker_priority"
        | "checker_no_swap"
        | "checker_rt_priority"
        | "process_names"
        | "process_name"
        | "vrrp_process_name"
        | "checker_process_name"
        | "dynamic_interfaces"
        | "enable_snmp_vrrp"
        | "enable_snmp_checker"
        | "enable_snmp_rfc"
        | "enable_snmp_rfcv2"
        | "enable_snmp_rfcv3"
        | "enable_traps"
        | "snmp_socket"
        | "lvs_flush"
        | "lvs_timeouts"
        | "default_interface" => {
            "a keepalived process or LVS/SNMP setting with no counterpart in vrrpd"
        }
        _ => return None,
    })
}

/// Addresses that cannot be a router's or a virtual one.
fn unusable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast() || a.is_loopback(),
    }
}

fn int_arg(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// keepalived times are decimal seconds ("1", "0.1", "2.5").
fn seconds_arg(s: &str) -> Option<Duration> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    parse_duration(&format!("{s}s")).ok()
}

fn bool_arg(args: &[Word]) -> Option<bool> {
    match args.first().map(|w| w.text.to_ascii_lowercase()) {
        None => Some(true),
        Some(s) => match s.as_str() {
            "on" | "true" | "yes" => Some(true),
            "off" | "false" | "no" => Some(false),
            _ => None,
        },
    }
}

/// Splits a script string into argv the way keepalived does (no shell): spaces separate,
/// single or double quotes group, a backslash escapes the next character.
fn split_argv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.get_or_insert_with(String::new).push(n);
                }
            }
            (Some(_), c) => cur.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                cur.get_or_insert_with(String::new);
                quote = Some(c);
            }
            (None, c) if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    out.push(w);
                }
            }
            (None, c) => cur.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = cur {
        out.push(w);
    }
    out
}

/// Words a shell would treat specially: keepalived 2 does not run scripts through a shell.
fn shell_syntax(argv: &[String]) -> bool {
    argv.iter().any(|w| {
        ["|", "||", "&&", ";", ">", "<", ">>", "2>&1", "&"].contains(&w.as_str())
            || w.starts_with(['<', '>'])
            || w.contains("$(")
            || w.contains('`')
            || w.ends_with(';')
            || (w.starts_with('$') && w.len() > 1)
    })
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Maps the obvious script idioms to vrrpd's native checks; anything else stays a command.
fn classify(argv: &[String]) -> (Probe, Vec<String>) {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let Some((&prog, rest)) = words.split_first() else {
        return (Probe::Command(argv.to_vec()), Vec::new());
    };
    // /proc/PID/comm holds at most 15 bytes, which is what vrrpd's process check compares.
    let process_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 15
            && !n.starts_with('-')
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    };
    match (basename(prog), rest) {
        ("killall", ["-0", name])
        | ("pidof", [name])
        | ("pidof", ["-s", name])
        | ("pgrep", ["-x", name])
            if process_name(name) =>
        {
            return (
                Probe::Process((*name).to_owned()),
                vec![format!(
                    "`{}` succeeds while a process named {name} runs: vrrpd checks that without forking",
                    words.join(" ")
                )],
            );
        }
        ("curl", _) => {
            if let Some(probe) = curl(rest) {
                return probe;
            }
        }
        ("nc" | "ncat", _) => {
            if let Some(addr) = netcat(rest) {
                return (
                    Probe::Tcp(addr.clone()),
                    vec![format!(
                        "`{}` succeeds when {addr} accepts a TCP connection",
                        words.join(" ")
                    )],
                );
            }
        }
        _ => {}
    }
    (Probe::Command(argv.to_vec()), Vec::new())
}

/// `curl -fsS [-o /dev/null] [-m N] http://...`: only with --fail does curl's exit status
/// depend on the HTTP status at all.
fn curl(args: &[&str]) -> Option<(Probe, Vec<String>)> {
    let mut fail = false;
    let mut url = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        match a {
            "--fail" => fail = true,
            "--silent" | "--show-error" | "--insecure" => {}
            "-o" | "--output" => {
                if args.get(i + 1) != Some(&"/dev/null") {
                    return None;
                }
                i += 1;
            }
            "-m" | "--max-time" | "--connect-timeout" => {
                seconds_arg(args.get(i + 1)?)?;
                i += 1;
            }
            _ if a.starts_with("--") => return None,
            _ if a.starts_with('-') && a.len() > 1 => {
                if !a[1..].chars().all(|c| "sSfk".contains(c)) {
                    return None;
                }
                fail |= a.contains('f');
            }
            _ if url.is_none() && a.starts_with("http://") => url = Some(a),
            _ => return None,
        }
        i += 1;
    }
    let url = url?;
    if !fail || url.parse::<hyper::Uri>().is_err() {
        return None;
    }
    Some((
        Probe::Http(url.to_owned()),
        vec![format!(
            "`curl --fail {url}` succeeds on an HTTP status below 400: vrrpd's http check expects 200"
        )],
    ))
}

/// `nc -z [-w N] IP PORT`.
fn netcat(args: &[&str]) -> Option<String> {
    let mut zero_io = false;
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if a == "-w" {
            seconds_arg(args.get(i + 1)?)?;
            i += 1;
        } else if let Some(flags) = a.strip_prefix('-') {
            if flags.is_empty() || !flags.chars().all(|c| "zvn".contains(c)) {
                return None;
            }
            zero_io |= flags.contains('z');
        } else {
            operands.push(a);
        }
        i += 1;
    }
    let [host, port] = operands[..] else {
        return None;
    };
    let ip: Ipv4Addr = host.parse().ok()?;
    let port: u16 = port.parse().ok()?;
    zero_io.then(|| format!("{ip}:{port}"))
}

// ---------------------------------------------------------------------------------------------
// Translation.

impl Converter {
    fn translate(mut self, top: &[Stmt]) -> Result<Imported, ImportError> {
        let mut globals = Globals {
            version: 2,
            version_at: None,
            strict: false,
            garp_repeat: None,
            garp_delay: None,
            min_garp: false,
            checksum_as_v2: false,
        };
        let mut header_notes = Vec::new();
        let mut scripts: BTreeMap<String, Script> = BTreeMap::new();
        let mut instances = Vec::new();
        let mut groups = Vec::new();
        for stmt in top {
            match stmt.key() {
                "global_defs" => {
                    self.globals(stmt, &mut globals, &mut header_notes)?;
                }
                "vrrp_script" => {
                    let s = self.script(stmt)?;
                    if let Some(old) = scripts.get(&s.name) {
                        return Err(self.error(
                            stmt.args()[0].pos,
                            "vrrp_script",
                            format!(
                                "vrrp_script {} is already defined ({})",
                                s.name,
                                self.loc(old.pos)
                            ),
                        ));
                    }
                    scripts.insert(s.name.clone(), s);
                }
                "vrrp_instance" => instances.push(stmt),
                "vrrp_sync_group" => groups.push(stmt),
                key => {
                    let why = unsupported(key)
                        .unwrap_or("unknown keyword (keepalived ignores it too, with a warning)");
                    self.list(stmt, why);
                }
            }
        }

        // keepalived ignores the weighted trackers of a sync group's members: which instances
        // are members must be known before they are translated.
        let mut membership: BTreeMap<String, Membership> = BTreeMap::new();
        for g in &groups {
            let weights = g
                .block
                .iter()
                .flatten()
                .any(|s| matches!(s.key(), "sync_group_tracking_weight" | "global_tracking"));
            let name = g.args().first().map_or("", |w| w.text.as_str());
            for m in group_members(g) {
                membership.entry(m.text.clone()).or_insert(Membership {
                    group: name.to_owned(),
                    at: self.loc(g.pos()),
                    weights,
                });
            }
        }

        let mut routers: Vec<Router> = Vec::new();
        let mut checks: BTreeMap<String, Check> = BTreeMap::new();
        let mut vrid_at: BTreeMap<u8, (String, String, bool)> = BTreeMap::new();
        let mut dropped: BTreeMap<String, (String, String)> = BTreeMap::new();
        for stmt in instances {
            let name = stmt.args().first().map(|w| w.text.clone());
            let member = name.as_ref().and_then(|n| membership.get(n));
            let r = match self.instance(
                stmt,
                &globals,
                &scripts,
                &mut checks,
                routers.first(),
                member,
            )? {
                Ok(r) => r,
                Err(why) => {
                    if let Some(n) = name {
                        dropped.insert(n, (self.loc(stmt.pos()), why));
                    }
                    continue;
                }
            };
            let v6 = r.is_v6();
            if let Some((other, line, other_v6)) = vrid_at.get(&r.vrid) {
                let vrid_stmt = stmt
                    .block
                    .iter()
                    .flatten()
                    .find(|s| s.key() == "virtual_router_id");
                if *other_v6 != v6 {
                    // RFC 9568 §4: an IPv4 and an IPv6 virtual router are separate, and
                    // keepalived runs both; vrrpd's configuration names a router by its VRID.
                    let why = format!(
                        "VRID {} is also used by the {} vrrp_instance {other} ({line}): keepalived runs both, an IPv4 and an IPv6 virtual router being separate, but a VRID names one router in vrrpd's configuration: give one of them another VRID on every node",
                        r.vrid,
                        if *other_v6 { "IPv6" } else { "IPv4" }
                    );
                    match vrid_stmt {
                        Some(s) => self.list(s, why),
                        None => self.list(stmt, why),
                    }
                    if let Some(n) = name {
                        dropped.insert(
                            n,
                            (
                                self.loc(stmt.pos()),
                                "shares its VRID with an instance of the other family".into(),
                            ),
                        );
                    }
                    continue;
                }
                let at = vrid_stmt.map_or(stmt.pos(), |s| s.args()[0].pos);
                return Err(self.error(
                    at,
                    &format!("vrrp_instance {}.virtual_router_id", r.name),
                    format!(
                        "VRID {} is also used by vrrp_instance {other} ({line}) on {}: one VRID is one virtual router on a link",
                        r.vrid, r.interface
                    ),
                ));
            }
            vrid_at.insert(r.vrid, (r.name.clone(), self.loc(stmt.pos()), v6));
            routers.push(r);
        }
        let mut sync_groups: Vec<Group> = Vec::new();
        for g in groups {
            if let Some(group) = self.sync_group(
                g,
                &scripts,
                &mut checks,
                &mut routers,
                &sync_groups,
                &dropped,
            )? {
                sync_groups.push(group);
            }
        }
        // The checks of instances left out after their trackers were read.
        checks.retain(|name, _| routers.iter().any(|r| r.track.contains(name)));
        if routers.is_empty() {
            return Err(ImportError {
                file: self.files[0].name.clone(),
                position: None,
                key: String::new(),
                message: "no vrrp_instance to translate: vrrpd needs at least one virtual router"
                    .into(),
                source_line: None,
            });
        }
        for (name, s) in &scripts {
            if !checks
                .values()
                .any(|c| matches!(&c.origin, Origin::Script(s) if &s.name == name))
            {
                header_notes.push(format!(
                    "vrrp_script {name} ({}) is tracked by no translated instance: keepalived does not run it either",
                    self.loc(s.pos)
                ));
            }
        }

        self.untranslated
            .sort_by_key(|(pos, _, _)| (pos.file, pos.line, pos.col));
        let untranslated: Vec<Untranslated> = self
            .untranslated
            .iter()
            .map(|(pos, what, why)| Untranslated {
                file: self.files[pos.file].name.clone(),
                line: pos.line,
                what: what.clone(),
                why: why.clone(),
            })
            .collect();
        let toml = render(
            &self.files[0].name,
            &untranslated,
            &header_notes,
            &routers,
            &checks,
            &sync_groups,
        );
        Ok(Imported { toml, untranslated })
    }

    fn one_arg<'s>(&self, stmt: &'s Stmt, key: &str) -> Result<&'s Word, ImportError> {
        match stmt.args() {
            [w] => Ok(w),
            [] => Err(self.error(stmt.pos(), key, "a value is missing")),
            [_, extra, ..] => Err(self.error(extra.pos, key, "one value expected")),
        }
    }

    fn globals(
        &mut self,
        stmt: &Stmt,
        g: &mut Globals,
        notes: &mut Vec<String>,
    ) -> Result<(), ImportError> {
        for s in stmt.block.iter().flatten() {
            let key = format!("global_defs.{}", s.key());
            match s.key() {
                "vrrp_version" => {
                    let w = self.one_arg(s, &key)?;
                    g.version = match w.text.as_str() {
                        "2" => 2,
                        "3" => 3,
                        _ => return Err(self.error(w.pos, &key, "must be 2 or 3")),
                    };
                    g.version_at = Some(s.pos());
                }
                "vrrp_strict" => g.strict = true,
                "vrrp_garp_master_repeat" => g.garp_repeat = Some(self.garp_repeat(s, &key)?),
                "vrrp_garp_master_delay" => g.garp_delay = Some(self.seconds(s, &key, 0..=1000)?),
                "vrrp_min_garp" => g.min_garp = bool_arg(s.args()).unwrap_or(true),
                "v3_checksum_as_v2" => g.checksum_as_v2 = bool_arg(s.args()).unwrap_or(true),
                k => {
                    if let Some(why) = inert_global(k) {
                        notes.push(format!("{} ({}): {why}", s.text(), self.loc(s.pos())));
                    } else if let Some(why) = unsupported(k) {
                        self.list(s, why);
                    } else {
                        self.list(s, "not supported by vrrpd");
                    }
                }
            }
        }
        Ok(())
    }

    fn seconds(
        &self,
        s: &Stmt,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ImportError> {
        let w = self.one_arg(s, key)?;
        match seconds_arg(&w.text) {
            Some(d)
                if d >= Duration::from_secs(*range.start())
                    && d <= Duration::from_secs(*range.end()) =>
            {
                Ok(d)
            }
            _ => Err(self.error(
                w.pos,
                key,
                format!(
                    "{:?} is not a time in seconds in {}..={}",
                    w.text,
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    fn int(
        &self,
        s: &Stmt,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        why: &str,
    ) -> Result<i64, ImportError> {
        let w = self.one_arg(s, key)?;
        match int_arg(&w.text) {
            Some(n) if range.contains(&n) => Ok(n),
            Some(n) => Err(self.error(
                w.pos,
                key,
                format!(
                    "{n} is out of range: must be {}..={}{why}",
                    range.start(),
                    range.end()
                ),
            )),
            None => Err(self.error(w.pos, key, format!("{:?} is not a number", w.text))),
        }
    }

    fn garp_repeat(&self, s: &Stmt, key: &str) -> Result<u8, ImportError> {
        Ok(self.int(s, key, 1..=255, "")? as u8)
    }

    fn script(&mut self, stmt: &Stmt) -> Result<Script, ImportError> {
        let Some(name) = stmt.args().first() else {
            return Err(self.error(stmt.pos(), "vrrp_script", "the script needs a name"));
        };
        let path = format!("vrrp_script {}", name.text);
        if name.text.is_empty() {
            return Err(self.error(name.pos, "vrrp_script", "the script needs a name"));
        }
        let mut script = None;
        let mut s = Script {
            name: name.text.clone(),
            pos: stmt.pos(),
            at: self.loc(stmt.pos()),
            script: String::new(),
            probe: Probe::Command(Vec::new()),
            notes: Vec::new(),
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            rise: 1,
            fall: 1,
        };
        for st in stmt.block.iter().flatten() {
            let key = format!("{path}.{}", st.key());
            match st.key() {
                "script" => {
                    if st.args().is_empty() {
                        return Err(self.error(st.pos(), &key, "the command is missing"));
                    }
                    // An unquoted command with arguments reaches keepalived as separate words.
                    let text = st
                        .args()
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    script = Some((text, st.pos()));
                }
                "interval" => s.interval = self.seconds(st, &key, 0..=86400)?,
                "timeout" => s.timeout = Some(self.seconds(st, &key, 0..=86400)?),
                "weight" => {
                    let (w, rest) = st
                        .args()
                        .split_first()
                        .ok_or_else(|| self.error(st.pos(), &key, "a value is missing"))?;
                    s.weight = match int_arg(&w.text) {
                        Some(n) if (-254..=254).contains(&n) => n as i32,
                        _ => {
                            return Err(self.error(
                                w.pos,
                                &key,
                                format!("{:?}: a weight is -254..=254", w.text),
                            ));
                        }
                    };
                    match rest.first().map(|w| w.text.as_str()) {
                        None | Some("noreverse") => {}
                        Some("reverse") => {
                            return Err(self.error(
                                rest[0].pos,
                                &key,
                                "`reverse` weights cannot be expressed in vrrpd: invert the script instead",
                            ));
                        }
                        Some(_) => return Err(self.error(rest[0].pos, &key, "unexpected value")),
                    }
                }
                "rise" => s.rise = self.int(st, &key, 1..=1000, "")? as u32,
                "fall" => s.fall = self.int(st, &key, 1..=1000, "")? as u32,
                "user" => self.list(
                    st,
                    "vrrpd runs checks as its own user: make the check work as that user",
                ),
                "init_fail" => s.notes.push(
                    "init_fail: vrrpd counts every check as down until its first result anyway"
                        .into(),
                ),
                _ => self.list(
                    st,
                    "unknown keyword (keepalived ignores it too, with a warning)",
                ),
            }
        }
        let Some((text, pos)) = script else {
            return Err(self.error(stmt.pos(), &path, "has no `script`"));
        };
        if s.interval < Duration::from_millis(10) {
            return Err(self.error(
                pos,
                &format!("{path}.interval"),
                "a check interval is at least 10ms",
            ));
        }
        if s.timeout == Some(Duration::ZERO) {
            return Err(self.error(pos, &format!("{path}.timeout"), "must be more than 0"));
        }
        let argv = split_argv(&text);
        if argv.is_empty() {
            return Err(self.error(pos, &format!("{path}.script"), "the command is empty"));
        }
        s.script = text.clone();
        if shell_syntax(&argv) {
            s.probe = Probe::Command(vec!["/bin/sh".into(), "-c".into(), text]);
            let st = stmt
                .block
                .iter()
                .flatten()
                .find(|st| st.key() == "script")
                .expect("seen above");
            self.list(
                st,
                "uses shell syntax, which keepalived 2 passes to the program as plain arguments (no shell): translated as /bin/sh -c, check that this is what was meant",
            );
        } else {
            let (probe, notes) = classify(&argv);
            s.probe = probe;
            s.notes.extend(notes);
            if matches!(s.probe, Probe::Http(_)) {
                let st = stmt
                    .block
                    .iter()
                    .flatten()
                    .find(|st| st.key() == "script")
                    .expect("seen above");
                self.list(
                    st,
                    "translated to an http check, which wants status 200 where curl --fail accepted any status below 400 (a redirect, say): make sure the URL answers 200",
                );
            }
        }
        if let Some(t) = s.timeout
            && t > s.interval
        {
            let st = stmt
                .block
                .iter()
                .flatten()
                .find(|st| st.key() == "timeout")
                .expect("set above");
            self.list(
                st,
                format!(
                    "longer than the interval ({}): vrrpd's timeout is at most the interval, so it is cut to that",
                    format_duration(s.interval)
                ),
            );
            s.timeout = Some(s.interval);
        }
        Ok(s)
    }

    fn instance(
        &mut self,
        stmt: &Stmt,
        g: &Globals,
        scripts: &BTreeMap<String, Script>,
        checks: &mut BTreeMap<String, Check>,
        first: Option<&Router>,
        member: Option<&Membership>,
    ) -> Result<Result<Router, String>, ImportError> {
        let Some(name) = stmt.args().first() else {
            return Err(self.error(stmt.pos(), "vrrp_instance", "the instance needs a name"));
        };
        let path = format!("vrrp_instance {}", name.text);
        let body: Vec<&Stmt> = stmt.block.iter().flatten().collect();
        let find = |k: &str| body.iter().rev().find(|s| s.key() == k).copied();

        // The interface decides whether this instance belongs in this file at all.
        let Some(iface) = find("interface") else {
            return Err(self.error(
                stmt.pos(),
                &path,
                "has no `interface`: vrrpd needs the uplink the VIPs live on",
            ));
        };
        let interface = self
            .one_arg(iface, &format!("{path}.interface"))?
            .text
            .clone();
        if let Some(first) = first
            && first.interface != interface
        {
            self.list(
                stmt,
                format!(
                    "on interface {interface}, not {}: one vrrpd serves one uplink; run a second vrrpd with its own configuration for {interface}",
                    first.interface
                ),
            );
            return Ok(Err("is on another interface".into()));
        }

        let mut r = Router {
            name: name.text.clone(),
            at: self.loc(stmt.pos()),
            interface,
            vrid: 0,
            version: g.version,
            priority: 100,
            interval: Duration::from_secs(1),
            vips: Vec::new(),
            prefix: 32,
            v6: None,
            first_vip: None,
            preempt: true,
            preempt_delay: None,
            accept: !g.strict,
            message_only: g.checksum_as_v2,
            auth_pass: None,
            garp: if g.min_garp {
                (1, 0, KEEPALIVED_GARP_DELAY)
            } else {
                (
                    g.garp_repeat.unwrap_or(KEEPALIVED_GARP_REPEAT),
                    1,
                    g.garp_delay.unwrap_or(KEEPALIVED_GARP_DELAY),
                )
            },
            peers: Vec::new(),
            primary: None,
            track: Vec::new(),
            notify: None,
            comments: Vec::new(),
        };
        if g.strict {
            r.comments
                .push("vrrp_strict: keepalived drops traffic to the VIPs on a non-owner".into());
        }
        let mut vrid = None;
        let mut priority_set = false;
        let mut advert: Option<(Duration, Pos)> = None;
        let mut strict = g.strict;
        let mut explicit_accept = None;
        let mut garp_delay_set = None;
        let mut notify: BTreeMap<&str, (Vec<String>, Pos)> = BTreeMap::new();
        let mut auth: Option<&Stmt> = None;
        let mut dont_track_primary = false;
        let mut version_stmt: Option<&Stmt> = None;
        let mut src: Option<(&Stmt, IpAddr)> = None;
        let mut peer_stmts: Vec<&Stmt> = Vec::new();

        for s in &body {
            let key = format!("{path}.{}", s.key());
            match s.key() {
                "interface" => {}
                "state" => {
                    let state = s.args().first().map_or("", |w| w.text.as_str());
                    r.comments.push(format!(
                        "state {state} ({}): vrrpd starts every router as Backup and the highest priority takes over; only priority 255 starts Active",
                        self.loc(s.pos())
                    ));
                }
                "virtual_router_id" => {
                    vrid = Some(self.int(s, &key, 1..=255, "")? as u8);
                }
                "priority" => {
                    r.priority =
                        self.int(s, &key, 1..=255, " (0 is reserved for a router leaving)")? as u8;
                    priority_set = true;
                }
                "advert_int" => {
                    let w = self.one_arg(s, &key)?;
                    match seconds_arg(&w.text) {
                        Some(d) if !d.is_zero() => advert = Some((d, w.pos)),
                        _ => {
                            return Err(self.error(
                                w.pos,
                                &key,
                                format!(
                                    "{:?}: the advert interval is a positive number of seconds (keepalived would use 1 instead)",
                                    w.text
                                ),
                            ));
                        }
                    }
                }
                "version" => {
                    let w = self.one_arg(s, &key)?;
                    r.version = match w.text.as_str() {
                        "2" => 2,
                        "3" => 3,
                        _ => return Err(self.error(w.pos, &key, "must be 2 or 3")),
                    };
                    version_stmt = Some(s);
                }
                "virtual_ipaddress" => self.vips(s, &mut r, &key)?,
                // keepalived: the instance is IPv6 even before (or without) IPv6 addresses.
                "native_ipv6" => match &r.v6 {
                    None => r.v6 = Some((true, format!("native_ipv6 ({})", self.loc(s.pos())))),
                    Some((true, _)) => {}
                    Some((false, by)) => {
                        let why = format!(
                            "the instance is IPv4 from {by}: keepalived ignores native_ipv6 after IPv4 addresses too"
                        );
                        self.list(s, why);
                    }
                },
                "authentication" => auth = Some(s),
                "unicast_src_ip" | "mcast_src_ip" => {
                    let w = self.one_arg(s, &key)?;
                    match w.text.parse::<IpAddr>() {
                        Ok(ip) if !unusable(ip) => src = Some((s, ip)),
                        _ => {
                            return Err(self.error(
                                w.pos,
                                &key,
                                format!("{:?} is not a unicast IPv4 or IPv6 address", w.text),
                            ));
                        }
                    }
                }
                // What they mean depends on the family, known once every address is read.
                "unicast_peer" => peer_stmts.push(s),
                "track_script" | "track_interface" => {
                    let kind = if s.key() == "track_script" {
                        TrackKind::Script
                    } else {
                        TrackKind::Interface
                    };
                    for (t, name) in self.trackers(s, kind, scripts, checks, &key, member)? {
                        if r.track.contains(&name) {
                            self.list(&t, "tracked twice: counted once");
                        } else {
                            r.track.push(name);
                        }
                    }
                }
                "nopreempt" => r.preempt = false,
                "preempt" => {}
                "preempt_delay" => r.preempt_delay = Some(self.seconds(s, &key, 0..=1000)?),
                "garp_master_delay" => garp_delay_set = Some(self.seconds(s, &key, 0..=1000)?),
                "garp_master_repeat" => r.garp.0 = self.garp_repeat(s, &key)?,
                "accept" => explicit_accept = Some(true),
                "no_accept" => explicit_accept = Some(false),
                "strict_mode" => strict = bool_arg(s.args()).unwrap_or(true),
                "v3_checksum_as_v2" => r.message_only = bool_arg(s.args()).unwrap_or(true),
                "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                    self.notify_entry(s, &key, &mut notify)?;
                }
                "dont_track_primary" => {
                    dont_track_primary = true;
                    r.comments.push(format!(
                        "dont_track_primary ({}): no check on {}'s link, so the router stays in the election while the link is down, as in keepalived",
                        self.loc(s.pos()),
                        r.interface
                    ));
                }
                "use_vmac" => r.comments.push(format!(
                    "use_vmac ({}): vrrpd always answers for the VIPs with the virtual MAC 00:00:5e:00:01:XX",
                    self.loc(s.pos())
                )),
                "check_unicast_src" | "unicast_fault_no_peer" => r.comments.push(format!(
                    "{} ({}): with `peers` set, vrrpd drops adverts from any other source",
                    s.key(),
                    self.loc(s.pos())
                )),
                k => {
                    let why = unsupported(k).unwrap_or(
                        "unknown keyword (keepalived ignores it too, with a warning)",
                    );
                    self.list_entries(s, why);
                }
            }
        }

        let Some(vrid) = vrid else {
            return Err(self.error(
                stmt.pos(),
                &path,
                "has no virtual_router_id (keepalived refuses such an instance too)",
            ));
        };
        // keepalived puts an instance at FAULT while its own interface is down.
        if !dont_track_primary {
            let name = add_check(
                checks,
                &format!("link_{}", check_name(&r.interface)),
                0,
                Origin::Interface {
                    name: r.interface.clone(),
                    notes: vec![UPLINK_NOTE.to_owned()],
                },
                0,
            );
            if !r.track.contains(&name) {
                r.track.push(name);
            }
        }
        r.vrid = vrid;
        if !priority_set {
            r.comments
                .push("priority 100: keepalived's default, as the instance sets none".into());
        }
        if let Some(a) = explicit_accept {
            r.accept = a;
        } else if strict {
            r.accept = r.priority == 255;
        }

        if r.vips.is_empty() {
            return Err(self.error(
                stmt.pos(),
                &path,
                "has no virtual_ipaddress that vrrpd can serve",
            ));
        }
        let v6 = r.is_v6();
        if v6 {
            // RFC 9568 §5.2.9: an IPv6 advert's first address is the link-local one. keepalived
            // drops adverts whose address count differs from its own, so vrrpd cannot add one:
            // the keepalived nodes must list it.
            if let IpAddr::V6(first) = r.vips[0]
                && !first.is_unicast_link_local()
            {
                let at = r.first_vip.take().expect("set with the first VIP");
                self.list(
                    &at,
                    format!(
                        "the first address of an IPv6 virtual router must be its link-local one (RFC 9568 §5.2.9), and vrrpd cannot add one (keepalived drops adverts whose address count differs from its own): vrrp_instance {} is not translated; list a link-local address (e.g. fe80::{:x}) first in virtual_ipaddress on every node",
                        r.name, vrid
                    ),
                );
                return Ok(Err("has no link-local first address".into()));
            }
            // keepalived runs IPv6 instances as VRRPv3 whatever vrrp_version says.
            match version_stmt {
                Some(vs) if r.version == 2 => self.list(
                    vs,
                    "VRRPv2 has no IPv6 (RFC 9568): translated as version 3, which keepalived uses when this line follows the IPv6 addresses or vrrp_strict is set; otherwise keepalived sends non-standard VRRPv2 over IPv6, which vrrpd does not speak: set version 3 on every node",
                ),
                None if g.version == 2 && g.version_at.is_some() => {
                    let at = g.version_at.expect("checked");
                    r.comments.push(format!(
                        "vrrp_version 2 ({}) applies to IPv4 instances: keepalived runs IPv6 ones as version 3",
                        self.loc(at)
                    ));
                }
                _ => {}
            }
            r.version = 3;
            if r.message_only {
                r.message_only = false;
                r.comments.push(
                    "v3_checksum_as_v2: IPv6 adverts always checksum the pseudo-header, keepalived's too"
                        .into(),
                );
            }
        }
        for p in peer_stmts {
            self.peers(p, &mut r, &format!("{path}.unicast_peer"), v6)?;
        }
        if let Some((s, ip)) = src {
            match ip {
                IpAddr::V6(_) if !v6 => self.list(
                    s,
                    "an IPv6 address for an IPv4 instance: not translated, vrrpd sends from the uplink's IPv4 address",
                ),
                IpAddr::V4(_) if v6 => self.list(
                    s,
                    "an IPv4 address for an IPv6 instance: not translated, vrrpd sends from the uplink's link-local address",
                ),
                IpAddr::V6(a) if !a.is_unicast_link_local() => self.list(
                    s,
                    "not link-local: vrrpd sends IPv6 adverts from a link-local address (RFC 9568 §5.1.2.1), the uplink's own when `primary` is not set, as here",
                ),
                ip => r.primary = Some(ip),
            }
        }

        // keepalived's v3 advert interval is in centiseconds on the wire, v2's in seconds.
        if let Some((d, pos)) = advert {
            let us = d.as_micros();
            let key = format!("{path}.advert_int");
            if r.version == 2 {
                if !us.is_multiple_of(1_000_000) || d > Duration::from_secs(255) {
                    return Err(self.error(
                        pos,
                        &key,
                        format!(
                            "{}: a VRRPv2 advert interval is whole seconds, 1..=255 (keepalived would round it): use version 3 for sub-second adverts",
                            format_duration(d)
                        ),
                    ));
                }
            } else if !us.is_multiple_of(10_000) || d > Duration::from_millis(40_950) {
                return Err(self.error(
                    pos,
                    &key,
                    format!(
                        "{}: a VRRPv3 advert interval is a multiple of 0.01 s, at most 40.95 s",
                        format_duration(d)
                    ),
                ));
            }
            r.interval = d;
        }

        if let Some(d) = garp_delay_set {
            r.garp.2 = d;
        }
        if r.garp.2.is_zero() {
            // keepalived: a delay of 0 means no second set.
            r.garp.1 = 0;
            r.garp.2 = KEEPALIVED_GARP_DELAY;
        }

        if let Some(a) = auth {
            self.auth(a, &mut r, &path)?;
        }
        if r.priority == 255 && !r.primary.is_some_and(|p| r.vips.contains(&p)) {
            let at = find("priority").map_or(stmt.pos(), |s| s.args()[0].pos);
            return Err(self.error(
                at,
                &format!("{path}.priority"),
                "255 makes vrrpd the address owner, which needs unicast_src_ip (vrrpd's `primary`) to be one of the VIPs: use 254 unless this host owns the address",
            ));
        }
        if r.version == 3 && r.message_only {
            r.comments
                .push("v3_checksum_as_v2: the VRRPv3 checksum covers the message alone".into());
        }
        if !notify.is_empty() {
            r.notify = Some(notify_script(
                r.vrid,
                "INSTANCE",
                &r.name,
                "\"$VRRP_PRIORITY\"",
                &notify,
            ));
        }
        Ok(Ok(r))
    }

    fn vips(&mut self, s: &Stmt, r: &mut Router, key: &str) -> Result<(), ImportError> {
        // Several virtual_ipaddress blocks make one list.
        let mut first_prefix: Option<u8> = (!r.vips.is_empty()).then_some(r.prefix);
        for v in s.block.iter().flatten() {
            let text = v.key();
            let (addr, len) = match text.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (text, None),
            };
            let ip: IpAddr = match addr.parse() {
                Ok(ip) => ip,
                Err(_) => {
                    return Err(self.error(
                        v.pos(),
                        key,
                        format!("{text:?} is not an IPv4 or IPv6 address"),
                    ));
                }
            };
            if unusable(ip) {
                return Err(self.error(v.pos(), key, format!("{ip} cannot be a virtual address")));
            }
            // keepalived installs a VIP without a prefix as a host address (/32, /128).
            let max = if ip.is_ipv6() { 128 } else { 32 };
            let len = match len {
                None => max,
                Some(l) => match l.parse::<u8>() {
                    Ok(n) if (1..=max).contains(&n) => n,
                    _ => {
                        return Err(self.error(
                            v.pos(),
                            key,
                            format!("{text:?}: the prefix length must be 1..={max}"),
                        ));
                    }
                },
            };
            // keepalived: the first address (or native_ipv6) sets the instance's family, and it
            // ignores addresses of the other one.
            match &r.v6 {
                None => {
                    r.v6 = Some((ip.is_ipv6(), format!("{ip} ({})", self.loc(v.pos()))));
                }
                Some((v6, by)) if *v6 != ip.is_ipv6() => {
                    let (fam, other) = if *v6 {
                        ("IPv6", "IPv4")
                    } else {
                        ("IPv4", "IPv6")
                    };
                    let why = format!(
                        "an {other} address in an instance that is {fam} from {by}: keepalived ignores it too, an instance being one family (RFC 9568 §4); put it in a vrrp_instance of its own with another VRID on every node"
                    );
                    self.list(v, why);
                    continue;
                }
                Some(_) => {}
            }
            let mut opts = v.args().iter();
            let mut dropped = None;
            let mut extra = Vec::new();
            while let Some(o) = opts.next() {
                match o.text.as_str() {
                    "dev" => match opts.next() {
                        Some(d) if d.text == r.interface => {}
                        Some(d) => {
                            dropped = Some(format!(
                                "on dev {}, not the instance's interface {}: vrrpd serves VIPs on its uplink only",
                                d.text, r.interface
                            ))
                        }
                        None => return Err(self.error(o.pos, key, "`dev` needs an interface")),
                    },
                    "label" => {
                        let l = opts
                            .next()
                            .ok_or_else(|| self.error(o.pos, key, "`label` needs a name"))?;
                        extra.push(format!(
                            "label {}: vrrpd installs the VIP on its TAP without an alias label (scripts that look for {} will not find it)",
                            l.text, l.text
                        ));
                    }
                    // The kernel gives an IPv6 address the scope of its prefix anyway.
                    "scope"
                        if ip.is_ipv6()
                            && opts.clone().next().is_some_and(|w| {
                                let link = matches!(ip, IpAddr::V6(a) if a.is_unicast_link_local());
                                w.text == if link { "link" } else { "global" }
                            }) =>
                    {
                        opts.next();
                    }
                    "brd" | "scope" | "peer" | "preferred_lft" => {
                        let val = opts.next().map_or("", |w| w.text.as_str());
                        extra.push(format!(
                            "{} {val}: vrrpd has no such address option",
                            o.text
                        ));
                    }
                    other => extra.push(format!("{other}: vrrpd has no such address option")),
                }
            }
            if let Some(why) = dropped {
                self.list(v, why);
                continue;
            }
            for why in extra {
                self.list(v, format!("{ip} is translated but not its {why}"));
            }
            if r.vips.contains(&ip) {
                self.list(v, "listed twice: keepalived ignores the repetition too");
                continue;
            }
            match first_prefix {
                Some(p) if p != len => {
                    self.list(
                        v,
                        format!(
                            "/{len} differs from /{p} of the first VIP: vrrpd installs all VIPs of a router with one prefix length; move it to another instance"
                        ),
                    );
                    continue;
                }
                _ => first_prefix = Some(len),
            }
            if r.vips.len() == crate::config::MAX_ADDRS {
                self.list(
                    v,
                    format!(
                        "vrrpd serves at most {} VIPs per router: move it to another instance",
                        crate::config::MAX_ADDRS
                    ),
                );
                continue;
            }
            if r.vips.is_empty() {
                r.first_vip = Some(v.clone());
            }
            r.vips.push(ip);
        }
        if let Some(p) = first_prefix {
            r.prefix = p;
        }
        Ok(())
    }

    fn peers(&mut self, s: &Stmt, r: &mut Router, key: &str, v6: bool) -> Result<(), ImportError> {
        let entries: Vec<&Stmt> = s.block.iter().flatten().collect();
        for p in &entries {
            let ip: IpAddr = p.key().parse().map_err(|_| {
                self.error(
                    p.pos(),
                    key,
                    format!("{:?} is not an IPv4 or IPv6 address", p.key()),
                )
            })?;
            match ip {
                IpAddr::V6(_) if !v6 => {
                    self.list(
                        p,
                        "an IPv6 peer for an IPv4 instance: vrrpd's peers are of the VIPs' family",
                    );
                    continue;
                }
                IpAddr::V4(_) if v6 => {
                    self.list(
                        p,
                        "an IPv4 peer for an IPv6 instance: vrrpd's peers are of the VIPs' family",
                    );
                    continue;
                }
                IpAddr::V6(a) if !a.is_unicast_link_local() => {
                    self.list(
                        p,
                        "not link-local: vrrpd lists an IPv6 peer by its link-local address, which its adverts come from (RFC 9568 §5.1.2.1) and which the peer list also accepts as a source: list the peer's fe80:: address",
                    );
                    continue;
                }
                _ => {}
            }
            if !p.args().is_empty() {
                self.list(p, "vrrpd has no per-peer TTL limits (min_ttl, max_ttl)");
            }
            if r.peers.contains(&ip) {
                continue;
            }
            if r.peers.len() == crate::config::MAX_ADDRS {
                return Err(self.error(
                    p.pos(),
                    key,
                    format!(
                        "vrrpd supports at most {} peers per router",
                        crate::config::MAX_ADDRS
                    ),
                ));
            }
            r.peers.push(ip);
        }
        if !r.peers.is_empty() {
            r.comments.push(format!(
                "unicast_peer ({}): vrrpd sends its adverts to each peer on the uplink's subnets (never routed, never multicast) and drops adverts from any other source",
                self.loc(s.pos())
            ));
        }
        if v6 && !r.peers.is_empty() {
            r.comments.push(
                "IPv6 unicast_peer: keepalived nodes need `unicast_ttl 255`, or they send with hop limit 64 and vrrpd drops their adverts (RFC 9568 §5.1.2.3)"
                    .into(),
            );
        }
        Ok(())
    }

    fn auth(&mut self, s: &Stmt, r: &mut Router, path: &str) -> Result<(), ImportError> {
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

    /// A notify script of an instance or a sync group, into `notify`.
    fn notify_entry<'s>(
        &mut self,
        s: &'s Stmt,
        key: &str,
        notify: &mut BTreeMap<&'s str, (Vec<String>, Pos)>,
    ) -> Result<(), ImportError> {
        let Some(cmd) = s.args().first() else {
            return Err(self.error(s.pos(), key, "the script is missing"));
        };
        if s.args().len() > 1 {
            self.list(
                s,
                "runs as another user in keepalived; vrrpd runs hooks as its own user",
            );
        }
        let argv = split_argv(&cmd.text);
        if argv.is_empty() {
            return Err(self.error(cmd.pos, key, "the script is empty"));
        }
        if s.key() == "notify_fault" {
            self.list(
                s,
                "vrrpd has no FAULT state: the hook runs it when an Active steps down because a fault check (weight 0) went down, not when a Backup's check fails",
            );
        }
        notify.insert(s.key(), (argv, s.pos()));
        Ok(())
    }

    /// `weight N [reverse|noreverse]` after a tracker's name: the weight, if given, and whether
    /// it is reversed.
    fn tracker_weight(&self, t: &Stmt, key: &str) -> Result<(Option<i32>, bool), ImportError> {
        match t.args() {
            [] => Ok((None, false)),
            [w, v, rest @ ..] if w.text == "weight" => {
                let weight = match int_arg(&v.text) {
                    Some(n) if (-254..=254).contains(&n) => n as i32,
                    _ => {
                        return Err(self.error(
                            v.pos,
                            key,
                            format!("{:?}: a weight is -254..=254", v.text),
                        ));
                    }
                };
                match rest.first().map(|w| w.text.as_str()) {
                    None | Some("noreverse") => Ok((Some(weight), false)),
                    Some("reverse") => Ok((Some(weight), true)),
                    Some(_) => Err(self.error(rest[0].pos, key, "unexpected value")),
                }
            }
            [w, ..] => Err(self.error(w.pos, key, "expected `weight N`")),
        }
    }

    /// The entries of a `track_script` or `track_interface` block, each with the name of the
    /// check (added to `checks`) that stands for it; entries that cannot be tracked are listed.
    /// `member`: the sync group of the instance whose block this is.
    fn trackers(
        &mut self,
        s: &Stmt,
        kind: TrackKind,
        scripts: &BTreeMap<String, Script>,
        checks: &mut BTreeMap<String, Check>,
        key: &str,
        member: Option<&Membership>,
    ) -> Result<Vec<(Stmt, String)>, ImportError> {
        let mut out = Vec::new();
        for t in s.block.iter().flatten() {
            let (origin, base, default_weight, what) = match kind {
                TrackKind::Script => {
                    let Some(script) = scripts.get(t.key()) else {
                        self.list(
                            t,
                            "no vrrp_script has this name: keepalived ignores it too, nothing is tracked",
                        );
                        continue;
                    };
                    (
                        Origin::Script(script.clone()),
                        check_name(&script.name),
                        script.weight,
                        "script",
                    )
                }
                TrackKind::Interface => {
                    let iface = t.key();
                    if iface.len() > 15 || iface.contains(['/', ' ', '\t']) || iface.is_empty() {
                        self.list(
                            t,
                            "not a Linux interface name (1..=15 bytes, no '/' or spaces): keepalived finds no such interface and tracks nothing either",
                        );
                        continue;
                    }
                    (
                        Origin::Interface {
                            name: iface.to_owned(),
                            notes: vec![format!("track_interface {iface} ({})", self.loc(t.pos()))],
                        },
                        format!("link_{}", check_name(iface)),
                        0,
                        "interface",
                    )
                }
            };
            let (weight, reverse) = self.tracker_weight(t, key)?;
            let weight = weight.unwrap_or(default_weight);
            if reverse {
                self.list(
                    t,
                    format!(
                        "`reverse` weights cannot be expressed in vrrpd: the {what} is not tracked"
                    ),
                );
                continue;
            }
            if let Some(m) = member
                && !m.weights
                && weight != 0
            {
                self.list(
                    t,
                    format!(
                        "the instance is in vrrp_sync_group {} ({}), and keepalived ignores the weighted trackers of a sync group's members unless the group sets sync_group_tracking_weight: not tracked either",
                        m.group, m.at
                    ),
                );
                continue;
            }
            out.push((
                t.clone(),
                add_check(checks, &base, default_weight, origin, weight),
            ));
        }
        Ok(out)
    }

    /// A `vrrp_sync_group` whose members are among `routers`; `done` are the groups before it,
    /// `dropped` the instances left out (on another interface, say) with where they are and why.
    fn sync_group(
        &mut self,
        g: &Stmt,
        scripts: &BTreeMap<String, Script>,
        checks: &mut BTreeMap<String, Check>,
        routers: &mut [Router],
        done: &[Group],
        dropped: &BTreeMap<String, (String, String)>,
    ) -> Result<Option<Group>, ImportError> {
        let name = match g.args() {
            [n] if !n.text.trim().is_empty() => n.text.trim().to_owned(),
            _ => {
                self.list(
                    g,
                    "a vrrp_sync_group needs one name: keepalived skips this one too",
                );
                return Ok(None);
            }
        };
        let path = format!("vrrp_sync_group {name}");
        if let Some(other) = done.iter().find(|o| o.name == name) {
            self.list(
                g,
                format!(
                    "{path} is already defined ({}): keepalived skips this one too",
                    other.at
                ),
            );
            return Ok(None);
        }
        let mut members: Vec<usize> = Vec::new();
        for w in group_members(g) {
            let entry = Stmt {
                words: vec![
                    Word {
                        text: "group:".into(),
                        pos: w.pos,
                    },
                    w.clone(),
                ],
                block: None,
            };
            match routers.iter().position(|r| r.name == w.text) {
                Some(i) if members.contains(&i) => {
                    self.list(&entry, "listed twice: keepalived ignores the repetition too");
                }
                Some(i) => {
                    if let Some(other) = done.iter().find(|o| o.vrids.contains(&routers[i].vrid)) {
                        self.list(
                            &entry,
                            format!(
                                "already in vrrp_sync_group {} ({}): an instance belongs to one sync group, keepalived ignores it here too",
                                other.name, other.at
                            ),
                        );
                    } else {
                        members.push(i);
                    }
                }
                None => match dropped.get(&w.text) {
                    Some((at, why)) => self.list(
                        &entry,
                        format!(
                            "vrrp_instance {} ({at}) {why} and not translated: nothing here keeps it with the other members",
                            w.text
                        ),
                    ),
                    None => self.list(
                        &entry,
                        "no vrrp_instance has this name: keepalived ignores it too",
                    ),
                },
            }
        }
        if members.len() < 2 {
            let names: Vec<&str> = members.iter().map(|&i| routers[i].name.as_str()).collect();
            self.list(
                g,
                format!(
                    "{} of its instances translated ({}): a vrrpd sync group needs two, so neither it nor its settings are in the output",
                    members.len(),
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            );
            return Ok(None);
        }
        let mut group = Group {
            name,
            at: self.loc(g.pos()),
            vrids: members.iter().map(|&i| routers[i].vrid).collect(),
            comments: Vec::new(),
            notify: None,
        };
        let mut notify: BTreeMap<&str, (Vec<String>, Pos)> = BTreeMap::new();
        for s in g.block.iter().flatten() {
            let key = format!("{path}.{}", s.key());
            match s.key() {
                "group" => {}
                "track_script" | "track_interface" => {
                    let kind = if s.key() == "track_script" {
                        TrackKind::Script
                    } else {
                        TrackKind::Interface
                    };
                    let tracked = self.trackers(s, kind, scripts, checks, &key, None)?;
                    for (_, check) in &tracked {
                        for &i in &members {
                            if !routers[i].track.contains(check) {
                                routers[i].track.push(check.clone());
                            }
                        }
                    }
                    if !tracked.is_empty() {
                        group.comments.push(format!(
                            "{} ({}): tracked by every member",
                            s.key(),
                            self.loc(s.pos())
                        ));
                    }
                }
                "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                    self.notify_entry(s, &key, &mut notify)?;
                }
                "sync_group_tracking_weight" | "global_tracking" => group.comments.push(format!(
                    "{} ({}): the members' weighted trackers are kept; each member tracks them all",
                    s.key(),
                    self.loc(s.pos())
                )),
                k => {
                    let why = unsupported(k)
                        .unwrap_or("unknown keyword (keepalived ignores it too, with a warning)");
                    self.list_entries(s, why);
                }
            }
        }
        if !notify.is_empty() {
            let first = &routers[members[0]];
            group.notify = Some((
                first.vrid,
                notify_script(first.vrid, "GROUP", &group.name, "0", &notify),
            ));
        }
        Ok(Some(group))
    }
}

/// The instance names of a `vrrp_sync_group`: every word of its `group` blocks, which keepalived
/// reads as one list whether the names stand on one line or several.
fn group_members(g: &Stmt) -> Vec<&Word> {
    g.block
        .iter()
        .flatten()
        .filter(|s| s.key() == "group")
        .flat_map(|s| s.block.iter().flatten())
        .flat_map(|m| m.words.iter())
        .collect()
}

/// Why every router tracks the link of its interface.
const UPLINK_NOTE: &str = "keepalived puts an instance at FAULT while its `interface` has no link, unless it sets\ndont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its\nlink, so only this check notices";

/// The name of the check standing for `origin` with `weight` (suffixed when the weight is not
/// the tracked object's own), added to `checks` unless there already.
fn add_check(
    checks: &mut BTreeMap<String, Check>,
    base: &str,
    default_weight: i32,
    origin: Origin,
    weight: i32,
) -> String {
    let mut name = if weight == default_weight {
        base.to_owned()
    } else if weight < 0 {
        format!("{base}_weight_minus_{}", -weight)
    } else {
        format!("{base}_weight_{weight}")
    };
    // Names that differ only in characters vrrpd does not allow must stay apart.
    while checks
        .get(&name)
        .is_some_and(|c| !c.origin.same_source(&origin) || c.weight != weight)
    {
        name.push('_');
    }
    match checks.get_mut(&name) {
        Some(c) => {
            if let (Origin::Interface { notes, .. }, Origin::Interface { notes: new, .. }) =
                (&mut c.origin, origin)
            {
                for n in new {
                    if !notes.contains(&n) {
                        notes.push(n);
                    }
                }
            }
        }
        None => {
            checks.insert(
                name.clone(),
                Check {
                    name: name.clone(),
                    origin,
                    weight,
                },
            );
        }
    }
    name
}

/// vrrpd check names are letters, digits, `_` and `-`.
fn check_name(script: &str) -> String {
    script
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:=@%+,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The shell program of the hook that stands for an instance's notify scripts. vrrpd's hooks are
/// global and get the state in the environment, where keepalived runs a script per state (and
/// `notify` with the state as arguments), so the hook picks this VRID's events and maps them.
/// `kind`, `name` and `priority` are what keepalived passes to `notify` after the script's own
/// arguments: INSTANCE or GROUP, the instance or group, and the priority (0 for a group).
fn notify_script(
    vrid: u8,
    kind: &str,
    name: &str,
    priority: &str,
    notify: &BTreeMap<&str, (Vec<String>, Pos)>,
) -> String {
    let cmd = |argv: &[String]| {
        argv.iter()
            .map(|a| sh_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let generic = notify.get("notify");
    let exec = if generic.is_some() { "" } else { "exec " };
    let mut out = String::new();
    let _ = writeln!(out, "[ \"$VRRP_VRID\" = {vrid} ] || exit 0");
    out.push_str(
        "case \"$VRRP_STATE:$VRRP_REASON\" in\n  Active:*) s=MASTER ;;\n  Backup:fault) s=FAULT ;;\n  Backup:*) s=BACKUP ;;\n  Initialize:shutdown) s=STOP ;;\n  *) exit 0 ;;\nesac\n",
    );
    let per_state = [
        ("notify_master", "MASTER"),
        ("notify_backup", "BACKUP"),
        ("notify_fault", "FAULT"),
        ("notify_stop", "STOP"),
    ];
    if per_state.iter().any(|(k, _)| notify.contains_key(k)) {
        out.push_str("case $s in\n");
        for (k, state) in per_state {
            if let Some((argv, _)) = notify.get(k) {
                let _ = writeln!(out, "  {state}) {exec}{} ;;", cmd(argv));
            }
        }
        out.push_str("esac\n");
    }
    if let Some((argv, _)) = generic {
        let _ = writeln!(
            out,
            "exec {} {kind} {} \"$s\" {priority}",
            cmd(argv),
            sh_quote(name)
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Output.

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(|i| q(&i.to_string())).collect();
    format!("[{}]", parts.join(", "))
}

/// Comment lines, with newlines inside a comment turned into more comment lines.
fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "# {line}");
    }
}

fn render(
    source: &str,
    untranslated: &[Untranslated],
    notes: &[String],
    routers: &[Router],
    checks: &BTreeMap<String, Check>,
    groups: &[Group],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# vrrpd configuration converted from {source} by `vrrpd import-keepalived`."
    );
    out.push_str("# Review it, then validate it with: vrrpd check --config FILE\n");
    if !untranslated.is_empty() {
        out.push_str("#\n# keepalived settings whose behaviour this file does not reproduce:\n");
        for u in untranslated {
            comment(&mut out, &format!("not translated: {u}"));
        }
    }
    if !notes.is_empty() {
        out.push_str("#\n# Translated without a vrrpd setting:\n");
        for n in notes {
            comment(&mut out, n);
        }
    }
    let _ = writeln!(out, "\ninterface = {}", q(&routers[0].interface));

    for r in routers {
        let _ = writeln!(out, "\n[[vrrp]]\n# vrrp_instance {} ({})", r.name, r.at);
        for c in &r.comments {
            comment(&mut out, c);
        }
        let _ = writeln!(out, "vrid = {}", r.vrid);
        let _ = writeln!(out, "version = {}", r.version);
        let _ = writeln!(out, "priority = {}", r.priority);
        let _ = writeln!(out, "interval = {}", q(&format_duration(r.interval)));
        let vips: Vec<String> = r.vips.iter().map(|v| format!("{v}/{}", r.prefix)).collect();
        let _ = writeln!(out, "vips = {}", list(&vips));
        if !r.preempt {
            out.push_str("preempt = false\n");
        }
        if let Some(d) = r.preempt_delay {
            let _ = writeln!(out, "preempt_delay = {}", q(&format_duration(d)));
        }
        if !r.accept {
            out.push_str("accept = false\n");
        }
        if r.version == 3 && r.message_only {
            out.push_str("checksum = \"message-only\"\n");
        }
        if let Some(p) = &r.auth_pass {
            let _ = writeln!(out, "auth_pass = {}", q(p));
        }
        let _ = writeln!(
            out,
            "garp = {{ burst = {}, repeats = {}, repeat_delay = {} }}",
            r.garp.0,
            r.garp.1,
            q(&format_duration(r.garp.2))
        );
        if !r.peers.is_empty() {
            let _ = writeln!(out, "peers = {}", list(&r.peers));
        }
        if let Some(p) = r.primary {
            let _ = writeln!(out, "primary = {}", q(&p.to_string()));
        }
        if !r.track.is_empty() {
            let _ = writeln!(out, "track = {}", list(&r.track));
        }
    }

    for g in groups {
        let _ = writeln!(
            out,
            "\n[[sync_group]]\n# vrrp_sync_group {} ({})",
            g.name, g.at
        );
        out.push_str("# keepalived moves the members between states together; vrrpd gives every member the\n# checks of all members, so that they fail over together. Both need the members in the same\n# priority order on every node.\n");
        for c in &g.comments {
            comment(&mut out, c);
        }
        let _ = writeln!(out, "name = {}", q(&g.name));
        let vrids: Vec<String> = g.vrids.iter().map(u8::to_string).collect();
        let _ = writeln!(out, "vrids = [{}]", vrids.join(", "));
    }

    // keepalived hears of link changes from the kernel at once; vrrpd polls the carrier, as often
    // as the fastest router advertises (at least every second, at most every 100 ms).
    let link_interval = routers
        .iter()
        .map(|r| r.interval)
        .min()
        .unwrap_or(Duration::from_secs(1))
        .clamp(Duration::from_millis(100), Duration::from_secs(1));
    for c in checks.values() {
        let s = match &c.origin {
            Origin::Script(s) => s,
            Origin::Interface { name, notes } => {
                let _ = writeln!(out, "\n[check.{}]", c.name);
                for n in notes {
                    comment(&mut out, n);
                }
                let _ = writeln!(
                    out,
                    "# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval\nkind = \"interface\"\ninterface = {}\ninterval = {}",
                    q(name),
                    q(&format_duration(link_interval))
                );
                if c.weight == 0 {
                    let _ = writeln!(
                        out,
                        "# keepalived puts the instance at FAULT while {name} has no link; vrrpd gives it\n# priority 0, so it steps down and never takes over\nfault = true"
                    );
                } else {
                    let _ = writeln!(out, "weight = {}", c.weight);
                }
                continue;
            }
        };
        let _ = writeln!(
            out,
            "\n[check.{}]\n# vrrp_script {} ({}): script {:?}",
            c.name, s.name, s.at, s.script
        );
        for n in &s.notes {
            comment(&mut out, n);
        }
        match &s.probe {
            Probe::Process(name) => {
                let _ = writeln!(out, "kind = \"process\"\nname = {}", q(name));
            }
            Probe::Http(url) => {
                let _ = writeln!(out, "kind = \"http\"\nurl = {}", q(url));
            }
            Probe::Tcp(addr) => {
                let _ = writeln!(out, "kind = \"tcp\"\naddr = {}", q(addr));
            }
            Probe::Command(argv) => {
                let _ = writeln!(out, "kind = \"command\"\ncommand = {}", list(argv));
            }
        }
        let _ = writeln!(out, "interval = {}", q(&format_duration(s.interval)));
        if let Some(t) = s.timeout {
            let _ = writeln!(out, "timeout = {}", q(&format_duration(t)));
        }
        if s.rise != 1 {
            let _ = writeln!(out, "rise = {}", s.rise);
        }
        if s.fall != 1 {
            let _ = writeln!(out, "fall = {}", s.fall);
        }
        if c.weight == 0 {
            out.push_str(
                "# weight 0: keepalived puts the instance at FAULT while the script fails; vrrpd\n# gives it priority 0, so it steps down and never takes over\nfault = true\n",
            );
        } else {
            let _ = writeln!(out, "weight = {}", c.weight);
        }
    }

    let hooks: Vec<&Router> = routers.iter().filter(|r| r.notify.is_some()).collect();
    let group_hooks: Vec<(&Group, u8, &str)> = groups
        .iter()
        .filter_map(|g| g.notify.as_ref().map(|(vrid, s)| (g, *vrid, s.as_str())))
        .collect();
    if !hooks.is_empty() || !group_hooks.is_empty() {
        out.push_str(
            "\n# keepalived runs a notify script per state; a vrrpd hook runs on every state change\n# of every router with VRRP_STATE (Initialize, Backup, Active), VRRP_REASON and VRRP_VRID in\n# its environment. Each hook below keeps to one VRID and maps the change to keepalived's\n# MASTER / BACKUP / FAULT / STOP. keepalived never kills a notify script; vrrpd kills a hook\n# after `timeout`.\n",
        );
    }
    let hook = |out: &mut String, script: &str| {
        // A literal multi-line string keeps the shell program readable; it cannot hold `'''`.
        if script.contains("'''") {
            let _ = writeln!(out, "command = [\"/bin/sh\", \"-c\", {}]", q(script));
        } else {
            let _ = writeln!(out, "command = [\"/bin/sh\", \"-c\", '''\n{script}''']");
        }
        out.push_str("timeout = \"5s\"\n");
    };
    for r in hooks {
        let _ = writeln!(out, "[[notify]]\n# vrrp_instance {}", r.name);
        hook(&mut out, r.notify.as_deref().expect("filtered"));
    }
    for (g, vrid, script) in group_hooks {
        let _ = writeln!(
            out,
            "[[notify]]\n# vrrp_sync_group {} ({}): keepalived runs these when the group changes state;\n# the members move together, so this hook follows its first member, VRID {vrid}",
            g.name, g.at
        );
        hook(&mut out, script);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CheckKind, Effect};

    impl Imported {
        fn untranslated_lines(&self, file: &str) -> Vec<usize> {
            self.untranslated
                .iter()
                .filter(|u| u.file == file)
                .map(|u| u.line)
                .collect()
        }
    }

    fn conv(text: &str) -> Imported {
        import_str(text, Path::new("keepalived.conf")).unwrap_or_else(|e| panic!("{}", e.render()))
    }

    /// Converts and feeds the output to vrrpd's own validation.
    fn accepted(text: &str) -> (Imported, Config) {
        let imp = conv(text);
        let cfg = Config::parse(&imp.toml, Path::new("out.toml"))
            .unwrap_or_else(|e| panic!("{}\n---\n{}", e.render(), imp.toml));
        (imp, cfg)
    }

    fn refused(text: &str) -> ImportError {
        match import_str(text, Path::new("keepalived.conf")) {
            Ok(i) => panic!("accepted:\n{}", i.toml),
            Err(e) => e,
        }
    }

    const MINIMAL: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n";

    #[test]
    fn lexer_words_quotes_comments_and_braces() {
        let toks = lex("a \"b c\" d'e f'g # x\n! y\nh{i}\"j{\" 'k!'\n\"un", 0);
        let (pos, msg) = toks.unwrap_err();
        assert_eq!((pos.line, pos.col), (4, 1));
        assert!(msg.contains("never closed"), "{msg}");

        let toks = lex(
            "a \"b c\" d'e f'g # x\n! y\nh{i}\"j{\" 'k!' \"\\\"q\\\"\"",
            0,
        )
        .unwrap();
        let words: Vec<String> = toks
            .iter()
            .map(|t| match t {
                Tok::Word(w) => w.text.clone(),
                Tok::Open(_) => "{".into(),
                Tok::Close(_) => "}".into(),
                Tok::Eol => "EOL".into(),
            })
            .collect();
        assert_eq!(
            words,
            [
                "a", "b c", "de fg", "EOL", "EOL", "h", "{", "i", "}", "j{", "k!", "\"q\"", "EOL"
            ]
        );
    }

    #[test]
    fn argv_splitting_follows_keepalived() {
        assert_eq!(
            split_argv("/bin/sh -c 'pidof nginx || exit 1'"),
            ["/bin/sh", "-c", "pidof nginx || exit 1"]
        );
        assert_eq!(split_argv("  a\\ b  c "), ["a b", "c"]);
        assert!(shell_syntax(&split_argv("pidof nginx || exit 1")));
        assert!(shell_syntax(&split_argv("</dev/tcp/127.0.0.1/80")));
        assert!(!shell_syntax(&split_argv("/bin/sh -c 'a | b'")));
    }

    #[test]
    fn glob_patterns() {
        let m = |p: &str, n: &str| {
            glob_match(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*.conf", "a.conf"));
        assert!(!m("*.conf", "a.conf.bak"));
        assert!(m("vi_?.conf", "vi_1.conf"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[!a-c]x", "dx"));
    }

    #[test]
    fn script_idioms() {
        let argv = |s: &str| split_argv(s);
        assert_eq!(
            classify(&argv("killall -0 nginx")).0,
            Probe::Process("nginx".into())
        );
        assert_eq!(
            classify(&argv("/usr/bin/pidof nginx")).0,
            Probe::Process("nginx".into())
        );
        assert_eq!(
            classify(&argv("pgrep -x nginx")).0,
            Probe::Process("nginx".into())
        );
        // pgrep without -x matches substrings: not the same as an exact name.
        assert!(matches!(
            classify(&argv("pgrep nginx")).0,
            Probe::Command(_)
        ));
        assert_eq!(
            classify(&argv("curl -fsS -o /dev/null -m 2 http://127.0.0.1/health")).0,
            Probe::Http("http://127.0.0.1/health".into())
        );
        // Without --fail curl succeeds on a 500 too; https is not what vrrpd's check speaks.
        assert!(matches!(
            classify(&argv("curl -s http://127.0.0.1/")).0,
            Probe::Command(_)
        ));
        assert!(matches!(
            classify(&argv("curl -f https://127.0.0.1/")).0,
            Probe::Command(_)
        ));
        assert!(matches!(
            classify(&argv("curl -f -H Host:x http://127.0.0.1/")).0,
            Probe::Command(_)
        ));
        assert_eq!(
            classify(&argv("nc -z -w 1 127.0.0.1 80")).0,
            Probe::Tcp("127.0.0.1:80".into())
        );
        assert!(matches!(
            classify(&argv("nc 127.0.0.1 80")).0,
            Probe::Command(_)
        ));
        assert_eq!(
            classify(&argv("/etc/keepalived/check.sh --quiet")).0,
            Probe::Command(vec!["/etc/keepalived/check.sh".into(), "--quiet".into()])
        );
    }

    #[test]
    fn minimal_instance_exact_output() {
        let (imp, cfg) = accepted(MINIMAL);
        assert!(imp.untranslated.is_empty());
        assert_eq!(
            imp.toml,
            "# vrrpd configuration converted from keepalived.conf by `vrrpd import-keepalived`.
# Review it, then validate it with: vrrpd check --config FILE

interface = \"eth0\"

[[vrrp]]
# vrrp_instance VI_1 (line 1)
vrid = 51
version = 2
priority = 150
interval = \"1s\"
vips = [\"192.0.2.100/24\"]
garp = { burst = 5, repeats = 1, repeat_delay = \"5s\" }
track = [\"link_eth0\"]

[check.link_eth0]
# keepalived puts an instance at FAULT while its `interface` has no link, unless it sets
# dont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its
# link, so only this check notices
# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval
kind = \"interface\"
interface = \"eth0\"
interval = \"1s\"
# keepalived puts the instance at FAULT while eth0 has no link; vrrpd gives it
# priority 0, so it steps down and never takes over
fault = true
"
        );
        let r = &cfg.routers[0];
        assert_eq!(r.core.version(), vrrp_core::wire::Version::V2);
        assert_eq!(r.core.garp().burst, 5);
    }

    #[test]
    fn defaults_are_keepalived_s() {
        let (imp, cfg) = accepted(
            "vrrp_instance X {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.5\n }\n}\n",
        );
        let r = &cfg.routers[0];
        assert_eq!(r.core.priority(), 100, "keepalived's default priority");
        assert_eq!(
            r.core.vip_prefix_len(),
            32,
            "keepalived's VIPs are /32 by default"
        );
        assert!(imp.toml.contains("priority 100: keepalived's default"));
    }

    #[test]
    fn brace_on_its_own_line_and_one_line_blocks() {
        let (_, cfg) = accepted(
            "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 7\n virtual_ipaddress { 10.0.0.1/24 10.0.0.2/24 }\n}\n",
        );
        // `{ a b }` on one line is one statement `a b` to keepalived: b is an option of a.
        assert_eq!(cfg.routers[0].core.vips().len(), 1);
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let e = refused("vrrp_instance VI_1 {\n interface eth0\n");
        assert_eq!(e.position, Some((1, 1)));
        assert!(e.message.contains("never closed"), "{e}");
        let e = refused("}\n");
        assert_eq!(e.position, Some((1, 1)));
        let e = refused(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_ipaddress {\n  10.0.0.1\n}\nvrrp_instance VI_2 {\n}\n",
        );
        assert_eq!(e.position, Some((6, 1)));
        assert_eq!(e.key, "vrrp_instance VI_1");
        assert!(e.message.contains("opened on line 1"), "{e}");
        let e = refused("a {\n}\n{\n");
        assert!(e.message.contains("without a keyword"), "{e}");
        let text = e.render();
        assert!(text.starts_with("keepalived.conf:3:1: "), "{text}");
    }

    #[test]
    fn values_keepalived_would_refuse_are_errors() {
        let cases: &[(&str, &str, (usize, usize), &str)] = &[
            (
                "virtual_router_id 51",
                "virtual_router_id 256",
                (3, 20),
                "1..=255",
            ),
            (
                "virtual_router_id 51",
                "virtual_router_id x",
                (3, 20),
                "not a number",
            ),
            ("priority 150", "priority 0", (4, 11), "out of range"),
            (
                "priority 150",
                "priority 150\n advert_int 0",
                (5, 13),
                "positive",
            ),
            (
                "priority 150",
                "priority 150\n advert_int 1.5",
                (5, 13),
                "whole seconds",
            ),
            (
                "priority 150",
                "priority 150\n version 3\n advert_int 0.015",
                (6, 13),
                "0.01",
            ),
            ("priority 150", "priority 255", (4, 11), "address owner"),
            (
                "priority 150",
                "priority 150\n version 4",
                (5, 10),
                "2 or 3",
            ),
        ];
        for (from, to, pos, why) in cases {
            let text = MINIMAL
                .replace(from, to)
                .replace("{\n    ", "{\n ")
                .replace("\n    ", "\n ");
            let e = refused(&text);
            assert_eq!(e.position, Some(*pos), "{to}: {}", e.render());
            assert!(e.message.contains(why), "{to}: {e}");
        }
    }

    #[test]
    fn fractional_v3_interval_and_global_version() {
        let (_, cfg) = accepted(&format!(
            "global_defs {{\n vrrp_version 3\n}}\n{}",
            MINIMAL.replace("priority 150", "priority 150\n advert_int 0.1")
        ));
        assert_eq!(cfg.routers[0].interval(), Duration::from_millis(100));
        assert_eq!(cfg.routers[0].core.version(), vrrp_core::wire::Version::V3);
    }

    #[test]
    fn scripts_become_checks_with_their_weight() {
        let (imp, cfg) = accepted(&format!(
            "vrrp_script chk_nginx {{\n script \"killall -0 nginx\"\n interval 2\n weight -20\n fall 3\n rise 2\n}}\nvrrp_script chk_x {{\n script /usr/local/bin/x\n}}\n{}",
            MINIMAL.replace(
                "priority 150",
                "priority 150\n track_script {\n  chk_nginx\n  chk_x weight 10\n  chk_nope\n }"
            )
        ));
        assert_eq!(
            cfg.routers[0].track,
            ["chk_nginx", "chk_x_weight_10", "link_eth0"]
        );
        let n = cfg.check("chk_nginx").unwrap();
        assert_eq!(
            n.kind,
            CheckKind::ProcessName {
                name: "nginx".into()
            }
        );
        assert_eq!(
            (n.interval, n.rise, n.fall, n.effect),
            (Duration::from_secs(2), 2, 3, Effect::Weight(-20))
        );
        assert_eq!(
            cfg.check("chk_x_weight_10").unwrap().effect,
            Effect::Weight(10)
        );
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [18]);
        assert!(
            imp.untranslated[0].why.contains("no vrrp_script"),
            "{:?}",
            imp.untranslated
        );
    }

    #[test]
    fn weight_zero_is_fault() {
        let (_, cfg) = accepted(&format!(
            "vrrp_script c {{\n script \"pidof nginx\"\n}}\n{}",
            MINIMAL.replace("priority 150", "priority 150\n track_script {\n  c\n }")
        ));
        assert_eq!(cfg.check("c").unwrap().effect, Effect::Fault);
    }

    #[test]
    fn notify_hook_runs_the_right_script() {
        let (imp, cfg) = accepted(&MINIMAL.replace(
            "priority 150",
            "priority 150\n notify_master \"/etc/keepalived/master.sh now\"\n notify_backup /etc/keepalived/backup.sh\n notify \"/usr/local/bin/n it\"",
        ));
        assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
        let cmd = &cfg.notify[0].command;
        assert_eq!(&cmd[..2], ["/bin/sh", "-c"]);
        let script = &cmd[2];
        assert!(
            script.starts_with("[ \"$VRRP_VRID\" = 51 ] || exit 0\n"),
            "{script}"
        );
        assert!(
            script.contains("MASTER) /etc/keepalived/master.sh now ;;"),
            "{script}"
        );
        assert!(
            script.ends_with("exec /usr/local/bin/n it INSTANCE VI_1 \"$s\" \"$VRRP_PRIORITY\"\n"),
            "{script}"
        );
    }

    /// Runs the generated hook program with a given environment, with the keepalived scripts
    /// replaced by `echo`, and returns what it printed.
    fn run_hook(script: &str, vrid: &str, state: &str, reason: &str) -> String {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .env("VRRP_VRID", vrid)
            .env("VRRP_STATE", state)
            .env("VRRP_REASON", reason)
            .env("VRRP_PRIORITY", "150")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn notify_hook_program_maps_states() {
        let (_, cfg) = accepted(&MINIMAL.replace(
            "priority 150",
            "priority 150\n notify_master \"/bin/echo master\"\n notify_backup \"/bin/echo backup\"\n notify_fault \"/bin/echo 'fault x'\"\n notify_stop \"/bin/echo stop\"\n notify \"/bin/echo any\"",
        ));
        let s = &cfg.notify[0].command[2];
        assert_eq!(
            run_hook(s, "51", "Active", "active_down"),
            "master\nany INSTANCE VI_1 MASTER 150\n"
        );
        assert_eq!(
            run_hook(s, "51", "Backup", "startup"),
            "backup\nany INSTANCE VI_1 BACKUP 150\n"
        );
        assert_eq!(
            run_hook(s, "51", "Backup", "fault"),
            "fault x\nany INSTANCE VI_1 FAULT 150\n"
        );
        assert_eq!(
            run_hook(s, "51", "Initialize", "shutdown"),
            "stop\nany INSTANCE VI_1 STOP 150\n"
        );
        assert_eq!(
            run_hook(s, "52", "Active", "active_down"),
            "",
            "another VRID"
        );
    }

    #[test]
    fn vip_forms() {
        let (imp, cfg) = accepted(&MINIMAL.replace(
            "192.0.2.100/24",
            "192.0.2.100/24 dev eth0\n        192.0.2.101/24 dev eth0 label eth0:1\n        192.0.2.102/24 dev eth1\n        192.0.2.103/25\n        2001:db8::1/64\n        192.0.2.100/24",
        ));
        assert_eq!(
            cfg.routers[0].core.vips().as_slice(),
            [Ipv4Addr::new(192, 0, 2, 100), Ipv4Addr::new(192, 0, 2, 101)]
        );
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [7, 8, 9, 10, 11]);
        assert!(imp.untranslated[0].why.contains("label eth0:1"));
        assert!(imp.untranslated[1].why.contains("dev eth1"));
        assert!(imp.untranslated[2].why.contains("one prefix length"));
        assert!(imp.untranslated[3].why.contains("IPv6"));
        assert!(imp.untranslated[4].why.contains("twice"));
    }

    #[test]
    fn comment_characters_anywhere_cut_the_password_like_keepalived() {
        let (imp, cfg) = accepted(&MINIMAL.replace(
            "priority 150",
            "priority 150\n authentication {\n  auth_type PASS\n  auth_pass \"a#b\"c!d\n }",
        ));
        assert!(imp.untranslated.is_empty());
        let vrrp_core::wire::Auth::Simple(pw) = cfg.routers[0].core.auth() else {
            panic!()
        };
        assert_eq!(&pw[..5], b"a#bc\0");
    }

    #[test]
    fn long_password_is_cut_to_eight_bytes() {
        let (imp, cfg) = accepted(&MINIMAL.replace(
            "priority 150",
            "priority 150\n authentication {\n  auth_type PASS\n  auth_pass 0123456789\n }",
        ));
        let vrrp_core::wire::Auth::Simple(pw) = cfg.routers[0].core.auth() else {
            panic!()
        };
        assert_eq!(&pw, b"01234567");
        assert!(imp.toml.contains("cut to its first 8 bytes"));
    }

    #[test]
    fn interfaces_other_than_the_first_are_listed() {
        let second = MINIMAL
            .replace("VI_1", "VI_2")
            .replace("eth0", "eth1")
            .replace("51", "52");
        let (imp, cfg) = accepted(&format!("{MINIMAL}{second}"));
        assert_eq!(cfg.routers.len(), 1);
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [9]);
        assert!(imp.untranslated[0].why.contains("second vrrpd"));
    }

    #[test]
    fn garp_settings() {
        let (_, cfg) = accepted(&format!(
            "global_defs {{\n vrrp_garp_master_repeat 2\n}}\n{}",
            MINIMAL.replace("priority 150", "priority 150\n garp_master_delay 1")
        ));
        let g = cfg.routers[0].core.garp();
        assert_eq!((g.burst, g.repeats), (2, 1));
        assert_eq!(g.repeat_delay.as_millis(), 1000);
        let (_, cfg) =
            accepted(&MINIMAL.replace("priority 150", "priority 150\n garp_master_delay 0"));
        assert_eq!(cfg.routers[0].core.garp().repeats, 0, "0: no second set");
    }

    #[test]
    fn strict_mode_turns_accept_off() {
        let (_, cfg) = accepted(&format!("global_defs {{\n vrrp_strict\n}}\n{MINIMAL}"));
        assert!(!cfg.routers[0].core.accept_mode());
        let (_, cfg) = accepted(&format!(
            "global_defs {{\n vrrp_strict\n}}\n{}",
            MINIMAL.replace("priority 150", "priority 150\n accept")
        ));
        assert!(cfg.routers[0].core.accept_mode());
    }

    #[test]
    fn toml_strings_are_escaped() {
        let s = "a\"b\\c\nd\u{1}";
        let doc = format!("x = {}\n", q(s));
        let v: toml::Table = doc.parse().unwrap();
        assert_eq!(v["x"].as_str(), Some(s));
    }

    #[test]
    fn track_interface_becomes_interface_checks() {
        let (imp, cfg) = accepted(&MINIMAL.replace(
            "priority 150",
            "priority 150\n track_interface {\n  eth1\n  eth2 weight -20\n  eth3 weight 10 noreverse\n  eth4 weight -5 reverse\n  eth1 weight 0\n  this-name-is-too-long0\n }",
        ));
        assert_eq!(
            cfg.routers[0].track,
            [
                "link_eth1",
                "link_eth2_weight_minus_20",
                "link_eth3_weight_10",
                "link_eth0"
            ]
        );
        let check = |n: &str| cfg.check(n).unwrap();
        assert_eq!(check("link_eth1").effect, Effect::Fault);
        assert_eq!(
            check("link_eth2_weight_minus_20").kind,
            CheckKind::Interface {
                name: "eth2".into()
            }
        );
        assert_eq!(
            check("link_eth2_weight_minus_20").effect,
            Effect::Weight(-20)
        );
        assert_eq!(check("link_eth3_weight_10").effect, Effect::Weight(10));
        assert_eq!(check("link_eth0").effect, Effect::Fault, "the uplink");
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [9, 10, 11]);
        assert!(imp.untranslated[0].why.contains("`reverse`"));
        assert!(imp.untranslated[1].why.contains("tracked twice"));
        assert!(
            imp.untranslated[2]
                .why
                .contains("not a Linux interface name")
        );
        assert!(
            imp.toml.contains("# track_interface eth1 (line 6)\n"),
            "{}",
            imp.toml
        );
        let e = refused(&MINIMAL.replace(
            "priority 150",
            "priority 150\n track_interface {\n  eth1 weight 300\n }",
        ));
        assert!(e.message.contains("-254..=254"), "{e}");
    }

    #[test]
    fn the_instance_s_own_interface_is_tracked_unless_dont_track_primary() {
        let (imp, cfg) = accepted(MINIMAL);
        assert_eq!(cfg.routers[0].track, ["link_eth0"]);
        assert!(
            imp.toml.contains("unless it sets\n# dont_track_primary"),
            "{}",
            imp.toml
        );
        let (imp, cfg) =
            accepted(&MINIMAL.replace("priority 150", "priority 150\n dont_track_primary"));
        assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
        assert!(cfg.routers[0].track.is_empty());
        assert!(cfg.checks.is_empty());
        assert!(
            imp.toml
                .contains("# dont_track_primary (line 5): no check on eth0's link"),
            "{}",
            imp.toml
        );
        // A fast router's link is read as often as it advertises.
        let (_, cfg) =
            accepted(&MINIMAL.replace("priority 150", "priority 150\n version 3\n advert_int 0.2"));
        assert_eq!(
            cfg.check("link_eth0").unwrap().interval,
            Duration::from_millis(200)
        );
    }

    const TWO: &str = "vrrp_script chk_a {\n script \"pidof a\"\n weight -30\n}\nvrrp_script chk_b {\n script \"pidof b\"\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 10\n priority 150\n virtual_ipaddress {\n  192.0.2.10/24\n }\n track_script {\n  chk_a\n }\n}\nvrrp_instance VI_2 {\n interface eth0\n virtual_router_id 20\n priority 150\n virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n";

    #[test]
    fn sync_group_with_its_own_trackers_and_notify() {
        let (imp, cfg) = accepted(&format!(
            "{TWO}vrrp_sync_group VG {{\n group {{ VI_1 VI_2 VI_9 }}\n track_script {{\n  chk_b\n }}\n track_interface {{\n  eth1 weight -40\n }}\n notify \"/bin/echo any\"\n notify_fault /bin/true\n}}\n"
        ));
        // 16: the weighted chk_a of a member (keepalived ignores it); 28: VI_9 is no instance;
        // 36: notify_fault.
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [16, 28, 36]);
        assert!(
            imp.untranslated[0]
                .why
                .contains("sync_group_tracking_weight")
        );
        assert!(imp.untranslated[1].why.contains("no vrrp_instance"));
        assert_eq!(cfg.sync_groups[0].name, "VG");
        assert_eq!(cfg.sync_groups[0].vrids, [10, 20]);
        for r in &cfg.routers {
            assert_eq!(
                r.track,
                ["link_eth0", "chk_b", "link_eth1_weight_minus_40"],
                "VRID {}",
                r.vrid()
            );
        }
        assert!(cfg.check("chk_a").is_none());
        assert_eq!(cfg.check("chk_b").unwrap().effect, Effect::Fault);
        assert_eq!(
            cfg.check("link_eth1_weight_minus_40").unwrap().effect,
            Effect::Weight(-40)
        );
        let hook = &cfg.notify[0].command[2];
        assert_eq!(
            run_hook(hook, "10", "Active", "preempt"),
            "any GROUP VG MASTER 0\n"
        );
        assert_eq!(run_hook(hook, "20", "Active", "preempt"), "", "one member");
        assert!(
            imp.toml
                .contains("[[sync_group]]\n# vrrp_sync_group VG (line 27)\n"),
            "{}",
            imp.toml
        );
    }

    #[test]
    fn sync_group_tracking_weight_keeps_member_weights() {
        let (imp, cfg) = accepted(&format!(
            "{TWO}vrrp_sync_group VG {{\n group {{\n  VI_1\n  VI_2\n }}\n sync_group_tracking_weight\n}}\n"
        ));
        assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
        assert_eq!(cfg.check("chk_a").unwrap().effect, Effect::Weight(-30));
        assert_eq!(cfg.routers[1].track, ["chk_a", "link_eth0"]);
    }

    #[test]
    fn sync_groups_that_cannot_be_expressed_are_listed() {
        let eth1 = MINIMAL
            .replace("VI_1", "VI_3")
            .replace("eth0", "eth1")
            .replace("51", "30");
        let (imp, cfg) = accepted(&format!(
            "{TWO}{eth1}vrrp_sync_group G1 {{\n group {{\n  VI_1\n  VI_3\n }}\n notify_master /bin/true\n}}\n"
        ));
        assert!(cfg.sync_groups.is_empty());
        assert!(
            cfg.notify.is_empty(),
            "the group's notify is not in the output"
        );
        let why: Vec<&str> = imp.untranslated.iter().map(|u| u.why.as_str()).collect();
        // 16: chk_a, weighted in a member; 27: VI_3 on eth1; 35: the group, one member left;
        // 38: VI_3 not translated.
        assert_eq!(
            imp.untranslated_lines("keepalived.conf"),
            [16, 27, 35, 38],
            "{why:#?}"
        );
        assert!(
            why[2].contains("1 of its instances translated (VI_1)"),
            "{why:?}"
        );
        assert!(why[3].contains("on another interface"), "{why:?}");

        let (imp, cfg) = accepted(&format!(
            "{TWO}vrrp_sync_group G1 {{\n group {{ VI_1 VI_2 }}\n}}\nvrrp_sync_group G2 {{\n group {{ VI_2 VI_2 VI_1 }}\n}}\nvrrp_sync_group G1 {{\n group {{ VI_1 VI_2 }}\n}}\n"
        ));
        assert_eq!(cfg.sync_groups.len(), 1);
        let why: Vec<&str> = imp.untranslated.iter().map(|u| u.why.as_str()).collect();
        // 16: chk_a; 30: G2, none left; 31: VI_2, VI_2, VI_1 are in G1; 33: G1 again.
        assert_eq!(
            imp.untranslated_lines("keepalived.conf"),
            [16, 30, 31, 31, 31, 33],
            "{why:#?}"
        );
        assert!(
            why[1].contains("0 of its instances translated (none)"),
            "{why:?}"
        );
        assert!(why[2].contains("already in vrrp_sync_group G1"), "{why:?}");
        assert!(why[4].contains("already in vrrp_sync_group G1"), "{why:?}");
        assert!(why[5].contains("already defined (line 27)"), "{why:?}");
    }

    #[test]
    fn include_of_missing_file_is_listed() {
        let imp = conv(&format!("include /nonexistent/dir/*.conf\n{MINIMAL}"));
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [1]);
    }
    // ---- The realistic files in host/tests/keepalived/.

    fn fixture_dir() -> String {
        format!("{}/tests/keepalived/", env!("CARGO_MANIFEST_DIR"))
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/keepalived")
            .join(name)
    }

    /// Converts a fixture, validates the output with vrrpd's own parser and returns the
    /// untranslated line numbers per file (file names relative to the fixture directory).
    fn import_fixture(name: &str) -> (Imported, Config, Vec<(String, usize)>) {
        let path = fixture(name);
        let imp = import_file(&path).unwrap_or_else(|e| panic!("{}", e.render()));
        let cfg = Config::parse(&imp.toml, Path::new("out.toml"))
            .unwrap_or_else(|e| panic!("{}\n---\n{}", e.render(), imp.toml));
        let dir = fixture_dir();
        let lines = imp
            .untranslated
            .iter()
            .map(|u| (u.file.trim_start_matches(&dir).to_owned(), u.line))
            .collect();
        (imp, cfg, lines)
    }

    fn at(file: &str, lines: &[usize]) -> Vec<(String, usize)> {
        lines.iter().map(|l| (file.to_owned(), *l)).collect()
    }

    fn fixture_error(name: &str) -> ImportError {
        match import_file(&fixture(name)) {
            Ok(i) => panic!("{name} accepted:\n{}", i.toml),
            Err(e) => e,
        }
    }

    fn without_dir(toml: &str) -> String {
        toml.replace(&fixture_dir(), "")
    }

    #[test]
    fn nginx_master_exact() {
        let (imp, cfg, lines) = import_fixture("nginx-master.conf");
        assert!(lines.is_empty(), "{lines:?}");
        assert_eq!(
            without_dir(&imp.toml),
            r#"# vrrpd configuration converted from nginx-master.conf by `vrrpd import-keepalived`.
# Review it, then validate it with: vrrpd check --config FILE
#
# Translated without a vrrpd setting:
# router_id lb1 (line 5): names this host in keepalived's e-mails and SNMP; vrrpd's status names VRIDs

interface = "eth0"

[[vrrp]]
# vrrp_instance VI_1 (line 16)
# state MASTER (line 17): vrrpd starts every router as Backup and the highest priority takes over; only priority 255 starts Active
vrid = 51
version = 2
priority = 150
interval = "1s"
vips = ["192.168.10.100/24"]
auth_pass = "s3cret"
garp = { burst = 5, repeats = 1, repeat_delay = "5s" }
track = ["chk_nginx", "link_eth0"]

[check.chk_nginx]
# vrrp_script chk_nginx (line 8): script "/usr/bin/killall -0 nginx"
# `/usr/bin/killall -0 nginx` succeeds while a process named nginx runs: vrrpd checks that without forking
kind = "process"
name = "nginx"
interval = "2s"
rise = 2
fall = 2
weight = -60

[check.link_eth0]
# keepalived puts an instance at FAULT while its `interface` has no link, unless it sets
# dont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its
# link, so only this check notices
# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval
kind = "interface"
interface = "eth0"
interval = "1s"
# keepalived puts the instance at FAULT while eth0 has no link; vrrpd gives it
# priority 0, so it steps down and never takes over
fault = true
"#
        );
        let c = cfg.check("chk_nginx").unwrap();
        assert_eq!(c.effect, Effect::Weight(-60));
        assert_eq!(
            cfg.routers[0].core.auth(),
            vrrp_core::wire::Auth::Simple(*b"s3cret\0\0")
        );
    }

    #[test]
    fn v2_auth_exact() {
        let (imp, cfg, lines) = import_fixture("v2-auth.conf");
        assert!(lines.is_empty(), "{lines:?}");
        assert_eq!(
            without_dir(&imp.toml),
            r#"# vrrpd configuration converted from v2-auth.conf by `vrrpd import-keepalived`.
# Review it, then validate it with: vrrpd check --config FILE

interface = "ens3"

[[vrrp]]
# vrrp_instance web (line 3)
# state BACKUP (line 4): vrrpd starts every router as Backup and the highest priority takes over; only priority 255 starts Active
# auth_pass (line 12) cut to its first 8 bytes, as keepalived sends it
vrid = 10
version = 2
priority = 120
interval = "3s"
vips = ["10.0.0.10/32", "10.0.0.11/32"]
preempt_delay = "30s"
auth_pass = "long pas"
garp = { burst = 3, repeats = 1, repeat_delay = "1s" }
track = ["link_ens3"]

[check.link_ens3]
# keepalived puts an instance at FAULT while its `interface` has no link, unless it sets
# dont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its
# link, so only this check notices
# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval
kind = "interface"
interface = "ens3"
interval = "1s"
# keepalived puts the instance at FAULT while ens3 has no link; vrrpd gives it
# priority 0, so it steps down and never takes over
fault = true
"#
        );
        let r = &cfg.routers[0];
        assert_eq!(r.interval(), Duration::from_secs(3));
        assert_eq!(r.core.vip_prefix_len(), 32);
    }

    #[test]
    fn nginx_backup_facts() {
        let (imp, cfg, lines) = import_fixture("nginx-backup.conf");
        assert_eq!(lines, at("nginx-backup.conf", &[4, 5, 26]));
        assert!(imp.untranslated[2].why.contains("label eth0:vip"));
        let r = &cfg.routers[0];
        assert_eq!(
            (r.vrid(), r.core.priority(), r.core.preempt()),
            (51, 100, false)
        );
        assert_eq!(
            cfg.check("chk_nginx").unwrap().kind,
            CheckKind::ProcessName {
                name: "nginx".into()
            }
        );
        let hook = &cfg.notify[0].command[2];
        assert!(
            hook.contains("MASTER) exec /etc/keepalived/notify.sh master ;;"),
            "{hook}"
        );
        assert!(
            hook.contains("BACKUP) exec /etc/keepalived/notify.sh backup ;;"),
            "{hook}"
        );
    }

    #[test]
    fn v3_fast_facts() {
        let (_, cfg, lines) = import_fixture("v3-fast.conf");
        assert_eq!(lines, at("v3-fast.conf", &[7]), "curl's status range");
        let r = &cfg.routers[0];
        assert_eq!(r.core.version(), vrrp_core::wire::Version::V3);
        assert_eq!(r.interval(), Duration::from_millis(100));
        assert_eq!(
            r.core.checksum(),
            vrrp_core::wire::ChecksumMode::MessageOnly
        );
        assert_eq!(r.core.garp().repeats, 0, "vrrp_garp_master_delay 0");
        let c = cfg.check("chk_http").unwrap();
        let CheckKind::Http { connect, path, .. } = &c.kind else {
            panic!("{:?}", c.kind)
        };
        assert_eq!(
            (connect.as_str(), path.as_str()),
            ("127.0.0.1:8080", "/healthz")
        );
        assert_eq!(
            (c.interval, c.timeout, c.rise, c.fall, c.effect),
            (
                Duration::from_millis(500),
                Duration::from_millis(400),
                3,
                2,
                Effect::Weight(-50)
            )
        );
    }

    #[test]
    fn unicast_facts() {
        let (imp, cfg, lines) = import_fixture("unicast.conf");
        assert_eq!(lines, at("unicast.conf", &[23]), "min_ttl");
        let r = &cfg.routers[0];
        assert_eq!(
            r.core.peers().as_slice(),
            [Ipv4Addr::new(10, 10, 1, 12), Ipv4Addr::new(10, 10, 1, 13)]
        );
        assert_eq!(r.primary, Some(Ipv4Addr::new(10, 10, 1, 11).into()));
        assert!(!r.core.preempt());
        assert_eq!(r.core.preempt_delay().as_secs(), 10);
        let c = cfg.check("chk_nginx_port").unwrap();
        assert_eq!(
            c.kind,
            CheckKind::Tcp {
                addr: "127.0.0.1:443".parse().unwrap()
            }
        );
        assert_eq!(c.effect, Effect::Weight(20));
        assert!(imp.toml.contains("# unicast_peer (line 21): vrrpd sends"));
    }

    #[test]
    fn multi_instance_facts() {
        let (imp, cfg, lines) = import_fixture("multi-instance.conf");
        assert_eq!(lines, at("multi-instance.conf", &[23, 37, 41]));
        let why: Vec<&str> = imp.untranslated.iter().map(|u| u.why.as_str()).collect();
        assert!(
            why[0].contains("ignores the weighted trackers of a sync group's members"),
            "{why:?}"
        );
        assert!(why[1].contains("routes"), "{why:?}");
        assert!(why[2].contains("interface eth1"), "{why:?}");
        let vrids: Vec<u8> = cfg.routers.iter().map(|r| r.vrid()).collect();
        assert_eq!(vrids, [51, 52]);
        assert_eq!(
            cfg.sync_groups,
            [crate::config::SyncGroup {
                name: "VG_NGINX".into(),
                vrids: vec![51, 52]
            }]
        );
        // VI_PUBLIC tracks eth1 (plain: fault); the group gives VI_PRIVATE the same checks.
        for r in &cfg.routers {
            assert_eq!(r.track, ["link_eth1", "link_eth0"], "VRID {}", r.vrid());
        }
        assert_eq!(cfg.check("link_eth1").unwrap().effect, Effect::Fault);
        assert!(cfg.check("link_eth2_weight_minus_20").is_none());
        // The group's notify_master follows the first member.
        assert_eq!(cfg.notify.len(), 1);
        let hook = &cfg.notify[0].command[2];
        assert!(
            hook.starts_with("[ \"$VRRP_VRID\" = 51 ] || exit 0\n"),
            "{hook}"
        );
        assert!(
            hook.contains("MASTER) exec /usr/local/bin/vg-master.sh ;;"),
            "{hook}"
        );
        assert_eq!(cfg.routers[0].core.vips().len(), 2);
        assert_eq!(cfg.interface, "eth0");
    }

    #[test]
    fn scripts_facts() {
        let (imp, cfg, lines) = import_fixture("scripts.conf");
        assert_eq!(lines, at("scripts.conf", &[10, 13, 22]));
        let names: Vec<&str> = cfg.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "chk_legacy",
                "chk_maint",
                "chk_nginx",
                "chk_upstream_weight_minus_40",
                "link_eth0"
            ]
        );
        assert_eq!(
            cfg.routers[0].track,
            [
                "chk_nginx",
                "chk_upstream_weight_minus_40",
                "chk_maint",
                "chk_legacy",
                "link_eth0"
            ]
        );
        let up = cfg.check("chk_upstream_weight_minus_40").unwrap();
        assert_eq!(
            up.kind,
            CheckKind::Command {
                argv: vec![
                    "/etc/keepalived/check_upstream.sh".into(),
                    "--timeout".into(),
                    "2".into()
                ]
            }
        );
        assert_eq!(
            (up.interval, up.timeout, up.rise, up.fall, up.effect),
            (
                Duration::from_secs(5),
                Duration::from_secs(5),
                2,
                3,
                Effect::Weight(-40)
            )
        );
        let maint = cfg.check("chk_maint").unwrap();
        assert_eq!(
            maint.effect,
            Effect::Fault,
            "keepalived's default weight is 0"
        );
        assert_eq!(
            maint.kind,
            CheckKind::Command {
                argv: vec![
                    "test".into(),
                    "!".into(),
                    "-e".into(),
                    "/etc/keepalived/maintenance".into()
                ]
            }
        );
        assert_eq!(
            cfg.check("chk_legacy").unwrap().kind,
            CheckKind::Command {
                argv: vec![
                    "/bin/sh".into(),
                    "-c".into(),
                    "pidof nginx || exit 1".into()
                ]
            }
        );
        assert!(
            imp.toml
                .contains("vrrp_script chk_unused (line 27) is tracked by no translated instance"),
            "{}",
            imp.toml
        );
    }

    #[test]
    fn notify_facts() {
        let (_, cfg, lines) = import_fixture("notify.conf");
        assert_eq!(
            lines,
            at("notify.conf", &[12, 14]),
            "notify_fault, notify as root"
        );
        assert_eq!(cfg.notify.len(), 1);
        let hook = &cfg.notify[0].command[2];
        for line in [
            "  MASTER) /etc/keepalived/master.sh ;;",
            "  BACKUP) /etc/keepalived/backup.sh ;;",
            "  FAULT) /etc/keepalived/fault.sh ;;",
            "  STOP) /etc/keepalived/stop.sh ;;",
            "exec /etc/keepalived/notify.sh INSTANCE VI_1 \"$s\" \"$VRRP_PRIORITY\"",
        ] {
            assert!(hook.lines().any(|l| l == line), "{line:?} in\n{hook}");
        }
        assert_eq!(cfg.notify[0].timeout, Duration::from_secs(5));
    }

    #[test]
    fn include_facts() {
        let (imp, cfg, lines) = import_fixture("include/keepalived.conf");
        assert_eq!(lines, at("include/keepalived.conf", &[8]));
        // `track_interface { eth0 }` names the instance's own interface: one check for both.
        assert_eq!(cfg.routers[0].track, ["chk_nginx", "link_eth0"]);
        assert_eq!(
            cfg.check("link_eth0").unwrap().kind,
            CheckKind::Interface {
                name: "eth0".into()
            }
        );
        assert!(
            without_dir(&imp.toml).contains("# track_interface eth0 (include/conf.d/20-vi1.conf:14)\n# keepalived puts an instance at FAULT"),
            "{}",
            imp.toml
        );
        let r = &cfg.routers[0];
        assert_eq!(
            r.core.version(),
            vrrp_core::wire::Version::V3,
            "global vrrp_version"
        );
        assert_eq!(r.interval(), Duration::from_millis(500));
        let c = cfg.check("chk_nginx").unwrap();
        assert_eq!(
            c.kind,
            CheckKind::ProcessName {
                name: "nginx".into()
            }
        );
        assert_eq!((c.rise, c.fall, c.effect), (2, 2, Effect::Fault));
        assert!(!imp.toml.contains("NOT_ME"), "README is not *.conf");
        assert!(
            without_dir(&imp.toml).contains("# vrrp_instance VI_1 (include/conf.d/20-vi1.conf:1)"),
            "{}",
            imp.toml
        );
    }

    #[test]
    fn unknown_keyword_facts() {
        let (imp, cfg, lines) = import_fixture("unknown-keyword.conf");
        assert_eq!(lines, at("unknown-keyword.conf", &[3, 11]));
        assert!(imp.untranslated[1].why.contains("unknown keyword"));
        assert_eq!(
            cfg.routers[0].interval(),
            Duration::from_secs(1),
            "the misspelt advert_int leaves keepalived's default"
        );
    }

    #[test]
    fn usual_mistakes_are_errors_with_file_line_and_column() {
        let cases: &[(&str, (usize, usize), &str, &str)] = &[
            (
                "bad-missing-brace.conf",
                (5, 1),
                "vrrp_script chk_nginx",
                "a `}` is missing",
            ),
            (
                "bad-vrid-range.conf",
                (4, 23),
                "vrrp_instance VI_1.virtual_router_id",
                "300 is out of range",
            ),
            (
                "bad-duplicate-vrid.conf",
                (12, 23),
                "vrrp_instance VI_2.virtual_router_id",
                "VRID 51 is also used by vrrp_instance VI_1 (line 1)",
            ),
            (
                "bad-priority-zero.conf",
                (5, 14),
                "vrrp_instance VI_1.priority",
                "0 is out of range",
            ),
            (
                "bad-advert-int-zero.conf",
                (5, 16),
                "vrrp_instance VI_1.advert_int",
                "positive number of seconds",
            ),
        ];
        for (name, pos, key, why) in cases {
            let e = fixture_error(name);
            assert_eq!(e.file, fixture(name).display().to_string());
            assert_eq!(e.position, Some(*pos), "{name}: {e}");
            assert_eq!(e.key, *key, "{name}: {e}");
            assert!(e.message.contains(why), "{name}: {e}");
        }
    }

    #[test]
    fn nginx_dual_stack_facts() {
        let (imp, cfg, lines) = import_fixture("nginx-dual-stack.conf");
        assert!(lines.is_empty(), "{lines:?}");
        let [v4, v6] = &cfg.routers[..] else {
            panic!("two routers: {}", imp.toml)
        };
        assert!(!v4.core.is_v6());
        assert!(v6.core.is_v6());
        assert_eq!(v6.core.version(), vrrp_core::wire::Version::V3);
        assert_eq!(
            v6.core.vips(),
            [
                "fe80::52".parse::<IpAddr>().unwrap(),
                "2001:db8:10::10".parse().unwrap()
            ],
            "keepalived's addresses in keepalived's order"
        );
        assert_eq!(v6.core.vip_prefix_len(), 64);
        assert_eq!(v6.core.primary(), "fe80::a:11".parse::<IpAddr>().unwrap());
        assert_eq!(v6.track, ["chk_nginx", "link_eth0"]);
        assert!(
            imp.toml
                .contains("vips = [\"fe80::52/64\", \"2001:db8:10::10/64\"]\n"),
            "{}",
            imp.toml
        );
        assert_eq!(cfg.notify.len(), 2);
        assert_eq!(
            run_hook(&cfg.notify[1].command[2], "51", "Active", "preempt"),
            "",
            "the IPv6 instance's hook keeps to VRID 52"
        );
        assert!(
            cfg.notify[1].command[2].ends_with(
                "exec /etc/keepalived/notify.sh INSTANCE VI_6 \"$s\" \"$VRRP_PRIORITY\"\n"
            )
        );
    }

    #[test]
    fn ipv6_mistakes_are_listed_with_their_line() {
        let (imp, cfg, lines) = import_fixture("ipv6-mistakes.conf");
        assert_eq!(
            lines,
            at("ipv6-mistakes.conf", &[13, 22, 26, 31, 40, 43, 46]),
            "{:#?}",
            imp.untranslated
        );
        let why: Vec<&str> = imp.untranslated.iter().map(|u| u.why.as_str()).collect();
        assert!(
            why[0].contains(
                "list a link-local address (e.g. fe80::3d) first in virtual_ipaddress on every node"
            ),
            "{why:?}"
        );
        assert!(why[1].contains("VRRPv2 has no IPv6"), "{why:?}");
        assert!(
            why[2].contains("not link-local: vrrpd lists an IPv6 peer by its link-local"),
            "{why:?}"
        );
        assert!(why[3].contains("one family"), "{why:?}");
        assert!(why[4].contains("not link-local"), "{why:?}");
        assert!(why[5].contains("one prefix length"), "{why:?}");
        // VI_GLOBAL_FIRST is left out; the others run VRRPv3 over IPv6, VI_UNICAST with its
        // link-local peer.
        let vrids: Vec<u8> = cfg.routers.iter().map(|r| r.vrid()).collect();
        assert_eq!(vrids, [62, 63]);
        for r in &cfg.routers {
            assert!(r.core.is_v6());
            assert_eq!(r.core.version(), vrrp_core::wire::Version::V3);
        }
        assert_eq!(
            cfg.routers[0].core.peers(),
            ["fe80::a:12".parse::<IpAddr>().unwrap()]
        );
        assert!(cfg.routers[1].core.peers().is_empty());
        assert_eq!(
            cfg.routers[1].core.primary(),
            "fe80::".parse::<IpAddr>().unwrap(),
            "a global mcast_src_ip is not the primary: the uplink's link-local is, at run time"
        );
        assert!(
            imp.toml.contains(
                "# vrrp_version 2 (line 5) applies to IPv4 instances: keepalived runs IPv6 ones as version 3\n"
            ),
            "{}",
            imp.toml
        );
    }

    const V6: &str = "vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 52\n priority 150\n virtual_ipaddress {\n  fe80::52\n  2001:db8::52\n }\n}\n";

    #[test]
    fn ipv6_forms() {
        // keepalived installs an address without a prefix as a host address: /128.
        let (imp, cfg) = accepted(V6);
        assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
        assert_eq!(cfg.routers[0].core.vip_prefix_len(), 128);
        assert_eq!(cfg.routers[0].core.version(), vrrp_core::wire::Version::V3);

        // native_ipv6 makes the instance IPv6 before its addresses; the IPv4 one is ignored.
        let (imp, cfg) = accepted(&V6.replace(
            " virtual_ipaddress {\n  fe80::52\n",
            " native_ipv6\n virtual_ipaddress {\n  192.0.2.1/24\n  fe80::52\n",
        ));
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [7]);
        assert!(
            imp.untranslated[0]
                .why
                .contains("IPv6 from native_ipv6 (line 5)"),
            "{:?}",
            imp.untranslated
        );
        assert_eq!(cfg.routers[0].core.vips().len(), 2);

        // After IPv4 addresses, keepalived ignores native_ipv6.
        let (imp, cfg) = accepted(&MINIMAL.replace("    }\n}\n", "    }\n    native_ipv6\n}\n"));
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [8]);
        assert!(!cfg.routers[0].core.is_v6());

        // v3_checksum_as_v2 has no say over IPv6; an IPv4 source is not an IPv6 router's.
        let (imp, cfg) = accepted(&V6.replace(
            "priority 150",
            "priority 150\n v3_checksum_as_v2\n unicast_src_ip 192.0.2.11",
        ));
        assert_eq!(imp.untranslated_lines("keepalived.conf"), [6]);
        assert_eq!(
            cfg.routers[0].core.checksum(),
            vrrp_core::wire::ChecksumMode::PseudoHeader
        );

        // The owner of an IPv6 router owns its link-local address.
        let (_, cfg) =
            accepted(&V6.replace("priority 150", "priority 255\n unicast_src_ip fe80::52"));
        assert_eq!(cfg.routers[0].core.priority(), 255);

        let e = refused(&V6.replace("fe80::52\n", "fe80::52/129\n"));
        assert!(e.message.contains("1..=128"), "{e}");
        let e = refused(&V6.replace("fe80::52\n", "ff02::12\n"));
        assert!(e.message.contains("cannot be a virtual address"), "{e}");
    }

    #[test]
    fn one_vrid_over_ipv4_and_ipv6_keeps_the_first() {
        let v6 = V6.replace("virtual_router_id 52", "virtual_router_id 51");
        let (imp, cfg) = accepted(&format!(
            "{MINIMAL}{}vrrp_sync_group G {{\n group {{ VI_1 VI_6 }}\n}}\n",
            v6.replace(
                "priority 150",
                "priority 150\n track_interface {\n  eth1\n }"
            )
        ));
        assert_eq!(cfg.routers.len(), 1);
        assert!(!cfg.routers[0].core.is_v6());
        // 11: the VRID; 21: the group (one member left); 22: VI_6 is not translated.
        assert_eq!(
            imp.untranslated_lines("keepalived.conf"),
            [11, 21, 22],
            "{:#?}",
            imp.untranslated
        );
        assert!(
            imp.untranslated[0]
                .why
                .contains("also used by the IPv4 vrrp_instance VI_1 (line 1)"),
            "{:?}",
            imp.untranslated
        );
        assert!(
            imp.untranslated[2]
                .why
                .contains("shares its VRID with an instance of the other family"),
            "{:?}",
            imp.untranslated
        );
        assert!(
            cfg.check("link_eth1").is_none(),
            "the left-out instance's checks are left out too"
        );
    }

    #[test]
    fn include_cycle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.conf"), "include b.conf\n").unwrap();
        std::fs::write(
            dir.path().join("b.conf"),
            format!("{MINIMAL}include a.conf\n"),
        )
        .unwrap();
        let e = import_file(&dir.path().join("a.conf")).unwrap_err();
        assert!(e.message.contains("includes itself"), "{e}");
        assert_eq!(e.position, Some((9, 9)));
        assert!(e.file.ends_with("b.conf"), "{e}");
    }
}
