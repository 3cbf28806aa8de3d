//! `vrrpd import-keepalived FILE [-o OUT]`: converts the keepalived.conf subset that nginx HA
//! setups use into a vrrpd configuration.
//!
//! Whatever the output does not reproduce of keepalived's behaviour is listed by FILE:LINE, as
//! `# not translated:` comments at the top of the output and on stderr; nothing is dropped
//! silently. Exit status: 0 everything translated, 3 something listed, 2 the file cannot be
//! converted (syntax errors, or values keepalived itself refuses or replaces with a default,
//! each reported as `FILE:LINE:COL: key path: why`, all of them in one run), 1 the output could
//! not be written.
//!
//! The parser is hand-written: no maintained crate reads keepalived.conf, whose grammar is
//! keepalived's own (words on a line, brace blocks, `!`/`#` comments anywhere outside quotes,
//! `"`/`'` quotes that join words, `include` with globs relative to the including file).

mod convert;
#[cfg(test)]
mod fixture_tests;
mod glob;
mod lexer;
mod model;
mod parser;
mod report;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{Config, ConfigError};
use convert::Converter;
use parser::Sources;

/// Exit status when the output was written but lists settings it does not reproduce.
pub const EXIT_UNTRANSLATED: u8 = 3;

/// A keepalived.conf that cannot be converted: the same diagnostic as a vrrpd configuration
/// error, with a keepalived key path such as `vrrp_instance VI_1.priority` (possibly empty).
pub type ImportError = ConfigError;

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

/// Every mistake of a keepalived.conf that cannot be converted, in the order met: reading goes
/// on after each (an unclosed block ends at the next top-level keyword or at the end of the
/// file), so one run reports them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors(pub Vec<ImportError>);

impl ImportErrors {
    /// The first mistake.
    pub fn first(&self) -> &ImportError {
        &self.0[0]
    }

    /// Each mistake rendered as [`ImportError::render`] does, one after the other.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(ImportError::render)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl From<ImportError> for ImportErrors {
    fn from(e: ImportError) -> ImportErrors {
        ImportErrors(vec![e])
    }
}

impl From<Vec<ImportError>> for ImportErrors {
    fn from(v: Vec<ImportError>) -> ImportErrors {
        ImportErrors(v)
    }
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
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
pub fn import_file(path: &Path) -> Result<Imported, ImportErrors> {
    let mut src = Sources::default();
    let stmts = src.load(path, None)?;
    Ok(Converter::new(src).translate(&stmts)?)
}

/// Converts `text` as if it were the file `path`: `include`s are resolved against its directory.
#[cfg(test)]
pub fn import_str(text: &str, path: &Path) -> Result<Imported, ImportErrors> {
    let mut src = Sources::default();
    let stmts = src.load(path, Some(text))?;
    Ok(Converter::new(src).translate(&stmts)?)
}

/// `vrrpd import-keepalived`.
pub fn run(file: &Path, output: Option<&Path>) -> ExitCode {
    let imported = match import_file(file) {
        Ok(i) => i,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("vrrpd: {}", e.render());
            }
            if errors.0.len() > 1 {
                eprintln!("vrrpd: {} errors in {}", errors.0.len(), file.display());
            }
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
