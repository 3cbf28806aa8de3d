//! Errors that point at a file, a line, a column and a key path.

use std::fmt;
use std::path::PathBuf;

/// A configuration that cannot run, or a keepalived.conf that cannot be converted. `Display`
/// gives `FILE:LINE:COL: KEY: why`; [`render`] adds the offending source line.
///
/// [`render`]: ConfigError::render
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column; `None` when the file could not be read at all.
    pub position: Option<(usize, usize)>,
    /// Key path such as `vrrp[0].interval`; empty for syntax errors outside any key.
    pub key: String,
    pub message: String,
    /// The source line the position points into, for [`render`](ConfigError::render).
    source_line: Option<String>,
}

impl ConfigError {
    /// An error about `file` as a whole (it cannot be read, say): no line to point at.
    pub fn whole_file(file: impl Into<PathBuf>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.into(),
            position: None,
            key: String::new(),
            message: message.into(),
            source_line: None,
        }
    }

    /// The error followed by the source line and a caret under the column.
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        if let (Some(line), Some((_, col))) = (&self.source_line, self.position) {
            let pad: String = line
                .chars()
                .take(col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("\n    {line}\n    {pad}^"));
        }
        out
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where a value sits in the file, kept so that errors found after loading (the primary
/// address comes from the interface at run time) still point at the right line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub key: String,
    source_line: String,
}

impl Location {
    /// `line` and `col` are 1-based; `source_line` is the text of that line, which
    /// [`ConfigError::render`] quotes.
    pub fn new(
        file: PathBuf,
        line: usize,
        col: usize,
        key: String,
        source_line: String,
    ) -> Location {
        Location {
            file,
            line,
            col,
            key,
            source_line,
        }
    }

    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            position: Some((self.line, self.col)),
            key: self.key.clone(),
            message: message.into(),
            source_line: Some(self.source_line.clone()),
        }
    }
}
